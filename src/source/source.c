// SPDX-License-Identifier: Apache-2.0
/* The source facade: opens a file through the registry's formats, dispatches reads to the
 * format that took it, and the typed-metadata helpers the formats share. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base64.h"
#include "core/fs.h"
#include "source/source_impl.h"

// ------------------------------------------------------------------ typed metadata

double s2d_meta_positive(const char *text)
{
    if (!text || !text[0]) {
        return 0;
    }
    char *end;
    double d = strtod(text, &end);
    return end != text && isfinite(d) && d > 0 ? d : 0;
}

// Values were range-checked by the callers; the modulos only tell the compiler so.
static void format_dt(char out[27], int y, int mo, int d, int hh, int mm, int ss)
{
    snprintf(out, 27, "%04u%02u%02u%02u%02u%02u", (unsigned)y % 10000u, (unsigned)mo % 100u,
             (unsigned)d % 100u, (unsigned)hh % 100u, (unsigned)mm % 100u, (unsigned)ss % 100u);
}

bool s2d_meta_us_datetime(const char *date, const char *time, const char *zone, char out[27])
{
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
    int tzh, tzm;
    char sign;
    if (zone && sscanf(zone, "GMT%c%d:%d", &sign, &tzh, &tzm) == 3 &&
        (sign == '+' || sign == '-') && tzh >= 0 && tzh <= 14 && tzm >= 0 && tzm < 60) {
        snprintf(out + 14, 13, "%c%02u%02u", sign, (unsigned)tzh % 100u, (unsigned)tzm % 100u);
    }
    return true;
}

bool s2d_meta_dmy_datetime(const char *date, const char *time, char out[27])
{
    int d, mo, y, hh = 0, mm = 0, ss = 0, used = 0;
    if (!date || sscanf(date, "%d/%d/%d%n", &d, &mo, &y, &used) != 3) {
        return false;
    }
    sscanf(time ? time : date + used, "%d:%d:%d", &hh, &mm, &ss);
    if (y < 1900 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || hh < 0 || hh > 23 ||
        mm < 0 || mm > 59 || ss < 0 || ss > 60) {
        return false;
    }
    format_dt(out, y, mo, d, hh, mm, ss);
    return true;
}

bool s2d_meta_tiff_datetime(const char *v, char out[27])
{
    int y, mo, d, hh, mm, ss;
    if (!v || !v[0] ||
        (sscanf(v, "%d:%d:%d %d:%d:%d", &y, &mo, &d, &hh, &mm, &ss) != 6 &&
         sscanf(v, "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &hh, &mm, &ss) != 6 &&
         (strspn(v, "0123456789") < 14 ||
          sscanf(v, "%4d%2d%2d%2d%2d%2d", &y, &mo, &d, &hh, &mm, &ss) != 6))) {
        return false;
    }
    if (y < 1900 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || hh < 0 || hh > 23 ||
        mm < 0 || mm > 59 || ss < 0 || ss > 60) {
        return false;
    }
    format_dt(out, y, mo, d, hh, mm, ss);
    return true;
}

s2d_source_channel *s2d_meta_add_channel(s2d_source_meta *m)
{
    s2d_source_channel *grown = realloc(m->channels, (m->nchannels + 1) * sizeof *grown);
    if (!grown) {
        return NULL;
    }
    m->channels = grown;
    s2d_source_channel *c = &grown[m->nchannels++];
    memset(c, 0, sizeof *c);
    return c;
}

// A wavelength in nanometres after key in text, 0 when absent or not a plausible one.
static double wavelength_after(const char *text, const char *key)
{
    const char *at = strstr(text, key);
    double nm = at ? strtod(at + strlen(key), NULL) : 0;
    return nm > 100 && nm < 2000 ? nm : 0;
}

bool s2d_meta_fluorescence(const char *text, s2d_source_meta *m, bool *found)
{
    static const char excitation_key[] = "ExcitationWaveLength=";
    const char *excitation = text ? strstr(text, excitation_key) : NULL;
    if (!excitation) {
        return true;
    }
    *found = m->fluorescence = true;
    s2d_source_channel *c = s2d_meta_add_channel(m);
    if (!c) {
        return false;
    }
    c->excitation_nm = wavelength_after(excitation, excitation_key);
    c->emission_nm = wavelength_after(excitation, "EmissionWaveLength=");
    // The cube's name is the last ";Name=" before its wavelengths (CubeName, ExcitationName
    // and EmissionName are others), up to the CR or ';' that ends it, without end spaces.
    const char *name = NULL;
    for (const char *at = strstr(text, ";Name="); at && at < excitation;
         at = strstr(at + 1, ";Name=")) {
        name = at + strlen(";Name=");
    }
    if (name) {
        size_t len = strcspn(name, "\r\n;");
        while (len > 0 && name[len - 1] == ' ') {
            len--;
        }
        snprintf(c->name, sizeof c->name, "%.*s", (int)len, name);
    }
    return true;
}

bool s2d_meta_base64_text(const char *text, char *out, size_t n, bool *nomem)
{
    s2d_buf decoded = {0};
    bool ok = text && s2d_base64_decode(text, &decoded) && decoded.len > 0 &&
              decoded.len < n;
    for (size_t i = 0; ok && i < decoded.len; i++) {
        ok = decoded.data[i] >= 0x20 && decoded.data[i] < 0x7F;
    }
    if (ok) {
        memcpy(out, decoded.data, decoded.len);
        out[decoded.len] = '\0';
    }
    *nomem = decoded.failed;
    s2d_buf_free(&decoded);
    return ok;
}

void s2d_meta_default_background(s2d_source_meta *m)
{
    memset(m->background, m->fluorescence ? 0 : 255, 3);
}

bool s2d_meta_take_icc(const s2d_tiffdir *td, s2d_source_meta *m)
{
    if (!td || !td->icc_profile) {
        return true;
    }
    if (!(m->icc_profile = malloc(td->icc_profile_len))) {
        return false;
    }
    memcpy(m->icc_profile, td->icc_profile, td->icc_profile_len);
    m->icc_profile_len = td->icc_profile_len;
    return true;
}

void s2d_meta_device_text(char out[129], const char *text, size_t len)
{
    if (text && !out[0]) {
        size_t n = strnlen(text, len);
        snprintf(out, 129, "%.*s", (int)(n < 128 ? n : 128), text);
    }
}

void s2d_meta_device_software(s2d_source_device *d, const char *text, size_t len)
{
    if (!text || !text[0]) {
        return;
    }
    size_t n = strnlen(text, len);
    for (int i = 0; i < S2D_SOURCE_SOFTWARE_MAX; i++) {
        if (!d->software[i][0]) {
            snprintf(d->software[i], sizeof d->software[i], "%.*s", (int)(n < 128 ? n : 128),
                     text);
            return;
        }
        if (strncmp(d->software[i], text, n) == 0 && d->software[i][n] == '\0') {
            return;   // already listed
        }
    }
}

void s2d_meta_device_software_list(s2d_source_device *d, const char *text)
{
    const char *open = text ? strchr(text, '"') : NULL;
    if (!open) {
        s2d_meta_device_software(d, text, SIZE_MAX);
        return;
    }
    for (; open; open = strchr(open, '"')) {
        const char *close = strchr(open + 1, '"');
        if (!close) {
            return;
        }
        s2d_meta_device_software(d, open + 1, (size_t)(close - open - 1));
        open = close + 1;
    }
}

void s2d_meta_tiff_device(const s2d_tiff_ifd *d0, s2d_source_device *d)
{
    s2d_meta_device_text(d->manufacturer, d0->make, SIZE_MAX);
    s2d_meta_device_text(d->model, d0->model, SIZE_MAX);
    s2d_meta_device_software(d, d0->software, SIZE_MAX);
}

const char *s2d_role_name(s2d_image_role role)
{
    switch (role) {
    case S2D_IMAGE_LABEL:
        return "label";
    case S2D_IMAGE_OVERVIEW:
        return "macro";
    case S2D_IMAGE_THUMBNAIL:
        return "thumbnail";
    default:
        return "image";
    }
}

// ------------------------------------------------------------------ opening

// Why no format takes a file: for a TIFF, what it is (damaged, plain, tiled but not a
// slide); else that OpenSlide does not know it.
static void refuse(const s2d_tiffdir *td, s2d_error *err)
{
    if (!td) {
        s2d_error_set(err, S2D_ERR_INPUT, "not a slide format OpenSlide can read");
    } else if (td->damage[0]) {
        s2d_error_set(err, S2D_ERR_INPUT, "%s", td->damage);
    } else if (!td->ifds[0].tiled) {
        s2d_error_set(err, S2D_ERR_INPUT, "a plain (stripped) TIFF, not a whole-slide image; "
                      "plain TIFFs are not supported yet");
    } else {
        s2d_error_set(err, S2D_ERR_INPUT, "a tiled TIFF that is not a slide format we read "
                      "(neither OpenSlide's nor JPEG or JPEG 2000 tiles to copy)");
    }
}

s2d_source *s2d_source_open(const char *path, s2d_error *err)
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
    // Every format reads a file (a MIRAX or VMS slide names its folder from its .mrxs or
    // .vms file). Anything else is refused before it is opened: opening a named pipe
    // blocks until a writer comes, and no signal handler can end that wait.
    if (!S_ISREG(st.st_mode)) {
        s2d_error_set(err, S2D_ERR_INPUT, "%s, not a regular file",
                      s2d_special_file_kind(st.st_mode));
        return NULL;
    }
    s2d_error lerr = {0};
    s2d_tiffdir *td = s2d_tiffdir_list(path, &lerr);
    if (lerr.code != S2D_OK) {
        *err = lerr;
        return NULL;
    }
    s2d_source *src = calloc(1, sizeof *src);
    if (!src || !(src->path = strdup(path))) {
        free(src);
        s2d_tiffdir_free(td);
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    src->tiffdir = td;
    int n;
    const s2d_format *const *formats = s2d_formats(&n);
    for (int i = 0; i < n && !src->format; i++) {
        if (!formats[i]->detect(path, td)) {
            continue;
        }
        s2d_error ferr = {0};
        if (formats[i]->open(src, &ferr)) {
            src->format = formats[i];
        } else if (ferr.code != S2D_OK) {
            *err = ferr;
            s2d_source_close(src);
            return NULL;
        }
    }
    if (!src->format) {
        refuse(td, err);
        s2d_source_close(src);
        return NULL;
    }
    for (int i = 0; i < src->nlevels; i++) {
        if (src->levels[i].pix.width == 0 || src->levels[i].pix.height == 0) {
            s2d_error_set(err, S2D_ERR_INPUT, "level %d has no pixels", i);
            s2d_source_close(src);
            return NULL;
        }
    }
    return src;
}

void s2d_source_close(s2d_source *src)
{
    if (!src) {
        return;
    }
    if (src->ops) {
        src->ops->close(src);
    }
    s2d_tiffdir_free(src->tiffdir);
    free(src->meta.icc_profile);
    free(src->meta.channels);
    free(src->pages);
    free(src->page_facts);
    free(src->plane_pages);
    free(src->levels);
    free(src->path);
    free(src);
}

const char *s2d_source_format(const s2d_source *src)
{
    return src->format->name;
}

int s2d_source_level_count(const s2d_source *src)
{
    return src->nlevels;
}

const s2d_source_image *s2d_source_level(const s2d_source *src, int level)
{
    return &src->levels[level];
}

const s2d_source_image *s2d_source_associated(const s2d_source *src, s2d_image_role role)
{
    for (int i = 0; i < src->nassociated; i++) {
        if (src->associated[i].role == role) {
            return &src->associated[i];
        }
    }
    return NULL;
}

const s2d_source_meta *s2d_source_meta_of(const s2d_source *src)
{
    return &src->meta;
}

const s2d_plane_layout *s2d_source_planes(const s2d_source *src)
{
    return src->has_planes ? &src->planes : NULL;
}

// ------------------------------------------------------------------ reading

struct s2d_read_ctx {
    s2d_source *src;
    void *format_ctx;
};

s2d_read_ctx *s2d_read_ctx_new(s2d_source *src, int max_w, int max_h, s2d_error *err)
{
    if (!src->ops->ctx_new) {
        s2d_error_set(err, S2D_ERR_INTERNAL, "a %s source has no levels to read",
                      src->format->name);
        return NULL;
    }
    s2d_read_ctx *c = calloc(1, sizeof *c);
    if (c) {
        c->src = src;
        c->format_ctx = src->ops->ctx_new(src, max_w, max_h);
    }
    if (!c || !c->format_ctx) {
        free(c);
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory for a reader");
        return NULL;
    }
    return c;
}

void s2d_read_ctx_free(s2d_read_ctx *ctx)
{
    if (ctx) {
        ctx->src->ops->ctx_free(ctx->src, ctx->format_ctx);
        free(ctx);
    }
}

bool s2d_source_read_region(s2d_source *src, s2d_read_ctx *ctx, int level, int64_t x,
                            int64_t y, int64_t w, int64_t h, uint8_t *rgb, size_t stride,
                            int *bad_tiles, s2d_error *err)
{
    int bad = 0;
    bool ok = src->ops->read_region(src, ctx->format_ctx, level, x, y, w, h, rgb, stride, &bad,
                                    err);
    if (bad_tiles) {
        *bad_tiles = bad;
    }
    return ok;
}

bool s2d_source_frame_absent(const s2d_source *src, int level, uint32_t col, uint32_t row)
{
    return src->ops->frame_absent && level >= 0 && level < src->nlevels &&
           src->ops->frame_absent(src, level, col, row);
}

bool s2d_source_read_frame(s2d_source *src, s2d_read_ctx *ctx, int level, uint32_t col,
                           uint32_t row, int frame_w, int frame_h, s2d_buf *out,
                           s2d_error *err)
{
    if (!src->ops->read_frame || src->levels[level].native.coding == S2D_CODING_NONE) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "level %d has no frames to copy", level);
    }
    return src->ops->read_frame(src, ctx->format_ctx, level, col, row, frame_w, frame_h, out,
                                err);
}

const s2d_lossy_history *s2d_source_history_by_size(const s2d_source *src, int64_t w,
                                                    int64_t h)
{
    const s2d_tiffdir *td = src->tiffdir;
    for (int i = 0; td && i < td->n; i++) {
        if (td->ifds[i].width == w && td->ifds[i].height == h) {
            return &td->ifds[i].history;
        }
    }
    return NULL;
}

bool s2d_source_read_associated(s2d_source *src, s2d_image_role role, uint8_t **rgb,
                                int64_t *w, int64_t *h, s2d_error *err)
{
    const s2d_source_image *img = s2d_source_associated(src, role);
    *rgb = NULL;
    if (!img) {
        return s2d_error_set(err, S2D_ERR_INPUT, "the slide has no %s image",
                             s2d_role_name(role));
    }
    return src->ops->read_associated(src, img, rgb, w, h, err);
}

bool s2d_source_associated_jpeg(s2d_source *src, s2d_image_role role, s2d_buf *out,
                                int64_t *w, int64_t *h, s2d_colour *colour)
{
    const s2d_source_image *img = s2d_source_associated(src, role);
    return img && src->ops->associated_jpeg &&
           src->ops->associated_jpeg(src, img, out, w, h, colour);
}

// ------------------------------------------------------------------ pages

int s2d_source_page_count(const s2d_source *src)
{
    return src->npages;
}

const s2d_source_image *s2d_source_page(const s2d_source *src, int page)
{
    return &src->pages[page];
}

const s2d_page_facts *s2d_source_page_facts(const s2d_source *src, int page)
{
    return &src->page_facts[page];
}

bool s2d_source_read_rows(s2d_source *src, int page, uint32_t y, uint32_t n, void *out,
                          size_t stride, s2d_error *err)
{
    if (page < 0 || page >= src->npages || y > src->pages[page].pix.height ||
        n > src->pages[page].pix.height - y) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "rows %u..+%u of page %d are outside it", y,
                             n, page);
    }
    return src->ops->read_rows(src, page, y, n, out, stride, err);
}

bool s2d_source_read_bilevel_rows(s2d_source *src, int page, uint32_t y, uint32_t n,
                                  void *out, size_t stride, s2d_error *err)
{
    if (page < 0 || page >= src->npages || y > src->pages[page].pix.height ||
        n > src->pages[page].pix.height - y) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "rows %u..+%u of page %d are outside it", y,
                             n, page);
    }
    if (!src->ops->read_bilevel_rows) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "page %d is not read as bilevel rows",
                             page + 1);
    }
    return src->ops->read_bilevel_rows(src, page, y, n, out, stride, err);
}

uint64_t s2d_source_page_translucent(const s2d_source *src, int page)
{
    return src->ops->translucent ? src->ops->translucent(src, page) : 0;
}

const uint16_t *s2d_source_palette(const s2d_source *src, int page, int *n)
{
    *n = 0;
    return src->ops->palette ? src->ops->palette(src, page, n) : NULL;
}

bool s2d_source_page_jpeg(s2d_source *src, int page, s2d_buf *out, s2d_colour *colour,
                          s2d_error *err)
{
    if (!src->ops->page_jpeg || page < 0 || page >= src->npages) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "the source has no page %d", page);
    }
    return src->ops->page_jpeg(src, page, out, colour, err);
}

bool s2d_source_page_raw(s2d_source *src, int page, s2d_buf *out, s2d_error *err)
{
    if (!src->ops->page_raw || page < 0 || page >= src->npages) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "the source has no page %d", page);
    }
    return src->ops->page_raw(src, page, out, err);
}
