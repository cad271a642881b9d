// SPDX-License-Identifier: Apache-2.0
/* The two ways of sending behind s2d_send_files(): each transport sends one file per call
 * and says whether the outcome is final or worth another attempt; send.c owns the retry
 * loop, the backoff and the order of files. */
#ifndef S2D_SEND_TRANSPORT_H
#define S2D_SEND_TRANSPORT_H

#include "send/dicomfile.h"
#include "slide2dcm/send.h"

typedef enum s2d_xfer_result {
    S2D_XFER_DONE,          // the server decided: out->status is final (stored or refused)
    S2D_XFER_RETRY,         // transient (dropped connection, 5xx, timeout); reason in out->detail
    S2D_XFER_UNREACHABLE,   // could not connect: retried like RETRY, then ends the run
    S2D_XFER_FATAL,         // ends the run now (credentials, association rejected); err set
} s2d_xfer_result;

typedef struct s2d_transport {
    // files[0..n) are every file of the run (C-STORE proposes their contexts up front;
    // entries with an empty SOP class UID are unreadable files to skip); opts and files are
    // borrowed for the session's life. The caller owns the session: close frees it. NULL
    // with err on failure. deadline_at (s2d_clock_seconds(); 0 = none) is when the run
    // ends: a transfer still under way then is aborted and returns S2D_XFER_RETRY, which
    // the caller does not retry.
    void *(*open)(const s2d_send_options *opts, const s2d_dicomfile *files, size_t n,
                  double deadline_at, s2d_error *err);
    s2d_xfer_result (*send)(void *session, const char *path, const s2d_dicomfile *file,
                            s2d_send_outcome *out, s2d_error *err);
    void (*close)(void *session);   // ends and frees the session (NULL does nothing)
} s2d_transport;

/** Watches one transfer's pace for both transports: less than S2D_SEND_MIN_RATE bytes a
 *  second over the window fails it. */
typedef struct s2d_rate_watch {
    double window;          // seconds: S2D_SEND_MIN_RATE_WINDOW, or the timeout if shorter
    double mark_time;       // when the bytes moved last reached a window's worth more
    uint64_t mark_bytes;
} s2d_rate_watch;

/** Starts watching at `moved` bytes (a transfer's start, or after a pause that the
 *  timeout bounds instead). */
void s2d_rate_watch_start(s2d_rate_watch *w, const s2d_send_options *opts, uint64_t moved);

/** Whether the transfer, now at `moved` bytes in all, still keeps the pace. */
bool s2d_rate_watch_ok(s2d_rate_watch *w, uint64_t moved);

/** Whether the run's deadline (0 = none) has passed. */
bool s2d_send_past(double deadline_at);

extern const s2d_transport s2d_stow_transport;
extern const s2d_transport s2d_cstore_transport;

#endif
