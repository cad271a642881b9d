// SPDX-License-Identifier: Apache-2.0
/* The files a slide is made of; see source/fileset.h. */
#include "source/fileset.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static const char *extension(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash + 1 : path, '.');
    return dot ? dot : "";
}

bool s2d_slide_is_multifile(const char *path)
{
    const char *ext = extension(path);
    return !strcasecmp(ext, ".mrxs") || !strcasecmp(ext, ".vms") || !strcasecmp(ext, ".vmu");
}

static bool add_file(s2d_slide_files *set, const char *path, s2d_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        return s2d_error_set(err, S2D_ERR_INPUT, "cannot read %s: %s", path, strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        return s2d_error_set(err, S2D_ERR_INPUT, "%s is not a regular file", path);
    }
    s2d_slide_file *grown = realloc(set->files, (size_t)(set->n + 1) * sizeof *grown);
    if (!grown) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    set->files = grown;
    s2d_slide_file *f = &set->files[set->n];
    f->path = strdup(path);
    if (!f->path) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    f->size = (uint64_t)st.st_size;
    f->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    set->n++;
    return true;
}

// The first dirlen bytes of dir, then name; false when it does not fit.
static bool join(char *out, size_t n, const char *dir, size_t dirlen, const char *name)
{
    return (size_t)snprintf(out, n, "%.*s%s", (int)dirlen, dir, name) < n;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

// MIRAX: every file in the folder named like the .mrxs without its extension.
static bool add_mirax_folder(s2d_slide_files *set, const char *slide, s2d_error *err)
{
    char folder[4096];
    size_t len = strlen(slide) - strlen(extension(slide));
    if (len >= sizeof folder) {
        return s2d_error_set(err, S2D_ERR_INPUT, "path too long");
    }
    memcpy(folder, slide, len);
    folder[len] = '\0';
    DIR *d = opendir(folder);
    if (!d) {
        return s2d_error_set(err, S2D_ERR_INPUT, "cannot read the MIRAX folder %s: %s", folder,
                             strerror(errno));
    }
    char **names = NULL;
    size_t n = 0;
    bool ok = true;
    for (struct dirent *e; ok && (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char **grown = realloc(names, (n + 1) * sizeof *names);
        ok = grown && (grown[n] = strdup(e->d_name)) != NULL;
        if (grown) {
            names = grown;
            n += ok;
        }
    }
    closedir(d);
    if (!ok) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    qsort(names, n, sizeof *names, by_name);
    char path[4096];
    for (size_t i = 0; ok && i < n; i++) {
        ok = (size_t)snprintf(path, sizeof path, "%s/%s", folder, names[i]) < sizeof path
                 ? add_file(set, path, err)
                 : s2d_error_set(err, S2D_ERR_INPUT, "path too long in %s", folder);
    }
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    return ok;
}

// VMS/VMU key file: the image, map, optimisation and macro files it names, beside it.
static bool add_vms_companions(s2d_slide_files *set, const char *slide, s2d_error *err)
{
    static const char *const keys[] = {"ImageFile", "MapFile", "OptimisationFile", "MacroImage"};
    FILE *f = fopen(slide, "r");
    if (!f) {
        return s2d_error_set(err, S2D_ERR_INPUT, "cannot read %s: %s", slide, strerror(errno));
    }
    const char *slash = strrchr(slide, '/');
    size_t dirlen = slash ? (size_t)(slash - slide + 1) : 0;
    char line[4096], path[4096];
    char **names = NULL;
    size_t n = 0;
    bool ok = true;
    while (ok && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *eq = strchr(line, '=');
        bool wanted = false;
        for (size_t k = 0; eq && k < sizeof keys / sizeof *keys; k++) {
            wanted |= strncmp(line, keys[k], strlen(keys[k])) == 0;
        }
        if (!wanted || !eq[1]) {
            continue;
        }
        char **grown = realloc(names, (n + 1) * sizeof *names);
        ok = grown && (grown[n] = strdup(eq + 1)) != NULL;
        if (grown) {
            names = grown;
            n += ok;
        }
    }
    fclose(f);
    if (!ok) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; ok && i < n; i++) {
        if (i > 0 && strcmp(names[i], names[i - 1]) == 0) {
            continue;
        }
        if (strchr(names[i], '/')) {
            ok = s2d_error_set(err, S2D_ERR_INPUT, "%s names a file outside its folder: %s", slide,
                               names[i]);
        } else {
            ok = join(path, sizeof path, slide, dirlen, names[i])
                     ? add_file(set, path, err)
                     : s2d_error_set(err, S2D_ERR_INPUT, "path too long beside %s", slide);
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    return ok;
}

bool s2d_slide_files_list(const char *slide_path, s2d_slide_files *out, s2d_error *err)
{
    out->n = 0;
    out->files = NULL;
    const char *ext = extension(slide_path);
    bool ok = add_file(out, slide_path, err);
    if (ok && !strcasecmp(ext, ".mrxs")) {
        ok = add_mirax_folder(out, slide_path, err);
    } else if (ok && (!strcasecmp(ext, ".vms") || !strcasecmp(ext, ".vmu"))) {
        ok = add_vms_companions(out, slide_path, err);
    }
    if (!ok) {
        s2d_slide_files_free(out);
    }
    return ok;
}

