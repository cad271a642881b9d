// SPDX-License-Identifier: Apache-2.0
/* The fallback format, last in the registry: everything OpenSlide 3.4.1 reads that no
 * format before it took; decode only. OpenSlide's property names end here: they become the
 * source's typed metadata. OpenSlide returns premultiplied ARGB; every pixel leaving this
 * file is straight RGB on the background. */
#include <inttypes.h>
#include <math.h>
#include <openslide.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dynlib.h"
#include "source/source_impl.h"

typedef struct os_source {
    openslide_t *osr;
    // OpenSlide's names of the associated images, parallel to src->associated.
    const char *associated_names[S2D_MAX_ASSOCIATED];
} os_source;

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
static s2d_error load_error;   // S2D_OK once OpenSlide is loaded
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
    s2d_dynlib_load(OPENSLIDE_SONAME, syms, sizeof syms / sizeof *syms, &load_error);
}

static bool loaded(s2d_error *err)
{
    pthread_once(&openslide_once, load_openslide);
    return load_error.code == S2D_OK ||
           s2d_error_set(err, load_error.code, "%s", load_error.message);
}

static openslide_t *osr_of(const s2d_source *src)
{
    return ((const os_source *)src->impl)->osr;
}

static void os_close(s2d_source *src)
{
    os_source *os = src->impl;
    if (os) {
        if (os->osr) {
            lib.close(os->osr);
        }
        free(os);
        src->impl = NULL;
    }
}

static void *os_ctx_new(s2d_source *src, int max_w, int max_h)
{
    (void)src;
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

static void os_ctx_free(s2d_source *src, void *ctx)
{
    (void)src;
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

static bool os_read_region(s2d_source *src, void *ctx, int level, int64_t x, int64_t y,
                           int64_t w, int64_t h, uint8_t *rgb, size_t stride, int *bad_tiles,
                           s2d_error *err)
{
    (void)bad_tiles;   // OpenSlide fails the whole read instead
    os_ctx *c = ctx;
    if ((size_t)(w * h) > c->cap) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "region %lldx%lld too large", (long long)w,
                             (long long)h);
    }
    double ds = src->levels[level].downsample;
    lib.read_region(osr_of(src), c->argb, llround(x * ds), llround(y * ds), level, w, h);
    const char *oerr = lib.get_error(osr_of(src));
    if (oerr) {
        return s2d_error_set(err, S2D_ERR_INPUT, "cannot read the slide's pixels: %s", oerr);
    }
    for (int64_t row = 0; row < h; row++) {
        argb_to_rgb(c->argb + row * w, w, rgb + (size_t)row * stride, src->meta.background);
    }
    return true;
}

static bool os_read_associated(s2d_source *src, const s2d_source_image *img, uint8_t **rgb,
                               int64_t *w, int64_t *h, s2d_error *err)
{
    const os_source *os = src->impl;
    const char *name = os->associated_names[img - src->associated];
    const char *what = s2d_role_name(img->role);
    *rgb = NULL;
    // OpenSlide errors are sticky: a corrupt label would poison every later read of the
    // pyramid. A handle of its own keeps a broken associated image a warning.
    openslide_t *osr = lib.open(src->path);
    if (!osr || lib.get_error(osr)) {
        if (osr) {
            lib.close(osr);
        }
        return s2d_error_set(err, S2D_ERR_INPUT, "cannot reopen the slide for the %s image", what);
    }
    bool ok = false;
    uint32_t *argb = NULL;
    lib.get_associated_image_dimensions(osr, name, w, h);
    if (*w <= 0 || *h <= 0 || *w > 65535 || *h > 65535) {
        s2d_error_set(err, S2D_ERR_INPUT, "the %s image has no usable size", what);
        goto out;
    }
    size_t n = (size_t)*w * (size_t)*h;
    argb = malloc(n * sizeof *argb);
    *rgb = malloc(n * 3);
    if (!argb || !*rgb) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory reading the %s image", what);
        goto out;
    }
    lib.read_associated_image(osr, name, argb);
    const char *oerr = lib.get_error(osr);
    if (oerr) {
        s2d_error_set(err, S2D_ERR_INPUT, "cannot read the %s image: %s", what, oerr);
        goto out;
    }
    argb_to_rgb(argb, (int64_t)n, *rgb, src->meta.background);
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

static const s2d_source_ops openslide_ops = {
    .close = os_close,
    .ctx_new = os_ctx_new,
    .ctx_free = os_ctx_free,
    .read_region = os_read_region,
    .read_associated = os_read_associated,
};

