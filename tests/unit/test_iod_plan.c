// SPDX-License-Identifier: Apache-2.0
/* The WSM IOD's instance plan (iod/plan.h) from plain source descriptions: per row, the
 * source's levels and associated images and the options, and every instance the plan must
 * list, in order: file name, role, where its pixels come from, total size, frame grid,
 * codec, whether it is copied and its frames' colour model, worked out by hand from the
 * rules in iod/wsm_levels.c and iod/wsm.c. Then the IOD's output-name recogniser and UIDs. */
#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "iod/iod.h"
#include "iod/plan.h"
#include "iod/wsm_levels.h"

#define MAX_SOURCE 4
#define MAX_WANT 12

#define IMAGE(w, h, c, t, model) {.pix = {.width = (w), .height = (h), .samples = 3, \
                                          .bits_allocated = 8, .bits_stored = 8,     \
                                          .colour = (model)},                        \
                                  .native = {.coding = (c), .tile_w = (t), .tile_h = (t)}}
#define JPEG(w, h, t) IMAGE(w, h, S2D_CODING_JPEG, t, S2D_COLOUR_YCBCR)
#define J2K(w, h, t) IMAGE(w, h, S2D_CODING_J2K, t, S2D_COLOUR_RGB)
#define RAW(w, h, t) IMAGE(w, h, S2D_CODING_NONE, t, S2D_COLOUR_RGB)

typedef struct want_instance {
    const char *name;
    s2d_role role;
    s2d_image_role image;
    int level;
    int64_t width, height;
    uint32_t frame, cols, rows;        // frame 0: a single frame of width x height
    const s2d_codec *codec;
    bool copied;
    s2d_colour colour;
} want_instance;

