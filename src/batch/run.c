// SPDX-License-Identifier: Apache-2.0
/* Batch runner; see batch/run.h.
 *
 * Isolation: every slide is converted by a child process running our own binary's
 * `convert`, so a crash or a leak in a reader library (OpenSlide, libtiff, a codec) on one
 * bad slide costs that slide only. Children die with the batch (PR_SET_PDEATHSIG).
 *
 * Crash safety: a child writes into OUTROOT/.staging/<name>; only a complete conversion is
 * moved to OUTROOT/<name>, by one rename (an exchange when an older conversion is there),
 * and only then is "done" appended to the journal. Killed at any moment, a run leaves at
 * worst a staging folder (removed by the next run) or a finished folder the journal does
 * not call done (converted again by the next run): never a partial file under a final
 * name, and never a slide wrongly skipped.
 *
 * Sending (--send-stow / --send-cstore): after the commit and the "done" record, a second
 * child (forked, running the send library through o->send_slide) sends the slide's files;
 * "sent" or "send-failed" is journaled with the counts. Each of those records repeats the
 * conversion's fields, so the latest record alone tells a re-run both whether the
 * conversion is intact and whether this archive has the slide: a failed or killed send is
 * retried without converting again. */
#define _GNU_SOURCE
#include "batch/run.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "batch/journal.h"
#include "core/clock.h"
#include "core/cpu.h"
#include "core/exit_status.h"
#include "core/fingerprint.h"
#include "core/fs.h"
#include "core/sha256.h"
#include "iod/iod.h"
#include "source/fileset.h"

// What happened to a slide's conversion in this run. INTERRUPTED stays last (counts[]).
typedef enum outcome {
    PENDING,
    RUNNING,
    SENDING,                     // converted (now or before), its files being sent
    CONVERTED,
    ALREADY_CONVERTED,           // an intact earlier conversion, sent in this run
    ALREADY_DONE,                // converted and (when sending) stored before: skipped
    FAILED,
    INTERRUPTED,
} outcome;

static const char *const outcome_names[] = {"not run", "running", "sending", "converted",
                                            "already converted", "already done", "failed",
                                            "interrupted"};

// What happened to sending a slide, when the batch sends.
typedef enum send_result {
    NOT_SENT,                    // not converted, or the run stopped first
    SENT,
    SEND_FAILED,
    SEND_INTERRUPTED,
    ALREADY_SENT,
} send_result;

static const char *const send_result_names[] = {"not sent", "sent", "failed", "interrupted",
                                                "already sent"};

typedef struct slide_state {
    const s2d_batch_slide *slide;
    outcome outcome;
    char *error;
    json_t *result;              // the "done" record: files, levels, frames, bytes, seconds
    json_t *metadata;            // merged DICOM JSON for this slide, or NULL
    s2d_slide_files files;
    char change[65], fingerprint[65], settings[65];
    pid_t pid;
    int slot;
    char stage[4200], log[4300], report[4300], meta[4300];
    char progress[4300];         // the converter's frames (--progress-file), when shown
    uint64_t frames_done, frames_total;   // as last read from it
    double megapixels;           // level 0's, as the converter reports it
    double started;              // s2d_clock_seconds() when its conversion or send started
    bool send_only;              // its conversion is intact: only sending is left to do
    send_result send;
    json_t *send_counts;         // {destination, stored, failed, not_attempted}, or NULL
    char *send_error;
    char send_log[4300], send_report[4300], send_progress[4300];
    uint64_t bytes_sent, bytes_total;   // as last read from send_progress
    json_t *warning_messages;    // the converter's warning lines of this run, or NULL
} slide_state;

typedef struct batch {
    const s2d_batch_options *o;
    const s2d_batch_plan *plan;
    slide_state *states;
    s2d_journal *journal;
    char staging[4096];
    int cores;
    bool *slot_busy;
    int running;
    bool stop_launching;         // interrupted, or the options are unusable
    bool usage_error;
    bool io_error;
    char io_message[1200];
    const s2d_batch_callbacks *cb;   // never NULL
    double t0;                   // s2d_clock_seconds() at the start
    double megapixels;           // converted in this run
    int finished;                // converted or failed in this run
    double converting_seconds;   // wall time of the slides converted in this run
    int converted;               // their count
    s2d_batch_running *running_view;   // o->jobs entries, for the progress callback
} batch;

static volatile sig_atomic_t interrupted;

static void on_stop_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void on_wakeup_signal(int sig)
{
    (void)sig;   // SIGCHLD and SIGALRM only end sigsuspend
}

// Test hook: S2D_BATCH_CRASH_AT=POINT:N kills the batch with SIGKILL the N-th time it
// reaches POINT (started, converted, committed, journaled), to test recovery at exact spots.
static void crash_point(const char *point)
{
    static int hits;
    const char *spec = getenv("S2D_BATCH_CRASH_AT");
    size_t len = strlen(point);
    if (spec && strncmp(spec, point, len) == 0 && spec[len] == ':' &&
        ++hits == atoi(spec + len + 1)) {
        raise(SIGKILL);
    }
}

static void set_error(slide_state *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(slide_state *s, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    free(s->error);
    s->error = strdup(msg);
}

static void io_failure(batch *b, const s2d_error *err)
{
    if (!b->io_error) {
        snprintf(b->io_message, sizeof b->io_message, "%s", err->message);
    }
    b->io_error = true;
    b->stop_launching = true;
}

static void utc_now(char when[32])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

// A new journal record (the caller owns the reference), or NULL when out of memory.
static json_t *record(const slide_state *s, const char *event)
{
    char when[32];
    utc_now(when);
    return json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "v", 1, "time", when, "name",
                     s->slide->name, "source", s->slide->source, "event", event, "change",
                     s->change, "fingerprint", s->fingerprint, "settings", s->settings);
}

static void journal(batch *b, json_t *rec)
{
    s2d_error err = {0};
    if (!rec) {
        s2d_error_set(&err, S2D_ERR_NOMEM, "out of memory");
        io_failure(b, &err);
    } else if (!s2d_journal_append(b->journal, rec, &err)) {
        io_failure(b, &err);
    }
    json_decref(rec);
}

// Tells the caller that a slide's conversion or sending ended (s2d_batch_event).
static void announce(const batch *b, const slide_state *s, const char *what, const char *error,
                     double megapixels)
{
    if (b->cb->finished) {
        s2d_batch_event e = {.source = s->slide->source, .what = what, .error = error,
                             .seconds = s->started > 0 ? s2d_clock_seconds() - s->started : 0,
                             .megapixels = megapixels};
        b->cb->finished(b->cb->ctx, &e);
    }
}

