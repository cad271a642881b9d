// SPDX-License-Identifier: Apache-2.0
/* The plain driver of a fuzz target: runs every file named on the command line, or every
 * file of every folder named there, through LLVMFuzzerTestOneInput once, in name order.
 * Built with any compiler, it is how CTest replays the corpora (under ASan+UBSan in the
 * sanitizer run); a crash or sanitizer report fails the test. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

// Reads path whole into a malloc'd buffer (the caller's) of *size bytes; NULL on failure.
static uint8_t *read_whole(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    uint8_t *data = NULL;
    size_t len = 0, cap = 0, n;
    do {
        if (len == cap) {
            cap = cap ? 2 * cap : 65536;
            uint8_t *grown = realloc(data, cap);
            if (!grown) {
                free(data);
                fclose(f);
                return NULL;
            }
            data = grown;
        }
        n = fread(data + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    bool failed = ferror(f) != 0;
    fclose(f);
    if (failed) {
        free(data);
        return NULL;
    }
    *size = len;
    return data;
}

static bool replay_file(const char *path)
{
    size_t size = 0;
    uint8_t *data = read_whole(path, &size);
    if (!data) {
        fprintf(stderr, "replay: cannot read %s: %s\n", path, strerror(errno));
        return false;
    }
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    return true;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

// Replays every regular file of folder; counts them in *n.
static bool replay_folder(const char *folder, int *n)
{
    struct dirent **entries;
    int count = scandir(folder, &entries, NULL, by_name);
    if (count < 0) {
        fprintf(stderr, "replay: cannot list %s: %s\n", folder, strerror(errno));
        return false;
    }
    bool ok = true;
    for (int i = 0; i < count; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", folder, entries[i]->d_name);
        if (ok && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            ok = replay_file(path);
            *n += ok;
        }
        free(entries[i]);
    }
    free(entries);
    return ok;
}

int main(int argc, char **argv)
{
    int n = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        if (!(S_ISDIR(st.st_mode) ? replay_folder(argv[i], &n) : (n++, replay_file(argv[i])))) {
            return 1;
        }
    }
    if (n == 0) {
        fprintf(stderr, "replay: no input given\n");
        return 1;   // an empty corpus proves nothing
    }
    printf("replayed %d inputs\n", n);
    return 0;
}
