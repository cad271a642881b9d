// SPDX-License-Identifier: Apache-2.0
/* RLE Lossless (PS3.5 Annex G): 8- and 16-bit grey, 8-bit RGB. A frame is a header of 16
 * little-endian uint32 (the number of segments, then each segment's offset from the frame's
 * start, unused ones 0) and one segment per byte plane: each sample's most significant byte
 * first (G.2), so grey 16-bit is high bytes then low bytes, RGB is R, G, B. Each segment is
 * PackBits coded row by row (G.3: no run crosses a row) and padded to even length. The
 * dataset's Planar Configuration stays 0: the segments are the codec's business. */
#include "codec/codec.h"

#include <stdlib.h>
#include <string.h>

#define HEADER_BYTES 64
#define MAX_RUN 128
#define MAX_FRAME_BYTES 0xFFFFFFFEu   // offsets are uint32; a fragment's length is even

static bool is_mono(s2d_colour c)
{
    return c == S2D_COLOUR_MONO_MIN_IS_BLACK || c == S2D_COLOUR_MONO_MIN_IS_WHITE;
}

static size_t segment_count(const s2d_pixdesc *d)
{
    return d->samples * s2d_pixdesc_sample_bytes(d);
}

/* A row of n bytes packs into at most n + n/128 + 1 bytes (see pack_row), a segment adds
 * one byte of padding. */
static uint64_t frame_bound(const s2d_pixdesc *d)
{
    uint64_t row = (uint64_t)d->width + d->width / MAX_RUN + 1;
    return HEADER_BYTES + segment_count(d) * (row * d->height + 1);
}

// Samples are stored as given (no colour transform), so the colour model names them.
static const char *photometric(const s2d_pixdesc *d)
{
    if (is_mono(d->colour)) {
        return d->colour == S2D_COLOUR_MONO_MIN_IS_WHITE ? "MONOCHROME1" : "MONOCHROME2";
    }
    return "RGB";
}

static bool accepts(const s2d_pixdesc *d)
{
    bool grey = d->samples == 1 && is_mono(d->colour) &&
                (d->bits_allocated == 8 || d->bits_allocated == 16);
    bool rgb = d->samples == 3 && d->colour == S2D_COLOUR_RGB && d->bits_allocated == 8 &&
               !d->is_signed;
    // Segments hold bytes whatever they mean, so signed grey is carried as it is.
    return (grey || rgb) && !d->planar && !d->is_float && d->bits_stored >= 1 &&
           d->bits_stored <= d->bits_allocated && d->width > 0 && d->height > 0 &&
           frame_bound(d) <= MAX_FRAME_BYTES;
}

static uint64_t bound(const s2d_pixdesc *d, const s2d_codec_opts *o)
{
    (void)o;
    return frame_bound(d);
}

typedef struct coder {
    s2d_pixdesc desc;
    uint8_t *plane;   // encoder: one byte plane of a row; decoder: every plane of the frame
    uint8_t *frame;   // one encoded frame (encoder only)
} coder;

static void coder_free(void *c)
{
    coder *k = c;
    if (k) {
        free(k->plane);
        free(k->frame);
        free(k);
    }
}

