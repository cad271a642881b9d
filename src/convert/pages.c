// SPDX-License-Identifier: Apache-2.0
/* A plain TIFF's pages to DICOM; see pages.h and docs/plain-tiff.md. */
#include "convert/pages.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/document.h"
#include "convert/outdir.h"
#include "convert/window.h"
#include "codec/bitstream.h"
#include "core/clock.h"
#include "dicom/part10.h"
#include "dicom/source_terms.h"

// Rows a band holds when native pixels are streamed: about 1 MiB of source pixels, a
// multiple of 8 so that 1-bit bands end on a byte whatever the width.
#define BAND_BYTES (1u << 20)

static const char *const kind_names[] = {
    [S2D_PAGES_RADIOLOGY] = "radiology",
    [S2D_PAGES_DOCUMENT] = "document",
    [S2D_PAGES_PHOTO] = "photo",
};

const char *s2d_pages_kind_name(s2d_page_kind kind)
{
    return kind_names[kind];
}

// The modalities that say which kind a file is (docs/plain-tiff.md).
static bool kind_of_modality(const char *m, s2d_page_kind *kind, bool *microscopy)
{
    static const char *const radiology[] = {"CR", "DX", "CT", "MR", "US", "XA", "MG", "OT",
                                            "NM", "PT", "RF", "IO", "PX", "RG"};
    *microscopy = !strcmp(m, "GM") || !strcmp(m, "SM");
    for (size_t i = 0; i < sizeof radiology / sizeof *radiology; i++) {
        if (!strcmp(m, radiology[i])) {
            *kind = S2D_PAGES_RADIOLOGY;
            return true;
        }
    }
    if (!strcmp(m, "DOC")) {
        *kind = S2D_PAGES_DOCUMENT;
        return true;
    }
    if (!strcmp(m, "XC") || !strcmp(m, "ES") || !strcmp(m, "DMS")) {
        *kind = S2D_PAGES_PHOTO;
        return true;
    }
    return false;
}

// --kind, else --modality, else what the file holds.
static bool decide_kind(s2d_pages *pg, s2d_error *err)
{
    const s2d_convert_options *o = pg->opts;
    bool microscopy = false;
    if (o->kind) {
        for (int k = 0; k < 3; k++) {
            if (!strcmp(o->kind, kind_names[k])) {
                pg->kind = (s2d_page_kind)k;
                snprintf(pg->kind_reason, sizeof pg->kind_reason, "--kind %s", o->kind);
                return true;
            }
        }
        if (!strcmp(o->kind, "microscopy")) {
            return s2d_error_set(err, S2D_ERR_INPUT, "--kind microscopy: the pages are not "
                                 "grey planes of one size and sample type");
        }
        return s2d_error_set(err, S2D_ERR_USAGE,
                             "--kind %s: use radiology, document, photo or microscopy", o->kind);
    }
    if (o->modality && kind_of_modality(o->modality, &pg->kind, &microscopy)) {
        snprintf(pg->kind_reason, sizeof pg->kind_reason, "--modality %s", o->modality);
        return true;
    }
    char reason[128] = "";
    s2d_tiff_kind found = s2d_source_kind(pg->src, reason);
    if (microscopy || found == S2D_KIND_MICROSCOPY) {
        return s2d_error_set(err, S2D_ERR_INPUT,
                             "a microscopy TIFF (%s) whose planes slide2dcm does not read "
                             "(it reads OME-TIFF, ImageJ hyperstacks, QPTIFF and grey TIFFs); "
                             "--kind radiology writes its pages as Secondary Capture",
                             microscopy ? o->modality : reason);
    }
    pg->kind = found == S2D_KIND_DOCUMENT    ? S2D_PAGES_DOCUMENT
               : found == S2D_KIND_RADIOLOGY ? S2D_PAGES_RADIOLOGY
                                             : S2D_PAGES_PHOTO;
    snprintf(pg->kind_reason, sizeof pg->kind_reason, "%s", reason);
    return true;
}

