/* Reader backed by OpenSlide 3.4.1: levels, properties and regions. OpenSlide returns
 * premultiplied ARGB; every pixel leaving this file is straight RGB on the background. */
#include <errno.h>
#include <math.h>
#include <openslide.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reader/reader.h"

struct s2d_reader {
    openslide_t *osr;
    char *path;
    int nlevels;
    s2d_level_info *levels;
    s2d_slide_meta meta;
};

static const char *prop(const s2d_reader *r, const char *name)
{
    const char *v = openslide_get_property_value(r->osr, name);
    return v && *v ? v : NULL;
}

static double prop_double(const s2d_reader *r, const char *name)
{
    const char *v = prop(r, name);
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
static bool aperio_datetime(const s2d_reader *r, char out[27])
{
    const char *date = prop(r, "aperio.Date"), *time = prop(r, "aperio.Time");
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
    const char *tz = prop(r, "aperio.Time Zone");
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
static void detect_fluorescence(const s2d_reader *r, s2d_slide_meta *m)
{
    static const char key[] = "ExcitationWaveLength=";
    for (const char *const *names = openslide_get_property_names(r->osr); names && *names;
         names++) {
        const char *texts[2] = {*names, openslide_get_property_value(r->osr, *names)};
        for (int i = 0; i < 2; i++) {
            const char *at = texts[i] ? strstr(texts[i], key) : NULL;
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
    const char *vendor = prop(r, OPENSLIDE_PROPERTY_NAME_VENDOR);
    snprintf(m->vendor, sizeof m->vendor, "%s", vendor ? vendor : "");
    m->mpp_x = prop_double(r, OPENSLIDE_PROPERTY_NAME_MPP_X);
    m->mpp_y = prop_double(r, OPENSLIDE_PROPERTY_NAME_MPP_Y);
    m->objective_power = prop_double(r, OPENSLIDE_PROPERTY_NAME_OBJECTIVE_POWER);

    if (!aperio_datetime(r, m->acquisition_datetime) &&
        !generic_datetime(prop(r, "leica.creation-date"), m->acquisition_datetime) &&
        !generic_datetime(prop(r, "tiff.DateTime"), m->acquisition_datetime)) {
        m->acquisition_datetime[0] = '\0';
    }
    static const char *const barcode_keys[] = {"aperio.Barcode", "leica.barcode",
                                               "ventana.Barcode"};
    for (size_t i = 0; i < sizeof barcode_keys / sizeof *barcode_keys; i++) {
        const char *b = prop(r, barcode_keys[i]);
        if (b) {
            snprintf(m->barcode, sizeof m->barcode, "%s", b);
            break;
        }
    }
    detect_fluorescence(r, m);
    // Empty glass is white in brightfield and black in fluorescence.
    memset(m->background, m->fluorescence ? 0 : 255, 3);
    const char *bg = prop(r, OPENSLIDE_PROPERTY_NAME_BACKGROUND_COLOR);
    unsigned rgb;
    if (bg && strlen(bg) == 6 && sscanf(bg, "%6x", &rgb) == 1) {
        m->background[0] = (uint8_t)(rgb >> 16);
        m->background[1] = (uint8_t)(rgb >> 8);
        m->background[2] = (uint8_t)rgb;
    }
    s2d_tiff_info_read(r->path, m);
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
    const char *vendor = openslide_detect_vendor(path);
    if (!vendor) {
        char reason[256];
        s2d_error_set(err, S2D_ERR_INPUT, "%s",
                      s2d_tiff_info_diagnose(path, reason, sizeof reason)
                          ? reason
                          : "not a slide format OpenSlide can read");
        return NULL;
    }
    s2d_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    r->osr = openslide_open(path);
    const char *oerr = r->osr ? openslide_get_error(r->osr) : "OpenSlide could not open it";
    if (oerr) {
        s2d_error_set(err, S2D_ERR_INPUT, "cannot open the %s slide: %s", vendor, oerr);
        s2d_reader_close(r);
        return NULL;
    }
    int32_t n = openslide_get_level_count(r->osr);
    r->levels = calloc(n > 0 ? (size_t)n : 1, sizeof *r->levels);
    if (n <= 0 || !r->levels) {
        s2d_error_set(err, S2D_ERR_INPUT, "the slide has no readable levels");
        s2d_reader_close(r);
        return NULL;
    }
    r->nlevels = n;
    for (int i = 0; i < n; i++) {
        openslide_get_level_dimensions(r->osr, i, &r->levels[i].width, &r->levels[i].height);
        r->levels[i].downsample = openslide_get_level_downsample(r->osr, i);
        if (r->levels[i].width <= 0 || r->levels[i].height <= 0) {
            s2d_error_set(err, S2D_ERR_INPUT, "level %d has no pixels", i);
            s2d_reader_close(r);
            return NULL;
        }
    }
    read_meta(r);
    return r;
}

void s2d_reader_close(s2d_reader *r)
{
    if (!r) {
        return;
    }
    if (r->osr) {
        openslide_close(r->osr);
    }
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

static bool check_openslide(s2d_reader *r, const char *what, s2d_error *err)
{
    const char *oerr = openslide_get_error(r->osr);
    if (oerr) {
        return s2d_error_set(err, S2D_ERR_INPUT, "cannot read %s: %s", what, oerr);
    }
    return true;
}

bool s2d_reader_read_region(s2d_reader *r, int level, int64_t x, int64_t y, int64_t w, int64_t h,
                            uint8_t *rgb, size_t stride, uint32_t *scratch, s2d_error *err)
{
    double ds = r->levels[level].downsample;
    openslide_read_region(r->osr, scratch, llround(x * ds), llround(y * ds), level, w, h);
    if (!check_openslide(r, "the slide's pixels", err)) {
        return false;
    }
    for (int64_t row = 0; row < h; row++) {
        argb_to_rgb(scratch + row * w, w, rgb + (size_t)row * stride, r->meta.background);
    }
    return true;
}

bool s2d_reader_has_associated(const s2d_reader *r, const char *name)
{
    const char *const *names = openslide_get_associated_image_names(r->osr);
    for (; names && *names; names++) {
        if (strcmp(*names, name) == 0) {
            return true;
        }
    }
    return false;
}

bool s2d_reader_read_associated(s2d_reader *r, const char *name, uint8_t **rgb, int64_t *w,
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
