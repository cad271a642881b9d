// SPDX-License-Identifier: Apache-2.0
/* s2d_send_json: sending for bindings (the Python package), options and outcomes as JSON;
 * see slide2dcm/send.h. */
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_fields.h"
#include "slide2dcm/send.h"

#define FIELD(name, type) {#name, S2D_##type, offsetof(s2d_send_options, name)}

// What a caller may set besides the destination ("stow" or "cstore"); the callbacks and
// the interrupt flag are parameters of s2d_send_json.
static const s2d_json_field fields[] = {
    FIELD(bearer_token, FIELD_TEXT), FIELD(basic_auth, FIELD_TEXT),
    FIELD(ca_file, FIELD_TEXT),      FIELD(calling_aet, FIELD_TEXT),
    FIELD(called_aet, FIELD_TEXT),   FIELD(max_pdu, FIELD_U32),
    FIELD(retries, FIELD_INT),       FIELD(retry_wait, FIELD_DOUBLE),
    FIELD(timeout, FIELD_INT),       FIELD(deadline, FIELD_DOUBLE),
};

// "stow": URL, or "cstore": "HOST:PORT" (host by pointer into value, with the port cut off
// into host_buf).
static bool set_destination(s2d_send_options *o, const char *name, json_t *value,
                            char *host_buf, size_t host_size, s2d_error *err)
{
    if (!json_is_string(value)) {
        return s2d_error_set(err, S2D_ERR_USAGE, "option %s: give a string", name);
    }
    const char *text = json_string_value(value);
    if (strcmp(name, "stow") == 0) {
        o->protocol = S2D_SEND_STOW;
        o->stow_url = text;
        return true;
    }
    const char *colon = strrchr(text, ':');
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (!colon || colon == text || (size_t)(colon - text) >= host_size || !end || *end ||
        port < 1 || port > 65535) {
        return s2d_error_set(err, S2D_ERR_USAGE, "option cstore: give HOST:PORT");
    }
    snprintf(host_buf, host_size, "%.*s", (int)(colon - text), text);
    o->protocol = S2D_SEND_CSTORE;
    o->host = host_buf;
    o->port = (int)port;
    return true;
}

static json_t *outcomes_json(const s2d_send_outcome *outcomes, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++) {
        const s2d_send_outcome *o = &outcomes[i];
        json_t *item = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:i, s:s}", "path", o->path,
                                 "status", s2d_send_status_name(o->status), "sop_class_uid",
                                 o->sop_class_uid, "sop_instance_uid", o->sop_instance_uid,
                                 "transfer_syntax_uid", o->transfer_syntax_uid, "bytes",
                                 (json_int_t)o->bytes, "attempts", o->attempts, "detail",
                                 o->detail);
        if (!item || json_array_append_new(list, item) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    return list;
}

bool s2d_send_json(const char *paths_json, const char *options_json,
                   void (*on_bytes)(void *ctx, const char *path, uint64_t sent, uint64_t size),
                   void *callback_ctx, const volatile sig_atomic_t *interrupt,
                   char **outcomes_out, s2d_error *err)
{
    *outcomes_out = NULL;
    json_error_t jerr;
    json_t *paths = json_loads(paths_json ? paths_json : "null", 0, &jerr);
    json_t *given = json_loads(options_json ? options_json : "{}", 0, &jerr);
    size_t n = json_is_array(paths) ? json_array_size(paths) : 0;
    const char **list = calloc(n ? n : 1, sizeof *list);
    s2d_send_outcome *outcomes = calloc(n ? n : 1, sizeof *outcomes);
    s2d_send_options opts;
    s2d_send_options_init(&opts);
    char host[256];
    bool ok = list && outcomes;
    if (!ok) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    } else if (!json_is_array(paths) || n == 0) {
        ok = s2d_error_set(err, S2D_ERR_USAGE, "paths: give a JSON array of file names");
    } else if (!json_is_object(given)) {
        ok = s2d_error_set(err, S2D_ERR_USAGE, "options: not a JSON object");
    }
    for (size_t i = 0; ok && i < n; i++) {
        list[i] = json_string_value(json_array_get(paths, i));
        ok = list[i] || s2d_error_set(err, S2D_ERR_USAGE, "paths: item %zu is not a string",
                                      i + 1);
    }
    bool destination = false;
    const char *name;
    json_t *value;
    if (ok) {
        json_object_foreach(given, name, value) {
            bool known = true;
            if (strcmp(name, "stow") == 0 || strcmp(name, "cstore") == 0) {
                ok = !destination ||
                     s2d_error_set(err, S2D_ERR_USAGE, "give one destination: stow or cstore");
                ok = ok && set_destination(&opts, name, value, host, sizeof host, err);
                destination = true;
            } else {
                ok = s2d_json_field_set(&opts, fields, sizeof fields / sizeof *fields, name,
                                        value, &known, err);
            }
            ok = ok && (known || s2d_error_set(err, S2D_ERR_USAGE, "unknown option %.64s", name));
            if (!ok) {
                break;
            }
        }
    }
    if (ok && !destination) {
        ok = s2d_error_set(err, S2D_ERR_USAGE, "give a destination: stow or cstore");
    }
    if (ok) {
        opts.on_bytes = on_bytes;
        opts.callback_ctx = callback_ctx;
        opts.interrupt = interrupt;
        ok = s2d_send_files(list, n, &opts, outcomes, err);
        // The outcomes, stored or not: what a caller reports either way.
        json_t *json = outcomes_json(outcomes, n);
        *outcomes_out = json ? json_dumps(json, JSON_COMPACT) : NULL;
        json_decref(json);
        if (!*outcomes_out) {
            ok = s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        }
    }
    free(list);
    free(outcomes);
    json_decref(paths);   // after sending: the options and paths point into them
    json_decref(given);
    return ok;
}
