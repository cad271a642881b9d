// SPDX-License-Identifier: Apache-2.0
/* The option table of convert and batch (see options.h), the appliers of its rows and the
 * usage texts generated from it. */
#include "cli/options.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/report.h"
#include "dicom/stains.h"

void s2d_cli_args_init(s2d_cli_args *args, const char *command)
{
    memset(args, 0, sizeof *args);
    args->command = command;
    s2d_convert_options_init(&args->opts);
    args->jobs = 1;
    s2d_cli_send_init(&args->send);
}

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

// The generic appliers: the row's field is a bool to set, or a string to point at the value.
static int set_flag(const s2d_cli_option *opt, s2d_cli_args *a, char *arg)
{
    (void)arg;
    *(bool *)((char *)a + opt->field) = true;
    return 0;
}

static int set_text(const s2d_cli_option *opt, s2d_cli_args *a, char *arg)
{
    *(char **)((char *)a + opt->field) = arg;
    return 0;
}

static int set_const_text(const s2d_cli_option *opt, s2d_cli_args *a, char *arg)
{
    *(const char **)((char *)a + opt->field) = arg;
    return 0;
}

static int set_stain(const s2d_cli_option *opt, s2d_cli_args *a, char *arg)
{
    s2d_staining staining;
    s2d_error err = {0};
    if (!s2d_staining_parse(arg, &staining, &err)) {
        return s2d_cli_usage_error(a->command, "%s", err.message);
    }
    return set_const_text(opt, a, arg);
}

static int set_tile_size(const s2d_cli_option *opt, s2d_cli_args *a, char *arg)
{
    long v;
    if (!parse_long(arg, 16, 4096, &v) || v % 16) {
        return s2d_cli_usage_error(a->command, "--%s %s: use a multiple of 16 from 16 to 4096",
                                   opt->name, arg);
    }
    a->opts.tile_size = (int)v;
    return 0;
}

static int set_quality(const s2d_cli_option *opt, s2d_cli_args *a, char *arg)
{
    long v;
    if (!parse_long(arg, 1, 100, &v)) {
        return s2d_cli_usage_error(a->command, "--%s %s: use 1 to 100", opt->name, arg);
    }
    a->opts.quality = (int)v;
    return 0;
}

static int set_subsampling(const s2d_cli_option *opt, s2d_cli_args *a, char *arg)
{
    if (strcmp(arg, "420") && strcmp(arg, "444")) {
        return s2d_cli_usage_error(a->command, "--%s %s: use 420 or 444", opt->name, arg);
    }
    a->opts.subsampling_444 = strcmp(arg, "444") == 0;
    return 0;
}

static int set_levels(const s2d_cli_option *opt, s2d_cli_args *a, char *arg)
{
    long v;
    if (!parse_long(arg, 1, S2D_MAX_LEVELS, &v)) {
        return s2d_cli_usage_error(a->command, "--%s %s: give a count from 1 to %d", opt->name,
                                   arg, S2D_MAX_LEVELS);
    }
    a->opts.max_levels = (int)v;
    return 0;
}

// --threads and --jobs: 1 to 256 into an int field.
static int set_count(const s2d_cli_option *opt, s2d_cli_args *a, char *arg)
{
    long v;
    if (!parse_long(arg, 1, 256, &v)) {
        return s2d_cli_usage_error(a->command, "--%s %s: use 1 to 256", opt->name, arg);
    }
    *(int *)((char *)a + opt->field) = (int)v;
    return 0;
}

static int set_mpp(const s2d_cli_option *opt, s2d_cli_args *a, char *arg)
{
    char *end;
    double d = strtod(arg, &end);
    if (end == arg || *end || !(d >= S2D_MPP_MIN_UM && d <= S2D_MPP_MAX_UM)) {
        return s2d_cli_usage_error(a->command,
                                   "--%s %s: give the pixel size in micrometres, %g to %g",
                                   opt->name, arg, S2D_MPP_MIN_UM, S2D_MPP_MAX_UM);
    }
    a->opts.mpp = d;
    return 0;
}

static int set_max_replaced(const s2d_cli_option *opt, s2d_cli_args *a, char *arg)
{
    char *end;
    double d = strtod(arg, &end);
    if (end == arg || *end || !(d > 0 && d <= 100)) {
        return s2d_cli_usage_error(a->command, "--%s %s: give a percentage above 0, at most "
                                   "100 (--strict allows none)", opt->name, arg);
    }
    a->opts.max_replaced_percent = d;
    return 0;
}

