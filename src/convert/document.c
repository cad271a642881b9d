// SPDX-License-Identifier: Apache-2.0
/* A document's pages as one Encapsulated PDF; see document.h. */
#include "convert/document.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/outdir.h"
#include "convert/pdf_writer.h"
#include "codec/bitstream.h"
#include "dicom/part10.h"

#define DOCUMENT_NAME "document.dcm"
// Rows of decoded pixels deflated at a time: about 1 MiB of source pixels.
#define BAND_BYTES (1u << 20)
// TIFF's number for CCITT T.6 (Group 4).
#define COMPRESSION_G4 4

// Whether page i's pixels are written decoded (not copied) as 1- or 8-bit samples, which
// a PDF image holds as they are.
static bool decoded_fits(const s2d_pages *pg, int i)
{
    const s2d_pixdesc *out = &pg->maps[i].out;
    return out->bits_allocated == 1 || out->bits_allocated == 8;
}

bool s2d_document_plan(s2d_pages *pg, s2d_error *err)
{
    int n = s2d_source_page_count(pg->src);
    for (int i = 0; i < n; i++) {
        const s2d_source_image *img = s2d_source_page(pg->src, i);
        const s2d_page_facts *f = s2d_source_page_facts(pg->src, i);
        // G4 pages are 1-bit and JPEG pages 8-bit whether copied or decoded.
        bool coded = f->compression_code == COMPRESSION_G4 ||
                     img->native.coding == S2D_CODING_JPEG;
        if (!coded && !decoded_fits(pg, i)) {
            return s2d_error_set(err, S2D_ERR_INPUT, "%s: page %d: %u-bit pages cannot go "
                                 "into the PDF (1- and 8-bit only); leave out --as pdf",
                                 s2d_base_name(pg->path), i + 1, pg->maps[i].out.bits_stored);
        }
    }
    const s2d_source_image *first = s2d_source_page(pg->src, 0);
    s2d_plan_instance in = {
        .iod = &s2d_iod_pdf,
        .role = S2D_ROLE_PAGE,
        .image = S2D_IMAGE_PAGE,
        .level = -1,
        .width = first->pix.width,
        .height = first->pix.height,
        .codec = &s2d_codec_native,   // the dataset's transfer syntax: Explicit VR LE
    };
    snprintf(in.name, sizeof in.name, "%s", DOCUMENT_NAME);
    return s2d_plan_add(&pg->plan, &in, err);
}

/* ---- writing ------------------------------------------------------------------------- */

static bool to_writer(void *ctx, const void *data, size_t len, s2d_error *err)
{
    return s2d_part10_add_value(ctx, data, len, err);
}

// Millimetres to points (1/72 inch).
static double points(uint32_t pixels, double px_per_mm)
{
    return px_per_mm > 0 ? pixels / px_per_mm / 25.4 * 72.0 : pixels;
}

// The page's size on paper, upright: from its resolution, one point a pixel without one.
static void page_size(const s2d_page_facts *f, uint32_t w, uint32_t h, s2d_pdf_page *p)
{
    bool known = f->x_px_per_mm > 0 && f->y_px_per_mm > 0;
    double wpt = points(w, known ? f->x_px_per_mm : 0);
    double hpt = points(h, known ? f->y_px_per_mm : 0);
    bool sideways = f->orientation >= 5;
    p->width_pt = sideways ? hpt : wpt;
    p->height_pt = sideways ? wpt : hpt;
    p->orientation = f->orientation ? f->orientation : 1;
}

// Page i's decoded pixels: read, mapped (min-is-white inverted, palette expanded) and
// packed as PDF rows (1-bit: first pixel in the highest bit, 1 white), a band at a time.
static bool write_pixels(s2d_pages *pg, s2d_pdf *pdf, int i, s2d_error *err)
{
    s2d_pixmap map = pg->maps[i];
    const s2d_pixdesc *in = &map.in, *out = &map.out;
    size_t in_stride = (size_t)in->width * in->samples * s2d_pixdesc_sample_bytes(in);
    size_t out_stride = s2d_pixdesc_row_bytes(out);
    size_t pdf_row = ((size_t)out->width * out->samples * out->bits_allocated + 7) / 8;
    uint32_t band = (uint32_t)(BAND_BYTES / (in_stride + 1));
    band = band < 1 ? 1 : band > in->height ? in->height : band;
    uint8_t *raw = malloc(in_stride * band), *mapped = malloc(out_stride * band);
    uint8_t *row = malloc(pdf_row);
    bool ok = raw && mapped && row;
    if (!ok) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory for a page of %ux%u", in->width,
                      in->height);
    }
    for (uint32_t y = 0; ok && y < in->height; y += band) {
        uint32_t rows = in->height - y < band ? in->height - y : band;
        ok = s2d_source_read_rows(pg->src, i, y, rows, raw, in_stride, err);
        if (!ok) {
            break;
        }
        s2d_pixmap_rows(&map, raw, in_stride, mapped, out_stride, rows);
        if (out->bits_allocated == 8) {
            ok = s2d_pdf_page_data(pdf, mapped, out_stride * rows, err);
            continue;
        }
        for (uint32_t r = 0; ok && r < rows; r++) {
            const uint8_t *px = mapped + out_stride * r;
            memset(row, 0, pdf_row);
            for (uint32_t x = 0; x < out->width; x++) {
                row[x >> 3] |= (uint8_t)((px[x] & 1) << (7 - (x & 7)));
            }
            ok = s2d_pdf_page_data(pdf, row, pdf_row, err);
        }
        if (ok && pg->opts->interrupt && *pg->opts->interrupt) {
            ok = s2d_error_set(err, S2D_ERR_CANCELLED, "interrupted");
        }
    }
    free(raw);
    free(mapped);
    free(row);
    return ok;
}

