// SPDX-License-Identifier: Apache-2.0
/* The dictionary's table and lookups; see dicom/dict.h. */
#include "dicom/dict.h"

#include <string.h>

static const s2d_dict_entry table[S2D_KW_COUNT] = {
#define S2D_DICT_ENTRY(keyword, group, element, vr) \
    [S2D_KW_##keyword] = {#keyword, S2D_TAG(group, element), #vr},
    S2D_DICT(S2D_DICT_ENTRY)
#undef S2D_DICT_ENTRY
};

const s2d_dict_entry *s2d_dict_entry_of(s2d_kw kw)
{
    return &table[kw];
}

const s2d_dict_entry *s2d_dict_find_keyword(const char *keyword)
{
    for (size_t i = 0; i < S2D_KW_COUNT; i++) {
        if (strcmp(table[i].keyword, keyword) == 0) {
            return &table[i];
        }
    }
    return NULL;
}

// The table is in tag order (S2D_DICT's rule; tests/unit/test_dict.c checks it).
const s2d_dict_entry *s2d_dict_find_tag(uint32_t tag)
{
    size_t lo = 0, hi = S2D_KW_COUNT;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (table[mid].tag < tag) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < S2D_KW_COUNT && table[lo].tag == tag ? &table[lo] : NULL;
}

bool s2d_has(const s2d_ds *ds, s2d_kw kw)
{
    return s2d_ds_has(ds, table[kw].tag);
}

bool s2d_put_str(s2d_ds *ds, s2d_kw kw, const char *value, s2d_error *err)
{
    return s2d_ds_put_str(ds, table[kw].tag, table[kw].vr, value, err);
}

bool s2d_put_number(s2d_ds *ds, s2d_kw kw, double value, s2d_error *err)
{
    return s2d_ds_put_number(ds, table[kw].tag, table[kw].vr, value, err);
}

bool s2d_put_numbers(s2d_ds *ds, s2d_kw kw, const double *values, size_t n, s2d_error *err)
{
    return s2d_ds_put_numbers(ds, table[kw].tag, table[kw].vr, values, n, err);
}

bool s2d_put_bytes(s2d_ds *ds, s2d_kw kw, const void *data, size_t len, s2d_error *err)
{
    return s2d_ds_put_bytes(ds, table[kw].tag, table[kw].vr, data, len, err);
}

// ds.h's sequence calls take no VR: check here that kw names a sequence.
static bool is_sequence(s2d_kw kw, s2d_error *err)
{
    if (strcmp(table[kw].vr, "SQ") != 0) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "%s is not a sequence", table[kw].keyword);
    }
    return true;
}

bool s2d_put_empty_seq(s2d_ds *ds, s2d_kw kw, s2d_error *err)
{
    return is_sequence(kw, err) && s2d_ds_put_empty_seq(ds, table[kw].tag, err);
}

s2d_ds *s2d_put_item(s2d_ds *ds, s2d_kw kw, s2d_error *err)
{
    return is_sequence(kw, err) ? s2d_ds_seq_append(ds, table[kw].tag, err) : NULL;
}
