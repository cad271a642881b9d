// SPDX-License-Identifier: Apache-2.0
/* The lossless codecs of the table (RLE, JPEG-LS, JPEG 2000 lossless): exact round trips
 * of random and structured frames of every accepted pixel type, odd sizes and 9..16 bits
 * stored; encoded sizes within bound(), also for frames made to expand; what each refuses;
 * RLE's bytes as PS3.5 Annex G lays them out; corrupt and truncated frames fail cleanly.
 *
 * usage: test_lossless_codecs            run the tests
 *        test_lossless_codecs dump DIR   also write each codec's encoded frames of a set of
 *                                        descriptions into DIR (frames.tsv, *.raw, *.enc) for
 *                                        the independent decoders (codec_decoders.py)
 *        test_lossless_codecs decode UID COLUMNS ROWS SAMPLES ALLOCATED STORED IN OUT
 *                                        decode another encoder's frame (codec_decoders.py) */
#include <charls/charls.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codec/codec.h"
#include "harness.h"

#define DESC(w, h, spp, ba, bs, sgn, col)                                                \
    {.width = (w), .height = (h), .samples = (spp), .bits_allocated = (ba),             \
     .bits_stored = (bs), .is_signed = (sgn), .colour = S2D_COLOUR_##col}

static const s2d_codec *const lossless[] = {&s2d_codec_rle, &s2d_codec_jpeg_ls,
                                            &s2d_codec_jpeg2000_lossless};
#define N_LOSSLESS (sizeof lossless / sizeof *lossless)

// Descriptions with what each lossless codec answers (order of `lossless`).
static const struct {
    s2d_pixdesc d;
    bool takes[N_LOSSLESS];
} cases[] = {
    {DESC(1, 1, 1, 8, 8, false, MONO_MIN_IS_BLACK), {true, true, true}},
    {DESC(13, 7, 1, 8, 8, false, MONO_MIN_IS_BLACK), {true, true, true}},
    {DESC(3, 40, 1, 8, 8, false, MONO_MIN_IS_WHITE), {true, true, true}},
    {DESC(300, 5, 1, 8, 8, false, MONO_MIN_IS_BLACK), {true, true, true}},
    {DESC(13, 7, 1, 8, 2, false, MONO_MIN_IS_BLACK), {true, true, true}},
    {DESC(13, 7, 1, 8, 5, false, MONO_MIN_IS_BLACK), {true, true, true}},
    {DESC(1, 1, 3, 8, 8, false, RGB), {true, true, true}},
    {DESC(13, 7, 3, 8, 8, false, RGB), {true, true, true}},
    {DESC(3, 17, 3, 8, 8, false, RGB), {true, true, true}},
    {DESC(1, 1, 1, 16, 16, false, MONO_MIN_IS_BLACK), {true, true, true}},
    {DESC(13, 7, 1, 16, 9, false, MONO_MIN_IS_BLACK), {true, true, true}},
    {DESC(13, 7, 1, 16, 10, false, MONO_MIN_IS_BLACK), {true, true, true}},
    {DESC(13, 7, 1, 16, 11, false, MONO_MIN_IS_WHITE), {true, true, true}},
    {DESC(13, 7, 1, 16, 12, false, MONO_MIN_IS_BLACK), {true, true, true}},
    {DESC(3, 9, 1, 16, 13, false, MONO_MIN_IS_BLACK), {true, true, true}},
    {DESC(13, 7, 1, 16, 14, false, MONO_MIN_IS_BLACK), {true, true, true}},
    {DESC(13, 7, 1, 16, 15, false, MONO_MIN_IS_WHITE), {true, true, true}},
    {DESC(130, 21, 1, 16, 16, false, MONO_MIN_IS_BLACK), {true, true, true}},
    // Signed grey: RLE carries the bytes; JPEG-LS has no signed samples; JPEG 2000 would,
    // but signed pixels are made unsigned before any codec (the plain-TIFF pixel mapping).
    {DESC(13, 7, 1, 16, 16, true, MONO_MIN_IS_BLACK), {true, false, false}},
    {DESC(13, 7, 1, 8, 8, true, MONO_MIN_IS_BLACK), {true, false, false}},
    // Few bits in 16-bit words: JPEG-LS would want bytes.
    {DESC(13, 7, 1, 16, 8, false, MONO_MIN_IS_BLACK), {true, false, true}},
    {DESC(13, 7, 1, 8, 1, false, MONO_MIN_IS_BLACK), {true, true, true}},
    // Refused by all: 1-bit, 16-bit RGB, palette, YCbCr, planar, 2 samples, 12 allocated.
    {DESC(16, 16, 1, 1, 1, false, MONO_MIN_IS_WHITE), {false, false, false}},
    {DESC(16, 16, 3, 16, 16, false, RGB), {false, false, false}},
    {DESC(16, 16, 1, 8, 8, false, PALETTE), {false, false, false}},
    {DESC(16, 16, 3, 8, 8, false, YCBCR), {false, false, false}},
    {{.width = 16, .height = 16, .samples = 3, .bits_allocated = 8, .bits_stored = 8,
      .colour = S2D_COLOUR_RGB, .planar = true},
     {false, false, false}},
    {DESC(16, 16, 2, 8, 8, false, RGB), {false, false, false}},
    {DESC(16, 16, 1, 8, 8, false, RGB), {false, false, false}},
    {DESC(16, 16, 3, 8, 8, false, MONO_MIN_IS_BLACK), {false, false, false}},
    {DESC(16, 16, 1, 12, 12, false, MONO_MIN_IS_BLACK), {false, false, false}},
    {DESC(16, 16, 1, 8, 9, false, MONO_MIN_IS_BLACK), {false, false, false}},
    {DESC(16, 16, 1, 16, 0, false, MONO_MIN_IS_BLACK), {false, false, false}},
    {DESC(0, 16, 1, 8, 8, false, MONO_MIN_IS_BLACK), {false, false, false}},
    {DESC(16, 0, 3, 8, 8, false, RGB), {false, false, false}},
    // 32-bit and float samples (plain TIFFs'; the conversion rescales them first).
    {DESC(16, 16, 1, 32, 32, false, MONO_MIN_IS_BLACK), {false, false, false}},
    {{.width = 16, .height = 16, .samples = 1, .bits_allocated = 32, .bits_stored = 32,
      .colour = S2D_COLOUR_MONO_MIN_IS_BLACK, .is_float = true},
     {false, false, false}},
    {{.width = 16, .height = 16, .samples = 1, .bits_allocated = 16, .bits_stored = 16,
      .colour = S2D_COLOUR_MONO_MIN_IS_BLACK, .is_float = true},
     {false, false, false}},
};
#define N_CASES (sizeof cases / sizeof *cases)

typedef enum pattern {
    RANDOM,      // every bit of Bits Stored random
    SMOOTH,      // gradients
    CONSTANT,    // one value (long replicate runs, JPEG-LS run mode)
    EXTREMES,    // 0 and the largest value in runs of odd lengths
    PAIRS,       // a a b b c c ...: two-byte repeats
    TRIPLES,     // a b b b c d d d ...: literal bytes between three-byte runs
    N_PATTERNS
} pattern;

static const char *const pattern_names[] = {"random", "smooth", "constant", "extremes",
                                            "pairs", "triples"};

// xorshift32: every bit random enough to be incompressible (an LCG's low bits are not).
static uint32_t rng_state = 12345;
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static uint32_t sample_value(pattern p, const s2d_pixdesc *d, size_t x, size_t y, size_t s)
{
    uint32_t maxval = (1u << d->bits_stored) - 1;
    size_t i = (y * d->width + x) * d->samples + s;
    switch (p) {
    case RANDOM:
        return rng() & maxval;
    case SMOOTH:
        return (uint32_t)((x * 7 + y * 3 + s * 50) * (maxval / 255 + 1)) & maxval;
    case CONSTANT:
        return maxval / 3;
    case EXTREMES:
        return (i / 5 + i / 131) % 2 ? maxval : 0;
    case PAIRS:
        return (uint32_t)(i / 2 * 0x0101 * 37) & maxval;
    case TRIPLES:
        return (uint32_t)(i % 4 == 0 ? rng() : i / 4 * 0x0301) & maxval;
    default:
        return 0;
    }
}

// A frame of the pattern, rows stride bytes apart with junk between them.
static uint8_t *make_frame(pattern p, const s2d_pixdesc *d, size_t stride)
{
    uint8_t *px = malloc((size_t)d->height * stride);
    for (size_t i = 0; px && i < (size_t)d->height * stride; i++) {
        px[i] = 0xEE;
    }
    for (size_t y = 0; px && y < d->height; y++) {
        for (size_t x = 0; x < d->width; x++) {
            for (size_t s = 0; s < d->samples; s++) {
                uint32_t v = sample_value(p, d, x, y, s);
                size_t at = y * stride + (x * d->samples + s) * s2d_pixdesc_sample_bytes(d);
                if (d->bits_allocated == 8) {
                    px[at] = (uint8_t)v;
                } else {
                    uint16_t w = (uint16_t)v;
                    memcpy(px + at, &w, 2);
                }
            }
        }
    }
    return px;
}

static bool same_rows(const s2d_pixdesc *d, const uint8_t *a, const uint8_t *b, size_t stride)
{
    for (size_t y = 0; y < d->height; y++) {
        if (memcmp(a + y * stride, b + y * stride, s2d_pixdesc_row_bytes(d)) != 0) {
            return false;
        }
    }
    return true;
}

// Decoding a damaged frame must fail cleanly or give some pixels, never crash or overrun.
static void damaged(const s2d_codec *c, void *dec, const uint8_t *enc, size_t len,
                    const s2d_pixdesc *d, uint8_t *back, size_t stride)
{
    uint8_t *copy = malloc(len);
    for (int round = 0; copy && round < 20; round++) {
        memcpy(copy, enc, len);
        for (int k = 0; k < 1 + round % 4; k++) {
            copy[rng() % len] ^= (uint8_t)(1u << rng() % 8);
        }
        s2d_error err = {0};
        if (!c->decode(dec, copy, len, back, stride, &err)) {
            CHECK(err.code == S2D_ERR_INPUT && err.message[0]);
        }
    }
    // Cut short anywhere before its last two bytes (RLE's padding, JPEG's end marker):
    // fails, and says so as bad input.
    for (size_t cut = 0; copy && cut + 2 < len; cut += len / 7 + 1) {
        memcpy(copy, enc, cut);
        s2d_error err = {0};
        bool ok = c->decode(dec, copy, cut, back, stride, &err);
        if (ok || err.code != S2D_ERR_INPUT) {
            fprintf(stderr, "  %s %ux%u/%u: cut at %zu of %zu decoded\n", c->name, d->width,
                    d->height, d->bits_stored, cut, len);
        }
        CHECK(!ok && err.code == S2D_ERR_INPUT);
    }
    free(copy);
}

static int round_trips;

static void round_trip(const s2d_codec *c, const s2d_pixdesc *d, pattern p)
{
    s2d_codec_opts opts = {.quality = 90};
    size_t stride = s2d_pixdesc_row_bytes(d) + 3;
    uint8_t *in = make_frame(p, d, stride), *back = malloc((size_t)d->height * stride);
    s2d_error err = {0};
    void *enc = c->enc_new(d, &opts, &err);
    void *dec = c->dec_new(d, &err);
    const uint8_t *out = NULL;
    size_t len = 0;
    CHECK(in && back && enc && dec);
    if (in && back && enc && dec && c->encode(enc, in, stride, &out, &len, &err)) {
        if (len > c->bound(d, &opts)) {
            fprintf(stderr, "  %s %ux%u/%u %s: %zu bytes over bound %llu\n", c->name, d->width,
                    d->height, d->bits_stored, pattern_names[p], len,
                    (unsigned long long)c->bound(d, &opts));
        }
        CHECK(len > 0 && len <= c->bound(d, &opts));
        memcpy(back, in, (size_t)d->height * stride);
        for (size_t y = 0; y < d->height; y++) {
            memset(back + y * stride, 0x5A, s2d_pixdesc_row_bytes(d));
        }
        CHECK(c->decode(dec, out, len, back, stride, &err));
        // Exact, and the bytes between rows untouched.
        if (memcmp(in, back, (size_t)d->height * stride) != 0) {
            fprintf(stderr, "  %s %ux%u x%u %u/%u %s: differs\n", c->name, d->width, d->height,
                    d->samples, d->bits_allocated, d->bits_stored, pattern_names[p]);
        }
        CHECK(memcmp(in, back, (size_t)d->height * stride) == 0);
        round_trips++;
        // The encoder's buffer is reused: a second frame encodes the same.
        uint8_t *first = malloc(len + 1);
        size_t first_len = len;
        if (first) {
            memcpy(first, out, len);
            // As read back from a fragment padded to even length: the same pixels.
            first[len] = 0;
            memset(back, 0x5A, (size_t)d->height * stride);
            CHECK(c->decode(dec, first, len + 1, back, stride, &err));
            CHECK(same_rows(d, in, back, stride));
            CHECK(c->encode(enc, in, stride, &out, &len, &err));
            CHECK(len == first_len && memcmp(out, first, len) == 0);
            damaged(c, dec, first, first_len, d, back, stride);
            free(first);
        }
    } else {
        CHECK(!"encode");
    }
    if (err.code) {
        fprintf(stderr, "  %s: %s\n", c->name, err.message);
    }
    if (enc) {
        c->enc_free(enc);
    }
    if (dec) {
        c->dec_free(dec);
    }
    free(in);
    free(back);
}

static void test_table(void)
{
    CHECK(s2d_codec_find("1.2.840.10008.1.2.5") == &s2d_codec_rle);
    CHECK(s2d_codec_find("1.2.840.10008.1.2.4.80") == &s2d_codec_jpeg_ls);
    CHECK(s2d_codec_find("1.2.840.10008.1.2.4.90") == &s2d_codec_jpeg2000_lossless);
    for (size_t k = 0; k < N_LOSSLESS; k++) {
        const s2d_codec *c = lossless[k];
        CHECK(!c->lossy && !c->lossy_method && c->enc_new && c->encode && c->enc_free &&
              c->dec_new && c->decode && c->dec_free);
    }
}

static void test_accepts(void)
{
    for (size_t i = 0; i < N_CASES; i++) {
        for (size_t k = 0; k < N_LOSSLESS; k++) {
            bool takes = lossless[k]->accepts(&cases[i].d);
            if (takes != cases[i].takes[k]) {
                fprintf(stderr, "  case %zu: %s answers %d\n", i, lossless[k]->name, takes);
            }
            CHECK(takes == cases[i].takes[k]);
        }
    }
    // CharLS's side limit.
    s2d_pixdesc wide = DESC(65536, 2, 1, 8, 8, false, MONO_MIN_IS_BLACK);
    CHECK(s2d_codec_rle.accepts(&wide) && !s2d_codec_jpeg_ls.accepts(&wide));
    // Offsets of 32 bits: a frame that could pass 4 GB is refused.
    s2d_pixdesc huge = DESC(65535, 65535, 1, 8, 8, false, MONO_MIN_IS_BLACK);
    CHECK(!s2d_codec_rle.accepts(&huge) && !s2d_codec_jpeg_ls.accepts(&huge));
}

static void test_round_trips(void)
{
    int expected = 0;
    for (size_t k = 0; k < N_LOSSLESS; k++) {
        for (size_t i = 0; i < N_CASES; i++) {
            if (lossless[k]->accepts(&cases[i].d)) {
                for (int p = 0; p < N_PATTERNS; p++) {
                    round_trip(lossless[k], &cases[i].d, (pattern)p);
                    expected++;
                }
            }
        }
    }
    CHECK(round_trips == expected && expected >= 6 * (22 + 19 + 20));
}

// Annex G's bytes: header of 16 uint32, the high bytes' segment first, runs within rows.
static void test_rle_layout(void)
{
    s2d_pixdesc d = DESC(4, 2, 1, 16, 16, false, MONO_MIN_IS_BLACK);
    const uint16_t px[8] = {0x1234, 0x1256, 0x1278, 0x129A, 0x0101, 0x0101, 0x0101, 0x0102};
    const uint8_t expected[] = {
        // segment 1 (high bytes): row 1 a run of four 0x12; row 2 a run of four 0x01
        0xFD, 0x12, 0xFD, 0x01,
        // segment 2 (low bytes): row 1 literal of 4; row 2 run of three, literal of one
        0x03, 0x34, 0x56, 0x78, 0x9A, 0xFE, 0x01, 0x00, 0x02, 0x00 /* pad */};
    s2d_error err = {0};
    void *enc = s2d_codec_rle.enc_new(&d, NULL, &err);
    const uint8_t *out = NULL;
    size_t len = 0;
    CHECK(enc && s2d_codec_rle.encode(enc, (const uint8_t *)px, 8, &out, &len, &err));
    CHECK(len == 64 + sizeof expected);
    if (out && len == 64 + sizeof expected) {
        const uint8_t header[16] = {2, 0, 0, 0, 64, 0, 0, 0, 68, 0, 0, 0, 0, 0, 0, 0};
        CHECK_MEM(out, header, 16);
        for (int i = 16; i < 64; i++) {
            CHECK(out[i] == 0);
        }
        CHECK_MEM(out + 64, expected, sizeof expected);
    }
    if (enc) {
        s2d_codec_rle.enc_free(enc);
    }

    // RGB: R, G, B segments; a pair with nothing pending is a replicate run.
    s2d_pixdesc rgb = DESC(2, 1, 3, 8, 8, false, RGB);
    const uint8_t rgb_px[6] = {9, 7, 5, 9, 8, 6};
    enc = s2d_codec_rle.enc_new(&rgb, NULL, &err);
    CHECK(enc && s2d_codec_rle.encode(enc, rgb_px, 6, &out, &len, &err));
    const uint8_t rgb_segments[] = {0xFF, 9, 0x01, 7, 8, 0, 0x01, 5, 6, 0};
    CHECK(len == 64 + sizeof rgb_segments && out[0] == 3 && out[4] == 64 && out[8] == 66 &&
          out[12] == 70 && out[16] == 0);
    CHECK(len == 64 + sizeof rgb_segments && memcmp(out + 64, rgb_segments, len - 64) == 0);
    if (enc) {
        s2d_codec_rle.enc_free(enc);
    }
}

/* A frame another encoder could write: a run across rows, -128 no-operations, a run past
 * the segment's end; our decoder takes what G.3.2 allows and what GDCM writes. */
static void test_rle_decodes_others(void)
{
    s2d_pixdesc d = DESC(3, 2, 1, 8, 8, false, MONO_MIN_IS_BLACK);
    uint8_t frame[64 + 8] = {1, 0, 0, 0, 64};
    const uint8_t segment[8] = {0x80, 0xFE, 0x07, 0x80, 0x02, 1, 2, 3};
    memcpy(frame + 64, segment, 8);
    uint8_t back[6];
    s2d_error err = {0};
    void *dec = s2d_codec_rle.dec_new(&d, &err);
    CHECK(dec && s2d_codec_rle.decode(dec, frame, sizeof frame, back, 3, &err));
    CHECK(memcmp(back, "\7\7\7\1\2\3", 6) == 0);
    // A run past the segment's size is cut there (GDCM codes its padding byte as data).
    frame[65] = 0xF9;
    CHECK(dec && s2d_codec_rle.decode(dec, frame, sizeof frame, back, 3, &err));
    CHECK(memcmp(back, "\7\7\7\7\7\7", 6) == 0);
    // Codes that end before the segment's size are a cut frame.
    frame[65] = 0xFE;
    s2d_error cut = {0};
    CHECK(dec && !s2d_codec_rle.decode(dec, frame, 64 + 7, back, 3, &cut) &&
          cut.code == S2D_ERR_INPUT);
    // Wrong segment count, offsets outside the frame.
    frame[0] = 2;
    s2d_error count = {0};
    CHECK(dec && !s2d_codec_rle.decode(dec, frame, sizeof frame, back, 3, &count));
    frame[0] = 1;
    frame[4] = 200;
    s2d_error outside = {0};
    CHECK(dec && !s2d_codec_rle.decode(dec, frame, sizeof frame, back, 3, &outside) &&
          outside.code == S2D_ERR_INPUT);
    if (dec) {
        s2d_codec_rle.dec_free(dec);
    }
}

// A JPEG-LS frame of other dimensions, or an RLE frame, is not taken for this one.
static void test_jpeg_ls_checks_header(void)
{
    s2d_pixdesc a = DESC(13, 7, 1, 16, 12, false, MONO_MIN_IS_BLACK);
    s2d_pixdesc b = DESC(7, 13, 1, 16, 12, false, MONO_MIN_IS_BLACK);
    size_t stride = s2d_pixdesc_row_bytes(&a);
    uint8_t *px = make_frame(SMOOTH, &a, stride), *back = malloc(2 * stride * 13);
    s2d_error err = {0};
    void *enc = s2d_codec_jpeg_ls.enc_new(&a, NULL, &err);
    void *dec = s2d_codec_jpeg_ls.dec_new(&b, &err);
    const uint8_t *out = NULL;
    size_t len = 0;
    CHECK(px && back && enc && dec && s2d_codec_jpeg_ls.encode(enc, px, stride, &out, &len, &err));
    s2d_error wrong = {0};
    CHECK(out && !s2d_codec_jpeg_ls.decode(dec, out, len, back, 14, &wrong) &&
          wrong.code == S2D_ERR_INPUT);
    s2d_error rle = {0};
    const uint8_t not_ls[70] = {1, 0, 0, 0, 64};
    CHECK(dec && !s2d_codec_jpeg_ls.decode(dec, not_ls, sizeof not_ls, back, 14, &rle) &&
          rle.code == S2D_ERR_INPUT);
    if (enc) {
        s2d_codec_jpeg_ls.enc_free(enc);
    }
    if (dec) {
        s2d_codec_jpeg_ls.dec_free(dec);
    }
    free(px);
    free(back);
}

/* Frames of other encoders: RGB coded one component a scan (CharLS gives planes, which the
 * entry interleaves) or pixel-interleaved, and 12-bit grey; all decode exactly. */
static void test_jpeg_ls_decodes_other_modes(void)
{
    const struct {
        s2d_pixdesc d;
        charls_interleave_mode mode;
    } modes[] = {
        {DESC(13, 7, 3, 8, 8, false, RGB), CHARLS_INTERLEAVE_MODE_NONE},
        {DESC(13, 7, 3, 8, 8, false, RGB), CHARLS_INTERLEAVE_MODE_SAMPLE},
        {DESC(5, 3, 1, 16, 12, false, MONO_MIN_IS_BLACK), CHARLS_INTERLEAVE_MODE_NONE},
    };
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
        const s2d_pixdesc *d = &modes[i].d;
        size_t row = s2d_pixdesc_row_bytes(d), stride = row + 1;
        uint8_t *tight = make_frame(RANDOM, d, row), *back = malloc(stride * d->height);
        uint8_t coded[4096], planes[13 * 7 * 3];
        size_t len = 0, n = (size_t)d->width * d->height;
        // One component a scan: CharLS takes (and gives) the frame as planes.
        bool planar = modes[i].mode == CHARLS_INTERLEAVE_MODE_NONE && d->samples == 3;
        for (size_t k = 0; planar && tight && k < n * 3; k++) {
            planes[k % 3 * n + k / 3] = tight[k];
        }
        charls_jpegls_encoder *enc = charls_jpegls_encoder_create();
        charls_frame_info info = {d->width, d->height, d->bits_stored, d->samples};
        CHECK(tight && back && enc && !charls_jpegls_encoder_set_frame_info(enc, &info) &&
              !charls_jpegls_encoder_set_interleave_mode(enc, modes[i].mode) &&
              !charls_jpegls_encoder_set_destination_buffer(enc, coded, sizeof coded) &&
              !charls_jpegls_encoder_encode_from_buffer(enc, planar ? planes : tight,
                                                        row * d->height, 0) &&
              !charls_jpegls_encoder_get_bytes_written(enc, &len));
        charls_jpegls_encoder_destroy(enc);
        s2d_error err = {0};
        void *dec = s2d_codec_jpeg_ls.dec_new(d, &err);
        CHECK(dec && len && s2d_codec_jpeg_ls.decode(dec, coded, len, back, stride, &err));
        for (size_t y = 0; tight && back && y < d->height; y++) {
            CHECK_MEM(back + y * stride, tight + y * row, row);
        }
        if (dec) {
            s2d_codec_jpeg_ls.dec_free(dec);
        }
        free(tight);
        free(back);
    }
}

