// SPDX-License-Identifier: Apache-2.0
/* The minimal PDF writer; see pdf_writer.h. Objects are numbered before they are written,
 * so that each refers to the next without a second pass: 1 the catalog, 2 the page tree
 * (both written last), then four per page i: 3 + 4i the page, 4 + 4i its content stream,
 * 5 + 4i the image, 6 + 4i the image stream's length. */
#include "convert/pdf_writer.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define OBJ_PAGE(i) (3u + 4u * (i))
#define DEFLATE_OUT (64u << 10)

struct s2d_pdf {
    s2d_pdf_sink sink;
    void *ctx;
    uint64_t at;             // bytes written so far
    uint32_t npages, page;   // pages announced; the page in progress (or the next)
    bool in_page;
    uint64_t *offsets;       // of objects 1 .. 4 * npages + 2, index = object number
    s2d_pdf_page cur;
    uint64_t stream_start;   // offset of the current image stream's first byte
    // PIXELS: the deflater and the bytes of rows it has been given.
    bool deflating;
    z_stream z;
    uint8_t *zout;
    uint64_t pixel_bytes;
};

static bool put(s2d_pdf *pdf, const void *data, size_t len, s2d_error *err)
{
    if (len && !pdf->sink(pdf->ctx, data, len, err)) {
        return false;
    }
    pdf->at += len;
    return true;
}

// Formatted PDF syntax; every piece of it is short.
__attribute__((format(printf, 3, 4))) static bool emit(s2d_pdf *pdf, s2d_error *err,
                                                       const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof text) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "PDF syntax too long");
    }
    return put(pdf, text, (size_t)n, err);
}

static bool begin_object(s2d_pdf *pdf, uint32_t number, s2d_error *err)
{
    pdf->offsets[number] = pdf->at;
    return emit(pdf, err, "%u 0 obj\n", number);
}

