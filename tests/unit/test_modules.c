// SPDX-License-Identifier: Apache-2.0
/* The shared modules' choices that the golden outputs (8-bit colour, one optical path) do
 * not reach: Image Pixel of one sample and 16 bits, N optical paths, the lossy history's
 * listing of an earlier step; the stain names --stain reads. Checked in the encoded bytes of
 * each element. */
#define _GNU_SOURCE   // memmem
#include <stdint.h>
#include <string.h>

#include "dicom/modules/modules.h"
#include "harness.h"

// Whether the Explicit VR Little Endian encoding of ds holds these bytes.
static bool encodes(const s2d_ds *ds, const void *bytes, size_t n)
{
    s2d_buf b = {0};
    s2d_error err = {0};
    bool found = s2d_ds_encode(ds, &b, 0, NULL, &err) && memmem(b.data, b.len, bytes, n);
    s2d_buf_free(&b);
    return found;
}

#define US(g, e, v) {(g) & 0xFF, (g) >> 8, (e) & 0xFF, (e) >> 8, 'U', 'S', 2, 0, (v) & 0xFF, (v) >> 8}

static void test_image_pixel_grey_16(void)
{
    s2d_ds *ds = s2d_ds_new();
    s2d_error err = {0};
    s2d_image_pixel p = {.rows = 512, .columns = 256, .samples_per_pixel = 1,
                         .bits_allocated = 16, .bits_stored = 12, .is_signed = true,
                         .photometric = "MONOCHROME2"};
    CHECK(s2d_module_image_pixel(ds, &p, &err));
    static const uint8_t samples[] = US(0x0028, 0x0002, 1), rows[] = US(0x0028, 0x0010, 512),
                         columns[] = US(0x0028, 0x0011, 256),
                         allocated[] = US(0x0028, 0x0100, 16), stored[] = US(0x0028, 0x0101, 12),
                         high[] = US(0x0028, 0x0102, 11), sign[] = US(0x0028, 0x0103, 1);
    CHECK(encodes(ds, samples, sizeof samples) && encodes(ds, rows, sizeof rows) &&
          encodes(ds, columns, sizeof columns));
    CHECK(encodes(ds, allocated, sizeof allocated) && encodes(ds, stored, sizeof stored));
    CHECK(encodes(ds, high, sizeof high) && encodes(ds, sign, sizeof sign));
    CHECK(encodes(ds, "MONOCHROME2 ", 12));
    CHECK(!s2d_ds_has(ds, S2D_TAG(0x0028, 0x0006)));   // Planar Configuration: colour only
    s2d_ds_free(ds);
}

static void test_image_pixel_colour_8(void)
{
    s2d_ds *ds = s2d_ds_new();
    s2d_error err = {0};
    s2d_image_pixel p = {.rows = 16, .columns = 16, .samples_per_pixel = 3, .bits_allocated = 8,
                         .bits_stored = 8, .photometric = "RGB"};
    CHECK(s2d_module_image_pixel(ds, &p, &err));
    static const uint8_t planar[] = US(0x0028, 0x0006, 0), high[] = US(0x0028, 0x0102, 7),
                         sign[] = US(0x0028, 0x0103, 0);
    CHECK(encodes(ds, planar, sizeof planar) && encodes(ds, high, sizeof high) &&
          encodes(ds, sign, sizeof sign));
    s2d_ds_free(ds);
}