// What the kind and the options say about every instance.
static void describe_kind(s2d_pages *pg)
{
    const s2d_convert_options *o = pg->opts;
    s2d_iod_shared *s = pg->shared;
    static const char *const modality[] = {"OT", "DOC", "XC"};
    static const char *const conversion[] = {"DI", "SD", NULL};
    s->modality = o->modality ? o->modality : modality[pg->kind];
    s->conversion_type = o->conversion_type ? o->conversion_type : conversion[pg->kind];
    if (!s->conversion_type) {
        s->conversion_type = "SI";   // only SC writes it; a photograph forced into SC
    }
    // Radiology exports and scans carry names and dates in their pixels more often than
    // not: say so unless told otherwise; a photograph is taken to be clean.
    s->burned_in_annotation = o->burned_in_annotation ? o->burned_in_annotation > 0
                                                      : pg->kind != S2D_PAGES_PHOTO;
    s->document_title = o->document_title;
    s->body_part = o->body_part;
    s->pixel_spacing_mm[0] = o->pixel_spacing[0];
    s->pixel_spacing_mm[1] = o->pixel_spacing[1];
    // Resolution says how large the paper was: meaningful for documents only (radiology
    // exports record screen dots per inch).
    const s2d_page_facts *f = s2d_source_page_facts(pg->src, 0);
    if (pg->kind == S2D_PAGES_DOCUMENT && f->x_px_per_mm > 0 && f->y_px_per_mm > 0) {
        s->nominal_spacing_mm[0] = 1.0 / f->y_px_per_mm;
        s->nominal_spacing_mm[1] = 1.0 / f->x_px_per_mm;
    }
}

// Frames stored as native Pixel Data (deflated or not): streamed a band at a time.
static bool native_frames(const s2d_codec *codec)
{
    return codec == &s2d_codec_native || codec == &s2d_codec_deflated;
}

static const s2d_codec *chosen_codec(const s2d_convert_options *o, s2d_error *err)
{
    const char *name = o->codec ? o->codec : "native";
    const s2d_codec *codec = s2d_codec_named(name);
    if (codec && !codec->lossy) {
        return codec;
    }
    s2d_error_set(err, S2D_ERR_USAGE, "--codec %s: use native, deflate, rle, jpeg-ls or j2k",
                  name);
    return NULL;
}

// Whether page i's JPEG is copied (baseline JPEG that joins into one stream, upright, no
// codec asked for), and then its size: the source joins it here once to know both.
static bool copies_jpeg(const s2d_pages *pg, int i, uint64_t *bytes, s2d_colour *colour)
{
    const s2d_source_image *img = s2d_source_page(pg->src, i);
    const s2d_page_facts *f = s2d_source_page_facts(pg->src, i);
    if (img->native.coding != S2D_CODING_JPEG || f->orientation > 1 || pg->opts->codec) {
        return false;
    }
    s2d_buf jpeg = {0};
    s2d_error ignored = {0};
    bool joins = s2d_source_page_jpeg(pg->src, i, &jpeg, colour, &ignored);
    *bytes = jpeg.len;
    s2d_buf_free(&jpeg);
    return joins;
}

