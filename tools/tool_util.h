// SPDX-License-Identifier: Apache-2.0
// tool_util: what the test-data generators of tools/ share: the one-line error they end
// with ("PROG: SUBJECT: what failed (the library's last complaint)"), libtiff's error and
// warning handlers that feed it, and a strict number parser for their options. Free of
// libtiff itself, so that a generator without TIFF output links it too.
#ifndef S2D_TOOL_UTIL_H
#define S2D_TOOL_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

// The name every message starts with; call first in main. `prog` must outlive the run.
void tool_begin(const char *prog);

// An error handler for TIFFSetErrorHandler: keeps the library's last complaint, which
// tool_fail then names.
__attribute__((format(printf, 2, 0))) void tool_keep_complaint(const char *module,
                                                               const char *fmt, va_list ap);

// A warning handler for TIFFSetWarningHandler: prints the warning on one line.
__attribute__((format(printf, 2, 0))) void tool_print_warning(const char *module,
                                                              const char *fmt, va_list ap);

// Forgets the kept complaint, so that the next failure names only its own.
void tool_forget_complaint(void);

// Prints "PROG: SUBJECT: MESSAGE" on one line, with the kept complaint in brackets when
// there is one; returns 1, for `return tool_fail(...)` from a step that failed.
__attribute__((format(printf, 2, 3))) int tool_fail(const char *subject, const char *fmt, ...);

// Reads a decimal number from lo to hi with nothing around it (no sign, no space) into
// *out; false, *out untouched, for anything else.
bool tool_parse_u32(const char *text, uint32_t lo, uint32_t hi, uint32_t *out);

#endif
