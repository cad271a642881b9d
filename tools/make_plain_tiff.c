// SPDX-License-Identifier: Apache-2.0
// make_plain_tiff: writes the plain-TIFF test fixtures of issue 16 (radiology exports,
// scanned documents, photos, bad files) into one directory through libtiff. Beside each
// TIFF it writes NAME.values, every sample it handed to libtiff, and for the whole set
// manifest.json: per file the kind and SOP classes the converter should choose (the
// rules of docs/plain-tiff.md), what makes the file special and where its values are, so
// that tests can loop over the set and check their own decoders against the writer.
// Every file is the same bytes on every run (no clocks, fixed seeds).

#include <tiffio.h>
#include <lcms2.h>

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tool_util.h"

#define PROG "make_plain_tiff"
#define MAX_PAGES 32

#define SOP_SC "1.2.840.10008.5.1.4.1.1.7"
#define SOP_BIT "1.2.840.10008.5.1.4.1.1.7.1"
#define SOP_BYTE "1.2.840.10008.5.1.4.1.1.7.2"
#define SOP_WORD "1.2.840.10008.5.1.4.1.1.7.3"
#define SOP_COLOUR "1.2.840.10008.5.1.4.1.1.7.4"
#define SOP_PHOTO "1.2.840.10008.5.1.4.1.1.77.1.4"

// One page (directory) as written: its tags and the SOP class expected for it.
typedef struct {
    uint32_t width, height;
    uint16_t spp, bps, format; // format: SAMPLEFORMAT_UINT/INT/IEEEFP
    uint16_t photometric, compression, planar, predictor, fillorder, orientation;
    uint16_t extra;          // ExtraSamples value of the last sample, when there is one
    uint32_t rows_per_strip; // 0: the whole page in one strip
    double dpi;              // 0: no resolution tags
    const uint16_t *colormap; // 3 << bps entries, R then G then B
    int jpeg_quality;
    const char *description, *make, *model, *datetime, *software;
    const void *icc;
    uint32_t icc_len;
    uint32_t subfile;        // NewSubfileType
    uint16_t page_number[2]; // PageNumber tag when [1] > 0
    const char *sop;         // expected SOP class; NULL for a directory that is no page
} Page;

typedef struct {
    Page page;
    uint64_t values_offset; // byte offset of the page's samples in NAME.values
} PageRecord;

// The set being written, and the fixture under way.
typedef struct {
    const char *dir;
    FILE *manifest;
    int count;
    TIFF *tif;
    FILE *values;
    uint64_t values_bytes;
    char name[96];
    const char *kind, *marks, *special;
    int lossy;
    PageRecord pages[MAX_PAGES];
    int npages;
} Ctx;

// What a failure names: the fixture under way, or the set's directory before the first.
static const char *fixture(const Ctx *c)
{
    return c->name[0] ? c->name : c->dir;
}

// ---------------------------------------------------------------- deterministic noise

static uint32_t hash3(uint32_t x, uint32_t y, uint32_t seed)
{
    uint32_t h = seed ^ (x * 0x9e3779b1u) ^ (y * 0x85ebca77u);
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

// Inside the ellipse centred at (cx, cy) with semi-axes (a, b)?
static int in_ellipse(double x, double y, double cx, double cy, double a, double b)
{
    double u = (x - cx) / a, v = (y - cy) / b;
    return u * u + v * v <= 1.0;
}

// ---------------------------------------------------------------- output files

// Zeroed memory the caller frees; exits on failure (a test tool with nothing to save).
static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, PROG ": out of memory\n");
        exit(1);
    }
    return p;
}

static size_t sample_bytes(const Page *p)
{
    return p->bps <= 8 ? 1 : p->bps / 8;
}

static const char *dtype_of(const Page *p)
{
    int is_int = p->format == SAMPLEFORMAT_INT;
    if (p->bps <= 8)
        return is_int ? "i1" : "u1";
    if (p->bps == 16)
        return is_int ? "i2" : "u2";
    return p->format == SAMPLEFORMAT_IEEEFP ? "f4" : is_int ? "i4" : "u4";
}

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

// Appends samples to NAME.values in little-endian order.
static int dump_values(Ctx *c, const void *samples, size_t count, size_t size)
{
    const uint8_t *s = samples;
    if (host_is_little_endian() || size == 1) {
        if (fwrite(s, size, count, c->values) != count)
            return tool_fail(fixture(c), "cannot write the values file: %s", strerror(errno));
    } else {
        uint8_t le[4];
        for (size_t i = 0; i < count; i++) {
            for (size_t b = 0; b < size; b++)
                le[b] = s[i * size + size - 1 - b];
            if (fwrite(le, size, 1, c->values) != 1)
                return tool_fail(fixture(c), "cannot write the values file: %s", strerror(errno));
        }
    }
    c->values_bytes += (uint64_t)count * size;
    return 0;
}

static int begin(Ctx *c, const char *name, const char *mode, const char *kind,
                 const char *marks, const char *special)
{
    snprintf(c->name, sizeof c->name, "%s", name);
    c->kind = kind;
    c->marks = marks;
    c->special = special;
    c->lossy = 0;
    c->npages = 0;
    c->values_bytes = 0;
    tool_forget_complaint();
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", c->dir, name);
    c->tif = TIFFOpen(path, mode);
    if (!c->tif)
        return tool_fail(fixture(c), "cannot create the file");
    snprintf(path, sizeof path, "%s/%s.values", c->dir, name);
    c->values = fopen(path, "wb");
    if (!c->values) {
        TIFFClose(c->tif);
        c->tif = NULL;
        return tool_fail(fixture(c), "cannot create %s: %s", path, strerror(errno));
    }
    return 0;
}

// Packs one row of logical samples (one element per sample, interleaved) into the file's
// layout: bits MSB first for bps < 8 (libtiff reverses them for FillOrder 2), rows starting
// on a byte; for planar files only the samples of `plane`.
static void pack_row(const Page *p, const uint8_t *row, int plane, uint8_t *out)
{
    uint32_t spp_out = p->planar == PLANARCONFIG_SEPARATE ? 1 : p->spp;
    uint32_t first = p->planar == PLANARCONFIG_SEPARATE ? (uint32_t)plane : 0;
    size_t sb = sample_bytes(p);
    if (p->bps >= 8) {
        for (uint32_t x = 0; x < p->width; x++)
            for (uint32_t s = 0; s < spp_out; s++)
                memcpy(out + ((size_t)x * spp_out + s) * sb,
                       row + ((size_t)x * p->spp + first + s) * sb, sb);
        return;
    }
    size_t row_bytes = ((size_t)p->width * spp_out * p->bps + 7) / 8;
    memset(out, 0, row_bytes);
    size_t bit = 0;
    for (uint32_t x = 0; x < p->width; x++)
        for (uint32_t s = 0; s < spp_out; s++, bit += p->bps) {
            uint8_t v = row[(size_t)x * p->spp + first + s];
            out[bit / 8] |= (uint8_t)(v << (8 - p->bps - bit % 8));
        }
}