// ------------------------------------------------------------------ typed metadata

// A property's value; NULL when absent or empty.
static const char *prop(openslide_t *osr, const char *name)
{
    const char *v = lib.get_property_value(osr, name);
    return v && v[0] ? v : NULL;
}

// What each vendor's properties say of the scanner: a manufacturer the format implies
// (or NULL), the properties naming it, its model, serial number and software (NULL:
// none), and the format's name for people.
static const struct vendor_device {
    const char *vendor, *title, *manufacturer;
    const char *manufacturer_key, *model_key, *serial_key, *software_key;
} vendor_devices[] = {
    {"hamamatsu", "Hamamatsu NDPI/VMS", "Hamamatsu", NULL, "hamamatsu.Product",
     "hamamatsu.NDP.S/N", NULL},
    {"leica", "Leica SCN", "Leica", NULL, "leica.device-model", NULL, "leica.device-version"},
    {"mirax", "MIRAX", "3DHISTECH", NULL, NULL, "mirax.GENERAL.SCANNER_HARDWARE_ID",
     "mirax.NONHIERLAYER_0_SECTION.SCANNER_SOFTWARE_VERSION"},
    {"philips", "Philips TIFF", NULL, "philips.DICOM_MANUFACTURER", NULL,
     "philips.DICOM_DEVICE_SERIAL_NUMBER", "philips.DICOM_SOFTWARE_VERSIONS"},
    {"ventana", "Ventana BIF", "Ventana", NULL, "ventana.ScannerModel", "ventana.UnitNumber",
     "ventana.BuildVersion"},
    {"sakura", "Sakura SVSlide", "Sakura", NULL, NULL, NULL, NULL},
    {"trestle", "Trestle TIFF", "Trestle", NULL, NULL, NULL, NULL},
    {"generic-tiff", "tiled TIFF", NULL, NULL, NULL, NULL, NULL},
};

// The scanner as the vendor's properties name it, then the TIFF's Make, Model and Software
// (tiff.*) for what they leave unsaid; an Aperio description is read as fmt_aperio reads it.
// @return false only for lack of memory.
static bool read_device(openslide_t *osr, s2d_source_meta *m)
{
    s2d_source_device *d = &m->device;
    const char *vendor = prop(osr, "openslide.vendor");
    const char *title = vendor ? vendor : "a slide";
    if (vendor && strcmp(vendor, "aperio") == 0) {
        title = "Aperio SVS";
        if (!s2d_aperio_device(prop(osr, "openslide.comment"), d)) {
            return false;
        }
    }
    for (size_t i = 0; vendor && i < sizeof vendor_devices / sizeof *vendor_devices; i++) {
        const struct vendor_device *v = &vendor_devices[i];
        if (strcmp(vendor, v->vendor) != 0) {
            continue;
        }
        title = v->title;
        s2d_meta_device_text(d->manufacturer, v->manufacturer_key ? prop(osr, v->manufacturer_key)
                                                                  : v->manufacturer, SIZE_MAX);
        s2d_meta_device_text(d->model, v->model_key ? prop(osr, v->model_key) : NULL, SIZE_MAX);
        s2d_meta_device_text(d->serial, v->serial_key ? prop(osr, v->serial_key) : NULL,
                             SIZE_MAX);
        s2d_meta_device_software_list(d, v->software_key ? prop(osr, v->software_key) : NULL);
    }
    s2d_meta_device_text(d->manufacturer, prop(osr, "tiff.Make"), SIZE_MAX);
    s2d_meta_device_text(d->model, prop(osr, "tiff.Model"), SIZE_MAX);
    if (!d->software[0][0]) {
        s2d_meta_device_software(d, prop(osr, "tiff.Software"), SIZE_MAX);
    }
    snprintf(m->format_title, sizeof m->format_title, "%s, read by OpenSlide", title);
    return true;
}

