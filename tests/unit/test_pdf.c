// SPDX-License-Identifier: Apache-2.0
/* The PDF writer (convert/pdf_writer.h) and the Part 10 writer's streamed value
 * (part10.h, streamed_tag), without a TIFF:
 * - a PDF of two pages (a CCITT stream given as bytes, 1-bit pixels deflated here) into
 *   memory: every cross-reference entry points at its object, startxref at the table,
 *   the CCITT bytes stand unchanged in their stream, the deflated stream inflates to the
 *   rows given and its indirect /Length is its size; pages out of turn are refused;
 * - a Part 10 file whose Encapsulated Document is streamed in pieces of odd total length:
 *   its header holds the padded length, the value and the pad byte follow, then the
 *   attributes after it, the Encapsulated Document Length given the unpadded length; a
 *   streamed value with frames is refused.
 * usage: test_pdf OUTDIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "convert/pdf_writer.h"
#include "core/buf.h"
#include "dicom/dict.h"
#include "dicom/part10.h"
#include "harness.h"

static const char *outdir;

static bool to_buf(void *ctx, const void *data, size_t len, s2d_error *err)
{
    (void)err;
    s2d_buf_append(ctx, data, len);
    return true;
}

// Where `needle` first occurs in pdf at or after `from`, or -1.
static long find(const s2d_buf *pdf, const char *needle, size_t from)
{
    size_t n = strlen(needle);
    for (size_t i = from; i + n <= pdf->len; i++) {
        if (memcmp(pdf->data + i, needle, n) == 0) {
            return (long)i;
        }
    }
    return -1;
}

static void test_pdf_layout(void)
{
    s2d_buf pdf = {0};
    s2d_error err = {0};
    static const uint8_t ccitt[] = {0xFF, 0x00, 0x10, 0x01, 'x'};
    enum { W = 10, H = 3, ROW = (W + 7) / 8 };
    uint8_t rows[H * ROW] = {0xFF, 0xC0, 0x00, 0x00, 0xAA, 0x80};
    s2d_pdf *w = s2d_pdf_begin(2, to_buf, &pdf, &err);
    CHECK(w != NULL);
    s2d_pdf_page g4 = {.width = 40, .height = 2, .components = 1, .bits = 1,
                       .coding = S2D_PDF_CCITT_G4, .black_is_1 = true, .width_pt = 14.4,
                       .height_pt = 0.72, .orientation = 1};
    s2d_pdf_page px = {.width = W, .height = H, .components = 1, .bits = 1,
                       .coding = S2D_PDF_PIXELS, .width_pt = W, .height_pt = H,
                       .orientation = 6};
    CHECK(!s2d_pdf_page_data(w, rows, 1, &err));   // outside a page
    CHECK(s2d_pdf_page_begin(w, &g4, &err) && s2d_pdf_page_data(w, ccitt, 2, &err) &&
          s2d_pdf_page_data(w, ccitt + 2, 3, &err) && s2d_pdf_page_end(w, &err));
    CHECK(!s2d_pdf_finish(w, NULL, &err));   // a page missing
    CHECK(s2d_pdf_page_begin(w, &px, &err) && s2d_pdf_page_data(w, rows, sizeof rows, &err));
    CHECK(!s2d_pdf_page_data(w, rows, 1, &err));   // more rows than the page holds
    uint64_t bytes = 0;
    CHECK(s2d_pdf_page_end(w, &err) && s2d_pdf_finish(w, &bytes, &err));
    CHECK(bytes == pdf.len);
    s2d_pdf_free(w);

    CHECK(pdf.len > 16 && memcmp(pdf.data, "%PDF-1.4\n", 9) == 0);
    long sx = find(&pdf, "startxref\n", 0);
    CHECK(sx > 0);
    long xref = sx > 0 ? atol((const char *)pdf.data + sx + 10) : -1;
    CHECK(xref > 0 && find(&pdf, "xref\n0 11\n", (size_t)xref) == xref);
    // Objects 1 .. 10 (two pages of four, catalog and page tree), entries 20 bytes each.
    for (int o = 1; xref > 0 && o <= 10; o++) {
        const char *entry = (const char *)pdf.data + xref + 10 + 20 * o;
        long at = atol(entry);
        char head[32];
        snprintf(head, sizeof head, "%d 0 obj\n", o);
        CHECK(entry[17] == 'n' && find(&pdf, head, (size_t)at) == at);
    }
    // The CCITT stream holds the bytes given; its parameters say min-is-black.
    long g4_stream = find(&pdf, "/CCITTFaxDecode /DecodeParms << /K -1 /Columns 40 /Rows 2 "
                                "/BlackIs1 true >>", 0);
    long g4_data = find(&pdf, "stream\n", (size_t)g4_stream) + 7;
    CHECK(g4_stream > 0 && memcmp(pdf.data + g4_data, ccitt, sizeof ccitt) == 0 &&
          memcmp(pdf.data + g4_data + sizeof ccitt, "\nendstream", 10) == 0);
    CHECK(find(&pdf, "6 0 obj\n5\nendobj", 0) > 0);   // its length, as an indirect object
    // Orientation 6: the unit square turned a quarter clockwise onto a W x H page.
    CHECK(find(&pdf, "q 0.0000 -3.0000 10.0000 0.0000 0.0000 3.0000 cm /Im1 Do Q", 0) > 0);
    // The deflated rows inflate to the rows given, and /Length is the stream's size.
    long fl = find(&pdf, "/FlateDecode", 0);
    long fl_data = find(&pdf, "stream\n", (size_t)fl) + 7;
    long fl_end = find(&pdf, "\nendstream", (size_t)fl_data);
    uint8_t inflated[64];
    uLongf n = sizeof inflated;
    CHECK(fl > 0 && fl_end > fl_data &&
          uncompress(inflated, &n, pdf.data + fl_data, (uLong)(fl_end - fl_data)) == Z_OK &&
          n == sizeof rows && memcmp(inflated, rows, sizeof rows) == 0);
    char length[48];
    snprintf(length, sizeof length, "10 0 obj\n%ld\nendobj", fl_end - fl_data);
    CHECK(find(&pdf, length, 0) > 0);
    s2d_buf_free(&pdf);

    // A page whose parameters a PDF image cannot have.
    s2d_buf none = {0};
    w = s2d_pdf_begin(1, to_buf, &none, &err);
    s2d_pdf_page bad = g4;
    bad.bits = 8;   // CCITT is 1-bit
    CHECK(w && !s2d_pdf_page_begin(w, &bad, &err));
    s2d_pdf_free(w);
    s2d_buf_free(&none);
}

static void test_streamed_value(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/streamed.dcm", outdir);
    s2d_error err = {0};
    s2d_ds *ds = s2d_ds_new();
    CHECK(ds && s2d_put_str(ds, S2D_KW_SOPClassUID, "1.2.840.10008.5.1.4.1.1.104.1", &err) &&
          s2d_put_str(ds, S2D_KW_SOPInstanceUID, "1.2.3.4", &err) &&
          s2d_put_bytes(ds, S2D_KW_EncapsulatedDocument, "", 0, &err) &&
          s2d_put_str(ds, S2D_KW_MIMETypeOfEncapsulatedDocument, "application/pdf", &err) &&
          s2d_put_number(ds, S2D_KW_EncapsulatedDocumentLength, 0, &err));
    s2d_part10_params p = {.final_path = path,
                           .sop_class_uid = "1.2.840.10008.5.1.4.1.1.104.1",
                           .sop_instance_uid = "1.2.3.4",
                           .transfer_syntax_uid = "1.2.840.10008.1.2.1",
                           .dataset = ds,
                           .streamed_tag = s2d_dict_entry_of(S2D_KW_EncapsulatedDocument)->tag,
                           .streamed_length_tag =
                               s2d_dict_entry_of(S2D_KW_EncapsulatedDocumentLength)->tag};
    s2d_part10_params with_frames = p;
    with_frames.nframes = 1;
    CHECK(s2d_part10_open(&with_frames, &err) == NULL);
    s2d_part10 *w = s2d_part10_open(&p, &err);
    CHECK(w != NULL);
    CHECK(w && s2d_part10_add_value(w, "%PDF-", 5, &err) &&
          s2d_part10_add_value(w, "xy", 2, &err) && s2d_part10_finish(w, &err) &&
          s2d_part10_commit(w, &err));
    CHECK(w && s2d_part10_frame_bytes(w) == 7);
    s2d_part10_free(w);
    s2d_ds_free(ds);

    FILE *f = fopen(path, "rb");
    uint8_t file[4096];
    size_t n = f ? fread(file, 1, sizeof file, f) : 0;
    if (f) {
        fclose(f);
    }
    static const uint8_t header[] = {0x42, 0x00, 0x11, 0x00, 'O', 'B', 0, 0, 8, 0, 0, 0,
                                     '%', 'P', 'D', 'F', '-', 'x', 'y', 0,
                                     0x42, 0x00, 0x12, 0x00, 'L', 'O'};
    bool found = false;
    for (size_t i = 0; i + sizeof header <= n; i++) {
        found |= memcmp(file + i, header, sizeof header) == 0;
    }
    CHECK(found);
    // The last attribute: Encapsulated Document Length, the value's 7 bytes without the pad.
    static const uint8_t length[] = {0x42, 0x00, 0x15, 0x00, 'U', 'L', 4, 0, 7, 0, 0, 0};
    CHECK(n > sizeof length && memcmp(file + n - sizeof length, length, sizeof length) == 0);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_pdf OUTDIR\n");
        return 2;
    }
    outdir = argv[1];
    mkdir(outdir, 0777);
    RUN(test_pdf_layout);
    RUN(test_streamed_value);
    return harness_failures != 0;
}