/* dump mode: for every codec and a set of descriptions, NAME.raw (the pixels, tightly
 * packed, little endian) and NAME.enc (the frame), and a line of frames.tsv:
 * name, transfer syntax, columns, rows, samples, bits allocated, bits stored, signed,
 * the photometric interpretation the entry gives (what a conversion writes with it). */
static bool write_path(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(data, 1, len, f) == len;
    return f ? fclose(f) == 0 && ok : false;
}

static bool write_file(const char *dir, const char *name, const char *ext, const void *data,
                       size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
    return write_path(path, data, len);
}

static int dump(const char *dir)
{
    mkdir(dir, 0777);
    char tsv_path[4096];
    snprintf(tsv_path, sizeof tsv_path, "%s/frames.tsv", dir);
    FILE *tsv = fopen(tsv_path, "w");
    if (!tsv) {
        fprintf(stderr, "cannot write %s\n", tsv_path);
        return 1;
    }
    int written = 0;
    for (size_t k = 0; k < N_LOSSLESS; k++) {
        const s2d_codec *c = lossless[k];
        for (size_t i = 0; i < N_CASES; i++) {
            const s2d_pixdesc *d = &cases[i].d;
            if (!c->accepts(d)) {
                continue;
            }
            for (int p = 0; p < N_PATTERNS; p += 1 + (d->width > 100)) {
                size_t stride = s2d_pixdesc_row_bytes(d);
                uint8_t *px = make_frame((pattern)p, d, stride);
                s2d_error err = {0};
                void *enc = c->enc_new(d, &(s2d_codec_opts){0}, &err);
                const uint8_t *out;
                size_t len;
                char name[128];
                snprintf(name, sizeof name, "%zu-%zu-%s", k, i, pattern_names[p]);
                if (!px || !enc || !c->encode(enc, px, stride, &out, &len, &err) ||
                    !write_file(dir, name, "raw", px, stride * d->height) ||
                    !write_file(dir, name, "enc", out, len)) {
                    fprintf(stderr, "%s: %s\n", name, err.message);
                    return 1;
                }
                fprintf(tsv, "%s\t%s\t%u\t%u\t%u\t%u\t%u\t%d\t%s\n", name,
                        c->transfer_syntax_uid, d->width, d->height, d->samples,
                        d->bits_allocated, d->bits_stored, d->is_signed, c->photometric(d));
                written++;
                c->enc_free(enc);
                free(px);
            }
        }
    }
    fclose(tsv);
    fprintf(stderr, "%d frames in %s\n", written, dir);
    return written > 0 ? 0 : 1;
}

