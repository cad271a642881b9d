// SPDX-License-Identifier: Apache-2.0
/* The digests of a slide's files; see core/fingerprint.h. */
#include "core/fingerprint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/fs.h"
#include "core/sha256.h"

#define READ_BLOCK (1u << 20)   // 1 MiB

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

// A file's XXH3-128 over every byte, read front to back. XXH3 runs at several GB/s, so
// the disk sets the cost (docs/benchmarks.md).
static bool hash_file(const s2d_slide_file *f, uint8_t *buf, uint8_t digest[16], s2d_error *err)
{
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return s2d_error_set(err, S2D_ERR_INPUT, "cannot read %s: %s", f->path, strerror(errno));
    }
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    XXH3_state_t *state = XXH3_createState();
    bool ok = state && XXH3_128bits_reset(state) == XXH_OK;
    if (!ok) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    // Exactly the listed size: a file that grew since is hashed as it was listed, one that
    // shrank is an error rather than another slide's fingerprint.
    for (uint64_t offset = 0; ok && offset < f->size;) {
        uint64_t left = f->size - offset;
        size_t want = left < READ_BLOCK ? (size_t)left : READ_BLOCK;
        ssize_t got = s2d_pread_full(fd, buf, want, offset);
        if (got <= 0) {
            ok = s2d_error_set(err, S2D_ERR_INPUT, "cannot read %s: %s", f->path,
                               got < 0 ? strerror(errno) : "it became shorter");
        } else {
            ok = XXH3_128bits_update(state, buf, (size_t)got) == XXH_OK ||
                 s2d_error_set(err, S2D_ERR_INTERNAL, "cannot hash %s", f->path);
            offset += (uint64_t)got;
        }
    }
    if (ok) {
        XXH128_canonical_t canonical;
        XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state));
        memcpy(digest, canonical.digest, 16);
    }
    XXH3_freeState(state);
    close(fd);
    return ok;
}

bool s2d_slide_fingerprint(const s2d_slide_files *files, char out[65], s2d_error *err)
{
    uint8_t *buf = malloc(READ_BLOCK);
    if (!buf) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    s2d_sha256 h;
    s2d_sha256_init(&h);
    s2d_sha256_update(&h, "slide2dcm fingerprint 2", 24);   // the scheme's version
    bool ok = true;
    for (int i = 0; ok && i < files->n; i++) {
        uint8_t digest[16];
        ok = hash_file(&files->files[i], buf, digest, err);
        put_u64(&h, files->files[i].size);
        s2d_sha256_update(&h, digest, sizeof digest);
    }
    free(buf);
    if (ok) {
        uint8_t digest[32];
        s2d_sha256_final(&h, digest);
        s2d_hex(digest, sizeof digest, out);
    }
    return ok;
}
