// SPDX-License-Identifier: Apache-2.0
/* The plain-TIFF source against the fixtures of tools/make_plain_tiff.c: for every file of
 * its manifest, the pages (reduced-resolution directories left out), each page's pixel
 * description and facts, every row read_rows hands out against the samples the writer gave
 * libtiff (NAME.values; exactly for lossless pages, alpha put on white, within a bound for
 * JPEG), the kind and its reason against the manifest's, and the bad files' one-line
 * reasons.
 * usage: test_plain_fixtures FIXTURE_DIR */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#include "harness.h"
#include "source/source.h"

static const char *dir;

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static long num(json_t *o, const char *key)
{
    return (long)json_integer_value(json_object_get(o, key));
}

// The sample bytes of a manifest dtype ("u1", "i2", "f4"...).
static size_t dtype_bytes(const char *dtype)
{
    return (size_t)(dtype[1] - '0');
}

static s2d_page_compression compression_named(const char *name)
{
    static const struct {
        const char *name;
        s2d_page_compression c;
    } names[] = {{"none", S2D_PAGE_UNCOMPRESSED}, {"lzw", S2D_PAGE_LZW},
                 {"deflate", S2D_PAGE_DEFLATE},    {"packbits", S2D_PAGE_PACKBITS},
                 {"ccitt_g4", S2D_PAGE_CCITT},     {"ccitt_g3", S2D_PAGE_CCITT},
                 {"jpeg", S2D_PAGE_JPEG},          {"old_jpeg", S2D_PAGE_OLD_JPEG}};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        if (strcmp(name, names[i].name) == 0) {
            return names[i].c;
        }
    }
    return S2D_PAGE_OTHER;
}

static uint8_t *read_values(const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    if (f && fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        rewind(f);
        data = n > 0 ? malloc((size_t)n) : NULL;
        if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
            free(data);
            data = NULL;
        }
        *len = n > 0 ? (size_t)n : 0;
    }
    if (f) {
        fclose(f);
    }
    return data;
}

// Sample s of pixel i of the writer's values (little-endian, as written), widened.
static double written_sample(const uint8_t *v, const char *dtype, size_t i)
{
    size_t b = dtype_bytes(dtype);
    uint8_t le[8] = {0};
    memcpy(le, v + i * b, b);
    uint64_t u = 0;
    for (size_t k = 0; k < b; k++) {
        u |= (uint64_t)le[k] << (8 * k);
    }
    if (dtype[0] == 'f') {
        float f;
        uint32_t u32 = (uint32_t)u;
        memcpy(&f, &u32, 4);
        return f;
    }
    if (dtype[0] == 'i') {
        return b == 1 ? (int8_t)u : b == 2 ? (int16_t)u : (int32_t)u;
    }
    return (double)u;
}

static double handed_sample(const uint8_t *row, const s2d_pixdesc *pix, size_t k)
{
    switch (pix->bits_allocated) {
    case 1:
    case 8:
        return pix->is_signed ? (int8_t)row[k] : row[k];
    case 16: {
        uint16_t v;
        memcpy(&v, row + 2 * k, 2);
        return pix->is_signed ? (int16_t)v : v;
    }
    default: {
        uint32_t v;
        memcpy(&v, row + 4 * k, 4);
        if (pix->is_float) {
            float f;
            memcpy(&f, &v, 4);
            return f;
        }
        return pix->is_signed ? (double)(int32_t)v : (double)v;
    }
    }
}

