// SPDX-License-Identifier: Apache-2.0
/* Error reporting for the slide2dcm library: a caller-owned struct filled at most once.
 * The code tells the CLI which exit status to use; the message is one line. */
#ifndef SLIDE2DCM_ERROR_H
#define SLIDE2DCM_ERROR_H

#include <stdbool.h>

#include "slide2dcm/api.h"

S2D_BEGIN_C

typedef enum s2d_error_code {
    S2D_OK = 0,
    S2D_ERR_INPUT,       // the slide or a metadata file is bad or unsupported (exit 1)
    S2D_ERR_USAGE,       // options that cannot work together (exit 2)
    S2D_ERR_IO,          // reading or writing failed: full disk, permissions (exit 3)
    S2D_ERR_NOMEM,
    S2D_ERR_CANCELLED,   // interrupted by the caller (exit 130)
    S2D_ERR_INTERNAL,
    S2D_ERR_NOT_STORED,  // sending: an archive did not store every file (exit 4)
} s2d_error_code;

typedef struct s2d_error {
    s2d_error_code code;
    char message[1024];
} s2d_error;

/** Fills err (may be NULL) unless it already holds an error: the first error wins.
 *  Always returns false so that `return s2d_error_set(...)` reads naturally. */
S2D_API bool s2d_error_set(s2d_error *err, s2d_error_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Puts context in front of an error already set, e.g. "level 2: ". */
S2D_API void s2d_error_prefix(s2d_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

S2D_END_C

#endif
