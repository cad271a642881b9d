/* Warning delivery; see core/log.h. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

void s2d_warn(const s2d_convert_options *opts, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (opts && opts->warn) {
        opts->warn(opts->callback_ctx, msg);
    } else {
        fprintf(stderr, "warning: %s\n", msg);
    }
}
