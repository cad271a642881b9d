// SPDX-License-Identifier: Apache-2.0
/* DICOM media folders; see convert/media.h. */
#define _GNU_SOURCE
#include "convert/media.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fs.h"
#include "dicom/scan.h"
#include "iod/dicomdir.h"
#include "send/dicomfile.h"
#include "slide2dcm/send.h"

// The one folder under the media folder's root that holds the instances.
#define TOP "S2D"
#define DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN "1.2.840.10008.1.2.1.99"

// path without its trailing slashes is within, or is, folder (as written: "a/./b" is not
// taken for "a/b").
static bool within(const char *path, const char *folder)
{
    size_t p = strlen(path), f = strlen(folder);
    while (p > 1 && path[p - 1] == '/') {
        p--;
    }
    while (f > 1 && folder[f - 1] == '/') {
        f--;
    }
    return p >= f && strncmp(path, folder, f) == 0 && (p == f || path[f] == '/');
}

bool s2d_media_check(const char *media, const char *output, s2d_error *err)
{
    if (output && (within(media, output) || within(output, media))) {
        // The output's own files would be in the way, and a later --overwrite replaces the
        // output folder whole.
        return s2d_error_set(err, S2D_ERR_USAGE, "--dicomdir %s: give a folder apart from %s",
                             media, output);
    }
    struct stat st;
    if (lstat(media, &st) != 0) {
        return errno == ENOENT || s2d_error_set(err, S2D_ERR_IO, "%s: cannot read: %s", media,
                                                strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        return s2d_error_set(err, S2D_ERR_USAGE, "--dicomdir %s: not a folder", media);
    }
    DIR *d = opendir(media);
    if (!d) {
        return s2d_error_set(err, S2D_ERR_IO, "%s: cannot read: %s", media, strerror(errno));
    }
    const struct dirent *e;
    bool ok = true;
    while (ok && (e = readdir(d))) {
        // Hidden entries (a stick's .Trashes, our own temporary DICOMDIR) are left alone.
        if (e->d_name[0] != '.' && strcmp(e->d_name, "DICOMDIR") && strcmp(e->d_name, TOP)) {
            ok = s2d_error_set(err, S2D_ERR_USAGE,
                               "--dicomdir %s: it holds %s; give an empty folder or a media "
                               "folder slide2dcm made", media, e->d_name);
        }
    }
    closedir(d);
    return ok;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)ftw;
    return (type == FTW_DP ? rmdir(path) : unlink(path)) != 0 && errno != ENOENT;
}

// rm -rf that never follows a link.
static bool remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        return errno == ENOENT;
    }
    return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0;
}

// Copies from to a new file to and puts it on disk (a stick may be pulled out next).
static bool copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    char *buf = malloc(1 << 20);
    bool ok = in >= 0 && out >= 0 && buf;
    ssize_t got;
    while (ok && (got = read(in, buf, 1 << 20)) != 0) {
        ok = got > 0 && s2d_write_all(out, buf, (size_t)got);
    }
    ok = ok && fsync(out) == 0;
    int saved = errno;
    free(buf);
    if (in >= 0) {
        close(in);
    }
    if (out >= 0 && close(out) != 0) {
        ok = false;
    }
    errno = saved;
    return ok;
}

typedef struct entry {
    s2d_dicomfile meta;
    s2d_dir_instance dir;
} entry;

// Puts one file at file_id (media-relative path) and reads what its record needs.
static bool add_file(const char *media, const char *source, const char *rel, entry *e,
                     s2d_media_report *rep, s2d_error *err)
{
    char target[4200];
    snprintf(target, sizeof target, "%s/%s", media, rel);
    if (link(source, target) != 0) {
        // Another file system (a stick), or one without hard links: a copy.
        if (!copy_file(source, target)) {
            return s2d_error_set(err, S2D_ERR_IO, "%s: cannot copy to %s: %s", source, target,
                                 strerror(errno));
        }
        rep->copied++;
    }
    s2d_error why = {0};
    if (!s2d_dicomfile_read(source, &e->meta, &why)) {
        return s2d_error_set(err, why.code, "%s: %s", source, why.message);
    }
    bool deflated = strcmp(e->meta.transfer_syntax_uid, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN) == 0;
    if (!s2d_scan_values(source, e->meta.dataset_offset, deflated, s2d_dicomdir_tags(),
                         S2D_DIR_NVALUES, e->dir.values, err)) {
        return false;
    }
    // The File ID: the path's components joined by backslashes (PS3.10 8.2).
    snprintf(e->dir.file_id, sizeof e->dir.file_id, "%s", rel);
    for (char *c = e->dir.file_id; *c; c++) {
        *c = *c == '/' ? '\\' : *c;
    }
    e->dir.sop_class_uid = e->meta.sop_class_uid;
    e->dir.sop_instance_uid = e->meta.sop_instance_uid;
    e->dir.transfer_syntax_uid = e->meta.transfer_syntax_uid;
    rep->files++;
    return true;
}