static int set_z_spacing(const s2d_cli_option *opt, s2d_cli_args *a, char *arg)
{
    char *end;
    double d = strtod(arg, &end);
    if (end == arg || *end || !(d > 0 && d < 1e6)) {
        return s2d_cli_usage_error(a->command, "--%s %s: give the distance in micrometres",
                                   opt->name, arg);
    }
    a->opts.z_spacing = d;
    return 0;
}

static int set_max_instance_size(const s2d_cli_option *opt, s2d_cli_args *a, char *arg)
{
    if (!parse_size(arg, &a->opts.max_instance_bytes)) {
        return s2d_cli_usage_error(a->command, "--%s %s: give a size in bytes, or with K, M, G "
                                   "or T (e.g. 500M, 2G)", opt->name, arg);
    }
    return 0;
}

static int set_eot_threshold(const s2d_cli_option *opt, s2d_cli_args *a, char *arg)
{
    long v;
    if (!parse_long(arg, 1, __LONG_MAX__, &v)) {
        return s2d_cli_usage_error(a->command, "--%s %s: give a byte count", opt->name, arg);
    }
    a->opts.eot_threshold = (uint64_t)v;
    return 0;
}

// --kind and --pages: one of a list of words.
static int set_kind(const s2d_cli_option *opt, s2d_cli_args *a, char *arg)
{
    if (strcmp(arg, "radiology") && strcmp(arg, "document") && strcmp(arg, "photo") &&
        strcmp(arg, "microscopy")) {
        return s2d_cli_usage_error(a->command,
                                   "--%s %s: use radiology, document, photo or microscopy",
                                   opt->name, arg);
    }
    a->opts.kind = arg;
    return 0;
}

static int set_z(const s2d_cli_option *opt, s2d_cli_args *a, char *arg)
{
    if (strcmp(arg, "stack") && strcmp(arg, "series")) {
        return s2d_cli_usage_error(a->command, "--%s %s: use stack or series", opt->name, arg);
    }
    a->opts.z_series = strcmp(arg, "series") == 0;
    return 0;
}

static int set_t(const s2d_cli_option *opt, s2d_cli_args *a, char *arg)
{
    long v = 0;
    if (strcmp(arg, "all") && !parse_long(arg, 1, 1000000, &v)) {
        return s2d_cli_usage_error(a->command, "--%s %s: use all or a time point from 1",
                                   opt->name, arg);
    }
    a->opts.only_t = (int)v;
    return 0;
}

static int set_pages(const s2d_cli_option *opt, s2d_cli_args *a, char *arg)
{
    if (strcmp(arg, "frames") && strcmp(arg, "instances")) {
        return s2d_cli_usage_error(a->command, "--%s %s: use frames or instances", opt->name,
                                   arg);
    }
    a->opts.pages_as_instances = strcmp(arg, "instances") == 0;
    return 0;
}

static int set_associated_series(const s2d_cli_option *opt, s2d_cli_args *a, char *arg)
{
    if (strcmp(arg, "same") && strcmp(arg, "separate")) {
        return s2d_cli_usage_error(a->command, "--%s %s: use same or separate", opt->name,
                                   arg);
    }
    a->opts.associated_series_separate = strcmp(arg, "separate") == 0;
    return 0;
}

static int set_as(const s2d_cli_option *opt, s2d_cli_args *a, char *arg)
{
    if (strcmp(arg, "pdf")) {
        return s2d_cli_usage_error(a->command, "--%s %s: use pdf", opt->name, arg);
    }
    a->opts.as_pdf = true;
    return 0;
}

// A code of upper-case letters, digits and underscores (CS), as Modality and Conversion
// Type are.
static int set_code(const s2d_cli_option *opt, s2d_cli_args *a, char *arg)
{
    size_t n = strlen(arg);
    if (n == 0 || n > 16 || strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != n) {
        return s2d_cli_usage_error(a->command, "--%s %s: give a code of capital letters, e.g. "
                                   "%s", opt->name, arg,
                                   strcmp(opt->name, "modality") ? "SD" : "CT");
    }
    *(const char **)((char *)a + opt->field) = arg;
    return 0;
}

