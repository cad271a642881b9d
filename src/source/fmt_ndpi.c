// SPDX-License-Identifier: Apache-2.0
/* Hamamatsu NDPI: each level is one baseline JPEG strip whose restart intervals tile its MCU
 * rows exactly; frames are cut from it at DCT-coefficient level, without decoding. Levels
 * are the IFDs with a positive source lens, the macro the one with lens -1. Files past
 * 4 GiB keep the high bits of their offsets in further private tags, which this format does
 * not read: OpenSlide does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <tiffio.h>

#include "codec/bitstream.h"
#include "codec/jpeg_cut.h"
#include "source/tiffio.h"

#define NDPI_MARKER 65420            // any NDPI has it in IFD 0
#define NDPI_SOURCE_LENS 65421       // FLOAT: objective of a level; -1 macro, -2 map
#define NDPI_MCU_STARTS 65426        // LONG[]: offset of each restart interval in the strip
#define NDPI_SCANNER_SERIAL 65442    // ASCII: the scanner's serial number
#define NDPI_PROPERTIES 65449        // ASCII: key=value lines
#define NDPI_DECODE_GRID 256         // frame size used to read regions of an NDPI level

typedef struct ndpi_level {
    uint8_t *header;                 // the strip's headers up to its scan
    size_t header_len, sof_at;       // sof_at: offset of the SOF segment's height field
    uint64_t strip_offset, strip_len;
    const uint32_t *restarts;        // where each restart interval starts (the listing's)
    uint32_t nrestarts, interval, mcus_per_row, mcu_rows;
    int mcu_w, mcu_h;
    bool rgb;                        // JPEG components are R, G, B
} ndpi_level;

// The coefficients of the stripe last cut from, and which stripe that was: the frames of
// one tile row usually share it, so it is read once, not once per frame.
typedef struct stripe_key {
    int level;
    uint32_t first_row, end_row, first_int, end_int;
} stripe_key;

typedef struct ndpi_state {
    s2d_jpeg_coefs *stripe;          // NULL when it could not be read: stripe_error says why
    stripe_key key;
    bool key_valid;
    s2d_error stripe_error;
} ndpi_state;

static void state_free(void *state)
{
    ndpi_state *s = state;
    if (s) {
        s2d_jpeg_coefs_free(s->stripe);
        free(s);
    }
}

static void level_free(void *cut)
{
    ndpi_level *n = cut;
    if (n) {
        free(n->header);
        free(n);
    }
}

// Chains the restart intervals of MCU rows [first_row, end_row) and interval columns
// [first_int, end_int) of the strip into one JPEG (RST markers renumbered) and reads its
// coefficients into st->stripe.
static bool read_stripe(int fd, const s2d_tiff_level *tl, const ndpi_level *lv, int level,
                        const stripe_key *k, s2d_tiff_ctx *c, ndpi_state *st, s2d_error *err)
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
    if (!s2d_pread_buf(fd, lv->strip_offset + span_start, (size_t)(span_end - span_start),
                       &c->raw)) {
        return s2d_error_set(err, S2D_ERR_INPUT, "level %d strip cannot be read", level);
    }
    const uint8_t *span = c->raw.data;

    uint64_t stripe_x = (uint64_t)first_int * lv->interval * (uint64_t)lv->mcu_w;
    uint64_t stripe_y = (uint64_t)first_row * (uint64_t)lv->mcu_h;
    uint64_t w = (uint64_t)(end_int - first_int) * lv->interval * (uint64_t)lv->mcu_w;
    uint64_t h = (uint64_t)(end_row - first_row) * (uint64_t)lv->mcu_h;
    w = stripe_x + w > tl->width ? tl->width - stripe_x : w;
    h = stripe_y + h > tl->height ? tl->height - stripe_y : h;

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
            uint64_t next = idx + 1 < lv->nrestarts ? lv->restarts[idx + 1] : lv->strip_len;
            // An end before the span's third byte would wrap b below the span (fuzzed NDPI).
            uint64_t b = next >= span_start + 2 ? next - span_start - 2 : UINT64_MAX;
            if (b == UINT64_MAX || b < a || b + 2 > c->raw.len || span[b] != 0xFF ||
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
    st->stripe = s2d_jpeg_coefs_read(jpeg->data, jpeg->len, err);
    return st->stripe != NULL;
}

// Cuts frame (col, row) out of the stripe of restart intervals that covers it, reading that
// stripe only when the previous frame's was another.
static bool ndpi_frame(s2d_source *src, const s2d_tiff_level *tl, int level, uint32_t col,
                       uint32_t row, int fw, int fh, s2d_tiff_ctx *c, s2d_buf *out,
                       s2d_error *err)
{
    const ndpi_level *lv = tl->cut;
    if (fw % lv->mcu_w || fh % lv->mcu_h) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "frame %dx%d is not made of %dx%d MCUs", fw,
                             fh, lv->mcu_w, lv->mcu_h);
    }
    uint64_t x0 = (uint64_t)col * (uint64_t)fw, y0 = (uint64_t)row * (uint64_t)fh;
    if (x0 >= tl->width || y0 >= tl->height) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "frame (%u,%u) outside level %d", col, row,
                             level);
    }
    if (!c->state && !(c->state = calloc(1, sizeof(ndpi_state)))) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    ndpi_state *st = c->state;
    uint32_t first_row = (uint32_t)(y0 / (uint64_t)lv->mcu_h);
    uint32_t end_row = (uint32_t)((y0 + (uint64_t)fh) / (uint64_t)lv->mcu_h);
    end_row = end_row < lv->mcu_rows ? end_row : lv->mcu_rows;
    uint32_t first_int = (uint32_t)(x0 / (uint64_t)lv->mcu_w) / lv->interval;
    uint64_t mcu_w = (uint64_t)lv->mcu_w;
    uint32_t end_mcu = (uint32_t)((x0 + (uint64_t)fw + mcu_w - 1) / mcu_w);
    end_mcu = end_mcu < lv->mcus_per_row ? end_mcu : lv->mcus_per_row;
    uint32_t end_int = (end_mcu + lv->interval - 1) / lv->interval;

    uint64_t stripe_x = (uint64_t)first_int * lv->interval * (uint64_t)lv->mcu_w;
    uint64_t stripe_y = (uint64_t)first_row * (uint64_t)lv->mcu_h;
    stripe_key key = {level, first_row, end_row, first_int, end_int};
    bool same = st->key_valid && memcmp(&key, &st->key, sizeof key) == 0;
    if (!same) {
        s2d_jpeg_coefs_free(st->stripe);
        st->stripe = NULL;
        st->stripe_error = (s2d_error){0};
        st->key = key;
        st->key_valid = true;
        // A broken stripe stays broken for the other frames of its row: read it once.
        read_stripe(s2d_tiff_source_of(src)->fd, tl, lv, level, &key, c, st, &st->stripe_error);
    }
    if (!st->stripe) {
        *err = st->stripe_error;
        s2d_error_prefix(err, "level %d frame (%u,%u): ", level, col, row);
        return false;
    }
    uint8_t fill[3];
    if (lv->rgb) {
        memcpy(fill, src->meta.background, 3);
    } else {
        s2d_rgb_to_ycbcr(src->meta.background, fill);
    }
    if (!s2d_jpeg_coefs_cut(st->stripe, (int)(x0 - stripe_x), (int)(y0 - stripe_y), fw, fh, fill,
                            out, err)) {
        s2d_jpeg_coefs_free(st->stripe);   // libjpeg's state is unknown after an error
        st->stripe = NULL;
        st->key_valid = false;
        s2d_error_prefix(err, "level %d frame (%u,%u): ", level, col, row);
        return false;
    }
    return true;
}

// Where the height field of the baseline SOF segment lies in the JPEG headers p[0, n), found
// by walking the segments by their lengths: bytes FF C0 inside another segment are no
// marker. 0 when no whole SOF0 segment lies within n bytes (the frame's height and width are
// rewritten there for every stripe, so they must be inside the copied headers).
static size_t sof_height_at(const uint8_t *p, size_t n)
{
    size_t i = 2;   // after SOI
    while (i + 4 <= n && p[i] == 0xFF) {
        unsigned marker = p[i + 1];
        if (marker == 0xFF) {   // fill byte
            i++;
            continue;
        }
        if (marker == 0xDA || marker == 0xD9) {
            return 0;   // the scan (or the end) before any SOF
        }
        size_t len = (size_t)p[i + 2] << 8 | p[i + 3];
        if (len < 2 || i + 2 + len > n) {
            return 0;
        }
        // length (2), precision (1), then height (2) and width (2): 8 bytes at least.
        if (marker == 0xC0) {
            return len >= 8 ? i + 5 : 0;
        }
        i += 2 + len;
    }
    return 0;
}

// A level: one baseline JPEG strip whose restart intervals tile its MCU rows exactly.
static bool probe_level(const s2d_tiffdir *td, int ifd, int fd, s2d_tiff_level *tl,
                        s2d_source_image *img)
{
    const s2d_tiff_ifd *d = &td->ifds[ifd];
    const s2d_tiff_private_tag *starts = s2d_tiffdir_private(td, ifd, NDPI_MCU_STARTS);
    if (d->tiled || d->nchunks != 1 || !d->offsets || !starts || starts->count == 0 ||
        starts->width != sizeof(uint32_t)) {
        return false;
    }
    ndpi_level *lv = calloc(1, sizeof *lv);
    if (!lv) {
        return false;
    }
    tl->cut = lv;
    tl->cut_free = level_free;
    uint32_t n = starts->count;
    const uint32_t *s32 = starts->data;
    lv->strip_offset = d->offsets[0];
    lv->strip_len = d->counts[0];
    s2d_buf head = {0};
    size_t want = lv->strip_len < 65536 ? (size_t)lv->strip_len : 65536;
    s2d_jpeg_facts f;
    bool ok = s2d_pread_buf(fd, lv->strip_offset, want, &head) &&
              s2d_jpeg_parse(head.data, head.len, &f) && f.sof == 0xC0 && f.precision == 8 &&
              f.ncomp == 3 && f.restart_interval > 0 && (uint32_t)f.width == tl->width &&
              (uint32_t)f.height == tl->height;
    if (ok) {
        s2d_jpeg_mcu_size(&f, &lv->mcu_w, &lv->mcu_h);
        lv->interval = (uint32_t)f.restart_interval;
        lv->mcus_per_row = (tl->width + (uint32_t)lv->mcu_w - 1) / (uint32_t)lv->mcu_w;
        lv->mcu_rows = (tl->height + (uint32_t)lv->mcu_h - 1) / (uint32_t)lv->mcu_h;
        ok = lv->mcus_per_row % lv->interval == 0 &&
             (uint64_t)n == (uint64_t)lv->mcu_rows * (lv->mcus_per_row / lv->interval);
    }
    // The headers end where the first interval's data starts, and must hold the whole SOF.
    ok = ok && s32[0] < head.len && (lv->sof_at = sof_height_at(head.data, s32[0])) > 0 &&
         (lv->header = malloc(s32[0])) != NULL;
    if (ok) {
        memcpy(lv->header, head.data, s32[0]);
        lv->header_len = s32[0];
        lv->restarts = s32;
        lv->nrestarts = n;
        lv->rgb = s2d_jpeg_is_rgb(&f, false);
        tl->frame = ndpi_frame;
        tl->cell_w = tl->cell_h = NDPI_DECODE_GRID;
        img->native.coding = S2D_CODING_JPEG;
        img->native.mcu_w = lv->mcu_w;
        img->native.mcu_h = lv->mcu_h;
        img->pix.samples = 3;
        img->pix.bits_allocated = img->pix.bits_stored = 8;
        img->pix.colour = lv->rgb ? S2D_COLOUR_RGB : S2D_COLOUR_YCBCR;
        img->chroma_w = img->chroma_h = 1;
        if (!lv->rgb && f.h[1] && f.v[1]) {
            img->chroma_w = (uint8_t)(f.h[0] / f.h[1]);
            img->chroma_h = (uint8_t)(f.v[0] / f.v[1]);
        }
    }
    s2d_buf_free(&head);
    return ok;
}

static float source_lens(const s2d_tiffdir *td, int ifd)
{
    const s2d_tiff_private_tag *t = s2d_tiffdir_private(td, ifd, NDPI_SOURCE_LENS);
    return t && t->count == 1 && t->width == sizeof(float) ? *(const float *)t->data : 0;
}

// The scanner: Make, Model and Software of the TIFF ("Hamamatsu", "C9600-12",
// "NDP.scan 2.5.89") and the serial number of its own tag.
static void read_device(const s2d_tiffdir *td, s2d_source_device *d)
{
    const s2d_tiff_private_tag *serial = s2d_tiffdir_private(td, 0, NDPI_SCANNER_SERIAL);
    if (serial && serial->width == 1) {
        s2d_meta_device_text(d->serial, serial->data, serial->count);
    }
    s2d_meta_tiff_device(&td->ifds[0], d);
}

// The date, the scanner; and when IFD 0 is a level, the objective, the pixel size from the resolution
// (centimetres) and fluorescence from the key=value lines of the property tag.
// @return false only for lack of memory.
static bool read_meta(const s2d_tiffdir *td, s2d_source_meta *m)
{
    const s2d_tiff_ifd *d0 = &td->ifds[0];
    float lens = source_lens(td, 0);
    if (!s2d_meta_tiff_datetime(d0->datetime, m->acquisition_datetime)) {
        m->acquisition_datetime[0] = '\0';
    }
    read_device(td, &m->device);
    snprintf(m->format_title, sizeof m->format_title, "Hamamatsu NDPI");
    const s2d_tiff_private_tag *props = s2d_tiffdir_private(td, 0, NDPI_PROPERTIES);
    if (lens > 0) {
        m->objective_power = lens;
        if (d0->resolution_unit == RESUNIT_CENTIMETER && d0->x_resolution > 0 &&
            d0->y_resolution > 0) {
            m->mpp_x = 10000.0 / d0->x_resolution;
            m->mpp_y = 10000.0 / d0->y_resolution;
        }
    } else {
        props = NULL;
    }
    char *copy = props && props->count > 0 ? strndup(props->data, props->count) : NULL;
    char *save = NULL;
    bool found = false, ok = true;
    // Lines end with CR LF; a lone CR stays inside a value (the filter description holds
    // ";Key=value\r" runs).
    for (char *line = copy ? strtok_r(copy, "\n", &save) : NULL; line && !found && ok;
         line = strtok_r(NULL, "\n", &save)) {
        size_t len = strlen(line);
        if (len > 0 && line[len - 1] == '\r') {
            line[len - 1] = '\0';
        }
        char *eq = strchr(line, '=');
        if (eq) {
            *eq = '\0';
            ok = s2d_meta_fluorescence(line, m, &found) &&
                 (found || s2d_meta_fluorescence(eq + 1, m, &found));
        }
    }
    free(copy);
    s2d_meta_default_background(m);
    return ok;
}

// The macro camera's pixel size: NDPI gives it the resolution (centimetres) of its IFD, as
// it does the levels'.
static void record_macro_pixel_size(s2d_source *src, const s2d_tiff_ifd *d)
{
    if (d->resolution_unit != RESUNIT_CENTIMETER || !(d->x_resolution > 0) ||
        !(d->y_resolution > 0)) {
        return;
    }
    for (int k = 0; k < src->nassociated; k++) {
        if (src->associated[k].role == S2D_IMAGE_OVERVIEW) {
            src->associated[k].mpp_x = 10000.0 / d->x_resolution;
            src->associated[k].mpp_y = 10000.0 / d->y_resolution;
        }
    }
}

static bool ndpi_detect(const char *path, const s2d_tiffdir *td)
{
    (void)path;
    return td && td->n > 0 && s2d_tiffdir_private(td, 0, NDPI_MARKER) != NULL;
}

static bool ndpi_open(s2d_source *src, s2d_error *err)
{
    const s2d_tiffdir *td = src->tiffdir;
    size_t n = strlen(src->path);
    // Offsets past 4 GiB, and NDPI-tagged TIFFs of other names (OpenSlide's rule), are
    // OpenSlide's.
    if (n <= 5 || strcasecmp(src->path + n - 5, ".ndpi") != 0 || td->file_size >= (1ull << 32)) {
        return false;
    }
    if (!s2d_tiff_source_sound(td, err) || !s2d_tiff_source_begin(src, err)) {
        return false;
    }
    int fd = s2d_tiff_source_of(src)->fd;
    bool ok = true;
    for (int i = 0; ok && i < td->n; i++) {
        const s2d_tiff_ifd *d = &td->ifds[i];
        float lens = source_lens(td, i);
        if (lens == -1) {
            ok = s2d_tiff_source_set_associated(src, i, S2D_IMAGE_OVERVIEW);
            record_macro_pixel_size(src, d);
        } else if (lens > 0) {
            s2d_tiff_level *tl = s2d_tiff_source_add_level(src, i);
            if (!tl) {
                s2d_tiff_source_abandon(src);
                return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
            }
            ok = s2d_tiff_level_follows(src, tl) && d->compression == COMPRESSION_JPEG &&
                 probe_level(td, i, fd, tl, &src->levels[src->nlevels - 1]);
        }
    }
    if (!ok || !s2d_tiff_source_finish(src)) {
        s2d_tiff_source_abandon(src);   // not a layout we copy from: OpenSlide reads it
        return false;
    }
    if (!read_meta(td, &src->meta) || !s2d_meta_take_icc(td, &src->meta)) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    ((s2d_tiff_source *)src->impl)->state_free = state_free;
    return true;
}

static const char *const ndpi_extensions[] = {".ndpi", NULL};

const s2d_format s2d_format_ndpi = {
    .name = "ndpi",
    .extensions = ndpi_extensions,
    .reads_tiff = true,
    .detect = ndpi_detect,
    .open = ndpi_open,
};
