// SPDX-License-Identifier: Apache-2.0
/* pread, the read window and the TIFF formats' shared runtime; see tiffio.h. */
#include "source/tiffio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>
#include <unistd.h>

#include "codec/bitstream.h"
#include "core/bigmem.h"
#include "core/fs.h"

// Tiles usually lie one after another in the file: once a read continues where the last
// one ended, the next this many bytes come with one pread, so that copying a level of small
// tiles costs a syscall per window instead of one per tile.
#define READ_WINDOW (1u << 20)

bool s2d_pread_buf(int fd, uint64_t offset, size_t len, s2d_buf *out)
{
    out->len = 0;
    if (!s2d_buf_reserve(out, len) || s2d_pread_full(fd, out->data, len, offset) != (ssize_t)len) {
        return false;
    }
    out->len = len;
    return true;
}

const uint8_t *s2d_read_window_get(int fd, s2d_read_window *w, uint64_t offset, size_t len)
{
    bool inside = offset >= w->at && offset + len <= w->at + w->len;
    if (!inside) {
        size_t want = offset == w->read_end && len < READ_WINDOW ? READ_WINDOW : len;
        w->len = 0;
        if (want > w->cap) {
            // Never less than a window, so that a first tile read on its own does not
            // leave a window too small for the reads that follow it.
            size_t cap = want > READ_WINDOW ? want : READ_WINDOW;
            s2d_bigmem_free(w->data, w->cap);
            w->cap = 0;
            if (!(w->data = s2d_bigmem_alloc(cap))) {
                return NULL;
            }
            w->cap = cap;
        }
        ssize_t got = s2d_pread_full(fd, w->data, want, offset);
        if (got < (ssize_t)len) {
            return NULL;
        }
        w->at = offset;
        w->len = (size_t)got;
    }
    w->read_end = offset + len;
    return w->data + (offset - w->at);
}

void s2d_read_window_free(s2d_read_window *w)
{
    s2d_bigmem_free(w->data, w->cap);
    memset(w, 0, sizeof *w);
}

// ------------------------------------------------------------------ frames

s2d_tiff_source *s2d_tiff_source_of(const s2d_source *src)
{
    return src->impl;
}

bool s2d_tiff_tiled_frame(s2d_source *src, const s2d_tiff_level *lv, int level, uint32_t col,
                          uint32_t row, int fw, int fh, s2d_tiff_ctx *c, s2d_buf *out,
                          s2d_error *err)
{
    const s2d_grid_tiles *g = &lv->tiles;
    if (fw != (int)g->tile_w || fh != (int)g->tile_h) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "level %d frames are %ux%u, not %dx%d", level,
                             g->tile_w, g->tile_h, fw, fh);
    }
    if (col < g->col0 || row < g->row0) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "tile (%u,%u) outside level %d", col, row,
                             level);
    }
    col -= g->col0;   // the tile's place in its grid
    row -= g->row0;
    uint64_t i = (uint64_t)row * g->across + col;
    if (col >= g->across || row >= g->down) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "tile (%u,%u) outside level %d", col, row,
                             level);
    }
    if (g->counts[i] == 0 || g->offsets[i] == 0) {
        return s2d_error_set(err, S2D_ERR_INPUT, "level %d tile (%u,%u) is missing", level, col,
                             row);
    }
    // More than twice the raw pixels is no JPEG or J2K tile; the writer's offset table
    // choice relies on this bound (S2D_COPIED_FRAME_MAX).
    if (g->counts[i] > S2D_COPIED_FRAME_MAX(g->tile_w, g->tile_h)) {
        return s2d_error_set(err, S2D_ERR_INPUT, "level %d tile (%u,%u) claims %llu bytes", level,
                             col, row, (unsigned long long)g->counts[i]);
    }
    size_t len = (size_t)g->counts[i];
    const uint8_t *tile = s2d_read_window_get(s2d_tiff_source_of(src)->fd, &c->window,
                                              g->offsets[i], len);
    if (!tile) {
        return s2d_error_set(err, S2D_ERR_INPUT, "level %d tile (%u,%u) cannot be read (past the "
                             "end of the file?)", level, col, row);
    }
    return s2d_grid_tile_stream(g, level, col, row, tile, len, out, err);
}

