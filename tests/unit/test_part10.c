// SPDX-License-Identifier: Apache-2.0
/* Part 10 writer: writes the same frames into OUTDIR/bot.dcm (Basic Offset Table) and
 * OUTDIR/eot.dcm (empty BOT + Extended Offset Table), some of odd length, then checks the
 * byte layout here; tests/unit/offset_tables.py then reads both back with pydicom and
 * ../shared/tools/verify-wsm-frames. Also checks that a failed writer leaves no file. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/codec.h"
#include "codec/jpeg_enc.h"
#include "dicom/part10.h"
#include "iod/iod.h"
#include "harness.h"

enum { TILE = 64, COLS = 5, ROWS = 3, NFRAMES = COLS * ROWS };

static const char *outdir;
static int odd_frames;

static s2d_ds *dataset_with_source(const char *uid, const s2d_lossy_step *source);

static s2d_ds *dataset(const char *uid)
{
    return dataset_with_source(uid, NULL);
}

static s2d_ds *dataset_with_source(const char *uid, const s2d_lossy_step *source)
{
    static uint8_t icc[4] = {1, 2, 3, 4};
    // Pixels twice as tall as wide, so a swap of row and column spacing shows.
    s2d_iod_shared slide = {.mpp_x = 0.25, .mpp_y = 0.5, .icc_profile = icc, .icc_profile_len = 4,
                           .acquisition_datetime = "20260101120000", .content_date = "20260101",
                           .content_time = "120000", .container_id = "TEST"};
    s2d_error err = {0};
    char *uids[] = {slide.study_uid, slide.series_uid, slide.frame_of_reference_uid,
                    slide.pyramid_uid, slide.acquisition_uid, slide.specimen_uid,
                    slide.dimension_organization_uid};
    for (size_t i = 0; i < sizeof uids / sizeof *uids; i++) {
        s2d_uid_new(uids[i], &err);
    }
    s2d_iod_instance inst = {.role = S2D_ROLE_LEVEL, .instance_number = 1,
                             .total_width = COLS * TILE - 7, .total_height = ROWS * TILE - 3,
                             .frame_width = TILE, .frame_height = TILE, .nframes = NFRAMES,
                             .downsample_x = 1, .downsample_y = 1, .photometric = "YBR_FULL_422",
                             .samples_per_pixel = 3, .bits_per_sample = 8,
                             .source = source ? *source : (s2d_lossy_step){0}};
    s2d_ds *ds = s2d_iod_wsm.build(&slide, &inst, uid, &err);
    CHECK(ds != NULL);
    return ds;
}

static void write_file_with_source(const char *name, bool eot,
                                   const s2d_lossy_step *source)
{
    char path[4096], uid[S2D_UID_MAX];
    snprintf(path, sizeof path, "%s/%s", outdir, name);
    s2d_error err = {0};
    s2d_uid_new(uid, &err);
    s2d_ds *ds = dataset_with_source(uid, source);
    s2d_part10_params p = {.final_path = path, .sop_class_uid = s2d_iod_wsm.sop_class_uid,
                           .sop_instance_uid = uid, .transfer_syntax_uid = s2d_codec_jpeg_baseline.transfer_syntax_uid,
                           .dataset = ds, .nframes = NFRAMES, .extended_offsets = eot,
                           .uncompressed_bytes = (uint64_t)NFRAMES * TILE * TILE * 3};
    s2d_part10 *w = s2d_part10_open(&p, &err);
    CHECK(w != NULL);
    s2d_jpeg_enc *enc = s2d_jpeg_enc_new(90, false, TILE, TILE, &err);
    uint8_t rgb[TILE * TILE * 3];
    odd_frames = 0;
    for (int f = 0; f < NFRAMES && w; f++) {
        // Content differs per frame so the lengths differ, some odd.
        for (int i = 0; i < TILE * TILE * 3; i++) {
            rgb[i] = (uint8_t)((i * (f + 3) + f * 17) ^ (i >> 5));
        }
        const uint8_t *jpeg;
        size_t len;
        CHECK(s2d_jpeg_enc_encode(enc, rgb, TILE, TILE, TILE * 3, &jpeg, &len, &err));
        odd_frames += (int)(len & 1);
        CHECK(s2d_part10_add_frame(w, jpeg, len, &err));
    }
    // One frame too many is refused.
    s2d_error extra = {0};
    CHECK(w && !s2d_part10_add_frame(w, rgb, 2, &extra) && extra.code == S2D_ERR_INTERNAL);
    CHECK(w && s2d_part10_finish(w, &err) && s2d_part10_commit(w, &err));
    if (err.code) {
        fprintf(stderr, "%s\n", err.message);
    }
    s2d_part10_free(w);
    s2d_jpeg_enc_free(enc);
    s2d_ds_free(ds);
}

static void write_file(const char *name, bool eot)
{
    write_file_with_source(name, eot, NULL);
}

// The ratio field is reserved before the frames and filled after them, behind an earlier
// lossy step's ratio of any length: offset_tables.py reads the values back.
static void test_ratio_after_source_ratios(void)
{
    static const double ratios[] = {0, 12.5, 15.486866875559, 123456789.123456789, 7};
    for (size_t i = 0; i < sizeof ratios / sizeof *ratios; i++) {
        s2d_lossy_step src = {.lossy = true, .method = "ISO_10918_1", .ratio = ratios[i]};
        char name[32];
        snprintf(name, sizeof name, "ratio-%zu.dcm", i);
        write_file_with_source(name, false, &src);
    }
}

static void test_bot_and_eot_files(void)
{
    write_file("bot.dcm", false);
    write_file("eot.dcm", true);
    CHECK(odd_frames > 0);   // the padding path was exercised
    struct stat st;
    char path[4096];
    snprintf(path, sizeof path, "%s/bot.dcm", outdir);
    CHECK(stat(path, &st) == 0 && st.st_size % 2 == 0);
}

static void test_abandoned_writer_leaves_nothing(void)
{
    char path[4096], uid[S2D_UID_MAX];
    snprintf(path, sizeof path, "%s/abandoned.dcm", outdir);
    s2d_error err = {0};
    s2d_uid_new(uid, &err);
    s2d_ds *ds = dataset(uid);
    s2d_part10_params p = {.final_path = path, .sop_class_uid = s2d_iod_wsm.sop_class_uid,
                           .sop_instance_uid = uid, .transfer_syntax_uid = s2d_codec_jpeg_baseline.transfer_syntax_uid,
                           .dataset = ds, .nframes = NFRAMES};
    s2d_part10 *w = s2d_part10_open(&p, &err);
    CHECK(w && s2d_part10_add_frame(w, (const uint8_t *)"\xff\xd8\xff\xd9", 4, &err));
    // Finishing with frames missing fails, and freeing removes the temporary file.
    s2d_error e2 = {0};
    CHECK(w && !s2d_part10_finish(w, &e2));
    s2d_part10_free(w);
    s2d_ds_free(ds);
    DIR *d = opendir(outdir);
    struct dirent *de;
    int others = 0;
    while (d && (de = readdir(d))) {
        others += strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
                  strcmp(de->d_name, "bot.dcm") && strcmp(de->d_name, "eot.dcm") &&
                  strncmp(de->d_name, "ratio-", 6) != 0;
    }
    if (d) {
        closedir(d);
    }
    CHECK(others == 0);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_part10 OUTDIR\n");
        return 2;
    }
    outdir = argv[1];
    mkdir(outdir, 0777);
    // Start from an empty directory: a file left by an earlier failed run would be counted.
    DIR *d = opendir(outdir);
    struct dirent *de;
    char path[4096];
    while (d && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", outdir, de->d_name);
            unlink(path);
        }
    }
    if (d) {
        closedir(d);
    }
    RUN(test_bot_and_eot_files);
    RUN(test_ratio_after_source_ratios);
    RUN(test_abandoned_writer_leaves_nothing);
    return harness_failures != 0;
}
