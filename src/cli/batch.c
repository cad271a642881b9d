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
#include "cli/report.h"
#include "cli/send.h"

static const char usage_text[] =
    "usage: slide2dcm batch INPUT -o OUTROOT [options] [convert options]\n"
    "\n"
    "Converts every slide of INPUT, a folder (walked recursively; slides recognised by\n"
    "content or extension) or a CSV manifest (a \"path\" column, plus columns named by DICOM\n"
    "keyword that set that attribute for the row's slide), into OUTROOT/<name>/.\n"
    "Re-running skips the slides already converted and unchanged (OUTROOT/batch-journal.jsonl).\n"
    "\n"
    "  -o, --output OUTROOT    output root (created if missing)\n"
    "  -j, --jobs N            slides converted at once (default 1); the cores are shared\n"
    "  --threads N             encoder threads per slide (default: cores / jobs)\n"
    "  --force                 convert again the slides already done\n"
    "  --list                  print the plan as JSON (names, sources, metadata) and stop\n"
    "  -q, --quiet             no progress line, no summary\n"
    "Convert options, applied to every slide (see slide2dcm convert --help):\n"
    "  --tile-size, --quality, --subsampling, --keep-source-levels, --no-label,\n"
    "  --no-overview, --no-thumbnail, --mpp, --metadata (manifest columns win over it),\n"
    "  --patient-name, --patient-id, --patient-birth-date, --patient-sex, --study-id,\n"
    "  --accession-number, --study-date, --institution-name, --referring-physician,\n"
    "  --series-description (these win over manifest columns), --deterministic-uids,\n"
    "  --uid-root, --max-instance-size, --levels\n"
    "Sending each slide once converted (as slide2dcm convert; slide2dcm send --help):\n"
    "  --send-stow URL         STOW-RS the slide's files to this studies URL\n"
    "  --send-cstore HOST:PORT C-STORE the slide's files to this peer\n" S2D_SEND_USAGE
    "A slide counts as done once its files are stored; a re-run sends the slides converted\n"
    "but not stored there, without converting them again.\n"
    "\n"
    "Exit status: 0 all converted (or already done) and, when sending, stored; 1 some\n"
    "failed to convert (the report says why); 2 usage; 3 OUTROOT not writable; 4 all\n"
    "converted but some not stored; 130 interrupted. Report: OUTROOT/batch-report.json.\n";

enum { OPT_THREADS = 256, OPT_FORCE, OPT_LIST, OPT_METADATA, OPT_FORWARD };

// The convert options a batch passes on to every slide's conversion; `convert` checks
// their values (a bad value stops the batch at the first slide with exit status 2).
// --overwrite, --json-report and --threads are the batch's own business.
static const struct option forwarded[] = {
    {"tile-size", required_argument, NULL, OPT_FORWARD},
    {"reencode", no_argument, NULL, OPT_FORWARD},
    {"quality", required_argument, NULL, OPT_FORWARD},
    {"subsampling", required_argument, NULL, OPT_FORWARD},
    {"keep-source-levels", no_argument, NULL, OPT_FORWARD},
    {"levels", required_argument, NULL, OPT_FORWARD},
    {"no-label", no_argument, NULL, OPT_FORWARD},
    {"no-overview", no_argument, NULL, OPT_FORWARD},
    {"no-thumbnail", no_argument, NULL, OPT_FORWARD},
    {"mpp", required_argument, NULL, OPT_FORWARD},
    {"patient-name", required_argument, NULL, OPT_FORWARD},
    {"patient-id", required_argument, NULL, OPT_FORWARD},
    {"patient-birth-date", required_argument, NULL, OPT_FORWARD},
    {"patient-sex", required_argument, NULL, OPT_FORWARD},
    {"study-id", required_argument, NULL, OPT_FORWARD},
    {"accession-number", required_argument, NULL, OPT_FORWARD},
    {"study-date", required_argument, NULL, OPT_FORWARD},
    {"institution-name", required_argument, NULL, OPT_FORWARD},
    {"referring-physician", required_argument, NULL, OPT_FORWARD},
    {"series-description", required_argument, NULL, OPT_FORWARD},
    {"deterministic-uids", no_argument, NULL, OPT_FORWARD},
    {"uid-root", required_argument, NULL, OPT_FORWARD},
    {"max-instance-size", required_argument, NULL, OPT_FORWARD},
};