static bool tiff_read_frame(s2d_source *src, void *ctx, int level, uint32_t col, uint32_t row,
                            int frame_w, int frame_h, s2d_buf *out, s2d_error *err)
{
    const s2d_tiff_level *lv = &s2d_tiff_source_of(src)->levels[level];
    return lv->frame(src, lv, level, col, row, frame_w, frame_h, ctx, out, err);
}

// ------------------------------------------------------------------ regions

static void *tiff_ctx_new(s2d_source *src, int max_w, int max_h)
{
    (void)max_w;
    (void)max_h;
    s2d_tiff_source *ts = s2d_tiff_source_of(src);
    s2d_tiff_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        return NULL;
    }
    size_t cell_cap = 0;
    for (int i = 0; i < src->nlevels; i++) {
        size_t cell = (size_t)ts->levels[i].cell_w * (size_t)ts->levels[i].cell_h;
        cell_cap = cell > cell_cap ? cell : cell_cap;
    }
    c->cell = malloc(cell_cap * 3);
    c->dec = s2d_frame_dec_new(NULL);
    if (!c->cell || !c->dec) {
        free(c->cell);
        s2d_frame_dec_free(c->dec);
        free(c);
        return NULL;
    }
    return c;
}

static void tiff_ctx_free_for(s2d_tiff_source *ts, s2d_tiff_ctx *c)
{
    if (ts->state_free) {
        ts->state_free(c->state);
    }
    s2d_frame_dec_free(c->dec);
    s2d_buf_free(&c->frame);
    s2d_buf_free(&c->raw);
    s2d_read_window_free(&c->window);
    s2d_buf_free(&c->cell_frame);
    free(c->cell);
    for (int i = 0; i < S2D_TIFF_TILE_CACHE; i++) {
        free(c->tile_px[i]);
    }
    s2d_buf_free(&c->hits);
    free(c);
}

typedef struct cell_source {
    s2d_source *src;
    s2d_tiff_ctx *c;
    int level;
} cell_source;

static bool cell_absent(void *arg, uint32_t col, uint32_t row)
{
    cell_source *cs = arg;
    return s2d_grid_tile_absent(&s2d_tiff_source_of(cs->src)->levels[cs->level].tiles, col, row);
}

static bool tiff_frame_absent(const s2d_source *src, int level, uint32_t col, uint32_t row)
{
    return !s2d_tiff_source_of(src)->levels[level].stitch &&
           s2d_grid_tile_absent(&s2d_tiff_source_of(src)->levels[level].tiles, col, row);
}

static bool cell_frame(void *arg, uint32_t col, uint32_t row, s2d_buf *out, s2d_error *err)
{
    cell_source *cs = arg;
    const s2d_tiff_level *lv = &s2d_tiff_source_of(cs->src)->levels[cs->level];
    return lv->frame(cs->src, lv, cs->level, col, row, lv->cell_w, lv->cell_h, cs->c, out, err);
}

static size_t largest_cell(const s2d_source *src)
{
    const s2d_tiff_source *ts = s2d_tiff_source_of(src);
    size_t cap = 0;
    for (int i = 0; i < src->nlevels; i++) {
        size_t cell = (size_t)ts->levels[i].cell_w * (size_t)ts->levels[i].cell_h;
        cap = cell > cap ? cell : cap;
    }
    return cap;
}

// Stored tile (col, row) of a stitched level decoded (cell_w x cell_h RGB), through the
// thread's cache. @return the pixels, owned by c and valid until the next call; NULL when
// the tile cannot be had, with *err set only for lack of memory or our own error.
static const uint8_t *decoded_tile(s2d_source *src, s2d_tiff_ctx *c, int level, uint32_t col,
                                   uint32_t row, s2d_error *err)
{
    const s2d_tiff_level *lv = &s2d_tiff_source_of(src)->levels[level];
    for (int i = 0; i < S2D_TIFF_TILE_CACHE; i++) {
        if (c->tile_px[i] && c->tile_level[i] == level && c->tile_col[i] == col &&
            c->tile_row[i] == row) {
            return c->tile_px[i];
        }
    }
    int slot = c->tile_next;
    c->tile_next = (slot + 1) % S2D_TIFF_TILE_CACHE;
    if (!c->tile_px[slot] && !(c->tile_px[slot] = malloc(largest_cell(src) * 3))) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    c->tile_level[slot] = -1;   // holds nothing until decoded
    s2d_error ferr = {0};
    if (!lv->frame(src, lv, level, col, row, lv->cell_w, lv->cell_h, c, &c->cell_frame, &ferr) ||
        !s2d_frame_dec_decode(c->dec, c->cell_frame.data, c->cell_frame.len, lv->cell_w,
                              lv->cell_h, c->tile_px[slot], (size_t)lv->cell_w * 3, &ferr)) {
        if (ferr.code == S2D_ERR_NOMEM || ferr.code == S2D_ERR_INTERNAL) {
            *err = ferr;
        }
        return NULL;
    }
    c->tile_level[slot] = level;
    c->tile_col[slot] = col;
    c->tile_row[slot] = row;
    return c->tile_px[slot];
}

