// SPDX-License-Identifier: Apache-2.0
/* The slide's identity and what every instance of it shares (see identity.h). */
#include "convert/identity.h"

#include <errno.h>
#include <inttypes.h>
#include <lcms2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/fingerprint.h"
#include "core/sha256.h"
#include "core/diag.h"
#include "dicom/icc.h"
#include "dicom/json_meta.h"
#include "source/fileset.h"

static bool make_srgb(s2d_identity *id, s2d_iod_shared *s, s2d_error *err)
{
    cmsHPROFILE srgb = cmsCreate_sRGBProfile();
    cmsUInt32Number len = 0;
    bool ok = srgb && cmsSaveProfileToMem(srgb, NULL, &len) && len > 0 &&
              (id->srgb_profile = malloc(len)) != NULL &&
              cmsSaveProfileToMem(srgb, id->srgb_profile, &len);
    if (srgb) {
        cmsCloseProfile(srgb);
    }
    if (!ok || len < 128) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "cannot make an sRGB ICC profile");
    }
    // lcms stamps the header's creation time; a fixed one makes every conversion of a
    // slide byte-identical.
    s2d_icc_fix_date(id->srgb_profile);
    s->icc_profile = id->srgb_profile;
    s->icc_profile_len = len;
    s->icc_is_srgb = true;
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
// 64 characters: backslashes, control characters and bytes that are not UTF-8 become `bad`.
static void clean_lo(const char *in, char bad, char out[257])
{
    size_t o = 0, chars = 0;
    const unsigned char *s = (const unsigned char *)in;
    const unsigned char *end = s + strlen(in);
    while (*s && chars < 64) {
        // The same UTF-8 rule the dataset encoder enforces, so a cleaned value is accepted.
        size_t len = s2d_utf8_char_len(s, (size_t)(end - s));
        if (len == 0 || *s == '\\' || *s < 0x20 || *s == 0x7F) {
            out[o++] = bad;
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

static void sanitize_lo(const char *in, char out[257])
{
    clean_lo(in, '_', out);
}

// A device's text as an LO value: scanners put line feeds and padding in these TIFF tags,
// which become spaces, and the ends are trimmed.
static void device_lo(const char *in, char out[257])
{
    const char *start = in + strspn(in, " \t\r\n");
    clean_lo(start, ' ', out);
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == ' ') {
        out[--n] = '\0';
    }
}

// The device the source names, and the conversion's time and source for slide2dcm's
// Contributing Equipment item (dicom/modules/equipment.c).
static void describe_equipment(const s2d_source_meta *m, s2d_iod_shared *s)
{
    s2d_equipment *e = &s->equipment;
    device_lo(m->device.manufacturer, e->manufacturer);
    device_lo(m->device.model, e->model);
    device_lo(m->device.serial, e->serial);
    int n = 0;
    for (int i = 0; i < S2D_SOURCE_SOFTWARE_MAX && i < S2D_EQUIPMENT_SOFTWARE_MAX; i++) {
        device_lo(m->device.software[i], e->software[n]);
        n += e->software[n][0] != '\0';
    }
    snprintf(e->converted_at, sizeof e->converted_at, "%s%s", s->content_date,
             s->content_time);
    snprintf(e->converted_from, sizeof e->converted_from, "%s", m->format_title);
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

static bool put_flag(s2d_ds *ds, s2d_kw kw, const char *value, const char *flag,
                     s2d_error *err)
{
    if (!value) {
        return true;
    }
    if (strchr(value, '\\')) {
        return s2d_error_set(err, S2D_ERR_USAGE, "%s: a backslash would split the value in two",
                             flag);
    }
    if (!s2d_put_str(ds, kw, value, err)) {
        err->code = S2D_ERR_USAGE;
        s2d_error_prefix(err, "%s: ", flag);
        return false;
    }
    return true;
}

bool s2d_identity_load_overrides(s2d_identity *id, const s2d_iod *iod, s2d_error *err)
{
    const s2d_convert_options *o = id->opts;
    id->overrides = o->metadata_json
                        ? s2d_json_meta_load(o->metadata_json, iod->owned, iod->nowned, err)
                        : s2d_ds_new();
    if (!id->overrides) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");   // no-op if already set
    }
    const s2d_common_attrs *a = &o->attrs;
    if (a->patient_sex && strcmp(a->patient_sex, "M") && strcmp(a->patient_sex, "F") &&
        strcmp(a->patient_sex, "O")) {
        return s2d_error_set(err, S2D_ERR_USAGE, "--patient-sex must be M, F or O");
    }
    s2d_ds *ds = id->overrides;
    bool ok = put_flag(ds, S2D_KW_PatientName, a->patient_name, "--patient-name", err) &&
              put_flag(ds, S2D_KW_PatientID, a->patient_id, "--patient-id", err) &&
              put_flag(ds, S2D_KW_PatientBirthDate, a->patient_birth_date,
                       "--patient-birth-date", err) &&
              put_flag(ds, S2D_KW_PatientSex, a->patient_sex, "--patient-sex", err) &&
              put_flag(ds, S2D_KW_StudyID, a->study_id, "--study-id", err) &&
              put_flag(ds, S2D_KW_AccessionNumber, a->accession_number, "--accession-number",
                       err) &&
              put_flag(ds, S2D_KW_StudyDate, a->study_date, "--study-date", err) &&
              put_flag(ds, S2D_KW_InstitutionName, a->institution_name, "--institution-name",
                       err) &&
              put_flag(ds, S2D_KW_ReferringPhysicianName, a->referring_physician,
                       "--referring-physician", err) &&
              put_flag(ds, S2D_KW_SeriesDescription, a->series_description,
                       "--series-description", err);
    // The default Study Time is the scan's; with a user's Study Date it would not belong.
    if (ok && s2d_has(ds, S2D_KW_StudyDate) && !s2d_has(ds, S2D_KW_StudyTime)) {
        ok = s2d_put_str(ds, S2D_KW_StudyTime, "", err);
    }
    return ok;
}

int s2d_convert_pixel_settings(const s2d_convert_options *o, char *out, size_t size)
{
    // Every option that changes the pixel data belongs here, or two different encodings
    // of one slide would share SOP Instance UIDs.
    int n = snprintf(out, size, "tile=%d/q=%d/%s/%s/%s", o->tile_size, o->quality,
                     o->subsampling_444 ? "444" : "420",
                     o->keep_source_levels ? "source-levels" : "halving",
                     o->reencode ? "reencode" : "copy");
    // The size cap decides which frames share an instance: another cap, other instances.
    // Without it the string stays as it always was, and so do the UIDs.
    if (o->max_instance_bytes && n >= 0) {
        size_t used = (size_t)n < size ? (size_t)n : size;
        n += snprintf(out + used, size - used, "/max-instance=%" PRIu64, o->max_instance_bytes);
    }
    // Plain TIFFs: the kind (its mapping), the codec and the grouping of pages; absent,
    // the string is what it was before plain TIFFs.
    char only_t[16] = "";
    if (o->only_t > 0) {
        snprintf(only_t, sizeof only_t, "%d", o->only_t);
    }
    // --deidentify changes what the associated images show, and so do the replacement
    // label's options.
    const char *const parts[][2] = {{"/deidentify", o->deidentify ? "" : NULL},
                                    {"/label-image=", o->label_image},
                                    {"/label-text=", o->label_text},
                                    {"/kind=", o->kind}, {"/modality=", o->modality},
                                    {"/codec=", o->codec},
                                    {"/pages=", o->pages_as_instances ? "instances" : NULL},
                                    {"/as=", o->as_pdf ? "pdf" : NULL},
                                    {"/z=", o->z_series ? "series" : NULL},
                                    {"/t=", only_t[0] ? only_t : NULL},
                                    // the series the label is in, under one UID
                                    {"/associated-series=",
                                     o->associated_series_separate ? "separate" : NULL},
                                    // a frame only a decode finds broken is replaced
                                    {"/verify", o->verify ? "" : NULL}};
    for (size_t i = 0; i < sizeof parts / sizeof *parts && n >= 0; i++) {
        if (parts[i][1]) {
            size_t used = (size_t)n < size ? (size_t)n : size;
            n += snprintf(out + used, size - used, "%s%.32s", parts[i][0], parts[i][1]);
        }
    }
    return n;
}

static bool make_uid_seeds(s2d_identity *id, const char *slide_path, s2d_error *err)
{
    s2d_slide_files files;
    if (!s2d_slide_files_list(slide_path, &files, err)) {
        return false;
    }
    bool ok = s2d_slide_fingerprint(&files, id->uid_seed_slide, err);
    s2d_slide_files_free(&files);
    if (ok && id->opts->deidentify) {
        // Other UIDs than the identified conversion's, which would link the two, and none
        // that a holder of the file could recompute without knowing it was de-identified.
        uint8_t digest[32];
        s2d_sha256 h;
        s2d_sha256_init(&h);
        s2d_sha256_update(&h, "deidentified/", 13);
        s2d_sha256_update(&h, id->uid_seed_slide, strlen(id->uid_seed_slide));
        s2d_sha256_final(&h, digest);
        s2d_hex(digest, sizeof digest, id->uid_seed_slide);
    }
    // "FINGERPRINT/PIXEL-SETTINGS"; the fingerprint is 64 characters, so both fit.
    int n = snprintf(id->uid_seed_encoding, sizeof id->uid_seed_encoding, "%s/",
                     id->uid_seed_slide);
    s2d_convert_pixel_settings(id->opts, id->uid_seed_encoding + n,
                               sizeof id->uid_seed_encoding - (size_t)n);
    return ok;
}

// A new random UID, or with --deterministic-uids one derived from the slide (study, frame
// of reference, acquisition, the IOD's specimen: the same whatever the options) or from
// this encoding of it (series, instances, the IOD's pyramid and dimension organization).
bool s2d_identity_uid(const s2d_identity *id, const char *role, bool per_encoding,
                      char out[S2D_UID_MAX], s2d_error *err)
{
    if (!id->opts->uid_root) {
        return s2d_uid_new(out, err);
    }
    s2d_uid_derive(id->opts->uid_root, per_encoding ? id->uid_seed_encoding : id->uid_seed_slide,
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

// A pixel size in the range of slide2dcm.h (false for NaN too).
static bool plausible_mpp(double um)
{
    return um >= S2D_MPP_MIN_UM && um <= S2D_MPP_MAX_UM;
}

// --deidentify: the filter of every dataset, with the slide's pseudonym.
static bool deidentify_init(s2d_identity *id, s2d_error *err)
{
    return s2d_deid_init(&id->deid, id->overrides, id->opts,
                         id->opts->uid_root ? id->uid_seed_slide : NULL, err);
}

bool s2d_identity_describe(s2d_identity *id, const s2d_iod *iod, const char *slide_path,
                           const s2d_source_meta *m, s2d_iod_shared *s, s2d_diag *diag,
                           s2d_error *err)
{
    const s2d_convert_options *o = id->opts;
    if (o->mpp > 0) {
        if (m->mpp_x > 0 && (m->mpp_x / o->mpp > 1.001 || o->mpp / m->mpp_x > 1.001)) {
            s2d_diag_warn(diag, "--mpp %g replaces the slide's own pixel size %g", o->mpp,
                          m->mpp_x);
        }
        s->mpp_x = s->mpp_y = o->mpp;
    } else if (m->mpp_x > 0) {
        s->mpp_x = m->mpp_x;
        s->mpp_y = m->mpp_y > 0 ? m->mpp_y : m->mpp_x;
        // Only the WSM attributes use it: a page's odd resolution (1 dpi) harms nothing.
        if (iod->slide && !(plausible_mpp(s->mpp_x) && plausible_mpp(s->mpp_y))) {
            return s2d_error_set(err, S2D_ERR_INPUT,
                                 "the slide's pixel size (MPP) %g um is outside %g to %g um; "
                                 "pass --mpp MICRONS to give the right one",
                                 plausible_mpp(s->mpp_x) ? s->mpp_y : s->mpp_x, S2D_MPP_MIN_UM,
                                 S2D_MPP_MAX_UM);
        }
    } else if (iod->slide) {
        return s2d_error_set(err, S2D_ERR_INPUT,
                             "the slide does not record its pixel size; pass --mpp MICRONS");
    }
    s->objective_power = m->objective_power;
    if (o->stain && !s2d_staining_parse(o->stain, &s->staining, err)) {
        return false;
    }
    if (m->barcode[0]) {
        sanitize_lo(m->barcode, s->container_id);
        snprintf(s->barcode, sizeof s->barcode, "%s", s->container_id);
    } else {
        file_stem(slide_path, s->container_id);
    }
    time_t now = conversion_time();
    struct tm tm_now;
    localtime_r(&now, &tm_now);
    strftime(s->content_date, sizeof s->content_date, "%Y%m%d", &tm_now);
    strftime(s->content_time, sizeof s->content_time, "%H%M%S", &tm_now);
    describe_equipment(m, s);
    if (m->acquisition_datetime[0]) {
        snprintf(s->acquisition_datetime, sizeof s->acquisition_datetime, "%s",
                 m->acquisition_datetime);
    } else {
        // Type 1 and unknown: the slide file's modification time is the closest fact.
        struct stat st;
        struct tm tm_file;
        time_t t = stat(slide_path, &st) == 0 ? st.st_mtime : now;
        localtime_r(&t, &tm_file);
        strftime(s->acquisition_datetime, sizeof s->acquisition_datetime, "%Y%m%d%H%M%S",
                 &tm_file);
    }
    if (m->icc_profile) {
        s->icc_profile = m->icc_profile;
        s->icc_profile_len = m->icc_profile_len;
    } else if (iod->slide && !make_srgb(id, s, err)) {
        return false;
    }
    background_lab(m->background, s->absent_pixel_lab);
    s->fluorescence = m->fluorescence;
    // One optical path: the first channel's excitation (a Hamamatsu filter cube's).
    s->excitation_nm = m->nchannels ? m->channels[0].excitation_nm : 0;
    bool ok = (!o->uid_root || make_uid_seeds(id, slide_path, err)) &&
              (!o->deidentify || deidentify_init(id, err)) &&
              s2d_identity_uid(id, "study", false, s->study_uid, err) &&
              s2d_identity_uid(id, "series", true, s->series_uid, err) &&
              s2d_identity_uid(id, "frame-of-reference", false, s->frame_of_reference_uid,
                               err) &&
              s2d_identity_uid(id, "acquisition", false, s->acquisition_uid, err);
    for (size_t i = 0; ok && i < iod->nuids; i++) {
        const s2d_iod_uid *u = &iod->uids[i];
        ok = s2d_identity_uid(id, u->role, u->per_encoding, (char *)s + u->field, err);
    }
    return ok;
}

bool s2d_identity_instance_uid(const s2d_identity *id, const char *file_name,
                               char out[S2D_UID_MAX], s2d_error *err)
{
    char role[96];
    snprintf(role, sizeof role, "instance:%s", file_name);
    return s2d_identity_uid(id, role, true, out, err);
}

bool s2d_identity_offsets_and_split(const s2d_identity *id, const char *file_name,
                                    uint64_t frames_bound, s2d_part10_params *params,
                                    s2d_part10_split *split,
                                    char concatenation_uid[S2D_UID_MAX], s2d_error *err)
{
    const s2d_convert_options *o = id->opts;
    // The test hook can only lower the limit: a BOT cannot address 4 GiB.
    uint64_t limit = o->eot_threshold && o->eot_threshold < 0xFFFFFFFFull ? o->eot_threshold
                                                                          : 0xFFFFFFFFull;
    params->extended_offsets = frames_bound >= limit;
    params->split = NULL;
    if (!o->max_instance_bytes) {
        return true;
    }
    // With a size cap, the writer splits the instance when it does not fit: the parts
    // point to this instance's UID as their source, their UIDs derive from the
    // concatenation's.
    char role[96];
    snprintf(role, sizeof role, "concatenation:%s", file_name);
    if (!s2d_identity_uid(id, role, true, concatenation_uid, err)) {
        return false;
    }
    *split = (s2d_part10_split){.max_file_bytes = o->max_instance_bytes,
                                .frames_bound = frames_bound, .uid_root = o->uid_root,
                                .eot_threshold = o->eot_threshold,
                                .concatenation_uid = concatenation_uid};
    params->split = split;
    return true;
}

bool s2d_identity_finish_dataset(const s2d_identity *id, s2d_ds *ds, s2d_error *err)
{
    return !id->opts->deidentify || s2d_deid_apply(&id->deid, ds, err);
}

void s2d_identity_free(s2d_identity *id)
{
    s2d_deid_free(&id->deid);
    s2d_ds_free(id->overrides);
    id->overrides = NULL;
    free(id->srgb_profile);
    id->srgb_profile = NULL;
}
