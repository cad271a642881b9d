// SPDX-License-Identifier: Apache-2.0
/* JPEG / JPEG 2000 marker reading and TIFF tile splicing; see codec/bitstream.h. */
#include "codec/bitstream.h"

#include <string.h>

static unsigned be16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool s2d_jpeg_parse(const uint8_t *p, size_t n, s2d_jpeg_facts *f)
{
    memset(f, 0, sizeof *f);
    f->adobe_transform = -1;
    if (n < 4 || p[0] != 0xFF || p[1] != 0xD8) {
        return false;
    }
    size_t i = 2;
    while (i + 4 <= n) {
        if (p[i] != 0xFF) {
            return false;
        }
        unsigned m = p[i + 1];
        if (m == 0xFF) {   // fill byte
            i++;
            continue;
        }
        if (m == 0xD8 || (m >= 0xD0 && m <= 0xD7)) {
            i += 2;
            continue;
        }
        if (m == 0xD9 || m == 0xDA) {
            f->scan = m == 0xDA;
            break;
        }
        size_t len = be16(p + i + 2);
        if (len < 2 || i + 2 + len > n) {
            return false;
        }
        const uint8_t *seg = p + i + 4;
        size_t slen = len - 2;
        if (m == 0xE0 && slen >= 5 && memcmp(seg, "JFIF\0", 5) == 0) {
            f->jfif = true;
        } else if (m == 0xEE && slen >= 12 && memcmp(seg, "Adobe", 5) == 0) {
            f->adobe_transform = seg[11];
        } else if (m == 0xDD && slen >= 2) {
            f->restart_interval = (int)be16(seg);
        } else if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
            if (slen < 6) {
                return false;
            }
            f->sof = (int)m;
            f->precision = seg[0];
            f->height = (int)be16(seg + 1);
            f->width = (int)be16(seg + 3);
            f->ncomp = seg[5];
            if (f->ncomp < 1 || f->ncomp > 4 || slen < 6 + 3 * (size_t)f->ncomp) {
                return false;
            }
            for (int c = 0; c < f->ncomp; c++) {
                f->ids[c] = seg[6 + 3 * c];
                f->h[c] = seg[7 + 3 * c] >> 4;
                f->v[c] = seg[7 + 3 * c] & 15;
            }
        }
        i += 2 + len;
    }
    return f->sof != 0;
}

void s2d_jpeg_mcu_size(const s2d_jpeg_facts *f, int *mcu_w, int *mcu_h)
{
    int hmax = 1, vmax = 1;
    for (int c = 0; c < f->ncomp; c++) {
        hmax = f->h[c] > hmax ? f->h[c] : hmax;
        vmax = f->v[c] > vmax ? f->v[c] : vmax;
    }
    *mcu_w = 8 * hmax;
    *mcu_h = 8 * vmax;
}

bool s2d_jpeg_is_rgb(const s2d_jpeg_facts *f, bool tiff_says_rgb)
{
    // The same order of evidence libjpeg uses, with the TIFF tag only for the open case.
    if (f->adobe_transform >= 0) {
        return f->adobe_transform == 0;
    }
    if (f->jfif) {
        return false;
    }
    if (f->ncomp == 3 && f->ids[0] == 'R' && f->ids[1] == 'G' && f->ids[2] == 'B') {
        return true;
    }
    for (int c = 1; c < f->ncomp; c++) {
        if (f->h[c] != f->h[0] || f->v[c] != f->v[0]) {
            return false;   // nobody subsamples green and blue
        }
    }
    return tiff_says_rgb;
}

// Appends the segments of an abbreviated or complete stream: everything between its SOI and
// its EOI (or its end).
static void append_body(s2d_buf *out, const uint8_t *p, size_t n)
{
    size_t start = n >= 2 && p[0] == 0xFF && p[1] == 0xD8 ? 2 : 0;
    size_t end = n;
    if (end >= start + 2 && p[end - 2] == 0xFF && p[end - 1] == 0xD9) {
        end -= 2;
    }
    s2d_buf_append(out, p + start, end - start);
}

// Adobe APP14, version 100, no flags, transform 0: the components are R, G, B.
static const uint8_t app14_rgb[] = {0xFF, 0xEE, 0x00, 0x0E, 'A', 'd', 'o', 'b',
                                    'e', 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00};

