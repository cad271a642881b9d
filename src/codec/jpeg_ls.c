// SPDX-License-Identifier: Apache-2.0
/* JPEG-LS Lossless (ISO/IEC 14495-1, PS3.5 A.4.3) through CharLS: grey in bytes (any Bits
 * Stored, coded as 8-bit samples as dcmtk codes them: its decoder refuses a precision under
 * 8) or 9..16 bits in 16-bit words (coded at Bits Stored), and 8-bit RGB coded
 * line-interleaved without a colour transform (the dataset says RGB). Pixel values must
 * lie within Bits Stored, as codec/pixdesc.h has them. */
#include "codec/codec.h"

#include <charls/charls.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SIDE 65535u                // CharLS's frame limit
#define MAX_FRAME_BYTES 0xFFFFFFFEu    // a fragment's length is even
#define HEADER_BYTES 1024u             // SOI, SOF, LSE, SOS, EOI with room to spare

static bool is_mono(s2d_colour c)
{
    return c == S2D_COLOUR_MONO_MIN_IS_BLACK || c == S2D_COLOUR_MONO_MIN_IS_WHITE;
}

// The sample precision of the coded frame (P in the frame header).
static int coded_bits(const s2d_pixdesc *d)
{
    return d->bits_allocated == 8 ? 8 : d->bits_stored;
}

/* The longest a frame can get: no code word of a sample exceeds LIMIT bits (14495-1 A.2.1,
 * 2 * (bits + max(8, bits)) for lossless coding), a run costs at most one bit a pixel, and
 * every 0xFF byte is followed by a byte carrying seven bits only. */
static uint64_t frame_bound(const s2d_pixdesc *d)
{
    uint64_t bits = (uint64_t)coded_bits(d), limit = 2 * (bits + (bits > 8 ? bits : 8));
    uint64_t payload = ((uint64_t)d->width * d->height * d->samples * limit + 7) / 8;
    return payload + payload / 7 + 1 + HEADER_BYTES;
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
    // CharLS takes samples of up to 8 bits in bytes, of 9..16 bits in words.
    bool bits = d->bits_allocated == 8 ? d->bits_stored >= 1 && d->bits_stored <= 8
                : d->bits_allocated == 16 ? d->bits_stored >= 9 && d->bits_stored <= 16
                                          : false;
    bool grey = d->samples == 1 && is_mono(d->colour);
    bool rgb = d->samples == 3 && d->colour == S2D_COLOUR_RGB && d->bits_allocated == 8;
    return bits && (grey || rgb) && !d->is_signed && !d->is_float && !d->planar && d->width > 0 &&
           d->height > 0 && d->width <= MAX_SIDE && d->height <= MAX_SIDE &&
           frame_bound(d) <= MAX_FRAME_BYTES;
}

static uint64_t bound(const s2d_pixdesc *d, const s2d_codec_opts *o)
{
    (void)o;
    return frame_bound(d);
}

typedef struct coder {
    s2d_pixdesc desc;
    uint8_t *buf;   // encoder: the encoded frame; decoder: planes of a non-interleaved frame
    size_t cap;
} coder;

static void coder_free(void *c)
{
    coder *k = c;
    if (k) {
        free(k->buf);
        free(k);
    }
}

/* The encoder's buffer holds a frame of the bound. CharLS writes it from the start and a
 * frame takes about its raw size, so the pages past that, never touched, cost address space
 * only (a buffer this large is mapped, not taken from the heap). */
static void *enc_new(const s2d_pixdesc *d, const s2d_codec_opts *o, s2d_error *err)
{
    (void)o;
    coder *k = calloc(1, sizeof *k);
    if (k) {
        k->desc = *d;
        k->cap = (size_t)frame_bound(d);
        k->buf = malloc(k->cap);
    }
    if (!k || !k->buf) {
        coder_free(k);
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    return k;
}

static void *dec_new(const s2d_pixdesc *d, s2d_error *err)
{
    coder *k = calloc(1, sizeof *k);
    if (!k) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    k->desc = *d;
    return k;
}

static charls_frame_info frame_info(const s2d_pixdesc *d)
{
    return (charls_frame_info){.width = d->width, .height = d->height,
                               .bits_per_sample = coded_bits(d),
                               .component_count = d->samples};
}

static bool encode(void *e, const uint8_t *pixels, size_t stride, const uint8_t **out,
                   size_t *out_len, s2d_error *err)
{
    coder *k = e;
    const s2d_pixdesc *d = &k->desc;
    charls_jpegls_encoder *enc = charls_jpegls_encoder_create();
    if (!enc) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    charls_frame_info info = frame_info(d);
    size_t in_len = stride * (d->height - 1) + s2d_pixdesc_row_bytes(d), written = 0;
    charls_jpegls_errc ec = charls_jpegls_encoder_set_frame_info(enc, &info);
    if (!ec && d->samples == 3) {
        ec = charls_jpegls_encoder_set_interleave_mode(enc, CHARLS_INTERLEAVE_MODE_LINE);
    }
    if (!ec) {
        ec = charls_jpegls_encoder_set_destination_buffer(enc, k->buf, k->cap);
    }
    if (!ec) {
        ec = charls_jpegls_encoder_encode_from_buffer(enc, pixels, in_len, (uint32_t)stride);
    }
    if (!ec) {
        ec = charls_jpegls_encoder_get_bytes_written(enc, &written);
    }
    charls_jpegls_encoder_destroy(enc);
    if (ec) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "JPEG-LS encoding failed: %s",
                             charls_get_error_message(ec));
    }
    *out = k->buf;
    *out_len = written;
    return true;
}

