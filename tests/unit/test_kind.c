// SPDX-License-Identifier: Apache-2.0
/* The kind detector (src/source/kind.c): a table of page facts -> kind and reason, one row
 * per rule and per boundary of a rule (paper sizes either way round, the closest paper,
 * the 10 % tolerance, the 150..600 dpi window), and first match wins when several rules
 * would. */
#include "harness.h"
#include "source/source.h"

#define MM(dpi) ((dpi) / 25.4)

typedef struct page {
    uint32_t w, h;
    uint16_t samples, bits;   // in the file
    s2d_colour colour;
    bool is_signed, is_float;
    s2d_page_compression compression;
    uint16_t code;            // TIFF compression number
    double dpi;               // 0: no resolution
    bool ycbcr, cmyk;
} page;

static const struct {
    const char *mark;
    page pages[2];
    int n;
    s2d_tiff_kind kind;
    const char *reason;
} rows[] = {
    // 1. a microscopy mark wins over everything.
    {"OME-XML", {{64, 64, 1, 1, S2D_COLOUR_MONO_MIN_IS_WHITE, false, false, S2D_PAGE_CCITT, 4, 300,
                  false, false}},
     1, S2D_KIND_MICROSCOPY, "OME-XML"},
    {"ImageJ hyperstack", {{64, 64, 1, 16, S2D_COLOUR_MONO_MIN_IS_BLACK, false, false,
                            S2D_PAGE_UNCOMPRESSED, 1, 0, false, false}},
     1, S2D_KIND_MICROSCOPY, "ImageJ hyperstack"},
    // Grey pages whose resolution says a microscope's pixel (10 um or less: 2540 dpi and
    // more), planes of one image or of two sizes; 2540 - 1 dpi is not.
    {"", {{64, 64, 1, 16, S2D_COLOUR_MONO_MIN_IS_BLACK, false, false, S2D_PAGE_LZW, 5, 50800,
           false, false},
          {64, 64, 1, 16, S2D_COLOUR_MONO_MIN_IS_BLACK, false, false, S2D_PAGE_LZW, 5, 50800,
           false, false}},
     2, S2D_KIND_MICROSCOPY, "grey planes of 0.5 um pixels"},
    {"", {{64, 64, 1, 8, S2D_COLOUR_MONO_MIN_IS_BLACK, false, false, S2D_PAGE_UNCOMPRESSED, 1,
           2540, false, false}},
     1, S2D_KIND_MICROSCOPY, "grey planes of 10 um pixels"},
    {"", {{64, 64, 1, 8, S2D_COLOUR_MONO_MIN_IS_BLACK, false, false, S2D_PAGE_UNCOMPRESSED, 1,
           2539, false, false}},
     1, S2D_KIND_RADIOLOGY, "8-bit grey"},
    {"", {{64, 64, 1, 16, S2D_COLOUR_MONO_MIN_IS_BLACK, false, false, S2D_PAGE_LZW, 5, 50800,
           false, false},
          {64, 32, 1, 16, S2D_COLOUR_MONO_MIN_IS_BLACK, false, false, S2D_PAGE_LZW, 5, 50800,
           false, false}},
     2, S2D_KIND_MICROSCOPY, "grey pages of 0.5 um pixels, of several sizes or sample formats"},
    {"", {{64, 64, 1, 16, S2D_COLOUR_MONO_MIN_IS_BLACK, false, false, S2D_PAGE_LZW, 5, 50800,
           false, false},
          {64, 64, 1, 12, S2D_COLOUR_MONO_MIN_IS_BLACK, false, false, S2D_PAGE_LZW, 5, 50800,
           false, false}},
     2, S2D_KIND_RADIOLOGY, "16-bit grey"},
    // 2. documents: 1-bit (before CCITT), CCITT of 8 bits, paper sizes.
    {"", {{2480, 3508, 1, 1, S2D_COLOUR_MONO_MIN_IS_WHITE, false, false, S2D_PAGE_CCITT, 4, 300,
           false, false}},
     1, S2D_KIND_DOCUMENT, "1-bit pages"},
    {"", {{100, 20, 1, 1, S2D_COLOUR_MONO_MIN_IS_BLACK, false, false, S2D_PAGE_UNCOMPRESSED, 1, 0,
           false, false}},
     1, S2D_KIND_DOCUMENT, "1-bit pages"},
    {"", {{100, 100, 1, 16, S2D_COLOUR_MONO_MIN_IS_BLACK, false, false, S2D_PAGE_UNCOMPRESSED, 1,
           0, false, false},
          {100, 20, 1, 1, S2D_COLOUR_PALETTE, false, false, S2D_PAGE_UNCOMPRESSED, 1, 0, false,
           false}},
     2, S2D_KIND_DOCUMENT, "1-bit pages"},
    {"", {{100, 20, 1, 8, S2D_COLOUR_MONO_MIN_IS_WHITE, false, false, S2D_PAGE_CCITT, 3, 0, false,
           false}},
     1, S2D_KIND_DOCUMENT, "CCITT G3 compression"},
    {"", {{2480, 3508, 1, 8, S2D_COLOUR_MONO_MIN_IS_BLACK, false, false, S2D_PAGE_LZW, 5, 300,
           false, false}},
     1, S2D_KIND_DOCUMENT, "A4 page at 300 dpi"},
    {"", {{3508, 2480, 3, 8, S2D_COLOUR_RGB, false, false, S2D_PAGE_JPEG, 7, 300, true, false}},
     1, S2D_KIND_DOCUMENT, "A4 page at 300 dpi"},   // landscape, stored YCbCr
    {"", {{1275, 1650, 3, 8, S2D_COLOUR_RGB, false, false, S2D_PAGE_UNCOMPRESSED, 1, 150, false,
           false}},
     1, S2D_KIND_DOCUMENT, "Letter page at 150 dpi"},
    {"", {{5100, 8400, 1, 8, S2D_COLOUR_MONO_MIN_IS_BLACK, false, false, S2D_PAGE_DEFLATE, 8, 600,
           false, false}},
     1, S2D_KIND_DOCUMENT, "Legal page at 600 dpi"},
    // The closest paper: Letter and A4 are within 10 % of each other.
    {"", {{2703, 3508, 1, 8, S2D_COLOUR_MONO_MIN_IS_BLACK, false, false, S2D_PAGE_LZW, 5, 300,
           false, false}},
     1, S2D_KIND_DOCUMENT, "Letter page at 300 dpi"},
    // Legal 9 % longer still is; 11 % longer is no paper, so 8-bit grey is radiology.
    {"", {{2550, 4578, 1, 8, S2D_COLOUR_MONO_MIN_IS_BLACK, false, false, S2D_PAGE_LZW, 5, 300,
           false, false}},
     1, S2D_KIND_DOCUMENT, "Legal page at 300 dpi"},
    {"", {{2550, 4662, 1, 8, S2D_COLOUR_MONO_MIN_IS_BLACK, false, false, S2D_PAGE_LZW, 5, 300,
           false, false}},
     1, S2D_KIND_RADIOLOGY, "8-bit grey"},
    // Outside 150..600 dpi: an A4-sized page at 72 or 1200 dpi is no document.
    {"", {{595, 842, 3, 8, S2D_COLOUR_RGB, false, false, S2D_PAGE_LZW, 5, 72, false, false}},
     1, S2D_KIND_PHOTO, "RGB"},
    {"", {{9921, 14031, 3, 8, S2D_COLOUR_RGB, false, false, S2D_PAGE_LZW, 5, 1200, false, false}},
     1, S2D_KIND_PHOTO, "RGB"},
    // A paper size in 16 bits is radiology (the rule takes 8-bit pages only).
    {"", {{2480, 3508, 1, 16, S2D_COLOUR_MONO_MIN_IS_BLACK, false, false, S2D_PAGE_LZW, 5, 300,
           false, false}},
     1, S2D_KIND_RADIOLOGY, "16-bit grey"},
    // 3. radiology.
    {"", {{53, 37, 1, 32, S2D_COLOUR_MONO_MIN_IS_BLACK, false, true, S2D_PAGE_UNCOMPRESSED, 1, 0,
           false, false}},
     1, S2D_KIND_RADIOLOGY, "float"},
    {"", {{67, 45, 1, 16, S2D_COLOUR_MONO_MIN_IS_BLACK, true, false, S2D_PAGE_UNCOMPRESSED, 1, 0,
           false, false}},
     1, S2D_KIND_RADIOLOGY, "16-bit grey, signed"},
    {"", {{70, 52, 1, 16, S2D_COLOUR_MONO_MIN_IS_WHITE, false, false, S2D_PAGE_UNCOMPRESSED, 1, 0,
           false, false}},
     1, S2D_KIND_RADIOLOGY, "16-bit grey, min-is-white"},
    {"", {{45, 31, 1, 32, S2D_COLOUR_MONO_MIN_IS_BLACK, false, false, S2D_PAGE_UNCOMPRESSED, 1, 0,
           false, false}},
     1, S2D_KIND_RADIOLOGY, "32-bit grey"},
    {"", {{21, 11, 1, 4, S2D_COLOUR_MONO_MIN_IS_BLACK, false, false, S2D_PAGE_UNCOMPRESSED, 1, 0,
           false, false}},
     1, S2D_KIND_RADIOLOGY, "4-bit grey"},
    {"", {{256, 256, 1, 8, S2D_COLOUR_MONO_MIN_IS_BLACK, false, false, S2D_PAGE_JPEG, 7, 72,
           false, false}},
     1, S2D_KIND_RADIOLOGY, "8-bit grey"},
    // Float anywhere before grey; grey anywhere before colour.
    {"", {{10, 10, 1, 8, S2D_COLOUR_MONO_MIN_IS_BLACK, false, false, S2D_PAGE_UNCOMPRESSED, 1, 0,
           false, false},
          {10, 10, 1, 32, S2D_COLOUR_MONO_MIN_IS_BLACK, false, true, S2D_PAGE_UNCOMPRESSED, 1, 0,
           false, false}},
     2, S2D_KIND_RADIOLOGY, "float"},
    {"", {{10, 10, 3, 8, S2D_COLOUR_RGB, false, false, S2D_PAGE_UNCOMPRESSED, 1, 0, false, false},
          {10, 10, 1, 12, S2D_COLOUR_MONO_MIN_IS_BLACK, false, false, S2D_PAGE_UNCOMPRESSED, 1, 0,
           false, false}},
     2, S2D_KIND_RADIOLOGY, "12-bit grey"},
    // 4. photos.
    {"", {{31, 17, 3, 8, S2D_COLOUR_RGB, false, false, S2D_PAGE_UNCOMPRESSED, 1, 0, false, false}},
     1, S2D_KIND_PHOTO, "RGB"},
    {"", {{157, 151, 3, 16, S2D_COLOUR_RGB, false, false, S2D_PAGE_UNCOMPRESSED, 1, 0, false,
           false}},
     1, S2D_KIND_PHOTO, "RGB"},
    {"", {{320, 240, 3, 8, S2D_COLOUR_RGB, false, false, S2D_PAGE_JPEG, 7, 0, true, false}},
     1, S2D_KIND_PHOTO, "YCbCr"},
    {"", {{96, 64, 3, 8, S2D_COLOUR_RGB, false, false, S2D_PAGE_OLD_JPEG, 6, 0, true, false}},
     1, S2D_KIND_PHOTO, "YCbCr"},
    {"", {{48, 33, 1, 4, S2D_COLOUR_PALETTE, false, false, S2D_PAGE_UNCOMPRESSED, 1, 0, false,
           false}},
     1, S2D_KIND_PHOTO, "palette"},
    {"", {{48, 33, 3, 8, S2D_COLOUR_RGB, false, false, S2D_PAGE_LZW, 5, 0, false, true}},
     1, S2D_KIND_PHOTO, "CMYK"},
};