s2d_pdf *s2d_pdf_begin(uint32_t npages, s2d_pdf_sink sink, void *ctx, s2d_error *err)
{
    if (npages == 0 || npages > (UINT32_MAX - 3) / 4) {
        s2d_error_set(err, S2D_ERR_INTERNAL, "a PDF of %u pages", npages);
        return NULL;
    }
    s2d_pdf *pdf = calloc(1, sizeof *pdf);
    if (pdf) {
        pdf->offsets = calloc(OBJ_PAGE(npages), sizeof *pdf->offsets);
    }
    if (!pdf || !pdf->offsets) {
        s2d_pdf_free(pdf);
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    pdf->sink = sink;
    pdf->ctx = ctx;
    pdf->npages = npages;
    // The second line's bytes above 127 tell transfer programs the file is binary.
    if (!emit(pdf, err, "%%PDF-1.4\n%%\xE2\xE3\xCF\xD3\n")) {
        s2d_pdf_free(pdf);
        return NULL;
    }
    return pdf;
}

static size_t row_bytes(const s2d_pdf_page *p)
{
    return ((size_t)p->width * p->components * p->bits + 7) / 8;
}

// The image's filter and its parameters.
static bool emit_filter(s2d_pdf *pdf, const s2d_pdf_page *p, s2d_error *err)
{
    switch (p->coding) {
    case S2D_PDF_CCITT_G4:
        return emit(pdf, err, "/Filter /CCITTFaxDecode /DecodeParms << /K -1 /Columns %u "
                    "/Rows %u%s >>", p->width, p->height, p->black_is_1 ? " /BlackIs1 true" : "");
    case S2D_PDF_JPEG:
        // Three components are YCbCr only when said (ColorTransform defaults to 1).
        return p->components == 3
                   ? emit(pdf, err, "/Filter /DCTDecode /DecodeParms << /ColorTransform %d >>",
                          p->ycbcr ? 1 : 0)
                   : emit(pdf, err, "/Filter /DCTDecode");
    case S2D_PDF_PIXELS:
        return emit(pdf, err, "/Filter /FlateDecode");
    }
    return false;
}

// The content stream: the image's unit square onto the page, upright. PDF puts the image's
// first row at the top of the unit square; each orientation's matrix [a b c d e f] takes
// the square's (x, y) to the page's (a x + c y + e, b x + d y + f), W x H points.
static int content_of(const s2d_pdf_page *p, char *out, size_t size)
{
    double w = p->width_pt, h = p->height_pt;
    double m[9][6] = {
        [1] = {w, 0, 0, h, 0, 0},   [2] = {-w, 0, 0, h, w, 0}, [3] = {-w, 0, 0, -h, w, h},
        [4] = {w, 0, 0, -h, 0, h},  [5] = {0, -h, -w, 0, w, h}, [6] = {0, -h, w, 0, 0, h},
        [7] = {0, h, w, 0, 0, 0},   [8] = {0, h, -w, 0, w, 0},
    };
    const double *a = m[p->orientation >= 1 && p->orientation <= 8 ? p->orientation : 1];
    return snprintf(out, size, "q %.4f %.4f %.4f %.4f %.4f %.4f cm /Im1 Do Q\n", a[0], a[1],
                    a[2], a[3], a[4], a[5]);
}

bool s2d_pdf_page_begin(s2d_pdf *pdf, const s2d_pdf_page *p, s2d_error *err)
{
    bool valid = (p->components == 1 || (p->components == 3 && p->bits == 8)) &&
                 (p->bits == 1 || p->bits == 8) && p->width > 0 && p->height > 0 &&
                 p->width_pt > 0 && p->height_pt > 0 &&
                 (p->coding != S2D_PDF_CCITT_G4 || (p->bits == 1 && p->components == 1));
    if (pdf->in_page || pdf->page >= pdf->npages || !valid) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "PDF page %u out of turn or malformed",
                             pdf->page + 1);
    }
    uint32_t obj = OBJ_PAGE(pdf->page);
    char content[256];
    int clen = content_of(p, content, sizeof content);
    bool ok = begin_object(pdf, obj, err) &&
              emit(pdf, err, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.4f %.4f] "
                   "/Resources << /XObject << /Im1 %u 0 R >> >> /Contents %u 0 R >>\nendobj\n",
                   p->width_pt, p->height_pt, obj + 2, obj + 1) &&
              begin_object(pdf, obj + 1, err) &&
              emit(pdf, err, "<< /Length %d >>\nstream\n%s\nendstream\nendobj\n", clen,
                   content) &&
              begin_object(pdf, obj + 2, err) &&
              emit(pdf, err, "<< /Type /XObject /Subtype /Image /Width %u /Height %u "
                   "/ColorSpace /%s /BitsPerComponent %u ", p->width, p->height,
                   p->components == 3 ? "DeviceRGB" : "DeviceGray", p->bits) &&
              emit_filter(pdf, p, err) && emit(pdf, err, " /Length %u 0 R >>\nstream\n", obj + 3);
    if (!ok) {
        return false;
    }
    pdf->cur = *p;
    pdf->in_page = true;
    pdf->stream_start = pdf->at;
    pdf->pixel_bytes = 0;
    if (p->coding == S2D_PDF_PIXELS) {
        memset(&pdf->z, 0, sizeof pdf->z);
        if (!pdf->zout && !(pdf->zout = malloc(DEFLATE_OUT))) {
            return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        }
        if (deflateInit(&pdf->z, Z_DEFAULT_COMPRESSION) != Z_OK) {
            return s2d_error_set(err, S2D_ERR_NOMEM, "zlib cannot start a deflate stream");
        }
        pdf->deflating = true;
    }
    return true;
}

