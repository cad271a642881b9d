// SPDX-License-Identifier: Apache-2.0
/* s2d_send_files(): reads every file's meta group, then hands the files one by one to the
 * chosen transport, retrying transient failures with exponential backoff. */
#include "slide2dcm/send.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "send/transport.h"

void s2d_send_options_init(s2d_send_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->protocol = S2D_SEND_STOW;
    opts->calling_aet = "SLIDE2DCM";
    opts->called_aet = "ANY-SCP";
    opts->max_pdu = 65536;
    opts->retries = 3;
    opts->retry_wait = 1.0;
    opts->timeout = 60;
}

void s2d_send_url_redacted(const char *url, char *out, size_t size)
{
    // RFC 3986: the authority runs from "//" to the next '/', '?' or '#'; user info is
    // what precedes its last '@'.
    const char *scheme_end = strstr(url, "://");
    const char *authority = scheme_end ? scheme_end + 3 : url;
    size_t authority_len = strcspn(authority, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < authority_len; i++) {
        if (authority[i] == '@') {
            at = authority + i;
        }
    }
    if (!at) {
        snprintf(out, size, "%s", url);
    } else {
        snprintf(out, size, "%.*s***%s", (int)(authority - url), url, at);
    }
}

const char *s2d_send_status_name(s2d_send_status status)
{
    switch (status) {
    case S2D_SENT_STORED: return "stored";
    case S2D_SENT_STORED_WARNING: return "stored-with-warning";
    case S2D_SENT_FAILED: return "failed";
    default: return "not-attempted";
    }
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void s2d_send_free_paths(char **paths, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(paths[i]);
    }
    free(paths);
}

