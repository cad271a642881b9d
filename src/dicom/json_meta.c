// SPDX-License-Identifier: Apache-2.0
/* DICOM JSON model (PS3.18 F.2) to dataset, with jansson: it reports the line and column of
 * a syntax error and checks that strings are UTF-8, which our ISO_IR 192 output needs. */
#include "dicom/json_meta.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"

// Tags a dataset cannot hold at all: file meta and command groups, group lengths, and
// everything from Pixel Data on (which the writer places after the dataset).
static bool outside_dataset(uint32_t tag)
{
    return (tag >> 16) < 0x0008 || (tag >> 16) >= 0x7FE0 || (tag & 0xFFFF) == 0;
}

// The attributes a user may not set: the IOD's (iod/iod.h).
typedef struct owned_list {
    const s2d_kw *kw;
    size_t n;
} owned_list;

static bool is_owned(const owned_list *owned, uint32_t tag)
{
    for (size_t i = 0; i < owned->n; i++) {
        if (s2d_dict_entry_of(owned->kw[i])->tag == tag) {
            return true;
        }
    }
    return false;
}

// Exactly eight hex digits, as PS3.18 F.2 writes tags.
static bool parse_tag(const char *key, uint32_t *tag)
{
    if (strlen(key) != 8 || strspn(key, "0123456789abcdefABCDEF") != 8) {
        return false;
    }
    *tag = (uint32_t)strtoul(key, NULL, 16);
    return true;
}

static bool known_vr(const char *vr)
{
    static const char *const vrs[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD",
                                      "IS", "LO", "LT", "OB", "OD", "OF", "OL", "OV", "OW",
                                      "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC",
                                      "UI", "UL", "UN", "UR", "US", "UT", "UV"};
    for (size_t i = 0; i < sizeof vrs / sizeof *vrs; i++) {
        if (strcmp(vr, vrs[i]) == 0) {
            return true;
        }
    }
    return false;
}

static bool vr_in(const char *vr, const char *const *list)
{
    for (; *list; list++) {
        if (strcmp(vr, *list) == 0) {
            return true;
        }
    }
    return false;
}

static const char *const binary_vrs[] = {"OB", "OD", "OF", "OL", "OV", "OW", "UN", NULL};
static const char *const number_vrs[] = {"US", "SS", "UL", "SL", "FL", "FD", "SV", "UV", NULL};
static const char *const single_text_vrs[] = {"LT", "ST", "UT", "UR", NULL};

static bool fill_dataset(s2d_ds *ds, json_t *obj, const char *path, const owned_list *owned,
                         s2d_error *err);

static bool join_strings(json_t *values, const char *vr, s2d_buf *text, const char *path,
                         uint32_t tag, s2d_error *err)
{
    size_t i;
    json_t *v;
    bool single = vr_in(vr, single_text_vrs);
    if (single && json_array_size(values) > 1) {
        return s2d_error_set(err, S2D_ERR_INPUT, "%s: (%04X,%04X) %s takes one value", path,
                             tag >> 16, tag & 0xFFFF, vr);
    }
    json_array_foreach(values, i, v) {
        if (i) {
            s2d_buf_append_byte(text, '\\');
        }
        // A backslash separates values: inside one value it would silently make two.
        if (!single && json_is_string(v) && strchr(json_string_value(v), '\\')) {
            return s2d_error_set(err, S2D_ERR_INPUT,
                                 "%s: (%04X,%04X) a value contains a backslash", path,
                                 tag >> 16, tag & 0xFFFF);
        }
        if (json_is_null(v)) {
            continue;
        }
        if (memcmp(vr, "PN", 2) == 0 && json_is_object(v)) {
            // Alphabetic=Ideographic=Phonetic component groups.
            static const char *const groups[] = {"Alphabetic", "Ideographic", "Phonetic"};
            int last = -1;
            for (int g = 0; g < 3; g++) {
                if (json_is_string(json_object_get(v, groups[g]))) {
                    last = g;
                }
            }
            const char *key;
            json_t *component;
            json_object_foreach(v, key, component) {
                bool known = strcmp(key, groups[0]) == 0 || strcmp(key, groups[1]) == 0 ||
                             strcmp(key, groups[2]) == 0;
                if (!known || !json_is_string(component) ||
                    strchr(json_string_value(component), '\\') ||
                    strchr(json_string_value(component), '=')) {
                    return s2d_error_set(err, S2D_ERR_INPUT,
                                         "%s: (%04X,%04X) person name component \"%s\" is not "
                                         "a string without '\\' and '='", path, tag >> 16,
                                         tag & 0xFFFF, key);
                }
            }
            for (int g = 0; g <= last; g++) {
                const char *s = json_string_value(json_object_get(v, groups[g]));
                if (g) {
                    s2d_buf_append_byte(text, '=');
                }
                if (s) {
                    s2d_buf_append(text, s, strlen(s));
                }
            }
        } else if (json_is_string(v)) {
            s2d_buf_append(text, json_string_value(v), strlen(json_string_value(v)));
        } else if (json_is_number(v) && (memcmp(vr, "DS", 2) == 0 || memcmp(vr, "IS", 2) == 0)) {
            char num[32];
            double d = json_number_value(v);
            if (vr[0] == 'D') {
                s2d_format_ds(d, 16, num);
            } else if (d == floor(d) && d >= -2147483648.0 && d <= 2147483647.0) {
                snprintf(num, sizeof num, "%.0f", d);
            } else {
                return s2d_error_set(err, S2D_ERR_INPUT,
                                     "%s: (%04X,%04X) a value is not an IS integer", path,
                                     tag >> 16, tag & 0xFFFF);
            }
            s2d_buf_append(text, num, strlen(num));
        } else {
            return s2d_error_set(err, S2D_ERR_INPUT, "%s: (%04X,%04X) has a value of the wrong type for %s",
                                 path, tag >> 16, tag & 0xFFFF, vr);
        }
    }
    s2d_buf_append_byte(text, 0);
    return true;
}

