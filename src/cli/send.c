// SPDX-License-Identifier: Apache-2.0
/* slide2dcm send, and the sending options convert shares; see cli/send.h. */
#include "cli/send.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/options.h"
#include "cli/report.h"
#include "cli/term.h"
#include "core/clock.h"

static const char send_usage_text[] =
    "usage: slide2dcm send FILE|DIR... (--stow URL | --cstore HOST:PORT) [options]\n"
    "\n"
    "Sends DICOM Part 10 files (a directory: its .dcm files) to an archive and reports\n"
    "per instance whether it was stored. Exit status 0 only when every file was stored.\n"
    "\n"
    "  --stow URL              DICOMweb STOW-RS: the studies URL, e.g.\n"
    "                          http://orthanc:8042/dicom-web/studies\n"
    "  --cstore HOST:PORT      DIMSE C-STORE to that peer\n" S2D_SEND_USAGE
    "  --json-report FILE      every instance with its outcome, as JSON (- for standard\n"
    "                          output)\n"
    "  -q, --quiet             print only the files that were not stored\n"
    "  --version               print the versions and stop\n"
    "  -h, --help              print this text and stop\n";

void s2d_cli_print_send_usage(FILE *out)
{
    fputs(send_usage_text, out);
}

void s2d_cli_send_init(s2d_cli_send *cs)
{
    memset(cs, 0, sizeof *cs);
    s2d_send_options_init(&cs->opts);
}

void s2d_cli_send_free(s2d_cli_send *cs)
{
    if (cs->secret) {
        memset(cs->secret, 0, strlen(cs->secret));
        free(cs->secret);
        cs->secret = NULL;
    }
}

static bool parse_number(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !(v >= min && v <= max)) {
        return false;
    }
    *out = v;
    return true;
}

static bool valid_ae(const char *ae)
{
    size_t n = strlen(ae);
    if (n == 0 || n > 16) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (ae[i] < 0x20 || ae[i] > 0x7E || ae[i] == '\\') {
            return false;
        }
    }
    return true;
}

int s2d_cli_send_option(s2d_cli_send *cs, int opt, const char *arg)
{
    double v;
    switch (opt) {
    case S2D_OPT_STOW:
        if (cs->wanted) {
            return s2d_cli_usage_error("send", "give one destination: --stow or --cstore, once");
        }
        // Credentials in the URL reach libcurl only; messages and reports show it redacted.
        s2d_send_url_redacted(arg, cs->destination, sizeof cs->destination);
        if (strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8)) {
            return s2d_cli_usage_error("send", "--stow %s: give an http:// or https:// URL",
                                       cs->destination);
        }
        cs->wanted = true;
        cs->opts.protocol = S2D_SEND_STOW;
        cs->opts.stow_url = arg;
        return 0;
    case S2D_OPT_CSTORE: {
        if (cs->wanted) {
            return s2d_cli_usage_error("send", "give one destination: --stow or --cstore, once");
        }
        const char *colon = strrchr(arg, ':');
        if (!colon || colon == arg || (size_t)(colon - arg) >= sizeof cs->host ||
            !parse_number(colon + 1, 1, 65535, &v) || v != (int)v) {
            return s2d_cli_usage_error("send", "--cstore %s: give HOST:PORT", arg);
        }
        cs->wanted = true;
        memcpy(cs->host, arg, (size_t)(colon - arg));
        cs->host[colon - arg] = '\0';
        cs->opts.protocol = S2D_SEND_CSTORE;
        cs->opts.host = cs->host;
        cs->opts.port = (int)v;
        snprintf(cs->destination, sizeof cs->destination, "%s", arg);
        return 0;
    }
    case S2D_OPT_AET:
    case S2D_OPT_AEC:
        if (!valid_ae(arg)) {
            return s2d_cli_usage_error("send", "%s %s: an AE title is 1 to 16 printable characters",
                                    opt == S2D_OPT_AET ? "--aet" : "--aec", arg);
        }
        *(opt == S2D_OPT_AET ? &cs->opts.calling_aet : &cs->opts.called_aet) = arg;
        return 0;
    case S2D_OPT_BEARER_FILE: cs->bearer_file = (char *)arg; return 0;
    case S2D_OPT_BASIC_FILE: cs->basic_file = (char *)arg; return 0;
    case S2D_OPT_CACERT: cs->opts.ca_file = arg; return 0;
    case S2D_OPT_RETRIES:
        if (!parse_number(arg, 0, 100, &v) || v != (int)v) {
            return s2d_cli_usage_error("send", "--retries %s: use 0 to 100", arg);
        }
        cs->opts.retries = (int)v;
        return 0;
    case S2D_OPT_RETRY_WAIT:
        if (!parse_number(arg, 0, 3600, &v)) {
            return s2d_cli_usage_error("send", "--retry-wait %s: give seconds, 0 to 3600", arg);
        }
        cs->opts.retry_wait = v;
        return 0;
    case S2D_OPT_TIMEOUT:
        if (!parse_number(arg, 1, 86400, &v) || v != (int)v) {
            return s2d_cli_usage_error("send", "--timeout %s: give whole seconds, 1 to 86400", arg);
        }
        cs->opts.timeout = (int)v;
        return 0;
    case S2D_OPT_DEADLINE:
        if (!parse_number(arg, 1, 30 * 86400, &v)) {
            return s2d_cli_usage_error("send", "--deadline %s: give seconds, 1 to 2592000", arg);
        }
        cs->opts.deadline = v;
        return 0;
    case S2D_OPT_MAX_PDU:
        // PS3.8 allows any length; below 4 KiB only wastes headers.
        if (!parse_number(arg, 4096, 1 << 24, &v) || v != (int)v) {
            return s2d_cli_usage_error("send", "--max-pdu %s: use 4096 to 16777216", arg);
        }
        cs->opts.max_pdu = (uint32_t)v;
        return 0;
    default:
        return s2d_cli_usage_error("send", "unknown option");
    }
}

