// SPDX-License-Identifier: Apache-2.0
// make_micro_bench: writes the large microscopy TIFFs of the microscopy benchmark
// (bench/micro.py): an OME-TIFF of C channels of W x H grey pixels, one page a channel,
// uncompressed strips, written row by row (memory stays a few rows whatever the size).
//
// The content is fluorescence-like, per channel: a smooth uneven background, cells on a
// jittered grid (channel 1: nuclei, bright with texture; channel 2: larger, dimmer
// cytoplasm; channel 3 and on: small bright spots), and shot plus read noise. 16-bit files
// carry 12-bit values (OME SignificantBits 12), 8-bit files the same scene shifted down by 4.
// The OME-XML names the channels with the colours blue, green, red (then white), pixel size
// 0.325 um; the TIFF resolution says the same. The same bytes on every run (no clock, fixed
// seeds).
//
// usage: s2d-make-micro-bench OUT.ome.tif [--width W] [--height H] [--channels C]
//            [--bits 8|16]
#include <tiffio.h>

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool_util.h"

#define PROG "s2d-make-micro-bench"
#define PITCH 80          // side of the grid cell that holds at most one cell
#define ROWS_PER_STRIP 16
#define NOISE_TABLE 65536
#define MAX_12BIT 4095
#define MICRONS_PER_PIXEL 0.325

// A stateless hash: the same cell gets the same blob in every row that crosses it.
static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

// xorshift64*: the noise source, one running state for the whole file.
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

// Standard normal deviates, computed once (Box-Muller), picked at random per pixel.
static float normal_table[NOISE_TABLE];

static void make_noise_table(void)
{
    uint64_t s = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < NOISE_TABLE; i += 2) {
        double u1 = ((double)(next_random(&s) >> 11) + 1.0) / 9007199254740993.0;
        double u2 = (double)(next_random(&s) >> 11) / 9007199254740992.0;
        double r = sqrt(-2.0 * log(u1));
        normal_table[i] = (float)(r * cos(2 * M_PI * u2));
        normal_table[i + 1] = (float)(r * sin(2 * M_PI * u2));
    }
}

typedef struct blob {
    bool present;
    double cx, cy, radius, peak;
} blob;

// The cell of grid cell (gx, gy) as channel c shows it; whole inside its grid cell, so that a
// pixel only ever looks at its own. Where a cell is and how large does not depend on the
// channel (a nucleus inside its cytoplasm); brightness does. Spots are on their own.
static blob cell_blob(int c, uint32_t gx, uint32_t gy)
{
    uint64_t cell = mix((uint64_t)gy << 32 | gx);
    uint64_t own = mix(cell ^ ((uint64_t)(c + 1) * 0x9E3779B97F4A7C15ULL));
    double u1 = (double)(cell & 0xFFFF) / 65535.0, u2 = (double)(cell >> 16 & 0xFFFF) / 65535.0;
    double u3 = (double)(cell >> 32 & 0xFFFF) / 65535.0, u4 = (double)(cell >> 48) / 65535.0;
    double v1 = (double)(own & 0xFFFF) / 65535.0, v2 = (double)(own >> 16 & 0xFFFF) / 65535.0;
    double v3 = (double)(own >> 32 & 0xFFFF) / 65535.0, v4 = (double)(own >> 48) / 65535.0;
    // Cells cluster: a slow wave over the grid decides where tissue is dense.
    double density = 0.5 + 0.45 * sin(gx * 0.11) * cos(gy * 0.07);
    double nucleus = 8 + 10 * u2;
    blob b = {.present = u1 < density};
    if (c == 0) {
        b.radius = nucleus;
        b.peak = 1400 + 2200 * v1;
    } else if (c == 1) {
        b.radius = 1.6 * nucleus + 4;
        b.peak = 500 + 900 * v1;
    } else {
        b.present = v1 < 0.3 * density;
        b.radius = 3 + 3 * v2;
        b.peak = 1800 + 2000 * v3;
        u3 = v4;
        u4 = v2 * 0.5 + v3 * 0.5;
    }
    // the cytoplasm's radius bounds where the cell can sit in its grid cell
    double margin = (c < 2 ? 1.6 * nucleus + 4 : b.radius) + 1;
    b.cx = gx * (double)PITCH + margin + (PITCH - 2 * margin) * u3;
    b.cy = gy * (double)PITCH + margin + (PITCH - 2 * margin) * u4;
    return b;
}

