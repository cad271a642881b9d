// SPDX-License-Identifier: Apache-2.0
// make_bif: writes a synthetic Ventana BIF (Roche iScan) through libtiff: IFD 0 the "Label
// Image" whose XMP packet holds the iScan element (scanner, magnification, resolution,
// barcode, scan date), a "Thumbnail", then one tiled JPEG directory per pyramid level
// ("level=N mag=M quality=Q"), level 0's XMP the EncodeInfo with one area of interest and
// the joints between its tiles. --overlap makes neighbouring scanner tiles share pixels, as
// real level-0 tiles do; by default they do not. Test input for fmt_ventana.c.

#include <tiffio.h>

#include "tool_util.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "make_bif"
#define LABEL_W 600
#define LABEL_H 200
#define THUMB_W 256
#define STRIP_ROWS 16

typedef struct options {
    const char *out;
    uint32_t cols, rows, tile, levels, overlap, quality;
    double mpp, mag;
    const char *barcode, *unit, *model, *build, *scan_date;
} options;

// The stained tissue at level-0 position (x, y): pink stroma, purple nuclei on a lattice
// that wobbles, white glass where a slow wave leaves the section.
static void tissue(double x, double y, uint8_t rgb[3])
{
    double section = sin(x / 700.0) + cos(y / 530.0) + 0.6 * sin((x + y) / 310.0);
    if (section < -0.9) {
        rgb[0] = 242, rgb[1] = 240, rgb[2] = 245;
        return;
    }
    double cx = x + 9.0 * sin(y / 41.0), cy = y + 9.0 * cos(x / 37.0);
    double fx = fmod(cx, 46.0) - 23.0, fy = fmod(cy, 46.0) - 23.0;
    double nucleus = exp(-(fx * fx + fy * fy) / 60.0);
    double fibre = 0.5 + 0.5 * sin(x / 9.0 + 3.0 * sin(y / 60.0));
    double r = 235 - 40 * fibre - 120 * nucleus, g = 170 - 50 * fibre - 110 * nucleus,
           b = 205 - 20 * fibre - 20 * nucleus;
    rgb[0] = (uint8_t)fmax(0, fmin(255, r));
    rgb[1] = (uint8_t)fmax(0, fmin(255, g));
    rgb[2] = (uint8_t)fmax(0, fmin(255, b));
}

// The level-0 position of pixel p of a level downsample ds: the scanner's tile it lies in
// (each shrunk to tile / ds pixels at this level) placed at its advance, tile - overlap.
static double level0_position(const options *o, uint32_t p, uint32_t ds)
{
    uint32_t sub = o->tile / ds;
    return (double)(p / sub) * (o->tile - o->overlap) + (double)(p % sub) * ds + ds / 2.0;
}

static int set_common(TIFF *tif, uint32_t w, uint32_t h, const char *desc, int quality)
{
    int ok = TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, w) &&
             TIFFSetField(tif, TIFFTAG_IMAGELENGTH, h) &&
             TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 8) &&
             TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 3) &&
             TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) &&
             TIFFSetField(tif, TIFFTAG_IMAGEDESCRIPTION, desc) &&
             TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_JPEG) &&
             TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_YCBCR) &&
             TIFFSetField(tif, TIFFTAG_YCBCRSUBSAMPLING, 2, 2) &&
             TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB) &&
             TIFFSetField(tif, TIFFTAG_JPEGQUALITY, quality);
    return ok;
}

// text as an XML attribute value (&, <, > and " escaped) in out of n bytes, cut to fit.
static const char *escaped(const char *text, char *out, size_t n)
{
    size_t k = 0;
    for (; *text; text++) {
        const char *put = *text == '&' ? "&amp;" : *text == '<' ? "&lt;" : *text == '>' ? "&gt;"
                        : *text == '"' ? "&quot;" : NULL;
        size_t len = put ? strlen(put) : 1;
        if (k + len >= n) {
            break;
        }
        memcpy(out + k, put ? put : text, len);
        k += len;
    }
    out[k] = '\0';
    return out;
}

