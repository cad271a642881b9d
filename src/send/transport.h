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
    // with err on failure.
    void *(*open)(const s2d_send_options *opts, const s2d_dicomfile *files, size_t n,
                  s2d_error *err);
    s2d_xfer_result (*send)(void *session, const char *path, const s2d_dicomfile *file,
                            s2d_send_outcome *out, s2d_error *err);
    void (*close)(void *session);   // ends and frees the session (NULL does nothing)
} s2d_transport;

extern const s2d_transport s2d_stow_transport;
extern const s2d_transport s2d_cstore_transport;

#endif
