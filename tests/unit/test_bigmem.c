// SPDX-License-Identifier: Apache-2.0
/* Large buffers on huge pages (core/bigmem.h): every size gives zero-filled memory that can
 * be written to its last byte; sizes that cannot be had give NULL. Outside AddressSanitizer
 * the buffer starts on a 2 MiB boundary. `test_bigmem huge-pages` checks the point of the
 * module: a written 4 MiB buffer is backed by transparent huge pages, a fault per 2 MiB
 * instead of one per 4 KiB. Where that cannot be seen (an AddressSanitizer build, a kernel
 * that does not offer this process huge pages) it exits SKIPPED, which CTest reports as a
 * skip, not a pass. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/bigmem.h"
#include "harness.h"

#define MIB ((size_t)1 << 20)

static void sizes_are_whole_and_zeroed(void)
{
    static const size_t sizes[] = {1, 4095, 4096, 2 * MIB - 1, 2 * MIB, 2 * MIB + 1,
                                   5 * MIB + 123};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        size_t n = sizes[i];
        uint8_t *p = s2d_bigmem_alloc(n);
        CHECK(p != NULL);
        if (!p) {
            continue;
        }
        size_t nonzero = 0;
        for (size_t k = 0; k < n; k++) {
            nonzero += p[k] != 0;
        }
        CHECK(nonzero == 0);
        memset(p, 0xA5, n);
        CHECK(p[0] == 0xA5 && p[n - 1] == 0xA5);
#ifndef S2D_BIGMEM_FROM_MALLOC
        CHECK((uintptr_t)p % (2 * MIB) == 0);
#endif
        s2d_bigmem_free(p, n);
    }
}

static void impossible_sizes_fail(void)
{
    CHECK(s2d_bigmem_alloc(0) == NULL);
    CHECK(s2d_bigmem_alloc(SIZE_MAX) == NULL);
    CHECK(s2d_bigmem_alloc(SIZE_MAX - MIB) == NULL);
    s2d_bigmem_free(NULL, 123);   // does nothing
}

#ifndef S2D_BIGMEM_FROM_MALLOC
// The word in brackets in a sysfs choice file ("always [madvise] never"), else "".
static void chosen(const char *path, char *out, size_t n)
{
    char line[160] = "";
    FILE *f = fopen(path, "r");
    if (f && !fgets(line, sizeof line, f)) {
        line[0] = '\0';
    }
    if (f) {
        fclose(f);
    }
    const char *open = strchr(line, '['), *close = open ? strchr(open, ']') : NULL;
    size_t len = close ? (size_t)(close - open - 1) : 0;
    snprintf(out, n, "%.*s", (int)(len < n ? len : n - 1), open ? open + 1 : "");
}

// Whether this process may get transparent huge pages on madvise: the system's mode is
// always or madvise, the 2 MiB size is not switched off on its own (kernels from 6.8), and
// the process has not been denied them (prctl PR_SET_THP_DISABLE, inherited).
static bool huge_pages_offered(void)
{
    char mode[32], size_mode[32], line[128];
    chosen("/sys/kernel/mm/transparent_hugepage/enabled", mode, sizeof mode);
    chosen("/sys/kernel/mm/transparent_hugepage/hugepages-2048kB/enabled", size_mode,
           sizeof size_mode);
    bool offered = (strcmp(mode, "always") == 0 || strcmp(mode, "madvise") == 0) &&
                   strcmp(size_mode, "never") != 0;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f)) {
        int enabled;
        if (sscanf(line, "THP_enabled: %d", &enabled) == 1 && enabled == 0) {
            offered = false;
        }
    }
    if (f) {
        fclose(f);
    }
    return offered;
}

// AnonHugePages of the mapping that starts at p, in kB; -1 when it is not listed.
static long huge_kb_at(const void *p)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[256];
    long kb = -1;
    bool inside = false;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long start, end;
        if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {   // a mapping's first line
            inside = start == (uintptr_t)p;
        } else if (inside && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1) {
            break;
        }
    }
    if (f) {
        fclose(f);
    }
    return kb;
}

#endif

#define SKIPPED 77   // SKIP_RETURN_CODE in tests/CMakeLists.txt

static bool skipped;

static void backed_by_huge_pages(void)
{
#ifdef S2D_BIGMEM_FROM_MALLOC
    fprintf(stderr, "     skipped: AddressSanitizer build, malloc'd, no huge pages to check\n");
    skipped = true;
#else
    if (!huge_pages_offered()) {
        fprintf(stderr, "     skipped: no transparent huge pages for this process\n");
        skipped = true;
        return;
    }
    size_t n = 4 * MIB;
    uint8_t *p = s2d_bigmem_alloc(n);
    CHECK(p != NULL);
    if (p) {
        memset(p, 1, n);
        long kb = huge_kb_at(p);
        if (kb < 2048) {
            fprintf(stderr, "     AnonHugePages of the 4 MiB buffer: %ld kB\n", kb);
        }
        CHECK(kb >= 2048);
        s2d_bigmem_free(p, n);
    }
#endif
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "huge-pages") == 0) {
        RUN(backed_by_huge_pages);
        return harness_failures ? 1 : skipped ? SKIPPED : 0;
    }
    RUN(sizes_are_whole_and_zeroed);
    RUN(impossible_sizes_fail);
    return harness_failures ? 1 : 0;
}