// One row of channel c, in 12-bit values.
static void make_row(int c, uint32_t y, uint32_t width, uint64_t *rng, uint16_t *row)
{
    double bg_y = cos(y / 1300.0 + c) * 0.5 + 0.5;
    uint32_t gy = y / PITCH;
    blob b = {0};
    uint32_t gx_current = UINT32_MAX;
    for (uint32_t x = 0; x < width; x++) {
        uint32_t gx = x / PITCH;
        if (gx != gx_current) {
            b = cell_blob(c, gx, gy);
            gx_current = gx;
        }
        double v = 60 + 50 * bg_y * (0.5 + 0.5 * sin(x / 1700.0 + 0.6 * c));
        if (b.present) {
            double dx = x - b.cx, dy = y - b.cy;
            double r2 = (dx * dx + dy * dy) / (b.radius * b.radius);
            if (r2 < 1) {
                double profile = (1 - r2) * (1 - r2);
                if (c == 1) {
                    profile = r2 > 0.35 ? profile * 1.8 : profile * 0.6;   // a ring
                }
                double texture = 0.85 + 0.15 * sin(x * 0.9 + y * 0.7 + b.cx);
                v += b.peak * profile * texture;
            }
        }
        // shot noise (gain 0.5 grey level a photon) and read noise of 6 grey levels
        double sigma = sqrt(0.5 * v + 36.0);
        v += sigma * normal_table[next_random(rng) >> 48];
        row[x] = v < 0 ? 0 : v > MAX_12BIT ? MAX_12BIT : (uint16_t)lround(v);
    }
}

static const char *const channel_names[] = {"DAPI", "FITC", "TRITC"};
// OME Color: RGBA as a signed 32-bit integer.
static const int32_t channel_colours[] = {0x0000FFFF, 0x00FF00FF, (int32_t)0xFF0000FFu};

static char *ome_xml(uint32_t w, uint32_t h, int channels, int bits)
{
    size_t cap = 1024 + (size_t)channels * 400;
    char *xml = malloc(cap);
    if (!xml) {
        return NULL;
    }
    int n = snprintf(xml, cap,
                     "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                     "<OME xmlns=\"http://www.openmicroscopy.org/Schemas/OME/2016-06\">"
                     "<Image ID=\"Image:0\" Name=\"micro-bench\"><Pixels ID=\"Pixels:0\" "
                     "DimensionOrder=\"XYZCT\" Type=\"uint%d\" SignificantBits=\"%d\" "
                     "SizeX=\"%u\" SizeY=\"%u\" SizeC=\"%d\" SizeZ=\"1\" SizeT=\"1\" "
                     "PhysicalSizeX=\"%g\" PhysicalSizeXUnit=\"\xC2\xB5m\" "
                     "PhysicalSizeY=\"%g\" PhysicalSizeYUnit=\"\xC2\xB5m\">",
                     bits, bits == 16 ? 12 : 8, w, h, channels, MICRONS_PER_PIXEL,
                     MICRONS_PER_PIXEL);
    for (int c = 0; c < channels; c++) {
        char name[32];
        if (c < 3) {
            snprintf(name, sizeof name, "%s", channel_names[c]);
        } else {
            snprintf(name, sizeof name, "Channel %d", c + 1);
        }
        n += snprintf(xml + n, cap - (size_t)n,
                      "<Channel ID=\"Channel:0:%d\" Name=\"%s\" SamplesPerPixel=\"1\" "
                      "Color=\"%d\"/>",
                      c, name, c < 3 ? channel_colours[c] : -1);
    }
    for (int c = 0; c < channels; c++) {
        n += snprintf(xml + n, cap - (size_t)n,
                      "<TiffData IFD=\"%d\" FirstC=\"%d\" FirstZ=\"0\" FirstT=\"0\" "
                      "PlaneCount=\"1\"/>",
                      c, c);
    }
    snprintf(xml + n, cap - (size_t)n, "</Pixels></Image></OME>");
    return xml;
}

