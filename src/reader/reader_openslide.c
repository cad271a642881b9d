/* Reader backend on OpenSlide 3.4.1: levels, properties and regions, for every format the
 * TIFF backend does not take. OpenSlide returns premultiplied ARGB; every pixel leaving this
 * file is straight RGB on the background. */
#include <math.h>
#include <openslide.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reader/reader_impl.h"

typedef struct os_ctx {
    uint32_t *argb;          // scratch for one region
    size_t cap;              // pixels
} os_ctx;

const char *s2d_openslide_vendor(const char *path)
{
    return openslide_detect_vendor(path);
}

static openslide_t *osr_of(const s2d_reader *r)
{
    return r->impl;
}

static void os_close(s2d_reader *r)
{
    if (r->impl) {
        openslide_close(osr_of(r));
    }
}

static void *os_ctx_new(s2d_reader *r, int max_w, int max_h)
{
    (void)r;
    os_ctx *c = calloc(1, sizeof *c);
    if (c) {
        c->cap = (size_t)max_w * (size_t)max_h;
        c->argb = malloc(c->cap * sizeof *c->argb);
        if (!c->argb) {
            free(c);
            c = NULL;
        }
    }
    return c;
}

static void os_ctx_free(void *ctx)
{
    os_ctx *c = ctx;
    if (c) {
        free(c->argb);
        free(c);
    }
}

// Premultiplied ARGB to straight RGB on the background colour.
static void argb_to_rgb(const uint32_t *src, int64_t n, uint8_t *dst, const uint8_t bg[3])
{
    for (int64_t i = 0; i < n; i++) {
        uint32_t p = src[i];
        uint32_t a = p >> 24;
        uint8_t *o = dst + 3 * i;
        if (a == 255) {
            o[0] = (uint8_t)(p >> 16);
            o[1] = (uint8_t)(p >> 8);
            o[2] = (uint8_t)p;
        } else if (a == 0) {
            o[0] = bg[0];
            o[1] = bg[1];
            o[2] = bg[2];
        } else {
            // Straight colour, as a DICOM pixel has no alpha.
            for (int c = 0; c < 3; c++) {
                uint32_t v = (p >> (16 - 8 * c)) & 0xFF;
                uint32_t straight = (v * 255 + a / 2) / a;
                o[c] = (uint8_t)(straight > 255 ? 255 : straight);
            }
        }
    }
}

static bool os_read_region(s2d_reader *r, void *ctx, int level, int64_t x, int64_t y, int64_t w,
                           int64_t h, uint8_t *rgb, size_t stride, int *bad_tiles, s2d_error *err)
{
    (void)bad_tiles;   // OpenSlide fails the whole read instead
    os_ctx *c = ctx;
    if ((size_t)(w * h) > c->cap) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "region %lldx%lld too large", (long long)w,
                             (long long)h);
    }
    double ds = r->levels[level].downsample;
    openslide_read_region(osr_of(r), c->argb, llround(x * ds), llround(y * ds), level, w, h);
    const char *oerr = openslide_get_error(osr_of(r));
    if (oerr) {
        return s2d_error_set(err, S2D_ERR_INPUT, "cannot read the slide's pixels: %s", oerr);
    }
    for (int64_t row = 0; row < h; row++) {
        argb_to_rgb(c->argb + row * w, w, rgb + (size_t)row * stride, r->meta.background);
    }
    return true;
}

static bool os_has_associated(const s2d_reader *r, const char *name)
{
    const char *const *names = openslide_get_associated_image_names(osr_of(r));
    for (; names && *names; names++) {
        if (strcmp(*names, name) == 0) {
            return true;
        }
    }
    return false;
}

static bool os_read_associated(s2d_reader *r, const char *name, uint8_t **rgb, int64_t *w,
                               int64_t *h, s2d_error *err)
{
    *rgb = NULL;
    // OpenSlide errors are sticky: a corrupt label would poison every later read of the
    // pyramid. A handle of its own keeps a broken associated image a warning.
    openslide_t *osr = openslide_open(r->path);
    if (!osr || openslide_get_error(osr)) {
        if (osr) {
            openslide_close(osr);
        }
        return s2d_error_set(err, S2D_ERR_INPUT, "cannot reopen the slide for the %s image", name);
    }
    bool ok = false;
    uint32_t *argb = NULL;
    openslide_get_associated_image_dimensions(osr, name, w, h);
    if (*w <= 0 || *h <= 0 || *w > 65535 || *h > 65535) {
        s2d_error_set(err, S2D_ERR_INPUT, "the %s image has no usable size", name);
        goto out;
    }
    size_t n = (size_t)*w * (size_t)*h;
    argb = malloc(n * sizeof *argb);
    *rgb = malloc(n * 3);
    if (!argb || !*rgb) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory reading the %s image", name);
        goto out;
    }
    openslide_read_associated_image(osr, name, argb);
    const char *oerr = openslide_get_error(osr);
    if (oerr) {
        s2d_error_set(err, S2D_ERR_INPUT, "cannot read the %s image: %s", name, oerr);
        goto out;
    }
    argb_to_rgb(argb, (int64_t)n, *rgb, r->meta.background);
    ok = true;
out:
    if (!ok) {
        free(*rgb);
        *rgb = NULL;
    }
    free(argb);
    openslide_close(osr);
    return ok;
}

static const s2d_reader_ops openslide_ops = {
    .close = os_close,
    .ctx_new = os_ctx_new,
    .ctx_free = os_ctx_free,
    .read_region = os_read_region,
    .read_frame = NULL,
    .has_associated = os_has_associated,
    .read_associated = os_read_associated,
};

bool s2d_openslide_backend_open(s2d_reader *r, const char *vendor, s2d_error *err)
{
    openslide_t *osr = openslide_open(r->path);
    const char *oerr = osr ? openslide_get_error(osr) : "OpenSlide could not open it";
    if (oerr) {
        s2d_error_set(err, S2D_ERR_INPUT, "cannot open the %s slide: %s",
                      vendor ? vendor : "", oerr);
        if (osr) {
            openslide_close(osr);
        }
        return false;
    }
    r->ops = &openslide_ops;
    r->impl = osr;
    int32_t n = openslide_get_level_count(osr);
    r->levels = calloc(n > 0 ? (size_t)n : 1, sizeof *r->levels);
    if (n <= 0 || !r->levels) {
        return s2d_error_set(err, S2D_ERR_INPUT, "the slide has no readable levels");
    }
    r->nlevels = n;
    for (int i = 0; i < n; i++) {
        openslide_get_level_dimensions(osr, i, &r->levels[i].width, &r->levels[i].height);
        r->levels[i].downsample = openslide_get_level_downsample(osr, i);
    }
    for (const char *const *names = openslide_get_property_names(osr); names && *names; names++) {
        const char *v = openslide_get_property_value(osr, *names);
        if (!s2d_props_set(&r->props, *names, v ? v : "")) {
            return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        }
    }
    return true;
}
