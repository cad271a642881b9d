// SPDX-License-Identifier: Apache-2.0
/* The pyramid plan (iod/wsm_levels.h) from plain source descriptions: per row, the frame size,
 * every level's size, mode, source level and whether its frames are the source's JPEGs, and
 * the thumbnail's level and factor, all worked out by hand from the rules in plan.c's
 * comments; for every level of every row also its tile grid. Then the limits: levels of
 * too many frames for DICOM, more source levels than S2D_MAX_LEVELS, a source without levels. */
#include <stdint.h>

#include "iod/wsm_levels.h"
#include "harness.h"

#define MAX_SOURCE 6
#define MAX_WANT 10

// Source levels: tiled JPEG / JPEG 2000, uncoded (read as regions), JPEG strips cut on MCU
// boundaries (NDPI).
#define IMAGE(w, h, c, tw, th, mw, mh) {.pix = {.width = (w), .height = (h)}, \
                                       .native = {.coding = (c), .tile_w = (tw), \
                                                  .tile_h = (th), .mcu_w = (mw), .mcu_h = (mh)}}
#define JPEG(w, h, tw, th) IMAGE(w, h, S2D_CODING_JPEG, tw, th, 0, 0)
#define J2K(w, h, t) IMAGE(w, h, S2D_CODING_J2K, t, t, 0, 0)
#define RAW(w, h, t) IMAGE(w, h, S2D_CODING_NONE, t, t, 0, 0)
#define STRIPS(w, h, mw, mh) IMAGE(w, h, S2D_CODING_JPEG, 0, 0, mw, mh)

typedef struct want_level {
    int64_t width, height;
    s2d_level_mode mode;
    int source_level;
    bool jpeg_frames;
} want_level;

// Planned levels: copied from source level s, read (decoded) from s with or without the
// source's JPEG frames, generated from the level above.
#define COPY(w, h, s) {(w), (h), S2D_LEVEL_COPY, (s), true}
#define COPY_J2K(w, h, s) {(w), (h), S2D_LEVEL_COPY, (s), false}
#define READ(w, h, s) {(w), (h), S2D_LEVEL_READ, (s), false}
#define READ_JPEG(w, h, s) {(w), (h), S2D_LEVEL_READ, (s), true}
#define GEN(w, h) {(w), (h), S2D_LEVEL_GENERATE, -1, false}

typedef struct plan_case {
    const char *name;
    int nsource;
    s2d_source_image source[MAX_SOURCE];
    s2d_convert_options opts;          // only the plan's options are set
    int tile_size;
    int nlevels;
    want_level levels[MAX_WANT];
    int thumb_level, thumb_factor;     // thumb_factor is not compared when thumb_level is -1
} plan_case;

// An Aperio-like slide: 240 x 240 JPEG tiles, levels at 1x, 4x and 16x (odd heights).
#define APERIO 3, {JPEG(46000, 32914, 240, 240), JPEG(11500, 8228, 240, 240), \
                   JPEG(2875, 2057, 240, 240)}

