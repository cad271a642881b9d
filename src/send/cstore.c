// SPDX-License-Identifier: Apache-2.0
/* DIMSE C-STORE SCU over our own DICOM upper layer (PS3.8 9.3): one association per run,
 * one presentation context per distinct (SOP class, transfer syntax) of the files, each
 * dataset streamed from its file in P-DATA-TF PDUs no larger than the peer's maximum.
 * A dropped connection closes the association; the next attempt opens a new one.
 *
 * Why not DCMTK or GDCM: both hold the encapsulated pixel data of an instance in memory
 * while sending it (measured, see docs/sending.md), which breaks the memory bound for a
 * multi-gigabyte level; the upper layer needed for a C-STORE SCU is small. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "dicom/uid.h"
#include "send/transport.h"

#define APPLICATION_CONTEXT "1.2.840.10008.3.1.1.1"
#define IMPLEMENTATION_VERSION "SLIDE2DCM_" S2D_VERSION
#define MAX_CONTEXTS 128                // presentation context IDs are odd numbers 1..255
#define OWN_SEND_PDU_MAX (1u << 20)     // our cap when the peer announces "no limit" (0)
#define RECEIVE_PDU_CAP (16u << 20)     // larger incoming PDUs are a broken peer
// A C-STORE-RQ command must fit one PDV: a peer taking less than this is not one we serve.
#define MIN_PEER_PDU 1024

enum {
    PDU_ASSOCIATE_RQ = 0x01, PDU_ASSOCIATE_AC, PDU_ASSOCIATE_RJ, PDU_DATA, PDU_RELEASE_RQ,
    PDU_RELEASE_RP, PDU_ABORT,
};

typedef struct context {
    uint8_t id;
    const char *sop_class, *transfer_syntax;   // point into the run's files
    bool accepted;
    uint8_t result;                            // 0 acceptance, else PS3.8 Table 9-18 reason
} context;

typedef struct cstore_session {
    const s2d_send_options *opts;
    int fd;                  // -1 when no association is open
    context contexts[MAX_CONTEXTS];
    int ncontexts;
    uint32_t send_pdu;       // bytes of a P-DATA-TF PDU's variable field we may send
    uint16_t message_id;
    uint8_t *chunk;          // one PDU's worth of dataset, allocated once
    s2d_buf pdu;             // last PDU received
    double deadline_at;      // the run's (0 = none)
    uint64_t moved;          // bytes sent and received on this session
    s2d_rate_watch pace;     // of the transfer under way
    bool paced;              // false while the peer may think (before a PDU's first byte)
} cstore_session;

// ---- byte order helpers: the upper layer is big-endian, DIMSE commands little-endian.

static void put_u16be(s2d_buf *b, uint16_t v)
{
    uint8_t p[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    s2d_buf_append(b, p, 2);
}

static void put_u32be(s2d_buf *b, uint32_t v)
{
    uint8_t p[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    s2d_buf_append(b, p, 4);
}

static uint32_t get_u32be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t get_u16be(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

// ---- socket I/O with the run's timeout; failures leave the reason in `why`, a per-file
// detail (s2d_send_outcome.detail), not the run's error.

// Waits until the socket is ready for events, in short slices so that an interrupt (a flag
// set by a signal handler, which may arrive between two system calls) is seen at once, up to
// the run's timeout without progress; fails as well when the transfer is too slow (while
// paced) or the run's deadline has passed.
static bool wait_ready(cstore_session *s, short events, const char *doing, s2d_error *why)
{
    const int slice_ms = 200;
    for (long waited = 0; waited < (long)s->opts->timeout * 1000; waited += slice_ms) {
        if (s->opts->interrupt && *s->opts->interrupt) {
            s2d_error_set(why, S2D_ERR_CANCELLED, "interrupted");
            return false;
        }
        if (s2d_send_past(s->deadline_at)) {
            s2d_error_set(why, S2D_ERR_IO, "the deadline passed %s", doing);
            return false;
        }
        if (s->paced && !s2d_rate_watch_ok(&s->pace, s->moved)) {
            s2d_error_set(why, S2D_ERR_IO, "too slow %s: under %d bytes/s for %g s", doing,
                          S2D_SEND_MIN_RATE, s->pace.window);
            return false;
        }
        struct pollfd p = {.fd = s->fd, .events = events};
        int n = poll(&p, 1, slice_ms);
        if (n > 0) {
            return true;   // ready, or an error the next send/recv reports
        }
        if (n < 0 && errno != EINTR) {
            s2d_error_set(why, S2D_ERR_IO, "connection lost %s: %s", doing, strerror(errno));
            return false;
        }
    }
    s2d_error_set(why, S2D_ERR_IO, "connection lost %s: timed out after %d s", doing,
                  s->opts->timeout);
    return false;
}

static bool send_all(cstore_session *s, const void *data, size_t len, s2d_error *why)
{
    const uint8_t *p = data;
    while (len) {
        if (!wait_ready(s, POLLOUT, "while sending", why)) {
            return false;
        }
        ssize_t n = send(s->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (n <= 0) {
            s2d_error_set(why, S2D_ERR_IO, "connection lost while sending: %s", strerror(errno));
            return false;
        }
        s->moved += (uint64_t)n;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static bool recv_all(cstore_session *s, void *data, size_t len, s2d_error *why)
{
    uint8_t *p = data;
    while (len) {
        if (!wait_ready(s, POLLIN, "while waiting for the peer", why)) {
            return false;
        }
        ssize_t n = recv(s->fd, p, len, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (n <= 0) {
            s2d_error_set(why, S2D_ERR_IO, "connection lost while waiting for the peer: %s",
                          n == 0 ? "closed by the peer" : strerror(errno));
            return false;
        }
        s->moved += (uint64_t)n;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

// Reads one PDU into s->pdu (variable field only). @return its type, or 0 on failure.
static int read_pdu(cstore_session *s, s2d_error *why)
{
    uint8_t h[6];
    // The peer may take its time to answer (storing a file): the timeout bounds that
    // silence; from the PDU's first byte on, the pace counts again.
    s->paced = false;
    bool started = recv_all(s, h, 1, why);
    s2d_rate_watch_start(&s->pace, s->opts, s->moved);
    s->paced = true;
    if (!started || !recv_all(s, h + 1, sizeof h - 1, why)) {
        return 0;
    }
    uint32_t len = get_u32be(h + 2);
    if (len > RECEIVE_PDU_CAP) {
        s2d_error_set(why, S2D_ERR_IO, "the peer sent a PDU of %u bytes", len);
        return 0;
    }
    if (s->pdu.cap < len) {
        uint8_t *grown = realloc(s->pdu.data, len);
        if (!grown) {
            s2d_error_set(why, S2D_ERR_NOMEM, "out of memory");
            return 0;
        }
        s->pdu.data = grown;
        s->pdu.cap = len;
    }
    s->pdu.len = len;
    if (len && !recv_all(s, s->pdu.data, len, why)) {
        return 0;
    }
    return h[0];
}

static void close_connection(cstore_session *s)
{
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
}

static void send_abort(cstore_session *s)
{
    static const uint8_t abort_pdu[10] = {PDU_ABORT, 0, 0, 0, 0, 4, 0, 0, 0, 0};
    s2d_error ignored = {0};   // the connection is being dropped either way
    send_all(s, abort_pdu, sizeof abort_pdu, &ignored);
    close_connection(s);
}

// Why the peer aborted, as a static string.
static const char *abort_reason(const uint8_t *v, uint32_t len)
{
    if (len < 4) {
        return "aborted by the peer";
    }
    if (v[2] == 0) {
        return "aborted by the peer (service user)";
    }
    static const char *const provider[] = {
        "reason not specified", "unrecognized PDU", "unexpected PDU", "reserved",
        "unrecognized PDU parameter", "unexpected PDU parameter", "invalid PDU parameter value"};
    return v[3] < 7 ? provider[v[3]] : "aborted by the peer (service provider)";
}

// ---- association establishment

static void put_item(s2d_buf *b, uint8_t type, const char *text)
{
    size_t len = strlen(text);
    s2d_buf_append_byte(b, type);
    s2d_buf_append_byte(b, 0);
    put_u16be(b, (uint16_t)len);
    s2d_buf_append(b, text, len);
}

static void put_ae(s2d_buf *b, const char *ae)
{
    char field[16];
    memset(field, ' ', sizeof field);
    memcpy(field, ae, strnlen(ae, 16));
    s2d_buf_append(b, field, sizeof field);
}

static bool build_associate_rq(const cstore_session *s, s2d_buf *b)
{
    s2d_buf items = {0};
    put_item(&items, 0x10, APPLICATION_CONTEXT);
    for (int i = 0; i < s->ncontexts; i++) {
        const context *c = &s->contexts[i];
        s2d_buf pc = {0};
        s2d_buf_append_byte(&pc, c->id);
        s2d_buf_append(&pc, "\0\0\0", 3);
        put_item(&pc, 0x30, c->sop_class);
        // Only the file's own transfer syntax: we send the bytes as they are, no transcoding.
        put_item(&pc, 0x40, c->transfer_syntax);
        s2d_buf_append_byte(&items, 0x20);
        s2d_buf_append_byte(&items, 0);
        put_u16be(&items, (uint16_t)pc.len);
        s2d_buf_append(&items, pc.data, pc.len);
        s2d_buf_free(&pc);
    }
    s2d_buf user = {0};
    s2d_buf_append_byte(&user, 0x51);   // Maximum Length: the largest PDU we accept
    s2d_buf_append_byte(&user, 0);
    put_u16be(&user, 4);
    put_u32be(&user, s->opts->max_pdu);
    put_item(&user, 0x52, S2D_UID_IMPLEMENTATION_CLASS);
    put_item(&user, 0x55, IMPLEMENTATION_VERSION);
    s2d_buf_append_byte(&items, 0x50);
    s2d_buf_append_byte(&items, 0);
    put_u16be(&items, (uint16_t)user.len);
    s2d_buf_append(&items, user.data, user.len);
    s2d_buf_free(&user);

    s2d_buf_append_byte(b, PDU_ASSOCIATE_RQ);
    s2d_buf_append_byte(b, 0);
    put_u32be(b, (uint32_t)(68 + items.len));
    put_u16be(b, 1);   // protocol version
    put_u16be(b, 0);
    put_ae(b, s->opts->called_aet);
    put_ae(b, s->opts->calling_aet);
    s2d_buf_append_zeros(b, 32);
    s2d_buf_append(b, items.data, items.len);
    bool ok = !items.failed && !b->failed;
    s2d_buf_free(&items);
    return ok;
}

// Why the peer rejected the association, as a static string.
static const char *reject_reason(uint8_t source, uint8_t reason)
{
    if (source == 1) {
        switch (reason) {
        case 2: return "application context name not supported";
        case 3: return "calling AE title not recognized";
        case 7: return "called AE title not recognized";
        default: return "no reason given";
        }
    }
    if (source == 2) {
        return reason == 2 ? "protocol version not supported" : "no reason given (ACSE)";
    }
    return reason == 1 ? "temporary congestion" : reason == 2 ? "local limit exceeded"
                                                              : "no reason given (presentation)";
}

// Reads the A-ASSOCIATE-AC items: accepted contexts and the peer's maximum PDU length.
// @return false when an item or sub-item runs past its container (a malformed PDU).
static bool parse_associate_ac(cstore_session *s)
{
    const uint8_t *p = s->pdu.data + 68, *end = s->pdu.data + s->pdu.len;   // 68: as in the RQ
    uint32_t peer_max = 0;
    while (p < end) {
        size_t room = (size_t)(end - p);   // an item: type, reserved, length (2), value
        if (room < 4 || get_u16be(p + 2) > room - 4) {
            return false;
        }
        uint8_t type = p[0];
        uint16_t len = get_u16be(p + 2);
        const uint8_t *v = p + 4;
        if (type == 0x21 && len >= 4) {
            for (int i = 0; i < s->ncontexts; i++) {
                if (s->contexts[i].id == v[0]) {
                    s->contexts[i].result = v[2];
                    s->contexts[i].accepted = v[2] == 0;
                }
            }
        } else if (type == 0x50) {
            for (const uint8_t *u = v; u < v + len;) {
                size_t sub_room = (size_t)(v + len - u);   // sub-items: the same layout
                if (sub_room < 4 || get_u16be(u + 2) > sub_room - 4) {
                    return false;
                }
                uint16_t ulen = get_u16be(u + 2);
                if (u[0] == 0x51 && ulen == 4) {
                    peer_max = get_u32be(u + 4);
                }
                u += 4 + ulen;
            }
        }
        p = v + len;
    }
    uint32_t max = peer_max == 0 || peer_max > OWN_SEND_PDU_MAX ? OWN_SEND_PDU_MAX : peer_max;
    s->send_pdu = max;
    return true;
}

static int connect_to(const char *host, int port, int timeout, s2d_error *why)
{
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        s2d_error_set(why, S2D_ERR_IO, "cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1, failure = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            continue;
        }
        // SO_SNDTIMEO bounds connect() on Linux; sends and receives wait in poll().
        struct timeval tv = {.tv_sec = timeout};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
            break;
        }
        failure = errno;   // the last address's reason is the one told
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        s2d_error_set(why, S2D_ERR_IO, "cannot connect to %s:%d: %s", host, port,
                      failure ? strerror(failure) : "no usable address");
    }
    return fd;
}

static s2d_xfer_result associate(cstore_session *s, s2d_error *why, s2d_error *err)
{
    const s2d_send_options *o = s->opts;
    int timeout = o->timeout;
    if (s->deadline_at > 0) {
        // A connection attempt ends by the run's deadline too (whole seconds, at least 1).
        double left = s->deadline_at - s2d_clock_seconds();
        timeout = left < timeout ? (left < 1 ? 1 : (int)left + 1) : timeout;
    }
    s->fd = connect_to(o->host, o->port, timeout, why);
    if (s->fd < 0) {
        return S2D_XFER_UNREACHABLE;
    }
    s2d_buf rq = {0};
    if (!build_associate_rq(s, &rq)) {
        s2d_buf_free(&rq);
        close_connection(s);
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return S2D_XFER_FATAL;
    }
    bool sent = send_all(s, rq.data, rq.len, why);
    s2d_buf_free(&rq);
    int type = sent ? read_pdu(s, why) : 0;
    if (type == PDU_ASSOCIATE_AC && s->pdu.len >= 68) {
        bool wellformed = parse_associate_ac(s);
        if (!wellformed || s->send_pdu < MIN_PEER_PDU) {
            if (wellformed) {
                s2d_error_set(why, S2D_ERR_NOT_STORED, "the peer accepts PDUs of only %u bytes",
                              s->send_pdu);
            } else {
                s2d_error_set(why, S2D_ERR_NOT_STORED, "malformed A-ASSOCIATE-AC from %s:%d: "
                              "an item runs past its end", o->host, o->port);
            }
            send_abort(s);
            s2d_error_set(err, why->code, "%s", why->message);
            return S2D_XFER_FATAL;
        }
        return S2D_XFER_DONE;
    }
    if (type == PDU_ASSOCIATE_RJ && s->pdu.len >= 4) {
        const uint8_t *v = s->pdu.data;
        s2d_error_set(why, S2D_ERR_NOT_STORED,
                      "association rejected by %s:%d (called AE %s, calling AE %s): %s%s",
                      o->host, o->port, o->called_aet, o->calling_aet, reject_reason(v[2], v[3]),
                      v[1] == 2 ? " (transient)" : "");
        close_connection(s);
        if (v[1] == 2) {
            return S2D_XFER_RETRY;   // rejected-transient: worth another try
        }
        s2d_error_set(err, why->code, "%s", why->message);
        return S2D_XFER_FATAL;
    }
    if (type == PDU_ABORT) {
        s2d_error_set(why, S2D_ERR_IO, "association aborted: %s",
                      abort_reason(s->pdu.data, (uint32_t)s->pdu.len));
    } else if (type != 0) {
        s2d_error_set(why, S2D_ERR_IO, "unexpected PDU type %d in answer to A-ASSOCIATE-RQ", type);
    }
    close_connection(s);
    return S2D_XFER_RETRY;
}

// ---- DIMSE messages

static void put_element(s2d_buf *b, uint16_t elem, const void *value, uint32_t len)
{
    s2d_buf_append_u16le(b, 0x0000);
    s2d_buf_append_u16le(b, elem);
    s2d_buf_append_u32le(b, len);
    s2d_buf_append(b, value, len);
}

static void put_uid(s2d_buf *b, uint16_t elem, const char *uid)
{
    uint32_t len = (uint32_t)strlen(uid);
    char padded[S2D_SEND_UID_SIZE + 1];
    memcpy(padded, uid, len);
    padded[len] = '\0';   // UI values are padded to even length with NUL
    put_element(b, elem, padded, len + (len & 1));
}

static void put_us(s2d_buf *b, uint16_t elem, uint16_t v)
{
    uint8_t p[2];
    s2d_put_u16le(p, v);
    put_element(b, elem, p, 2);
}

// The C-STORE-RQ command set, Implicit VR Little Endian (PS3.7 9.3.1.1).
static bool build_store_rq(const s2d_dicomfile *f, uint16_t message_id, s2d_buf *cmd)
{
    s2d_buf body = {0};
    put_uid(&body, 0x0002, f->sop_class_uid);
    put_us(&body, 0x0100, 0x0001);   // C-STORE-RQ
    put_us(&body, 0x0110, message_id);
    put_us(&body, 0x0700, 0x0000);   // medium priority
    put_us(&body, 0x0800, 0x0000);   // a dataset follows
    put_uid(&body, 0x1000, f->sop_instance_uid);
    uint8_t len[4];
    s2d_put_u32le(len, (uint32_t)body.len);
    put_element(cmd, 0x0000, len, 4);
    s2d_buf_append(cmd, body.data, body.len);
    bool ok = !body.failed && !cmd->failed;
    s2d_buf_free(&body);
    return ok;
}

// Sends data as PDVs of one presentation context, one PDV per PDU.
static bool send_pdv(cstore_session *s, uint8_t context_id, bool command, bool last,
                     const uint8_t *data, uint32_t len, s2d_error *why)
{
    uint8_t h[12];
    h[0] = PDU_DATA;
    h[1] = 0;
    uint32_t pdu_len = 6 + len, item_len = 2 + len;
    h[2] = (uint8_t)(pdu_len >> 24), h[3] = (uint8_t)(pdu_len >> 16);
    h[4] = (uint8_t)(pdu_len >> 8), h[5] = (uint8_t)pdu_len;
    h[6] = (uint8_t)(item_len >> 24), h[7] = (uint8_t)(item_len >> 16);
    h[8] = (uint8_t)(item_len >> 8), h[9] = (uint8_t)item_len;
    h[10] = context_id;
    h[11] = (uint8_t)((command ? 1 : 0) | (last ? 2 : 0));
    return send_all(s, h, sizeof h, why) && send_all(s, data, len, why);
}

typedef struct store_rsp {
    uint16_t command, responding_to, status;
    bool has_status;         // a Status element of 2 bytes was there
    char comment[256];
} store_rsp;

static void parse_command(const uint8_t *p, size_t len, store_rsp *r)
{
    if (len == 0) {
        return;   // no elements, and p may be NULL: no arithmetic on it
    }
    const uint8_t *end = p + len;
    while (p + 8 <= end) {
        uint16_t group = (uint16_t)(p[0] | p[1] << 8), elem = (uint16_t)(p[2] | p[3] << 8);
        uint32_t vlen = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
                        (uint32_t)p[7] << 24;
        const uint8_t *v = p + 8;
        if (group != 0 || vlen > (size_t)(end - v)) {
            break;
        }
        uint16_t us = vlen >= 2 ? (uint16_t)(v[0] | v[1] << 8) : 0;
        if (elem == 0x0100) {
            r->command = us;
        } else if (elem == 0x0120) {
            r->responding_to = us;
        } else if (elem == 0x0900) {
            r->status = us;
            r->has_status = vlen == 2;
        } else if (elem == 0x0902) {
            size_t n = vlen < sizeof r->comment - 1 ? vlen : sizeof r->comment - 1;
            memcpy(r->comment, v, n);
            r->comment[n] = '\0';
            while (n && (r->comment[n - 1] == ' ' || r->comment[n - 1] == '\0')) {
                r->comment[--n] = '\0';
            }
        }
        p = v + vlen;
    }
}

// Reads P-DATA until a complete command arrives; datasets (none for C-STORE-RSP) are ignored.
static bool read_response(cstore_session *s, store_rsp *r, s2d_error *why)
{
    s2d_buf cmd = {0};
    bool done = false, ok = false;
    while (!done) {
        int type = read_pdu(s, why);
        if (type == PDU_ABORT) {
            s2d_error_set(why, S2D_ERR_IO, "association aborted while waiting for C-STORE-RSP: %s",
                          abort_reason(s->pdu.data, (uint32_t)s->pdu.len));
            break;
        }
        if (type != PDU_DATA) {
            if (type) {
                s2d_error_set(why, S2D_ERR_IO,
                              "unexpected PDU type %d while waiting for C-STORE-RSP", type);
            }
            break;
        }
        const uint8_t *p = s->pdu.data, *end = s->pdu.data + s->pdu.len;
        while (p + 6 <= end) {
            uint32_t item_len = get_u32be(p);
            if (item_len < 2 || item_len > (size_t)(end - p - 4)) {
                s2d_error_set(why, S2D_ERR_IO, "malformed P-DATA-TF from the peer");
                done = true;
                break;
            }
            uint8_t header = p[5];
            if (header & 1) {
                s2d_buf_append(&cmd, p + 6, item_len - 2);
                if (header & 2) {
                    done = ok = !cmd.failed;
                }
            }
            p += 4 + item_len;
        }
    }
    if (ok) {
        memset(r, 0, sizeof *r);
        parse_command(cmd.data, cmd.len, r);
    }
    s2d_buf_free(&cmd);
    return ok;
}

// PS3.4 B.2.3 and PS3.7 C: what a C-STORE status means (a static string).
static const char *status_text(uint16_t status)
{
    if ((status & 0xFF00) == 0xA700) return "refused: out of resources";
    if ((status & 0xFF00) == 0xA900) return "error: dataset does not match the SOP class";
    if ((status & 0xF000) == 0xC000) return "error: cannot understand";
    switch (status) {
    case 0xB000: return "warning: coercion of data elements";
    case 0xB007: return "warning: dataset does not match the SOP class";
    case 0xB006: return "warning: elements discarded";
    case 0x0122: return "refused: SOP class not supported";
    case 0x0124: return "refused: not authorized";
    case 0x0110: return "processing failure";
    case 0x0111: return "duplicate SOP instance";
    case 0x0117: return "invalid object instance";
    case 0x0211: return "unrecognized operation";
    case 0x0212: return "mistyped argument";
    default: return "failure";
    }
}

// The reason why holds, as the file's outcome says it (cut to fit).
static void set_detail(s2d_send_outcome *out, const s2d_error *why)
{
    snprintf(out->detail, sizeof out->detail, "%.*s", (int)sizeof out->detail - 1, why->message);
}

// Sends one file on the association; what the peer said, or why it failed, goes to why.
static s2d_xfer_result transfer_file(cstore_session *s, const char *path, const s2d_dicomfile *f,
                                     const context *ctx, s2d_send_outcome *out, s2d_error *why,
                                     s2d_error *err)
{
    FILE *file = fopen(path, "rb");
    if (!file || fseeko(file, (off_t)f->dataset_offset, SEEK_SET) != 0) {
        out->status = S2D_SENT_FAILED;
        s2d_error_set(why, S2D_ERR_IO, "cannot read: %s", strerror(errno));
        if (file) {
            fclose(file);
        }
        return S2D_XFER_DONE;
    }
    uint16_t message_id = ++s->message_id;
    s2d_buf cmd = {0};
    bool ok = build_store_rq(f, message_id, &cmd) &&
              send_pdv(s, ctx->id, true, true, cmd.data, (uint32_t)cmd.len, why);
    s2d_buf_free(&cmd);
    // The dataset: whatever follows the meta group, in PDVs of the negotiated size.
    uint64_t left = f->size - f->dataset_offset;
    uint32_t room = s->send_pdu - 6;
    bool interrupted = false, read_failed = false;
    while (ok && left) {
        if (s->opts->interrupt && *s->opts->interrupt) {
            interrupted = true;
            break;
        }
        uint32_t n = left < room ? (uint32_t)left : room;
        if (fread(s->chunk, 1, n, file) != n) {
            read_failed = true;
            break;
        }
        left -= n;
        ok = send_pdv(s, ctx->id, false, left == 0, s->chunk, n, why);
        if (ok && s->opts->on_bytes) {
            s->opts->on_bytes(s->opts->callback_ctx, path, f->size - left, f->size);
        }
    }
    fclose(file);
    if (interrupted || read_failed) {
        // The peer holds a partial dataset: only an abort keeps it from being stored.
        send_abort(s);
        out->status = S2D_SENT_FAILED;
        if (interrupted) {
            s2d_error_set(why, S2D_ERR_CANCELLED, "interrupted during the transfer");
            s2d_error_set(err, S2D_ERR_CANCELLED, "interrupted");
            return S2D_XFER_FATAL;
        }
        s2d_error_set(why, S2D_ERR_IO, "the file changed or could not be read while sending");
        return S2D_XFER_DONE;
    }
    store_rsp rsp;
    if (!ok || !read_response(s, &rsp, why)) {
        close_connection(s);
        return S2D_XFER_RETRY;
    }
    if (rsp.command != 0x8001 || rsp.responding_to != message_id) {
        s2d_error_set(why, S2D_ERR_IO, "unexpected answer (command 0x%04X for message %u)",
                      rsp.command, rsp.responding_to);
        send_abort(s);
        return S2D_XFER_RETRY;
    }
    if (!rsp.has_status) {
        // Nothing says the peer stored it: not stored, and the answer is not one we can use.
        s2d_error_set(why, S2D_ERR_IO, "the C-STORE-RSP has no Status (0000,0900)");
        send_abort(s);
        return S2D_XFER_RETRY;
    }
    const char *comment_sep = rsp.comment[0] ? ": " : "";
    if (rsp.status == 0x0000) {
        out->status = S2D_SENT_STORED;
    } else if ((rsp.status & 0xF000) == 0xB000) {
        out->status = S2D_SENT_STORED_WARNING;
        // Stored: the "error" is the server's warning about our data, for the detail.
        s2d_error_set(why, S2D_ERR_INPUT, "status 0x%04X %s%s%s", rsp.status,
                      status_text(rsp.status), comment_sep, rsp.comment);
    } else {
        out->status = S2D_SENT_FAILED;
        s2d_error_set(why, S2D_ERR_NOT_STORED, "refused, status 0x%04X %s%s%s", rsp.status,
                      status_text(rsp.status), comment_sep, rsp.comment);
    }
    return S2D_XFER_DONE;
}

static s2d_xfer_result store_one(cstore_session *s, const char *path, const s2d_dicomfile *f,
                                 const context *ctx, s2d_send_outcome *out, s2d_error *err)
{
    s2d_error why = {0};
    s2d_xfer_result r = transfer_file(s, path, f, ctx, out, &why, err);
    set_detail(out, &why);
    return r;
}

// ---- transport interface

static void cstore_close(void *session)
{
    cstore_session *s = session;
    if (!s) {
        return;
    }
    if (s->fd >= 0) {
        // A-RELEASE-RQ, then wait for A-RELEASE-RP (or the peer closing).
        static const uint8_t release[10] = {PDU_RELEASE_RQ, 0, 0, 0, 0, 4, 0, 0, 0, 0};
        s2d_error ignored = {0};
        if (send_all(s, release, sizeof release, &ignored)) {
            int type;
            while ((type = read_pdu(s, &ignored)) == PDU_DATA) {
            }
        }
        close_connection(s);
    }
    s2d_buf_free(&s->pdu);
    free(s->chunk);
    free(s);
}

// See s2d_transport.open: the caller owns the session, cstore_close frees it.
static void *cstore_open(const s2d_send_options *opts, const s2d_dicomfile *files, size_t n,
                         double deadline_at, s2d_error *err)
{
    cstore_session *s = calloc(1, sizeof *s);
    if (!s || !(s->chunk = malloc(OWN_SEND_PDU_MAX))) {
        free(s);
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    s->opts = opts;
    s->fd = -1;
    s->deadline_at = deadline_at;
    for (size_t i = 0; i < n; i++) {
        const s2d_dicomfile *f = &files[i];
        if (!f->sop_class_uid[0]) {
            continue;
        }
        bool known = false;
        for (int c = 0; c < s->ncontexts && !known; c++) {
            known = strcmp(s->contexts[c].sop_class, f->sop_class_uid) == 0 &&
                    strcmp(s->contexts[c].transfer_syntax, f->transfer_syntax_uid) == 0;
        }
        if (known) {
            continue;
        }
        if (s->ncontexts == MAX_CONTEXTS) {
            cstore_close(s);
            s2d_error_set(err, S2D_ERR_USAGE,
                          "more than %d kinds of SOP class and transfer syntax in one run",
                          MAX_CONTEXTS);
            return NULL;
        }
        context *c = &s->contexts[s->ncontexts];
        c->id = (uint8_t)(2 * s->ncontexts + 1);
        c->sop_class = f->sop_class_uid;
        c->transfer_syntax = f->transfer_syntax_uid;
        s->ncontexts++;
    }
    return s;
}

static s2d_xfer_result cstore_send(void *session, const char *path, const s2d_dicomfile *file,
                                   s2d_send_outcome *out, s2d_error *err)
{
    cstore_session *s = session;
    s2d_rate_watch_start(&s->pace, s->opts, s->moved);
    s->paced = true;
    if (s->fd < 0) {
        s2d_error why = {0};
        s2d_xfer_result r = associate(s, &why, err);
        if (r != S2D_XFER_DONE) {
            set_detail(out, &why);
            return r;
        }
    }
    const context *ctx = NULL;
    for (int c = 0; c < s->ncontexts && !ctx; c++) {
        if (strcmp(s->contexts[c].sop_class, file->sop_class_uid) == 0 &&
            strcmp(s->contexts[c].transfer_syntax, file->transfer_syntax_uid) == 0) {
            ctx = &s->contexts[c];
        }
    }
    if (!ctx || !ctx->accepted) {
        static const char *const results[] = {"accepted", "user rejection", "no reason",
                                              "abstract syntax not supported",
                                              "transfer syntax not supported"};
        out->status = S2D_SENT_FAILED;
        snprintf(out->detail, sizeof out->detail,
                 "the peer does not accept SOP class %s with transfer syntax %s (%s)",
                 file->sop_class_uid, file->transfer_syntax_uid,
                 ctx && ctx->result < 5 ? results[ctx->result] : "not negotiated");
        return S2D_XFER_DONE;
    }
    return store_one(s, path, file, ctx, out, err);
}

const s2d_transport s2d_cstore_transport = {cstore_open, cstore_send, cstore_close};
