// SPDX-License-Identifier: Apache-2.0
/* The output directory, all or nothing (see outdir.h). */
#include "convert/outdir.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/diag.h"
#include "core/fs.h"

bool s2d_outdir_path(const char *outdir, const char *name, char *out, size_t n, s2d_error *err)
{
    if ((size_t)snprintf(out, n, "%s/%s", outdir, name) >= n) {
        return s2d_error_set(err, S2D_ERR_USAGE, "output directory path is too long");
    }
    return true;
}

// The folder holding target (a path without trailing slashes), into out.
static void parent_of(const char *target, char out[4096])
{
    const char *slash = strrchr(target, '/');
    if (!slash) {
        snprintf(out, 4096, ".");
    } else if (slash == target) {
        snprintf(out, 4096, "/");
    } else {
        snprintf(out, 4096, "%.*s", (int)(slash - target), target);
    }
}

// What a killed run of an earlier version left inside -o: its lock, its temporary files
// (".NAME.partial-XXXXXX") and the earlier files it had moved aside (".NAME.previous").
static bool is_leftover(const char *name)
{
    size_t n = strlen(name);
    return name[0] == '.' && (strcmp(name, ".slide2dcm.lock") == 0 || strstr(name, ".partial-") ||
                              (n > 9 && strcmp(name + n - 9, ".previous") == 0));
}

// Whether name, in the parent of -o, is a staging folder of -o's base name (or the moved
// aside folder of s2d_put_dir's fallback): ".BASE.staging-XXXXXX" and its ".old".
static bool is_staging_of(const char *name, const char *base)
{
    static const char tag[] = ".staging-";
    size_t nb = strlen(base);
    if (name[0] != '.' || strncmp(name + 1, base, nb) != 0 ||
        strncmp(name + 1 + nb, tag, sizeof tag - 1) != 0) {
        return false;
    }
    const char *suffix = name + 1 + nb + sizeof tag - 1;
    for (int i = 0; i < 6; i++) {
        if (!isalnum((unsigned char)suffix[i])) {
            return false;
        }
    }
    return suffix[6] == '\0' || strcmp(suffix + 6, ".old") == 0;
}

// Removes the staging folders that killed runs on -o left beside it: only a run holding
// the lock makes one, and this run holds it now.
static void remove_stale_staging(const char *parent, const char *base)
{
    DIR *d = opendir(parent);
    char path[4096 + 300];
    for (struct dirent *e; d && (e = readdir(d));) {
        if (is_staging_of(e->d_name, base) &&
            (size_t)snprintf(path, sizeof path, "%s/%s", parent, e->d_name) < sizeof path) {
            s2d_remove_tree(path);
        }
    }
    if (d) {
        closedir(d);
    }
}

// Looks into an existing -o: removes the leftovers of killed runs, and refuses a folder
// holding anything but an earlier conversion (always) or one holding a conversion
// (without overwrite). Replacing a folder deletes what it held.
static bool check_existing(const char *given, const char *target, const s2d_iod *iod,
                           bool overwrite, s2d_error *err)
{
    DIR *d = opendir(target);
    if (!d) {
        return s2d_error_set(err, S2D_ERR_IO, "cannot read %s: %s", given, strerror(errno));
    }
    char output[256] = "", foreign[256] = "", path[4096 + 300];
    for (struct dirent *e; (e = readdir(d));) {
        const char *name = e->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
            continue;
        }
        if (is_leftover(name)) {
            if ((size_t)snprintf(path, sizeof path, "%s/%s", target, name) < sizeof path) {
                s2d_remove_tree(path);
            }
        } else if (iod->is_output_name(name)) {
            snprintf(output, sizeof output, "%s", name);
        } else {
            snprintf(foreign, sizeof foreign, "%s", name);
        }
    }
    closedir(d);
    if (foreign[0]) {
        return s2d_error_set(err, S2D_ERR_USAGE, "%s holds files that are not a conversion's "
                             "(%s); give a new or empty folder", given, foreign);
    }
    if (output[0] && !overwrite) {
        return s2d_error_set(err, S2D_ERR_USAGE, "%s already holds a conversion (%s); use "
                             "--overwrite to replace it", given, output);
    }
    return true;
}

// A fresh ".BASE.staging-XXXXXX" beside -o, made by mkdir so that the umask gives it the
// mode a new -o would have had.
static bool make_staging(s2d_outdir *od, const char *parent, const char *base, s2d_error *err)
{
    static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec * 2654435761u ^ (uint64_t)getpid() << 20 ^ (uint64_t)ts.tv_sec;
    for (int attempt = 0; attempt < 100; attempt++) {
        char suffix[7];
        for (int i = 0; i < 6; i++) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            suffix[i] = chars[(x >> 33) % (sizeof chars - 1)];
        }
        suffix[6] = '\0';
        if ((size_t)snprintf(od->staging, sizeof od->staging, "%s/.%s.staging-%s", parent, base,
                             suffix) >= sizeof od->staging) {
            od->staging[0] = '\0';
            return s2d_error_set(err, S2D_ERR_USAGE, "output directory path is too long");
        }
        if (mkdir(od->staging, 0777) == 0) {
            return true;
        }
        if (errno != EEXIST) {
            break;
        }
    }
    int saved = errno;
    s2d_error_set(err, S2D_ERR_IO, "cannot create %s: %s", od->staging, strerror(saved));
    od->staging[0] = '\0';
    return false;
}