// Starts out afresh with what every stream made from TIFF pieces begins with: SOI, [the
// APP14 RGB marker], the tables' segments.
static void begin_stream(const uint8_t *tables, size_t tables_len, bool add_rgb_marker,
                         s2d_buf *out)
{
    out->len = 0;
    s2d_buf_append(out, "\xFF\xD8", 2);
    if (add_rgb_marker) {
        s2d_buf_append(out, app14_rgb, sizeof app14_rgb);
    }
    if (tables && tables_len >= 4) {
        append_body(out, tables, tables_len);
    }
}

bool s2d_jpeg_splice(const uint8_t *tables, size_t tables_len, const uint8_t *tile,
                     size_t tile_len, bool add_rgb_marker, s2d_buf *out)
{
    if (tile_len < 4 || tile[0] != 0xFF || tile[1] != 0xD8) {
        return false;
    }
    begin_stream(tables, tables_len, add_rgb_marker, out);
    s2d_buf_append(out, tile + 2, tile_len - 2);
    return !out->failed;
}

// Where things are in a JPEG stream's headers: the height field of its baseline frame
// header, its first SOS marker and the entropy-coded data after it.
typedef struct jpeg_layout {
    size_t sof_height, sos, data;
    int scan_ncomp;
} jpeg_layout;

static bool find_layout(const uint8_t *p, size_t n, jpeg_layout *l)
{
    memset(l, 0, sizeof *l);
    if (n < 4 || p[0] != 0xFF || p[1] != 0xD8) {
        return false;
    }
    size_t i = 2;
    while (i + 4 <= n) {
        unsigned m = p[i + 1];
        if (p[i] != 0xFF || m == 0xD8 || m == 0xD9 || (m >= 0xD0 && m <= 0xD7)) {
            return false;   // no header segment
        }
        if (m == 0xFF) {   // fill byte
            i++;
            continue;
        }
        size_t len = be16(p + i + 2);
        if (len < 2 || i + 2 + len > n) {
            return false;
        }
        if (m == 0xC0 && len >= 8) {
            l->sof_height = i + 5;   // FF C0, length, precision, then the height
        } else if (m == 0xDA) {
            l->sos = i;
            l->scan_ncomp = len >= 3 ? p[i + 4] : 0;
            l->data = i + 2 + len;
            return l->sof_height != 0;
        }
        i += 2 + len;
    }
    return false;
}

// The end of the entropy-coded data from start: before a final EOI, and only when no other
// marker comes first (0xFF is then always followed by a stuffed 0). 0 when there is none.
static size_t entropy_end(const uint8_t *p, size_t start, size_t n)
{
    size_t end = n;
    if (end >= start + 2 && p[end - 2] == 0xFF && p[end - 1] == 0xD9) {
        end -= 2;
    }
    const uint8_t *q = p + start;
    while ((q = memchr(q, 0xFF, (size_t)(p + end - q))) != NULL) {
        if (q + 1 >= p + end || q[1] != 0x00) {
            return 0;
        }
        q += 2;
    }
    return end > start ? end : 0;
}

// The joined stream's headers: SOI, [APP14 RGB], the tables, strip 0's segments, [DRI
// with its interval still 0], strip 0's SOS.
static void join_headers(const uint8_t *tables, size_t tables_len, const uint8_t *p0,
                         const jpeg_layout *first, bool restarts, bool add_rgb_marker,
                         s2d_buf *out)
{
    begin_stream(tables, tables_len, add_rgb_marker, out);
    s2d_buf_append(out, p0 + 2, first->sos - 2);
    if (restarts) {
        s2d_buf_append(out, "\xFF\xDD\x00\x04\x00\x00", 6);
    }
    s2d_buf_append(out, p0 + first->sos, first->data - first->sos);
}