// Two numbers "A,B" (a window's centre and width; a pixel spacing's row and column).
static bool parse_pair(const char *s, double *x, double *y)
{
    char *end;
    *x = strtod(s, &end);
    if (end == s || *end != ',') {
        return false;
    }
    const char *second = end + 1;
    *y = strtod(second, &end);
    return end != second && !*end && isfinite(*x) && isfinite(*y);
}

static int set_window(const s2d_cli_option *opt, s2d_cli_args *a, char *arg)
{
    s2d_convert_options *o = &a->opts;
    if (!strcmp(arg, "none")) {
        o->no_window = true;
        return 0;
    }
    double center, width;
    if (!parse_pair(arg, &center, &width) || width < 1) {
        return s2d_cli_usage_error(a->command, "--%s %s: give CENTER,WIDTH (width at least 1) "
                                   "or none", opt->name, arg);
    }
    if (o->nwindows == S2D_MAX_WINDOWS) {
        return s2d_cli_usage_error(a->command, "--%s: at most %d windows", opt->name,
                                   S2D_MAX_WINDOWS);
    }
    o->windows[o->nwindows][0] = center;
    o->windows[o->nwindows][1] = width;
    o->nwindows++;
    return 0;
}

static int set_pixel_spacing(const s2d_cli_option *opt, s2d_cli_args *a, char *arg)
{
    double row, column;
    if (!parse_pair(arg, &row, &column) || !(row > 0 && row < 1e4) ||
        !(column > 0 && column < 1e4)) {
        return s2d_cli_usage_error(a->command, "--%s %s: give ROW,COLUMN in mm, e.g. 0.5,0.5",
                                   opt->name, arg);
    }
    a->opts.pixel_spacing[0] = row;
    a->opts.pixel_spacing[1] = column;
    return 0;
}

static int set_burned_in(const s2d_cli_option *opt, s2d_cli_args *a, char *arg)
{
    if (strcmp(arg, "yes") && strcmp(arg, "no")) {
        return s2d_cli_usage_error(a->command, "--%s %s: use yes or no", opt->name, arg);
    }
    a->opts.burned_in_annotation = strcmp(arg, "yes") == 0 ? 1 : -1;
    return 0;
}

// --send-stow and --send-cstore of convert and batch, --stow and --cstore of send.
static int set_stow(const s2d_cli_option *opt, s2d_cli_args *a, char *arg)
{
    (void)opt;
    return s2d_cli_send_option(&a->send, S2D_OPT_STOW, arg);
}

static int set_cstore(const s2d_cli_option *opt, s2d_cli_args *a, char *arg)
{
    (void)opt;
    return s2d_cli_send_option(&a->send, S2D_OPT_CSTORE, arg);
}

#define FIELD(member) offsetof(s2d_cli_args, member)
#define ATTR(member) FIELD(opts.attrs.member)
// Convert options batch passes on to every slide; convert checks their values there.
#define FORWARDED (S2D_OPT_CONVERT | S2D_OPT_FORWARD)