// A "failed" or "interrupted" record with the reason, also told to the caller.
static void journal_outcome(batch *b, const slide_state *s, const char *event)
{
    json_t *rec = record(s, event);
    if (rec) {
        json_object_set_new(rec, "error", json_string(s->error ? s->error : ""));
    }
    journal(b, rec);
    bool failed = strcmp(event, "failed") == 0;
    announce(b, s, event, failed ? (s->error ? s->error : "") : NULL, 0);
}

// What changes a slide's output besides its files: the forwarded options, its metadata
// and its manifest row's options (kind, Modality: a plain TIFF's IOD). A journal "done"
// made with other settings does not count. The archive sent to is not part of it: adding
// --send-stow to a finished batch sends the slides, it does not convert them again.
static void settings_key(const batch *b, const slide_state *s, char out[65])
{
    s2d_sha256 h;
    s2d_sha256_init(&h);
    for (int i = 0; i < b->o->nconvert_args; i++) {
        s2d_sha256_update(&h, b->o->convert_args[i], strlen(b->o->convert_args[i]) + 1);
    }
    char *meta = s->metadata ? json_dumps(s->metadata, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (meta) {
        s2d_sha256_update(&h, meta, strlen(meta));
    }
    free(meta);
    // Only when there are some, so that the keys journaled before row options existed hold.
    const s2d_batch_slide *slide = s->slide;
    static const char row_options[] = "\0row options";
    if (slide->nconvert_args) {
        s2d_sha256_update(&h, row_options, sizeof row_options);
    }
    for (int i = 0; i < slide->nconvert_args; i++) {
        s2d_sha256_update(&h, slide->convert_args[i], strlen(slide->convert_args[i]) + 1);
    }
    uint8_t digest[32];
    s2d_sha256_final(&h, digest);
    s2d_hex(digest, sizeof digest, out);
}

// The files a "done" record lists are all in OUTROOT/<name>, with their sizes.
static bool outputs_present(const batch *b, const slide_state *s, const json_t *rec)
{
    char dir[4096], path[4300];
    snprintf(dir, sizeof dir, "%s/%s", b->o->outroot, s->slide->name);
    struct stat st;
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return false;
    }
    const json_t *files = json_object_get(rec, "files");
    size_t i;
    const json_t *f;
    if (!json_array_size(files)) {
        return false;
    }
    json_array_foreach(files, i, f) {
        const char *name = json_string_value(json_object_get(f, "name"));
        json_int_t size = json_integer_value(json_object_get(f, "size"));
        snprintf(path, sizeof path, "%s/%s", dir, name ? name : "");
        if (!name || strchr(name, '/') || lstat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
            st.st_size != size) {
            return false;
        }
    }
    return true;
}

static bool event_is(const json_t *rec, const char *event)
{
    const char *e = json_string_value(json_object_get(rec, "event"));
    return e && strcmp(e, event) == 0;
}

// The conversion that rec (the slide's latest record) describes is still good: the slide
// was converted ("done", or a send tried after it), from the same files with the same
// settings, and every output file is in place.
static bool conversion_intact(const batch *b, const slide_state *s, const json_t *rec)
{
    const char *change = json_string_value(json_object_get(rec, "change"));
    const char *settings = json_string_value(json_object_get(rec, "settings"));
    return (event_is(rec, "done") || event_is(rec, "sent") || event_is(rec, "send-failed")) &&
           change && strcmp(change, s->change) == 0 && settings &&
           strcmp(settings, s->settings) == 0 && outputs_present(b, s, rec);
}

// rec says this conversion was stored by this run's archive.
static bool sent_here(const batch *b, const json_t *rec)
{
    const char *dest = json_string_value(json_object_get(json_object_get(rec, "send"),
                                                         "destination"));
    return event_is(rec, "sent") && dest && strcmp(dest, b->o->send_destination) == 0;
}

static void prepare(batch *b, slide_state *s)
{
    const s2d_batch_slide *slide = s->slide;
    s->metadata = s2d_batch_slide_metadata(b->o->metadata, slide);
    settings_key(b, s, s->settings);
    s2d_error err = {0};
    if (slide->error || !s2d_slide_files_list(slide->source, &s->files, &err)) {
        s->outcome = FAILED;
        set_error(s, "%s", slide->error ? slide->error : err.message);
        journal_outcome(b, s, "failed");
        return;
    }
    s2d_slide_change_key(&s->files, s->change);
    json_t *last = s2d_journal_last(b->journal, slide->name);
    if (!b->o->force && conversion_intact(b, s, last)) {
        s->result = json_incref(last);
        const char *fp = json_string_value(json_object_get(s->result, "fingerprint"));
        snprintf(s->fingerprint, sizeof s->fingerprint, "%s", fp ? fp : "");
        if (!b->o->send_slide) {
            s->outcome = ALREADY_DONE;
        } else if (sent_here(b, last)) {
            s->outcome = ALREADY_DONE;
            s->send = ALREADY_SENT;
            s->send_counts = json_incref(json_object_get(last, "send"));
        } else {
            s->send_only = true;   // stays PENDING until its turn to send
        }
    }
}

static int threads_for_slot(const batch *b, int slot)
{
    if (b->o->threads > 0) {
        return b->o->threads;
    }
    int share = b->cores / b->o->jobs + (slot < b->cores % b->o->jobs ? 1 : 0);
    return share > 0 ? share : 1;
}

static void record_send(batch *b, slide_state *s, const char *why);

// Starts a child process that dies with the batch (PR_SET_PDEATHSIG), with stdin and stdout
// on /dev/null, stderr into log_path, no descriptor of the batch's beyond those three, and
// the default signal handlers and no signal blocked (a body that wants to poll `interrupted`
// installs on_stop_signal itself). It runs body(ctx) and exits with the status body returns.
// Returns the child's pid, or -1 with errno set.
static pid_t spawn_child(const char *log_path, int (*body)(void *ctx), void *ctx)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0) {
        return pid;
    }
    // The batch's handlers and mask are not the child's.
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    signal(SIGALRM, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) {
        _exit(S2D_EXIT_CHILD_ORPHANED);
    }
    // O_CLOEXEC: dup2's copies below are the only ones an exec'd program inherits.
    int log = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (log < 0 || null < 0) {
        _exit(S2D_EXIT_CHILD_SETUP);
    }
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    // _exit: the batch's stdio buffers and atexit handlers are the parent's.
    _exit(body(ctx));
}

typedef struct send_child {
    const batch *b;
    const char *dir;
    const slide_state *s;
} send_child;

