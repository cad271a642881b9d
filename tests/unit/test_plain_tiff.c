// SPDX-License-Identifier: Apache-2.0
/* The plain-TIFF source (fmt_plain_tiff.c):
 *  - TIFFs written here with libtiff, one per layout (bit depths 1 to 64, signed, float,
 *    planar, tiled, BigTIFF, big-endian, FillOrder 2, CCITT, palette, alpha, JPEG, pages
 *    with a reduced-resolution directory between them): pages, pixel descriptions, facts,
 *    and every row read back equal to the values written;
 *  - every file of the shared libtiff test images either opens with the pixel description
 *    the table expects, its rows equal to libtiff's own RGBA decode after the mapping, or
 *    fails with its one-line reason; nothing is printed on stderr meanwhile;
 *  - bad files: no pages, truncated, a strip that does not decode, more directories than
 *    the listing reads (the limit named, not "damaged").
 * usage: test_plain_tiff TESTDATA WORKDIR */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <tiffio.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "harness.h"
#include "source/source.h"
#include "source/tiffdir.h"

static const char *testdata, *workdir;

// ------------------------------------------------------------------ writing test files

typedef struct layout {
    uint32_t w, h;
    uint16_t spp, bits, format, photometric, compression;
    bool planar;
    uint32_t rps;             // strips of rps rows, or
    uint32_t tile;            // square tiles of this side
    uint16_t alpha;           // EXTRASAMPLE_* of the last sample, 0 for none
    uint16_t fill_order;      // 0: default
    uint32_t subfile_type;
} layout;

// The sample written at (x, y, s) of page p: an integer pattern in range, or a float.
static uint32_t int_value(const layout *l, int p, uint32_t x, uint32_t y, int s)
{
    uint32_t v = x * 7u + y * 13u + (uint32_t)s * 5u + (uint32_t)p * 3u;
    if (l->compression == COMPRESSION_JPEG) {
        return x * 2u + y + (uint32_t)s * 20u;   // smooth, as JPEG needs
    }
    if (l->alpha && s == l->spp - 1) {
        v = (x + y) % 3 == 0 ? 128u : 255u;   // some translucent pixels
    }
    if (l->bits == 16 && l->format == SAMPLEFORMAT_INT) {
        return (uint32_t)(uint16_t)(int16_t)((int)x * 300 - (int)y * 700);
    }
    if (l->bits == 32) {
        return v * 100003u;
    }
    return v & ((1u << l->bits) - 1);
}

static double float_value(uint32_t x, uint32_t y, int s)
{
    return ((double)x - (double)y) * 0.5 + s + 1e-3 * x;
}

static void put_bits(uint8_t *row, size_t k, uint16_t bits, uint32_t v)
{
    size_t bit = k * bits;
    for (int i = bits - 1; i >= 0; i--, bit++) {
        if ((v >> i) & 1u) {
            row[bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
        }
    }
}

// Packs rows y0.. of columns x0..x0+cw of plane `plane` (or all samples) in the file's
// layout into buf, rows row_bytes apart.
static void pack(const layout *l, int p, uint32_t x0, uint32_t y0, uint32_t cw, uint32_t ch,
                 int plane, uint8_t *buf, size_t row_bytes)
{
    memset(buf, 0, row_bytes * ch);
    int s0 = plane >= 0 ? plane : 0, s1 = plane >= 0 ? plane + 1 : l->spp;
    int per = s1 - s0;
    for (uint32_t r = 0; r < ch; r++) {
        uint8_t *row = buf + r * row_bytes;
        for (uint32_t c = 0; c < cw; c++) {
            uint32_t x = x0 + c, y = y0 + r;
            for (int s = s0; s < s1; s++) {
                size_t k = (size_t)c * per + (size_t)(s - s0);
                if (x >= l->w || y >= l->h) {
                    continue;
                }
                if (l->format == SAMPLEFORMAT_IEEEFP && l->bits == 64) {
                    double d = float_value(x, y, s);
                    memcpy(row + 8 * k, &d, 8);
                } else if (l->format == SAMPLEFORMAT_IEEEFP) {
                    float f = (float)float_value(x, y, s);
                    memcpy(row + 4 * k, &f, 4);
                } else if (l->bits == 8) {
                    row[k] = (uint8_t)int_value(l, p, x, y, s);
                } else if (l->bits == 16) {
                    uint16_t v = (uint16_t)int_value(l, p, x, y, s);
                    memcpy(row + 2 * k, &v, 2);
                } else if (l->bits == 32) {
                    uint32_t v = int_value(l, p, x, y, s);
                    memcpy(row + 4 * k, &v, 4);
                } else {
                    put_bits(row, k, l->bits, int_value(l, p, x, y, s));
                }
            }
        }
    }
}

static bool write_page(TIFF *t, const layout *l, int p)
{
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, l->w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, l->h);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, l->spp);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, l->bits);
    TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, l->format ? l->format : SAMPLEFORMAT_UINT);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, l->photometric);
    TIFFSetField(t, TIFFTAG_COMPRESSION, l->compression);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, l->planar ? PLANARCONFIG_SEPARATE : PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_XRESOLUTION, 300.0f);
    TIFFSetField(t, TIFFTAG_YRESOLUTION, 150.0f);
    TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
    if (l->subfile_type) {
        TIFFSetField(t, TIFFTAG_SUBFILETYPE, l->subfile_type);
    }
    if (l->fill_order) {
        TIFFSetField(t, TIFFTAG_FILLORDER, l->fill_order);
    }
    if (l->alpha) {
        uint16_t extra = l->alpha;
        TIFFSetField(t, TIFFTAG_EXTRASAMPLES, 1, &extra);
    }
    uint16_t map[3 * 256];
    if (l->photometric == PHOTOMETRIC_PALETTE) {
        for (int i = 0; i < 256; i++) {
            map[i] = (uint16_t)(i * 4000);
            map[256 + i] = (uint16_t)(65535 - i * 3000);
            map[512 + i] = (uint16_t)(i * 257);
        }
        TIFFSetField(t, TIFFTAG_COLORMAP, map, map + 256, map + 512);
    }
    if (l->compression == COMPRESSION_JPEG) {
        TIFFSetField(t, TIFFTAG_JPEGQUALITY, 95);
        if (l->photometric == PHOTOMETRIC_YCBCR) {
            TIFFSetField(t, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
        }
    }
    int planes = l->planar ? l->spp : 1;
    uint16_t per = l->planar ? 1 : l->spp;
    bool ok = true;
    if (l->tile) {
        TIFFSetField(t, TIFFTAG_TILEWIDTH, l->tile);
        TIFFSetField(t, TIFFTAG_TILELENGTH, l->tile);
        size_t row_bytes = ((size_t)l->tile * per * l->bits + 7) / 8;
        uint8_t *buf = malloc(row_bytes * l->tile);
        for (int pl = 0; ok && pl < planes; pl++) {
            for (uint32_t y = 0; ok && y < l->h; y += l->tile) {
                for (uint32_t x = 0; ok && x < l->w; x += l->tile) {
                    pack(l, p, x, y, l->tile, l->tile, l->planar ? pl : -1, buf, row_bytes);
                    ok = TIFFWriteTile(t, buf, x, y, 0, (uint16_t)pl) >= 0;
                }
            }
        }
        free(buf);
    } else {
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, l->rps);
        size_t row_bytes = ((size_t)l->w * per * l->bits + 7) / 8;
        uint8_t *buf = malloc(row_bytes * l->rps);
        uint32_t nstrips = (l->h + l->rps - 1) / l->rps;
        for (int pl = 0; ok && pl < planes; pl++) {
            for (uint32_t s = 0; ok && s < nstrips; s++) {
                uint32_t rows = l->h - s * l->rps < l->rps ? l->h - s * l->rps : l->rps;
                pack(l, p, 0, s * l->rps, l->w, rows, l->planar ? pl : -1, buf, row_bytes);
                ok = TIFFWriteEncodedStrip(t, s + (uint32_t)pl * nstrips, buf,
                                           (tmsize_t)(row_bytes * rows)) >= 0;
            }
        }
        free(buf);
    }
    return ok && TIFFWriteDirectory(t);
}