// In convert --help order; a row's section heading is printed before it.
const s2d_cli_option s2d_cli_options[] = {
    {"reencode", 0, NULL, "Pyramid and tiles:",
     "decode and re-encode every level and image instead of\ncopying", NULL, set_flag,
     FIELD(opts.reencode), FORWARDED | S2D_OPT_PIXELS, NULL},
    {"tile-size", 0, "N", NULL,
     "frame size in pixels, a multiple of 16 (default: the\nsource's JPEG or JPEG 2000 tile "
     "size, when a multiple of 16\nas TIFF requires, else 256)", NULL, set_tile_size, 0,
     FORWARDED | S2D_OPT_PIXELS, NULL},
    {"quality", 0, "Q", NULL, "JPEG quality 1-100 of encoded levels (default 90)", NULL,
     set_quality, 0, FORWARDED | S2D_OPT_PIXELS, NULL},
    {"subsampling", 0, "420|444", NULL, "chroma subsampling of encoded levels (default 420)",
     NULL, set_subsampling, 0, FORWARDED | S2D_OPT_PIXELS, NULL},
    {"keep-source-levels", 0, NULL, NULL, "write the slide's own levels instead of halving levels",
     NULL, set_flag, FIELD(opts.keep_source_levels), FORWARDED | S2D_OPT_PIXELS, NULL},
    {"levels", 0, "N", NULL, "write only the N largest levels (default: down to one frame)",
     NULL, set_levels, 0, FORWARDED, NULL},
    {"threads", 0, "N", NULL, "encoder threads (default: all cores)",
     "encoder threads per slide (default: cores / jobs)", set_count, FIELD(opts.threads),
     S2D_OPT_CONVERT | S2D_OPT_BATCH, NULL},
    {"no-label", 0, NULL, NULL, "leave the label image out", NULL, set_flag,
     FIELD(opts.no_label), FORWARDED, NULL},
    {"no-overview", 0, NULL, NULL, "leave the overview image out", NULL, set_flag,
     FIELD(opts.no_overview), FORWARDED, NULL},
    {"no-thumbnail", 0, NULL, NULL, "leave the thumbnail image out", NULL, set_flag,
     FIELD(opts.no_thumbnail), FORWARDED, NULL},
    {"associated-series", 0, "same|separate", NULL,
     "label and overview in the pyramid's series (default)\nor in a series of their own", NULL, set_associated_series, 0, FORWARDED | S2D_OPT_PIXELS, NULL},
    {"verify", 0, NULL, NULL,
     "decode every copied frame (they all get a structure check);\none that does not "
     "decode is replaced by background", NULL, set_flag, FIELD(opts.verify),
     FORWARDED | S2D_OPT_PIXELS, NULL},
    {"strict", 0, NULL, NULL, "fail when any tile is missing or broken (default: more than\n"
     "1 % of a level's)", NULL, set_flag, FIELD(opts.strict), FORWARDED, NULL},
    {"max-replaced", 0, "PERCENT", NULL,
     "fail when more than PERCENT of a level's tiles are missing\nor broken (default 1)",
     NULL, set_max_replaced, 0, FORWARDED, NULL},
    {"kind", 0, "KIND", "Plain TIFFs (radiology exports, scanned documents, photographs,\n"
     "microscopy planes):",
     "radiology, document, photo or microscopy (default: from the\nfile; the "
     "--json-report says why)",
     NULL, set_kind, 0, FORWARDED | S2D_OPT_PIXELS, NULL},
    {"modality", 0, "CODE", NULL,
     "Modality (CT, MR, CR, DX, US, XA, MG, OT, DOC, XC, ES...);\nit implies the kind",
     NULL, set_code, FIELD(opts.modality), FORWARDED | S2D_OPT_PIXELS, NULL},
    {"codec", 0, "NAME", NULL,
     "native (default), deflate, rle, jpeg-ls or j2k, all lossless;\nJPEG pages are "
     "copied unless one is named; microscopy:\njpeg-ls (default), j2k, native, or jpeg "
     "for 8 bits (lossy)", NULL, set_const_text, FIELD(opts.codec), FORWARDED | S2D_OPT_PIXELS,
     NULL},
    {"z", 0, "stack|series", NULL,
     "microscopy: z planes as focal planes of each instance\n(default) or a series per plane",
     NULL, set_z, 0, FORWARDED | S2D_OPT_PIXELS, NULL},
    {"z-spacing", 0, "MICRONS", NULL,
     "microscopy: distance between z planes, for files that do\nnot record it (required "
     "then with --z stack)", NULL, set_z_spacing, 0, FORWARDED, NULL},
    {"t", 0, "all|N", NULL,
     "microscopy: every time point, a series each (default), or\nonly time point N",
     NULL, set_t, 0, FORWARDED | S2D_OPT_PIXELS, NULL},
    {"pages", 0, "frames|instances", NULL,
     "pages of one size and type as frames of one instance\n(default) or one instance each",
     NULL, set_pages, 0, FORWARDED | S2D_OPT_PIXELS, NULL},
    {"as", 0, "pdf", NULL,
     "documents: one Encapsulated PDF, document.dcm, whose pages\ncarry the TIFF's G4 or "
     "JPEG data unchanged", NULL, set_as, 0, FORWARDED | S2D_OPT_PIXELS, NULL},
    {"window", 0, "C,W|none", NULL,
     "Window Center,Width in rescaled units (repeatable; default:\nthe 0.5-99.5% range, "
     "then the full range)", NULL, set_window, 0, FORWARDED, NULL},
    {"pixel-spacing", 0, "ROW,COL", NULL,
     "pixel spacing in the patient, mm (TIFF resolutions of\nradiology exports are not "
     "trusted)", NULL, set_pixel_spacing, 0, FORWARDED, NULL},
    {"conversion-type", 0, "CODE", NULL,
     "Conversion Type (default DI radiology, SD documents)", NULL, set_code,
     FIELD(opts.conversion_type), FORWARDED, NULL},
    {"burned-in-annotation", 0, "yes|no", NULL,
     "whether names or dates are in the pixels (default yes,\nphotographs no)", NULL,
     set_burned_in, 0, FORWARDED, NULL},
    {"document-title", 0, "TEXT", NULL, "Document Title", NULL, set_const_text,
     FIELD(opts.document_title), FORWARDED, NULL},
    {"body-part", 0, "CODE", NULL, "Body Part Examined", NULL, set_code, FIELD(opts.body_part),
     FORWARDED, NULL},
    {"deidentify", 0, NULL, "De-identification (README, \"De-identification\"):",
     "PS3.15 Basic Profile: identifiers, dates, serials and text\nfrom the source removed or "
     "replaced (yours kept); no label\nor overview; the pseudonym in the --json-report",
     NULL, set_flag, FIELD(opts.deidentify), FORWARDED | S2D_OPT_PIXELS, NULL},
    {"label-image", 0, "FILE", NULL,
     "with --deidentify: this JPEG, PNG or TIFF as the label", NULL, set_const_text,
     FIELD(opts.label_image), FORWARDED | S2D_OPT_PIXELS, NULL},
    {"label-text", 0, "TEXT", NULL,
     "with --deidentify: a label showing TEXT (printable ASCII,\nat most 64 characters)",
     NULL, set_const_text, FIELD(opts.label_text), FORWARDED | S2D_OPT_PIXELS, NULL},
    {"mpp", 0, "MICRONS", "Metadata:", "pixel size, for slides that do not record it", NULL,
     set_mpp, 0, FORWARDED, NULL},
    {"metadata", 0, "FILE", NULL, "DICOM JSON (PS3.18 F.2) attributes; they override defaults",
     "DICOM JSON attributes for every slide (manifest\ncolumns win over it)", set_const_text,
     FIELD(opts.metadata_json), S2D_OPT_CONVERT | S2D_OPT_BATCH, NULL},
    {"stain", 0, "NAME", NULL,
     "the slide's stain, coded in its specimen's preparation: H&E,\nPAS, Masson trichrome, "
     "Giemsa...; parts joined by + (the list\nis at the end)", NULL, set_stain,
     FIELD(opts.stain), FORWARDED, NULL},
    {"deterministic-uids", 0, NULL, NULL,
     "UIDs derived from the slide's content (same slide and pixel\noptions, same UIDs: "
     "re-sending replaces, never duplicates)", NULL, set_flag, FIELD(deterministic_uids),
     FORWARDED, NULL},
    {"uid-root", 0, "ROOT", NULL, "root of those UIDs (default 2.25, name-based UUIDs)", NULL,
     set_const_text, FIELD(uid_root), FORWARDED, NULL},
    {"patient-name", 0, "VALUE", "Attributes (these override --metadata):", "Patient's Name",
     NULL, set_const_text, ATTR(patient_name), FORWARDED, NULL},
    {"patient-id", 0, "VALUE", NULL, "Patient ID", NULL, set_const_text, ATTR(patient_id),
     FORWARDED, NULL},
    {"patient-birth-date", 0, "YYYYMMDD", NULL, "Patient's Birth Date", NULL, set_const_text,
     ATTR(patient_birth_date), FORWARDED, NULL},
    {"patient-sex", 0, "M|F|O", NULL, "Patient's Sex", NULL, set_const_text, ATTR(patient_sex),
     FORWARDED, NULL},
    {"study-id", 0, "VALUE", NULL, "Study ID", NULL, set_const_text, ATTR(study_id), FORWARDED,
     NULL},
    {"accession-number", 0, "VALUE", NULL, "Accession Number", NULL, set_const_text,
     ATTR(accession_number), FORWARDED, NULL},
    {"study-date", 0, "YYYYMMDD", NULL, "Study Date", NULL, set_const_text, ATTR(study_date),
     FORWARDED, NULL},
    {"institution-name", 0, "VALUE", NULL, "Institution Name", NULL, set_const_text,
     ATTR(institution_name), FORWARDED, NULL},
    {"referring-physician", 0, "VALUE", NULL, "Referring Physician's Name", NULL,
     set_const_text, ATTR(referring_physician), FORWARDED, NULL},
    {"series-description", 0, "VALUE", NULL, "Series Description", NULL, set_const_text,
     ATTR(series_description), FORWARDED, NULL},
    {"output", 'o', "OUTDIR", "Output:", "output directory (created if missing, with its parents)",
     "output root (created if missing)", set_text, FIELD(output),
     S2D_OPT_CONVERT | S2D_OPT_BATCH, "OUTROOT"},
    {"overwrite", 0, NULL, NULL, "replace an earlier conversion in OUTDIR", NULL, set_flag,
     FIELD(opts.overwrite), S2D_OPT_CONVERT, NULL},
    {"json-report", 0, "FILE", NULL,
     "per-level tiles, bytes, seconds and tiles/s, as JSON\n(- for standard output)", NULL,
     set_const_text, FIELD(report_path), S2D_OPT_CONVERT | S2D_OPT_SEND, NULL},
    {"dicomdir", 0, "MEDIA", NULL,
     "also make MEDIA a DICOM media folder of the files: a\nDICOMDIR and media-safe names "
     "(hard links or copies)",
     "make MEDIA one DICOM media folder (DICOMDIR) of every\nslide done, rebuilt each run",
     set_const_text, FIELD(dicomdir), S2D_OPT_CONVERT | S2D_OPT_BATCH, NULL},
    {"quiet", 'q', NULL, NULL, "no progress or warnings", "no progress line, no summary",
     set_flag, FIELD(quiet), S2D_OPT_CONVERT | S2D_OPT_BATCH | S2D_OPT_SEND, NULL},
    {"max-instance-size", 0, "SIZE", NULL,
     "no file larger than SIZE bytes (suffix K, M, G, T: powers of\n1024): a level that would "
     "be is split into a DICOM\nconcatenation, level-N-part-1.dcm, level-N-part-2.dcm ...",
     NULL, set_max_instance_size, 0, FORWARDED | S2D_OPT_PIXELS, NULL},
    // Test hook: force the Extended Offset Table above this many bytes of frames.
    {"eot-threshold", 0, "BYTES", NULL, "use the Extended Offset Table above this size", NULL,
     set_eot_threshold, 0, S2D_OPT_CONVERT | S2D_OPT_HIDDEN, NULL},
    // The batch's channel from each child: the frames done, rewritten (docs/batch.md).
    {"progress-file", 0, "FILE", NULL, "keep FILE updated with the frames done", NULL,
     set_const_text, FIELD(progress_path), S2D_OPT_CONVERT | S2D_OPT_HIDDEN, NULL},
    {"send-stow", 0, "URL",
     "Sending (after a successful conversion; slide2dcm send --help says more):",
     "STOW-RS the files to this studies URL", "STOW-RS the slide's files to this studies URL",
     set_stow, 0, S2D_OPT_CONVERT | S2D_OPT_BATCH | S2D_OPT_DESTINATION, NULL},
    {"send-cstore", 0, "HOST:PORT", NULL, "C-STORE the files to this peer",
     "C-STORE the slide's files to this peer", set_cstore, 0,
     S2D_OPT_CONVERT | S2D_OPT_BATCH | S2D_OPT_DESTINATION, NULL},
    {"version", 0, NULL, "Other:", "print the versions (ours, the libraries') and stop",
     "print the versions (ours, the libraries') and stop", set_flag, FIELD(version),
     S2D_OPT_CONVERT | S2D_OPT_BATCH | S2D_OPT_SEND, NULL},
    {"help", 'h', NULL, NULL, "print this text and stop", "print this text and stop", set_flag,
     FIELD(help), S2D_OPT_CONVERT | S2D_OPT_BATCH | S2D_OPT_SEND, NULL},
    // send's own destinations (its usage text is its own, in cli/send.c).
    {"stow", 0, "URL", NULL, NULL, NULL, set_stow, 0, S2D_OPT_SEND | S2D_OPT_DESTINATION, NULL},
    {"cstore", 0, "HOST:PORT", NULL, NULL, NULL, set_cstore, 0,
     S2D_OPT_SEND | S2D_OPT_DESTINATION, NULL},
    // batch's own.
    {"jobs", 'j', "N", NULL, NULL, "slides converted at once (default 1); the cores are shared",
     set_count, FIELD(jobs), S2D_OPT_BATCH, NULL},
    {"force", 0, NULL, NULL, NULL, "convert again the slides already done", set_flag,
     FIELD(force), S2D_OPT_BATCH, NULL},
    {"list", 0, NULL, NULL, NULL,
     "print the plan as JSON (names, sources, metadata) and stop", set_flag, FIELD(list),
     S2D_OPT_BATCH, NULL},
    {"strict-manifest", 0, NULL, NULL, NULL,
     "refuse a manifest with a column slide2dcm does not know\n(default: warn and ignore it)",
     set_flag, FIELD(strict_manifest), S2D_OPT_BATCH, NULL},
};