static void test_optical_paths(void)
{
    s2d_ds *ds = s2d_ds_new();
    s2d_error err = {0};
    s2d_optical_path paths[3] = {
        {.identifier = "DAPI", .fluorescence = true, .excitation_nm = 358},
        {.identifier = "FITC", .fluorescence = true},
        {.identifier = "BF", .objective_power = 20},
    };
    CHECK(s2d_module_optical_paths(ds, paths, 3, &err));
    static const uint8_t count[] = {0x48, 0x00, 0x02, 0x03, 'U', 'L', 4, 0, 3, 0, 0, 0};
    CHECK(encodes(ds, count, sizeof count));
    CHECK(encodes(ds, "Epifluorescence, excitation 358 nm", 34));
    CHECK(encodes(ds, "DAPI", 4) && encodes(ds, "FITC", 4) && encodes(ds, "BF", 2));
    CHECK(encodes(ds, "Brightfield", 11) && encodes(ds, "20", 2));
    // In item order: each path's identifier before the next one's.
    s2d_buf b = {0};
    CHECK(s2d_ds_encode(ds, &b, 0, NULL, &err));
    const uint8_t *dapi = memmem(b.data, b.len, "DAPI", 4), *fitc = memmem(b.data, b.len, "FITC", 4);
    CHECK(dapi && fitc && dapi < fitc);
    s2d_buf_free(&b);
    s2d_ds_free(ds);
}

static void test_lossy_history(void)
{
    s2d_error err = {0};
    s2d_ds *ds = s2d_ds_new();
    // An earlier lossy step with a known ratio comes first; the even prefix then our
    // 16-character field.
    s2d_lossy_step earlier = {.lossy = true, .method = "ISO_15444_1", .ratio = 12.5};
    CHECK(s2d_module_lossy_history(ds, "ISO_10918_1", &earlier, &err));
    CHECK(encodes(ds, "ISO_15444_1\\ISO_10918_1", 23));
    CHECK(encodes(ds, "DS\x16\x00" "12.5 \\                ", 26));
    s2d_ds_free(ds);
    // Unknown ratio, or not lossy: only our step.
    ds = s2d_ds_new();
    earlier.ratio = 0;
    CHECK(s2d_module_lossy_history(ds, "ISO_10918_1", &earlier, &err));
    CHECK(!encodes(ds, "ISO_15444_1", 11) && encodes(ds, "DS\x10\x00", 4));
    s2d_ds_free(ds);
    ds = s2d_ds_new();
    CHECK(s2d_module_lossy_history(ds, "ISO_10918_1", NULL, &err));
    CHECK(encodes(ds, "CS\x0C\x00" "ISO_10918_1 ", 16));
    s2d_ds_free(ds);
}

// Names in the spellings labs write, combined by '+', and what is refused.
static void test_stain_names(void)
{
    s2d_staining st;
    s2d_error err = {0};
    CHECK(s2d_staining_parse("H&E", &st, &err) && st.n == 2 &&
          strcmp(st.substances[0]->code, "12710003") == 0 &&
          strcmp(st.substances[1]->code, "36879007") == 0);
    CHECK(s2d_staining_parse("H+E", &st, &err) && st.n == 2);
    CHECK(s2d_staining_parse("Haematoxylin & Eosin", &st, &err) && st.n == 2);
    CHECK(s2d_staining_parse("Masson's trichrome", &st, &err) && st.n == 1 &&
          strcmp(st.substances[0]->code, "406989007") == 0);
    CHECK(s2d_staining_parse("congo red stain", &st, &err) && st.n == 1);
    CHECK(s2d_staining_parse("EVG", &st, &err) && st.n == 2);
    CHECK(s2d_staining_parse("PAS+Alcian-Blue", &st, &err) && st.n == 2 &&
          strcmp(st.substances[1]->code, "4656000") == 0);
    const char *refused[] = {"", "PAS+", "stain", "PAS+DAB", "H&E+H&E+H&E+H&E+PAS"};
    const char *because[] = {"\"\" is not", "\"\" is not", "\"stain\" is not",
                             "\"DAB\" is not", "more than 8"};   // more than a step holds
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        err = (s2d_error){0};
        CHECK(!s2d_staining_parse(refused[i], &st, &err) && err.code == S2D_ERR_USAGE &&
              strstr(err.message, because[i]));
    }
    CHECK(strstr(s2d_stain_names(), "H&E, hematoxylin, eosin, PAS") == s2d_stain_names());
}

int main(void)
{
    RUN(test_image_pixel_grey_16);
    RUN(test_image_pixel_colour_8);
    RUN(test_optical_paths);
    RUN(test_lossy_history);
    RUN(test_stain_names);
    return harness_failures != 0;
}