// Writes the layouts as the pages of one file (mode "w", "wb" big-endian, "w8" BigTIFF).
static void write_file(const char *path, const char *mode, const layout *pages, int n,
                       const char *description)
{
    TIFF *t = TIFFOpen(path, mode);
    CHECK(t != NULL);
    for (int i = 0; t && i < n; i++) {
        if (i == 0) {
            TIFFSetField(t, TIFFTAG_MAKE, "Acme Imaging");
            TIFFSetField(t, TIFFTAG_MODEL, "Scanner 9");
            TIFFSetField(t, TIFFTAG_SOFTWARE, "test_plain_tiff");
            TIFFSetField(t, TIFFTAG_DATETIME, "2019:03:04 05:06:07");
            if (description) {
                TIFFSetField(t, TIFFTAG_IMAGEDESCRIPTION, description);
            }
        }
        CHECK(write_page(t, &pages[i], i));
    }
    if (t) {
        TIFFClose(t);
    }
}

// ------------------------------------------------------------------ reading them back

// The value read_rows must hand out for sample s of (x, y): as written, but alpha left out
// and translucent colour put on white.
static uint32_t expected_int(const layout *l, int p, uint32_t x, uint32_t y, int s)
{
    uint32_t v = int_value(l, p, x, y, s);
    if (!l->alpha) {
        return v;
    }
    uint32_t a = int_value(l, p, x, y, l->spp - 1), max = (1u << l->bits) - 1;
    return (v * a + max * (max - a) + max / 2) / max;
}

static const char *path_in_work(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", workdir, name);
    return buf;
}

// Reads every row of page `page` (written from layout l as page p) and compares it, in two
// calls per chunk so that a row inside a cached strip is taken from it.
static void check_rows(s2d_source *src, int page, const layout *l, int p)
{
    const s2d_source_image *img = s2d_source_page(src, page);
    const s2d_pixdesc *pix = &img->pix;
    size_t stride = s2d_pixdesc_row_bytes(pix) + 3;
    uint8_t *rows = malloc(stride * l->h);
    s2d_error err = {0};
    uint32_t half = l->h / 2;
    bool ok = s2d_source_read_rows(src, page, 0, half, rows, stride, &err) &&
              s2d_source_read_rows(src, page, half, l->h - half, rows + half * stride, stride,
                                   &err);
    CHECK(ok);
    if (!ok) {
        fprintf(stderr, "  %s\n", err.message);
        free(rows);
        return;
    }
    int colour = pix->samples, bad = 0;
    for (uint32_t y = 0; y < l->h; y++) {
        for (uint32_t x = 0; x < l->w; x++) {
            for (int s = 0; s < colour; s++) {
                size_t k = (size_t)x * colour + (size_t)s;
                const uint8_t *row = rows + y * stride;
                bool same;
                if (pix->is_float) {
                    float got;
                    memcpy(&got, row + 4 * k, 4);
                    same = got == (float)float_value(x, y, s);
                } else if (pix->bits_allocated <= 8) {
                    same = row[k] == expected_int(l, p, x, y, s);
                } else if (pix->bits_allocated == 16) {
                    uint16_t got;
                    memcpy(&got, row + 2 * k, 2);
                    same = got == expected_int(l, p, x, y, s);
                } else {
                    uint32_t got;
                    memcpy(&got, row + 4 * k, 4);
                    same = got == expected_int(l, p, x, y, s);
                }
                if (!same && bad++ == 0) {
                    fprintf(stderr, "  page %d: first difference at (%u,%u) sample %d\n", page,
                            x, y, s);
                }
            }
        }
    }
    CHECK(bad == 0);
    // A row before the strip read last comes again the same.
    uint8_t *again = malloc(stride);
    uint32_t back = l->h > 2 ? 1 : 0;
    ok = s2d_source_read_rows(src, page, back, 1, again, stride, &err);
    CHECK(ok && memcmp(again, rows + back * stride, s2d_pixdesc_row_bytes(pix)) == 0);
    if (!ok) {
        fprintf(stderr, "  %s\n", err.message);
    }
    free(again);
    free(rows);
}

