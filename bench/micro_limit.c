// SPDX-License-Identifier: Apache-2.0
/* s2d-micro-limit: the limit loop of the microscopy benchmark (issue 17: "MP/s per core for
 * each candidate, the limit loop of the codec alone"). Cuts --tiles whole tile x tile tiles
 * of one page of a grey TIFF (8 or 16 bits, read with libtiff from the middle of the page
 * down, wrapping to the top), holds them in memory and encodes them all, one after the
 * other on one thread, through one encoder of the codec table's entry, as a worker of the
 * converter does: --repeat times, the fastest pass kept. Only the encoding is timed.
 *
 * The pixels are described as the converter describes a microscopy plane (MONOCHROME2,
 * unsigned, Bits Stored = bits allocated: 8 or 16 whatever the significant bits);
 * --bits-stored says otherwise (to see what a narrower precision would gain).
 *
 * Prints one JSON object on stdout: codec, tiles, megapixels and bytes encoded a pass, the
 * fastest pass's wall and CPU seconds, MP/s (per core: one thread), compression ratio.
 *
 * usage: s2d-micro-limit TIFF --codec j2k|jpeg-ls|native [--tiles N] [--repeat N]
 *            [--page P] [--tile T] [--bits-stored B] */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <tiffio.h>
#include <time.h>

#include "codec/codec.h"

#define PROG "s2d-micro-limit"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static const s2d_codec *table_codec(const char *name)
{
    static const struct {
        const char *name;
        const s2d_codec *codec;
    } names[] = {{"j2k", &s2d_codec_jpeg2000_lossless},
                 {"jpeg-ls", &s2d_codec_jpeg_ls},
                 {"native", &s2d_codec_native}};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        if (strcmp(names[i].name, name) == 0) {
            return names[i].codec;
        }
    }
    return NULL;
}

typedef struct tiles {
    s2d_pixdesc desc;   // of one tile
    int count;
    uint8_t *pixels;    // count tiles one after the other, each tightly packed; owned
} tiles;

/* Cuts t->count tiles of side `side` from page `page` of the TIFF into t (pixels owned by
 * t, freed by the caller). Bands of `side` rows are read from the middle of the page down,
 * then from the top; each band gives its whole tiles left to right. */
static bool cut_tiles(const char *path, int page, uint32_t side, tiles *t)
{
    TIFF *tif = TIFFOpen(path, "r");
    if (!tif) {
        fprintf(stderr, PROG ": %s: cannot open as TIFF\n", path);
        return false;
    }
    uint32_t w = 0, h = 0;
    uint16_t spp = 1, bps = 1, format = SAMPLEFORMAT_UINT;
    bool ok = TIFFSetDirectory(tif, (tdir_t)page) &&
              TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w) &&
              TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bps);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &format);
    if (!ok || spp != 1 || (bps != 8 && bps != 16) || format != SAMPLEFORMAT_UINT ||
        TIFFIsTiled(tif) || w < side || h < side) {
        fprintf(stderr, PROG ": %s: page %d is not an untiled 8/16-bit grey page of at least "
                        "%u x %u\n", path, page, side, side);
        TIFFClose(tif);
        return false;
    }
    size_t sample = bps / 8, row_bytes = (size_t)w * sample, tile_bytes = side * side * sample;
    uint32_t across = w / side, bands = h / side, band = bands / 2;
    uint8_t *rows = malloc(row_bytes * side);
    t->pixels = malloc(tile_bytes * (size_t)t->count);
    ok = rows && t->pixels;
    for (int n = 0; ok && n < t->count; band = (band + 1) % bands) {
        for (uint32_t y = 0; ok && y < side; y++) {
            ok = TIFFReadScanline(tif, rows + y * row_bytes, band * side + y, 0) >= 0;
        }
        for (uint32_t x = 0; ok && x < across && n < t->count; x++, n++) {
            uint8_t *tile = t->pixels + tile_bytes * (size_t)n;
            for (uint32_t y = 0; y < side; y++) {
                memcpy(tile + y * side * sample, rows + y * row_bytes + x * side * sample,
                       side * sample);
            }
        }
    }
    free(rows);
    TIFFClose(tif);
    if (!ok) {
        fprintf(stderr, PROG ": %s: page %d does not read\n", path, page);
        return false;
    }
    t->desc = (s2d_pixdesc){.width = side, .height = side, .samples = 1,
                            .bits_allocated = bps, .bits_stored = bps,
                            .colour = S2D_COLOUR_MONO_MIN_IS_BLACK};
    return true;
}

typedef struct pass {
    double wall, cpu;
    uint64_t out_bytes;
} pass;