// Runs the deflater over its input (flush: Z_NO_FLUSH or Z_FINISH), passing what it makes on.
static bool deflate_out(s2d_pdf *pdf, int flush, s2d_error *err)
{
    int rc;
    do {
        pdf->z.next_out = pdf->zout;
        pdf->z.avail_out = DEFLATE_OUT;
        rc = deflate(&pdf->z, flush);
        if (rc == Z_STREAM_ERROR) {
            return s2d_error_set(err, S2D_ERR_INTERNAL, "zlib: deflate failed");
        }
        if (!put(pdf, pdf->zout, DEFLATE_OUT - pdf->z.avail_out, err)) {
            return false;
        }
    } while (pdf->z.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
    return true;
}

bool s2d_pdf_page_data(s2d_pdf *pdf, const void *data, size_t len, s2d_error *err)
{
    if (!pdf->in_page) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "PDF data outside a page");
    }
    if (pdf->cur.coding != S2D_PDF_PIXELS) {
        return put(pdf, data, len, err);
    }
    if (pdf->pixel_bytes + len > (uint64_t)row_bytes(&pdf->cur) * pdf->cur.height) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "more pixels than the PDF page holds");
    }
    pdf->pixel_bytes += len;
    const uint8_t *p = data;
    while (len > 0) {
        // avail_in is 32 bits wide.
        uInt piece = len > (1u << 30) ? (1u << 30) : (uInt)len;
        pdf->z.next_in = (Bytef *)(uintptr_t)p;
        pdf->z.avail_in = piece;
        if (!deflate_out(pdf, Z_NO_FLUSH, err)) {
            return false;
        }
        p += piece;
        len -= piece;
    }
    return true;
}

bool s2d_pdf_page_end(s2d_pdf *pdf, s2d_error *err)
{
    if (!pdf->in_page) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "PDF page end outside a page");
    }
    if (pdf->cur.coding == S2D_PDF_PIXELS) {
        if (pdf->pixel_bytes != (uint64_t)row_bytes(&pdf->cur) * pdf->cur.height) {
            return s2d_error_set(err, S2D_ERR_INTERNAL, "PDF page %u: %" PRIu64 " bytes of "
                                 "pixels, not the page's", pdf->page + 1, pdf->pixel_bytes);
        }
        pdf->z.next_in = NULL;
        pdf->z.avail_in = 0;
        if (!deflate_out(pdf, Z_FINISH, err)) {
            return false;
        }
        deflateEnd(&pdf->z);
        pdf->deflating = false;
    }
    uint64_t length = pdf->at - pdf->stream_start;
    uint32_t obj = OBJ_PAGE(pdf->page);
    if (!emit(pdf, err, "\nendstream\nendobj\n") || !begin_object(pdf, obj + 3, err) ||
        !emit(pdf, err, "%" PRIu64 "\nendobj\n", length)) {
        return false;
    }
    pdf->in_page = false;
    pdf->page++;
    return true;
}

bool s2d_pdf_finish(s2d_pdf *pdf, uint64_t *bytes, s2d_error *err)
{
    if (pdf->in_page || pdf->page != pdf->npages) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "PDF finished after %u of %u pages",
                             pdf->page, pdf->npages);
    }
    bool ok = begin_object(pdf, 1, err) &&
              emit(pdf, err, "<< /Type /Catalog /Pages 2 0 R >>\nendobj\n") &&
              begin_object(pdf, 2, err) && emit(pdf, err, "<< /Type /Pages /Kids [");
    for (uint32_t i = 0; ok && i < pdf->npages; i++) {
        ok = emit(pdf, err, "%s%u 0 R", i % 8 ? " " : "\n", OBJ_PAGE(i));
    }
    ok = ok && emit(pdf, err, "\n] /Count %u >>\nendobj\n", pdf->npages);
    uint64_t xref = pdf->at;
    uint32_t size = OBJ_PAGE(pdf->npages);   // objects 0 .. 4n + 2
    ok = ok && emit(pdf, err, "xref\n0 %u\n0000000000 65535 f \n", size);
    // Each entry exactly 20 bytes, ending in space and line feed.
    for (uint32_t o = 1; ok && o < size; o++) {
        ok = emit(pdf, err, "%010" PRIu64 " 00000 n \n", pdf->offsets[o]);
    }
    ok = ok && emit(pdf, err, "trailer\n<< /Size %u /Root 1 0 R >>\nstartxref\n%" PRIu64
                    "\n%%%%EOF\n", size, xref);
    if (ok && bytes) {
        *bytes = pdf->at;
    }
    return ok;
}

void s2d_pdf_free(s2d_pdf *pdf)
{
    if (!pdf) {
        return;
    }
    if (pdf->deflating) {
        deflateEnd(&pdf->z);
    }
    free(pdf->zout);
    free(pdf->offsets);
    free(pdf);
}
