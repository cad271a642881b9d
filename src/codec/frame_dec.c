// SPDX-License-Identifier: Apache-2.0
/* Frame decoding with TurboJPEG and OpenJPEG; see codec/frame_dec.h. */
#include "codec/frame_dec.h"

#include "codec/jpeg_enc.h"
#include "codec/opj_memory.h"

#include <openjpeg.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

struct s2d_frame_dec {
    tjhandle tj;
    // For planes_to_rgb only, made on first use: TurboJPEG 2.1's tjDecodeYUVPlanes on a
    // handle that has decoded an RGB-coded JPEG keeps that colour space and skips the
    // conversion (the thumbnail came out in YCbCr numbers).
    tjhandle planes_tj;
};

s2d_frame_dec *s2d_frame_dec_new(s2d_error *err)
{
    s2d_frame_dec *d = calloc(1, sizeof *d);
    if (!d || !(d->tj = tjInitDecompress())) {
        free(d);
        s2d_error_set(err, S2D_ERR_NOMEM, "cannot start a JPEG decoder");
        return NULL;
    }
    return d;
}

void s2d_frame_dec_free(s2d_frame_dec *d)
{
    if (d) {
        tjDestroy(d->tj);
        if (d->planes_tj) {
            tjDestroy(d->planes_tj);
        }
        free(d);
    }
}

// `scale` is 1 or 2: the output is width/scale x height/scale, in TurboJPEG's pixel_format.
static bool decode_jpeg(s2d_frame_dec *d, const uint8_t *data, size_t len, int width,
                        int height, int scale, int pixel_format, uint8_t *out, size_t stride,
                        s2d_error *err)
{
    int w, h, subsamp, colorspace;
    if (tjDecompressHeader3(d->tj, data, (unsigned long)len, &w, &h, &subsamp, &colorspace) != 0) {
        return s2d_error_set(err, S2D_ERR_INPUT, "JPEG header: %s", tjGetErrorStr2(d->tj));
    }
    if (w != width || h != height) {
        return s2d_error_set(err, S2D_ERR_INPUT, "JPEG is %dx%d, expected %dx%d", w, h, width,
                             height);
    }
    // A warning (truncated data padded with grey, say) is a broken tile too.
    // TurboJPEG picks the DCT scaling factor that gives the asked size.
    if (tjDecompress2(d->tj, data, (unsigned long)len, out, width / scale, (int)stride,
                      height / scale, pixel_format, TJFLAG_STOPONWARNING) != 0) {
        return s2d_error_set(err, S2D_ERR_INPUT, "JPEG data: %s", tjGetErrorStr2(d->tj));
    }
    return true;
}

bool s2d_frame_dec_planes_to_rgb(s2d_frame_dec *d, const uint8_t *planes, int width, int height,
                                 int chroma_div, uint8_t *rgb, size_t stride, s2d_error *err)
{
    const unsigned char *plane[3];
    int strides[3];
    s2d_planes_split(planes, width, height, chroma_div, plane, strides);
    if (!d->planes_tj && !(d->planes_tj = tjInitDecompress())) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "cannot start a JPEG decoder");
    }
    if (tjDecodeYUVPlanes(d->planes_tj, plane, strides, chroma_div == 1 ? TJSAMP_444 : TJSAMP_420,
                          rgb, width, (int)stride, height, TJPF_RGB, 0) != 0) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "colour conversion failed: %s",
                             tjGetErrorStr2(d->planes_tj));
    }
    return true;
}