static void test_table(void)
{
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        s2d_source_image images[2] = {0};
        s2d_page_facts facts[2] = {0};
        for (int k = 0; k < rows[i].n; k++) {
            const page *p = &rows[i].pages[k];
            s2d_pixdesc *d = &images[k].pix;
            d->width = p->w;
            d->height = p->h;
            d->samples = p->samples;
            d->bits_allocated = p->bits == 1 ? 1 : p->bits <= 8 ? 8 : p->bits <= 16 ? 16 : 32;
            d->bits_stored = p->bits;
            d->colour = p->colour;
            d->is_signed = p->is_signed;
            d->is_float = p->is_float;
            images[k].role = S2D_IMAGE_PAGE;
            facts[k].compression = p->compression;
            facts[k].compression_code = p->code;
            facts[k].bits_per_sample = p->bits;
            facts[k].x_px_per_mm = facts[k].y_px_per_mm = MM(p->dpi);
            facts[k].ycbcr = p->ycbcr;
            facts[k].cmyk = p->cmyk;
            facts[k].decoded_to_rgb = p->cmyk || (p->ycbcr && p->compression != S2D_PAGE_JPEG);
            facts[k].orientation = 1;
        }
        char reason[128] = "";
        s2d_tiff_kind kind = s2d_kind_of(rows[i].mark, images, facts, rows[i].n, reason);
        if (kind != rows[i].kind || strcmp(reason, rows[i].reason) != 0) {
            fprintf(stderr, "row %zu: %s \"%s\", want %s \"%s\"\n", i, s2d_kind_name(kind), reason,
                    s2d_kind_name(rows[i].kind), rows[i].reason);
            CHECK(!"the kind and reason of the table");
        }
    }
}

static void test_names(void)
{
    CHECK(strcmp(s2d_kind_name(S2D_KIND_RADIOLOGY), "radiology") == 0);
    CHECK(strcmp(s2d_kind_name(S2D_KIND_DOCUMENT), "document") == 0);
    CHECK(strcmp(s2d_kind_name(S2D_KIND_PHOTO), "photo") == 0);
    CHECK(strcmp(s2d_kind_name(S2D_KIND_MICROSCOPY), "microscopy") == 0);
}

int main(void)
{
    RUN(test_table);
    RUN(test_names);
    return harness_failures != 0;
}