// @return false only for lack of memory.
static bool read_meta(openslide_t *osr, s2d_source_meta *m)
{
    m->mpp_x = s2d_meta_positive(prop(osr, "openslide.mpp-x"));
    m->mpp_y = s2d_meta_positive(prop(osr, "openslide.mpp-y"));
    m->objective_power = s2d_meta_positive(prop(osr, "openslide.objective-power"));
    if (!s2d_meta_us_datetime(prop(osr, "aperio.Date"), prop(osr, "aperio.Time"),
                              prop(osr, "aperio.Time Zone"), m->acquisition_datetime) &&
        !s2d_meta_tiff_datetime(prop(osr, "leica.creation-date"), m->acquisition_datetime) &&
        !s2d_meta_tiff_datetime(prop(osr, "ventana.ScanDate"), m->acquisition_datetime) &&
        !s2d_meta_dmy_datetime(prop(osr, "mirax.GENERAL.SLIDE_CREATIONDATETIME"), NULL,
                               m->acquisition_datetime) &&
        !s2d_meta_tiff_datetime(prop(osr, "tiff.DateTime"), m->acquisition_datetime)) {
        m->acquisition_datetime[0] = '\0';
    }
    static const char *const barcode_keys[] = {"aperio.Barcode", "leica.barcode",
                                               "ventana.Barcode"};
    for (size_t i = 0; i < sizeof barcode_keys / sizeof *barcode_keys; i++) {
        const char *b = prop(osr, barcode_keys[i]);
        if (b) {
            snprintf(m->barcode, sizeof m->barcode, "%s", b);
            break;
        }
    }
    // Hamamatsu's filter cube, in a property's name or value.
    bool found = false, ok = true;
    for (const char *const *names = lib.get_property_names(osr); names && *names && !found && ok;
         names++) {
        ok = s2d_meta_fluorescence(*names, m, &found) &&
             (found || s2d_meta_fluorescence(lib.get_property_value(osr, *names), m, &found));
    }
    s2d_meta_default_background(m);
    const char *bg = prop(osr, "openslide.background-color");
    unsigned rgb;
    if (bg && strlen(bg) == 6 && sscanf(bg, "%6x", &rgb) == 1) {
        m->background[0] = (uint8_t)(rgb >> 16);
        m->background[1] = (uint8_t)(rgb >> 8);
        m->background[2] = (uint8_t)rgb;
    }
    return ok && read_device(osr, m);
}

// OpenSlide does not say which stored image a level or an associated image is: the lossy
// history of a TIFF-based file's image of the same size is taken, the first such IFD.
static s2d_lossy_history history_by_size(const s2d_source *src, int64_t w, int64_t h)
{
    const s2d_lossy_history *found = s2d_source_history_by_size(src, w, h);
    return found ? *found : (s2d_lossy_history){0};
}

static s2d_source_image decoded_rgb(s2d_image_role role, int64_t w, int64_t h)
{
    s2d_source_image img = {.role = role};
    img.pix.width = w > 0 && w <= UINT32_MAX ? (uint32_t)w : 0;
    img.pix.height = h > 0 && h <= UINT32_MAX ? (uint32_t)h : 0;
    img.pix.samples = 3;
    img.pix.bits_allocated = img.pix.bits_stored = 8;
    img.pix.colour = S2D_COLOUR_RGB;
    img.chroma_w = img.chroma_h = 1;
    return img;
}

static bool list_associated(s2d_source *src, openslide_t *osr)
{
    static const struct { const char *name; s2d_image_role role; } known[] = {
        {"label", S2D_IMAGE_LABEL},
        {"macro", S2D_IMAGE_OVERVIEW},
        {"thumbnail", S2D_IMAGE_THUMBNAIL}};
    os_source *os = src->impl;
    for (const char *const *names = lib.get_associated_image_names(osr); names && *names;
         names++) {
        for (size_t k = 0; k < sizeof known / sizeof *known; k++) {
            if (strcmp(*names, known[k].name) != 0 || src->nassociated == S2D_MAX_ASSOCIATED) {
                continue;
            }
            int64_t w = 0, h = 0;
            lib.get_associated_image_dimensions(osr, *names, &w, &h);
            s2d_source_image *img = &src->associated[src->nassociated];
            *img = decoded_rgb(known[k].role, w, h);
            img->history = history_by_size(src, w, h);
            os->associated_names[src->nassociated++] = known[k].name;
        }
    }
    return true;
}

// ------------------------------------------------------------------ sizes

// OpenSlide decodes a whole tile (or strip) at once into 32-bit ARGB, and aborts the
// process when it cannot allocate that (a 65536-pixel tile asks for 16 GiB): no error
// comes back, and the output would be left half written. Past S2D_MAX_DECODED_TILE_BYTES,
// a file is refused before any OpenSlide call.

// The pixels of one tile, or of one strip, of d.
static void chunk_size(const s2d_tiff_ifd *d, uint32_t *w, uint32_t *h)
{
    *w = d->tiled ? d->tile_w : d->width;
    *h = d->tiled                                                 ? d->tile_h
         : d->rows_per_strip && d->rows_per_strip < d->height ? d->rows_per_strip
                                                               : d->height;
}

