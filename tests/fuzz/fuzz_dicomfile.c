// SPDX-License-Identifier: Apache-2.0
/* Part 10 reading in send (src/send/dicomfile.c): any bytes as a file to send, of which the
 * preamble and file meta group are read. */
#include "fuzz.h"
#include "send/dicomfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s2d_dicomfile f;
    s2d_error err = {0};
    (void)s2d_dicomfile_read(s2d_fuzz_file("instance.dcm", data, size), &f, &err);
    return 0;
}
