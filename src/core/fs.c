// SPDX-License-Identifier: Apache-2.0
/* See core/fs.h. */
#define _GNU_SOURCE   // renameat2, nftw
#include "core/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

const char *s2d_special_file_kind(mode_t mode)
{
    return S_ISDIR(mode)    ? "a directory"
           : S_ISFIFO(mode) ? "a named pipe"
           : S_ISCHR(mode)  ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
           : S_ISSOCK(mode) ? "a socket"
                            : "a special file";
}

bool s2d_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    bool ok = fsync(fd) == 0;
    int saved = errno;
    close(fd);
    errno = saved;
    return ok;
}

bool s2d_mkdirs(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return false;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                return false;
            }
            *p = '/';
        }
    }
    struct stat st;
    if (mkdir(buf, 0777) == 0) {
        return true;
    }
    if (errno != EEXIST) {
        return false;
    }
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;   // a file holds the name
        return false;
    }
    return true;
}

bool s2d_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = EIO;
            }
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

bool s2d_pwrite_all(int fd, const void *buf, size_t len, uint64_t offset)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)offset);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = EIO;
            }
            return false;
        }
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return true;
}

ssize_t s2d_pread_full(int fd, void *buf, size_t len, uint64_t offset)
{
    char *p = buf;
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, p + done, len - done, (off_t)(offset + done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -1;
        }
        if (n == 0) {
            break;   // the end of the file
        }
        done += (size_t)n;
    }
    return (ssize_t)done;
}

// The id the holder of lock file fd wrote, 0 when there is none yet.
static pid_t lock_holder(int fd)
{
    char text[32];
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    text[n > 0 ? n : 0] = '\0';
    long pid = strtol(text, NULL, 10);
    return pid > 0 ? (pid_t)pid : 0;
}

// 1 when open file fd is the file at path, 0 when path is gone or another file, -1 with
// errno set when that cannot be told.
static int still_at(int fd, const char *path)
{
    struct stat held, current;
    if (fstat(fd, &held) != 0) {
        return -1;
    }
    if (stat(path, &current) != 0) {
        return errno == ENOENT ? 0 : -1;
    }
    return held.st_dev == current.st_dev && held.st_ino == current.st_ino;
}

int s2d_lock_take(const char *path, pid_t *holder)
{
    *holder = 0;
    for (;;) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0) {
            return -1;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int saved = errno;
            if (saved == EWOULDBLOCK) {
                *holder = lock_holder(fd);
            }
            close(fd);
            errno = saved;
            return -1;
        }
        // A holder that released meanwhile removed the file we opened: the lock of a
        // removed file excludes nobody, so lock the one now at path instead.
        int same = still_at(fd, path);
        if (same == 0) {
            close(fd);
            continue;
        }
        char text[32];
        int len = snprintf(text, sizeof text, "%ld\n", (long)getpid());
        if (same == 1 && ftruncate(fd, 0) == 0 && s2d_pwrite_all(fd, text, (size_t)len, 0)) {
            return fd;
        }
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
}

void s2d_lock_release(int lock, const char *path)
{
    if (lock >= 0) {
        unlink(path);
        close(lock);
    }
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)ftw;
    return (type == FTW_DP ? rmdir(path) : unlink(path)) != 0 && errno != ENOENT;
}

bool s2d_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        return errno == ENOENT;
    }
    if (!S_ISDIR(st.st_mode)) {
        return unlink(path) == 0;
    }
    return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0;
}

bool s2d_put_dir(const char *from, const char *to, bool *exchanged)
{
    struct stat st;
    *exchanged = lstat(to, &st) == 0;
    if (!*exchanged) {
        return rename(from, to) == 0;
    }
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_EXCHANGE) == 0) {
        return true;
    }
    if (errno != EINVAL && errno != ENOSYS) {
        return false;
    }
    // A file system without exchange: a short window in which to is missing.
    char old[PATH_MAX + 8];
    if ((size_t)snprintf(old, sizeof old, "%s.old", from) >= sizeof old) {
        errno = ENAMETOOLONG;
        return false;
    }
    return rename(to, old) == 0 && rename(from, to) == 0 && rename(old, from) == 0;
}