// Writes the DICOMDIR of entries[0..n) to media/DICOMDIR by a rename, on disk.
static bool write_dicomdir(const char *media, const entry *entries, size_t n,
                           s2d_media_report *rep, s2d_error *err)
{
    s2d_dir_instance *list = calloc(n + 1, sizeof *list);
    if (!list) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        list[i] = entries[i].dir;
    }
    s2d_buf out = {0};
    bool ok = s2d_dicomdir_encode(list, n, &out, &rep->invented, err);
    free(list);
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/DICOMDIR", media);
    snprintf(tmp, sizeof tmp, "%s/.DICOMDIR.partial", media);
    if (ok) {
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        ok = fd >= 0 && s2d_write_all(fd, out.data, out.len) && fsync(fd) == 0;
        ok = (fd < 0 || close(fd) == 0) && ok && rename(tmp, path) == 0 && s2d_fsync_dir(media);
        if (!ok) {
            s2d_error_set(err, S2D_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
            unlink(tmp);
        }
    }
    s2d_buf_free(&out);
    return ok;
}

bool s2d_media_make(const char *media, const char *const *dirs, size_t n, s2d_media_report *rep,
                    s2d_error *err)
{
    s2d_media_report own = {0};
    rep = rep ? rep : &own;
    memset(rep, 0, sizeof *rep);
    if (!s2d_media_check(media, NULL, err)) {
        return false;
    }
    char top[4200], dicomdir[4200];
    snprintf(top, sizeof top, "%s/" TOP, media);
    snprintf(dicomdir, sizeof dicomdir, "%s/DICOMDIR", media);
    // The DICOMDIR goes first and comes back last: a folder caught between the two has
    // none, so no reader takes it for complete.
    if (!s2d_mkdirs(media) || (unlink(dicomdir) != 0 && errno != ENOENT) ||
        !remove_tree(top) || mkdir(top, 0777) != 0) {
        return s2d_error_set(err, S2D_ERR_IO, "%s: cannot make the media folder: %s", media,
                             strerror(errno));
    }
    entry *entries = NULL;
    size_t count = 0, cap = 0;
    bool ok = true;
    for (size_t k = 0; ok && k < n; k++) {
        char **paths = NULL;
        size_t npaths = 0;
        char folder[32], sub[4300];
        snprintf(folder, sizeof folder, "SL%06zu", k + 1);
        snprintf(sub, sizeof sub, "%s/%s", top, folder);
        ok = s2d_send_list_dir(dirs[k], &paths, &npaths, err);
        if (ok && (k + 1 > 999999 || npaths > 999999)) {
            ok = s2d_error_set(err, S2D_ERR_USAGE, "%s: too many folders or files for 8-character "
                               "File IDs", media);
        }
        if (ok && npaths && mkdir(sub, 0777) != 0) {
            ok = s2d_error_set(err, S2D_ERR_IO, "%s: cannot create: %s", sub, strerror(errno));
        }
        for (size_t j = 0; ok && j < npaths; j++) {
            if (count == cap) {
                cap = cap ? 2 * cap : 64;
                entry *grown = realloc(entries, cap * sizeof *entries);
                if (!grown) {
                    ok = s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
                    break;
                }
                entries = grown;
            }
            char rel[64];
            snprintf(rel, sizeof rel, TOP "/%s/IM%06zu", folder, j + 1);
            memset(&entries[count], 0, sizeof entries[count]);
            ok = add_file(media, paths[j], rel, &entries[count], rep, err);
            count += ok;
        }
        ok = ok && (!npaths || s2d_fsync_dir(sub));
        s2d_send_free_paths(paths, npaths);
    }
    if (ok && count == 0) {
        ok = s2d_error_set(err, S2D_ERR_USAGE, "%s: no DICOM files to put in a media folder",
                           media);
    }
    ok = ok && (s2d_fsync_dir(top) || s2d_error_set(err, S2D_ERR_IO, "%s: cannot write: %s",
                                                    top, strerror(errno)));
    ok = ok && write_dicomdir(media, entries, count, rep, err);
    for (size_t i = 0; i < count; i++) {
        for (int v = 0; v < S2D_DIR_NVALUES; v++) {
            free(entries[i].dir.values[v]);
        }
    }
    free(entries);
    if (!ok) {
        remove_tree(top);   // no half media folder: a later run starts afresh
    }
    return ok;
}
