// SPDX-License-Identifier: Apache-2.0
/* Setting struct fields from JSON by name; see core/json_fields.h. */
#include "core/json_fields.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

bool s2d_json_field_set(void *base, const s2d_json_field *fields, size_t nfields,
                        const char *name, json_t *value, bool *known, s2d_error *err)
{
    const s2d_json_field *f = NULL;
    for (size_t i = 0; i < nfields && !f; i++) {
        f = strcmp(fields[i].name, name) == 0 ? &fields[i] : NULL;
    }
    *known = f != NULL;
    if (!f) {
        return true;
    }
    char *slot = (char *)base + f->offset;
    json_int_t n = json_is_integer(value) ? json_integer_value(value) : -1;
    switch (f->type) {
    case S2D_FIELD_BOOL:
        if (json_is_boolean(value)) {
            *(bool *)slot = json_is_true(value);
            return true;
        }
        return s2d_error_set(err, S2D_ERR_USAGE, "option %s: give true or false", name);
    case S2D_FIELD_INT:
        if (json_is_integer(value) && n >= -1000000000 && n <= 1000000000) {
            *(int *)slot = (int)n;
            return true;
        }
        return s2d_error_set(err, S2D_ERR_USAGE, "option %s: give an integer", name);
    case S2D_FIELD_U32:
        if (n >= 0 && n <= UINT32_MAX) {
            *(uint32_t *)slot = (uint32_t)n;
            return true;
        }
        return s2d_error_set(err, S2D_ERR_USAGE, "option %s: give a count from 0", name);
    case S2D_FIELD_SIZE:
        if (n >= 0) {
            *(uint64_t *)slot = (uint64_t)n;
            return true;
        }
        return s2d_error_set(err, S2D_ERR_USAGE, "option %s: give a byte count", name);
    case S2D_FIELD_DOUBLE:
        if (json_is_number(value) && isfinite(json_number_value(value))) {
            *(double *)slot = json_number_value(value);
            return true;
        }
        return s2d_error_set(err, S2D_ERR_USAGE, "option %s: give a number", name);
    case S2D_FIELD_TEXT:
        if (json_is_string(value) || json_is_null(value)) {
            *(const char **)slot = json_is_null(value) ? NULL : json_string_value(value);
            return true;
        }
        return s2d_error_set(err, S2D_ERR_USAGE, "option %s: give a string", name);
    }
    return s2d_error_set(err, S2D_ERR_INTERNAL, "option %s: unknown field type", name);
}
