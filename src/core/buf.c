// SPDX-License-Identifier: Apache-2.0
/* Growable byte buffer; little-endian helpers for DICOM encoding. */
#include "core/buf.h"

#include <stdlib.h>
#include <string.h>

void s2d_buf_free(s2d_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

bool s2d_buf_reserve(s2d_buf *b, size_t extra)
{
    if (b->failed) {
        return false;
    }
    if (extra > SIZE_MAX - b->len) {
        b->failed = true;
        return false;
    }
    size_t need = b->len + extra;
    if (need <= b->cap) {
        return true;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    }
    uint8_t *p = realloc(b->data, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void s2d_buf_append(s2d_buf *b, const void *data, size_t len)
{
    if (len == 0 || !s2d_buf_reserve(b, len)) {
        return;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

void s2d_buf_append_byte(s2d_buf *b, uint8_t v)
{
    s2d_buf_append(b, &v, 1);
}

void s2d_buf_append_zeros(s2d_buf *b, size_t n)
{
    if (n == 0 || !s2d_buf_reserve(b, n)) {
        return;
    }
    memset(b->data + b->len, 0, n);
    b->len += n;
}

void s2d_put_u16le(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void s2d_put_u32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

void s2d_put_u64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

void s2d_buf_append_u16le(s2d_buf *b, uint16_t v)
{
    uint8_t t[2];
    s2d_put_u16le(t, v);
    s2d_buf_append(b, t, sizeof t);
}

void s2d_buf_append_u32le(s2d_buf *b, uint32_t v)
{
    uint8_t t[4];
    s2d_put_u32le(t, v);
    s2d_buf_append(b, t, sizeof t);
}

void s2d_buf_append_u64le(s2d_buf *b, uint64_t v)
{
    uint8_t t[8];
    s2d_put_u64le(t, v);
    s2d_buf_append(b, t, sizeof t);
}
