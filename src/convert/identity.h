// SPDX-License-Identifier: Apache-2.0
/* What identifies a slide and its instances: the UIDs (random, or derived from the slide's
 * content and the options that change the pixels), the user's attributes (--metadata and
 * the attribute flags), and what the slide says about itself (pixel size, container id,
 * dates, ICC profile, background colour). */
#ifndef S2D_CONVERT_IDENTITY_H
#define S2D_CONVERT_IDENTITY_H

#include <stdbool.h>
#include <stdint.h>

#include "convert/deidentify.h"
#include "core/diag.h"
#include "dicom/ds.h"
#include "dicom/part10.h"
#include "dicom/uid.h"
#include "iod/iod.h"
#include "source/source.h"
#include "slide2dcm/slide2dcm.h"

typedef struct s2d_identity {
    const s2d_convert_options *opts;
    s2d_ds *overrides;           // owned; user attributes, --metadata first, then the flags
    uint8_t *srgb_profile;       // owned; made when the slide has no ICC profile
    // With opts->uid_root: what identifies the slide (its content fingerprint) and what
    // identifies this encoding of it (fingerprint + the options that change the pixels).
    char uid_seed_slide[65], uid_seed_encoding[320];
    s2d_deid deid;               // with opts->deidentify: the filter of every dataset
} s2d_identity;

/** Reads --metadata and the attribute flags into id->overrides (owned by id); --metadata
 *  may not set the attributes iod owns. */
bool s2d_identity_load_overrides(s2d_identity *id, const s2d_iod *iod, s2d_error *err);

/** Fills what every instance of the slide shares, the UIDs iod asks for included;
 *  s->icc_profile points into the slide's meta or id, both of which must outlive s.
 *  Warnings go to diag. */
bool s2d_identity_describe(s2d_identity *id, const s2d_iod *iod, const char *slide_path,
                           const s2d_source_meta *m, s2d_iod_shared *s, s2d_diag *diag,
                           s2d_error *err);

/** A new random UID, or with a UID root one derived for role from the slide or (per_encoding)
 *  from this encoding of it. */
bool s2d_identity_uid(const s2d_identity *id, const char *role, bool per_encoding,
                      char out[S2D_UID_MAX], s2d_error *err);

/** The SOP Instance UID of the instance written as file_name: s2d_identity_uid for the
 *  role "instance:FILE_NAME", per encoding, the one derivation every IOD's files use. */
bool s2d_identity_instance_uid(const s2d_identity *id, const char *file_name,
                               char out[S2D_UID_MAX], s2d_error *err);

/** How an encapsulated instance written as file_name is laid out under the options, the
 *  same for every IOD: params->extended_offsets when its frames (frames_bound bytes at
 *  worst) may pass the Basic Offset Table's 4 GiB (or the test hook's lower threshold),
 *  and, under --max-instance-size, params->split pointing at *split, a concatenation
 *  whose UID (in concatenation_uid, which must outlive params) derives from the name.
 *  @return false with err set. */
bool s2d_identity_offsets_and_split(const s2d_identity *id, const char *file_name,
                                    uint64_t frames_bound, s2d_part10_params *params,
                                    s2d_part10_split *split,
                                    char concatenation_uid[S2D_UID_MAX], s2d_error *err);

/** The last step of every dataset before it is written: with --deidentify, the filter of
 *  deidentify.h. @return false with err set. */
bool s2d_identity_finish_dataset(const s2d_identity *id, s2d_ds *ds, s2d_error *err);

/** Frees what id owns (not id itself). */
void s2d_identity_free(s2d_identity *id);

#endif