static s2d_source *open_plain(const char *path)
{
    s2d_error err = {0};
    s2d_source *src = s2d_source_open(path, &err);
    if (!src || strcmp(s2d_source_format(src), "plain-tiff") != 0) {
        fprintf(stderr, "  %s: %s\n", path, src ? s2d_source_format(src) : err.message);
        CHECK(!"opened as a plain TIFF");
        s2d_source_close(src);
        return NULL;
    }
    return src;
}

typedef struct written {
    const char *name, *mode;
    layout l;
    // Expected pixel description of what read_rows hands out.
    uint16_t samples, bits_allocated, bits_stored;
    s2d_colour colour;
    bool is_signed, is_float;
    s2d_page_compression compression;
} written;

#define GREY S2D_COLOUR_MONO_MIN_IS_BLACK
#define WHITE S2D_COLOUR_MONO_MIN_IS_WHITE
#define RGB S2D_COLOUR_RGB
#define MB PHOTOMETRIC_MINISBLACK
#define MW PHOTOMETRIC_MINISWHITE
#define U SAMPLEFORMAT_UINT
#define I SAMPLEFORMAT_INT
#define F SAMPLEFORMAT_IEEEFP

static const written layouts[] = {
    {"grey8.tif", "w", {13, 10, 1, 8, U, MB, COMPRESSION_NONE, false, 3, 0, 0, 0, 0},
     1, 8, 8, GREY, false, false, S2D_PAGE_UNCOMPRESSED},
    {"grey8-white-lzw.tif", "w", {13, 10, 1, 8, U, MW, COMPRESSION_LZW, false, 4, 0, 0, 0, 0},
     1, 8, 8, WHITE, false, false, S2D_PAGE_LZW},
    {"grey2.tif", "w", {13, 5, 1, 2, U, MB, COMPRESSION_NONE, false, 2, 0, 0, 0, 0},
     1, 8, 2, GREY, false, false, S2D_PAGE_UNCOMPRESSED},
    {"grey4-packbits.tif", "w", {13, 5, 1, 4, U, MB, COMPRESSION_PACKBITS, false, 2, 0, 0, 0, 0},
     1, 8, 4, GREY, false, false, S2D_PAGE_PACKBITS},
    {"grey12.tif", "w", {13, 5, 1, 12, U, MB, COMPRESSION_NONE, false, 3, 0, 0, 0, 0},
     1, 16, 12, GREY, false, false, S2D_PAGE_UNCOMPRESSED},
    {"grey16-be-deflate.tif", "wb", {29, 11, 1, 16, U, MB, COMPRESSION_ADOBE_DEFLATE, false, 4,
                                     0, 0, 0, 0},
     1, 16, 16, GREY, false, false, S2D_PAGE_DEFLATE},
    {"int16-packbits.tif", "w", {29, 11, 1, 16, I, MB, COMPRESSION_PACKBITS, false, 5, 0, 0, 0,
                                 0},
     1, 16, 16, GREY, true, false, S2D_PAGE_PACKBITS},
    {"uint32-be.tif", "wb", {9, 7, 1, 32, U, MB, COMPRESSION_NONE, false, 2, 0, 0, 0, 0},
     1, 32, 32, GREY, false, false, S2D_PAGE_UNCOMPRESSED},
    {"rgb8-planar-deflate.tif", "w", {21, 13, 3, 8, U, PHOTOMETRIC_RGB,
                                      COMPRESSION_ADOBE_DEFLATE, true, 5, 0, 0, 0, 0},
     3, 8, 8, RGB, false, false, S2D_PAGE_DEFLATE},
    {"rgb16-be.tif", "wb", {21, 13, 3, 16, U, PHOTOMETRIC_RGB, COMPRESSION_LZW, false, 13, 0, 0,
                            0, 0},
     3, 16, 16, RGB, false, false, S2D_PAGE_LZW},
    {"rgba8.tif", "w", {21, 13, 4, 8, U, PHOTOMETRIC_RGB, COMPRESSION_NONE, false, 6, 0,
                        EXTRASAMPLE_UNASSALPHA, 0, 0},
     3, 8, 8, RGB, false, false, S2D_PAGE_UNCOMPRESSED},
    {"bits-white-g4.tif", "w", {13, 9, 1, 1, U, MW, COMPRESSION_CCITTFAX4, false, 9, 0, 0, 0, 0},
     1, 1, 1, WHITE, false, false, S2D_PAGE_CCITT},
    {"bits-fill2.tif", "w", {13, 9, 1, 1, U, MB, COMPRESSION_NONE, false, 4, 0, 0,
                             FILLORDER_LSB2MSB, 0},
     1, 1, 1, GREY, false, false, S2D_PAGE_UNCOMPRESSED},
    {"palette4.tif", "w", {13, 6, 1, 4, U, PHOTOMETRIC_PALETTE, COMPRESSION_NONE, false, 6, 0,
                           0, 0, 0},
     1, 8, 4, S2D_COLOUR_PALETTE, false, false, S2D_PAGE_UNCOMPRESSED},
    {"float32-tiled-bigtiff.tif", "w8", {37, 21, 1, 32, F, MB, COMPRESSION_NONE, false, 0, 16,
                                         0, 0, 0},
     1, 32, 32, GREY, false, true, S2D_PAGE_UNCOMPRESSED},
    {"float64.tif", "wb", {11, 6, 1, 64, F, MB, COMPRESSION_LZW, false, 6, 0, 0, 0, 0},
     1, 32, 32, GREY, false, true, S2D_PAGE_LZW},
    // One strip of 8.8 MB decoded: read a row at a time.
    {"grey16-big-strip.tif", "w", {2100, 2100, 1, 16, U, MB, COMPRESSION_LZW, false, 2100, 0, 0,
                                   0, 0},
     1, 16, 16, GREY, false, false, S2D_PAGE_LZW},
    {"grey16-tiled-planar.tif", "w", {40, 20, 2, 16, U, MB, COMPRESSION_LZW, true, 0, 16, 0, 0,
                                      0},
     1, 16, 16, GREY, false, false, S2D_PAGE_LZW},
};

