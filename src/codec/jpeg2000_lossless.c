// SPDX-License-Identifier: Apache-2.0
/* JPEG 2000 Lossless Only (PS3.5 A.4.4, 1.2.840.10008.1.2.4.90) through OpenJPEG: a raw
 * codestream (J2K, no JP2 box) coded with the reversible 5/3 wavelet in one quality layer;
 * grey of 8 or 16 bits allocated at Bits Stored precision (MONOCHROME1/2), 8-bit RGB
 * through the reversible colour transform (the dataset says YBR_RCT). The table's other
 * JPEG 2000 entry (codec/jpeg2000.c, .4.91) decodes the copied frames of slides. */
#include "codec/codec.h"
#include "codec/opj_memory.h"

#include <openjpeg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FRAME_BYTES 0xFFFFFFFEu   // a fragment's length is even
#define MAX_RESOLUTIONS 6             // OpenJPEG's default: five decompositions
#define BLOCK 64                      // OpenJPEG's default code-block side
#define HEADER_BYTES 2048u            // SOC, SIZ, COD, QCD, COM, SOT, SOD, EOC, with room

static bool is_mono(s2d_colour c)
{
    return c == S2D_COLOUR_MONO_MIN_IS_BLACK || c == S2D_COLOUR_MONO_MIN_IS_WHITE;
}

/* As many resolutions as the smaller side allows (OpenJPEG wants each side at least
 * 2^(resolutions - 1)), at most the default. */
static int resolutions(const s2d_pixdesc *d)
{
    uint32_t side = d->width < d->height ? d->width : d->height;
    int n = 1;
    while (n < MAX_RESOLUTIONS && (side >> n) > 0) {
        n++;
    }
    return n;
}

/* The longest a frame can get. OpenJPEG codes a code-block into a buffer of four bytes a
 * coefficient plus two (opj_tcd_code_block_enc_allocate_data), and there are as many
 * coefficients as samples; a block's packet header stays under 32 bytes (inclusion, zero
 * bit-planes, passes, length); the main and tile headers are small. Blocks are counted
 * generously: every band of every resolution as if it had the full image's size in
 * blocks, plus a partial block each way. */
static uint64_t frame_bound(const s2d_pixdesc *d)
{
    uint64_t samples = (uint64_t)d->width * d->height * d->samples;
    uint64_t bands = 3 * (uint64_t)resolutions(d) + 1;
    uint64_t blocks = bands * d->samples * ((d->width + BLOCK - 1) / BLOCK + 1) *
                      ((d->height + BLOCK - 1) / BLOCK + 1);
    return 4 * samples + blocks * (2 + 32) + HEADER_BYTES;
}

// Grey is stored as given; RGB through the reversible colour transform.
static const char *photometric(const s2d_pixdesc *d)
{
    if (is_mono(d->colour)) {
        return d->colour == S2D_COLOUR_MONO_MIN_IS_WHITE ? "MONOCHROME1" : "MONOCHROME2";
    }
    return "YBR_RCT";
}

static bool accepts(const s2d_pixdesc *d)
{
    bool grey = d->samples == 1 && is_mono(d->colour) &&
                (d->bits_allocated == 8 || d->bits_allocated == 16);
    bool rgb = d->samples == 3 && d->colour == S2D_COLOUR_RGB && d->bits_allocated == 8;
    return (grey || rgb) && !d->is_signed && !d->is_float && !d->planar && d->bits_stored >= 1 &&
           d->bits_stored <= d->bits_allocated && d->width > 0 && d->height > 0 &&
           d->width <= INT32_MAX && d->height <= INT32_MAX && frame_bound(d) <= MAX_FRAME_BYTES;
}

static uint64_t bound(const s2d_pixdesc *d, const s2d_codec_opts *o)
{
    (void)o;
    return frame_bound(d);
}

typedef struct coder {
    s2d_pixdesc desc;
    uint8_t *data;   // encoder: the encoded frame, grown as OpenJPEG writes
    size_t len, cap, pos;
    s2d_opj_input in;   // decoder: the frame being read
} coder;

static void coder_free(void *c)
{
    coder *k = c;
    if (k) {
        free(k->data);
        free(k);
    }
}

static void *coder_new(const s2d_pixdesc *d, s2d_error *err)
{
    coder *k = calloc(1, sizeof *k);
    if (!k) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    k->desc = *d;
    return k;
}

static void *enc_new(const s2d_pixdesc *d, const s2d_codec_opts *o, s2d_error *err)
{
    (void)o;
    return coder_new(d, err);
}

