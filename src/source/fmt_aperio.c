// SPDX-License-Identifier: Apache-2.0
/* Aperio SVS: a tiled TIFF (JPEG or JPEG 2000 33005 tiles) whose first ImageDescription
 * starts with "Aperio" and holds "key = value" pairs between bars: "Aperio Image Library
 * ...|AppMag = 20|MPP = 0.499|...". After the first, the stripped images are the thumbnail
 * (the first of them) and the label and macro, which say so in their descriptions. The
 * scanner: Aperio's, its ScanScope ID the serial number, and the programs that wrote the
 * descriptions ("Aperio Image Library v11.2.1") its software; no model is recorded. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/tiffio.h"

typedef struct aperio_values {
    // into the copy; NULL when absent
    char *mpp, *app_mag, *date, *time, *zone, *barcode, *scanscope_id;
} aperio_values;

// The pairs of the description (a copy, cut in place); a key set twice keeps its last
// value, and an empty value counts as absent.
static void parse_description(char *copy, aperio_values *v)
{
    static const struct { const char *key; size_t at; } wanted[] = {
        {"MPP", offsetof(aperio_values, mpp)},
        {"AppMag", offsetof(aperio_values, app_mag)},
        {"Date", offsetof(aperio_values, date)},
        {"Time", offsetof(aperio_values, time)},
        {"Time Zone", offsetof(aperio_values, zone)},
        {"Barcode", offsetof(aperio_values, barcode)},
        {"ScanScope ID", offsetof(aperio_values, scanscope_id)}};
    memset(v, 0, sizeof *v);
    bool first = true;
    char *save = NULL;
    for (char *part = strtok_r(copy, "|", &save); part; part = strtok_r(NULL, "|", &save)) {
        char *eq = strstr(part, " = ");
        if (first || !eq) {
            first = false;
            continue;
        }
        *eq = '\0';
        for (size_t i = 0; i < sizeof wanted / sizeof *wanted; i++) {
            if (strcmp(part, wanted[i].key) == 0) {
                char *value = eq + 3;
                *(char **)((char *)v + wanted[i].at) = value[0] ? value : NULL;
            }
        }
    }
}

// The software of each image description in the header (before the first bar), one per
// ';': the first line of each, "Aperio Image Library v11.2.1" (the program that wrote this
// file) then "Aperio Image Library v10.0.51" (the scan's, when this file was cut from it).
static void header_software(const char *description, s2d_source_device *d)
{
    size_t header = strcspn(description, "|");
    for (size_t at = 0; at < header;) {
        size_t part = strcspn(description + at, ";|");
        size_t line = strcspn(description + at, "\r\n;|");
        while (line > 0 && description[at + line - 1] == ' ') {
            line--;
        }
        if (strncmp(description + at, "Aperio", 6) == 0) {
            s2d_meta_device_software(d, description + at, line);
        }
        at += part + 1;
    }
}

bool s2d_aperio_device(const char *description, s2d_source_device *d)
{
    if (!description) {
        return true;
    }
    char *copy = strdup(description);
    if (!copy) {
        return false;
    }
    aperio_values v;
    parse_description(copy, &v);
    s2d_meta_device_text(d->manufacturer, "Aperio", SIZE_MAX);
    s2d_meta_device_text(d->serial, v.scanscope_id, SIZE_MAX);
    header_software(description, d);
    free(copy);
    return true;
}

static bool read_meta(const s2d_tiffdir *td, s2d_source_meta *m)
{
    const s2d_tiff_ifd *d0 = &td->ifds[0];
    char *copy = d0->description ? strdup(d0->description) : NULL;
    if (d0->description && !copy) {
        return false;
    }
    aperio_values v = {0};
    if (copy) {
        parse_description(copy, &v);
    }
    m->mpp_x = m->mpp_y = s2d_meta_positive(v.mpp);
    m->objective_power = s2d_meta_positive(v.app_mag);
    if (!s2d_meta_us_datetime(v.date, v.time, v.zone, m->acquisition_datetime) &&
        !s2d_meta_tiff_datetime(d0->datetime, m->acquisition_datetime)) {
        m->acquisition_datetime[0] = '\0';
    }
    if (v.barcode) {
        snprintf(m->barcode, sizeof m->barcode, "%s", v.barcode);
    }
    free(copy);
    snprintf(m->format_title, sizeof m->format_title, "Aperio SVS");
    s2d_meta_default_background(m);
    return s2d_aperio_device(d0->description, &m->device) && s2d_meta_take_icc(td, m);
}

// After the first, a stripped image is the label or the macro when its description says
// so, else the thumbnail when it is the first such.
static bool classify(s2d_source *src, int ifd)
{
    const char *desc = src->tiffdir->ifds[ifd].description;
    if (ifd == 0) {
        return true;
    }
    if (desc && strstr(desc, "label")) {
        return s2d_tiff_source_set_associated(src, ifd, S2D_IMAGE_LABEL);
    }
    if (desc && strstr(desc, "macro")) {
        return s2d_tiff_source_set_associated(src, ifd, S2D_IMAGE_OVERVIEW);
    }
    return s2d_source_associated(src, S2D_IMAGE_THUMBNAIL) ||
           s2d_tiff_source_set_associated(src, ifd, S2D_IMAGE_THUMBNAIL);
}

// OpenSlide's test: tiled, the description starts with "Aperio", and no mark of the TIFF
// formats OpenSlide tries before it (NDPI, Trestle's "MedScan" Software).
static bool aperio_detect(const char *path, const s2d_tiffdir *td)
{
    (void)path;
    if (!td || td->n == 0) {
        return false;
    }
    const s2d_tiff_ifd *d0 = &td->ifds[0];
    return d0->tiled && d0->description && strncmp(d0->description, "Aperio", 6) == 0 &&
           !s2d_tiffdir_private(td, 0, 65420) &&
           !(d0->software && strncmp(d0->software, "MedScan", 7) == 0);
}

static bool aperio_open(s2d_source *src, s2d_error *err)
{
    if (!s2d_tiff_source_open_tiled(src, classify, err)) {
        return false;
    }
    return read_meta(src->tiffdir, &src->meta) ||
           s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
}

static const char *const aperio_extensions[] = {".svs", NULL};

const s2d_format s2d_format_aperio = {
    .name = "aperio",
    .extensions = aperio_extensions,
    .reads_tiff = true,
    .detect = aperio_detect,
    .open = aperio_open,
};
