// SPDX-License-Identifier: Apache-2.0
/* s2d_convert_json: the library's face for bindings (the Python package) and for programs
 * that would rather not share the layout of s2d_convert_options. Options come as a JSON
 * object keyed by the struct's field names; the report goes back as JSON. See
 * slide2dcm/slide2dcm.h. */
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "convert/report.h"
#include "core/json_fields.h"
#include "slide2dcm/slide2dcm.h"

#define FIELD(name, type) {#name, S2D_##type, offsetof(s2d_convert_options, name)}
#define ATTR(name) {#name, S2D_FIELD_TEXT, offsetof(s2d_convert_options, attrs.name)}

// Every field a caller may set; windows and pixel_spacing (pairs) are read apart, the
// callbacks and the interrupt flag are parameters of s2d_convert_json.
static const s2d_json_field fields[] = {
    FIELD(tile_size, FIELD_INT),
    FIELD(reencode, FIELD_BOOL),
    FIELD(quality, FIELD_INT),
    FIELD(subsampling_444, FIELD_BOOL),
    FIELD(threads, FIELD_INT),
    FIELD(keep_source_levels, FIELD_BOOL),
    FIELD(max_levels, FIELD_INT),
    FIELD(no_label, FIELD_BOOL),
    FIELD(no_overview, FIELD_BOOL),
    FIELD(no_thumbnail, FIELD_BOOL),
    FIELD(associated_series_separate, FIELD_BOOL),
    FIELD(overwrite, FIELD_BOOL),
    FIELD(mpp, FIELD_DOUBLE),
    FIELD(metadata_json, FIELD_TEXT),
    FIELD(stain, FIELD_TEXT),
    ATTR(patient_name),
    ATTR(patient_id),
    ATTR(patient_birth_date),
    ATTR(patient_sex),
    ATTR(study_id),
    ATTR(accession_number),
    ATTR(study_date),
    ATTR(institution_name),
    ATTR(referring_physician),
    ATTR(series_description),
    FIELD(uid_root, FIELD_TEXT),
    FIELD(max_instance_bytes, FIELD_SIZE),
    FIELD(verify, FIELD_BOOL),
    FIELD(strict, FIELD_BOOL),
    FIELD(deidentify, FIELD_BOOL),
    FIELD(label_image, FIELD_TEXT),
    FIELD(label_text, FIELD_TEXT),
    FIELD(max_replaced_percent, FIELD_DOUBLE),
    FIELD(kind, FIELD_TEXT),
    FIELD(modality, FIELD_TEXT),
    FIELD(codec, FIELD_TEXT),
    FIELD(pages_as_instances, FIELD_BOOL),
    FIELD(as_pdf, FIELD_BOOL),
    FIELD(no_window, FIELD_BOOL),
    FIELD(conversion_type, FIELD_TEXT),
    FIELD(burned_in_annotation, FIELD_INT),
    FIELD(document_title, FIELD_TEXT),
    FIELD(body_part, FIELD_TEXT),
    FIELD(z_series, FIELD_BOOL),
    FIELD(z_spacing, FIELD_DOUBLE),
    FIELD(only_t, FIELD_INT),
};

// [a, b] of two finite numbers.
static bool read_pair(json_t *value, double out[2])
{
    if (!json_is_array(value) || json_array_size(value) != 2 ||
        !json_is_number(json_array_get(value, 0)) || !json_is_number(json_array_get(value, 1))) {
        return false;
    }
    out[0] = json_number_value(json_array_get(value, 0));
    out[1] = json_number_value(json_array_get(value, 1));
    return isfinite(out[0]) && isfinite(out[1]);
}

static bool set_windows(s2d_convert_options *o, json_t *value, s2d_error *err)
{
    size_t n = json_is_array(value) ? json_array_size(value) : 0;
    if (!json_is_array(value) || n > S2D_MAX_WINDOWS) {
        return s2d_error_set(err, S2D_ERR_USAGE, "option windows: give at most %d [center, width] "
                             "pairs", S2D_MAX_WINDOWS);
    }
    for (size_t i = 0; i < n; i++) {
        if (!read_pair(json_array_get(value, i), o->windows[i])) {
            return s2d_error_set(err, S2D_ERR_USAGE, "option windows: item %zu is not a "
                                 "[center, width] pair", i + 1);
        }
    }
    o->nwindows = (int)n;
    return true;
}

// Sets one field from its JSON value; strings are kept by pointer (the caller keeps the
// JSON alive while the options are in use).
static bool set_field(s2d_convert_options *o, const char *name, json_t *value, s2d_error *err)
{
    if (strcmp(name, "windows") == 0) {
        return set_windows(o, value, err);
    }
    if (strcmp(name, "pixel_spacing") == 0) {
        return read_pair(value, o->pixel_spacing) ||
               s2d_error_set(err, S2D_ERR_USAGE, "option pixel_spacing: give [row, column] in mm");
    }
    bool known;
    if (!s2d_json_field_set(o, fields, sizeof fields / sizeof *fields, name, value, &known, err)) {
        return false;
    }
    return known || s2d_error_set(err, S2D_ERR_USAGE, "unknown option %.64s", name);
}

bool s2d_convert_json(const char *slide_path, const char *outdir, const char *options_json,
                      void (*progress)(void *ctx, const s2d_progress *p),
                      void (*warn)(void *ctx, const char *message), void *callback_ctx,
                      const volatile sig_atomic_t *interrupt, char **report_json, s2d_error *err)
{
    *report_json = NULL;
    s2d_convert_options opts;
    s2d_convert_options_init(&opts);
    json_t *given = NULL;
    if (options_json) {
        json_error_t jerr;
        given = json_loads(options_json, 0, &jerr);
        if (!json_is_object(given)) {
            json_decref(given);
            return s2d_error_set(err, S2D_ERR_USAGE, "options: not a JSON object (%s)",
                                 jerr.text);
        }
        const char *name;
        json_t *value;
        json_object_foreach(given, name, value) {
            if (!set_field(&opts, name, value, err)) {
                json_decref(given);
                return false;
            }
        }
    }
    opts.progress = progress;
    opts.warn = warn;
    opts.callback_ctx = callback_ctx;
    opts.interrupt = interrupt;
    s2d_convert_report report;
    bool ok = s2d_convert(slide_path, outdir, &opts, &report, err);
    json_decref(given);   // after the conversion: the options point into it
    if (ok) {
        json_t *json = s2d_report_json(&report);
        *report_json = json ? json_dumps(json, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(json);
        ok = *report_json || s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    s2d_convert_report_free(&report);
    return ok;
}

void s2d_free(void *p)
{
    free(p);
}
