// SPDX-License-Identifier: Apache-2.0
/* s2d_frame_dec_decode_planes: YCbCr 4:2:0 and 4:4:4 JPEGs, whole and at half size, come out
 * in the encoder's planar layout with the stream's chroma, and converted back to RGB they
 * match TurboJPEG's own RGB decode (a plane out of place or a wrong stride would not);
 * every other stream is refused (grey, 4:2:2, another size) and a broken one fails (no
 * SOI, truncated). JPEGs made here with TurboJPEG from a colourful test image. */
#include <stdlib.h>
#include <turbojpeg.h>

#include "codec/frame_dec.h"
#include "codec/jpeg_enc.h"
#include "harness.h"

#define SIDE 64

static unsigned char *jpeg_of(int subsamp, unsigned long *len)
{
    static unsigned char rgb[SIDE * SIDE * 3];
    for (int y = 0; y < SIDE; y++) {
        for (int x = 0; x < SIDE; x++) {
            unsigned char *p = rgb + 3 * (y * SIDE + x);
            p[0] = (unsigned char)(x * 4);
            p[1] = (unsigned char)(255 - y * 4);
            p[2] = (unsigned char)((x + y) * 2);
        }
    }
    tjhandle tj = tjInitCompress();
    unsigned char *out = NULL;
    *len = 0;
    CHECK(tj && tjCompress2(tj, rgb, SIDE, 0, SIDE, TJPF_RGB, &out, len, subsamp, 95, 0) == 0);
    tjDestroy(tj);
    return out;
}

// Mean absolute difference between two RGB images of n pixels.
static double mad(const unsigned char *a, const unsigned char *b, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < 3 * n; i++) {
        sum += abs((int)a[i] - (int)b[i]);
    }
    return sum / (3.0 * (double)n);
}

static void planes_match_the_rgb_decode(void)
{
    static const int kinds[] = {TJSAMP_420, TJSAMP_444};
    for (int k = 0; k < 2; k++) {
        for (int scale = 1; scale <= 2; scale++) {
            unsigned long len;
            unsigned char *jpeg = jpeg_of(kinds[k], &len);
            s2d_error err = {0};
            s2d_frame_dec *d = s2d_frame_dec_new(&err);
            int side = SIDE / scale, div = 0;
            unsigned char planes[SIDE * SIDE * 3], back[SIDE * SIDE * 3], ref[SIDE * SIDE * 3];
            CHECK(d && jpeg);
            if (!d || !jpeg) {
                continue;
            }
            CHECK(s2d_frame_dec_decode_planes(d, jpeg, len, SIDE, SIDE, scale, planes, &div,
                                              &err) == S2D_PLANES_DECODED);
            CHECK(div == (kinds[k] == TJSAMP_420 ? 2 : 1));
            CHECK(s2d_frame_dec_planes_to_rgb(d, planes, side, side, div, back, (size_t)side * 3,
                                              &err));
            bool decoded = scale == 1 ? s2d_frame_dec_decode(d, jpeg, len, SIDE, SIDE, ref,
                                                              (size_t)side * 3, &err)
                                      : s2d_frame_dec_decode_half(d, jpeg, len, SIDE, SIDE, ref,
                                                                  (size_t)side * 3, &err);
            CHECK(decoded);
            double diff = mad(back, ref, (size_t)side * side);
            if (diff >= 4.0) {
                fprintf(stderr, "     subsampling %d, 1/%d: mean |diff| %.2f\n", kinds[k], scale,
                        diff);
            }
            // Rounding, and TurboJPEG upsamples chroma in its own ways (in the scaled RGB
            // decode of 4:2:0 ~2.7 from our conversion back); Cb and Cr swapped give ~30.
            CHECK(diff < 4.0);
            s2d_frame_dec_free(d);
            tjFree(jpeg);
        }
    }
}

static void other_streams_are_refused(void)
{
    s2d_error err = {0};
    s2d_frame_dec *d = s2d_frame_dec_new(&err);
    unsigned char planes[SIDE * SIDE * 3];
    int div = 0;
    unsigned long len;
    static const int refused[] = {TJSAMP_GRAY, TJSAMP_422};
    for (int k = 0; d && k < 2; k++) {
        unsigned char *jpeg = jpeg_of(refused[k], &len);
        CHECK(jpeg && s2d_frame_dec_decode_planes(d, jpeg, len, SIDE, SIDE, 1, planes, &div,
                                                  &err) == S2D_PLANES_NOT_YCBCR);
        tjFree(jpeg);
    }
    unsigned char *jpeg = jpeg_of(TJSAMP_420, &len);
    CHECK(d && jpeg);
    if (d && jpeg) {
        CHECK(s2d_frame_dec_decode_planes(d, jpeg, len, SIDE, SIDE * 2, 1, planes, &div, &err) ==
              S2D_PLANES_NOT_YCBCR);   // another size
        CHECK(s2d_frame_dec_decode_planes(d, jpeg + 1, len - 1, SIDE, SIDE, 1, planes, &div,
                                          &err) == S2D_PLANES_FAILED);      // no SOI
        CHECK(err.code == S2D_ERR_INPUT);
        err = (s2d_error){0};
        CHECK(s2d_frame_dec_decode_planes(d, jpeg, len * 2 / 3, SIDE, SIDE, 1, planes, &div,
                                          &err) == S2D_PLANES_FAILED);      // truncated
        CHECK(err.code == S2D_ERR_INPUT);
    }
    tjFree(jpeg);
    s2d_frame_dec_free(d);
}

int main(void)
{
    RUN(planes_match_the_rgb_decode);
    RUN(other_streams_are_refused);
    return harness_failures ? 1 : 0;
}
