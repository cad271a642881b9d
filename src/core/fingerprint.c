/* The digests of a slide's files; see core/fingerprint.h. */
#include "core/fingerprint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fs.h"
#include "core/sha256.h"

#define SAMPLE_BLOCK (1u << 20)   // 1 MiB
#define SAMPLE_COUNT 16

void s2d_slide_files_free(s2d_slide_files *files)
{
    for (int i = 0; i < files->n; i++) {
        free(files->files[i].path);
    }
    free(files->files);
    files->files = NULL;
    files->n = 0;
}

static void put_u64(s2d_sha256 *h, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(v >> (56 - 8 * i));
    }
    s2d_sha256_update(h, b, sizeof b);
}

void s2d_slide_change_key(const s2d_slide_files *files, char out[65])
{
    s2d_sha256 h;
    s2d_sha256_init(&h);
    const char *first = files->n ? files->files[0].path : "";
    const char *slash = strrchr(first, '/');
    size_t dirlen = slash ? (size_t)(slash - first + 1) : 0;
    for (int i = 0; i < files->n; i++) {
        const s2d_slide_file *f = &files->files[i];
        const char *rel = strncmp(f->path, first, dirlen) == 0 ? f->path + dirlen : f->path;
        s2d_sha256_update(&h, rel, strlen(rel) + 1);
        put_u64(&h, f->size);
        put_u64(&h, (uint64_t)f->mtime_ns);
    }
    uint8_t digest[32];
    s2d_sha256_final(&h, digest);
    s2d_hex(digest, sizeof digest, out);
}

static bool hash_range(s2d_sha256 *h, int fd, uint64_t offset, uint64_t len, uint8_t *buf,
                       const char *path, s2d_error *err)
{
    while (len > 0) {
        size_t want = len < SAMPLE_BLOCK ? (size_t)len : SAMPLE_BLOCK;
        ssize_t got = s2d_pread_full(fd, buf, want, offset);
        if (got <= 0) {
            return s2d_error_set(err, S2D_ERR_INPUT, "cannot read %s: %s", path,
                                 got < 0 ? strerror(errno) : "it became shorter");
        }
        s2d_sha256_update(h, buf, (size_t)got);
        offset += (uint64_t)got;
        len -= (uint64_t)got;
    }
    return true;
}

bool s2d_slide_fingerprint(const s2d_slide_files *files, char out[65], s2d_error *err)
{
    uint8_t *buf = malloc(SAMPLE_BLOCK);
    if (!buf) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    s2d_sha256 h;
    s2d_sha256_init(&h);
    s2d_sha256_update(&h, "slide2dcm fingerprint 1", 24);   // the scheme's version
    bool ok = true;
    for (int i = 0; ok && i < files->n; i++) {
        const s2d_slide_file *f = &files->files[i];
        int fd = open(f->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            ok = s2d_error_set(err, S2D_ERR_INPUT, "cannot read %s: %s", f->path, strerror(errno));
            break;
        }
        put_u64(&h, f->size);
        if (f->size <= (uint64_t)SAMPLE_BLOCK * SAMPLE_COUNT) {
            ok = hash_range(&h, fd, 0, f->size, buf, f->path, err);
        } else {
            // Block k starts at k/(COUNT-1) of the way from 0 to size - BLOCK: the first
            // block is the head (headers, IFDs), the last one ends at the last byte.
            uint64_t span = f->size - SAMPLE_BLOCK;
            for (int k = 0; ok && k < SAMPLE_COUNT; k++) {
                uint64_t offset = span / (SAMPLE_COUNT - 1) * (uint64_t)k;
                if (k == SAMPLE_COUNT - 1) {
                    offset = span;
                }
                ok = hash_range(&h, fd, offset, SAMPLE_BLOCK, buf, f->path, err);
            }
        }
        close(fd);
    }
    free(buf);
    if (ok) {
        uint8_t digest[32];
        s2d_sha256_final(&h, digest);
        s2d_hex(digest, sizeof digest, out);
    }
    return ok;
}
