// SPDX-License-Identifier: Apache-2.0
/* A microscopy file's grey planes (fluorescence channels, z planes, time points) to VL Whole
 * Slide Microscopy (docs/microscopy.md): whether a file is one, how its samples map to the
 * unsigned 8 or 16 bits WSM stores, the plan of instances (iod/wsm_planes.h), and each
 * plane's pyramid made in one streaming pass (pipeline/grey_pyramid.h) into the instances
 * of its channel. convert.c opens the source, describes it (identity.h) and commits the
 * outputs; this does the rest. */
#ifndef S2D_CONVERT_MICROSCOPY_H
#define S2D_CONVERT_MICROSCOPY_H

#include <stdbool.h>

#include "convert/identity.h"
#include "convert/output.h"
#include "core/diag.h"
#include "iod/iod.h"
#include "iod/plan.h"
#include "iod/wsm_planes.h"
#include "source/source.h"

/** How one channel's samples become the stored ones: stored = (v - min) / slope, rounded
 *  (offset samples have slope 1; unsigned ones min 0, slope 1: kept as they are). */
typedef struct s2d_channel_map {
    double min, slope;
    bool identity;
} s2d_channel_map;

typedef struct s2d_micro {
    // Given by the caller (borrowed).
    const char *path;                 // the input, for messages (its base name is used)
    const char *outdir;
    const s2d_convert_options *opts;
    s2d_source *src;
    const s2d_identity *id;
    s2d_iod_shared *shared;           // described as WSM
    s2d_diag *diag;
    // --deidentify's replacement label, 8-bit RGB of label_w x label_h, or NULL. Under
    // --deidentify the file's own RGB images (label, overview, thumbnail) are not written.
    const uint8_t *label_rgb;
    uint32_t label_w, label_h;
    // Made by s2d_micro_plan, freed by s2d_micro_free.
    const s2d_plane_layout *layout;   // the source's
    s2d_pixdesc stored;               // every plane as the file holds it
    int bits;                         // written: 8 or 16
    double z_spacing_um;              // between z planes: --z-spacing, else the file's
    s2d_channel_map *maps;            // one per channel
    s2d_optical_path *paths;          // one per channel
    s2d_optical_path camera;          // of the file's RGB images (QPTIFF): brightfield
    struct { char id[16], name[256]; } *path_words;   // their identifiers and descriptions
    char (*series_uids)[S2D_UID_MAX]; // one per series
    s2d_planes_desc desc;
    uint32_t level_w[S2D_MAX_LEVELS], level_h[S2D_MAX_LEVELS];
    s2d_plan plan;
    s2d_output *outputs;              // plan.ninstances, filled as they are opened
    int noutputs;
} s2d_micro;

/** Whether the source is converted as microscopy planes: it has them (s2d_source_planes)
 *  and --kind microscopy, a microscopy --modality (SM, GM) or, with neither, its kind
 *  says so. reason (may be NULL) gets why, as the report's kind_reason. */
bool s2d_micro_applies(s2d_source *src, const s2d_convert_options *o, char reason[160]);

/** The mapping of every channel (a first pass over float and 32-bit planes), the optical
 *  paths and the plan of instances.
 *  @return false with err set (a codec that cannot carry the samples, --t out of range). */
bool s2d_micro_plan(s2d_micro *m, s2d_error *err);

/** Writes every planned instance into its Part 10 writer (complete, not yet committed). */
bool s2d_micro_write(s2d_micro *m, s2d_error *err);

/** Frees what s2d_micro_plan made, the writers included (removing their temporary files). */
void s2d_micro_free(s2d_micro *m);

#endif
