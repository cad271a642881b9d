// SPDX-License-Identifier: Apache-2.0
/* The stains `--stain` and the manifest's Stain column name, as the coded substances of a
 * staining step (PS3.16 TID 8004, the substances from CID 8112 "Specimen Stains"). */
#ifndef S2D_STAINS_H
#define S2D_STAINS_H

#include <stdbool.h>

#include "slide2dcm/error.h"

/** One staining substance: its SNOMED CT code and the meaning CID 8112 gives it. */
typedef struct s2d_stain_substance {
    const char *code;
    const char *meaning;
} s2d_stain_substance;

#define S2D_STAIN_MAX_SUBSTANCES 8

/** The substances of one staining, in the order the user named them; each points at a
 *  static row. n == 0: no staining named. */
typedef struct s2d_staining {
    const s2d_stain_substance *substances[S2D_STAIN_MAX_SUBSTANCES];
    int n;
} s2d_staining;

/** Reads a stain as a user writes it: a name the table knows ("H&E", "PAS", "Masson
 *  trichrome", "hematoxylin+eosin": parts joined by '+', each in any case, spaces, hyphens
 *  and apostrophes ignored). @return false with err (S2D_ERR_USAGE) naming the unknown part
 *  and the names known. */
bool s2d_staining_parse(const char *text, s2d_staining *out, s2d_error *err);

/** The names s2d_staining_parse knows, for help and errors (static). */
const char *s2d_stain_names(void);

#endif
