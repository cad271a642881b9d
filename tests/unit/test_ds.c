// SPDX-License-Identifier: Apache-2.0
/* Dataset encoder: Explicit VR Little Endian layout, VR length rules, even padding,
 * sequences with defined lengths, merge and the value checks. */
#include <stdint.h>
#include <stdlib.h>

#include "dicom/ds.h"
#include "dicom/uid.h"
#include "harness.h"

static const uint8_t *encode(s2d_ds *ds, s2d_buf *out)
{
    s2d_error err = {0};
    memset(out, 0, sizeof *out);
    CHECK(s2d_ds_encode(ds, out, 0, NULL, &err));
    return out->data;
}

static void test_short_vr_and_padding(void)
{
    s2d_ds *ds = s2d_ds_new();
    s2d_error err = {0};
    CHECK(s2d_ds_put_str(ds, S2D_TAG(0x0008, 0x0060), "CS", "SM", &err));
    CHECK(s2d_ds_put_str(ds, S2D_TAG(0x0020, 0x000D), "UI", "1.2.3", &err));   // odd: NUL pad
    CHECK(s2d_ds_put_str(ds, S2D_TAG(0x0010, 0x0010), "PN", "Doe^Jo", &err));
    CHECK(s2d_ds_put_str(ds, S2D_TAG(0x0010, 0x0020), "LO", "ABC", &err));     // odd: space pad
    s2d_buf b;
    const uint8_t *p = encode(ds, &b);
    // Sorted by tag: (0008,0060) (0010,0010) (0010,0020) (0020,000D).
    static const uint8_t expect[] = {
        0x08, 0x00, 0x60, 0x00, 'C', 'S', 2, 0, 'S', 'M',
        0x10, 0x00, 0x10, 0x00, 'P', 'N', 6, 0, 'D', 'o', 'e', '^', 'J', 'o',
        0x10, 0x00, 0x20, 0x00, 'L', 'O', 4, 0, 'A', 'B', 'C', ' ',
        0x20, 0x00, 0x0D, 0x00, 'U', 'I', 6, 0, '1', '.', '2', '.', '3', 0,
    };
    CHECK(b.len == sizeof expect);
    CHECK(b.len == sizeof expect && memcmp(p, expect, sizeof expect) == 0);
    s2d_buf_free(&b);
    s2d_ds_free(ds);
}

static void test_long_vr_header(void)
{
    s2d_ds *ds = s2d_ds_new();
    s2d_error err = {0};
    uint8_t icc[3] = {1, 2, 3};
    CHECK(s2d_ds_put_bytes(ds, S2D_TAG(0x0028, 0x2000), "OB", icc, 3, &err));
    s2d_buf b;
    const uint8_t *p = encode(ds, &b);
    // OB: tag, VR, two reserved bytes, 4-byte length, value padded with 0 to even length.
    static const uint8_t expect[] = {0x28, 0x00, 0x00, 0x20, 'O', 'B', 0, 0, 4, 0, 0, 0, 1, 2, 3, 0};
    CHECK(b.len == sizeof expect && memcmp(p, expect, sizeof expect) == 0);
    s2d_buf_free(&b);
    s2d_ds_free(ds);
}

static void test_numbers(void)
{
    s2d_ds *ds = s2d_ds_new();
    s2d_error err = {0};
    double spacing[2] = {0.000499, 0.0005};
    CHECK(s2d_ds_put_numbers(ds, S2D_TAG(0x0028, 0x0030), "DS", spacing, 2, &err));
    CHECK(s2d_ds_put_number(ds, S2D_TAG(0x0028, 0x0010), "US", 256, &err));
    CHECK(s2d_ds_put_number(ds, S2D_TAG(0x0048, 0x0006), "UL", 70000, &err));
    CHECK(s2d_ds_put_number(ds, S2D_TAG(0x0048, 0x0001), "FL", 1.5, &err));
    s2d_buf b;
    const uint8_t *p = encode(ds, &b);
    static const uint8_t us[] = {0x28, 0x00, 0x10, 0x00, 'U', 'S', 2, 0, 0x00, 0x01};
    static const uint8_t ds_val[] = {0x28, 0x00, 0x30, 0x00, 'D', 'S', 16, 0,
                                     '0', '.', '0', '0', '0', '4', '9', '9', '\\',
                                     '0', '.', '0', '0', '0', '5', ' '};
    static const uint8_t fl[] = {0x48, 0x00, 0x01, 0x00, 'F', 'L', 4, 0, 0, 0, 0xC0, 0x3F};
    static const uint8_t ul[] = {0x48, 0x00, 0x06, 0x00, 'U', 'L', 4, 0, 0x70, 0x11, 0x01, 0x00};
    CHECK(b.len == sizeof us + sizeof ds_val + sizeof fl + sizeof ul);
    if (b.len == sizeof us + sizeof ds_val + sizeof fl + sizeof ul) {
        CHECK_MEM(p, us, sizeof us);
        CHECK_MEM(p + sizeof us, ds_val, sizeof ds_val);
        CHECK_MEM(p + sizeof us + sizeof ds_val, fl, sizeof fl);
        CHECK_MEM(p + sizeof us + sizeof ds_val + sizeof fl, ul, sizeof ul);
    }
    char text[17];
    s2d_format_ds(1.0 / 3.0, 16, text);
    CHECK(strlen(text) == 16);
    s2d_format_ds(123456789012345678.0, 16, text);
    CHECK(strlen(text) <= 16);
    s2d_format_ds(1.0 / 3.0, 15, text);
    CHECK(strlen(text) == 15);
    s2d_buf_free(&b);
    s2d_ds_free(ds);
}