// Interleaves the planes CharLS gives for a frame coded one component a scan.
static void interleave(const s2d_pixdesc *d, const uint8_t *planes, uint8_t *pixels,
                       size_t stride)
{
    size_t plane = (size_t)d->width * d->height;
    for (size_t y = 0; y < d->height; y++) {
        uint8_t *row = pixels + y * stride;
        for (size_t x = 0; x < d->width; x++) {
            for (size_t s = 0; s < d->samples; s++) {
                row[x * d->samples + s] = planes[s * plane + y * d->width + x];
            }
        }
    }
}

static bool decode_with(coder *k, charls_jpegls_decoder *dec, const uint8_t *data, size_t len,
                        uint8_t *pixels, size_t stride, s2d_error *err)
{
    const s2d_pixdesc *d = &k->desc;
    charls_frame_info info;
    charls_interleave_mode mode = CHARLS_INTERLEAVE_MODE_NONE;
    charls_color_transformation transform = CHARLS_COLOR_TRANSFORMATION_NONE;
    charls_jpegls_errc ec = charls_jpegls_decoder_set_source_buffer(dec, data, len);
    if (!ec) {
        ec = charls_jpegls_decoder_read_header(dec);
    }
    if (!ec) {
        ec = charls_jpegls_decoder_get_frame_info(dec, &info);
    }
    if (!ec) {
        ec = charls_jpegls_decoder_get_interleave_mode(dec, &mode);
    }
    if (!ec) {
        ec = charls_jpegls_decoder_get_color_transformation(dec, &transform);
    }
    if (ec) {
        return s2d_error_set(err, S2D_ERR_INPUT, "JPEG-LS frame header: %s",
                             charls_get_error_message(ec));
    }
    if (info.width != d->width || info.height != d->height ||
        info.component_count != d->samples ||
        (info.bits_per_sample > 8) != (d->bits_allocated > 8) ||
        transform != CHARLS_COLOR_TRANSFORMATION_NONE) {
        return s2d_error_set(err, S2D_ERR_INPUT,
                             "JPEG-LS frame is %ux%u, %d components of %d bits; expected %ux%u, "
                             "%u of %u", info.width, info.height, info.component_count,
                             info.bits_per_sample, d->width, d->height, d->samples,
                             d->bits_stored);
    }
    size_t row = s2d_pixdesc_row_bytes(d);
    if (d->samples > 1 && mode == CHARLS_INTERLEAVE_MODE_NONE) {
        size_t need = row * d->height;
        if (k->cap < need) {
            uint8_t *grown = realloc(k->buf, need);
            if (!grown) {
                return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
            }
            k->buf = grown;
            k->cap = need;
        }
        ec = charls_jpegls_decoder_decode_to_buffer(dec, k->buf, need, 0);
        if (!ec) {
            interleave(d, k->buf, pixels, stride);
        }
    } else {
        ec = charls_jpegls_decoder_decode_to_buffer(dec, pixels, stride * (d->height - 1) + row,
                                                    (uint32_t)stride);
    }
    if (ec) {
        return s2d_error_set(err, S2D_ERR_INPUT, "JPEG-LS frame does not decode: %s",
                             charls_get_error_message(ec));
    }
    return true;
}

/* Whether the frame ends with EOI, then at most the null byte that pads a fragment to even
 * length (PS3.5 A.4). CharLS 2.4.1 may loop forever on a stream cut short (its 2.4.3 stops
 * that: team-charls/charls#334), so a frame without its end never reaches it. */
static bool ends_with_eoi(const uint8_t *data, size_t len)
{
    if (len > 0 && data[len - 1] == 0x00) {
        len--;
    }
    return len >= 4 && data[len - 2] == 0xFF && data[len - 1] == 0xD9;
}

static bool decode(void *c, const uint8_t *data, size_t len, uint8_t *pixels, size_t stride,
                   s2d_error *err)
{
    if (!ends_with_eoi(data, len)) {
        return s2d_error_set(err, S2D_ERR_INPUT, "JPEG-LS frame has no end marker (truncated)");
    }
    charls_jpegls_decoder *dec = charls_jpegls_decoder_create();
    if (!dec) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    bool ok = decode_with(c, dec, data, len, pixels, stride, err);
    charls_jpegls_decoder_destroy(dec);
    return ok;
}

const s2d_codec s2d_codec_jpeg_ls = {
    .name = "JPEG-LS",
    .transfer_syntax_uid = "1.2.840.10008.1.2.4.80",
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
