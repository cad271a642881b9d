// SPDX-License-Identifier: Apache-2.0
/* Joining JPEG strips into one stream (s2d_jpeg_join_strips): strips encoded by
 * libjpeg-turbo, each a JPEG of its own, must join into one baseline JPEG that decodes to
 * exactly the pixels of the strips decoded one by one (with replicated chroma upsampling,
 * the only kind that does not reach across a strip's edge), with complete strips and with
 * TIFF-style abbreviated strips plus shared tables; and strips that cannot be joined so
 * must be refused. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>
#include <turbojpeg.h>

#include "codec/bitstream.h"
#include "harness.h"

// Pixels with edges, gradients and colour, so a misplaced block shows.
static uint8_t *make_image(int w, int h)
{
    uint8_t *rgb = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            p[0] = (uint8_t)(x * 255 / w);
            p[1] = (uint8_t)(((x / 7 + y / 5) % 2) ? 200 : 40);
            p[2] = (uint8_t)((x * y + y * 3) & 0xff);
        }
    }
    return rgb;
}

// Encodes rows [y, y + rows) as a complete JPEG of its own.
static void encode_strip(tjhandle tj, const uint8_t *rgb, int w, int y, int rows, int subsamp,
                         int quality, s2d_buf *out)
{
    unsigned char *jpeg = NULL;
    unsigned long len = 0;
    int rc = tjCompress2(tj, rgb + (size_t)y * w * 3, w, w * 3, rows, TJPF_RGB, &jpeg, &len,
                         subsamp, quality, 0);
    CHECK(rc == 0);
    out->len = 0;
    s2d_buf_append(out, jpeg, len);
    tjFree(jpeg);
}

static bool decode(tjhandle tj, const uint8_t *jpeg, size_t len, int w, int h, uint8_t *rgb)
{
    return tjDecompress2(tj, jpeg, (unsigned long)len, rgb, w, w * 3, h, TJPF_RGB,
                         TJFLAG_FASTUPSAMPLE | TJFLAG_STOPONWARNING) == 0;
}

// Moves the DQT and DHT segments of a complete stream into tables (SOI ... EOI), leaving
// the abbreviated stream a TIFF stores per strip.
static void abbreviate(s2d_buf *strip, s2d_buf *tables)
{
    s2d_buf rest = {0};
    tables->len = 0;
    s2d_buf_append(tables, "\xFF\xD8", 2);
    s2d_buf_append(&rest, "\xFF\xD8", 2);
    size_t i = 2;
    while (i + 4 <= strip->len && strip->data[i + 1] != 0xDA) {
        size_t seg = 2 + ((size_t)strip->data[i + 2] << 8 | strip->data[i + 3]);
        uint8_t m = strip->data[i + 1];
        s2d_buf_append(m == 0xDB || m == 0xC4 ? tables : &rest, strip->data + i, seg);
        i += seg;
    }
    s2d_buf_append(&rest, strip->data + i, strip->len - i);
    s2d_buf_append(tables, "\xFF\xD9", 2);
    s2d_buf_free(strip);
    *strip = rest;
}

typedef struct join_case {
    int w, h, rows_per_strip, subsamp;
    bool abbreviated;
} join_case;

static void check_join(tjhandle tjc, tjhandle tjd, join_case c)
{
    uint8_t *rgb = make_image(c.w, c.h);
    size_t n = (size_t)((c.h + c.rows_per_strip - 1) / c.rows_per_strip);
    s2d_buf *strips = calloc(n, sizeof *strips);
    s2d_buf tables = {0}, joined = {0};
    uint8_t *want = malloc((size_t)c.w * c.h * 3), *got = malloc((size_t)c.w * c.h * 3);
    for (size_t k = 0; k < n; k++) {
        int y = (int)k * c.rows_per_strip;
        int rows = c.h - y < c.rows_per_strip ? c.h - y : c.rows_per_strip;
        encode_strip(tjc, rgb, c.w, y, rows, c.subsamp, 85, &strips[k]);
        CHECK(decode(tjd, strips[k].data, strips[k].len, c.w, rows, want + (size_t)y * c.w * 3));
        if (c.abbreviated) {
            abbreviate(&strips[k], &tables);
        }
    }
    bool is_rgb = true;
    bool ok = s2d_jpeg_join_strips(c.abbreviated ? tables.data : NULL, tables.len, strips, n,
                                   c.w, c.h, c.rows_per_strip, true, &is_rgb, &joined);
    CHECK(ok);
    CHECK(!is_rgb);   // libjpeg-turbo's JFIF streams are YCbCr whatever the TIFF says
    // One restart interval per strip: its MCU rows times the MCUs across.
    int mcu_w = c.subsamp == TJSAMP_444 ? 8 : 16, mcu_h = c.subsamp == TJSAMP_420 ? 16 : 8;
    int interval = n > 1 ? (c.w + mcu_w - 1) / mcu_w * (c.rows_per_strip / mcu_h) : 0;
    s2d_jpeg_facts f;
    CHECK(ok && s2d_jpeg_parse(joined.data, joined.len, &f) && f.height == c.h &&
          f.width == c.w && f.restart_interval == interval);
    bool same = ok && decode(tjd, joined.data, joined.len, c.w, c.h, got) &&
                memcmp(want, got, (size_t)c.w * c.h * 3) == 0;
    if (!same) {
        fprintf(stderr, "%dx%d in strips of %d, subsampling %d%s: joined stream differs\n",
                c.w, c.h, c.rows_per_strip, c.subsamp, c.abbreviated ? ", abbreviated" : "");
    }
    CHECK(same);
    for (size_t k = 0; k < n; k++) {
        s2d_buf_free(&strips[k]);
    }
    free(strips);
    s2d_buf_free(&tables);
    s2d_buf_free(&joined);
    free(rgb);
    free(want);
    free(got);
}

static void test_joins(void)
{
    tjhandle tjc = tjInitCompress(), tjd = tjInitDecompress();
    static const join_case cases[] = {
        {203, 77, 16, TJSAMP_420, false},    // last strip shorter, odd width
        {203, 77, 16, TJSAMP_420, true},     // Aperio's layout: shared tables
        {64, 64, 64, TJSAMP_420, false},     // one strip: no restart markers needed
        {130, 90, 8, TJSAMP_444, true},      // 8-row MCUs
        {96, 200, 16, TJSAMP_422, false},    // more than 8 strips: RST numbers wrap
        {40, 33, 1000, TJSAMP_444, true},    // RowsPerStrip beyond the height
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_join(tjc, tjd, cases[i]);
    }
    tjDestroy(tjc);
    tjDestroy(tjd);
}

// Encodes three strips of rows_per_strip rows of a 64-wide image (the second at
// quality2), then asks to join the first n as an image of the given height.
static bool join_with(tjhandle tj, int quality2, int subsamp, int rows_per_strip, size_t n,
                      int height)
{
    uint8_t *rgb = make_image(64, 48);
    s2d_buf strips[3] = {{0}}, joined = {0};
    for (size_t k = 0; k < 3; k++) {
        encode_strip(tj, rgb, 64, (int)k * rows_per_strip, rows_per_strip, subsamp,
                     k == 1 ? quality2 : 85, &strips[k]);
    }
    bool is_rgb;
    bool ok = s2d_jpeg_join_strips(NULL, 0, strips, n, 64, height, rows_per_strip, false,
                                   &is_rgb, &joined);
    for (size_t k = 0; k < 3; k++) {
        s2d_buf_free(&strips[k]);
    }
    s2d_buf_free(&joined);
    free(rgb);
    return ok;
}

static void test_refusals(void)
{
    tjhandle tj = tjInitCompress();
    CHECK(join_with(tj, 85, TJSAMP_420, 16, 3, 48));    // the control: these do join
    CHECK(!join_with(tj, 60, TJSAMP_420, 16, 3, 48));   // other tables in one strip
    CHECK(!join_with(tj, 85, TJSAMP_420, 16, 2, 48));   // a strip missing
    CHECK(!join_with(tj, 85, TJSAMP_420, 16, 3, 40));   // strip heights not the image's
    CHECK(!join_with(tj, 85, TJSAMP_420, 12, 3, 36));   // strips of 12 rows, MCUs of 16
    // A strip that is no JPEG, and one whose scan has no data.
    uint8_t *rgb = make_image(64, 48);
    s2d_buf strips[3] = {{0}}, joined = {0};
    for (int k = 0; k < 3; k++) {
        encode_strip(tj, rgb, 64, 16 * k, 16, TJSAMP_420, 85, &strips[k]);
    }
    bool is_rgb;
    strips[1].data[0] = 0;   // no SOI
    CHECK(!s2d_jpeg_join_strips(NULL, 0, strips, 3, 64, 48, 16, false, &is_rgb, &joined));
    strips[1].data[0] = 0xFF;
    size_t sos = 2;
    while (strips[2].data[sos + 1] != 0xDA) {
        sos += 2 + ((size_t)strips[2].data[sos + 2] << 8 | strips[2].data[sos + 3]);
    }
    strips[2].len = sos + 2 + ((size_t)strips[2].data[sos + 2] << 8 | strips[2].data[sos + 3]);
    CHECK(!s2d_jpeg_join_strips(NULL, 0, strips, 3, 64, 48, 16, false, &is_rgb, &joined));
    for (int k = 0; k < 3; k++) {
        s2d_buf_free(&strips[k]);
    }
    s2d_buf_free(&joined);
    free(rgb);
    tjDestroy(tj);
}

// What libjpeg is asked to write for one strip, beyond TurboJPEG's defaults.
typedef struct strip_style {
    bool rgb;             // components R, G, B (Adobe transform 0), no chroma subsampling
    int restart_mcus;     // a restart interval of this many MCUs, 0: none
    bool scan_per_component;
} strip_style;

// Encodes rows [y, y + rows) with libjpeg itself, for what TurboJPEG cannot write.
static void encode_strip_libjpeg(const uint8_t *rgb, int w, int y, int rows, strip_style st,
                                 s2d_buf *out)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    unsigned char *mem = NULL;
    unsigned long len = 0;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &mem, &len);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)rows;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 85, TRUE);
    if (st.rgb) {
        jpeg_set_colorspace(&c, JCS_RGB);
    }
    c.restart_interval = (unsigned)st.restart_mcus;
    jpeg_scan_info scans[3];
    if (st.scan_per_component) {
        for (int k = 0; k < 3; k++) {
            scans[k] = (jpeg_scan_info){.comps_in_scan = 1, .component_index = {k}, .Ss = 0,
                                        .Se = 63, .Ah = 0, .Al = 0};
        }
        c.scan_info = scans;
        c.num_scans = 3;
    }
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + ((size_t)y + c.next_scanline) * (size_t)w * 3);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    out->len = 0;
    s2d_buf_append(out, mem, len);
    free(mem);
}

// Joins a 64 x 48 image in three 16-row strips of the given style.
static bool join_style(strip_style st, bool *is_rgb, s2d_buf *joined)
{
    uint8_t *rgb = make_image(64, 48);
    s2d_buf strips[3] = {{0}};
    for (int k = 0; k < 3; k++) {
        encode_strip_libjpeg(rgb, 64, 16 * k, 16, st, &strips[k]);
    }
    bool ok = s2d_jpeg_join_strips(NULL, 0, strips, 3, 64, 48, 16, false, is_rgb, joined);
    for (int k = 0; k < 3; k++) {
        s2d_buf_free(&strips[k]);
    }
    free(rgb);
    return ok;
}

// Drops the DRI segment from a complete stream's headers (its RST markers stay).
static void drop_dri(s2d_buf *b)
{
    for (size_t i = 2; i + 4 <= b->len && b->data[i + 1] != 0xDA;) {
        size_t seg = 2 + ((size_t)b->data[i + 2] << 8 | b->data[i + 3]);
        if (b->data[i + 1] == 0xDD) {
            memmove(b->data + i, b->data + i + seg, b->len - i - seg);
            b->len -= seg;
            return;
        }
        i += seg;
    }
}

static void test_styles(void)
{
    tjhandle tjd = tjInitDecompress();
    bool is_rgb = false;
    s2d_buf joined = {0};
    // RGB strips join with the Adobe marker first, and decode as RGB to the image.
    CHECK(join_style((strip_style){.rgb = true}, &is_rgb, &joined) && is_rgb);
    static const uint8_t adobe[] = {0xFF, 0xD8, 0xFF, 0xEE, 0x00, 0x0E, 'A', 'd', 'o', 'b', 'e'};
    CHECK(joined.len > sizeof adobe && memcmp(joined.data, adobe, sizeof adobe) == 0);
    s2d_jpeg_facts f;
    CHECK(s2d_jpeg_parse(joined.data, joined.len, &f) && f.adobe_transform == 0);
    uint8_t *want = make_image(64, 48), *got = malloc(64 * 48 * 3);
    bool close = decode(tjd, joined.data, joined.len, 64, 48, got);
    for (size_t i = 0; close && i < 64 * 48 * 3; i++) {
        close = abs(got[i] - want[i]) <= 24;   // JPEG at q85 of sharp edges, in RGB
    }
    CHECK(close);
    // Strips with restart markers of their own, with their DRI or without it, and strips
    // of one scan per component are refused.
    CHECK(!join_style((strip_style){.restart_mcus = 1}, &is_rgb, &joined));
    uint8_t *rgb = make_image(64, 48);
    s2d_buf strips[3] = {{0}};
    for (int k = 0; k < 3; k++) {
        encode_strip_libjpeg(rgb, 64, 16 * k, 16, (strip_style){.restart_mcus = 1}, &strips[k]);
        drop_dri(&strips[k]);
    }
    s2d_jpeg_facts own;
    CHECK(s2d_jpeg_parse(strips[0].data, strips[0].len, &own) && own.restart_interval == 0);
    CHECK(!s2d_jpeg_join_strips(NULL, 0, strips, 3, 64, 48, 16, false, &is_rgb, &joined));
    CHECK(!join_style((strip_style){.scan_per_component = true}, &is_rgb, &joined));
    // A 12-bit frame header (the bytes patched; the headers still agree) is refused.
    for (int k = 0; k < 3; k++) {
        encode_strip_libjpeg(rgb, 64, 16 * k, 16, (strip_style){0}, &strips[k]);
    }
    CHECK(s2d_jpeg_join_strips(NULL, 0, strips, 3, 64, 48, 16, false, &is_rgb, &joined));
    for (int k = 0; k < 3; k++) {
        for (size_t i = 2; i + 4 < strips[k].len; i++) {
            if (strips[k].data[i] == 0xFF && strips[k].data[i + 1] == 0xC0) {
                strips[k].data[i + 4] = 12;
                break;
            }
        }
    }
    CHECK(!s2d_jpeg_join_strips(NULL, 0, strips, 3, 64, 48, 16, false, &is_rgb, &joined));
    for (int k = 0; k < 3; k++) {
        s2d_buf_free(&strips[k]);
    }
    s2d_buf_free(&joined);
    free(rgb);
    free(want);
    free(got);
    tjDestroy(tjd);
}

int main(void)
{
    RUN(test_joins);
    RUN(test_refusals);
    RUN(test_styles);
    return harness_failures != 0;
}
