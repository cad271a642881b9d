// SPDX-License-Identifier: Apache-2.0
/* Windows from a histogram; see window.h. */
#include "convert/window.h"

void s2d_histogram_add(s2d_histogram *h, const uint16_t *values, size_t n)
{
    uint64_t *counts = h->counts;
    for (size_t i = 0; i < n; i++) {
        counts[values[i]]++;
    }
    h->total += n;
}

bool s2d_histogram_range(const s2d_histogram *h, uint16_t *min, uint16_t *max)
{
    if (h->total == 0) {
        return false;
    }
    uint32_t lo = 0, hi = 65535;
    while (h->counts[lo] == 0) {
        lo++;
    }
    while (h->counts[hi] == 0) {
        hi--;
    }
    *min = (uint16_t)lo;
    *max = (uint16_t)hi;
    return true;
}

unsigned s2d_histogram_bits(const s2d_histogram *h)
{
    uint16_t min = 0, max = 0;
    s2d_histogram_range(h, &min, &max);
    unsigned bits = 1;
    while (bits < 16 && (max >> bits) != 0) {
        bits++;
    }
    return bits;
}

// The smallest value v with at least `need` values at or below it (need <= total).
static uint16_t value_at_count(const s2d_histogram *h, uint64_t need)
{
    uint64_t seen = 0;
    for (uint32_t v = 0; v < 65535; v++) {
        seen += h->counts[v];
        if (seen >= need) {
            return (uint16_t)v;
        }
    }
    return 65535;
}

s2d_window s2d_window_of_range(double lo, double hi, double slope, double intercept,
                               const char *explanation)
{
    // C.11.2.1.2 note 4: WC = (x1 + x2 + 1) / 2, WW = x2 - x1 + 1 puts LINEAR's lower
    // edge (WC - 0.5 - (WW - 1) / 2) at x1 and its upper edge at x2, whatever the step
    // between rescaled values: exact for float-scaled data too.
    double x1 = lo * slope + intercept, x2 = hi * slope + intercept;
    return (s2d_window){.center = (x1 + x2 + 1) / 2, .width = x2 - x1 + 1,
                        .explanation = explanation};
}

int s2d_windows_auto(const s2d_histogram *h, double slope, double intercept,
                     unsigned bits_stored, s2d_window out[2])
{
    uint16_t min = 0, max = 0;
    s2d_histogram_range(h, &min, &max);
    if (min == max) {
        double top = (double)((1u << bits_stored) - 1);
        out[0] = s2d_window_of_range(0, top, slope, intercept, "IDENTITY");
        out[1] = s2d_window_of_range(min, max, slope, intercept, "FULL RANGE");
        return 2;
    }
    // ceil(0.005 N) and ceil(0.995 N) in integers.
    uint64_t need_lo = (h->total * 5 + 999) / 1000, need_hi = (h->total * 995 + 999) / 1000;
    double lo = value_at_count(h, need_lo), hi = value_at_count(h, need_hi);
    out[0] = s2d_window_of_range(lo, hi, slope, intercept, "AUTO 0.5-99.5%");
    out[1] = s2d_window_of_range(min, max, slope, intercept, "FULL RANGE");
    return 2;
}
