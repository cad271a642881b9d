// SPDX-License-Identifier: Apache-2.0
/* Batch planning: folder walk, manifest rows, output names; see batch/plan.h. */
#include "batch/plan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch/manifest.h"
#include "core/fingerprint.h"
#include "core/sha256.h"
#include "source/fileset.h"
#include "source/source.h"

void s2d_batch_output_name(const char *key, char out[S2D_BATCH_NAME_MAX])
{
    const char *slash = strrchr(key, '/');
    const char *base = slash ? slash + 1 : key;
    const char *dot = strrchr(base, '.');
    size_t stem = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    size_t n = 0;
    for (size_t i = 0; i < stem && n < 60; i++) {
        unsigned char c = (unsigned char)base[i];
        bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '+' || c == '-';
        if (n == 0 && (c == '.' || c == '-')) {
            safe = false;
        }
        out[n++] = safe ? (char)c : '_';
    }
    if (n == 0) {
        out[n++] = '_';
    }
    uint8_t digest[32];
    char hex[65];
    s2d_sha256 h;
    s2d_sha256_init(&h);
    s2d_sha256_update(&h, key, strlen(key));
    s2d_sha256_final(&h, digest);
    s2d_hex(digest, 5, hex);
    snprintf(out + n, S2D_BATCH_NAME_MAX - n, "-%s", hex);
}

json_t *s2d_batch_slide_metadata(const json_t *batch_metadata, const s2d_batch_slide *slide)
{
    if (!batch_metadata && !slide->metadata) {
        return NULL;
    }
    // Copies: the result shares nothing with the plan or the options.
    json_t *m = batch_metadata ? json_deep_copy(batch_metadata) : json_object();
    json_t *columns = slide->metadata ? json_deep_copy(slide->metadata) : NULL;
    if (!m || (slide->metadata && !columns)) {
        json_decref(m);
        json_decref(columns);
        return NULL;   // out of memory
    }
    if (!columns) {
        return m;
    }
    static const char specimens[] = "00400560";   // Specimen Description Sequence
    json_t *base = json_object_get(json_object_get(m, specimens), "Value");
    json_t *row = json_object_get(json_object_get(columns, specimens), "Value");
    if (json_array_size(base) == 1 && json_array_size(row) == 1) {
        json_object_update(json_array_get(base, 0), json_array_get(row, 0));
        json_object_del(columns, specimens);
    }
    json_object_update(m, columns);
    json_decref(columns);
    return m;
}

static bool fits(int printed, size_t size)
{
    return printed >= 0 && (size_t)printed < size;
}

typedef struct strlist {
    char **items;
    int n;
} strlist;

static bool strlist_add(strlist *l, const char *s)
{
    char **grown = realloc(l->items, (size_t)(l->n + 1) * sizeof *grown);
    if (!grown) {
        return false;
    }
    l->items = grown;
    return (l->items[l->n] = strdup(s)) != NULL && ++l->n;
}

