// SPDX-License-Identifier: Apache-2.0
/* slide2dcm command line: parses options (the table of cli/options.c), reports progress
 * and errors, maps errors to exit codes (1 bad input, 2 usage, 3 I/O). All conversion work
 * is in the library. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/batch.h"
#include "cli/options.h"
#include "cli/report.h"
#include "cli/send.h"
#include "cli/term.h"
#include "convert/media.h"
#include "slide2dcm/slide2dcm.h"

// Progress comes from the writer thread, warnings from any worker: the lock keeps the
// terminal's block whole.
typedef struct progress_state {
    pthread_mutex_t lock;
    s2d_cli_term term;
    bool quiet;
    double last_print;
    // --progress-file (a batch's child): the frames, rewritten a few times a second.
    const char *progress_file;
    double last_file;
} progress_state;

static void on_progress(void *ctx, const s2d_progress *p)
{
    progress_state *ps = ctx;
    bool last = p->frames_done == p->frames_total;
    if (ps->progress_file && (last || p->seconds - ps->last_file >= 0.25)) {
        ps->last_file = p->seconds;
        // What the batch reads: FRAMES_DONE FRAMES_TOTAL MEGAPIXELS.
        s2d_cli_progress_file(ps->progress_file, "%llu %llu %.3f",
                              (unsigned long long)p->frames_done,
                              (unsigned long long)p->frames_total, p->megapixels);
    }
    if (!ps->term.tty || ps->quiet || (!last && p->seconds - ps->last_print < 0.25)) {
        return;
    }
    ps->last_print = p->seconds;
    pthread_mutex_lock(&ps->lock);
    double rate = p->seconds > 0 ? (double)p->frames_done / p->seconds : 0;
    char eta[32] = "-", line[256];
    if (rate > 0) {
        s2d_cli_format_duration((double)(p->frames_total - p->frames_done) / rate, eta,
                                sizeof eta);
    }
    if (p->pages) {
        snprintf(line, sizeof line, "pages %llu/%llu  %.1f pages/s  ETA %s",
                 (unsigned long long)p->frames_done, (unsigned long long)p->frames_total, rate,
                 eta);
    } else {
        snprintf(line, sizeof line, "level %d  tiles %llu/%llu  %.0f tiles/s  ETA %s", p->level,
                 (unsigned long long)p->frames_done, (unsigned long long)p->frames_total, rate,
                 eta);
    }
    s2d_cli_term_draw(&ps->term, line);
    if (last) {
        s2d_cli_term_end(&ps->term, true);
    }
    pthread_mutex_unlock(&ps->lock);
}

static void on_warning(void *ctx, const char *message)
{
    progress_state *ps = ctx;
    if (!ps->quiet) {
        pthread_mutex_lock(&ps->lock);
        s2d_cli_term_say(&ps->term, "slide2dcm: warning: %s", message);
        pthread_mutex_unlock(&ps->lock);
    }
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

// Parses convert's command line into args; --help and --version print and stop there.
// @return 0, or the usage exit status after printing the error.
static int parse_convert(int argc, char **argv, s2d_cli_args *args)
{
    char shortopts[16];
    struct option *table = s2d_cli_getopt_table(S2D_OPT_CONVERT, shortopts);
    if (!table) {
        fprintf(stderr, "slide2dcm: out of memory\n");
        return S2D_EXIT_IO;
    }
    int c, rc = 0;
    optind = 1;
    opterr = 0;   // our own one-line messages
    while (rc == 0 && (c = getopt_long(argc, argv, shortopts, table, NULL)) != -1) {
        const s2d_cli_option *opt = s2d_cli_option_of_val(c);
        if (opt) {
            rc = opt->apply(opt, args, optarg);
        } else if (c == ':') {
            rc = s2d_cli_usage_error("", "%s needs a value", argv[optind - 1]);
        } else if (c >= S2D_OPT_SEND_FIRST && c <= S2D_OPT_SEND_LAST) {
            rc = s2d_cli_send_option(&args->send, c, optarg);
        } else {
            rc = s2d_cli_usage_error("", "unknown option %s", argv[optind - 1]);
        }
        if (rc == 0 && args->help) {
            s2d_cli_print_convert_usage(stdout);
            break;
        }
        if (rc == 0 && args->version) {
            s2d_cli_print_version(stdout);
            break;
        }
    }
    free(table);
    if (rc || args->help || args->version) {
        return rc;
    }
    if (optind != argc - 1) {
        return s2d_cli_usage_error("", "%s", optind >= argc ? "convert needs one SLIDE"
                                                            : "convert takes one SLIDE");
    }
    if (!args->output) {
        return s2d_cli_usage_error("", "%s", "convert needs -o OUTDIR");
    }
    if (args->uid_root && !args->deterministic_uids) {
        return s2d_cli_usage_error("", "%s", "--uid-root goes with --deterministic-uids");
    }
    if (args->deterministic_uids) {
        args->opts.uid_root = args->uid_root ? args->uid_root : "2.25";
    }
    return 0;
}

static int cmd_convert(int argc, char **argv)
{
    s2d_cli_args args;
    s2d_cli_args_init(&args, "");
    int rc = parse_convert(argc, argv, &args);
    if (rc || args.help || args.version) {
        s2d_cli_send_free(&args.send);
        return rc;
    }
    s2d_convert_options opts = args.opts;
    const char *outdir = args.output, *report_path = args.report_path;
    progress_state ps = {.lock = PTHREAD_MUTEX_INITIALIZER, .quiet = args.quiet,
                         .progress_file = args.progress_path};
    s2d_cli_term_init(&ps.term, stderr);
    s2d_cli_send *send = &args.send;
    const char *slide = argv[optind];
    int send_status = s2d_cli_send_prepare(send);   // credentials: fail before converting
    if (send_status) {
        return send_status;
    }
    s2d_error media_err = {0};
    if (args.dicomdir && !s2d_media_check(args.dicomdir, outdir, &media_err)) {
        s2d_cli_send_free(send);
        fprintf(stderr, "slide2dcm: %s\n", media_err.message);
        return s2d_cli_exit_status(media_err.code);
    }
    // SIGINT and SIGTERM stop the conversion through its normal failure path, which
    // removes the temporary files.
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    opts.interrupt = &interrupted;
    opts.progress = on_progress;
    opts.warn = on_warning;
    opts.callback_ctx = &ps;

    s2d_convert_report report;
    s2d_error err = {0};
    bool ok = s2d_convert(slide, outdir, &opts, &report, &err);
    s2d_cli_term_end(&ps.term, true);
    if (!ok) {
        fprintf(stderr, "slide2dcm: %s: %s\n", slide, err.message);
    }
    // Convert then send: the files of this conversion, once they are under their names.
    void *sent = NULL;
    if (ok && send->wanted) {
        char **paths = NULL;
        size_t n = 0;
        s2d_error list_err = {0};
        if (s2d_send_list_dir(outdir, &paths, &n, &list_err)) {
            send->opts.interrupt = &interrupted;
            send_status = s2d_cli_send_run(send, (const char *const *)paths, n, ps.quiet,
                                           report_path ? &sent : NULL);
            s2d_send_free_paths(paths, n);
        } else {
            fprintf(stderr, "slide2dcm: %s: %s\n", outdir, list_err.message);
            send_status = s2d_cli_exit_status(list_err.code);
        }
    }
    s2d_cli_send_free(send);
    if (report_path && !s2d_report_write(report_path, slide, outdir, ok, &report, &err, sent)) {
        fprintf(stderr, "slide2dcm: %s: cannot write the report\n", report_path);
        s2d_convert_report_free(&report);
        return ok ? S2D_EXIT_IO : s2d_cli_exit_status(err.code);
    }
    if (ok && !send_status && !ps.quiet) {
        uint64_t bytes = 0;
        for (int i = 0; i < report.nfiles; i++) {
            bytes += report.files[i].bytes;
        }
        if (report.kind[0]) {
            fprintf(stderr, "slide2dcm: %s: %s %s TIFF (%s)\n", slide,
                    strcmp(report.kind, "microscopy") ? "a plain TIFF taken for" : "a",
                    report.kind, report.kind_reason);
        }
        fprintf(stderr, "slide2dcm: %s: %d files, %.1f MB in %s, %.1f s\n", slide, report.nfiles,
                (double)bytes / 1e6, outdir, report.seconds);
    }
    s2d_convert_report_free(&report);
    // The media folder last: from the files in place, whether or not the archive took them.
    int media_status = ok && args.dicomdir ? s2d_cli_make_media(args.dicomdir, &outdir, 1, ps.quiet)
                                           : S2D_EXIT_OK;
    if (ok && send_status) {
        return send_status;
    }
    if (ok && media_status) {
        return media_status;
    }
    if (!ok && err.code == S2D_OK) {
        return S2D_EXIT_FAILED;   // a failure that forgot its reason is still a failure
    }
    return ok ? S2D_EXIT_OK : s2d_cli_exit_status(err.code);
}

static const char commands_text[] =
    "usage: slide2dcm COMMAND [options]\n"
    "\n"
    "Converts whole-slide images and other medical TIFFs into DICOM, and sends DICOM files\n"
    "to an archive.\n"
    "\n"
    "  convert SLIDE|TIFF -o OUTDIR    convert one file\n"
    "  batch INPUT -o OUTROOT          convert a folder or a CSV manifest; resumable\n"
    "  send FILE|DIR... --stow URL     send by STOW-RS (or --cstore HOST:PORT)\n"
    "  help [COMMAND]                  this text, or a command's options\n"
    "\n"
    "slide2dcm COMMAND --help (or slide2dcm help COMMAND) lists a command's options;\n"
    "slide2dcm --version names the libraries; man slide2dcm says more.\n";

// The one line a bare or mistaken command line gets (the whole text is `slide2dcm help`).
static int short_usage(const char *unknown)
{
    if (unknown) {
        fprintf(stderr, "slide2dcm: unknown command %s (slide2dcm help lists the commands)\n",
                unknown);
    } else {
        fputs("usage: slide2dcm convert|batch|send|help ... (slide2dcm help says more)\n",
              stderr);
    }
    return S2D_EXIT_USAGE;
}

// slide2dcm help [COMMAND]
static int cmd_help(int argc, char **argv)
{
    if (argc > 2) {
        return s2d_cli_usage_error("help", "%s", "help takes at most one COMMAND");
    }
    const char *topic = argc == 2 ? argv[1] : NULL;
    if (!topic) {
        fputs(commands_text, stdout);
    } else if (strcmp(topic, "convert") == 0) {
        s2d_cli_print_convert_usage(stdout);
    } else if (strcmp(topic, "batch") == 0) {
        s2d_cli_print_batch_usage(stdout);
    } else if (strcmp(topic, "send") == 0) {
        s2d_cli_print_send_usage(stdout);
    } else {
        return short_usage(topic);
    }
    return S2D_EXIT_OK;
}

int main(int argc, char **argv)
{
    // Past a file size limit, write() should fail with EFBIG and be reported as an I/O
    // error with the file removed, rather than the process being killed mid-write.
    signal(SIGXFSZ, SIG_IGN);
    const char *command = argc >= 2 ? argv[1] : NULL;
    if (!command) {
        return short_usage(NULL);
    }
    if (strcmp(command, "convert") == 0) {
        return cmd_convert(argc - 1, argv + 1);
    }
    if (strcmp(command, "batch") == 0) {
        return s2d_cli_batch(argc - 1, argv + 1);
    }
    if (strcmp(command, "send") == 0) {
        return s2d_cmd_send(argc - 1, argv + 1);
    }
    if (strcmp(command, "help") == 0) {
        return cmd_help(argc - 1, argv + 1);
    }
    if (strcmp(command, "--version") == 0) {
        s2d_cli_print_version(stdout);
        return S2D_EXIT_OK;
    }
    if (strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0) {
        fputs(commands_text, stdout);
        return S2D_EXIT_OK;
    }
    return short_usage(command);
}
