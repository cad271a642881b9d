// SPDX-License-Identifier: Apache-2.0
/* The ICC profile cleaner (src/dicom/icc.c): any bytes as the ICC profile a source embeds,
 * cleaned as --deidentify cleans it. The cleaner writes in place: it gets a copy of exactly
 * the input's size, so that a read or write past the end is the sanitizers' to see. */
#include <stdlib.h>
#include <string.h>

#include "dicom/icc.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *profile = malloc(size ? size : 1);
    if (!profile) {
        return 0;
    }
    memcpy(profile, data, size);
    if (s2d_icc_is_profile(profile, size)) {
        s2d_icc_deidentify(profile, size);
    }
    free(profile);
    return 0;
}
