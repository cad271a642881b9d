// SPDX-License-Identifier: Apache-2.0
/* Plain TIFFs: a file of pages that no slide format takes. A TIFF whose first directory is
 * stripped, or tiled when OpenSlide would not read it as a slide (see plain_detect),
 * without a slide vendor's mark. Its pages are the main chain of directories but
 * reduced-resolution copies (NewSubfileType bit 0); SubIFDs are never pages.
 *
 * libtiff decodes: every compression it was built with, stripped or tiled, planar or
 * interleaved, 1 to 16, 32 and 64 bits, either byte order, FillOrder 2. What cannot be
 * handed out as samples (YCbCr without JPEG, old JPEG, CMYK, CIE L*a*b*, LogLuv) goes
 * through its RGBA reader as 8-bit RGB. The source keeps one decoded strip, or one row of
 * tiles, of one page (one row of a strip over BIG_STRIP_BYTES): the one the last rows came
 * from; pages are read from one thread. libtiff's own messages go into the reason of our
 * error, never to stderr. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>
#include <unistd.h>

#include "core/buf.h"
#include "source/imagej.h"
#include "source/ome_xml.h"
#include "source/planes.h"
#include "source/tiffio.h"

// Private tags that mark a microscopy file format.
#define TAG_METAMORPH_UIC1 33628
#define TAG_ZEISS_LSM 34412
#define TAG_MICROMANAGER 51123

// A decoded strip larger than this is decoded a row at a time, so that one huge strip does
// not sit in memory decoded (libtiff still reads its compressed bytes whole).
#define BIG_STRIP_BYTES (8u << 20)

// What one page may make us hold decoded besides a tile (S2D_MAX_DECODED_TILE_BYTES): the
// chunk of rows it is cut from (a row of tiles, or a strip), which the file's numbers also
// decide.
#define MAX_CHUNK_BYTES (1ull << 30)

typedef enum read_path {
    PATH_SAMPLES,            // libtiff's decoded strips or tiles, converted here
    PATH_RGBA,               // libtiff's RGBA reader, 8-bit RGB
} read_path;

typedef struct plain_page {
    int ifd;
    read_path path;
    uint32_t width, height;
    uint16_t file_samples;   // samples per pixel in the file, extra samples included
    uint16_t colour_samples; // handed out: 1 or 3
    uint16_t bits;           // per sample in the file
    bool planar;
    bool jpeg_to_rgb;        // JPEG-compressed YCbCr that libtiff turns into RGB
    bool tiled;
    bool white_is_zero;      // min-is-white: translucent pixels go toward 0
    int alpha;               // the alpha sample's index, or -1
    bool alpha_associated;
    uint32_t chunk_h;        // rows of one strip or one row of tiles; 1 when by_row
    bool by_row;             // a strip too large to hold: decoded a row at a time
    uint32_t tile_w;
    size_t plane_row_bytes;  // bytes of one decoded row of one plane (all samples if contig)
    size_t tile_bytes, tile_row_bytes;
    uint16_t *palette;       // 3 x palette_n, owned
    int palette_n;
    uint64_t translucent;    // in rows 0 .. counted_rows - 1
    uint32_t counted_rows;
    uint32_t strip_rows;     // rows of a strip as stored (by_row pages)
} plain_page;

typedef struct plain_source {
    TIFF *tif;               // our own handle: its errors come to `why`
    int fd;                  // for copying JPEG strips
    char why[200];           // libtiff's first error (or warning) since it was last cleared
    bool why_is_error;
    plain_page *pages;
    int dir;                 // the directory tif is on; -1: unknown
    uint32_t row_next;       // by_row: the row libtiff decodes next in the current directory
    // The cached chunk: the strip or row of tiles from row chunk_y of page chunk_page, as
    // libtiff decoded it (planes one after another, each plane_bytes), or RGBA words.
    int chunk_page;          // -1: none
    uint32_t chunk_y;
    uint8_t *chunk;
    size_t chunk_cap, plane_bytes;
    uint8_t *tile;           // one decoded tile
    size_t tile_cap;
} plain_source;

static plain_source *plain_of(const s2d_source *src)
{
    return src->impl;
}

// ------------------------------------------------------------------ libtiff's messages

// libtiff's first message since `why` was cleared (an error; else a warning, which is
// often all it says of data it gives up on).
__attribute__((format(printf, 3, 0))) static void keep_message(plain_source *ps, bool error,
                                                               const char *fmt, va_list ap)
{
    if (ps->why[0] && (!error || ps->why_is_error)) {
        return;
    }
    vsnprintf(ps->why, sizeof ps->why, fmt, ap);
    ps->why_is_error = error;
    for (char *c = ps->why; *c; c++) {
        *c = *c == '\n' || *c == '\r' ? ' ' : *c;   // our errors are one line
    }
}

__attribute__((format(printf, 4, 0))) static int on_tiff_error(TIFF *tif, void *user,
                                                                const char *module,
                                                                const char *fmt, va_list ap)
{
    (void)tif;
    (void)module;
    keep_message(user, true, fmt, ap);
    return 1;   // handled: libtiff's global handler (stderr) is not called
}

__attribute__((format(printf, 4, 0))) static int on_tiff_warning(TIFF *tif, void *user,
                                                                  const char *module,
                                                                  const char *fmt, va_list ap)
{
    (void)tif;
    (void)module;
    keep_message(user, false, fmt, ap);
    return 1;
}

// The reason libtiff gave, or what we know.
static const char *why_or(const plain_source *ps, const char *fallback)
{
    return ps->why[0] ? ps->why : fallback;
}

static bool to_directory(plain_source *ps, const plain_page *pp, s2d_error *err)
{
    if (ps->dir == pp->ifd) {
        return true;
    }
    ps->why[0] = '\0';
    // Pages read in order step to the next directory instead of walking from the first.
    bool ok = ps->dir >= 0 && pp->ifd == ps->dir + 1 ? TIFFReadDirectory(ps->tif)
                                                     : TIFFSetDirectory(ps->tif, (tdir_t)pp->ifd);
    if (!ok) {
        ps->dir = -1;
        return s2d_error_set(err, S2D_ERR_INPUT, "IFD %d cannot be read: %s", pp->ifd,
                             why_or(ps, "libtiff refuses it"));
    }
    ps->dir = pp->ifd;
    ps->row_next = 0;
    // A pseudo-tag that each directory read resets.
    if (pp->jpeg_to_rgb && !TIFFSetField(ps->tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB)) {
        return s2d_error_set(err, S2D_ERR_INPUT, "IFD %d: libtiff cannot turn its YCbCr JPEG "
                             "into RGB", pp->ifd);
    }
    return true;
}

// ------------------------------------------------------------------ describing a page

static s2d_page_compression compression_of(uint16_t c)
{
    switch (c) {
    case COMPRESSION_NONE:
        return S2D_PAGE_UNCOMPRESSED;
    case COMPRESSION_LZW:
        return S2D_PAGE_LZW;
    case COMPRESSION_ADOBE_DEFLATE:
    case COMPRESSION_DEFLATE:
        return S2D_PAGE_DEFLATE;
    case COMPRESSION_PACKBITS:
        return S2D_PAGE_PACKBITS;
    case COMPRESSION_CCITTRLE:
    case COMPRESSION_CCITTFAX3:
    case COMPRESSION_CCITTFAX4:
    case COMPRESSION_CCITTRLEW:
        return S2D_PAGE_CCITT;
    case COMPRESSION_JPEG:
        return S2D_PAGE_JPEG;
    case COMPRESSION_OJPEG:
        return S2D_PAGE_OLD_JPEG;
    default:
        return S2D_PAGE_OTHER;
    }
}

static double px_per_mm(float resolution, uint16_t unit)
{
    if (!(resolution > 0) || !isfinite(resolution)) {
        return 0;
    }
    return unit == RESUNIT_INCH ? resolution / 25.4 : unit == RESUNIT_CENTIMETER ? resolution / 10
                                                                                 : 0;
}

// Photometric interpretations that only the RGBA reader turns into something we hand out.
static bool needs_rgba(uint16_t photometric, uint16_t compression)
{
    return compression == COMPRESSION_OJPEG ||
           (photometric == PHOTOMETRIC_YCBCR && compression != COMPRESSION_JPEG) ||
           photometric == PHOTOMETRIC_SEPARATED || photometric == PHOTOMETRIC_CIELAB ||
           photometric == PHOTOMETRIC_ICCLAB || photometric == PHOTOMETRIC_ITULAB ||
           photometric == PHOTOMETRIC_LOGL || photometric == PHOTOMETRIC_LOGLUV;
}

// Which sample sizes we hand out: integers of 1..16 or 32 bits (signed: 8, 16, 32), floats
// of 16, 32 or 64 bits (as 32).
static bool sample_size_ok(uint16_t format, uint16_t bits)
{
    switch (format) {
    case SAMPLEFORMAT_UINT:
        return (bits >= 1 && bits <= 16) || bits == 32;
    case SAMPLEFORMAT_INT:
        return bits == 8 || bits == 16 || bits == 32;
    case SAMPLEFORMAT_IEEEFP:
        return bits == 16 || bits == 32 || bits == 64;
    default:
        return false;
    }
}

static bool take_palette(TIFF *tif, plain_page *pp)
{
    uint16_t *r, *g, *b;
    if (!TIFFGetField(tif, TIFFTAG_COLORMAP, &r, &g, &b) || !r || !g || !b) {
        return true;   // told by the caller: a palette page needs its table
    }
    size_t n = (size_t)1 << pp->bits;
    if (!(pp->palette = malloc(3 * n * sizeof *pp->palette))) {
        return false;
    }
    memcpy(pp->palette, r, n * sizeof *r);
    memcpy(pp->palette + n, g, n * sizeof *g);
    memcpy(pp->palette + 2 * n, b, n * sizeof *b);
    pp->palette_n = (int)n;
    return true;
}

// How page `page` (directory d, current in tif) is read and handed out.
static bool describe_page(plain_source *ps, const s2d_tiff_ifd *d, int page, plain_page *pp,
                          s2d_source_image *img, s2d_page_facts *f, s2d_error *err)
{
    TIFF *tif = ps->tif;
    uint16_t photometric = d->photometric;
    if (!d->has_photometric) {
        // Files from before TIFF 6 leave it out: faxes are min-is-white.
        photometric = d->samples >= 3   ? PHOTOMETRIC_RGB
                      : d->bits == 1    ? PHOTOMETRIC_MINISWHITE
                                        : PHOTOMETRIC_MINISBLACK;
    }
    pp->width = d->width;
    pp->height = d->height;
    pp->file_samples = d->samples;
    pp->bits = d->bits;
    pp->planar = d->planar == PLANARCONFIG_SEPARATE && d->samples > 1;
    pp->tiled = d->tiled;
    pp->alpha = -1;

    f->compression = compression_of(d->compression);
    f->compression_code = d->compression;
    f->x_px_per_mm = px_per_mm(d->x_resolution, d->resolution_unit);
    f->y_px_per_mm = px_per_mm(d->y_resolution, d->resolution_unit);
    f->orientation = d->orientation >= 1 && d->orientation <= 8 ? (uint8_t)d->orientation : 1;
    f->sample_format = d->sample_format == SAMPLEFORMAT_INT      ? S2D_SAMPLE_INT
                       : d->sample_format == SAMPLEFORMAT_IEEEFP ? S2D_SAMPLE_FLOAT
                                                                 : S2D_SAMPLE_UINT;
    f->bits_per_sample = d->bits;

    if (d->width == 0 || d->height == 0) {
        return s2d_error_set(err, S2D_ERR_INPUT, "page %d has no pixels", page);
    }
    if (!TIFFIsCODECConfigured(d->compression)) {
        return s2d_error_set(err, S2D_ERR_INPUT, "page %d: compression %u, which libtiff "
                             "cannot decode", page, d->compression);
    }
    uint16_t nextra = 0, *extra = NULL;
    TIFFGetField(tif, TIFFTAG_EXTRASAMPLES, &nextra, &extra);
    if (nextra > 0 && extra && (extra[0] == EXTRASAMPLE_ASSOCALPHA ||
                                extra[0] == EXTRASAMPLE_UNASSALPHA)) {
        f->alpha = extra[0] == EXTRASAMPLE_ASSOCALPHA ? S2D_ALPHA_ASSOCIATED
                                                      : S2D_ALPHA_UNASSOCIATED;
    }
    img->role = S2D_IMAGE_PAGE;
    img->index.page = page;
    img->chroma_w = img->chroma_h = 1;
    img->downsample = 1;
    img->history = d->history;
    img->pix.width = d->width;
    img->pix.height = d->height;

    // Strips as our handle sees them: libtiff cuts one large uncompressed strip into many.
    uint32_t rows = d->tile_h;
    if (!d->tiled) {
        TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rows);
    }
    pp->chunk_h = rows == 0 || rows > d->height ? d->height : rows;
    pp->tile_w = d->tiled ? d->tile_w : d->width;
    if (d->tiled && (d->tile_w == 0 || d->tile_h == 0)) {
        return s2d_error_set(err, S2D_ERR_INPUT, "page %d has tiles of no size", page);
    }

    if (needs_rgba(photometric, d->compression)) {
        char emsg[1024] = "";
        if (!TIFFRGBAImageOK(tif, emsg)) {
            return s2d_error_set(err, S2D_ERR_INPUT, "page %d cannot be decoded: %s", page, emsg);
        }
        pp->path = PATH_RGBA;
        pp->colour_samples = 3;   // alpha comes premultiplied in libtiff's RGBA words
        f->decoded_to_rgb = true;
        f->cmyk = photometric == PHOTOMETRIC_SEPARATED;
        f->ycbcr = photometric == PHOTOMETRIC_YCBCR;
        img->pix.samples = 3;
        img->pix.bits_allocated = img->pix.bits_stored = 8;
        img->pix.colour = S2D_COLOUR_RGB;
        return true;
    }

    pp->path = PATH_SAMPLES;
    switch (photometric) {
    case PHOTOMETRIC_MINISBLACK:
    case PHOTOMETRIC_MINISWHITE:
    case PHOTOMETRIC_PALETTE:
        pp->colour_samples = 1;
        break;
    case PHOTOMETRIC_RGB:
        pp->colour_samples = 3;
        break;
    case PHOTOMETRIC_YCBCR:   // JPEG-compressed: libtiff's JPEG codec gives RGB
        pp->colour_samples = 3;
        pp->jpeg_to_rgb = true;
        f->ycbcr = true;
        break;
    default:
        return s2d_error_set(err, S2D_ERR_INPUT, "page %d: photometric interpretation %u is "
                             "not supported", page, photometric);
    }
    if (d->samples < pp->colour_samples) {
        return s2d_error_set(err, S2D_ERR_INPUT, "page %d: %u samples per pixel are too few "
                             "for its photometric interpretation", page, d->samples);
    }
    if (!sample_size_ok(d->sample_format, d->bits)) {
        return s2d_error_set(err, S2D_ERR_INPUT, "page %d: %u-bit samples of sample format %u "
                             "are not supported", page, d->bits, d->sample_format);
    }
    if (f->alpha != S2D_ALPHA_NONE && d->samples > pp->colour_samples) {
        pp->alpha = pp->colour_samples;
        pp->alpha_associated = f->alpha == S2D_ALPHA_ASSOCIATED;
    }
    pp->white_is_zero = photometric == PHOTOMETRIC_MINISWHITE;
    uint16_t in_plane = pp->planar ? 1 : d->samples;
    pp->plane_row_bytes = ((size_t)d->width * in_plane * d->bits + 7) / 8;
    // Interleaved only: rows of separate planes a row at a time would restart each plane's
    // strip at every row.
    if (!d->tiled && !pp->planar && pp->chunk_h * pp->plane_row_bytes > BIG_STRIP_BYTES) {
        pp->by_row = true;
        pp->strip_rows = pp->chunk_h;
        pp->chunk_h = 1;
    }
    if (d->tiled) {
        if (((size_t)d->tile_w * in_plane * d->bits) % 8 != 0) {
            return s2d_error_set(err, S2D_ERR_INPUT, "page %d: its tiles do not end on a byte",
                                 page);
        }
        pp->tile_row_bytes = (size_t)d->tile_w * in_plane * d->bits / 8;
        if (!s2d_mul_size(pp->tile_row_bytes, d->tile_h, &pp->tile_bytes)) {
            pp->tile_bytes = SIZE_MAX;   // buffers_bounded refuses it
        }
    }

    s2d_pixdesc *pix = &img->pix;
    pix->samples = pp->colour_samples;
    pix->is_signed = d->sample_format == SAMPLEFORMAT_INT;
    pix->is_float = d->sample_format == SAMPLEFORMAT_IEEEFP;
    if (pix->is_float || d->bits == 32) {
        pix->bits_allocated = pix->bits_stored = 32;
    } else if (d->bits == 1) {
        pix->bits_allocated = pix->bits_stored = 1;
    } else {
        pix->bits_allocated = d->bits <= 8 ? 8 : 16;
        pix->bits_stored = d->bits;
    }
    pix->colour = photometric == PHOTOMETRIC_MINISBLACK   ? S2D_COLOUR_MONO_MIN_IS_BLACK
                  : photometric == PHOTOMETRIC_MINISWHITE ? S2D_COLOUR_MONO_MIN_IS_WHITE
                  : photometric == PHOTOMETRIC_PALETTE    ? S2D_COLOUR_PALETTE
                                                          : S2D_COLOUR_RGB;
    if (photometric == PHOTOMETRIC_PALETTE) {
        if (d->sample_format != SAMPLEFORMAT_UINT || d->bits > 16) {
            return s2d_error_set(err, S2D_ERR_INPUT, "page %d: a palette of %u-bit indices",
                                 page, d->bits);
        }
        if (!take_palette(tif, pp)) {
            return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        }
        if (!pp->palette) {
            return s2d_error_set(err, S2D_ERR_INPUT, "page %d: a palette page without its "
                                 "colour table", page);
        }
    }
    // Copyable as it is stored: s2d_source_page_jpeg says for sure.
    if (d->compression == COMPRESSION_JPEG && !d->tiled && d->bits == 8 && !pp->planar &&
        pp->alpha < 0 && d->samples == pp->colour_samples) {
        img->native.coding = S2D_CODING_JPEG;
        img->native.tile_w = (int)d->width;
        img->native.tile_h = (int)d->height;
    }
    return true;
}

// Refuses a page whose tile or chunk, decoded, is past what we hold
// (S2D_MAX_DECODED_TILE_BYTES, MAX_CHUNK_BYTES).
static bool buffers_bounded(const plain_page *pp, int page, s2d_error *err)
{
    bool rgba = pp->path == PATH_RGBA;
    if (pp->tiled && !rgba && pp->tile_bytes > S2D_MAX_DECODED_TILE_BYTES) {
        return s2d_error_set(err, S2D_ERR_INPUT, "page %d: one tile decodes to %llu MiB, past "
                             "the %llu MiB a tile may take", page,
                             (unsigned long long)(pp->tile_bytes >> 20),
                             S2D_MAX_DECODED_TILE_BYTES >> 20);
    }
    size_t planes = !rgba && pp->planar ? pp->file_samples : 1;
    size_t row = rgba ? (size_t)pp->width * 4 : pp->plane_row_bytes;
    size_t chunk;
    if (!s2d_mul_size(row, pp->chunk_h, &chunk) || !s2d_mul_size(chunk, planes, &chunk)) {
        chunk = SIZE_MAX;
    }
    if (chunk > MAX_CHUNK_BYTES) {
        return s2d_error_set(err, S2D_ERR_INPUT, "page %d: %u rows read at once (a %s) decode "
                             "to %llu MiB, past the %llu MiB slide2dcm holds", page,
                             pp->chunk_h, pp->tiled ? "row of tiles" : "strip",
                             (unsigned long long)(chunk >> 20), MAX_CHUNK_BYTES >> 20);
    }
    return true;
}

// ------------------------------------------------------------------ reading rows

static bool reserve(uint8_t **p, size_t *cap, size_t want)
{
    if (want <= *cap) {
        return true;
    }
    uint8_t *grown = realloc(*p, want);
    if (!grown) {
        return false;
    }
    *p = grown;
    *cap = want;
    return true;
}

static bool load_rgba(plain_source *ps, plain_page *pp, uint32_t y, uint32_t rows,
                      s2d_error *err)
{
    TIFFRGBAImage rgba;
    char emsg[1024] = "";
    if (!TIFFRGBAImageBegin(&rgba, ps->tif, 0, emsg)) {
        return s2d_error_set(err, S2D_ERR_INPUT, "cannot be decoded: %s", emsg);
    }
    // Asking for the file's own orientation leaves the rows as stored, top first.
    rgba.req_orientation = rgba.orientation;
    rgba.row_offset = (int)y;
    rgba.col_offset = 0;
    bool ok = TIFFRGBAImageGet(&rgba, (uint32_t *)ps->chunk, pp->width, rows);
    TIFFRGBAImageEnd(&rgba);
    return ok || s2d_error_set(err, S2D_ERR_INPUT, "rows %u..%u cannot be decoded: %s", y,
                               y + rows - 1, why_or(ps, "libtiff gives no reason"));
}

static bool load_strips(plain_source *ps, plain_page *pp, uint32_t y, uint32_t rows,
                        s2d_error *err)
{
    int planes = pp->planar ? pp->file_samples : 1;
    size_t want = rows * pp->plane_row_bytes;
    for (int p = 0; p < planes; p++) {
        uint32_t strip = TIFFComputeStrip(ps->tif, y, (uint16_t)p);
        tmsize_t got = TIFFReadEncodedStrip(ps->tif, strip, ps->chunk + p * ps->plane_bytes,
                                            (tmsize_t)want);
        if (got < 0) {
            return s2d_error_set(err, S2D_ERR_INPUT, "strip %u cannot be decoded: %s", strip,
                                 why_or(ps, "libtiff gives no reason"));
        }
        if ((size_t)got < want) {
            return s2d_error_set(err, S2D_ERR_INPUT, "strip %u is truncated: %zu of %zu bytes",
                                 strip, (size_t)got, want);
        }
    }
    return true;
}

// libtiff decodes a strip's rows in order only (most codecs cannot seek): rows skipped
// are decoded and dropped, and an earlier row starts its strip again.
static bool load_row(plain_source *ps, const plain_page *pp, uint32_t y, s2d_error *err)
{
    uint32_t strip_start = y / pp->strip_rows * pp->strip_rows;
    uint32_t from = ps->row_next <= y && ps->row_next > strip_start ? ps->row_next : strip_start;
    for (uint32_t r = from; r <= y; r++) {
        if (TIFFReadScanline(ps->tif, ps->chunk, r, 0) != 1) {
            ps->row_next = 0;
            return s2d_error_set(err, S2D_ERR_INPUT, "row %u cannot be decoded: %s", r,
                                 why_or(ps, "libtiff gives no reason"));
        }
    }
    ps->row_next = y + 1;
    return true;
}

static bool load_tiles(plain_source *ps, plain_page *pp, uint32_t y, uint32_t rows,
                       s2d_error *err)
{
    int planes = pp->planar ? pp->file_samples : 1;
    if (!reserve(&ps->tile, &ps->tile_cap, pp->tile_bytes)) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory for a tile");
    }
    for (int p = 0; p < planes; p++) {
        for (uint32_t x = 0; x < pp->width; x += pp->tile_w) {
            uint32_t tile = TIFFComputeTile(ps->tif, x, y, 0, (uint16_t)p);
            tmsize_t got = TIFFReadEncodedTile(ps->tif, tile, ps->tile, (tmsize_t)pp->tile_bytes);
            if (got < 0) {
                return s2d_error_set(err, S2D_ERR_INPUT, "tile %u cannot be decoded: %s", tile,
                                     why_or(ps, "libtiff gives no reason"));
            }
            if ((size_t)got < pp->tile_bytes) {
                return s2d_error_set(err, S2D_ERR_INPUT, "tile %u is truncated", tile);
            }
            size_t at = (size_t)(x / pp->tile_w) * pp->tile_row_bytes;
            size_t n = pp->plane_row_bytes - at < pp->tile_row_bytes ? pp->plane_row_bytes - at
                                                                      : pp->tile_row_bytes;
            for (uint32_t r = 0; r < rows; r++) {
                memcpy(ps->chunk + p * ps->plane_bytes + r * pp->plane_row_bytes + at,
                       ps->tile + r * pp->tile_row_bytes, n);
            }
        }
    }
    return true;
}

// Makes the chunk holding row y of the page the cached one.
static bool load_chunk(s2d_source *src, int page, uint32_t y, s2d_error *err)
{
    plain_source *ps = plain_of(src);
    plain_page *pp = &ps->pages[page];
    uint32_t cy = y / pp->chunk_h * pp->chunk_h;
    if (ps->chunk_page == page && ps->chunk_y == cy) {
        return true;
    }
    ps->chunk_page = -1;
    if (!to_directory(ps, pp, err)) {
        return false;
    }
    uint32_t rows = pp->height - cy < pp->chunk_h ? pp->height - cy : pp->chunk_h;
    bool rgba = pp->path == PATH_RGBA;
    ps->plane_bytes = rgba ? (size_t)pp->width * 4 * pp->chunk_h
                           : pp->plane_row_bytes * pp->chunk_h;
    size_t planes = !rgba && pp->planar ? pp->file_samples : 1;
    if (!reserve(&ps->chunk, &ps->chunk_cap, ps->plane_bytes * planes)) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory for a strip of page %d", page);
    }
    ps->why[0] = '\0';
    bool ok = rgba        ? load_rgba(ps, pp, cy, rows, err)
              : pp->tiled ? load_tiles(ps, pp, cy, rows, err)
              : pp->by_row ? load_row(ps, pp, cy, err)
                           : load_strips(ps, pp, cy, rows, err);
    if (!ok) {
        s2d_error_prefix(err, "page %d: ", page);
        return false;
    }
    ps->chunk_page = page;
    ps->chunk_y = cy;
    return true;
}

static float half_to_float(uint16_t h)
{
    int exponent = (h >> 10) & 0x1f;
    double mantissa = h & 0x3ff;
    double v = exponent == 0    ? ldexp(mantissa, -24)
               : exponent == 31 ? (mantissa ? NAN : INFINITY)
                                : ldexp(mantissa + 1024, exponent - 25);
    return (float)((h & 0x8000) ? -v : v);
}

// Sample `s` of pixel x of a decoded row: integers as their bit pattern, in the low bits.
static uint32_t int_sample(const plain_page *pp, const uint8_t *const *rows, uint32_t x, int s)
{
    const uint8_t *row = rows[pp->planar ? s : 0];
    size_t k = pp->planar ? x : (size_t)x * pp->file_samples + (size_t)s;
    switch (pp->bits) {
    case 8:
        return row[k];
    case 16: {
        uint16_t v;
        memcpy(&v, row + 2 * k, 2);
        return v;
    }
    case 32: {
        uint32_t v;
        memcpy(&v, row + 4 * k, 4);
        return v;
    }
    default: {   // 1..15 bits, packed most significant bit first
        size_t bit = k * pp->bits;
        uint32_t v = 0;
        for (unsigned i = 0; i < pp->bits; i++, bit++) {
            v = v << 1 | ((row[bit / 8] >> (7 - bit % 8)) & 1u);
        }
        return v;
    }
    }
}

static float float_sample(const plain_page *pp, const uint8_t *const *rows, uint32_t x, int s)
{
    const uint8_t *row = rows[pp->planar ? s : 0];
    size_t k = pp->planar ? x : (size_t)x * pp->file_samples + (size_t)s;
    if (pp->bits == 16) {
        uint16_t h;
        memcpy(&h, row + 2 * k, 2);
        return half_to_float(h);
    }
    if (pp->bits == 64) {
        double d;
        memcpy(&d, row + 8 * k, 8);
        return (float)d;
    }
    float f;
    memcpy(&f, row + 4 * k, 4);
    return f;
}

// Colour c on a pixel of alpha a, put on white (max, or 0 for min-is-white).
static uint32_t on_white(const plain_page *pp, uint32_t c, uint32_t a, uint32_t max)
{
    uint64_t white = pp->white_is_zero ? 0 : max;
    uint64_t v = pp->alpha_associated ? c + white * (max - a) / max
                                      : ((uint64_t)c * a + white * (max - a) + max / 2) / max;
    return v > max ? max : (uint32_t)v;
}

static void store(void *out, const s2d_pixdesc *pix, size_t i, uint32_t v)
{
    if (pix->bits_allocated <= 8) {
        ((uint8_t *)out)[i] = (uint8_t)v;
    } else if (pix->bits_allocated == 16) {
        uint16_t w = (uint16_t)v;
        memcpy((uint8_t *)out + 2 * i, &w, 2);
    } else {
        memcpy((uint8_t *)out + 4 * i, &v, 4);
    }
}

// The 8 pixels (bytes 0 or 1) of each 1-bit byte, most significant bit first: bilevel
// pages are most plain TIFFs' pages, and a table makes their unpacking one store a byte.
static uint64_t bilevel_bytes[256];
static pthread_once_t bilevel_once = PTHREAD_ONCE_INIT;

static void make_bilevel_bytes(void)
{
    for (unsigned v = 0; v < 256; v++) {
        uint8_t px[8];
        for (unsigned j = 0; j < 8; j++) {
            px[j] = (uint8_t)(v >> (7 - j) & 1);
        }
        memcpy(&bilevel_bytes[v], px, 8);
    }
}

// n samples of 1, 2 or 4 bits, most significant first, one byte each.
static void unpack_row(const uint8_t *packed, unsigned bits, uint32_t n, uint8_t *out)
{
    unsigned per_byte = 8 / bits, mask = (1u << bits) - 1;
    uint32_t whole = n / per_byte;
    if (bits == 1) {
        pthread_once(&bilevel_once, make_bilevel_bytes);
        for (uint32_t i = 0; i < whole; i++, out += 8) {
            memcpy(out, &bilevel_bytes[packed[i]], 8);
        }
        for (uint32_t j = 0; j < n - whole * 8; j++) {
            *out++ = (uint8_t)(packed[whole] >> (7 - j) & 1);
        }
        return;
    }
    for (uint32_t i = 0; i < whole; i++) {
        unsigned byte = packed[i];
        for (unsigned j = 0; j < per_byte; j++) {
            *out++ = (uint8_t)((byte >> (8 - bits * (j + 1))) & mask);
        }
    }
    for (uint32_t j = 0; j < n - whole * per_byte; j++) {
        *out++ = (uint8_t)((packed[whole] >> (8 - bits * (j + 1))) & mask);
    }
}

// Row r of the cached chunk, as the page's pixel description lays it out.
static void hand_out_row(plain_source *ps, plain_page *pp, const s2d_pixdesc *pix, uint32_t r,
                         uint8_t *out)
{
    // Translucent pixels are counted once, as rows come in order from the top.
    bool count = ps->chunk_y + r == pp->counted_rows;
    pp->counted_rows += count;
    uint32_t w = pp->width;
    if (pp->path == PATH_RGBA) {
        const uint8_t *px = ps->chunk + (size_t)r * w * 4;
        for (uint32_t x = 0; x < w; x++) {
            uint32_t v;
            memcpy(&v, px + 4 * (size_t)x, 4);
            uint32_t a = TIFFGetA(v);
            pp->translucent += count && a != 255;
            // libtiff's RGBA words are premultiplied: white fills what alpha leaves.
            out[3 * x] = (uint8_t)(TIFFGetR(v) + 255 - a > 255 ? 255 : TIFFGetR(v) + 255 - a);
            out[3 * x + 1] = (uint8_t)(TIFFGetG(v) + 255 - a > 255 ? 255 : TIFFGetG(v) + 255 - a);
            out[3 * x + 2] = (uint8_t)(TIFFGetB(v) + 255 - a > 255 ? 255 : TIFFGetB(v) + 255 - a);
        }
        return;
    }
    // One row per plane (rows[0] for interleaved samples); open refuses more than 8 planes.
    const uint8_t *rows[8];
    int planes = pp->planar ? pp->file_samples : 1;
    for (int p = 0; p < planes && p < 8; p++) {
        rows[p] = ps->chunk + p * ps->plane_bytes + r * pp->plane_row_bytes;
    }
    int n = pp->colour_samples;
    if (!pp->planar && pp->file_samples == n && pp->bits == 8 * s2d_pixdesc_sample_bytes(pix) &&
        pp->bits >= 8) {
        memcpy(out, rows[0], (size_t)w * n * (pp->bits / 8));   // as libtiff gave them
        return;
    }
    if (!pp->planar && pp->file_samples == 1 && pp->bits < 8 && 8 % pp->bits == 0) {
        unpack_row(rows[0], pp->bits, w, out);   // bilevel documents: the common case
        return;
    }
    if (pix->is_float) {
        for (uint32_t x = 0; x < w; x++) {
            for (int s = 0; s < n; s++) {
                float f = float_sample(pp, rows, x, s);
                memcpy(out + 4 * ((size_t)x * n + s), &f, 4);
            }
        }
        return;
    }
    // Palette indices and signed values have no white to put them on; 32-bit alpha is
    // too rare to be worth the wider arithmetic: those drop the alpha sample.
    bool composite = pp->alpha >= 0 && pix->colour != S2D_COLOUR_PALETTE && !pix->is_signed &&
                     pp->bits <= 16;
    uint32_t max = pp->bits == 32 ? UINT32_MAX : (1u << pp->bits) - 1;
    for (uint32_t x = 0; x < w; x++) {
        uint32_t a = composite ? int_sample(pp, rows, x, pp->alpha) : max;
        pp->translucent += count && a != max;
        for (int s = 0; s < n; s++) {
            uint32_t v = int_sample(pp, rows, x, s);
            store(out, pix, (size_t)x * n + s, a == max ? v : on_white(pp, v, a, max));
        }
    }
}

static bool plain_read_rows(s2d_source *src, int page, uint32_t y, uint32_t n, void *out,
                            size_t stride, s2d_error *err)
{
    plain_source *ps = plain_of(src);
    plain_page *pp = &ps->pages[page];
    for (uint32_t i = 0; i < n; i++) {
        if (!load_chunk(src, page, y + i, err)) {
            return false;
        }
        hand_out_row(ps, pp, &src->pages[page].pix, y + i - ps->chunk_y,
                     (uint8_t *)out + i * stride);
    }
    return true;
}

static bool plain_read_bilevel_rows(s2d_source *src, int page, uint32_t y, uint32_t n,
                                    void *out, size_t stride, s2d_error *err)
{
    plain_source *ps = plain_of(src);
    plain_page *pp = &ps->pages[page];
    if (pp->bits != 1 || pp->planar || pp->file_samples != 1 || pp->path == PATH_RGBA) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "page %d is not bilevel", page + 1);
    }
    size_t row_bytes = (pp->width + 7) / 8;
    for (uint32_t i = 0; i < n; i++) {
        if (!load_chunk(src, page, y + i, err)) {
            return false;
        }
        memcpy((uint8_t *)out + i * stride,
               ps->chunk + (size_t)(y + i - ps->chunk_y) * pp->plane_row_bytes, row_bytes);
    }
    return true;
}

static uint64_t plain_translucent(const s2d_source *src, int page)
{
    return plain_of(src)->pages[page].translucent;
}

static const uint16_t *plain_palette(const s2d_source *src, int page, int *n)
{
    const plain_page *pp = &plain_of(src)->pages[page];
    *n = pp->palette_n;
    return pp->palette;
}

static bool plain_page_jpeg(s2d_source *src, int page, s2d_buf *out, s2d_colour *colour,
                            s2d_error *err)
{
    plain_source *ps = plain_of(src);
    const s2d_tiff_ifd *d = &src->tiffdir->ifds[ps->pages[page].ifd];
    return s2d_tiff_strips_jpeg(ps->fd, d, out, colour) ||
           s2d_error_set(err, S2D_ERR_INPUT, "page %d is not stored as JPEG strips that can be "
                         "copied", page);
}

static bool plain_page_raw(s2d_source *src, int page, s2d_buf *out, s2d_error *err)
{
    plain_source *ps = plain_of(src);
    const plain_page *pp = &ps->pages[page];
    const s2d_tiff_ifd *d = &src->tiffdir->ifds[pp->ifd];
    if (d->nchunks != 1 || !d->offsets || d->counts[0] == 0 ||
        d->counts[0] > S2D_COPIED_FRAME_MAX(d->width, d->height)) {
        return s2d_error_set(err, S2D_ERR_INPUT, "page %d is not stored as one strip",
                             page + 1);
    }
    uint16_t fill_order = FILLORDER_MSB2LSB;
    if (!to_directory(ps, pp, err)) {
        return false;
    }
    TIFFGetFieldDefaulted(ps->tif, TIFFTAG_FILLORDER, &fill_order);
    if (!s2d_pread_buf(ps->fd, d->offsets[0], (size_t)d->counts[0], out)) {
        return s2d_error_set(err, S2D_ERR_INPUT, "page %d: its strip cannot be read (past "
                             "the end of the file?)", page + 1);
    }
    if (fill_order == FILLORDER_LSB2MSB) {
        TIFFReverseBits(out->data, (tmsize_t)out->len);
    }
    return true;
}

static void plain_close(s2d_source *src)
{
    plain_source *ps = plain_of(src);
    if (!ps) {
        return;
    }
    for (int i = 0; ps->pages && i < src->npages; i++) {
        free(ps->pages[i].palette);
    }
    free(ps->pages);
    free(ps->chunk);
    free(ps->tile);
    if (ps->tif) {
        TIFFClose(ps->tif);
    }
    if (ps->fd >= 0) {
        close(ps->fd);
    }
    free(ps);
    src->impl = NULL;
}

static const s2d_source_ops plain_ops = {
    .close = plain_close,
    .read_rows = plain_read_rows,
    .read_bilevel_rows = plain_read_bilevel_rows,
    .translucent = plain_translucent,
    .palette = plain_palette,
    .page_jpeg = plain_page_jpeg,
    .page_raw = plain_page_raw,
};

// ------------------------------------------------------------------ the file's facts

static void microscopy_mark(const s2d_tiffdir *td, s2d_source_meta *m)
{
    const s2d_tiff_ifd *d0 = &td->ifds[0];
    const char *desc = d0->description ? d0->description : "";
    const char *software = d0->software ? d0->software : "";
    s2d_imagej ij;
    const char *mark = "";
    if (strstr(desc, "<OME")) {
        mark = "OME-XML";
    } else if (s2d_tiffdir_private(td, 0, TAG_ZEISS_LSM)) {
        mark = "LSM";
    } else if (s2d_tiffdir_private(td, 0, TAG_METAMORPH_UIC1) || strstr(desc, "<MetaData>")) {
        mark = "MetaMorph";
    } else if (strstr(desc, "PerkinElmer-QPI") || strncmp(software, "PerkinElmer-QPI", 15) == 0) {
        mark = "QPTIFF";
    } else if (s2d_tiffdir_private(td, 0, TAG_MICROMANAGER)) {
        mark = "Micro-Manager";
    } else if (s2d_imagej_parse(desc, &ij) && (ij.hyperstack || ij.channels > 1)) {
        // A plain ImageJ stack (slices only) is no mark: radiology is saved so too.
        mark = "ImageJ hyperstack";
    }
    snprintf(m->microscopy_mark, sizeof m->microscopy_mark, "%s", mark);
}

static bool read_meta(s2d_source *src, s2d_error *err)
{
    plain_source *ps = plain_of(src);
    const s2d_tiffdir *td = src->tiffdir;
    const s2d_tiff_ifd *d0 = &td->ifds[0];
    s2d_source_meta *m = &src->meta;
    ps->why[0] = '\0';
    if (!TIFFSetDirectory(ps->tif, 0)) {
        return s2d_error_set(err, S2D_ERR_INPUT, "IFD 0 cannot be read: %s",
                             why_or(ps, "libtiff refuses it"));
    }
    ps->dir = 0;
    uint64_t exif = 0;
    m->exif_present = TIFFGetField(ps->tif, TIFFTAG_EXIFIFD, &exif) && exif != 0;
    s2d_meta_tiff_datetime(d0->datetime, m->acquisition_datetime);
    s2d_imagej ij;
    if (s2d_imagej_parse(d0->description, &ij) && ij.has_range) {
        m->has_display_range = true;
        m->display_min = ij.min;
        m->display_max = ij.max;
    }
    microscopy_mark(td, m);
    // The device that made the file; an OME-TIFF's TIFF tags name the program that wrote
    // it, and its microscope is in the OME-XML (planes.c).
    if (strcmp(m->microscopy_mark, "OME-XML") == 0) {
        snprintf(m->format_title, sizeof m->format_title, "OME-TIFF");
    } else {
        s2d_meta_tiff_device(d0, &m->device);
        snprintf(m->format_title, sizeof m->format_title, "TIFF%s%s%s",
                 m->microscopy_mark[0] ? " (" : "", m->microscopy_mark,
                 m->microscopy_mark[0] ? ")" : "");
    }
    s2d_meta_default_background(m);
    return s2d_meta_take_icc(td, m) || s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
}

// ------------------------------------------------------------------ the format

// A tiled TIFF that tiled_tiff did not copy stays OpenSlide's when it is of 8-bit samples
// that OpenSlide reads (a pyramid of LZW or Deflate tiles); ours when OpenSlide would not
// read it, or would cut its samples to 8 bits.
static bool plain_detect(const char *path, const s2d_tiffdir *td)
{
    if (!td || td->n == 0 || s2d_tiff_vendor_marked(td)) {
        return false;
    }
    const s2d_tiff_ifd *d0 = &td->ifds[0];
    return !d0->tiled || d0->bits != 8 || d0->sample_format != SAMPLEFORMAT_UINT ||
           s2d_ome_planes_file(td) || !s2d_format_openslide.detect(path, td);
}

static bool open_tiff(s2d_source *src, plain_source *ps, s2d_error *err)
{
    if ((ps->fd = open(src->path, O_RDONLY | O_CLOEXEC)) < 0) {
        return s2d_error_set(err, S2D_ERR_IO, "cannot open it: %s", strerror(errno));
    }
    TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
    if (!opts) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    TIFFOpenOptionsSetErrorHandlerExtR(opts, on_tiff_error, ps);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, on_tiff_warning, ps);
    // Not memory-mapped ("m"): pages of a mapped file count in the resident size, and a
    // 2 GB stack read through would look like 2 GB of memory.
    ps->tif = TIFFOpenExt(src->path, "rm", opts);
    TIFFOpenOptionsFree(opts);
    return ps->tif || s2d_error_set(err, S2D_ERR_INPUT, "libtiff cannot open it: %s",
                                    why_or(ps, "no reason given"));
}

static bool plain_open(s2d_source *src, s2d_error *err)
{
    const s2d_tiffdir *td = src->tiffdir;
    if (!s2d_tiff_source_sound(td, err)) {
        return false;
    }
    plain_source *ps = calloc(1, sizeof *ps);
    if (!ps) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    ps->fd = -1;
    ps->dir = -1;
    ps->chunk_page = -1;
    // From here on, closing the source frees what is made.
    src->impl = ps;
    src->ops = &plain_ops;
    if (!open_tiff(src, ps, err) || !read_meta(src, err)) {
        return false;
    }
    int n = 0;
    for (int i = 0; i < td->n; i++) {
        n += !(td->ifds[i].subfile_type & FILETYPE_REDUCEDIMAGE);
    }
    if (n == 0) {
        return s2d_error_set(err, S2D_ERR_INPUT, "no pages: every directory is a "
                             "reduced-resolution copy");
    }
    ps->pages = calloc((size_t)n, sizeof *ps->pages);
    src->pages = calloc((size_t)n, sizeof *src->pages);
    src->page_facts = calloc((size_t)n, sizeof *src->page_facts);
    if (!ps->pages || !src->pages || !src->page_facts) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < td->n; i++) {
        if (td->ifds[i].subfile_type & FILETYPE_REDUCEDIMAGE) {
            continue;
        }
        int page = src->npages++;
        plain_page *pp = &ps->pages[page];
        pp->ifd = i;
        if (!to_directory(ps, pp, err) ||
            !describe_page(ps, &td->ifds[i], page, pp, &src->pages[page],
                           &src->page_facts[page], err) ||
            !buffers_bounded(pp, page, err)) {
            return false;
        }
        if (pp->planar && pp->file_samples > 8) {
            return s2d_error_set(err, S2D_ERR_INPUT, "page %d: %u planes are too many", page,
                                 pp->file_samples);
        }
    }
    ps->dir = -1;   // the first read sets the directory up for reading (JPEG colour mode)
    return s2d_planes_build(src, err);
}

static const char *const plain_extensions[] = {".tif", ".tiff", NULL};

const s2d_format s2d_format_plain_tiff = {
    .name = "plain-tiff",
    .extensions = plain_extensions,
    .reads_tiff = true,
    .detect = plain_detect,
    .open = plain_open,
};
