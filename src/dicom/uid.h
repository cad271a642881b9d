// SPDX-License-Identifier: Apache-2.0
/* UIDs: "2.25." followed by the decimal value of 128 random bits (PS3.5 B.2), or, for
 * deterministic UIDs, derived from a hash (see s2d_uid_derive). */
#ifndef S2D_UID_H
#define S2D_UID_H

#include <stdbool.h>
#include <stdint.h>

#include "slide2dcm/error.h"

#define S2D_UID_MAX 65   // 64 characters + NUL

/** Writes a new random UID into out. Thread-safe. */
bool s2d_uid_new(char out[S2D_UID_MAX], s2d_error *err);

/** Formats 16 bytes (big-endian 128-bit number) as a 2.25 UID. */
void s2d_uid_from_bytes(const uint8_t bytes[16], char out[S2D_UID_MAX]);

/** Checks that root can prefix deterministic UIDs: UID syntax (digits and dots, no leading
 *  zeros), at most S2D_UID_ROOT_MAX characters so that at least 23 digits of hash follow. */
#define S2D_UID_ROOT_MAX 40
bool s2d_uid_root_check(const char *root, s2d_error *err);

/**
 * Deterministic UID: the same root, seed and role always give the same UID, and anything
 * else a different one (short of a SHA-256 collision). The hash is SHA-256 of
 * root NUL seed NUL role; SHA-256 because it is collision resistant, standard and needs
 * nothing beyond our own code.
 * For root "2.25" the first 128 bits become a name-based UUID (RFC 9562 version 8: the
 * version and variant bits set) written as 2.25.<decimal>, as PS3.5 B.2 wants; for any
 * other root the decimal value of the first 128 bits follows "root.", cut to 64 characters.
 */
void s2d_uid_derive(const char *root, const char *seed, const char *role, char out[S2D_UID_MAX]);

// Root of the implementation class UID: a fixed 2.25 UID made once for slide2dcm.
#define S2D_UID_IMPLEMENTATION_CLASS "2.25.248830757311271813498618549301622150217"

#endif
