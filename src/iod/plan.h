// SPDX-License-Identifier: Apache-2.0
/* The instances an IOD writes for one source, as a plain value: for each its file name, role,
 * the source image it comes from, frame grid and order, codec and pixel description. The
 * IOD's plan hook (iod.h) makes it from a description of the source and the options alone,
 * so it is tested without a slide (tests/unit/test_iod_plan.c); the conversion
 * (src/convert/) opens one output per instance and names files only from here.
 * It lives beside iod.h, not in src/convert/, because it is the IOD interface's value: the
 * roles and file names are the IOD's, and convert only carries them out. */
#ifndef S2D_IOD_PLAN_H
#define S2D_IOD_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/codec.h"
#include "codec/pixdesc.h"
#include "iod/iod.h"
#include "source/source.h"
#include "slide2dcm/slide2dcm.h"

/** What an IOD plans from: the source's levels (levels[0] the largest) and its associated
 *  images (NULL when it has none). All borrowed. */
typedef struct s2d_source_desc {
    const s2d_source_image *levels;
    int nlevels;
    const s2d_source_image *label, *overview, *thumbnail;
} s2d_source_desc;

/** One instance to write. */
typedef struct s2d_plan_instance {
    char name[64];               // its file name in the output directory
    const s2d_iod *iod;          // what builds its dataset (a static table entry)
    s2d_role role;
    // Where its pixels come from: a pyramid level (level, an index into s2d_plan.pyramid's)
    // or an associated image of the source (image S2D_IMAGE_LABEL, _OVERVIEW, _THUMBNAIL).
    // A thumbnail with image S2D_IMAGE_LEVEL is made from the pyramid's level `level`; one
    // from the source falls back to pyramid.thumb_level when the source's turns out
    // unreadable (and is not written when that is -1).
    s2d_image_role image;
    int level;
    uint32_t first_page;         // pages: the index of its first page in the page list
    // Microscopy planes (iod/wsm_planes.h): the channel (0-based), the series among the
    // conversion's (0-based: a time point, or a z plane with --z series) and the z planes
    // its frames hold, one after another, as focal planes (0 elsewhere).
    int channel, series;
    uint32_t focal_planes;
    // Frame grid: cols x rows frames of frame_width x frame_height, nframes in all; single
    // frame images have the size of the source image (0 when the source does not say).
    int64_t width, height;
    // Frames follow each other row by row, left to right, every tile present.
    uint32_t frame_width, frame_height, cols, rows, nframes;
    const s2d_codec *codec;      // the frames' transfer syntax (a static table entry)
    bool copied;                 // frames taken from the source as they are
    s2d_pixdesc pixels;          // one frame's pixels
} s2d_plan_instance;

typedef struct s2d_level_plan s2d_level_plan;   // iod/wsm_levels.h

typedef struct s2d_plan {
    s2d_plan_instance *instances;   // malloc'd, ninstances; freed by s2d_plan_free
    size_t ninstances;
    // WSM's own part: the pyramid's levels, the thumbnail made from them and the codec it
    // encodes with (iod/wsm_levels.h), read only by iod/wsm.c and WSM's conversion path.
    // malloc'd by the IOD's plan and freed by s2d_plan_free; NULL for an IOD whose
    // instances form no pyramid.
    s2d_level_plan *pyramid;
} s2d_plan;

/** Appends one instance (a copy of inst) to plan.
 *  @return false with err set when out of memory. */
bool s2d_plan_add(s2d_plan *plan, const s2d_plan_instance *inst, s2d_error *err);

/** Frees the instances and the pyramid; plan may be zeroed or partly built. */
void s2d_plan_free(s2d_plan *plan);

#endif
