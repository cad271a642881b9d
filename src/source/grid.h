// SPDX-License-Identifier: Apache-2.0
/* Frame geometry the formats share: a level stored as a grid of tiles (each a frame to
 * copy), and regions read through a grid of decoded cells (tiles, or frames cut from
 * strips), clipped to the level and filled with background where the source has nothing. */
#ifndef S2D_GRID_H
#define S2D_GRID_H

#include "codec/frame_dec.h"
#include "source/tiffdir.h"

typedef struct s2d_grid_tiles {
    uint32_t tile_w, tile_h, across, down;
    const uint64_t *offsets, *counts;   // the listing's
    const uint8_t *tables;              // JPEGTables, the listing's, or NULL
    uint32_t tables_len;
    s2d_native_coding coding;
    bool rgb;                           // JPEG components are R, G, B: add the Adobe marker
    bool sparse;                        // a zero-length tile is empty by design: background
    // A grid placed on a larger level (Leica: the scanned region on the glass): its first
    // tile is the level's frame (col0, row0), and the frames outside it are empty. Else
    // the grid is the level: 0, 0.
    bool placed;
    uint32_t col0, row0;
} s2d_grid_tiles;

/** Whether the level's frame (col, row) is empty by design: outside a placed grid, or a
 *  sparse grid's tile that was never stored (source.h's absent frame). */
bool s2d_grid_tile_absent(const s2d_grid_tiles *g, uint32_t col, uint32_t row);

/** A tiled JPEG or JPEG 2000 (33005) IFD: its grid, and the image's native coding and
 *  colour, from its first stored tile (read from fd). @return false when its tiles are not
 *  ones to copy. */
bool s2d_grid_probe_tiles(const s2d_tiff_ifd *d, int fd, s2d_grid_tiles *g, s2d_source_image *img);

/** Checks tile (col, row) of n bytes at `bytes` and makes it a complete stream in out.
 *  @return false with err set (S2D_ERR_INPUT: missing or damaged). */
bool s2d_grid_tile_stream(const s2d_grid_tiles *g, int level, uint32_t col, uint32_t row,
                          const uint8_t *bytes, size_t n, s2d_buf *out, s2d_error *err);

/** Gives cell (col, row) of a grid as a complete stream of cell_w x cell_h pixels. */
typedef bool (*s2d_grid_frame_fn)(void *arg, uint32_t col, uint32_t row, s2d_buf *out,
                                  s2d_error *err);

typedef struct s2d_grid_region {
    int64_t level_w, level_h;
    int cell_w, cell_h;
    s2d_grid_frame_fn frame;
    // NULL, or whether a cell is empty by design: background, not counted as bad.
    bool (*absent)(void *arg, uint32_t col, uint32_t row);
    void *arg;
    s2d_frame_dec *dec;
    s2d_buf *scratch;                   // a cell's stream
    uint8_t *cell;                      // a decoded cell, cell_w x cell_h RGB
    const uint8_t *background;          // RGB
} s2d_grid_region;

/** Decodes the cells covering w x h pixels at (x, y) into rgb (stride bytes per row); a
 *  cell that cannot be had becomes background and is counted in *bad_cells, unless it is
 *  absent by design. */
bool s2d_grid_read_region(const s2d_grid_region *g, int64_t x, int64_t y, int64_t w,
                          int64_t h, uint8_t *rgb, size_t stride, int *bad_cells,
                          s2d_error *err);

#endif
