// SPDX-License-Identifier: Apache-2.0
/* DICOMweb STOW-RS (PS3.18 10.5) with libcurl: one POST per file, the multipart/related
 * body streamed from the file by a read callback, the DICOM JSON response parsed for the
 * instance's outcome. One curl handle per run keeps the connection alive between files.
 * libcurl is loaded when the first STOW-RS session opens, not when the program starts: it
 * and the thirty libraries it pulls in cost every run ~15 ms of start-up, and most runs
 * (every conversion that does not send) never use it. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/dynlib.h"
#include "send/transport.h"

#define BOUNDARY "slide2dcm-7c3f9e1d0b5a4c28"
#define RESPONSE_MAX (1 << 20)   // a STOW response lists UIDs; more than this is not one

typedef struct stow_session {
    const s2d_send_options *opts;
    CURL *curl;
    double deadline_at;   // the run's (0 = none)
    struct curl_slist *headers;
    char *auth_header;
} stow_session;

// The request body: head (part headers), the file, tail (closing delimiter).
typedef struct body {
    FILE *file;
    const char *head, *tail;
    uint64_t head_len, file_len, tail_len, pos;
    const volatile sig_atomic_t *interrupt;
    bool read_failed;
    const s2d_send_options *opts;   // for on_bytes
    const char *path;
    double deadline_at;             // the run's (0 = none)
    s2d_rate_watch pace;
    bool too_slow, past_deadline;   // why on_progress aborted the transfer
} body;

static size_t read_body(char *dst, size_t size, size_t nitems, void *ctx)
{
    body *b = ctx;
    size_t room = size * nitems, n = 0;
    if (b->interrupt && *b->interrupt) {
        return CURL_READFUNC_ABORT;
    }
    while (n < room) {
        uint64_t pos = b->pos;
        size_t chunk;
        if (pos < b->head_len) {
            chunk = (size_t)(b->head_len - pos) < room - n ? (size_t)(b->head_len - pos) : room - n;
            memcpy(dst + n, b->head + pos, chunk);
        } else if (pos < b->head_len + b->file_len) {
            uint64_t left = b->head_len + b->file_len - pos;
            size_t want = left < room - n ? (size_t)left : room - n;
            chunk = fread(dst + n, 1, want, b->file);
            if (chunk == 0) {
                // The file shrank or cannot be read: a truncated body must not look complete.
                b->read_failed = true;
                return CURL_READFUNC_ABORT;
            }
        } else if (pos < b->head_len + b->file_len + b->tail_len) {
            uint64_t off = pos - b->head_len - b->file_len;
            uint64_t left = b->tail_len - off;
            chunk = left < room - n ? (size_t)left : room - n;
            memcpy(dst + n, b->tail + off, chunk);
        } else {
            break;
        }
        b->pos += chunk;
        n += chunk;
    }
    return n;
}

// curl rewinds the body when it has to send it again (a redirect, an auth round trip).
static int seek_body(void *ctx, curl_off_t offset, int origin)
{
    body *b = ctx;
    if (origin != SEEK_SET || offset < 0) {
        return CURL_SEEKFUNC_CANTSEEK;
    }
    uint64_t pos = (uint64_t)offset;
    uint64_t file_pos = pos < b->head_len ? 0
                        : pos - b->head_len > b->file_len ? b->file_len
                                                          : pos - b->head_len;
    if (fseeko(b->file, (off_t)file_pos, SEEK_SET) != 0) {
        return CURL_SEEKFUNC_FAIL;
    }
    b->pos = pos;
    return CURL_SEEKFUNC_OK;
}

static size_t write_response(char *data, size_t size, size_t nmemb, void *ctx)
{
    s2d_buf *resp = ctx;
    size_t n = size * nmemb;
    if (resp->len + n <= RESPONSE_MAX) {
        s2d_buf_append(resp, data, n);
    }
    return n;
}

static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal;
    body *b = ctx;
    if (b->opts->on_bytes && ulnow > 0 && (uint64_t)ulnow > b->head_len) {
        uint64_t sent = (uint64_t)ulnow - b->head_len;
        b->opts->on_bytes(b->opts->callback_ctx, b->path, sent < b->file_len ? sent : b->file_len,
                          b->file_len);
    }
    // libcurl calls this about once a second even when nothing moves. Non-zero aborts.
    uint64_t moved = (uint64_t)ulnow + (uint64_t)dlnow;
    if (ultotal > 0 && ulnow >= ultotal && dlnow == 0) {
        // All sent, no answer body yet: the server is storing; CURLOPT_LOW_SPEED_TIME
        // (the timeout) bounds that silence, and a header trickle, not the pace.
        s2d_rate_watch_start(&b->pace, b->opts, moved);
    } else if (!s2d_rate_watch_ok(&b->pace, moved)) {
        b->too_slow = true;
        return 1;
    }
    if (s2d_send_past(b->deadline_at)) {
        b->past_deadline = true;
        return 1;
    }
    return b->interrupt && *b->interrupt;
}

// The libcurl functions used here, resolved by load_curl().
static struct {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *c, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL *c);
    CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
    const char *(*easy_strerror)(CURLcode code);
    void (*easy_cleanup)(CURL *c);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *text);
    void (*slist_free_all)(struct curl_slist *list);
} lib;
static s2d_error load_error;   // S2D_OK once libcurl is loaded
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void load_curl(void)
{
    const s2d_dynsym syms[] = {
        S2D_DYNSYM("curl_global_init", lib.global_init),
        S2D_DYNSYM("curl_easy_init", lib.easy_init),
        S2D_DYNSYM("curl_easy_setopt", lib.easy_setopt),
        S2D_DYNSYM("curl_easy_perform", lib.easy_perform),
        S2D_DYNSYM("curl_easy_getinfo", lib.easy_getinfo),
        S2D_DYNSYM("curl_easy_strerror", lib.easy_strerror),
        S2D_DYNSYM("curl_easy_cleanup", lib.easy_cleanup),
        S2D_DYNSYM("curl_slist_append", lib.slist_append),
        S2D_DYNSYM("curl_slist_free_all", lib.slist_free_all),
    };
    if (s2d_dynlib_load(LIBCURL_SONAME, syms, sizeof syms / sizeof *syms, &load_error) &&
        lib.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        s2d_error_set(&load_error, S2D_ERR_IO, "libcurl did not initialise");
    }
}

static void stow_close(void *session)
{
    stow_session *s = session;
    if (!s) {
        return;
    }
    lib.easy_cleanup(s->curl);
    lib.slist_free_all(s->headers);
    free(s->auth_header);
    free(s);
}

// See s2d_transport.open: the caller owns the session, stow_close frees it.
static void *stow_open(const s2d_send_options *opts, const s2d_dicomfile *files, size_t n,
                       double deadline_at, s2d_error *err)
{
    (void)files, (void)n;
    pthread_once(&curl_once, load_curl);
    if (load_error.code != S2D_OK) {
        s2d_error_set(err, load_error.code, "%s", load_error.message);
        return NULL;
    }
    stow_session *s = calloc(1, sizeof *s);
    if (!s || !(s->curl = lib.easy_init())) {
        free(s);
        s2d_error_set(err, S2D_ERR_NOMEM, "cannot start libcurl");
        return NULL;
    }
    s->opts = opts;
    s->deadline_at = deadline_at;
    struct curl_slist *h = NULL;
    h = lib.slist_append(h, "Content-Type: multipart/related; type=\"application/dicom\"; "
                            "boundary=" BOUNDARY);
    h = lib.slist_append(h, "Accept: application/dicom+json");
    h = lib.slist_append(h, "Expect:");   // no 100-continue round trip per file
    if (opts->bearer_token) {
        size_t len = strlen(opts->bearer_token) + 32;
        s->auth_header = malloc(len);
        if (s->auth_header) {
            snprintf(s->auth_header, len, "Authorization: Bearer %s", opts->bearer_token);
            h = lib.slist_append(h, s->auth_header);
        }
    }
    s->headers = h;
    if (!h || (opts->bearer_token && !s->auth_header)) {
        stow_close(s);
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    CURL *c = s->curl;
    lib.easy_setopt(c, CURLOPT_URL, opts->stow_url);
    lib.easy_setopt(c, CURLOPT_POST, 1L);
    lib.easy_setopt(c, CURLOPT_HTTPHEADER, s->headers);
    lib.easy_setopt(c, CURLOPT_USERAGENT, "slide2dcm/" S2D_VERSION);
    lib.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    lib.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    lib.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (opts->ca_file) {
        lib.easy_setopt(c, CURLOPT_CAINFO, opts->ca_file);
    }
    if (opts->basic_auth) {
        lib.easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        lib.easy_setopt(c, CURLOPT_USERPWD, opts->basic_auth);
    }
    // A stalled server: less than 1 byte/s for `timeout` seconds ends the attempt (a slow
    // one: on_progress's pace).
    lib.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)opts->timeout);
    lib.easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    lib.easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)opts->timeout);
    lib.easy_setopt(c, CURLOPT_READFUNCTION, read_body);
    lib.easy_setopt(c, CURLOPT_SEEKFUNCTION, seek_body);
    lib.easy_setopt(c, CURLOPT_WRITEFUNCTION, write_response);
    lib.easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    lib.easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    return s;
}

// PS3.4 Table GG.4-1 and PS3.18 Table 10.5.3-1: the failure reasons STOW-RS servers use
// (static strings).
static const char *failure_reason_text(long code)
{
    switch (code) {
    case 0xA700: return "out of resources";
    case 0xA900: return "dataset does not match the SOP class";
    case 0xC000: return "cannot understand";
    case 0xC122: return "transfer syntax not supported";
    case 0x0110: return "processing failure";
    case 0x0122: return "SOP class not supported";
    case 0x0111: return "duplicate SOP instance";
    case 0x0124: return "not authorized";
    case 0xA770: return "out of resources";
    case 0xA771: return "not authorized";
    case 0xA772: return "duplicate SOP instance";
    case 0xA773: return "duplicate transaction UID";
    case 0xB000: return "coercion of data elements";
    case 0xB006: return "elements discarded";
    case 0xB007: return "dataset does not match the SOP class";
    default: return "";
    }
}

// The first Value of attribute tag (8 hex digits) in a DICOM JSON object, or NULL;
// borrowed from obj.
static json_t *first_value(json_t *obj, const char *tag)
{
    return json_array_get(json_object_get(json_object_get(obj, tag), "Value"), 0);
}

// Whether a UID from the response is uid once its trailing NUL / space padding is stripped
// (some archives echo the padded value of the file).
static bool same_uid(json_t *value, const char *uid)
{
    if (!json_is_string(value)) {
        return false;
    }
    const char *v = json_string_value(value);
    size_t len = json_string_length(value);
    while (len && (v[len - 1] == '\0' || v[len - 1] == ' ')) {
        len--;
    }
    return len == strlen(uid) && memcmp(v, uid, len) == 0;
}

// Finds the item of sequence tag whose Referenced SOP Instance UID is file's, and whose
// Referenced SOP Class UID, when the item gives one, is file's too (borrowed from root), or
// NULL.
static json_t *find_item(json_t *root, const char *tag, const s2d_dicomfile *file)
{
    json_t *items = json_object_get(json_object_get(root, tag), "Value");
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item) {
        json_t *sop_class = first_value(item, "00081150");
        if (same_uid(first_value(item, "00081155"), file->sop_instance_uid) &&
            (!sop_class || same_uid(sop_class, file->sop_class_uid))) {
            return item;
        }
    }
    return NULL;
}

static void reason_detail(json_t *item, const char *tag, const char *what, char *out,
                          size_t cap)
{
    json_t *v = first_value(item, tag);
    if (json_is_integer(v)) {
        long code = (long)json_integer_value(v);
        snprintf(out, cap, "%s 0x%04lX %s", what, code, failure_reason_text(code));
        size_t len = strlen(out);
        while (len && out[len - 1] == ' ') {
            out[--len] = '\0';
        }
    } else {
        snprintf(out, cap, "%s (no reason given)", what);
    }
}

// A short, one-line excerpt of a non-JSON error body for messages.
static void body_excerpt(const s2d_buf *resp, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < resp->len && n + 1 < cap && n < 200; i++) {
        char ch = (char)resp->data[i];
        ch = (ch == '\n' || ch == '\r' || ch == '\t') ? ' ' : ch;
        if (ch == ' ' && (n == 0 || out[n - 1] == ' ')) {
            continue;   // one space for any run of blanks
        }
        out[n++] = ch;
    }
    out[n] = '\0';
}

static s2d_xfer_result judge_response(long http, const s2d_buf *resp, const s2d_dicomfile *file,
                                      s2d_send_outcome *out, s2d_error *err)
{
    json_t *root = resp->len && !resp->failed
                       ? json_loadb((const char *)resp->data, resp->len, JSON_ALLOW_NUL, NULL)
                       : NULL;
    json_t *failed = root ? find_item(root, "00081198", file) : NULL;
    json_t *stored = root ? find_item(root, "00081199", file) : NULL;
    s2d_xfer_result result = S2D_XFER_DONE;
    char excerpt[256];
    body_excerpt(resp, excerpt, sizeof excerpt);
    if (failed) {
        out->status = S2D_SENT_FAILED;
        char what[64];
        snprintf(what, sizeof what, "refused (HTTP %ld), failure reason", http);
        reason_detail(failed, "00081197", what, out->detail, sizeof out->detail);
    } else if (http >= 200 && http < 300 && stored) {
        out->status = S2D_SENT_STORED;
        if (json_object_get(stored, "00081196")) {
            out->status = S2D_SENT_STORED_WARNING;
            reason_detail(stored, "00081196", "warning reason", out->detail, sizeof out->detail);
        } else if (json_object_get(root, "00081196")) {
            out->status = S2D_SENT_STORED_WARNING;
            reason_detail(root, "00081196", "warning reason", out->detail, sizeof out->detail);
        }
    } else if (http >= 200 && http < 300) {
        // Only the store response listing our instance is the archive's word: an empty or
        // HTML body (a proxy's page), or empty sequences (Orthanc 1.10 when its storage
        // refuses a file) leave the instance not stored, and a batch sends it again.
        out->status = S2D_SENT_FAILED;
        snprintf(out->detail, sizeof out->detail,
                 "HTTP %ld, not confirmed by the archive (no Referenced SOP Sequence for the "
                 "instance)%s%s",
                 http, !root && excerpt[0] ? ": " : "", root ? "" : excerpt);
    } else if (http == 401 || http == 403) {
        out->status = S2D_SENT_FAILED;
        snprintf(out->detail, sizeof out->detail, "HTTP %ld: the server refused the credentials%s%s",
                 http, excerpt[0] ? ": " : "", excerpt);
        s2d_error_set(err, S2D_ERR_NOT_STORED, "%s", out->detail);
        result = S2D_XFER_FATAL;
    } else if (http >= 500 || http == 408 || http == 429) {
        snprintf(out->detail, sizeof out->detail, "HTTP %ld%s%s", http, excerpt[0] ? ": " : "",
                 excerpt);
        result = S2D_XFER_RETRY;
    } else {
        out->status = S2D_SENT_FAILED;
        snprintf(out->detail, sizeof out->detail,
                 "HTTP %ld and the response does not list the instance as stored%s%s", http,
                 root ? "" : ": ", root ? "" : excerpt);
    }
    json_decref(root);
    return result;
}

static s2d_xfer_result stow_send(void *session, const char *path, const s2d_dicomfile *file,
                                 s2d_send_outcome *out, s2d_error *err)
{
    stow_session *s = session;
    static const char head[] = "--" BOUNDARY "\r\nContent-Type: application/dicom\r\n\r\n";
    static const char tail[] = "\r\n--" BOUNDARY "--\r\n";
    body b = {
        .head = head, .head_len = sizeof head - 1, .tail = tail, .tail_len = sizeof tail - 1,
        .file_len = file->size, .interrupt = s->opts->interrupt, .opts = s->opts, .path = path,
        .deadline_at = s->deadline_at,
    };
    s2d_rate_watch_start(&b.pace, s->opts, 0);
    b.file = fopen(path, "rb");
    if (!b.file) {
        out->status = S2D_SENT_FAILED;
        snprintf(out->detail, sizeof out->detail, "cannot open: %s", strerror(errno));
        return S2D_XFER_DONE;
    }
    s2d_buf resp = {0};
    CURL *c = s->curl;
    lib.easy_setopt(c, CURLOPT_READDATA, &b);
    lib.easy_setopt(c, CURLOPT_SEEKDATA, &b);
    lib.easy_setopt(c, CURLOPT_XFERINFODATA, &b);
    lib.easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    lib.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                    (curl_off_t)(b.head_len + b.file_len + b.tail_len));
    CURLcode rc = lib.easy_perform(c);
    fclose(b.file);
    s2d_xfer_result result;
    if (s->opts->interrupt && *s->opts->interrupt) {
        s2d_error_set(err, S2D_ERR_CANCELLED, "interrupted");
        snprintf(out->detail, sizeof out->detail, "interrupted during the transfer");
        result = S2D_XFER_FATAL;
    } else if (b.read_failed) {
        out->status = S2D_SENT_FAILED;
        snprintf(out->detail, sizeof out->detail, "the file changed or could not be read while sending");
        result = S2D_XFER_DONE;
    } else if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
        snprintf(out->detail, sizeof out->detail, "%s", lib.easy_strerror(rc));
        result = S2D_XFER_UNREACHABLE;
    } else if (rc == CURLE_SSL_CACERT || rc == CURLE_PEER_FAILED_VERIFICATION ||
               rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_URL_MALFORMAT ||
               rc == CURLE_UNSUPPORTED_PROTOCOL) {
        snprintf(out->detail, sizeof out->detail, "%s", lib.easy_strerror(rc));
        char shown[512];
        s2d_send_url_redacted(s->opts->stow_url, shown, sizeof shown);
        s2d_error_set(err, S2D_ERR_NOT_STORED, "%s: %s", shown, out->detail);
        result = S2D_XFER_FATAL;
    } else if (b.past_deadline) {
        snprintf(out->detail, sizeof out->detail, "the deadline passed during the transfer");
        result = S2D_XFER_RETRY;   // not retried: the run is over
    } else if (b.too_slow) {
        snprintf(out->detail, sizeof out->detail, "too slow: under %d bytes/s for %g s",
                 S2D_SEND_MIN_RATE, b.pace.window);
        result = S2D_XFER_RETRY;
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(out->detail, sizeof out->detail, "timed out: no progress for %d s",
                 s->opts->timeout);
        result = S2D_XFER_RETRY;
    } else if (rc != CURLE_OK) {
        // Dropped connection, reset mid-transfer: the server never confirmed.
        snprintf(out->detail, sizeof out->detail, "%s", lib.easy_strerror(rc));
        result = S2D_XFER_RETRY;
    } else {
        long http = 0;
        lib.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
        result = judge_response(http, &resp, file, out, err);
    }
    s2d_buf_free(&resp);
    return result;
}

const s2d_transport s2d_stow_transport = {stow_open, stow_send, stow_close};
