// SPDX-License-Identifier: Apache-2.0
/* 3DHistech TIFF, as 3DHistech's slide converter exports a scan: a tiled TIFF whose every
 * tiled IFD is a level of JPEG tiles (copied like a generic tiled TIFF's), its description
 * Aperio's bar-separated layout with no vendor's name: "\r\nW x H (T x T) JPEG/RGB Q=80|
 * Date = 29/12/2009|Time = 12:43:52|MPP = 0.2325|3dh_PixelSizeX = 0.2325|...". OpenSlide
 * 3.4.1 has no reader of its own for it and reads it as a generic TIFF, without the pixel
 * size; here the pixel size (MPP, else 3dh_PixelSizeX/Y, in µm) and the scan's date
 * (day/month/year) come from IFD 0's description. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/tiffio.h"

// The value of key in a "...|key = value|..." description (a copy, cut in place), or NULL.
static char *value_of(char *copy, const char *key)
{
    size_t n = strlen(key);
    char *save = NULL;
    for (char *part = strtok_r(copy, "|", &save); part; part = strtok_r(NULL, "|", &save)) {
        if (strncmp(part, key, n) == 0 && strncmp(part + n, " = ", 3) == 0) {
            return part + n + 3;
        }
    }
    return NULL;
}

// The value of key as a positive number, else 0.
static double number_of(const char *description, const char *key)
{
    char *copy = strdup(description);
    double v = copy ? s2d_meta_positive(value_of(copy, key)) : 0;
    free(copy);
    return v;
}

// The scan's date and time (day first), when they read.
static void scan_datetime(const char *description, char out[27])
{
    char *date = strdup(description), *time = strdup(description);
    if (!date || !time ||
        !s2d_meta_dmy_datetime(value_of(date, "Date"), value_of(time, "Time"), out)) {
        out[0] = '\0';
    }
    free(date);
    free(time);
}

// Tiled, and IFD 0's description holds the 3dh_PixelSizeX pair after a bar.
static bool histech_detect(const char *path, const s2d_tiffdir *td)
{
    (void)path;
    return td && td->n > 0 && td->ifds[0].tiled && s2d_tiff_3dhistech(&td->ifds[0]);
}

static bool histech_open(s2d_source *src, s2d_error *err)
{
    if (!s2d_tiff_source_open_tiled(src, NULL, err)) {
        return false;
    }
    const s2d_tiff_ifd *d0 = &src->tiffdir->ifds[0];
    if (!d0->description) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "a 3DHistech TIFF without its description");
    }
    s2d_source_meta *m = &src->meta;
    m->mpp_x = number_of(d0->description, "MPP");
    m->mpp_y = m->mpp_x;
    if (m->mpp_x <= 0) {
        m->mpp_x = number_of(d0->description, "3dh_PixelSizeX");
        m->mpp_y = number_of(d0->description, "3dh_PixelSizeY");
    }
    scan_datetime(d0->description, m->acquisition_datetime);
    if (!m->acquisition_datetime[0]) {
        s2d_meta_tiff_datetime(d0->datetime, m->acquisition_datetime);
    }
    s2d_meta_device_text(m->device.manufacturer, "3DHISTECH", SIZE_MAX);
    s2d_meta_tiff_device(d0, &m->device);
    snprintf(m->format_title, sizeof m->format_title, "3DHistech TIFF");
    s2d_meta_default_background(m);
    return s2d_meta_take_icc(src->tiffdir, m) ||
           s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
}

static const char *const histech_extensions[] = {".tif", ".tiff", NULL};

const s2d_format s2d_format_3dhistech = {
    .name = "3dhistech-tiff",
    .extensions = histech_extensions,
    .reads_tiff = true,
    .detect = histech_detect,
    .open = histech_open,
};
