// SPDX-License-Identifier: Apache-2.0
/* 2x2 downsampling, of RGB and of single planes: every output sample equals the rounded
 * mean of the samples it covers, including odd right and bottom edges, strides wider than
 * the image, and widths that end inside and outside the vector steps (8 RGB or 16 plane
 * output pixels) of the x86-64 path. */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "pipeline/downsample.h"

// The definition, written the slow obvious way.
static uint8_t expected(const uint8_t *src, size_t stride, int n, int64_t w, int64_t h,
                        int64_t x, int64_t y, int c)
{
    unsigned sum = 0, count = 0;
    for (int64_t yy = 2 * y; yy < 2 * y + 2 && yy < h; yy++) {
        for (int64_t xx = 2 * x; xx < 2 * x + 2 && xx < w; xx++) {
            sum += src[(size_t)yy * stride + (size_t)xx * n + c];
            count++;
        }
    }
    // An odd bottom row counts twice (it stands for the missing one), which is the same
    // mean as counting it once.
    return (uint8_t)((sum + count / 2) / count);
}

// n: bytes a pixel, 3 (RGB) or 1 (a plane).
static void check_size(int64_t w, int64_t h, int n)
{
    size_t stride = (size_t)w * n + 7, dst_stride = (size_t)(w + 1) / 2 * n + 5;
    int64_t ow = (w + 1) / 2, oh = (h + 1) / 2;
    uint8_t *src = malloc(stride * (size_t)h), *dst = malloc(dst_stride * (size_t)oh);
    for (size_t i = 0; i < stride * (size_t)h; i++) {
        src[i] = (uint8_t)(rand() & 0xff);
    }
    if (n == 3) {
        s2d_downsample_2x2(src, stride, w, h, dst, dst_stride);
    } else {
        s2d_downsample_plane_2x2(src, stride, w, h, dst, dst_stride);
    }
    int wrong = 0;
    for (int64_t y = 0; y < oh; y++) {
        for (int64_t x = 0; x < ow; x++) {
            for (int c = 0; c < n; c++) {
                uint8_t want = expected(src, stride, n, w, h, x, y, c);
                uint8_t got = dst[(size_t)y * dst_stride + (size_t)x * n + c];
                // Four pixels: (sum + 2) >> 2 in both; two pixels: (sum + 1) >> 1.
                wrong += got != want;
            }
        }
    }
    if (wrong) {
        fprintf(stderr, "%lldx%lld x %d: %d wrong samples\n", (long long)w, (long long)h, n,
                wrong);
    }
    CHECK(wrong == 0);
    free(src);
    free(dst);
}

static void test_sizes(void)
{
    static const int64_t sizes[][2] = {{1, 1}, {2, 2}, {3, 5}, {31, 3}, {33, 2}, {256, 256},
                                       {255, 17}, {2048, 4}, {2049, 3}, {5000, 2}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        check_size(sizes[i][0], sizes[i][1], 3);
        check_size(sizes[i][0], sizes[i][1], 1);
    }
}

int main(void)
{
    RUN(test_sizes);
    return harness_failures != 0;
}
