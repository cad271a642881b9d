// SPDX-License-Identifier: Apache-2.0
/* Explicit VR Little Endian, uncompressed: 8- and 16-bit samples, one or three a pixel,
 * interleaved or planar, and 1-bit grey packed eight pixels a byte, the first pixel in
 * the lowest bit (PS3.5 8.1.1 and D.1). A frame starts at its first byte here; in a
 * multi-frame 1-bit Pixel Data the next frame follows at the next bit, which the Part 10
 * writer takes care of (dicom/part10.h). */
#include "codec/codec.h"

#include <stdlib.h>
#include <string.h>

// The eight-pixel gather of pack_bits reads bytes as a little-endian word.
#define LITTLE_ENDIAN_HOST (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
#define MAX_FRAME_BYTES 0xFFFFFFFEu   // a defined-length value holds at least one frame

static bool is_mono(s2d_colour c)
{
    return c == S2D_COLOUR_MONO_MIN_IS_BLACK || c == S2D_COLOUR_MONO_MIN_IS_WHITE;
}

static uint64_t frame_bytes(const s2d_pixdesc *d)
{
    return (s2d_pixdesc_frame_bits(d) + 7) / 8;
}

static bool accepts(const s2d_pixdesc *d)
{
    bool shape;
    switch (d->bits_allocated) {
    case 1:
        shape = d->samples == 1 && is_mono(d->colour) && !d->is_signed && !d->planar;
        break;
    case 8:
    case 16:
        shape = d->samples == 1
                    ? (is_mono(d->colour) || (d->colour == S2D_COLOUR_PALETTE && !d->is_signed)) &&
                          !d->planar
                    : d->samples == 3 &&
                          (d->colour == S2D_COLOUR_RGB ||
                           (d->colour == S2D_COLOUR_YCBCR && d->chroma_div == 0));
        break;
    default:
        shape = false;
    }
    return shape && d->bits_stored >= 1 && d->bits_stored <= d->bits_allocated &&
           d->width > 0 && d->height > 0 && frame_bytes(d) <= MAX_FRAME_BYTES;
}

static uint64_t bound(const s2d_pixdesc *d, const s2d_codec_opts *o)
{
    (void)o;
    return frame_bytes(d);
}

typedef struct coder {
    s2d_pixdesc desc;
    uint8_t *frame;   // one encoded frame (encoder only)
} coder;

static void coder_free(void *c)
{
    coder *k = c;
    if (k) {
        free(k->frame);
        free(k);
    }
}