// One page: description, facts, rows.
static void check_page(s2d_source *src, int i, json_t *mp, const uint8_t *values, size_t nvalues,
                       const char *file)
{
    const s2d_source_image *img = s2d_source_page(src, i);
    const s2d_pixdesc *pix = &img->pix;
    const s2d_page_facts *f = s2d_source_page_facts(src, i);
    const char *dtype = str(mp, "dtype"), *photometric = str(mp, "photometric");
    const char *alpha = str(mp, "alpha"), *compression = str(mp, "compression");
    uint32_t w = (uint32_t)num(mp, "width"), h = (uint32_t)num(mp, "height");
    int samples = (int)num(mp, "samples"), bits = (int)num(mp, "bits");
    int colour = strcmp(alpha, "none") != 0 ? samples - 1 : samples;
    bool lossy = strstr(compression, "jpeg") != NULL;
    s2d_colour want_colour = strcmp(photometric, "min-is-black") == 0   ? S2D_COLOUR_MONO_MIN_IS_BLACK
                             : strcmp(photometric, "min-is-white") == 0 ? S2D_COLOUR_MONO_MIN_IS_WHITE
                             : strcmp(photometric, "palette") == 0      ? S2D_COLOUR_PALETTE
                                                                        : S2D_COLOUR_RGB;
    int before = harness_failures;
    CHECK(img->role == S2D_IMAGE_PAGE && img->index.page == i);
    CHECK(pix->width == w && pix->height == h && pix->samples == colour && !pix->planar);
    CHECK(pix->colour == want_colour);
    CHECK(pix->is_float == (dtype[0] == 'f') && pix->is_signed == (dtype[0] == 'i'));
    CHECK(pix->bits_allocated == (bits == 1 ? 1 : 8 * dtype_bytes(dtype)));
    CHECK(f->bits_per_sample == bits && f->orientation == num(mp, "orientation"));
    CHECK(f->compression == compression_named(compression));
    CHECK(f->alpha == (strcmp(alpha, "associated") == 0     ? S2D_ALPHA_ASSOCIATED
                       : strcmp(alpha, "unassociated") == 0 ? S2D_ALPHA_UNASSOCIATED
                                                            : S2D_ALPHA_NONE));
    CHECK(f->ycbcr == (strcmp(photometric, "ycbcr") == 0));
    const char *format = str(mp, "format");
    CHECK(f->sample_format == (strcmp(format, "int") == 0     ? S2D_SAMPLE_INT
                               : strcmp(format, "float") == 0 ? S2D_SAMPLE_FLOAT
                                                              : S2D_SAMPLE_UINT));
    double dpi = json_number_value(json_object_get(mp, "dpi"));
    CHECK(fabs(f->x_px_per_mm * 25.4 - dpi) < 1e-6 && fabs(f->y_px_per_mm * 25.4 - dpi) < 1e-6);
    CHECK(img->history.method == (lossy ? S2D_LOSSY_JPEG : S2D_LOSSY_NONE));

    size_t offset = (size_t)num(mp, "values_offset");
    size_t count = (size_t)w * h * (size_t)samples;
    if (!values || offset + count * dtype_bytes(dtype) > nvalues) {
        CHECK(!"the page's values are in the values file");
        return;
    }
    const uint8_t *v = values + offset;
    size_t stride = s2d_pixdesc_row_bytes(pix);
    uint8_t *rows = malloc(stride * h);
    s2d_error err = {0};
    // In two calls, the second starting inside a strip the first ended in.
    uint32_t first = h / 3;
    bool ok = s2d_source_read_rows(src, i, 0, first, rows, stride, &err) &&
              s2d_source_read_rows(src, i, first, h - first, rows + first * stride, stride, &err);
    CHECK(ok);
    double worst = 0, total = 0;
    for (uint32_t y = 0; ok && y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            size_t px = (size_t)y * w + x;
            double a = colour < samples ? written_sample(v, dtype, px * samples + colour) : 255;
            for (int s = 0; s < colour; s++) {
                double want = written_sample(v, dtype, px * samples + (size_t)s);
                if (strcmp(alpha, "associated") == 0) {
                    want = fmin(255, want + 255 - a);
                } else if (strcmp(alpha, "unassociated") == 0) {
                    want = floor((want * a + 255 * (255 - a) + 127) / 255);
                }
                double got = handed_sample(rows + y * stride, pix, (size_t)x * colour + s);
                double d = isnan(want) && isnan(got) ? 0 : fabs(got - want);
                worst = d > worst || isnan(d) ? d : worst;
                total += d;
            }
        }
    }
    // JPEG: near on average (chroma is halved: single samples at colour edges are far off);
    // the rest exactly.
    if (lossy) {
        CHECK(total / ((double)w * h * colour) < 3);
    } else {
        CHECK(worst == 0);
    }
    if (harness_failures != before) {
        fprintf(stderr, "  %s page %d: worst %g mean %g %s\n", file, i, worst,
                total / ((double)w * h * colour), ok ? "" : err.message);
    }
    free(rows);
}