// SIGINT and SIGTERM set the flag the send library polls (it aborts the transfer and
// returns 130); one that comes before the handler is in place kills the child, which the
// batch takes as an interrupted send too.
static int run_send(void *ctx)
{
    const send_child *c = ctx;
    struct sigaction stop = {.sa_handler = on_stop_signal};
    sigemptyset(&stop.sa_mask);
    sigaction(SIGINT, &stop, NULL);
    sigaction(SIGTERM, &stop, NULL);
    return c->b->o->send_slide(c->b->o->send_ctx, c->dir, c->s->send_report,
                               c->s->send_progress[0] ? c->s->send_progress : NULL, &interrupted);
}

// Starts sending OUTROOT/<name> (converted, committed and journaled "done", or intact from
// an earlier run) in a child process. The child is a fork, not an exec: it runs the send
// library through o->send_slide with the credentials already read, and exits.
static void launch_send(batch *b, slide_state *s, int slot)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", b->o->outroot, s->slide->name);
    snprintf(s->send_log, sizeof s->send_log, "%s/%s.send.log", b->staging, s->slide->name);
    snprintf(s->send_report, sizeof s->send_report, "%s/%s.send.json", b->staging,
             s->slide->name);
    if (b->cb->progress) {
        snprintf(s->send_progress, sizeof s->send_progress, "%s/%s.send-progress", b->staging,
                 s->slide->name);
    }
    send_child c = {.b = b, .dir = dir, .s = s};
    pid_t pid = spawn_child(s->send_log, run_send, &c);
    if (pid < 0) {
        char why[256];
        snprintf(why, sizeof why, "cannot start sending: %s", strerror(errno));
        record_send(b, s, why);
        return;
    }
    s->pid = pid;
    s->slot = slot;
    s->started = s2d_clock_seconds();
    s->outcome = SENDING;
    b->slot_busy[slot] = true;
    b->running++;
    crash_point("sending");
}

typedef struct convert_child {
    const s2d_batch_options *o;
    const slide_state *s;
    const char **argv;
} convert_child;

// The converter is our own binary's `convert`, exec'd: a crash or a leak in a reader
// library costs the child only.
static int run_convert(void *ctx)
{
    const convert_child *c = ctx;
    execv(c->o->self_exe, (char *const *)c->argv);
    // The batch reads the reason from the log, as it would the converter's.
    dprintf(STDERR_FILENO, "slide2dcm: %s: cannot run %s: %s\n", c->s->slide->source,
            c->o->self_exe, strerror(errno));
    return S2D_EXIT_CHILD_SETUP;
}

static void launch(batch *b, slide_state *s, int slot)
{
    const s2d_batch_options *o = b->o;
    s2d_error err = {0};
    if (s->send_only) {
        launch_send(b, s, slot);
        return;
    }
    if (!s2d_slide_fingerprint(&s->files, s->fingerprint, &err)) {
        s->outcome = FAILED;
        set_error(s, "%s", err.message);
        journal_outcome(b, s, "failed");
        return;
    }
    snprintf(s->stage, sizeof s->stage, "%s/%s", b->staging, s->slide->name);
    snprintf(s->log, sizeof s->log, "%s.log", s->stage);
    snprintf(s->report, sizeof s->report, "%s.report.json", s->stage);
    snprintf(s->meta, sizeof s->meta, "%s.metadata.json", s->stage);
    snprintf(s->progress, sizeof s->progress, "%s.progress", s->stage);
    if (s->metadata && json_dump_file(s->metadata, s->meta, JSON_COMPACT) != 0) {
        s2d_error_set(&err, S2D_ERR_IO, "cannot write %s", s->meta);
        io_failure(b, &err);
        return;
    }
    journal(b, record(s, "started"));
    if (b->io_error) {
        return;
    }
    char threads[16];
    snprintf(threads, sizeof threads, "%d", threads_for_slot(b, slot));
    const char **argv = calloc((size_t)(o->nconvert_args + s->slide->nconvert_args) + 16,
                               sizeof *argv);
    if (!argv) {
        s2d_error_set(&err, S2D_ERR_NOMEM, "out of memory");
        io_failure(b, &err);
        return;
    }
    int n = 0;
    argv[n++] = o->self_exe;
    argv[n++] = "convert";
    // The row's options first: the batch's own flags, later, win over them (the last of a
    // repeated option counts), as they win over the row's attribute columns.
    for (int i = 0; i < s->slide->nconvert_args; i++) {
        argv[n++] = s->slide->convert_args[i];
    }
    for (int i = 0; i < o->nconvert_args; i++) {
        argv[n++] = o->convert_args[i];
    }
    if (s->metadata) {
        argv[n++] = "--metadata";
        argv[n++] = s->meta;
    }
    argv[n++] = "--threads";
    argv[n++] = threads;
    argv[n++] = "--json-report";
    argv[n++] = s->report;
    if (b->cb->progress) {
        argv[n++] = "--progress-file";
        argv[n++] = s->progress;
    }
    argv[n++] = "-o";
    argv[n++] = s->stage;
    argv[n++] = "--";   // a slide path may start with '-'
    argv[n++] = s->slide->source;
    argv[n] = NULL;

    convert_child c = {.o = o, .s = s, .argv = argv};
    pid_t pid = spawn_child(s->log, run_convert, &c);
    free(argv);
    if (pid < 0) {
        s->outcome = FAILED;
        set_error(s, "cannot start a conversion: %s", strerror(errno));
        journal_outcome(b, s, "failed");
        return;
    }
    s->pid = pid;
    s->slot = slot;
    s->started = s2d_clock_seconds();
    s->outcome = RUNNING;
    b->slot_busy[slot] = true;
    b->running++;
    crash_point("started");
}

// The reason the converter gave: its last "slide2dcm: ..." line that is not a warning,
// without the "slide2dcm: SLIDE: " prefix the report already says, and naming what the
// staging metadata file was made from rather than that file.
static void reason_from_log(const batch *b, slide_state *s, int status)
{
    char line[2048], last[2048] = "";
    FILE *f = fopen(s->log, "r");
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, "slide2dcm: ", 11) == 0 && strncmp(line, "slide2dcm: warning: ", 20)) {
            snprintf(last, sizeof last, "%s", line + 11);
        }
    }
    if (f) {
        fclose(f);
    }
    size_t len = strlen(s->slide->source);
    const char *reason = last;
    if (strncmp(reason, s->slide->source, len) == 0 && strncmp(reason + len, ": ", 2) == 0) {
        reason += len + 2;
    }
    // The metadata file is ours, made from the manifest row and --metadata: the reason
    // names what the user wrote instead.
    const char *meta = s->meta[0] ? strstr(reason, s->meta) : NULL;
    char rewritten[2600];
    if (meta) {
        char where[1200];
        if (s->slide->line) {
            snprintf(where, sizeof where, "the metadata of %s line %d%s", b->o->input,
                     s->slide->line, b->o->metadata ? " and --metadata" : "");
        } else {
            snprintf(where, sizeof where, "--metadata");
        }
        snprintf(rewritten, sizeof rewritten, "%.*s%s%s", (int)(meta - reason), reason, where,
                 meta + strlen(s->meta));
        reason = rewritten;
    }
    if (reason[0]) {
        set_error(s, "%s", reason);
    } else {
        set_error(s, "the converter exited with status %d and no message", status);
    }
}