static int by_index(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

// Paints a region of a stitched level: background, then every piece touching it in paint
// order. A piece whose tile cannot be had stays background and counts as a bad tile.
static bool stitched_region(s2d_source *src, s2d_tiff_ctx *c, int level, int64_t x, int64_t y,
                            int64_t w, int64_t h, uint8_t *rgb, size_t stride, int *bad_tiles,
                            s2d_error *err)
{
    const s2d_tiff_level *lv = &s2d_tiff_source_of(src)->levels[level];
    const s2d_tiff_stitch *st = lv->stitch;
    const uint8_t *bg = src->meta.background;
    for (int64_t j = 0; j < h; j++) {
        for (int64_t i = 0; i < w; i++) {
            memcpy(rgb + (size_t)j * stride + (size_t)i * 3, bg, 3);
        }
    }
    int64_t x0 = max64(x, 0), y0 = max64(y, 0);
    int64_t x1 = min64(x + w, lv->width), y1 = min64(y + h, lv->height);
    if (x0 >= x1 || y0 >= y1) {
        return true;
    }
    c->hits.len = 0;
    for (int64_t by = y0 / st->bucket_h; by <= (y1 - 1) / st->bucket_h; by++) {
        for (int64_t bx = x0 / st->bucket_w; bx <= (x1 - 1) / st->bucket_w; bx++) {
            size_t b = (size_t)by * st->buckets_across + (size_t)bx;
            s2d_buf_append(&c->hits, &st->bucket_items[st->bucket_start[b]],
                           (st->bucket_start[b + 1] - st->bucket_start[b]) * sizeof(uint32_t));
        }
    }
    if (c->hits.failed) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    uint32_t *hit = (uint32_t *)(void *)c->hits.data;
    size_t nhits = c->hits.len / sizeof *hit;
    qsort(hit, nhits, sizeof *hit, by_index);
    for (size_t k = 0; k < nhits; k++) {
        if (k > 0 && hit[k] == hit[k - 1]) {
            continue;   // a piece in two buckets
        }
        const s2d_tile_piece *p = &st->pieces[hit[k]];
        int64_t px0 = max64(p->x, x0), py0 = max64(p->y, y0);
        int64_t px1 = min64(p->x + p->w, x1), py1 = min64(p->y + p->h, y1);
        if (px0 >= px1 || py0 >= py1) {
            continue;
        }
        s2d_error terr = {0};
        const uint8_t *tile = decoded_tile(src, c, level, p->col, p->row, &terr);
        if (!tile && terr.code) {
            *err = terr;
            return false;
        }
        *bad_tiles += !tile;
        for (int64_t yy = py0; yy < py1; yy++) {
            uint8_t *dst = rgb + (size_t)(yy - y) * stride + (size_t)(px0 - x) * 3;
            if (!tile) {
                for (int64_t xx = px0; xx < px1; xx++, dst += 3) {
                    memcpy(dst, bg, 3);
                }
                continue;
            }
            size_t from = ((size_t)(p->sy + (yy - p->y)) * (size_t)lv->cell_w +
                           (size_t)(p->sx + (px0 - p->x))) * 3;
            memcpy(dst, tile + from, (size_t)(px1 - px0) * 3);
        }
    }
    return true;
}

// Decodes the source frames (tiles, or cuts on a fixed grid) covering the region.
static bool tiff_read_region(s2d_source *src, void *ctx, int level, int64_t x, int64_t y,
                             int64_t w, int64_t h, uint8_t *rgb, size_t stride, int *bad_tiles,
                             s2d_error *err)
{
    s2d_tiff_ctx *c = ctx;
    const s2d_tiff_level *lv = &s2d_tiff_source_of(src)->levels[level];
    if (lv->stitch) {
        return stitched_region(src, c, level, x, y, w, h, rgb, stride, bad_tiles, err);
    }
    cell_source cs = {src, c, level};
    s2d_grid_region g = {.level_w = lv->width, .level_h = lv->height, .cell_w = lv->cell_w,
                         .cell_h = lv->cell_h, .frame = cell_frame, .absent = cell_absent,
                         .arg = &cs, .dec = c->dec,
                         .scratch = &c->cell_frame, .cell = c->cell,
                         .background = src->meta.background};
    return s2d_grid_read_region(&g, x, y, w, h, rgb, stride, bad_tiles, err);
}

// ------------------------------------------------------------------ associated images

static int associated_ifd(const s2d_source *src, const s2d_source_image *img)
{
    return s2d_tiff_source_of(src)->associated_ifd[img - src->associated];
}

// An embedded JPEG decoded (frame_dec: colour as its markers say).
static bool read_embedded(const s2d_source_image *img, const s2d_buf *jpeg, uint8_t **rgb,
                          int64_t *w, int64_t *h, s2d_error *err)
{
    int64_t iw = img->pix.width, ih = img->pix.height;
    s2d_frame_dec *dec = s2d_frame_dec_new(err);
    uint8_t *px = malloc((size_t)(iw * ih * 3));
    bool ok = dec && px &&
              s2d_frame_dec_decode(dec, jpeg->data, jpeg->len, (int)iw, (int)ih, px,
                                   (size_t)iw * 3, err);
    if (dec && !px) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    s2d_frame_dec_free(dec);
    if (!ok) {
        free(px);
        return false;
    }
    *rgb = px;
    *w = iw;
    *h = ih;
    return true;
}

static bool tiff_read_associated(s2d_source *src, const s2d_source_image *img, uint8_t **rgb,
                                 int64_t *w, int64_t *h, s2d_error *err)
{
    if (associated_ifd(src, img) < 0) {
        if (!read_embedded(img, &s2d_tiff_source_of(src)->embedded[img - src->associated], rgb,
                           w, h, err)) {
            s2d_error_prefix(err, "%s: ", s2d_role_name(img->role));
            return false;
        }
        return true;
    }
    return s2d_tiffdir_read_rgb(src->tiffdir, associated_ifd(src, img), s2d_role_name(img->role),
                                rgb, w, h, err);
}

bool s2d_tiff_strips_jpeg(int fd, const s2d_tiff_ifd *d, s2d_buf *out, s2d_colour *colour)
{
    uint32_t iw = d->width, ih = d->height, n = d->nchunks;
    bool grey = d->samples == 1 && d->has_photometric && d->photometric == PHOTOMETRIC_MINISBLACK;
    bool colour3 = d->samples == 3 && d->has_photometric &&
                   (d->photometric == PHOTOMETRIC_RGB || d->photometric == PHOTOMETRIC_YCBCR);
    // One grey strip is spliced as a tile is; the joiner takes three components only.
    bool ok = !d->tiled && d->compression == COMPRESSION_JPEG && iw > 0 && ih > 0 &&
              d->bits == 8 && d->planar == PLANARCONFIG_CONTIG && (colour3 || (grey && n == 1)) &&
              d->offsets && iw <= 65535 && ih <= 65535 && n > 0;
    uint64_t total = 0;
    for (uint32_t i = 0; ok && i < n; i++) {
        total += d->counts[i];
        ok = d->counts[i] > 0 && total <= S2D_COPIED_FRAME_MAX(iw, ih);
    }
    s2d_buf *strips = ok ? calloc(n, sizeof *strips) : NULL;
    ok = ok && strips;
    for (uint32_t i = 0; ok && i < n; i++) {
        ok = s2d_pread_buf(fd, d->offsets[i], (size_t)d->counts[i], &strips[i]);
    }
    bool rgb = false;
    if (ok && grey) {
        ok = s2d_jpeg_splice(d->jpeg_tables, d->jpeg_tables_len, strips[0].data, strips[0].len,
                             false, out);
    } else if (ok) {
        ok = s2d_jpeg_join_strips(d->jpeg_tables, d->jpeg_tables_len, strips, n, (int)iw,
                                  (int)ih, d->rows_per_strip,
                                  d->photometric == PHOTOMETRIC_RGB, &rgb, out);
    }
    if (ok) {
        *colour = grey ? S2D_COLOUR_MONO_MIN_IS_BLACK : rgb ? S2D_COLOUR_RGB : S2D_COLOUR_YCBCR;
    }
    for (uint32_t i = 0; strips && i < n; i++) {
        s2d_buf_free(&strips[i]);
    }
    free(strips);
    return ok;
}

// Only an associated image stored top row first is copied: the decode path turns the
// others upright, a copy cannot.
static bool tiff_associated_jpeg(s2d_source *src, const s2d_source_image *img, s2d_buf *out,
                                 int64_t *w, int64_t *h, s2d_colour *colour)
{
    if (associated_ifd(src, img) < 0) {
        // Handed out as the file has it: a complete stream whose markers say its colour.
        const s2d_buf *jpeg = &s2d_tiff_source_of(src)->embedded[img - src->associated];
        out->len = 0;
        s2d_buf_append(out, jpeg->data, jpeg->len);
        *w = img->pix.width;
        *h = img->pix.height;
        *colour = img->pix.colour;
        return !out->failed;
    }
    const s2d_tiff_ifd *d = &src->tiffdir->ifds[associated_ifd(src, img)];
    if (d->samples != 3 || d->orientation != ORIENTATION_TOPLEFT ||
        !s2d_tiff_strips_jpeg(s2d_tiff_source_of(src)->fd, d, out, colour)) {
        return false;
    }
    *w = d->width;
    *h = d->height;
    return true;
}

// ------------------------------------------------------------------ building

static void stitch_free(s2d_tiff_stitch *st)
{
    if (st) {
        free(st->pieces);
        free(st->bucket_start);
        free(st->bucket_items);
        free(st);
    }
}

static void free_levels(s2d_tiff_source *ts, int n)
{
    for (int i = 0; i < n; i++) {
        if (ts->levels[i].cut_free) {
            ts->levels[i].cut_free(ts->levels[i].cut);
        }
        stitch_free(ts->levels[i].stitch);
    }
    free(ts->levels);
    ts->levels = NULL;
}

static void tiff_close(s2d_source *src)
{
    s2d_tiff_source *ts = s2d_tiff_source_of(src);
    if (!ts) {
        return;
    }
    free_levels(ts, src->nlevels);
    for (int i = 0; i < S2D_MAX_ASSOCIATED; i++) {
        s2d_buf_free(&ts->embedded[i]);
    }
    if (ts->fd >= 0) {
        close(ts->fd);
    }
    free(ts);
    src->impl = NULL;
}

static void tiff_ctx_free(s2d_source *src, void *ctx)
{
    tiff_ctx_free_for(s2d_tiff_source_of(src), ctx);
}

static const s2d_source_ops tiff_ops = {
    .close = tiff_close,
    .ctx_new = tiff_ctx_new,
    .ctx_free = tiff_ctx_free,
    .read_region = tiff_read_region,
    .read_frame = tiff_read_frame,
    .frame_absent = tiff_frame_absent,
    .read_associated = tiff_read_associated,
    .associated_jpeg = tiff_associated_jpeg,
};

bool s2d_tiff_source_begin(s2d_source *src, s2d_error *err)
{
    s2d_tiff_source *ts = calloc(1, sizeof *ts);
    if (!ts) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    if ((ts->fd = open(src->path, O_RDONLY | O_CLOEXEC)) < 0) {
        free(ts);
        return s2d_error_set(err, S2D_ERR_IO, "cannot open it: %s", strerror(errno));
    }
    src->impl = ts;
    src->ops = &tiff_ops;
    return true;
}

s2d_tiff_level *s2d_tiff_source_add_level(s2d_source *src, int ifd)
{
    s2d_tiff_source *ts = s2d_tiff_source_of(src);
    int n = src->nlevels;
    s2d_tiff_level *lv = realloc(ts->levels, (size_t)(n + 1) * sizeof *lv);
    if (lv) {
        ts->levels = lv;
    }
    s2d_source_image *img = realloc(src->levels, (size_t)(n + 1) * sizeof *img);
    if (img) {
        src->levels = img;
    }
    if (!lv || !img) {
        return NULL;
    }
    const s2d_tiff_ifd *d = &src->tiffdir->ifds[ifd];
    memset(&lv[n], 0, sizeof lv[n]);
    lv[n].ifd = ifd;
    lv[n].width = d->width;
    lv[n].height = d->height;
    memset(&img[n], 0, sizeof img[n]);
    img[n].role = S2D_IMAGE_LEVEL;
    img[n].index.level = n;
    img[n].pix.width = d->width;
    img[n].pix.height = d->height;
    img[n].history = d->history;
    src->nlevels++;
    return &lv[n];
}

bool s2d_tiff_level_follows(const s2d_source *src, const s2d_tiff_level *tl)
{
    const s2d_tiff_level *prev = src->nlevels > 1 ? tl - 1 : NULL;
    return tl->width > 0 && tl->height > 0 &&
           (!prev || (tl->width < prev->width && tl->height <= prev->height));
}

static s2d_colour colour_of(const s2d_tiff_ifd *d)
{
    switch (d->photometric) {
    case PHOTOMETRIC_MINISWHITE:
        return S2D_COLOUR_MONO_MIN_IS_WHITE;
    case PHOTOMETRIC_MINISBLACK:
        return S2D_COLOUR_MONO_MIN_IS_BLACK;
    case PHOTOMETRIC_PALETTE:
        return S2D_COLOUR_PALETTE;
    case PHOTOMETRIC_YCBCR:
        return S2D_COLOUR_YCBCR;
    default:
        return S2D_COLOUR_RGB;
    }
}

// The slot of role among src's associated images (a new one at the end), or -1: no room.
static int associated_slot(const s2d_source *src, s2d_image_role role)
{
    int at = 0;
    while (at < src->nassociated && src->associated[at].role != role) {
        at++;
    }
    return at < S2D_MAX_ASSOCIATED ? at : -1;
}

bool s2d_tiff_source_set_associated(s2d_source *src, int ifd, s2d_image_role role)
{
    const s2d_tiff_ifd *d = &src->tiffdir->ifds[ifd];
    s2d_source_image img = {.role = role, .history = d->history};
    img.pix.width = d->width;
    img.pix.height = d->height;
    img.pix.samples = d->samples;
    img.pix.bits_allocated = img.pix.bits_stored = d->bits;
    img.pix.is_signed = d->sample_format == SAMPLEFORMAT_INT;
    img.pix.colour = colour_of(d);
    img.chroma_w = img.chroma_h = 1;
    img.pix.planar = d->planar == PLANARCONFIG_SEPARATE;
    int at = associated_slot(src, role);
    if (at < 0) {
        return false;
    }
    src->associated[at] = img;
    s2d_tiff_source_of(src)->associated_ifd[at] = ifd;
    src->nassociated += at == src->nassociated;
    return true;
}

bool s2d_tiff_source_set_embedded(s2d_source *src, s2d_buf *jpeg, s2d_image_role role)
{
    s2d_jpeg_facts f;
    int at = associated_slot(src, role);
    // Its size is only what its frame header claims: a kilobyte of XML could ask for a
    // 65535 x 65535 picture, 12.9 GB decoded.
    if (at < 0 || !s2d_jpeg_parse(jpeg->data, jpeg->len, &f) || f.sof != 0xC0 ||
        f.precision != 8 || (f.ncomp != 1 && f.ncomp != 3) || f.width <= 0 || f.height <= 0 ||
        (uint64_t)f.width * (uint64_t)f.height > S2D_EMBEDDED_MAX_PIXELS) {
        return false;
    }
    s2d_source_image img = {.role = role,
                            .history = {.known = true, .method = S2D_LOSSY_JPEG}};
    img.pix.width = (uint32_t)f.width;
    img.pix.height = (uint32_t)f.height;
    img.pix.samples = (uint16_t)f.ncomp;
    img.pix.bits_allocated = img.pix.bits_stored = 8;
    img.pix.colour = f.ncomp == 1                ? S2D_COLOUR_MONO_MIN_IS_BLACK
                     : s2d_jpeg_is_rgb(&f, false) ? S2D_COLOUR_RGB
                                                  : S2D_COLOUR_YCBCR;
    img.chroma_w = img.chroma_h = 1;
    img.history.ratio = (double)f.width * f.height * f.ncomp / (double)jpeg->len;
    s2d_tiff_source *ts = s2d_tiff_source_of(src);
    src->associated[at] = img;
    ts->associated_ifd[at] = -1;
    s2d_buf_free(&ts->embedded[at]);
    ts->embedded[at] = *jpeg;
    memset(jpeg, 0, sizeof *jpeg);
    src->nassociated += at == src->nassociated;
    return true;
}

bool s2d_tiff_source_open_tiled(s2d_source *src, s2d_tiff_classify_fn classify, s2d_error *err)
{
    const s2d_tiffdir *td = src->tiffdir;
    if (!s2d_tiff_source_sound(td, err) || !s2d_tiff_source_begin(src, err)) {
        return false;
    }
    int fd = s2d_tiff_source_of(src)->fd;
    bool ok = true;
    for (int i = 0; ok && i < td->n; i++) {
        const s2d_tiff_ifd *d = &td->ifds[i];
        if (!d->tiled) {
            ok = !classify || classify(src, i);
            continue;
        }
        s2d_tiff_level *tl = s2d_tiff_source_add_level(src, i);
        if (!tl) {
            s2d_tiff_source_abandon(src);
            return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        }
        ok = s2d_tiff_level_follows(src, tl) &&
             (d->compression == COMPRESSION_JPEG || d->compression == 33005 ||
              d->compression == 33003) &&
             s2d_grid_probe_tiles(d, fd, &tl->tiles, &src->levels[src->nlevels - 1]);
        tl->frame = s2d_tiff_tiled_frame;
        tl->cell_w = (int)tl->tiles.tile_w;
        tl->cell_h = (int)tl->tiles.tile_h;
    }
    if (!ok || !s2d_tiff_source_finish(src)) {
        s2d_tiff_source_abandon(src);   // not a layout we copy from: OpenSlide reads it
        return false;
    }
    return true;
}

// The buckets piece p touches: [*bx0, *bx1] x [*by0, *by1]; false when it lies off the level.
static bool piece_buckets(const s2d_tiff_stitch *st, const s2d_tile_piece *p, uint32_t w,
                          uint32_t h, uint32_t *bx0, uint32_t *bx1, uint32_t *by0, uint32_t *by1)
{
    int64_t x0 = max64(p->x, 0), y0 = max64(p->y, 0);
    int64_t x1 = min64(p->x + p->w, w), y1 = min64(p->y + p->h, h);
    if (x0 >= x1 || y0 >= y1) {
        return false;
    }
    *bx0 = (uint32_t)(x0 / st->bucket_w);
    *bx1 = (uint32_t)((x1 - 1) / st->bucket_w);
    *by0 = (uint32_t)(y0 / st->bucket_h);
    *by1 = (uint32_t)((y1 - 1) / st->bucket_h);
    return true;
}

bool s2d_tiff_level_stitch(s2d_source *src, s2d_tiff_level *tl, s2d_tile_piece *pieces,
                           size_t n, uint32_t w, uint32_t h)
{
    s2d_tiff_stitch *st = calloc(1, sizeof *st);
    if (!st || n >= UINT32_MAX / 8 || w == 0 || h == 0) {
        free(pieces);
        free(st);
        return false;
    }
    tl->stitch = st;   // freed with the level from here on
    st->pieces = pieces;
    st->n = n;
    // Buckets of the largest piece's size, each piece in at most four; fewer and larger
    // when the pieces are sparse on a large level.
    st->bucket_w = st->bucket_h = 1;
    for (size_t i = 0; i < n; i++) {
        st->bucket_w = pieces[i].w > st->bucket_w ? pieces[i].w : st->bucket_w;
        st->bucket_h = pieces[i].h > st->bucket_h ? pieces[i].h : st->bucket_h;
    }
    uint64_t across, down;
    for (;;) {
        across = (w + (uint64_t)st->bucket_w - 1) / st->bucket_w;
        down = (h + (uint64_t)st->bucket_h - 1) / st->bucket_h;
        if (across * down <= 4 * (uint64_t)n + 1024) {
            break;
        }
        st->bucket_w = st->bucket_w > UINT32_MAX / 2 ? UINT32_MAX : st->bucket_w * 2;
        st->bucket_h = st->bucket_h > UINT32_MAX / 2 ? UINT32_MAX : st->bucket_h * 2;
    }
    st->buckets_across = (uint32_t)across;
    st->buckets_down = (uint32_t)down;
    size_t nb = (size_t)(across * down);
    st->bucket_start = calloc(nb + 1, sizeof *st->bucket_start);
    st->bucket_items = malloc((4 * n + 1) * sizeof *st->bucket_items);
    if (!st->bucket_start || !st->bucket_items) {
        return false;
    }
    uint32_t bx0, bx1, by0, by1;
    for (size_t i = 0; i < n; i++) {   // count, then fill from each bucket's end
        for (uint32_t by = 0; piece_buckets(st, &pieces[i], w, h, &bx0, &bx1, &by0, &by1) &&
                              by <= by1 - by0; by++) {
            for (uint32_t bx = bx0; bx <= bx1; bx++) {
                st->bucket_start[(size_t)(by0 + by) * across + bx + 1]++;
            }
        }
    }
    for (size_t b = 0; b < nb; b++) {
        st->bucket_start[b + 1] += st->bucket_start[b];
    }
    uint32_t *fill = malloc(nb * sizeof *fill);
    if (!fill) {
        return false;
    }
    memcpy(fill, st->bucket_start, nb * sizeof *fill);
    for (size_t i = 0; i < n; i++) {
        for (uint32_t by = 0; piece_buckets(st, &pieces[i], w, h, &bx0, &bx1, &by0, &by1) &&
                              by <= by1 - by0; by++) {
            for (uint32_t bx = bx0; bx <= bx1; bx++) {
                st->bucket_items[fill[(size_t)(by0 + by) * across + bx]++] = (uint32_t)i;
            }
        }
    }
    free(fill);
    s2d_source_image *img = &src->levels[tl - s2d_tiff_source_of(src)->levels];
    tl->width = img->pix.width = w;
    tl->height = img->pix.height = h;
    img->native.coding = S2D_CODING_NONE;
    return true;
}

bool s2d_tiff_source_finish(s2d_source *src)
{
    for (int i = 0; i < src->nlevels; i++) {
        src->levels[i].downsample =
            ((double)src->levels[0].pix.width / src->levels[i].pix.width +
             (double)src->levels[0].pix.height / src->levels[i].pix.height) / 2;
    }
    return src->nlevels > 0;
}

void s2d_tiff_source_abandon(s2d_source *src)
{
    tiff_close(src);
    src->ops = NULL;
    free(src->levels);
    src->levels = NULL;
    src->nlevels = 0;
    src->nassociated = 0;
    memset(src->associated, 0, sizeof src->associated);
}

bool s2d_tiff_source_sound(const s2d_tiffdir *td, s2d_error *err)
{
    return !td->damage[0] || s2d_error_set(err, S2D_ERR_INPUT, "%s", td->damage);
}

bool s2d_tiff_source_end(s2d_source *src, bool ok, bool nomem, s2d_error *err)
{
    if (ok && !nomem) {
        return true;
    }
    s2d_tiff_source_abandon(src);
    if (nomem) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    return false;
}

s2d_xml_node *s2d_tiff_source_xml(const s2d_tiffdir *td, const char *text, s2d_error *err)
{
    if (!s2d_tiff_source_sound(td, err) || !text) {
        return NULL;
    }
    s2d_error xml_err = {0};
    s2d_xml_node *root = s2d_xml_parse(text, strlen(text), &xml_err);
    if (!root && xml_err.code == S2D_ERR_NOMEM) {
        *err = xml_err;
    }
    return root;
}

bool s2d_tiff_3dhistech(const s2d_tiff_ifd *d)
{
    return d->description && strstr(d->description, "|3dh_PixelSizeX = ") != NULL;
}

bool s2d_tiff_vendor_marked(const s2d_tiffdir *td)
{
    const s2d_tiff_ifd *d = &td->ifds[0];
    const char *desc = d->description ? d->description : "";
    const char *software = d->software ? d->software : "";
    return s2d_tiffdir_private(td, 0, 65420) != NULL || strncmp(software, "MedScan", 7) == 0 ||
           strncmp(software, "Philips", 7) == 0 || strncmp(desc, "Aperio", 6) == 0 ||
           (d->xmp && strstr(d->xmp, "iScan")) ||
           strstr(desc, "leica-microsystems.com/scn") ||   // with or without a prolog
           s2d_tiff_3dhistech(d);
}
