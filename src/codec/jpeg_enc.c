// SPDX-License-Identifier: Apache-2.0
/* TurboJPEG wrapper; the only file that knows the TurboJPEG API. */
#include "codec/jpeg_enc.h"

#include <stdlib.h>
#include <turbojpeg.h>

struct s2d_jpeg_enc {
    tjhandle tj;
    int quality;
    int subsamp;
    unsigned char *buf;      // sized for the largest image, so TurboJPEG never reallocates
    size_t cap;
};

size_t s2d_jpeg_enc_bound(int width, int height, bool subsampling_444)
{
    return (size_t)tjBufSize(width, height, subsampling_444 ? TJSAMP_444 : TJSAMP_420);
}

s2d_jpeg_enc *s2d_jpeg_enc_new(int quality, bool subsampling_444, int max_width, int max_height,
                               s2d_error *err)
{
    s2d_jpeg_enc *enc = calloc(1, sizeof *enc);
    if (!enc) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    enc->quality = quality;
    enc->subsamp = subsampling_444 ? TJSAMP_444 : TJSAMP_420;
    // TurboJPEG sizes buffers in int; its bound itself overflows past 2^31 pixels.
    if (max_width <= 0 || max_height <= 0 || max_width > 65535 || max_height > 65535 ||
        (uint64_t)max_width * (uint64_t)max_height > (1u << 28)) {
        s2d_error_set(err, S2D_ERR_INPUT, "a %dx%d image is too large for one JPEG frame",
                      max_width, max_height);
        s2d_jpeg_enc_free(enc);
        return NULL;
    }
    enc->cap = s2d_jpeg_enc_bound(max_width, max_height, subsampling_444);
    enc->tj = tjInitCompress();
    enc->buf = tjAlloc((int)enc->cap);
    if (!enc->tj || !enc->buf) {
        s2d_error_set(err, S2D_ERR_NOMEM, "cannot start a JPEG encoder");
        s2d_jpeg_enc_free(enc);
        return NULL;
    }
    return enc;
}

void s2d_jpeg_enc_free(s2d_jpeg_enc *enc)
{
    if (!enc) {
        return;
    }
    if (enc->tj) {
        tjDestroy(enc->tj);
    }
    tjFree(enc->buf);
    free(enc);
}

// Encodes packed pixels of pixel_format with the subsampling subsamp.
static bool compress(s2d_jpeg_enc *enc, const uint8_t *pixels, int width, int height,
                     size_t stride, int pixel_format, int subsamp, const uint8_t **out,
                     size_t *out_len, s2d_error *err)
{
    unsigned long len = (unsigned long)enc->cap;
    unsigned char *dst = enc->buf;
    if ((size_t)tjBufSize(width, height, subsamp) > enc->cap) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "image %dx%d larger than the encoder's", width,
                             height);
    }
    if (tjCompress2(enc->tj, pixels, width, (int)stride, height, pixel_format, &dst, &len, subsamp,
                    enc->quality, TJFLAG_NOREALLOC) != 0) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "JPEG encoding failed: %s",
                             tjGetErrorStr2(enc->tj));
    }
    *out = dst;
    *out_len = len;
    return true;
}

bool s2d_jpeg_enc_encode(s2d_jpeg_enc *enc, const uint8_t *rgb, int width, int height,
                         size_t stride, const uint8_t **out, size_t *out_len, s2d_error *err)
{
    return compress(enc, rgb, width, height, stride, TJPF_RGB, enc->subsamp, out, out_len, err);
}

size_t s2d_jpeg_enc_grey_bound(int width, int height)
{
    return (size_t)tjBufSize(width, height, TJSAMP_GRAY);
}

bool s2d_jpeg_enc_encode_grey(s2d_jpeg_enc *enc, const uint8_t *grey, int width, int height,
                              size_t stride, const uint8_t **out, size_t *out_len, s2d_error *err)
{
    return compress(enc, grey, width, height, stride, TJPF_GRAY, TJSAMP_GRAY, out, out_len, err);
}