static coder *coder_new(const s2d_pixdesc *d, bool with_frame, s2d_error *err)
{
    coder *k = calloc(1, sizeof *k);
    if (k && with_frame) {
        k->frame = malloc((size_t)frame_bytes(d));
    }
    if (!k || (with_frame && !k->frame)) {
        coder_free(k);
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    k->desc = *d;
    return k;
}

static void *enc_new(const s2d_pixdesc *d, const s2d_codec_opts *o, s2d_error *err)
{
    (void)o;
    return coder_new(d, true, err);
}

static void *dec_new(const s2d_pixdesc *d, s2d_error *err)
{
    return coder_new(d, false, err);
}

// Where sample s of pixel x of row y lies in the stored frame, counted in samples.
static size_t stored_index(const s2d_pixdesc *d, size_t x, size_t y, size_t s)
{
    size_t pixels = (size_t)d->width * d->height;
    size_t pixel = y * d->width + x;
    return d->planar ? s * pixels + pixel : pixel * d->samples + s;
}

// 1-bit pixels (bytes 0 or 1) packed eight to a byte, the first in the lowest bit, rows
// following each other bit after bit. Eight pixels gather into one byte by a
// multiplication: byte i of the little-endian word lands on bit i of the top byte, and no
// two terms overlap.
static void pack_bits(const s2d_pixdesc *d, const uint8_t *pixels, size_t stride, uint8_t *out)
{
    memset(out, 0, (size_t)frame_bytes(d));
    uint64_t i = 0;
    for (size_t y = 0; y < d->height; y++) {
        const uint8_t *row = pixels + y * stride;
        size_t x = 0;
        // Pixel by pixel up to a whole byte of the output, then eight at a time.
        for (; x < d->width && i % 8; x++, i++) {
            out[i / 8] |= (uint8_t)((row[x] != 0) << (i % 8));
        }
        for (; LITTLE_ENDIAN_HOST && x + 8 <= d->width; x += 8, i += 8) {
            uint64_t eight;
            memcpy(&eight, row + x, 8);
            // Pixels are 0 or 1 (codec/pixdesc.h); the mask keeps a stray bit from
            // spilling into its neighbours.
            eight &= 0x0101010101010101ull;
            out[i / 8] = (uint8_t)((eight * 0x0102040810204080ull) >> 56);
        }
        for (; x < d->width; x++, i++) {
            out[i / 8] |= (uint8_t)((row[x] != 0) << (i % 8));
        }
    }
}

size_t s2d_native_pack_rows(const s2d_pixdesc *d, const uint8_t *pixels, size_t stride,
                            uint32_t rows, uint8_t *out)
{
    s2d_pixdesc band = *d;
    band.height = rows;
    band.planar = false;
    if (d->bits_allocated == 1) {
        pack_bits(&band, pixels, stride, out);
        return (size_t)((s2d_pixdesc_frame_bits(&band) + 7) / 8);
    }
    size_t row = s2d_pixdesc_row_bytes(&band);
    for (size_t y = 0; y < rows; y++) {
        const uint8_t *in = pixels + y * stride;
        uint8_t *to = out + y * row;
        if (d->bits_allocated == 8) {
            memcpy(to, in, row);
            continue;
        }
        for (size_t i = 0; i < row / 2; i++) {
            uint16_t v;
            memcpy(&v, in + 2 * i, 2);
            to[2 * i] = (uint8_t)v;
            to[2 * i + 1] = (uint8_t)(v >> 8);
        }
    }
    return row * rows;
}

static bool encode(void *e, const uint8_t *pixels, size_t stride, const uint8_t **out,
                   size_t *out_len, s2d_error *err)
{
    (void)err;
    coder *k = e;
    const s2d_pixdesc *d = &k->desc;
    if (d->bits_allocated == 1) {
        pack_bits(d, pixels, stride, k->frame);
    } else if (d->bits_allocated == 8 && !d->planar) {
        size_t row = s2d_pixdesc_row_bytes(d);
        for (size_t y = 0; y < d->height; y++) {
            memcpy(k->frame + y * row, pixels + y * stride, row);
        }
    } else {
        for (size_t y = 0; y < d->height; y++) {
            const uint8_t *row = pixels + y * stride;
            for (size_t x = 0; x < d->width; x++) {
                for (size_t s = 0; s < d->samples; s++) {
                    size_t at = stored_index(d, x, y, s), from = x * d->samples + s;
                    if (d->bits_allocated == 8) {
                        k->frame[at] = row[from];
                    } else {
                        uint16_t v;
                        memcpy(&v, row + 2 * from, 2);
                        k->frame[2 * at] = (uint8_t)v;
                        k->frame[2 * at + 1] = (uint8_t)(v >> 8);
                    }
                }
            }
        }
    }
    *out = k->frame;
    *out_len = (size_t)frame_bytes(d);
    return true;
}

// Samples are stored as given, so the colour model names them.
static const char *photometric(const s2d_pixdesc *d)
{
    switch (d->colour) {
    case S2D_COLOUR_MONO_MIN_IS_WHITE:
        return "MONOCHROME1";
    case S2D_COLOUR_MONO_MIN_IS_BLACK:
        return "MONOCHROME2";
    case S2D_COLOUR_RGB:
        return "RGB";
    case S2D_COLOUR_YCBCR:
        return "YBR_FULL";
    case S2D_COLOUR_PALETTE:
        break;
    }
    return "PALETTE COLOR";
}

static bool decode(void *c, const uint8_t *data, size_t len, uint8_t *pixels, size_t stride,
                   s2d_error *err)
{
    coder *k = c;
    const s2d_pixdesc *d = &k->desc;
    if (len != frame_bytes(d)) {
        return s2d_error_set(err, S2D_ERR_INPUT, "native frame of %zu bytes, expected %llu", len,
                             (unsigned long long)frame_bytes(d));
    }
    size_t i = 0;
    for (size_t y = 0; y < d->height; y++) {
        uint8_t *row = pixels + y * stride;
        for (size_t x = 0; x < d->width; x++) {
            for (size_t s = 0; s < d->samples; s++, i++) {
                size_t at = stored_index(d, x, y, s), to = x * d->samples + s;
                if (d->bits_allocated == 1) {
                    row[to] = (uint8_t)(data[i / 8] >> (i % 8) & 1);
                } else if (d->bits_allocated == 8) {
                    row[to] = data[at];
                } else {
                    uint16_t v = (uint16_t)(data[2 * at] | data[2 * at + 1] << 8);
                    memcpy(row + 2 * to, &v, 2);
                }
            }
        }
    }
    return true;
}

// What both entries of this file share: their frames are native frames.
#define NATIVE_FRAMES                                                                    \
    .lossy = false, .lossy_method = NULL, .accepts = accepts, .bound = bound,            \
    .enc_new = enc_new, .encode = encode, .enc_free = coder_free,                        \
    .photometric = photometric, .dec_new = dec_new, .decode = decode,                    \
    .dec_free = coder_free

const s2d_codec s2d_codec_native = {
    .name = "native",
    .transfer_syntax_uid = "1.2.840.10008.1.2.1",
    NATIVE_FRAMES,
};

// Deflated Explicit VR Little Endian (PS3.5 A.5): the same native frames, the whole
// dataset deflated by the Part 10 writer once written (s2d_part10_params.deflate). Its
// frames are native frames, so it is this file's second entry, not a codec of its own.
const s2d_codec s2d_codec_deflated = {
    .name = "deflated",
    .transfer_syntax_uid = "1.2.840.10008.1.2.1.99",
    NATIVE_FRAMES,
};
