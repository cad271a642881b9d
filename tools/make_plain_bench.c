// SPDX-License-Identifier: Apache-2.0
// make_plain_bench: writes the large plain TIFFs of the plain-TIFF benchmark
// (bench/plain.py) and memory tests (tests/integration/cases/plain_memory.py):
//
//   stack OUT.tif     a radiology export: N pages of W x W unsigned 16-bit grey (12 bits
//                     used, like CT values + 1024), a body-like section that changes from
//                     page to page, lungs, a spine and noise; stripped as libtiff suggests
//                     (about 8 KB per strip), uncompressed unless --compression says;
//   document OUT.tif  a scanned letter: N pages of A4 at --dpi (default 300), 1-bit
//                     min-is-white, CCITT G4, one strip per page, lines of text-like glyphs
//                     in paragraphs, a heading, a page number.
//
// The files are the same bytes on every run (fixed seeds, no clock). They are large: write
// them to a scratch directory, not into the repository.
//
// usage: s2d-make-plain-bench stack OUT.tif [--pages N] [--size W] [--compression
//            none|lzw|deflate]
//        s2d-make-plain-bench document OUT.tif [--pages N] [--dpi D]
#include <tiffio.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool_util.h"

#define PROG "s2d-make-plain-bench"

// xorshift64*: a fixed-seed noise source, the same on every run.
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

// ------------------------------------------------------------------ the 16-bit stack

// Inside the ellipse centred at (cx, cy) with semi-axes a, b.
static bool in_ellipse(double x, double y, double cx, double cy, double a, double b)
{
    double dx = (x - cx) / a, dy = (y - cy) / b;
    return dx * dx + dy * dy <= 1.0;
}

// One row of slice z (0..1 through the stack): air, a body, two lungs, a spine, noise.
static void stack_row(uint16_t *row, uint32_t w, uint32_t y, double z, uint64_t *seed)
{
    double s = (double)w, cx = s / 2, cy = s / 2;
    // The body widens and the lungs shrink along the stack, as through a chest.
    double body_a = s * (0.40 + 0.04 * z), body_b = s * (0.30 + 0.02 * z);
    double lung_a = s * (0.12 - 0.05 * z), lung_b = s * (0.17 - 0.07 * z);
    for (uint32_t x = 0; x < w; x++) {
        uint64_t r = next_random(seed);
        // Two 6-bit uniforms: triangular noise of about +-31, like a CT's quantum noise.
        int noise = (int)(r & 63) + (int)((r >> 6) & 63) - 63;
        int v;
        if (!in_ellipse(x, y, cx, cy, body_a, body_b)) {
            v = 24 + noise / 4;   // air, -1000 HU
        } else if (in_ellipse(x, y, cx - s * 0.17, cy - s * 0.02, lung_a, lung_b) ||
                   in_ellipse(x, y, cx + s * 0.17, cy - s * 0.02, lung_a, lung_b)) {
            v = 190 + noise;      // lung, about -850 HU
        } else if (in_ellipse(x, y, cx, cy + s * 0.20, s * 0.045, s * 0.04)) {
            // Vertebra: cortical rim bright, marrow less so.
            bool marrow = in_ellipse(x, y, cx, cy + s * 0.20, s * 0.03, s * 0.025);
            v = (marrow ? 1300 : 2300) + noise;
        } else {
            // Soft tissue with a slow fat/muscle variation.
            v = 1040 + (int)(40.0 * ((x * 7 + y * 3) % 512) / 512.0) + noise;
        }
        row[x] = (uint16_t)(v < 0 ? 0 : v > 4095 ? 4095 : v);
    }
}

static int write_stack(const char *path, uint32_t pages, uint32_t w, uint16_t compression)
{
    uint64_t bytes = (uint64_t)pages * w * w * 2;
    // Classic TIFF offsets end at 4 GB.
    TIFF *tif = TIFFOpen(path, bytes > (3ULL << 30) ? "w8" : "w");
    if (!tif) {
        return tool_fail(path, "cannot create");
    }
    uint16_t *row = malloc((size_t)w * 2);
    uint64_t seed = 0x5EED0016ULL;
    for (uint32_t p = 0; row && p < pages; p++) {
        TIFFSetField(tif, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
        TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, w);
        TIFFSetField(tif, TIFFTAG_IMAGELENGTH, w);
        TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 16);
        TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 1);
        TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_UINT);
        TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
        TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
        TIFFSetField(tif, TIFFTAG_COMPRESSION, compression);
        if (compression != COMPRESSION_NONE) {
            TIFFSetField(tif, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL);
        }
        TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, TIFFDefaultStripSize(tif, 0));
        TIFFSetField(tif, TIFFTAG_PAGENUMBER, (uint16_t)p, (uint16_t)pages);
        TIFFSetField(tif, TIFFTAG_SOFTWARE, PROG);
        for (uint32_t y = 0; y < w; y++) {
            stack_row(row, w, y, pages > 1 ? (double)p / (pages - 1) : 0.0, &seed);
            if (TIFFWriteScanline(tif, row, y, 0) < 0) {
                free(row);
                TIFFClose(tif);
                return tool_fail(path, "cannot write a row");
            }
        }
        if (!TIFFWriteDirectory(tif)) {
            free(row);
            TIFFClose(tif);
            return tool_fail(path, "cannot write a page");
        }
    }
    TIFFClose(tif);
    if (!row) {
        return tool_fail(path, "out of memory");
    }
    free(row);
    return 0;
}

