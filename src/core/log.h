/* Warnings channel: separate from errors, counted, routed to a callback the CLI sets. */
#ifndef S2D_LOG_H
#define S2D_LOG_H

#include "slide2dcm/slide2dcm.h"

/** Reports a warning through the options' callback (stderr when none). Thread-safe
 *  as long as the callback is. */
void s2d_warn(const s2d_convert_options *opts, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
