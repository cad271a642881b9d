// SPDX-License-Identifier: Apache-2.0
/* The warnings of one run: each is handed to the caller's callback and counted, so that a
 * report's warning count is the number of warnings raised: the lines printed, unless the
 * caller chose not to print them (-q). Library code never prints them itself: without a
 * callback they are only counted. */
#ifndef S2D_DIAG_H
#define S2D_DIAG_H

#include <stdatomic.h>

typedef void (*s2d_warn_fn)(void *ctx, const char *message);

typedef struct s2d_diag {
    s2d_warn_fn warn;        // NULL: counted, not delivered
    void *ctx;               // handed to warn
    atomic_int warnings;     // delivered so far
} s2d_diag;

/** Sets d up with no warnings yet; warn (may be NULL) gets each message, one line with no
 *  "warning:" prefix (the receiver chooses how to show it). */
void s2d_diag_init(s2d_diag *d, s2d_warn_fn warn, void *ctx);

/** Formats a warning, hands it to the callback and counts it. Safe from several threads at
 *  once when the callback is. */
void s2d_diag_warn(s2d_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Warnings counted since s2d_diag_init. */
int s2d_diag_warnings(const s2d_diag *d);

#endif