bool s2d_jpeg_join_strips(const uint8_t *tables, size_t tables_len, const s2d_buf *strips,
                          size_t nstrips, int width, int height, int64_t rows_per_strip,
                          bool tiff_says_rgb, bool *rgb, s2d_buf *out)
{
    out->len = 0;
    *rgb = false;
    if (nstrips == 0 || width < 1 || height < 1 || height > 65535 || rows_per_strip < 1 ||
        (uint64_t)(height - 1) / (uint64_t)rows_per_strip + 1 != nstrips) {
        return false;
    }
    const uint8_t *p0 = strips[0].data;
    jpeg_layout first, joined;
    s2d_jpeg_facts own, f;
    bool restarts = nstrips > 1;
    if (!find_layout(p0, strips[0].len, &first) || !s2d_jpeg_parse(p0, strips[0].len, &own) ||
        own.restart_interval != 0) {
        return false;
    }
    join_headers(tables, tables_len, p0, &first, restarts, false, out);
    if (out->failed || !s2d_jpeg_parse(out->data, out->len, &f) || f.sof != 0xC0 ||
        f.precision != 8 || f.ncomp != 3 || f.width != width ||
        !find_layout(out->data, out->len, &joined) || joined.scan_ncomp != f.ncomp) {
        return false;
    }
    *rgb = s2d_jpeg_is_rgb(&f, tiff_says_rgb);
    if (*rgb) {
        join_headers(tables, tables_len, p0, &first, restarts, true, out);
        if (!find_layout(out->data, out->len, &joined)) {
            return false;
        }
    }
    out->data[joined.sof_height] = (uint8_t)(height >> 8);
    out->data[joined.sof_height + 1] = (uint8_t)height;
    if (restarts) {
        int mcu_w, mcu_h;
        s2d_jpeg_mcu_size(&f, &mcu_w, &mcu_h);
        if (rows_per_strip % mcu_h != 0) {
            return false;
        }
        uint64_t interval = (uint64_t)(width + mcu_w - 1) / (uint64_t)mcu_w *
                            (uint64_t)(rows_per_strip / mcu_h);
        if (interval > 65535) {
            return false;
        }
        size_t dri = joined.sos - 6;   // DRI sits right before SOS
        out->data[dri + 4] = (uint8_t)(interval >> 8);
        out->data[dri + 5] = (uint8_t)interval;
    }

    // The scans, each strip checked against strip 0's headers and its own height.
    for (size_t k = 0; k < nstrips; k++) {
        const uint8_t *p = strips[k].data;
        size_t n = strips[k].len;
        int64_t rows = height - (int64_t)k * rows_per_strip;
        rows = rows < rows_per_strip ? rows : rows_per_strip;
        jpeg_layout l;
        size_t end;
        if (!find_layout(p, n, &l) || l.data != first.data || l.sof_height != first.sof_height ||
            memcmp(p, p0, first.sof_height) != 0 ||
            memcmp(p + first.sof_height + 2, p0 + first.sof_height + 2,
                   first.data - first.sof_height - 2) != 0 ||
            be16(p + l.sof_height) != (unsigned)rows || (end = entropy_end(p, l.data, n)) == 0) {
            return false;
        }
        s2d_buf_append(out, p + l.data, end - l.data);
        if (k + 1 < nstrips) {
            uint8_t rst[2] = {0xFF, (uint8_t)(0xD0 + k % 8)};
            s2d_buf_append(out, rst, 2);
        }
    }
    s2d_buf_append(out, "\xFF\xD9", 2);
    return !out->failed && s2d_jpeg_complete(out->data, out->len, width, height);
}

bool s2d_jpeg_complete(const uint8_t *p, size_t n, int width, int height)
{
    s2d_jpeg_facts f;
    if (!s2d_jpeg_parse(p, n, &f) || f.sof != 0xC0 || f.precision != 8 || f.ncomp != 3 ||
        f.width != width || f.height != height) {
        return false;
    }
    // A scan must follow the headers, and the stream must end with EOI.
    return f.scan && p[n - 2] == 0xFF && p[n - 1] == 0xD9;
}

// Whether marker m (after 0xFF) stands alone, without a length: SOI, EOI, RSTn, TEM.
static bool standalone_marker(unsigned m)
{
    return m == 0xD8 || m == 0xD9 || (m >= 0xD0 && m <= 0xD7) || m == 0x01;
}

// Where the entropy-coded data from start ends: at the first marker other than a stuffed
// 0xFF00 or a restart marker (fill bytes 0xFF before it skipped), or n when there is none.
static size_t scan_end(const uint8_t *p, size_t start, size_t n)
{
    const uint8_t *q = p + start;
    while ((q = memchr(q, 0xFF, (size_t)(p + n - q))) != NULL) {
        const uint8_t *m = q + 1;
        while (m < p + n && *m == 0xFF) {
            m++;
        }
        if (m >= p + n) {
            return n;
        }
        if (*m != 0x00 && !(*m >= 0xD0 && *m <= 0xD7)) {
            return (size_t)(q - p);
        }
        q = m + 1;
    }
    return n;
}