static void test_written_layouts(void)
{
    for (size_t i = 0; i < sizeof layouts / sizeof *layouts; i++) {
        const written *c = &layouts[i];
        char path[4096];
        path_in_work(path, sizeof path, c->name);
        write_file(path, c->mode, &c->l, 1, NULL);
        s2d_source *src = open_plain(path);
        if (!src) {
            continue;
        }
        int before = harness_failures;
        CHECK(s2d_source_page_count(src) == 1 && s2d_source_level_count(src) == 0);
        const s2d_source_image *img = s2d_source_page(src, 0);
        const s2d_page_facts *f = s2d_source_page_facts(src, 0);
        CHECK(img->role == S2D_IMAGE_PAGE && img->index.page == 0);
        CHECK(img->pix.width == c->l.w && img->pix.height == c->l.h);
        CHECK(img->pix.samples == c->samples && !img->pix.planar);
        CHECK(img->pix.bits_allocated == c->bits_allocated);
        CHECK(img->pix.bits_stored == c->bits_stored);
        CHECK(img->pix.colour == c->colour);
        CHECK(img->pix.is_signed == c->is_signed && img->pix.is_float == c->is_float);
        CHECK(f->compression == c->compression && f->bits_per_sample == c->l.bits);
        CHECK(fabs(f->x_px_per_mm - 300 / 25.4) < 1e-3 && fabs(f->y_px_per_mm - 150 / 25.4) < 1e-3);
        CHECK(f->orientation == 1 && !f->decoded_to_rgb);
        CHECK((f->alpha == S2D_ALPHA_UNASSOCIATED) == (c->l.alpha == EXTRASAMPLE_UNASSALPHA));
        check_rows(src, 0, &c->l, 0);
        int n = 0;
        const uint16_t *palette = s2d_source_palette(src, 0, &n);
        CHECK((palette != NULL) == (c->colour == S2D_COLOUR_PALETTE));
        if (palette) {
            CHECK(n == 16 && palette[3] == 12000 && palette[16 + 3] == 65535 - 9000 &&
                  palette[32 + 15] == 15 * 257);
        }
        // rgba8: the pixels with alpha 128 are those with (x + y) % 3 == 0.
        uint64_t translucent = 0;
        for (uint32_t y = 0; c->l.alpha && y < c->l.h; y++) {
            for (uint32_t x = 0; x < c->l.w; x++) {
                translucent += (x + y) % 3 == 0;
            }
        }
        CHECK(s2d_source_page_translucent(src, 0) == translucent);
        const s2d_source_meta *m = s2d_source_meta_of(src);
        CHECK(strcmp(m->device.manufacturer, "Acme Imaging") == 0 &&
              strcmp(m->device.model, "Scanner 9") == 0 && !m->device.serial[0]);
        CHECK(strcmp(m->device.software[0], "test_plain_tiff") == 0 && !m->device.software[1][0]);
        CHECK(strcmp(m->format_title, "TIFF") == 0);
        CHECK(strcmp(m->acquisition_datetime, "20190304050607") == 0);
        CHECK(!m->exif_present && !m->has_display_range && !m->microscopy_mark[0]);
        if (harness_failures != before) {
            fprintf(stderr, "  in %s\n", c->name);
        }
        s2d_source_close(src);
    }
}

// Pages of two sizes with a reduced-resolution copy between them, read out of order; a
// SubIFD; a stack of 1200 slices; ImageJ's display range and hyperstack mark.
static void test_pages(void)
{
    layout pages[] = {
        {20, 10, 1, 8, U, MB, COMPRESSION_LZW, false, 4, 0, 0, 0, 0},
        {10, 5, 1, 8, U, MB, COMPRESSION_NONE, false, 5, 0, 0, 0, FILETYPE_REDUCEDIMAGE},
        {30, 7, 1, 16, U, MB, COMPRESSION_NONE, false, 2, 0, 0, 0, FILETYPE_PAGE},
    };
    char path[4096];
    path_in_work(path, sizeof path, "pages.tif");
    write_file(path, "w", pages, 3, "ImageJ=1.53t\nimages=2\nmin=10.5\nmax=200\n");
    s2d_source *src = open_plain(path);
    if (!src) {
        return;
    }
    CHECK(s2d_source_page_count(src) == 2);
    CHECK(s2d_source_page(src, 1)->pix.width == 30 && s2d_source_page(src, 1)->index.page == 1);
    check_rows(src, 1, &pages[2], 2);
    check_rows(src, 0, &pages[0], 0);
    check_rows(src, 1, &pages[2], 2);
    const s2d_source_meta *m = s2d_source_meta_of(src);
    CHECK(m->has_display_range && m->display_min == 10.5 && m->display_max == 200);
    CHECK(!m->microscopy_mark[0]);   // an ImageJ stack, no hyperstack
    s2d_error err = {0};
    uint8_t row[64];
    CHECK(!s2d_source_read_rows(src, 0, 9, 2, row, sizeof row, &err) &&
          err.code == S2D_ERR_INTERNAL);
    s2d_source_close(src);

    // A SubIFD (a thumbnail hung from page 0) is no page either.
    path_in_work(path, sizeof path, "subifd.tif");
    TIFF *t = TIFFOpen(path, "w");
    uint64_t sub = 0;
    CHECK(t && TIFFSetField(t, TIFFTAG_SUBIFD, 1, &sub));
    layout thumbnail = pages[1];
    thumbnail.subfile_type = 0;   // not even marked reduced: only being a SubIFD keeps it out
    const layout *order[] = {&pages[0], &thumbnail, &pages[2]};
    for (int i = 0; t && i < 3; i++) {
        CHECK(write_page(t, order[i], i));   // the second directory written is the SubIFD
    }
    if (t) {
        TIFFClose(t);
    }
    if ((src = open_plain(path)) != NULL) {
        CHECK(s2d_source_page_count(src) == 2);
        check_rows(src, 1, &pages[2], 2);
        s2d_source_close(src);
    }

    // A stack longer than a thousand slices (the listing once stopped there).
    path_in_work(path, sizeof path, "stack.tif");
    enum { SLICES = 1200 };
    layout *slices = malloc(SLICES * sizeof *slices);
    for (int i = 0; i < SLICES; i++) {
        slices[i] = (layout){4, 3, 1, 16, U, MB, COMPRESSION_NONE, false, 3, 0, 0, 0, 0};
    }
    write_file(path, "w", slices, SLICES, NULL);
    if ((src = open_plain(path)) != NULL) {
        CHECK(s2d_source_page_count(src) == SLICES);
        check_rows(src, SLICES - 1, &slices[SLICES - 1], SLICES - 1);
        s2d_source_close(src);
    }
    free(slices);

    // Its two images are two pages of one size, the planes of its two channels.
    path_in_work(path, sizeof path, "hyperstack.tif");
    layout channels[] = {pages[0], pages[0]};
    write_file(path, "w", channels, 2, "ImageJ=1.53t\nimages=2\nchannels=2\nhyperstack=true\n");
    if ((src = open_plain(path)) != NULL) {
        CHECK(strcmp(s2d_source_meta_of(src)->microscopy_mark, "ImageJ hyperstack") == 0);
        const s2d_plane_layout *l = s2d_source_planes(src);
        CHECK(l && l->nc == 2 && l->nz == 1 && l->nt == 1 && l->page[1] == 1);
        s2d_source_close(src);
    }
}