static int set_tags(Ctx *c, const Page *p)
{
    TIFF *t = c->tif;
    int ok = TIFFSetField(t, TIFFTAG_IMAGEWIDTH, p->width) &&
             TIFFSetField(t, TIFFTAG_IMAGELENGTH, p->height) &&
             TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, p->spp) &&
             TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, p->bps) &&
             TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, p->format) &&
             TIFFSetField(t, TIFFTAG_COMPRESSION, p->compression) &&
             TIFFSetField(t, TIFFTAG_PHOTOMETRIC, p->photometric) &&
             TIFFSetField(t, TIFFTAG_PLANARCONFIG, p->planar) &&
             TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, p->rows_per_strip ? p->rows_per_strip
                                                                      : p->height);
    if (ok && p->fillorder)
        ok = TIFFSetField(t, TIFFTAG_FILLORDER, p->fillorder);
    if (ok && p->predictor)
        ok = TIFFSetField(t, TIFFTAG_PREDICTOR, p->predictor);
    if (ok && p->orientation)
        ok = TIFFSetField(t, TIFFTAG_ORIENTATION, p->orientation);
    if (ok && p->extra) {
        uint16_t extra = p->extra;
        ok = TIFFSetField(t, TIFFTAG_EXTRASAMPLES, 1, &extra);
    }
    if (ok && p->dpi > 0)
        ok = TIFFSetField(t, TIFFTAG_XRESOLUTION, (float)p->dpi) &&
             TIFFSetField(t, TIFFTAG_YRESOLUTION, (float)p->dpi) &&
             TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
    if (ok && p->colormap) {
        size_t n = (size_t)1 << p->bps;
        ok = TIFFSetField(t, TIFFTAG_COLORMAP, p->colormap, p->colormap + n,
                          p->colormap + 2 * n);
    }
    if (ok && p->compression == COMPRESSION_JPEG) {
        ok = TIFFSetField(t, TIFFTAG_JPEGQUALITY, p->jpeg_quality);
        if (ok && p->photometric == PHOTOMETRIC_YCBCR)
            ok = TIFFSetField(t, TIFFTAG_YCBCRSUBSAMPLING, 2, 2) &&
                 TIFFSetField(t, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
    }
    if (ok && p->compression == COMPRESSION_CCITTFAX4)
        ok = TIFFSetField(t, TIFFTAG_GROUP4OPTIONS, 0);
    if (ok && p->description)
        ok = TIFFSetField(t, TIFFTAG_IMAGEDESCRIPTION, p->description);
    if (ok && p->make)
        ok = TIFFSetField(t, TIFFTAG_MAKE, p->make);
    if (ok && p->model)
        ok = TIFFSetField(t, TIFFTAG_MODEL, p->model);
    if (ok && p->datetime)
        ok = TIFFSetField(t, TIFFTAG_DATETIME, p->datetime);
    if (ok && p->software)
        ok = TIFFSetField(t, TIFFTAG_SOFTWARE, p->software);
    if (ok && p->icc)
        ok = TIFFSetField(t, TIFFTAG_ICCPROFILE, p->icc_len, p->icc);
    if (ok && p->subfile)
        ok = TIFFSetField(t, TIFFTAG_SUBFILETYPE, p->subfile);
    if (ok && p->page_number[1])
        ok = TIFFSetField(t, TIFFTAG_PAGENUMBER, p->page_number[0], p->page_number[1]);
    return ok ? 0 : tool_fail(fixture(c), "cannot set the tags of page %d", c->npages + 1);
}

// Writes the directory of a page whose strips are written and records it, with its
// logical samples in NAME.values.
static int finish_page(Ctx *c, const Page *p, const void *samples)
{
    if (!TIFFWriteDirectory(c->tif))
        return tool_fail(fixture(c), "cannot write directory %d", c->npages + 1);
    PageRecord *rec = &c->pages[c->npages++];
    rec->page = *p;
    rec->values_offset = c->values_bytes;
    return dump_values(c, samples, (size_t)p->width * p->height * p->spp, sample_bytes(p));
}

