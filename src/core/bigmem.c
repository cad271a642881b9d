// SPDX-License-Identifier: Apache-2.0
/* See core/bigmem.h. */
#include "core/bigmem.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)   // a PMD-sized transparent huge page on x86-64 and arm64

// The whole huge pages that hold size bytes; 0 when that does not fit in a size_t.
static size_t mapped_size(size_t size)
{
    return size > SIZE_MAX - 2 * HUGE_PAGE ? 0 : (size + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
}

#ifdef S2D_BIGMEM_FROM_MALLOC

void *s2d_bigmem_alloc(size_t size)
{
    return mapped_size(size) ? calloc(1, size) : NULL;   // the same sizes fail as below
}

void s2d_bigmem_free(void *p, size_t size)
{
    (void)size;
    free(p);
}

#else

void *s2d_bigmem_alloc(size_t size)
{
    size_t len = mapped_size(size);
    if (len == 0) {
        return NULL;
    }
    // Map a huge page more than needed, then unmap what lies outside the aligned span: a
    // huge page can only back a 2 MiB-aligned range.
    uint8_t *raw = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) {
        return NULL;
    }
    uint8_t *p = raw + ((HUGE_PAGE - (uintptr_t)raw % HUGE_PAGE) % HUGE_PAGE);
    size_t head = (size_t)(p - raw);
    if (head) {
        munmap(raw, head);
    }
    munmap(p + len, HUGE_PAGE - head);   // never empty: head < HUGE_PAGE
    madvise(p, len, MADV_HUGEPAGE);   // a request: without THP the pages stay small
    return p;
}

void s2d_bigmem_free(void *p, size_t size)
{
    if (p) {
        munmap(p, mapped_size(size));
    }
}

#endif
