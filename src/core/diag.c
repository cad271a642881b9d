// SPDX-License-Identifier: Apache-2.0
/* See core/diag.h. */
#include "core/diag.h"

#include <stdarg.h>
#include <stdio.h>

void s2d_diag_init(s2d_diag *d, s2d_warn_fn warn, void *ctx)
{
    d->warn = warn;
    d->ctx = ctx;
    atomic_init(&d->warnings, 0);
}

void s2d_diag_warn(s2d_diag *d, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    atomic_fetch_add(&d->warnings, 1);
    if (d->warn) {
        d->warn(d->ctx, msg);
    }
}

int s2d_diag_warnings(const s2d_diag *d)
{
    return atomic_load(&d->warnings);
}