bool s2d_pages_plan(s2d_pages *pg, s2d_error *err)
{
    int n = s2d_source_page_count(pg->src);
    if (n <= 0) {
        return s2d_error_set(err, S2D_ERR_INPUT, "no pages");
    }
    const s2d_codec *codec = chosen_codec(pg->opts, err);
    if (!codec || !decide_kind(pg, err)) {
        return false;
    }
    describe_kind(pg);
    // Patient Identity Removed YES speaks for the pixels too, and no one has looked at them.
    if (pg->opts->deidentify && pg->shared->burned_in_annotation) {
        return s2d_error_set(err, S2D_ERR_USAGE,
                             "--deidentify: %s pages may show names and dates (Burned In "
                             "Annotation YES), which slide2dcm does not remove; once you have "
                             "checked they do not, add --burned-in-annotation no",
                             kind_names[pg->kind]);
    }
    if (pg->opts->as_pdf && pg->kind != S2D_PAGES_DOCUMENT) {
        return s2d_error_set(err, S2D_ERR_INPUT, "%s: --as pdf writes documents, and this "
                             "file is taken for %s (%s): add --kind document",
                             s2d_base_name(pg->path), kind_names[pg->kind], pg->kind_reason);
    }
    pg->maps = calloc((size_t)n, sizeof *pg->maps);
    s2d_page_desc *pages = calloc((size_t)n, sizeof *pages);
    bool ok = pg->maps && pages;
    if (!ok) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    s2d_min_is_white white = pg->kind == S2D_PAGES_RADIOLOGY ? S2D_KEEP_MIN_IS_WHITE
                                                              : S2D_INVERT_MIN_IS_WHITE;
    for (int i = 0; ok && i < n; i++) {
        const s2d_source_image *img = s2d_source_page(pg->src, i);
        pages[i].page = (uint32_t)i;
        s2d_colour jpeg_colour;
        if (copies_jpeg(pg, i, &pages[i].copied_bytes, &jpeg_colour)) {
            pages[i].copied = true;
            pages[i].pixels = img->pix;
            pages[i].pixels.colour = jpeg_colour;   // the bitstream's, not the decoded one
            continue;
        }
        if (pg->kind == S2D_PAGES_RADIOLOGY && s2d_source_page_facts(pg->src, i)->cmyk) {
            ok = s2d_error_set(err, S2D_ERR_INPUT, "page %d: CMYK ink separations are no "
                               "radiograph; --kind photo converts them to RGB", i + 1);
            break;
        }
        if (s2d_source_page_facts(pg->src, i)->compression == S2D_PAGE_OLD_JPEG) {
            s2d_diag_warn(pg->diag, "%s: page %d: old-style JPEG (compression 6) decoded by "
                          "libtiff; its pixels were stored lossy", pg->path, i + 1);
        }
        if (s2d_source_page_facts(pg->src, i)->cmyk) {
            s2d_diag_warn(pg->diag, "%s: page %d: CMYK inks converted to RGB by libtiff, "
                          "without a colour profile", pg->path, i + 1);
        }
        s2d_pixmap *m = &pg->maps[i];
        ok = s2d_pixmap_choose(&img->pix, white, pg->kind == S2D_PAGES_PHOTO,
                               pg->kind == S2D_PAGES_DOCUMENT, m, err);
        if (!ok) {
            s2d_error_prefix(err, "page %d: ", i + 1);
            break;
        }
        if (m->op == S2D_MAP_PALETTE) {
            int entries = 0;
            m->palette = s2d_source_palette(pg->src, i, &entries);
            m->palette_n = entries > 0 ? (size_t)entries : 0;
            if (!m->palette) {
                ok = s2d_error_set(err, S2D_ERR_INPUT, "page %d: palette colour without "
                                   "a colour map", i + 1);
                break;
            }
        }
        pages[i].pixels = m->out;
        // Orientations 5 to 8 turn the page on its side.
        if (s2d_source_page_facts(pg->src, i)->orientation >= 5) {
            pages[i].pixels.width = m->out.height;
            pages[i].pixels.height = m->out.width;
        }
    }
    uint64_t header = 65536 + pg->shared->icc_profile_len;
    ok = ok && (pg->opts->as_pdf ? s2d_document_plan(pg, err)
                                 : s2d_plan_pages(pages, (size_t)n, pg->kind,
                                                  pg->shared->modality, codec, header,
                                                  pg->opts, &pg->plan, err));
    free(pages);
    if (ok) {
        pg->outputs = calloc(pg->plan.ninstances, sizeof *pg->outputs);
        ok = pg->outputs ? true : s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    return ok;
}

/* ---- writing one instance ------------------------------------------------------------ */

// The Photometric Interpretation of the instance's frames: the copied JPEG's own, or the
// codec's for the pixels it encodes.
static const char *photometric(const s2d_plan_instance *pi, const s2d_source_image *first)
{
    return pi->copied ? s2d_photometric_of(pi->pixels.colour, &first->native)
                      : pi->codec->photometric(&pi->pixels);
}

// One instance in the making.
typedef struct instance_work {
    s2d_pages *pg;
    const s2d_plan_instance *pi;
    s2d_pixmap map;              // the run's mapping (the first page's, range set)
    bool grey16;                 // 16-bit grey: Bits Stored and windows from the values
    s2d_histogram *histogram;    // grey16: the values written
    s2d_part10 *writer;
    uint8_t *in, *mapped, *packed;   // a band (or a page) of source, mapped, coded pixels
    void *encoder;               // codecs other than native
} instance_work;

// Reads rows [y, y + rows) of page into w->in and maps them into w->mapped.
static bool read_mapped(instance_work *w, int page, uint32_t y, uint32_t rows, s2d_error *err)
{
    const s2d_pixdesc *in = &w->map.in, *out = &w->map.out;
    size_t in_stride = (size_t)in->width * in->samples * s2d_pixdesc_sample_bytes(in);
    size_t out_stride = s2d_pixdesc_row_bytes(out);
    if (!s2d_source_read_rows(w->pg->src, page, y, rows, w->in, in_stride, err)) {
        return false;
    }
    s2d_pixmap_rows(&w->map, w->in, in_stride, w->mapped, out_stride, rows);
    if (w->grey16) {
        s2d_histogram_add(w->histogram, (const uint16_t *)(const void *)w->mapped,
                          (size_t)out->width * rows);
    }
    return true;
}

// Rotates or flips a whole mapped page (TIFF Orientation 2..8) from src into dst.
static void orient(const s2d_pixdesc *d, int orientation, const uint8_t *src, uint8_t *dst)
{
    size_t px = (size_t)d->samples * s2d_pixdesc_sample_bytes(d);
    size_t w = d->width, h = d->height;
    bool swap = orientation >= 5;
    size_t out_w = swap ? h : w;
    for (size_t y = 0; y < h; y++) {
        for (size_t x = 0; x < w; x++) {
            // Where the stored pixel (x, y) goes in the upright image.
            size_t ox, oy;
            switch (orientation) {
            case 2: ox = w - 1 - x; oy = y; break;
            case 3: ox = w - 1 - x; oy = h - 1 - y; break;
            case 4: ox = x; oy = h - 1 - y; break;
            case 5: ox = y; oy = x; break;
            case 6: ox = h - 1 - y; oy = x; break;
            case 7: ox = h - 1 - y; oy = w - 1 - x; break;
            case 8: ox = y; oy = w - 1 - x; break;
            default: ox = x; oy = y; break;
            }
            memcpy(dst + (oy * out_w + ox) * px, src + (y * w + x) * px, px);
        }
    }
}

// A whole page mapped (and oriented) into w->mapped, as the frame to encode or pack.
static bool read_page(instance_work *w, int page, s2d_error *err)
{
    uint32_t h = w->map.in.height;
    int orientation = s2d_source_page_facts(w->pg->src, page)->orientation;
    if (!read_mapped(w, page, 0, h, err)) {
        return false;
    }
    if (orientation > 1) {
        orient(&w->map.out, orientation, w->mapped, w->packed);
        memcpy(w->mapped, w->packed, (size_t)s2d_pixdesc_row_bytes(&w->map.out) * h);
    }
    return true;
}

// Whether a page goes from the TIFF's packed bits to DICOM's without a byte per pixel:
// a bilevel page kept 1-bit, upright, rows of whole bytes (so DICOM's continuous packing
// is row after row), written natively.
static bool bilevel_fast(const instance_work *w, int page)
{
    const s2d_pixmap *m = &w->map;
    return native_frames(w->pi->codec) && !w->pi->copied && m->in.bits_allocated == 1 &&
           m->out.bits_allocated == 1 && m->in.width % 8 == 0 &&
           (m->op == S2D_MAP_COPY || m->op == S2D_MAP_INVERT) &&
           s2d_source_page_facts(w->pg->src, page)->orientation <= 1;
}

// A bilevel page, a band at a time: each byte's bits reversed (TIFF's first pixel is the
// high bit, DICOM's the low one) and inverted for min-is-white, in one table lookup.
static bool write_bilevel_page(instance_work *w, int page, s2d_error *err)
{
    uint8_t table[256];
    for (unsigned v = 0; v < 256; v++) {
        unsigned r = 0;
        for (unsigned b = 0; b < 8; b++) {
            r |= (v >> b & 1) << (7 - b);
        }
        table[v] = (uint8_t)(w->map.op == S2D_MAP_INVERT ? ~r : r);
    }
    const s2d_pixdesc *out = &w->map.out;
    size_t row_bytes = out->width / 8;
    uint32_t band = (uint32_t)(BAND_BYTES / (out->width + 1));   // as alloc_buffers sized
    band = band < 8 ? 8 : band - band % 8;
    for (uint32_t y = 0; y < out->height; y += band) {
        uint32_t rows = out->height - y < band ? out->height - y : band;
        if (!s2d_source_read_bilevel_rows(w->pg->src, page, y, rows, w->in, row_bytes, err)) {
            return false;
        }
        size_t n = row_bytes * rows;
        for (size_t i = 0; i < n; i++) {
            w->packed[i] = table[w->in[i]];
        }
        if (!s2d_part10_add_native(w->writer, w->packed, (uint64_t)n * 8, err)) {
            return false;
        }
    }
    return true;
}

// The pixels of one page into the writer: copied JPEG, native bands, or encoded.
static bool write_page(instance_work *w, int page, s2d_error *err)
{
    const s2d_plan_instance *pi = w->pi;
    s2d_pages *pg = w->pg;
    if (pi->copied) {
        s2d_buf jpeg = {0};
        s2d_colour colour;
        bool ok = s2d_source_page_jpeg(pg->src, page, &jpeg, &colour, err);
        if (ok && pg->opts->deidentify) {
            jpeg.len = s2d_jpeg_strip_text(jpeg.data, jpeg.len);   // EXIF, comments
        }
        ok = ok && s2d_part10_add_frame(w->writer, jpeg.data, jpeg.len, err);
        s2d_buf_free(&jpeg);
        return ok;
    }
    if (bilevel_fast(w, page)) {
        return write_bilevel_page(w, page, err);
    }
    const s2d_pixdesc *out = &w->map.out;
    bool whole = !native_frames(pi->codec) ||
                 s2d_source_page_facts(pg->src, page)->orientation > 1;
    if (whole) {
        if (!read_page(w, page, err)) {
            return false;
        }
        if (native_frames(pi->codec)) {
            size_t len = s2d_native_pack_rows(&pi->pixels, w->mapped,
                                              s2d_pixdesc_row_bytes(&pi->pixels),
                                              pi->pixels.height, w->packed);
            return s2d_part10_add_frame(w->writer, w->packed, len, err);
        }
        const uint8_t *frame;
        size_t len;
        return pi->codec->encode(w->encoder, w->mapped, s2d_pixdesc_row_bytes(&pi->pixels),
                                 &frame, &len, err) &&
               s2d_part10_add_frame(w->writer, frame, len, err);
    }
    uint32_t band = (uint32_t)(BAND_BYTES / (s2d_pixdesc_row_bytes(&w->map.in) + 1));
    band = band < 8 ? 8 : band - band % 8;
    for (uint32_t y = 0; y < out->height; y += band) {
        uint32_t rows = out->height - y < band ? out->height - y : band;
        if (!read_mapped(w, page, y, rows, err)) {
            return false;
        }
        s2d_native_pack_rows(out, w->mapped, s2d_pixdesc_row_bytes(out), rows, w->packed);
        uint64_t bits = (uint64_t)rows * out->width * out->samples * out->bits_allocated;
        if (!s2d_part10_add_native(w->writer, w->packed, bits, err)) {
            return false;
        }
        if (pg->opts->interrupt && *pg->opts->interrupt) {
            return s2d_error_set(err, S2D_ERR_CANCELLED, "interrupted");
        }
    }
    return true;
}

// A float or 32-bit run is scaled over its own range: a first pass finds it.
static bool find_range(instance_work *w, s2d_error *err)
{
    double min = 0, max = 0;
    bool any = false;
    const s2d_pixdesc *in = &w->map.in;
    size_t stride = (size_t)in->width * in->samples * s2d_pixdesc_sample_bytes(in);
    uint32_t band = (uint32_t)(BAND_BYTES / (stride + 1));
    band = band < 1 ? 1 : band;
    for (uint32_t f = 0; f < w->pi->nframes; f++) {
        int page = (int)(w->pi->first_page + f);
        for (uint32_t y = 0; y < in->height; y += band) {
            uint32_t rows = in->height - y < band ? in->height - y : band;
            if (!s2d_source_read_rows(w->pg->src, page, y, rows, w->in, stride, err)) {
                return false;
            }
            s2d_pixmap_scan_range(&w->map, w->in, stride, rows, &min, &max, &any);
        }
    }
    s2d_pixmap_set_range(&w->map, any ? min : 0, any ? max : 0);
    return true;
}

static const uint32_t tag_bits_stored = 0x00280101, tag_high_bit = 0x00280102,
                      tag_window_center = 0x00281050, tag_window_width = 0x00281051,
                      tag_window_explanation = 0x00281055;

// Windows in rescaled units: --window, else computed (the ImageJ display range first).
static void planned_windows(const instance_work *w, s2d_iod_instance *in)
{
    const s2d_convert_options *o = w->pg->opts;
    if (!w->grey16 || o->no_window) {
        return;
    }
    if (o->nwindows > 0) {
        for (int i = 0; i < o->nwindows; i++) {
            in->window_center[i] = o->windows[i][0];
            in->window_width[i] = o->windows[i][1];
            in->window_explanation[i] = "USER";
        }
        in->nwindows = o->nwindows;
        return;
    }
    in->nwindows = 2;
    in->windows_deferred = true;
}

// Gives the values known only now: Bits Stored from the largest value, the windows.
static bool give_deferred(instance_work *w, const s2d_iod_instance *in, s2d_error *err)
{
    if (!w->grey16) {
        return true;
    }
    unsigned bits = s2d_histogram_bits(w->histogram);
    if (bits < 9) {
        bits = 9;   // Grayscale Word SC: 9 to 16 (A.8.4.4)
    }
    // Offset and scaled values use all 16 bits; a JPEG-LS or JPEG 2000 codestream states
    // its precision, the frames' 16 bits, which Bits Stored must not contradict.
    if (w->map.op == S2D_MAP_OFFSET || w->map.op == S2D_MAP_LINEAR ||
        !native_frames(w->pi->codec)) {
        bits = 16;
    }
    uint8_t bs[2] = {(uint8_t)bits, 0}, hb[2] = {(uint8_t)(bits - 1), 0};
    if (!s2d_part10_set_deferred(w->writer, tag_bits_stored, bs, 2, err) ||
        !s2d_part10_set_deferred(w->writer, tag_high_bit, hb, 2, err)) {
        return false;
    }
    if (!in->windows_deferred) {
        return true;
    }
    s2d_window windows[2];
    s2d_windows_auto(w->histogram, w->map.slope, w->map.intercept, bits, windows);
    const s2d_source_meta *m = s2d_source_meta_of(w->pg->src);
    if (m->has_display_range && m->display_max > m->display_min) {
        windows[0] = s2d_window_of_range((m->display_min - w->map.intercept) / w->map.slope,
                                         (m->display_max - w->map.intercept) / w->map.slope,
                                         w->map.slope, w->map.intercept,
                                         "IMAGEJ DISPLAY RANGE");
    }
    // The reserved layout (modules.h): 16 and 15 characters around a backslash.
    char c0[17], c1[17], w0[17], w1[17];
    s2d_format_ds(windows[0].center, 16, c0);
    s2d_format_ds(windows[1].center, 15, c1);
    s2d_format_ds(windows[0].width, 16, w0);
    s2d_format_ds(windows[1].width, 15, w1);
    char centers[S2D_WINDOW_VALUES_WIDTH + 1], widths[S2D_WINDOW_VALUES_WIDTH + 1];
    char text[S2D_WINDOW_EXPLANATION_WIDTH + 1];
    snprintf(centers, sizeof centers, "%-16.16s\\%-15.15s", c0, c1);
    snprintf(widths, sizeof widths, "%-16.16s\\%-15.15s", w0, w1);
    snprintf(text, sizeof text, "%s\\%s", windows[0].explanation, windows[1].explanation);
    return s2d_part10_set_deferred(w->writer, tag_window_center, centers, strlen(centers),
                                   err) &&
           s2d_part10_set_deferred(w->writer, tag_window_width, widths, strlen(widths), err) &&
           s2d_part10_set_deferred(w->writer, tag_window_explanation, text, strlen(text), err);
}

static s2d_lossy_step source_step(const s2d_source_image *img)
{
    const s2d_lossy_history *h = &img->history;
    return h->known && h->method != S2D_LOSSY_NONE
               ? (s2d_lossy_step){.lossy = true, .method = s2d_lossy_method_term(h->method),
                                  .ratio = h->ratio}
               : (s2d_lossy_step){0};
}

// The instance's writer, with its deferred values; pages keep their own offset table rule
// (no --max-instance-size split).
static bool open_writer(instance_work *w, const s2d_iod_instance *in, s2d_output *out,
                        s2d_error *err)
{
    const s2d_plan_instance *pi = w->pi;
    s2d_part10_deferred deferred[5];
    size_t ndeferred = 0;
    if (in->bits_stored_deferred) {
        deferred[ndeferred++] = (s2d_part10_deferred){tag_bits_stored, 2};
        deferred[ndeferred++] = (s2d_part10_deferred){tag_high_bit, 2};
    }
    if (in->windows_deferred) {
        deferred[ndeferred++] = (s2d_part10_deferred){tag_window_center, S2D_WINDOW_VALUES_WIDTH};
        deferred[ndeferred++] = (s2d_part10_deferred){tag_window_width, S2D_WINDOW_VALUES_WIDTH};
        deferred[ndeferred++] =
            (s2d_part10_deferred){tag_window_explanation, S2D_WINDOW_EXPLANATION_WIDTH};
    }
    bool native = native_frames(pi->codec) && !pi->copied;
    uint64_t frame_bits = s2d_pixdesc_frame_bits(&pi->pixels);
    s2d_codec_opts copts = {0};
    uint64_t bound = pi->copied ? S2D_COPIED_FRAME_MAX(pi->pixels.width, pi->pixels.height)
                     : native   ? (frame_bits + 7) / 8
                                : pi->codec->bound(&pi->pixels, &copts);
    s2d_part10_params params = {
        .nframes = pi->nframes,
        // The Basic Offset Table addresses 4 GiB; a larger instance uses the extended one.
        .extended_offsets = !native && (uint64_t)pi->nframes * (bound + 10) >= 0xFFFFFFFFull,
        .uncompressed_bytes = (uint64_t)pi->nframes * ((frame_bits + 7) / 8),
        .deferred = deferred,
        .ndeferred = ndeferred,
        .native_frame_bits = native ? frame_bits : 0,
        .native_words = native && pi->pixels.bits_allocated == 16,
        .deflate = pi->codec == &s2d_codec_deflated,
    };
    const s2d_output_context ctx = {.outdir = w->pg->outdir, .id = w->pg->id,
                                    .shared = w->pg->shared};
    if (!s2d_output_open(&ctx, pi, in, &params, 0, out, err)) {
        return false;
    }
    w->writer = out->writer;
    return true;
}

// Buffers for a band (native, upright) or a whole page (other codecs, orientation).
static bool alloc_buffers(instance_work *w, s2d_error *err)
{
    const s2d_plan_instance *pi = w->pi;
    if (pi->copied) {
        return true;
    }
    bool whole = !native_frames(pi->codec);
    for (uint32_t f = 0; f < pi->nframes; f++) {
        whole |= s2d_source_page_facts(w->pg->src, (int)(pi->first_page + f))->orientation > 1;
    }
    size_t in_row = (size_t)w->map.in.width * w->map.in.samples *
                    s2d_pixdesc_sample_bytes(&w->map.in);
    size_t out_row = s2d_pixdesc_row_bytes(&w->map.out);
    size_t rows = whole ? w->map.in.height : BAND_BYTES / (in_row + 1) + 8;
    if (!whole && rows > w->map.in.height) {
        rows = w->map.in.height;
    }
    size_t page_bytes = out_row * w->map.in.height;
    w->in = malloc(in_row * rows);
    w->mapped = malloc(out_row * rows);
    w->packed = malloc(whole ? page_bytes : out_row * rows);
    if (w->grey16) {
        w->histogram = calloc(1, sizeof *w->histogram);
    }
    if (!w->in || !w->mapped || !w->packed || (w->grey16 && !w->histogram)) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "%s: out of memory for a page of %ux%u",
                             pi->name, w->map.in.width, w->map.in.height);
    }
    if (!native_frames(pi->codec)) {
        s2d_codec_opts copts = {.quality = w->pg->opts->quality};
        w->encoder = pi->codec->enc_new(&pi->pixels, &copts, err);
        return w->encoder != NULL;
    }
    return true;
}

