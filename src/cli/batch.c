// SPDX-License-Identifier: Apache-2.0
/* slide2dcm batch: parses the command line, makes the plan (batch/plan.c) and runs it
 * (batch/run.c), or with --list prints the plan for the Snakemake workflow. */
#include "cli/batch.h"

#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch/manifest.h"
#include "batch/plan.h"
#include "batch/run.h"
#include "cli/options.h"
#include "cli/report.h"
#include "cli/send.h"
#include "cli/term.h"
#include "convert/media.h"
#include "dicom/json_meta.h"

// Sends one converted slide, in the batch's sending child (see s2d_batch_options).
static int send_slide(void *ctx, const char *dir, const char *report_path,
                      const char *progress_path, const volatile sig_atomic_t *interrupt)
{
    s2d_cli_send *cs = ctx;
    cs->progress_file = progress_path;
    char **paths = NULL;
    size_t n = 0;
    s2d_error err = {0};
    if (!s2d_send_list_dir(dir, &paths, &n, &err)) {
        fprintf(stderr, "slide2dcm: %s: %s\n", dir, err.message);
        return s2d_cli_exit_status(err.code);
    }
    cs->opts.interrupt = interrupt;
    json_t *sent = NULL;
    int status = s2d_cli_send_run(cs, (const char *const *)paths, n, false, (void **)&sent);
    if (sent && json_dump_file(sent, report_path, JSON_COMPACT) != 0) {
        fprintf(stderr, "slide2dcm: %s: cannot write\n", report_path);
        status = status ? status : S2D_EXIT_IO;
    }
    json_decref(sent);
    s2d_send_free_paths(paths, n);
    return status;
}

// On a terminal: a line per slide in progress with its frames, then the totals, rewritten
// in place (cli/term.h).
static void print_progress(void *ctx, const s2d_batch_progress *p)
{
    s2d_cli_term *term = ctx;
    char block[S2D_TERM_BLOCK_MAX] = "", eta[32] = "-";
    size_t used = 0;
    for (int i = 0; i < p->nrunning && used < sizeof block; i++) {
        const s2d_batch_running *r = &p->running[i];
        char state[96];
        if (r->sending && r->bytes_total) {
            snprintf(state, sizeof state, "sending %.1f/%.1f MB", (double)r->bytes_sent / 1e6,
                     (double)r->bytes_total / 1e6);
        } else if (r->sending) {
            snprintf(state, sizeof state, "sending");
        } else if (r->frames_total == 0) {
            snprintf(state, sizeof state, "starting");
        } else {
            snprintf(state, sizeof state, "%llu/%llu tiles %3.0f%%",
                     (unsigned long long)r->frames_done, (unsigned long long)r->frames_total,
                     100.0 * (double)r->frames_done / (double)r->frames_total);
        }
        used += (size_t)snprintf(block + used, sizeof block - used, "  %-28s %s\n", state,
                                 r->source);
    }
    if (p->eta_seconds >= 0) {
        s2d_cli_format_duration(p->eta_seconds, eta, sizeof eta);
    }
    if (used < sizeof block) {
        snprintf(block + used, sizeof block - used,
                 "slides: %d done, %d failed, %d left  %.*f MP/s  ETA %s", p->done, p->failed,
                 p->left, p->megapixels_per_second < 10 ? 2 : 1, p->megapixels_per_second, eta);
    }
    s2d_cli_term_draw(term, block);
    if (p->final) {
        s2d_cli_term_end(term, true);
    }
}

// A line per slide that ends, on a terminal above the progress and off one alone.
static void print_finished(void *ctx, const s2d_batch_event *e)
{
    s2d_cli_term *term = ctx;
    char took[32];
    s2d_cli_format_duration(e->seconds, took, sizeof took);
    if (e->error) {
        s2d_cli_term_say(term, "slide2dcm: %s: %s: %s", e->what, e->source, e->error);
    } else if (e->megapixels > 0) {
        s2d_cli_term_say(term, "slide2dcm: %s: %s (%.1f MP in %s)", e->what, e->source,
                         e->megapixels, took);
    } else {
        s2d_cli_term_say(term, "slide2dcm: %s: %s (%s)", e->what, e->source, took);
    }
}

