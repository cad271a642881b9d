// SPDX-License-Identifier: Apache-2.0
/* First-error-wins error slot; see include/slide2dcm/error.h. */
#include "slide2dcm/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

bool s2d_error_set(s2d_error *err, s2d_error_code code, const char *fmt, ...)
{
    if (!err || err->code != S2D_OK) {
        return false;
    }
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    // One line per error: the CLI prints it after the file name.
    for (char *p = err->message; *p; p++) {
        if (*p == '\n' || *p == '\r') {
            *p = ' ';
        }
    }
    return false;
}

void s2d_error_prefix(s2d_error *err, const char *fmt, ...)
{
    if (!err || err->code == S2D_OK) {
        return;
    }
    char prefix[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    // Shift the message right and put the prefix in front, truncating at the end.
    size_t plen = strlen(prefix), cap = sizeof err->message;
    if (plen >= cap) {
        plen = cap - 1;
    }
    size_t mlen = strlen(err->message);
    if (plen + mlen >= cap) {
        mlen = cap - 1 - plen;
    }
    memmove(err->message + plen, err->message, mlen);
    memcpy(err->message, prefix, plen);
    err->message[plen + mlen] = '\0';
}
