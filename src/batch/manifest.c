// SPDX-License-Identifier: Apache-2.0
/* CSV manifest reader; see batch/manifest.h. */
#include "batch/manifest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dicom/ds.h"
#include "dicom/stains.h"

// The attributes a column may set: patient, study and specimen facts a lab keeps per
// slide. DICOM JSON needs the tag and VR, so each keyword is listed with them.
typedef struct keyword {
    const char *name;
    const char *tag;
    const char *vr;
    // The sequence whose one item holds the attribute, or NULL for a top-level one.
    const char *sequence;
} keyword;

static const keyword keywords[] = {
    {"PatientName", "00100010", "PN", NULL},
    {"PatientID", "00100020", "LO", NULL},
    {"IssuerOfPatientID", "00100021", "LO", NULL},
    {"PatientBirthDate", "00100030", "DA", NULL},
    {"PatientSex", "00100040", "CS", NULL},
    {"StudyInstanceUID", "0020000D", "UI", NULL},
    {"StudyID", "00200010", "SH", NULL},
    {"StudyDate", "00080020", "DA", NULL},
    {"StudyTime", "00080030", "TM", NULL},
    {"StudyDescription", "00081030", "LO", NULL},
    {"AccessionNumber", "00080050", "SH", NULL},
    {"ReferringPhysicianName", "00080090", "PN", NULL},
    {"InstitutionName", "00080080", "LO", NULL},
    {"InstitutionalDepartmentName", "00081040", "LO", NULL},
    {"SeriesInstanceUID", "0020000E", "UI", NULL},
    {"SeriesDescription", "0008103E", "LO", NULL},
    {"SeriesNumber", "00200011", "IS", NULL},
    {"ContainerIdentifier", "00400512", "LO", NULL},
    // The converter completes a one-item Specimen Description Sequence with its own
    // SpecimenUID and Type 2 sequences (iod/wsm.c).
    {"SpecimenIdentifier", "00400551", "LO", "00400560"},
    {"BodyPartExamined", "00180015", "CS", NULL},
    {"ClinicalTrialSponsorName", "00120010", "LO", NULL},
    {"ClinicalTrialProtocolID", "00120020", "LO", NULL},
    {"ClinicalTrialSiteID", "00120030", "LO", NULL},
    {"ClinicalTrialSubjectID", "00120040", "LO", NULL},
};

// A Modality is a code as `convert --modality` takes it: 1 to 16 capital letters, digits
// or underscores (CS).
static bool is_code(const char *value)
{
    size_t n = strlen(value);
    return n > 0 && n <= 16 && strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
}

static bool is_kind(const char *value)
{
    return !strcmp(value, "radiology") || !strcmp(value, "document") || !strcmp(value, "photo") ||
           !strcmp(value, "microscopy");
}

static bool is_stain(const char *value)
{
    s2d_staining staining;
    s2d_error err = {0};
    return s2d_staining_parse(value, &staining, &err);
}

// jansson's check: the metadata columns refuse text that is not UTF-8 the same way.
static bool is_utf8(const char *value)
{
    json_t *s = json_string(value);
    json_decref(s);
    return s != NULL;
}

// The columns that become options of the row's conversion rather than attributes: the kind
// and the Modality decide the IOD of a plain TIFF (a Modality attribute alone would not
// change it); DocumentTitle goes with them as `convert` has a flag for it, and Stain, which
// becomes a coded step of the specimen's preparation (dicom/stains.h). `convert`
// ignores them for a slide, whose IOD and Modality (SM) are fixed.
typedef struct option_column {
    const char *name;
    const char *option;
    bool (*valid)(const char *value);
    const char *expected;    // what a bad value gets told
    bool quote_value;        // a code or a word is shown in the message; a title may name
                             // a patient
} option_column;

static const option_column option_columns[] = {
    {"Modality", "--modality", is_code,
     "give a code of capital letters (CT, MR, DX, OT, DOC, XC, ES ...)", true},
    {"DocumentTitle", "--document-title", is_utf8, "it is not UTF-8 text", false},
    {"kind", "--kind", is_kind, "use radiology, document, photo or microscopy", true},
    {"Stain", "--stain", is_stain,
     "not a stain slide2dcm knows (slide2dcm convert --help lists them)", true},
};

const char *s2d_manifest_keywords(void)
{
    static char list[1024];
    if (!list[0]) {
        for (size_t i = 0; i < sizeof keywords / sizeof *keywords; i++) {
            strcat(list, i ? ", " : "");
            strcat(list, keywords[i].name);
        }
        for (size_t i = 0; i < sizeof option_columns / sizeof *option_columns; i++) {
            strcat(list, ", ");
            strcat(list, option_columns[i].name);
        }
    }
    return list;
}