// Most warning lines of one slide kept for the report: a slide with thousands of broken
// tiles says the same thing each time, and the count says how many there were.
#define MAX_WARNING_MESSAGES 100

// The converter's warnings, its log's "slide2dcm: warning: " lines without that prefix
// (the first MAX_WARNING_MESSAGES), as a new array the caller owns; NULL when the log
// cannot be read or out of memory.
static json_t *warnings_from_log(const slide_state *s)
{
    static const char prefix[] = "slide2dcm: warning: ";
    FILE *f = fopen(s->log, "r");
    json_t *messages = f ? json_array() : NULL;
    char line[2048];
    while (messages && json_array_size(messages) < MAX_WARNING_MESSAGES &&
           fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, prefix, sizeof prefix - 1) == 0) {
            json_array_append_new(messages, json_string(line + sizeof prefix - 1));
        }
    }
    if (f) {
        fclose(f);
    }
    return messages;
}

// Level count, frames, bytes, seconds and throughput from the child's --json-report, and
// for a plain TIFF the kind it was taken for: a new object the caller owns. Megapixels
// are level 0's for a slide, every page's for a plain TIFF (image-NNN.dcm, one frame a
// page), so that the throughput means pixels converted either way.
static json_t *summarize_report(const slide_state *s, const char *final_dir)
{
    json_error_t jerr;
    json_t *rep = json_load_file(s->report, 0, &jerr);
    json_t *files = json_array();
    int levels = 0;
    json_int_t frames = 0, bytes = 0;
    double megapixels = 0, page_megapixels = 0;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(rep, "files"), i, f) {
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *flavor = json_string_value(json_object_get(f, "flavor"));
        char path[4400];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", final_dir, name ? name : "");
        if (!name || stat(path, &st) != 0) {
            continue;
        }
        // The UIDs as the archive will know the file, for writing results back to a LIS.
        json_t *entry = json_pack("{s:s, s:I}", "name", name, "size", (json_int_t)st.st_size);
        static const char *const uids[] = {"study_instance_uid", "series_instance_uid",
                                           "sop_instance_uid"};
        for (size_t u = 0; entry && u < sizeof uids / sizeof *uids; u++) {
            json_t *uid = json_object_get(f, uids[u]);
            if (json_is_string(uid)) {
                json_object_set(entry, uids[u], uid);
            }
        }
        json_array_append_new(files, entry);
        frames += json_integer_value(json_object_get(f, "tiles"));
        bytes += json_integer_value(json_object_get(f, "bytes"));
        s2d_role role = S2D_ROLE_COUNT;
        if (flavor) {
            s2d_iod_role_of(flavor, &role);
        }
        double mp = (double)json_integer_value(json_object_get(f, "width")) *
                    (double)json_integer_value(json_object_get(f, "height")) / 1e6;
        if (role == S2D_ROLE_LEVEL) {
            levels++;
            megapixels = mp > megapixels ? mp : megapixels;
        } else if (role == S2D_ROLE_PAGE) {
            page_megapixels += mp * (double)json_integer_value(json_object_get(f, "tiles"));
        }
    }
    if (!levels) {
        megapixels = page_megapixels;
    }
    double seconds = json_real_value(json_object_get(rep, "seconds"));
    json_t *out = json_pack("{s:o, s:i, s:I, s:I, s:f, s:f, s:f, s:I}", "files", files, "levels",
                            levels, "frames", frames, "bytes", bytes, "seconds", seconds,
                            "megapixels", megapixels, "megapixels_per_second",
                            seconds > 0 ? megapixels / seconds : 0.0, "warnings",
                            json_integer_value(json_object_get(rep, "warnings")));
    if (out && s->warning_messages) {
        json_object_set(out, "warning_messages", s->warning_messages);
    }
    for (int k = 0; out && k < 2; k++) {
        const char *key = k ? "kind_reason" : "kind";
        const char *value = json_string_value(json_object_get(rep, key));
        if (value) {
            json_object_set_new(out, key, json_string(value));
        }
    }
    json_t *deidentified = json_object_get(rep, "deidentified");
    if (out && deidentified) {
        json_object_set(out, "deidentified", deidentified);   // the slide's pseudonym
    }
    json_decref(rep);
    return out;
}

// Moves the finished staging folder to OUTROOT/<name>: one atomic exchange when an older
// conversion (or anything else, a planted link included) holds the name.
static bool commit(batch *b, slide_state *s, s2d_error *err)
{
    char final_dir[4096];
    snprintf(final_dir, sizeof final_dir, "%s/%s", b->o->outroot, s->slide->name);
    bool exchanged;
    bool ok = s2d_put_dir(s->stage, final_dir, &exchanged);
    if (!ok || !s2d_fsync_dir(b->o->outroot)) {
        return s2d_error_set(err, S2D_ERR_IO, "cannot move the conversion to %s: %s", final_dir,
                             strerror(errno));
    }
    s2d_remove_tree(s->stage);   // the older conversion, after an exchange
    crash_point("committed");
    return true;
}

static void clean_stage(const slide_state *s)
{
    char tmp[4400];
    snprintf(tmp, sizeof tmp, "%s.tmp", s->progress);
    s2d_remove_tree(s->stage);
    unlink(s->log);
    unlink(s->report);
    unlink(s->meta);
    unlink(s->progress);
    unlink(tmp);
}

