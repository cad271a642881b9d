/* The output directory as a transaction (see outdir.h). */
#include "convert/outdir.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static void free_names(char **names)
{
    for (size_t i = 0; names && names[i]; i++) {
        free(names[i]);
    }
    free(names);
}

// The slide2dcm files in the output directory, as a NULL-terminated array of names (NULL
// with err set when the directory cannot be read).
static char **list_outputs(const char *outdir, const s2d_iod *iod, s2d_error *err)
{
    DIR *d = opendir(outdir);
    if (!d) {
        s2d_error_set(err, S2D_ERR_IO, "cannot read %s: %s", outdir, strerror(errno));
        return NULL;
    }
    char **names = calloc(1, sizeof *names);
    size_t n = 0;
    struct dirent *e;
    while (names && (e = readdir(d))) {
        if (!iod->is_output_name(e->d_name)) {
            continue;
        }
        char **grown = realloc(names, (n + 2) * sizeof *names);
        if (grown) {
            names = grown;
        }
        char *copy = grown ? strdup(e->d_name) : NULL;
        if (!copy) {
            free_names(names);
            names = NULL;
            break;
        }
        names[n++] = copy;
        names[n] = NULL;
    }
    closedir(d);
    if (!names) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    return names;
}

// Hidden, like the temporary files: no output name, nothing `send` picks up.
static const char LOCK_NAME[] = ".slide2dcm.lock";

// Two conversions writing one folder at once would leave a mix of both: the second one
// is refused while the first holds the folder's lock. Refuses to mix with an earlier
// conversion unless asked to replace it.
bool s2d_outdir_prepare(const char *outdir, const s2d_iod *iod, bool overwrite, bool *created,
                        int *lock, s2d_error *err)
{
    *lock = -1;
    if (mkdir(outdir, 0777) == 0) {
        *created = true;
    } else if (errno != EEXIST) {
        return s2d_error_set(err, S2D_ERR_IO, "cannot create %s: %s", outdir, strerror(errno));
    }
    struct stat st;
    if (stat(outdir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return s2d_error_set(err, S2D_ERR_IO, "%s is not a directory", outdir);
    }
    char path[4096];
    pid_t holder;
    if (!s2d_outdir_path(outdir, LOCK_NAME, path, sizeof path, err)) {
        return false;
    }
    if ((*lock = s2d_lock_take(path, &holder)) < 0) {
        if (errno != EWOULDBLOCK) {
            return s2d_error_set(err, S2D_ERR_IO, "cannot create %s: %s", path, strerror(errno));
        }
        return holder ? s2d_error_set(err, S2D_ERR_USAGE, "%s: another conversion (pid %ld) "
                                      "is writing into this folder", outdir, (long)holder)
                      : s2d_error_set(err, S2D_ERR_USAGE, "%s: another conversion is writing "
                                      "into this folder", outdir);
    }
    if (overwrite) {
        return true;
    }
    char **names = list_outputs(outdir, iod, err);
    if (names && names[0]) {
        s2d_error_set(err, S2D_ERR_USAGE,
                      "%s already holds a conversion (%s); use --overwrite to replace it",
                      outdir, names[0]);
    }
    free_names(names);
    return err->code == S2D_OK;
}

void s2d_outdir_unlock(const char *outdir, int lock)
{
    char path[4096];
    if (lock >= 0 && s2d_outdir_path(outdir, LOCK_NAME, path, sizeof path, NULL)) {
        s2d_lock_release(lock, path);
    }
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

// After success with --overwrite: files of an earlier, larger conversion would mix in
// (a level-7 from a bigger slide, parts of a level now written whole, ...).
void s2d_outdir_remove_stale(const char *outdir, const s2d_iod *iod, const s2d_output *outputs,
                             int noutputs, s2d_diag *diag)
{
    size_t nfiles = 0;
    s2d_output_file *files = s2d_outdir_files(outputs, noutputs, &nfiles);
    char **names = files ? list_outputs(outdir, iod, NULL) : NULL;
    char path[4096];
    for (size_t i = 0; names && names[i]; i++) {
        bool ours = false;
        for (size_t k = 0; k < nfiles && !ours; k++) {
            ours = strcmp(s2d_base_name(files[k].info.final_path), names[i]) == 0;
        }
        if (!ours && s2d_outdir_path(outdir, names[i], path, sizeof path, NULL) &&
            unlink(path) != 0 && errno != ENOENT) {
            s2d_diag_warn(diag, "cannot remove %s from an earlier conversion: %s", path,
                     strerror(errno));
        }
    }
    if (!names) {
        s2d_diag_warn(diag, "cannot list %s to remove files of an earlier conversion", outdir);
    }
    free_names(names);
    free(files);
}

// The hidden name an earlier conversion's file is moved to while ours go into place.
static bool backup_path(const char *outdir, const char *final_path, char *out, size_t n,
                        s2d_error *err)
{
    char hidden[300];
    snprintf(hidden, sizeof hidden, ".%s.previous", s2d_base_name(final_path));
    return s2d_outdir_path(outdir, hidden, out, n, err);
}

// Puts every finished file under its final name. Files of an earlier conversion that are
// replaced (--overwrite) are first moved aside, so a failure part way puts them back and
// leaves the directory as it was.
bool s2d_outdir_commit(const char *outdir, const s2d_output *outputs, int noutputs,
                       s2d_diag *diag, s2d_error *err)
{
    char backup[4096];
    size_t nfiles = 0;
    s2d_output_file *files = s2d_outdir_files(outputs, noutputs, &nfiles);
    bool *backed_up = calloc(nfiles ? nfiles : 1, sizeof *backed_up);
    if (!files || !backed_up) {
        free(files);
        free(backed_up);
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    int n = noutputs, committed = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < nfiles; i++) {
        const char *final_path = files[i].info.final_path;
        ok = backup_path(outdir, final_path, backup, sizeof backup, err);
        if (ok && access(final_path, F_OK) == 0) {
            if (rename(final_path, backup) != 0) {
                ok = s2d_error_set(err, S2D_ERR_IO, "cannot move %s aside: %s", final_path,
                                   strerror(errno));
            } else {
                backed_up[i] = true;
            }
        }
    }
    // A writer commits all its files or none.
    while (ok && committed < n && s2d_part10_commit(outputs[committed].writer, err)) {
        committed++;
    }
    ok = ok && committed == n;
    for (size_t i = 0; i < nfiles; i++) {
        const char *final_path = files[i].info.final_path;
        if (!backup_path(outdir, final_path, backup, sizeof backup, NULL)) {
            continue;
        }
        if (!ok && files[i].output < committed) {
            unlink(final_path);   // ours, from this failed run
        }
        if (backed_up[i] && (ok ? unlink(backup) : rename(backup, final_path)) != 0) {
            s2d_diag_warn(diag, "cannot %s %s: %s", ok ? "remove" : "restore", backup,
                     strerror(errno));
        }
    }
    free(files);
    free(backed_up);
    if (ok && !s2d_fsync_dir(outdir)) {
        ok = s2d_error_set(err, S2D_ERR_IO, "cannot flush directory %s: %s", outdir,
                           strerror(errno));
    }
    return ok;
}