const char *s2d_jpeg_frame_flaw(const uint8_t *p, size_t n, int width, int height)
{
    if (n < 4 || p[0] != 0xFF || p[1] != 0xD8) {
        return "no SOI marker";
    }
    if (p[n - 2] != 0xFF || p[n - 1] != 0xD9) {
        return "no EOI marker at the end";
    }
    int ncomp = 0, scans = 0;
    size_t i = 2;
    for (;;) {
        if (i + 2 > n || p[i] != 0xFF) {
            return "a marker segment is broken";
        }
        unsigned m = p[i + 1];
        if (m == 0xFF) {   // fill byte
            i++;
            continue;
        }
        if (m == 0xD9) {
            if (i + 2 != n) {
                return "data after the EOI marker";
            }
            return scans ? NULL : "no scan";
        }
        if (standalone_marker(m)) {
            return "a marker out of place";
        }
        if (i + 4 > n) {
            return "a marker segment is broken";
        }
        size_t len = be16(p + i + 2);
        if (len < 2 || i + 2 + len > n - 2) {
            return "a marker segment runs past the end";
        }
        const uint8_t *seg = p + i + 4;
        size_t slen = len - 2;
        if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
            if (ncomp) {
                return "two frame headers";
            }
            if (slen < 6 || seg[5] < 1 || seg[5] > 4 || slen != 6 + 3 * (size_t)seg[5]) {
                return "the frame header is broken";
            }
            if ((int)be16(seg + 1) != height || (int)be16(seg + 3) != width) {
                return "the frame header's size is not the tile's";
            }
            ncomp = seg[5];
        }
        i += 2 + len;
        if (m == 0xDA) {
            if (!ncomp) {
                return "a scan before the frame header";
            }
            if (slen < 1 || seg[0] < 1 || seg[0] > ncomp || slen != 4 + 2 * (size_t)seg[0]) {
                return "a scan header is broken";
            }
            scans++;
            i = scan_end(p, i, n);
            if (i >= n) {
                return "a marker segment is broken";
            }
        }
    }
}

// Whether the segment of marker m (its contents at seg, slen bytes) tells how to read the
// colours: JFIF's APP0 (YCbCr) and Adobe's APP14 (its transform flag).
static bool colour_segment(unsigned m, const uint8_t *seg, size_t slen)
{
    return (m == 0xE0 && slen >= 5 && memcmp(seg, "JFIF", 5) == 0) ||
           (m == 0xEE && slen >= 5 && memcmp(seg, "Adobe", 5) == 0);
}

size_t s2d_jpeg_strip_text(uint8_t *p, size_t n)
{
    size_t i = 2, out = 2;   // after SOI
    // Marker segments up to the first scan; the frame is sound, so each length holds.
    while (i + 4 <= n && p[i] == 0xFF) {
        unsigned m = p[i + 1];
        if (m == 0xFF) {   // fill byte
            i++;
            continue;
        }
        if (m == 0xDA || standalone_marker(m)) {
            break;
        }
        size_t len = 2 + be16(p + i + 2);
        if (len < 4 || len > n - i) {
            break;   // not a sound frame: the rest stays as it is
        }
        bool text = m == 0xFE || (m >= 0xE0 && m <= 0xEF && !colour_segment(m, p + i + 4, len - 4));
        if (!text) {
            memmove(p + out, p + i, len);
            out += len;
        }
        i += len;
    }
    memmove(p + out, p + i, n - i);
    return out + (n - i);
}

size_t s2d_j2k_strip_text(uint8_t *p, size_t n, bool *comment_left)
{
    *comment_left = false;
    size_t i = 2, out = 2;   // after SOC
    while (i + 4 <= n && be16(p + i) != 0xFF90) {
        size_t len = 2 + be16(p + i + 2);
        if (len < 4 || len > n - i) {
            break;   // not a sound codestream: the rest stays as it is
        }
        if (be16(p + i) != 0xFF64) {
            memmove(p + out, p + i, len);
            out += len;
        }
        i += len;
    }
    memmove(p + out, p + i, n - i);
    n = out + (n - i);
    // The tile-parts, from their SOT to SOD, for a comment left in place.
    for (size_t t = out; t + 12 <= n && be16(p + t) == 0xFF90;) {
        uint32_t psot = be32(p + t + 6);
        size_t part_end = psot == 0 ? n - 2 : t + psot, j = t + 12;
        while (j + 4 <= part_end && part_end <= n && be16(p + j) != 0xFF93) {
            *comment_left |= be16(p + j) == 0xFF64;
            j += 2 + be16(p + j + 2);
        }
        if (part_end <= t) {
            break;
        }
        t = part_end;
    }
    return n;
}