static const plan_case cases[] = {
    {"aperio: copy 1x 4x 16x at their own size, generate between, until one tile", APERIO,
     {0}, 240, 9,
     {COPY(46000, 32914, 0), GEN(23000, 16457), COPY(11500, 8228, 1), GEN(5750, 4114),
      COPY(2875, 2057, 2), GEN(1438, 1029), GEN(719, 515), GEN(360, 258), GEN(180, 129)},
     6, 1},
    {"aperio --reencode: level 0 read from its JPEG tiles, every other generated", APERIO,
     {.reencode = true}, 240, 9,
     {READ_JPEG(46000, 32914, 0), GEN(23000, 16457), GEN(11500, 8229), GEN(5750, 4115),
      GEN(2875, 2058), GEN(1438, 1029), GEN(719, 515), GEN(360, 258), GEN(180, 129)},
     6, 1},
    {"aperio --tile-size 256: no source level gives 256 frames", APERIO,
     {.tile_size = 256}, 256, 9,
     {READ(46000, 32914, 0), GEN(23000, 16457), GEN(11500, 8229), GEN(5750, 4115),
      GEN(2875, 2058), GEN(1438, 1029), GEN(719, 515), GEN(360, 258), GEN(180, 129)},
     6, 1},
    {"aperio --keep-source-levels", APERIO,
     {.keep_source_levels = true}, 240, 3,
     {COPY(46000, 32914, 0), COPY(11500, 8228, 1), COPY(2875, 2057, 2)},
     2, 4},
    {"aperio --keep-source-levels --reencode", APERIO,
     {.keep_source_levels = true, .reencode = true}, 240, 3,
     {READ_JPEG(46000, 32914, 0), READ_JPEG(11500, 8228, 1), READ_JPEG(2875, 2057, 2)},
     2, 4},
    {"aperio --levels 2: the thumbnail from level 1 reduced 32 times", APERIO,
     {.max_levels = 2}, 240, 2,
     {COPY(46000, 32914, 0), GEN(23000, 16457)},
     1, 32},
    {"a level within 2% of the scale (3.96x for 4x) is taken, 3x, 3.85x and 16.26x are not",
     5, {JPEG(10000, 8000, 256, 256), JPEG(3333, 2667, 256, 256), JPEG(2597, 2078, 256, 256),
         JPEG(2525, 2020, 256, 256), JPEG(615, 492, 256, 256)},
     {0}, 256, 7,
     {COPY(10000, 8000, 0), GEN(5000, 4000), COPY(2525, 2020, 3), GEN(1263, 1010),
      GEN(632, 505), GEN(316, 253), GEN(158, 127)},
     4, 1},
    {"a 4x level of 256 x 512 tiles is generated, the 16x one after it still copied",
     3, {JPEG(8192, 8192, 256, 256), JPEG(2048, 2048, 256, 512), JPEG(512, 512, 256, 256)},
     {0}, 256, 6,
     {COPY(8192, 8192, 0), GEN(4096, 4096), GEN(2048, 2048), GEN(1024, 1024),
      COPY(512, 512, 2), GEN(256, 256)},
     3, 1},
    {"two levels near 4x: the one of other tiles is passed over for the next",
     3, {JPEG(4096, 4096, 256, 256), JPEG(1040, 1040, 512, 512), JPEG(1030, 1030, 256, 256)},
     {0}, 256, 6,
     {COPY(4096, 4096, 0), GEN(2048, 2048), COPY(1030, 1030, 2), GEN(515, 515), GEN(258, 258),
      GEN(129, 129)},
     3, 1},
    {"uncoded 256 x 256 tiles: read, never copied",
     1, {RAW(1000, 800, 256)},
     {0}, 256, 3,
     {READ(1000, 800, 0), GEN(500, 400), GEN(250, 200)},
     0, 1},
    {"uncoded tiles: the default frame size, read and generated",
     2, {RAW(3000, 2000, 240), RAW(750, 500, 240)},
     {0}, 256, 5,
     {READ(3000, 2000, 0), GEN(1500, 1000), GEN(750, 500), GEN(375, 250), GEN(188, 125)},
     2, 1},
    {"tiles not a multiple of 16: the default frame size, read",
     1, {JPEG(2000, 1000, 250, 250)},
     {0}, 256, 4,
     {READ(2000, 1000, 0), GEN(1000, 500), GEN(500, 250), GEN(250, 125)},
     1, 1},
    {"non-square tiles: the default frame size; 1024 x 1024 is a thumbnail as it is",
     1, {JPEG(1024, 1024, 512, 256)},
     {0}, 256, 3,
     {READ(1024, 1024, 0), GEN(512, 512), GEN(256, 256)},
     0, 1},
    {"JPEG strips with 16 x 8 MCUs (NDPI): 256 frames cut from them, copied",
     2, {STRIPS(4096, 3000, 16, 8), STRIPS(1024, 750, 16, 8)},
     {0}, 256, 5,
     {COPY(4096, 3000, 0), GEN(2048, 1500), COPY(1024, 750, 1), GEN(512, 375), GEN(256, 188)},
     2, 1},
    {"JPEG strips without MCU size: read",
     1, {STRIPS(600, 300, 0, 0)},
     {0}, 256, 3,
     {READ(600, 300, 0), GEN(300, 150), GEN(150, 75)},
     0, 1},
    {"JPEG 2000 tiles: copied, not JPEG frames",
     1, {J2K(600, 400, 256)},
     {0}, 256, 3,
     {COPY_J2K(600, 400, 0), GEN(300, 200), GEN(150, 100)},
     0, 1},
    {"exactly one tile: one level",
     1, {JPEG(256, 256, 256, 256)},
     {0}, 256, 1,
     {COPY(256, 256, 0)},
     0, 1},
    {"narrow and tall: halves until the height fits; the thumbnail's fits both ways",
     1, {RAW(200, 2000, 0)},
     {0}, 256, 4,
     {READ(200, 2000, 0), GEN(100, 1000), GEN(50, 500), GEN(25, 250)},
     1, 1},
    {"--levels 1, 4096 x 1024 x 1024 wide: the largest thumbnail factor",
     1, {RAW(4194304, 1000, 0)},
     {.tile_size = 4096, .max_levels = 1}, 4096, 1,
     {READ(4194304, 1000, 0)},
     0, 4096},
    {"--levels 1, one pixel wider: no thumbnail from the pyramid",
     1, {RAW(4194305, 1000, 0)},
     {.tile_size = 4096, .max_levels = 1}, 4096, 1,
     {READ(4194305, 1000, 0)},
     -1, 0},
};