// Reads a one-line secret file; refuses files others can read, like ssh does with keys.
static char *read_secret_file(const char *path, const char *option)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "slide2dcm: %s: cannot open (%s): %s\n", path, option, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 0077)) {
        fprintf(stderr, "slide2dcm: %s: readable by others; chmod 600 it (%s)\n", path, option);
        fclose(f);
        return NULL;
    }
    char line[8192];
    if (!fgets(line, sizeof line, f)) {
        fprintf(stderr, "slide2dcm: %s: empty (%s)\n", path, option);
        fclose(f);
        return NULL;
    }
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    char *s = strdup(line);
    memset(line, 0, sizeof line);
    return s;
}

int s2d_cli_send_prepare(s2d_cli_send *cs)
{
    if (!cs->wanted) {
        return 0;
    }
    const char *bearer_env = getenv("SLIDE2DCM_BEARER_TOKEN");
    const char *basic_env = getenv("SLIDE2DCM_BASIC_AUTH");
    bool bearer = cs->bearer_file || (bearer_env && *bearer_env && !cs->basic_file);
    bool basic = cs->basic_file || (basic_env && *basic_env && !cs->bearer_file);
    if (bearer && basic) {
        return s2d_cli_usage_error("send", "give one credential: a bearer token or USER:PASSWORD");
    }
    if ((bearer || basic) && cs->opts.protocol != S2D_SEND_STOW) {
        return s2d_cli_usage_error("send", "credentials are for STOW-RS; C-STORE identifies by AE title");
    }
    if (bearer) {
        cs->secret = cs->bearer_file ? read_secret_file(cs->bearer_file, "--bearer-token-file")
                                     : strdup(bearer_env);
        cs->opts.bearer_token = cs->secret;
    } else if (basic) {
        cs->secret = cs->basic_file ? read_secret_file(cs->basic_file, "--basic-auth-file")
                                    : strdup(basic_env);
        if (cs->secret && !strchr(cs->secret, ':')) {
            fprintf(stderr, "slide2dcm: basic auth must read USER:PASSWORD\n");
            s2d_cli_send_free(cs);
            return S2D_EXIT_USAGE;
        }
        cs->opts.basic_auth = cs->secret;
    }
    return (bearer || basic) && !cs->secret ? S2D_EXIT_USAGE : S2D_EXIT_OK;
}

typedef struct print_ctx {
    bool quiet;
    s2d_cli_term term;
    uint64_t total;              // bytes of every file
    uint64_t finished;           // bytes of the files whose outcome is final
    uint64_t current;            // bytes of the file in flight sent so far
    double start, last_draw;
    const char *progress_file;   // see s2d_cli_send
    double last_file;
} print_ctx;

static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

// On a terminal: "sent 120.3 of 450.0 MB  35.2 MB/s  ETA 0:00:09", rewritten in place.
static void draw_sent(print_ctx *pc)
{
    double seconds = s2d_clock_seconds() - pc->start;
    uint64_t sent = pc->finished + pc->current;
    double rate = seconds > 0 ? (double)sent / seconds : 0;
    char eta[32] = "-", line[160];
    if (rate > 0 && sent <= pc->total) {
        s2d_cli_format_duration((double)(pc->total - sent) / rate, eta, sizeof eta);
    }
    snprintf(line, sizeof line, "sent %.1f of %.1f MB  %.1f MB/s  ETA %s", (double)sent / 1e6,
             (double)pc->total / 1e6, rate / 1e6, eta);
    s2d_cli_term_draw(&pc->term, line);
    pc->last_draw = s2d_clock_seconds();
}

