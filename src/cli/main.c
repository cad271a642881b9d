/* slide2dcm command line: parses options, reports progress and errors, maps errors to exit
 * codes (1 bad input, 2 usage, 3 I/O). All conversion work is in the library. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/batch.h"
#include "cli/report.h"
#include "cli/send.h"
#include "slide2dcm/slide2dcm.h"

static const char usage_text[] =
    "usage: slide2dcm convert SLIDE -o OUTDIR [options]\n"
    "       slide2dcm batch INPUT -o OUTROOT [options]   (slide2dcm batch --help)\n"
    "       slide2dcm send FILE|DIR... (--stow URL | --cstore HOST:PORT) [options]\n"
    "\n"
    "Converts a whole-slide image into DICOM VL Whole Slide Microscopy files:\n"
    "OUTDIR/level-0.dcm ... level-N.dcm, label.dcm, overview.dcm, thumbnail.dcm.\n"
    "\n"
    "Source tiles that are JPEG or JPEG 2000 (Aperio, NDPI, tiled TIFF) are copied into\n"
    "the DICOM frames without decoding, and so are a label, overview or thumbnail\n"
    "stored as JPEG; levels the source lacks are made and encoded.\n"
    "\n"
    "Pyramid and tiles:\n"
    "  --reencode              decode and re-encode every level and image instead of\n"
    "                          copying\n"
    "  --tile-size N           frame size in pixels, a multiple of 16 (default: the\n"
    "                          source's JPEG or JPEG 2000 tile size, when a multiple of 16\n"
    "                          as TIFF requires, else 256)\n"
    "  --quality Q             JPEG quality 1-100 of encoded levels (default 90)\n"
    "  --subsampling 420|444   chroma subsampling of encoded levels (default 420)\n"
    "  --keep-source-levels    write the slide's own levels instead of halving levels\n"
    "  --levels N              write only the N largest levels (default: down to one frame)\n"
    "  --threads N             encoder threads (default: all cores)\n"
    "  --no-label, --no-overview, --no-thumbnail   leave that image out\n"
    "Metadata:\n"
    "  --mpp MICRONS           pixel size, for slides that do not record it\n"
    "  --metadata FILE         DICOM JSON (PS3.18 F.2) attributes; they override defaults\n"
    "  --patient-name, --patient-id, --patient-birth-date YYYYMMDD, --patient-sex M|F|O,\n"
    "  --study-id, --accession-number, --study-date YYYYMMDD, --institution-name,\n"
    "  --referring-physician, --series-description VALUE   (these override --metadata)\n"
    "  --deterministic-uids    UIDs derived from the slide's content (same slide and pixel\n"
    "                          options, same UIDs: re-sending replaces, never duplicates)\n"
    "  --uid-root ROOT         root of those UIDs (default 2.25, name-based UUIDs)\n"
    "Output:\n"
    "  -o, --output OUTDIR     output directory (created if missing)\n"
    "  --overwrite             replace an earlier conversion in OUTDIR\n"
    "  --json-report FILE      per-level tiles, bytes, seconds and tiles/s\n"
    "  -q, --quiet             no progress or warnings\n"
    "  --max-instance-size SIZE  no file larger than SIZE bytes (suffix K, M, G, T: powers of\n"
    "                          1024): a level that would be is split into a DICOM\n"
    "                          concatenation, level-N-part-1.dcm, level-N-part-2.dcm ...\n"
    "  --eot-threshold BYTES   (testing) use the Extended Offset Table above this size\n"
    "Sending (after a successful conversion; slide2dcm send --help says more):\n"
    "  --send-stow URL         STOW-RS the files to this studies URL\n"
    "  --send-cstore HOST:PORT C-STORE the files to this peer\n" S2D_SEND_USAGE
    "  --version, -h, --help\n";

enum {
    OPT_TILE = 256, OPT_QUALITY, OPT_SUBSAMPLING, OPT_KEEP, OPT_LEVELS, OPT_THREADS, OPT_NO_LABEL,
    OPT_NO_OVERVIEW, OPT_NO_THUMBNAIL, OPT_MPP, OPT_METADATA, OPT_PATIENT_NAME, OPT_PATIENT_ID,
    OPT_BIRTH, OPT_SEX, OPT_STUDY_ID, OPT_ACCESSION, OPT_STUDY_DATE, OPT_INSTITUTION,
    OPT_REFERRING, OPT_SERIES_DESC, OPT_OVERWRITE, OPT_REPORT, OPT_VERSION, OPT_EOT,
    OPT_REENCODE, OPT_DETERMINISTIC_UIDS, OPT_UID_ROOT, OPT_MAX_INSTANCE_SIZE,
};

static const struct option long_options[] = {
    {"output", required_argument, NULL, 'o'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"tile-size", required_argument, NULL, OPT_TILE},
    {"reencode", no_argument, NULL, OPT_REENCODE},
    {"quality", required_argument, NULL, OPT_QUALITY},
    {"subsampling", required_argument, NULL, OPT_SUBSAMPLING},
    {"keep-source-levels", no_argument, NULL, OPT_KEEP},
    {"levels", required_argument, NULL, OPT_LEVELS},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"no-label", no_argument, NULL, OPT_NO_LABEL},
    {"no-overview", no_argument, NULL, OPT_NO_OVERVIEW},
    {"no-thumbnail", no_argument, NULL, OPT_NO_THUMBNAIL},
    {"mpp", required_argument, NULL, OPT_MPP},
    {"metadata", required_argument, NULL, OPT_METADATA},
    {"patient-name", required_argument, NULL, OPT_PATIENT_NAME},
    {"patient-id", required_argument, NULL, OPT_PATIENT_ID},
    {"patient-birth-date", required_argument, NULL, OPT_BIRTH},
    {"patient-sex", required_argument, NULL, OPT_SEX},
    {"study-id", required_argument, NULL, OPT_STUDY_ID},
    {"accession-number", required_argument, NULL, OPT_ACCESSION},
    {"study-date", required_argument, NULL, OPT_STUDY_DATE},
    {"institution-name", required_argument, NULL, OPT_INSTITUTION},
    {"referring-physician", required_argument, NULL, OPT_REFERRING},
    {"series-description", required_argument, NULL, OPT_SERIES_DESC},
    {"deterministic-uids", no_argument, NULL, OPT_DETERMINISTIC_UIDS},
    {"uid-root", required_argument, NULL, OPT_UID_ROOT},
    {"overwrite", no_argument, NULL, OPT_OVERWRITE},
    {"json-report", required_argument, NULL, OPT_REPORT},
    {"max-instance-size", required_argument, NULL, OPT_MAX_INSTANCE_SIZE},
    {"version", no_argument, NULL, OPT_VERSION},
    // Test hook: force the Extended Offset Table above this many bytes of frames.
    {"eot-threshold", required_argument, NULL, OPT_EOT},
    S2D_SEND_LONG_OPTIONS("send-stow", "send-cstore"),
    {NULL, 0, NULL, 0},
};

static bool parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < min || v > max) {
        return false;
    }
    *out = v;
    return true;
}

// A byte count with an optional K, M, G or T suffix (powers of 1024), e.g. 500M, 2G.
static bool parse_size(const char *s, uint64_t *out)
{
    if (*s < '0' || *s > '9') {
        return false;
    }
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s) {
        return false;
    }
    int shift = 0;
    if (*end) {
        const char *units = "KMGT", *u = strchr(units, toupper((unsigned char)*end));
        if (!u || end[1]) {
            return false;
        }
        shift = 10 * (int)(u - units + 1);
    }
    if (v == 0 || v > (UINT64_MAX >> shift)) {
        return false;
    }
    *out = (uint64_t)v << shift;
    return true;
}

typedef struct progress_state {
    bool tty;
    bool quiet;
    double last_print;
} progress_state;

static void on_progress(void *ctx, const s2d_progress *p)
{
    progress_state *ps = ctx;
    if (!ps->tty || ps->quiet) {
        return;
    }
    bool last = p->frames_done == p->frames_total;
    if (!last && p->seconds - ps->last_print < 0.25) {
        return;
    }
    ps->last_print = p->seconds;
    double rate = p->seconds > 0 ? (double)p->frames_done / p->seconds : 0;
    double eta = rate > 0 ? (double)(p->frames_total - p->frames_done) / rate : 0;
    fprintf(stderr, "\rlevel %d  tiles %llu/%llu  %.0f tiles/s  ETA %.0fs   ", p->level,
            (unsigned long long)p->frames_done, (unsigned long long)p->frames_total, rate, eta);
    if (last) {
        fputc('\n', stderr);
    }
}

static void on_warning(void *ctx, const char *message)
{
    progress_state *ps = ctx;
    if (!ps->quiet) {
        fprintf(stderr, "%sslide2dcm: warning: %s\n", ps->tty ? "\r" : "", message);
    }
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static int cmd_convert(int argc, char **argv)
{
    s2d_convert_options opts;
    s2d_convert_options_init(&opts);
    const char *outdir = NULL, *report_path = NULL, *uid_root = NULL;
    bool deterministic_uids = false;
    progress_state ps = {.tty = isatty(STDERR_FILENO) != 0};
    s2d_cli_send send;
    s2d_cli_send_init(&send);
    long v;
    double d;
    char *end;
    int c;
    optind = 1;
    opterr = 0;   // our own one-line messages
    while ((c = getopt_long(argc, argv, ":o:qh", long_options, NULL)) != -1) {
        switch (c) {
        case 'o': outdir = optarg; break;
        case 'q': ps.quiet = true; break;
        case 'h': fputs(usage_text, stdout); return 0;
        case OPT_TILE:
            if (!parse_long(optarg, 16, 4096, &v) || v % 16) {
                return s2d_cli_usage_error("", "--tile-size %s: use a multiple of 16 from 16 to 4096", optarg);
            }
            opts.tile_size = (int)v;
            break;
        case OPT_REENCODE: opts.reencode = true; break;
        case OPT_QUALITY:
            if (!parse_long(optarg, 1, 100, &v)) {
                return s2d_cli_usage_error("", "--quality %s: use 1 to 100", optarg);
            }
            opts.quality = (int)v;
            break;
        case OPT_SUBSAMPLING:
            if (strcmp(optarg, "420") && strcmp(optarg, "444")) {
                return s2d_cli_usage_error("", "--subsampling %s: use 420 or 444", optarg);
            }
            opts.subsampling_444 = strcmp(optarg, "444") == 0;
            break;
        case OPT_THREADS:
            if (!parse_long(optarg, 1, 256, &v)) {
                return s2d_cli_usage_error("", "--threads %s: use 1 to 256", optarg);
            }
            opts.threads = (int)v;
            break;
        case OPT_MPP:
            d = strtod(optarg, &end);
            if (end == optarg || *end || !(d > 0 && d < 1e6)) {
                return s2d_cli_usage_error("", "--mpp %s: give the pixel size in micrometres", optarg);
            }
            opts.mpp = d;
            break;
        case OPT_EOT:
            if (!parse_long(optarg, 1, __LONG_MAX__, &v)) {
                return s2d_cli_usage_error("", "--eot-threshold %s: give a byte count", optarg);
            }
            opts.eot_threshold = (uint64_t)v;
            break;
        case OPT_MAX_INSTANCE_SIZE:
            if (!parse_size(optarg, &opts.max_instance_bytes)) {
                return s2d_cli_usage_error("", "--max-instance-size %s: give a size in bytes, "
                                           "or with K, M, G or T (e.g. 500M, 2G)", optarg);
            }
            break;
        case OPT_KEEP: opts.keep_source_levels = true; break;
        case OPT_LEVELS:
            if (!parse_long(optarg, 1, S2D_MAX_LEVELS, &v)) {
                return s2d_cli_usage_error("", "--levels %s: give a count from 1 to %d", optarg,
                                           S2D_MAX_LEVELS);
            }
            opts.max_levels = (int)v;
            break;
        case OPT_NO_LABEL: opts.no_label = true; break;
        case OPT_NO_OVERVIEW: opts.no_overview = true; break;
        case OPT_NO_THUMBNAIL: opts.no_thumbnail = true; break;
        case OPT_METADATA: opts.metadata_json = optarg; break;
        case OPT_PATIENT_NAME: opts.attrs.patient_name = optarg; break;
        case OPT_PATIENT_ID: opts.attrs.patient_id = optarg; break;
        case OPT_BIRTH: opts.attrs.patient_birth_date = optarg; break;
        case OPT_SEX: opts.attrs.patient_sex = optarg; break;
        case OPT_STUDY_ID: opts.attrs.study_id = optarg; break;
        case OPT_ACCESSION: opts.attrs.accession_number = optarg; break;
        case OPT_STUDY_DATE: opts.attrs.study_date = optarg; break;
        case OPT_INSTITUTION: opts.attrs.institution_name = optarg; break;
        case OPT_REFERRING: opts.attrs.referring_physician = optarg; break;
        case OPT_SERIES_DESC: opts.attrs.series_description = optarg; break;
        case OPT_DETERMINISTIC_UIDS: deterministic_uids = true; break;
        case OPT_UID_ROOT: uid_root = optarg; break;
        case OPT_OVERWRITE: opts.overwrite = true; break;
        case OPT_REPORT: report_path = optarg; break;
        case OPT_VERSION: printf("slide2dcm %s\n", S2D_VERSION); return 0;
        case ':': return s2d_cli_usage_error("", "%s needs a value", argv[optind - 1]);
        default:
            if (c >= S2D_OPT_SEND_FIRST && c <= S2D_OPT_SEND_LAST) {
                int rc = s2d_cli_send_option(&send, c, optarg);
                if (rc) {
                    return rc;
                }
                break;
            }
            return s2d_cli_usage_error("", "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) {
        return s2d_cli_usage_error("", "%s", optind >= argc ? "convert needs one SLIDE" : "convert takes one SLIDE");
    }
    if (!outdir) {
        return s2d_cli_usage_error("", "%s", "convert needs -o OUTDIR");
    }
    if (uid_root && !deterministic_uids) {
        return s2d_cli_usage_error("", "%s", "--uid-root goes with --deterministic-uids");
    }
    if (deterministic_uids) {
        opts.uid_root = uid_root ? uid_root : "2.25";
    }
    const char *slide = argv[optind];
    int send_status = s2d_cli_send_prepare(&send);   // credentials: fail before converting
    if (send_status) {
        return send_status;
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
    if (!ok) {
        fprintf(stderr, "%sslide2dcm: %s: %s\n", ps.tty && !ps.quiet ? "\n" : "", slide,
                err.message);
    }
    // Convert then send: the files of this conversion, once they are under their names.
    void *sent = NULL;
    if (ok && send.wanted) {
        char **paths = NULL;
        size_t n = 0;
        s2d_error list_err = {0};
        if (s2d_send_list_dir(outdir, &paths, &n, &list_err)) {
            send.opts.interrupt = &interrupted;
            send_status = s2d_cli_send_run(&send, (const char *const *)paths, n, ps.quiet,
                                           report_path ? &sent : NULL);
            s2d_send_free_paths(paths, n);
        } else {
            fprintf(stderr, "slide2dcm: %s: %s\n", outdir, list_err.message);
            send_status = s2d_error_exit_status(list_err.code);
        }
    }
    s2d_cli_send_free(&send);
    if (report_path && !s2d_report_write(report_path, slide, outdir, ok, &report, &err, sent)) {
        fprintf(stderr, "slide2dcm: %s: cannot write the report\n", report_path);
        s2d_convert_report_free(&report);
        return ok ? 3 : s2d_error_exit_status(err.code);
    }
    if (ok && !send_status && !ps.quiet) {
        uint64_t bytes = 0;
        for (int i = 0; i < report.nfiles; i++) {
            bytes += report.files[i].bytes;
        }
        fprintf(stderr, "slide2dcm: %s: %d files, %.1f MB in %s, %.1f s\n", slide, report.nfiles,
                (double)bytes / 1e6, outdir, report.seconds);
    }
    s2d_convert_report_free(&report);
    if (ok && send_status) {
        return send_status;
    }
    if (!ok && err.code == S2D_OK) {
        return 1;   // a failure that forgot its reason is still a failure
    }
    return ok ? 0 : s2d_error_exit_status(err.code);
}

int main(int argc, char **argv)
{
    // Past a file size limit, write() should fail with EFBIG and be reported as an I/O
    // error with the file removed, rather than the process being killed mid-write.
    signal(SIGXFSZ, SIG_IGN);
    if (argc >= 2 && strcmp(argv[1], "convert") == 0) {
        return cmd_convert(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "batch") == 0) {
        return s2d_cli_batch(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "send") == 0) {
        return s2d_cmd_send(argc - 1, argv + 1);
    }
    if (argc >= 2 && (strcmp(argv[1], "--version") == 0)) {
        printf("slide2dcm %s\n", S2D_VERSION);
        return 0;
    }
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage_text, stdout);
        return 0;
    }
    fputs(usage_text, stderr);
    return 2;
}
