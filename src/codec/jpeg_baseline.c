// SPDX-License-Identifier: Apache-2.0
/* JPEG Baseline (Process 1), 8-bit grey, RGB or YCbCr planes: the table's entry over
 * codec/jpeg_enc.h and codec/frame_dec.h. RGB is stored as YCbCr (4:2:0 or 4:4:4), YCbCr
 * planes as they are (their chroma_div settles the subsampling), grey as one component. */
#include "codec/codec.h"

#include <stdlib.h>

#include "codec/frame_dec.h"
#include "codec/jpeg_enc.h"

// TurboJPEG's limits, which s2d_jpeg_enc_new() enforces.
#define MAX_SIDE 65535u
#define MAX_PIXELS (1u << 28)

// YCbCr in the encoder's planar layout, whose sides split into whole chroma samples.
static bool ycc_planes(const s2d_pixdesc *d)
{
    return d->samples == 3 && d->colour == S2D_COLOUR_YCBCR &&
           (d->chroma_div == 1 || d->chroma_div == 2) && d->width % d->chroma_div == 0 &&
           d->height % d->chroma_div == 0;
}

static bool accepts(const s2d_pixdesc *d)
{
    bool grey = d->samples == 1 && (d->colour == S2D_COLOUR_MONO_MIN_IS_BLACK ||
                                     d->colour == S2D_COLOUR_MONO_MIN_IS_WHITE);
    bool rgb = d->samples == 3 && d->colour == S2D_COLOUR_RGB;
    return (grey || rgb || ycc_planes(d)) && !d->planar && d->bits_allocated == 8 && d->bits_stored == 8 &&
           !d->is_signed && d->width > 0 && d->height > 0 && d->width <= MAX_SIDE && d->height <= MAX_SIDE &&
           (uint64_t)d->width * d->height <= MAX_PIXELS;
}

// Planes are encoded with their own chroma sampling; RGB with the option's.
static bool subsampling_444(const s2d_pixdesc *d, const s2d_codec_opts *o)
{
    return d->colour == S2D_COLOUR_YCBCR ? d->chroma_div == 1 : o->subsampling_444;
}

static uint64_t bound(const s2d_pixdesc *d, const s2d_codec_opts *o)
{
    if (d->samples == 1) {
        return s2d_jpeg_enc_grey_bound((int)d->width, (int)d->height);
    }
    return s2d_jpeg_enc_bound((int)d->width, (int)d->height, subsampling_444(d, o));
}

typedef struct encoder {
    s2d_jpeg_enc *jpeg;
    s2d_pixdesc desc;
} encoder;

static void enc_free(void *e)
{
    encoder *enc = e;
    if (enc) {
        s2d_jpeg_enc_free(enc->jpeg);
        free(enc);
    }
}

static void *enc_new(const s2d_pixdesc *d, const s2d_codec_opts *o, s2d_error *err)
{
    encoder *enc = calloc(1, sizeof *enc);
    if (!enc) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    enc->desc = *d;
    enc->jpeg = s2d_jpeg_enc_new(o->quality, subsampling_444(d, o), (int)d->width,
                                 (int)d->height, err);
    if (!enc->jpeg) {
        enc_free(enc);
        return NULL;
    }
    return enc;
}

static bool encode(void *e, const uint8_t *pixels, size_t stride, const uint8_t **out,
                   size_t *out_len, s2d_error *err)
{
    encoder *enc = e;
    int w = (int)enc->desc.width, h = (int)enc->desc.height;
    if (enc->desc.samples == 1) {
        return s2d_jpeg_enc_encode_grey(enc->jpeg, pixels, w, h, stride, out, out_len, err);
    }
    if (enc->desc.colour == S2D_COLOUR_YCBCR) {
        return s2d_jpeg_enc_encode_planes(enc->jpeg, pixels, w, h, out, out_len, err);
    }
    return s2d_jpeg_enc_encode(enc->jpeg, pixels, w, h, stride, out, out_len, err);
}

// Grey is stored as given; colour always as YCbCr, which PS3.5 8.2.1 names YBR_FULL_422
// whatever the chroma sampling.
static const char *photometric(const s2d_pixdesc *d)
{
    if (d->samples == 1) {
        return d->colour == S2D_COLOUR_MONO_MIN_IS_WHITE ? "MONOCHROME1" : "MONOCHROME2";
    }
    return "YBR_FULL_422";
}

static bool decode(void *d, const uint8_t *data, size_t len, uint8_t *pixels, size_t stride,
                   s2d_error *err)
{
    const s2d_frame_decoder *dec = d;
    int w = (int)dec->desc.width, h = (int)dec->desc.height;
    if (dec->desc.chroma_div) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "JPEG frames decode to interleaved pixels, "
                             "not to YCbCr planes");
    }
    if (dec->desc.samples == 1) {
        return s2d_frame_dec_decode_grey(dec->frames, data, len, w, h, pixels, stride, err);
    }
    if (len < 2 || data[0] != 0xFF || data[1] != 0xD8) {
        return s2d_error_set(err, S2D_ERR_INPUT, "not a JPEG stream");
    }
    return s2d_frame_dec_decode(dec->frames, data, len, w, h, pixels, stride, err);
}

const s2d_codec s2d_codec_jpeg_baseline = {
    .name = "JPEG baseline",
    .transfer_syntax_uid = "1.2.840.10008.1.2.4.50",
    .lossy = true,
    .lossy_method = "ISO_10918_1",
    .accepts = accepts,
    .bound = bound,
    .enc_new = enc_new,
    .encode = encode,
    .enc_free = enc_free,
    .photometric = photometric,
    .dec_new = s2d_frame_decoder_new,
    .decode = decode,
    .dec_free = s2d_frame_decoder_free,
};