static bool write_file(const char *path, uint32_t w, uint32_t h, int channels, int bits)
{
    uint64_t bytes = (uint64_t)w * h * (bits / 8) * channels;
    TIFF *tif = TIFFOpen(path, bytes > 3500000000ULL ? "w8" : "w");
    if (!tif) {
        return false;
    }
    char *xml = ome_xml(w, h, channels, bits);
    uint16_t *row16 = malloc(w * sizeof *row16);
    uint8_t *row8 = malloc(w);
    bool ok = xml && row16 && row8;
    uint64_t rng = 0x243F6A8885A308D3ULL;
    for (int c = 0; ok && c < channels; c++) {
        TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, w);
        TIFFSetField(tif, TIFFTAG_IMAGELENGTH, h);
        TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, bits);
        TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 1);
        TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_UINT);
        TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
        TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
        TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_NONE);
        TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, ROWS_PER_STRIP);
        TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, RESUNIT_CENTIMETER);
        TIFFSetField(tif, TIFFTAG_XRESOLUTION, 1e4 / MICRONS_PER_PIXEL);
        TIFFSetField(tif, TIFFTAG_YRESOLUTION, 1e4 / MICRONS_PER_PIXEL);
        if (c == 0) {
            TIFFSetField(tif, TIFFTAG_IMAGEDESCRIPTION, xml);
        }
        for (uint32_t y = 0; ok && y < h; y++) {
            make_row(c, y, w, &rng, row16);
            void *row = row16;
            if (bits == 8) {
                for (uint32_t x = 0; x < w; x++) {
                    row8[x] = (uint8_t)(row16[x] >> 4);
                }
                row = row8;
            }
            ok = TIFFWriteScanline(tif, row, y, 0) >= 0;
        }
        ok = ok && TIFFWriteDirectory(tif);
    }
    free(xml);
    free(row16);
    free(row8);
    TIFFClose(tif);
    return ok;
}

int main(int argc, char **argv)
{
    tool_begin(PROG);
    const char *out = NULL;
    long width = 8000, height = 8000, channels = 3, bits = 16;
    bool usage = false;
    for (int i = 1; i < argc && !usage; i++) {
        long *value = strcmp(argv[i], "--width") == 0      ? &width
                      : strcmp(argv[i], "--height") == 0   ? &height
                      : strcmp(argv[i], "--channels") == 0 ? &channels
                      : strcmp(argv[i], "--bits") == 0     ? &bits
                                                           : NULL;
        if (value && i + 1 < argc) {
            *value = strtol(argv[++i], NULL, 10);
        } else if (!value && !out && argv[i][0] != '-') {
            out = argv[i];
        } else {
            usage = true;
        }
    }
    if (usage || !out || width < 1 || height < 1 || width > 1000000 || height > 1000000 ||
        channels < 1 || channels > 64 || (bits != 8 && bits != 16)) {
        fprintf(stderr, "usage: " PROG " OUT.ome.tif [--width W] [--height H] [--channels C] "
                        "[--bits 8|16]\n");
        return 2;
    }
    TIFFSetErrorHandler(tool_keep_complaint);
    TIFFSetWarningHandler(NULL);
    make_noise_table();
    if (!write_file(out, (uint32_t)width, (uint32_t)height, (int)channels, (int)bits)) {
        return tool_fail(out, "cannot write");
    }
    return 0;
}
