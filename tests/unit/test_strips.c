// SPDX-License-Identifier: Apache-2.0
/* Generated levels' row file: each quarter lands where its tile is taken back, row slots
 * are reused two rows on without touching the other slot, levels do not overlap, the file
 * leaves nothing in the directory, and a directory it cannot be made in is an error. */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "pipeline/strips.h"

// An 8 x 8 tile: planar layout (Y, Cb, Cr) with chroma at half or full size.
enum { TILE = 8, MAX_BYTES = TILE * TILE * 3 };
static int chroma_div = 2;

// A plane's side in the tile (p 0 is Y, 1 and 2 the chroma).
static int side(int p)
{
    return p == 0 ? TILE : TILE / chroma_div;
}

// A quarter whose every byte tells where it came from: level, source tile, plane, position.
static void make_quarter(uint8_t *q, int level, uint32_t col, uint32_t row)
{
    for (int i = 0, p = 0; p < 3; p++) {
        int h = side(p) / 2;
        for (int k = 0; k < h * h; k++, i++) {
            q[i] = (uint8_t)(level * 64 + (int)row * 16 + (int)col * 4 + p + 7 * k);
        }
    }
}

// Tile (col, row) of `level` must show its four source quarters in place, in every plane.
static int wrong_pixels(const uint8_t *tile, int level, uint32_t col, uint32_t row)
{
    int wrong = 0;
    uint8_t q[MAX_BYTES];
    for (int part = 0; part < 4; part++) {
        uint32_t sc = 2 * col + (uint32_t)(part % 2), sr = 2 * row + (uint32_t)(part / 2);
        make_quarter(q, level, sc, sr);
        size_t plane_at = 0, quarter_at = 0;
        for (int p = 0; p < 3; p++) {
            int n = side(p), h = n / 2;
            for (int y = 0; y < h; y++) {
                const uint8_t *at = tile + plane_at + (size_t)((part / 2) * h + y) * n +
                                    (size_t)(part % 2) * h;
                wrong += memcmp(at, q + quarter_at + (size_t)y * h, (size_t)h) != 0;
            }
            plane_at += (size_t)n * n;
            quarter_at += (size_t)h * h;
        }
    }
    return wrong;
}

static void put_rows(s2d_strips *s, int level, uint32_t cols, uint32_t first_src_row)
{
    uint8_t q[MAX_BYTES];
    s2d_error err = {0};
    for (uint32_t r = first_src_row; r < first_src_row + 2; r++) {
        for (uint32_t c = 0; c < 2 * cols; c++) {
            make_quarter(q, level, c, r);
            CHECK(s2d_strips_put_quarter(s, level, c, r, q, &err));
        }
    }
}

static const char *dir;

static void round_trip(void)
{
    // Level 1 and 3 are generated (3 and 2 columns), 0 and 2 are not.
    uint32_t cols[4] = {0, 3, 0, 2};
    s2d_error err = {0};
    s2d_strips *s = s2d_strips_new(dir, TILE, chroma_div, cols, 4, &err);
    CHECK(s != NULL);
    if (!s) {
        return;
    }
    uint8_t tile[MAX_BYTES], scratch[MAX_BYTES];
    put_rows(s, 1, 3, 0);   // level 1 row 0
    put_rows(s, 1, 3, 2);   // level 1 row 1 (the other slot)
    put_rows(s, 3, 2, 0);   // level 3 row 0, after level 1's rows in the file
    for (uint32_t c = 0; c < 3; c++) {
        CHECK(s2d_strips_get_tile(s, 1, c, 0, tile, scratch, &err));
        CHECK(wrong_pixels(tile, 1, c, 0) == 0);
        CHECK(s2d_strips_get_tile(s, 1, c, 1, tile, scratch, &err));
        CHECK(wrong_pixels(tile, 1, c, 1) == 0);
    }
    put_rows(s, 1, 3, 4);   // level 1 row 2 reuses row 0's slot
    for (uint32_t c = 0; c < 3; c++) {
        CHECK(s2d_strips_get_tile(s, 1, c, 2, tile, scratch, &err));
        CHECK(wrong_pixels(tile, 1, c, 2) == 0);
        CHECK(s2d_strips_get_tile(s, 1, c, 1, tile, scratch, &err));
        CHECK(wrong_pixels(tile, 1, c, 1) == 0);
    }
    for (uint32_t c = 0; c < 2; c++) {
        CHECK(s2d_strips_get_tile(s, 3, c, 0, tile, scratch, &err));
        CHECK(wrong_pixels(tile, 3, c, 0) == 0);
    }
    // The file is unlinked: the directory holds nothing of it.
    DIR *d = opendir(dir);
    int entries = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        entries += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    }
    if (d) {
        closedir(d);
    }
    CHECK(entries == 0);
    s2d_strips_free(s);
}

static void errors(void)
{
    uint32_t cols[2] = {0, 1};
    s2d_error err = {0};
    CHECK(s2d_strips_new("/proc/no-such-dir", TILE, 2, cols, 2, &err) == NULL);
    CHECK(err.code == S2D_ERR_IO && strstr(err.message, "/proc/no-such-dir") != NULL);
    s2d_error odd = {0};
    CHECK(s2d_strips_new(dir, 7, 1, cols, 2, &odd) == NULL && odd.code == S2D_ERR_USAGE);
    // 4:2:0 quarters need tiles of a multiple of 4.
    s2d_error six = {0};
    CHECK(s2d_strips_new(dir, 6, 2, cols, 2, &six) == NULL && six.code == S2D_ERR_USAGE);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_strips EMPTY-DIR\n");
        return 2;
    }
    dir = argv[1];
    RUN(round_trip);         // 4:2:0
    chroma_div = 1;
    RUN(round_trip);         // 4:4:4
    RUN(errors);
    return harness_failures != 0;
}
