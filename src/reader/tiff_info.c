/* Facts OpenSlide 3.4.1 does not expose, read with libtiff: the ICC profile (tag 34675) and
 * the compression and size of the first image, for the Lossy Image Compression history. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

#include "reader/reader.h"

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void quiet_handlers(void)
{
    // libtiff prints to stderr by default; we report problems ourselves, once, per file.
    TIFFSetErrorHandler(NULL);
    TIFFSetWarningHandler(NULL);
}

static TIFF *open_quiet(const char *path)
{
    pthread_once(&quiet_once, quiet_handlers);
    return TIFFOpen(path, "rm");
}

bool s2d_tiff_info_is_tiff(const char *path, bool *tiled)
{
    TIFF *tif = open_quiet(path);
    if (!tif) {
        return false;
    }
    *tiled = TIFFIsTiled(tif) != 0;
    TIFFClose(tif);
    return true;
}

static void describe_directory(TIFF *tif, s2d_source_compression *out)
{
    uint32_t w = 0, h = 0;
    uint16_t compression = COMPRESSION_NONE, spp = 3, bps = 8;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetField(tif, TIFFTAG_COMPRESSION, &compression);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bps);
    out->width = w;
    out->height = h;
    switch (compression) {
    case COMPRESSION_JPEG:
    case COMPRESSION_OJPEG:
        out->lossy = true;
        strcpy(out->method, "ISO_10918_1");
        break;
    case 33003:   // Aperio JPEG 2000 YCbCr
    case 33005:   // Aperio JPEG 2000 RGB
    case 34712:   // JPEG 2000
        out->lossy = true;
        strcpy(out->method, "ISO_15444_1");
        break;
    default:
        return;
    }
    bool tiled = TIFFIsTiled(tif);
    uint32_t n = tiled ? TIFFNumberOfTiles(tif) : TIFFNumberOfStrips(tif);
    uint64_t *counts = NULL;
    if (TIFFGetField(tif, tiled ? TIFFTAG_TILEBYTECOUNTS : TIFFTAG_STRIPBYTECOUNTS, &counts) &&
        counts) {
        uint64_t total = 0;
        for (uint32_t i = 0; i < n; i++) {
            total += counts[i];
        }
        if (total) {
            out->ratio = (double)w * h * spp * (bps / 8.0) / (double)total;
        }
    }
}

void s2d_tiff_info_read(const char *path, s2d_slide_meta *meta)
{
    TIFF *tif = open_quiet(path);
    if (!tif) {
        return;
    }
    uint32_t icc_len = 0;
    void *icc = NULL;
    if (TIFFGetField(tif, TIFFTAG_ICCPROFILE, &icc_len, &icc) && icc_len > 0 && icc) {
        meta->icc_profile = malloc(icc_len);
        if (meta->icc_profile) {
            memcpy(meta->icc_profile, icc, icc_len);
            meta->icc_profile_len = icc_len;
        }
    }
    do {
        describe_directory(tif, &meta->source_images[meta->nsource_images++]);
    } while (meta->nsource_images < S2D_MAX_SOURCE_IMAGES && TIFFReadDirectory(tif));
    TIFFClose(tif);
}

const s2d_source_compression *s2d_slide_meta_compression(const s2d_slide_meta *meta,
                                                         int64_t width, int64_t height)
{
    for (int i = 0; i < meta->nsource_images; i++) {
        const s2d_source_compression *c = &meta->source_images[i];
        if (c->width == width && c->height == height) {
            return c;
        }
    }
    return NULL;
}
