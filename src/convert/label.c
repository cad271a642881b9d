// SPDX-License-Identifier: Apache-2.0
/* The replacement label (see label.h). */
#include "convert/label.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>
#include <turbojpeg.h>
#include <zlib.h>

#include "convert/outdir.h"

// A label image larger than this is not a label.
enum { LABEL_MAX_SIDE = 8192, LABEL_MAX_FILE = 64 << 20 };

// ---------------------------------------------------------------- text

// 5 x 7 glyphs, one byte a row, the high bit of the five the leftmost pixel; sorted by
// character. Lower case is drawn as upper case; a character not here as '?'.
static const struct glyph {
    char c;
    uint8_t rows[7];
} glyphs[] = {
    {' ', {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
    {'#', {0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A}},
    {'(', {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}},
    {')', {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}},
    {'+', {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00}},
    {',', {0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08}},
    {'-', {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00}},
    {'.', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}},
    {'/', {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00}},
    {'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}},
    {'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
    {'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}},
    {'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
    {'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}},
    {'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
    {'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}},
    {'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
    {'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}},
    {'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
    {':', {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00}},
    {'?', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04}},
    {'A', {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
    {'B', {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E}},
    {'C', {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}},
    {'D', {0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E}},
    {'E', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}},
    {'F', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}},
    {'G', {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}},
    {'H', {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
    {'I', {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}},
    {'J', {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C}},
    {'K', {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}},
    {'L', {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}},
    {'M', {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}},
    {'N', {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}},
    {'O', {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}},
    {'P', {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}},
    {'Q', {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}},
    {'R', {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}},
    {'S', {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}},
    {'T', {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}},
    {'U', {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}},
    {'V', {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04}},
    {'W', {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}},
    {'X', {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11}},
    {'Y', {0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04}},
    {'Z', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}},
    {'_', {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F}},
};

static const uint8_t *glyph_of(char c)
{
    if (c >= 'a' && c <= 'z') {
        c = (char)(c - 'a' + 'A');
    }
    for (size_t i = 0; i < sizeof glyphs / sizeof *glyphs; i++) {
        if (glyphs[i].c == c) {
            return glyphs[i].rows;
        }
    }
    return glyph_of('?');
}

enum {
    FONT_SCALE = 5,                  // screen pixels per font pixel
    CELL_W = 6, CELL_H = 9,          // a glyph with its spacing, in font pixels
    LINE_CHARS = 16,                 // a label is small: wrap at this many characters
    MARGIN = 4 * FONT_SCALE,
};

// Breaks text into lines of at most LINE_CHARS, at spaces where it can; each line is
// (start, length) into text. Returns the number of lines.
static int wrap(const char *text, size_t line_at[][2], int max_lines)
{
    int n = 0;
    size_t len = strlen(text), at = 0;
    while (at < len && n < max_lines) {
        while (at < len && text[at] == ' ') {
            at++;
        }
        size_t take = len - at <= LINE_CHARS ? len - at : LINE_CHARS;
        if (at + take < len && text[at + take] != ' ') {
            size_t space = take;
            while (space > 0 && text[at + space] != ' ') {
                space--;
            }
            take = space > 0 ? space : take;   // a word longer than a line is cut
        }
        if (take > 0) {
            line_at[n][0] = at;
            line_at[n][1] = take;
            n++;
        }
        at += take;
    }
    return n;
}

static bool draw_text(const char *text, uint8_t **rgb, int64_t *width, int64_t *height,
                      s2d_error *err)
{
    size_t len = strlen(text);
    if (len == 0 || len > S2D_LABEL_TEXT_MAX) {
        return s2d_error_set(err, S2D_ERR_USAGE, "--label-text: give 1 to %d characters",
                             S2D_LABEL_TEXT_MAX);
    }
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c < 0x20 || *c > 0x7E) {
            return s2d_error_set(err, S2D_ERR_USAGE, "--label-text: use printable ASCII "
                                 "characters only");
        }
    }
    size_t lines[S2D_LABEL_TEXT_MAX][2];
    int nlines = wrap(text, lines, S2D_LABEL_TEXT_MAX);
    if (nlines == 0) {
        return s2d_error_set(err, S2D_ERR_USAGE, "--label-text: the text is only spaces");
    }
    size_t widest = 0;
    for (int i = 0; i < nlines; i++) {
        widest = lines[i][1] > widest ? lines[i][1] : widest;
    }
    int64_t w = 2 * MARGIN + (int64_t)widest * CELL_W * FONT_SCALE;
    int64_t h = 2 * MARGIN + (int64_t)nlines * CELL_H * FONT_SCALE;
    uint8_t *px = malloc((size_t)(w * h * 3));
    if (!px) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory for the label");
    }
    memset(px, 0xFF, (size_t)(w * h * 3));   // black on white, like a printed label
    for (int l = 0; l < nlines; l++) {
        for (size_t k = 0; k < lines[l][1]; k++) {
            const uint8_t *g = glyph_of(text[lines[l][0] + k]);
            int64_t x0 = MARGIN + (int64_t)k * CELL_W * FONT_SCALE;
            int64_t y0 = MARGIN + (int64_t)l * CELL_H * FONT_SCALE;
            for (int gy = 0; gy < 7; gy++) {
                for (int gx = 0; gx < 5; gx++) {
                    if (!(g[gy] & (0x10 >> gx))) {
                        continue;
                    }
                    for (int sy = 0; sy < FONT_SCALE; sy++) {
                        uint8_t *row = px + ((y0 + gy * FONT_SCALE + sy) * w +
                                             x0 + gx * FONT_SCALE) * 3;
                        memset(row, 0, FONT_SCALE * 3);
                    }
                }
            }
        }
    }
    *rgb = px;
    *width = w;
    *height = h;
    return true;
}

// ---------------------------------------------------------------- pictures

typedef struct picture {
    const char *path;                // for messages: its base name
    const uint8_t *data;
    size_t len;
} picture;

__attribute__((format(printf, 3, 4))) static bool bad_picture(const picture *p, s2d_error *err,
                                                            const char *fmt, ...)
{
    char why[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return s2d_error_set(err, S2D_ERR_USAGE, "--label-image %s: %s", s2d_base_name(p->path),
                         why);
}

static bool size_ok(const picture *p, int64_t w, int64_t h, s2d_error *err)
{
    if (w < 1 || h < 1 || w > LABEL_MAX_SIDE || h > LABEL_MAX_SIDE) {
        return bad_picture(p, err, "%lldx%lld pixels; a label has 1 to %d on a side",
                           (long long)w, (long long)h, LABEL_MAX_SIDE);
    }
    return true;
}

static bool decode_jpeg(const picture *p, uint8_t **rgb, int64_t *w, int64_t *h,
                        s2d_error *err)
{
    tjhandle tj = tjInitDecompress();
    int width, height, subsamp, colorspace;
    bool ok = tj && tjDecompressHeader3(tj, p->data, (unsigned long)p->len, &width, &height,
                                        &subsamp, &colorspace) == 0;
    ok = ok ? size_ok(p, width, height, err)
            : bad_picture(p, err, "not a JPEG TurboJPEG reads");
    uint8_t *px = ok ? malloc((size_t)width * (size_t)height * 3) : NULL;
    if (ok && !px) {
        ok = s2d_error_set(err, S2D_ERR_NOMEM, "out of memory for the label");
    }
    if (ok && tjDecompress2(tj, p->data, (unsigned long)p->len, px, width, 0, height, TJPF_RGB,
                            0) != 0) {
        ok = bad_picture(p, err, "the JPEG does not decode");
    }
    if (tj) {
        tjDestroy(tj);
    }
    if (!ok) {
        free(px);
        return false;
    }
    *rgb = px;
    *w = width;
    *h = height;
    return true;
}

static int quiet_tiff(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
    (void)tif;
    (void)user;
    (void)module;
    (void)fmt;
    (void)ap;
    return 1;   // handled: the error is ours to report, in one line
}

static bool decode_tiff(const picture *p, uint8_t **rgb, int64_t *w, int64_t *h,
                        s2d_error *err)
{
    TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
    if (!opts) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    TIFFOpenOptionsSetErrorHandlerExtR(opts, quiet_tiff, NULL);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, quiet_tiff, NULL);
    TIFF *tif = TIFFOpenExt(p->path, "r", opts);
    TIFFOpenOptionsFree(opts);
    if (!tif) {
        return bad_picture(p, err, "libtiff cannot open it");
    }
    uint32_t width = 0, height = 0;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &width);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &height);
    bool ok = size_ok(p, width, height, err);
    uint32_t *abgr = ok ? malloc((size_t)width * height * sizeof *abgr) : NULL;
    uint8_t *px = ok ? malloc((size_t)width * height * 3) : NULL;
    if (ok && (!abgr || !px)) {
        ok = s2d_error_set(err, S2D_ERR_NOMEM, "out of memory for the label");
    }
    if (ok && !TIFFReadRGBAImageOriented(tif, width, height, abgr, ORIENTATION_TOPLEFT, 0)) {
        ok = bad_picture(p, err, "libtiff cannot read its first image as RGB");
    }
    for (size_t i = 0; ok && i < (size_t)width * height; i++) {
        // Over white, as the label's paper.
        unsigned a = TIFFGetA(abgr[i]);
        px[3 * i] = (uint8_t)((TIFFGetR(abgr[i]) * a + 255 * (255 - a)) / 255);
        px[3 * i + 1] = (uint8_t)((TIFFGetG(abgr[i]) * a + 255 * (255 - a)) / 255);
        px[3 * i + 2] = (uint8_t)((TIFFGetB(abgr[i]) * a + 255 * (255 - a)) / 255);
    }
    free(abgr);
    TIFFClose(tif);
    if (!ok) {
        free(px);
        return false;
    }
    *rgb = px;
    *w = width;
    *h = height;
    return true;
}

static uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

// PNG (the common kinds: 8-bit grey, grey with alpha, RGB, RGBA, palette; not interlaced),
// inflated with zlib and unfiltered here.
static bool decode_png(const picture *p, uint8_t **rgb, int64_t *w, int64_t *h,
                       s2d_error *err)
{
    const uint8_t *d = p->data, *end = p->data + p->len;
    uint32_t width = 0, height = 0;
    int depth = 0, type = -1, interlace = 0;
    uint8_t palette[256 * 3];
    size_t npalette = 0;
    uint8_t *idat = NULL;
    size_t nidat = 0;
    bool ok = true;
    for (d += 8; ok && end - d >= 12;) {
        uint32_t len = be32(d);
        const uint8_t *type_at = d + 4, *body = d + 8;
        if (len > (size_t)(end - body) - 4) {
            ok = bad_picture(p, err, "a PNG chunk runs past the end of the file");
            break;
        }
        if (!memcmp(type_at, "IHDR", 4) && len >= 13) {
            width = be32(body);
            height = be32(body + 4);
            depth = body[8];
            type = body[9];
            interlace = body[12];
        } else if (!memcmp(type_at, "PLTE", 4) && len % 3 == 0 && len <= sizeof palette) {
            memcpy(palette, body, len);
            npalette = len / 3;
        } else if (!memcmp(type_at, "IDAT", 4)) {
            uint8_t *more = realloc(idat, nidat + len + 1);
            if (!more) {
                ok = s2d_error_set(err, S2D_ERR_NOMEM, "out of memory for the label");
                break;
            }
            idat = more;
            memcpy(idat + nidat, body, len);
            nidat += len;
        } else if (!memcmp(type_at, "IEND", 4)) {
            break;
        }
        d = body + len + 4;   // past the CRC
    }
    int channels = type == 0 ? 1 : type == 2 ? 3 : type == 3 ? 1 : type == 4 ? 2 : type == 6 ? 4 : 0;
    if (ok && (depth != 8 || !channels || interlace || (type == 3 && !npalette))) {
        ok = bad_picture(p, err, "a PNG of a kind not read here (8-bit grey, RGB, RGBA or "
                         "palette, not interlaced, are)");
    }
    ok = ok && size_ok(p, width, height, err);
    size_t stride = (size_t)width * (size_t)channels;
    uLongf raw_len = (uLongf)((stride + 1) * height);
    uint8_t *raw = ok ? malloc(raw_len) : NULL;
    uint8_t *px = ok ? malloc((size_t)width * height * 3) : NULL;
    if (ok && (!raw || !px)) {
        ok = s2d_error_set(err, S2D_ERR_NOMEM, "out of memory for the label");
    }
    uLongf got = raw_len;
    if (ok && (uncompress(raw, &got, idat, (uLong)nidat) != Z_OK || got != raw_len)) {
        ok = bad_picture(p, err, "the PNG's image data does not inflate to its size");
    }
    for (uint32_t y = 0; ok && y < height; y++) {
        uint8_t *row = raw + y * (stride + 1), *cur = row + 1;
        const uint8_t *up = y ? raw + (y - 1) * (stride + 1) + 1 : NULL;
        for (size_t i = 0; ok && i < stride; i++) {
            int a = i >= (size_t)channels ? cur[i - channels] : 0, b = up ? up[i] : 0;
            int c = up && i >= (size_t)channels ? up[i - channels] : 0;
            switch (row[0]) {
            case 0: break;
            case 1: cur[i] = (uint8_t)(cur[i] + a); break;
            case 2: cur[i] = (uint8_t)(cur[i] + b); break;
            case 3: cur[i] = (uint8_t)(cur[i] + ((a + b) >> 1)); break;
            case 4: cur[i] = (uint8_t)(cur[i] + paeth(a, b, c)); break;
            default: ok = bad_picture(p, err, "a PNG row has an unknown filter");
            }
        }
        for (uint32_t x = 0; ok && x < width; x++) {
            const uint8_t *s = cur + (size_t)x * channels;
            uint8_t *o = px + ((size_t)y * width + x) * 3;
            unsigned alpha = type == 4 ? s[1] : type == 6 ? s[3] : 255;
            uint8_t v[3] = {s[0], s[0], s[0]};
            if (type == 2 || type == 6) {
                memcpy(v, s, 3);
            } else if (type == 3) {
                if (s[0] >= npalette) {
                    ok = bad_picture(p, err, "a PNG pixel is past its palette");
                    break;
                }
                memcpy(v, palette + 3 * s[0], 3);
            }
            for (int k = 0; k < 3; k++) {
                o[k] = (uint8_t)((v[k] * alpha + 255 * (255 - alpha)) / 255);   // over white
            }
        }
    }
    free(idat);
    free(raw);
    if (!ok) {
        free(px);
        return false;
    }
    *rgb = px;
    *w = width;
    *h = height;
    return true;
}

static bool read_whole(const char *path, uint8_t **data, size_t *len, s2d_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return s2d_error_set(err, S2D_ERR_USAGE, "--label-image %s: cannot open it: %s",
                             s2d_base_name(path), strerror(errno));
    }
    uint8_t *buf = malloc(LABEL_MAX_FILE + 1);
    size_t got = buf ? fread(buf, 1, LABEL_MAX_FILE + 1, f) : 0;
    bool failed = ferror(f);
    fclose(f);
    if (!buf) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    if (failed || got > LABEL_MAX_FILE) {
        free(buf);
        return s2d_error_set(err, S2D_ERR_USAGE, "--label-image %s: %s", s2d_base_name(path),
                             failed ? "cannot read it" : "larger than 64 MiB");
    }
    *data = buf;
    *len = got;
    return true;
}

bool s2d_label_make(const s2d_convert_options *o, uint8_t **rgb, int64_t *width,
                    int64_t *height, s2d_error *err)
{
    *rgb = NULL;
    if (!o->label_image) {
        return draw_text(o->label_text, rgb, width, height, err);
    }
    picture p = {.path = o->label_image};
    uint8_t *data = NULL;
    if (!read_whole(p.path, &data, &p.len, err)) {
        return false;
    }
    p.data = data;
    static const uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    bool ok;
    if (p.len >= 8 && !memcmp(data, png, 8)) {
        ok = decode_png(&p, rgb, width, height, err);
    } else if (p.len >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) {
        ok = decode_jpeg(&p, rgb, width, height, err);
    } else if (p.len >= 4 && (!memcmp(data, "II*", 4) || !memcmp(data, "MM\0*", 4))) {
        ok = decode_tiff(&p, rgb, width, height, err);
    } else {
        ok = bad_picture(&p, err, "not a JPEG, PNG or TIFF file");
    }
    free(data);
    return ok;
}