#define NFORWARDED (sizeof forwarded / sizeof *forwarded)

// The sending options of convert, under the same names.
static const struct option sending[] = {S2D_SEND_LONG_OPTIONS("send-stow", "send-cstore")};

#define NSENDING (sizeof sending / sizeof *sending)

// Sends one converted slide, in the batch's sending child (see s2d_batch_options).
static int send_slide(void *ctx, const char *dir, const char *report_path,
                      const volatile sig_atomic_t *interrupt)
{
    s2d_cli_send *cs = ctx;
    char **paths = NULL;
    size_t n = 0;
    s2d_error err = {0};
    if (!s2d_send_list_dir(dir, &paths, &n, &err)) {
        fprintf(stderr, "slide2dcm: %s: %s\n", dir, err.message);
        return s2d_error_exit_status(err.code);
    }
    cs->opts.interrupt = interrupt;
    json_t *sent = NULL;
    int status = s2d_cli_send_run(cs, (const char *const *)paths, n, false, (void **)&sent);
    if (sent && json_dump_file(sent, report_path, JSON_COMPACT) != 0) {
        fprintf(stderr, "slide2dcm: %s: cannot write\n", report_path);
        status = status ? status : 3;
    }
    json_decref(sent);
    s2d_send_free_paths(paths, n);
    return status;
}

static bool parse_count(const char *s, long max, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < 1 || v > max) {
        return false;
    }
    *out = (int)v;
    return true;
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
        json_t *meta = NULL;
        if (o->metadata || s->metadata) {
            meta = o->metadata ? json_deep_copy(o->metadata) : json_object();
            if (s->metadata) {
                json_object_update(meta, s->metadata);
            }
        }
        json_array_append_new(slides, json_pack("{s:s, s:s, s:s, s:o, s:o}", "name", s->name,
                                                "source", s->source, "key", s->key, "metadata",
                                                meta ? meta : json_null(), "error",
                                                s->error ? json_string(s->error) : json_null()));
    }
    json_t *root = json_pack("{s:o, s:o}", "convert_args", args, "slides", slides);
    int rc = json_dumpf(root, stdout, JSON_INDENT(1)) == 0 && fputc('\n', stdout) != EOF ? 0 : 3;
    json_decref(root);
    return rc;
}