// Writes one directory from logical samples (rows of width * spp elements of the page's
// sample size; for bps < 8 one byte per sample holding its value) and records it.
static int add_page(Ctx *c, const Page *p, const void *samples)
{
    if (c->npages == MAX_PAGES)
        return tool_fail(fixture(c), "too many pages");
    if (set_tags(c, p))
        return -1;
    size_t sb = sample_bytes(p);
    size_t row_elems = (size_t)p->width * p->spp;
    uint32_t rps = p->rows_per_strip ? p->rows_per_strip : p->height;
    uint32_t strips = (p->height + rps - 1) / rps;
    int planes = p->planar == PLANARCONFIG_SEPARATE ? p->spp : 1;
    // JPEG in RGB colour mode takes whole RGB rows; every other layout is packed here
    // (and the copy is needed anyway: libtiff byte-swaps what it is given in place).
    size_t packed_row = ((size_t)p->width * (planes > 1 ? 1 : p->spp) * p->bps + 7) / 8;
    uint8_t *strip = xcalloc((size_t)rps, packed_row);
    const uint8_t *base = samples;
    for (int plane = 0; plane < planes; plane++)
        for (uint32_t s = 0; s < strips; s++) {
            uint32_t y0 = s * rps, rows = p->height - y0 < rps ? p->height - y0 : rps;
            for (uint32_t r = 0; r < rows; r++)
                pack_row(p, base + (size_t)(y0 + r) * row_elems * sb, plane,
                         strip + (size_t)r * packed_row);
            uint32_t index = (uint32_t)plane * strips + s;
            if (TIFFWriteEncodedStrip(c->tif, index, strip, (tmsize_t)(rows * packed_row)) < 0) {
                free(strip);
                return tool_fail(fixture(c), "cannot write strip %u of page %d", index,
                                 c->npages + 1);
            }
        }
    free(strip);
    return finish_page(c, p, samples);
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static const char *compression_name(uint16_t compression)
{
    switch (compression) {
    case COMPRESSION_NONE: return "none";
    case COMPRESSION_LZW: return "lzw";
    case COMPRESSION_ADOBE_DEFLATE: return "deflate";
    case COMPRESSION_PACKBITS: return "packbits";
    case COMPRESSION_CCITTFAX4: return "ccitt_g4";
    case COMPRESSION_CCITTFAX3: return "ccitt_g3";
    case COMPRESSION_JPEG: return "jpeg";
    case COMPRESSION_OJPEG: return "old_jpeg";
    default: return "other";
    }
}

static const char *photometric_name(uint16_t photometric)
{
    switch (photometric) {
    case PHOTOMETRIC_MINISWHITE: return "min-is-white";
    case PHOTOMETRIC_MINISBLACK: return "min-is-black";
    case PHOTOMETRIC_RGB: return "rgb";
    case PHOTOMETRIC_PALETTE: return "palette";
    case PHOTOMETRIC_YCBCR: return "ycbcr";
    default: return "other";
    }
}

static const char *format_name(uint16_t format)
{
    return format == SAMPLEFORMAT_INT ? "int" : format == SAMPLEFORMAT_IEEEFP ? "float" : "uint";
}

// Consecutive pages with the same pixel description and class make one instance, except
// for the classes that take one page each (SC Image for min-is-white radiology, photos).
static int same_instance(const Page *a, const Page *b)
{
    return !strcmp(a->sop, b->sop) && strcmp(a->sop, SOP_SC) && strcmp(a->sop, SOP_PHOTO) &&
           a->width == b->width && a->height == b->height && a->spp == b->spp &&
           a->bps == b->bps && a->format == b->format && a->photometric == b->photometric;
}

static void manifest_entry_start(Ctx *c)
{
    fprintf(c->manifest, "%s\n    {\"file\": ", c->count++ ? "," : "");
    json_string(c->manifest, c->name);
}

static void manifest_pages(Ctx *c)
{
    FILE *m = c->manifest;
    fprintf(m, ",\n     \"values\": ");
    char values[128];
    snprintf(values, sizeof values, "%s.values", c->name);
    json_string(m, values);
    fprintf(m, ", \"lossy\": %s,\n     \"pages\": [", c->lossy ? "true" : "false");
    int number = 0;
    for (int i = 0; i < c->npages; i++) {
        const Page *p = &c->pages[i].page;
        fprintf(m, "%s\n      {\"directory\": %d, \"page\": ", i ? "," : "", i);
        if (p->sop)
            fprintf(m, "%d", ++number);
        else
            fprintf(m, "null");
        fprintf(m, ", \"width\": %u, \"height\": %u, \"samples\": %u, \"bits\": %u, "
                   "\"format\": \"%s\", \"photometric\": \"%s\", \"compression\": \"%s\", "
                   "\"planar\": %s, \"orientation\": %u, \"fill_order\": %u, \"alpha\": \"%s\", "
                   "\"dpi\": ",
                p->width, p->height, p->spp, p->bps, format_name(p->format),
                photometric_name(p->photometric), compression_name(p->compression),
                p->planar == PLANARCONFIG_SEPARATE ? "true" : "false",
                p->orientation ? p->orientation : 1, p->fillorder ? p->fillorder : 1,
                p->extra == EXTRASAMPLE_ASSOCALPHA     ? "associated"
                : p->extra == EXTRASAMPLE_UNASSALPHA ? "unassociated"
                                                     : "none");
        if (p->dpi > 0)
            fprintf(m, "%g", p->dpi);
        else
            fprintf(m, "null");
        fprintf(m, ", \"dtype\": \"%s\", \"values_offset\": %llu, \"sop_class\": ",
                dtype_of(p), (unsigned long long)c->pages[i].values_offset);
        if (p->sop)
            json_string(m, p->sop);
        else
            fprintf(m, "null");
        fputc('}', m);
    }
    fprintf(m, "],\n     \"instances\": [");
    const Page *prev = NULL;
    number = 0;
    int open = 0;
    for (int i = 0; i < c->npages; i++) {
        const Page *p = &c->pages[i].page;
        if (!p->sop)
            continue;
        number++;
        if (prev && same_instance(prev, p)) {
            fprintf(m, ", %d", number);
        } else {
            fprintf(m, "%s{\"sop_class\": ", open ? "]}, " : "");
            json_string(m, p->sop);
            fprintf(m, ", \"pages\": [%d", number);
            open = 1;
        }
        prev = p;
    }
    fprintf(m, "%s]", open ? "]}" : "");
}

static int end(Ctx *c)
{
    TIFFClose(c->tif);
    c->tif = NULL;
    int rc = fclose(c->values);
    c->values = NULL;
    if (rc)
        return tool_fail(fixture(c), "cannot write the values file");
    manifest_entry_start(c);
    fprintf(c->manifest, ", \"kind\": ");
    json_string(c->manifest, c->kind);
    fprintf(c->manifest, ", \"marks\": ");
    json_string(c->manifest, c->marks);
    fprintf(c->manifest, ",\n     \"special\": ");
    json_string(c->manifest, c->special);
    manifest_pages(c);
    fprintf(c->manifest, "}");
    c->name[0] = '\0';
    return 0;
}

// ---------------------------------------------------------------- pictures

// A CT-like slice in Hounsfield units: air, a body with a fat rim, two lungs, a spine and
// a table, each with a little noise; z moves the anatomy between slices.
static int16_t ct_value(uint32_t x, uint32_t y, uint32_t z, uint32_t size)
{
    double k = size / 512.0, fx = x / k, fy = y / k;
    double grow = 1.0 + 0.01 * z;
    int noise = (int)(hash3(x, y, 1000 + z) % 41) - 20;
    if (fy >= 440 && fy < 452 && fx >= 60 && fx < 452)
        return (int16_t)(300 + noise / 4); // table
    if (!in_ellipse(fx, fy, 256, 265, 200, 150))
        return (int16_t)(-1000 + noise / 10);
    if (!in_ellipse(fx, fy, 256, 265, 188, 138))
        return (int16_t)(-100 + noise); // fat
    if (in_ellipse(fx, fy, 256, 360, 22, 22))
        return (int16_t)(1200 - (int)(12.0 * hypot(fx - 256, fy - 360)) + noise); // spine
    if (in_ellipse(fx, fy, 175, 240, 55 * grow, 75 * grow) ||
        in_ellipse(fx, fy, 337, 240, 55 * grow, 75 * grow))
        return (int16_t)(-850 + 2 * noise); // lungs
    return (int16_t)(40 + noise);           // soft tissue
}

// A smooth greyscale picture with edges, scaled to 0..max; the first pixel is max and the
// last 0 so that both ends of the range are present.
static uint32_t grey_value(uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint32_t max,
                           uint32_t seed)
{
    if (x == 0 && y == 0)
        return max;
    if (x == w - 1 && y == h - 1)
        return 0;
    double u = (x + 0.5) / w, v = (y + 0.5) / h;
    double f = 0.15 + 0.5 * u * v + 0.2 * in_ellipse(u, v, 0.5, 0.5, 0.3, 0.25) +
               0.05 * (double)(hash3(x, y, seed) % 1000) / 1000.0;
    f = f < 0 ? 0 : f > 0.999 ? 0.999 : f;
    return (uint32_t)(f * max);
}

// Text-like ink: lines of words made of 5 x 7 glyphs drawn at `scale`, margins of an inch.
static int text_ink(uint32_t x, uint32_t y, uint32_t w, uint32_t h, double dpi, uint32_t seed)
{
    // An inch of margin; a small page (a label, a test strip) gets an eighth of its short
    // side, or it would be all margin and blank.
    uint32_t margin = (uint32_t)dpi, scale = dpi >= 200 ? 4 : 2;
    if (w < 3 * margin || h < 3 * margin) {
        margin = (w < h ? w : h) / 8;
    }
    uint32_t cell_w = 6 * scale, line_h = 12 * scale;
    if (x < margin || y < margin || x >= w - margin || y >= h - margin)
        return 0;
    uint32_t line = (y - margin) / line_h, gy = (y - margin) % line_h / scale;
    uint32_t col = (x - margin) / cell_w, gx = (x - margin) % cell_w / scale;
    if (gy >= 7 || gx >= 5 || line % 9 == 8) // line gaps and paragraph breaks
        return 0;
    uint32_t line_len = (w - 2 * margin) / cell_w - hash3(line, 0, seed) % 30;
    if (col >= line_len)
        return 0;
    uint32_t letter = hash3(line, col, seed + 1);
    if (letter % 6 == 0) // spaces between words
        return 0;
    return (hash3(letter % 40, gy * 5 + gx, seed + 2) & 3) != 0;
}

// ---------------------------------------------------------------- fixtures

static Page grey_page(uint32_t w, uint32_t h, uint16_t bps, uint16_t format, const char *sop)
{
    return (Page){.width = w, .height = h, .spp = 1, .bps = bps, .format = format,
                  .photometric = PHOTOMETRIC_MINISBLACK, .compression = COMPRESSION_NONE,
                  .planar = PLANARCONFIG_CONTIG, .sop = sop};
}

static Page rgb_page(uint32_t w, uint32_t h)
{
    return (Page){.width = w, .height = h, .spp = 3, .bps = 8, .format = SAMPLEFORMAT_UINT,
                  .photometric = PHOTOMETRIC_RGB, .compression = COMPRESSION_NONE,
                  .planar = PLANARCONFIG_CONTIG, .sop = SOP_PHOTO};
}

// grey_value's picture as 16-bit samples; the caller frees it.
static uint16_t *u16_picture(uint32_t w, uint32_t h, uint32_t max, uint32_t seed)
{
    uint16_t *v = xcalloc((size_t)w * h, 2);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            v[(size_t)y * w + x] = (uint16_t)grey_value(x, y, w, h, max, seed);
    return v;
}

// grey_value's picture as 8-bit (or fewer) samples; the caller frees it.
static uint8_t *u8_picture(uint32_t w, uint32_t h, uint32_t max, uint32_t seed)
{
    uint8_t *v = xcalloc((size_t)w * h, 1);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            v[(size_t)y * w + x] = (uint8_t)grey_value(x, y, w, h, max, seed);
    return v;
}

// Colours that differ in every pixel and channel, so that a misplaced sample shows;
// samples past the third are opaque alpha. The caller frees the array.
static uint8_t *rgb_picture(uint32_t w, uint32_t h, uint32_t spp, uint32_t seed)
{
    uint8_t *v = xcalloc((size_t)w * h * spp, 1);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint8_t *px = v + ((size_t)y * w + x) * spp;
            px[0] = (uint8_t)(x * 255 / (w > 1 ? w - 1 : 1));
            px[1] = (uint8_t)(y * 255 / (h > 1 ? h - 1 : 1));
            px[2] = (uint8_t)(128 + 100 * sin(x * 0.11 + y * 0.07) + hash3(x, y, seed) % 8);
            for (uint32_t s = 3; s < spp; s++)
                px[s] = 255;
        }
    return v;
}

