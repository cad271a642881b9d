/* The CSV manifest of a batch (src/batch/manifest.c): any bytes as a manifest file. */
#include "batch/manifest.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s2d_manifest m = {0};
    s2d_error err = {0};
    if (s2d_manifest_read(s2d_fuzz_file("manifest.csv", data, size), &m, &err)) {
        s2d_manifest_free(&m);
    }
    return 0;
}
