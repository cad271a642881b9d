// SPDX-License-Identifier: Apache-2.0
/* s2d-jpeg-limit: the libjpeg-turbo limit of re-encoding a slide level, the benchmark's
 * reference (a). Each tile of one tiled-JPEG TIFF directory is read raw (TIFFReadRawTile),
 * made a complete JPEG the way the converter's reader makes it (s2d_jpeg_splice with the
 * JPEGTables and, for RGB samples, the Adobe marker), decoded with tjDecompress2 and
 * encoded with tjCompress2 at the converter's re-encoding settings. Nothing else happens:
 * no DICOM, no queue, no writing. Prints one JSON object on stdout (times of the tile
 * loop alone, CPU seconds from getrusage).
 *
 * usage: s2d-jpeg-limit SLIDE [--directory N] [--threads N] [--quality Q]
 *                              [--subsampling 420|444]
 * With N threads, thread t takes tiles t, t + N, t + 2N ... (so busy and empty regions are
 * shared evenly), each through its own TIFF handle. */
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <tiffio.h>
#include <time.h>
#include <turbojpeg.h>

#include "codec/bitstream.h"
#include "core/buf.h"

#define PROG "s2d-jpeg-limit"
#define MAX_THREADS 64

typedef struct settings {
    const char *path;
    int directory;
    int threads;
    int quality;               // the converter's default (s2d_convert_options_init): 90
    int subsamp;               // the converter's default: 4:2:0
} settings;

// What every thread needs to know about the directory, read once.
typedef struct level {
    uint32_t width, height, tile_w, tile_h, ntiles;
    uint8_t *tables;           // JPEGTables, or NULL
    uint32_t tables_len;
    bool rgb;                  // samples are R, G, B: splice the Adobe transform-0 marker
} level;

typedef struct worker {
    const settings *set;
    const level *lv;
    int index;
    pthread_t thread;
    uint64_t tiles, raw_bytes, out_bytes;
    char error[256];
} worker;

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

static TIFF *open_directory(const settings *set, char *error, size_t error_len)
{
    TIFF *tif = TIFFOpen(set->path, "rm");
    if (!tif) {
        snprintf(error, error_len, "cannot open as TIFF");
        return NULL;
    }
    if (!TIFFSetDirectory(tif, (tdir_t)set->directory)) {
        snprintf(error, error_len, "no TIFF directory %d", set->directory);
        TIFFClose(tif);
        return NULL;
    }
    return tif;
}

// Reads the level's geometry and tables, and decides the colour coding from the first tile
// exactly as the converter's reader does (bitstream markers first, the TIFF tag last).
static bool probe(const settings *set, level *lv, char *error, size_t error_len)
{
    TIFF *tif = open_directory(set, error, error_len);
    if (!tif) {
        return false;
    }
    uint16_t compression = 0, photometric = PHOTOMETRIC_RGB;
    TIFFGetField(tif, TIFFTAG_COMPRESSION, &compression);
    TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric);
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &lv->width);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &lv->height);
    bool ok = TIFFIsTiled(tif) && compression == COMPRESSION_JPEG &&
              TIFFGetField(tif, TIFFTAG_TILEWIDTH, &lv->tile_w) &&
              TIFFGetField(tif, TIFFTAG_TILELENGTH, &lv->tile_h) && lv->tile_w > 0 &&
              lv->tile_h > 0 && lv->tile_w <= 8192 && lv->tile_h <= 8192;
    if (!ok) {
        snprintf(error, error_len, "directory %d is not a tiled JPEG image", set->directory);
        TIFFClose(tif);
        return false;
    }
    lv->ntiles = TIFFNumberOfTiles(tif);
    uint32_t n = 0;
    void *tables = NULL;
    if (TIFFGetField(tif, TIFFTAG_JPEGTABLES, &n, &tables) && tables && n >= 4) {
        lv->tables = malloc(n);
        if (!lv->tables) {
            snprintf(error, error_len, "out of memory");
            TIFFClose(tif);
            return false;
        }
        memcpy(lv->tables, tables, n);
        lv->tables_len = n;
    }
    s2d_buf raw = {0}, whole = {0};
    uint64_t *counts = NULL;
    ok = TIFFGetField(tif, TIFFTAG_TILEBYTECOUNTS, &counts) && counts && lv->ntiles > 0 &&
         counts[0] > 0 && s2d_buf_reserve(&raw, (size_t)counts[0]);
    ok = ok && TIFFReadRawTile(tif, 0, raw.data, (tmsize_t)counts[0]) == (tmsize_t)counts[0];
    raw.len = ok ? (size_t)counts[0] : 0;
    s2d_jpeg_facts facts;
    ok = ok && s2d_jpeg_splice(lv->tables, lv->tables_len, raw.data, raw.len, false, &whole) &&
         s2d_jpeg_parse(whole.data, whole.len, &facts);
    if (ok) {
        lv->rgb = s2d_jpeg_is_rgb(&facts, photometric == PHOTOMETRIC_RGB);
    } else {
        snprintf(error, error_len, "the first tile of directory %d is no JPEG", set->directory);
    }
    s2d_buf_free(&raw);
    s2d_buf_free(&whole);
    TIFFClose(tif);
    return ok;
}