// The option column named name, in any case (static), or NULL.
static const option_column *find_option_column(const char *name)
{
    for (size_t i = 0; i < sizeof option_columns / sizeof *option_columns; i++) {
        if (strcasecmp(option_columns[i].name, name) == 0) {
            return &option_columns[i];
        }
    }
    return NULL;
}

// The table entry for name, in any case (static), or NULL: LIS exports spell headers
// PATIENTID or patientId as readily as the keyword.
static const keyword *find_keyword(const char *name)
{
    for (size_t i = 0; i < sizeof keywords / sizeof *keywords; i++) {
        if (strcasecmp(keywords[i].name, name) == 0) {
            return &keywords[i];
        }
    }
    return NULL;
}

// One CSV record: fields are malloc'd strings.
typedef struct record {
    char **fields;
    int n;
} record;

static void record_clear(record *r)
{
    for (int i = 0; i < r->n; i++) {
        free(r->fields[i]);
    }
    free(r->fields);
    r->fields = NULL;
    r->n = 0;
}

static bool push_field(record *r, const char *text, size_t len)
{
    char **grown = realloc(r->fields, (size_t)(r->n + 1) * sizeof *grown);
    if (!grown) {
        return false;
    }
    r->fields = grown;
    r->fields[r->n] = strndup(text, len);
    return r->fields[r->n++] != NULL;
}

// Parses the record starting at *pos, cells separated by separator (RFC 4180 quoting);
// advances *pos and *line past it. Returns 1 for a
// record, 0 at the end of the text, -1 on a syntax error (message in err).
static int next_record(const char *text, char separator, size_t *pos, int *line, record *r,
                       char *field, const char *path, s2d_error *err)
{
    size_t i = *pos;
    if (!text[i]) {
        return 0;
    }
    int start_line = *line;
    size_t len = 0;
    bool quoted = false, was_quoted = false;
    for (;;) {
        char c = text[i];
        if (quoted) {
            if (!c) {
                s2d_error_set(err, S2D_ERR_USAGE, "%s line %d: a quoted cell is not closed",
                              path, start_line);
                return -1;
            }
            if (c == '"' && text[i + 1] == '"') {
                field[len++] = '"';
                i += 2;
            } else if (c == '"') {
                quoted = false;
                i++;
            } else {
                *line += c == '\n';
                field[len++] = c;
                i++;
            }
            continue;
        }
        if (c == '"' && len == 0 && !was_quoted) {
            quoted = was_quoted = true;
            i++;
        } else if (c == separator || c == '\n' || c == '\r' || !c) {
            if (!push_field(r, field, len)) {
                s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
                return -1;
            }
            len = 0;
            was_quoted = false;
            if (c == separator) {
                i++;
                continue;
            }
            i += c == '\r' && text[i + 1] == '\n' ? 2 : c ? 1 : 0;
            *line += c != 0;
            break;
        } else if (was_quoted) {
            s2d_error_set(err, S2D_ERR_USAGE, "%s line %d: text after a closing quote",
                          path, *line);
            return -1;
        } else {
            field[len++] = c;
            i++;
        }
    }
    *pos = i;
    return 1;
}

// The whole file, NUL-terminated, malloc'd for the caller to free; NULL with err.
static char *read_text(const char *path, size_t *size, s2d_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        s2d_error_set(err, S2D_ERR_USAGE, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *text = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = (n + 4096 + 1) * 2;
            char *grown = realloc(text, cap);
            if (!grown) {
                free(text);
                fclose(f);
                s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
                return NULL;
            }
            text = grown;
        }
        size_t got = fread(text + n, 1, 4096, f);
        n += got;
        if (got < 4096) {
            break;
        }
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad || memchr(text, '\0', n)) {
        free(text);
        s2d_error_set(err, S2D_ERR_USAGE, "%s: %s", path,
                      bad ? "cannot read it" : "not a CSV text file (it holds NUL bytes)");
        return NULL;
    }
    text[n] = '\0';
    *size = n;
    return text;
}

// A new DICOM JSON attribute for value, inside its sequence's one item when it has one
// (the caller owns the reference), or NULL.
static json_t *attribute(const keyword *kw, const char *value)
{
    json_t *v = strcmp(kw->vr, "PN") == 0 ? json_pack("{s:s}", "Alphabetic", value)
                                          : json_string(value);
    json_t *attr = json_pack("{s:s, s:[o]}", "vr", kw->vr, "Value", v);
    if (!kw->sequence) {
        return attr;
    }
    return json_pack("{s:s, s:[{s:o}]}", "vr", "SQ", "Value", kw->tag, attr);
}