/* decode mode: one frame another encoder made (IN) decoded by the table's entry for its
 * transfer syntax into tightly packed pixels (OUT), as dump writes them. The description:
 * columns, rows, samples, bits allocated, bits stored; grey (MONOCHROME2) or RGB by the
 * samples. Exit 0 when it decodes. */
static int decode_file(char **argv)
{
    const s2d_codec *c = s2d_codec_find(argv[0]);
    s2d_pixdesc d = {.width = (uint32_t)atol(argv[1]), .height = (uint32_t)atol(argv[2]),
                     .samples = (uint16_t)atoi(argv[3]),
                     .bits_allocated = (uint16_t)atoi(argv[4]),
                     .bits_stored = (uint16_t)atoi(argv[5])};
    d.colour = d.samples == 3 ? S2D_COLOUR_RGB : S2D_COLOUR_MONO_MIN_IS_BLACK;
    if (!c || !c->decode || !c->accepts(&d)) {
        fprintf(stderr, "no decoder of %s for this description\n", argv[0]);
        return 1;
    }
    FILE *f = fopen(argv[6], "rb");
    uint8_t *data = NULL;
    long len = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
        data = malloc((size_t)len);
        if (data && fread(data, 1, (size_t)len, f) != (size_t)len) {
            len = -1;
        }
    }
    if (f) {
        fclose(f);
    }
    size_t row = s2d_pixdesc_row_bytes(&d);
    uint8_t *px = malloc(row * d.height);
    s2d_error err = {0};
    void *dec = c->dec_new(&d, &err);
    bool ok = data && len > 0 && px && dec &&
              c->decode(dec, data, (size_t)len, px, row, &err) &&
              write_path(argv[7], px, row * d.height);
    if (!ok) {
        fprintf(stderr, "%s: %s\n", argv[6], err.code ? err.message : "cannot read or write");
    }
    if (dec) {
        c->dec_free(dec);
    }
    free(data);
    free(px);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 10 && strcmp(argv[1], "decode") == 0) {
        return decode_file(argv + 2);
    }
    if (argc == 3 && strcmp(argv[1], "dump") == 0) {
        return dump(argv[2]);
    }
    RUN(test_table);
    RUN(test_accepts);
    RUN(test_round_trips);
    RUN(test_rle_layout);
    RUN(test_rle_decodes_others);
    RUN(test_jpeg_ls_checks_header);
    RUN(test_jpeg_ls_decodes_other_modes);
    return harness_failures != 0;
}
