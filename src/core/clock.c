// SPDX-License-Identifier: Apache-2.0
/* See core/clock.h. */
#include "core/clock.h"

#include <time.h>

double s2d_clock_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}