bool s2d_send_list_dir(const char *dir, char ***paths, size_t *n, s2d_error *err)
{
    *paths = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        return s2d_error_set(err, errno == ENOENT ? S2D_ERR_INPUT : S2D_ERR_IO,
                             "cannot open the directory: %s", strerror(errno));
    }
    char **list = NULL;
    size_t count = 0, cap = 0;
    bool ok = true;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len < 5 || strcmp(e->d_name + len - 4, ".dcm") != 0) {
            continue;
        }
        if (count == cap) {
            cap = cap ? 2 * cap : 16;
            char **grown = realloc(list, cap * sizeof *list);
            if (!grown) {
                ok = false;
                break;
            }
            list = grown;
        }
        size_t plen = strlen(dir) + len + 2;
        if (!(list[count] = malloc(plen))) {
            ok = false;
            break;
        }
        snprintf(list[count++], plen, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (!ok) {
        s2d_send_free_paths(list, count);
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    if (count) {
        qsort(list, count, sizeof *list, compare_names);
    }
    *paths = list;
    *n = count;
    return true;
}

void s2d_rate_watch_start(s2d_rate_watch *w, const s2d_send_options *opts, uint64_t moved)
{
    w->window = opts->timeout > 0 && opts->timeout < S2D_SEND_MIN_RATE_WINDOW
                    ? opts->timeout
                    : S2D_SEND_MIN_RATE_WINDOW;
    w->mark_time = s2d_clock_seconds();
    w->mark_bytes = moved;
}

bool s2d_rate_watch_ok(s2d_rate_watch *w, uint64_t moved)
{
    double now = s2d_clock_seconds();
    if ((double)(moved - w->mark_bytes) >= S2D_SEND_MIN_RATE * w->window) {
        w->mark_time = now;   // a window's worth moved: the pace is kept, watch anew
        w->mark_bytes = moved;
        return true;
    }
    return now - w->mark_time < w->window;
}

bool s2d_send_past(double deadline_at)
{
    return deadline_at > 0 && s2d_clock_seconds() >= deadline_at;
}

// Sleeps, waking every 100 ms to honour an interrupt, and no later than the deadline (the
// caller then sees it has passed). @return false when interrupted.
static bool backoff(double seconds, const volatile sig_atomic_t *interrupt, double deadline_at)
{
    for (double slept = 0; slept < seconds && !s2d_send_past(deadline_at); slept += 0.1) {
        if (interrupt && *interrupt) {
            return false;
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return !(interrupt && *interrupt);
}

static void finish(const s2d_send_options *opts, s2d_send_outcome *out)
{
    if (opts->on_outcome) {
        opts->on_outcome(opts->callback_ctx, out);
    }
}

// The file whose attempts the deadline cut short failed, with its last reason; the run's
// error says why the rest are not sent. @return true (the run stops).
static bool stop_at_deadline(const s2d_send_options *opts, s2d_send_outcome *o,
                             s2d_error *run_err)
{
    o->status = S2D_SENT_FAILED;
    char why[sizeof o->detail];
    snprintf(why, sizeof why, "%s", o->detail);
    snprintf(o->detail, sizeof o->detail, "%.400s (after %d attempts, when the deadline of "
             "%g s passed)", why, o->attempts, opts->deadline);
    s2d_error_set(run_err, S2D_ERR_NOT_STORED, "the deadline of %g s passed", opts->deadline);
    return true;
}

bool s2d_send_files(const char *const *paths, size_t n, const s2d_send_options *opts,
                    s2d_send_outcome *outcomes, s2d_error *err)
{
    const s2d_transport *t =
        opts->protocol == S2D_SEND_CSTORE ? &s2d_cstore_transport : &s2d_stow_transport;
    if (opts->protocol == S2D_SEND_STOW && !opts->stow_url) {
        return s2d_error_set(err, S2D_ERR_USAGE, "no STOW-RS URL to send to");
    }
    if (opts->protocol == S2D_SEND_CSTORE && (!opts->host || opts->port <= 0)) {
        return s2d_error_set(err, S2D_ERR_USAGE, "no C-STORE HOST:PORT to send to");
    }
    s2d_dicomfile *files = calloc(n ? n : 1, sizeof *files);
    if (!files) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    size_t unreadable = 0;
    for (size_t i = 0; i < n; i++) {
        s2d_send_outcome *o = &outcomes[i];
        memset(o, 0, sizeof *o);
        o->path = paths[i];
        s2d_error ferr = {0};
        if (!s2d_dicomfile_read(paths[i], &files[i], &ferr)) {
            memset(&files[i], 0, sizeof files[i]);
            o->status = S2D_SENT_FAILED;
            snprintf(o->detail, sizeof o->detail, "%.500s", ferr.message);
            unreadable++;
            continue;
        }
        memcpy(o->sop_class_uid, files[i].sop_class_uid, sizeof o->sop_class_uid);
        memcpy(o->sop_instance_uid, files[i].sop_instance_uid, sizeof o->sop_instance_uid);
        memcpy(o->transfer_syntax_uid, files[i].transfer_syntax_uid,
               sizeof o->transfer_syntax_uid);
        o->bytes = files[i].size;
    }
    s2d_error run_err = {0};
    double deadline_at = opts->deadline > 0 ? s2d_clock_seconds() + opts->deadline : 0;
    void *session = unreadable < n ? t->open(opts, files, n, deadline_at, &run_err) : NULL;
    bool stopped = unreadable < n && !session;
    for (size_t i = 0; i < n; i++) {
        s2d_send_outcome *o = &outcomes[i];
        if (!files[i].sop_class_uid[0]) {
            finish(opts, o);   // unreadable: failed above, never sent
            continue;
        }
        if (!stopped && s2d_send_past(deadline_at)) {
            s2d_error_set(&run_err, S2D_ERR_NOT_STORED, "the deadline of %g s passed",
                          opts->deadline);
            stopped = true;
        }
        if (stopped) {
            snprintf(o->detail, sizeof o->detail, "not sent: %.490s", run_err.message);
            finish(opts, o);
            continue;
        }
        double wait = opts->retry_wait;
        for (;;) {
            o->attempts++;
            o->detail[0] = '\0';
            s2d_xfer_result r = t->send(session, paths[i], &files[i], o, &run_err);
            if (r == S2D_XFER_DONE) {
                break;
            }
            if (r == S2D_XFER_FATAL) {
                stopped = true;
                break;
            }
            if (s2d_send_past(deadline_at)) {
                stopped = stop_at_deadline(opts, o, &run_err);
                break;
            }
            if (o->attempts > opts->retries || !backoff(wait, opts->interrupt, deadline_at)) {
                o->status = S2D_SENT_FAILED;
                char why[sizeof o->detail];
                snprintf(why, sizeof why, "%s", o->detail);
                snprintf(o->detail, sizeof o->detail, "%.480s (after %d attempts)", why,
                         o->attempts);
                if (opts->interrupt && *opts->interrupt) {
                    s2d_error_set(&run_err, S2D_ERR_CANCELLED, "interrupted");
                    stopped = true;
                } else if (r == S2D_XFER_UNREACHABLE) {
                    // Every other file would wait through the same retries for nothing.
                    s2d_error_set(&run_err, S2D_ERR_NOT_STORED, "cannot reach the server: %s",
                                  o->detail);
                    stopped = true;
                }
                break;
            }
            if (s2d_send_past(deadline_at)) {   // met during the backoff
                stopped = stop_at_deadline(opts, o, &run_err);
                break;
            }
            wait *= 2;
        }
        if (stopped && o->status == S2D_SENT_NOT_ATTEMPTED) {
            o->status = S2D_SENT_FAILED;
        }
        finish(opts, o);
    }
    if (session) {
        t->close(session);
    }
    free(files);
    size_t not_stored = 0;
    for (size_t i = 0; i < n; i++) {
        not_stored += outcomes[i].status != S2D_SENT_STORED &&
                      outcomes[i].status != S2D_SENT_STORED_WARNING;
    }
    if (run_err.code != S2D_OK) {
        if (err && err->code == S2D_OK) {
            *err = run_err;
        }
        return false;
    }
    if (not_stored) {
        return s2d_error_set(err, S2D_ERR_NOT_STORED, "%zu of %zu files not stored", not_stored,
                             n);
    }
    return true;
}