// ------------------------------------------------------------------ the G4 document

enum { GLYPHS = 48, GLYPH_COLS = 5, GLYPH_ROWS = 7 };

// Pseudo letters: 5 x 7 cell patterns, each cell a scale x scale block of ink.
typedef struct {
    uint8_t cells[GLYPHS][GLYPH_ROWS];   // bit c of row r: cell (c, r) inked
} font;

static void make_font(font *f)
{
    uint64_t seed = 0xF0A7ULL;
    for (int g = 0; g < GLYPHS; g++) {
        for (int r = 0; r < GLYPH_ROWS; r++) {
            // A vertical stem in most letters, random strokes around it: dense like type.
            uint8_t bits = (uint8_t)(next_random(&seed) & 0x1F);
            if (g % 3 != 2) {
                bits |= g % 2 ? 0x01 : 0x10;
            }
            f->cells[g][r] = bits;
        }
        // Lower-case letters use the bottom five rows only.
        if (g >= 12) {
            f->cells[g][0] = f->cells[g][1] = 0;
        }
    }
}

// Sets pixel (x, y) to ink: in min-is-white 1-bit, ink is a 1 bit.
static void ink(uint8_t *page, uint32_t stride, uint32_t x, uint32_t y)
{
    page[(size_t)y * stride + x / 8] |= (uint8_t)(0x80 >> (x % 8));
}

static void draw_glyph(uint8_t *page, uint32_t stride, const font *f, int g, uint32_t x0,
                       uint32_t y0, uint32_t scale)
{
    for (uint32_t r = 0; r < GLYPH_ROWS; r++) {
        for (uint32_t c = 0; c < GLYPH_COLS; c++) {
            if (!(f->cells[g][r] >> (GLYPH_COLS - 1 - c) & 1)) {
                continue;
            }
            for (uint32_t dy = 0; dy < scale; dy++) {
                for (uint32_t dx = 0; dx < scale; dx++) {
                    ink(page, stride, x0 + c * scale + dx, y0 + r * scale + dy);
                }
            }
        }
    }
}

// Lays out one page: heading, paragraphs of ragged-right text, page number.
static void document_page(uint8_t *page, uint32_t w, uint32_t h, uint32_t stride, double dpi,
                          const font *f, uint32_t number, uint64_t *seed)
{
    memset(page, 0, (size_t)stride * h);
    uint32_t margin = (uint32_t)(dpi * 0.9), scale = (uint32_t)(dpi / 75.0 + 0.5);
    scale = scale < 1 ? 1 : scale;
    uint32_t advance = (GLYPH_COLS + 1) * scale, line = (uint32_t)(dpi / 6.0);
    uint32_t y = margin;
    if (number == 1) {
        // A heading at twice the size.
        uint32_t x = margin;
        for (int i = 0; i < 18; i++) {
            draw_glyph(page, stride, f, (int)(next_random(seed) % 12), x, y, scale * 2);
            x += advance * 2;
        }
        y += line * 3;
    }
    while (y + line < h - margin) {
        // A paragraph of 3 to 9 lines; its last line short.
        uint32_t lines = 3 + (uint32_t)(next_random(seed) % 7);
        for (uint32_t l = 0; l < lines && y + line < h - margin; l++) {
            uint32_t x = margin + (l == 0 ? 4 * advance : 0);
            uint32_t right = w - margin - (uint32_t)(next_random(seed) % (6 * advance));
            if (l + 1 == lines) {
                right = margin + (w - 2 * margin) * (uint32_t)(20 + next_random(seed) % 60) / 100;
            }
            while (true) {
                uint32_t letters = 1 + (uint32_t)(next_random(seed) % 9);
                if (x + letters * advance > right) {
                    break;
                }
                for (uint32_t i = 0; i < letters; i++) {
                    // Capitals now and then; lower-case letters sit on the same baseline.
                    bool capital = i == 0 && next_random(seed) % 5 == 0;
                    int g = capital ? (int)(next_random(seed) % 12)
                                    : 12 + (int)(next_random(seed) % (GLYPHS - 12));
                    draw_glyph(page, stride, f, g, x, y, scale);
                    x += advance;
                }
                x += advance;   // the space between words
            }
            y += line;
        }
        y += line;   // the blank line between paragraphs
    }
    // The page number, centred at the foot.
    char digits[16];
    int n = snprintf(digits, sizeof digits, "%u", number);
    uint32_t x = w / 2 - (uint32_t)n * advance / 2;
    for (int i = 0; i < n; i++) {
        draw_glyph(page, stride, f, digits[i] - '0', x, h - margin / 2, scale);
        x += advance;
    }
}

