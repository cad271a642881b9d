// SPDX-License-Identifier: Apache-2.0
/* The grey planes' pyramid (pipeline/grey_pyramid.h) against a naive pyramid made here in
 * memory: for odd sizes, two tile sizes, 8 and 16 bits, 1 and 3 planes, 0, 1 and 2 worker
 * threads and the native, JPEG-LS and JPEG 2000 lossless codecs, every frame of every level
 * of every plane, decoded, equals the reference tile (padded with 0), and the frames reach
 * the sink in order (planes in order, each (plane, level) row-major), each exactly once.
 * Rows are read on the calling thread, in order. An error from read_rows or the sink stops
 * the run with that error; an interrupt cancels it. Runs under TSan too.
 * `test_grey_pyramid memory` (release build only: ASan's shadow memory would swamp it):
 * the peak RSS does not grow with the image's height. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "harness.h"
#include "pipeline/grey_pyramid.h"

enum { MAX_PLANES = 3 };

typedef struct test_run {
    s2d_grey_pyramid p;
    uint32_t *ref[MAX_PLANES][S2D_MAX_LEVELS];   // the reference pyramid, a sample a pixel
    s2d_grey_level ref_levels[S2D_MAX_LEVELS];
    int ref_nlevels;
    pthread_t caller;
    // read_rows' view
    int read_plane;
    uint32_t read_y;             // the row due next
    int reads;
    int fail_read_at;            // read_rows call that fails (-1: none)
    int interrupt_at_read;       // read_rows call that raises the interrupt (-1: none)
    volatile sig_atomic_t interrupt;
    bool read_elsewhere, read_out_of_order;
    // the sink's view (never two calls at once)
    atomic_int in_sink;
    bool sinks_overlap;
    int sink_plane;
    uint64_t next_frame[MAX_PLANES][S2D_MAX_LEVELS];   // row-major index due next
    uint64_t sunk;
    uint64_t fail_sink_at;       // sink call that fails (UINT64_MAX: none)
    bool sunk_after_failure, out_of_order, bad_frame;
    void *dec;
    uint8_t *tile_pixels;
} test_run;

static uint32_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return (uint32_t)x;
}

static uint32_t sample_at(int plane, uint32_t x, uint32_t y, int bytes)
{
    uint32_t v = mix(((uint64_t)plane << 40) ^ ((uint64_t)y << 20) ^ x);
    return bytes == 1 ? v & 0xff : v & 0xffff;
}

// The naive pyramid: every level whole, each pixel from the whole level above.
static void make_reference(test_run *t)
{
    uint32_t w = t->p.width, h = t->p.height, tile = (uint32_t)t->p.tile;
    t->ref_nlevels = 0;
    for (;;) {
        t->ref_levels[t->ref_nlevels++] =
            (s2d_grey_level){w, h, (w + tile - 1) / tile, (h + tile - 1) / tile};
        if (w <= tile && h <= tile) {
            break;
        }
        w = (w + 1) / 2;
        h = (h + 1) / 2;
    }
    for (int pl = 0; pl < t->p.nplanes; pl++) {
        for (int l = 0; l < t->ref_nlevels; l++) {
            const s2d_grey_level *lv = &t->ref_levels[l];
            uint32_t *img = malloc((size_t)lv->width * lv->height * sizeof *img);
            t->ref[pl][l] = img;
            for (uint32_t y = 0; y < lv->height; y++) {
                for (uint32_t x = 0; x < lv->width; x++) {
                    if (l == 0) {
                        img[(size_t)y * lv->width + x] = sample_at(pl, x, y, t->p.bytes_per_sample);
                        continue;
                    }
                    const s2d_grey_level *up = &t->ref_levels[l - 1];
                    const uint32_t *src = t->ref[pl][l - 1];
                    uint32_t sum = 0, n = 0;
                    for (uint32_t yy = 2 * y; yy < 2 * y + 2 && yy < up->height; yy++) {
                        for (uint32_t xx = 2 * x; xx < 2 * x + 2 && xx < up->width; xx++) {
                            sum += src[(size_t)yy * up->width + xx];
                            n++;
                        }
                    }
                    img[(size_t)y * lv->width + x] = (sum + n / 2) / n;
                }
            }
        }
    }
}

static bool read_rows(void *ctx, int plane, uint32_t y, uint32_t n, void *out, size_t stride,
                      s2d_error *err)
{
    test_run *t = ctx;
    if (!pthread_equal(pthread_self(), t->caller)) {
        t->read_elsewhere = true;
    }
    if (plane == t->read_plane + 1 && y == 0 && t->read_y == t->p.height) {
        t->read_plane = plane;
        t->read_y = 0;
    }
    if (plane != t->read_plane || y != t->read_y || n == 0 || n > (uint32_t)t->p.tile ||
        y + n > t->p.height) {
        t->read_out_of_order = true;
    }
    t->read_y = y + n;
    int call = t->reads++;
    if (call == t->interrupt_at_read) {
        __atomic_store_n(&t->interrupt, 1, __ATOMIC_RELAXED);   // read by workers
    }
    if (call == t->fail_read_at) {
        return s2d_error_set(err, S2D_ERR_IO, "test.tif: rows %u..%u unreadable", y, y + n - 1);
    }
    for (uint32_t r = 0; r < n; r++) {
        uint8_t *row = (uint8_t *)out + r * stride;
        for (uint32_t x = 0; x < t->p.width; x++) {
            uint32_t v = sample_at(plane, x, y + r, t->p.bytes_per_sample);
            if (t->p.bytes_per_sample == 1) {
                row[x] = (uint8_t)v;
            } else {
                uint16_t s = (uint16_t)v;
                memcpy(row + 2 * x, &s, 2);
            }
        }
    }
    return true;
}

static bool plane_complete(const test_run *t, int plane)
{
    for (int l = 0; l < t->ref_nlevels; l++) {
        const s2d_grey_level *lv = &t->ref_levels[l];
        if (t->next_frame[plane][l] != (uint64_t)lv->cols * lv->rows) {
            return false;
        }
    }
    return true;
}

// The frame decoded equals the reference tile, 0 past the level's edges.
static bool frame_matches(test_run *t, int plane, int level, uint32_t col, uint32_t row,
                          const uint8_t *frame, size_t len)
{
    uint32_t tile = (uint32_t)t->p.tile;
    size_t bps = (size_t)t->p.bytes_per_sample;
    if (t->p.codec->decode == s2d_codec_native.decode && len != (size_t)tile * tile * bps) {
        return false;
    }
    s2d_error err = {0};
    if (!t->p.codec->decode(t->dec, frame, len, t->tile_pixels, tile * bps, &err)) {
        return false;
    }
    const s2d_grey_level *lv = &t->ref_levels[level];
    const uint32_t *img = t->ref[plane][level];
    for (uint32_t y = 0; y < tile; y++) {
        for (uint32_t x = 0; x < tile; x++) {
            uint32_t gx = col * tile + x, gy = row * tile + y, want = 0, got;
            if (gx < lv->width && gy < lv->height) {
                want = img[(size_t)gy * lv->width + gx];
            }
            const uint8_t *at = t->tile_pixels + ((size_t)y * tile + x) * bps;
            if (bps == 1) {
                got = *at;
            } else {
                uint16_t s;
                memcpy(&s, at, 2);
                got = s;
            }
            if (got != want) {
                return false;
            }
        }
    }
    return true;
}

static bool sink(void *ctx, int plane, int level, uint32_t col, uint32_t row,
                 const uint8_t *frame, size_t len, s2d_error *err)
{
    test_run *t = ctx;
    if (atomic_fetch_add(&t->in_sink, 1) != 0) {
        t->sinks_overlap = true;
    }
    uint64_t call = t->sunk++;
    if (call > t->fail_sink_at) {
        t->sunk_after_failure = true;
    }
    bool ok = true;
    if (plane < 0 || plane >= t->p.nplanes || level < 0 || level >= t->ref_nlevels) {
        t->out_of_order = true;
    } else {
        while (plane > t->sink_plane) {
            if (!plane_complete(t, t->sink_plane)) {
                t->out_of_order = true;
            }
            t->sink_plane++;
        }
        const s2d_grey_level *lv = &t->ref_levels[level];
        if (plane < t->sink_plane || row >= lv->rows || col >= lv->cols ||
            (uint64_t)row * lv->cols + col != t->next_frame[plane][level]) {
            t->out_of_order = true;
        } else {
            t->next_frame[plane][level]++;
            if (!frame_matches(t, plane, level, col, row, frame, len)) {
                t->bad_frame = true;
            }
        }
    }
    if (call == t->fail_sink_at) {
        ok = s2d_error_set(err, S2D_ERR_IO, "out.dcm: disk full");
    }
    atomic_fetch_sub(&t->in_sink, 1);
    return ok;
}

static test_run *new_run(const s2d_codec *codec, uint32_t w, uint32_t h, int tile, int bytes,
                         int nplanes, int threads)
{
    test_run *t = calloc(1, sizeof *t);
    t->p = (s2d_grey_pyramid){.width = w, .height = h, .tile = tile, .bytes_per_sample = bytes,
                              .nplanes = nplanes, .codec = codec, .threads = threads,
                              .interrupt = &t->interrupt, .ctx = t, .read_rows = read_rows,
                              .sink = sink};
    t->caller = pthread_self();
    t->fail_read_at = t->interrupt_at_read = -1;
    t->fail_sink_at = UINT64_MAX;
    make_reference(t);
    s2d_pixdesc d = {.width = (uint32_t)tile, .height = (uint32_t)tile, .samples = 1,
                     .bits_allocated = (uint16_t)(8 * bytes), .bits_stored = (uint16_t)(8 * bytes),
                     .colour = S2D_COLOUR_MONO_MIN_IS_BLACK};
    s2d_error err = {0};
    t->dec = codec->dec_new(&d, &err);
    CHECK(t->dec != NULL);
    t->tile_pixels = malloc((size_t)tile * tile * bytes);
    return t;
}

static void free_run(test_run *t)
{
    for (int pl = 0; pl < MAX_PLANES; pl++) {
        for (int l = 0; l < S2D_MAX_LEVELS; l++) {
            free(t->ref[pl][l]);
        }
    }
    t->p.codec->dec_free(t->dec);
    free(t->tile_pixels);
    free(t);
}

static void check_run_clean(const test_run *t)
{
    CHECK(!t->read_elsewhere);
    CHECK(!t->read_out_of_order);
    CHECK(!t->sinks_overlap);
    CHECK(!t->out_of_order);
    CHECK(!t->bad_frame);
    CHECK(!t->sunk_after_failure);
}

// The levels the pipeline plans are the reference's.
static void check_levels(const test_run *t)
{
    CHECK(t->p.nlevels == t->ref_nlevels);
    for (int l = 0; l < t->ref_nlevels && l < t->p.nlevels; l++) {
        CHECK(memcmp(&t->p.levels[l], &t->ref_levels[l], sizeof t->ref_levels[l]) == 0);
    }
}

static const uint32_t sizes[][2] = {{1, 1}, {255, 257}, {700, 300}};
static const int tiles[] = {256, 64};

static const int all_threads[] = {0, 1, 2};

static void every_frame_equals_the_reference(const s2d_codec *codec)
{
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        for (size_t ti = 0; ti < sizeof tiles / sizeof *tiles; ti++) {
            for (int bytes = 1; bytes <= 2; bytes++) {
                for (int nplanes = 1; nplanes <= 3; nplanes += 2) {
                    for (size_t th = 0; th < 3; th++) {
                        test_run *t = new_run(codec, sizes[si][0], sizes[si][1], tiles[ti], bytes,
                                              nplanes, all_threads[th]);
                        s2d_error err = {0};
                        bool ok = s2d_grey_pyramid_run(&t->p, &err);
                        if (!ok) {
                            fprintf(stderr, "%s: %s\n", codec->name, err.message);
                        }
                        CHECK(ok);
                        check_levels(t);
                        check_run_clean(t);
                        for (int pl = 0; pl < nplanes; pl++) {
                            CHECK(plane_complete(t, pl));
                        }
                        CHECK(t->read_plane == nplanes - 1 && t->read_y == t->p.height);
                        free_run(t);
                    }
                }
            }
        }
    }
}

static void native_frames(void)
{
    every_frame_equals_the_reference(&s2d_codec_native);
}

static void jpeg_ls_frames(void)
{
    every_frame_equals_the_reference(&s2d_codec_jpeg_ls);
}

static void jpeg2000_lossless_frames(void)
{
    every_frame_equals_the_reference(&s2d_codec_jpeg2000_lossless);
}

// The native codec with workers slowed down at random (up to 0.2 ms a frame, 3 ms for one
// frame in 8): frames finish long after the calling thread moved on, so that a band buffer
// refilled before its frames were made shows in the frames.
static atomic_uint slow_frames;

static bool slow_encode(void *enc, const uint8_t *pixels, size_t stride, const uint8_t **out,
                        size_t *out_len, s2d_error *err)
{
    uint32_t r = mix(atomic_fetch_add(&slow_frames, 1) + 99);
    struct timespec pause = {0, (long)(r % 200) * 1000 + (r % 8 == 0 ? 3000000 : 0)};
    // Sleep first: the pixels are read late, when a band refilled too early shows.
    nanosleep(&pause, NULL);
    return s2d_codec_native.encode(enc, pixels, stride, out, out_len, err);
}

// Every band buffer is refilled only once the frames cut from it are made, also across
// planes (the next plane's first bands reuse the buffers of this plane's last ones).
static void bands_wait_for_their_frames(void)
{
    s2d_codec slow = s2d_codec_native;
    slow.encode = slow_encode;
    static const uint32_t shapes[][2] = {{700, 300}, {700, 60}, {130, 700}};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        test_run *t = new_run(&slow, shapes[i][0], shapes[i][1], 64, 2, 3, 2);
        s2d_error err = {0};
        CHECK(s2d_grey_pyramid_run(&t->p, &err));
        check_run_clean(t);
        for (int pl = 0; pl < 3; pl++) {
            CHECK(plane_complete(t, pl));
        }
        free_run(t);
    }
}

// The levels alone: one tile is one level; each level halves, rounding up.
static void levels_of_sizes(void)
{
    s2d_grey_pyramid p = {.width = 256, .height = 256, .tile = 256};
    s2d_grey_pyramid_levels(&p);
    CHECK(p.nlevels == 1 && p.levels[0].cols == 1 && p.levels[0].rows == 1);
    p = (s2d_grey_pyramid){.width = 40000, .height = 30000, .tile = 256};
    s2d_grey_pyramid_levels(&p);
    CHECK(p.nlevels == 9);
    CHECK(p.levels[0].cols == 157 && p.levels[0].rows == 118);
    CHECK(p.levels[1].width == 20000 && p.levels[8].width == 157 && p.levels[8].height == 118);
}

// A read_rows error on plane 1 stops the run with it: every frame before the rows not read
// is sunk, none after.
static void read_error_stops_the_run(void)
{
    for (size_t th = 0; th < 3; th++) {
        test_run *t = new_run(&s2d_codec_native, 700, 300, 64, 2, 3, all_threads[th]);
        t->fail_read_at = 7;   // plane 1's third band (5 bands a plane)
        s2d_error err = {0};
        CHECK(!s2d_grey_pyramid_run(&t->p, &err));
        CHECK(err.code == S2D_ERR_IO);
        CHECK(strcmp(err.message, "test.tif: rows 128..191 unreadable") == 0);
        CHECK(t->reads == 8);
        check_run_clean(t);
        CHECK(plane_complete(t, 0));
        // Plane 1's frames before the failed band: two level-0 bands, one level-1 band.
        CHECK(t->next_frame[1][0] == 2 * 11 && t->next_frame[1][1] == 6);
        CHECK(t->next_frame[2][0] == 0);
        free_run(t);
    }
}

// A sink error stops the run with it: no frame after the failed one reaches the sink.
static void sink_error_stops_the_run(void)
{
    for (size_t th = 0; th < 3; th++) {
        test_run *t = new_run(&s2d_codec_native, 700, 300, 64, 1, 3, all_threads[th]);
        t->fail_sink_at = 100;
        s2d_error err = {0};
        CHECK(!s2d_grey_pyramid_run(&t->p, &err));
        CHECK(err.code == S2D_ERR_IO);
        CHECK(strcmp(err.message, "out.dcm: disk full") == 0);
        CHECK(t->sunk == 101);
        check_run_clean(t);
        free_run(t);
    }
}

// An interrupt cancels the run. Raised by read_rows mid-run on the calling thread alone (the
// pump's workers read the flag unlocked, as a signal handler's, so TSan would see a race with
// a write from this thread); with workers, raised before the run: nothing is read or sunk.
static void interrupt_cancels_the_run(void)
{
    for (size_t th = 0; th < 3; th++) {
        test_run *t = new_run(&s2d_codec_native, 700, 300, 64, 1, 3, all_threads[th]);
        if (all_threads[th] == 0) {
            t->interrupt_at_read = 6;
        } else {
            __atomic_store_n(&t->interrupt, 1, __ATOMIC_RELAXED);   // read by workers
        }
        s2d_error err = {0};
        CHECK(!s2d_grey_pyramid_run(&t->p, &err));
        CHECK(err.code == S2D_ERR_CANCELLED);
        if (all_threads[th] == 0) {
            // Plane 0 (82 frames) and plane 1's frames cut before the interrupt: its first
            // level-0 band; the second was read when the interrupt came.
            CHECK(t->reads == 7);
            CHECK(t->sunk == 82 + 11);
        } else {
            CHECK(t->reads == 0 && t->sunk == 0);
        }
        check_run_clean(t);
        free_run(t);
    }
}

// ---- Memory ----

typedef struct tall_run {
    uint32_t width;
    uint64_t frames;
} tall_run;

static bool tall_rows(void *ctx, int plane, uint32_t y, uint32_t n, void *out, size_t stride,
                      s2d_error *err)
{
    (void)plane;
    (void)err;
    const tall_run *t = ctx;
    for (uint32_t r = 0; r < n; r++) {
        uint8_t *row = (uint8_t *)out + r * stride;
        for (uint32_t x = 0; x < t->width; x++) {
            row[x] = (uint8_t)(x * 7 + (y + r) * 13);
        }
    }
    return true;
}

static bool tall_sink(void *ctx, int plane, int level, uint32_t col, uint32_t row,
                      const uint8_t *frame, size_t len, s2d_error *err)
{
    (void)plane, (void)level, (void)col, (void)row, (void)frame, (void)len, (void)err;
    ((tall_run *)ctx)->frames++;
    return true;
}

// Peak RSS in KiB after a 4000 x height 8-bit plane (native frames, 2 threads).
static long peak_after_plane(uint32_t height)
{
    tall_run t = {.width = 4000};
    s2d_grey_pyramid p = {.width = 4000, .height = height, .tile = 256, .bytes_per_sample = 1,
                          .nplanes = 1, .codec = &s2d_codec_native, .threads = 2, .ctx = &t,
                          .read_rows = tall_rows, .sink = tall_sink};
    s2d_error err = {0};
    CHECK(s2d_grey_pyramid_run(&p, &err));
    CHECK(t.frames > (uint64_t)p.levels[0].cols * p.levels[0].rows);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

// 2,000 rows, then 64,000: the peak grows by less than 16 MiB, where keeping level 1 whole
// would add 64 MB (memory is a few bands per level, whatever the height).
static void memory_independent_of_height(void)
{
    long short_peak = peak_after_plane(2000);
    long tall_peak = peak_after_plane(64000);
    fprintf(stderr, "peak RSS: %ld KiB after 4000 x 2000, %ld KiB after 4000 x 64000\n",
            short_peak, tall_peak);
    CHECK(tall_peak - short_peak < 16 * 1024);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "memory") == 0) {
        RUN(memory_independent_of_height);
        return harness_failures != 0;
    }
    RUN(levels_of_sizes);
    RUN(native_frames);
    RUN(jpeg_ls_frames);
    RUN(jpeg2000_lossless_frames);
    RUN(bands_wait_for_their_frames);
    RUN(read_error_stops_the_run);
    RUN(sink_error_stops_the_run);
    RUN(interrupt_cancels_the_run);
    return harness_failures != 0;
}