const size_t s2d_cli_noptions = sizeof s2d_cli_options / sizeof *s2d_cli_options;

// Options without a short name are numbered past every character getopt could return.
enum { LONG_ONLY_VAL = 2000 };

int s2d_cli_option_val(const s2d_cli_option *opt)
{
    return opt->short_name ? opt->short_name : LONG_ONLY_VAL + (int)(opt - s2d_cli_options);
}

const s2d_cli_option *s2d_cli_option_of_val(int val)
{
    for (size_t i = 0; i < s2d_cli_noptions; i++) {
        if (s2d_cli_option_val(&s2d_cli_options[i]) == val) {
            return &s2d_cli_options[i];
        }
    }
    return NULL;
}

struct option *s2d_cli_getopt_table(unsigned command_flags, char shortopts[16])
{
    static const struct option sending[] = {S2D_SEND_SHARED_OPTIONS};
    size_t nsending = sizeof sending / sizeof *sending;
    struct option *table = calloc(s2d_cli_noptions + nsending + 1, sizeof *table);
    if (!table) {
        return NULL;
    }
    size_t n = 0, s = 0;
    shortopts[s++] = ':';   // a missing value returns ':' (our own message)
    for (size_t i = 0; i < s2d_cli_noptions; i++) {
        const s2d_cli_option *opt = &s2d_cli_options[i];
        if (!(opt->flags & command_flags)) {
            continue;
        }
        table[n++] = (struct option){opt->name, opt->arg ? required_argument : no_argument, NULL,
                                     s2d_cli_option_val(opt)};
        if (opt->short_name && s + 3 <= 16) {
            shortopts[s++] = opt->short_name;
            if (opt->arg) {
                shortopts[s++] = ':';
            }
        }
    }
    shortopts[s] = '\0';
    memcpy(table + n, sending, sizeof sending);
    return table;
}