// A YCbCr JPEG page in strips: copied as one JPEG, decoded to RGB close to what was written.
static void test_jpeg_page(void)
{
    layout l = {64, 48, 3, 8, U, PHOTOMETRIC_YCBCR, COMPRESSION_JPEG, false, 16, 0, 0, 0, 0};
    char path[4096];
    path_in_work(path, sizeof path, "ycbcr-jpeg.tif");
    write_file(path, "w", &l, 1, NULL);
    s2d_source *src = open_plain(path);
    if (!src) {
        return;
    }
    const s2d_source_image *img = s2d_source_page(src, 0);
    CHECK(img->pix.colour == S2D_COLOUR_RGB && img->pix.samples == 3);
    CHECK(img->history.known && img->history.method == S2D_LOSSY_JPEG);
    CHECK(img->native.coding == S2D_CODING_JPEG);
    CHECK(s2d_source_page_facts(src, 0)->compression == S2D_PAGE_JPEG);
    uint8_t *rows = malloc(64 * 48 * 3), *decoded = malloc(64 * 48 * 3);
    s2d_error err = {0};
    CHECK(s2d_source_read_rows(src, 0, 0, 48, rows, 64 * 3, &err));
    int worst = 0;
    for (uint32_t y = 0; y < 48; y++) {
        for (uint32_t x = 0; x < 64; x++) {
            for (int s = 0; s < 3; s++) {
                int d = abs(rows[(y * 64 + x) * 3 + s] - (int)int_value(&l, 0, x, y, s));
                worst = d > worst ? d : worst;
            }
        }
    }
    CHECK(worst <= 6);   // quality 95, chroma halved
    s2d_buf jpeg = {0};
    s2d_colour colour;
    CHECK(s2d_source_page_jpeg(src, 0, &jpeg, &colour, &err) && colour == S2D_COLOUR_YCBCR);
    tjhandle tj = tjInitDecompress();
    int w = 0, h = 0, sub, cs;
    CHECK(tjDecompressHeader3(tj, jpeg.data, jpeg.len, &w, &h, &sub, &cs) == 0 && w == 64 &&
          h == 48);
    CHECK(tjDecompress2(tj, jpeg.data, jpeg.len, decoded, 64, 0, 48, TJPF_RGB, 0) == 0);
    // The copy is the same JPEG libtiff decoded: the pixels agree but for IDCT rounding.
    int apart = 0;
    for (size_t i = 0; i < 64 * 48 * 3; i++) {
        int d = abs(decoded[i] - rows[i]);
        apart = d > apart ? d : apart;
    }
    CHECK(apart <= 2);
    tjDestroy(tj);
    s2d_buf_free(&jpeg);
    free(rows);
    free(decoded);
    // A page that is not JPEG cannot be copied.
    s2d_source_close(src);
    path_in_work(path, sizeof path, "grey8.tif");
    if ((src = open_plain(path)) != NULL) {
        CHECK(!s2d_source_page_jpeg(src, 0, &jpeg, &colour, &err) && err.code == S2D_ERR_INPUT);
        CHECK(s2d_source_page(src, 0)->native.coding == S2D_CODING_NONE);
        s2d_source_close(src);
    }
}

// CMYK goes through libtiff's RGBA reader: RGB = (255 - ink) x (255 - black) / 255.
static void test_cmyk_page(void)
{
    layout l = {13, 6, 4, 8, U, PHOTOMETRIC_SEPARATED, COMPRESSION_NONE, false, 6, 0, 0, 0, 0};
    char path[4096];
    path_in_work(path, sizeof path, "cmyk.tif");
    write_file(path, "w", &l, 1, NULL);
    s2d_source *src = open_plain(path);
    if (!src) {
        return;
    }
    const s2d_page_facts *f = s2d_source_page_facts(src, 0);
    const s2d_pixdesc *pix = &s2d_source_page(src, 0)->pix;
    CHECK(f->cmyk && f->decoded_to_rgb && !f->ycbcr);
    CHECK(pix->colour == S2D_COLOUR_RGB && pix->samples == 3 && pix->bits_allocated == 8);
    uint8_t rows[6][13 * 3];
    s2d_error err = {0};
    CHECK(s2d_source_read_rows(src, 0, 0, 6, rows, sizeof rows[0], &err));
    int bad = 0;
    for (uint32_t y = 0; y < 6; y++) {
        for (uint32_t x = 0; x < 13; x++) {
            uint32_t k = int_value(&l, 0, x, y, 3);
            for (int s = 0; s < 3; s++) {
                uint32_t want = (255 - int_value(&l, 0, x, y, s)) * (255 - k) / 255;
                bad += abs((int)rows[y][3 * x + s] - (int)want) > 1;
            }
        }
    }
    CHECK(bad == 0);
    char reason[128];
    CHECK(s2d_source_kind(src, reason) == S2D_KIND_PHOTO && strcmp(reason, "CMYK") == 0);
    s2d_source_close(src);
}

