// SPDX-License-Identifier: Apache-2.0
/* The facts read from JPEG and JPEG 2000 bitstreams without decoding them
 * (src/codec/bitstream.c): marker walks, SIZ/COD, the structure checks of a copied frame
 * (at the size its header says, and at another). */
#include "codec/bitstream.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s2d_jpeg_facts f;
    if (s2d_jpeg_parse(data, size, &f)) {
        int mcu_w, mcu_h;
        s2d_jpeg_mcu_size(&f, &mcu_w, &mcu_h);
        (void)s2d_jpeg_is_rgb(&f, true);
        (void)s2d_jpeg_is_rgb(&f, false);
        (void)s2d_jpeg_complete(data, size, f.width, f.height);
        (void)s2d_jpeg_frame_flaw(data, size, f.width, f.height);
    }
    (void)s2d_jpeg_frame_flaw(data, size, 256, 256);
    s2d_j2k_facts j;
    if (s2d_j2k_parse(data, size, &j)) {
        (void)s2d_j2k_photometric(&j, true);
        (void)s2d_j2k_photometric(&j, false);
        (void)s2d_j2k_frame_flaw(data, size, j.width, j.height);
    }
    (void)s2d_j2k_frame_flaw(data, size, 256, 256);
    return 0;
}
