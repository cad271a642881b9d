// SPDX-License-Identifier: Apache-2.0
/* UID generation from the kernel's random source or from a hash; see dicom/uid.h. */
#include "dicom/uid.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "core/sha256.h"

// The decimal value of a big-endian 128-bit number, without leading zeros.
static void decimal_128(const uint8_t bytes[16], char out[40])
{
    // Long division of the 128-bit number by 10, four 32-bit limbs at a time.
    uint32_t limbs[4];
    for (int i = 0; i < 4; i++) {
        limbs[i] = (uint32_t)bytes[4 * i] << 24 | (uint32_t)bytes[4 * i + 1] << 16 |
                   (uint32_t)bytes[4 * i + 2] << 8 | bytes[4 * i + 3];
    }
    char digits[40];
    int n = 0;
    for (;;) {
        uint64_t rem = 0;
        bool zero = true;
        for (int i = 0; i < 4; i++) {
            uint64_t cur = rem << 32 | limbs[i];
            limbs[i] = (uint32_t)(cur / 10);
            rem = cur % 10;
            zero &= limbs[i] == 0;
        }
        digits[n++] = (char)('0' + rem);
        if (zero) {
            break;
        }
    }
    char *p = out;
    while (n > 0) {
        *p++ = digits[--n];
    }
    *p = '\0';
}

void s2d_uid_from_bytes(const uint8_t bytes[16], char out[S2D_UID_MAX])
{
    char digits[40];
    decimal_128(bytes, digits);
    strcpy(out, "2.25.");
    strcat(out, digits);
}

bool s2d_uid_root_check(const char *root, s2d_error *err)
{
    size_t len = strlen(root);
    bool ok = len > 0 && len <= S2D_UID_ROOT_MAX;
    for (const char *p = root; ok && *p;) {
        size_t digits = strspn(p, "0123456789");
        ok = digits > 0 && (digits == 1 || p[0] != '0') && (p[digits] == '\0' || p[digits] == '.');
        p += digits;
        if (ok && *p == '.') {
            p++;
            ok = *p != '\0';
        }
    }
    if (!ok) {
        return s2d_error_set(err, S2D_ERR_USAGE,
                             "UID root %s: use digits and dots without leading zeros, at most "
                             "%d characters (for example 2.25 or your organisation's root)",
                             root, S2D_UID_ROOT_MAX);
    }
    return true;
}

void s2d_uid_derive(const char *root, const char *seed, const char *role, char out[S2D_UID_MAX])
{
    s2d_sha256 h;
    uint8_t digest[32];
    s2d_sha256_init(&h);
    s2d_sha256_update(&h, root, strlen(root) + 1);
    s2d_sha256_update(&h, seed, strlen(seed) + 1);
    s2d_sha256_update(&h, role, strlen(role));
    s2d_sha256_final(&h, digest);
    if (strcmp(root, "2.25") == 0) {
        digest[6] = (uint8_t)((digest[6] & 0x0F) | 0x80);   // UUID version 8
        digest[8] = (uint8_t)((digest[8] & 0x3F) | 0x80);   // RFC 9562 variant
        s2d_uid_from_bytes(digest, out);
        return;
    }
    char digits[40];
    decimal_128(digest, digits);
    size_t room = S2D_UID_MAX - 1 - strlen(root) - 1;
    snprintf(out, S2D_UID_MAX, "%s.%.*s", root, (int)room, digits);
}

bool s2d_uid_new(char out[S2D_UID_MAX], s2d_error *err)
{
    uint8_t bytes[16];
    size_t got = 0;
    while (got < sizeof bytes) {
        ssize_t r = getrandom(bytes + got, sizeof bytes - got, 0);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return s2d_error_set(err, S2D_ERR_IO, "cannot read random bytes for a UID: %s",
                                 strerror(errno));
        }
        got += (size_t)r;
    }
    s2d_uid_from_bytes(bytes, out);
    return true;
}