// Bad files: each refused at open or at read with S2D_ERR_INPUT and a reason of one line.
static void expect_bad(const char *path, bool at_open, const char *reason)
{
    s2d_error err = {0};
    s2d_source *src = s2d_source_open(path, &err);
    if (src && !at_open) {
        uint8_t *rows = malloc(s2d_pixdesc_row_bytes(&s2d_source_page(src, 0)->pix) * 64);
        CHECK(!s2d_source_read_rows(src, 0, 0, s2d_source_page(src, 0)->pix.height, rows,
                                    s2d_pixdesc_row_bytes(&s2d_source_page(src, 0)->pix), &err));
        free(rows);
    }
    CHECK((src == NULL) == at_open);
    CHECK(err.code == S2D_ERR_INPUT && !strchr(err.message, '\n'));
    if (!strstr(err.message, reason)) {
        fprintf(stderr, "  %s: \"%s\", want \"%s\"\n", path, err.message, reason);
        CHECK(!"the reason says what is wrong");
    }
    s2d_source_close(src);
}

// A little-endian TIFF of n 1 x 1 grey pages sharing one pixel, written byte by byte:
// 13 MB and well under a second at the listing's limit.
static void write_many_pages(const char *path, uint32_t n)
{
    enum { ENTRIES = 8, IFD_BYTES = 2 + ENTRIES * 12 + 4 };
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) {
        return;
    }
    uint32_t pixel_at = 8 + n * IFD_BYTES;
    uint8_t header[8] = {'I', 'I', 42, 0, 8, 0, 0, 0};
    fwrite(header, 1, sizeof header, f);
    for (uint32_t i = 0; i < n; i++) {
        // tag, type (3 SHORT, 4 LONG), count, value: width, height, bits, no compression,
        // BlackIsZero, the strip's offset, rows per strip, its byte count.
        const uint32_t entries[ENTRIES][4] = {
            {256, 3, 1, 1}, {257, 3, 1, 1},        {258, 3, 1, 8}, {259, 3, 1, 1},
            {262, 3, 1, 1}, {273, 4, 1, pixel_at}, {278, 3, 1, 1}, {279, 4, 1, 1}};
        uint8_t ifd[IFD_BYTES], *p = ifd;
        *p++ = ENTRIES;
        *p++ = 0;
        for (int e = 0; e < ENTRIES; e++) {
            const uint32_t *v = entries[e];
            uint8_t entry[12] = {v[0] & 0xff, v[0] >> 8, v[1] & 0xff, v[1] >> 8, v[2] & 0xff,
                                 0, 0, 0, v[3] & 0xff, (v[3] >> 8) & 0xff, (v[3] >> 16) & 0xff,
                                 v[3] >> 24};
            memcpy(p, entry, sizeof entry);
            p += sizeof entry;
        }
        uint32_t next = i + 1 < n ? 8 + (i + 1) * IFD_BYTES : 0;
        uint8_t next_bytes[4] = {next & 0xff, (next >> 8) & 0xff, (next >> 16) & 0xff, next >> 24};
        memcpy(p, next_bytes, 4);
        fwrite(ifd, 1, sizeof ifd, f);
    }
    fputc(0x80, f);
    CHECK(fclose(f) == 0);
}

static void test_bad_files(void)
{
    char path[4096];
    layout reduced = {8, 8, 1, 8, U, MB, COMPRESSION_NONE, false, 8, 0, 0, 0,
                      FILETYPE_REDUCEDIMAGE};
    path_in_work(path, sizeof path, "no-pages.tif");
    write_file(path, "w", &reduced, 1, NULL);
    expect_bad(path, true, "no pages");

    // The last strip cut off.
    layout l = {64, 64, 1, 8, U, MB, COMPRESSION_NONE, false, 16, 0, 0, 0, 0};
    path_in_work(path, sizeof path, "truncated.tif");
    write_file(path, "w", &l, 1, NULL);
    struct stat st;
    CHECK(stat(path, &st) == 0 && truncate(path, st.st_size - 2000) == 0);
    expect_bad(path, true, "truncated");

    // Deflate strips overwritten with bytes zlib refuses.
    l.compression = COMPRESSION_ADOBE_DEFLATE;
    path_in_work(path, sizeof path, "corrupt-deflate.tif");
    write_file(path, "w", &l, 1, NULL);
    TIFF *t = TIFFOpen(path, "r");
    uint64_t *offsets = NULL;
    CHECK(t && TIFFGetField(t, TIFFTAG_STRIPOFFSETS, &offsets));
    uint64_t at = offsets ? offsets[1] : 0;
    if (t) {
        TIFFClose(t);
    }
    int fd = open(path, O_WRONLY);
    static const uint8_t junk[16] = {0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88};
    CHECK(fd >= 0 && pwrite(fd, junk, sizeof junk, (off_t)at) == (ssize_t)sizeof junk);
    close(fd);
    expect_bad(path, false, "page 0: strip 1 cannot be decoded");

    // Past the listing's limit the file is not called damaged: the limit is named.
    char says[128];
    snprintf(says, sizeof says, "more than %d directories (IFDs)", S2D_TIFF_MAX_IFDS);
    path_in_work(path, sizeof path, "too-many-pages.tif");
    write_many_pages(path, S2D_TIFF_MAX_IFDS + 1);
    expect_bad(path, true, says);
    unlink(path);
}

// ------------------------------------------------------------------ libtiff's test images

