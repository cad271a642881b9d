// SPDX-License-Identifier: Apache-2.0
/* The page pixel mapping; see pixmap.h and the table in docs/plain-tiff.md. */
#include "convert/pixmap.h"

#include <math.h>
#include <string.h>

static bool is_grey(s2d_colour c)
{
    return c == S2D_COLOUR_MONO_MIN_IS_BLACK || c == S2D_COLOUR_MONO_MIN_IS_WHITE;
}

bool s2d_pixmap_choose(const s2d_pixdesc *in, s2d_min_is_white min_is_white, bool depth_8_only,
                       bool keep_one_bit, s2d_pixmap *m, s2d_error *err)
{
    memset(m, 0, sizeof *m);
    m->in = *in;
    m->in.planar = false;   // read_rows hands out interleaved samples
    m->out = m->in;
    m->out.is_float = false;
    m->op = S2D_MAP_COPY;
    m->slope = 1;
    bool white = in->colour == S2D_COLOUR_MONO_MIN_IS_WHITE;
    bool invert = white && min_is_white == S2D_INVERT_MIN_IS_WHITE;
    if (invert) {
        m->out.colour = S2D_COLOUR_MONO_MIN_IS_BLACK;
    }
    if (in->colour == S2D_COLOUR_PALETTE) {
        if (in->samples != 1 || in->bits_allocated > 8) {
            return s2d_error_set(err, S2D_ERR_INPUT, "a palette of %u-bit indices is not supported",
                                 in->bits_stored);
        }
        m->op = S2D_MAP_PALETTE;
        m->out = (s2d_pixdesc){.width = in->width, .height = in->height, .samples = 3,
                               .bits_allocated = 8, .bits_stored = 8,
                               .colour = S2D_COLOUR_RGB};
        return true;
    }
    if (in->samples == 3) {
        if (in->colour != S2D_COLOUR_RGB || in->bits_allocated != 8 || in->is_float) {
            return s2d_error_set(err, S2D_ERR_INPUT,
                                 "%u-bit %s colour is not supported (8-bit RGB is)",
                                 in->bits_stored, in->is_float ? "floating-point" : "");
        }
        return true;
    }
    if (in->samples != 1 || !is_grey(in->colour)) {
        return s2d_error_set(err, S2D_ERR_INPUT, "%u samples per pixel are not supported",
                             in->samples);
    }
    if (in->is_float || in->bits_allocated == 32) {
        m->op = S2D_MAP_LINEAR;
    } else if (in->is_signed) {
        m->op = S2D_MAP_OFFSET;
        m->intercept = -32768;
    } else if (in->bits_stored < 8 && in->bits_allocated <= 8 &&
               !(in->bits_stored == 1 && keep_one_bit)) {
        m->op = S2D_MAP_WIDEN;
        m->invert = invert;
        m->out.bits_allocated = m->out.bits_stored = 8;
    } else if (invert) {
        m->op = S2D_MAP_INVERT;
    }
    if (m->op == S2D_MAP_LINEAR || m->op == S2D_MAP_OFFSET) {
        // Real values are kept through the rescale; which end is white no longer matters
        // to a reader, so the grey is written min-is-black.
        m->out.bits_allocated = m->out.bits_stored = 16;
        m->out.is_signed = false;
        m->out.colour = S2D_COLOUR_MONO_MIN_IS_BLACK;
    }
    if (depth_8_only && m->out.bits_allocated != 8) {
        return s2d_error_set(err, S2D_ERR_INPUT,
                             "%u-bit%s grey is more than the 8 bits a photograph holds; "
                             "--kind radiology takes it",
                             in->bits_stored, in->is_float ? " floating-point" : "");
    }
    return true;
}

void s2d_pixmap_set_range(s2d_pixmap *m, double min, double max)
{
    double range = max - min;
    bool integers = !m->in.is_float;
    m->intercept = min;
    if (integers && range <= 65535) {
        m->slope = 1;
    } else {
        m->slope = range > 0 ? range / 65535.0 : 1;
    }
}

// Sample i of a 32-bit row as a double.
static double wide_sample(const s2d_pixdesc *d, const uint8_t *row, size_t i)
{
    if (d->is_float) {
        float f;
        memcpy(&f, row + 4 * i, 4);
        return f;
    }
    if (d->is_signed) {
        int32_t v;
        memcpy(&v, row + 4 * i, 4);
        return v;
    }
    uint32_t u;
    memcpy(&u, row + 4 * i, 4);
    return u;
}