// The bytes one decoded tile or strip of d takes: the ARGB OpenSlide allocates, or libtiff's
// own decoding when its samples are wider.
static uint64_t chunk_bytes(const s2d_tiff_ifd *d)
{
    uint32_t w, h;
    chunk_size(d, &w, &h);
    uint64_t pixel = (uint64_t)(d->samples ? d->samples : 1) * ((d->bits + 7u) / 8u);
    return (uint64_t)w * h * (pixel > 4 ? pixel : 4);
}

// The first directory of td whose tiles or strips decode past S2D_MAX_DECODED_TILE_BYTES,
// or -1.
// JPEG strips are left out: they are NDPI's whole-level images, which OpenSlide decodes a
// restart interval at a time.
static int oversized_chunk(const s2d_tiffdir *td)
{
    for (int i = 0; td && i < td->n; i++) {
        const s2d_tiff_ifd *d = &td->ifds[i];
        bool jpeg_strip = !d->tiled && d->compression == 7;
        if (!jpeg_strip && chunk_bytes(d) > S2D_MAX_DECODED_TILE_BYTES) {
            return i;
        }
    }
    return -1;
}

// ------------------------------------------------------------------ the format

static bool os_detect(const char *path, const s2d_tiffdir *td)
{
    // Without OpenSlide, or with tiles it must not see, open() says why.
    pthread_once(&openslide_once, load_openslide);
    return load_error.code != S2D_OK || oversized_chunk(td) >= 0 ||
           lib.detect_vendor(path) != NULL;
}

static bool os_open(s2d_source *src, s2d_error *err)
{
    const s2d_tiffdir *td = src->tiffdir;
    int big = oversized_chunk(td);
    if (big >= 0) {
        const s2d_tiff_ifd *d = &td->ifds[big];
        uint32_t w, h;
        chunk_size(d, &w, &h);
        return s2d_error_set(err, S2D_ERR_INPUT,
                             "image %d has %s of %" PRIu32 " x %" PRIu32 " pixels (%" PRIu64
                             " MiB decoded), more than the %llu MiB allowed",
                             big, d->tiled ? "tiles" : "strips", w, h, chunk_bytes(d) >> 20,
                             S2D_MAX_DECODED_TILE_BYTES >> 20);
    }
    if (!loaded(err)) {
        return false;
    }
    openslide_t *osr = lib.open(src->path);
    const char *oerr = osr ? lib.get_error(osr) : "OpenSlide could not open it";
    if (oerr) {
        const char *vendor = lib.detect_vendor(src->path);
        s2d_error_set(err, S2D_ERR_INPUT, "cannot open the %s slide: %s", vendor ? vendor : "",
                      oerr);
        if (osr) {
            lib.close(osr);
        }
        return false;
    }
    os_source *os = calloc(1, sizeof *os);
    if (!os) {
        lib.close(osr);
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    os->osr = osr;
    src->ops = &openslide_ops;
    src->impl = os;
    int32_t n = lib.get_level_count(osr);
    src->levels = calloc(n > 0 ? (size_t)n : 1, sizeof *src->levels);
    if (n <= 0 || !src->levels) {
        return s2d_error_set(err, S2D_ERR_INPUT, "the slide has no readable levels");
    }
    src->nlevels = n;
    for (int i = 0; i < n; i++) {
        int64_t w = 0, h = 0;
        lib.get_level_dimensions(osr, i, &w, &h);
        src->levels[i] = decoded_rgb(S2D_IMAGE_LEVEL, w, h);
        src->levels[i].index.level = i;
        src->levels[i].downsample = lib.get_level_downsample(osr, i);
        src->levels[i].history = history_by_size(src, w, h);
    }
    if (!read_meta(osr, &src->meta) || !list_associated(src, osr) ||
        !s2d_meta_take_icc(src->tiffdir, &src->meta)) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    return true;
}

// The names a batch takes as slides OpenSlide reads (TIFF-based ones are also recognised by
// their first bytes).
static const char *const os_extensions[] = {".svs", ".tif", ".tiff", ".ndpi", ".scn", ".bif",
                                            ".svslide", ".mrxs", ".vms", ".vmu", NULL};

const s2d_format s2d_format_openslide = {
    .name = "openslide",
    .extensions = os_extensions,
    .reads_tiff = true,
    .detect = os_detect,
    .open = os_open,
};
