// SPDX-License-Identifier: Apache-2.0
/* Append-only, crash-safe batch journal; see batch/journal.h. */
#include "batch/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fs.h"

struct s2d_journal {
    int fd;
    char *path;
    json_t *last;            // name -> latest record
    int damaged;
    bool needs_newline;      // the file ends inside a torn line
};

static bool read_records(s2d_journal *j, s2d_error *err)
{
    FILE *f = fopen(j->path, "r");
    if (!f) {
        return s2d_error_set(err, S2D_ERR_IO, "cannot read %s: %s", j->path, strerror(errno));
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        bool whole = line[len - 1] == '\n';
        j->needs_newline = !whole;
        json_t *rec = whole ? json_loads(line, 0, NULL) : NULL;
        const char *name = json_string_value(json_object_get(rec, "name"));
        if (name) {
            json_object_set(j->last, name, rec);
        } else if (len > 1 || whole == false) {
            j->damaged++;
        }
        json_decref(rec);
    }
    free(line);
    fclose(f);
    return true;
}

s2d_journal *s2d_journal_open(const char *path, s2d_error *err)
{
    s2d_journal *j = calloc(1, sizeof *j);
    if (!j || !(j->path = strdup(path)) || !(j->last = json_object())) {
        s2d_journal_close(j);
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    j->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    if (j->fd < 0) {
        s2d_error_set(err, S2D_ERR_IO, "cannot open %s: %s", path, strerror(errno));
        s2d_journal_close(j);
        return NULL;
    }
    if (!read_records(j, err)) {
        s2d_journal_close(j);
        return NULL;
    }
    return j;
}

void s2d_journal_close(s2d_journal *j)
{
    if (!j) {
        return;
    }
    if (j->fd >= 0) {
        close(j->fd);
    }
    json_decref(j->last);
    free(j->path);
    free(j);
}

json_t *s2d_journal_last(const s2d_journal *j, const char *name)
{
    return json_object_get(j->last, name);
}

int s2d_journal_damaged_lines(const s2d_journal *j)
{
    return j->damaged;
}

bool s2d_journal_append(s2d_journal *j, json_t *record, s2d_error *err)
{
    char *text = json_dumps(record, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    size_t len = strlen(text);
    // One write per record, newline included, so that concurrent readers and a crash see
    // either nothing or a prefix of it; a leading newline ends a torn line first.
    char *line = malloc(len + 3);
    bool ok = line != NULL;
    if (ok) {
        size_t n = 0;
        if (j->needs_newline) {
            line[n++] = '\n';
        }
        memcpy(line + n, text, len);
        n += len;
        line[n++] = '\n';
        ok = s2d_write_all(j->fd, line, n) && fdatasync(j->fd) == 0;
        if (!ok) {
            s2d_error_set(err, S2D_ERR_IO, "cannot write %s: %s", j->path, strerror(errno));
            j->needs_newline = true;   // part of the line may have been written
        } else {
            j->needs_newline = false;
            json_object_set(j->last, json_string_value(json_object_get(record, "name")), record);
        }
    } else {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    free(line);
    free(text);
    return ok;
}