/* OpenJPEG's streams over memory: the encoder's output, the decoder's input. */
static OPJ_SIZE_T out_write(void *buf, OPJ_SIZE_T n, void *user)
{
    coder *k = user;
    if (n > SIZE_MAX - k->pos) {
        return (OPJ_SIZE_T)-1;
    }
    if (k->pos + n > k->cap) {
        size_t cap = k->cap ? k->cap : 64 * 1024;
        while (cap < k->pos + n) {
            cap *= 2;
        }
        uint8_t *grown = realloc(k->data, cap);
        if (!grown) {
            return (OPJ_SIZE_T)-1;
        }
        k->data = grown;
        k->cap = cap;
    }
    memcpy(k->data + k->pos, buf, n);
    k->pos += n;
    if (k->pos > k->len) {
        k->len = k->pos;
    }
    return n;
}

static OPJ_OFF_T out_skip(OPJ_OFF_T n, void *user)
{
    coder *k = user;
    if (n < 0 || (uint64_t)n > k->len - k->pos) {
        return -1;   // the codestream writer never skips past what it wrote
    }
    k->pos += (size_t)n;
    return n;
}

static OPJ_BOOL out_seek(OPJ_OFF_T n, void *user)
{
    coder *k = user;
    if (n < 0 || (uint64_t)n > k->len) {
        return OPJ_FALSE;
    }
    k->pos = (size_t)n;
    return OPJ_TRUE;
}


// The frame's pixels as OpenJPEG's image: one plane of int32 a component.
static opj_image_t *image_of(const s2d_pixdesc *d, const uint8_t *pixels, size_t stride)
{
    opj_image_cmptparm_t comp[3];
    memset(comp, 0, sizeof comp);
    for (size_t c = 0; c < d->samples; c++) {
        comp[c] = (opj_image_cmptparm_t){.dx = 1, .dy = 1, .w = d->width, .h = d->height,
                                         .prec = d->bits_stored, .sgnd = 0};
    }
    opj_image_t *img = opj_image_create(d->samples, comp,
                                        d->samples == 3 ? OPJ_CLRSPC_SRGB : OPJ_CLRSPC_GRAY);
    if (!img) {
        return NULL;
    }
    img->x1 = d->width;
    img->y1 = d->height;
    for (size_t y = 0; y < d->height; y++) {
        const uint8_t *row = pixels + y * stride;
        for (size_t c = 0; c < d->samples; c++) {
            OPJ_INT32 *plane = img->comps[c].data + y * d->width;
            if (d->bits_allocated == 8) {
                for (size_t x = 0; x < d->width; x++) {
                    plane[x] = row[x * d->samples + c];
                }
            } else {
                for (size_t x = 0; x < d->width; x++) {
                    uint16_t v;
                    memcpy(&v, row + 2 * x, 2);
                    plane[x] = v;
                }
            }
        }
    }
    return img;
}

static bool encode(void *e, const uint8_t *pixels, size_t stride, const uint8_t **out,
                   size_t *out_len, s2d_error *err)
{
    coder *k = e;
    const s2d_pixdesc *d = &k->desc;
    opj_image_t *img = image_of(d, pixels, stride);
    opj_codec_t *codec = opj_create_compress(OPJ_CODEC_J2K);
    opj_stream_t *stream = opj_stream_create(64 * 1024, OPJ_FALSE);
    bool ok = false;
    if (!img || !codec || !stream) {
        s2d_error_set(err, S2D_ERR_NOMEM, "cannot start a JPEG 2000 encoder");
        goto out;
    }
    s2d_opj_silence(codec);
    opj_cparameters_t params;
    opj_set_default_encoder_parameters(&params);
    params.irreversible = 0;          // the reversible 5/3 wavelet
    params.tcp_numlayers = 1;         // one layer, all of it: lossless
    params.tcp_rates[0] = 0;
    params.cp_disto_alloc = 1;
    params.numresolution = resolutions(d);
    params.tcp_mct = d->samples == 3 ? 1 : 0;   // RGB through the reversible transform
    k->len = k->pos = 0;
    opj_stream_set_user_data(stream, k, NULL);
    opj_stream_set_write_function(stream, out_write);
    opj_stream_set_skip_function(stream, out_skip);
    opj_stream_set_seek_function(stream, out_seek);
    if (!opj_setup_encoder(codec, &params, img) || !opj_start_compress(codec, img, stream) ||
        !opj_encode(codec, stream) || !opj_end_compress(codec, stream)) {
        s2d_error_set(err, S2D_ERR_INTERNAL, "JPEG 2000 encoding failed");
        goto out;
    }
    if (k->len > frame_bound(d)) {
        s2d_error_set(err, S2D_ERR_INTERNAL, "JPEG 2000 frame of %zu bytes exceeds its bound",
                      k->len);
        goto out;
    }
    *out = k->data;
    *out_len = k->len;
    ok = true;
out:
    if (stream) {
        opj_stream_destroy(stream);
    }
    if (codec) {
        opj_destroy_codec(codec);
    }
    if (img) {
        opj_image_destroy(img);
    }
    return ok;
}

