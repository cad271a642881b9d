// SPDX-License-Identifier: Apache-2.0
/* The lossless JPEG cutting of src/codec/jpeg_cut.c: a stream's DCT coefficients read with
 * libjpeg, then frames cut from them at MCU boundaries, inside and past the image. As in
 * fmt_ndpi.c, the only caller, streams of a bounded size are read: the caller writes the
 * stripe's own size into the frame header before reading. */
#include "codec/bitstream.h"
#include "codec/jpeg_cut.h"
#include "fuzz.h"

#define MAX_PIXELS (2048 * 2048)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s2d_jpeg_facts f;
    if (!s2d_jpeg_parse(data, size, &f) || (int64_t)f.width * f.height > MAX_PIXELS) {
        return 0;
    }
    s2d_error err = {0};
    s2d_jpeg_coefs *c = s2d_jpeg_coefs_read(data, size, &err);
    if (!c) {
        return 0;
    }
    int mcu_w, mcu_h;
    s2d_jpeg_mcu_size(&f, &mcu_w, &mcu_h);
    static const uint8_t fill[3] = {255, 128, 128};
    s2d_buf out = {0};
    if (s2d_jpeg_coefs_cut(c, 0, 0, 2 * mcu_w, 2 * mcu_h, fill, &out, &err)) {
        out.len = 0;
        (void)s2d_jpeg_coefs_cut(c, mcu_w, mcu_h, mcu_w, mcu_h, fill, &out, &err);
    }
    s2d_buf_free(&out);
    s2d_jpeg_coefs_free(c);
    return 0;
}