static void check_fixture(json_t *fx)
{
    const char *file = str(fx, "file"), *error = str(fx, "error");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    s2d_error err = {0};
    s2d_source *src = s2d_source_open(path, &err);
    if (error[0]) {
        if (src) {
            uint8_t row[1 << 16];
            CHECK(s2d_source_page_count(src) > 0 &&
                  !s2d_source_read_rows(src, 0, 0, 1, row, sizeof row, &err));
        }
        if (err.code != S2D_ERR_INPUT || !strstr(err.message, error) || strchr(err.message, '\n')) {
            fprintf(stderr, "  %s: \"%s\", want one line with \"%s\"\n", file, err.message, error);
            CHECK(!"the bad file's reason");
        }
        s2d_source_close(src);
        return;
    }
    if (!src || strcmp(s2d_source_format(src), "plain-tiff") != 0) {
        fprintf(stderr, "  %s: %s\n", file, src ? s2d_source_format(src) : err.message);
        CHECK(!"opened as a plain TIFF");
        s2d_source_close(src);
        return;
    }
    size_t nvalues = 0;
    uint8_t *values = read_values(str(fx, "values"), &nvalues);
    json_t *pages = json_object_get(fx, "pages");
    int page = 0;
    for (size_t k = 0; k < json_array_size(pages); k++) {
        json_t *mp = json_array_get(pages, k);
        if (json_is_null(json_object_get(mp, "page"))) {
            continue;   // a reduced-resolution directory
        }
        if (page < s2d_source_page_count(src)) {
            check_page(src, page, mp, values, nvalues, file);
        }
        page++;
    }
    CHECK(s2d_source_page_count(src) == page);
    char reason[128];
    s2d_tiff_kind kind = s2d_source_kind(src, reason);
    if (strcmp(s2d_kind_name(kind), str(fx, "kind")) != 0 || strcmp(reason, str(fx, "marks")) != 0) {
        fprintf(stderr, "  %s: %s \"%s\", want %s \"%s\"\n", file, s2d_kind_name(kind), reason,
                str(fx, "kind"), str(fx, "marks"));
        CHECK(!"the manifest's kind and reason");
    }
    const s2d_source_meta *m = s2d_source_meta_of(src);
    if (strcmp(file, "imagej_range.tif") == 0) {
        CHECK(m->has_display_range && m->display_min == 100 && m->display_max == 2500);
    } else {
        CHECK(!m->has_display_range);
    }
    if (strcmp(file, "photo_exif.tif") == 0) {
        CHECK(m->exif_present && strcmp(m->device.manufacturer, "ClinicCam") == 0 && m->icc_profile);
    }
    free(values);
    s2d_source_close(src);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s FIXTURE_DIR\n", argv[0]);
        return 2;
    }
    dir = argv[1];
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_error_t jerr;
    json_t *manifest = json_load_file(path, 0, &jerr);
    json_t *fixtures = json_object_get(manifest, "fixtures");
    CHECK(json_array_size(fixtures) >= 50);
    for (size_t i = 0; i < json_array_size(fixtures); i++) {
        int before = harness_failures;
        check_fixture(json_array_get(fixtures, i));
        fprintf(stderr, "%s %s\n", harness_failures == before ? "ok  " : "FAIL",
                str(json_array_get(fixtures, i), "file"));
    }
    json_decref(manifest);
    return harness_failures != 0;
}
