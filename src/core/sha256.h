// SPDX-License-Identifier: Apache-2.0
/* SHA-256 (FIPS 180-4), for content fingerprints and deterministic UIDs: a standard,
 * collision-resistant hash whose test vectors anyone can check, with no new dependency. */
#ifndef S2D_SHA256_H
#define S2D_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct s2d_sha256 {
    uint32_t state[8];
    uint64_t length;        // bytes hashed so far
    uint8_t block[64];
    size_t used;            // bytes waiting in block
} s2d_sha256;

void s2d_sha256_init(s2d_sha256 *h);
void s2d_sha256_update(s2d_sha256 *h, const void *data, size_t len);
void s2d_sha256_final(s2d_sha256 *h, uint8_t digest[32]);

/** Lower-case hex of n bytes into out (2n + 1 chars). */
void s2d_hex(const uint8_t *bytes, size_t n, char *out);

#endif
