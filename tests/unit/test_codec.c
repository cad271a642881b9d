// SPDX-License-Identifier: Apache-2.0
/* The codec table: every codec round-trips every pixel description it accepts (lossless
 * codecs exactly, JPEG within a PSNR bound), stays within its bound(), and refuses what it
 * cannot carry; the JPEG 2000 entry decodes a codestream OpenJPEG made here. */
#include <math.h>
#include <openjpeg.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "codec/jpeg_enc.h"
#include "harness.h"

#define MIN_JPEG_PSNR 35.0   // quality 90 on the smooth test picture gives ~40 dB

#define DESC(w, h, spp, ba, bs, sgn, col, pl) \
    {(w), (h), (spp), (ba), (bs), (sgn), S2D_COLOUR_##col, (pl), false, 0}
#define FLOAT_DESC(w, h, spp, col) \
    {(w), (h), (spp), 32, 32, false, S2D_COLOUR_##col, false, true, 0}
// YCbCr in planes, chroma at 1/div of each side.
#define PLANES(w, h, div) {(w), (h), 3, 8, 8, false, S2D_COLOUR_YCBCR, false, false, (div)}

// Each description with what each codec must answer: JPEG baseline, JPEG 2000, native.
static const struct {
    s2d_pixdesc d;
    bool jpeg, j2k, native;
} cases[] = {
    {DESC(64, 48, 1, 8, 8, false, MONO_MIN_IS_BLACK, false), true, false, true},
    {DESC(33, 17, 1, 8, 8, false, MONO_MIN_IS_WHITE, false), true, false, true},
    {DESC(64, 48, 3, 8, 8, false, RGB, false), true, true, true},
    {DESC(35, 19, 3, 8, 8, false, RGB, false), true, true, true},
    {DESC(16, 16, 3, 8, 8, false, RGB, true), false, false, true},
    {DESC(16, 16, 3, 8, 8, false, YCBCR, false), false, false, true},
    {DESC(16, 16, 1, 8, 8, false, PALETTE, false), false, false, true},
    {DESC(16, 16, 1, 8, 6, false, MONO_MIN_IS_BLACK, false), false, false, true},
    {DESC(64, 48, 1, 16, 16, false, MONO_MIN_IS_BLACK, false), false, false, true},
    {DESC(21, 13, 1, 16, 12, false, MONO_MIN_IS_WHITE, false), false, false, true},
    {DESC(16, 16, 1, 16, 16, true, MONO_MIN_IS_BLACK, false), false, false, true},
    {DESC(16, 16, 3, 16, 16, false, RGB, false), false, false, true},
    {DESC(16, 16, 3, 16, 16, false, RGB, true), false, false, true},
    {DESC(64, 48, 1, 1, 1, false, MONO_MIN_IS_WHITE, false), false, false, true},
    {DESC(13, 7, 1, 1, 1, false, MONO_MIN_IS_BLACK, false), false, false, true},
    {PLANES(32, 16, 2), true, false, false},
    {PLANES(35, 19, 1), true, false, false},
    // Refused by all.
    {DESC(16, 16, 3, 1, 1, false, RGB, false), false, false, false},
    {DESC(16, 16, 1, 1, 1, true, MONO_MIN_IS_BLACK, false), false, false, false},
    {DESC(16, 16, 1, 8, 8, false, RGB, false), false, false, false},
    {DESC(16, 16, 3, 8, 8, false, MONO_MIN_IS_BLACK, false), false, false, false},
    {DESC(16, 16, 1, 8, 8, false, MONO_MIN_IS_BLACK, true), false, false, false},
    {DESC(16, 16, 2, 8, 8, false, RGB, false), false, false, false},
    {DESC(16, 16, 1, 12, 12, false, MONO_MIN_IS_BLACK, false), false, false, false},
    {DESC(16, 16, 1, 8, 9, false, MONO_MIN_IS_BLACK, false), false, false, false},
    {DESC(16, 16, 1, 8, 0, false, MONO_MIN_IS_BLACK, false), false, false, false},
    {DESC(0, 16, 1, 8, 8, false, MONO_MIN_IS_BLACK, false), false, false, false},
    {DESC(16, 16, 1, 16, 16, true, PALETTE, false), false, false, false},
    // Plain TIFFs' 32-bit samples: no codec takes them (the conversion rescales them).
    {DESC(16, 16, 1, 32, 32, false, MONO_MIN_IS_BLACK, false), false, false, false},
    {DESC(16, 16, 1, 32, 32, true, MONO_MIN_IS_BLACK, false), false, false, false},
    {FLOAT_DESC(16, 16, 1, MONO_MIN_IS_BLACK), false, false, false},
    {FLOAT_DESC(16, 16, 3, RGB), false, false, false},
    {PLANES(35, 19, 2), false, false, false},   // no whole chroma samples
    {PLANES(16, 16, 3), false, false, false},
};

// A smooth picture (JPEG's kind) with some texture, in the description's range; the
// 1-bit one a checkerboard of odd blocks. Rows stride bytes apart (wider than needed, so
// that a codec ignoring the stride fails).
static uint8_t *picture(const s2d_pixdesc *d, size_t stride)
{
    uint8_t *p = calloc(d->height, stride);
    uint32_t maxval = (1u << d->bits_stored) - 1;
    for (size_t y = 0; p && y < d->height; y++) {
        for (size_t x = 0; x < d->width; x++) {
            for (size_t s = 0; s < d->samples; s++) {
                double v = 0.5 + 0.35 * sin((double)(x + 3 * s) / 9.0) * cos((double)y / 7.0) +
                           0.1 * sin((double)(x * y + s) / 23.0);
                uint32_t q = (uint32_t)lround(v * maxval);
                size_t i = x * d->samples + s;
                if (d->bits_allocated == 1) {
                    p[y * stride + x] = (uint8_t)((x / 3 + y / 5) & 1);
                } else if (d->bits_allocated == 8) {
                    p[y * stride + i] = (uint8_t)q;
                } else {
                    // Signed: centred on zero, two's complement.
                    uint16_t w = (uint16_t)(d->is_signed ? q - (maxval + 1) / 2 : q);
                    memcpy(p + y * stride + 2 * i, &w, 2);
                }
            }
        }
    }
    return p;
}

static double psnr(const s2d_pixdesc *d, const uint8_t *a, const uint8_t *b, size_t stride)
{
    double se = 0;
    size_t n = (size_t)d->width * d->samples;
    for (size_t y = 0; y < d->height; y++) {
        for (size_t i = 0; i < n; i++) {
            double e = (double)a[y * stride + i] - (double)b[y * stride + i];
            se += e * e;
        }
    }
    double mse = se / (double)(n * d->height);
    return mse == 0 ? 99.0 : 10.0 * log10(255.0 * 255.0 / mse);
}

static bool same_pixels(const s2d_pixdesc *d, const uint8_t *a, const uint8_t *b, size_t stride)
{
    size_t row = s2d_pixdesc_row_bytes(d);
    for (size_t y = 0; y < d->height; y++) {
        if (memcmp(a + y * stride, b + y * stride, row) != 0) {
            return false;
        }
    }
    return true;
}

static void round_trip(const s2d_codec *c, const s2d_pixdesc *d)
{
    s2d_codec_opts opts = {.quality = 90};
    size_t stride = s2d_pixdesc_row_bytes(d) + 5;
    uint8_t *in = picture(d, stride), *back = calloc(d->height, stride);
    s2d_error err = {0};
    for (int sub = 0; sub < 2; sub++) {
        opts.subsampling_444 = sub;
        void *enc = c->enc_new(d, &opts, &err);
        void *dec = c->dec_new(d, &err);
        const uint8_t *out = NULL;
        size_t len = 0;
        CHECK(enc && dec && c->encode(enc, in, stride, &out, &len, &err));
        CHECK(len > 0 && len <= c->bound(d, &opts));
        memset(back, 0xA5, (size_t)d->height * stride);
        CHECK(dec && out && c->decode(dec, out, len, back, stride, &err));
        if (c->lossy) {
            double db = psnr(d, in, back, stride);
            if (db < MIN_JPEG_PSNR) {
                fprintf(stderr, "  %s %ux%u x%u: %.1f dB\n", c->name, d->width, d->height,
                        d->samples, db);
            }
            CHECK(db >= MIN_JPEG_PSNR);
        } else {
            CHECK(same_pixels(d, in, back, stride));
        }
        // A frame cut short does not decode.
        s2d_error short_err = {0};
        CHECK(dec && out && !c->decode(dec, out, len / 2, back, stride, &short_err) &&
              short_err.code == S2D_ERR_INPUT);
        if (err.code) {
            fprintf(stderr, "  %s: %s\n", c->name, err.message);
            err = (s2d_error){0};
        }
        c->enc_free(enc);
        c->dec_free(dec);
    }
    free(in);
    free(back);
}

static void test_table(void)
{
    size_t n = 0;
    for (const s2d_codec *c; (c = s2d_codec_at(n)) != NULL; n++) {
        CHECK(s2d_codec_find(c->transfer_syntax_uid) == c);
        CHECK(c->lossy == (c->lossy_method != NULL));
        CHECK((c->enc_new != NULL) == (c->encode != NULL) &&
              (c->enc_new != NULL) == (c->enc_free != NULL) &&
              (c->enc_new != NULL) == (c->photometric != NULL));
    }
    CHECK(n == 7);
    CHECK(s2d_codec_find("1.2.840.10008.1.2.4.50") == &s2d_codec_jpeg_baseline);
    CHECK(s2d_codec_find("1.2.840.10008.1.2.4.91") == &s2d_codec_jpeg2000);
    CHECK(s2d_codec_find("1.2.840.10008.1.2.1") == &s2d_codec_native);
    CHECK(s2d_codec_find("1.2.840.10008.1.2.1.99") == &s2d_codec_deflated);
    CHECK(s2d_codec_find("1.2.840.10008.1.2") == NULL);   // implicit VR: not ours
    CHECK(s2d_codec_jpeg2000.enc_new == NULL);             // decode only, as the table says
}

static void test_accepts(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const s2d_pixdesc *d = &cases[i].d;
        bool jpeg = s2d_codec_jpeg_baseline.accepts(d), j2k = s2d_codec_jpeg2000.accepts(d),
             native = s2d_codec_native.accepts(d);
        if (jpeg != cases[i].jpeg || j2k != cases[i].j2k || native != cases[i].native) {
            fprintf(stderr, "  case %zu: accepted by jpeg %d j2k %d native %d\n", i, jpeg, j2k,
                    native);
        }
        CHECK(jpeg == cases[i].jpeg && j2k == cases[i].j2k && native == cases[i].native);
    }
    // Too large for TurboJPEG; too large for one defined-length native frame.
    s2d_pixdesc big = DESC(65536, 16, 3, 8, 8, false, RGB, false);
    CHECK(!s2d_codec_jpeg_baseline.accepts(&big));
    s2d_pixdesc huge = DESC(65536, 65536, 1, 8, 8, false, MONO_MIN_IS_BLACK, false);
    CHECK(!s2d_codec_native.accepts(&huge));
}

static void test_round_trips(void)
{
    int trips = 0;
    for (size_t k = 0; s2d_codec_at(k); k++) {
        const s2d_codec *c = s2d_codec_at(k);
        for (size_t i = 0; c->enc_new && i < sizeof cases / sizeof *cases; i++) {
            // Planes are encoded only (test_jpeg_planes): decoders give interleaved pixels.
            if (c->accepts(&cases[i].d) && !cases[i].d.chroma_div) {
                round_trip(c, &cases[i].d);
                trips++;
            }
        }
    }
    // JPEG's four descriptions, native's fifteen (the deflated entry's frames are native
    // too), RLE's eight, JPEG-LS's and JPEG 2000 lossless's seven
    CHECK(trips == 4 + 15 + 15 + 8 + 7 + 7);
}

// YCbCr planes through the JPEG entry give the bytes of the RGB they were converted from,
// encoded at the planes' own chroma sampling whatever the option says; its decoder refuses
// to give planes.
static void test_jpeg_planes(void)
{
    const s2d_codec *c = &s2d_codec_jpeg_baseline;
    s2d_error err = {0};
    for (uint8_t div = 1; div <= 2; div++) {
        s2d_pixdesc rgb = DESC(32, 16, 3, 8, 8, false, RGB, false), planes = PLANES(32, 16, div);
        size_t stride = 32 * 3;
        uint8_t *px = picture(&rgb, stride), ycc[32 * 16 * 3], first[8192];
        s2d_planes_conv *conv = s2d_planes_conv_new(div, &err);
        CHECK(px && conv && s2d_planes_from_rgb(conv, px, 32, 16, stride, ycc, &err));
        s2d_codec_opts rgb_opts = {.quality = 90, .subsampling_444 = div == 1};
        s2d_codec_opts planes_opts = {.quality = 90, .subsampling_444 = div != 1};
        void *from_rgb = c->enc_new(&rgb, &rgb_opts, &err);
        void *from_planes = c->enc_new(&planes, &planes_opts, &err);
        const uint8_t *a = NULL, *b = NULL;
        size_t alen = 0, blen = 0;
        CHECK(from_rgb && c->encode(from_rgb, px, stride, &a, &alen, &err));
        CHECK(alen <= sizeof first);
        memcpy(first, a, alen < sizeof first ? alen : sizeof first);
        CHECK(from_planes && c->encode(from_planes, ycc, 0, &b, &blen, &err));
        CHECK(alen == blen && memcmp(first, b, blen) == 0);
        CHECK(blen <= c->bound(&planes, &planes_opts));
        void *dec = c->dec_new(&planes, &err);
        s2d_error dec_err = {0};
        CHECK(dec && !c->decode(dec, b, blen, ycc, 0, &dec_err) && dec_err.code);
        c->dec_free(dec);
        c->enc_free(from_rgb);
        c->enc_free(from_planes);
        s2d_planes_conv_free(conv);
        free(px);
    }
}

// The Photometric Interpretation each encoder's frames have: JPEG baseline stores colour as
// YCbCr, the lossless codecs as given.
static void test_photometric(void)
{
    static const struct {
        const s2d_codec *codec;
        s2d_pixdesc d;
        const char *want;
    } rows[] = {
        {&s2d_codec_jpeg_baseline, DESC(64, 48, 3, 8, 8, false, RGB, false), "YBR_FULL_422"},
        {&s2d_codec_jpeg_baseline, PLANES(32, 16, 2), "YBR_FULL_422"},
        {&s2d_codec_jpeg_baseline, PLANES(32, 16, 1), "YBR_FULL_422"},
        {&s2d_codec_jpeg_baseline, DESC(64, 48, 1, 8, 8, false, MONO_MIN_IS_BLACK, false),
         "MONOCHROME2"},
        {&s2d_codec_jpeg_baseline, DESC(64, 48, 1, 8, 8, false, MONO_MIN_IS_WHITE, false),
         "MONOCHROME1"},
        {&s2d_codec_native, DESC(16, 16, 3, 8, 8, false, RGB, true), "RGB"},
        {&s2d_codec_native, DESC(16, 16, 3, 8, 8, false, YCBCR, false), "YBR_FULL"},
        {&s2d_codec_native, DESC(16, 16, 1, 8, 8, false, PALETTE, false), "PALETTE COLOR"},
        {&s2d_codec_native, DESC(64, 48, 1, 1, 1, false, MONO_MIN_IS_WHITE, false),
         "MONOCHROME1"},
        {&s2d_codec_native, DESC(64, 48, 1, 16, 16, false, MONO_MIN_IS_BLACK, false),
         "MONOCHROME2"},
        {&s2d_codec_rle, DESC(64, 48, 3, 8, 8, false, RGB, false), "RGB"},
        {&s2d_codec_rle, DESC(64, 48, 1, 16, 16, false, MONO_MIN_IS_WHITE, false),
         "MONOCHROME1"},
        {&s2d_codec_jpeg_ls, DESC(64, 48, 3, 8, 8, false, RGB, false), "RGB"},
        {&s2d_codec_jpeg_ls, DESC(64, 48, 1, 8, 8, false, MONO_MIN_IS_BLACK, false),
         "MONOCHROME2"},
        {&s2d_codec_jpeg2000_lossless, DESC(64, 48, 3, 8, 8, false, RGB, false), "YBR_RCT"},
        {&s2d_codec_jpeg2000_lossless, DESC(64, 48, 1, 16, 12, false, MONO_MIN_IS_WHITE, false),
         "MONOCHROME1"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        const char *got = rows[i].codec->photometric(&rows[i].d);
        CHECK(rows[i].codec->accepts(&rows[i].d) && strcmp(got, rows[i].want) == 0);
        if (strcmp(got, rows[i].want) != 0) {
            fprintf(stderr, "  row %zu: %s\n", i, got);
        }
    }
}

// Native bytes as DICOM stores them: 16-bit little endian, 1-bit first pixel in bit 0,
// planar as three planes.
static void test_native_layout(void)
{
    s2d_error err = {0};
    const uint8_t *out;
    size_t len;
    s2d_pixdesc bits = DESC(10, 1, 1, 1, 1, false, MONO_MIN_IS_WHITE, false);
    const uint8_t px[10] = {1, 0, 0, 0, 0, 0, 0, 1, 0, 1};
    void *enc = s2d_codec_native.enc_new(&bits, NULL, &err);
    CHECK(enc && s2d_codec_native.encode(enc, px, 10, &out, &len, &err));
    CHECK(enc && len == 2 && out[0] == 0x81 && out[1] == 0x02);
    s2d_codec_native.enc_free(enc);

    s2d_pixdesc words = DESC(2, 1, 1, 16, 16, false, MONO_MIN_IS_BLACK, false);
    const uint16_t w[2] = {0x1234, 0xABCD};
    enc = s2d_codec_native.enc_new(&words, NULL, &err);
    CHECK(enc && s2d_codec_native.encode(enc, (const uint8_t *)w, 4, &out, &len, &err));
    CHECK(enc && len == 4 && memcmp(out, "\x34\x12\xCD\xAB", 4) == 0);
    s2d_codec_native.enc_free(enc);

    s2d_pixdesc planar = DESC(2, 1, 3, 8, 8, false, RGB, true);
    const uint8_t rgb[6] = {1, 2, 3, 4, 5, 6};
    enc = s2d_codec_native.enc_new(&planar, NULL, &err);
    CHECK(enc && s2d_codec_native.encode(enc, rgb, 6, &out, &len, &err));
    CHECK(enc && len == 6 && memcmp(out, "\1\4\2\5\3\6", 6) == 0);
    s2d_codec_native.enc_free(enc);
}

/* OpenJPEG writes a lossless codestream into memory; the table's JPEG 2000 entry must
 * give the pixels back exactly. */
typedef struct mem_out {
    uint8_t *data;
    size_t len, cap;
} mem_out;

static OPJ_SIZE_T mem_write(void *buf, OPJ_SIZE_T n, void *user)
{
    mem_out *m = user;
    if (m->len + n > m->cap) {
        size_t cap = (m->len + n) * 2;
        uint8_t *grown = realloc(m->data, cap);
        if (!grown) {
            return (OPJ_SIZE_T)-1;
        }
        m->data = grown;
        m->cap = cap;
    }
    memcpy(m->data + m->len, buf, n);
    m->len += n;
    return n;
}

static OPJ_OFF_T mem_skip(OPJ_OFF_T n, void *user)
{
    mem_out *m = user;
    uint8_t zero[256] = {0};
    for (OPJ_OFF_T left = n; left > 0; left -= 256) {
        mem_write(zero, left < 256 ? (OPJ_SIZE_T)left : 256, m);
    }
    return n;
}

static OPJ_BOOL mem_seek(OPJ_OFF_T n, void *user)
{
    mem_out *m = user;
    if (n < 0 || (size_t)n > m->len) {
        return OPJ_FALSE;
    }
    m->len = (size_t)n;
    return OPJ_TRUE;
}

static bool j2k_encode(const s2d_pixdesc *d, const uint8_t *rgb, size_t stride, mem_out *out)
{
    opj_image_cmptparm_t comp[3];
    memset(comp, 0, sizeof comp);
    for (int c = 0; c < 3; c++) {
        comp[c] = (opj_image_cmptparm_t){.dx = 1, .dy = 1, .w = d->width, .h = d->height,
                                         .prec = 8, .sgnd = 0};
    }
    opj_image_t *img = opj_image_create(3, comp, OPJ_CLRSPC_SRGB);
    img->x1 = d->width;
    img->y1 = d->height;
    for (size_t y = 0; y < d->height; y++) {
        for (size_t x = 0; x < d->width; x++) {
            for (int c = 0; c < 3; c++) {
                img->comps[c].data[y * d->width + x] = rgb[y * stride + 3 * x + c];
            }
        }
    }
    opj_cparameters_t params;
    opj_set_default_encoder_parameters(&params);   // reversible 5/3: lossless
    params.numresolution = 3;   // the default 6 wants sides of 32 or more
    opj_codec_t *codec = opj_create_compress(OPJ_CODEC_J2K);
    opj_stream_t *stream = opj_stream_create(4096, OPJ_FALSE);
    opj_stream_set_user_data(stream, out, NULL);
    opj_stream_set_write_function(stream, mem_write);
    opj_stream_set_skip_function(stream, mem_skip);
    opj_stream_set_seek_function(stream, mem_seek);
    bool ok = opj_setup_encoder(codec, &params, img) && opj_start_compress(codec, img, stream) &&
              opj_encode(codec, stream) && opj_end_compress(codec, stream);
    opj_stream_destroy(stream);
    opj_destroy_codec(codec);
    opj_image_destroy(img);
    return ok;
}

static void test_jpeg2000_decodes(void)
{
    const s2d_codec *c = &s2d_codec_jpeg2000;
    s2d_pixdesc d = cases[3].d;   // 35 x 19 RGB
    size_t stride = s2d_pixdesc_row_bytes(&d) + 3;
    uint8_t *in = picture(&d, stride), *back = calloc(d.height, stride);
    mem_out j2k = {0};
    s2d_error err = {0};
    CHECK(c->accepts(&d) && j2k_encode(&d, in, stride, &j2k));
    void *dec = c->dec_new(&d, &err);
    CHECK(dec && c->decode(dec, j2k.data, j2k.len, back, stride, &err));
    CHECK(same_pixels(&d, in, back, stride));
    // A JPEG stream is not this codec's.
    s2d_error wrong = {0};
    CHECK(dec && !c->decode(dec, (const uint8_t *)"\xFF\xD8\xFF\xD9", 4, back, stride, &wrong) &&
          wrong.code == S2D_ERR_INPUT);
    c->dec_free(dec);
    free(j2k.data);
    free(in);
    free(back);
}

int main(void)
{
    RUN(test_table);
    RUN(test_accepts);
    RUN(test_round_trips);
    RUN(test_jpeg_planes);
    RUN(test_photometric);
    RUN(test_native_layout);
    RUN(test_jpeg2000_decodes);
    return harness_failures != 0;
}
