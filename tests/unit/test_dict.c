// SPDX-License-Identifier: Apache-2.0
/* The dictionary: rows in tag order with unique keywords, both lookups finding every row
 * and nothing else, and the keyword setters writing the dictionary's tag and VR.
 * With --dump it prints "keyword tag VR" per row for check_dict.py instead. */
#include <stdint.h>
#include <stdio.h>

#include "dicom/dict.h"
#include "harness.h"

static void test_rows_in_tag_order(void)
{
    for (size_t i = 1; i < S2D_KW_COUNT; i++) {
        CHECK(s2d_dict_entry_of((s2d_kw)(i - 1))->tag < s2d_dict_entry_of((s2d_kw)i)->tag);
    }
}

static void test_every_row_found(void)
{
    for (size_t i = 0; i < S2D_KW_COUNT; i++) {
        const s2d_dict_entry *e = s2d_dict_entry_of((s2d_kw)i);
        CHECK(s2d_dict_find_keyword(e->keyword) == e);
        CHECK(s2d_dict_find_tag(e->tag) == e);
        CHECK(strlen(e->vr) == 2);
    }
}

static void test_lookups(void)
{
    const s2d_dict_entry *e = s2d_dict_find_keyword("PatientName");
    CHECK(e && e->tag == S2D_TAG(0x0010, 0x0010) && strcmp(e->vr, "PN") == 0);
    CHECK(e == s2d_dict_entry_of(S2D_KW_PatientName));
    e = s2d_dict_find_tag(S2D_TAG(0x0028, 0x0010));
    CHECK(e && strcmp(e->keyword, "Rows") == 0 && strcmp(e->vr, "US") == 0);
    e = s2d_dict_find_tag(S2D_TAG(0x7FE0, 0x0010));   // the last row
    CHECK(e && strcmp(e->keyword, "PixelData") == 0);
    e = s2d_dict_find_tag(S2D_TAG(0x0000, 0x0000));   // the first row
    CHECK(e && strcmp(e->keyword, "CommandGroupLength") == 0);
    // Neighbours of rows, beyond both ends, and near misses of a keyword.
    CHECK(s2d_dict_find_tag(S2D_TAG(0x0010, 0x0011)) == NULL);
    CHECK(s2d_dict_find_tag(S2D_TAG(0x0028, 0x000F)) == NULL);
    CHECK(s2d_dict_find_tag(S2D_TAG(0x7FE0, 0x0011)) == NULL);
    CHECK(s2d_dict_find_tag(0xFFFFFFFFu) == NULL);
    CHECK(s2d_dict_find_keyword("patientname") == NULL);
    CHECK(s2d_dict_find_keyword("PatientNam") == NULL);
    CHECK(s2d_dict_find_keyword("") == NULL);
}

static void test_setters_use_tag_and_vr(void)
{
    s2d_ds *ds = s2d_ds_new();
    s2d_error err = {0};
    CHECK(s2d_put_str(ds, S2D_KW_PatientName, "Doe^Jo", &err));
    CHECK(s2d_put_number(ds, S2D_KW_Rows, 512, &err));
    s2d_ds *item = s2d_put_item(ds, S2D_KW_PixelMeasuresSequence, &err);
    CHECK(item && s2d_put_str(item, S2D_KW_SliceThickness, "1", &err));
    s2d_buf b = {0};
    CHECK(s2d_ds_encode(ds, &b, 0, NULL, &err));
    static const uint8_t expect[] = {
        0x10, 0x00, 0x10, 0x00, 'P', 'N', 6, 0, 'D', 'o', 'e', '^', 'J', 'o',
        0x28, 0x00, 0x10, 0x00, 'U', 'S', 2, 0, 0x00, 0x02,
        0x28, 0x00, 0x10, 0x91, 'S', 'Q', 0, 0, 18, 0, 0, 0,
        0xFE, 0xFF, 0x00, 0xE0, 10, 0, 0, 0,
        0x18, 0x00, 0x50, 0x00, 'D', 'S', 2, 0, '1', ' ',
    };
    CHECK(b.len == sizeof expect && memcmp(b.data, expect, sizeof expect) == 0);
    s2d_buf_free(&b);
    // A sequence call on an attribute that is not one is a programming error.
    CHECK(!s2d_put_empty_seq(ds, S2D_KW_Rows, &err) && err.code == S2D_ERR_INTERNAL);
    err = (s2d_error){0};
    CHECK(s2d_put_item(ds, S2D_KW_PatientName, &err) == NULL && err.code == S2D_ERR_INTERNAL);
    CHECK(s2d_ds_count(ds) == 3);
    s2d_ds_free(ds);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--dump") == 0) {
        for (size_t i = 0; i < S2D_KW_COUNT; i++) {
            const s2d_dict_entry *e = s2d_dict_entry_of((s2d_kw)i);
            printf("%s %08X %s\n", e->keyword, (unsigned)e->tag, e->vr);
        }
        return 0;
    }
    RUN(test_rows_in_tag_order);
    RUN(test_every_row_found);
    RUN(test_lookups);
    RUN(test_setters_use_tag_and_vr);
    return harness_failures != 0;
}