// The iScan element of IFD 0: what the scanner says of the scan.
static char *iscan_xmp(const options *o)
{
    char *xml = malloc(4096);
    char build[256], model[256], unit[256], barcode[256], date[256];
    if (xml) {
        snprintf(xml, 4096,
                 "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
                 "<iScan BuildDate=\"2024-05-02\" BuildVersion=\"%s\" ScannerModel=\"%s\" "
                 "UnitNumber=\"%s\" Magnification=\"%g\" ScanRes=\"%g\" Barcode=\"%s\" "
                 "ScanDate=\"%s\" FocusMode=\"Auto\" ScanMode=\"Regular\" ZLayers=\"1\">"
                 "<AOI0 AOIScanned=\"1\" Left=\"0\" Top=\"%u\" Right=\"%u\" Bottom=\"0\"/>"
                 "</iScan>\r\n",
                 escaped(o->build, build, sizeof build), escaped(o->model, model, sizeof model),
                 escaped(o->unit, unit, sizeof unit), o->mag, o->mpp,
                 escaped(o->barcode, barcode, sizeof barcode),
                 escaped(o->scan_date, date, sizeof date),
                 o->rows * o->tile, o->cols * o->tile);
    }
    return xml;
}

// The 1-based serpentine number of tile (col, row): numbered from the bottom row up, every
// second row from the right.
static uint32_t tile_number(const options *o, uint32_t col, uint32_t row)
{
    uint32_t from_bottom = o->rows - 1 - row;
    uint32_t along = from_bottom % 2 ? o->cols - 1 - col : col;
    return from_bottom * o->cols + along + 1;
}

// Level 0's EncodeInfo: the area, where it starts, and every joint between neighbours.
static char *encode_info_xmp(const options *o)
{
    size_t cap = 4096 + (size_t)o->cols * o->rows * 2 * 160, n = 0;
    char *xml = malloc(cap);
    if (!xml) {
        return NULL;
    }
    n += (size_t)snprintf(xml + n, cap - n,
                          "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<EncodeInfo Ver=\"2\">"
                          "<SlideInfo><AoiInfo XIMAGESIZE=\"%u\" YIMAGESIZE=\"%u\" "
                          "NumRows=\"%u\" NumCols=\"%u\" Pos-X=\"0\" Pos-Y=\"0\"/></SlideInfo>"
                          "<SlideStitchInfo><ImageInfo AOIScanned=\"1\" AOIIndex=\"0\" "
                          "Width=\"%u\" Height=\"%u\" NumRows=\"%u\" NumCols=\"%u\" "
                          "Pos-X=\"0\" Pos-Y=\"0\">",
                          o->tile, o->tile, o->rows, o->cols, o->tile, o->tile, o->rows,
                          o->cols);
    for (uint32_t row = 0; row < o->rows; row++) {
        for (uint32_t col = 0; col < o->cols; col++) {
            if (col + 1 < o->cols) {
                n += (size_t)snprintf(xml + n, cap - n,
                                      "<TileJointInfo FlagJoined=\"1\" Direction=\"RIGHT\" "
                                      "Tile1=\"%u\" Tile2=\"%u\" OverlapX=\"%u\" OverlapY=\"0\" "
                                      "Confidence=\"95\"/>",
                                      tile_number(o, col, row), tile_number(o, col + 1, row),
                                      o->overlap);
            }
            if (row > 0) {
                n += (size_t)snprintf(xml + n, cap - n,
                                      "<TileJointInfo FlagJoined=\"1\" Direction=\"UP\" "
                                      "Tile1=\"%u\" Tile2=\"%u\" OverlapX=\"0\" OverlapY=\"%u\" "
                                      "Confidence=\"95\"/>",
                                      tile_number(o, col, row), tile_number(o, col, row - 1),
                                      o->overlap);
            }
        }
    }
    snprintf(xml + n, cap - n,
             "</ImageInfo></SlideStitchInfo><AoiOrigin><AOI0 OriginX=\"0\" OriginY=\"0\"/>"
             "</AoiOrigin></EncodeInfo>\r\n");
    return xml;
}

