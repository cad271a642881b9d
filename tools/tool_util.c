// SPDX-License-Identifier: Apache-2.0
// The shared error reporting and option parsing of the generators (tool_util.h).
#include "tool_util.h"

#include <stdio.h>
#include <stdlib.h>

static const char *prog_name = "tool";
static char complaint[512]; // the library's last error, "" when none is kept

void tool_begin(const char *prog)
{
    prog_name = prog;
}

void tool_keep_complaint(const char *module, const char *fmt, va_list ap)
{
    char msg[400];
    vsnprintf(msg, sizeof msg, fmt, ap);
    snprintf(complaint, sizeof complaint, "%s%s%s", module ? module : "", module ? ": " : "",
             msg);
}

void tool_print_warning(const char *module, const char *fmt, va_list ap)
{
    char msg[400];
    vsnprintf(msg, sizeof msg, fmt, ap);
    fprintf(stderr, "%s: libtiff warning: %s%s%s\n", prog_name, module ? module : "",
            module ? ": " : "", msg);
}

void tool_forget_complaint(void)
{
    complaint[0] = '\0';
}

int tool_fail(const char *subject, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s: %s%s%s%s\n", prog_name, subject, msg, complaint[0] ? " (" : "",
            complaint, complaint[0] ? ")" : "");
    return 1;
}

bool tool_parse_u32(const char *text, uint32_t lo, uint32_t hi, uint32_t *out)
{
    if (!text || *text < '0' || *text > '9')
        return false;
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (*end || v < lo || v > hi)
        return false;
    *out = (uint32_t)v;
    return true;
}