int s2d_cli_batch(int argc, char **argv)
{
    // Our options, then the forwarded ones, in one getopt table.
    static const struct option own[] = {
        {"output", required_argument, NULL, 'o'},
        {"jobs", required_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"force", no_argument, NULL, OPT_FORCE},
        {"list", no_argument, NULL, OPT_LIST},
        {"metadata", required_argument, NULL, OPT_METADATA},
    };
    struct option table[sizeof own / sizeof *own + NFORWARDED + NSENDING + 1];
    memcpy(table, own, sizeof own);
    memcpy(table + sizeof own / sizeof *own, forwarded, sizeof forwarded);
    memcpy(table + sizeof own / sizeof *own + NFORWARDED, sending, sizeof sending);
    memset(&table[sizeof own / sizeof *own + NFORWARDED + NSENDING], 0, sizeof *table);
    s2d_cli_send send;
    s2d_cli_send_init(&send);

    s2d_batch_options o = {.jobs = 1};
    char **fwd = calloc((size_t)argc * 2 + 1, sizeof *fwd);
    char *outroot = NULL;
    const char *metadata_path = NULL;
    bool list = false;
    int c, index, rc = 0;
    if (!fwd) {
        fprintf(stderr, "slide2dcm: out of memory\n");
        return 3;
    }
    optind = 1;
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":o:j:qh", table, &index)) != -1) {
        switch (c) {
        case 'o': outroot = optarg; break;
        case 'q': o.quiet = true; break;
        case 'h': fputs(usage_text, stdout); free(fwd); return 0;
        case 'j':
            if (!parse_count(optarg, 256, &o.jobs)) {
                rc = s2d_cli_usage_error("batch", "--jobs %s: use 1 to 256", optarg);
            }
            break;
        case OPT_THREADS:
            if (!parse_count(optarg, 256, &o.threads)) {
                rc = s2d_cli_usage_error("batch", "--threads %s: use 1 to 256", optarg);
            }
            break;
        case OPT_FORCE: o.force = true; break;
        case OPT_LIST: list = true; break;
        case OPT_METADATA: metadata_path = optarg; break;
        case OPT_FORWARD: {
            // Rebuild "--name" (and its value) for the child's command line.
            static char names[NFORWARDED][32];
            snprintf(names[index - sizeof own / sizeof *own], 32, "--%s", table[index].name);
            fwd[o.nconvert_args++] = names[index - sizeof own / sizeof *own];
            if (table[index].has_arg) {
                fwd[o.nconvert_args++] = optarg;
            }
            break;
        }
        case ':': rc = s2d_cli_usage_error("batch", "%s needs a value", argv[optind - 1]); break;
        default:
            if (c >= S2D_OPT_SEND_FIRST && c <= S2D_OPT_SEND_LAST) {
                rc = s2d_cli_send_option(&send, c, optarg);
                break;
            }
            rc = s2d_cli_usage_error("batch", "unknown option %s", argv[optind - 1]);
            break;
        }
    }
    if (rc == 0 && optind != argc - 1) {
        rc = s2d_cli_usage_error("batch", "%s", optind >= argc ? "batch needs one INPUT (a folder or a CSV manifest)"
                                              : "batch takes one INPUT");
    }
    if (rc == 0 && !outroot) {
        rc = s2d_cli_usage_error("batch", "%s", "batch needs -o OUTROOT");
    }
    json_t *metadata = NULL;
    if (rc == 0 && metadata_path) {
        json_error_t jerr;
        metadata = json_load_file(metadata_path, 0, &jerr);
        if (!json_is_object(metadata)) {
            fprintf(stderr, "slide2dcm: %s: %s\n", metadata_path,
                    metadata ? "not a DICOM JSON object" : jerr.text);
            rc = 1;
        }
    }
    if (rc != 0) {
        json_decref(metadata);
        free(fwd);
        return rc;
    }
    char *input = argv[optind];
    trim_slashes(input);
    trim_slashes(outroot);
    o.input = input;
    o.outroot = outroot;
    o.convert_args = fwd;
    o.metadata = metadata;
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    self[len > 0 ? len : 0] = '\0';
    o.self_exe = self;

    s2d_batch_plan plan;
    s2d_error err = {0};
    if (!s2d_batch_plan_make(input, outroot, &plan, &err)) {
        fprintf(stderr, "slide2dcm: %s\n", err.message);
        rc = s2d_error_exit_status(err.code);
    } else if (list) {
        rc = print_plan(&plan, &o);
    } else if (len <= 0) {
        fprintf(stderr, "slide2dcm: cannot find its own executable to run conversions\n");
        rc = 3;
    } else if ((rc = s2d_cli_send_prepare(&send)) == 0) {   // credentials before converting
        // The archive as the journal names it: a slide recorded "sent" there is not sent
        // again; another URL or peer gets every slide.
        char destination[sizeof send.destination + 32];
        if (send.wanted) {
            if (send.opts.protocol == S2D_SEND_CSTORE) {
                snprintf(destination, sizeof destination, "%s@%s", send.opts.called_aet,
                         send.destination);
            } else {
                snprintf(destination, sizeof destination, "%s", send.destination);
            }
            o.send_slide = send_slide;
            o.send_ctx = &send;
            o.send_destination = destination;
        }
        rc = s2d_batch_run(&plan, &o);
    }
    if (err.code == S2D_OK) {
        s2d_batch_plan_free(&plan);
    }
    s2d_cli_send_free(&send);
    json_decref(metadata);
    free(fwd);
    return rc;
}