// Smooth colours with one edge (what JPEG is for): a lossy fixture's values stay near its
// decode. The caller frees the array.
static uint8_t *photo_picture(uint32_t w, uint32_t h)
{
    uint8_t *v = xcalloc((size_t)w * h * 3, 1);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint8_t *px = v + ((size_t)y * w + x) * 3;
            int skin = in_ellipse(x, y, w * 0.5, h * 0.55, w * 0.3, h * 0.3);
            px[0] = (uint8_t)(skin ? 210 : 60 + 120.0 * y / h);
            px[1] = (uint8_t)(skin ? 150 - 40.0 * x / w : 90 + 60.0 * x / w);
            px[2] = (uint8_t)(skin ? 130 : 170);
        }
    return v;
}

static int fx_signed16(Ctx *c)
{
    const uint32_t w = 67, h = 45;
    int16_t *v = xcalloc((size_t)w * h, 2);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            v[(size_t)y * w + x] = (int16_t)((int32_t)grey_value(x, y, w, h, 4000, 3) - 1024);
    Page p = grey_page(w, h, 16, SAMPLEFORMAT_INT, SOP_WORD);
    int rc = begin(c, "signed16.tif", "w", "radiology", "16-bit grey, signed",
                   "16-bit signed with negatives (-1024..2975): stored v + 32768, "
                   "Rescale Intercept -32768") ||
             add_page(c, &p, v) || end(c);
    free(v);
    return rc;
}

static int fx_twelve_bits(Ctx *c, const char *name, int pixel_4096)
{
    const uint32_t w = 96, h = 80;
    Page p = grey_page(w, h, 16, SAMPLEFORMAT_UINT, SOP_WORD);
    p.page_number[1] = 2;
    int rc = begin(c, name, "w", "radiology", "16-bit grey",
                   pixel_4096 ? "12-bit values in 16 bits, page 2 has one pixel of 4096: "
                                "Bits Stored 13 for the whole instance"
                              : "12-bit values in 16 bits (max 4095): Bits Stored 12");
    for (int page = 0; !rc && page < 2; page++) {
        uint16_t *v = u16_picture(w, h, 4095, 10 + (uint32_t)page);
        if (pixel_4096 && page == 1)
            v[(size_t)40 * w + 50] = 4096;
        p.page_number[0] = (uint16_t)page;
        rc = add_page(c, &p, v);
        free(v);
    }
    return rc || end(c);
}

// text_ink's page with the given ink and paper values (and +-8 of noise when noisy); the
// caller frees it.
static uint8_t *text_page(uint32_t w, uint32_t h, double dpi, uint32_t seed, uint8_t ink,
                          uint8_t paper, int noisy)
{
    uint8_t *v = xcalloc((size_t)w * h, 1);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            int n = noisy ? (int)(hash3(x, y, seed + 9) % 17) - 8 : 0;
            v[(size_t)y * w + x] = (uint8_t)((text_ink(x, y, w, h, dpi, seed) ? ink : paper) + n);
        }
    return v;
}

// Min-is-white bilevel pages (1 = black ink), CCITT G4 as from a fax or scanner.
static int fx_g4(Ctx *c, const char *name, uint32_t w, uint32_t h, double dpi, int pages,
                 uint16_t fillorder, const char *marks, const char *special)
{
    Page p = grey_page(w, h, 1, SAMPLEFORMAT_UINT, SOP_BIT);
    p.photometric = PHOTOMETRIC_MINISWHITE;
    p.compression = COMPRESSION_CCITTFAX4;
    p.fillorder = fillorder;
    p.dpi = dpi;
    p.software = "make_plain_tiff scanner";
    int rc = begin(c, name, "w", "document", marks, special);
    for (int page = 0; !rc && page < pages; page++) {
        uint8_t *v = text_page(w, h, dpi, 20 + (uint32_t)page, 1, 0, 0);
        if (pages > 1) {
            p.subfile = FILETYPE_PAGE;
            p.page_number[0] = (uint16_t)page;
            p.page_number[1] = (uint16_t)pages;
        }
        rc = add_page(c, &p, v);
        free(v);
    }
    return rc || end(c);
}

static int fx_miniswhite(Ctx *c, const char *name, uint16_t bps, int pages)
{
    const uint32_t w = 70, h = 52;
    Page p = grey_page(w, h, bps, SAMPLEFORMAT_UINT, SOP_SC);
    p.photometric = PHOTOMETRIC_MINISWHITE;
    int rc = begin(c, name, "w", "radiology", bps == 16 ? "16-bit grey, min-is-white"
                                                        : "8-bit grey, min-is-white",
                   "min-is-white radiology: values kept, one SC Image (MONOCHROME1) per page");
    for (int page = 0; !rc && page < pages; page++) {
        if (bps == 16) {
            uint16_t *v = u16_picture(w, h, 60000, 30 + (uint32_t)page);
            rc = add_page(c, &p, v);
            free(v);
        } else {
            uint8_t *v = u8_picture(w, h, 255, 30 + (uint32_t)page);
            rc = add_page(c, &p, v);
            free(v);
        }
    }
    return rc || end(c);
}

// A colour map whose entries have low bytes unlike their high bytes, so that >> 8 and
// / 257 give different colours.
static int fx_palette(Ctx *c, const char *name, uint16_t bps)
{
    const uint32_t w = 48, h = 33, n = 1u << bps;
    uint16_t map[3 * 256];
    for (uint32_t i = 0; i < n; i++) {
        map[i] = (uint16_t)((i * 255 / (n - 1)) << 8 | 0xc3);
        map[n + i] = (uint16_t)(hash3(i, 1, 5) & 0xffff);
        map[2 * n + i] = (uint16_t)(((n - 1 - i) * 255 / (n - 1)) << 8 | (i & 0xff));
    }
    uint8_t *v = xcalloc((size_t)w * h, 1);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            v[(size_t)y * w + x] = (uint8_t)((x + y * w) % n);
    Page p = grey_page(w, h, bps, SAMPLEFORMAT_UINT, SOP_PHOTO);
    p.photometric = PHOTOMETRIC_PALETTE;
    p.colormap = map;
    int rc = begin(c, name, "w", "photo", "palette",
                   bps == 8 ? "8-bit palette, every index used: RGB = ColorMap >> 8"
                            : "4-bit palette (16 entries): RGB = ColorMap >> 8") ||
             add_page(c, &p, v) || end(c);
    free(v);
    return rc;
}

static int fx_planar_rgb(Ctx *c)
{
    const uint32_t w = 41, h = 29;
    uint8_t *v = rgb_picture(w, h, 3, 40);
    Page p = rgb_page(w, h);
    p.planar = PLANARCONFIG_SEPARATE;
    p.rows_per_strip = 8;
    int rc = begin(c, "planar_rgb.tif", "w", "photo", "RGB",
                   "RGB with PlanarConfiguration 2 (one strip set per colour): written "
                   "interleaved, Planar Configuration 0") ||
             add_page(c, &p, v) || end(c);
    free(v);
    return rc;
}

