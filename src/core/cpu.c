// SPDX-License-Identifier: Apache-2.0
/* See core/cpu.h. */
#define _GNU_SOURCE
#include "core/cpu.h"

#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// CPUs the quota of the cgroup v2 directory dir allows (rounded up), or 0 for no limit.
static int quota_cpus(const char *dir)
{
    char path[PATH_MAX + 16], quota[32];
    long long period;
    snprintf(path, sizeof path, "%s/cpu.max", dir);
    FILE *f = fopen(path, "re");
    int cpus = 0;
    if (f && fscanf(f, "%31s %lld", quota, &period) == 2 && strcmp(quota, "max") != 0 &&
        period > 0) {
        long long q = atoll(quota);
        cpus = q > 0 ? (int)((q + period - 1) / period) : 0;
    }
    if (f) {
        fclose(f);
    }
    return cpus;
}

// The smallest quota on the way from this process's cgroup up to the root (a parent's
// limit binds its children), or 0 when none is set or cgroup v2 is not mounted.
static int cgroup_cpus(void)
{
    char line[PATH_MAX], dir[PATH_MAX + 32] = "";
    FILE *f = fopen("/proc/self/cgroup", "re");
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "0::", 3) == 0) {   // the unified (v2) hierarchy
            line[strcspn(line, "\n")] = '\0';
            const char *own = strcmp(line + 3, "/") == 0 ? "" : line + 3;
            snprintf(dir, sizeof dir, "/sys/fs/cgroup%s", own);
        }
    }
    if (f) {
        fclose(f);
    }
    int least = 0;
    while (dir[0]) {
        int cpus = quota_cpus(dir);
        if (cpus > 0 && (least == 0 || cpus < least)) {
            least = cpus;
        }
        char *slash = strrchr(dir, '/');
        if (!slash || strcmp(dir, "/sys/fs/cgroup") == 0) {
            break;
        }
        *slash = '\0';
    }
    return least;
}

int s2d_cpu_count(void)
{
    int n = 0;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        n = CPU_COUNT(&set);
    }
    if (n <= 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        n = online > 0 ? (online > INT_MAX ? INT_MAX : (int)online) : 1;
    }
    int quota = cgroup_cpus();
    return quota > 0 && quota < n ? quota : n;
}