static bool put_attribute(s2d_ds *ds, uint32_t tag, json_t *attr, const char *path, s2d_error *err)
{
    const char *vr = json_string_value(json_object_get(attr, "vr"));
    if (!vr || !known_vr(vr)) {
        return s2d_error_set(err, S2D_ERR_INPUT, "%s: (%04X,%04X) has no valid \"vr\"", path,
                             tag >> 16, tag & 0xFFFF);
    }
    if (json_object_get(attr, "BulkDataURI")) {
        return s2d_error_set(err, S2D_ERR_INPUT,
                             "%s: (%04X,%04X) BulkDataURI is not supported; use InlineBinary",
                             path, tag >> 16, tag & 0xFFFF);
    }
    json_t *values = json_object_get(attr, "Value");
    json_t *inline_binary = json_object_get(attr, "InlineBinary");
    if (values && !json_is_array(values)) {
        return s2d_error_set(err, S2D_ERR_INPUT, "%s: (%04X,%04X) \"Value\" is not an array", path,
                             tag >> 16, tag & 0xFFFF);
    }
    if (strcmp(vr, "SQ") == 0) {
        if (!s2d_ds_put_empty_seq(ds, tag, err)) {
            return false;
        }
        size_t i;
        json_t *item;
        json_array_foreach(values, i, item) {
            s2d_ds *child = s2d_ds_seq_append(ds, tag, err);
            if (!child || !fill_dataset(child, item, path, NULL, err)) {
                return false;
            }
        }
        return true;
    }
    if (inline_binary && !vr_in(vr, binary_vrs)) {
        return s2d_error_set(err, S2D_ERR_INPUT, "%s: (%04X,%04X) InlineBinary on a %s attribute",
                             path, tag >> 16, tag & 0xFFFF, vr);
    }
    if (vr_in(vr, binary_vrs)) {
        s2d_buf bytes = {0};
        const char *b64 = json_string_value(inline_binary);
        if (b64 && !s2d_base64_decode(b64, &bytes)) {
            s2d_buf_free(&bytes);
            return s2d_error_set(err, S2D_ERR_INPUT, "%s: (%04X,%04X) InlineBinary is not base64",
                                 path, tag >> 16, tag & 0xFFFF);
        }
        bool ok = s2d_ds_put_bytes(ds, tag, vr, bytes.data, bytes.len, err);
        s2d_buf_free(&bytes);
        return ok;
    }
    if (vr_in(vr, number_vrs)) {
        size_t n = json_array_size(values);
        double *nums = calloc(n ? n : 1, sizeof *nums);
        if (!nums) {
            return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < n; i++) {
            json_t *v = json_array_get(values, i);
            if (!json_is_number(v)) {
                free(nums);
                return s2d_error_set(err, S2D_ERR_INPUT, "%s: (%04X,%04X) %s value is not a number",
                                     path, tag >> 16, tag & 0xFFFF, vr);
            }
            nums[i] = json_number_value(v);
        }
        bool ok = s2d_ds_put_numbers(ds, tag, vr, nums, n, err);
        free(nums);
        return ok;
    }
    if (strcmp(vr, "AT") == 0) {
        s2d_buf bytes = {0};
        for (size_t i = 0; i < json_array_size(values); i++) {
            uint32_t at;
            const char *s = json_string_value(json_array_get(values, i));
            if (!s || !parse_tag(s, &at)) {
                s2d_buf_free(&bytes);
                return s2d_error_set(err, S2D_ERR_INPUT, "%s: (%04X,%04X) AT value is not a tag",
                                     path, tag >> 16, tag & 0xFFFF);
            }
            s2d_buf_append_u16le(&bytes, (uint16_t)(at >> 16));
            s2d_buf_append_u16le(&bytes, (uint16_t)at);
        }
        bool ok = s2d_ds_put_bytes(ds, tag, "AT", bytes.data, bytes.len, err);
        s2d_buf_free(&bytes);
        return ok;
    }
    s2d_buf text = {0};
    bool ok = join_strings(values, vr, &text, path, tag, err);
    if (ok && text.failed) {
        ok = s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    if (ok) {
        ok = s2d_ds_put_str(ds, tag, vr, (const char *)text.data, err);
        if (!ok && err && err->code == S2D_ERR_INTERNAL) {
            err->code = S2D_ERR_INPUT;
        }
    }
    s2d_buf_free(&text);
    return ok;
}

// A private data element (odd group, element xx00-xxFF above 0x1000) belongs to the block
// its Private Creator (gggg,00xx) reserves (PS3.5 7.8.1): without that creator in the same
// dataset no reader can tell whose element it is.
static bool private_tags_have_creators(const s2d_ds *ds, const char *path, s2d_error *err)
{
    for (size_t i = 0; i < s2d_ds_count(ds); i++) {
        uint32_t tag = s2d_ds_tag_at(ds, i);
        unsigned group = tag >> 16, element = tag & 0xFFFF;
        if (group % 2 == 0) {
            continue;
        }
        if (element >= 0x0001 && element <= 0x000F) {
            return s2d_error_set(err, S2D_ERR_INPUT, "%s: (%04X,%04X) is reserved in a private "
                                 "group", path, group, element);
        }
        uint32_t creator = (uint32_t)group << 16 | element >> 8;
        char name[65];
        if (element >= 0x1000 && (!s2d_ds_get_str(ds, creator, name, sizeof name) || !name[0])) {
            return s2d_error_set(err, S2D_ERR_INPUT, "%s: private (%04X,%04X) needs its Private "
                                 "Creator (%04X,%04X) in the same dataset", path, group, element,
                                 group, element >> 8);
        }
    }
    return true;
}

// owned: the attributes refused at top level; NULL inside sequence items.
static bool fill_dataset(s2d_ds *ds, json_t *obj, const char *path, const owned_list *owned,
                         s2d_error *err)
{
    if (!json_is_object(obj)) {
        return s2d_error_set(err, S2D_ERR_INPUT, "%s: expected a JSON object of attributes", path);
    }
    const char *key;
    json_t *attr;
    json_object_foreach(obj, key, attr) {
        uint32_t tag;
        if (!parse_tag(key, &tag) || !json_is_object(attr)) {
            return s2d_error_set(err, S2D_ERR_INPUT,
                                 "%s: \"%s\" is not an attribute (8 hex digits with an object)",
                                 path, key);
        }
        if (outside_dataset(tag)) {
            return s2d_error_set(err, S2D_ERR_INPUT, "%s: (%04X,%04X) cannot be in a dataset",
                                 path, tag >> 16, tag & 0xFFFF);
        }
        // "0010a010" and "0010A010" are one tag: the JSON parser cannot see the repeat.
        if (s2d_ds_has(ds, tag)) {
            return s2d_error_set(err, S2D_ERR_INPUT, "%s: (%04X,%04X) is given twice", path,
                                 tag >> 16, tag & 0xFFFF);
        }
        if (owned && is_owned(owned, tag)) {
            return s2d_error_set(err, S2D_ERR_INPUT,
                                 "%s: (%04X,%04X) %s is set by slide2dcm from the pixels and "
                                 "cannot be overridden", path, tag >> 16, tag & 0xFFFF,
                                 s2d_dict_find_tag(tag)->keyword);
        }
        if (!put_attribute(ds, tag, attr, path, err)) {
            return false;
        }
    }
    return private_tags_have_creators(ds, path, err);
}

void s2d_json_meta_unquote_reason(char *text)
{
    char *near = strstr(text, " near ");
    if (near) {
        *near = '\0';
    }
}

// The dataset of a parsed document (root, NULL when jansson failed: jerr says why), which
// path names in messages; takes root's reference.
static s2d_ds *from_json(json_t *root, json_error_t *jerr, const char *path,
                         const s2d_kw *owned, size_t nowned, s2d_error *err)
{
    owned_list refused = {owned, nowned};
    if (!root) {
        s2d_json_meta_unquote_reason(jerr->text);
        s2d_error_set(err, S2D_ERR_INPUT, "%s: line %d column %d: %s", path, jerr->line,
                      jerr->column, jerr->text);
        return NULL;
    }
    // Accept a bare object or a one-element array, as DICOMweb returns metadata in arrays.
    json_t *obj = json_is_array(root) && json_array_size(root) == 1 ? json_array_get(root, 0) : root;
    s2d_ds *ds = s2d_ds_new();
    if (!ds) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    } else if (!fill_dataset(ds, obj, path, &refused, err)) {
        if (strncmp(err->message, path, strlen(path)) != 0) {
            s2d_error_prefix(err, "%s: ", path);
        }
        s2d_ds_free(ds);
        ds = NULL;
    }
    json_decref(root);
    return ds;
}

s2d_ds *s2d_json_meta_load(const char *path, const s2d_kw *owned, size_t nowned,
                           s2d_error *err)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    return from_json(root, &jerr, path, owned, nowned, err);
}

s2d_ds *s2d_json_meta_parse(const char *text, size_t len, const char *name, const s2d_kw *owned,
                            size_t nowned, s2d_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    return from_json(root, &jerr, name, owned, nowned, err);
}