// Journals "sent" (why == NULL) or "send-failed" with the reason: a copy of the
// conversion's record (s->result) with the event, the time, the send counts and the error,
// so that the slide's latest record still describes its intact conversion.
static void record_send(batch *b, slide_state *s, const char *why)
{
    s->outcome = s->send_only ? ALREADY_CONVERTED : CONVERTED;
    if (!why) {
        s->send = SENT;
    } else {
        s->send = interrupted ? SEND_INTERRUPTED : SEND_FAILED;
        s->send_error = strdup(why);
    }
    announce(b, s, !why ? "stored" : s->send == SEND_INTERRUPTED ? "sending interrupted"
                                                                 : "not stored", why, 0);
    if (!s->send_counts) {
        s->send_counts = json_pack("{s:s, s:i, s:i, s:i}", "destination",
                                   b->o->send_destination, "stored", 0, "failed", 0,
                                   "not_attempted", 0);
    }
    json_t *rec = json_deep_copy(s->result);
    if (!rec) {
        journal(b, NULL);   // out of memory: an I/O failure of the run
        return;
    }
    char when[32];
    utc_now(when);
    json_object_set_new(rec, "event", json_string(why ? "send-failed" : "sent"));
    json_object_set_new(rec, "time", json_string(when));
    json_object_set(rec, "send", s->send_counts);
    if (why) {
        json_object_set_new(rec, "error", json_string(why));
    } else {
        json_object_del(rec, "error");
    }
    json_decref(s->result);
    s->result = json_incref(rec);
    journal(b, rec);
    crash_point("sent");
}

// The sender's exit: counts from its JSON report (`send --json-report` format), the
// reason from the report's error and the first refused instance, or from how it ended.
static void finish_send(batch *b, slide_state *s, int status)
{
    json_t *rep = json_load_file(s->send_report, 0, NULL);
    int stored = 0, failed = 0, not_attempted = 0;
    const char *first_refusal = NULL, *first_path = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(rep, "instances"), i, e) {
        const char *st = json_string_value(json_object_get(e, "status"));
        if (st && strncmp(st, "stored", 6) == 0) {
            stored++;
        } else if (st && strcmp(st, "failed") == 0) {
            failed++;
            if (!first_refusal) {
                first_refusal = json_string_value(json_object_get(e, "detail"));
                first_path = json_string_value(json_object_get(e, "path"));
            }
        } else {
            not_attempted++;
        }
    }
    s->send_counts = json_pack("{s:s, s:i, s:i, s:i}", "destination", b->o->send_destination,
                               "stored", stored, "failed", failed, "not_attempted",
                               not_attempted);
    char why[2048] = "";
    const char *run_error = json_string_value(json_object_get(rep, "error"));
    if (WIFEXITED(status) && WEXITSTATUS(status) == S2D_EXIT_OK) {
        // everything stored
    } else if (interrupted &&
               (WIFSIGNALED(status) || WEXITSTATUS(status) == S2D_EXIT_INTERRUPTED)) {
        snprintf(why, sizeof why, "interrupted");
    } else if (WIFSIGNALED(status)) {
        snprintf(why, sizeof why, "the sender crashed: %s (signal %d)",
                 strsignal(WTERMSIG(status)), WTERMSIG(status));
    } else if (run_error && first_refusal && !strstr(run_error, first_refusal)) {
        const char *slash = first_path ? strrchr(first_path, '/') : NULL;
        snprintf(why, sizeof why, "%s; %s: %s", run_error,
                 slash ? slash + 1 : (first_path ? first_path : "?"), first_refusal);
    } else if (run_error) {
        snprintf(why, sizeof why, "%s", run_error);
    } else {
        // No report: the sender's last message says why (a usage or I/O error).
        char line[2048];
        FILE *f = fopen(s->send_log, "r");
        while (f && fgets(line, sizeof line, f)) {
            line[strcspn(line, "\r\n")] = '\0';
            if (strncmp(line, "slide2dcm: ", 11) == 0) {
                snprintf(why, sizeof why, "%s", line + 11);
            }
        }
        if (f) {
            fclose(f);
        }
        if (!why[0]) {
            snprintf(why, sizeof why, "sending ended with exit status %d", WEXITSTATUS(status));
        }
    }
    json_decref(rep);
    unlink(s->send_report);
    unlink(s->send_log);
    if (s->send_progress[0]) {
        char tmp[4400];
        snprintf(tmp, sizeof tmp, "%s.tmp", s->send_progress);
        unlink(s->send_progress);
        unlink(tmp);
    }
    record_send(b, s, why[0] ? why : NULL);
}

static void finish(batch *b, slide_state *s, int status)
{
    b->slot_busy[s->slot] = false;
    b->running--;
    s->pid = 0;
    if (s->outcome == SENDING) {
        finish_send(b, s, status);
        b->finished += s->send_only;   // a converted slide was counted when it converted
        return;
    }
    s->warning_messages = warnings_from_log(s);
    if (WIFEXITED(status) && WEXITSTATUS(status) == S2D_EXIT_OK) {
        crash_point("converted");
        char final_dir[4096];
        s2d_error why = {0};
        snprintf(final_dir, sizeof final_dir, "%s/%s", b->o->outroot, s->slide->name);
        if (!commit(b, s, &why)) {
            s->outcome = FAILED;
            set_error(s, "%s", why.message);
        } else {
            // "done" means converted and in place; when sending, the slide counts as done
            // only after "sent" (finish_send), so a failed send is retried by the next run.
            s->result = summarize_report(s, final_dir);
            json_t *rec = record(s, "done");
            json_object_update(rec, s->result);
            json_decref(s->result);
            s->result = json_incref(rec);
            journal(b, rec);
            s->outcome = CONVERTED;
            b->megapixels += json_real_value(json_object_get(rec, "megapixels"));
            b->converting_seconds += s2d_clock_seconds() - s->started;
            b->converted++;
            announce(b, s, "converted", NULL, json_real_value(json_object_get(rec, "megapixels")));
            crash_point("journaled");
        }
    } else if (WIFSIGNALED(status)) {
        if (interrupted) {
            s->outcome = INTERRUPTED;   // it had no time to install its handler
            set_error(s, "interrupted");
        } else {
            s->outcome = FAILED;
            set_error(s, "the converter crashed: %s (signal %d)", strsignal(WTERMSIG(status)),
                      WTERMSIG(status));
        }
    } else if (WEXITSTATUS(status) == S2D_EXIT_INTERRUPTED && interrupted) {
        s->outcome = INTERRUPTED;
        set_error(s, "interrupted");
    } else {
        s->outcome = FAILED;
        reason_from_log(b, s, WEXITSTATUS(status));
        if (WEXITSTATUS(status) == S2D_EXIT_USAGE) {
            // A usage error is the options', the same for every slide: stop there.
            b->usage_error = b->stop_launching = true;
        }
    }
    if (s->outcome == FAILED || s->outcome == INTERRUPTED) {
        journal_outcome(b, s, s->outcome == FAILED ? "failed" : "interrupted");
    }
    clean_stage(s);
    b->finished++;
    if (s->outcome == CONVERTED && b->o->send_slide && !b->stop_launching) {
        launch_send(b, s, s->slot);
    }
}