bool s2d_outdir_prepare(s2d_outdir *od, const char *outdir, const s2d_iod *iod, bool overwrite,
                        s2d_error *err)
{
    memset(od, 0, sizeof *od);
    od->given = outdir;
    od->lock = -1;
    struct stat st;
    bool exists = lstat(outdir, &st) == 0;
    if (exists && S_ISLNK(st.st_mode) && stat(outdir, &st) != 0) {
        return s2d_error_set(err, S2D_ERR_IO, "cannot follow %s: %s", outdir, strerror(errno));
    }
    if (exists && !S_ISDIR(st.st_mode)) {
        return s2d_error_set(err, S2D_ERR_IO, "%s is not a directory", outdir);
    }
    // An existing folder by its real path ("." and a link to a folder have a parent of
    // their own); a new one as written, without trailing slashes.
    if (exists ? !realpath(outdir, od->target)
               : (size_t)snprintf(od->target, sizeof od->target, "%s", outdir) >= sizeof od->target) {
        return s2d_error_set(err, S2D_ERR_IO, "cannot resolve %s: %s", outdir,
                             exists ? strerror(errno) : "too long");
    }
    for (size_t n = strlen(od->target); n > 1 && od->target[n - 1] == '/'; n--) {
        od->target[n - 1] = '\0';
    }
    char parent[4096];
    parent_of(od->target, parent);
    const char *slash = strrchr(od->target, '/');
    const char *base = slash ? slash + 1 : od->target;
    struct stat pst;
    if (!base[0] || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        return s2d_error_set(err, S2D_ERR_USAGE, "%s: give a folder by its name", outdir);
    }
    if (exists && stat(parent, &pst) == 0 && pst.st_dev != st.st_dev) {
        // Its contents cannot be exchanged with a folder beside it.
        return s2d_error_set(err, S2D_ERR_USAGE, "%s is a mount point; give a folder inside it",
                             outdir);
    }
    // "created if missing": its missing parents too, as mkdir -p (they stay after a failure).
    if (!exists && !s2d_mkdirs(parent)) {
        return s2d_error_set(err, S2D_ERR_IO, "cannot create %s: %s", parent, strerror(errno));
    }
    if ((size_t)snprintf(od->lock_path, sizeof od->lock_path, "%s/.%s.slide2dcm.lock", parent,
                         base) >= sizeof od->lock_path) {
        return s2d_error_set(err, S2D_ERR_USAGE, "output directory path is too long");
    }
    pid_t holder;
    if ((od->lock = s2d_lock_take(od->lock_path, &holder)) < 0) {
        if (errno != EWOULDBLOCK) {   // the parent is missing or not writable
            return s2d_error_set(err, S2D_ERR_IO, "cannot create %s: %s", outdir,
                                 strerror(errno));
        }
        return holder ? s2d_error_set(err, S2D_ERR_USAGE, "%s: another conversion (pid %ld) "
                                      "is writing into this folder", outdir, (long)holder)
                      : s2d_error_set(err, S2D_ERR_USAGE, "%s: another conversion is writing "
                                      "into this folder", outdir);
    }
    remove_stale_staging(parent, base);
    return (!exists || check_existing(outdir, od->target, iod, overwrite, err)) &&
           make_staging(od, parent, base, err);
}

bool s2d_outdir_publish(s2d_outdir *od, s2d_diag *diag, s2d_error *err)
{
    bool exchanged;
    if (!s2d_put_dir(od->staging, od->target, &exchanged)) {
        return s2d_error_set(err, S2D_ERR_IO, "cannot move the conversion into %s: %s",
                             od->given, strerror(errno));
    }
    // After an exchange the staging name holds the earlier folder.
    if (exchanged && !s2d_remove_tree(od->staging)) {
        s2d_diag_warn(diag, "cannot remove the earlier conversion (now %s): %s", od->staging,
                      strerror(errno));
    }
    od->staging[0] = '\0';
    char parent[4096];
    parent_of(od->target, parent);
    if (!s2d_fsync_dir(parent)) {
        return s2d_error_set(err, S2D_ERR_IO, "cannot flush directory %s: %s", parent,
                             strerror(errno));
    }
    return true;
}

void s2d_outdir_close(s2d_outdir *od)
{
    if (od->staging[0]) {
        s2d_remove_tree(od->staging);
        od->staging[0] = '\0';
    }
    s2d_lock_release(od->lock, od->lock_path);
    od->lock = -1;
}

const char *s2d_base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

s2d_output_file *s2d_outdir_files(const s2d_output *outputs, int noutputs, size_t *count)
{
    size_t n = 0;
    for (int i = 0; i < noutputs; i++) {
        n += s2d_part10_file_count(outputs[i].writer);
    }
    s2d_output_file *files = calloc(n ? n : 1, sizeof *files);
    if (!files) {
        return NULL;
    }
    size_t k = 0;
    for (int i = 0; i < noutputs; i++) {
        size_t nf = s2d_part10_file_count(outputs[i].writer);
        for (size_t f = 0; f < nf; f++, k++) {
            s2d_part10_file_at(outputs[i].writer, f, &files[k].info);
            files[k].output = i;
        }
    }
    *count = n;
    return files;
}

bool s2d_outdir_commit(const s2d_outdir *od, const s2d_output *outputs, int noutputs,
                       s2d_error *err)
{
    // What a failing writer leaves goes with the staging folder.
    for (int i = 0; i < noutputs; i++) {
        if (!s2d_part10_commit(outputs[i].writer, err)) {
            return false;
        }
    }
    if (!s2d_fsync_dir(od->staging)) {
        return s2d_error_set(err, S2D_ERR_IO, "cannot flush directory %s: %s", od->staging,
                             strerror(errno));
    }
    return true;
}