static void work_free(instance_work *w)
{
    if (w->encoder) {
        w->pi->codec->enc_free(w->encoder);
    }
    free(w->in);
    free(w->mapped);
    free(w->packed);
    free(w->histogram);
}

static bool write_instance(s2d_pages *pg, const s2d_plan_instance *pi, int instance_number,
                           s2d_error *err)
{
    instance_work w = {.pg = pg, .pi = pi};
    const s2d_source_image *first = s2d_source_page(pg->src, (int)pi->first_page);
    if (!pi->copied) {
        w.map = pg->maps[pi->first_page];
    }
    w.grey16 = !pi->copied && pi->pixels.samples == 1 && pi->pixels.bits_allocated == 16;
    s2d_iod_instance in = {
        .role = S2D_ROLE_PAGE,
        .derived = true,
        .instance_number = instance_number,
        .total_width = pi->width,
        .total_height = pi->height,
        .frame_width = (int)pi->frame_width,
        .frame_height = (int)pi->frame_height,
        .nframes = pi->nframes,
        .samples_per_pixel = pi->pixels.samples,
        .bits_per_sample = pi->pixels.bits_allocated,
        .bits_stored = pi->pixels.bits_stored,
        .bits_stored_deferred = w.grey16,
        .source = source_step(first),
        .copied = pi->copied,
        .lossy_method = pi->copied ? s2d_lossy_method_term(S2D_LOSSY_JPEG) : NULL,
    };
    in.photometric = photometric(pi, first);
    uint32_t *numbers = malloc(pi->nframes * sizeof *numbers);
    bool ok = numbers != NULL && alloc_buffers(&w, err);
    if (!numbers) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    for (uint32_t f = 0; ok && f < pi->nframes; f++) {
        numbers[f] = pi->first_page + f + 1;
    }
    in.page_numbers = numbers;
    if (ok && w.map.op == S2D_MAP_LINEAR) {
        ok = find_range(&w, err);
        for (uint32_t f = 0; f < pi->nframes; f++) {
            pg->maps[pi->first_page + f].slope = w.map.slope;
            pg->maps[pi->first_page + f].intercept = w.map.intercept;
        }
    }
    if (ok && !pi->copied) {
        in.rescaled = w.map.op == S2D_MAP_OFFSET || w.map.op == S2D_MAP_LINEAR;
        in.rescale_slope = w.map.slope;
        in.rescale_intercept = w.map.intercept;
        if (w.map.invert || w.map.op == S2D_MAP_INVERT) {
            in.derivation = "Grey inverted from min-is-white to MONOCHROME2";
        }
        planned_windows(&w, &in);
    }
    s2d_output *out = &pg->outputs[pg->noutputs];
    ok = ok && open_writer(&w, &in, out, err);
    if (ok) {
        pg->noutputs++;
    }
    for (uint32_t f = 0; ok && f < pi->nframes; f++) {
        int page = (int)(pi->first_page + f);
        if (!pi->copied) {
            w.map.palette = pg->maps[page].palette;
            w.map.palette_n = pg->maps[page].palette_n;
        }
        ok = write_page(&w, page, err);
        if (ok) {
            s2d_pages_progress(pg);
        }
        if (ok && pg->opts->interrupt && *pg->opts->interrupt) {
            ok = s2d_error_set(err, S2D_ERR_CANCELLED, "interrupted");
        }
    }
    uint64_t translucent = 0;
    for (uint32_t f = 0; ok && f < pi->nframes; f++) {
        translucent += s2d_source_page_translucent(pg->src, (int)(pi->first_page + f));
    }
    if (translucent > 0) {
        s2d_diag_warn(pg->diag, "%s: %" PRIu64 " translucent pixels put on white in %s",
                      pg->path, translucent, pi->name);
    }
    if (ok && w.map.nonfinite > 0) {
        s2d_diag_warn(pg->diag, "%s: %" PRIu64 " samples that are not numbers (NaN or "
                      "infinite) written as the smallest value in %s", pg->path,
                      w.map.nonfinite, pi->name);
    }
    ok = ok && give_deferred(&w, &in, err) && s2d_part10_complete(w.writer, err);
    free(numbers);
    work_free(&w);
    return ok;
}

