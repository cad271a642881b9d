// SPDX-License-Identifier: Apache-2.0
/* The pyramid of grey planes (microscopy channels, focal planes, time points): each plane's
 * level 0 read a band of `tile` rows at a time, cut into tile x tile frames and averaged 2x2
 * into the next level's band, and so on down, in one streaming pass per plane. Memory is two
 * bands per level and the pump's window, whatever the image height. Frames are encoded in
 * parallel by the pump (pipeline/pump.h) and reach the sink in order.
 *
 * Level k+1 is ceil(w/2) x ceil(h/2) of level k, each pixel the rounded mean of the pixels of
 * its 2x2 block that exist: (sum + n/2) / n, n = 4, or 2 or 1 at an odd right or bottom edge.
 * Frames past the image's right or bottom edge are padded with 0. */
#ifndef S2D_GREY_PYRAMID_H
#define S2D_GREY_PYRAMID_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/codec.h"
#include "slide2dcm/error.h"
#include "slide2dcm/slide2dcm.h"

typedef struct s2d_grey_level {
    uint32_t width, height;   // pixels
    uint32_t cols, rows;      // frames across and down
} s2d_grey_level;

typedef struct s2d_grey_pyramid {
    // Given by the caller.
    uint32_t width, height;        // level 0 of every plane
    int tile;                      // frame width and height (even)
    int bytes_per_sample;          // 1 or 2 (uint16_t in host order)
    int nplanes;                   // planes made one after another, 0 .. nplanes-1
    const s2d_codec *codec;        // encodes tile x tile frames of 1 sample (codec/codec.h)
    s2d_codec_opts codec_opts;
    int threads;                   // worker threads; 0 = all on the calling thread
    size_t max_bytes;              // the pump's window budget (0: a sensible default)
    const volatile sig_atomic_t *interrupt;   // optional
    void *ctx;                     // given to the callbacks
    /** Rows y .. y+n-1 (n <= tile) of level 0 of `plane`, unsigned samples, `stride` bytes
     *  apart. On the calling thread; planes in order, rows in order from 0. */
    bool (*read_rows)(void *ctx, int plane, uint32_t y, uint32_t n, void *out, size_t stride,
                      s2d_error *err);
    /** Frame (col, row) of `level` of `plane`, encoded. In order: planes in order, and for
     *  one (plane, level) row-major; never two calls at once. The bytes are the pipeline's. */
    bool (*sink)(void *ctx, int plane, int level, uint32_t col, uint32_t row,
                 const uint8_t *frame, size_t len, s2d_error *err);
    // Filled by s2d_grey_pyramid_levels().
    int nlevels;
    s2d_grey_level levels[S2D_MAX_LEVELS];
} s2d_grey_pyramid;

/** Fills nlevels and levels from width, height and tile: level k+1 is ceil(w/2) x ceil(h/2)
 *  of level k, until a level fits in one tile. */
void s2d_grey_pyramid_levels(s2d_grey_pyramid *p);

/** Makes every frame of every level of every plane and sinks them (it fills the levels
 *  first). The first error wins and stops the run: read_rows' or the sink's as they gave
 *  it, S2D_ERR_CANCELLED when interrupted. */
bool s2d_grey_pyramid_run(s2d_grey_pyramid *p, s2d_error *err);

#endif
