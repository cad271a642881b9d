// SPDX-License-Identifier: Apache-2.0
/* The pieces of the plain-TIFF path that need no file: the windows from a histogram
 * (convert/window.h), the page pixel mapping (convert/pixmap.h) and the planning of pages
 * into Secondary Capture and VL instances (iod/pages.h), each against values worked out by
 * hand from the rules in docs/plain-tiff.md. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "convert/pixmap.h"
#include "convert/window.h"
#include "harness.h"
#include "iod/pages.h"
#include "iod/plan.h"

static bool near(double a, double b)
{
    return fabs(a - b) < 1e-9 * (fabs(a) + fabs(b) + 1);
}

// 1000 values: 0..999. The 0.5 % point is the 5th value (4), the 99.5 % point the 995th
// (994); the note-4 window of [4, 994] is centre 499.5, width 991.
static void test_window_percentiles(void)
{
    s2d_histogram *h = calloc(1, sizeof *h);
    uint16_t v[1000];
    for (int i = 0; i < 1000; i++) {
        v[i] = (uint16_t)i;
    }
    s2d_histogram_add(h, v, 1000);
    uint16_t lo = 1, hi = 0;
    CHECK(s2d_histogram_range(h, &lo, &hi) && lo == 0 && hi == 999 && h->total == 1000);
    CHECK(s2d_histogram_bits(h) == 10);
    s2d_window w[2];
    CHECK(s2d_windows_auto(h, 1, 0, 10, w) == 2);
    CHECK(near(w[0].center, 499.5) && near(w[0].width, 991));
    CHECK(!strcmp(w[0].explanation, "AUTO 0.5-99.5%"));
    CHECK(near(w[1].center, 500) && near(w[1].width, 1000));
    // Offset signed data: stored 32768 + v is v in rescaled units.
    memset(h, 0, sizeof *h);
    uint16_t s[2] = {32768 - 1000, 32768 + 1000};
    s2d_histogram_add(h, s, 2);
    CHECK(s2d_windows_auto(h, 1, -32768, 16, w) == 2);
    CHECK(near(w[1].center, 0.5) && near(w[1].width, 2001));
    // One value everywhere: the identity window over Bits Stored.
    memset(h, 0, sizeof *h);
    uint16_t one = 7;
    s2d_histogram_add(h, &one, 1);
    CHECK(s2d_windows_auto(h, 1, 0, 12, w) == 2);
    CHECK(near(w[0].center, 2048) && near(w[0].width, 4096));
    CHECK(!strcmp(w[0].explanation, "IDENTITY"));
    CHECK(near(w[1].center, 7.5) && near(w[1].width, 1));   // [7, 7]
    // A float range: LINEAR's edges land on x1 and x2 whatever the slope.
    s2d_window f = s2d_window_of_range(0, 1000, 0.001, 5, "X");
    CHECK(near(f.center - 0.5 - (f.width - 1) / 2, 5) &&
          near(f.center - 0.5 + (f.width - 1) / 2, 6));
    free(h);
}

static s2d_pixdesc grey(uint32_t w, uint32_t h, uint16_t bits, s2d_colour c, bool is_signed)
{
    return (s2d_pixdesc){.width = w, .height = h, .samples = 1,
                         .bits_allocated = bits, .bits_stored = bits, .colour = c,
                         .is_signed = is_signed};
}

static void test_pixmap(void)
{
    s2d_error err = {0};
    s2d_pixmap m;
    // Min-is-white 1-bit document: bits inverted, 1-bit kept.
    s2d_pixdesc d = grey(4, 1, 1, S2D_COLOUR_MONO_MIN_IS_WHITE, false);
    CHECK(s2d_pixmap_choose(&d, S2D_INVERT_MIN_IS_WHITE, false, true, &m, &err));
    CHECK(m.op == S2D_MAP_INVERT && m.out.bits_allocated == 1 &&
          m.out.colour == S2D_COLOUR_MONO_MIN_IS_BLACK);
    uint8_t in1[4] = {0, 1, 1, 0}, out1[4];
    s2d_pixmap_rows(&m, in1, 4, out1, 4, 1);
    CHECK(out1[0] == 1 && out1[1] == 0 && out1[2] == 0 && out1[3] == 1);
    // The same outside documents: widened to 8 bits.
    CHECK(s2d_pixmap_choose(&d, S2D_INVERT_MIN_IS_WHITE, false, false, &m, &err));
    s2d_pixmap_rows(&m, in1, 4, out1, 4, 1);
    CHECK(m.out.bits_allocated == 8 && out1[0] == 255 && out1[1] == 0);
    // 4-bit grey: x17.
    d = grey(2, 1, 4, S2D_COLOUR_MONO_MIN_IS_BLACK, false);
    CHECK(s2d_pixmap_choose(&d, S2D_KEEP_MIN_IS_WHITE, false, false, &m, &err));
    uint8_t in4[2] = {15, 3}, out4[2];
    s2d_pixmap_rows(&m, in4, 2, out4, 2, 1);
    CHECK(out4[0] == 255 && out4[1] == 51);
    // Radiology keeps min-is-white values.
    d = grey(2, 1, 16, S2D_COLOUR_MONO_MIN_IS_WHITE, false);
    CHECK(s2d_pixmap_choose(&d, S2D_KEEP_MIN_IS_WHITE, false, false, &m, &err));
    CHECK(m.op == S2D_MAP_COPY && m.out.colour == S2D_COLOUR_MONO_MIN_IS_WHITE);
    // Signed 16: +32768, intercept -32768.
    d = grey(3, 1, 16, S2D_COLOUR_MONO_MIN_IS_BLACK, true);
    CHECK(s2d_pixmap_choose(&d, S2D_KEEP_MIN_IS_WHITE, false, false, &m, &err));
    int16_t sv[3] = {-32768, -1000, 32767};
    uint16_t uv[4];   // the float row below has four samples
    s2d_pixmap_rows(&m, (uint8_t *)sv, 6, (uint8_t *)uv, 6, 1);
    CHECK(m.op == S2D_MAP_OFFSET && m.intercept == -32768 && !m.out.is_signed);
    CHECK(uv[0] == 0 && uv[1] == 31768 && uv[2] == 65535);
    // Float: scaled over its range, NaN counted and written as 0.
    d = grey(4, 1, 32, S2D_COLOUR_MONO_MIN_IS_BLACK, false);
    d.is_float = true;
    CHECK(s2d_pixmap_choose(&d, S2D_KEEP_MIN_IS_WHITE, false, false, &m, &err));
    float fv[4] = {-1.0f, 0.5f, 2.0f, NAN};
    double lo = 0, hi = 0;
    bool any = false;
    s2d_pixmap_scan_range(&m, (uint8_t *)fv, 16, 1, &lo, &hi, &any);
    CHECK(any && lo == -1.0 && hi == 2.0);
    s2d_pixmap_set_range(&m, lo, hi);
    CHECK(near(m.slope, 3.0 / 65535) && m.intercept == -1.0);
    s2d_pixmap_rows(&m, (uint8_t *)fv, 16, (uint8_t *)uv, 8, 1);
    CHECK(uv[0] == 0 && uv[2] == 65535 && m.nonfinite == 1);
    CHECK(fabs(uv[1] * m.slope + m.intercept - 0.5) <= m.slope / 2);
    // 32-bit integers within 16 bits: exact, slope 1.
    d = grey(2, 1, 32, S2D_COLOUR_MONO_MIN_IS_BLACK, false);
    CHECK(s2d_pixmap_choose(&d, S2D_KEEP_MIN_IS_WHITE, false, false, &m, &err));
    s2d_pixmap_set_range(&m, 100000, 100010);
    uint32_t iv[2] = {100000, 100010};
    s2d_pixmap_rows(&m, (uint8_t *)iv, 8, (uint8_t *)uv, 4, 1);
    CHECK(m.slope == 1 && uv[0] == 0 && uv[1] == 10);
    // Palette: the colour map's high bytes.
    d = grey(2, 1, 8, S2D_COLOUR_PALETTE, false);
    CHECK(s2d_pixmap_choose(&d, S2D_KEEP_MIN_IS_WHITE, true, false, &m, &err));
    uint16_t map[6] = {0x1234, 0xFF00, 0x0000, 0xAB00, 0x00FF, 0x8000};   // 2 entries
    m.palette = map;
    m.palette_n = 2;
    uint8_t idx[2] = {1, 0}, rgb[6];
    s2d_pixmap_rows(&m, idx, 2, rgb, 6, 1);
    CHECK(rgb[0] == 0xFF && rgb[1] == 0xAB && rgb[2] == 0x80 && rgb[3] == 0x12 &&
          rgb[4] == 0 && rgb[5] == 0);
    // 16-bit grey cannot be a photograph; 16-bit colour is refused.
    d = grey(2, 1, 16, S2D_COLOUR_MONO_MIN_IS_BLACK, false);
    CHECK(!s2d_pixmap_choose(&d, S2D_INVERT_MIN_IS_WHITE, true, false, &m, &err));
    CHECK(err.code == S2D_ERR_INPUT);
    d = (s2d_pixdesc){.width = 2, .height = 1, .samples = 3, .bits_allocated = 16,
                      .bits_stored = 16, .colour = S2D_COLOUR_RGB};
    CHECK(!s2d_pixmap_choose(&d, S2D_KEEP_MIN_IS_WHITE, false, false, &m, &err));
}

static s2d_page_desc page(uint32_t n, s2d_pixdesc d)
{
    return (s2d_page_desc){.page = n, .pixels = d};
}

static void test_plan_pages(void)
{
    s2d_convert_options o;
    s2d_convert_options_init(&o);
    s2d_error err = {0};
    // A document: two bilevel A-pages, a colour page, a bilevel page of another size.
    s2d_pixdesc bit = grey(13, 7, 1, S2D_COLOUR_MONO_MIN_IS_BLACK, false);
    s2d_pixdesc other = grey(8, 8, 1, S2D_COLOUR_MONO_MIN_IS_BLACK, false);
    s2d_pixdesc rgb = {.width = 13, .height = 7, .samples = 3, .bits_allocated = 8,
                       .bits_stored = 8, .colour = S2D_COLOUR_RGB};
    s2d_page_desc doc[] = {page(0, bit), page(1, bit), page(2, rgb), page(3, other)};
    s2d_plan p = {0};
    CHECK(s2d_plan_pages(doc, 4, S2D_PAGES_DOCUMENT, "DOC", &s2d_codec_native, 1000, &o, &p,
                         &err));
    CHECK(p.ninstances == 3);
    if (p.ninstances == 3) {
        CHECK(p.instances[0].iod == &s2d_iod_sc_bit && p.instances[0].nframes == 2 &&
              p.instances[0].first_page == 0 && !strcmp(p.instances[0].name, "image-001.dcm"));
        CHECK(p.instances[1].iod == &s2d_iod_sc_colour && p.instances[1].first_page == 2);
        CHECK(p.instances[2].iod == &s2d_iod_sc_bit && p.instances[2].width == 8 &&
              !strcmp(p.instances[2].name, "image-003.dcm"));
    }
    s2d_plan_free(&p);
    // One instance per page on request.
    o.pages_as_instances = true;
    p = (s2d_plan){0};
    CHECK(s2d_plan_pages(doc, 2, S2D_PAGES_DOCUMENT, "DOC", &s2d_codec_native, 1000, &o, &p,
                         &err));
    CHECK(p.ninstances == 2);
    s2d_plan_free(&p);
    o.pages_as_instances = false;
    // Radiology: 16-bit to Word, min-is-white to the single-frame SC, 8-bit to Byte.
    s2d_page_desc rad[] = {page(0, grey(4, 4, 16, S2D_COLOUR_MONO_MIN_IS_BLACK, false)),
                           page(1, grey(4, 4, 16, S2D_COLOUR_MONO_MIN_IS_WHITE, false)),
                           page(2, grey(4, 4, 16, S2D_COLOUR_MONO_MIN_IS_WHITE, false)),
                           page(3, grey(4, 4, 8, S2D_COLOUR_MONO_MIN_IS_BLACK, false))};
    p = (s2d_plan){0};
    CHECK(s2d_plan_pages(rad, 4, S2D_PAGES_RADIOLOGY, "CT", &s2d_codec_native, 1000, &o, &p,
                         &err));
    CHECK(p.ninstances == 4);
    if (p.ninstances == 4) {
        CHECK(p.instances[0].iod == &s2d_iod_sc_word);
        CHECK(p.instances[1].iod == &s2d_iod_sc_image && p.instances[1].nframes == 1);
        CHECK(p.instances[2].iod == &s2d_iod_sc_image);
        CHECK(p.instances[3].iod == &s2d_iod_sc_byte);
    }
    s2d_plan_free(&p);
    // A size cap splits a run: 16-bit 4x4 frames are 32 bytes (+1 for a safe bound).
    s2d_page_desc stack[5];
    for (uint32_t i = 0; i < 5; i++) {
        stack[i] = page(i, grey(4, 4, 16, S2D_COLOUR_MONO_MIN_IS_BLACK, false));
    }
    o.max_instance_bytes = 1000 + 3 * 33;
    p = (s2d_plan){0};
    CHECK(s2d_plan_pages(stack, 5, S2D_PAGES_RADIOLOGY, "CT", &s2d_codec_native, 1000, &o, &p,
                         &err));
    CHECK(p.ninstances == 2 && p.instances[0].nframes == 3 && p.instances[1].nframes == 2);
    s2d_plan_free(&p);
    // A page alone over the cap is the option's error.
    o.max_instance_bytes = 1020;
    p = (s2d_plan){0};
    CHECK(!s2d_plan_pages(stack, 5, S2D_PAGES_RADIOLOGY, "CT", &s2d_codec_native, 1000, &o, &p,
                          &err));
    CHECK(err.code == S2D_ERR_USAGE && strstr(err.message, "--max-instance-size"));
    s2d_plan_free(&p);
    o.max_instance_bytes = 0;
    // Photographs: one VL instance per page; endoscopic with ES; never 16 bits.
    s2d_page_desc photo[] = {page(0, rgb), page(1, rgb)};
    p = (s2d_plan){0};
    CHECK(s2d_plan_pages(photo, 2, S2D_PAGES_PHOTO, "ES", &s2d_codec_native, 1000, &o, &p,
                         &err));
    CHECK(p.ninstances == 2 && p.instances[0].iod == &s2d_iod_vl_endoscopic);
    s2d_plan_free(&p);
    p = (s2d_plan){0};
    err = (s2d_error){0};
    CHECK(!s2d_plan_pages(rad, 1, S2D_PAGES_PHOTO, "XC", &s2d_codec_native, 1000, &o, &p,
                          &err));
    CHECK(err.code == S2D_ERR_INPUT && strstr(err.message, "--kind"));
    s2d_plan_free(&p);
    // Page names are the page IODs' output names.
    CHECK(s2d_iod_is_page_name("image-001.dcm") && s2d_iod_is_page_name("image-1234.dcm"));
    CHECK(!s2d_iod_is_page_name("image-01.dcm") && !s2d_iod_is_page_name("level-0.dcm"));
}

int main(void)
{
    RUN(test_window_percentiles);
    RUN(test_pixmap);
    RUN(test_plan_pages);
    return harness_failures != 0;
}
