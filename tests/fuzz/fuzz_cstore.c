// SPDX-License-Identifier: Apache-2.0
/* The C-STORE SCU's reading of its peer (src/send/cstore.c): any bytes as everything a peer
 * sends on one association, read by the session's own code from a socket pair: the
 * A-ASSOCIATE answer (AC items and sub-items, RJ, ABORT), then the P-DATA-TF PDUs and
 * DIMSE command of up to three C-STORE-RSPs, then the answer to A-RELEASE. The parsers are
 * static and take the session, so this file includes cstore.c itself (its transport table
 * is then this program's own: nothing else of the library links it). */
#include "send/cstore.c"

#include <fcntl.h>

#include "fuzz.h"

#define SOP_CLASS "1.2.840.10008.5.1.4.1.1.77.1.6"
#define EXPLICIT_LE "1.2.840.10008.1.2.1"
// What a peer can queue before we read (a socket pair's buffer holds more).
#define MAX_PEER_BYTES (64 * 1024)

// After the A-ASSOCIATE answer, what associate() decides, but without the connection.
static bool accepted(cstore_session *s, int type)
{
    if (type == PDU_ASSOCIATE_AC && s->pdu.len >= 68) {
        return parse_associate_ac(s) && s->send_pdu >= MIN_PEER_PDU;
    }
    if (type == PDU_ASSOCIATE_RJ && s->pdu.len >= 4) {
        (void)reject_reason(s->pdu.data[2], s->pdu.data[3]);
    } else if (type == PDU_ABORT) {
        (void)abort_reason(s->pdu.data, (uint32_t)s->pdu.len);
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_PEER_BYTES) {
        size = MAX_PEER_BYTES;
    }
    // The dataset sent: a few bytes after a 132-byte "meta group" the sender skips.
    static const uint8_t dataset[160] = {0};
    static const char *path;
    if (!path) {
        path = s2d_fuzz_file("instance.dcm", dataset, sizeof dataset);
    }
    static const s2d_dicomfile file = {
        .sop_class_uid = SOP_CLASS, .sop_instance_uid = "1.2.826.0.1.3680043.10.1078.2",
        .transfer_syntax_uid = EXPLICIT_LE, .dataset_offset = 132, .size = sizeof dataset,
    };
    // A session as cstore_open makes it, once; each input gets a copy whose buffer for the
    // dataset holds only what is sent (cstore_open's is 1 MiB, a cost the parsers are not).
    static s2d_send_options opts;
    static cstore_session *made;
    if (!made) {
        s2d_send_options_init(&opts);
        opts.protocol = S2D_SEND_CSTORE;
        opts.host = "peer";
        opts.timeout = 5;   // never reached: the peer's bytes are all there, then it closes
        s2d_error err = {0};
        made = cstore_open(&opts, &file, 1, 0, &err);   // no deadline
    }
    cstore_session *s = made ? malloc(sizeof *s) : NULL;
    if (s) {
        *s = *made;
        s->pdu = (s2d_buf){0};
        s->chunk = malloc(sizeof dataset);
    }
    int pair[2];
    if (!s || !s->chunk || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        abort();   // out of memory or descriptors: no input is to blame
    }
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(pair[1], data + done, size - done);
        if (n <= 0) {
            abort();
        }
        done += (size_t)n;
    }
    shutdown(pair[1], SHUT_WR);
    s->fd = pair[0];
    s2d_error why = {0};
    if (accepted(s, read_pdu(s, &why))) {
        for (int i = 0; i < 3 && s->fd >= 0; i++) {
            s2d_send_outcome out = {0};
            s2d_error ferr = {0};
            (void)store_one(s, path, &file, &s->contexts[0], &out, &ferr);
        }
    }
    cstore_close(s);
    close(pair[1]);
    return 0;
}