// "  -o, --output OUTDIR     help", the help's further lines under its first.
static void print_option(FILE *out, const s2d_cli_option *opt, const char *arg,
                         const char *help)
{
    enum { HELP_COLUMN = 26 };
    char left[64];
    int n = opt->short_name ? snprintf(left, sizeof left, "  -%c, --%s", opt->short_name, opt->name)
                            : snprintf(left, sizeof left, "  --%s", opt->name);
    if (arg) {
        n += snprintf(left + n, sizeof left - (size_t)n, " %s", arg);
    }
    fprintf(out, "%s%*s", left, n < HELP_COLUMN ? HELP_COLUMN - n : 2, "");
    for (const char *line = help; *line;) {
        size_t len = strcspn(line, "\n");
        fprintf(out, "%.*s\n", (int)len, line);
        line += len;
        if (*line == '\n') {
            line++;
            fprintf(out, "%*s", HELP_COLUMN, "");
        }
    }
}

// head then list, broken at commas to lines of at most 86 columns.
static void print_wrapped(FILE *out, const char *head, const char *list)
{
    fputs(head, out);
    int column = (int)(strlen(head) - (size_t)(strrchr(head, '\n') - head) - 1);
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        int width = (int)n + (p[n] == ',');
        if (column + width > 86) {
            fputs("\n", out);
            column = 0;
        }
        fprintf(out, "%.*s", width, p);
        column += width;
        p += n + (p[n] == ',');
    }
    fputs(".\n", out);
}