// Reads the bytes a sending child last wrote (send_slide's progress_path).
static void read_send_progress(slide_state *s)
{
    FILE *f = fopen(s->send_progress, "r");
    if (!f) {
        return;
    }
    unsigned long long sent, total;
    if (fscanf(f, "%llu %llu", &sent, &total) == 2 && sent <= total) {
        s->bytes_sent = sent;
        s->bytes_total = total;
    }
    fclose(f);
}

// Reads the frames a converter last wrote to its progress file (written whole by a rename:
// launch() passes --progress-file). A missing or odd file leaves the last figures.
static void read_progress(slide_state *s)
{
    FILE *f = fopen(s->progress, "r");
    if (!f) {
        return;
    }
    unsigned long long done, total;
    double megapixels;
    if (fscanf(f, "%llu %llu %lf", &done, &total, &megapixels) == 3 && done <= total) {
        s->frames_done = done;
        s->frames_total = total;
        s->megapixels = megapixels;
    }
    fclose(f);
}

// Seconds until every slide is converted: each slide in progress at the pace of its frames
// so far, each one waiting at the average time of the slides converted in this run (or,
// before one is, of those in progress by their pace), over the slides run at once.
// -1 while nothing says yet.
static double eta(const batch *b, int waiting, double now)
{
    double longest = 0, work = 0, paced = 0;
    int npaced = 0, unknown = waiting;
    for (int i = 0; i < b->plan->n; i++) {
        const slide_state *s = &b->states[i];
        if (s->outcome != RUNNING) {
            continue;
        }
        if (s->frames_done == 0) {
            unknown++;
            continue;
        }
        double taken = now - s->started;
        double whole = taken * (double)s->frames_total / (double)s->frames_done;
        longest = whole - taken > longest ? whole - taken : longest;
        work += whole - taken;
        paced += whole;
        npaced++;
    }
    double average = b->converted ? b->converting_seconds / b->converted
                     : npaced     ? paced / npaced
                                  : -1;
    if (unknown && average < 0) {
        return -1;
    }
    work = (work + unknown * (average > 0 ? average : 0)) / b->o->jobs;
    return work > longest ? work : longest;
}

static void progress(batch *b, bool final)
{
    if (!b->cb->progress) {
        return;
    }
    s2d_batch_progress p = {.final = final, .running = b->running_view};
    double now = s2d_clock_seconds(), megapixels = b->megapixels;
    int waiting = 0;   // slides not started whose conversion is still to do
    for (int i = 0; i < b->plan->n; i++) {
        // When sending, a slide is done once stored.
        slide_state *s = &b->states[i];
        bool not_stored = s->send == SEND_FAILED || s->send == SEND_INTERRUPTED;
        bool stored = !b->o->send_slide || s->send == SENT || s->send == ALREADY_SENT;
        p.done += (s->outcome == CONVERTED || s->outcome == ALREADY_CONVERTED ||
                   s->outcome == ALREADY_DONE) && stored;
        p.failed += s->outcome == FAILED || not_stored;
        p.left += s->outcome == PENDING || s->outcome == RUNNING || s->outcome == SENDING;
        waiting += s->outcome == PENDING && !s->send_only;
        if ((s->outcome == RUNNING || s->outcome == SENDING) && p.nrunning < b->o->jobs) {
            if (s->outcome == SENDING) {
                read_send_progress(s);
            }
            if (s->outcome == RUNNING) {
                read_progress(s);
                if (s->frames_total) {
                    megapixels += (double)s->frames_done / (double)s->frames_total * s->megapixels;
                }
            }
            b->running_view[p.nrunning++] = (s2d_batch_running){
                .source = s->slide->source, .sending = s->outcome == SENDING,
                .frames_done = s->outcome == RUNNING ? s->frames_done : 0,
                .frames_total = s->outcome == RUNNING ? s->frames_total : 0,
                .bytes_sent = s->outcome == SENDING ? s->bytes_sent : 0,
                .bytes_total = s->outcome == SENDING ? s->bytes_total : 0,
                .seconds = now - s->started};
        }
    }
    double elapsed = now - b->t0;
    p.megapixels_per_second = elapsed > 0 ? megapixels / elapsed : 0;
    p.eta_seconds = p.left ? eta(b, waiting, now) : 0;
    b->cb->progress(b->cb->ctx, &p);
}

// The slide's entry of batch-report.json, new (the caller owns the reference).
static json_t *slide_report(const batch *b, const slide_state *s)
{
    char output[4200];
    snprintf(output, sizeof output, "%s/%s", b->o->outroot, s->slide->name);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "source", s->slide->source, "name",
                          s->slide->name, "output", output, "outcome", outcome_names[s->outcome]);
    if (s->slide->line) {
        json_object_set_new(o, "manifest_line", json_integer(s->slide->line));
    }
    json_object_set_new(o, "error", s->error ? json_string(s->error) : json_null());
    if (s->fingerprint[0]) {
        json_object_set_new(o, "fingerprint", json_string(s->fingerprint));
    }
    static const char *const keys[] = {"kind", "kind_reason", "levels", "frames", "bytes",
                                       "seconds", "megapixels", "megapixels_per_second",
                                       "warnings", "deidentified"};
    for (size_t k = 0; s->result && k < sizeof keys / sizeof *keys; k++) {
        json_t *v = json_object_get(s->result, keys[k]);
        if (v) {
            json_object_set(o, keys[k], v);
        }
    }
    // The warning texts of the run that converted it (or of this failed one), when known.
    json_t *warnings = json_object_get(s->result, "warning_messages");
    warnings = warnings ? warnings : s->warning_messages;
    if (warnings) {
        json_object_set(o, "warning_messages", warnings);
    }
    json_t *names = json_array(), *instances = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(s->result, "files"), i, f) {
        json_array_append(names, json_object_get(f, "name"));
        json_t *sop = json_object_get(f, "sop_instance_uid");
        if (sop) {
            json_array_append_new(instances,
                                  json_pack("{s:O, s:O, s:O, s:O}", "name",
                                            json_object_get(f, "name"), "study_instance_uid",
                                            json_object_get(f, "study_instance_uid"),
                                            "series_instance_uid",
                                            json_object_get(f, "series_instance_uid"),
                                            "sop_instance_uid", sop));
        }
    }
    json_object_set_new(o, "files", names);
    // Per file, the UIDs an archive files it under (conversions journaled before slide2dcm
    // recorded them have none).
    json_object_set_new(o, "instances", instances);
    if (b->o->send_slide) {
        json_t *sent = s->send_counts ? json_deep_copy(s->send_counts)
                                      : json_pack("{s:s}", "destination", b->o->send_destination);
        json_object_set_new(sent, "outcome", json_string(send_result_names[s->send]));
        json_object_set_new(sent, "error", s->send_error ? json_string(s->send_error) : json_null());
        json_object_set_new(o, "send", sent);
    }
    return o;
}

