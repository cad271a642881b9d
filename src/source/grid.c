// SPDX-License-Identifier: Apache-2.0
/* Tiled frame geometry and regions through a grid of cells; see grid.h. */
#include "source/grid.h"

#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

#include "codec/bitstream.h"
#include "source/tiffio.h"

bool s2d_grid_probe_tiles(const s2d_tiff_ifd *d, int fd, s2d_grid_tiles *g, s2d_source_image *img)
{
    g->tile_w = d->tile_w;
    g->tile_h = d->tile_h;
    if (g->tile_w == 0 || g->tile_h == 0 || g->tile_w > 65535 || g->tile_h > 65535) {
        return false;
    }
    g->across = (d->width + g->tile_w - 1) / g->tile_w;
    g->down = (d->height + g->tile_h - 1) / g->tile_h;
    uint32_t n = d->nchunks;
    if (n != g->across * g->down || !d->offsets) {
        return false;
    }
    g->offsets = d->offsets;
    g->counts = d->counts;
    uint32_t i = 0;
    while (i < n && g->counts[i] == 0) {
        i++;
    }
    s2d_buf tile = {0}, spliced = {0};
    bool ok = i < n && g->counts[i] < (64u << 20) &&
              s2d_pread_buf(fd, g->offsets[i], (size_t)g->counts[i], &tile);
    img->pix.samples = 3;
    img->pix.bits_allocated = img->pix.bits_stored = 8;
    img->chroma_w = img->chroma_h = 1;
    if (ok && d->compression == COMPRESSION_JPEG) {
        if (d->jpeg_tables && d->jpeg_tables_len >= 4) {
            g->tables = d->jpeg_tables;
            g->tables_len = d->jpeg_tables_len;
        }
        // A TIFF without Photometric is taken as RGB, which only settles what the
        // bitstream leaves open (s2d_jpeg_is_rgb).
        bool tiff_says_rgb = !d->has_photometric || d->photometric == PHOTOMETRIC_RGB;
        s2d_jpeg_facts f;
        ok = s2d_jpeg_splice(g->tables, g->tables_len, tile.data, tile.len, false, &spliced) &&
             s2d_jpeg_parse(spliced.data, spliced.len, &f) && f.sof == 0xC0 &&
             f.precision == 8 && f.ncomp == 3 && f.width == (int)g->tile_w &&
             f.height == (int)g->tile_h;
        if (ok) {
            g->rgb = s2d_jpeg_is_rgb(&f, tiff_says_rgb);
            g->coding = S2D_CODING_JPEG;
            img->pix.colour = g->rgb ? S2D_COLOUR_RGB : S2D_COLOUR_YCBCR;
            if (!g->rgb && f.h[1] && f.v[1]) {
                img->chroma_w = (uint8_t)(f.h[0] / f.h[1]);
                img->chroma_h = (uint8_t)(f.v[0] / f.v[1]);
            }
        }
    } else if (ok) {
        // 33005 holds R, G, B samples (with or without MCT); 33003's YCbCr samples have no
        // description a copy could keep, so such files are left to OpenSlide.
        s2d_j2k_facts f;
        ok = d->compression == 33005 && s2d_j2k_parse(tile.data, tile.len, &f) &&
             f.width == (int)g->tile_w && f.height == (int)g->tile_h && f.precision == 8 &&
             f.ncomp == 3 && !f.subsampled;
        if (ok) {
            g->coding = S2D_CODING_J2K;
            img->pix.colour = S2D_COLOUR_RGB;
            img->native.j2k_transform = !f.mct        ? S2D_J2K_NO_TRANSFORM
                                        : f.reversible ? S2D_J2K_REVERSIBLE
                                                       : S2D_J2K_IRREVERSIBLE;
        }
    }
    s2d_buf_free(&tile);
    s2d_buf_free(&spliced);
    img->native.coding = ok ? g->coding : S2D_CODING_NONE;
    img->native.tile_w = (int)g->tile_w;
    img->native.tile_h = (int)g->tile_h;
    return ok;
}

bool s2d_grid_tile_absent(const s2d_grid_tiles *g, uint32_t col, uint32_t row)
{
    if (col < g->col0 || row < g->row0 || col - g->col0 >= g->across ||
        row - g->row0 >= g->down) {
        return g->placed;
    }
    return g->sparse && g->counts[(uint64_t)(row - g->row0) * g->across + (col - g->col0)] == 0;
}