static void *worker_main(void *arg)
{
    worker *wk = arg;
    const level *lv = wk->lv;
    const settings *set = wk->set;
    TIFF *tif = open_directory(set, wk->error, sizeof wk->error);
    tjhandle dec = tjInitDecompress(), enc = tjInitCompress();
    size_t pixels_len = (size_t)lv->tile_w * lv->tile_h * 3;
    unsigned long out_cap = tjBufSize((int)lv->tile_w, (int)lv->tile_h, set->subsamp);
    uint8_t *pixels = malloc(pixels_len);
    unsigned char *out = tjAlloc((int)out_cap);
    s2d_buf raw = {0}, whole = {0};
    uint64_t *counts = NULL;
    if (!tif || !dec || !enc || !pixels || !out ||
        !TIFFGetField(tif, TIFFTAG_TILEBYTECOUNTS, &counts) || !counts) {
        if (!wk->error[0]) {
            snprintf(wk->error, sizeof wk->error, "cannot start (out of memory?)");
        }
        goto out;
    }
    for (uint32_t i = (uint32_t)wk->index; i < lv->ntiles; i += (uint32_t)set->threads) {
        raw.len = 0;
        whole.len = 0;
        if (counts[i] == 0 || counts[i] > (64u << 20) || !s2d_buf_reserve(&raw, counts[i]) ||
            TIFFReadRawTile(tif, i, raw.data, (tmsize_t)counts[i]) != (tmsize_t)counts[i]) {
            snprintf(wk->error, sizeof wk->error, "tile %u cannot be read", i);
            goto out;
        }
        raw.len = (size_t)counts[i];
        if (!s2d_jpeg_splice(lv->tables, lv->tables_len, raw.data, raw.len, lv->rgb, &whole) ||
            tjDecompress2(dec, whole.data, (unsigned long)whole.len, pixels, (int)lv->tile_w, 0,
                          (int)lv->tile_h, TJPF_RGB, 0) != 0) {
            snprintf(wk->error, sizeof wk->error, "tile %u does not decode: %s", i,
                     tjGetErrorStr2(dec));
            goto out;
        }
        unsigned long out_len = out_cap;
        if (tjCompress2(enc, pixels, (int)lv->tile_w, 0, (int)lv->tile_h, TJPF_RGB, &out,
                        &out_len, set->subsamp, set->quality, TJFLAG_NOREALLOC) != 0) {
            snprintf(wk->error, sizeof wk->error, "tile %u does not encode: %s", i,
                     tjGetErrorStr2(enc));
            goto out;
        }
        wk->tiles++;
        wk->raw_bytes += raw.len;
        wk->out_bytes += out_len;
    }
out:
    s2d_buf_free(&raw);
    s2d_buf_free(&whole);
    tjFree(out);
    free(pixels);
    if (enc) {
        tjDestroy(enc);
    }
    if (dec) {
        tjDestroy(dec);
    }
    if (tif) {
        TIFFClose(tif);
    }
    return NULL;
}

static int usage(void)
{
    fprintf(stderr, "usage: " PROG " SLIDE [--directory N] [--threads N] [--quality Q] "
                    "[--subsampling 420|444]\n");
    return 2;
}

