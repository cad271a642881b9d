// SPDX-License-Identifier: Apache-2.0
/* Reading chosen attributes of a Part 10 dataset; see dicom/scan.h. */
#include "dicom/scan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dicom/ds.h"

// Values longer than this are never ones a directory record takes (the longest, ST, is
// 1024 characters; PN is 5 x 64).
#define VALUE_MAX 4096
// Sequences of undefined length inside each other, more than any real file has.
#define DEPTH_MAX 16

typedef struct reader {
    FILE *f;
    bool deflated;
    z_stream z;
    uint8_t in[64 * 1024];
    uint8_t scratch[64 * 1024];
} reader;

// Reads exactly n bytes into dst, or skips them when dst is NULL. @return false at the end
// of the data or when it cannot be read or inflated.
static bool take(reader *r, uint8_t *dst, uint64_t n)
{
    if (!r->deflated) {
        if (!dst) {
            return fseeko(r->f, (off_t)n, SEEK_CUR) == 0;
        }
        return fread(dst, 1, (size_t)n, r->f) == n;
    }
    while (n) {
        size_t want = n < sizeof r->scratch ? (size_t)n : sizeof r->scratch;
        r->z.next_out = dst ? dst : r->scratch;
        r->z.avail_out = (uInt)want;
        while (r->z.avail_out) {
            if (r->z.avail_in == 0) {
                size_t got = fread(r->in, 1, sizeof r->in, r->f);
                if (got == 0) {
                    return false;
                }
                r->z.next_in = r->in;
                r->z.avail_in = (uInt)got;
            }
            int rc = inflate(&r->z, Z_NO_FLUSH);
            if (rc == Z_STREAM_END && r->z.avail_out) {
                return false;
            }
            if (rc != Z_OK && rc != Z_STREAM_END) {
                return false;
            }
        }
        if (dst) {
            dst += want;
        }
        n -= want;
    }
    return true;
}

static uint16_t u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

// One element's header: tag, VR and length (0xFFFFFFFF: undefined). Item and delimiter
// tags (group FFFE) have no VR. @return false at the end of the data.
static bool header(reader *r, uint32_t *tag, uint32_t *len)
{
    uint8_t h[8];
    if (!take(r, h, 8)) {
        return false;
    }
    *tag = (uint32_t)u16(h) << 16 | u16(h + 2);
    if (u16(h) == 0xFFFE) {
        *len = u32(h + 4);
        return true;
    }
    if (!s2d_vr_is_long((const char *)h + 4)) {
        *len = u16(h + 6);
        return true;
    }
    uint8_t l[4];
    if (!take(r, l, 4)) {
        return false;
    }
    *len = u32(l);
    return true;
}

static bool skip_items(reader *r, int depth);

// Skips elements until the item delimitation item (an item of undefined length).
static bool skip_item_elements(reader *r, int depth)
{
    uint32_t tag, len;
    while (header(r, &tag, &len)) {
        if (tag == 0xFFFEE00D) {
            return true;
        }
        if (len == 0xFFFFFFFFu ? !skip_items(r, depth + 1) : !take(r, NULL, len)) {
            return false;
        }
    }
    return false;
}

// Skips the items of a value of undefined length up to its sequence delimitation item.
static bool skip_items(reader *r, int depth)
{
    if (depth > DEPTH_MAX) {
        return false;
    }
    uint32_t tag, len;
    while (header(r, &tag, &len)) {
        if (tag == 0xFFFEE0DD) {
            return true;
        }
        if (tag != 0xFFFEE000) {
            return false;
        }
        if (len == 0xFFFFFFFFu ? !skip_item_elements(r, depth) : !take(r, NULL, len)) {
            return false;
        }
    }
    return false;
}

static char *trimmed_copy(const uint8_t *value, uint32_t len)
{
    while (len && (value[len - 1] == ' ' || value[len - 1] == '\0')) {
        len--;
    }
    char *s = malloc(len + 1);
    if (s) {
        memcpy(s, value, len);
        s[len] = '\0';
    }
    return s;
}

static void free_values(char **values, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(values[i]);
        values[i] = NULL;
    }
}

bool s2d_scan_values(const char *path, uint64_t offset, bool deflated, const uint32_t *tags,
                     size_t n, char **values, s2d_error *err)
{
    memset(values, 0, n * sizeof *values);
    reader *r = calloc(1, sizeof *r);
    if (!r) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    r->deflated = deflated;
    r->f = fopen(path, "rb");
    if (!r->f || fseeko(r->f, (off_t)offset, SEEK_SET) != 0) {
        int e = errno;
        if (r->f) {
            fclose(r->f);
        }
        free(r);
        return s2d_error_set(err, S2D_ERR_IO, "%s: cannot read: %s", path, strerror(e));
    }
    // Raw deflate, no zlib header (PS3.5 A.5).
    if (deflated && inflateInit2(&r->z, -MAX_WBITS) != Z_OK) {
        fclose(r->f);
        free(r);
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    bool ok = true, memory = true;
    uint8_t *value = malloc(VALUE_MAX);
    bool buffer = value != NULL;
    uint32_t tag, len;
    size_t next = 0;   // tags[] before this one are behind us
    while (ok && memory && buffer && next < n && header(r, &tag, &len)) {
        while (next < n && tags[next] < tag) {
            next++;
        }
        if ((tag >> 16) == 0xFFFE) {
            ok = false;   // an item outside a sequence
        } else if (len == 0xFFFFFFFFu) {
            ok = skip_items(r, 0);
        } else if (next < n && tags[next] == tag && len <= VALUE_MAX) {
            ok = take(r, value, len);
            memory = ok ? (values[next] = trimmed_copy(value, len)) != NULL : true;
        } else {
            ok = take(r, NULL, len);
        }
    }
    free(value);
    if (deflated) {
        inflateEnd(&r->z);
    }
    bool read_error = ferror(r->f) != 0;
    fclose(r->f);
    free(r);
    if (!buffer || !memory) {
        free_values(values, n);
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    if (read_error) {
        free_values(values, n);
        return s2d_error_set(err, S2D_ERR_IO, "%s: cannot read", path);
    }
    if (!ok) {
        free_values(values, n);
        return s2d_error_set(err, S2D_ERR_INPUT, "%s: the dataset is not well formed", path);
    }
    return true;
}
