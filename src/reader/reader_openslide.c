/* Reader backend on OpenSlide 3.4.1: levels, properties and regions, for every format the
 * TIFF backend does not take. OpenSlide returns premultiplied ARGB; every pixel leaving this
 * file is straight RGB on the background. */
#include <math.h>
#include <openslide.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dynlib.h"
#include "reader/reader_impl.h"

typedef struct os_ctx {
    uint32_t *argb;          // scratch for one region
    size_t cap;              // pixels
} os_ctx;

// The runtime of the OpenSlide we compile against (CMakeLists.txt derives its name from the
// version: libopenslide.so.0 for 3.x, Debian 12's; .so.1 from 4.0).
#ifndef OPENSLIDE_SONAME
#error "OPENSLIDE_SONAME is set by CMakeLists.txt"
#endif

// The OpenSlide functions used here, resolved by load_openslide().
static struct {
    const char *(*detect_vendor)(const char *filename);
    openslide_t *(*open)(const char *filename);
    void (*close)(openslide_t *osr);
    const char *(*get_error)(openslide_t *osr);
    int32_t (*get_level_count)(openslide_t *osr);
    void (*get_level_dimensions)(openslide_t *osr, int32_t level, int64_t *w, int64_t *h);
    double (*get_level_downsample)(openslide_t *osr, int32_t level);
    const char *const *(*get_property_names)(openslide_t *osr);
    const char *(*get_property_value)(openslide_t *osr, const char *name);
    void (*read_region)(openslide_t *osr, uint32_t *dest, int64_t x, int64_t y, int32_t level,
                        int64_t w, int64_t h);
    const char *const *(*get_associated_image_names)(openslide_t *osr);
    void (*get_associated_image_dimensions)(openslide_t *osr, const char *name, int64_t *w,
                                            int64_t *h);
    void (*read_associated_image)(openslide_t *osr, const char *name, uint32_t *dest);
} lib;
static char load_error[256];   // empty once OpenSlide is loaded
static pthread_once_t openslide_once = PTHREAD_ONCE_INIT;

static void load_openslide(void)
{
    const s2d_dynsym syms[] = {
        S2D_DYNSYM("openslide_detect_vendor", lib.detect_vendor),
        S2D_DYNSYM("openslide_open", lib.open),
        S2D_DYNSYM("openslide_close", lib.close),
        S2D_DYNSYM("openslide_get_error", lib.get_error),
        S2D_DYNSYM("openslide_get_level_count", lib.get_level_count),
        S2D_DYNSYM("openslide_get_level_dimensions", lib.get_level_dimensions),
        S2D_DYNSYM("openslide_get_level_downsample", lib.get_level_downsample),
        S2D_DYNSYM("openslide_get_property_names", lib.get_property_names),
        S2D_DYNSYM("openslide_get_property_value", lib.get_property_value),
        S2D_DYNSYM("openslide_read_region", lib.read_region),
        S2D_DYNSYM("openslide_get_associated_image_names", lib.get_associated_image_names),
        S2D_DYNSYM("openslide_get_associated_image_dimensions",
                   lib.get_associated_image_dimensions),
        S2D_DYNSYM("openslide_read_associated_image", lib.read_associated_image),
    };
    s2d_dynlib_load(OPENSLIDE_SONAME, syms, sizeof syms / sizeof *syms, load_error,
                    sizeof load_error);
}

static bool loaded(s2d_error *err)
{
    pthread_once(&openslide_once, load_openslide);
    return !load_error[0] || s2d_error_set(err, S2D_ERR_IO, "%s", load_error);
}

bool s2d_openslide_vendor(const char *path, const char **vendor, s2d_error *err)
{
    if (!loaded(err)) {
        return false;
    }
    *vendor = lib.detect_vendor(path);
    return true;
}

static openslide_t *osr_of(const s2d_reader *r)
{
    return r->impl;
}

static void os_close(s2d_reader *r)
{
    if (r->impl) {
        lib.close(osr_of(r));
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
    lib.read_region(osr_of(r), c->argb, llround(x * ds), llround(y * ds), level, w, h);
    const char *oerr = lib.get_error(osr_of(r));
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
    const char *const *names = lib.get_associated_image_names(osr_of(r));
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
    openslide_t *osr = lib.open(r->path);
    if (!osr || lib.get_error(osr)) {
        if (osr) {
            lib.close(osr);
        }
        return s2d_error_set(err, S2D_ERR_INPUT, "cannot reopen the slide for the %s image", name);
    }
    bool ok = false;
    uint32_t *argb = NULL;
    lib.get_associated_image_dimensions(osr, name, w, h);
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
    lib.read_associated_image(osr, name, argb);
    const char *oerr = lib.get_error(osr);
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
    lib.close(osr);
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
    if (!loaded(err)) {
        return false;
    }
    openslide_t *osr = lib.open(r->path);
    const char *oerr = osr ? lib.get_error(osr) : "OpenSlide could not open it";
    if (oerr) {
        s2d_error_set(err, S2D_ERR_INPUT, "cannot open the %s slide: %s",
                      vendor ? vendor : "", oerr);
        if (osr) {
            lib.close(osr);
        }
        return false;
    }
    r->ops = &openslide_ops;
    r->impl = osr;
    int32_t n = lib.get_level_count(osr);
    r->levels = calloc(n > 0 ? (size_t)n : 1, sizeof *r->levels);
    if (n <= 0 || !r->levels) {
        return s2d_error_set(err, S2D_ERR_INPUT, "the slide has no readable levels");
    }
    r->nlevels = n;
    for (int i = 0; i < n; i++) {
        lib.get_level_dimensions(osr, i, &r->levels[i].width, &r->levels[i].height);
        r->levels[i].downsample = lib.get_level_downsample(osr, i);
    }
    for (const char *const *names = lib.get_property_names(osr); names && *names; names++) {
        const char *v = lib.get_property_value(osr, *names);
        if (!s2d_props_set(&r->props, *names, v ? v : "")) {
            return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        }
    }
    return true;
}
