// SPDX-License-Identifier: Apache-2.0
/* The one libtiff pass over a TIFF's directories; see tiffdir.h. */
#include "source/tiffdir.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>

#include "core/bigmem.h"

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void quiet_handlers(void)
{
    // libtiff prints to stderr by default; we report problems ourselves, once, per file.
    TIFFSetErrorHandler(NULL);
    TIFFSetWarningHandler(NULL);
}

bool s2d_tiffdir_magic(const char *path)
{
    uint8_t m[4] = {0};
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(m, 1, sizeof m, f) : 0;
    if (f) {
        fclose(f);
    }
    return got == 4 && ((m[0] == 'I' && m[1] == 'I' && (m[2] == 42 || m[2] == 43)) ||
                        (m[0] == 'M' && m[1] == 'M' && (m[3] == 42 || m[3] == 43)));
}

// Whether the header says there is no directory at all (a first IFD offset of 0), which
// libtiff refuses like a damaged file.
static bool first_ifd_offset_zero(const char *path)
{
    uint8_t h[16] = {0};
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(h, 1, sizeof h, f) : 0;
    if (f) {
        fclose(f);
    }
    bool big = (h[0] == 'I' && h[2] == 43) || (h[0] == 'M' && h[3] == 43);
    size_t at = big ? 8 : 4, len = big ? 8 : 4;
    if (got < at + len) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (h[at + i] != 0) {
            return false;
        }
    }
    return true;
}

// A copy of n bytes with a NUL after them (text tags may lack theirs), or NULL; the caller
// frees it.
static void *copy_bytes(const void *p, size_t n)
{
    char *c = malloc(n + 1);
    if (c) {
        memcpy(c, p, n);
        c[n] = '\0';
    }
    return c;
}

static bool copy_text(TIFF *tif, uint32_t tag, char **out)
{
    char *v = NULL;
    *out = NULL;
    return !TIFFGetField(tif, tag, &v) || !v || (*out = copy_bytes(v, strlen(v))) != NULL;
}

// A private-tag value libtiff keeps as an anonymous field: count and data.
static bool anon_field(TIFF *tif, const TIFFField *f, uint32_t tag, uint32_t *count, void **data)
{
    *count = 0;
    *data = NULL;
    if (TIFFFieldPassCount(f)) {
        if (TIFFFieldReadCount(f) == TIFF_VARIABLE2) {
            return TIFFGetField(tif, tag, count, data) && *data;
        }
        uint16_t c16 = 0;
        bool ok = TIFFGetField(tif, tag, &c16, data) && *data;
        *count = c16;
        return ok;
    }
    *count = 1;
    return TIFFGetField(tif, tag, data) && *data;
}

static bool list_private_tags(TIFF *tif, s2d_tiff_ifd *d)
{
    int n = TIFFGetTagListCount(tif);
    for (int i = 0; i < n; i++) {
        uint32_t tag = TIFFGetTagListEntry(tif, i), count;
        const TIFFField *f = TIFFFindField(tif, tag, TIFF_ANY);
        void *data;
        if (!f || !TIFFFieldIsAnonymous(f) || !anon_field(tif, f, tag, &count, &data)) {
            continue;
        }
        // What libtiff stores, which is not always what the file holds (TIFFDataWidth):
        // RATIONALs are handed out as floats.
        int width = TIFFFieldSetGetSize(f);
        s2d_tiff_private_tag *grown = realloc(d->private_tags,
                                              (size_t)(d->nprivate + 1) * sizeof *grown);
        if (!grown) {
            return false;
        }
        d->private_tags = grown;
        s2d_tiff_private_tag *t = &grown[d->nprivate];
        t->tag = tag;
        t->count = count;
        t->width = width > 0 ? (uint32_t)width : 1;
        if (!(t->data = copy_bytes(data, (size_t)count * t->width))) {
            return false;
        }
        d->nprivate++;
    }
    return true;
}

static void describe_history(s2d_tiff_ifd *d)
{
    d->history.known = true;
    switch (d->compression) {
    case COMPRESSION_JPEG:
    case COMPRESSION_OJPEG:
        d->history.method = S2D_LOSSY_JPEG;
        break;
    case 33003:   // Aperio JPEG 2000 YCbCr
    case 33005:   // Aperio JPEG 2000 RGB
    case 34712:   // JPEG 2000
        d->history.method = S2D_LOSSY_J2K;
        break;
    default:
        return;
    }
    uint64_t total = 0;
    for (uint32_t i = 0; d->counts && i < d->nchunks; i++) {
        total += d->counts[i];
    }
    if (total) {
        d->history.ratio = (double)d->width * d->height * d->samples * (d->bits / 8.0) /
                           (double)total;
    }
}

