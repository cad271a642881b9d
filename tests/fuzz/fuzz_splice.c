// SPDX-License-Identifier: Apache-2.0
/* Splicing and joining of TIFF JPEG pieces (src/codec/bitstream.c): a JPEGTables field and
 * an abbreviated tile made complete, and up to eight strips joined into one stream.
 * Input: flags, width and rows per strip (16 bits each), then length-prefixed fields:
 * the tables, then the strips (the last one takes the rest). */
#include "codec/bitstream.h"
#include "fuzz.h"
#include "fuzz_input.h"

#define MAX_STRIPS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size};
    uint8_t flags = fuzz_byte(&in);
    int width = fuzz_u16(&in);
    int rows_per_strip = fuzz_u16(&in);
    size_t tables_len;
    const uint8_t *tables = fuzz_field(&in, false, &tables_len);
    bool with_tables = flags & 1, rgb_marker = flags & 2, tiff_says_rgb = flags & 4;
    size_t nstrips = 1 + (flags >> 5);   // 1 .. 8
    s2d_buf strips[MAX_STRIPS] = {0};
    for (size_t i = 0; i < nstrips; i++) {
        size_t len;
        const uint8_t *p = fuzz_field(&in, i + 1 == nstrips, &len);
        s2d_buf_append(&strips[i], p, len);
    }

    s2d_buf out = {0};
    if (s2d_jpeg_splice(with_tables ? tables : NULL, tables_len, strips[0].data, strips[0].len,
                        rgb_marker, &out)) {
        s2d_jpeg_facts f;
        (void)s2d_jpeg_parse(out.data, out.len, &f);
    }
    s2d_buf_free(&out);

    // The image is as tall as the strips say it is, give or take the last one's rows.
    int height = rows_per_strip * (int)nstrips - (flags & 8 ? rows_per_strip / 2 : 0);
    bool rgb = false;
    s2d_buf joined = {0};
    (void)s2d_jpeg_join_strips(with_tables ? tables : NULL, tables_len, strips, nstrips, width,
                               height, rows_per_strip, tiff_says_rgb, &rgb, &joined);
    s2d_buf_free(&joined);
    for (size_t i = 0; i < nstrips; i++) {
        s2d_buf_free(&strips[i]);
    }
    return 0;
}
