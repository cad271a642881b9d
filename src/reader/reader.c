/* The reader facade: picks a backend, dispatches to it, and derives the slide metadata from
 * the properties either backend produces (OpenSlide's names). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reader/reader_impl.h"

bool s2d_props_set(s2d_props *p, const char *key, const char *value)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 32;
        char **k = realloc(p->keys, cap * sizeof *k);
        if (!k) {
            return false;
        }
        p->keys = k;
        char **v = realloc(p->values, cap * sizeof *v);
        if (!v) {
            return false;
        }
        p->values = v;
        p->cap = cap;
    }
    char *kc = strdup(key), *vc = strdup(value);
    if (!kc || !vc) {
        free(kc);
        free(vc);
        return false;
    }
    p->keys[p->n] = kc;
    p->values[p->n] = vc;
    p->n++;
    return true;
}

const char *s2d_props_get(const s2d_props *p, const char *key)
{
    for (size_t i = p->n; i-- > 0;) {   // the last setting wins
        if (strcmp(p->keys[i], key) == 0) {
            return p->values[i][0] ? p->values[i] : NULL;
        }
    }
    return NULL;
}

void s2d_props_free(s2d_props *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->keys[i]);
        free(p->values[i]);
    }
    free(p->keys);
    free(p->values);
    memset(p, 0, sizeof *p);
}

static double prop_double(const s2d_props *p, const char *name)
{
    const char *v = s2d_props_get(p, name);
    if (!v) {
        return 0;
    }
    char *end;
    double d = strtod(v, &end);
    return end != v && isfinite(d) && d > 0 ? d : 0;
}

// Values were range-checked by the callers; the modulos only tell the compiler so.
static void format_dt(char out[27], int y, int mo, int d, int hh, int mm, int ss)
{
    snprintf(out, 27, "%04u%02u%02u%02u%02u%02u", (unsigned)y % 10000u, (unsigned)mo % 100u,
             (unsigned)d % 100u, (unsigned)hh % 100u, (unsigned)mm % 100u, (unsigned)ss % 100u);
}

// "12/29/09" + "09:59:15" (+ "GMT-05:00") from the Aperio ImageDescription.
static bool aperio_datetime(const s2d_props *p, char out[27])
{
    const char *date = s2d_props_get(p, "aperio.Date"), *time = s2d_props_get(p, "aperio.Time");
    int mo, d, y, hh = 0, mm = 0, ss = 0;
    if (!date || sscanf(date, "%d/%d/%d", &mo, &d, &y) != 3) {
        return false;
    }
    if (y < 100) {
        y += y < 70 ? 2000 : 1900;
    }
    if (time) {
        sscanf(time, "%d:%d:%d", &hh, &mm, &ss);
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || hh < 0 || hh > 23 || mm < 0 || mm > 59 ||
        ss < 0 || ss > 60 || y < 0) {
        return false;
    }
    format_dt(out, y, mo, d, hh, mm, ss);
    const char *tz = s2d_props_get(p, "aperio.Time Zone");
    int tzh, tzm;
    char sign;
    if (tz && sscanf(tz, "GMT%c%d:%d", &sign, &tzh, &tzm) == 3 && (sign == '+' || sign == '-') &&
        tzh >= 0 && tzh <= 14 && tzm >= 0 && tzm < 60) {
        snprintf(out + 14, 13, "%c%02u%02u", sign, (unsigned)tzh % 100u, (unsigned)tzm % 100u);
    }
    return true;
}

// "2009:12:29 09:59:15" (TIFF DateTime) or "2010-10-14T10:20:07" (ISO 8601).
static bool generic_datetime(const char *v, char out[27])
{
    int y, mo, d, hh, mm, ss;
    if (!v || (sscanf(v, "%d:%d:%d %d:%d:%d", &y, &mo, &d, &hh, &mm, &ss) != 6 &&
               sscanf(v, "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &hh, &mm, &ss) != 6)) {
        return false;
    }
    if (y < 1900 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || hh < 0 || hh > 23 ||
        mm < 0 || mm > 59 || ss < 0 || ss > 60) {
        return false;
    }
    format_dt(out, y, mo, d, hh, mm, ss);
    return true;
}

// Hamamatsu fluorescence scans describe their filter cube in a property (whose name OpenSlide
// builds from the same text): "...;ExcitationWaveLength=387;EmissionWaveLength=455;...".
static void detect_fluorescence(const s2d_props *p, s2d_slide_meta *m)
{
    static const char key[] = "ExcitationWaveLength=";
    for (size_t k = 0; k < p->n; k++) {
        const char *texts[2] = {p->keys[k], p->values[k]};
        for (int i = 0; i < 2; i++) {
            const char *at = strstr(texts[i], key);
            if (at) {
                double nm = strtod(at + strlen(key), NULL);
                m->fluorescence = true;
                m->excitation_nm = nm > 100 && nm < 2000 ? nm : 0;
                return;
            }
        }
    }
}

static void read_meta(s2d_reader *r)
{
    s2d_slide_meta *m = &r->meta;
    const s2d_props *p = &r->props;
    const char *vendor = s2d_props_get(p, "openslide.vendor");
    snprintf(m->vendor, sizeof m->vendor, "%s", vendor ? vendor : "");
    m->mpp_x = prop_double(p, "openslide.mpp-x");
    m->mpp_y = prop_double(p, "openslide.mpp-y");
    m->objective_power = prop_double(p, "openslide.objective-power");

    if (!aperio_datetime(p, m->acquisition_datetime) &&
        !generic_datetime(s2d_props_get(p, "leica.creation-date"), m->acquisition_datetime) &&
        !generic_datetime(s2d_props_get(p, "tiff.DateTime"), m->acquisition_datetime)) {
        m->acquisition_datetime[0] = '\0';
    }
    static const char *const barcode_keys[] = {"aperio.Barcode", "leica.barcode",
                                               "ventana.Barcode"};
    for (size_t i = 0; i < sizeof barcode_keys / sizeof *barcode_keys; i++) {
        const char *b = s2d_props_get(p, barcode_keys[i]);
        if (b) {
            snprintf(m->barcode, sizeof m->barcode, "%s", b);
            break;
        }
    }
    detect_fluorescence(p, m);
    // Empty glass is white in brightfield and black in fluorescence.
    memset(m->background, m->fluorescence ? 0 : 255, 3);
    const char *bg = s2d_props_get(p, "openslide.background-color");
    unsigned rgb;
    if (bg && strlen(bg) == 6 && sscanf(bg, "%6x", &rgb) == 1) {
        m->background[0] = (uint8_t)(rgb >> 16);
        m->background[1] = (uint8_t)(rgb >> 8);
        m->background[2] = (uint8_t)rgb;
    }
    s2d_tiff_info_read(r->path, m);
}

// The formats whose layout the TIFF backend knows. Others (Leica SCN: several images in
// one file; Ventana BIF: overlapping tiles; Philips: level sizes in XML) stay with OpenSlide.
static bool tiff_backend_candidate(const char *vendor, const char *path)
{
    if (!vendor) {
        return false;
    }
    if (strcmp(vendor, "hamamatsu") == 0) {
        size_t n = strlen(path);
        return n > 5 && strcasecmp(path + n - 5, ".ndpi") == 0;
    }
    return strcmp(vendor, "aperio") == 0 || strcmp(vendor, "generic-tiff") == 0;
}

s2d_reader *s2d_reader_open(const char *path, s2d_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0 || access(path, R_OK) != 0) {
        // A missing file is bad input; a file we may not read is an I/O problem.
        s2d_error_set(err, errno == ENOENT || errno == ENOTDIR ? S2D_ERR_INPUT : S2D_ERR_IO, "%s",
                      strerror(errno));
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        s2d_error_set(err, S2D_ERR_INPUT, "is a directory, not a slide file");
        return NULL;
    }
    const char *vendor = s2d_tiff_info_known_vendor(path);
    if (!vendor && !s2d_openslide_vendor(path, &vendor, err)) {
        return NULL;
    }
    // A tiled TIFF OpenSlide does not know (OME-TIFF, say) may still hold tiles to copy.
    bool try_tiff = tiff_backend_candidate(vendor, path) || (!vendor && s2d_is_tiff(path));
    if (!vendor && !try_tiff) {
        s2d_error_set(err, S2D_ERR_INPUT, "not a slide format OpenSlide can read");
        return NULL;
    }
    s2d_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    bool ok = false;
    if (try_tiff) {
        // A layout the TIFF backend does not support after all (an Aperio file with
        // JPEG 2000 YCbCr tiles, say) goes to OpenSlide; a real failure is reported.
        s2d_error terr = {0};
        ok = s2d_tiff_backend_open(r, vendor, &terr);
        if (!ok && terr.code != S2D_OK) {
            *err = terr;
            s2d_reader_close(r);
            return NULL;
        }
    }
    if (!ok && !vendor) {
        char reason[256];
        s2d_error_set(err, S2D_ERR_INPUT, "%s",
                      s2d_tiff_info_diagnose(path, reason, sizeof reason)
                          ? reason
                          : "not a slide format OpenSlide can read");
        s2d_reader_close(r);
        return NULL;
    }
    if (!ok && !s2d_openslide_backend_open(r, vendor, err)) {
        s2d_reader_close(r);
        return NULL;
    }
    for (int i = 0; i < r->nlevels; i++) {
        if (r->levels[i].width <= 0 || r->levels[i].height <= 0) {
            s2d_error_set(err, S2D_ERR_INPUT, "level %d has no pixels", i);
            s2d_reader_close(r);
            return NULL;
        }
    }
    if (!s2d_props_get(&r->props, "openslide.vendor") &&
        !s2d_props_set(&r->props, "openslide.vendor", vendor ? vendor : "generic-tiff")) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        s2d_reader_close(r);
        return NULL;
    }
    read_meta(r);
    return r;
}

void s2d_reader_close(s2d_reader *r)
{
    if (!r) {
        return;
    }
    if (r->ops) {
        r->ops->close(r);
    }
    s2d_props_free(&r->props);
    free(r->meta.icc_profile);
    free(r->levels);
    free(r->path);
    free(r);
}

int s2d_reader_level_count(const s2d_reader *r)
{
    return r->nlevels;
}

const s2d_level_info *s2d_reader_level(const s2d_reader *r, int level)
{
    return &r->levels[level];
}

const s2d_slide_meta *s2d_reader_meta(const s2d_reader *r)
{
    return &r->meta;
}

struct s2d_read_ctx {
    s2d_reader *r;
    void *backend;
};

s2d_read_ctx *s2d_read_ctx_new(s2d_reader *r, int max_w, int max_h, s2d_error *err)
{
    s2d_read_ctx *c = calloc(1, sizeof *c);
    if (c) {
        c->r = r;
        c->backend = r->ops->ctx_new(r, max_w, max_h);
    }
    if (!c || !c->backend) {
        free(c);
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory for a reader");
        return NULL;
    }
    return c;
}

void s2d_read_ctx_free(s2d_read_ctx *ctx)
{
    if (ctx) {
        ctx->r->ops->ctx_free(ctx->backend);
        free(ctx);
    }
}

bool s2d_reader_read_region(s2d_reader *r, s2d_read_ctx *ctx, int level, int64_t x, int64_t y,
                            int64_t w, int64_t h, uint8_t *rgb, size_t stride, int *bad_tiles,
                            s2d_error *err)
{
    int bad = 0;
    bool ok = r->ops->read_region(r, ctx->backend, level, x, y, w, h, rgb, stride, &bad, err);
    if (bad_tiles) {
        *bad_tiles = bad;
    }
    return ok;
}

bool s2d_reader_read_frame(s2d_reader *r, s2d_read_ctx *ctx, int level, uint32_t col,
                           uint32_t row, int frame_w, int frame_h, s2d_buf *out, s2d_error *err)
{
    if (!r->ops->read_frame || r->levels[level].coding == S2D_CODING_NONE) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "level %d has no frames to copy", level);
    }
    return r->ops->read_frame(r, ctx->backend, level, col, row, frame_w, frame_h, out, err);
}

bool s2d_reader_has_associated(const s2d_reader *r, const char *name)
{
    return r->ops->has_associated(r, name);
}

bool s2d_reader_associated_jpeg(s2d_reader *r, const char *name, s2d_buf *out, int64_t *w,
                                int64_t *h, char photometric[16])
{
    return r->ops->associated_jpeg && r->ops->associated_jpeg(r, name, out, w, h, photometric);
}

bool s2d_reader_read_associated(s2d_reader *r, const char *name, uint8_t **rgb, int64_t *w,
                                int64_t *h, s2d_error *err)
{
    return r->ops->read_associated(r, name, rgb, w, h, err);
}
