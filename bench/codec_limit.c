// SPDX-License-Identifier: Apache-2.0
/* s2d-codec-limit: the reference of the lossless-codec benchmark (issue 16: "JPEG-LS
 * against CharLS encoding the same frames alone"). Every page of a plain TIFF (the main
 * directory chain, reduced-resolution copies skipped) that is 8- or 16-bit grey or 8-bit
 * RGB, interleaved and unsigned, is read whole with libtiff, one page at a time, and encoded
 * as one frame, as the converter encodes a page. Only the encoding is timed; reading is not.
 *
 *   default        CharLS alone (charls_jpegls_encoder_*), lossless, at the precision the
 *                  converter hands the codec (the page's bits per sample: a 16-bit page is
 *                  coded at 16 bits, its Bits Stored fitted only afterwards), RGB
 *                  line-interleaved: the reference;
 *   --via-table C  the same frames through the codec table's entry C (rle, jpeg-ls, j2k),
 *                  to tell the entry's own cost from the library's.
 *
 * Prints one JSON object on stdout: pages encoded and skipped, bytes in and out, the best
 * wall and CPU seconds of --repeat runs (default 3), MB/s of input.
 *
 * usage: s2d-codec-limit TIFF [--via-table rle|jpeg-ls|j2k] [--repeat N] */
#include <charls/charls.h>
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

#define PROG "s2d-codec-limit"

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

typedef struct totals {
    int pages, skipped;
    uint64_t in_bytes, out_bytes;
    double wall, cpu;   // of the encoding alone
} totals;

// Reads the current directory whole into *pixels (grown as needed); false for a page this
// benchmark does not take (then *d is not filled).
static bool read_page(TIFF *tif, s2d_pixdesc *d, uint8_t **pixels, size_t *cap)
{
    uint32_t w = 0, h = 0, subfile = 0;
    uint16_t spp = 1, bps = 1, planar = PLANARCONFIG_CONTIG, format = SAMPLEFORMAT_UINT;
    uint16_t photometric = PHOTOMETRIC_MINISBLACK;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bps);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &format);
    TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric);
    TIFFGetField(tif, TIFFTAG_SUBFILETYPE, &subfile);
    bool grey = spp == 1 && (bps == 8 || bps == 16) && photometric == PHOTOMETRIC_MINISBLACK;
    bool rgb = spp == 3 && bps == 8 && photometric == PHOTOMETRIC_RGB;
    if ((subfile & FILETYPE_REDUCEDIMAGE) || !(grey || rgb) || planar != PLANARCONFIG_CONTIG ||
        format != SAMPLEFORMAT_UINT || TIFFIsTiled(tif) || w == 0 || h == 0) {
        return false;
    }
    size_t row = (size_t)w * spp * (bps / 8), need = row * h;
    if (need > *cap) {
        uint8_t *grown = realloc(*pixels, need);
        if (!grown) {
            return false;
        }
        *pixels = grown;
        *cap = need;
    }
    for (uint32_t y = 0; y < h; y++) {
        if (TIFFReadScanline(tif, *pixels + y * row, y, 0) < 0) {
            return false;
        }
    }
    *d = (s2d_pixdesc){.width = w, .height = h, .samples = spp, .bits_allocated = bps,
                       .bits_stored = bps,
                       .colour = rgb ? S2D_COLOUR_RGB : S2D_COLOUR_MONO_MIN_IS_BLACK};
    return true;
}

// CharLS alone: one encoder made, configured and run per frame, as its API is meant.
static bool charls_encode(const s2d_pixdesc *d, const uint8_t *pixels, uint8_t **out,
                          size_t *cap, size_t *len)
{
    size_t raw = s2d_pixdesc_row_bytes(d) * d->height, need = raw + raw / 2 + 4096;
    if (need > *cap) {
        uint8_t *grown = realloc(*out, need);
        if (!grown) {
            return false;
        }
        *out = grown;
        *cap = need;
    }
    charls_jpegls_encoder *enc = charls_jpegls_encoder_create();
    charls_frame_info info = {.width = d->width, .height = d->height,
                              .bits_per_sample = d->bits_allocated == 8 ? 8 : d->bits_stored,
                              .component_count = d->samples};
    bool ok = enc && !charls_jpegls_encoder_set_frame_info(enc, &info) &&
              (d->samples == 1 ||
               !charls_jpegls_encoder_set_interleave_mode(enc, CHARLS_INTERLEAVE_MODE_LINE)) &&
              !charls_jpegls_encoder_set_destination_buffer(enc, *out, *cap) &&
              !charls_jpegls_encoder_encode_from_buffer(enc, pixels, raw, 0) &&
              !charls_jpegls_encoder_get_bytes_written(enc, len);
    charls_jpegls_encoder_destroy(enc);
    return ok;
}