// A stripped JPEG image painted by row(): the label photo or the thumbnail.
static int write_stripped(TIFF *tif, const options *o, uint32_t w, uint32_t h, const char *desc,
                          const char *xmp, void (*row)(const options *, uint32_t, uint32_t,
                                                       uint32_t, uint8_t *))
{
    int ok = set_common(tif, w, h, desc, 90) &&
             TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, STRIP_ROWS) &&
             (!xmp || TIFFSetField(tif, TIFFTAG_XMLPACKET, (uint32_t)strlen(xmp), xmp));
    if (!ok) {
        return tool_fail(o->out, "cannot set the tags of \"%s\"", desc);
    }
    uint8_t *strip = malloc((size_t)w * STRIP_ROWS * 3);
    if (!strip) {
        return tool_fail(o->out, "out of memory");
    }
    for (uint32_t y0 = 0, s = 0; y0 < h; y0 += STRIP_ROWS, s++) {
        uint32_t n = h - y0 < STRIP_ROWS ? h - y0 : STRIP_ROWS;
        for (uint32_t j = 0; j < n; j++) {
            row(o, y0 + j, w, h, strip + (size_t)j * w * 3);
        }
        if (TIFFWriteEncodedStrip(tif, s, strip, (tmsize_t)w * n * 3) < 0) {
            free(strip);
            return tool_fail(o->out, "cannot write \"%s\"", desc);
        }
    }
    free(strip);
    if (!TIFFWriteDirectory(tif)) {
        return tool_fail(o->out, "cannot write the directory of \"%s\"", desc);
    }
    return 0;
}

// The label photo: a white label with a dark bar code on the left, the tissue on the right.
// Level 0's width and height as the scanner stitched it: its tiles overlapped.
static double stitched(const options *o, uint32_t tiles)
{
    return (double)(tiles - 1) * (o->tile - o->overlap) + o->tile;
}

static void label_row(const options *o, uint32_t y, uint32_t w, uint32_t h, uint8_t *out)
{
    for (uint32_t x = 0; x < w; x++) {
        uint8_t *p = out + (size_t)x * 3;
        if (x < w / 3) {
            bool bar = y > h / 4 && y < 3 * h / 4 && x > 20 && x < w / 3 - 20 &&
                       ((x * 2654435761u) >> 13) % 3 == 0;
            p[0] = p[1] = p[2] = bar ? 20 : 250;
        } else {
            double k = stitched(o, o->cols) / (w - w / 3);
            tissue((x - w / 3) * k, y * k, p);
        }
    }
}

static void thumb_row(const options *o, uint32_t y, uint32_t w, uint32_t h, uint8_t *out)
{
    (void)h;
    double k = stitched(o, o->cols) / w;
    for (uint32_t x = 0; x < w; x++) {
        tissue(x * k, y * k, out + (size_t)x * 3);
    }
}

static int write_level(TIFF *tif, const options *o, uint32_t level, const char *xmp)
{
    uint32_t ds = 1u << level;
    uint32_t w = (o->cols * o->tile + ds - 1) / ds, h = (o->rows * o->tile + ds - 1) / ds;
    char desc[128];
    snprintf(desc, sizeof desc, "level=%u mag=%g quality=%u", level, o->mag / ds, o->quality);
    int ok = set_common(tif, w, h, desc, (int)o->quality) &&
             TIFFSetField(tif, TIFFTAG_TILEWIDTH, o->tile) &&
             TIFFSetField(tif, TIFFTAG_TILELENGTH, o->tile) &&
             (!xmp || TIFFSetField(tif, TIFFTAG_XMLPACKET, (uint32_t)strlen(xmp), xmp));
    if (!ok) {
        return tool_fail(o->out, "cannot set the tags of level %u", level);
    }
    uint8_t *tile = malloc((size_t)o->tile * o->tile * 3);
    if (!tile) {
        return tool_fail(o->out, "out of memory");
    }
    for (uint32_t ty = 0; ty < h; ty += o->tile) {
        for (uint32_t tx = 0; tx < w; tx += o->tile) {
            for (uint32_t j = 0; j < o->tile; j++) {
                double y0 = level0_position(o, ty + j, ds);
                for (uint32_t i = 0; i < o->tile; i++) {
                    tissue(level0_position(o, tx + i, ds), y0,
                           tile + ((size_t)j * o->tile + i) * 3);
                }
            }
            if (TIFFWriteTile(tif, tile, tx, ty, 0, 0) < 0) {
                free(tile);
                return tool_fail(o->out, "cannot write a tile of level %u", level);
            }
        }
    }
    free(tile);
    if (!TIFFWriteDirectory(tif)) {
        return tool_fail(o->out, "cannot write the directory of level %u", level);
    }
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: " PROG " OUT.bif [--cols N] [--rows N] [--tile PX] [--levels N]\n"
               "       [--overlap PX] [--quality Q] [--mpp UM] [--mag X] [--barcode TEXT]\n"
               "       [--unit SERIAL] [--model NAME] [--build VERSION] [--scan-date DATE]\n"
               "Level 0 is COLS x ROWS tiles of PX pixels (both at least 2); each next level\n"
               "halves it. --overlap: pixels neighbouring scanner tiles share (default 0).\n");
}