// The batch's view of a sending child: bytes sent and to send.
static void write_progress(print_ctx *pc, bool now)
{
    if (pc->progress_file && (now || s2d_clock_seconds() - pc->last_file >= 0.25)) {
        pc->last_file = s2d_clock_seconds();
        s2d_cli_progress_file(pc->progress_file, "%llu %llu",
                              (unsigned long long)(pc->finished + pc->current),
                              (unsigned long long)pc->total);
    }
}

static void on_bytes(void *ctx, const char *path, uint64_t sent, uint64_t size)
{
    (void)path, (void)size;
    print_ctx *pc = ctx;
    pc->current = sent;
    write_progress(pc, false);
    if (pc->term.tty && !pc->quiet && s2d_clock_seconds() - pc->last_draw >= 0.25) {
        draw_sent(pc);
    }
}

static void print_outcome(void *ctx, const s2d_send_outcome *o)
{
    print_ctx *pc = ctx;
    // A stored file arrived whole; another counts what went out of it (none, if refused
    // before its transfer).
    bool stored = o->status == S2D_SENT_STORED || o->status == S2D_SENT_STORED_WARNING;
    pc->finished += stored ? file_size(o->path) : pc->current;
    pc->current = 0;
    write_progress(pc, true);
    if (stored) {
        if (!pc->quiet) {
            s2d_cli_term_say(&pc->term, "slide2dcm: %s: stored%s%s", o->path,
                             o->status == S2D_SENT_STORED_WARNING ? " with a warning: " : "",
                             o->status == S2D_SENT_STORED_WARNING ? o->detail : "");
        }
    } else if (o->status == S2D_SENT_NOT_ATTEMPTED) {
        // the run's error follows
        s2d_cli_term_say(&pc->term, "slide2dcm: %s: not sent", o->path);
    } else if (o->sop_instance_uid[0]) {
        s2d_cli_term_say(&pc->term, "slide2dcm: %s: not stored (SOP Instance UID %s): %s",
                         o->path, o->sop_instance_uid, o->detail);
    } else {
        s2d_cli_term_say(&pc->term, "slide2dcm: %s: not stored: %s", o->path, o->detail);
    }
}

static json_t *outcomes_json(const s2d_cli_send *cs, const s2d_send_outcome *outcomes, size_t n,
                             bool ok, const s2d_error *err)
{
    json_t *root = json_object();
    json_object_set_new(root, "destination", json_string(cs->destination));
    json_object_set_new(root, "protocol",
                        json_string(cs->opts.protocol == S2D_SEND_STOW ? "stow-rs" : "c-store"));
    json_object_set_new(root, "ok", json_boolean(ok));
    if (!ok) {
        json_object_set_new(root, "error", json_string(err->message));
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        const s2d_send_outcome *o = &outcomes[i];
        json_t *e = json_object();
        json_object_set_new(e, "path", json_string(o->path));
        json_object_set_new(e, "sop_class_uid", json_string(o->sop_class_uid));
        json_object_set_new(e, "sop_instance_uid", json_string(o->sop_instance_uid));
        json_object_set_new(e, "transfer_syntax_uid", json_string(o->transfer_syntax_uid));
        json_object_set_new(e, "bytes", json_integer((json_int_t)o->bytes));
        json_object_set_new(e, "status", json_string(s2d_send_status_name(o->status)));
        json_object_set_new(e, "attempts", json_integer(o->attempts));
        json_object_set_new(e, "detail", json_string(o->detail));
        json_array_append_new(list, e);
    }
    json_object_set_new(root, "instances", list);
    return root;
}

int s2d_cli_send_run(s2d_cli_send *cs, const char *const *paths, size_t n, bool quiet,
                     void **sent_json)
{
    s2d_send_outcome *outcomes = calloc(n ? n : 1, sizeof *outcomes);
    if (!outcomes) {
        fprintf(stderr, "slide2dcm: out of memory\n");
        return S2D_EXIT_IO;
    }
    print_ctx pc = {.quiet = quiet, .start = s2d_clock_seconds(),
                    .progress_file = cs->progress_file};
    s2d_cli_term_init(&pc.term, stderr);
    for (size_t i = 0; i < n; i++) {
        pc.total += file_size(paths[i]);
    }
    cs->opts.on_outcome = print_outcome;
    cs->opts.on_bytes = on_bytes;
    cs->opts.callback_ctx = &pc;
    s2d_error err = {0};
    bool ok = s2d_send_files(paths, n, &cs->opts, outcomes, &err);
    if (pc.term.tty && !quiet) {
        draw_sent(&pc);   // the whole run's figures, left on the screen
        s2d_cli_term_end(&pc.term, true);
    }
    size_t stored = 0;
    for (size_t i = 0; i < n; i++) {
        stored += outcomes[i].status == S2D_SENT_STORED ||
                  outcomes[i].status == S2D_SENT_STORED_WARNING;
    }
    if (!ok) {
        fprintf(stderr, "slide2dcm: %s: %s\n", cs->destination, err.message);
    } else if (!quiet) {
        fprintf(stderr, "slide2dcm: %s: %zu of %zu files stored\n", cs->destination, stored, n);
    }
    if (sent_json) {
        *sent_json = outcomes_json(cs, outcomes, n, ok, &err);
    }
    free(outcomes);
    if (!ok && err.code == S2D_OK) {
        return S2D_EXIT_NOT_STORED;
    }
    return ok ? S2D_EXIT_OK : s2d_cli_exit_status(err.code);
}

