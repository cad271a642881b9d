// SPDX-License-Identifier: Apache-2.0
/* Public API of the slide2dcm library, sending side: deliver Part 10 files to an archive
 * by DICOMweb STOW-RS (PS3.18) or DIMSE C-STORE (PS3.7, PS3.8), one outcome per file.
 * Files are streamed from disk: memory stays bounded whatever their size. */
#ifndef SLIDE2DCM_SEND_H
#define SLIDE2DCM_SEND_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slide2dcm/api.h"
#include "slide2dcm/error.h"

S2D_BEGIN_C

typedef enum s2d_send_protocol {
    S2D_SEND_STOW,     // DICOMweb STOW-RS over HTTP(S), libcurl
    S2D_SEND_CSTORE,   // DIMSE C-STORE SCU over TCP, our own upper layer
} s2d_send_protocol;

typedef enum s2d_send_status {
    S2D_SENT_NOT_ATTEMPTED = 0,   // never reached the server (an earlier fatal error)
    S2D_SENT_STORED,              // the server confirmed it stored the instance
    S2D_SENT_STORED_WARNING,      // stored, with a warning from the server (see detail)
    S2D_SENT_FAILED,              // refused, or the transfer failed after all retries
} s2d_send_status;

// Room for a UID and its NUL. The standard's limit is 64 characters, but archives store
// files of other writers with longer ones, and sending must name them in full to match the
// archive's answer.
#define S2D_SEND_UID_SIZE 129

typedef struct s2d_send_outcome {
    const char *path;                 // the caller's string
    char sop_class_uid[S2D_SEND_UID_SIZE];
    char sop_instance_uid[S2D_SEND_UID_SIZE];
    char transfer_syntax_uid[S2D_SEND_UID_SIZE];
    uint64_t bytes;                   // file size
    s2d_send_status status;
    int attempts;                     // transfers started for this file
    char detail[512];                 // warning or failure reason, in the server's words
} s2d_send_outcome;

/** Writes url into out (size bytes, truncated) with the user info before the host's '@'
 *  replaced by three asterisks, so that a URL can be printed or stored without the
 *  credentials it may embed. Nothing else of the URL changes. */
S2D_API void s2d_send_url_redacted(const char *url, char *out, size_t size);

/** A transfer moving less than S2D_SEND_MIN_RATE bytes a second, on average over
 *  S2D_SEND_MIN_RATE_WINDOW seconds (or over the timeout when it is shorter), is abandoned
 *  like a dropped connection (and retried). The peer's silence while it stores a file
 *  (after the last byte sent, before its answer) is bounded by the timeout instead. */
#define S2D_SEND_MIN_RATE 1024
#define S2D_SEND_MIN_RATE_WINDOW 30

typedef struct s2d_send_options {
    s2d_send_protocol protocol;

    // STOW-RS: the studies resource, e.g. http://pacs:8042/dicom-web/studies.
    const char *stow_url;
    // At most one of these; the CLI reads them from an environment variable or a file,
    // never from its command line. NULL = no Authorization header.
    const char *bearer_token;
    const char *basic_auth;           // "user:password"
    const char *ca_file;              // extra CA bundle; TLS verification is always on

    // C-STORE
    const char *host;
    int port;
    const char *calling_aet;          // ours (default SLIDE2DCM)
    const char *called_aet;           // theirs (default ANY-SCP)
    uint32_t max_pdu;                 // largest PDU we accept (default 65536)

    int retries;                      // extra attempts on connection errors, 5xx, timeouts (3)
    double retry_wait;                // seconds before the first retry, doubled each time (1)
    int timeout;                      // seconds without progress before giving up (60)
    // The whole run's limit in seconds (0 = none): past it the transfer under way is
    // aborted and the files left are not sent (S2D_ERR_NOT_STORED).
    double deadline;

    // When non-NULL and set non-zero, sending stops: the current transfer is aborted and
    // the remaining files are left NOT_ATTEMPTED, with S2D_ERR_CANCELLED.
    const volatile sig_atomic_t *interrupt;

    // Called after each file's outcome is final. May be NULL.
    void (*on_outcome)(void *ctx, const s2d_send_outcome *outcome);
    void *callback_ctx;
    // Called while a file is being sent, as its bytes go out: how many of its size (the
    // file's) are sent, from 0 again when it is retried; gets callback_ctx. May be NULL.
    void (*on_bytes)(void *ctx, const char *path, uint64_t sent, uint64_t size);
} s2d_send_options;

/** Fills options with the defaults listed above (protocol STOW, nothing to send to). */
S2D_API void s2d_send_options_init(s2d_send_options *opts);

/**
 * Sends files in order; outcomes (n of them, caller-owned) get one entry per file.
 * Resending the same files is harmless: they keep their UIDs, so an archive stores
 * them once. A file that is not Part 10 DICOM fails on its own; an unreachable server,
 * refused credentials or a rejected association end the run and leave the rest
 * NOT_ATTEMPTED.
 * @return true when every file was stored (warnings included); otherwise false with err
 *         summarising what went wrong (code S2D_ERR_NOT_STORED unless a usage, I/O or
 *         cancel error stopped the run).
 */
S2D_API bool s2d_send_files(const char *const *paths, size_t n, const s2d_send_options *opts,
                    s2d_send_outcome *outcomes, s2d_error *err);

/** The .dcm files directly inside dir, sorted by name, in a malloc'd array of malloc'd
 *  strings (free with s2d_send_free_paths). Hidden files (our partial files) are skipped. */
S2D_API bool s2d_send_list_dir(const char *dir, char ***paths, size_t *n, s2d_error *err);
S2D_API void s2d_send_free_paths(char **paths, size_t n);

/** "stored", "stored-with-warning", "failed", "not-attempted": a static string. */
S2D_API const char *s2d_send_status_name(s2d_send_status status);

/**
 * s2d_send_files() for bindings (the Python package): paths_json is a JSON array of file
 * names; options_json an object with the destination, "stow": URL or "cstore":
 * "HOST:PORT", and any of the fields of s2d_send_options by name (bearer_token,
 * basic_auth, ca_file, calling_aet, called_aet, max_pdu, retries, retry_wait, timeout,
 * deadline); an unknown name or a wrong type is an S2D_ERR_USAGE. on_bytes, its ctx and
 * interrupt are those of s2d_send_options.
 * Once sending was tried, *outcomes_json is a JSON array with one object per file (path,
 * status as s2d_send_status_name words, the three UIDs, bytes, attempts, detail),
 * whether or not everything was stored: malloc'd, free it with s2d_free. Otherwise NULL.
 * @return as s2d_send_files.
 */
S2D_API bool s2d_send_json(const char *paths_json, const char *options_json,
                           void (*on_bytes)(void *ctx, const char *path, uint64_t sent,
                                            uint64_t size),
                           void *callback_ctx, const volatile sig_atomic_t *interrupt,
                           char **outcomes_json, s2d_error *err);

S2D_END_C

#endif
