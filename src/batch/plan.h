// SPDX-License-Identifier: Apache-2.0
/* Which slides a batch converts and where each one's output goes: from a folder walked
 * recursively (slides recognised by content or by a slide extension, multi-file formats
 * taken once) or from a CSV manifest. */
#ifndef S2D_BATCH_PLAN_H
#define S2D_BATCH_PLAN_H

#include <jansson.h>
#include <stdbool.h>

#include "slide2dcm/error.h"

#define S2D_BATCH_NAME_MAX 80

typedef struct s2d_batch_slide {
    char *source;            // path to open
    char *key;               // path relative to the folder, or as the manifest writes it
    char name[S2D_BATCH_NAME_MAX];   // output folder OUTROOT/<name>
    json_t *metadata;        // DICOM JSON from the manifest row, or NULL
    char **convert_args;     // the row's option columns ("--kind", "photo", ...), or NULL
    int nconvert_args;
    int line;                // manifest line, 0 for a folder
    char *error;             // a reason known before converting (a duplicate row, a bad
                             // manifest cell), or NULL
} s2d_batch_slide;

typedef struct s2d_batch_plan {
    s2d_batch_slide *slides;
    int n;
    char **ignored;          // files of the folder that are not slides (nor parts of one)
    int nignored;
    char **ignored_columns;  // manifest columns slide2dcm does not know, ignored (manifest.h)
    int nignored_columns;
} s2d_batch_plan;

/** INPUT is a folder (walked) or a CSV manifest. skip_dir (OUTROOT; may not exist yet)
 *  is never walked into. strict_manifest: a manifest column slide2dcm does not know is an
 *  error naming it, instead of one listed in plan->ignored_columns. Errors are
 *  S2D_ERR_USAGE: a bad manifest, an unreadable folder. */
bool s2d_batch_plan_make(const char *input, const char *skip_dir, bool strict_manifest,
                         s2d_batch_plan *plan, s2d_error *err);
/** Frees what s2d_batch_plan_make put in plan: its slides, their strings, metadata and
 *  options, and the ignored lists, which the plan owns (not plan itself). */
void s2d_batch_plan_free(s2d_batch_plan *plan);

/** A slide's metadata: the batch's --metadata (may be NULL) with the slide's manifest
 *  columns on top. A Specimen Description Sequence of one item on both sides is merged item
 *  by item (a SpecimenIdentifier column keeps --metadata's description of the specimen).
 *  @return a new object the caller owns, or NULL when there is none (or out of memory). */
json_t *s2d_batch_slide_metadata(const json_t *batch_metadata, const s2d_batch_slide *slide);

/**
 * The output folder name for a key: its file stem with every byte outside [A-Za-z0-9._+-]
 * made '_' (at most 60 bytes, never starting with '.' or '-'), then '-' and the first 10
 * hex digits of SHA-256(key). Safe on any file system, never "." or "..", never a path;
 * the hash keeps two slides with one stem apart, and a name depends only on the key, so
 * re-runs and the Snakemake workflow find the same folder.
 */
void s2d_batch_output_name(const char *key, char out[S2D_BATCH_NAME_MAX]);

#endif
