// SPDX-License-Identifier: Apache-2.0
/* The one clock durations are measured with: monotonic, so that a change of the wall
 * clock during a run neither stretches nor reverses them. */
#ifndef S2D_CLOCK_H
#define S2D_CLOCK_H

/** Seconds on the monotonic clock, from an arbitrary origin: subtract two readings. */
double s2d_clock_seconds(void);

#endif
