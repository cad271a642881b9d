// SPDX-License-Identifier: Apache-2.0
/* A plain TIFF's pages to Secondary Capture or VL instances (docs/plain-tiff.md): what the
 * file holds (its kind), how each page's pixels map, the plan of instances, then each
 * instance written page by page, native pixels a band of rows at a time. convert.c opens
 * the source, describes it (identity.h) and commits the outputs; this does the rest. */
#ifndef S2D_CONVERT_PAGES_H
#define S2D_CONVERT_PAGES_H

#include <stdbool.h>

#include "convert/identity.h"
#include "convert/output.h"
#include "convert/pixmap.h"
#include "core/diag.h"
#include "iod/iod.h"
#include "iod/pages.h"
#include "iod/plan.h"
#include "source/source.h"

typedef struct s2d_pages {
    // Given by the caller (borrowed).
    const char *path;                 // the input, for messages (its base name is used)
    const char *outdir;
    const s2d_convert_options *opts;
    s2d_source *src;
    const s2d_identity *id;
    s2d_iod_shared *shared;           // described; s2d_pages_plan adds the kind's fields
    s2d_diag *diag;
    // Made by s2d_pages_plan, freed by s2d_pages_free.
    s2d_page_kind kind;
    char kind_reason[160];            // why: "16-bit grey", "--kind document" ...
    s2d_pixmap *maps;                 // one per page
    s2d_plan plan;
    s2d_output *outputs;              // plan.ninstances, filled as they are opened
    int noutputs;
    // Progress of s2d_pages_write, handed to opts->progress after each page.
    uint64_t pages_done, pages_total;
    double megapixels;                // of all the pages written
    double t0;
} s2d_pages;

/** The kind, the pixel mapping of every page and the plan of instances.
 *  @return false with err set (a microscopy TIFF, pixels no IOD of the kind can take, ...). */
bool s2d_pages_plan(s2d_pages *pg, s2d_error *err);

/** Writes every planned instance into its Part 10 writer (complete, not yet committed). */
bool s2d_pages_write(s2d_pages *pg, s2d_error *err);

/** Counts one more page written and tells opts->progress, if any. */
void s2d_pages_progress(s2d_pages *pg);

/** The kind's name: "radiology", "document" or "photo" (static). */
const char *s2d_pages_kind_name(s2d_page_kind kind);

/** Frees what s2d_pages_plan made, the writers included (removing their temporary files). */
void s2d_pages_free(s2d_pages *pg);

#endif