static void check_case(const plan_case *c)
{
    s2d_level_plan plan;
    s2d_error err = {0};
    bool ok = s2d_level_plan_make(c->source, c->nsource, &c->opts, &plan, &err);
    CHECK(ok);
    if (!ok) {
        fprintf(stderr, "  %s: %s\n", c->name, err.message);
        return;
    }
    int before = harness_failures;
    CHECK(plan.tile_size == c->tile_size);
    CHECK(plan.nlevels == c->nlevels);
    CHECK(plan.source_levels_left_out == 0);
    for (int i = 0; i < c->nlevels && i < plan.nlevels; i++) {
        const s2d_planned_level *got = &plan.levels[i];
        const want_level *want = &c->levels[i];
        int64_t t = plan.tile_size;
        CHECK(got->width == want->width && got->height == want->height);
        CHECK(got->mode == want->mode);
        CHECK(got->source_level == want->source_level);
        CHECK(got->jpeg_frames == want->jpeg_frames);
        CHECK(got->cols == (uint32_t)((got->width + t - 1) / t));
        CHECK(got->rows == (uint32_t)((got->height + t - 1) / t));
        if (harness_failures != before) {
            fprintf(stderr, "  level %d: %lldx%lld mode %d source %d jpeg %d grid %ux%u\n", i,
                    (long long)got->width, (long long)got->height, (int)got->mode,
                    got->source_level, (int)got->jpeg_frames, got->cols, got->rows);
            before = harness_failures;
        }
    }
    CHECK(plan.thumb_level == c->thumb_level);
    CHECK(c->thumb_level < 0 || plan.thumb_factor == c->thumb_factor);
    if (harness_failures != before) {
        fprintf(stderr, "  tile %d, %d levels, thumbnail level %d factor %d\n", plan.tile_size,
                plan.nlevels, plan.thumb_level, plan.thumb_factor);
    }
}

static void test_cases(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int before = harness_failures;
        check_case(&cases[i]);
        fprintf(stderr, "%s   %s\n", harness_failures == before ? "ok  " : "FAIL", cases[i].name);
    }
}

// Number of Frames is IS: a level of more frames is an input error.
static void test_too_many_frames_for_dicom(void)
{
    s2d_convert_options opts = {0};
    s2d_level_plan plan;
    s2d_error err = {0};
    // 62,500 x 62,500 frames of 16 pixels: more than 2^31 - 1; 4096-pixel frames are fine.
    const s2d_source_image big[] = {RAW(1000000, 1000000, 0)};
    opts.tile_size = 16;
    CHECK(!s2d_level_plan_make(big, 1, &opts, &plan, &err));
    CHECK(err.code == S2D_ERR_INPUT);
    opts.tile_size = 4096;
    CHECK(s2d_level_plan_make(big, 1, &opts, &plan, &err));
}

// --keep-source-levels writes at most S2D_MAX_LEVELS and says how many it left out.
static void test_keep_too_many_source_levels(void)
{
    enum { N = S2D_MAX_LEVELS + 2 };
    s2d_source_image source[N];
    for (int i = 0; i < N; i++) {
        source[i] = (s2d_source_image)RAW(1000 - 10 * i, 100, 0);
    }
    s2d_convert_options opts = {.keep_source_levels = true};
    s2d_level_plan plan;
    s2d_error err = {0};
    CHECK(s2d_level_plan_make(source, N, &opts, &plan, &err));
    CHECK(plan.nlevels == S2D_MAX_LEVELS);
    CHECK(plan.source_levels_left_out == 2);
    for (int i = 0; i < plan.nlevels; i++) {
        CHECK(plan.levels[i].source_level == i && plan.levels[i].width == 1000 - 10 * i);
    }
    CHECK(s2d_level_plan_make(source, S2D_MAX_LEVELS, &opts, &plan, &err));
    CHECK(plan.nlevels == S2D_MAX_LEVELS && plan.source_levels_left_out == 0);
}

static void test_no_source_levels(void)
{
    s2d_convert_options opts = {0};
    s2d_level_plan plan;
    s2d_error err = {0};
    CHECK(!s2d_level_plan_make(NULL, 0, &opts, &plan, &err));
    CHECK(err.code == S2D_ERR_INPUT);
}

int main(void)
{
    RUN(test_cases);
    RUN(test_too_many_frames_for_dicom);
    RUN(test_keep_too_many_source_levels);
    RUN(test_no_source_levels);
    return harness_failures != 0;
}
