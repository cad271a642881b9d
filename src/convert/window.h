// SPDX-License-Identifier: Apache-2.0
/* The windows (Window Center and Width, PS3.3 C.11.2) of greyscale output over 8 bits,
 * computed from a histogram of the instance's stored values: the default window spans the
 * 0.5 to 99.5 percentiles, a second one the full range. Values are in rescaled units
 * (stored * slope + intercept), the units a viewer's VOI stage receives. The rule is
 * written out in docs/plain-tiff.md so that tests can compute it on their own. */
#ifndef S2D_CONVERT_WINDOW_H
#define S2D_CONVERT_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Counts of each 16-bit stored value. */
typedef struct s2d_histogram {
    uint64_t counts[65536];
    uint64_t total;
} s2d_histogram;

/** Counts n host-order 16-bit values (the hot loop of a 16-bit page: counting only; the
 *  smallest and largest are found from the counts). */
void s2d_histogram_add(s2d_histogram *h, const uint16_t *values, size_t n);

/** The smallest and largest value counted; false when none was. */
bool s2d_histogram_range(const s2d_histogram *h, uint16_t *min, uint16_t *max);

/** Bits needed for the largest value counted (at least 1). */
unsigned s2d_histogram_bits(const s2d_histogram *h);

typedef struct s2d_window {
    double center, width;
    const char *explanation;  // a static string
} s2d_window;

/** The computed windows into out: the percentile window and the full range; when every
 *  value is the same, the identity window over bits_stored comes first instead.
 *  @return how many: 2. */
int s2d_windows_auto(const s2d_histogram *h, double slope, double intercept,
                     unsigned bits_stored, s2d_window out[2]);

/** The LINEAR window of PS3.3 C.11.2.1.2 that maps the inclusive range [lo, hi] of stored
 *  values, in rescaled units. */
s2d_window s2d_window_of_range(double lo, double hi, double slope, double intercept,
                               const char *explanation);

#endif