// Every tile through one encoder of the codec; the encoding alone timed.
static bool encode_all(const s2d_codec *codec, const tiles *t, pass *p)
{
    s2d_error err = {0};
    void *enc = codec->enc_new(&t->desc, &(s2d_codec_opts){0}, &err);
    if (!enc) {
        fprintf(stderr, PROG ": %s: no encoder: %s\n", codec->name, err.message);
        return false;
    }
    size_t stride = s2d_pixdesc_row_bytes(&t->desc), tile_bytes = stride * t->desc.height;
    bool ok = true;
    *p = (pass){0};
    double wall = now_s(), cpu = cpu_s();
    for (int n = 0; ok && n < t->count; n++) {
        const uint8_t *frame;
        size_t len = 0;
        ok = codec->encode(enc, t->pixels + tile_bytes * (size_t)n, stride, &frame, &len, &err);
        p->out_bytes += len;
    }
    p->wall = now_s() - wall;
    p->cpu = cpu_s() - cpu;
    codec->enc_free(enc);
    if (!ok) {
        fprintf(stderr, PROG ": %s: a tile does not encode: %s\n", codec->name, err.message);
    }
    return ok;
}

int main(int argc, char **argv)
{
    const char *path = NULL, *codec_name = NULL;
    long count = 200, repeat = 3, page = 0, side = 256, bits_stored = 0;
    bool usage = false;
    for (int i = 1; i < argc && !usage; i++) {
        long *value = strcmp(argv[i], "--tiles") == 0         ? &count
                      : strcmp(argv[i], "--repeat") == 0      ? &repeat
                      : strcmp(argv[i], "--page") == 0        ? &page
                      : strcmp(argv[i], "--tile") == 0        ? &side
                      : strcmp(argv[i], "--bits-stored") == 0 ? &bits_stored
                                                              : NULL;
        if (value && i + 1 < argc) {
            *value = strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--codec") == 0 && i + 1 < argc) {
            codec_name = argv[++i];
        } else if (!value && !path && argv[i][0] != '-') {
            path = argv[i];
        } else {
            usage = true;
        }
    }
    const s2d_codec *codec = codec_name ? table_codec(codec_name) : NULL;
    if (usage || !path || !codec || count < 1 || count > 100000 || repeat < 1 || page < 0 ||
        side < 16 || side > 4096 || bits_stored < 0) {
        fprintf(stderr, "usage: " PROG " TIFF --codec j2k|jpeg-ls|native [--tiles N] "
                        "[--repeat N] [--page P] [--tile T] [--bits-stored B]\n");
        return 2;
    }
    TIFFSetWarningHandler(NULL);
    tiles t = {.count = (int)count};
    if (!cut_tiles(path, (int)page, (uint32_t)side, &t)) {
        free(t.pixels);
        return 1;
    }
    if (bits_stored > 0) {
        t.desc.bits_stored = (uint16_t)bits_stored;
    }
    if (!codec->accepts(&t.desc)) {
        fprintf(stderr, PROG ": %s does not take %u-bit tiles of Bits Stored %u\n", codec->name,
                t.desc.bits_allocated, t.desc.bits_stored);
        free(t.pixels);
        return 1;
    }
    pass best = {0};
    for (long r = 0; r < repeat; r++) {
        pass p;
        if (!encode_all(codec, &t, &p)) {
            free(t.pixels);
            return 1;
        }
        if (r == 0 || p.wall < best.wall) {
            best = p;
        }
    }
    free(t.pixels);
    double megapixels = (double)t.count * (double)side * (double)side / 1e6;
    uint64_t in_bytes =
        (uint64_t)t.count * (uint64_t)(side * side) * (t.desc.bits_allocated / 8);
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:f, s:I, s:I, s:f, s:f, s:f, s:f}", "codec",
        codec_name, "entry", codec->name, "file", path, "bits_allocated",
        (int)t.desc.bits_allocated, "bits_stored", (int)t.desc.bits_stored, "tile", (int)side,
        "tiles", t.count, "megapixels", megapixels, "in_bytes", (json_int_t)in_bytes,
        "out_bytes", (json_int_t)best.out_bytes, "seconds", best.wall, "cpu_seconds", best.cpu,
        "mp_per_s", best.wall > 0 ? megapixels / best.wall : 0.0, "compression",
        best.out_bytes > 0 ? (double)in_bytes / (double)best.out_bytes : 0.0);
    if (!o || json_dumpf(o, stdout, JSON_INDENT(2)) != 0) {
        return 1;
    }
    putchar('\n');
    json_decref(o);
    return 0;
}
