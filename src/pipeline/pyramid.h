/* The tile pipeline for one slide: an enumerator (the calling thread) queues tile jobs in
 * frame order into a window of slots, N workers copy, read or downsample and encode them,
 * and whichever thread finishes the frame due next appends it, with the frames done after
 * it, to each level's file in order. No thread only writes.
 *
 * A level is copied (the source's compressed tiles become frames unchanged), read (the
 * source level decoded and re-encoded) or generated: made in the same pass by 2x2 averaging
 * of the level above, which is read only once (a copied level feeding one is decoded for
 * that). Generated levels stay YCbCr planes from the level they come from to their
 * encoding (codec/jpeg_enc.h). Memory is the reorder window and a few tiles per worker, independent of the slide's
 * width: the two tile rows per generated level that grow with it are kept in a file
 * (pipeline/strips.h). What grows with the area is per frame and per tile row: counters and
 * offsets, ~1 MB per gigapixel. */
#ifndef S2D_PYRAMID_H
#define S2D_PYRAMID_H

#include <stdbool.h>
#include <stdint.h>

#include "core/diag.h"
#include "dicom/part10.h"
#include "source/source.h"
#include "slide2dcm/slide2dcm.h"

typedef enum s2d_level_mode {
    S2D_LEVEL_GENERATE,        // 2x2 average of the level above, encoded
    S2D_LEVEL_READ,            // source level decoded and encoded
    S2D_LEVEL_COPY,            // source level's frames copied
} s2d_level_mode;

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

/** 2x2 area average of a w x h RGB image into ceil(w/2) x ceil(h/2); at an odd edge the
 *  last row or column averages only the pixels that exist. */
void s2d_downsample_2x2(const uint8_t *src, size_t src_stride, int64_t w, int64_t h, uint8_t *dst,
                        size_t dst_stride);

/** The same for one plane of one byte a pixel (a Y, Cb or Cr plane). */
void s2d_downsample_plane_2x2(const uint8_t *src, size_t src_stride, int64_t w, int64_t h,
                              uint8_t *dst, size_t dst_stride);

#endif
