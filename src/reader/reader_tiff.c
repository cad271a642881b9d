/* Reader backend on libtiff for the layouts whose compressed tiles can be copied into DICOM:
 * Aperio SVS (JPEG or JPEG 2000 33005 tiles), generic tiled TIFF with JPEG tiles, and
 * Hamamatsu NDPI (one JPEG strip per level, cut into frames at DCT-coefficient level).
 *
 * libtiff only describes the file; tile bytes are read with pread(), so any number of
 * threads read at once, and decoded with our own decoders (codec/frame_dec.h), so a
 * re-encode does not pay for OpenSlide's compositing. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>
#include <unistd.h>

#include "codec/bitstream.h"
#include "codec/frame_dec.h"
#include "codec/jpeg_cut.h"
#include "core/bigmem.h"
#include "core/fs.h"
#include "reader/reader_impl.h"

#define NDPI_SOURCE_LENS 65421       // FLOAT: objective of a level; -1 macro, -2 map
#define NDPI_MCU_STARTS 65426        // LONG[]: offset of each restart interval in the strip
#define NDPI_PROPERTIES 65449        // ASCII: key=value lines
#define NDPI_DECODE_GRID 256         // frame size used to read regions of an NDPI level
// Tiles usually lie one after another in the file: once a read continues where the last
// one ended, the next this many bytes come with one pread, so that copying a level of small
// tiles costs a syscall per window instead of one per tile.
#define READ_WINDOW (1u << 20)

typedef struct tiff_level {
    int dir;
    uint32_t width, height;
    int compression;
    // Tiled levels.
    uint32_t tile_w, tile_h, across, down;
    uint64_t *offsets, *counts;
    uint8_t *tables;                 // JPEGTables, or NULL
    uint32_t tables_len;
    bool rgb;                        // JPEG components are R, G, B: add the Adobe marker
    // NDPI levels: the strip's headers up to its scan, and where each restart interval is.
    bool ndpi;
    uint8_t *header;
    size_t header_len, sof_at;       // sof_at: offset of the SOF segment's height field
    uint64_t strip_offset, strip_len;
    uint32_t *restarts;
    uint32_t nrestarts, interval, mcus_per_row, mcu_rows;
    int mcu_w, mcu_h;
} tiff_level;

typedef struct tiff_slide {
    int fd;
    tiff_level *levels;
    int nlevels;
    int label_dir, macro_dir, thumbnail_dir;   // -1: none
} tiff_slide;

// The coefficients of the NDPI stripe last cut from, and which stripe that was: the frames
// of one tile row usually share it, so it is read once, not once per frame.
typedef struct stripe_key {
    int level;
    uint32_t first_row, end_row, first_int, end_int;
} stripe_key;

typedef struct tiff_ctx {
    s2d_jpeg_coefs *stripe;          // NULL when it could not be read: stripe_error says why
    stripe_key stripe_key;
    bool stripe_key_valid;
    s2d_error stripe_error;
    s2d_frame_dec *dec;
    s2d_buf frame, raw;              // scratch of read_frame
    uint8_t *window;                 // file bytes [window_at, window_at + window_len)
    size_t window_len, window_cap;   // window_cap: what s2d_bigmem_alloc was asked for
    uint64_t window_at, read_end;    // read_end: where the last tile read ended
    s2d_buf cell_frame;              // scratch of read_region
    uint8_t *cell;                   // one decoded grid cell
    size_t cell_cap;
} tiff_ctx;

static tiff_slide *slide_of(const s2d_reader *r)
{
    return r->impl;
}

static void free_level(tiff_level *lv)
{
    free(lv->offsets);
    free(lv->counts);
    free(lv->tables);
    free(lv->header);
    free(lv->restarts);
}

static void tiff_close(s2d_reader *r)
{
    tiff_slide *s = slide_of(r);
    if (!s) {
        return;
    }
    for (int i = 0; i < s->nlevels; i++) {
        free_level(&s->levels[i]);
    }
    free(s->levels);
    if (s->fd >= 0) {
        close(s->fd);
    }
    free(s);
    r->impl = NULL;
}

// Reads exactly len bytes at offset into out (replacing its contents).
static bool read_at(int fd, uint64_t offset, size_t len, s2d_buf *out)
{
    out->len = 0;
    if (!s2d_buf_reserve(out, len) || s2d_pread_full(fd, out->data, len, offset) != (ssize_t)len) {
        return false;
    }
    out->len = len;
    return true;
}

// The len bytes of a tile at offset, from the context's read window; NULL when the file
// does not hold them (or there is no memory for a tile larger than the window).
static const uint8_t *tile_bytes(int fd, tiff_ctx *c, uint64_t offset, size_t len)
{
    bool inside = offset >= c->window_at && offset + len <= c->window_at + c->window_len;
    if (!inside) {
        size_t want = offset == c->read_end && len < READ_WINDOW ? READ_WINDOW : len;
        c->window_len = 0;
        if (want > c->window_cap) {
            // Never less than a window, so that a first tile read on its own does not
            // leave a window too small for the reads that follow it.
            size_t cap = want > READ_WINDOW ? want : READ_WINDOW;
            s2d_bigmem_free(c->window, c->window_cap);
            c->window_cap = 0;
            if (!(c->window = s2d_bigmem_alloc(cap))) {
                return NULL;
            }
            c->window_cap = cap;
        }
        ssize_t got = s2d_pread_full(fd, c->window, want, offset);
        if (got < (ssize_t)len) {
            return NULL;
        }
        c->window_at = offset;
        c->window_len = (size_t)got;
    }
    c->read_end = offset + len;
    return c->window + (offset - c->window_at);
}

// ------------------------------------------------------------------ frames

static bool tiled_frame(tiff_slide *s, const tiff_level *lv, int level, uint32_t col,
                        uint32_t row, tiff_ctx *c, s2d_buf *out, s2d_error *err)
{
    uint64_t i = (uint64_t)row * lv->across + col;
    if (col >= lv->across || row >= lv->down) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "tile (%u,%u) outside level %d", col, row,
                             level);
    }
    if (lv->counts[i] == 0 || lv->offsets[i] == 0) {
        return s2d_error_set(err, S2D_ERR_INPUT, "level %d tile (%u,%u) is missing", level, col,
                             row);
    }
    // More than twice the raw pixels is no JPEG or J2K tile; the writer's offset table
    // choice relies on this bound (S2D_COPIED_FRAME_MAX).
    if (lv->counts[i] > S2D_COPIED_FRAME_MAX(lv->tile_w, lv->tile_h)) {
        return s2d_error_set(err, S2D_ERR_INPUT, "level %d tile (%u,%u) claims %llu bytes", level,
                             col, row, (unsigned long long)lv->counts[i]);
    }
    size_t len = (size_t)lv->counts[i];
    const uint8_t *tile = tile_bytes(s->fd, c, lv->offsets[i], len);
    if (!tile) {
        return s2d_error_set(err, S2D_ERR_INPUT, "level %d tile (%u,%u) cannot be read (past the "
                             "end of the file?)", level, col, row);
    }
    bool ok;
    if (lv->compression == COMPRESSION_JPEG) {
        ok = s2d_jpeg_splice(lv->tables, lv->tables_len, tile, len, lv->rgb, out) &&
             s2d_jpeg_complete(out->data, out->len, (int)lv->tile_w, (int)lv->tile_h);
    } else {
        s2d_j2k_facts f;
        out->len = 0;
        s2d_buf_append(out, tile, len);
        ok = !out->failed && s2d_j2k_parse(out->data, out->len, &f) &&
             f.width == (int)lv->tile_w && f.height == (int)lv->tile_h;
    }
    if (!ok) {
        return s2d_error_set(err, S2D_ERR_INPUT, "level %d tile (%u,%u) is damaged", level, col,
                             row);
    }
    return true;
}

// Chains the restart intervals of MCU rows [first_row, end_row) and interval columns
// [first_int, end_int) of an NDPI strip into one JPEG (RST markers renumbered) and reads
// its coefficients into c->stripe.
static bool ndpi_stripe(tiff_slide *s, const tiff_level *lv, int level, const stripe_key *k,
                        tiff_ctx *c, s2d_error *err)
{
    uint32_t per_row = lv->mcus_per_row / lv->interval;   // restart intervals in an MCU row
    uint32_t first_row = k->first_row, end_row = k->end_row;
    uint32_t first_int = k->first_int, end_int = k->end_int;
    // The intervals needed lie between these two in the file.
    uint32_t first_idx = first_row * per_row + first_int;
    uint32_t last_idx = (end_row - 1) * per_row + end_int - 1;
    uint64_t span_start = lv->restarts[first_idx];
    uint64_t span_end = last_idx + 1 < lv->nrestarts ? lv->restarts[last_idx + 1] : lv->strip_len;
    if (span_end <= span_start || span_end > lv->strip_len) {
        return s2d_error_set(err, S2D_ERR_INPUT, "level %d: restart offsets out of order", level);
    }
    if (!read_at(s->fd, lv->strip_offset + span_start, (size_t)(span_end - span_start), &c->raw)) {
        return s2d_error_set(err, S2D_ERR_INPUT, "level %d strip cannot be read", level);
    }
    const uint8_t *span = c->raw.data;

    uint64_t stripe_x = (uint64_t)first_int * lv->interval * (uint64_t)lv->mcu_w;
    uint64_t stripe_y = (uint64_t)first_row * (uint64_t)lv->mcu_h;
    uint64_t w = (uint64_t)(end_int - first_int) * lv->interval * (uint64_t)lv->mcu_w;
    uint64_t h = (uint64_t)(end_row - first_row) * (uint64_t)lv->mcu_h;
    w = stripe_x + w > lv->width ? lv->width - stripe_x : w;
    h = stripe_y + h > lv->height ? lv->height - stripe_y : h;

    s2d_buf *jpeg = &c->frame;
    jpeg->len = 0;
    s2d_buf_append(jpeg, lv->header, lv->header_len);
    if (!jpeg->failed) {
        uint8_t *sof = jpeg->data + lv->sof_at;   // height then width, big-endian
        sof[0] = (uint8_t)(h >> 8);
        sof[1] = (uint8_t)h;
        sof[2] = (uint8_t)(w >> 8);
        sof[3] = (uint8_t)w;
    }
    unsigned rst = 0;
    for (uint32_t r = first_row; r < end_row; r++) {
        for (uint32_t i = first_int; i < end_int; i++) {
            uint32_t idx = r * per_row + i;
            uint64_t a = lv->restarts[idx] - span_start;
            // Each interval but the strip's last ends with its RST marker (2 bytes) or EOI.
            uint64_t b = (idx + 1 < lv->nrestarts ? lv->restarts[idx + 1] : lv->strip_len) -
                         span_start - 2;
            if (b < a || b + 2 > c->raw.len || span[b] != 0xFF ||
                !(span[b + 1] == 0xD9 || (span[b + 1] >= 0xD0 && span[b + 1] <= 0xD7))) {
                return s2d_error_set(err, S2D_ERR_INPUT, "level %d: restart interval %u is "
                                     "damaged", level, idx);
            }
            if (jpeg->len > lv->header_len) {
                uint8_t marker[2] = {0xFF, (uint8_t)(0xD0 + rst++ % 8)};
                s2d_buf_append(jpeg, marker, 2);
            }
            s2d_buf_append(jpeg, span + a, (size_t)(b - a));
        }
    }
    s2d_buf_append(jpeg, "\xFF\xD9", 2);
    if (jpeg->failed) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    c->stripe = s2d_jpeg_coefs_read(jpeg->data, jpeg->len, err);
    return c->stripe != NULL;
}

// Cuts frame (col, row) of an NDPI level out of the stripe of restart intervals that
// covers it, reading that stripe only when the previous frame's was another.
static bool ndpi_frame(tiff_slide *s, const tiff_level *lv, const uint8_t fill[3], int level,
                       uint32_t col, uint32_t row, int fw, int fh, tiff_ctx *c, s2d_buf *out,
                       s2d_error *err)
{
    if (fw % lv->mcu_w || fh % lv->mcu_h) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "frame %dx%d is not made of %dx%d MCUs", fw,
                             fh, lv->mcu_w, lv->mcu_h);
    }
    uint64_t x0 = (uint64_t)col * (uint64_t)fw, y0 = (uint64_t)row * (uint64_t)fh;
    if (x0 >= lv->width || y0 >= lv->height) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "frame (%u,%u) outside level %d", col, row,
                             level);
    }
    uint32_t first_row = (uint32_t)(y0 / (uint64_t)lv->mcu_h);
    uint32_t end_row = (uint32_t)((y0 + (uint64_t)fh) / (uint64_t)lv->mcu_h);
    end_row = end_row < lv->mcu_rows ? end_row : lv->mcu_rows;
    uint32_t first_int = (uint32_t)(x0 / (uint64_t)lv->mcu_w) / lv->interval;
    uint32_t end_mcu = (uint32_t)((x0 + (uint64_t)fw + (uint64_t)lv->mcu_w - 1) / (uint64_t)lv->mcu_w);
    end_mcu = end_mcu < lv->mcus_per_row ? end_mcu : lv->mcus_per_row;
    uint32_t end_int = (end_mcu + lv->interval - 1) / lv->interval;

    uint64_t stripe_x = (uint64_t)first_int * lv->interval * (uint64_t)lv->mcu_w;
    uint64_t stripe_y = (uint64_t)first_row * (uint64_t)lv->mcu_h;
    stripe_key key = {level, first_row, end_row, first_int, end_int};
    bool same = c->stripe_key_valid && memcmp(&key, &c->stripe_key, sizeof key) == 0;
    if (!same) {
        s2d_jpeg_coefs_free(c->stripe);
        c->stripe = NULL;
        c->stripe_error = (s2d_error){0};
        c->stripe_key = key;
        c->stripe_key_valid = true;
        // A broken stripe stays broken for the other frames of its row: read it once.
        ndpi_stripe(s, lv, level, &key, c, &c->stripe_error);
    }
    if (!c->stripe) {
        *err = c->stripe_error;
        s2d_error_prefix(err, "level %d frame (%u,%u): ", level, col, row);
        return false;
    }
    if (!s2d_jpeg_coefs_cut(c->stripe, (int)(x0 - stripe_x), (int)(y0 - stripe_y), fw, fh, fill,
                            out, err)) {
        s2d_jpeg_coefs_free(c->stripe);   // libjpeg's state is unknown after an error
        c->stripe = NULL;
        c->stripe_key_valid = false;
        s2d_error_prefix(err, "level %d frame (%u,%u): ", level, col, row);
        return false;
    }
    return true;
}

static bool tiff_read_frame(s2d_reader *r, void *ctx, int level, uint32_t col, uint32_t row,
                            int frame_w, int frame_h, s2d_buf *out, s2d_error *err)
{
    tiff_slide *s = slide_of(r);
    const tiff_level *lv = &s->levels[level];
    if (lv->ndpi) {
        uint8_t fill[3];
        if (lv->rgb) {
            memcpy(fill, r->meta.background, 3);
        } else {
            s2d_rgb_to_ycbcr(r->meta.background, fill);
        }
        return ndpi_frame(s, lv, fill, level, col, row, frame_w, frame_h, ctx, out, err);
    }
    if (frame_w != (int)lv->tile_w || frame_h != (int)lv->tile_h) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "level %d frames are %ux%u, not %dx%d", level,
                             lv->tile_w, lv->tile_h, frame_w, frame_h);
    }
    return tiled_frame(s, lv, level, col, row, ctx, out, err);
}

// ------------------------------------------------------------------ regions

static void *tiff_ctx_new(s2d_reader *r, int max_w, int max_h)
{
    (void)max_w;
    (void)max_h;
    tiff_slide *s = slide_of(r);
    tiff_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        return NULL;
    }
    for (int i = 0; i < s->nlevels; i++) {
        const tiff_level *lv = &s->levels[i];
        size_t cell = lv->ndpi ? (size_t)NDPI_DECODE_GRID * NDPI_DECODE_GRID
                               : (size_t)lv->tile_w * lv->tile_h;
        c->cell_cap = cell > c->cell_cap ? cell : c->cell_cap;
    }
    c->cell = malloc(c->cell_cap * 3);
    c->dec = s2d_frame_dec_new(NULL);
    if (!c->cell || !c->dec) {
        free(c->cell);
        s2d_frame_dec_free(c->dec);
        free(c);
        return NULL;
    }
    return c;
}

static void tiff_ctx_free(void *ctx)
{
    tiff_ctx *c = ctx;
    if (c) {
        s2d_frame_dec_free(c->dec);
        s2d_jpeg_coefs_free(c->stripe);
        s2d_buf_free(&c->frame);
        s2d_buf_free(&c->raw);
        s2d_bigmem_free(c->window, c->window_cap);
        s2d_buf_free(&c->cell_frame);
        free(c->cell);
        free(c);
    }
}

static void fill_rgb(uint8_t *p, size_t n, const uint8_t bg[3])
{
    for (size_t i = 0; i < n; i++) {
        memcpy(p + 3 * i, bg, 3);
    }
}

// Decodes the source frames (tiles, or NDPI cuts on a fixed grid) covering the region.
static bool tiff_read_region(s2d_reader *r, void *ctx, int level, int64_t x, int64_t y,
                             int64_t w, int64_t h, uint8_t *rgb, size_t stride, int *bad_tiles,
                             s2d_error *err)
{
    tiff_slide *s = slide_of(r);
    tiff_ctx *c = ctx;
    const tiff_level *lv = &s->levels[level];
    int gw = lv->ndpi ? NDPI_DECODE_GRID : (int)lv->tile_w;
    int gh = lv->ndpi ? NDPI_DECODE_GRID : (int)lv->tile_h;
    s2d_buf *frame = &c->cell_frame;
    // A region that is exactly one source tile inside the level (re-encoding at the source's
    // tile size) is decoded straight into the caller's pixels, saving a tile-sized copy.
    if (x % gw == 0 && y % gh == 0 && w == gw && h == gh && x + w <= lv->width &&
        y + h <= lv->height) {
        s2d_error ferr = {0};
        if (tiff_read_frame(r, c, level, (uint32_t)(x / gw), (uint32_t)(y / gh), gw, gh, frame,
                            &ferr) &&
            s2d_frame_dec_decode(c->dec, frame->data, frame->len, gw, gh, rgb, stride, &ferr)) {
            return true;
        }
        if (ferr.code == S2D_ERR_NOMEM || ferr.code == S2D_ERR_INTERNAL) {
            *err = ferr;
            return false;
        }
        // A missing or broken tile: the general path below fills it with background.
    }
    bool ok = true;
    for (int64_t gy = y / gh; ok && gy * gh < y + h; gy++) {
        for (int64_t gx = x / gw; ok && gx * gw < x + w; gx++) {
            s2d_error ferr = {0};
            bool inside = gx * gw < lv->width && gy * gh < lv->height;
            bool decoded = inside &&
                           tiff_read_frame(r, c, level, (uint32_t)gx, (uint32_t)gy, gw, gh,
                                           frame, &ferr) &&
                           s2d_frame_dec_decode(c->dec, frame->data, frame->len, gw, gh, c->cell,
                                                (size_t)gw * 3, &ferr);
            if (ferr.code == S2D_ERR_NOMEM || ferr.code == S2D_ERR_INTERNAL) {
                *err = ferr;
                ok = false;
                break;
            }
            if (!decoded) {
                fill_rgb(c->cell, (size_t)gw * gh, r->meta.background);
                *bad_tiles += inside;
            }
            // Copy the part of the cell inside the region.
            int64_t cx0 = gx * gw > x ? gx * gw : x, cy0 = gy * gh > y ? gy * gh : y;
            int64_t cx1 = (gx + 1) * gw < x + w ? (gx + 1) * gw : x + w;
            int64_t cy1 = (gy + 1) * gh < y + h ? (gy + 1) * gh : y + h;
            for (int64_t yy = cy0; yy < cy1; yy++) {
                const uint8_t *src = c->cell + ((size_t)(yy - gy * gh) * gw + (cx0 - gx * gw)) * 3;
                // Pixels of the source frame beyond the level (edge tiles) are not image.
                int64_t valid_end = cx1 < lv->width ? cx1 : lv->width;
                uint8_t *dst = rgb + (size_t)(yy - y) * stride + (size_t)(cx0 - x) * 3;
                if (yy >= lv->height || valid_end <= cx0) {
                    fill_rgb(dst, (size_t)(cx1 - cx0), r->meta.background);
                    continue;
                }
                memcpy(dst, src, (size_t)(valid_end - cx0) * 3);
                fill_rgb(dst + (size_t)(valid_end - cx0) * 3, (size_t)(cx1 - valid_end),
                         r->meta.background);
            }
        }
    }
    return ok;
}

// ------------------------------------------------------------------ associated images

static int associated_dir(const tiff_slide *s, const char *name)
{
    if (strcmp(name, "label") == 0) {
        return s->label_dir;
    }
    if (strcmp(name, "macro") == 0) {
        return s->macro_dir;
    }
    if (strcmp(name, "thumbnail") == 0) {
        return s->thumbnail_dir;
    }
    return -1;
}

static bool tiff_has_associated(const s2d_reader *r, const char *name)
{
    return associated_dir(slide_of(r), name) >= 0;
}

static bool tiff_read_associated(s2d_reader *r, const char *name, uint8_t **rgb, int64_t *w,
                                 int64_t *h, s2d_error *err)
{
    *rgb = NULL;
    int dir = associated_dir(slide_of(r), name);
    TIFF *tif = dir >= 0 ? s2d_tiff_open_quiet(r->path) : NULL;
    uint32_t *raster = NULL;
    uint32_t iw = 0, ih = 0;
    bool ok = false;
    if (!tif || !TIFFSetDirectory(tif, (tdir_t)dir)) {
        s2d_error_set(err, S2D_ERR_INPUT, "cannot read the %s image", name);
        goto out;
    }
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &iw);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &ih);
    if (iw == 0 || ih == 0 || iw > 65535 || ih > 65535) {
        s2d_error_set(err, S2D_ERR_INPUT, "the %s image has no usable size", name);
        goto out;
    }
    raster = s2d_bigmem_alloc((size_t)iw * ih * sizeof *raster);
    *rgb = malloc((size_t)iw * ih * 3);
    if (!raster || !*rgb) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory reading the %s image", name);
        goto out;
    }
    if (!TIFFReadRGBAImageOriented(tif, iw, ih, raster, ORIENTATION_TOPLEFT, 0)) {
        s2d_error_set(err, S2D_ERR_INPUT, "cannot decode the %s image", name);
        goto out;
    }
    for (size_t i = 0; i < (size_t)iw * ih; i++) {
        (*rgb)[3 * i] = (uint8_t)TIFFGetR(raster[i]);
        (*rgb)[3 * i + 1] = (uint8_t)TIFFGetG(raster[i]);
        (*rgb)[3 * i + 2] = (uint8_t)TIFFGetB(raster[i]);
    }
    *w = iw;
    *h = ih;
    ok = true;
out:
    if (!ok) {
        free(*rgb);
        *rgb = NULL;
    }
    s2d_bigmem_free(raster, (size_t)iw * ih * sizeof *raster);
    if (tif) {
        TIFFClose(tif);
    }
    return ok;
}

// Joins the JPEG strips of an associated image into one JPEG (the strips are read
// straight from the file; their total is bounded as a copied frame's is). Only an image
// stored top row first: the decode path turns the others upright, a copy cannot.
static bool tiff_associated_jpeg(s2d_reader *r, const char *name, s2d_buf *out, int64_t *w,
                                 int64_t *h, char photometric[16])
{
    tiff_slide *s = slide_of(r);
    int dir = associated_dir(s, name);
    TIFF *tif = dir >= 0 ? s2d_tiff_open_quiet(r->path) : NULL;
    uint32_t iw = 0, ih = 0, rps = 0, tn = 0;
    uint16_t compression = 0, spp = 0, bps = 0, planar = 0, pm = 0, orientation = 0;
    uint64_t *offsets = NULL, *counts = NULL;
    void *tables = NULL;
    s2d_buf *strips = NULL;
    uint32_t n = 0;
    bool rgb, ok = tif && TIFFSetDirectory(tif, (tdir_t)dir) && !TIFFIsTiled(tif) &&
                   TIFFGetField(tif, TIFFTAG_COMPRESSION, &compression) &&
                   compression == COMPRESSION_JPEG &&
                   TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &iw) &&
                   TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &ih) &&
                   TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rps) &&
                   TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp) && spp == 3 &&
                   TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bps) && bps == 8 &&
                   TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar) &&
                   planar == PLANARCONFIG_CONTIG &&
                   TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &pm) &&
                   (pm == PHOTOMETRIC_RGB || pm == PHOTOMETRIC_YCBCR) &&
                   TIFFGetFieldDefaulted(tif, TIFFTAG_ORIENTATION, &orientation) &&
                   orientation == ORIENTATION_TOPLEFT &&
                   TIFFGetField(tif, TIFFTAG_STRIPOFFSETS, &offsets) &&
                   TIFFGetField(tif, TIFFTAG_STRIPBYTECOUNTS, &counts) && iw > 0 && ih > 0 &&
                   iw <= 65535 && ih <= 65535 && (n = TIFFNumberOfStrips(tif)) > 0;
    uint64_t total = 0;
    for (uint32_t i = 0; ok && i < n; i++) {
        total += counts[i];
        ok = counts[i] > 0 && total <= S2D_COPIED_FRAME_MAX(iw, ih);
    }
    ok = ok && (strips = calloc(n, sizeof *strips)) != NULL;
    for (uint32_t i = 0; ok && i < n; i++) {
        ok = read_at(s->fd, offsets[i], (size_t)counts[i], &strips[i]);
    }
    if (ok && !TIFFGetField(tif, TIFFTAG_JPEGTABLES, &tn, &tables)) {
        tables = NULL;
        tn = 0;
    }
    ok = ok && s2d_jpeg_join_strips(tables, tn, strips, n, (int)iw, (int)ih, rps,
                                     pm == PHOTOMETRIC_RGB, &rgb, out);
    if (ok) {
        *w = iw;
        *h = ih;
        snprintf(photometric, 16, "%s", rgb ? "RGB" : "YBR_FULL_422");
    }
    for (uint32_t i = 0; strips && i < n; i++) {
        s2d_buf_free(&strips[i]);
    }
    free(strips);
    if (tif) {
        TIFFClose(tif);
    }
    return ok;
}

// ------------------------------------------------------------------ opening

static const s2d_reader_ops tiff_ops = {
    .close = tiff_close,
    .ctx_new = tiff_ctx_new,
    .ctx_free = tiff_ctx_free,
    .read_region = tiff_read_region,
    .read_frame = tiff_read_frame,
    .has_associated = tiff_has_associated,
    .read_associated = tiff_read_associated,
    .associated_jpeg = tiff_associated_jpeg,
};

// A private-tag value libtiff keeps as an anonymous field: count and data.
static bool anon_field(TIFF *tif, uint32_t tag, uint32_t *count, void **data)
{
    const TIFFField *f = TIFFFieldWithTag(tif, tag);
    if (!f) {
        return false;
    }
    *count = 0;
    *data = NULL;
    if (TIFFFieldPassCount(f)) {
        if (TIFFFieldReadCount(f) == TIFF_VARIABLE2) {
            return TIFFGetField(tif, tag, count, data) && *data;
        }
        uint16_t c16 = 0;
        bool ok = TIFFGetField(tif, tag, &c16, data) && *data;
        *count = c16;
        return ok;
    }
    *count = 1;
    return TIFFGetField(tif, tag, data) && *data;
}

static bool copy_u64s(TIFF *tif, uint32_t tag, uint32_t n, uint64_t **out)
{
    uint64_t *v = NULL;
    if (!TIFFGetField(tif, tag, &v) || !v || !(*out = malloc((size_t)n * sizeof **out))) {
        return false;
    }
    memcpy(*out, v, (size_t)n * sizeof **out);
    return true;
}

// Aperio's ImageDescription: "Aperio Image Library ...|AppMag = 20|MPP = 0.499|...".
static bool aperio_properties(s2d_reader *r, const char *desc)
{
    char *copy = strdup(desc);
    if (!copy) {
        return false;
    }
    bool ok = true, first = true;
    char *save = NULL;
    for (char *part = strtok_r(copy, "|", &save); part && ok; part = strtok_r(NULL, "|", &save)) {
        char *eq = strstr(part, " = ");
        if (first || !eq) {
            first = false;
            continue;
        }
        *eq = '\0';
        char key[300];
        snprintf(key, sizeof key, "aperio.%s", part);
        ok = s2d_props_set(&r->props, key, eq + 3);
    }
    free(copy);
    const char *mpp = s2d_props_get(&r->props, "aperio.MPP");
    const char *mag = s2d_props_get(&r->props, "aperio.AppMag");
    return ok && (!mpp || (s2d_props_set(&r->props, "openslide.mpp-x", mpp) &&
                           s2d_props_set(&r->props, "openslide.mpp-y", mpp))) &&
           (!mag || s2d_props_set(&r->props, "openslide.objective-power", mag));
}

// The value of attribute `name` of the first OME-XML Pixels element, or false.
static bool xml_attribute(const char *xml, const char *name, char *out, size_t n)
{
    const char *pixels = strstr(xml, "<Pixels ");
    const char *end = pixels ? strchr(pixels, '>') : NULL;
    char pattern[64];
    snprintf(pattern, sizeof pattern, " %s=\"", name);
    const char *at = pixels ? strstr(pixels, pattern) : NULL;
    if (!at || at > end) {
        return false;
    }
    at += strlen(pattern);
    const char *close = strchr(at, '"');
    if (!close || (size_t)(close - at) >= n) {
        return false;
    }
    memcpy(out, at, (size_t)(close - at));
    out[close - at] = '\0';
    return true;
}

// OME-TIFF: the pixel size from the OME-XML Pixels element, in micrometres.
static bool ome_properties(s2d_reader *r, const char *desc)
{
    static const struct { const char *unit; double to_um; } units[] = {
        {"\xC2\xB5m", 1}, {"um", 1}, {"nm", 1e-3}, {"mm", 1e3}, {"cm", 1e4}, {"m", 1e6}};
    const char *axes[2][3] = {{"PhysicalSizeX", "PhysicalSizeXUnit", "openslide.mpp-x"},
                              {"PhysicalSizeY", "PhysicalSizeYUnit", "openslide.mpp-y"}};
    for (int a = 0; a < 2; a++) {
        char value[64], unit[16] = "\xC2\xB5m";   // OME's default unit is the micrometre
        if (!xml_attribute(desc, axes[a][0], value, sizeof value)) {
            continue;
        }
        xml_attribute(desc, axes[a][1], unit, sizeof unit);
        double v = strtod(value, NULL), scale = 0;
        for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
            if (strcmp(unit, units[i].unit) == 0) {
                scale = units[i].to_um;
            }
        }
        if (v > 0 && scale > 0) {
            char um[64];
            snprintf(um, sizeof um, "%.17g", v * scale);
            if (!s2d_props_set(&r->props, axes[a][2], um)) {
                return false;
            }
        }
    }
    return true;
}

// NDPI: the objective, the pixel size from the resolution (centimetres), and the key=value
// lines of its property tag, as OpenSlide names them.
static bool ndpi_properties(s2d_reader *r, TIFF *tif, double lens)
{
    char v[64];
    snprintf(v, sizeof v, "%g", lens);
    bool ok = s2d_props_set(&r->props, "hamamatsu.SourceLens", v) &&
              s2d_props_set(&r->props, "openslide.objective-power", v);
    float xres = 0, yres = 0;
    uint16_t unit = RESUNIT_INCH;
    TIFFGetFieldDefaulted(tif, TIFFTAG_RESOLUTIONUNIT, &unit);
    if (unit == RESUNIT_CENTIMETER && TIFFGetField(tif, TIFFTAG_XRESOLUTION, &xres) &&
        TIFFGetField(tif, TIFFTAG_YRESOLUTION, &yres) && xres > 0 && yres > 0) {
        snprintf(v, sizeof v, "%.17g", 10000.0 / xres);
        ok = ok && s2d_props_set(&r->props, "openslide.mpp-x", v);
        snprintf(v, sizeof v, "%.17g", 10000.0 / yres);
        ok = ok && s2d_props_set(&r->props, "openslide.mpp-y", v);
    }
    uint32_t n;
    void *text;
    if (anon_field(tif, NDPI_PROPERTIES, &n, &text) && n > 0) {
        char *copy = strndup(text, n);
        char *save = NULL;
        // Lines end with CR LF; a lone CR stays inside a value (the filter description
        // holds ";Key=value\r" runs, as OpenSlide keeps them).
        for (char *line = copy ? strtok_r(copy, "\n", &save) : NULL; line && ok;
             line = strtok_r(NULL, "\n", &save)) {
            size_t len = strlen(line);
            if (len > 0 && line[len - 1] == '\r') {
                line[len - 1] = '\0';
            }
            char *eq = strchr(line, '=');
            if (eq) {
                *eq = '\0';
                char key[300];
                snprintf(key, sizeof key, "hamamatsu.%s", line);
                ok = s2d_props_set(&r->props, key, eq + 1);
            }
        }
        free(copy);
    }
    return ok;
}

// Tiled JPEG or JPEG 2000 level: what its frames are, from its first stored tile.
static bool probe_tiled(TIFF *tif, int fd, tiff_level *lv, s2d_level_info *info)
{
    uint16_t photometric = PHOTOMETRIC_RGB;
    TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric);
    TIFFGetField(tif, TIFFTAG_TILEWIDTH, &lv->tile_w);
    TIFFGetField(tif, TIFFTAG_TILELENGTH, &lv->tile_h);
    if (lv->tile_w == 0 || lv->tile_h == 0 || lv->tile_w > 65535 || lv->tile_h > 65535) {
        return false;
    }
    lv->across = (lv->width + lv->tile_w - 1) / lv->tile_w;
    lv->down = (lv->height + lv->tile_h - 1) / lv->tile_h;
    uint32_t n = TIFFNumberOfTiles(tif);
    if (n != lv->across * lv->down || !copy_u64s(tif, TIFFTAG_TILEOFFSETS, n, &lv->offsets) ||
        !copy_u64s(tif, TIFFTAG_TILEBYTECOUNTS, n, &lv->counts)) {
        return false;
    }
    uint32_t i = 0;
    while (i < n && lv->counts[i] == 0) {
        i++;
    }
    s2d_buf tile = {0}, spliced = {0};
    bool ok = i < n && lv->counts[i] < (64u << 20) &&
              read_at(fd, lv->offsets[i], (size_t)lv->counts[i], &tile);
    if (ok && lv->compression == COMPRESSION_JPEG) {
        uint32_t tn = 0;
        void *tables = NULL;
        if (TIFFGetField(tif, TIFFTAG_JPEGTABLES, &tn, &tables) && tables && tn >= 4) {
            lv->tables = malloc(tn);
            ok = lv->tables != NULL;
            if (ok) {
                memcpy(lv->tables, tables, tn);
                lv->tables_len = tn;
            }
        }
        s2d_jpeg_facts f;
        ok = ok && s2d_jpeg_splice(lv->tables, lv->tables_len, tile.data, tile.len, false,
                                   &spliced) &&
             s2d_jpeg_parse(spliced.data, spliced.len, &f) && f.sof == 0xC0 &&
             f.precision == 8 && f.ncomp == 3 && f.width == (int)lv->tile_w &&
             f.height == (int)lv->tile_h;
        if (ok) {
            lv->rgb = s2d_jpeg_is_rgb(&f, photometric == PHOTOMETRIC_RGB);
            info->coding = S2D_CODING_JPEG;
            snprintf(info->photometric, sizeof info->photometric, "%s",
                     lv->rgb ? "RGB" : "YBR_FULL_422");
        }
    } else if (ok) {
        // 33005 holds R, G, B samples (with or without MCT); 33003's YCbCr samples have no
        // WSM Photometric Interpretation, so such files are left to OpenSlide.
        s2d_j2k_facts f;
        const char *pi = NULL;
        ok = lv->compression == 33005 && s2d_j2k_parse(tile.data, tile.len, &f) &&
             f.width == (int)lv->tile_w && f.height == (int)lv->tile_h && f.precision == 8 &&
             (pi = s2d_j2k_photometric(&f, true)) != NULL;
        if (ok) {
            info->coding = S2D_CODING_J2K;
            snprintf(info->photometric, sizeof info->photometric, "%s", pi);
        }
    }
    s2d_buf_free(&tile);
    s2d_buf_free(&spliced);
    info->tile_w = (int)lv->tile_w;
    info->tile_h = (int)lv->tile_h;
    return ok;
}

// NDPI level: one baseline JPEG strip whose restart intervals tile its MCU rows exactly.
static bool probe_ndpi(TIFF *tif, int fd, tiff_level *lv, s2d_level_info *info)
{
    uint64_t *offs = NULL, *counts = NULL;
    uint32_t n;
    void *starts;
    if (TIFFIsTiled(tif) || TIFFNumberOfStrips(tif) != 1 ||
        !TIFFGetField(tif, TIFFTAG_STRIPOFFSETS, &offs) ||
        !TIFFGetField(tif, TIFFTAG_STRIPBYTECOUNTS, &counts) || !offs || !counts ||
        !anon_field(tif, NDPI_MCU_STARTS, &n, &starts) || n == 0) {
        return false;
    }
    lv->strip_offset = offs[0];
    lv->strip_len = counts[0];
    s2d_buf head = {0};
    size_t want = lv->strip_len < 65536 ? (size_t)lv->strip_len : 65536;
    s2d_jpeg_facts f;
    bool ok = read_at(fd, lv->strip_offset, want, &head) && s2d_jpeg_parse(head.data, head.len, &f) &&
              f.sof == 0xC0 && f.precision == 8 && f.ncomp == 3 && f.restart_interval > 0 &&
              (uint32_t)f.width == lv->width && (uint32_t)f.height == lv->height;
    if (ok) {
        s2d_jpeg_mcu_size(&f, &lv->mcu_w, &lv->mcu_h);
        lv->interval = (uint32_t)f.restart_interval;
        lv->mcus_per_row = (lv->width + (uint32_t)lv->mcu_w - 1) / (uint32_t)lv->mcu_w;
        lv->mcu_rows = (lv->height + (uint32_t)lv->mcu_h - 1) / (uint32_t)lv->mcu_h;
        ok = lv->mcus_per_row % lv->interval == 0 &&
             (uint64_t)n == (uint64_t)lv->mcu_rows * (lv->mcus_per_row / lv->interval);
    }
    // The headers end where the first interval's data starts; the SOF's height follows its
    // length and precision bytes.
    uint32_t *s32 = starts;
    ok = ok && s32[0] < head.len;
    for (size_t i = 2; ok && i + 4 < s32[0]; i++) {
        if (head.data[i] == 0xFF && head.data[i + 1] == 0xC0) {
            lv->sof_at = i + 5;
            break;
        }
    }
    ok = ok && lv->sof_at > 0 && (lv->header = malloc(s32[0])) != NULL &&
         (lv->restarts = malloc((size_t)n * sizeof *lv->restarts)) != NULL;
    if (ok) {
        memcpy(lv->header, head.data, s32[0]);
        lv->header_len = s32[0];
        memcpy(lv->restarts, starts, (size_t)n * sizeof *lv->restarts);
        lv->nrestarts = n;
        lv->ndpi = true;
        lv->rgb = s2d_jpeg_is_rgb(&f, false);
        info->coding = S2D_CODING_JPEG;
        info->mcu_w = lv->mcu_w;
        info->mcu_h = lv->mcu_h;
        snprintf(info->photometric, sizeof info->photometric, "%s",
                 lv->rgb ? "RGB" : "YBR_FULL_422");
    }
    s2d_buf_free(&head);
    return ok;
}

typedef enum layout { LAYOUT_APERIO, LAYOUT_NDPI, LAYOUT_GENERIC } layout;

// Sorts the directories into levels and associated images. @return false when the file is
// not a layout this backend copies from (then OpenSlide reads it).
static bool scan_directories(s2d_reader *r, TIFF *tif, layout kind, s2d_error *err)
{
    tiff_slide *s = slide_of(r);
    int cap = 8;
    s->levels = calloc((size_t)cap, sizeof *s->levels);
    r->levels = calloc((size_t)cap, sizeof *r->levels);
    if (!s->levels || !r->levels) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    int dir = 0;
    bool ok = true;
    do {
        uint32_t w = 0, h = 0;
        uint16_t compression = COMPRESSION_NONE;
        char *desc = NULL;
        TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
        TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
        TIFFGetField(tif, TIFFTAG_COMPRESSION, &compression);
        TIFFGetField(tif, TIFFTAG_IMAGEDESCRIPTION, &desc);
        bool level = false;
        if (kind == LAYOUT_NDPI) {
            uint32_t n;
            void *lens = NULL;
            float l = anon_field(tif, NDPI_SOURCE_LENS, &n, &lens) && n == 1 ? *(float *)lens : 0;
            if (l > 0) {
                level = true;
                if (dir == 0 && !ndpi_properties(r, tif, l)) {
                    return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
                }
            } else if (l == -1) {
                s->macro_dir = dir;
            }
        } else if (TIFFIsTiled(tif)) {
            level = true;
        } else if (kind == LAYOUT_APERIO && dir > 0) {
            // Aperio: the first stripped image is the thumbnail; label and macro say so.
            if (desc && strstr(desc, "label")) {
                s->label_dir = dir;
            } else if (desc && strstr(desc, "macro")) {
                s->macro_dir = dir;
            } else if (s->thumbnail_dir < 0) {
                s->thumbnail_dir = dir;
            }
        }
        if (level) {
            if (s->nlevels == cap) {
                cap *= 2;
                tiff_level *nl = realloc(s->levels, (size_t)cap * sizeof *nl);
                if (nl) {
                    s->levels = nl;
                }
                s2d_level_info *ni = realloc(r->levels, (size_t)cap * sizeof *ni);
                if (ni) {
                    r->levels = ni;
                }
                if (!nl || !ni) {
                    return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
                }
            }
            tiff_level *lv = &s->levels[s->nlevels];
            s2d_level_info *info = &r->levels[s->nlevels];
            memset(lv, 0, sizeof *lv);
            memset(info, 0, sizeof *info);
            s->nlevels++;
            lv->dir = dir;
            lv->width = w;
            lv->height = h;
            lv->compression = compression;
            info->width = w;
            info->height = h;
            const tiff_level *prev = s->nlevels > 1 ? &s->levels[s->nlevels - 2] : NULL;
            ok = w > 0 && h > 0 && (!prev || (w < prev->width && h <= prev->height)) &&
                 (compression == COMPRESSION_JPEG || compression == 33005 ||
                  compression == 33003) &&
                 (kind == LAYOUT_NDPI ? probe_ndpi(tif, s->fd, lv, info)
                                      : probe_tiled(tif, s->fd, lv, info));
        }
        if (dir == 0 && desc && kind == LAYOUT_APERIO && !aperio_properties(r, desc)) {
            return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        }
        if (dir == 0 && desc && kind == LAYOUT_GENERIC && !ome_properties(r, desc)) {
            return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        }
        char *datetime = NULL;
        if (dir == 0 && TIFFGetField(tif, TIFFTAG_DATETIME, &datetime) && datetime &&
            !s2d_props_set(&r->props, "tiff.DateTime", datetime)) {
            return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        }
        dir++;
    } while (ok && dir < 1000 && TIFFReadDirectory(tif));
    r->nlevels = s->nlevels;
    for (int i = 0; i < r->nlevels; i++) {
        r->levels[i].downsample = ((double)r->levels[0].width / r->levels[i].width +
                                   (double)r->levels[0].height / r->levels[i].height) / 2;
    }
    return ok && s->nlevels > 0;
}

bool s2d_tiff_backend_open(s2d_reader *r, const char *vendor, s2d_error *err)
{
    layout kind = !vendor                            ? LAYOUT_GENERIC
                  : strcmp(vendor, "aperio") == 0    ? LAYOUT_APERIO
                  : strcmp(vendor, "hamamatsu") == 0 ? LAYOUT_NDPI
                                                     : LAYOUT_GENERIC;
    // NDPI files past 4 GiB keep the high bits of their offsets in further private tags,
    // which this backend does not read: OpenSlide does.
    struct stat st;
    if (kind == LAYOUT_NDPI && (stat(r->path, &st) != 0 || st.st_size >= (off_t)1 << 32)) {
        return false;
    }
    // Copying tiles from a truncated file would give frames of background where the data
    // was cut: refuse it, as OpenSlide does.
    char reason[256];
    if (s2d_tiff_info_damaged(r->path, reason, sizeof reason)) {
        return s2d_error_set(err, S2D_ERR_INPUT, "%s", reason);
    }
    tiff_slide *s = calloc(1, sizeof *s);
    if (!s) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    s->fd = -1;
    s->label_dir = s->macro_dir = s->thumbnail_dir = -1;
    r->impl = s;
    r->ops = &tiff_ops;
    TIFF *tif = s2d_tiff_open_quiet(r->path);
    s->fd = open(r->path, O_RDONLY | O_CLOEXEC);
    bool ok = tif && s->fd >= 0 && scan_directories(r, tif, kind, err);
    if (tif) {
        TIFFClose(tif);
    }
    if (!ok) {
        // Not ours after all (or broken): leave the reader as it was for OpenSlide.
        tiff_close(r);
        r->ops = NULL;
        free(r->levels);
        r->levels = NULL;
        r->nlevels = 0;
        s2d_props_free(&r->props);
    }
    return ok;
}
