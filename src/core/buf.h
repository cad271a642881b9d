// SPDX-License-Identifier: Apache-2.0
/* Growable byte buffer used to encode datasets. On allocation failure it stays
 * in a failed state (ok == false) so callers can check once at the end. */
#ifndef S2D_BUF_H
#define S2D_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct s2d_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    bool failed;   // an allocation failed; data is unusable
} s2d_buf;

/* A buffer owns data; the caller owns the buffer (zero-initialised, then freed with
 * s2d_buf_free). data moves when the buffer grows: pointers into it last until the next
 * append or reserve. */

/** Frees data and empties b (it can be used again). */
void s2d_buf_free(s2d_buf *b);
/** Room for extra more bytes after len; false (and failed) when it cannot be had. */
bool s2d_buf_reserve(s2d_buf *b, size_t extra);
void s2d_buf_append(s2d_buf *b, const void *data, size_t len);
void s2d_buf_append_byte(s2d_buf *b, uint8_t v);
void s2d_buf_append_zeros(s2d_buf *b, size_t n);
void s2d_buf_append_u16le(s2d_buf *b, uint16_t v);
void s2d_buf_append_u32le(s2d_buf *b, uint32_t v);
void s2d_buf_append_u64le(s2d_buf *b, uint64_t v);
void s2d_put_u16le(uint8_t *p, uint16_t v);
void s2d_put_u32le(uint8_t *p, uint32_t v);
void s2d_put_u64le(uint8_t *p, uint64_t v);

/** Multiplies sizes, returning false on overflow instead of wrapping. */
static inline bool s2d_mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) {
        return false;
    }
    *out = a * b;
    return true;
}

#endif