bool s2d_grid_tile_stream(const s2d_grid_tiles *g, int level, uint32_t col, uint32_t row,
                          const uint8_t *tile, size_t len, s2d_buf *out, s2d_error *err)
{
    bool ok;
    if (g->coding == S2D_CODING_JPEG) {
        ok = s2d_jpeg_splice(g->tables, g->tables_len, tile, len, g->rgb, out) &&
             s2d_jpeg_complete(out->data, out->len, (int)g->tile_w, (int)g->tile_h);
    } else {
        s2d_j2k_facts f;
        out->len = 0;
        s2d_buf_append(out, tile, len);
        ok = !out->failed && s2d_j2k_parse(out->data, out->len, &f) &&
             f.width == (int)g->tile_w && f.height == (int)g->tile_h;
    }
    if (!ok) {
        return s2d_error_set(err, S2D_ERR_INPUT, "level %d tile (%u,%u) is damaged", level, col,
                             row);
    }
    return true;
}

static void fill_rgb(uint8_t *p, size_t n, const uint8_t bg[3])
{
    for (size_t i = 0; i < n; i++) {
        memcpy(p + 3 * i, bg, 3);
    }
}

bool s2d_grid_read_region(const s2d_grid_region *g, int64_t x, int64_t y, int64_t w,
                          int64_t h, uint8_t *rgb, size_t stride, int *bad_cells,
                          s2d_error *err)
{
    int gw = g->cell_w, gh = g->cell_h;
    s2d_buf *frame = g->scratch;
    // A region that is exactly one cell inside the level (re-encoding at the source's tile
    // size) is decoded straight into the caller's pixels, saving a cell-sized copy.
    if (x % gw == 0 && y % gh == 0 && w == gw && h == gh && x + w <= g->level_w &&
        y + h <= g->level_h &&
        !(g->absent && g->absent(g->arg, (uint32_t)(x / gw), (uint32_t)(y / gh)))) {
        s2d_error ferr = {0};
        if (g->frame(g->arg, (uint32_t)(x / gw), (uint32_t)(y / gh), frame, &ferr) &&
            s2d_frame_dec_decode(g->dec, frame->data, frame->len, gw, gh, rgb, stride, &ferr)) {
            return true;
        }
        if (ferr.code == S2D_ERR_NOMEM || ferr.code == S2D_ERR_INTERNAL) {
            *err = ferr;
            return false;
        }
        // A missing or broken cell: the general path below fills it with background.
    }
    for (int64_t gy = y / gh; gy * gh < y + h; gy++) {
        for (int64_t gx = x / gw; gx * gw < x + w; gx++) {
            s2d_error ferr = {0};
            bool inside = gx * gw < g->level_w && gy * gh < g->level_h;
            bool empty = inside && g->absent && g->absent(g->arg, (uint32_t)gx, (uint32_t)gy);
            bool decoded = inside && !empty &&
                           g->frame(g->arg, (uint32_t)gx, (uint32_t)gy, frame, &ferr) &&
                           s2d_frame_dec_decode(g->dec, frame->data, frame->len, gw, gh,
                                                g->cell, (size_t)gw * 3, &ferr);
            if (ferr.code == S2D_ERR_NOMEM || ferr.code == S2D_ERR_INTERNAL) {
                *err = ferr;
                return false;
            }
            if (!decoded) {
                fill_rgb(g->cell, (size_t)gw * gh, g->background);
                *bad_cells += inside && !empty;
            }
            // Copy the part of the cell inside the region.
            int64_t cx0 = gx * gw > x ? gx * gw : x, cy0 = gy * gh > y ? gy * gh : y;
            int64_t cx1 = (gx + 1) * gw < x + w ? (gx + 1) * gw : x + w;
            int64_t cy1 = (gy + 1) * gh < y + h ? (gy + 1) * gh : y + h;
            for (int64_t yy = cy0; yy < cy1; yy++) {
                const uint8_t *src = g->cell + ((size_t)(yy - gy * gh) * gw + (cx0 - gx * gw)) * 3;
                // Pixels of the source frame beyond the level (edge tiles) are not image.
                int64_t valid_end = cx1 < g->level_w ? cx1 : g->level_w;
                uint8_t *dst = rgb + (size_t)(yy - y) * stride + (size_t)(cx0 - x) * 3;
                if (yy >= g->level_h || valid_end <= cx0) {
                    fill_rgb(dst, (size_t)(cx1 - cx0), g->background);
                    continue;
                }
                memcpy(dst, src, (size_t)(valid_end - cx0) * 3);
                fill_rgb(dst + (size_t)(valid_end - cx0) * 3, (size_t)(cx1 - valid_end),
                         g->background);
            }
        }
    }
    return true;
}