// One page: its G4 strip or joined JPEG as they are where a PDF filter reads them, else its
// pixels. *copied says which.
static bool write_page(s2d_pages *pg, s2d_pdf *pdf, int i, bool *copied, s2d_error *err)
{
    const s2d_source_image *img = s2d_source_page(pg->src, i);
    const s2d_page_facts *f = s2d_source_page_facts(pg->src, i);
    s2d_pdf_page p = {.width = img->pix.width, .height = img->pix.height};
    page_size(f, p.width, p.height, &p);
    s2d_buf coded = {0};
    s2d_error ignored = {0};
    s2d_colour colour;
    // A G4 page in one strip: the strip is the CCITT stream. Strips of several are each
    // coded from a white reference line, so they do not join into one T.6 stream: such a
    // page is decoded.
    *copied = true;
    if (f->compression_code == COMPRESSION_G4 && img->pix.bits_allocated == 1 &&
        s2d_source_page_raw(pg->src, i, &coded, &ignored)) {
        p.coding = S2D_PDF_CCITT_G4;
        p.components = 1;
        p.bits = 1;
        // Coded white runs are 0 bits: white on a min-is-white page, black otherwise.
        p.black_is_1 = img->pix.colour == S2D_COLOUR_MONO_MIN_IS_BLACK;
    } else if (img->native.coding == S2D_CODING_JPEG &&
               s2d_source_page_jpeg(pg->src, i, &coded, &colour, &ignored)) {
        if (pg->opts->deidentify) {
            coded.len = s2d_jpeg_strip_text(coded.data, coded.len);   // EXIF, comments
        }
        p.coding = S2D_PDF_JPEG;
        p.components = colour == S2D_COLOUR_MONO_MIN_IS_BLACK ? 1 : 3;
        p.bits = 8;
        p.ycbcr = colour == S2D_COLOUR_YCBCR;
    } else {
        const s2d_pixdesc *out = &pg->maps[i].out;
        *copied = false;
        p.coding = S2D_PDF_PIXELS;
        p.components = (uint8_t)out->samples;
        p.bits = (uint8_t)out->bits_allocated;
    }
    bool ok = s2d_pdf_page_begin(pdf, &p, err) &&
              (p.coding == S2D_PDF_PIXELS ? write_pixels(pg, pdf, i, err)
                                          : s2d_pdf_page_data(pdf, coded.data, coded.len, err)) &&
              s2d_pdf_page_end(pdf, err);
    s2d_buf_free(&coded);
    if (!ok && err->code == S2D_ERR_INPUT) {
        s2d_error_prefix(err, "page %d: ", i + 1);
    }
    return ok;
}

bool s2d_document_write(s2d_pages *pg, s2d_error *err)
{
    const s2d_plan_instance *pi = &pg->plan.instances[0];
    // The PDF streams into Encapsulated Document, whose length is known only at the end.
    s2d_part10_params params = {
        .streamed_tag = s2d_dict_entry_of(S2D_KW_EncapsulatedDocument)->tag,
        .streamed_length_tag = s2d_dict_entry_of(S2D_KW_EncapsulatedDocumentLength)->tag,
    };
    const s2d_iod_instance in = {.role = S2D_ROLE_PAGE, .instance_number = 1};
    const s2d_output_context ctx = {.outdir = pg->outdir, .id = pg->id, .shared = pg->shared};
    s2d_output *out = &pg->outputs[0];
    if (!s2d_output_open(&ctx, pi, &in, &params, 0, out, err)) {
        return false;
    }
    pg->noutputs = 1;   // the writer is the outputs' now, freed with them
    s2d_part10 *writer = out->writer;
    out->width = pi->width;   // the document's pages, which its dataset does not give
    out->height = pi->height;
    int n = s2d_source_page_count(pg->src);
    s2d_pdf *pdf = s2d_pdf_begin((uint32_t)n, to_writer, writer, err);
    bool ok = pdf != NULL, all_copied = true;
    for (int i = 0; ok && i < n; i++) {
        bool copied;
        ok = write_page(pg, pdf, i, &copied, err);
        all_copied &= copied;
        if (ok) {
            s2d_pages_progress(pg);
        }
        if (ok && pg->opts->interrupt && *pg->opts->interrupt) {
            ok = s2d_error_set(err, S2D_ERR_CANCELLED, "interrupted");   // between pages too
        }
    }
    uint64_t pdf_bytes = 0;
    ok = ok && s2d_pdf_finish(pdf, &pdf_bytes, err) && s2d_part10_complete(writer, err);
    // An Encapsulated PDF is one value that cannot be split: a cap it passes is the
    // option's error, not a file larger than asked (the header is well under 64 KiB).
    uint64_t cap = pg->opts->max_instance_bytes;
    if (ok && cap && pdf_bytes + 65536 > cap) {
        ok = s2d_error_set(err, S2D_ERR_USAGE,
                           "--max-instance-size %" PRIu64 ": the PDF document is %" PRIu64
                           " bytes, and an Encapsulated PDF is not split; leave --as pdf out "
                           "to write the pages as instances of that size",
                           cap, pdf_bytes);
    }
    out->copied = ok && all_copied;
    s2d_pdf_free(pdf);
    if (!ok && err->code == S2D_ERR_INPUT && !strstr(err->message, s2d_base_name(pg->path))) {
        s2d_error_prefix(err, "%s: ", s2d_base_name(pg->path));
    }
    return ok;
}
