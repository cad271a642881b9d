// SPDX-License-Identifier: Apache-2.0
/* Setting a C struct's fields from a JSON object by name: the JSON faces of the library
 * (s2d_convert_json, s2d_send_json) that let a binding pass options without sharing the
 * structs' layouts. */
#ifndef S2D_JSON_FIELDS_H
#define S2D_JSON_FIELDS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "slide2dcm/error.h"

typedef enum s2d_json_field_type {
    S2D_FIELD_BOOL,     // bool, from true / false
    S2D_FIELD_INT,      // int, from an integer
    S2D_FIELD_U32,      // uint32_t, from a non-negative integer
    S2D_FIELD_SIZE,     // uint64_t, from a non-negative integer
    S2D_FIELD_DOUBLE,   // double, from a finite number
    S2D_FIELD_TEXT,     // const char *, from a string (kept by pointer) or null
} s2d_json_field_type;

/** One settable field: its name in the JSON object, its type, its offset in the struct. */
typedef struct s2d_json_field {
    const char *name;
    s2d_json_field_type type;
    size_t offset;
} s2d_json_field;

/** Sets the field of base named name from value. Strings are kept by pointer: the caller
 *  keeps the JSON alive while the struct is in use.
 *  @return false when value has the wrong type (an S2D_ERR_USAGE naming the option and
 *  what to give); true, *known false, when no field has that name. */
bool s2d_json_field_set(void *base, const s2d_json_field *fields, size_t nfields,
                        const char *name, json_t *value, bool *known, s2d_error *err);

#endif