// Appends the option and its checked value to the row's convert options; errors name the
// cell as "FILE line N, column NAME" (name: the header as the file spells it).
static bool add_option(s2d_manifest_row *row, const option_column *col, const char *name,
                       const char *value, const char *csv_path, s2d_error *err)
{
    if (!col->valid(value)) {
        if (!col->quote_value) {
            return s2d_error_set(err, S2D_ERR_USAGE, "%s line %d, column %s: %s", csv_path,
                                 row->line, name, col->expected);
        }
        return s2d_error_set(err, S2D_ERR_USAGE, "%s line %d, column %s: \"%.40s\": %s",
                             csv_path, row->line, name, value, col->expected);
    }
    // A column listed twice: its last cell wins, as a repeated option does.
    char **grown = realloc(row->convert_args, (size_t)(row->nconvert_args + 2) * sizeof *grown);
    if (!grown) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    row->convert_args = grown;
    char *option = row->convert_args[row->nconvert_args++] = strdup(col->option);
    char *copy = row->convert_args[row->nconvert_args++] = strdup(value);
    return (option && copy) || s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
}

// Sets the attribute of a cell in the row's metadata, after the checks a conversion makes
// of the value (its VR's length and characters): a bad cell is told here, against the
// manifest's line and column, rather than by the row's conversion against a file of ours.
// A bad value becomes the row's error (its first); false only when out of memory.
static bool add_attribute(s2d_manifest_row *row, const keyword *kw, const char *name,
                          const char *value, const char *csv_path, s2d_error *err)
{
    unsigned long tag = strtoul(kw->tag, NULL, 16);
    s2d_ds *scratch = s2d_ds_new();
    s2d_error why = {0};
    bool valid = scratch && s2d_ds_put_str(scratch, (uint32_t)tag, kw->vr, value, &why);
    s2d_ds_free(scratch);
    if (!scratch) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    if (!valid) {
        // The library's reason starts with the tag, which the column already names.
        const char *reason = why.message;
        if (reason[0] == '(' && strlen(reason) > 12 && reason[11] == ' ') {
            reason += 12;
        }
        if (why.code == S2D_ERR_NOMEM) {
            return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        }
        if (row->error) {
            return true;
        }
        size_t size = strlen(csv_path) + strlen(name) + strlen(reason) + 64;
        row->error = malloc(size);
        if (!row->error) {
            return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        }
        snprintf(row->error, size, "%s line %d, column %s: %s", csv_path, row->line, name, reason);
        return true;
    }
    if (!row->metadata && !(row->metadata = json_object())) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    json_t *attr = attribute(kw, value);
    return (attr && json_object_set_new(row->metadata, kw->sequence ? kw->sequence : kw->tag,
                                        attr) == 0) ||
           s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
}

// The cell separator, from the header line: the most frequent of ',' ';' and tab outside
// quotes (a spreadsheet saves ';' where ',' is the decimal mark; LIS exports often use tab);
// ',' when there is none, a one-column file.
static char sniff_separator(const char *text)
{
    static const char candidates[] = {',', ';', '\t'};
    int counts[3] = {0};
    bool quoted = false;
    for (const char *c = text; *c && (quoted || (*c != '\n' && *c != '\r')); c++) {
        if (*c == '"') {
            quoted = !quoted;
        }
        for (int k = 0; k < 3 && !quoted; k++) {
            counts[k] += *c == candidates[k];
        }
    }
    int best = 0;
    for (int k = 1; k < 3; k++) {
        best = counts[k] > counts[best] ? k : best;
    }
    return candidates[best];
}

// A cell as a header names a column: without the spaces around it.
static void trim(char *s)
{
    size_t start = strspn(s, " \t"), n = strlen(s);
    while (n > start && (s[n - 1] == ' ' || s[n - 1] == '\t')) {
        n--;
    }
    memmove(s, s + start, n - start);
    s[n - start] = '\0';
}

static bool blank_record(const record *r)
{
    for (int c = 0; c < r->n; c++) {
        if (r->fields[c][0]) {
            return false;
        }
    }
    return true;
}

// Records an unknown column's name, once.
static bool add_ignored(s2d_manifest *m, const char *name)
{
    for (int i = 0; i < m->nignored_columns; i++) {
        if (strcmp(m->ignored_columns[i], name) == 0) {
            return true;
        }
    }
    char **grown = realloc(m->ignored_columns, (size_t)(m->nignored_columns + 1) * sizeof *grown);
    if (!grown) {
        return false;
    }
    m->ignored_columns = grown;
    return (m->ignored_columns[m->nignored_columns] = strdup(name)) != NULL &&
           ++m->nignored_columns;
}

bool s2d_manifest_read(const char *csv_path, s2d_manifest *out, s2d_error *err)
{
    memset(out, 0, sizeof *out);
    size_t size;
    char *text = read_text(csv_path, &size, err);
    bool ok = text && s2d_manifest_parse(text, size, csv_path, out, err);
    free(text);
    return ok;
}