#define BASELINE &s2d_codec_jpeg_baseline
#define JPEG2000 &s2d_codec_jpeg2000
// A pyramid level: copied (the source's colour model) or encoded by us from RGB.
#define COPIED(i, w, h, t, c, r, codec, colour) \
    {"level-" #i ".dcm", S2D_ROLE_LEVEL, S2D_IMAGE_LEVEL, i, w, h, t, c, r, codec, true, colour}
#define ENCODED(i, w, h, t, c, r) \
    {"level-" #i ".dcm", S2D_ROLE_LEVEL, S2D_IMAGE_LEVEL, i, w, h, t, c, r, BASELINE, false, \
     S2D_COLOUR_RGB}
// A single-frame image from the source, or a thumbnail made from pyramid level `level`.
#define SINGLE(name, role, image, level, w, h) \
    {name, role, image, level, w, h, 0, 1, 1, BASELINE, false, S2D_COLOUR_RGB}
#define LABEL(w, h) SINGLE("label.dcm", S2D_ROLE_LABEL, S2D_IMAGE_LABEL, -1, w, h)
#define OVERVIEW(w, h) SINGLE("overview.dcm", S2D_ROLE_OVERVIEW, S2D_IMAGE_OVERVIEW, -1, w, h)
#define OWN_THUMB(w, h) SINGLE("thumbnail.dcm", S2D_ROLE_THUMBNAIL, S2D_IMAGE_THUMBNAIL, -1, w, h)
#define MADE_THUMB(l, w, h) SINGLE("thumbnail.dcm", S2D_ROLE_THUMBNAIL, S2D_IMAGE_LEVEL, l, w, h)

typedef struct plan_case {
    const char *name;
    int nlevels;
    s2d_source_image levels[MAX_SOURCE];
    s2d_source_image label, overview, thumbnail;   // width 0: the source has none
    s2d_convert_options opts;
    size_t ninstances;
    bool thumbnail_left_out;   // the pyramid part says none could be planned
    want_instance want[MAX_WANT];
} plan_case;

static const plan_case cases[] = {
    {"jpeg tiles, label and overview: copy level 0, generate 3, thumbnail from level 0",
     1, {JPEG(1000, 800, 240)}, RAW(400, 300, 0), RAW(1200, 500, 0), {0}, {0}, 7, false,
     {COPIED(0, 1000, 800, 240, 5, 4, BASELINE, S2D_COLOUR_YCBCR),
      ENCODED(1, 500, 400, 240, 3, 2), ENCODED(2, 250, 200, 240, 2, 1),
      ENCODED(3, 125, 100, 240, 1, 1), MADE_THUMB(0, 1000, 800), LABEL(400, 300),
      OVERVIEW(1200, 500)}},
    {"j2k --levels 2 --no-label --no-thumbnail: level 0 copied as JPEG 2000",
     1, {J2K(2000, 1000, 256)}, RAW(400, 300, 0), RAW(600, 300, 0), RAW(500, 250, 0),
     {.max_levels = 2, .no_label = true, .no_thumbnail = true}, 3, false,
     {COPIED(0, 2000, 1000, 256, 8, 4, JPEG2000, S2D_COLOUR_RGB),
      ENCODED(1, 1000, 500, 256, 4, 2), OVERVIEW(600, 300)}},
    {"j2k --reencode: every level JPEG baseline, the source's own thumbnail",
     1, {J2K(2000, 1000, 256)}, {0}, {0}, RAW(500, 250, 0), {.reencode = true}, 5, false,
     {ENCODED(0, 2000, 1000, 256, 8, 4), ENCODED(1, 1000, 500, 256, 4, 2),
      ENCODED(2, 500, 250, 256, 2, 1), ENCODED(3, 250, 125, 256, 1, 1),
      OWN_THUMB(500, 250)}},
    {"two source levels, --tile-size 512 --no-overview: copy both, thumbnail from level 2",
     2, {JPEG(4096, 4096, 512), JPEG(2048, 2048, 512)}, {0}, RAW(900, 300, 0), {0},
     {.tile_size = 512, .no_overview = true}, 5, false,
     {COPIED(0, 4096, 4096, 512, 8, 8, BASELINE, S2D_COLOUR_YCBCR),
      COPIED(1, 2048, 2048, 512, 4, 4, BASELINE, S2D_COLOUR_YCBCR),
      ENCODED(2, 1024, 1024, 512, 2, 2), ENCODED(3, 512, 512, 512, 1, 1),
      MADE_THUMB(2, 1024, 1024)}},
    {"--levels 1, too large to reduce: no thumbnail planned, the pyramid part says why",
     1, {RAW(4194305, 1000, 0)}, {0}, {0}, {0}, {.tile_size = 4096, .max_levels = 1}, 1, true,
     {ENCODED(0, 4194305, 1000, 4096, 1025, 1)}},
    {"the same with --no-thumbnail: nothing to say",
     1, {RAW(4194305, 1000, 0)}, {0}, {0}, {0},
     {.tile_size = 4096, .max_levels = 1, .no_thumbnail = true}, 1, false,
     {ENCODED(0, 4194305, 1000, 4096, 1025, 1)}},
};

static void check_instance(const s2d_plan_instance *got, const want_instance *want)
{
    int before = harness_failures;
    CHECK(strcmp(got->name, want->name) == 0);
    CHECK(got->iod == &s2d_iod_wsm);
    CHECK(got->role == want->role);
    CHECK(got->image == want->image);
    CHECK(got->level == want->level);
    CHECK(got->width == want->width && got->height == want->height);
    uint32_t fw = want->frame ? want->frame : (uint32_t)want->width;
    uint32_t fh = want->frame ? want->frame : (uint32_t)want->height;
    CHECK(got->frame_width == fw && got->frame_height == fh);
    CHECK(got->cols == want->cols && got->rows == want->rows);
    CHECK(got->nframes == want->cols * want->rows);
    CHECK(got->codec == want->codec);
    CHECK(got->copied == want->copied);
    CHECK(got->pixels.width == fw && got->pixels.height == fh);
    CHECK(got->pixels.samples == 3 && got->pixels.bits_allocated == 8);
    CHECK(got->pixels.colour == want->colour);
    if (harness_failures != before) {
        fprintf(stderr, "  %s: role %d image %d level %d %lldx%lld frame %ux%u grid %ux%u "
                "codec %s copied %d colour %d\n", got->name, (int)got->role, (int)got->image,
                got->level, (long long)got->width, (long long)got->height, got->frame_width,
                got->frame_height, got->cols, got->rows, got->codec ? got->codec->name : "-",
                (int)got->copied, (int)got->pixels.colour);
    }
}

static void check_case(const plan_case *c)
{
    s2d_source_desc source = {
        .levels = c->levels, .nlevels = c->nlevels,
        .label = c->label.pix.width ? &c->label : NULL,
        .overview = c->overview.pix.width ? &c->overview : NULL,
        .thumbnail = c->thumbnail.pix.width ? &c->thumbnail : NULL,
    };
    s2d_plan plan = {0};
    s2d_error err = {0};
    bool ok = s2d_iod_wsm.plan(&source, &c->opts, &plan, &err);
    CHECK(ok);
    if (!ok) {
        fprintf(stderr, "  %s\n", err.message);
    }
    CHECK(plan.ninstances == c->ninstances);
    CHECK(!ok || plan.pyramid->thumbnail_left_out == c->thumbnail_left_out);
    for (size_t i = 0; ok && i < c->ninstances && i < plan.ninstances; i++) {
        check_instance(&plan.instances[i], &c->want[i]);
    }
    s2d_plan_free(&plan);
}

static void test_cases(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int before = harness_failures;
        check_case(&cases[i]);
        fprintf(stderr, "%s   %s\n", harness_failures == before ? "ok  " : "FAIL", cases[i].name);
    }
}