// The current directory into d; false only for lack of memory.
static bool describe(TIFF *tif, s2d_tiff_ifd *d)
{
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &d->width);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &d->height);
    d->compression = COMPRESSION_NONE;
    TIFFGetField(tif, TIFFTAG_COMPRESSION, &d->compression);
    d->has_photometric = TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &d->photometric);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &d->samples);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &d->bits);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &d->sample_format);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &d->planar);
    TIFFGetFieldDefaulted(tif, TIFFTAG_ORIENTATION, &d->orientation);
    TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &d->rows_per_strip);
    TIFFGetFieldDefaulted(tif, TIFFTAG_RESOLUTIONUNIT, &d->resolution_unit);
    TIFFGetField(tif, TIFFTAG_XRESOLUTION, &d->x_resolution);
    TIFFGetField(tif, TIFFTAG_YRESOLUTION, &d->y_resolution);
    TIFFGetField(tif, TIFFTAG_SUBFILETYPE, &d->subfile_type);
    d->tiled = TIFFIsTiled(tif);
    if (d->tiled) {
        TIFFGetField(tif, TIFFTAG_TILEWIDTH, &d->tile_w);
        TIFFGetField(tif, TIFFTAG_TILELENGTH, &d->tile_h);
    }
    d->nchunks = d->tiled ? TIFFNumberOfTiles(tif) : TIFFNumberOfStrips(tif);
    // With "D", libtiff reads these tables only now, when asked for.
    uint64_t *offsets = NULL, *counts = NULL;
    if (TIFFGetField(tif, d->tiled ? TIFFTAG_TILEOFFSETS : TIFFTAG_STRIPOFFSETS, &offsets) &&
        TIFFGetField(tif, d->tiled ? TIFFTAG_TILEBYTECOUNTS : TIFFTAG_STRIPBYTECOUNTS,
                     &counts) &&
        offsets && counts && d->nchunks > 0) {
        size_t bytes = (size_t)d->nchunks * sizeof(uint64_t);
        if (!(d->offsets = malloc(bytes)) || !(d->counts = malloc(bytes))) {
            return false;
        }
        memcpy(d->offsets, offsets, bytes);
        memcpy(d->counts, counts, bytes);
    }
    uint32_t tn = 0;
    void *tables = NULL;
    if (TIFFGetField(tif, TIFFTAG_JPEGTABLES, &tn, &tables) && tables) {
        if (!(d->jpeg_tables = copy_bytes(tables, tn))) {
            return false;
        }
        d->jpeg_tables_len = tn;
    }
    uint32_t xmp_len = 0;
    void *xmp = NULL;
    if (TIFFGetField(tif, TIFFTAG_XMLPACKET, &xmp_len, &xmp) && xmp &&
        !(d->xmp = copy_bytes(xmp, xmp_len))) {
        return false;
    }
    if (!copy_text(tif, TIFFTAG_IMAGEDESCRIPTION, &d->description) ||
        !copy_text(tif, TIFFTAG_SOFTWARE, &d->software) ||
        !copy_text(tif, TIFFTAG_MAKE, &d->make) || !copy_text(tif, TIFFTAG_MODEL, &d->model) ||
        !copy_text(tif, TIFFTAG_DATETIME, &d->datetime) || !list_private_tags(tif, d)) {
        return false;
    }
    describe_history(d);
    return true;
}

// What is wrong with where d's strips or tiles are, or NULL: their tables cannot be read,
// or one lies past the end of the file.
static const char *data_problem(const s2d_tiff_ifd *d, uint64_t file_size)
{
    if (!d->offsets) {
        return d->nchunks > 0 ? "its tile or strip offsets cannot be read" : NULL;
    }
    for (uint32_t i = 0; i < d->nchunks; i++) {
        if (d->offsets[i] > file_size || d->counts[i] > file_size - d->offsets[i]) {
            return "its image data lies past the end of the file";
        }
    }
    return NULL;
}