static int parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) {
        return 0;
    }
    *out = (uint32_t)v;
    return 1;
}

static int parse_args(int argc, char **argv, options *o)
{
    *o = (options){.cols = 6, .rows = 4, .tile = 256, .levels = 3, .quality = 90, .mpp = 0.25,
                   .mag = 40, .barcode = "VEN-0042-7", .unit = "BI12N0734",
                   .model = "VENTANA DP 200", .build = "1.1.0.15854",
                   .scan_date = "2026-03-14T09:26:53"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = 1;
        if (a[0] != '-') {
            ok = !o->out;
            o->out = a;
            v = NULL;
        } else if (!v) {
            ok = 0;
        } else if (!strcmp(a, "--cols")) {
            ok = parse_u32(v, 2, 4096, &o->cols);
        } else if (!strcmp(a, "--rows")) {
            ok = parse_u32(v, 2, 4096, &o->rows);
        } else if (!strcmp(a, "--tile")) {
            ok = parse_u32(v, 16, 4096, &o->tile) && o->tile % 16 == 0;
        } else if (!strcmp(a, "--levels")) {
            ok = parse_u32(v, 1, 5, &o->levels);
        } else if (!strcmp(a, "--overlap")) {
            ok = parse_u32(v, 0, 64, &o->overlap);
        } else if (!strcmp(a, "--quality")) {
            ok = parse_u32(v, 1, 100, &o->quality);
        } else if (!strcmp(a, "--mpp")) {
            o->mpp = strtod(v, NULL);
            ok = o->mpp > 0;
        } else if (!strcmp(a, "--mag")) {
            o->mag = strtod(v, NULL);
            ok = o->mag > 0;
        } else if (!strcmp(a, "--barcode")) {
            o->barcode = v;
        } else if (!strcmp(a, "--unit")) {
            o->unit = v;
        } else if (!strcmp(a, "--model")) {
            o->model = v;
        } else if (!strcmp(a, "--build")) {
            o->build = v;
        } else if (!strcmp(a, "--scan-date")) {
            o->scan_date = v;
        } else {
            ok = 0;
        }
        if (!ok) {
            usage(stderr);
            return 0;
        }
        i += v ? 1 : 0;
    }
    // Each level's tiles must hold whole scanner tiles, as OpenSlide reads them.
    if (!o->out || o->tile >> (o->levels - 1) < 16) {
        usage(stderr);
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    tool_begin(PROG);
    options o;
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    if (!parse_args(argc, argv, &o)) {
        return 2;
    }
    TIFFSetErrorHandler(tool_keep_complaint);
    TIFFSetWarningHandler(NULL);
    TIFF *tif = TIFFOpen(o.out, "w");
    if (!tif) {
        return tool_fail(o.out, "cannot create");
    }
    char *iscan = iscan_xmp(&o), *encode = encode_info_xmp(&o);
    uint32_t thumb_h = (uint32_t)lround(THUMB_W * stitched(&o, o.rows) / stitched(&o, o.cols));
    int status = !iscan || !encode ? tool_fail(o.out, "out of memory")
                 : write_stripped(tif, &o, LABEL_W, LABEL_H, "Label Image", iscan, label_row);
    if (!status) {
        status = write_stripped(tif, &o, THUMB_W, thumb_h, "Thumbnail", NULL, thumb_row);
    }
    for (uint32_t level = 0; !status && level < o.levels; level++) {
        status = write_level(tif, &o, level, level == 0 ? encode : NULL);
    }
    free(iscan);
    free(encode);
    TIFFClose(tif);
    if (status) {
        remove(o.out);
    }
    return status;
}