static void test_sequences(void)
{
    s2d_ds *ds = s2d_ds_new();
    s2d_error err = {0};
    s2d_ds *item = s2d_ds_seq_append(ds, S2D_TAG(0x0040, 0x0560), &err);
    CHECK(item && s2d_ds_put_str(item, S2D_TAG(0x0040, 0x0551), "LO", "S1", &err));
    CHECK(s2d_ds_put_empty_seq(ds, S2D_TAG(0x0040, 0x0555), &err));
    s2d_buf b;
    const uint8_t *p = encode(ds, &b);
    static const uint8_t expect[] = {
        // (0040,0555) SQ, empty, defined length 0
        0x40, 0x00, 0x55, 0x05, 'S', 'Q', 0, 0, 0, 0, 0, 0,
        // (0040,0560) SQ, length 8 + 10
        0x40, 0x00, 0x60, 0x05, 'S', 'Q', 0, 0, 18, 0, 0, 0,
        0xFE, 0xFF, 0x00, 0xE0, 10, 0, 0, 0,
        0x40, 0x00, 0x51, 0x05, 'L', 'O', 2, 0, 'S', '1',
    };
    CHECK(b.len == sizeof expect && memcmp(p, expect, sizeof expect) == 0);
    s2d_buf_free(&b);
    s2d_ds_free(ds);
}

static void test_merge_replaces(void)
{
    s2d_ds *dst = s2d_ds_new(), *src = s2d_ds_new();
    s2d_error err = {0};
    CHECK(s2d_ds_put_str(dst, S2D_TAG(0x0010, 0x0010), "PN", "", &err));
    CHECK(s2d_ds_seq_append(dst, S2D_TAG(0x0040, 0x0610), &err) != NULL);
    CHECK(s2d_ds_put_str(src, S2D_TAG(0x0010, 0x0010), "PN", "Doe^Jane", &err));
    CHECK(s2d_ds_put_empty_seq(src, S2D_TAG(0x0040, 0x0610), &err));
    CHECK(s2d_ds_merge(dst, src, &err));
    CHECK(s2d_ds_count(dst) == 2);
    s2d_buf b;
    const uint8_t *p = encode(dst, &b);
    static const uint8_t expect[] = {
        0x10, 0x00, 0x10, 0x00, 'P', 'N', 8, 0, 'D', 'o', 'e', '^', 'J', 'a', 'n', 'e',
        0x40, 0x00, 0x10, 0x06, 'S', 'Q', 0, 0, 0, 0, 0, 0,
    };
    CHECK(b.len == sizeof expect && memcmp(p, expect, sizeof expect) == 0);
    s2d_buf_free(&b);
    s2d_ds_free(dst);
    s2d_ds_free(src);
}

static void test_value_rules(void)
{
    s2d_ds *ds = s2d_ds_new();
    s2d_error err = {0};
    CHECK(!s2d_ds_put_str(ds, S2D_TAG(0x0010, 0x0030), "DA", "2024-01-01", &err));
    CHECK(err.code == S2D_ERR_INPUT);
    memset(&err, 0, sizeof err);
    CHECK(!s2d_ds_put_str(ds, S2D_TAG(0x0020, 0x0010), "SH", "12345678901234567", &err));
    memset(&err, 0, sizeof err);
    CHECK(!s2d_ds_put_str(ds, S2D_TAG(0x0020, 0x000D), "UI", "1.2.abc", &err));
    memset(&err, 0, sizeof err);
    CHECK(!s2d_ds_put_str(ds, S2D_TAG(0x0008, 0x0060), "CS", "sm", &err));
    memset(&err, 0, sizeof err);
    // 16 characters of UTF-8 are 32 bytes but still fit SH.
    CHECK(s2d_ds_put_str(ds, S2D_TAG(0x0020, 0x0010), "SH", "éééééééééééééééé", &err));
    CHECK(!s2d_ds_put_str(ds, S2D_TAG(0x0010, 0x0020), "LO", "two\nlines", &err));
    memset(&err, 0, sizeof err);
    CHECK(s2d_ds_put_str(ds, S2D_TAG(0x2200, 0x0002), "UT", "two\nlines", &err));
    s2d_ds_free(ds);
}

static void test_uid_from_bytes(void)
{
    uint8_t zero[16] = {0}, max[16];
    memset(max, 0xFF, sizeof max);
    char uid[S2D_UID_MAX];
    s2d_uid_from_bytes(zero, uid);
    CHECK(strcmp(uid, "2.25.0") == 0);
    s2d_uid_from_bytes(max, uid);
    CHECK(strcmp(uid, "2.25.340282366920938463463374607431768211455") == 0);
    s2d_error err = {0};
    char a[S2D_UID_MAX], b[S2D_UID_MAX];
    CHECK(s2d_uid_new(a, &err) && s2d_uid_new(b, &err));
    CHECK(strcmp(a, b) != 0 && strlen(a) <= 64);
}

int main(void)
{
    RUN(test_short_vr_and_padding);
    RUN(test_long_vr_header);
    RUN(test_numbers);
    RUN(test_sequences);
    RUN(test_merge_replaces);
    RUN(test_value_rules);
    RUN(test_uid_from_bytes);
    return harness_failures != 0;
}
