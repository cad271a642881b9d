// SPDX-License-Identifier: Apache-2.0
/* The TIFF directory listing (src/source/tiffdir.c): any bytes as a file whose every IFD
 * libtiff and the listing walk, as every format's detect() and open() then read it. */
#include "fuzz.h"
#include "source/tiffdir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = s2d_fuzz_file("slide.tif", data, size);
    if (!s2d_tiffdir_magic(path)) {
        return 0;
    }
    s2d_error err = {0};
    s2d_tiffdir *td = s2d_tiffdir_list(path, &err);
    if (td) {
        for (int i = 0; i < td->n && i < 8; i++) {
            (void)s2d_tiffdir_private(td, i, 65420);   // NDPI's format flag
        }
        s2d_tiffdir_free(td);
    }
    return 0;
}
