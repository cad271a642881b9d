/* Generated levels' row file: each quarter lands where its tile is taken back, row slots
 * are reused two rows on without touching the other slot, levels do not overlap, the file
 * leaves nothing in the directory, and a directory it cannot be made in is an error. */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "pipeline/strips.h"

enum { TILE = 6, HALF = TILE / 2, QUARTER = HALF * HALF * 3 };

// A quarter whose every byte tells where it came from.
static void make_quarter(uint8_t *q, int level, uint32_t col, uint32_t row)
{
    for (int i = 0; i < QUARTER; i++) {
        q[i] = (uint8_t)(level * 64 + (int)row * 16 + (int)col * 4 + i % 3);
    }
}

// Tile (col, row) of `level` must show its four source quarters in place.
static int wrong_pixels(const uint8_t *tile, int level, uint32_t col, uint32_t row)
{
    int wrong = 0;
    uint8_t q[QUARTER];
    for (int part = 0; part < 4; part++) {
        uint32_t sc = 2 * col + (uint32_t)(part % 2), sr = 2 * row + (uint32_t)(part / 2);
        make_quarter(q, level, sc, sr);
        for (int y = 0; y < HALF; y++) {
            size_t line = (size_t)((part / 2) * HALF + y);
            const uint8_t *at = tile + (line * TILE + (size_t)(part % 2) * HALF) * 3;
            wrong += memcmp(at, q + y * HALF * 3, HALF * 3) != 0;
        }
    }
    return wrong;
}

static void put_rows(s2d_strips *s, int level, uint32_t cols, uint32_t first_src_row)
{
    uint8_t q[QUARTER];
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
    s2d_strips *s = s2d_strips_new(dir, TILE, cols, 4, &err);
    CHECK(s != NULL);
    if (!s) {
        return;
    }
    uint8_t tile[TILE * TILE * 3], scratch[TILE * TILE * 3];
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
    CHECK(s2d_strips_new("/proc/no-such-dir", TILE, cols, 2, &err) == NULL);
    CHECK(err.code == S2D_ERR_IO && strstr(err.message, "/proc/no-such-dir") != NULL);
    s2d_error odd = {0};
    CHECK(s2d_strips_new(dir, 7, cols, 2, &odd) == NULL && odd.code == S2D_ERR_USAGE);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_strips EMPTY-DIR\n");
        return 2;
    }
    dir = argv[1];
    RUN(round_trip);
    RUN(errors);
    return harness_failures != 0;
}