static void print_notice(void *ctx, const char *message)
{
    s2d_cli_term_say(ctx, "slide2dcm: %s", message);
}

static void print_summary(const s2d_batch_result *r, const s2d_batch_options *o)
{
    char reused[64] = "", unfinished[64] = "";
    if (r->already_converted) {
        snprintf(reused, sizeof reused, ", %d already converted", r->already_converted);
    }
    if (r->interrupted || r->not_run) {
        snprintf(unfinished, sizeof unfinished, ", %d interrupted, %d not run", r->interrupted,
                 r->not_run);
    }
    fprintf(stderr,
            "slide2dcm batch: %d slides: %d converted%s, %d already done, %d failed%s; "
            "%.1f MB written in %.1f s; report %s/batch-report.json\n",
            r->slides, r->converted, reused, r->already_done, r->failed, unfinished,
            r->bytes / 1e6, r->seconds, o->outroot);
    if (o->send_slide) {
        fprintf(stderr, "slide2dcm batch: sent to %s: %d sent, %d already sent, %d not stored%s\n",
                o->send_destination, r->sent, r->already_sent, r->send_failed,
                r->send_interrupted ? ", sending interrupted" : "");
    }
    for (int i = 0; i < r->nfailures && i < 12; i++) {
        fprintf(stderr, "  %s: %s: %s\n", r->failures[i].not_stored ? "not stored" : "failed",
                r->failures[i].source, r->failures[i].error);
    }
    if (r->nfailures > 12) {
        fprintf(stderr, "  ... and %d more failures in the report\n", r->nfailures - 12);
    }
    if (r->nignored) {
        fprintf(stderr, "  %d file(s) in the folder are not slides (listed in the report)\n",
                r->nignored);
    }
}

// Runs the plan, shows what happened, makes the media folder (media, when not NULL) and
// returns the exit status: the error's when the run failed as a whole, else 1 when a slide
// failed, 4 when one was not stored, else the media folder's (0 when made).
static int run_batch(const s2d_batch_plan *plan, const s2d_batch_options *o, bool quiet,
                     const char *media)
{
    s2d_cli_term term;
    s2d_cli_term_init(&term, stderr);
    s2d_batch_callbacks cb = {.progress = term.tty && !quiet ? print_progress : NULL,
                              .finished = quiet ? NULL : print_finished,
                              .notice = quiet ? NULL : print_notice, .ctx = &term};
    s2d_batch_result result;
    s2d_error err = {0};
    bool ok = s2d_batch_run(plan, o, &cb, &result, &err);
    s2d_cli_term_end(&term, true);
    if (result.ran && !quiet) {
        print_summary(&result, o);
    }
    // One media folder for every slide done, this run's and earlier ones' (not after an
    // interruption or a usage error: the run did not get through).
    int media_status = S2D_EXIT_OK;
    if (media && ok) {
        media_status = s2d_cli_make_media(media, (const char *const *)result.converted_dirs,
                                          (size_t)result.nconverted_dirs, quiet);
    }
    if (!ok && err.code != S2D_ERR_CANCELLED) {
        fprintf(stderr, "slide2dcm: %s\n", err.message);
    }
    int rc = !ok                 ? s2d_cli_exit_status(err.code)
             : result.failed      ? S2D_EXIT_FAILED
             : result.send_failed ? S2D_EXIT_NOT_STORED
                                  : media_status;
    s2d_batch_result_free(&result);
    return rc;
}

// Once per manifest column that sets nothing: a misspelt keyword must not pass unseen.
static void warn_ignored_columns(const s2d_batch_plan *plan, const char *input, bool quiet)
{
    for (int i = 0; !quiet && i < plan->nignored_columns; i++) {
        fprintf(stderr,
                "slide2dcm: warning: %s line 1, column %s: not a column slide2dcm sets; "
                "ignored (--strict-manifest refuses it)\n", input, plan->ignored_columns[i]);
    }
}