// Whether the codestream's image is the frame's; `decoded`: its samples must be there too.
static bool image_fits(const s2d_pixdesc *d, const opj_image_t *img, bool decoded,
                       s2d_error *err)
{
    if (img->numcomps != d->samples) {
        return s2d_error_set(err, S2D_ERR_INPUT, "JPEG 2000 frame has %u components, expected %u",
                             img->numcomps, d->samples);
    }
    for (size_t c = 0; c < d->samples; c++) {
        const opj_image_comp_t *cp = &img->comps[c];
        if (cp->w != d->width || cp->h != d->height || cp->dx != 1 || cp->dy != 1 ||
            cp->prec < 1 || cp->prec > d->bits_allocated || cp->sgnd || (decoded && !cp->data)) {
            return s2d_error_set(err, S2D_ERR_INPUT,
                                 "JPEG 2000 component %zu is %ux%u, %u-bit%s; expected %ux%u, "
                                 "%u-bit unsigned", c, cp->w, cp->h, cp->prec,
                                 cp->sgnd ? " signed" : "", d->width, d->height,
                                 d->bits_stored);
        }
    }
    return true;
}

// The decoded planes into pixels; values outside the precision (a damaged frame) clamped.
static void store_image(const s2d_pixdesc *d, const opj_image_t *img, uint8_t *pixels,
                        size_t stride)
{
    for (size_t c = 0; c < d->samples; c++) {
        OPJ_INT32 top = (OPJ_INT32)((1u << img->comps[c].prec) - 1);
        for (size_t y = 0; y < d->height; y++) {
            const OPJ_INT32 *plane = img->comps[c].data + y * d->width;
            uint8_t *row = pixels + y * stride;
            for (size_t x = 0; x < d->width; x++) {
                OPJ_INT32 v = plane[x] < 0 ? 0 : plane[x] > top ? top : plane[x];
                if (d->bits_allocated == 8) {
                    row[x * d->samples + c] = (uint8_t)v;
                } else {
                    uint16_t w = (uint16_t)v;
                    memcpy(row + 2 * x, &w, 2);
                }
            }
        }
    }
}

static bool decode(void *c, const uint8_t *data, size_t len, uint8_t *pixels, size_t stride,
                   s2d_error *err)
{
    coder *k = c;
    const s2d_pixdesc *d = &k->desc;
    if (len < 2 || data[0] != 0xFF || data[1] != 0x4F) {
        return s2d_error_set(err, S2D_ERR_INPUT, "not a JPEG 2000 codestream");
    }
    k->in = (s2d_opj_input){data, len, 0};
    opj_codec_t *codec = opj_create_decompress(OPJ_CODEC_J2K);
    opj_stream_t *stream = s2d_opj_input_stream(&k->in);
    opj_image_t *img = NULL;
    bool ok = false;
    if (!codec || !stream) {
        s2d_error_set(err, S2D_ERR_NOMEM, "cannot start a JPEG 2000 decoder");
        goto out;
    }
    s2d_opj_silence(codec);
    opj_dparameters_t params;
    opj_set_default_decoder_parameters(&params);
    // Strict: a codestream cut short is an error, not a partial image.
    if (!opj_setup_decoder(codec, &params) || !opj_decoder_set_strict_mode(codec, OPJ_TRUE) ||
        !opj_read_header(stream, codec, &img)) {
        s2d_error_set(err, S2D_ERR_INPUT, "JPEG 2000 codestream header does not read");
        goto out;
    }
    if (!image_fits(d, img, false, err)) {
        goto out;
    }
    if (!opj_decode(codec, stream, img) || !opj_end_decompress(codec, stream)) {
        s2d_error_set(err, S2D_ERR_INPUT, "JPEG 2000 codestream does not decode");
        goto out;
    }
    if (!image_fits(d, img, true, err)) {
        goto out;
    }
    store_image(d, img, pixels, stride);
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

const s2d_codec s2d_codec_jpeg2000_lossless = {
    .name = "JPEG 2000 lossless",
    .transfer_syntax_uid = "1.2.840.10008.1.2.4.90",
    .lossy = false,
    .lossy_method = NULL,
    .accepts = accepts,
    .bound = bound,
    .enc_new = enc_new,
    .encode = encode,
    .enc_free = coder_free,
    .photometric = photometric,
    .dec_new = coder_new,
    .decode = decode,
    .dec_free = coder_free,
};
