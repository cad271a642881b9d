// SPDX-License-Identifier: Apache-2.0
/* A slide's pyramid written as tiled frames, one level a file. A level is copied (the
 * source's compressed tiles become frames unchanged), read (the source level decoded and
 * re-encoded) or generated: made in the same pass by 2x2 averaging of the level above,
 * which is read only once (a copied level feeding one is decoded for that). Frames are made
 * by pipeline/frames.h and produced in order, in parallel, by the pump (pipeline/pump.h);
 * this layer holds what is the pyramid's own: the order of the frames, which earlier rows
 * a generated row needs, and the strip store (pipeline/strips.h) that carries the two tile
 * rows per generated level that grow with the slide's width, so that memory is the pump's
 * window and a few tiles per worker. What grows with the area here is 32 bytes per tile
 * row (its place in the order). */
#ifndef S2D_PYRAMID_H
#define S2D_PYRAMID_H

#include <stdbool.h>
#include <stdint.h>

#include "core/diag.h"
#include "dicom/part10.h"
#include "pipeline/frames.h"
#include "source/source.h"
#include "slide2dcm/slide2dcm.h"

typedef struct s2d_pyramid_level {
    int64_t width, height;     // total pixel matrix
    s2d_level_mode mode;
    int source_level;          // reader level for READ and COPY, else -1
    bool jpeg_frames;          // the source gives each frame as a JPEG of the frame's size
    uint32_t cols, rows;       // tile grid
    s2d_part10 *writer;        // where the frames go (owned by the caller)
    // Filled by the run.
    uint64_t frames_written;
    uint64_t replaced_frames;  // COPY: source tiles that were missing or broken
    double first_frame_s, last_frame_s;   // seconds since the run started
} s2d_pyramid_level;

typedef struct s2d_pyramid_plan {
    s2d_source *reader;
    const char *source_name;           // for warnings
    const char *spill_dir;             // where generated levels' rows are kept (the output's)
    const s2d_convert_options *opts;   // quality, threads, callbacks
    const s2d_codec *codec;            // what every frame not copied is encoded with
    s2d_diag *diag;                    // where the run's warnings go (the caller's)
    int tile_size;                     // frame width and height of every level
    int nlevels;
    s2d_pyramid_level levels[S2D_MAX_LEVELS];
    // Optional thumbnail: the tiles of thumb_level, area-averaged by thumb_factor.
    int thumb_level;                   // -1: none
    int thumb_factor;
} s2d_pyramid_plan;

/** Thumbnail collected during the run: packed RGB, malloc'd, caller frees. */
typedef struct s2d_image {
    uint8_t *rgb;
    int64_t width, height;
} s2d_image;

/** Runs the plan. On success every level's writer has received all its frames (the caller
 *  finishes the files) and *thumb holds the thumbnail when one was asked for. */
bool s2d_pyramid_run(s2d_pyramid_plan *plan, s2d_image *thumb, s2d_error *err);

#endif