static int fx_jpeg(Ctx *c, const char *name, uint32_t w, uint32_t h, uint32_t rows,
                   int grey, uint16_t orientation, const char *special)
{
    uint8_t *v;
    Page p;
    if (grey) {
        v = u8_picture(w, h, 255, 50);
        p = grey_page(w, h, 8, SAMPLEFORMAT_UINT, SOP_BYTE);
    } else {
        v = photo_picture(w, h);
        p = rgb_page(w, h);
        p.photometric = PHOTOMETRIC_YCBCR;
    }
    p.compression = COMPRESSION_JPEG;
    p.jpeg_quality = 90;
    p.rows_per_strip = rows;
    p.orientation = orientation;
    int rc = begin(c, name, "w", grey ? "radiology" : "photo", grey ? "8-bit grey" : "YCbCr",
                   special);
    c->lossy = 1;
    rc = rc || add_page(c, &p, v) || end(c);
    free(v);
    return rc;
}

// libtiff cannot write old JPEG as most writers did (it refuses JPEGInterchangeFormat, tag
// 513, and has no old-JPEG encoder), so this page is compression 6 over one strip holding a
// complete JPEG stream (SOI, tables, EOI), a form libtiff's old-JPEG reader takes. The
// stream is libtiff's own JPEG encoding of the page with JPEGTABLESMODE 0, made in a
// scratch file that is then removed.
static int fx_old_jpeg(Ctx *c)
{
    const uint32_t w = 96, h = 64;
    uint8_t *v = photo_picture(w, h);
    Page p = rgb_page(w, h);
    p.photometric = PHOTOMETRIC_YCBCR;
    p.compression = COMPRESSION_JPEG;
    p.jpeg_quality = 90;
    char scratch[4096];
    snprintf(scratch, sizeof scratch, "%s/old_jpeg.scratch.tif", c->dir);
    snprintf(c->name, sizeof c->name, "old_jpeg.tif");
    Ctx s = *c;
    s.tif = TIFFOpen(scratch, "w");
    uint8_t *stream = NULL;
    tmsize_t n = 0;
    if (s.tif && !set_tags(&s, &p) && TIFFSetField(s.tif, TIFFTAG_JPEGTABLESMODE, 0) &&
        TIFFWriteEncodedStrip(s.tif, 0, v, (tmsize_t)w * h * 3) >= 0 &&
        TIFFWriteDirectory(s.tif)) {
        TIFFClose(s.tif);
        s.tif = TIFFOpen(scratch, "r");
        uint64_t *counts;
        if (s.tif && TIFFGetField(s.tif, TIFFTAG_STRIPBYTECOUNTS, &counts)) {
            n = (tmsize_t)counts[0];
            stream = xcalloc((size_t)n, 1);
            if (TIFFReadRawStrip(s.tif, 0, stream, n) != n)
                n = 0;
        }
    }
    if (s.tif)
        TIFFClose(s.tif);
    remove(scratch);
    if (n < 4 || stream[0] != 0xff || stream[1] != 0xd8) {
        free(v);
        free(stream);
        return tool_fail(fixture(c), "libtiff made no complete JPEG stream");
    }
    p.compression = COMPRESSION_OJPEG;
    int rc = begin(c, "old_jpeg.tif", "w", "photo", "YCbCr",
                   "old-style JPEG (compression 6), YCbCr 4:2:0, one strip holding a complete "
                   "JPEG stream, no JPEGInterchangeFormat tag: decoded through libtiff's RGBA "
                   "reader, Lossy 01, warned");
    c->lossy = 1;
    if (!rc && (set_tags(c, &p) || !TIFFSetField(c->tif, TIFFTAG_YCBCRSUBSAMPLING, 2, 2) ||
                TIFFWriteRawStrip(c->tif, 0, stream, n) != n))
        rc = tool_fail(fixture(c), "cannot write the old-JPEG strip");
    rc = rc || finish_page(c, &p, v) || end(c);
    free(v);
    free(stream);
    return rc;
}

static int fx_float(Ctx *c, const char *name, int with_nan)
{
    const uint32_t w = 53, h = 37;
    float *v = xcalloc((size_t)w * h, sizeof *v);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            v[(size_t)y * w + x] = (float)(-2.5 + 9.75 * x / (w - 1) * (0.4 + 0.6 * y / (h - 1)) +
                                           0.01 * sin(x * 1.3 + y));
    if (with_nan)
        v[(size_t)2 * w + 3] = NAN;
    Page p = grey_page(w, h, 32, SAMPLEFORMAT_IEEEFP, SOP_WORD);
    p.predictor = 0;
    int rc = begin(c, name, "w", "radiology", "float",
                   with_nan ? "float32 with one NaN pixel (row 2, column 3): stored 0, warned"
                            : "float32 -2.5..7.25: scaled to 16 bits, slope (max-min)/65535, "
                              "intercept min") ||
             add_page(c, &p, v) || end(c);
    free(v);
    return rc;
}

// 32-bit unsigned integers over 65535 (scaled with slope max(range / 65535, 1)) and 8-bit
// signed ones (+32768 into 16 bits, as OME's int8).
static int fx_wide_and_narrow_ints(Ctx *c)
{
    const uint32_t w = 45, h = 31;
    uint32_t *wide = xcalloc((size_t)w * h, sizeof *wide);
    int8_t *narrow = xcalloc((size_t)w * h, sizeof *narrow);
    for (uint32_t i = 0; i < w * h; i++) {
        wide[i] = 70000u + i * 97u + hash3(i, 0, 190) % 50u;
        narrow[i] = (int8_t)((int)(hash3(i, 1, 191) % 256u) - 128);
    }
    Page p = grey_page(w, h, 32, SAMPLEFORMAT_UINT, SOP_WORD);
    int rc = begin(c, "uint32.tif", "w", "radiology", "32-bit grey",
                   "32-bit unsigned 70000..~205000: scaled, slope (max-min)/65535, intercept "
                   "min") ||
             add_page(c, &p, wide) || end(c);
    p = grey_page(w, h, 8, SAMPLEFORMAT_INT, SOP_WORD);
    rc = rc || begin(c, "int8.tif", "w", "radiology", "8-bit grey, signed",
                     "8-bit signed -128..127: v + 32768 in 16 bits, Rescale Intercept -32768") ||
         add_page(c, &p, narrow) || end(c);
    free(wide);
    free(narrow);
    return rc;
}

static int fx_two_sizes(Ctx *c)
{
    static const uint32_t size[3][2] = {{64, 48}, {64, 48}, {100, 30}};
    int rc = begin(c, "two_sizes.tif", "w", "radiology", "8-bit grey",
                   "3 pages, 64x48 twice then 100x30: two instances in one series");
    for (int page = 0; !rc && page < 3; page++) {
        uint8_t *v = u8_picture(size[page][0], size[page][1], 255, 60 + (uint32_t)page);
        Page p = grey_page(size[page][0], size[page][1], 8, SAMPLEFORMAT_UINT, SOP_BYTE);
        p.subfile = FILETYPE_PAGE;
        p.page_number[0] = (uint16_t)page;
        p.page_number[1] = 3;
        rc = add_page(c, &p, v);
        free(v);
    }
    return rc || end(c);
}

// 1-bit pages whose frames (13 x 7 = 91 bits) do not end on a byte.
static int fx_bilevel(Ctx *c, const char *name, uint16_t photometric, uint16_t fillorder,
                      const char *special)
{
    const uint32_t w = 13, h = 7;
    int rc = begin(c, name, "w", "document", "1-bit pages", special);
    for (int page = 0; !rc && page < 3; page++) {
        uint8_t v[13 * 7];
        for (uint32_t i = 0; i < w * h; i++)
            v[i] = (uint8_t)((hash3(i, (uint32_t)page, 70) >> 7) & 1);
        v[0] = 1; // the first pixel of every page set, the last clear: a shift shows
        v[w * h - 1] = 0;
        Page p = grey_page(w, h, 1, SAMPLEFORMAT_UINT, SOP_BIT);
        p.photometric = photometric;
        p.fillorder = fillorder;
        rc = add_page(c, &p, v);
    }
    return rc || end(c);
}