typedef struct expected {
    const char *name;
    const char *format;       // "plain-tiff", another format, or NULL: refused
    const char *reason;       // refused: the start of the reason; or, opened, what
                              // read_rows says of the first page
    uint16_t samples, bits_allocated, bits_stored;
    s2d_colour colour;
    bool is_float, is_signed, decoded_to_rgb;
} expected;

static const expected libtiff_files[] = {
    {"32bpp-None-jpeg.tiff", "plain-tiff", NULL, 3, 8, 8, RGB, false, false, false},
    {"32bpp-None.tiff", "plain-tiff", NULL, 3, 8, 8, RGB, false, false, false},
    {"custom_dir_EXIF_GPS.tiff", "plain-tiff", NULL, 3, 8, 8, RGB, false, false, false},
    {"deflate-last-strip-extra-data.tiff", "plain-tiff", NULL, 1, 8, 8, GREY, false, false,
     false},
    {"logluv-3c-16b.tiff", "plain-tiff", NULL, 3, 8, 8, RGB, false, false, true},
    {"lzw-single-strip.tiff", "plain-tiff", NULL, 1, 1, 1, WHITE, false, false, false},
    {"minisblack-1c-16b.tiff", "plain-tiff", NULL, 1, 16, 16, GREY, false, false, false},
    {"minisblack-1c-8b.tiff", "plain-tiff", NULL, 1, 8, 8, GREY, false, false, false},
    {"minisblack-2c-8b-alpha.tiff", "plain-tiff", NULL, 1, 8, 8, GREY, false, false, false},
    {"miniswhite-1c-1b.tiff", "plain-tiff", NULL, 1, 1, 1, WHITE, false, false, false},
    {"ojpeg_chewey_subsamp21_multi_strip.tiff", "plain-tiff", NULL, 3, 8, 8, RGB, false, false,
     true},
    {"ojpeg_zackthecat_subsamp22_single_strip.tiff", "plain-tiff", NULL, 3, 8, 8, RGB, false,
     false, true},
    {"palette-1c-1b.tiff", "plain-tiff", NULL, 1, 1, 1, S2D_COLOUR_PALETTE, false, false, false},
    {"palette-1c-4b.tiff", "plain-tiff", NULL, 1, 8, 4, S2D_COLOUR_PALETTE, false, false, false},
    {"palette-1c-8b.tiff", "plain-tiff", NULL, 1, 8, 8, S2D_COLOUR_PALETTE, false, false, false},
    {"quad-lzw-compat.tiff", "plain-tiff", NULL, 3, 8, 8, RGB, false, false, false},
    {"quad-tile.jpg.tiff", "tiled-tiff", NULL, 0, 0, 0, RGB, false, false, false},
    {"rgb-3c-16b.tiff", "plain-tiff", NULL, 3, 16, 16, RGB, false, false, false},
    {"rgb-3c-8b.tiff", "plain-tiff", NULL, 3, 8, 8, RGB, false, false, false},
    {"test_float64_predictor2_be_lzw.tif", "plain-tiff", NULL, 1, 32, 32, GREY, true, false,
     false},
    {"test_float64_predictor2_le_lzw.tif", "plain-tiff", NULL, 1, 32, 32, GREY, true, false,
     false},
    {"test_ifd_loop_subifd.tif", NULL, "a damaged or truncated TIFF: IFD 5 cannot be read", 0, 0,
     0, RGB, false, false, false},
    {"test_ifd_loop_to_self.tif", NULL, "a damaged or truncated TIFF: IFD 1 cannot be read", 0,
     0, 0, RGB, false, false, false},
    // libtiff itself cannot decode its first strip (its RGBA reader skips the error).
    {"testfax3_bug54_1dnoEOL.tif", "plain-tiff",
     "page 0: strip 0 cannot be decoded: Premature EOL at line 0 of strip 0", 1, 1, 1, WHITE,
     false, false, false},
    {"testfax4.tiff", "plain-tiff", NULL, 1, 1, 1, WHITE, false, false, false},
    // 8-bit grey LZW tiles: a generic tiled TIFF OpenSlide reads, as before.
    {"tiff_with_subifd_chain.tif", "openslide", NULL, 0, 0, 0, RGB, false, false, false},
};

// Sample v of `bits` bits as libtiff's RGBA reader shows it in 8 bits.
static uint32_t to8(uint32_t v, int bits)
{
    return bits == 16 ? v >> 8 : bits == 8 ? v : v * 255u / ((1u << bits) - 1);
}

// Compares what read_rows gives with libtiff's RGBA decode of the same page (a decoder of
// its own), after the mapping to 8-bit RGB; alpha taken as libtiff's premultiplied words
// put on white.
static void compare_with_rgba(s2d_source *src, const char *path)
{
    const s2d_pixdesc *pix = &s2d_source_page(src, 0)->pix;
    if (pix->is_float) {
        return;
    }
    TIFF *t = TIFFOpen(path, "r");
    uint32_t w = pix->width, h = pix->height;
    uint32_t *raster = malloc((size_t)w * h * 4);
    size_t stride = s2d_pixdesc_row_bytes(pix);
    uint8_t *rows = malloc(stride * h);
    s2d_error err = {0};
    CHECK(t && TIFFReadRGBAImageOriented(t, w, h, raster, ORIENTATION_TOPLEFT, 0));
    if (!s2d_source_read_rows(src, 0, 0, h, rows, stride, &err)) {
        fprintf(stderr, "  %s: %s\n", path, err.message);
        CHECK(!"every row read");
    }
    int n = 0;
    const uint16_t *palette = s2d_source_palette(src, 0, &n);
    bool map16 = false;
    for (int i = 0; i < 3 * n; i++) {
        map16 |= palette[i] > 255;   // libtiff takes a table of values < 256 as 8-bit
    }
    int bits = pix->bits_stored, bad = 0;
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            uint32_t px = raster[(size_t)y * w + x], a = TIFFGetA(px), want[3], got[3];
            uint32_t c[3] = {TIFFGetR(px), TIFFGetG(px), TIFFGetB(px)};
            for (int s = 0; s < 3; s++) {
                want[s] = c[s] + 255 - a > 255 ? 255 : c[s] + 255 - a;
            }
            for (int s = 0; s < 3; s++) {
                size_t k = (size_t)x * pix->samples + (size_t)(pix->samples == 3 ? s : 0);
                uint32_t v = pix->bits_allocated == 16
                                 ? ((const uint16_t *)(rows + y * stride))[k]
                                 : rows[y * stride + k];
                if (pix->colour == S2D_COLOUR_PALETTE) {
                    got[s] = map16 ? palette[s * n + (int)v] >> 8 : palette[s * n + (int)v];
                } else if (pix->colour == WHITE) {
                    got[s] = 255 - to8(v, bits);
                } else {
                    got[s] = to8(v, bits);
                }
            }
            // Alpha: libtiff premultiplies, we composite the stored value; both put it on
            // white, within rounding.
            for (int s = 0; s < 3; s++) {
                int slack = a != 255 || bits == 16;   // libtiff rounds these its own way
                if (abs((int)got[s] - (int)want[s]) > slack && bad++ == 0) {
                    fprintf(stderr, "  %s (%u,%u) sample %d: %u, libtiff %u\n", path, x, y, s,
                            got[s], want[s]);
                }
            }
        }
    }
    CHECK(bad == 0);
    free(rows);
    free(raster);
    if (t) {
        TIFFClose(t);
    }
}