static int write_document(const char *path, uint32_t pages, double dpi)
{
    // A4: 210 x 297 mm.
    uint32_t w = (uint32_t)(210 / 25.4 * dpi + 0.5), h = (uint32_t)(297 / 25.4 * dpi + 0.5);
    uint32_t stride = (w + 7) / 8;
    TIFF *tif = TIFFOpen(path, "w");
    if (!tif) {
        return tool_fail(path, "cannot create");
    }
    uint8_t *page = malloc((size_t)stride * h);
    font f;
    make_font(&f);
    uint64_t seed = 0xD0C0ULL;
    for (uint32_t p = 0; page && p < pages; p++) {
        document_page(page, w, h, stride, dpi, &f, p + 1, &seed);
        TIFFSetField(tif, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
        TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, w);
        TIFFSetField(tif, TIFFTAG_IMAGELENGTH, h);
        TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 1);
        TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 1);
        TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);
        TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4);
        TIFFSetField(tif, TIFFTAG_FILLORDER, FILLORDER_MSB2LSB);
        TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, h);
        TIFFSetField(tif, TIFFTAG_XRESOLUTION, (float)dpi);
        TIFFSetField(tif, TIFFTAG_YRESOLUTION, (float)dpi);
        TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
        TIFFSetField(tif, TIFFTAG_PAGENUMBER, (uint16_t)p, (uint16_t)pages);
        TIFFSetField(tif, TIFFTAG_SOFTWARE, PROG);
        if (TIFFWriteEncodedStrip(tif, 0, page, (tmsize_t)stride * h) < 0 ||
            !TIFFWriteDirectory(tif)) {
            free(page);
            TIFFClose(tif);
            return tool_fail(path, "cannot write a page");
        }
    }
    TIFFClose(tif);
    if (!page) {
        return tool_fail(path, "out of memory");
    }
    free(page);
    return 0;
}

// ------------------------------------------------------------------ main

int main(int argc, char **argv)
{
    tool_begin(PROG);
    const char *usage =
        "usage: " PROG " stack OUT.tif [--pages N] [--size W] [--compression none|lzw|deflate]\n"
        "       " PROG " document OUT.tif [--pages N] [--dpi D]\n";
    if (argc < 3 || (strcmp(argv[1], "stack") != 0 && strcmp(argv[1], "document") != 0)) {
        fputs(usage, stderr);
        return 2;
    }
    bool stack = strcmp(argv[1], "stack") == 0;
    uint32_t pages = stack ? 256 : 100, size = 2048, dpi = 300;
    uint16_t compression = COMPRESSION_NONE;
    for (int i = 3; i < argc; i += 2) {   // each option and its value
        const char *v = i + 1 < argc ? argv[i + 1] : "";
        bool ok = true;
        if (strcmp(argv[i], "--pages") == 0) {
            ok = tool_parse_u32(v, 1, 65535, &pages);
        } else if (stack && strcmp(argv[i], "--size") == 0) {
            ok = tool_parse_u32(v, 64, 65535, &size);
        } else if (stack && strcmp(argv[i], "--compression") == 0) {
            compression = strcmp(v, "none") == 0      ? COMPRESSION_NONE
                          : strcmp(v, "lzw") == 0     ? COMPRESSION_LZW
                          : strcmp(v, "deflate") == 0 ? COMPRESSION_ADOBE_DEFLATE
                                                      : 0;
            ok = compression != 0;
        } else if (!stack && strcmp(argv[i], "--dpi") == 0) {
            ok = tool_parse_u32(v, 75, 1200, &dpi);
        } else {
            ok = false;
        }
        if (!ok) {
            fputs(usage, stderr);
            return 2;
        }
    }
    TIFFSetErrorHandler(tool_keep_complaint);
    return stack ? write_stack(argv[2], pages, size, compression)
                 : write_document(argv[2], pages, (double)dpi);
}