static bool parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || end == s || *end || v < lo || v > hi) {
        return false;
    }
    *out = (int)v;
    return true;
}

static bool parse_args(int argc, char **argv, settings *set)
{
    *set = (settings){.threads = 1, .quality = 90, .subsamp = TJSAMP_420};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int sub = 0;
        if (!strcmp(a, "--directory")) {
            if (!parse_int(v, 0, 1 << 16, &set->directory)) {
                return false;
            }
        } else if (!strcmp(a, "--threads")) {
            if (!parse_int(v, 1, MAX_THREADS, &set->threads)) {
                return false;
            }
        } else if (!strcmp(a, "--quality")) {
            if (!parse_int(v, 1, 100, &set->quality)) {
                return false;
            }
        } else if (!strcmp(a, "--subsampling")) {
            if (!parse_int(v, 420, 444, &sub) || (sub != 420 && sub != 444)) {
                return false;
            }
            set->subsamp = sub == 444 ? TJSAMP_444 : TJSAMP_420;
        } else if (a[0] != '-' && !set->path) {
            set->path = a;
            continue;
        } else {
            return false;
        }
        i++;
    }
    return set->path != NULL;
}

int main(int argc, char **argv)
{
    settings set;
    if (!parse_args(argc, argv, &set)) {
        return usage();
    }
    TIFFSetWarningHandler(NULL);   // Aperio's private tags are no news
    TIFFSetErrorHandler(NULL);     // failures are reported below, on one line
    level lv = {0};
    char error[256] = "";
    if (!probe(&set, &lv, error, sizeof error)) {
        fprintf(stderr, PROG ": %s: %s\n", set.path, error);
        free(lv.tables);
        return 1;
    }

    worker workers[MAX_THREADS];
    memset(workers, 0, sizeof workers);
    double cpu0 = cpu_s(), t0 = now_s();
    int started = 0;
    for (; started < set.threads; started++) {
        workers[started] = (worker){.set = &set, .lv = &lv, .index = started};
        if (pthread_create(&workers[started].thread, NULL, worker_main, &workers[started])) {
            snprintf(error, sizeof error, "cannot start thread %d", started);
            break;
        }
    }
    uint64_t tiles = 0, raw_bytes = 0, out_bytes = 0;
    for (int t = 0; t < started; t++) {
        pthread_join(workers[t].thread, NULL);
        tiles += workers[t].tiles;
        raw_bytes += workers[t].raw_bytes;
        out_bytes += workers[t].out_bytes;
        if (workers[t].error[0] && !error[0]) {
            snprintf(error, sizeof error, "%s", workers[t].error);
        }
    }
    double wall = now_s() - t0, cpu = cpu_s() - cpu0;
    free(lv.tables);
    if (error[0]) {
        fprintf(stderr, PROG ": %s: %s\n", set.path, error);
        return 1;
    }
    // Megapixels are the level's, as in the converter's report; the tiles cover its edges.
    double mp = (double)lv.width * lv.height / 1e6;
    json_t *o = json_pack("{s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:i, s:i, s:s, "
                          "s:f, s:f, s:f, s:f, s:f}",
                          "slide", set.path, "directory", set.directory,
                          "width", (json_int_t)lv.width, "height", (json_int_t)lv.height,
                          "tile_width", (json_int_t)lv.tile_w,
                          "tile_height", (json_int_t)lv.tile_h, "tiles", (json_int_t)tiles,
                          "megapixels", mp, "raw_bytes", (json_int_t)raw_bytes,
                          "encoded_bytes", (json_int_t)out_bytes, "threads", set.threads,
                          "quality", set.quality,
                          "subsampling", set.subsamp == TJSAMP_444 ? "444" : "420",
                          "wall_s", wall, "cpu_s", cpu, "mp_per_s", wall > 0 ? mp / wall : 0.0,
                          "mp_per_cpu_s", cpu > 0 ? mp / cpu : 0.0,
                          "tiles_per_s", wall > 0 ? (double)tiles / wall : 0.0);
    bool printed = o && json_dumpf(o, stdout, JSON_COMPACT) == 0 && puts("") >= 0;
    json_decref(o);
    if (!printed) {
        fprintf(stderr, PROG ": cannot write the result\n");
        return 1;
    }
    return 0;
}