static void test_libtiff_images(void)
{
    // Anything libtiff would print lands in a file, which must stay empty.
    char log[4096];
    path_in_work(log, sizeof log, "stderr.txt");
    fflush(stderr);
    int saved = dup(2), fd = open(log, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    CHECK(saved >= 0 && fd >= 0 && dup2(fd, 2) == 2);
    int failures = harness_failures;
    float first_float[400];
    for (size_t i = 0; i < sizeof libtiff_files / sizeof *libtiff_files; i++) {
        const expected *e = &libtiff_files[i];
        char path[4096];
        snprintf(path, sizeof path, "%s/libtiff/%s", testdata, e->name);
        s2d_error err = {0};
        s2d_source *src = s2d_source_open(path, &err);
        bool as_expected = e->format ? src && strcmp(s2d_source_format(src), e->format) == 0
                                     : !src && err.code == S2D_ERR_INPUT &&
                                           strstr(err.message, e->reason) == err.message;
        if (src && as_expected && strcmp(e->format, "plain-tiff") == 0) {
            const s2d_pixdesc *p = &s2d_source_page(src, 0)->pix;
            as_expected = p->samples == e->samples && p->bits_allocated == e->bits_allocated &&
                          p->bits_stored == e->bits_stored && p->colour == e->colour &&
                          p->is_float == e->is_float && p->is_signed == e->is_signed &&
                          s2d_source_page_facts(src, 0)->decoded_to_rgb == e->decoded_to_rgb;
            if (e->reason) {
                size_t stride = s2d_pixdesc_row_bytes(p);
                uint8_t *rows = malloc(stride * p->height);
                as_expected &= !s2d_source_read_rows(src, 0, 0, p->height, rows, stride, &err) &&
                               err.code == S2D_ERR_INPUT && strstr(err.message, e->reason) &&
                               !strchr(err.message, '\n');
                free(rows);
            } else {
                compare_with_rgba(src, path);
            }
        }
        if (src && strstr(e->name, "float64")) {
            // Both byte orders hold the same values.
            float rows[400];
            as_expected &= s2d_source_read_rows(src, 0, 0, 20, rows, 20 * 4, &err);
            if (strstr(e->name, "_be_")) {
                memcpy(first_float, rows, sizeof rows);
            } else {
                CHECK(memcmp(first_float, rows, sizeof rows) == 0);
            }
        }
        if (src && strstr(e->name, "EXIF")) {
            CHECK(s2d_source_meta_of(src)->exif_present);
        }
        if (!as_expected) {
            fprintf(stderr, "%s: %s\n", e->name, src ? s2d_source_format(src) : err.message);
            CHECK(!"opened or refused as expected");
        }
        s2d_source_close(src);
    }
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    struct stat st;
    CHECK(stat(log, &st) == 0);
    if (st.st_size > 0 || harness_failures != failures) {
        FILE *f = fopen(log, "r");
        char line[512];
        while (f && fgets(line, sizeof line, f)) {
            fprintf(stderr, "  | %s", line);
        }
        if (f) {
            fclose(f);
        }
        CHECK(!"nothing printed on stderr, every file as expected");
    }
}

// The other shared files that are no slides: the kidney RGB strips, a QPTIFF, an OME-TIFF
// in strips (microscopy marks).
static void test_shared_plain_files(void)
{
    static const struct {
        const char *rel, *mark;
        uint32_t w, h;
    } files[] = {
        {"negative/histolab_kidney-48-5.tif", "", 1493, 901},
        {"qptiff/small_vectra.qptiff", "QPTIFF", 0, 0},
        {"ome-tiff/multi-channel-z-series.ome.tif", "OME-XML", 439, 167},
    };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", testdata, files[i].rel);
        s2d_source *src = open_plain(path);
        if (!src) {
            continue;
        }
        CHECK(strcmp(s2d_source_meta_of(src)->microscopy_mark, files[i].mark) == 0);
        const s2d_pixdesc *p = &s2d_source_page(src, 0)->pix;
        CHECK(!files[i].w || (p->width == files[i].w && p->height == files[i].h));
        if (strstr(files[i].rel, "ome")) {
            CHECK(p->is_signed && p->bits_allocated == 8);   // int8 samples
        }
        s2d_source_close(src);
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s TESTDATA WORKDIR\n", argv[0]);
        return 2;
    }
    testdata = argv[1];
    workdir = argv[2];
    mkdir(workdir, 0755);
    RUN(test_written_layouts);
    RUN(test_pages);
    RUN(test_jpeg_page);
    RUN(test_cmyk_page);
    RUN(test_bad_files);
    RUN(test_libtiff_images);
    RUN(test_shared_plain_files);
    return harness_failures != 0;
}
