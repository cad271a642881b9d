// SPDX-License-Identifier: Apache-2.0
/* Scratch files for targets whose parser reads a path: one private folder per process
 * under $TMPDIR (or /tmp), removed at exit. A campaign sets TMPDIR=/dev/shm: creating files
 * on a disk's file system costs more than most parsers (tests/fuzz/README). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static char folder[4096];
static char path[4096 + 256];

static void remove_folder(void)
{
    if (path[0]) {
        unlink(path);
    }
    rmdir(folder);
}

const char *s2d_fuzz_file(const char *name, const uint8_t *data, size_t size)
{
    if (!folder[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(folder, sizeof folder, "%s/s2d-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(folder)) {
            fprintf(stderr, "fuzz: cannot make a folder in %s: %s\n", folder, strerror(errno));
            exit(2);
        }
        atexit(remove_folder);
    }
    char wanted[sizeof path];
    snprintf(wanted, sizeof wanted, "%s/%s", folder, name);
    if (path[0] && strcmp(path, wanted) != 0) {
        unlink(path);   // one file at a time: the folder is removed empty
    }
    memcpy(path, wanted, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    size_t done = 0;
    while (fd >= 0 && done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0) {
            break;
        }
        done += (size_t)n;
    }
    if (fd < 0 || done < size || close(fd) != 0) {
        fprintf(stderr, "fuzz: cannot write %s: %s\n", path, strerror(errno));
        exit(2);
    }
    return path;
}
