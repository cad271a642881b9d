// SPDX-License-Identifier: Apache-2.0
/* The pyramid plan: the frame size, and for each level written whether the source's frames
 * are copied, a source level is read and re-encoded, or the level is generated from the one
 * above; and which level a thumbnail made from the pyramid comes from. A function of the
 * source's level descriptions and the options alone (tests/unit/test_plan.c). */
#ifndef S2D_IOD_WSM_LEVELS_H
#define S2D_IOD_WSM_LEVELS_H

#include <stdbool.h>
#include <stdint.h>

#include "codec/codec.h"
#include "pipeline/pyramid.h"
#include "source/source.h"
#include "slide2dcm/slide2dcm.h"

typedef struct s2d_planned_level {
    int64_t width, height;     // total pixel matrix
    s2d_level_mode mode;
    int source_level;          // the source level READ and COPY take, else -1
    bool jpeg_frames;          // the source gives each frame as a JPEG of the frame's size
    uint32_t cols, rows;       // tile grid
} s2d_planned_level;

typedef struct s2d_level_plan {
    int tile_size;             // frame width and height of every level
    int nlevels;
    s2d_planned_level levels[S2D_MAX_LEVELS];
    // A thumbnail made from the pyramid: the tiles of thumb_level, area-averaged by
    // thumb_factor; thumb_level -1 when even the smallest level is too large.
    int thumb_level;
    int thumb_factor;
    int source_levels_left_out;   // keep_source_levels: the source's beyond S2D_MAX_LEVELS
    // What the frames the pyramid makes (every level not copied, and a replacement for a
    // copied frame the source cannot give) are encoded with: the IOD's choice, a static
    // table entry taking YCbCr planes (codec/pixdesc.h).
    const s2d_codec *codec;
    // A thumbnail was asked for, but the source has none and thumb_level is -1: none is
    // planned (the conversion says so).
    bool thumbnail_left_out;
} s2d_level_plan;

/** Plans the levels of a source of nsource levels (source[0] the largest) under the options
 *  tile_size, reencode, keep_source_levels and max_levels.
 *  @return false with err set when a level cannot be a DICOM instance. */
bool s2d_level_plan_make(const s2d_source_image *source, int nsource,
                         const s2d_convert_options *o, s2d_level_plan *plan, s2d_error *err);

#endif