bool s2d_manifest_parse(const char *text, size_t size, const char *csv_path, s2d_manifest *out,
                        s2d_error *err)
{
    memset(out, 0, sizeof *out);
    char *field = malloc(size + 1);
    if (!field) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    size_t pos = strncmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    char separator = sniff_separator(text + pos);
    int line = 1, path_col = -1;
    record header = {0}, r = {0};
    const keyword **cols = NULL;
    const option_column **opt_cols = NULL;
    int got_header = next_record(text, separator, &pos, &line, &header, field, csv_path, err);
    if (got_header == 0) {
        // Nothing but perhaps a byte order mark: no record sets err, so say why here.
        s2d_error_set(err, S2D_ERR_USAGE,
                      "%s: empty: a manifest starts with a header line naming a \"path\" column",
                      csv_path);
    }
    bool ok = got_header == 1;
    if (ok) {
        cols = calloc((size_t)header.n, sizeof *cols);
        opt_cols = calloc((size_t)header.n, sizeof *opt_cols);
        ok = (cols && opt_cols) || !s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    // A column that is neither the path, an option column nor a keyword we set is the LIS's
    // own (a case number, a block): its cells are left alone, and the caller warns or, when
    // strict, refuses (s2d_manifest.ignored_columns).
    for (int c = 0; ok && c < header.n; c++) {
        char *name = header.fields[c];
        trim(name);
        if (strcasecmp(name, "path") == 0 && path_col < 0) {
            path_col = c;
        } else if (!(opt_cols[c] = find_option_column(name)) && !(cols[c] = find_keyword(name))) {
            ok = add_ignored(out, name[0] ? name : "(no name)") ||
                 s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        }
    }
    if (ok && path_col < 0) {
        ok = s2d_error_set(err, S2D_ERR_USAGE,
                           "%s line 1: the header has no \"path\" column (its cells taken as "
                           "separated by %s)", csv_path,
                           separator == '\t' ? "tabs" : separator == ';' ? "';'" : "','");
    }
    while (ok) {
        int row_line = line;
        record_clear(&r);
        int got = next_record(text, separator, &pos, &line, &r, field, csv_path, err);
        if (got <= 0) {
            ok = got == 0;
            break;
        }
        if ((r.n == 1 && !r.fields[0][0]) || (r.n == header.n && blank_record(&r))) {
            continue;   // a blank line, or a spreadsheet's row of empty cells
        }
        if (r.n != header.n) {
            ok = s2d_error_set(err, S2D_ERR_USAGE, "%s line %d: %d cells where the header has %d",
                               csv_path, row_line, r.n, header.n);
            break;
        }
        if (!r.fields[path_col][0]) {
            ok = s2d_error_set(err, S2D_ERR_USAGE, "%s line %d, column %s: the path is empty",
                               csv_path, row_line, header.fields[path_col]);
            break;
        }
        s2d_manifest_row *grown = realloc(out->rows, (size_t)(out->n + 1) * sizeof *grown);
        if (!grown) {
            ok = s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
            break;
        }
        out->rows = grown;
        s2d_manifest_row *row = &out->rows[out->n++];
        row->line = row_line;
        row->path = strdup(r.fields[path_col]);
        row->metadata = NULL;
        row->convert_args = NULL;
        row->nconvert_args = 0;
        row->error = NULL;
        for (int c = 0; ok && c < r.n; c++) {
            if (c == path_col || !r.fields[c][0]) {
                continue;
            }
            if (opt_cols[c]) {
                ok = add_option(row, opt_cols[c], header.fields[c], r.fields[c], csv_path, err);
            } else if (cols[c]) {
                ok = add_attribute(row, cols[c], header.fields[c], r.fields[c], csv_path, err);
            }
        }
        ok = ok && (row->path || !s2d_error_set(err, S2D_ERR_NOMEM, "out of memory"));
    }
    record_clear(&r);
    record_clear(&header);
    free(cols);
    free(opt_cols);
    free(field);
    if (ok && out->n == 0) {
        ok = s2d_error_set(err, S2D_ERR_USAGE, "%s lists no slides", csv_path);
    }
    if (!ok) {
        s2d_manifest_free(out);
    }
    return ok;
}

void s2d_manifest_free(s2d_manifest *m)
{
    for (int i = 0; i < m->n; i++) {
        free(m->rows[i].path);
        json_decref(m->rows[i].metadata);
        for (int k = 0; k < m->rows[i].nconvert_args; k++) {
            free(m->rows[i].convert_args[k]);
        }
        free(m->rows[i].convert_args);
        free(m->rows[i].error);
    }
    free(m->rows);
    for (int i = 0; i < m->nignored_columns; i++) {
        free(m->ignored_columns[i]);
    }
    free(m->ignored_columns);
    memset(m, 0, sizeof *m);
}