static void trim_slashes(char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') {
        path[--n] = '\0';
    }
}

static int print_plan(const s2d_batch_plan *plan, const s2d_batch_options *o)
{
    json_t *slides = json_array(), *args = json_array();
    for (int i = 0; i < o->nconvert_args; i++) {
        json_array_append_new(args, json_string(o->convert_args[i]));
    }
    for (int i = 0; i < plan->n; i++) {
        const s2d_batch_slide *s = &plan->slides[i];
        json_t *meta = s2d_batch_slide_metadata(o->metadata, s);
        // The row's option columns (--kind, --modality ...), to go before convert_args.
        json_t *row_args = json_array();
        for (int k = 0; k < s->nconvert_args; k++) {
            json_array_append_new(row_args, json_string(s->convert_args[k]));
        }
        json_array_append_new(slides, json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "name", s->name,
                                                "source", s->source, "key", s->key, "metadata",
                                                meta ? meta : json_null(), "convert_args",
                                                row_args, "error",
                                                s->error ? json_string(s->error) : json_null()));
    }
    json_t *root = json_pack("{s:o, s:o}", "convert_args", args, "slides", slides);
    bool printed = json_dumpf(root, stdout, JSON_INDENT(1)) == 0 && fputc('\n', stdout) != EOF;
    int rc = printed ? S2D_EXIT_OK : S2D_EXIT_IO;
    json_decref(root);
    return rc;
}

// Parses batch's command line into args; the convert options it forwards are rebuilt as
// "--name" [value] into o->convert_args (the names written into dashed), unchecked:
// the first slide's convert checks them. --help prints and stops there.
// @return 0, or the usage exit status after printing the error.
static int parse_batch(int argc, char **argv, s2d_cli_args *args, char (*dashed)[48],
                       s2d_batch_options *o)
{
    char shortopts[16];
    struct option *table = s2d_cli_getopt_table(S2D_OPT_BATCH | S2D_OPT_FORWARD, shortopts);
    if (!table) {
        fprintf(stderr, "slide2dcm: out of memory\n");
        return S2D_EXIT_IO;
    }
    int c, rc = 0, ndashed = 0;
    optind = 1;
    opterr = 0;
    while (rc == 0 && !args->help && !args->version &&
           (c = getopt_long(argc, argv, shortopts, table, NULL)) != -1) {
        const s2d_cli_option *opt = s2d_cli_option_of_val(c);
        if (opt && (opt->flags & S2D_OPT_FORWARD)) {
            snprintf(dashed[ndashed], sizeof *dashed, "--%s", opt->name);
            o->convert_args[o->nconvert_args++] = dashed[ndashed++];
            if (opt->arg) {
                o->convert_args[o->nconvert_args++] = optarg;
            }
        } else if (opt) {
            rc = opt->apply(opt, args, optarg);
        } else if (c == ':') {
            rc = s2d_cli_usage_error("batch", "%s needs a value", argv[optind - 1]);
        } else if (c >= S2D_OPT_SEND_FIRST && c <= S2D_OPT_SEND_LAST) {
            rc = s2d_cli_send_option(&args->send, c, optarg);
        } else {
            rc = s2d_cli_usage_error("batch", "unknown option %s", argv[optind - 1]);
        }
    }
    free(table);
    if (rc || args->help || args->version) {
        if (rc == 0 && args->help) {
            s2d_cli_print_batch_usage(stdout);
        } else if (rc == 0) {
            s2d_cli_print_version(stdout);
        }
        return rc;
    }
    if (optind != argc - 1) {
        return s2d_cli_usage_error("batch", "%s",
                                   optind >= argc
                                       ? "batch needs one INPUT (a folder or a CSV manifest)"
                                       : "batch takes one INPUT");
    }
    if (!args->output) {
        return s2d_cli_usage_error("batch", "%s", "batch needs -o OUTROOT");
    }
    return 0;
}

