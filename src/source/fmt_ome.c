/* OME-TIFF: a tiled TIFF whose first ImageDescription is OME-XML. Its levels are copied as
 * a generic tiled TIFF's; the pixel size and the channels (names, wavelengths) come from
 * the first Pixels element. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/tiffio.h"

// The value of attribute `name` in the start tag that begins at tag (up to its '>'), into
// out, cut to n - 1 bytes, XML's five named entities decoded; false when the tag has none.
static bool tag_attribute(const char *tag, const char *name, char *out, size_t n)
{
    static const struct { const char *entity; char c; } entities[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    const char *end = strchr(tag, '>');
    char pattern[64];
    snprintf(pattern, sizeof pattern, " %s=\"", name);
    const char *at = strstr(tag, pattern);
    if (!at || !end || at > end) {
        return false;
    }
    at += strlen(pattern);
    const char *close = strchr(at, '"');
    if (!close) {
        return false;
    }
    size_t k = 0;
    while (at < close && k + 1 < n) {
        size_t i = 0, count = sizeof entities / sizeof *entities;
        while (i < count && strncmp(at, entities[i].entity, strlen(entities[i].entity)) != 0) {
            i++;
        }
        out[k++] = i < count ? entities[i].c : *at;
        at += i < count ? strlen(entities[i].entity) : 1;
    }
    out[k] = '\0';
    return true;
}

// Attribute value_name of the start tag at tag as a length in micrometres, in the unit
// attribute unit_name gives (default_unit when it gives none); 0 when absent, not positive
// or in a unit not known here.
static double length_um(const char *tag, const char *value_name, const char *unit_name,
                        const char *default_unit)
{
    static const struct { const char *unit; double to_um; } units[] = {
        {"\xC2\xB5m", 1}, {"um", 1}, {"nm", 1e-3}, {"mm", 1e3}, {"cm", 1e4}, {"m", 1e6}};
    char value[64], unit[16];
    if (!tag_attribute(tag, value_name, value, sizeof value)) {
        return 0;
    }
    if (!tag_attribute(tag, unit_name, unit, sizeof unit)) {
        snprintf(unit, sizeof unit, "%s", default_unit);
    }
    double v = strtod(value, NULL), scale = 0;
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        if (strcmp(unit, units[i].unit) == 0) {
            scale = units[i].to_um;
        }
    }
    return v > 0 && scale > 0 ? v * scale : 0;
}

// The Channel elements of the first Pixels element, in their order, as meta's channels:
// name and wavelengths (OME's default unit for them is the nanometre).
// @return false only for lack of memory.
static bool read_channels(const char *pixels, s2d_source_meta *m)
{
    const char *tag_end = strchr(pixels, '>');
    const char *end = strstr(pixels, "</Pixels>");
    if (!tag_end || tag_end[-1] == '/' || !end) {
        return true;   // <Pixels .../>: no channels described
    }
    for (const char *at = strstr(tag_end, "<Channel"); at && at < end;
         at = strstr(at + 1, "<Channel")) {
        if (at[8] != ' ' && at[8] != '>' && at[8] != '/') {
            continue;   // another element whose name starts so
        }
        s2d_source_channel *c = s2d_meta_add_channel(m);
        if (!c) {
            return false;
        }
        tag_attribute(at, "Name", c->name, sizeof c->name);
        c->excitation_nm =
            1e3 * length_um(at, "ExcitationWavelength", "ExcitationWavelengthUnit", "nm");
        c->emission_nm =
            1e3 * length_um(at, "EmissionWavelength", "EmissionWavelengthUnit", "nm");
    }
    return true;
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
    // The first Pixels element describes the image; OME's default length unit is the
    // micrometre.
    const char *pixels = strstr(d0->description, "<Pixels ");
    if (pixels) {
        m->mpp_x = length_um(pixels, "PhysicalSizeX", "PhysicalSizeXUnit", "\xC2\xB5m");
        m->mpp_y = length_um(pixels, "PhysicalSizeY", "PhysicalSizeYUnit", "\xC2\xB5m");
    }
    s2d_meta_tiff_datetime(d0->datetime, m->acquisition_datetime);
    s2d_meta_default_background(m);
    return ((!pixels || read_channels(pixels, m)) && s2d_meta_take_icc(src->tiffdir, m)) ||
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