static int fx_orientation(Ctx *c, uint16_t orientation)
{
    char name[64], special[128];
    snprintf(name, sizeof name, "orient%u.tif", orientation);
    snprintf(special, sizeof special,
             "Orientation %u on 9x5 RGB: pixels turned upright%s", orientation,
             orientation >= 5 ? ", Rows and Columns swapped" : "");
    uint8_t *v = rgb_picture(9, 5, 3, 80 + orientation);
    Page p = rgb_page(9, 5);
    p.orientation = orientation;
    int rc = begin(c, name, "w", "photo", "RGB", special) || add_page(c, &p, v) || end(c);
    free(v);
    return rc;
}

static int fx_alpha(Ctx *c, const char *name, uint16_t extra, int opaque)
{
    const uint32_t w = 31, h = 17;
    uint8_t *v = rgb_picture(w, h, 4, 90);
    for (uint32_t y = 0; !opaque && y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint8_t *px = v + ((size_t)y * w + x) * 4;
            px[3] = (uint8_t)(x < w / 3 ? 255 : x * 255 / (w - 1) * y / (h - 1));
            if (extra == EXTRASAMPLE_ASSOCALPHA)
                for (int s = 0; s < 3; s++)
                    px[s] = (uint8_t)(px[s] * px[3] / 255);
        }
    Page p = rgb_page(w, h);
    p.spp = 4;
    p.extra = extra;
    int rc = begin(c, name, "w", "photo", "RGB",
                   opaque ? "RGBA, alpha 255 everywhere: alpha dropped"
                   : extra == EXTRASAMPLE_ASSOCALPHA
                       ? "RGBA associated (premultiplied) alpha, partly transparent: "
                         "composited on white, warned"
                       : "RGBA unassociated alpha, partly transparent: composited on white, "
                         "warned") ||
             add_page(c, &p, v) || end(c);
    free(v);
    return rc;
}

static int fx_one_pixel(Ctx *c)
{
    uint16_t v = 1000;
    Page p = grey_page(1, 1, 16, SAMPLEFORMAT_UINT, SOP_WORD);
    return begin(c, "one_pixel.tif", "w", "radiology", "16-bit grey",
                 "1x1 16-bit (1000): valid file, min == max so one identity window") ||
           add_page(c, &p, &v) || end(c);
}

// The same 16-bit picture in other containers: every output equals twin_le.tif's.
static int fx_twin(Ctx *c, const char *name, const char *mode, const char *special)
{
    const uint32_t w = 77, h = 51;
    uint16_t *v = u16_picture(w, h, 50000, 100);
    Page p = grey_page(w, h, 16, SAMPLEFORMAT_UINT, SOP_WORD);
    p.rows_per_strip = 10;
    int rc = begin(c, name, mode, "radiology", "16-bit grey", special) || add_page(c, &p, v) ||
             end(c);
    free(v);
    return rc;
}

static int fx_codec(Ctx *c, const char *name, uint16_t compression, uint16_t predictor,
                    uint16_t bps, int rgb, const char *special)
{
    const uint32_t w = 120, h = 90;
    void *v;
    Page p;
    if (rgb) {
        v = rgb_picture(w, h, 3, 110);
        p = rgb_page(w, h);
    } else if (bps == 16) {
        v = u16_picture(w, h, 65535, 111);
        p = grey_page(w, h, 16, SAMPLEFORMAT_UINT, SOP_WORD);
    } else {
        v = u8_picture(w, h, 255, 112);
        p = grey_page(w, h, 8, SAMPLEFORMAT_UINT, SOP_BYTE);
    }
    p.compression = compression;
    p.predictor = predictor;
    p.rows_per_strip = 32;
    int rc = begin(c, name, "w", rgb ? "photo" : "radiology",
                   rgb ? "RGB" : bps == 16 ? "16-bit grey" : "8-bit grey", special) ||
             add_page(c, &p, v) || end(c);
    free(v);
    return rc;
}

static int fx_grey_low_bits(Ctx *c, const char *name, uint16_t bps)
{
    const uint32_t w = 21, h = 11;
    uint8_t *v = u8_picture(w, h, (1u << bps) - 1, 120 + bps);
    Page p = grey_page(w, h, bps, SAMPLEFORMAT_UINT, SOP_BYTE);
    int rc = begin(c, name, "w", "radiology", bps == 4 ? "4-bit grey" : "2-bit grey",
                   bps == 4 ? "4-bit grey, rows of 10.5 bytes: values x17 to 8 bits"
                            : "2-bit grey, rows of 5.25 bytes: values x85 to 8 bits") ||
             add_page(c, &p, v) || end(c);
    free(v);
    return rc;
}

static int fx_radiology8(Ctx *c)
{
    uint8_t *v = u8_picture(256, 256, 255, 130);
    Page p = grey_page(256, 256, 8, SAMPLEFORMAT_UINT, SOP_BYTE);
    p.rows_per_strip = 16;
    int rc = begin(c, "radiology8.tif", "w", "radiology", "8-bit grey",
                   "8-bit grey radiology export, no resolution: Grayscale Byte SC, no window") ||
             add_page(c, &p, v) || end(c);
    free(v);
    return rc;
}

// An sRGB profile from lcms2 with its creation date cleared, so that runs agree; the
// caller frees it (NULL when lcms2 fails).
static uint8_t *srgb_profile(uint32_t *len)
{
    cmsHPROFILE profile = cmsCreate_sRGBProfile();
    cmsUInt32Number n = 0;
    uint8_t *icc = NULL;
    if (profile && cmsSaveProfileToMem(profile, NULL, &n) && n > 128) {
        icc = xcalloc(n, 1);
        if (!cmsSaveProfileToMem(profile, icc, &n)) {
            free(icc);
            icc = NULL;
        } else {
            memset(icc + 24, 0, 12); // dateTimeNumber of the header
        }
    }
    if (profile)
        cmsCloseProfile(profile);
    *len = n;
    return icc;
}

// An RGB photo from a camera: Make, Model, DateTime, an ICC profile and an EXIF
// directory (written first, its offset then given to the page).
static int fx_photo_exif(Ctx *c)
{
    const uint32_t w = 160, h = 120;
    uint32_t icc_len;
    uint8_t *icc = srgb_profile(&icc_len);
    if (!icc)
        return tool_fail(fixture(c), "lcms2 could not make an sRGB profile");
    int rc = begin(c, "photo_exif.tif", "w", "photo", "RGB",
                   "camera photo: Make, Model, DateTime, sRGB ICC profile, EXIF directory");
    uint64_t exif_offset = 0;
    // TIFFCreateEXIFDirectory and TIFFCreateDirectory return 0 on success.
    if (!rc && (TIFFCreateEXIFDirectory(c->tif) != 0 ||
                !TIFFSetField(c->tif, EXIFTAG_DATETIMEORIGINAL, "2021:03:04 05:06:07") ||
                !TIFFWriteCustomDirectory(c->tif, &exif_offset) ||
                TIFFCreateDirectory(c->tif) != 0))
        rc = tool_fail(fixture(c), "cannot write the EXIF directory");
    uint8_t *v = photo_picture(w, h);
    Page p = rgb_page(w, h);
    p.compression = COMPRESSION_LZW;
    p.make = "ClinicCam";
    p.model = "DermaShot 3";
    p.datetime = "2021:03:04 05:06:07";
    p.icc = icc;
    p.icc_len = icc_len;
    if (!rc && !TIFFSetField(c->tif, TIFFTAG_EXIFIFD, exif_offset))
        rc = tool_fail(fixture(c), "cannot point to the EXIF directory");
    rc = rc || add_page(c, &p, v) || end(c);
    free(v);
    free(icc);
    return rc;
}