int s2d_cli_batch(int argc, char **argv)
{
    s2d_cli_args args;
    s2d_cli_args_init(&args, "batch");
    s2d_cli_send *send = &args.send;
    s2d_batch_options o = {0};
    // An argv element forwards at most two words ("--quality=80": "--quality", "80") and
    // one name.
    o.convert_args = calloc((size_t)argc * 2 + 1, sizeof *o.convert_args);
    char(*dashed)[48] = calloc((size_t)argc + 1, sizeof *dashed);
    if (!o.convert_args || !dashed) {
        free(o.convert_args);
        free(dashed);
        fprintf(stderr, "slide2dcm: out of memory\n");
        return S2D_EXIT_IO;
    }
    int rc = parse_batch(argc, argv, &args, dashed, &o);
    o.jobs = args.jobs;
    o.threads = args.opts.threads;
    o.force = args.force;
    const char *metadata_path = args.opts.metadata_json;
    char *outroot = args.output;
    json_t *metadata = NULL;
    if (rc == 0 && metadata_path) {
        json_error_t jerr;
        metadata = json_load_file(metadata_path, 0, &jerr);
        if (!metadata) {
            s2d_json_meta_unquote_reason(jerr.text);
            if (jerr.line > 0) {
                fprintf(stderr, "slide2dcm: %s: line %d column %d: %s\n", metadata_path,
                        jerr.line, jerr.column, jerr.text);
            } else {
                fprintf(stderr, "slide2dcm: %s: %s\n", metadata_path, jerr.text);
            }
            rc = S2D_EXIT_FAILED;
        } else if (!json_is_object(metadata)) {
            fprintf(stderr, "slide2dcm: %s: not a DICOM JSON object\n", metadata_path);
            rc = S2D_EXIT_FAILED;
        }
    }
    if (rc != 0 || args.help || args.version) {
        json_decref(metadata);
        s2d_cli_send_free(send);
        free(o.convert_args);
        free(dashed);
        return rc;
    }
    char *input = argv[optind];
    trim_slashes(input);
    trim_slashes(outroot);
    o.input = input;
    o.outroot = outroot;
    o.metadata = metadata;
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    self[len > 0 ? len : 0] = '\0';
    o.self_exe = self;

    s2d_batch_plan plan;
    s2d_error err = {0};
    bool planned = s2d_batch_plan_make(input, outroot, args.strict_manifest, &plan, &err);
    if (planned) {
        warn_ignored_columns(&plan, input, args.quiet);
    }
    if (!planned) {
        fprintf(stderr, "slide2dcm: %s\n", err.message);
        rc = s2d_cli_exit_status(err.code);
    } else if (args.list) {
        rc = print_plan(&plan, &o);
    } else if (len <= 0) {
        fprintf(stderr, "slide2dcm: cannot find its own executable to run conversions\n");
        rc = S2D_EXIT_IO;
    } else if (args.dicomdir && !s2d_media_check(args.dicomdir, outroot, &err)) {
        fprintf(stderr, "slide2dcm: %s\n", err.message);
        rc = s2d_cli_exit_status(err.code);
        err.code = S2D_OK;   // the plan was made: freed below
    } else if ((rc = s2d_cli_send_prepare(send)) == 0) {   // credentials before converting
        // The archive as the journal names it: a slide recorded "sent" there is not sent
        // again; another URL or peer gets every slide.
        char destination[sizeof send->destination + 32];
        if (send->wanted) {
            if (send->opts.protocol == S2D_SEND_CSTORE) {
                snprintf(destination, sizeof destination, "%s@%s", send->opts.called_aet,
                         send->destination);
            } else {
                snprintf(destination, sizeof destination, "%s", send->destination);
            }
            o.send_slide = send_slide;
            o.send_ctx = send;
            o.send_destination = destination;
        }
        rc = run_batch(&plan, &o, args.quiet, args.dicomdir);
    }
    if (err.code == S2D_OK) {
        s2d_batch_plan_free(&plan);
    }
    s2d_cli_send_free(send);
    json_decref(metadata);
    free(o.convert_args);
    free(dashed);
    return rc;
}