void s2d_pages_progress(s2d_pages *pg)
{
    pg->pages_done++;
    if (pg->opts->progress) {
        s2d_progress p = {.pages = true, .frames_done = pg->pages_done,
                          .frames_total = pg->pages_total,
                          .seconds = s2d_clock_seconds() - pg->t0, .megapixels = pg->megapixels};
        pg->opts->progress(pg->opts->callback_ctx, &p);
    }
}

bool s2d_pages_write(s2d_pages *pg, s2d_error *err)
{
    pg->t0 = s2d_clock_seconds();
    pg->pages_done = pg->pages_total = 0;
    pg->megapixels = 0;
    int npages = s2d_source_page_count(pg->src);
    for (int i = 0; i < npages; i++) {
        const s2d_source_image *page = s2d_source_page(pg->src, i);
        pg->megapixels += (double)page->pix.width * page->pix.height / 1e6;
    }
    if (pg->opts->as_pdf) {
        pg->pages_total = (uint64_t)npages;
        return s2d_document_write(pg, err);
    }
    for (size_t i = 0; i < pg->plan.ninstances; i++) {
        pg->pages_total += pg->plan.instances[i].nframes;
    }
    for (size_t i = 0; i < pg->plan.ninstances; i++) {
        if (!write_instance(pg, &pg->plan.instances[i], (int)i + 1, err)) {
            return false;
        }
    }
    return true;
}

void s2d_pages_free(s2d_pages *pg)
{
    if (pg->outputs) {
        for (int i = 0; i < pg->noutputs; i++) {
            s2d_part10_free(pg->outputs[i].writer);
        }
        free(pg->outputs);
        pg->outputs = NULL;
    }
    free(pg->maps);
    pg->maps = NULL;
    s2d_plan_free(&pg->plan);
}