static coder *coder_new(const s2d_pixdesc *d, size_t plane_bytes, size_t frame_bytes,
                        s2d_error *err)
{
    coder *k = calloc(1, sizeof *k);
    if (k) {
        k->desc = *d;
        k->plane = malloc(plane_bytes);
        k->frame = frame_bytes ? malloc(frame_bytes) : NULL;
    }
    if (!k || !k->plane || (frame_bytes && !k->frame)) {
        coder_free(k);
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    return k;
}

static void *enc_new(const s2d_pixdesc *d, const s2d_codec_opts *o, s2d_error *err)
{
    (void)o;
    return coder_new(d, d->width, (size_t)frame_bound(d), err);
}

static void *dec_new(const s2d_pixdesc *d, s2d_error *err)
{
    return coder_new(d, (size_t)d->width * d->height * segment_count(d), 0, err);
}

static size_t put_literal(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t o = 0;
    for (size_t done = 0; done < n;) {
        size_t k = n - done < MAX_RUN ? n - done : MAX_RUN;
        out[o++] = (uint8_t)(k - 1);
        memcpy(out + o, in + done, k);
        o += k;
        done += k;
    }
    return o;
}

/* Packs one row of n bytes; returns the bytes written. Runs of three or more are always
 * replicate runs (G.3.1); a pair is one only where no literal is pending (then it costs
 * the same two bytes and never splits a literal), else it joins the literal. So every
 * literal code but the full ones (128 bytes) ends at a replicate run that saved a byte, or
 * at the row's end: the output is at most n + n/128 + 1 bytes. */
static size_t pack_row(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t o = 0, literal = 0, i = 0;   // literal: start of the pending literal bytes
    while (i < n) {
        size_t run = 1;
        while (i + run < n && run < MAX_RUN && in[i + run] == in[i]) {
            run++;
        }
        if (run >= 3 || (run == 2 && literal == i)) {
            o += put_literal(in + literal, i - literal, out + o);
            out[o++] = (uint8_t)(1 - (int)run);   // -(run - 1) as a signed byte
            out[o++] = in[i];
            literal = i + run;
        }
        i += run;
    }
    return o + put_literal(in + literal, n - literal, out + o);
}

// Byte `byte` (0: the most significant) of sample s of each pixel of a row.
static void gather_plane(const s2d_pixdesc *d, const uint8_t *row, size_t s, size_t byte,
                         uint8_t *plane)
{
    if (d->bits_allocated == 8) {
        for (size_t x = 0; x < d->width; x++) {
            plane[x] = row[x * d->samples + s];
        }
        return;
    }
    unsigned shift = byte == 0 ? 8 : 0;
    for (size_t x = 0; x < d->width; x++) {
        uint16_t v;
        memcpy(&v, row + 2 * x, 2);
        plane[x] = (uint8_t)(v >> shift);
    }
}

static void put_u32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool encode(void *e, const uint8_t *pixels, size_t stride, const uint8_t **out,
                   size_t *out_len, s2d_error *err)
{
    (void)err;
    coder *k = e;
    const s2d_pixdesc *d = &k->desc;
    size_t nseg = segment_count(d), bytes = s2d_pixdesc_sample_bytes(d);
    memset(k->frame, 0, HEADER_BYTES);
    put_u32le(k->frame, (uint32_t)nseg);
    size_t o = HEADER_BYTES;
    for (size_t seg = 0; seg < nseg; seg++) {
        put_u32le(k->frame + 4 * (seg + 1), (uint32_t)o);
        for (size_t y = 0; y < d->height; y++) {
            gather_plane(d, pixels + y * stride, seg / bytes, seg % bytes, k->plane);
            o += pack_row(k->plane, d->width, k->frame + o);
        }
        if (o % 2) {
            k->frame[o++] = 0;
        }
    }
    *out = k->frame;
    *out_len = o;
    return true;
}

/* Unpacks one segment (G.3.2) into exactly n bytes; false when the codes end before n
 * bytes. A run past n bytes is cut at n: GDCM codes an odd-sized segment with its padding
 * byte as data (a 1x1 frame's segment is a literal of two), and dcmtk and pydicom read
 * such frames. */
static bool unpack_segment(const uint8_t *in, size_t len, uint8_t *out, size_t n)
{
    size_t i = 0, o = 0;
    while (o < n) {
        if (i >= len) {
            return false;
        }
        int code = (int8_t)in[i++];
        if (code >= 0) {
            size_t k = (size_t)code + 1, fits = k < n - o ? k : n - o;
            if (k > len - i) {
                return false;
            }
            memcpy(out + o, in + i, fits);
            i += k;
            o += fits;
        } else if (code != -128) {   // -128 is a no-operation
            size_t k = (size_t)(1 - code), fits = k < n - o ? k : n - o;
            if (i >= len) {
                return false;
            }
            memset(out + o, in[i++], fits);
            o += fits;
        }
    }
    return true;
}

// The decoded planes, segment order, into pixels.
static void assemble(const s2d_pixdesc *d, const uint8_t *planes, uint8_t *pixels, size_t stride)
{
    size_t plane = (size_t)d->width * d->height;
    for (size_t y = 0; y < d->height; y++) {
        uint8_t *row = pixels + y * stride;
        size_t at = y * d->width;
        if (d->bits_allocated == 8) {
            for (size_t x = 0; x < d->width; x++) {
                for (size_t s = 0; s < d->samples; s++) {
                    row[x * d->samples + s] = planes[s * plane + at + x];
                }
            }
            continue;
        }
        for (size_t x = 0; x < d->width; x++) {
            uint16_t v = (uint16_t)(planes[at + x] << 8 | planes[plane + at + x]);
            memcpy(row + 2 * x, &v, 2);
        }
    }
}

static bool decode(void *c, const uint8_t *data, size_t len, uint8_t *pixels, size_t stride,
                   s2d_error *err)
{
    coder *k = c;
    const s2d_pixdesc *d = &k->desc;
    size_t nseg = segment_count(d);
    if (len < HEADER_BYTES) {
        return s2d_error_set(err, S2D_ERR_INPUT, "RLE frame of %zu bytes has no header", len);
    }
    if (get_u32le(data) != nseg) {
        return s2d_error_set(err, S2D_ERR_INPUT, "RLE frame has %u segments, expected %zu",
                             get_u32le(data), nseg);
    }
    size_t plane_bytes = (size_t)d->width * d->height;
    for (size_t seg = 0; seg < nseg; seg++) {
        size_t start = get_u32le(data + 4 * (seg + 1));
        size_t end = seg + 1 < nseg ? get_u32le(data + 4 * (seg + 2)) : len;
        if (start < HEADER_BYTES || start > end || end > len) {
            return s2d_error_set(err, S2D_ERR_INPUT, "RLE segment %zu lies outside its frame",
                                 seg + 1);
        }
        if (!unpack_segment(data + start, end - start, k->plane + seg * plane_bytes,
                            plane_bytes)) {
            return s2d_error_set(err, S2D_ERR_INPUT,
                                 "RLE segment %zu does not decode to %ux%u bytes", seg + 1,
                                 d->width, d->height);
        }
    }
    assemble(d, k->plane, pixels, stride);
    return true;
}

const s2d_codec s2d_codec_rle = {
    .name = "RLE",
    .transfer_syntax_uid = "1.2.840.10008.1.2.5",
    .lossy = false,
    .lossy_method = NULL,
    .accepts = accepts,
    .bound = bound,
    .enc_new = enc_new,
    .encode = encode,
    .enc_free = coder_free,
    .photometric = photometric,
    .dec_new = dec_new,
    .decode = decode,
    .dec_free = coder_free,
};
