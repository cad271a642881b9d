// SPDX-License-Identifier: Apache-2.0
/* The CSV manifest of a batch (src/batch/manifest.c): any bytes as the text of a manifest.
 * Text with a NUL byte is what s2d_manifest_read refuses before parsing: not parsed. */
#include <stdlib.h>
#include <string.h>

#include "batch/manifest.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (memchr(data, '\0', size)) {
        return 0;
    }
    char *text = malloc(size + 1);   // NUL-ended, as the file reader hands it over
    if (!text) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    s2d_manifest m;
    s2d_error err = {0};
    if (s2d_manifest_parse(text, size, "manifest.csv", &m, &err)) {
        s2d_manifest_free(&m);
    }
    free(text);
    return 0;
}