s2d_tiffdir *s2d_tiffdir_list(const char *path, s2d_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0 || !s2d_tiffdir_magic(path)) {
        return NULL;
    }
    s2d_tiffdir *td = calloc(1, sizeof *td);
    if (!td || !(td->path = strdup(path))) {
        free(td);
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    td->file_size = (uint64_t)st.st_size;
    pthread_once(&quiet_once, quiet_handlers);
    // D: a directory's tile and strip arrays are read when first asked for, not whenever
    // the directory is passed.
    TIFF *tif = td->tif = TIFFOpen(path, "rmD");
    if (!tif) {
        snprintf(td->damage, sizeof td->damage, "%s",
                 first_ifd_offset_zero(path) ? "a TIFF of no pages: its first IFD offset is 0"
                                             : "a damaged or truncated TIFF: its first IFD "
                                               "cannot be read");
        return td;
    }
    uint32_t icc_len = 0;
    void *icc = NULL;
    if (TIFFGetField(tif, TIFFTAG_ICCPROFILE, &icc_len, &icc) && icc_len > 0 && icc) {
        if (!(td->icc_profile = copy_bytes(icc, icc_len))) {
            goto nomem;
        }
        td->icc_profile_len = icc_len;
    }
    // The table doubles: growing it one directory at a time copies it n times, which a
    // stack of 100000 slices makes quadratic wherever realloc copies (under ASan).
    size_t capacity = 0;
    for (;;) {
        if ((size_t)td->n == capacity) {
            capacity = capacity ? capacity * 2 : 16;
            s2d_tiff_ifd *grown = realloc(td->ifds, capacity * sizeof *grown);
            if (!grown) {
                goto nomem;
            }
            td->ifds = grown;
        }
        s2d_tiff_ifd *d = &td->ifds[td->n++];
        memset(d, 0, sizeof *d);
        if (!describe(tif, d)) {
            goto nomem;
        }
        const char *problem = data_problem(d, td->file_size);
        if (problem && !td->damage[0]) {
            snprintf(td->damage, sizeof td->damage, "a damaged or truncated TIFF: IFD %d: %s",
                     td->n - 1, problem);
        }
        if (TIFFLastDirectory(tif)) {
            break;
        }
        if (td->n >= S2D_TIFF_MAX_IFDS) {
            // A sound file, maybe, but longer than the listing reads: name the limit.
            if (!td->damage[0]) {
                snprintf(td->damage, sizeof td->damage,
                         "a TIFF of more than %d directories (IFDs), the most slide2dcm reads "
                         "in one file", S2D_TIFF_MAX_IFDS);
            }
            break;
        }
        if (!TIFFReadDirectory(tif)) {
            // A next directory is announced but cannot be read.
            if (!td->damage[0]) {
                snprintf(td->damage, sizeof td->damage,
                         "a damaged or truncated TIFF: IFD %d cannot be read", td->n);
            }
            break;
        }
    }
    return td;
nomem:
    s2d_tiffdir_free(td);
    s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    return NULL;
}

void s2d_tiffdir_free(s2d_tiffdir *td)
{
    if (!td) {
        return;
    }
    for (int i = 0; i < td->n; i++) {
        s2d_tiff_ifd *d = &td->ifds[i];
        free(d->offsets);
        free(d->counts);
        free(d->jpeg_tables);
        free(d->description);
        free(d->software);
        free(d->make);
        free(d->model);
        free(d->datetime);
        free(d->xmp);
        for (int t = 0; t < d->nprivate; t++) {
            free(d->private_tags[t].data);
        }
        free(d->private_tags);
    }
    free(td->ifds);
    free(td->icc_profile);
    if (td->tif) {
        TIFFClose(td->tif);
    }
    free(td->path);
    free(td);
}

const s2d_tiff_private_tag *s2d_tiffdir_private(const s2d_tiffdir *td, int ifd, uint32_t tag)
{
    const s2d_tiff_ifd *d = ifd >= 0 && ifd < td->n ? &td->ifds[ifd] : NULL;
    for (int i = 0; d && i < d->nprivate; i++) {
        if (d->private_tags[i].tag == tag) {
            return &d->private_tags[i];
        }
    }
    return NULL;
}

bool s2d_tiffdir_read_rgb(s2d_tiffdir *td, int ifd, const char *what, uint8_t **rgb,
                          int64_t *w, int64_t *h, s2d_error *err)
{
    *rgb = NULL;
    TIFF *tif = td->tif;
    if (!tif || ifd < 0 || ifd >= td->n || !TIFFSetDirectory(tif, (tdir_t)ifd)) {
        return s2d_error_set(err, S2D_ERR_INPUT, "cannot read the %s image", what);
    }
    uint32_t iw = td->ifds[ifd].width, ih = td->ifds[ifd].height;
    if (iw == 0 || ih == 0 || iw > 65535 || ih > 65535) {
        return s2d_error_set(err, S2D_ERR_INPUT, "the %s image has no usable size", what);
    }
    size_t raster_size = (size_t)iw * ih * sizeof(uint32_t);
    uint32_t *raster = s2d_bigmem_alloc(raster_size);
    *rgb = malloc((size_t)iw * ih * 3);
    bool ok = false;
    if (!raster || !*rgb) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory reading the %s image", what);
    } else if (!TIFFReadRGBAImageOriented(tif, iw, ih, raster, ORIENTATION_TOPLEFT, 0)) {
        s2d_error_set(err, S2D_ERR_INPUT, "cannot decode the %s image", what);
    } else {
        for (size_t i = 0; i < (size_t)iw * ih; i++) {
            (*rgb)[3 * i] = (uint8_t)TIFFGetR(raster[i]);
            (*rgb)[3 * i + 1] = (uint8_t)TIFFGetG(raster[i]);
            (*rgb)[3 * i + 2] = (uint8_t)TIFFGetB(raster[i]);
        }
        *w = iw;
        *h = ih;
        ok = true;
    }
    if (!ok) {
        free(*rgb);
        *rgb = NULL;
    }
    s2d_bigmem_free(raster, raster_size);
    return ok;
}