void s2d_pixmap_scan_range(const s2d_pixmap *m, const uint8_t *in, size_t in_stride,
                           uint32_t rows, double *min, double *max, bool *any)
{
    for (uint32_t y = 0; y < rows; y++) {
        const uint8_t *row = in + (size_t)y * in_stride;
        for (size_t x = 0; x < m->in.width; x++) {
            double v = wide_sample(&m->in, row, x);
            if (!isfinite(v)) {
                continue;
            }
            if (!*any || v < *min) {
                *min = v;
            }
            if (!*any || v > *max) {
                *max = v;
            }
            *any = true;
        }
    }
}

static void map_row(s2d_pixmap *m, const uint8_t *in, uint8_t *out)
{
    const s2d_pixdesc *d = &m->in;
    size_t n = (size_t)d->width * d->samples;
    switch (m->op) {
    case S2D_MAP_COPY:
        memcpy(out, in, n * s2d_pixdesc_sample_bytes(d));
        break;
    case S2D_MAP_INVERT:
        if (d->bits_allocated == 16) {
            uint16_t top = (uint16_t)((1u << d->bits_stored) - 1);
            for (size_t i = 0; i < n; i++) {
                uint16_t v;
                memcpy(&v, in + 2 * i, 2);
                v = (uint16_t)(top - (v & top));
                memcpy(out + 2 * i, &v, 2);
            }
        } else if (d->bits_stored == 1) {
            // Bilevel pages: 0 and 1 swap, eight pixels a word.
            size_t i = 0;
            for (; i + 8 <= n; i += 8) {
                uint64_t eight;
                memcpy(&eight, in + i, 8);
                eight = (eight & 0x0101010101010101ull) ^ 0x0101010101010101ull;
                memcpy(out + i, &eight, 8);
            }
            for (; i < n; i++) {
                out[i] = (uint8_t)(1 - (in[i] & 1));
            }
        } else {
            uint8_t top = (uint8_t)((1u << d->bits_stored) - 1);
            for (size_t i = 0; i < n; i++) {
                out[i] = (uint8_t)(top - (in[i] & top));
            }
        }
        break;
    case S2D_MAP_WIDEN: {
        unsigned top = (1u << d->bits_stored) - 1, scale = 255 / top;
        for (size_t i = 0; i < n; i++) {
            unsigned v = in[i] & top;
            out[i] = (uint8_t)((m->invert ? top - v : v) * scale);
        }
        break;
    }
    case S2D_MAP_OFFSET:
        for (size_t i = 0; i < n; i++) {
            int v;
            if (d->bits_allocated == 8) {
                v = (int8_t)in[i];
            } else {
                int16_t s;
                memcpy(&s, in + 2 * i, 2);
                v = s;
            }
            uint16_t u = (uint16_t)(v + 32768);
            memcpy(out + 2 * i, &u, 2);
        }
        break;
    case S2D_MAP_LINEAR:
        for (size_t i = 0; i < n; i++) {
            double v = wide_sample(d, in, i);
            uint16_t u = 0;
            if (isfinite(v)) {
                double s = round((v - m->intercept) / m->slope);
                u = (uint16_t)(s < 0 ? 0 : s > 65535 ? 65535 : s);
            } else {
                m->nonfinite++;
            }
            memcpy(out + 2 * i, &u, 2);
        }
        break;
    case S2D_MAP_PALETTE:
        for (size_t i = 0; i < n; i++) {
            size_t index = in[i] < m->palette_n ? in[i] : 0;
            for (size_t c = 0; c < 3; c++) {
                out[3 * i + c] = (uint8_t)(m->palette[c * m->palette_n + index] >> 8);
            }
        }
        break;
    }
}

void s2d_pixmap_rows(s2d_pixmap *m, const uint8_t *in, size_t in_stride, uint8_t *out,
                     size_t out_stride, uint32_t rows)
{
    for (uint32_t y = 0; y < rows; y++) {
        map_row(m, in + (size_t)y * in_stride, out + (size_t)y * out_stride);
    }
}
