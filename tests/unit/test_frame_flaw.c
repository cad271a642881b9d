// SPDX-License-Identifier: Apache-2.0
/* The structure checks of copied frames (codec/bitstream.h s2d_jpeg_frame_flaw,
 * s2d_j2k_frame_flaw): sound frames pass (baseline and progressive JPEGs from
 * libjpeg-turbo, a JPEG 2000 codestream of one or two tile-parts), and each kind of damage
 * a copied tile can carry is named; what --deidentify strips from copies (comments and
 * application segments) goes, and nothing else. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "codec/bitstream.h"
#include "harness.h"

enum { SIDE = 64 };

static void encode(int flags, s2d_buf *out)
{
    uint8_t rgb[SIDE * SIDE * 3];
    for (int i = 0; i < SIDE * SIDE; i++) {
        rgb[3 * i] = (uint8_t)(i * 7);
        rgb[3 * i + 1] = (uint8_t)(i / SIDE * 4);
        rgb[3 * i + 2] = (uint8_t)((i % SIDE) * (i / SIDE));
    }
    tjhandle tj = tjInitCompress();
    unsigned char *jpeg = NULL;
    unsigned long len = 0;
    CHECK(tjCompress2(tj, rgb, SIDE, SIDE * 3, SIDE, TJPF_RGB, &jpeg, &len, TJSAMP_420, 85,
                      flags) == 0);
    out->len = 0;
    s2d_buf_append(out, jpeg, len);
    tjFree(jpeg);
    tjDestroy(tj);
}

// Where the first scan's entropy-coded data starts.
static size_t scan_data(const s2d_buf *b)
{
    for (size_t i = 2; i + 4 < b->len; i++) {
        if (b->data[i] == 0xFF && b->data[i + 1] == 0xDA) {
            return i + 2 + (size_t)(b->data[i + 2] << 8 | b->data[i + 3]);
        }
    }
    return 0;
}

// The flaw of a copy of good with `with` written at `at` (a copy of `n` bytes of good).
static const char *jpeg_flaw_of(const s2d_buf *good, size_t n, size_t at, const char *with,
                                size_t with_len, int side)
{
    static uint8_t copy[1 << 16];
    memcpy(copy, good->data, n);
    memcpy(copy + at, with, with_len);
    return s2d_jpeg_frame_flaw(copy, n, side, side);
}

static bool says(const char *flaw, const char *words)
{
    bool ok = flaw && strstr(flaw, words);
    if (!ok) {
        fprintf(stderr, "expected \"%s\", got \"%s\"\n", words, flaw ? flaw : "(sound)");
    }
    return ok;
}

static void test_jpeg(void)
{
    s2d_buf good = {0};
    for (int progressive = 0; progressive < 2; progressive++) {
        encode(progressive ? TJFLAG_PROGRESSIVE : 0, &good);
        CHECK(good.len < (1 << 16));
        CHECK(s2d_jpeg_frame_flaw(good.data, good.len, SIDE, SIDE) == NULL);
    }
    encode(0, &good);
    size_t n = good.len, data = scan_data(&good);
    CHECK(data > 0 && data + 8 < n);
    CHECK(says(s2d_jpeg_frame_flaw(good.data, n, SIDE * 2, SIDE), "size is not the tile's"));
    CHECK(says(jpeg_flaw_of(&good, n, 0, "\x00", 1, SIDE), "no SOI"));
    CHECK(says(jpeg_flaw_of(&good, n - 1, 0, "", 0, SIDE), "no EOI"));
    // An EOI, a frame header or a stray byte in the middle of the scan.
    size_t mid = data + (n - data) / 2;
    CHECK(says(jpeg_flaw_of(&good, n, mid, "\xFF\xD9", 2, SIDE), "data after the EOI"));
    CHECK(says(jpeg_flaw_of(&good, n, mid, "\xFF\xC0\x00\x11", 4, SIDE), "frame header"));
    CHECK(says(jpeg_flaw_of(&good, n, mid, "\xFF\xC4\xFF\xF0", 4, SIDE), "past the end"));
    // Stuffed bytes and restart markers belong in a scan.
    CHECK(jpeg_flaw_of(&good, n, mid, "\xFF\x00", 2, SIDE) == NULL);
    CHECK(jpeg_flaw_of(&good, n, mid, "\xFF\xD3", 2, SIDE) == NULL);
    // A scan header naming more components than the frame has.
    CHECK(says(jpeg_flaw_of(&good, n, data - 2 * 3 - 4, "\x07", 1, SIDE), "scan header"));
    // A segment whose length runs into the EOI.
    CHECK(says(jpeg_flaw_of(&good, n, 4, "\xFF\xF0", 2, SIDE), "past the end"));
    s2d_buf_free(&good);
}

static void put16(s2d_buf *b, unsigned v)
{
    uint8_t p[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    s2d_buf_append(b, p, 2);
}

static void put32(s2d_buf *b, uint32_t v)
{
    put16(b, v >> 16);
    put16(b, v & 0xFFFF);
}

// A codestream of the structure a JPEG 2000 tile has (its coded data is filler: the check
// does not decode): SOC, SIZ, COD, QCD, then `parts` tile-parts (the last with Psot 0
// when last_open), EOC.
static void make_j2k(s2d_buf *b, uint32_t side, int parts, bool last_open)
{
    b->len = 0;
    put16(b, 0xFF4F);
    put16(b, 0xFF51);
    put16(b, 38 + 3 * 3);
    put16(b, 0);
    for (int i = 0; i < 2; i++) {
        put32(b, side);   // Xsiz, Ysiz
    }
    for (int i = 0; i < 2; i++) {
        put32(b, 0);      // XOsiz, YOsiz
    }
    for (int i = 0; i < 2; i++) {
        put32(b, side);   // XTsiz, YTsiz
    }
    for (int i = 0; i < 2; i++) {
        put32(b, 0);      // XTOsiz, YTOsiz
    }
    put16(b, 3);
    for (int c = 0; c < 3; c++) {
        s2d_buf_append(b, "\x07\x01\x01", 3);
    }
    put16(b, 0xFF52);
    put16(b, 12);
    s2d_buf_append(b, "\x00\x00\x00\x01\x01\x05\x04\x04\x00\x01", 10);
    put16(b, 0xFF5C);
    put16(b, 4);
    s2d_buf_append(b, "\x40\x48", 2);
    for (int t = 0; t < parts; t++) {
        uint32_t body = 20;
        put16(b, 0xFF90);
        put16(b, 10);
        put16(b, 0);
        put32(b, last_open && t == parts - 1 ? 0 : 14 + body);
        s2d_buf_append(b, (uint8_t[]){(uint8_t)t, (uint8_t)parts}, 2);
        put16(b, 0xFF93);
        for (uint32_t i = 0; i < body; i++) {
            s2d_buf_append_byte(b, (uint8_t)(0x10 + i));
        }
    }
    put16(b, 0xFFD9);
}

static void test_j2k(void)
{
    s2d_buf b = {0};
    make_j2k(&b, SIDE, 1, false);
    CHECK(s2d_j2k_frame_flaw(b.data, b.len, SIDE, SIDE) == NULL);
    make_j2k(&b, SIDE, 2, true);
    CHECK(s2d_j2k_frame_flaw(b.data, b.len, SIDE, SIDE) == NULL);
    CHECK(says(s2d_j2k_frame_flaw(b.data, b.len, SIDE, SIDE / 2), "SIZ size"));
    CHECK(says(s2d_j2k_frame_flaw(b.data, b.len - 5, SIDE, SIDE), "no EOC"));
    CHECK(says(s2d_j2k_frame_flaw(b.data + 1, b.len - 1, SIDE, SIDE), "no SOC"));
    // A tile-part longer than what follows it; a codestream cut and closed by an EOC.
    make_j2k(&b, SIDE, 2, false);
    size_t sot = b.len - 2 - 2 * 34;
    CHECK(b.data[sot] == 0xFF && b.data[sot + 1] == 0x90);
    b.data[sot + 9] = 0x60;
    CHECK(says(s2d_j2k_frame_flaw(b.data, b.len, SIDE, SIDE), "runs past the end"));
    b.data[sot + 9] = 34;
    b.data[b.len - 2 - 34] = 0x00;   // the second tile-part's SOT spoiled
    CHECK(says(s2d_j2k_frame_flaw(b.data, b.len, SIDE, SIDE), "does not start with SOT"));
    make_j2k(&b, SIDE, 1, false);
    size_t sod = b.len - 2 - 20 - 2;
    CHECK(b.data[sod] == 0xFF && b.data[sod + 1] == 0x93);
    b.data[sod + 1] = 0x00;   // SOD spoiled
    CHECK(says(s2d_j2k_frame_flaw(b.data, b.len, SIDE, SIDE), "header segment is broken"));
    // SOD turned into a comment (COM) filling the tile-part: a tile-part with no data.
    memcpy(b.data + sod, "\xFF\x64\x00\x14", 4);
    CHECK(says(s2d_j2k_frame_flaw(b.data, b.len, SIDE, SIDE), "without SOD"));
    s2d_buf_free(&b);
}

// Inserts a segment (marker m, contents: the n bytes at text) at offset at.
static void insert_segment(s2d_buf *b, size_t at, unsigned m, const char *text, size_t n)
{
    s2d_buf seg = {0};
    put16(&seg, m);
    put16(&seg, (uint32_t)(n + 2));
    s2d_buf_append(&seg, text, n);
    s2d_buf whole = {0};
    s2d_buf_append(&whole, b->data, at);
    s2d_buf_append(&whole, seg.data, seg.len);
    s2d_buf_append(&whole, b->data + at, b->len - at);
    b->len = 0;
    s2d_buf_append(b, whole.data, whole.len);
    s2d_buf_free(&seg);
    s2d_buf_free(&whole);
}

// The contents of a segment, given as a string literal that may hold NULs.
#define CONTENTS(literal) literal, sizeof literal - 1

static bool holds(const s2d_buf *b, size_t len, const char *text)
{
    size_t n = strlen(text);
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(b->data + i, text, n) == 0) {
            return true;
        }
    }
    return false;
}

static void test_strip_text(void)
{
    s2d_buf clean = {0}, b = {0};
    encode(0, &clean);   // libjpeg-turbo writes JFIF's APP0
    CHECK(holds(&clean, clean.len, "JFIF"));
    s2d_buf_append(&b, clean.data, clean.len);
    insert_segment(&b, 2, 0xFFFE, CONTENTS("PATIENT-SMITH"));
    insert_segment(&b, 2, 0xFFE1, CONTENTS("Exif\0\0CAMERA-SERIAL"));
    insert_segment(&b, 2, 0xFFEE, CONTENTS("Adobe\0\x64\0\0\0\0\1"));
    CHECK(s2d_jpeg_frame_flaw(b.data, b.len, SIDE, SIDE) == NULL);
    size_t n = s2d_jpeg_strip_text(b.data, b.len);
    CHECK(!holds(&b, n, "PATIENT-SMITH") && !holds(&b, n, "CAMERA-SERIAL"));
    CHECK(holds(&b, n, "JFIF") && holds(&b, n, "Adobe"));   // the colour segments stay
    CHECK(n == clean.len + 4 + 12 && s2d_jpeg_frame_flaw(b.data, n, SIDE, SIDE) == NULL);
    CHECK(memcmp(b.data + n - 100, clean.data + clean.len - 100, 100) == 0);
    n = s2d_jpeg_strip_text(clean.data, clean.len);
    CHECK(n == clean.len);   // nothing to strip: unchanged

    make_j2k(&b, SIDE, 2, false);
    size_t main_len = b.len;
    insert_segment(&b, 2 + 49, 0xFF64, CONTENTS("\0\1SCANNER-NOTE"));   // after SIZ
    CHECK(s2d_j2k_frame_flaw(b.data, b.len, SIDE, SIDE) == NULL);
    bool left = true;
    n = s2d_j2k_strip_text(b.data, b.len, &left);
    CHECK(n == main_len && !left && !holds(&b, n, "SCANNER-NOTE"));
    CHECK(s2d_j2k_frame_flaw(b.data, n, SIDE, SIDE) == NULL);
    // A comment in a tile-part header: left, and said.
    make_j2k(&b, SIDE, 1, true);
    size_t sod = b.len - 2 - 20 - 2;
    insert_segment(&b, sod, 0xFF64, CONTENTS("\0\1IN-TILE"));
    CHECK(s2d_j2k_frame_flaw(b.data, b.len, SIDE, SIDE) == NULL);
    n = s2d_j2k_strip_text(b.data, b.len, &left);
    CHECK(n == b.len && left);
    s2d_buf_free(&clean);
    s2d_buf_free(&b);
}

int main(void)
{
    RUN(test_jpeg);
    RUN(test_j2k);
    RUN(test_strip_text);
    return harness_failures != 0;
}
