// SPDX-License-Identifier: Apache-2.0
/* The CSV manifest of a batch: a `path` column, plus columns named by DICOM keyword whose
 * cells set that attribute for that row's slide (an empty cell sets nothing; columns of
 * other names are ignored), and the
 * option columns `Modality`, `DocumentTitle` and `kind`, which become that row's
 * `convert --modality / --document-title / --kind` (they choose what a plain TIFF is
 * written as, which an attribute alone cannot). */
#ifndef S2D_BATCH_MANIFEST_H
#define S2D_BATCH_MANIFEST_H

#include <jansson.h>
#include <stdbool.h>

#include "slide2dcm/error.h"

typedef struct s2d_manifest_row {
    int line;                // in the file, 1-based, for messages
    char *path;              // as written
    json_t *metadata;        // DICOM JSON (PS3.18 F.2) of the row's attributes, or NULL
    char **convert_args;     // the option columns as "--modality", "CT", ...; owned
    int nconvert_args;
    // A cell whose value its attribute's VR refuses, as "FILE line N, column NAME: why":
    // the row's slide fails with it, not the whole batch. NULL when the row is good; owned.
    char *error;
} s2d_manifest_row;

typedef struct s2d_manifest {
    s2d_manifest_row *rows;
    int n;
    // Header names that are no column slide2dcm knows, as written, each once: their cells
    // are ignored (the caller warns about them, or refuses them when strict). Owned.
    char **ignored_columns;
    int nignored_columns;
} s2d_manifest;

/** Reads a CSV file as LIS and spreadsheet exports write it: cells separated by ',', ';'
 *  or tabs (the most frequent in the header line), RFC 4180 quotes (doubled inside), CRLF,
 *  a UTF-8 byte order mark. Headers are matched in any case, spaces around them ignored.
 *  A malformed file or a bad option value (a kind that is not radiology, document, photo or
 *  microscopy; a Modality that is not a code) is an S2D_ERR_USAGE error naming "FILE line
 *  N" and, for a cell, "column NAME" (the header as written): checked here, as a child's
 *  usage error would stop the whole batch. An attribute value its VR refuses is the row's
 *  error (s2d_manifest_row.error), in the same words. A file with no header line (empty,
 *  or only a byte order mark) is an error naming the file. */
bool s2d_manifest_read(const char *csv_path, s2d_manifest *out, s2d_error *err);
/** The same from the text of a manifest (size bytes, NUL-ended, holding no other NUL: what
 *  s2d_manifest_read checks of the file), which csv_path names in messages. text stays the
 *  caller's. */
bool s2d_manifest_parse(const char *text, size_t size, const char *csv_path, s2d_manifest *out,
                        s2d_error *err);
/** Frees what s2d_manifest_read or s2d_manifest_parse put in m (not m itself). */
void s2d_manifest_free(s2d_manifest *m);

/** The keywords a manifest column may use (attributes and option columns), one line, for
 *  messages: a static string. */
const char *s2d_manifest_keywords(void);

#endif
