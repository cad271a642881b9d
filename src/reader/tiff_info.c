/* Facts OpenSlide 3.4.1 does not expose, read with libtiff: the ICC profile (tag 34675) and
 * the compression and size of the first image, for the Lossy Image Compression history. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

#include "reader/reader_impl.h"

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void quiet_handlers(void)
{
    // libtiff prints to stderr by default; we report problems ourselves, once, per file.
    TIFFSetErrorHandler(NULL);
    TIFFSetWarningHandler(NULL);
}

TIFF *s2d_tiff_open_quiet(const char *path)
{
    pthread_once(&quiet_once, quiet_handlers);
    // D: a directory's tile and strip arrays are read when first asked for, not whenever
    // the directory is passed (level 0 of a large slide holds hundreds of kilobytes).
    return TIFFOpen(path, "rmD");
}

// What is wrong with where the current directory's strips or tiles are, or NULL: their
// tables cannot be read (libtiff reads them when first asked for), or one lies past the
// end of the file.
static const char *data_problem(TIFF *tif, uint64_t file_size)
{
    bool tiled = TIFFIsTiled(tif);
    uint32_t n = tiled ? TIFFNumberOfTiles(tif) : TIFFNumberOfStrips(tif);
    uint64_t *offsets = NULL, *counts = NULL;
    if (!TIFFGetField(tif, tiled ? TIFFTAG_TILEOFFSETS : TIFFTAG_STRIPOFFSETS, &offsets) ||
        !TIFFGetField(tif, tiled ? TIFFTAG_TILEBYTECOUNTS : TIFFTAG_STRIPBYTECOUNTS, &counts) ||
        !offsets || !counts) {
        return n > 0 ? "its tile or strip offsets cannot be read" : NULL;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (offsets[i] > file_size || counts[i] > file_size - offsets[i]) {
            return "its image data lies past the end of the file";
        }
    }
    return NULL;
}

// True when the file starts like a TIFF or BigTIFF (either byte order); *size is its length.
static bool tiff_magic(const char *path, uint64_t *size)
{
    uint8_t magic[4] = {0};
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(magic, 1, sizeof magic, f) : 0;
    *size = 0;
    if (f && fseeko(f, 0, SEEK_END) == 0) {
        *size = (uint64_t)ftello(f);
    }
    if (f) {
        fclose(f);
    }
    return got == 4 && ((magic[0] == 'I' && magic[1] == 'I' && (magic[2] == 42 || magic[2] == 43)) ||
                        (magic[0] == 'M' && magic[1] == 'M' && (magic[3] == 42 || magic[3] == 43)));
}

bool s2d_is_tiff(const char *path)
{
    uint64_t size;
    return tiff_magic(path, &size);
}

// Walks every IFD. @return true with a reason when the file is damaged or truncated: an
// IFD that cannot be read, or image data past the end of the file. *tiled: IFD 0 is tiled.
static bool tiff_damage(const char *path, uint64_t size, char *reason, size_t n, bool *tiled)
{
    TIFF *tif = s2d_tiff_open_quiet(path);
    *tiled = false;
    if (!tif) {
        snprintf(reason, n, "a damaged or truncated TIFF: its first IFD cannot be read");
        return true;
    }
    *tiled = TIFFIsTiled(tif);
    int dir = 0;
    const char *problem = NULL;
    bool broken_chain = false;
    for (;;) {
        if ((problem = data_problem(tif, size)) != NULL || TIFFLastDirectory(tif)) {
            break;
        }
        if (++dir >= 1000 || !TIFFReadDirectory(tif)) {
            broken_chain = true;   // a next directory is announced but cannot be read
            break;
        }
    }
    TIFFClose(tif);
    if (problem) {
        snprintf(reason, n, "a damaged or truncated TIFF: IFD %d: %s", dir, problem);
    } else if (broken_chain) {
        snprintf(reason, n, "a damaged or truncated TIFF: IFD %d cannot be read", dir);
    }
    return problem || broken_chain;
}

bool s2d_tiff_info_damaged(const char *path, char *reason, size_t n)
{
    uint64_t size;
    bool tiled;
    return tiff_magic(path, &size) && tiff_damage(path, size, reason, n, &tiled);
}

bool s2d_tiff_info_diagnose(const char *path, char *reason, size_t n)
{
    uint64_t size;
    bool tiled;
    if (!tiff_magic(path, &size)) {
        return false;
    }
    if (tiff_damage(path, size, reason, n, &tiled)) {
        return true;
    }
    if (!tiled) {
        snprintf(reason, n, "a plain (stripped) TIFF, not a whole-slide image; plain TIFFs are "
                 "not supported yet");
    } else {
        snprintf(reason, n, "a tiled TIFF that is not a slide format we read (neither "
                 "OpenSlide's nor JPEG or JPEG 2000 tiles to copy)");
    }
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
    TIFF *tif = s2d_tiff_open_quiet(path);
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

const char *s2d_tiff_info_known_vendor(const char *path)
{
    TIFF *tif = s2d_is_tiff(path) ? s2d_tiff_open_quiet(path) : NULL;
    if (!tif) {
        return NULL;
    }
    const char *description = NULL, *software = NULL;
    uint32_t xmp_len = 0;
    void *xmp = NULL;
    // Tag 65420 is not libtiff's: it has a field description only if the directory has it.
    // OpenSlide tries NDPI right after the formats that are not TIFF files.
    bool ndpi = TIFFFindField(tif, 65420, TIFF_ANY) != NULL;
    bool aperio = !ndpi && TIFFIsTiled(tif) &&
                  TIFFGetField(tif, TIFFTAG_IMAGEDESCRIPTION, &description) && description &&
                  strncmp(description, "Aperio", 6) == 0 &&
                  !(TIFFGetField(tif, TIFFTAG_SOFTWARE, &software) && software &&
                    strncmp(software, "MedScan", 7) == 0) &&
                  !TIFFGetField(tif, TIFFTAG_XMLPACKET, &xmp_len, &xmp);
    TIFFClose(tif);
    return ndpi ? "hamamatsu" : aperio ? "aperio" : NULL;
}
