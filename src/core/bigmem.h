// SPDX-License-Identifier: Apache-2.0
/* Large buffers that are filled as soon as they are made: a reader's read window, the
 * decoded pixels of an associated image. On the machines measured (docs/benchmarks.md) the
 * first touch of each 4 KiB page of fresh memory costs ~10 us, a fault through the
 * hypervisor, so a 1 MiB buffer costs ~2.6 ms before it holds a byte; on a transparent huge
 * page the same megabyte costs ~0.15 ms. These buffers are therefore mapped on whole,
 * aligned 2 MiB pages and marked for huge pages; where the kernel has them off, they are
 * ordinary pages. Under AddressSanitizer they come from malloc, so that it sees them. */
#ifndef S2D_BIGMEM_H
#define S2D_BIGMEM_H

#include <stddef.h>

// Defined when the buffers come from malloc because AddressSanitizer watches this build
// (GCC says so with __SANITIZE_ADDRESS__, Clang with __has_feature).
#if defined(__SANITIZE_ADDRESS__)
#define S2D_BIGMEM_FROM_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define S2D_BIGMEM_FROM_MALLOC 1
#endif
#endif

/** size bytes, zero-filled; NULL when they cannot be had (or size is 0). The caller owns
 *  them: free with s2d_bigmem_free(p, size), never free(). */
void *s2d_bigmem_alloc(size_t size);

/** Frees what s2d_bigmem_alloc(size) gave (NULL does nothing). */
void s2d_bigmem_free(void *p, size_t size);

#endif
