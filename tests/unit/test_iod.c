// SPDX-License-Identifier: Apache-2.0
/* The IOD table: lookups by name and by image type, the WSM IOD's names and dataset, and
 * --metadata refusing exactly the attributes the IOD owns. argv[1]: a scratch directory. */
#define _GNU_SOURCE   // memmem
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicom/json_meta.h"
#include "iod/iod.h"
#include "harness.h"

static const char *scratch;

static void test_registry(void)
{
    CHECK(s2d_iod_find("WSM") == &s2d_iod_wsm);
    CHECK(s2d_iod_find("wsm") == NULL && s2d_iod_find("") == NULL);
    s2d_role role = S2D_ROLE_COUNT;
    CHECK(s2d_iod_role_of("VOLUME", &role) && role == S2D_ROLE_LEVEL);
    CHECK(s2d_iod_role_of("THUMBNAIL", &role) && role == S2D_ROLE_THUMBNAIL);
    CHECK(s2d_iod_role_of("LABEL", &role) && role == S2D_ROLE_LABEL);
    CHECK(s2d_iod_role_of("OVERVIEW", &role) && role == S2D_ROLE_OVERVIEW);
    CHECK(!s2d_iod_role_of("ORIGINAL", &role) && !s2d_iod_role_of("", &role));
}

// Whether the encoding of ds holds these bytes.
static bool encodes(const s2d_ds *ds, const char *text)
{
    s2d_buf b = {0};
    s2d_error err = {0};
    bool found = s2d_ds_encode(ds, &b, 0, NULL, &err) && memmem(b.data, b.len, text, strlen(text));
    s2d_buf_free(&b);
    return found;
}

static void test_wsm_build(void)
{
    const s2d_iod *iod = &s2d_iod_wsm;
    s2d_iod_shared shared = {.mpp_x = 0.25, .mpp_y = 0.25, .container_id = "S1",
                             .acquisition_datetime = "20260101120000",
                             .content_date = "20260101", .content_time = "120000"};
    s2d_iod_instance inst = {.role = S2D_ROLE_THUMBNAIL, .derived = true, .instance_number = 3,
                             .total_width = 100, .total_height = 80, .frame_width = 100,
                             .frame_height = 80, .nframes = 1, .downsample_x = 4,
                             .downsample_y = 4, .photometric = "YBR_FULL_422",
                             .samples_per_pixel = 3, .bits_per_sample = 8};
    s2d_error err = {0};
    s2d_ds *ds = iod->build(&shared, &inst, "1.2.3", &err);
    CHECK(ds != NULL);
    CHECK(ds && encodes(ds, "DERIVED\\PRIMARY\\THUMBNAIL\\RESAMPLED"));
    CHECK(ds && encodes(ds, iod->sop_class_uid) && encodes(ds, "TILED_FULL"));
    CHECK(ds && s2d_has(ds, S2D_KW_PyramidUID) && !s2d_has(ds, S2D_KW_BarcodeValue));
    s2d_ds_free(ds);
    inst.role = S2D_ROLE_LABEL;
    inst.derived = false;
    ds = iod->build(&shared, &inst, "1.2.3", &err);
    CHECK(ds && encodes(ds, "ORIGINAL\\PRIMARY\\LABEL\\NONE"));
    CHECK(ds && s2d_has(ds, S2D_KW_BarcodeValue) && !s2d_has(ds, S2D_KW_PyramidUID));
    s2d_ds_free(ds);
    for (int r = 0; r < S2D_ROLE_COUNT; r++) {
        CHECK((iod->image_type[r] != NULL) == (r != S2D_ROLE_PAGE));   // no pages in WSM
    }
}

// Loads JSON text through s2d_json_meta_load with the WSM IOD's owned list (or none).
static s2d_ds *load(const char *json, bool with_owned, s2d_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/iod-meta.json", scratch);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) {
        return NULL;
    }
    fputs(json, f);
    fclose(f);
    return s2d_json_meta_load(path, with_owned ? s2d_iod_wsm.owned : NULL,
                              with_owned ? s2d_iod_wsm.nowned : 0, err);
}

static void test_metadata_refuses_owned(void)
{
    s2d_error err = {0};
    s2d_ds *ds = load("{\"00280010\": {\"vr\": \"US\", \"Value\": [512]}}", true, &err);
    CHECK(ds == NULL && err.code == S2D_ERR_INPUT && strstr(err.message, "(0028,0010) Rows"));
    err = (s2d_error){0};
    ds = load("{\"00080016\": {\"vr\": \"UI\", \"Value\": [\"1.2\"]}}", true, &err);
    CHECK(ds == NULL && strstr(err.message, "SOPClassUID"));
    // Not owned: accepted; owned but inside a sequence item: accepted.
    err = (s2d_error){0};
    ds = load("{\"00100010\": {\"vr\": \"PN\", \"Value\": [{\"Alphabetic\": \"Doe^J\"}]},"
              " \"00400560\": {\"vr\": \"SQ\", \"Value\": [{\"00280010\": {\"vr\": \"US\","
              " \"Value\": [1]}}]}}", true, &err);
    CHECK(ds != NULL && s2d_has(ds, S2D_KW_PatientName));
    s2d_ds_free(ds);
    // The list comes from the caller: without one, Rows is an ordinary attribute.
    err = (s2d_error){0};
    ds = load("{\"00280010\": {\"vr\": \"US\", \"Value\": [512]}}", false, &err);
    CHECK(ds != NULL && s2d_has(ds, S2D_KW_Rows));
    s2d_ds_free(ds);
}

int main(int argc, char **argv)
{
    scratch = argc > 1 ? argv[1] : ".";
    RUN(test_registry);
    RUN(test_wsm_build);
    RUN(test_metadata_refuses_owned);
    return harness_failures != 0;
}
