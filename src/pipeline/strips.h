// SPDX-License-Identifier: Apache-2.0
/* The tile rows a generated level is made from, kept outside memory so that a slide's width
 * does not set the converter's size. Generated level L's tile (c, r) is the 2x2 average of
 * level L-1's tiles (2c..2c+1, 2r..2r+1): each of those puts its quarter-size image here,
 * and the tile is taken back whole once its four quarters are in. Images are YCbCr in the
 * encoder's planar layout (codec/jpeg_enc.h: Y, then Cb and Cr at 1/chroma_div of each
 * side). Two tile rows per level (the one being filled and the one being encoded) live in
 * an unlinked file beside the output, read and written with pread/pwrite: the page cache
 * holds them, the process does not, and the kernel may write them out under memory
 * pressure. */
#ifndef S2D_STRIPS_H
#define S2D_STRIPS_H

#include <stdbool.h>
#include <stdint.h>

#include "slide2dcm/error.h"

typedef struct s2d_strips s2d_strips;

/** `cols[l]` is generated level l's tile columns, 0 for a level that is not generated.
 *  `tile` must be a multiple of 2 x chroma_div (1 or 2). The file is made in `dir`; an error
 *  names it. Owned by the caller, freed with s2d_strips_free; NULL with err set. */
s2d_strips *s2d_strips_new(const char *dir, int tile, int chroma_div, const uint32_t *cols,
                           int nlevels, s2d_error *err);
void s2d_strips_free(s2d_strips *s);

/** Stores the quarter image (tile/2 x tile/2, planar) made from tile (src_col, src_row) of
 *  the level above generated `level`. */
bool s2d_strips_put_quarter(s2d_strips *s, int level, uint32_t src_col, uint32_t src_row,
                            const uint8_t *quarter, s2d_error *err);

/** Assembles tile (col, row) of generated `level` into `tile` (tile x tile, planar), with
 *  `scratch` (as many bytes) as room for the read. Quarters whose source tiles do not exist
 *  (past the level above's edge) hold stale bytes: the caller pads. */
bool s2d_strips_get_tile(s2d_strips *s, int level, uint32_t col, uint32_t row, uint8_t *tile,
                         uint8_t *scratch, s2d_error *err);

#endif
