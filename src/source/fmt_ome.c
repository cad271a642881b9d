/* OME-TIFF: a tiled TIFF whose first ImageDescription is OME-XML. Its levels are copied as
 * a generic tiled TIFF's; the pixel size comes from the first Pixels element. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/tiffio.h"

// The value of attribute `name` of the first OME-XML Pixels element, or false.
static bool pixels_attribute(const char *xml, const char *name, char *out, size_t n)
{
    const char *pixels = strstr(xml, "<Pixels ");
    const char *end = pixels ? strchr(pixels, '>') : NULL;
    char pattern[64];
    snprintf(pattern, sizeof pattern, " %s=\"", name);
    const char *at = pixels ? strstr(pixels, pattern) : NULL;
    if (!at || at > end) {
        return false;
    }
    at += strlen(pattern);
    const char *close = strchr(at, '"');
    if (!close || (size_t)(close - at) >= n) {
        return false;
    }
    memcpy(out, at, (size_t)(close - at));
    out[close - at] = '\0';
    return true;
}

// PhysicalSizeX / Y in their units (OME's default is the micrometre), in micrometres.
static double physical_size_um(const char *xml, const char *size_name, const char *unit_name)
{
    static const struct { const char *unit; double to_um; } units[] = {
        {"\xC2\xB5m", 1}, {"um", 1}, {"nm", 1e-3}, {"mm", 1e3}, {"cm", 1e4}, {"m", 1e6}};
    char value[64], unit[16] = "\xC2\xB5m";
    if (!pixels_attribute(xml, size_name, value, sizeof value)) {
        return 0;
    }
    pixels_attribute(xml, unit_name, unit, sizeof unit);
    double v = strtod(value, NULL), scale = 0;
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        if (strcmp(unit, units[i].unit) == 0) {
            scale = units[i].to_um;
        }
    }
    return v > 0 && scale > 0 ? v * scale : 0;
}

static bool ome_detect(const char *path, const s2d_tiffdir *td)
{
    (void)path;
    return td && td->n > 0 && td->ifds[0].description &&
           strstr(td->ifds[0].description, "<OME") && !s2d_tiff_vendor_marked(td);
}

static bool ome_open(s2d_source *src, s2d_error *err)
{
    if (!s2d_tiff_source_open_tiled(src, NULL, err)) {
        return false;
    }
    const s2d_tiff_ifd *d0 = &src->tiffdir->ifds[0];
    s2d_source_meta *m = &src->meta;
    m->mpp_x = physical_size_um(d0->description, "PhysicalSizeX", "PhysicalSizeXUnit");
    m->mpp_y = physical_size_um(d0->description, "PhysicalSizeY", "PhysicalSizeYUnit");
    s2d_meta_tiff_datetime(d0->datetime, m->acquisition_datetime);
    s2d_meta_default_background(m);
    return s2d_meta_take_icc(src->tiffdir, m) ||
           s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
}

static const char *const ome_extensions[] = {".ome.tif", ".ome.tiff", NULL};

const s2d_format s2d_format_ome = {
    .name = "ome",
    .extensions = ome_extensions,
    .reads_tiff = true,
    .detect = ome_detect,
    .open = ome_open,
};