void s2d_cli_print_convert_usage(FILE *out)
{
    fputs("usage: slide2dcm convert SLIDE|TIFF -o OUTDIR [options]\n"
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
          "A plain TIFF (a radiology export, a scanned document, a photograph) becomes\n"
          "Secondary Capture or VL Photographic instances, OUTDIR/image-001.dcm ...: one per\n"
          "run of pages of one size and type, lossless (see --kind and docs/plain-tiff.md).\n"
          "\n",
          out);
    bool after_destination = false;
    for (size_t i = 0; i < s2d_cli_noptions; i++) {
        const s2d_cli_option *opt = &s2d_cli_options[i];
        if (!(opt->flags & S2D_OPT_CONVERT) || (opt->flags & S2D_OPT_HIDDEN)) {
            continue;
        }
        bool destination = opt->flags & S2D_OPT_DESTINATION;
        if (after_destination && !destination) {
            fputs(S2D_SEND_USAGE, out);
        }
        after_destination = destination;
        if (opt->section) {
            fprintf(out, "%s\n", opt->section);
        }
        print_option(out, opt, opt->arg, opt->help);
    }
    if (after_destination) {
        fputs(S2D_SEND_USAGE, out);
    }
    fputs("\n"
          "Exit status: 0 converted (and, when sending, stored); 1 bad or unsupported input;\n"
          "2 usage (bad options, OUTDIR holds a conversion and --overwrite is missing, another\n"
          "run writes into OUTDIR); 3 I/O (cannot read or write, disk full, out of memory);\n"
          "4 converted but not every file stored; 130 interrupted (nothing is left behind).\n",
          out);
    print_wrapped(out, "\nStains --stain knows (in any case; spaces, hyphens and a last "
                  "\"stain\" do not matter):\n ", s2d_stain_names());
}

