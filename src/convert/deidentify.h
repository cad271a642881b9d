// SPDX-License-Identifier: Apache-2.0
/* --deidentify: the filter every finished dataset goes through just before it is written,
 * after PS3.15 Annex E (Basic Application Level Confidentiality Profile) as it applies to
 * what slide2dcm writes. An action table keyed by tag says what becomes of each attribute
 * the source may have given (removed, emptied, a dummy, the slide's pseudonym); attributes
 * the user gave (--metadata, the attribute flags, manifest cells) are the pseudonyms and
 * stay. The filter works on whatever a dataset holds, so an attribute another module adds
 * later (a scanner's serial number, a contributing equipment item) is cleaned by its row,
 * or, for an unknown date or private element, by its VR or group. */
#ifndef S2D_CONVERT_DEIDENTIFY_H
#define S2D_CONVERT_DEIDENTIFY_H

#include <stdbool.h>

#include "dicom/ds.h"
#include "slide2dcm/slide2dcm.h"

typedef struct s2d_deid {
    s2d_ds *kept;                // owned: what the user gave, kept as it is (top level and
                                 // sequence items, matched item by item)
    char container_id[65];       // the slide's pseudonym: the user's Container Identifier,
                                 // else generated
    bool generated;              // container_id was generated, not given
} s2d_deid;

/** Prepares the filter: d->kept becomes a copy of overrides (borrowed) plus the values the
 *  options write outside them (--document-title); the pseudonym is the user's Container
 *  Identifier, else "DEID-" and 16 hex digits derived from seed (64 hex digits, for
 *  --deterministic-uids) or random when seed is NULL. @return false with err set. */
bool s2d_deid_init(s2d_deid *d, const s2d_ds *overrides, const s2d_convert_options *o,
                   const char *seed, s2d_error *err);

/** Applies the action table to ds (recursively into its sequences) and adds Patient Identity
 *  Removed, the De-identification Method (Code Sequence) and Longitudinal Temporal
 *  Information Modified. @return false with err set (out of memory). */
bool s2d_deid_apply(const s2d_deid *d, s2d_ds *ds, s2d_error *err);

/** Frees what d owns (not d). */
void s2d_deid_free(s2d_deid *d);

#endif
