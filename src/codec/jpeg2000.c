// SPDX-License-Identifier: Apache-2.0
/* JPEG 2000 Image Compression (lossless or lossy): decode only, 8-bit three-component
 * codestreams into RGB (codec/frame_dec.h, OpenJPEG). There is no encoder yet: frames of
 * this syntax are copied from the source, and a broken one cannot be replaced. */
#include "codec/codec.h"

#include "codec/frame_dec.h"

static bool accepts(const s2d_pixdesc *d)
{
    return d->samples == 3 && d->colour == S2D_COLOUR_RGB && !d->planar &&
           d->bits_allocated == 8 && d->bits_stored == 8 && !d->is_signed && d->width > 0 &&
           d->height > 0 && d->width <= INT32_MAX && d->height <= INT32_MAX;
}

static uint64_t bound(const s2d_pixdesc *d, const s2d_codec_opts *o)
{
    (void)d;
    (void)o;
    return 0;   // no encoder, no frames of ours
}

static bool decode(void *d, const uint8_t *data, size_t len, uint8_t *pixels, size_t stride,
                   s2d_error *err)
{
    const s2d_frame_decoder *dec = d;
    // A raw codestream starts with SOC; frame_dec would take a JPEG stream as well.
    if (len < 2 || data[0] != 0xFF || data[1] != 0x4F) {
        return s2d_error_set(err, S2D_ERR_INPUT, "not a JPEG 2000 codestream");
    }
    return s2d_frame_dec_decode(dec->frames, data, len, (int)dec->desc.width,
                                (int)dec->desc.height, pixels, stride, err);
}

const s2d_codec s2d_codec_jpeg2000 = {
    .name = "JPEG 2000",
    .transfer_syntax_uid = "1.2.840.10008.1.2.4.91",
    .lossy = true,
    .lossy_method = "ISO_15444_1",
    .accepts = accepts,
    .bound = bound,
    .dec_new = s2d_frame_decoder_new,
    .decode = decode,
    .dec_free = s2d_frame_decoder_free,
};