void s2d_cli_print_batch_usage(FILE *out)
{
    fputs("usage: slide2dcm batch INPUT -o OUTROOT [options] [convert options]\n"
          "\n"
          "Converts every slide and plain TIFF of INPUT, a folder (walked recursively; inputs\n"
          "recognised by content or extension) or a CSV manifest (a \"path\" column, columns\n"
          "named by DICOM keyword that set that attribute for the row's input, and for plain\n"
          "TIFFs \"kind\", \"Modality\" and \"DocumentTitle\", which act as --kind, --modality\n"
          "and --document-title, and for slides \"Stain\", which acts as --stain), into\n"
          "OUTROOT/<name>/.\n"
          "Re-running skips the slides already converted and unchanged "
          "(OUTROOT/batch-journal.jsonl).\n"
          "\n",
          out);
    // Those with a short name first.
    for (int with_short = 1; with_short >= 0; with_short--) {
        for (size_t i = 0; i < s2d_cli_noptions; i++) {
            const s2d_cli_option *opt = &s2d_cli_options[i];
            if ((opt->flags & S2D_OPT_BATCH) && !(opt->flags & S2D_OPT_DESTINATION) &&
                (opt->short_name != 0) == with_short) {
                print_option(out, opt, opt->batch_arg ? opt->batch_arg : opt->arg, opt->batch_help);
            }
        }
    }
    fputs("Convert options, applied to every slide (see slide2dcm convert --help; the\n"
          "attribute options win over manifest columns):\n",
          out);
    int column = 0;
    const char *separator = "  ";
    for (size_t i = 0; i < s2d_cli_noptions; i++) {
        const s2d_cli_option *opt = &s2d_cli_options[i];
        if (opt->flags & S2D_OPT_FORWARD) {
            int width = (int)(strlen(separator) + 2 + strlen(opt->name));
            if (column + width > 86) {
                fputs(",\n", out);
                separator = "  ";
                column = 0;
            }
            fprintf(out, "%s--%s", separator, opt->name);
            column += width;
            separator = ", ";
        }
    }
    fputs("\nSending each slide once converted (as slide2dcm convert; slide2dcm send --help):\n",
          out);
    for (size_t i = 0; i < s2d_cli_noptions; i++) {
        const s2d_cli_option *opt = &s2d_cli_options[i];
        if ((opt->flags & S2D_OPT_BATCH) && (opt->flags & S2D_OPT_DESTINATION)) {
            print_option(out, opt, opt->arg, opt->batch_help);
        }
    }
    fputs(S2D_SEND_USAGE
          "A slide counts as done once its files are stored; a re-run sends the slides converted\n"
          "but not stored there, without converting them again.\n"
          "\n"
          "Exit status: 0 all converted (or already done) and, when sending, stored; 1 some\n"
          "failed to convert (the report says why); 2 usage; 3 OUTROOT not writable; 4 all\n"
          "converted but some not stored; 130 interrupted. Report: OUTROOT/batch-report.json.\n",
          out);
}