static const s2d_codec *table_codec(const char *name)
{
    static const struct {
        const char *name;
        const s2d_codec *codec;
    } names[] = {{"rle", &s2d_codec_rle},
                 {"jpeg-ls", &s2d_codec_jpeg_ls},
                 {"j2k", &s2d_codec_jpeg2000_lossless}};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        if (strcmp(names[i].name, name) == 0) {
            return names[i].codec;
        }
    }
    return NULL;
}

// One pass over the file's pages; the encoding of each timed into t.
static bool run(const char *path, const s2d_codec *via, totals *t)
{
    TIFF *tif = TIFFOpen(path, "r");
    if (!tif) {
        fprintf(stderr, PROG ": %s: cannot open as TIFF\n", path);
        return false;
    }
    uint8_t *pixels = NULL, *out = NULL;
    size_t pixels_cap = 0, out_cap = 0;
    bool ok = true;
    *t = (totals){0};
    do {
        s2d_pixdesc d;
        if (!read_page(tif, &d, &pixels, &pixels_cap)) {
            t->skipped++;
            continue;
        }
        size_t len = 0;
        double wall = now_s(), cpu = cpu_s();
        if (via) {
            s2d_error err = {0};
            const uint8_t *frame;
            void *enc = via->accepts(&d) ? via->enc_new(&d, &(s2d_codec_opts){0}, &err) : NULL;
            ok = enc && via->encode(enc, pixels, s2d_pixdesc_row_bytes(&d), &frame, &len, &err);
            if (enc) {
                via->enc_free(enc);
            }
        } else {
            ok = charls_encode(&d, pixels, &out, &out_cap, &len);
        }
        t->wall += now_s() - wall;
        t->cpu += cpu_s() - cpu;
        if (!ok) {
            fprintf(stderr, PROG ": %s: page %d does not encode\n", path, t->pages + t->skipped);
            break;
        }
        t->pages++;
        t->in_bytes += s2d_pixdesc_row_bytes(&d) * d.height;
        t->out_bytes += len;
    } while (TIFFReadDirectory(tif));
    TIFFClose(tif);
    free(pixels);
    free(out);
    return ok && t->pages > 0;
}

int main(int argc, char **argv)
{
    const char *path = NULL, *via_name = NULL;
    int repeat = 3;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--via-table") == 0 && i + 1 < argc) {
            via_name = argv[++i];
        } else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            repeat = atoi(argv[++i]);
        } else if (!path && argv[i][0] != '-') {
            path = argv[i];
        } else {
            path = NULL;
            break;
        }
    }
    const s2d_codec *via = via_name ? table_codec(via_name) : NULL;
    if (!path || repeat < 1 || (via_name && !via)) {
        fprintf(stderr, "usage: " PROG " TIFF [--via-table rle|jpeg-ls|j2k] [--repeat N]\n");
        return 2;
    }
    TIFFSetWarningHandler(NULL);
    totals best = {0};
    for (int r = 0; r < repeat; r++) {
        totals t;
        if (!run(path, via, &t)) {
            return 1;
        }
        if (r == 0 || t.wall < best.wall) {
            best = t;
        }
    }
    json_t *o = json_pack("{s:s, s:s, s:i, s:i, s:I, s:I, s:f, s:f, s:f}", "tool",
                          via ? via->name : "CharLS alone", "file", path, "pages", best.pages,
                          "skipped", best.skipped, "in_bytes", (json_int_t)best.in_bytes,
                          "out_bytes", (json_int_t)best.out_bytes, "seconds", best.wall,
                          "cpu_seconds", best.cpu, "mb_per_s",
                          best.wall > 0 ? (double)best.in_bytes / 1e6 / best.wall : 0.0);
    if (!o || json_dumpf(o, stdout, JSON_INDENT(2)) != 0) {
        return 1;
    }
    putchar('\n');
    json_decref(o);
    return 0;
}
