// SPDX-License-Identifier: Apache-2.0
/* The CPU count (core/cpu.h) follows this process's affinity: pinned to one CPU, as under
 * `taskset -c N`, it is 1, not the machine's core count; unpinned, it is no more than the
 * CPUs of the affinity. */
#define _GNU_SOURCE
#include <sched.h>

#include "core/cpu.h"
#include "harness.h"

static void follows_the_affinity(void)
{
    cpu_set_t all;
    CHECK(sched_getaffinity(0, sizeof all, &all) == 0);
    int n = s2d_cpu_count();
    CHECK(n >= 1 && n <= CPU_COUNT(&all));
    int first = 0;
    while (first < CPU_SETSIZE && !CPU_ISSET(first, &all)) {
        first++;
    }
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    CHECK(sched_setaffinity(0, sizeof one, &one) == 0);
    CHECK(s2d_cpu_count() == 1);
    CHECK(sched_setaffinity(0, sizeof all, &all) == 0);
    CHECK(s2d_cpu_count() == n);
}

int main(void)
{
    RUN(follows_the_affinity);
    return harness_failures != 0;
}
