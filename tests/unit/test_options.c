// SPDX-License-Identifier: Apache-2.0
/* The option table of src/cli/options.c against what users read: every option of convert
 * and batch appears in its --help, (convert's) in README.md's option table, and every
 * option of every command in the man page; nothing appears there that the table lacks
 * (test hooks included); and its "changes the pixels" flags against the library's rule,
 * s2d_convert_pixel_settings(), the seed of deterministic UIDs.
 * Usage: test_options README.md slide2dcm.1 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"
#include "harness.h"

static const struct option shared_send[] = {S2D_SEND_SHARED_OPTIONS};

// Whether "--name" occurs in text as a whole option name.
static bool mentions(const char *text, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = strstr(text, "--"); p; p = strstr(p + 1, "--")) {
        if (strncmp(p + 2, name, len) == 0 &&
            !(isalnum((unsigned char)p[2 + len]) || p[2 + len] == '-')) {
            return true;
        }
    }
    return false;
}

static const s2d_cli_option *row_named(const char *name, size_t len)
{
    for (size_t i = 0; i < s2d_cli_noptions; i++) {
        if (strlen(s2d_cli_options[i].name) == len &&
            strncmp(s2d_cli_options[i].name, name, len) == 0) {
            return &s2d_cli_options[i];
        }
    }
    return NULL;
}

static bool is_shared_send(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof shared_send / sizeof *shared_send; i++) {
        if (strlen(shared_send[i].name) == len && strncmp(shared_send[i].name, name, len) == 0) {
            return true;
        }
    }
    return false;
}

// Every "--name" in text is a row with any of flags, or (when allowed) a shared sending
// option; what is not is printed.
static int unknown_names(const char *text, unsigned flags, bool sending_allowed, const char *where)
{
    int unknown = 0;
    for (const char *p = strstr(text, "--"); p; p = strstr(p + 2, "--")) {
        const char *name = p + 2;
        size_t len = 0;
        while (isalnum((unsigned char)name[len]) || name[len] == '-') {
            len++;
        }
        if (len == 0 || !isalpha((unsigned char)name[0])) {
            continue;
        }
        const s2d_cli_option *row = row_named(name, len);
        // A hidden row (a test hook) counts as unknown: users are not to read about it.
        bool known = row && (row->flags & flags) && !(row->flags & S2D_OPT_HIDDEN);
        if (!known && !(sending_allowed && is_shared_send(name, len))) {
            fprintf(stderr, "%s names --%.*s, which the option table does not give it\n", where,
                    (int)len, name);
            unknown++;
        }
    }
    return unknown;
}

// Every row with any of flags is mentioned in text.
static int missing_names(const char *text, unsigned flags, const char *where)
{
    int missing = 0;
    for (size_t i = 0; i < s2d_cli_noptions; i++) {
        const s2d_cli_option *row = &s2d_cli_options[i];
        if ((row->flags & flags) && !(row->flags & S2D_OPT_HIDDEN) && !mentions(text, row->name)) {
            fprintf(stderr, "%s lacks --%s\n", where, row->name);
            missing++;
        }
    }
    return missing;
}

typedef void (*usage_fn)(FILE *out);

// The usage text as a string; the caller frees it.
static char *usage_text(usage_fn print)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    print(f);
    fclose(f);
    return text;
}

// README.md's table of convert options: the table rows ("| `--...") between "## Using it"
// and the next section. The caller frees it.
static char *readme_convert_table(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return NULL;
    }
    char *table = NULL, line[4096];
    size_t size = 0;
    FILE *out = open_memstream(&table, &size);
    bool inside = false;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "## ", 3) == 0) {
            // The convert options: the slides' table, the plain TIFFs' and microscopy's.
            inside = strncmp(line, "## Using it", 11) == 0 ||
                     strncmp(line, "## Plain TIFFs", 14) == 0 ||
                     strncmp(line, "## Microscopy", 13) == 0;
        } else if (inside && strncmp(line, "| `-", 4) == 0) {
            fputs(line, out);
        }
    }
    fclose(out);
    fclose(f);
    return table;
}

static void test_table_is_consistent(void)
{
    for (size_t i = 0; i < s2d_cli_noptions; i++) {
        const s2d_cli_option *a = &s2d_cli_options[i];
        for (size_t k = i + 1; k < s2d_cli_noptions; k++) {
            const s2d_cli_option *b = &s2d_cli_options[k];
            CHECK(strcmp(a->name, b->name) != 0);
            CHECK(!a->short_name || a->short_name != b->short_name);
        }
        CHECK(a->apply != NULL);
        CHECK(!(a->flags & S2D_OPT_CONVERT) || a->help);
        CHECK(!(a->flags & S2D_OPT_BATCH) || a->batch_help);
        // A forwarded option is convert's, and batch cannot also act on it itself.
        CHECK(!(a->flags & S2D_OPT_FORWARD) || (a->flags & S2D_OPT_CONVERT));
        CHECK(!((a->flags & S2D_OPT_FORWARD) && (a->flags & S2D_OPT_BATCH)));
        // batch's settings key hashes the forwarded options: one that changes the pixels
        // and were not forwarded would be missed by it.
        CHECK(!(a->flags & S2D_OPT_PIXELS) || (a->flags & S2D_OPT_FORWARD));
    }
}

static void test_convert_help(void)
{
    char *text = usage_text(s2d_cli_print_convert_usage);
    CHECK(missing_names(text, S2D_OPT_CONVERT, "convert --help") == 0);
    // Its synopsis of `send` names send's destinations.
    CHECK(unknown_names(text, S2D_OPT_CONVERT | S2D_OPT_DESTINATION, true, "convert --help") == 0);
    for (size_t i = 0; i < sizeof shared_send / sizeof *shared_send; i++) {
        CHECK(mentions(text, shared_send[i].name));
    }
    free(text);
}

static void test_batch_help(void)
{
    char *text = usage_text(s2d_cli_print_batch_usage);
    CHECK(missing_names(text, S2D_OPT_BATCH | S2D_OPT_FORWARD, "batch --help") == 0);
    // "see slide2dcm convert --help" names convert's --help, which batch has too.
    CHECK(unknown_names(text, S2D_OPT_BATCH | S2D_OPT_FORWARD, true, "batch --help") == 0);
    free(text);
}

// A value each option accepts; an option taking a value not listed here gets "X".
static const char *const samples[][2] = {
    {"tile-size", "512"}, {"quality", "80"}, {"subsampling", "444"}, {"levels", "2"},
    {"threads", "2"}, {"jobs", "2"}, {"mpp", "0.25"}, {"patient-birth-date", "20000101"},
    {"patient-sex", "F"}, {"study-date", "20240101"}, {"uid-root", "1.2.3"},
    {"max-instance-size", "500M"}, {"eot-threshold", "1000"},
    {"send-stow", "http://pacs/studies"}, {"stow", "http://pacs/studies"},
    {"send-cstore", "pacs:104"}, {"cstore", "pacs:104"}, {"kind", "radiology"},
    {"modality", "CT"}, {"codec", "rle"}, {"pages", "instances"}, {"as", "pdf"}, {"window", "40,400"},
    {"pixel-spacing", "0.5,0.5"}, {"conversion-type", "DF"}, {"burned-in-annotation", "no"},
    {"body-part", "CHEST"},
    {"z", "series"},
    {"z-spacing", "2.5"}, {"max-replaced", "5"},
    {"t", "2"}, {"stain", "H&E"}, {"associated-series", "separate"},
};

static char *sample(const s2d_cli_option *opt)
{
    for (size_t i = 0; i < sizeof samples / sizeof *samples; i++) {
        if (strcmp(samples[i][0], opt->name) == 0) {
            return (char *)samples[i][1];
        }
    }
    return opt->arg ? (char *)"X" : NULL;
}

// An option changes s2d_convert_pixel_settings() exactly when its row says it changes
// the pixels.
static void test_pixel_flags(void)
{
    s2d_cli_args defaults;
    s2d_cli_args_init(&defaults, "");
    char before[320], after[320];
    s2d_convert_pixel_settings(&defaults.opts, before, sizeof before);
    for (size_t i = 0; i < s2d_cli_noptions; i++) {
        const s2d_cli_option *opt = &s2d_cli_options[i];
        s2d_cli_args args;
        s2d_cli_args_init(&args, "");
        int rc = opt->apply(opt, &args, sample(opt));
        s2d_convert_pixel_settings(&args.opts, after, sizeof after);
        bool changed = strcmp(before, after) != 0;
        if (rc != 0 || changed != ((opt->flags & S2D_OPT_PIXELS) != 0)) {
            fprintf(stderr, "--%s %s: exit %d, pixel settings %s -> %s, flagged %s\n", opt->name,
                    sample(opt) ? sample(opt) : "", rc, before, after,
                    opt->flags & S2D_OPT_PIXELS ? "pixels" : "not pixels");
        }
        CHECK(rc == 0);
        CHECK(changed == ((opt->flags & S2D_OPT_PIXELS) != 0));
        s2d_cli_send_free(&args.send);
    }
    s2d_cli_send_free(&defaults.send);
}

// The string is the seed of deterministic UIDs: a byte changed is every such UID changed.
static void test_pixel_settings_string(void)
{
    s2d_convert_options o;
    s2d_convert_options_init(&o);
    char text[160];
    CHECK(s2d_convert_pixel_settings(&o, text, sizeof text) == 28);
    CHECK(strcmp(text, "tile=0/q=90/420/halving/copy") == 0);
    o.tile_size = 512;
    o.quality = 80;
    o.subsampling_444 = true;
    o.keep_source_levels = true;
    o.reencode = true;
    o.max_instance_bytes = 500u << 20;
    s2d_convert_pixel_settings(&o, text, sizeof text);
    CHECK(strcmp(text, "tile=512/q=80/444/source-levels/reencode/max-instance=524288000") == 0);
    // Cut short, it still says how long it is and stays terminated.
    char small[20];
    CHECK(s2d_convert_pixel_settings(&o, small, sizeof small) == (int)strlen(text));
    CHECK(strcmp(small, "tile=512/q=80/444/s") == 0);
}

static const char *readme_path;

static void test_readme(void)
{
    char *table = readme_convert_table(readme_path);
    CHECK(table && *table);
    if (table) {
        CHECK(missing_names(table, S2D_OPT_CONVERT, "README.md's convert options") == 0);
        CHECK(unknown_names(table, S2D_OPT_CONVERT, false, "README.md's convert options") == 0);
    }
    free(table);
}

static const char *man_path;

// The man page with its troff escapes for a hyphen ("\-") made plain hyphens, so that
// "\-\-tile\-size" reads "--tile-size". The caller frees it.
static char *man_page_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return NULL;
    }
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    for (int c; (c = fgetc(f)) != EOF;) {
        if (c == '\\') {
            int next = fgetc(f);
            if (next != '-') {
                fputc(c, out);
            }
            c = next;
            if (c == EOF) {
                break;
            }
        }
        fputc(c, out);
    }
    fclose(out);
    fclose(f);
    return text;
}

static void test_man_page(void)
{
    char *text = man_page_text(man_path);
    CHECK(text && *text);
    if (text) {
        const unsigned every = S2D_OPT_CONVERT | S2D_OPT_BATCH | S2D_OPT_FORWARD | S2D_OPT_SEND;
        CHECK(missing_names(text, every, "the man page") == 0);
        CHECK(unknown_names(text, every, true, "the man page") == 0);
        for (size_t i = 0; i < sizeof shared_send / sizeof *shared_send; i++) {
            CHECK(mentions(text, shared_send[i].name));
        }
        // send --help's options (its own text, not the table's) are there too.
        char *send_help = usage_text(s2d_cli_print_send_usage);
        for (const char *p = strstr(send_help, "--"); p; p = strstr(p + 2, "--")) {
            size_t len = strspn(p + 2, "abcdefghijklmnopqrstuvwxyz-");
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)len, p + 2);
            if (len && !mentions(text, name)) {
                fprintf(stderr, "the man page lacks send's --%s\n", name);
                CHECK(false);
            }
        }
        free(send_help);
    }
    free(text);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_options README.md slide2dcm.1\n");
        return 2;
    }
    readme_path = argv[1];
    man_path = argv[2];
    RUN(test_table_is_consistent);
    RUN(test_convert_help);
    RUN(test_batch_help);
    RUN(test_readme);
    RUN(test_man_page);
    RUN(test_pixel_flags);
    RUN(test_pixel_settings_string);
    return harness_failures != 0;
}
