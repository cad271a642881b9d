// SPDX-License-Identifier: Apache-2.0
/* The STOW-RS response judgement of src/send/stow.c: any bytes as the body of the answer to
 * a store request, under an HTTP status taken from the input's first two bytes. The judge
 * is static and tied to the transport, so this file includes stow.c itself (its transport
 * table is then this program's own: nothing else of the library links it). */
#include "send/stow.c"

#include "fuzz.h"

// The instance sent, whose UIDs the response must list (make_seeds.py's).
static const s2d_dicomfile sent = {
    .sop_class_uid = "1.2.840.10008.5.1.4.1.1.77.1.6",
    .sop_instance_uid = "1.2.826.0.1.3680043.10.1078.1",
    .transfer_syntax_uid = "1.2.840.10008.1.2.1",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    long http = 100 + (long)((data[0] << 8 | data[1]) % 500);   // 100 .. 599
    // An s2d_buf over a copy of the body: the judge may read one byte past nothing else.
    s2d_buf resp = {0};
    s2d_buf_append(&resp, data + 2, size - 2);
    s2d_send_outcome out = {0};
    s2d_error err = {0};
    (void)judge_response(http, &resp, &sent, &out, &err);
    s2d_buf_free(&resp);
    return 0;
}