static int count_sends(const batch *b, send_result which)
{
    int n = 0;
    for (int i = 0; i < b->plan->n; i++) {
        n += b->states[i].send == which;
    }
    return n;
}

static bool write_report(const batch *b, int counts[], double seconds)
{
    json_t *slides = json_array(), *ignored = json_array();
    for (int i = 0; i < b->plan->n; i++) {
        json_array_append_new(slides, slide_report(b, &b->states[i]));
    }
    for (int i = 0; i < b->plan->nignored; i++) {
        json_array_append_new(ignored, json_string(b->plan->ignored[i]));
    }
    json_t *root = json_pack(
        "{s:s, s:s, s:i, s:i, s:f, s:{s:i, s:i, s:i, s:i, s:i, s:i}, s:o, s:o}", "input",
        b->o->input, "outroot", b->o->outroot, "jobs", b->o->jobs, "threads_per_slide",
        threads_for_slot(b, 0), "seconds", seconds, "counts", "converted", counts[CONVERTED],
        "already_converted", counts[ALREADY_CONVERTED], "already_done", counts[ALREADY_DONE],
        "failed", counts[FAILED], "interrupted", counts[INTERRUPTED], "not_run", counts[PENDING],
        "slides", slides, "ignored", ignored);
    if (root && b->plan->nignored_columns) {
        json_t *columns = json_array();
        for (int i = 0; i < b->plan->nignored_columns; i++) {
            json_array_append_new(columns, json_string(b->plan->ignored_columns[i]));
        }
        json_object_set_new(root, "ignored_columns", columns);
    }
    if (root && b->o->send_slide) {
        json_object_set_new(root, "send_destination", json_string(b->o->send_destination));
        json_t *c = json_object_get(root, "counts");
        json_object_set_new(c, "sent", json_integer(count_sends(b, SENT)));
        json_object_set_new(c, "already_sent", json_integer(count_sends(b, ALREADY_SENT)));
        json_object_set_new(c, "send_failed", json_integer(count_sends(b, SEND_FAILED)));
        json_object_set_new(c, "send_interrupted", json_integer(count_sends(b, SEND_INTERRUPTED)));
    }
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/batch-report.json", b->o->outroot);
    snprintf(tmp, sizeof tmp, "%s.partial", path);
    bool ok = root && json_dump_file(root, tmp, JSON_INDENT(2)) == 0 && rename(tmp, path) == 0;
    if (!ok) {
        unlink(tmp);
    }
    json_decref(root);
    return ok;
}

// The counts, the bytes written and the failures, for the caller's summary.
static bool fill_result(const batch *b, const int counts[], double seconds,
                        s2d_batch_result *r)
{
    r->ran = true;
    r->slides = b->plan->n;
    r->converted = counts[CONVERTED];
    r->already_converted = counts[ALREADY_CONVERTED];
    r->already_done = counts[ALREADY_DONE];
    r->failed = counts[FAILED];
    r->interrupted = counts[INTERRUPTED];
    r->not_run = counts[PENDING];
    r->sent = count_sends(b, SENT);
    r->already_sent = count_sends(b, ALREADY_SENT);
    r->send_failed = count_sends(b, SEND_FAILED);
    r->send_interrupted = count_sends(b, SEND_INTERRUPTED);
    r->seconds = seconds;
    r->nignored = b->plan->nignored;
    r->failures = calloc((size_t)b->plan->n + 1, sizeof *r->failures);
    r->converted_dirs = calloc((size_t)b->plan->n + 1, sizeof *r->converted_dirs);
    if (!r->failures || !r->converted_dirs) {
        return false;
    }
    for (int i = 0; i < b->plan->n; i++) {
        const slide_state *s = &b->states[i];
        if (s->outcome == CONVERTED || s->outcome == ALREADY_CONVERTED ||
            s->outcome == ALREADY_DONE) {
            char dir[4200];
            snprintf(dir, sizeof dir, "%s/%s", b->o->outroot, s->slide->name);
            if (!(r->converted_dirs[r->nconverted_dirs++] = strdup(dir))) {
                return false;
            }
        }
        if (s->outcome == CONVERTED) {
            r->bytes += (double)json_integer_value(json_object_get(s->result, "bytes"));
        }
        const char *why = s->outcome == FAILED ? s->error
                          : s->send == SEND_FAILED ? s->send_error : NULL;
        if (s->outcome == FAILED || s->send == SEND_FAILED) {
            s2d_batch_failure *f = &r->failures[r->nfailures++];
            f->source = strdup(s->slide->source);
            f->error = strdup(why ? why : "");
            f->not_stored = s->outcome != FAILED;
            if (!f->source || !f->error) {
                return false;
            }
        }
    }
    return true;
}

void s2d_batch_result_free(s2d_batch_result *result)
{
    for (int i = 0; i < result->nfailures; i++) {
        free(result->failures[i].source);
        free(result->failures[i].error);
    }
    free(result->failures);
    result->failures = NULL;
    result->nfailures = 0;
    for (int i = 0; i < result->nconverted_dirs; i++) {
        free(result->converted_dirs[i]);
    }
    free(result->converted_dirs);
    result->converted_dirs = NULL;
    result->nconverted_dirs = 0;
}

// Claims OUTROOT for this run: two batches writing one journal and one staging folder
// would undo each other's work.
static int lock_outroot(const char *outroot, s2d_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/.batch.lock", outroot);
    pid_t holder;
    int fd = s2d_lock_take(path, &holder);
    if (fd < 0 && errno == EWOULDBLOCK && holder) {
        s2d_error_set(err, S2D_ERR_USAGE, "%s: another batch (pid %ld) is running on this folder",
                      outroot, (long)holder);
    } else if (fd < 0 && errno == EWOULDBLOCK) {
        s2d_error_set(err, S2D_ERR_USAGE, "%s: another batch is running on this folder", outroot);
    } else if (fd < 0) {
        s2d_error_set(err, S2D_ERR_IO, "%s: cannot create %s: %s", outroot, path, strerror(errno));
    }
    return fd;
}