static int fx_a4_grey(Ctx *c)
{
    const uint32_t w = 2480, h = 3508;
    uint8_t *v = text_page(w, h, 300, 140, 30, 235, 1);
    Page p = grey_page(w, h, 8, SAMPLEFORMAT_UINT, SOP_BYTE);
    p.compression = COMPRESSION_LZW;
    p.rows_per_strip = 64;
    p.dpi = 300;
    int rc = begin(c, "a4_gray8_300dpi.tif", "w", "document", "A4 page at 300 dpi",
                   "8-bit grey A4 page (2480x3508) at 300 dpi: document, Grayscale Byte SC, "
                   "Nominal Scanned Pixel Spacing 25.4/300") ||
             add_page(c, &p, v) || end(c);
    free(v);
    return rc;
}

static int fx_radiology_72dpi(Ctx *c)
{
    const uint32_t w = 200, h = 160;
    uint16_t *v = u16_picture(w, h, 4000, 150);
    Page p = grey_page(w, h, 16, SAMPLEFORMAT_UINT, SOP_WORD);
    p.dpi = 72;
    p.software = "PACS export 2.1";
    int rc = begin(c, "radiology16_72dpi.tif", "w", "radiology", "16-bit grey",
                   "16-bit radiology export at 72 dpi (screen): no Pixel Spacing written") ||
             add_page(c, &p, v) || end(c);
    free(v);
    return rc;
}

static int fx_imagej(Ctx *c)
{
    const uint32_t w = 64, h = 64;
    uint16_t *v = u16_picture(w, h, 3000, 160);
    Page p = grey_page(w, h, 16, SAMPLEFORMAT_UINT, SOP_WORD);
    p.description = "ImageJ=1.53t\nmin=100.0\nmax=2500.0\n";
    int rc = begin(c, "imagej_range.tif", "w", "radiology", "16-bit grey",
                   "ImageJ description with min=100 max=2500: window 1 from that range "
                   "(IMAGEJ DISPLAY RANGE)") ||
             add_page(c, &p, v) || end(c);
    free(v);
    return rc;
}

static int fx_thumbnail(Ctx *c)
{
    uint16_t *v = u16_picture(80, 60, 4095, 170);
    uint16_t *small = u16_picture(20, 15, 4095, 171);
    Page p = grey_page(80, 60, 16, SAMPLEFORMAT_UINT, SOP_WORD);
    Page t = grey_page(20, 15, 16, SAMPLEFORMAT_UINT, NULL);
    t.subfile = FILETYPE_REDUCEDIMAGE;
    int rc = begin(c, "with_thumbnail.tif", "w", "radiology", "16-bit grey",
                   "one page, then a reduced-resolution directory (NewSubfileType 1) that is "
                   "no page") ||
             add_page(c, &p, v) || add_page(c, &t, small) || end(c);
    free(v);
    free(small);
    return rc;
}

static int fx_ct_stack(Ctx *c)
{
    const uint32_t size = 512, pages = 20;
    int16_t *v = xcalloc((size_t)size * size, 2);
    int rc = begin(c, "ct_stack.tif", "w", "radiology", "16-bit grey, signed",
                   "20 CT-like slices 512x512 (HU: air -1000, fat, soft tissue, lungs, "
                   "spine, table): one 20-frame Word SC for the viewer test");
    for (uint32_t z = 0; !rc && z < pages; z++) {
        for (uint32_t y = 0; y < size; y++)
            for (uint32_t x = 0; x < size; x++)
                v[(size_t)y * size + x] = ct_value(x, y, z, size);
        Page p = grey_page(size, size, 16, SAMPLEFORMAT_INT, SOP_WORD);
        p.rows_per_strip = 16;
        p.subfile = FILETYPE_PAGE;
        p.page_number[0] = (uint16_t)z;
        p.page_number[1] = (uint16_t)pages;
        rc = add_page(c, &p, v);
    }
    free(v);
    return rc || end(c);
}

// ---------------------------------------------------------------- bad files

static void put16(uint8_t *b, uint16_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *b, uint32_t v)
{
    put16(b, (uint16_t)v);
    put16(b + 2, (uint16_t)(v >> 16));
}

typedef struct HandTag {
    uint16_t tag, type;   // type 3 SHORT or 4 LONG, one value each
    uint32_t value;
} HandTag;

// Writes at `at` a directory of n tags (ascending) followed by `next`, the next one's
// offset; returns where it ends.
static uint32_t handmade_ifd(uint8_t *out, uint32_t at, const HandTag *tags, uint32_t n,
                             uint32_t next)
{
    put16(out + at, (uint16_t)n);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *e = out + at + 2 + i * 12;
        put16(e, tags[i].tag);
        put16(e + 2, tags[i].type);
        put32(e + 4, 1);
        put32(e + 8, 0);
        if (tags[i].type == 3)
            put16(e + 8, (uint16_t)tags[i].value);
        else
            put32(e + 8, tags[i].value);
    }
    put32(out + at + 2 + n * 12, next);
    return at + 2 + n * 12 + 4;
}

#define HAND_STRIP_TAGS 9

// The tags of a 64x64 8-bit grey page in one strip of 4096 bytes at `data`.
static void handmade_strip_tags(HandTag *t, uint16_t compression, uint32_t data)
{
    const HandTag tags[HAND_STRIP_TAGS] = {
        {256, 3, 64}, {257, 3, 64}, {258, 3, 8},    {259, 3, compression}, {262, 3, 1},
        {273, 4, data}, {277, 3, 1}, {278, 3, 64}, {279, 4, 4096}};
    memcpy(t, tags, sizeof tags);
}

// A little-endian 64x64 8-bit grey TIFF written by hand, the directory first and the
// strip last, `strip_bytes` of its 4096 bytes present (all: a whole file).
static size_t handmade_tiff(uint8_t *out, uint16_t compression, uint32_t strip_bytes)
{
    HandTag tags[HAND_STRIP_TAGS];
    const uint32_t data = 8 + 2 + HAND_STRIP_TAGS * 12 + 4;
    handmade_strip_tags(tags, compression, data);
    memcpy(out, "II*\0", 4);
    put32(out + 4, 8);
    handmade_ifd(out, 8, tags, HAND_STRIP_TAGS, 0);
    for (uint32_t i = 0; i < strip_bytes; i++)
        out[data + i] = (uint8_t)(i * 7);
    return data + strip_bytes;
}

// handmade_tiff's whole page, then a second 64x64 page in one tile that claims `tile_h`
// rows (its 4096 bytes are the first page's): a page whose tile the file's numbers make
// as large as they like.
static size_t handmade_tall_tile(uint8_t *out, uint32_t tile_h)
{
    size_t end = handmade_tiff(out, COMPRESSION_NONE, 4096);
    const uint32_t second = (uint32_t)end, data = 8 + 2 + HAND_STRIP_TAGS * 12 + 4;
    put32(out + 8 + 2 + HAND_STRIP_TAGS * 12, second);
    const HandTag tags[] = {{256, 3, 64}, {257, 3, 64},  {258, 3, 8},      {259, 3, 1},
                            {262, 3, 1},  {277, 3, 1},   {322, 3, 64},     {323, 4, tile_h},
                            {324, 4, data}, {325, 4, 4096}};
    return handmade_ifd(out, second, tags, sizeof tags / sizeof *tags, 0);
}

static int bad_file(Ctx *c, const char *name, const uint8_t *bytes, size_t len,
                    const char *error, const char *special)
{
    snprintf(c->name, sizeof c->name, "%s", name);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", c->dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(bytes, 1, len, f) != len || fclose(f))
        return tool_fail(fixture(c), "cannot write: %s", strerror(errno));
    manifest_entry_start(c);
    fprintf(c->manifest, ", \"kind\": null, \"error\": ");
    json_string(c->manifest, error);
    fprintf(c->manifest, ",\n     \"special\": ");
    json_string(c->manifest, special);
    fprintf(c->manifest, ", \"pages\": [], \"instances\": []}");
    c->name[0] = '\0';
    return 0;
}

