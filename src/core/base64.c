// SPDX-License-Identifier: Apache-2.0
/* Base64 decoding; see base64.h. */
#include "core/base64.h"

#include <stdint.h>
#include <string.h>

static int digit_value(char c)
{
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *at = c ? strchr(digits, c) : NULL;
    return at ? (int)(at - digits) : -1;
}

bool s2d_base64_decode(const char *text, s2d_buf *out)
{
    out->len = 0;
    uint32_t acc = 0;
    int bits = 0, padding = 0;
    for (const char *p = text; *p; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
            continue;
        }
        if (*p == '=') {
            padding++;
            continue;
        }
        int v = digit_value(*p);
        if (v < 0 || padding) {
            return false;   // another character, or digits after the padding
        }
        acc = (acc << 6 | (uint32_t)v) & 0xFFFFFF;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            s2d_buf_append_byte(out, (uint8_t)(acc >> bits));
        }
    }
    // Left-over bits are the zero fill of a last partial group, never a whole digit.
    return bits < 6 && padding <= 2 && (acc & ((1u << bits) - 1)) == 0 && !out->failed;
}