static void strlist_free(strlist *l)
{
    for (int i = 0; i < l->n; i++) {
        free(l->items[i]);
    }
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

// Every regular file under dir (relative paths, sorted). Hidden entries are left out
// (.DS_Store, ._ resource forks, our own staging); links to folders are not followed, so
// a loop cannot trap the walk; skip is never entered.
static bool walk(const char *root, const char *rel, const struct stat *skip, strlist *files,
                 s2d_error *err)
{
    char dir[PATH_MAX];
    if (!fits(snprintf(dir, sizeof dir, "%s%s%s", root, rel[0] ? "/" : "", rel), sizeof dir)) {
        return s2d_error_set(err, S2D_ERR_USAGE, "%s/%s: path too long", root, rel);
    }
    DIR *d = opendir(dir);
    if (!d) {
        return s2d_error_set(err, S2D_ERR_USAGE, "cannot read folder %s: %s", dir, strerror(errno));
    }
    strlist names = {0};
    bool ok = true;
    for (struct dirent *e; ok && (e = readdir(d)) != NULL;) {
        if (e->d_name[0] != '.') {
            ok = strlist_add(&names, e->d_name);
        }
    }
    closedir(d);
    if (!ok) {
        strlist_free(&names);
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    qsort(names.items, (size_t)names.n, sizeof *names.items, by_string);
    for (int i = 0; ok && i < names.n; i++) {
        char path[PATH_MAX], sub[PATH_MAX];
        struct stat lst, st;
        if (!fits(snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", names.items[i]),
                  sizeof sub) ||
            !fits(snprintf(path, sizeof path, "%s/%s", root, sub), sizeof path)) {
            ok = s2d_error_set(err, S2D_ERR_USAGE, "%s/%s: path too long", dir, names.items[i]);
            break;
        }
        if (lstat(path, &lst) != 0) {
            continue;   // vanished meanwhile
        }
        if (S_ISDIR(lst.st_mode)) {
            if (!(skip && lst.st_dev == skip->st_dev && lst.st_ino == skip->st_ino)) {
                ok = walk(root, sub, skip, files, err);
            }
        } else if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            ok = strlist_add(files, sub) || s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        }
    }
    strlist_free(&names);
    return ok;
}

// Adds a slide with copies of what it is given (args: nargs convert options, may be NULL;
// error: a reason it fails without converting, or NULL).
static bool add_slide(s2d_batch_plan *plan, const char *source, const char *key, json_t *metadata,
                      char *const *args, int nargs, int line, const char *error)
{
    s2d_batch_slide *grown = realloc(plan->slides, (size_t)(plan->n + 1) * sizeof *grown);
    if (!grown) {
        return false;
    }
    plan->slides = grown;
    s2d_batch_slide *s = &plan->slides[plan->n++];
    memset(s, 0, sizeof *s);
    s->source = strdup(source);
    s->key = strdup(key);
    s->metadata = metadata ? json_incref(metadata) : NULL;
    s->line = line;
    if (error && !(s->error = strdup(error))) {
        return false;
    }
    s2d_batch_output_name(key, s->name);
    if (nargs > 0) {
        if (!(s->convert_args = calloc((size_t)nargs, sizeof *s->convert_args))) {
            return false;
        }
        for (; s->nconvert_args < nargs; s->nconvert_args++) {
            if (!(s->convert_args[s->nconvert_args] = strdup(args[s->nconvert_args]))) {
                return false;
            }
        }
    }
    return s->source && s->key;
}

static bool plan_folder(const char *input, const struct stat *skip, s2d_batch_plan *plan,
                        s2d_error *err)
{
    strlist files = {0};
    if (!walk(input, "", skip, &files, err)) {
        strlist_free(&files);
        return false;
    }
    // Sorted as whole paths, for the lookups below and a stable order of the slides.
    qsort(files.items, (size_t)files.n, sizeof *files.items, by_string);
    // First the multi-file slides, so that their companion files are not taken as slides.
    char *taken = calloc((size_t)files.n + 1, 1);
    bool ok = taken != NULL;
    char path[PATH_MAX];
    for (int i = 0; ok && i < files.n; i++) {
        if (!s2d_slide_is_multifile(files.items[i])) {
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", input, files.items[i]);
        s2d_slide_files set;
        s2d_error ignore = {0};
        if (!s2d_slide_files_list(path, &set, &ignore)) {
            continue;   // the conversion will report what is missing
        }
        for (int k = 1; k < set.n; k++) {
            const char *rel = set.files[k].path + strlen(input) + 1;
            char **hit = bsearch(&rel, files.items, (size_t)files.n, sizeof *files.items, by_string);
            if (hit) {
                taken[hit - files.items] = 1;
            }
        }
        s2d_slide_files_free(&set);
    }
    strlist ignored = {0};
    for (int i = 0; ok && i < files.n; i++) {
        if (taken[i]) {
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", input, files.items[i]);
        ok = s2d_source_sniff(path) ? add_slide(plan, path, files.items[i], NULL, NULL, 0, 0, NULL)
                                    : strlist_add(&ignored, path);
    }
    free(taken);
    strlist_free(&files);
    plan->ignored = ignored.items;
    plan->nignored = ignored.n;
    return ok || s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
}

static bool plan_manifest(const char *input, bool strict, s2d_batch_plan *plan, s2d_error *err)
{
    s2d_manifest m;
    if (!s2d_manifest_read(input, &m, err)) {
        return false;
    }
    if (strict && m.nignored_columns) {
        s2d_error_set(err, S2D_ERR_USAGE,
                      "%s line 1, column %s: not a column slide2dcm sets (--strict-manifest); "
                      "use path or one of: %s", input, m.ignored_columns[0],
                      s2d_manifest_keywords());
        s2d_manifest_free(&m);
        return false;
    }
    // The plan takes the list over.
    plan->ignored_columns = m.ignored_columns;
    plan->nignored_columns = m.nignored_columns;
    m.ignored_columns = NULL;
    m.nignored_columns = 0;
    // Relative paths are relative to the manifest's folder, wherever the command runs.
    const char *slash = strrchr(input, '/');
    int dirlen = slash ? (int)(slash - input) : 1;
    const char *dir = slash ? input : ".";
    bool ok = true;
    for (int i = 0; ok && i < m.n; i++) {
        const s2d_manifest_row *row = &m.rows[i];
        char path[PATH_MAX];
        if (row->path[0] == '/') {
            snprintf(path, sizeof path, "%s", row->path);
        } else {
            snprintf(path, sizeof path, "%.*s/%s", dirlen, dir, row->path);
        }
        ok = add_slide(plan, path, row->path, row->metadata, row->convert_args,
                       row->nconvert_args, row->line, row->error);
    }
    s2d_manifest_free(&m);
    return ok || s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
}

// The same file twice (two manifest rows, or two spellings of one path) would be
// converted twice into two folders: the later ones fail with the reason instead; and two
// keys whose names collide (a 40-bit hash) get the later one refused too.
static bool mark_duplicates(s2d_batch_plan *plan)
{
    char **real = calloc((size_t)plan->n + 1, sizeof *real);
    if (!real) {
        return false;
    }
    for (int i = 0; i < plan->n; i++) {
        s2d_batch_slide *s = &plan->slides[i];
        real[i] = realpath(s->source, NULL);
        char msg[PATH_MAX + 64];
        msg[0] = '\0';
        for (int k = 0; k < i && !msg[0]; k++) {
            if (real[i] && real[k] && strcmp(real[i], real[k]) == 0) {
                snprintf(msg, sizeof msg, "the same slide as %s, listed before", plan->slides[k].key);
            } else if (strcmp(s->name, plan->slides[k].name) == 0) {
                snprintf(msg, sizeof msg, "output name %s is already taken by %s", s->name,
                         plan->slides[k].key);
            }
        }
        if (msg[0] && !s->error) {
            s->error = strdup(msg);
        }
    }
    for (int i = 0; i < plan->n; i++) {
        free(real[i]);
    }
    free(real);
    return true;
}

bool s2d_batch_plan_make(const char *input, const char *skip_dir, bool strict_manifest,
                         s2d_batch_plan *plan, s2d_error *err)
{
    memset(plan, 0, sizeof *plan);
    struct stat st, skip;
    if (stat(input, &st) != 0) {
        return s2d_error_set(err, S2D_ERR_USAGE, "%s: %s", input, strerror(errno));
    }
    bool have_skip = skip_dir && stat(skip_dir, &skip) == 0;
    bool ok;
    if (S_ISDIR(st.st_mode)) {
        ok = plan_folder(input, have_skip ? &skip : NULL, plan, err);
    } else if (s2d_source_sniff(input)) {
        ok = s2d_error_set(err, S2D_ERR_USAGE,
                           "%s is a slide; batch takes a folder or a CSV manifest "
                           "(slide2dcm convert takes one slide)", input);
    } else {
        ok = plan_manifest(input, strict_manifest, plan, err);
    }
    ok = ok && (mark_duplicates(plan) || s2d_error_set(err, S2D_ERR_NOMEM, "out of memory"));
    if (!ok) {
        s2d_batch_plan_free(plan);
    }
    return ok;
}

void s2d_batch_plan_free(s2d_batch_plan *plan)
{
    for (int i = 0; i < plan->n; i++) {
        free(plan->slides[i].source);
        free(plan->slides[i].key);
        free(plan->slides[i].error);
        json_decref(plan->slides[i].metadata);
        for (int k = 0; k < plan->slides[i].nconvert_args; k++) {
            free(plan->slides[i].convert_args[k]);
        }
        free(plan->slides[i].convert_args);
    }
    free(plan->slides);
    for (int i = 0; i < plan->nignored; i++) {
        free(plan->ignored[i]);
    }
    free(plan->ignored);
    for (int i = 0; i < plan->nignored_columns; i++) {
        free(plan->ignored_columns[i]);
    }
    free(plan->ignored_columns);
    memset(plan, 0, sizeof *plan);
}