static int fx_bad(Ctx *c)
{
    uint8_t buf[8192];
    static const uint8_t zero_pages[8] = {'I', 'I', 42, 0, 0, 0, 0, 0};
    if (bad_file(c, "bad_zero_pages.tif", zero_pages, sizeof zero_pages, "no pages",
                 "a TIFF header whose first directory offset is 0: no pages"))
        return -1;
    size_t len = handmade_tiff(buf, COMPRESSION_NONE, 1000);
    if (bad_file(c, "bad_truncated_strip.tif", buf, len, "truncated",
                 "64x64 8-bit grey, one strip of 4096 bytes of which 1000 are in the file"))
        return -1;
    len = handmade_tiff(buf, 65000, 4096);
    if (bad_file(c, "bad_compression.tif", buf, len, "compression",
                 "64x64 8-bit grey in compression 65000, which no libtiff codec decodes"))
        return -1;
    len = handmade_tall_tile(buf, 1u << 27);
    return bad_file(c, "bad_huge_tile.tif", buf, len, "a tile may take",
                    "a 64x64 8-bit grey page, then one in a tile that claims 64 x 2^27 "
                    "pixels (8 GiB decoded): refused before anything is allocated");
}

// ---------------------------------------------------------------- main

static int write_all(Ctx *c)
{
    return fx_signed16(c) || fx_twelve_bits(c, "u12in16.tif", 0) ||
           fx_twelve_bits(c, "u13_one_pixel.tif", 1) ||
           fx_g4(c, "g4_a4_300dpi.tif", 2480, 3508, 300, 1, 0, "1-bit pages",
                 "min-is-white 1-bit CCITT G4 A4 text page at 300 dpi: bits inverted "
                 "(1 = white), Single Bit SC") ||
           fx_g4(c, "g4_small.tif", 240, 150, 200, 2, 0, "1-bit pages",
                 "two min-is-white 1-bit G4 pages 240x150 at 200 dpi: one 2-frame Single Bit "
                 "SC, Page Number Vector") ||
           fx_g4(c, "g4_fillorder2.tif", 240, 150, 200, 2, FILLORDER_LSB2MSB, "1-bit pages",
                 "g4_small.tif with FillOrder 2 (bits LSB first in the file): same output") ||
           fx_miniswhite(c, "miniswhite16.tif", 16, 2) ||
           fx_miniswhite(c, "miniswhite8.tif", 8, 1) || fx_palette(c, "palette8.tif", 8) ||
           fx_palette(c, "palette4.tif", 4) || fx_planar_rgb(c) ||
           fx_jpeg(c, "ycbcr_jpeg_1strip.tif", 320, 240, 0, 0, 0,
                   "YCbCr 4:2:0 JPEG in one strip with JPEGTables: bitstream copied, "
                   "YBR_FULL_422, Lossy 01") ||
           fx_jpeg(c, "ycbcr_jpeg_strips.tif", 320, 250, 16, 0, 0,
                   "YCbCr 4:2:0 JPEG in 16 strips of 16 rows (the last 10): joined or decoded, "
                   "Lossy 01") ||
           fx_jpeg(c, "jpeg_gray.tif", 128, 96, 32, 1, 0,
                   "8-bit grey JPEG in 3 strips: copied or decoded, MONOCHROME2, Lossy 01") ||
           fx_jpeg(c, "orient6_jpeg.tif", 160, 96, 0, 0, 6,
                   "YCbCr JPEG with Orientation 6: decoded and turned upright (96x160)") ||
           fx_old_jpeg(c) ||
           fx_float(c, "float32.tif", 0) || fx_float(c, "float32_nan.tif", 1) ||
           fx_wide_and_narrow_ints(c) ||
           fx_two_sizes(c) ||
           fx_bilevel(c, "bits_13x7.tif", PHOTOMETRIC_MINISBLACK, 0,
                      "3 min-is-black 1-bit pages of 13x7 (91 bits, not a byte multiple): "
                      "one 3-frame Single Bit SC, bits as they are") ||
           fx_bilevel(c, "bits_13x7_miniswhite_fill2.tif", PHOTOMETRIC_MINISWHITE,
                      FILLORDER_LSB2MSB,
                      "3 min-is-white 1-bit pages of 13x7, uncompressed, FillOrder 2: bits "
                      "inverted") ||
           fx_orientation(c, 2) || fx_orientation(c, 3) || fx_orientation(c, 4) ||
           fx_orientation(c, 5) || fx_orientation(c, 6) || fx_orientation(c, 7) ||
           fx_orientation(c, 8) ||
           fx_alpha(c, "alpha_opaque.tif", EXTRASAMPLE_UNASSALPHA, 1) ||
           fx_alpha(c, "alpha_unassociated.tif", EXTRASAMPLE_UNASSALPHA, 0) ||
           fx_alpha(c, "alpha_associated.tif", EXTRASAMPLE_ASSOCALPHA, 0) || fx_one_pixel(c) ||
           fx_twin(c, "twin_le.tif", "w", "16-bit grey, little-endian classic TIFF: the twin "
                                          "the three below must convert like") ||
           fx_twin(c, "twin_be.tif", "wb", "twin_le.tif as big-endian (MM) TIFF") ||
           fx_twin(c, "twin_bigtiff.tif", "w8", "twin_le.tif as BigTIFF") ||
           fx_twin(c, "twin_bigtiff_be.tif", "w8b", "twin_le.tif as big-endian BigTIFF") ||
           fx_codec(c, "lzw_gray8.tif", COMPRESSION_LZW, 0, 8, 0, "8-bit grey, LZW strips") ||
           fx_codec(c, "packbits_gray8.tif", COMPRESSION_PACKBITS, 0, 8, 0,
                    "8-bit grey, PackBits strips") ||
           fx_codec(c, "deflate_pred2_u16.tif", COMPRESSION_ADOBE_DEFLATE, PREDICTOR_HORIZONTAL,
                    16, 0, "16-bit grey (full 0..65535), Deflate with horizontal predictor") ||
           fx_codec(c, "lzw_pred2_rgb.tif", COMPRESSION_LZW, PREDICTOR_HORIZONTAL, 8, 1,
                    "RGB, LZW with horizontal predictor") ||
           fx_grey_low_bits(c, "gray4.tif", 4) || fx_grey_low_bits(c, "gray2.tif", 2) ||
           fx_radiology8(c) || fx_photo_exif(c) || fx_a4_grey(c) || fx_radiology_72dpi(c) ||
           fx_imagej(c) || fx_thumbnail(c) || fx_ct_stack(c) || fx_bad(c);
}

int main(int argc, char **argv)
{
    tool_begin(PROG);
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: " PROG " OUTDIR\n"
                        "Writes the plain-TIFF fixtures, NAME.values beside each and "
                        "manifest.json into OUTDIR.\n");
        return 2;
    }
    Ctx c = {.dir = argv[1]};
    if (mkdir(c.dir, 0777) != 0 && errno != EEXIST) {
        return tool_fail(c.dir, "cannot create the directory: %s", strerror(errno));
    }
    TIFFSetErrorHandler(tool_keep_complaint);
    TIFFSetWarningHandler(tool_print_warning);
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.json", c.dir);
    c.manifest = fopen(path, "w");
    if (!c.manifest) {
        return tool_fail(path, "cannot create: %s", strerror(errno));
    }
    fprintf(c.manifest, "{\"generator\": \"" PROG "\",\n \"fixtures\": [");
    int rc = write_all(&c);
    if (c.tif)
        TIFFClose(c.tif);
    if (c.values)
        fclose(c.values);
    fprintf(c.manifest, "\n ]}\n");
    if (fclose(c.manifest) && !rc)
        rc = tool_fail(fixture(&c), "cannot write manifest.json");
    return rc ? 1 : 0;
}