static bool decode_j2k(const uint8_t *data, size_t len, int width, int height, uint8_t *rgb,
                       size_t stride, s2d_error *err)
{
    s2d_opj_input in = {data, len, 0};
    opj_codec_t *codec = opj_create_decompress(OPJ_CODEC_J2K);
    opj_stream_t *stream = s2d_opj_input_stream(&in);
    opj_image_t *img = NULL;
    opj_dparameters_t params;
    bool ok = false;
    if (!codec || !stream) {
        s2d_error_set(err, S2D_ERR_NOMEM, "cannot start a JPEG 2000 decoder");
        goto out;
    }
    s2d_opj_silence(codec);
    opj_set_default_decoder_parameters(&params);
    if (!opj_setup_decoder(codec, &params) || !opj_read_header(stream, codec, &img) ||
        !opj_decode(codec, stream, img) || !opj_end_decompress(codec, stream)) {
        s2d_error_set(err, S2D_ERR_INPUT, "JPEG 2000 codestream does not decode");
        goto out;
    }
    if (img->numcomps != 3) {
        s2d_error_set(err, S2D_ERR_INPUT, "JPEG 2000 frame has %u components, expected 3",
                      img->numcomps);
        goto out;
    }
    for (int c = 0; c < 3; c++) {
        const opj_image_comp_t *cp = &img->comps[c];
        if ((int)cp->w != width || (int)cp->h != height || cp->prec != 8 || cp->sgnd) {
            s2d_error_set(err, S2D_ERR_INPUT, "JPEG 2000 component %d is %ux%u, %u-bit; "
                          "expected %dx%d 8-bit", c, cp->w, cp->h, cp->prec, width, height);
            goto out;
        }
    }
    for (int y = 0; y < height; y++) {
        uint8_t *row = rgb + (size_t)y * stride;
        for (int c = 0; c < 3; c++) {
            const OPJ_INT32 *src = img->comps[c].data + (size_t)y * (size_t)width;
            for (int x = 0; x < width; x++) {
                OPJ_INT32 v = src[x];
                row[3 * x + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
    }
    ok = true;
out:
    if (img) {
        opj_image_destroy(img);
    }
    if (stream) {
        opj_stream_destroy(stream);
    }
    if (codec) {
        opj_destroy_codec(codec);
    }
    return ok;
}

bool s2d_frame_dec_decode(s2d_frame_dec *d, const uint8_t *data, size_t len, int width,
                          int height, uint8_t *rgb, size_t stride, s2d_error *err)
{
    if (len >= 2 && data[0] == 0xFF && data[1] == 0xD8) {
        return decode_jpeg(d, data, len, width, height, 1, TJPF_RGB, rgb, stride, err);
    }
    if (len >= 2 && data[0] == 0xFF && data[1] == 0x4F) {
        return decode_j2k(data, len, width, height, rgb, stride, err);
    }
    return s2d_error_set(err, S2D_ERR_INPUT, "neither a JPEG stream nor a JPEG 2000 codestream");
}

bool s2d_frame_dec_decode_half(s2d_frame_dec *d, const uint8_t *data, size_t len, int width,
                               int height, uint8_t *rgb, size_t stride, s2d_error *err)
{
    if (len < 2 || data[0] != 0xFF || data[1] != 0xD8) {
        return s2d_error_set(err, S2D_ERR_INPUT, "not a JPEG stream");
    }
    return decode_jpeg(d, data, len, width, height, 2, TJPF_RGB, rgb, stride, err);
}

bool s2d_frame_dec_decode_grey(s2d_frame_dec *d, const uint8_t *data, size_t len, int width,
                               int height, uint8_t *grey, size_t stride, s2d_error *err)
{
    if (len < 2 || data[0] != 0xFF || data[1] != 0xD8) {
        return s2d_error_set(err, S2D_ERR_INPUT, "not a JPEG stream");
    }
    return decode_jpeg(d, data, len, width, height, 1, TJPF_GRAY, grey, stride, err);
}

s2d_planes_result s2d_frame_dec_decode_planes(s2d_frame_dec *d, const uint8_t *data, size_t len,
                                              int width, int height, int scale, uint8_t *planes,
                                              int *chroma_div, s2d_error *err)
{
    int w, h, subsamp, colorspace;
    bool soi = len >= 2 && data[0] == 0xFF && data[1] == 0xD8;
    if (!soi ||
        tjDecompressHeader3(d->tj, data, (unsigned long)len, &w, &h, &subsamp, &colorspace) != 0) {
        s2d_error_set(err, S2D_ERR_INPUT, "JPEG header: %s",
                      soi ? tjGetErrorStr2(d->tj) : "no SOI marker");
        return S2D_PLANES_FAILED;   // a broken frame, not a sign of the level's coding
    }
    if (w != width || h != height || colorspace != TJCS_YCbCr ||
        (subsamp != TJSAMP_420 && subsamp != TJSAMP_444)) {
        return S2D_PLANES_NOT_YCBCR;
    }
    *chroma_div = subsamp == TJSAMP_420 ? 2 : 1;
    int ow = width / scale, oh = height / scale;
    const unsigned char *plane[3];
    int strides[3];
    s2d_planes_split(planes, ow, oh, *chroma_div, plane, strides);
    // TurboJPEG picks the DCT scaling factor that gives the asked size, as for RGB.
    if (tjDecompressToYUVPlanes(d->tj, data, (unsigned long)len, (unsigned char **)plane, ow,
                                strides, oh, TJFLAG_STOPONWARNING) != 0) {
        s2d_error_set(err, S2D_ERR_INPUT, "JPEG data: %s", tjGetErrorStr2(d->tj));
        return S2D_PLANES_FAILED;
    }
    return S2D_PLANES_DECODED;
}

void *s2d_frame_decoder_new(const s2d_pixdesc *d, s2d_error *err)
{
    s2d_frame_decoder *dec = calloc(1, sizeof *dec);
    if (!dec) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    dec->desc = *d;
    if (!(dec->frames = s2d_frame_dec_new(err))) {
        s2d_frame_decoder_free(dec);
        return NULL;
    }
    return dec;
}

void s2d_frame_decoder_free(void *d)
{
    s2d_frame_decoder *dec = d;
    if (dec) {
        s2d_frame_dec_free(dec->frames);
        free(dec);
    }
}