const char *s2d_j2k_frame_flaw(const uint8_t *p, size_t n, int width, int height)
{
    s2d_j2k_facts f;
    if (!s2d_j2k_parse(p, n, &f)) {
        return "no SOC, SIZ and COD markers";
    }
    if (f.width != width || f.height != height) {
        return "the SIZ size is not the tile's";
    }
    if (n < 4 || be16(p + n - 2) != 0xFFD9) {
        return "no EOC marker at the end";
    }
    size_t end = n - 2, i = 2;
    // The main header: segments up to the first SOT.
    while (i + 4 <= end && be16(p + i) != 0xFF90) {
        size_t len = be16(p + i + 2);
        if (p[i] != 0xFF || len < 2 || i + 2 + len > end) {
            return "a main header segment is broken";
        }
        i += 2 + len;
    }
    int parts = 0;
    while (i < end) {
        // SOT: Lsot 10, Isot, Psot (this tile-part's length from SOT on; 0 = up to EOC).
        if (i + 12 > end || be16(p + i) != 0xFF90 || be16(p + i + 2) != 10) {
            return "a tile-part does not start with SOT";
        }
        uint32_t psot = be32(p + i + 6);
        size_t part_end = psot == 0 ? end : i + psot;
        if (psot != 0 && (psot < 14 || psot > end - i)) {
            return "a tile-part's length runs past the end";
        }
        size_t j = i + 12;
        while (j + 2 <= part_end && be16(p + j) != 0xFF93) {
            size_t len = j + 4 <= part_end ? be16(p + j + 2) : 0;
            if (p[j] != 0xFF || len < 2 || j + 2 + len > part_end) {
                return "a tile-part header segment is broken";
            }
            j += 2 + len;
        }
        if (j + 2 > part_end) {
            return "a tile-part without SOD";
        }
        parts++;
        i = part_end;
    }
    return parts ? NULL : "no tile-part";
}

bool s2d_j2k_parse(const uint8_t *p, size_t n, s2d_j2k_facts *f)
{
    memset(f, 0, sizeof *f);
    if (n < 4 || be16(p) != 0xFF4F || be16(p + 2) != 0xFF51) {
        return false;
    }
    bool have_siz = false, have_cod = false;
    size_t i = 2;
    while (i + 4 <= n && !(have_siz && have_cod)) {
        unsigned m = be16(p + i);
        size_t len = be16(p + i + 2);
        if ((m >> 8) != 0xFF || len < 2 || i + 2 + len > n || m == 0xFF90) {
            break;   // SOT: the main header is over
        }
        const uint8_t *seg = p + i + 4;
        if (m == 0xFF51 && len >= 38) {
            uint32_t xsiz = be32(seg + 2), ysiz = be32(seg + 6);
            uint32_t xo = be32(seg + 10), yo = be32(seg + 14);
            f->ncomp = (int)be16(seg + 34);
            if (xo > xsiz || yo > ysiz || f->ncomp < 1 || len < 38 + 3 * (size_t)f->ncomp) {
                return false;
            }
            f->width = (int)(xsiz - xo);
            f->height = (int)(ysiz - yo);
            f->precision = (seg[36] & 0x7F) + 1;
            for (int c = 0; c < f->ncomp; c++) {
                f->subsampled |= seg[37 + 3 * c] != 1 || seg[38 + 3 * c] != 1;
            }
            have_siz = true;
        } else if (m == 0xFF52 && len >= 12) {
            f->mct = seg[4] != 0;
            f->reversible = seg[9] == 1;
            have_cod = true;
        }
        i += 2 + len;
    }
    return have_siz && have_cod;
}

const char *s2d_j2k_photometric(const s2d_j2k_facts *f, bool samples_are_rgb)
{
    if (f->ncomp != 3 || f->subsampled) {
        return NULL;
    }
    if (f->mct) {
        return f->reversible ? "YBR_RCT" : "YBR_ICT";
    }
    return samples_are_rgb ? "RGB" : NULL;
}