// The chroma divisor d of the encoder's subsampling.
static int chroma_div(const s2d_jpeg_enc *enc)
{
    return enc->subsamp == TJSAMP_444 ? 1 : 2;
}

s2d_planes_layout s2d_planes_layout_of(int width, int height, int d)
{
    s2d_planes_layout l = {.side_div = {1, d, d}};
    for (int p = 0; p < 3; p++) {
        l.offset[p] = l.size;
        l.size += (size_t)(width / l.side_div[p]) * (size_t)(height / l.side_div[p]);
    }
    return l;
}

void s2d_planes_split(const uint8_t *planes, int width, int height, int d,
                      const unsigned char *plane[3], int stride[3])
{
    s2d_planes_layout l = s2d_planes_layout_of(width, height, d);
    for (int p = 0; p < 3; p++) {
        plane[p] = planes + l.offset[p];
        stride[p] = width / l.side_div[p];
    }
}

static bool fits(const s2d_jpeg_enc *enc, int width, int height, s2d_error *err)
{
    int d = chroma_div(enc);
    if (s2d_jpeg_enc_bound(width, height, enc->subsamp == TJSAMP_444) > enc->cap ||
        width % d != 0 || height % d != 0) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "image %dx%d not for this encoder", width,
                             height);
    }
    return true;
}

struct s2d_planes_conv {
    tjhandle tj;
    int d;
};

s2d_planes_conv *s2d_planes_conv_new(int d, s2d_error *err)
{
    s2d_planes_conv *conv = calloc(1, sizeof *conv);
    if (conv) {
        conv->d = d;
        conv->tj = tjInitCompress();
    }
    if (!conv || !conv->tj) {
        s2d_planes_conv_free(conv);
        s2d_error_set(err, S2D_ERR_NOMEM, "cannot start a colour converter");
        return NULL;
    }
    return conv;
}

void s2d_planes_conv_free(s2d_planes_conv *conv)
{
    if (conv && conv->tj) {
        tjDestroy(conv->tj);
    }
    free(conv);
}

bool s2d_planes_from_rgb(s2d_planes_conv *conv, const uint8_t *rgb, int width, int height,
                         size_t stride, uint8_t *planes, s2d_error *err)
{
    const unsigned char *plane[3];
    int strides[3];
    if (width <= 0 || height <= 0 || width % conv->d != 0 || height % conv->d != 0) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "image %dx%d not for chroma divisor %d",
                             width, height, conv->d);
    }
    s2d_planes_split(planes, width, height, conv->d, plane, strides);
    if (tjEncodeYUVPlanes(conv->tj, rgb, width, (int)stride, height, TJPF_RGB,
                          (unsigned char **)plane, strides,
                          conv->d == 1 ? TJSAMP_444 : TJSAMP_420, 0) != 0) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "colour conversion failed: %s",
                             tjGetErrorStr2(conv->tj));
    }
    return true;
}

bool s2d_jpeg_enc_encode_planes(s2d_jpeg_enc *enc, const uint8_t *planes, int width, int height,
                                const uint8_t **out, size_t *out_len, s2d_error *err)
{
    const unsigned char *plane[3];
    int strides[3];
    s2d_planes_split(planes, width, height, chroma_div(enc), plane, strides);
    unsigned long len = (unsigned long)enc->cap;
    unsigned char *dst = enc->buf;
    if (!fits(enc, width, height, err)) {
        return false;
    }
    if (tjCompressFromYUVPlanes(enc->tj, plane, width, strides, height, enc->subsamp, &dst, &len,
                                enc->quality, TJFLAG_NOREALLOC) != 0) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "JPEG encoding failed: %s",
                             tjGetErrorStr2(enc->tj));
    }
    *out = dst;
    *out_len = len;
    return true;
}