static void run_loop(batch *b)
{
    sigset_t blocked, waitmask;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGCHLD);
    sigaddset(&blocked, SIGINT);
    sigaddset(&blocked, SIGTERM);
    sigaddset(&blocked, SIGALRM);
    sigprocmask(SIG_BLOCK, &blocked, &waitmask);
    sigdelset(&waitmask, SIGCHLD);
    sigdelset(&waitmask, SIGINT);
    sigdelset(&waitmask, SIGTERM);
    sigdelset(&waitmask, SIGALRM);
    struct sigaction stop = {.sa_handler = on_stop_signal}, wake = {.sa_handler = on_wakeup_signal};
    sigemptyset(&stop.sa_mask);
    sigemptyset(&wake.sa_mask);
    struct sigaction old_int, old_term, old_chld, old_alrm;
    sigaction(SIGINT, &stop, &old_int);
    sigaction(SIGTERM, &stop, &old_term);
    sigaction(SIGCHLD, &wake, &old_chld);
    sigaction(SIGALRM, &wake, &old_alrm);
    bool forwarded = false;
    int next = 0;
    // Refreshes the progress twice a second while slides take long.
    struct itimerval tick = {{0, 500000}, {0, 500000}}, no_tick = {0};
    if (b->cb->progress) {
        setitimer(ITIMER_REAL, &tick, NULL);
    }
    for (;;) {
        // Reap every child that ended.
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            for (int i = 0; i < b->plan->n; i++) {
                if (b->states[i].pid == pid) {
                    finish(b, &b->states[i], status);
                    progress(b, false);
                    break;
                }
            }
        }
        if (interrupted) {
            b->stop_launching = true;
            if (!forwarded) {
                // A terminal's Ctrl-C reaches the children too; a SIGTERM sent to the batch
                // alone (a scheduler's) is passed on, and each child cleans up and exits.
                for (int i = 0; i < b->plan->n; i++) {
                    if (b->states[i].pid > 0) {
                        kill(b->states[i].pid, SIGTERM);
                    }
                }
                forwarded = true;
            }
        }
        while (!b->stop_launching && b->running < b->o->jobs && next < b->plan->n) {
            slide_state *s = &b->states[next++];
            if (s->outcome != PENDING) {
                continue;
            }
            int slot = 0;
            while (b->slot_busy[slot]) {
                slot++;
            }
            launch(b, s, slot);
            progress(b, false);
        }
        if (b->running == 0 && (b->stop_launching || next >= b->plan->n)) {
            break;
        }
        sigsuspend(&waitmask);
        if (b->cb->progress) {
            progress(b, false);
        }
    }
    setitimer(ITIMER_REAL, &no_tick, NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGCHLD, &old_chld, NULL);
    sigaction(SIGALRM, &old_alrm, NULL);
    sigprocmask(SIG_UNBLOCK, &blocked, NULL);
}

bool s2d_batch_run(const s2d_batch_plan *plan, const s2d_batch_options *o,
                   const s2d_batch_callbacks *cb, s2d_batch_result *result, s2d_error *err)
{
    static const s2d_batch_callbacks no_callbacks = {0};
    memset(result, 0, sizeof *result);
    batch b = {.o = o, .plan = plan, .cb = cb ? cb : &no_callbacks, .cores = s2d_cpu_count()};
    b.t0 = s2d_clock_seconds();
    if (!s2d_mkdirs(o->outroot)) {
        return s2d_error_set(err, S2D_ERR_IO, "%s: cannot create it: %s", o->outroot,
                             strerror(errno));
    }
    int lock = lock_outroot(o->outroot, err);
    if (lock < 0) {
        return false;
    }
    // What a killed run left in staging is incomplete by construction.
    snprintf(b.staging, sizeof b.staging, "%s/.staging", o->outroot);
    char journal_path[4200];
    snprintf(journal_path, sizeof journal_path, "%s/batch-journal.jsonl", o->outroot);
    s2d_error jerr = {0};
    if (!s2d_remove_tree(b.staging) || mkdir(b.staging, 0777) != 0 ||
        !(b.journal = s2d_journal_open(journal_path, &jerr)) || !s2d_fsync_dir(o->outroot)) {
        s2d_error_set(err, S2D_ERR_IO, "%s: %s", o->outroot,
                      jerr.code ? jerr.message : strerror(errno));
        s2d_journal_close(b.journal);
        close(lock);
        return false;
    }
    b.states = calloc((size_t)plan->n + 1, sizeof *b.states);
    b.slot_busy = calloc((size_t)o->jobs, sizeof *b.slot_busy);
    b.running_view = calloc((size_t)o->jobs, sizeof *b.running_view);
    if (!b.states || !b.slot_busy || !b.running_view) {
        free(b.states);
        free(b.slot_busy);
        free(b.running_view);
        s2d_journal_close(b.journal);
        close(lock);
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    if (s2d_journal_damaged_lines(b.journal) && b.cb->notice) {
        char notice[4400];
        snprintf(notice, sizeof notice, "%s: %d incomplete line(s) from an interrupted run ignored",
                 journal_path, s2d_journal_damaged_lines(b.journal));
        b.cb->notice(b.cb->ctx, notice);
    }
    for (int i = 0; i < plan->n; i++) {
        b.states[i].slide = &plan->slides[i];
        prepare(&b, &b.states[i]);
    }
    run_loop(&b);
    double seconds = s2d_clock_seconds() - b.t0;
    int counts[INTERRUPTED + 1] = {0};
    for (int i = 0; i < plan->n; i++) {
        counts[b.states[i].outcome]++;
    }
    progress(&b, true);
    bool reported = write_report(&b, counts, seconds);
    bool filled = fill_result(&b, counts, seconds, result);
    // One error: the one that decides the exit status first.
    s2d_error failure = {0};
    if (interrupted) {
        s2d_error_set(&failure, S2D_ERR_CANCELLED, "interrupted");
    }
    for (int i = 0; b.usage_error && i < plan->n; i++) {
        if (b.states[i].outcome == FAILED && b.states[i].error) {
            s2d_error_set(&failure, S2D_ERR_USAGE, "stopped, the convert options do not work: %s",
                          b.states[i].error);
            break;
        }
    }
    if (b.io_error) {
        s2d_error_set(&failure, S2D_ERR_IO, "%s: %s", o->outroot, b.io_message);
    }
    if (!reported) {
        s2d_error_set(&failure, S2D_ERR_IO, "%s/batch-report.json: cannot write the report",
                      o->outroot);
    }
    if (!filled) {
        s2d_error_set(&failure, S2D_ERR_NOMEM, "out of memory");
    }
    s2d_remove_tree(b.staging);
    for (int i = 0; i < plan->n; i++) {
        slide_state *s = &b.states[i];
        free(s->error);
        json_decref(s->result);
        json_decref(s->metadata);
        json_decref(s->send_counts);
        json_decref(s->warning_messages);
        free(s->send_error);
        s2d_slide_files_free(&s->files);
    }
    free(b.states);
    free(b.slot_busy);
    free(b.running_view);
    s2d_journal_close(b.journal);
    close(lock);
    if (failure.code != S2D_OK) {
        return s2d_error_set(err, failure.code, "%s", failure.message);
    }
    return true;
}
