/* One slide to one output directory: plan the pyramid, describe the instances, run the
 * tile pipeline, write the associated images, then rename every file into place.
 * Invariant: a file appears under its final name only when the whole conversion succeeded. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lcms2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "codec/frame_dec.h"
#include "codec/jpeg_enc.h"
#include "core/fingerprint.h"
#include "core/log.h"
#include "dicom/json_meta.h"
#include "dicom/part10.h"
#include "dicom/wsm.h"
#include "pipeline/pyramid.h"
#include "reader/reader.h"
#include "slide2dcm/slide2dcm.h"

#define THUMBNAIL_MAX 1024   // largest side of a thumbnail made from the pyramid
#define DEFAULT_TILE 256     // frame size when the source is not tiled JPEG / JPEG 2000
#define UID_JPEG_2000 "1.2.840.10008.1.2.4.91"

void s2d_convert_options_init(s2d_convert_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->quality = 90;
}

// One output instance in the making: one file, or with --max-instance-size maybe the
// parts of a concatenation (the writer knows them once finished).
typedef struct output {
    char name[64];                    // the file name of the whole instance
    s2d_part10 *writer;
    s2d_flavor flavor;
    int64_t width, height;
    uint32_t nframes;
    double seconds;
    double first_frame_s;    // pyramid levels; -1 for the others
    bool copied;
    const char *transfer_syntax;
    char photometric[16];
    uint64_t replaced_frames;         // copied levels: frames made because the source's broke
} output;

typedef struct job {
    const char *slide_path;
    const char *outdir;
    const s2d_convert_options *opts;
    s2d_reader *reader;
    s2d_wsm_slide slide;
    uint8_t *srgb_profile;
    s2d_ds *overrides;
    output outputs[S2D_MAX_LEVELS + 3];
    int noutputs;
    int next_instance_number;
    int warnings;
    bool created_outdir;     // removed again if the conversion fails
    // With opts->uid_root: what identifies the slide (its content fingerprint) and what
    // identifies this encoding of it (fingerprint + the options that change the pixels).
    char uid_seed_slide[65], uid_seed_encoding[160];
} job;

static bool validate_options(const s2d_convert_options *o, s2d_error *err)
{
    if (o->tile_size != 0 && (o->tile_size < 16 || o->tile_size > 4096 || o->tile_size % 16 != 0)) {
        return s2d_error_set(err, S2D_ERR_USAGE, "tile size %d: use a multiple of 16 from 16 to 4096",
                             o->tile_size);
    }
    if (o->quality < 1 || o->quality > 100) {
        return s2d_error_set(err, S2D_ERR_USAGE, "JPEG quality %d is not in 1..100", o->quality);
    }
    if (o->threads < 0 || o->threads > 256) {
        return s2d_error_set(err, S2D_ERR_USAGE, "thread count %d is not in 0..256", o->threads);
    }
    if (o->uid_root && !s2d_uid_root_check(o->uid_root, err)) {
        return false;
    }
    if (o->mpp < 0 || o->mpp > 1e6) {
        return s2d_error_set(err, S2D_ERR_USAGE, "--mpp %g is not a pixel size in micrometres",
                             o->mpp);
    }
    return true;
}

static bool make_srgb(job *jb, s2d_error *err)
{
    cmsHPROFILE srgb = cmsCreate_sRGBProfile();
    cmsUInt32Number len = 0;
    bool ok = srgb && cmsSaveProfileToMem(srgb, NULL, &len) && len > 0 &&
              (jb->srgb_profile = malloc(len)) != NULL &&
              cmsSaveProfileToMem(srgb, jb->srgb_profile, &len);
    if (srgb) {
        cmsCloseProfile(srgb);
    }
    if (!ok || len < 128) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "cannot make an sRGB ICC profile");
    }
    // lcms stamps the header's creation time (bytes 24-35); a fixed one makes every
    // conversion of a slide byte-identical. 2000-01-01 00:00:00 as six big-endian uint16.
    static const uint8_t fixed_date[12] = {0x07, 0xD0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0};
    memcpy(jb->srgb_profile + 24, fixed_date, sizeof fixed_date);
    jb->slide.icc_profile = jb->srgb_profile;
    jb->slide.icc_profile_len = len;
    jb->slide.icc_is_srgb = true;
    return true;
}

// The background colour as CIELab in the PS3.3 C.10.7.1.1 encoding, for Recommended
// Absent Pixel CIELab Value: what viewers paint outside the scanned area.
static void background_lab(const uint8_t rgb[3], uint16_t out[3])
{
    cmsHPROFILE srgb = cmsCreate_sRGBProfile();
    cmsHPROFILE lab = cmsCreateLab4Profile(NULL);
    cmsHTRANSFORM xf = srgb && lab ? cmsCreateTransform(srgb, TYPE_RGB_8, lab, TYPE_Lab_DBL,
                                                        INTENT_PERCEPTUAL, 0)
                                   : NULL;
    cmsCIELab v = {100, 0, 0};
    if (xf) {
        cmsDoTransform(xf, rgb, &v, 1);
        cmsDeleteTransform(xf);
    }
    if (srgb) {
        cmsCloseProfile(srgb);
    }
    if (lab) {
        cmsCloseProfile(lab);
    }
    double l = v.L < 0 ? 0 : v.L > 100 ? 100 : v.L;
    double a = v.a < -128 ? -128 : v.a > 127 ? 127 : v.a;
    double b = v.b < -128 ? -128 : v.b > 127 ? 127 : v.b;
    out[0] = (uint16_t)(l * 65535.0 / 100.0 + 0.5);
    out[1] = (uint16_t)((a + 128) * 65535.0 / 255.0 + 0.5);
    out[2] = (uint16_t)((b + 128) * 65535.0 / 255.0 + 0.5);
}

// Makes text from the source (a barcode, a file name) a valid single LO value of at most
// 64 characters: backslashes, control characters and bytes that are not UTF-8 become '_'.
static void sanitize_lo(const char *in, char out[257])
{
    size_t o = 0, chars = 0;
    const unsigned char *s = (const unsigned char *)in;
    const unsigned char *end = s + strlen(in);
    while (*s && chars < 64) {
        // The same UTF-8 rule the dataset encoder enforces, so a cleaned value is accepted.
        size_t len = s2d_utf8_char_len(s, (size_t)(end - s));
        if (len == 0 || *s == '\\' || *s < 0x20 || *s == 0x7F) {
            out[o++] = '_';
            s++;
        } else {
            memcpy(out + o, s, len);
            o += len;
            s += len;
        }
        chars++;
    }
    out[o] = '\0';
}

static void file_stem(const char *path, char out[257])
{
    const char *base = strrchr(path, '/');
    char stem[4096];
    snprintf(stem, sizeof stem, "%s", base ? base + 1 : path);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem) {
        *dot = '\0';
    }
    sanitize_lo(stem, out);
}

static bool put_flag(s2d_ds *ds, uint32_t tag, const char *vr, const char *value,
                     const char *flag, s2d_error *err)
{
    if (!value) {
        return true;
    }
    if (strchr(value, '\\')) {
        return s2d_error_set(err, S2D_ERR_USAGE, "%s: a backslash would split the value in two",
                             flag);
    }
    if (!s2d_ds_put_str(ds, tag, vr, value, err)) {
        err->code = S2D_ERR_USAGE;
        s2d_error_prefix(err, "%s: ", flag);
        return false;
    }
    return true;
}

static bool load_overrides(job *jb, s2d_error *err)
{
    const s2d_convert_options *o = jb->opts;
    jb->overrides = o->metadata_json ? s2d_json_meta_load(o->metadata_json, err) : s2d_ds_new();
    if (!jb->overrides) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");   // no-op if already set
    }
    const s2d_common_attrs *a = &o->attrs;
    if (a->patient_sex && strcmp(a->patient_sex, "M") && strcmp(a->patient_sex, "F") &&
        strcmp(a->patient_sex, "O")) {
        return s2d_error_set(err, S2D_ERR_USAGE, "--patient-sex must be M, F or O");
    }
    s2d_ds *ds = jb->overrides;
    bool ok = put_flag(ds, S2D_TAG(0x0010, 0x0010), "PN", a->patient_name, "--patient-name", err) &&
           put_flag(ds, S2D_TAG(0x0010, 0x0020), "LO", a->patient_id, "--patient-id", err) &&
           put_flag(ds, S2D_TAG(0x0010, 0x0030), "DA", a->patient_birth_date,
                    "--patient-birth-date", err) &&
           put_flag(ds, S2D_TAG(0x0010, 0x0040), "CS", a->patient_sex, "--patient-sex", err) &&
           put_flag(ds, S2D_TAG(0x0020, 0x0010), "SH", a->study_id, "--study-id", err) &&
           put_flag(ds, S2D_TAG(0x0008, 0x0050), "SH", a->accession_number, "--accession-number",
                    err) &&
           put_flag(ds, S2D_TAG(0x0008, 0x0020), "DA", a->study_date, "--study-date", err) &&
           put_flag(ds, S2D_TAG(0x0008, 0x0080), "LO", a->institution_name, "--institution-name",
                    err) &&
           put_flag(ds, S2D_TAG(0x0008, 0x0090), "PN", a->referring_physician,
                    "--referring-physician", err) &&
           put_flag(ds, S2D_TAG(0x0008, 0x103E), "LO", a->series_description,
                    "--series-description", err);
    // The default Study Time is the scan's; with a user's Study Date it would not belong.
    if (ok && s2d_ds_has(ds, S2D_TAG(0x0008, 0x0020)) && !s2d_ds_has(ds, S2D_TAG(0x0008, 0x0030))) {
        ok = s2d_ds_put_str(ds, S2D_TAG(0x0008, 0x0030), "TM", "", err);
    }
    return ok;
}

static bool make_uid_seeds(job *jb, s2d_error *err)
{
    const s2d_convert_options *o = jb->opts;
    s2d_slide_files files;
    if (!s2d_slide_files_list(jb->slide_path, &files, err)) {
        return false;
    }
    bool ok = s2d_slide_fingerprint(&files, jb->uid_seed_slide, err);
    s2d_slide_files_free(&files);
    // Every option that changes the pixel data belongs here, or two different encodings
    // of one slide would share SOP Instance UIDs.
    int n = snprintf(jb->uid_seed_encoding, sizeof jb->uid_seed_encoding,
                     "%s/tile=%d/q=%d/%s/%s/%s", jb->uid_seed_slide, o->tile_size, o->quality,
                     o->subsampling_444 ? "444" : "420",
                     o->keep_source_levels ? "source-levels" : "halving",
                     o->reencode ? "reencode" : "copy");
    // The size cap decides which frames share an instance: another cap, other instances.
    // Without it the seed stays as it always was, and so do the UIDs.
    if (o->max_instance_bytes && n > 0 && (size_t)n < sizeof jb->uid_seed_encoding) {
        snprintf(jb->uid_seed_encoding + n, sizeof jb->uid_seed_encoding - (size_t)n,
                 "/max-instance=%" PRIu64, o->max_instance_bytes);
    }
    return ok;
}

// A new random UID, or with --deterministic-uids one derived from the slide (study, frame
// of reference, specimen, acquisition: the same whatever the options) or from this
// encoding of it (series, pyramid, dimension organization, instances).
static bool make_uid(const job *jb, const char *role, bool per_encoding, char out[S2D_UID_MAX],
                     s2d_error *err)
{
    if (!jb->opts->uid_root) {
        return s2d_uid_new(out, err);
    }
    s2d_uid_derive(jb->opts->uid_root, per_encoding ? jb->uid_seed_encoding : jb->uid_seed_slide,
                   role, out);
    return true;
}

// The time of the conversion: now, or SOURCE_DATE_EPOCH when set (the reproducible-builds
// convention), so that a test can ask for byte-identical files twice (tests/golden).
static time_t conversion_time(void)
{
    const char *epoch = getenv("SOURCE_DATE_EPOCH");
    if (epoch && *epoch) {
        char *end;
        errno = 0;
        long long t = strtoll(epoch, &end, 10);
        if (!*end && errno == 0 && t >= 0) {
            return (time_t)t;
        }
    }
    return time(NULL);
}

static bool describe_slide(job *jb, s2d_error *err)
{
    const s2d_slide_meta *m = s2d_reader_meta(jb->reader);
    s2d_wsm_slide *s = &jb->slide;
    const s2d_convert_options *o = jb->opts;
    if (o->mpp > 0) {
        if (m->mpp_x > 0 && (m->mpp_x / o->mpp > 1.001 || o->mpp / m->mpp_x > 1.001)) {
            s2d_warn(o, "--mpp %g replaces the slide's own pixel size %g", o->mpp, m->mpp_x);
            jb->warnings++;
        }
        s->mpp_x = s->mpp_y = o->mpp;
    } else if (m->mpp_x > 0) {
        s->mpp_x = m->mpp_x;
        s->mpp_y = m->mpp_y > 0 ? m->mpp_y : m->mpp_x;
    } else {
        return s2d_error_set(err, S2D_ERR_INPUT,
                             "the slide does not record its pixel size; pass --mpp MICRONS");
    }
    s->objective_power = m->objective_power;
    if (m->barcode[0]) {
        sanitize_lo(m->barcode, s->container_id);
        snprintf(s->barcode, sizeof s->barcode, "%s", s->container_id);
    } else {
        file_stem(jb->slide_path, s->container_id);
    }
    time_t now = conversion_time();
    struct tm tm_now;
    localtime_r(&now, &tm_now);
    strftime(s->content_date, sizeof s->content_date, "%Y%m%d", &tm_now);
    strftime(s->content_time, sizeof s->content_time, "%H%M%S", &tm_now);
    if (m->acquisition_datetime[0]) {
        snprintf(s->acquisition_datetime, sizeof s->acquisition_datetime, "%s",
                 m->acquisition_datetime);
    } else {
        // Type 1 and unknown: the slide file's modification time is the closest fact.
        struct stat st;
        struct tm tm_file;
        time_t t = stat(jb->slide_path, &st) == 0 ? st.st_mtime : now;
        localtime_r(&t, &tm_file);
        strftime(s->acquisition_datetime, sizeof s->acquisition_datetime, "%Y%m%d%H%M%S",
                 &tm_file);
    }
    if (m->icc_profile) {
        s->icc_profile = m->icc_profile;
        s->icc_profile_len = m->icc_profile_len;
    } else if (!make_srgb(jb, err)) {
        return false;
    }
    background_lab(m->background, s->absent_pixel_lab);
    s->fluorescence = m->fluorescence;
    s->excitation_nm = m->excitation_nm;
    return (!o->uid_root || make_uid_seeds(jb, err)) &&
           make_uid(jb, "study", false, s->study_uid, err) &&
           make_uid(jb, "series", true, s->series_uid, err) &&
           make_uid(jb, "frame-of-reference", false, s->frame_of_reference_uid, err) &&
           make_uid(jb, "pyramid", true, s->pyramid_uid, err) &&
           make_uid(jb, "acquisition", false, s->acquisition_uid, err) &&
           make_uid(jb, "specimen", false, s->specimen_uid, err) &&
           make_uid(jb, "dimension-organization", true, s->dimension_organization_uid, err);
}

static bool output_path(const job *jb, const char *name, char *out, size_t n, s2d_error *err)
{
    if ((size_t)snprintf(out, n, "%s/%s", jb->outdir, name) >= n) {
        return s2d_error_set(err, S2D_ERR_USAGE, "output directory path is too long");
    }
    return true;
}

// The writer's errors about the size cap are usage errors: name the option.
static void cap_error(const job *jb, s2d_error *err)
{
    if (err->code == S2D_ERR_USAGE && jb->opts->max_instance_bytes) {
        s2d_error_prefix(err, "--max-instance-size %" PRIu64 ": ", jb->opts->max_instance_bytes);
    }
}

// Opens the file for one instance and writes everything before its first frame.
// frame_bound: the largest frame it can receive, which decides the offset table kind.
static output *open_output(job *jb, const char *name, const s2d_wsm_instance *inst,
                           const char *transfer_syntax, uint64_t frame_bound, s2d_error *err)
{
    output *out = &jb->outputs[jb->noutputs];
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", name);
    out->flavor = inst->flavor;
    out->width = inst->total_width;
    out->height = inst->total_height;
    out->nframes = inst->nframes;
    out->copied = inst->copied;
    out->transfer_syntax = transfer_syntax;
    snprintf(out->photometric, sizeof out->photometric, "%s", inst->photometric);
    char path[4096], uid[S2D_UID_MAX], role[96];
    snprintf(role, sizeof role, "instance:%s", name);
    if (!output_path(jb, name, path, sizeof path, err) || !make_uid(jb, role, true, uid, err)) {
        return NULL;
    }
    s2d_ds *ds = s2d_wsm_build(&jb->slide, inst, uid, err);
    if (!ds) {
        return NULL;
    }
    const s2d_convert_options *o = jb->opts;
    // The table kind must be chosen before the first frame; the BOT is used whenever the
    // frames cannot reach 4 GiB even at their worst case.
    uint64_t worst = (uint64_t)inst->nframes * (frame_bound + 10);
    // The test hook can only lower the limit: a BOT cannot address 4 GiB.
    uint64_t limit = o->eot_threshold && o->eot_threshold < 0xFFFFFFFFull ? o->eot_threshold
                                                                          : 0xFFFFFFFFull;
    // With a size cap, the writer splits the instance when it does not fit: the parts
    // point to this instance's UID as their source, their UIDs derive from the
    // concatenation's.
    s2d_part10_split split = {.max_file_bytes = o->max_instance_bytes, .frames_bound = worst,
                              .uid_root = o->uid_root, .eot_threshold = o->eot_threshold};
    char concatenation_uid[S2D_UID_MAX];
    snprintf(role, sizeof role, "concatenation:%s", name);
    if (o->max_instance_bytes && !make_uid(jb, role, true, concatenation_uid, err)) {
        s2d_ds_free(ds);
        return NULL;
    }
    split.concatenation_uid = concatenation_uid;
    s2d_part10_params params = {
        .final_path = path,
        .sop_class_uid = S2D_UID_WSM_SOP_CLASS,
        .sop_instance_uid = uid,
        .transfer_syntax_uid = transfer_syntax,
        .dataset = ds,
        .nframes = inst->nframes,
        .extended_offsets = worst >= limit,
        .uncompressed_bytes = (uint64_t)inst->nframes * inst->frame_width * inst->frame_height * 3,
        .split = o->max_instance_bytes ? &split : NULL,
    };
    out->writer = s2d_part10_open(&params, err);
    s2d_ds_free(ds);
    if (!out->writer) {
        cap_error(jb, err);
        return NULL;
    }
    jb->noutputs++;
    return out;
}

// How the source stored the image of w x h pixels; levels and images we derive from the
// pyramid fall back to level 0, whose pixels they are made of.
static const s2d_source_compression *source_of(const job *jb, int64_t w, int64_t h,
                                               bool from_pyramid)
{
    const s2d_slide_meta *m = s2d_reader_meta(jb->reader);
    const s2d_source_compression *c = s2d_slide_meta_compression(m, w, h);
    if (!c && from_pyramid) {
        const s2d_level_info *base = s2d_reader_level(jb->reader, 0);
        c = s2d_slide_meta_compression(m, base->width, base->height);
    }
    return c;
}

// A single-frame image (label, overview, thumbnail): pixels to encode, or the source's own
// JPEG to copy as it is.
typedef struct single_image {
    bool copied;              // jpeg holds the image, else rgb
    uint8_t *rgb;             // malloc'd, tightly packed
    s2d_buf jpeg;
    char photometric[16];     // jpeg's
    int64_t width, height;
} single_image;

// Decodes the joined JPEG of an associated image into img->rgb with our own decoder, which
// takes the colour space from the bitstream as it does for tiles (libtiff's RGBA reader
// goes by the TIFF tag alone, and fails where they disagree).
static bool decode_joined(single_image *img, s2d_error *err)
{
    s2d_frame_dec *dec = s2d_frame_dec_new(err);
    img->rgb = dec ? malloc((size_t)img->width * (size_t)img->height * 3) : NULL;
    if (dec && !img->rgb) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory for an associated image");
    }
    bool ok = img->rgb &&
              s2d_frame_dec_decode(dec, img->jpeg.data, img->jpeg.len, (int)img->width,
                                   (int)img->height, img->rgb, (size_t)img->width * 3, err);
    s2d_frame_dec_free(dec);
    if (!ok) {
        free(img->rgb);
        img->rgb = NULL;
    }
    return ok;
}

// The source's associated image: copied when stored as JPEG strips, or under --reencode
// decoded from them; else decoded by the reader.
static bool read_single_image(job *jb, const char *source_name, single_image *img,
                              s2d_error *err)
{
    memset(img, 0, sizeof *img);
    if (s2d_reader_associated_jpeg(jb->reader, source_name, &img->jpeg, &img->width,
                                   &img->height, img->photometric)) {
        s2d_error dec_err = {0};
        img->copied = !jb->opts->reencode;
        if (img->copied || decode_joined(img, &dec_err)) {
            return true;
        }
        if (dec_err.code == S2D_ERR_NOMEM) {
            *err = dec_err;
            s2d_buf_free(&img->jpeg);
            return false;
        }
    }
    s2d_buf_free(&img->jpeg);
    return s2d_reader_read_associated(jb->reader, source_name, &img->rgb, &img->width,
                                      &img->height, err);
}

static void single_image_free(single_image *img)
{
    free(img->rgb);
    s2d_buf_free(&img->jpeg);
}

static bool write_single_frame(job *jb, const char *name, s2d_flavor flavor,
                               const single_image *img, double downsample_x,
                               double downsample_y, const s2d_source_compression *source,
                               s2d_error *err)
{
    int64_t w = img->width, h = img->height;
    bool copied = img->copied;
    if (!copied && !img->rgb) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "%s: no pixels", name);
    }
    s2d_wsm_instance inst = {
        .flavor = flavor,
        .derived = flavor == S2D_FLAVOR_THUMBNAIL,
        .instance_number = jb->next_instance_number++,
        .total_width = w,
        .total_height = h,
        .frame_width = (int)w,
        .frame_height = (int)h,
        .nframes = 1,
        .downsample_x = downsample_x,
        .downsample_y = downsample_y,
        .photometric = copied ? img->photometric : "YBR_FULL_422",
        .source = source,
        .copied = copied,
    };
    s2d_jpeg_enc *enc = NULL;
    const uint8_t *jpeg = img->jpeg.data;
    size_t len = img->jpeg.len;
    output *out = NULL;
    bool ok = copied ||
              ((enc = s2d_jpeg_enc_new(jb->opts->quality, jb->opts->subsampling_444, (int)w,
                                       (int)h, err)) != NULL &&
               s2d_jpeg_enc_encode(enc, img->rgb, (int)w, (int)h, (size_t)w * 3, &jpeg, &len,
                                   err));
    ok = ok && (out = open_output(jb, name, &inst, S2D_UID_JPEG_BASELINE, len, err)) != NULL &&
         s2d_part10_add_frame(out->writer, jpeg, len, err);
    s2d_jpeg_enc_free(enc);
    if (!ok && err->code == S2D_ERR_USAGE && jb->opts->max_instance_bytes) {
        if (out) {
            cap_error(jb, err);   // open_output() names the option itself
        }
        static const char *const flags[] = {"", "label", "overview", "thumbnail"};
        size_t used = strlen(err->message);
        snprintf(err->message + used, sizeof err->message - used,
                 " (one frame, which cannot be split; --no-%s leaves it out)", flags[flavor]);
    } else if (!ok) {
        s2d_error_prefix(err, "%s: ", name);
    }
    return ok;
}

// Label and overview come from the source as they are; a broken one is a warning.
static bool write_associated(job *jb, const char *source_name, const char *file,
                             s2d_flavor flavor, s2d_error *err)
{
    if (!s2d_reader_has_associated(jb->reader, source_name)) {
        return true;
    }
    single_image img;
    s2d_error read_err = {0};
    if (!read_single_image(jb, source_name, &img, &read_err)) {
        if (read_err.code == S2D_ERR_NOMEM) {
            *err = read_err;
            return false;
        }
        s2d_warn(jb->opts, "%s: %s; %s not written", jb->slide_path, read_err.message, file);
        jb->warnings++;
        return true;
    }
    bool ok = write_single_frame(jb, file, flavor, &img, 0, 0,
                                 source_of(jb, img.width, img.height, false), err);
    single_image_free(&img);
    return ok;
}

// The frame size: --tile-size, else the source's own JPEG / JPEG 2000 tile size (240 for
// most Aperio files), else DEFAULT_TILE. Re-encoding keeps the source's size too: then
// each frame is one decoded source tile, where another size would decode up to four.
// Frames are always a multiple of 16, as TIFF requires of tiles: the encoder's planar
// path (codec/jpeg_enc.h) gives tjCompress2's bytes only at whole MCUs, and generated
// levels' quarters must split into whole chroma samples. A file that breaks the rule
// (libtiff only warns) is decoded into DEFAULT_TILE frames.
static int plan_tile_size(const job *jb)
{
    const s2d_level_info *l0 = s2d_reader_level(jb->reader, 0);
    if (jb->opts->tile_size > 0) {
        return jb->opts->tile_size;
    }
    if (l0->coding != S2D_CODING_NONE && l0->tile_w > 0 && l0->tile_w == l0->tile_h &&
        l0->tile_w % 16 == 0) {
        return l0->tile_w;
    }
    return DEFAULT_TILE;
}

// Whether the source gives each t x t frame of a level as it is: its tiles are that size,
// or it is cut from strips on MCU boundaries (NDPI).
static bool gives_frames(const job *jb, int source_level, int t)
{
    const s2d_level_info *li = s2d_reader_level(jb->reader, source_level);
    if (li->coding == S2D_CODING_NONE) {
        return false;
    }
    if (li->tile_w == 0) {
        return li->mcu_w > 0 && li->mcu_h > 0 && t % li->mcu_w == 0 && t % li->mcu_h == 0;
    }
    return li->tile_w == t && li->tile_h == t;
}

// A source level is copied when its frames can be taken as they are at this frame size.
static bool copyable(const job *jb, int source_level, int t)
{
    return !jb->opts->reencode && gives_frames(jb, source_level, t);
}

static s2d_pyramid_level source_level(const job *jb, int s, int t)
{
    const s2d_level_info *li = s2d_reader_level(jb->reader, s);
    return (s2d_pyramid_level){.width = li->width, .height = li->height, .source_level = s,
                               .mode = copyable(jb, s, t) ? S2D_LEVEL_COPY : S2D_LEVEL_READ,
                               .jpeg_frames = li->coding == S2D_CODING_JPEG &&
                                              gives_frames(jb, s, t)};
}

// Level 0 is the source's. Each next level halves the one before: a copyable source level
// of that scale (within 2%) is taken as it is, with its own size; otherwise the level is
// generated. With --keep-source-levels the source's levels are written as they are;
// --levels keeps only the largest ones.
static int plan_levels(job *jb, s2d_pyramid_plan *plan, s2d_error *err)
{
    s2d_reader *r = jb->reader;
    int t = plan_tile_size(jb);
    plan->tile_size = t;
    const s2d_level_info *base = s2d_reader_level(r, 0);
    int n = 0;
    if (jb->opts->keep_source_levels) {
        if (s2d_reader_level_count(r) > S2D_MAX_LEVELS) {
            s2d_warn(jb->opts, "%s: only the first %d of %d levels are written", jb->slide_path,
                     S2D_MAX_LEVELS, s2d_reader_level_count(r));
            jb->warnings++;
        }
        for (int i = 0; i < s2d_reader_level_count(r) && n < S2D_MAX_LEVELS; i++) {
            plan->levels[n++] = source_level(jb, i, t);
        }
    } else {
        plan->levels[n++] = source_level(jb, 0, t);
        int64_t w = base->width, h = base->height;
        int next_source = 1;
        while ((w > t || h > t) && n < S2D_MAX_LEVELS) {
            int64_t hw = (w + 1) / 2, hh = (h + 1) / 2;
            double want = (double)base->width / (double)hw;
            int use = -1;
            for (int s = next_source; s < s2d_reader_level_count(r); s++) {
                const s2d_level_info *li = s2d_reader_level(r, s);
                double ds = (double)base->width / (double)li->width;
                if (ds > want * 1.02) {
                    break;
                }
                if (ds >= want / 1.02 && copyable(jb, s, t)) {
                    use = s;
                    break;
                }
            }
            if (use >= 0) {
                plan->levels[n] = source_level(jb, use, t);
                next_source = use + 1;
            } else {
                plan->levels[n] = (s2d_pyramid_level){.width = hw, .height = hh,
                                                      .source_level = -1,
                                                      .mode = S2D_LEVEL_GENERATE};
            }
            w = plan->levels[n].width;
            h = plan->levels[n].height;
            n++;
        }
    }
    if (jb->opts->max_levels > 0 && n > jb->opts->max_levels) {
        n = jb->opts->max_levels;
    }
    for (int i = 0; i < n; i++) {
        s2d_pyramid_level *lv = &plan->levels[i];
        int64_t cols = (lv->width + t - 1) / t, rows = (lv->height + t - 1) / t;
        // Total Pixel Matrix is UL and Number of Frames IS (at most 2^31 - 1).
        if (lv->width > UINT32_MAX || lv->height > UINT32_MAX || cols * rows > INT32_MAX) {
            s2d_error_set(err, S2D_ERR_INPUT,
                          "level %d (%lldx%lld) has too many pixels or frames for DICOM; "
                          "try a larger --tile-size", i, (long long)lv->width,
                          (long long)lv->height);
            return 0;
        }
        lv->cols = (uint32_t)cols;
        lv->rows = (uint32_t)rows;
    }
    plan->nlevels = n;
    return n;
}

// The thumbnail made from the pyramid: the first level that fits THUMBNAIL_MAX, or the
// smallest level reduced by a power of two until it fits.
static void plan_thumbnail(s2d_pyramid_plan *plan)
{
    int l = plan->nlevels - 1;
    for (int i = 0; i < plan->nlevels; i++) {
        if (plan->levels[i].width <= THUMBNAIL_MAX && plan->levels[i].height <= THUMBNAIL_MAX) {
            l = i;
            break;
        }
    }
    int f = 1;
    while ((plan->levels[l].width + f - 1) / f > THUMBNAIL_MAX ||
           (plan->levels[l].height + f - 1) / f > THUMBNAIL_MAX) {
        f *= 2;
    }
    plan->thumb_level = l;
    plan->thumb_factor = f;
    // The per-pixel sums are 32-bit: f * f * 255 must fit.
    if (f > 4096) {
        plan->thumb_level = -1;
    }
}

// True for the names slide2dcm writes: level-N.dcm, level-N-part-K.dcm (a concatenation),
// label.dcm, overview.dcm, thumbnail.dcm.
static bool is_output_name(const char *name)
{
    if (!strcmp(name, "label.dcm") || !strcmp(name, "overview.dcm") ||
        !strcmp(name, "thumbnail.dcm")) {
        return true;
    }
    if (strncmp(name, "level-", 6) != 0) {
        return false;
    }
    const char *p = name + 6;
    size_t digits = strspn(p, "0123456789");
    if (digits == 0) {
        return false;
    }
    p += digits;
    if (strncmp(p, "-part-", 6) == 0) {
        digits = strspn(p + 6, "0123456789");
        if (digits == 0) {
            return false;
        }
        p += 6 + digits;
    }
    return strcmp(p, ".dcm") == 0;
}

static void free_names(char **names)
{
    for (size_t i = 0; names && names[i]; i++) {
        free(names[i]);
    }
    free(names);
}

// The slide2dcm files in the output directory, as a NULL-terminated array of names (NULL
// with err set when the directory cannot be read).
static char **list_outputs(const job *jb, s2d_error *err)
{
    DIR *d = opendir(jb->outdir);
    if (!d) {
        s2d_error_set(err, S2D_ERR_IO, "cannot read %s: %s", jb->outdir, strerror(errno));
        return NULL;
    }
    char **names = calloc(1, sizeof *names);
    size_t n = 0;
    struct dirent *e;
    while (names && (e = readdir(d))) {
        if (!is_output_name(e->d_name)) {
            continue;
        }
        char **grown = realloc(names, (n + 2) * sizeof *names);
        if (grown) {
            names = grown;
        }
        char *copy = grown ? strdup(e->d_name) : NULL;
        if (!copy) {
            free_names(names);
            names = NULL;
            break;
        }
        names[n++] = copy;
        names[n] = NULL;
    }
    closedir(d);
    if (!names) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    return names;
}

// Refuses to mix with an earlier conversion unless asked to replace it.
static bool prepare_outdir(job *jb, s2d_error *err)
{
    if (mkdir(jb->outdir, 0777) == 0) {
        jb->created_outdir = true;
    } else if (errno != EEXIST) {
        return s2d_error_set(err, S2D_ERR_IO, "cannot create %s: %s", jb->outdir, strerror(errno));
    }
    struct stat st;
    if (stat(jb->outdir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return s2d_error_set(err, S2D_ERR_IO, "%s is not a directory", jb->outdir);
    }
    if (jb->opts->overwrite) {
        return true;
    }
    char **names = list_outputs(jb, err);
    if (names && names[0]) {
        s2d_error_set(err, S2D_ERR_USAGE,
                      "%s already holds a conversion (%s); use --overwrite to replace it",
                      jb->outdir, names[0]);
    }
    free_names(names);
    return err->code == S2D_OK;
}

// Base name of a path.
static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

// Every file of the conversion, the parts of concatenations included, in output order.
typedef struct output_file {
    s2d_part10_file info;
    int output;                       // index into jb->outputs
} output_file;

static output_file *list_files(const job *jb, size_t *count)
{
    size_t n = 0;
    for (int i = 0; i < jb->noutputs; i++) {
        n += s2d_part10_file_count(jb->outputs[i].writer);
    }
    output_file *files = calloc(n ? n : 1, sizeof *files);
    if (!files) {
        return NULL;
    }
    size_t k = 0;
    for (int i = 0; i < jb->noutputs; i++) {
        size_t nf = s2d_part10_file_count(jb->outputs[i].writer);
        for (size_t f = 0; f < nf; f++, k++) {
            s2d_part10_file_at(jb->outputs[i].writer, f, &files[k].info);
            files[k].output = i;
        }
    }
    *count = n;
    return files;
}

// After success with --overwrite: files of an earlier, larger conversion would mix in
// (a level-7 from a bigger slide, parts of a level now written whole, ...).
static void remove_stale_outputs(job *jb)
{
    size_t nfiles = 0;
    output_file *files = list_files(jb, &nfiles);
    char **names = files ? list_outputs(jb, NULL) : NULL;
    char path[4096];
    for (size_t i = 0; names && names[i]; i++) {
        bool ours = false;
        for (size_t k = 0; k < nfiles && !ours; k++) {
            ours = strcmp(base_name(files[k].info.final_path), names[i]) == 0;
        }
        if (!ours && output_path(jb, names[i], path, sizeof path, NULL) && unlink(path) != 0 &&
            errno != ENOENT) {
            s2d_warn(jb->opts, "cannot remove %s from an earlier conversion: %s", path,
                     strerror(errno));
        }
    }
    if (!names) {
        s2d_warn(jb->opts, "cannot list %s to remove files of an earlier conversion",
                 jb->outdir);
    }
    free_names(names);
    free(files);
}

static bool fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    bool ok = fd >= 0 && fsync(fd) == 0;
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

// The hidden name an earlier conversion's file is moved to while ours go into place.
static bool backup_path(const job *jb, const char *final_path, char *out, size_t n,
                        s2d_error *err)
{
    char hidden[300];
    snprintf(hidden, sizeof hidden, ".%s.previous", base_name(final_path));
    return output_path(jb, hidden, out, n, err);
}

// Puts every finished file under its final name. Files of an earlier conversion that are
// replaced (--overwrite) are first moved aside, so a failure part way puts them back and
// leaves the directory as it was.
static bool commit_outputs(job *jb, s2d_error *err)
{
    char backup[4096];
    size_t nfiles = 0;
    output_file *files = list_files(jb, &nfiles);
    bool *backed_up = calloc(nfiles ? nfiles : 1, sizeof *backed_up);
    if (!files || !backed_up) {
        free(files);
        free(backed_up);
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    int n = jb->noutputs, committed = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < nfiles; i++) {
        const char *final_path = files[i].info.final_path;
        ok = backup_path(jb, final_path, backup, sizeof backup, err);
        if (ok && access(final_path, F_OK) == 0) {
            if (rename(final_path, backup) != 0) {
                ok = s2d_error_set(err, S2D_ERR_IO, "cannot move %s aside: %s", final_path,
                                   strerror(errno));
            } else {
                backed_up[i] = true;
            }
        }
    }
    // A writer commits all its files or none.
    while (ok && committed < n && s2d_part10_commit(jb->outputs[committed].writer, err)) {
        committed++;
    }
    ok = ok && committed == n;
    for (size_t i = 0; i < nfiles; i++) {
        const char *final_path = files[i].info.final_path;
        if (!backup_path(jb, final_path, backup, sizeof backup, NULL)) {
            continue;
        }
        if (!ok && files[i].output < committed) {
            unlink(final_path);   // ours, from this failed run
        }
        if (backed_up[i] && (ok ? unlink(backup) : rename(backup, final_path)) != 0) {
            s2d_warn(jb->opts, "cannot %s %s: %s", ok ? "remove" : "restore", backup,
                     strerror(errno));
        }
    }
    free(files);
    free(backed_up);
    if (ok && !fsync_dir(jb->outdir)) {
        ok = s2d_error_set(err, S2D_ERR_IO, "cannot flush directory %s: %s", jb->outdir,
                           strerror(errno));
    }
    return ok;
}

static bool run_pyramid(job *jb, s2d_error *err)
{
    const s2d_convert_options *o = jb->opts;
    s2d_pyramid_plan plan = {.reader = jb->reader, .source_name = jb->slide_path,
                             .spill_dir = jb->outdir, .opts = o, .thumb_level = -1};
    int n = plan_levels(jb, &plan, err);
    if (n == 0) {
        return false;
    }
    const s2d_level_info *base = s2d_reader_level(jb->reader, 0);

    // A thumbnail from the source when it reads; else one made during the pyramid pass.
    single_image thumb = {0};
    bool want_thumb = !o->no_thumbnail, own_thumb = false;
    if (want_thumb && s2d_reader_has_associated(jb->reader, "thumbnail")) {
        s2d_error terr = {0};
        own_thumb = read_single_image(jb, "thumbnail", &thumb, &terr);
        if (!own_thumb) {
            s2d_warn(o, "%s: %s; making the thumbnail from the pyramid", jb->slide_path,
                     terr.message);
            jb->warnings++;
        }
    }
    if (want_thumb && !own_thumb) {
        plan_thumbnail(&plan);
        if (plan.thumb_level < 0) {
            s2d_warn(o, "%s: the smallest level is too large to make a thumbnail from; "
                     "thumbnail.dcm not written", jb->slide_path);
            jb->warnings++;
            want_thumb = false;
        }
    }

    bool ok = true;
    int t = plan.tile_size;
    for (int i = 0; ok && i < n; i++) {
        s2d_pyramid_level *lv = &plan.levels[i];
        char name[32];
        snprintf(name, sizeof name, "level-%d.dcm", i);
        bool copied = lv->mode == S2D_LEVEL_COPY;
        const s2d_level_info *src = copied ? s2d_reader_level(jb->reader, lv->source_level) : NULL;
        bool j2k = copied && src->coding == S2D_CODING_J2K;
        s2d_wsm_instance inst = {
            .flavor = S2D_FLAVOR_VOLUME,
            .derived = i > 0,
            .instance_number = jb->next_instance_number++,
            .total_width = lv->width,
            .total_height = lv->height,
            .frame_width = t,
            .frame_height = t,
            .nframes = lv->cols * lv->rows,
            .downsample_x = (double)base->width / (double)lv->width,
            .downsample_y = (double)base->height / (double)lv->height,
            .photometric = copied ? src->photometric : "YBR_FULL_422",
            .method = j2k ? "ISO_15444_1" : "ISO_10918_1",
            .source = lv->source_level >= 0 ? source_of(jb, lv->width, lv->height, true)
                                            : source_of(jb, base->width, base->height, true),
            .copied = copied,
        };
        // A copied level may still get a replacement frame from our encoder.
        uint64_t bound = s2d_jpeg_enc_bound(t, t, o->subsampling_444);
        if (copied && S2D_COPIED_FRAME_MAX(t, t) > bound) {
            bound = S2D_COPIED_FRAME_MAX(t, t);
        }
        output *out = open_output(jb, name, &inst, j2k ? UID_JPEG_2000 : S2D_UID_JPEG_BASELINE,
                                  bound, err);
        ok = out != NULL;
        if (ok) {
            lv->writer = out->writer;
        }
    }
    s2d_image made = {0};
    if (ok && !s2d_pyramid_run(&plan, &made, err)) {
        cap_error(jb, err);   // a frame too large for --max-instance-size
        ok = false;
    }
    for (int i = 0; ok && i < n; i++) {
        jb->outputs[i].seconds = plan.levels[i].last_frame_s - plan.levels[i].first_frame_s;
        jb->outputs[i].first_frame_s = plan.levels[i].first_frame_s;
        jb->outputs[i].replaced_frames = plan.levels[i].replaced_frames;
    }
    if (ok && want_thumb) {
        // The source's own thumbnail, or the one the pyramid pass made from level pixels.
        if (!own_thumb) {
            thumb = (single_image){.rgb = made.rgb, .width = made.width, .height = made.height};
            made.rgb = NULL;
        }
        const s2d_source_compression *source =
            own_thumb ? source_of(jb, thumb.width, thumb.height, false)
                      : source_of(jb, base->width, base->height, true);
        ok = write_single_frame(jb, "thumbnail.dcm", S2D_FLAVOR_THUMBNAIL, &thumb,
                                (double)base->width / (double)thumb.width,
                                (double)base->height / (double)thumb.height, source, err);
    }
    free(made.rgb);
    single_image_free(&thumb);
    return ok;
}

static bool complete_outputs(job *jb, s2d_error *err)
{
    for (int i = 0; i < jb->noutputs; i++) {
        if (!s2d_part10_complete(jb->outputs[i].writer, err)) {
            return false;
        }
    }
    return true;
}

// One entry per file written, the parts of a concatenation each with its own.
static void fill_report(const job *jb, bool ok, s2d_convert_report *report)
{
    memset(report, 0, sizeof *report);
    report->warnings = jb->warnings;
    size_t nfiles = 0;
    output_file *files = ok ? list_files(jb, &nfiles) : NULL;
    report->files = files ? calloc(nfiles ? nfiles : 1, sizeof *report->files) : NULL;
    if (!report->files) {
        free(files);
        return;
    }
    report->nfiles = (int)nfiles;
    for (size_t i = 0; i < nfiles; i++) {
        const s2d_part10_file *file = &files[i].info;
        const output *out = &jb->outputs[files[i].output];
        s2d_file_report *f = &report->files[i];
        static const char *const flavors[] = {"VOLUME", "LABEL", "OVERVIEW", "THUMBNAIL"};
        snprintf(f->name, sizeof f->name, "%s", base_name(file->final_path));
        snprintf(f->level_name, sizeof f->level_name, "%s", out->name);
        snprintf(f->flavor, sizeof f->flavor, "%s", flavors[out->flavor]);
        f->width = out->width;
        f->height = out->height;
        f->frames = file->nframes;
        f->bytes = file->frame_bytes;
        // A part's own time; a whole level's comes from the pipeline.
        f->seconds = file->in_concatenation_number ? file->seconds : out->seconds;
        f->first_frame_s = out->flavor == S2D_FLAVOR_VOLUME && !file->in_concatenation_number
                               ? out->first_frame_s : -1;
        snprintf(f->mode, sizeof f->mode, "%s", out->copied ? "copy" : "encode");
        snprintf(f->transfer_syntax, sizeof f->transfer_syntax, "%s", out->transfer_syntax);
        snprintf(f->photometric, sizeof f->photometric, "%s", out->photometric);
        f->replaced_tiles = out->replaced_frames;
        if (file->in_concatenation_number) {
            snprintf(f->concatenation_uid, sizeof f->concatenation_uid, "%s",
                     file->concatenation_uid);
            f->in_concatenation_number = file->in_concatenation_number;
            f->in_concatenation_total = file->in_concatenation_total;
            f->frame_offset = file->frame_offset;
        }
    }
    free(files);
}

void s2d_convert_report_free(s2d_convert_report *report)
{
    if (report) {
        free(report->files);
        report->files = NULL;
        report->nfiles = 0;
    }
}

bool s2d_convert(const char *slide_path, const char *outdir, const s2d_convert_options *opts,
                 s2d_convert_report *report, s2d_error *err)
{
    if (report) {
        memset(report, 0, sizeof *report);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    job *jb = calloc(1, sizeof *jb);
    if (!jb) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    jb->slide_path = slide_path;
    jb->outdir = outdir;
    jb->opts = opts;
    jb->next_instance_number = 1;

    bool ok = validate_options(opts, err) && load_overrides(jb, err) &&
              (jb->reader = s2d_reader_open(slide_path, err)) != NULL &&
              describe_slide(jb, err) && prepare_outdir(jb, err);
    if (ok) {
        jb->slide.overrides = jb->overrides;
        // Each file goes on its way to disk as soon as it is complete, beside the work
        // still to do and the other files; the loop below then only waits.
        ok = run_pyramid(jb, err) && complete_outputs(jb, err) &&
             (opts->no_label || write_associated(jb, "label", "label.dcm", S2D_FLAVOR_LABEL, err)) &&
             (opts->no_overview ||
              write_associated(jb, "macro", "overview.dcm", S2D_FLAVOR_OVERVIEW, err)) &&
             complete_outputs(jb, err);
    }
    for (int i = 0; ok && i < jb->noutputs; i++) {
        if (!s2d_part10_finish(jb->outputs[i].writer, err)) {
            cap_error(jb, err);   // more parts than a concatenation can number
            ok = false;
        }
    }
    if (ok && opts->interrupt && *opts->interrupt) {
        ok = s2d_error_set(err, S2D_ERR_CANCELLED, "interrupted");
    }
    ok = ok && commit_outputs(jb, err);
    if (!ok) {
        if (jb->created_outdir) {
            for (int i = 0; i < jb->noutputs; i++) {
                s2d_part10_free(jb->outputs[i].writer);   // removes the temporary files
                jb->outputs[i].writer = NULL;
            }
            rmdir(outdir);
        }
    } else if (opts->overwrite) {
        remove_stale_outputs(jb);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (report) {
        fill_report(jb, ok, report);
        report->seconds = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    }
    for (int i = 0; i < jb->noutputs; i++) {
        s2d_part10_free(jb->outputs[i].writer);
    }
    s2d_ds_free(jb->overrides);
    free(jb->srgb_profile);
    s2d_reader_close(jb->reader);
    free(jb);
    return ok;
}