static volatile sig_atomic_t send_interrupted;

static void on_send_signal(int sig)
{
    (void)sig;
    send_interrupted = 1;
}

static bool is_directory(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int s2d_cmd_send(int argc, char **argv)
{
    s2d_cli_args args;
    s2d_cli_args_init(&args, "send");
    char shortopts[16];
    struct option *options = s2d_cli_getopt_table(S2D_OPT_SEND, shortopts);
    if (!options) {
        fprintf(stderr, "slide2dcm: out of memory\n");
        return S2D_EXIT_IO;
    }
    int c, rc = 0;
    optind = 1;
    opterr = 0;
    while (rc == 0 && !args.help && !args.version &&
           (c = getopt_long(argc, argv, shortopts, options, NULL)) != -1) {
        const s2d_cli_option *opt = s2d_cli_option_of_val(c);
        if (opt) {
            rc = opt->apply(opt, &args, optarg);
        } else if (c == ':') {
            rc = s2d_cli_usage_error("send", "%s needs a value", argv[optind - 1]);
        } else if (c == '?') {
            rc = s2d_cli_usage_error("send", "unknown option %s", argv[optind - 1]);
        } else {
            rc = s2d_cli_send_option(&args.send, c, optarg);
        }
    }
    free(options);
    if (rc || args.help || args.version) {
        if (rc == 0 && args.help) {
            fputs(send_usage_text, stdout);
        } else if (rc == 0) {
            s2d_cli_print_version(stdout);
        }
        s2d_cli_send_free(&args.send);
        return rc;
    }
    s2d_cli_send cs = args.send;   // s2d_cli_send_free(&cs) frees what it holds
    const char *report_path = args.report_path;
    bool quiet = args.quiet;
    if (!cs.wanted) {
        return s2d_cli_usage_error("send", "send needs --stow URL or --cstore HOST:PORT");
    }
    if (optind >= argc) {
        return s2d_cli_usage_error("send", "send needs FILES or a DIR");
    }
    // Directories expand to their .dcm files; files are sent as given.
    char **paths = NULL;
    size_t n = 0, cap = 0;
    int status = 0;
    for (int i = optind; i < argc && status == 0; i++) {
        char **listed = NULL;
        size_t nlisted = 0;
        s2d_error err = {0};
        if (is_directory(argv[i])) {
            if (!s2d_send_list_dir(argv[i], &listed, &nlisted, &err)) {
                fprintf(stderr, "slide2dcm: %s: %s\n", argv[i], err.message);
                status = s2d_cli_exit_status(err.code);
                break;
            }
            if (nlisted == 0) {
                fprintf(stderr, "slide2dcm: %s: no .dcm files in this directory\n", argv[i]);
                status = S2D_EXIT_FAILED;
            }
        } else if ((listed = malloc(sizeof *listed)) && (listed[0] = strdup(argv[i]))) {
            nlisted = 1;
        } else {
            free(listed);
            listed = NULL;
            status = S2D_EXIT_IO;
        }
        for (size_t k = 0; k < nlisted; k++) {
            if (n == cap) {
                cap = cap ? 2 * cap : 16;
                char **grown = realloc(paths, cap * sizeof *paths);
                if (!grown) {
                    s2d_send_free_paths(listed + k, nlisted - k);
                    listed = NULL;
                    status = S2D_EXIT_IO;
                    break;
                }
                paths = grown;
            }
            paths[n++] = listed[k];
        }
        free(listed);
    }
    if (status == 0 && (status = s2d_cli_send_prepare(&cs)) == 0) {
        struct sigaction sa = {.sa_handler = on_send_signal};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        cs.opts.interrupt = &send_interrupted;
        json_t *report = NULL;
        status = s2d_cli_send_run(&cs, (const char *const *)paths, n, quiet,
                                  report_path ? (void **)&report : NULL);
        if (report) {
            if (!s2d_cli_json_write(report, report_path)) {
                fprintf(stderr, "slide2dcm: %s: cannot write the report\n", report_path);
                status = status ? status : S2D_EXIT_IO;
            }
            json_decref(report);
        }
    }
    s2d_cli_send_free(&cs);
    s2d_send_free_paths(paths, n);
    return status;
}
