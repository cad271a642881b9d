// SPDX-License-Identifier: Apache-2.0
/* How many threads the machine gives this process: the CPUs of its affinity (taskset, a
 * cpuset cgroup, a container's --cpuset-cpus), lowered to a cgroup v2 CPU quota (cpu.max,
 * a container's --cpus) when one is set. Counting the machine's cores instead would run
 * more threads than the process has CPUs for. */
#ifndef S2D_CPU_H
#define S2D_CPU_H

/** The CPU count described above, at least 1. */
int s2d_cpu_count(void);

#endif