// A level that cannot be a DICOM instance fails the plan, which stays freeable.
static void test_plan_error(void)
{
    const s2d_source_image big[] = {RAW(1000000, 1000000, 0)};
    s2d_source_desc source = {.levels = big, .nlevels = 1};
    s2d_convert_options opts = {.tile_size = 16};
    s2d_plan plan = {0};
    s2d_error err = {0};
    CHECK(!s2d_iod_wsm.plan(&source, &opts, &plan, &err));
    CHECK(err.code == S2D_ERR_INPUT);
    s2d_plan_free(&plan);
    CHECK(plan.instances == NULL && plan.ninstances == 0 && plan.pyramid == NULL);
}

// What --overwrite takes for an earlier conversion's file, and what it leaves alone.
static void test_output_names(void)
{
    static const struct {
        const char *name;
        bool ours;
    } rows[] = {
        {"level-0.dcm", true},       {"level-12.dcm", true},      {"level-3-part-2.dcm", true},
        {"label.dcm", true},         {"overview.dcm", true},      {"thumbnail.dcm", true},
        {"level-.dcm", false},       {"level-1-part-.dcm", false}, {"level-1.dcm.bak", false},
        {"Level-1.dcm", false},      {"notes.txt", false},        {"label-part-1.dcm", false},
        {".level-1.dcm.previous", false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        bool ours = s2d_iod_wsm.is_output_name(rows[i].name);
        CHECK(ours == rows[i].ours);
        if (ours != rows[i].ours) {
            fprintf(stderr, "  %s\n", rows[i].name);
        }
    }
}

// The UIDs WSM asks for: pyramid and dimension organization per encoding, specimen per
// slide, each into its own field.
static void test_uids(void)
{
    CHECK(s2d_iod_wsm.nuids == 3);
    bool pyramid = false, specimen = false, dimension = false;
    for (size_t i = 0; i < s2d_iod_wsm.nuids; i++) {
        const s2d_iod_uid *u = &s2d_iod_wsm.uids[i];
        pyramid |= !strcmp(u->role, "pyramid") && u->per_encoding &&
                   u->field == offsetof(s2d_iod_shared, pyramid_uid);
        specimen |= !strcmp(u->role, "specimen") && !u->per_encoding &&
                    u->field == offsetof(s2d_iod_shared, specimen_uid);
        dimension |= !strcmp(u->role, "dimension-organization") && u->per_encoding &&
                     u->field == offsetof(s2d_iod_shared, dimension_organization_uid);
    }
    CHECK(pyramid && specimen && dimension);
}

int main(void)
{
    RUN(test_cases);
    RUN(test_plan_error);
    RUN(test_output_names);
    RUN(test_uids);
    return harness_failures != 0;
}
