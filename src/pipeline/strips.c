// SPDX-License-Identifier: Apache-2.0
/* Generated levels' tile rows in a spill file; see pipeline/strips.h.
 * Layout: per level, two tile rows (row r in slot r % 2); per tile its four quarters one
 * after another (top left, top right, bottom left, bottom right), each planar. A quarter
 * is one pwrite and a tile one pread. */
#define _GNU_SOURCE   // O_TMPFILE
#include "pipeline/strips.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/jpeg_enc.h"
#include "core/fs.h"
#include "pipeline/pyramid.h"

struct s2d_strips {
    int fd;
    int tile;
    s2d_planes_layout tile_layout, quarter_layout;
    size_t quarter_bytes, tile_bytes;
    uint32_t cols[S2D_MAX_LEVELS];
    off_t base[S2D_MAX_LEVELS];   // where each generated level's two rows start
    char *path;                    // for errors: the file has no name of its own
};

s2d_strips *s2d_strips_new(const char *dir, int tile, int chroma_div, const uint32_t *cols,
                           int nlevels, s2d_error *err)
{
    if (tile <= 0 || (chroma_div != 1 && chroma_div != 2) || tile % (2 * chroma_div) != 0) {
        s2d_error_set(err, S2D_ERR_USAGE, "levels can be generated only at a tile size that "
                      "is a multiple of %d (not %d)", 2 * chroma_div, tile);
        return NULL;
    }
    if (nlevels > S2D_MAX_LEVELS) {
        s2d_error_set(err, S2D_ERR_INTERNAL, "%d levels, at most %d", nlevels, S2D_MAX_LEVELS);
        return NULL;
    }
    s2d_strips *s = calloc(1, sizeof *s);
    size_t n = strlen(dir) + 32;
    if (!s || !(s->path = malloc(n))) {
        free(s);
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    snprintf(s->path, n, "%s/.slide2dcm-rows", dir);
    s->tile = tile;
    s->tile_layout = s2d_planes_layout_of(tile, tile, chroma_div);
    s->quarter_layout = s2d_planes_layout_of(tile / 2, tile / 2, chroma_div);
    s->quarter_bytes = s->quarter_layout.size;
    s->tile_bytes = 4 * s->quarter_bytes;
    off_t size = 0;
    for (int l = 0; l < nlevels; l++) {
        s->cols[l] = cols[l];
        s->base[l] = size;
        size += (off_t)2 * cols[l] * (off_t)s->tile_bytes;
    }
    // A file without a name (O_TMPFILE), so that nothing is left behind whatever happens;
    // where the file system cannot, a named one unlinked at once. Sized up front so that
    // the quarters never written (past an edge) read back as bytes, not a short read.
    s->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (s->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
        strcat(s->path, "-XXXXXX");
        s->fd = mkstemp(s->path);
        if (s->fd >= 0 && unlink(s->path) != 0) {
            s2d_error_set(err, S2D_ERR_IO, "cannot remove the row file %s: %s", s->path,
                          strerror(errno));
            s2d_strips_free(s);
            return NULL;
        }
    }
    if (s->fd < 0) {
        s2d_error_set(err, S2D_ERR_IO, "cannot create a row file in %s: %s", dir, strerror(errno));
    } else if (ftruncate(s->fd, size) != 0) {
        s2d_error_set(err, S2D_ERR_IO, "cannot write the row file %s: %s", s->path,
                      strerror(errno));
    } else {
        return s;
    }
    s2d_strips_free(s);
    return NULL;
}

void s2d_strips_free(s2d_strips *s)
{
    if (s) {
        if (s->fd >= 0) {
            close(s->fd);
        }
        free(s->path);
        free(s);
    }
}

static off_t tile_offset(const s2d_strips *s, int level, uint32_t col, uint32_t row)
{
    return s->base[level] + ((off_t)(row % 2) * s->cols[level] + col) * (off_t)s->tile_bytes;
}

// The whole of one pread or pwrite, resumed after a short transfer or a signal.
static bool transfer(s2d_strips *s, bool writing, uint8_t *buf, size_t len, off_t at,
                     s2d_error *err)
{
    bool ok;
    if (writing) {
        ok = s2d_pwrite_all(s->fd, buf, len, (uint64_t)at);
    } else {
        ssize_t n = s2d_pread_full(s->fd, buf, len, (uint64_t)at);
        ok = n >= 0 && (size_t)n == len;
        if (n >= 0 && !ok) {
            errno = EIO;   // the row file is shorter than what was written to it
        }
    }
    if (!ok) {
        return s2d_error_set(err, S2D_ERR_IO, "cannot %s the row file %s: %s",
                             writing ? "write" : "read", s->path, strerror(errno));
    }
    return true;
}

bool s2d_strips_put_quarter(s2d_strips *s, int level, uint32_t src_col, uint32_t src_row,
                            const uint8_t *quarter, s2d_error *err)
{
    int which = (int)(src_row % 2) * 2 + (int)(src_col % 2);
    off_t at = tile_offset(s, level, src_col / 2, src_row / 2) + which * (off_t)s->quarter_bytes;
    return transfer(s, true, (uint8_t *)quarter, s->quarter_bytes, at, err);
}

bool s2d_strips_get_tile(s2d_strips *s, int level, uint32_t col, uint32_t row, uint8_t *tile,
                         uint8_t *scratch, s2d_error *err)
{
    if (!transfer(s, false, scratch, s->tile_bytes, tile_offset(s, level, col, row), err)) {
        return false;
    }
    // Each plane of the tile is four quarter planes side by side.
    for (int p = 0; p < 3; p++) {
        size_t side = (size_t)(s->tile / s->tile_layout.side_div[p]), half = side / 2;
        for (int q = 0; q < 4; q++) {
            const uint8_t *src = scratch + q * s->quarter_bytes + s->quarter_layout.offset[p];
            uint8_t *dst = tile + s->tile_layout.offset[p] + (size_t)(q / 2) * half * side +
                           (size_t)(q % 2) * half;
            for (size_t y = 0; y < half; y++) {
                memcpy(dst + y * side, src + y * half, half);
            }
        }
    }
    return true;
}
