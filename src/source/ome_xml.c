// SPDX-License-Identifier: Apache-2.0
/* OME-XML: the first Image's Pixels element (ome_xml.h). Elements are found by their local
 * name (a namespace prefix such as "ome:" is allowed), outside comments, CDATA, processing
 * instructions and DOCTYPE; attribute values in either quote, their entities decoded. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/ome_xml.h"
#include "source/source_impl.h"

// ------------------------------------------------------------------ a few XML words

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool ends_name(char c)
{
    return is_space(c) || c == '>' || c == '/' || c == '\0';
}

// Whether the name at p (up to a space, '/' or '>') is `name`, after any prefix "x:".
static bool local_name_is(const char *p, const char *name)
{
    const char *start = p;
    while (!ends_name(*p)) {
        if (*p++ == ':') {
            start = p;
        }
    }
    size_t n = strlen(name);
    return (size_t)(p - start) == n && strncmp(start, name, n) == 0;
}

// Past the markup at p ('<') that holds no elements: a comment, CDATA section, processing
// instruction or DOCTYPE (whose text may spell tags, a decoy <Channel> or </Pixels>). p
// itself when it is none of those; NULL when it is one that never ends.
static const char *past_markup(const char *p)
{
    static const struct { const char *open, *close; } spans[] = {
        {"<!--", "-->"}, {"<![CDATA[", "]]>"}, {"<?", "?>"}};
    for (size_t i = 0; i < sizeof spans / sizeof *spans; i++) {
        size_t n = strlen(spans[i].open);
        if (strncmp(p, spans[i].open, n) == 0) {
            const char *close = strstr(p + n, spans[i].close);
            return close ? close + strlen(spans[i].close) : NULL;
        }
    }
    if (strncmp(p, "<!DOCTYPE", 9) == 0) {
        int brackets = 0;   // its internal subset, in [ ], may hold '>'
        for (const char *q = p + 9; *q; q++) {
            brackets += *q == '[' ? 1 : *q == ']' ? -1 : 0;
            if (*q == '>' && brackets <= 0) {
                return q + 1;
            }
        }
        return NULL;
    }
    return p;
}

// The next start tag named `name` at or after at and before end (NULL: the end of the
// text): its '<', or NULL. Comments, CDATA, processing instructions, DOCTYPE, end tags and
// declarations are skipped.
static const char *find_start(const char *at, const char *end, const char *name)
{
    for (const char *p = strchr(at, '<'); p && (!end || p < end);) {
        const char *past = past_markup(p);
        if (past != p) {
            p = past ? strchr(past, '<') : NULL;
            continue;
        }
        if (p[1] != '/' && p[1] != '!' && local_name_is(p + 1, name)) {
            return p;
        }
        p = strchr(p + 1, '<');
    }
    return NULL;
}

// The '>' that ends the start tag at tag (a '>' inside a quoted attribute value is text),
// or NULL when the text ends first.
static const char *start_tag_end(const char *tag)
{
    char quote = 0;
    for (const char *p = tag + 1; *p; p++) {
        if (quote) {
            quote = *p == quote ? 0 : quote;
        } else if (*p == '"' || *p == '\'') {
            quote = *p;
        } else if (*p == '>') {
            return p;
        }
    }
    return NULL;
}

// The end of the element whose start tag is at tag: its end tag's '<', or the start tag's
// '>' when it closes itself; NULL when the text ends first. End tags spelt inside comments,
// CDATA and the like are not its end.
static const char *element_end(const char *tag, const char *name)
{
    const char *gt = start_tag_end(tag);
    if (!gt || gt[-1] == '/') {
        return gt;
    }
    for (const char *p = strchr(gt, '<'); p;) {
        const char *past = past_markup(p);
        if (past != p) {
            p = past ? strchr(past, '<') : NULL;
            continue;
        }
        if (p[1] == '/' && local_name_is(p + 2, name)) {
            return p;
        }
        p = strchr(p + 1, '<');
    }
    return NULL;
}

// Appends code point cp as UTF-8 to out (k bytes so far, room n - 1), dropping what does
// not fit.
static size_t put_utf8(char *out, size_t k, size_t n, unsigned long cp)
{
    char b[4];
    size_t len;
    if (cp < 0x80) {
        b[0] = (char)cp;
        len = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | cp >> 6);
        b[1] = (char)(0x80 | (cp & 0x3F));
        len = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | cp >> 12);
        b[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        len = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18 & 0x07));
        b[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        b[2] = (char)(0x80 | (cp >> 6 & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        len = 4;
    }
    if (k + len < n) {
        memcpy(out + k, b, len);
        k += len;
    }
    return k;
}

// Text from at to end, entities decoded, into out (cut to n - 1 bytes).
static void decode_text(const char *at, const char *end, char *out, size_t n)
{
    static const struct { const char *entity; char c; } entities[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    size_t k = 0;
    while (at < end && k + 1 < n) {
        size_t i = 0, count = sizeof entities / sizeof *entities;
        while (i < count && strncmp(at, entities[i].entity, strlen(entities[i].entity)) != 0) {
            i++;
        }
        if (i < count) {
            out[k++] = entities[i].c;
            at += strlen(entities[i].entity);
            continue;
        }
        char *stop;
        unsigned long cp;
        if (at[0] == '&' && at[1] == '#' &&
            (cp = at[2] == 'x' ? strtoul(at + 3, &stop, 16) : strtoul(at + 2, &stop, 10)) > 0 &&
            cp < 0x110000 && stop < end && *stop == ';') {
            k = put_utf8(out, k, n, cp);
            at = stop + 1;
            continue;
        }
        out[k++] = *at++;
    }
    out[k] = '\0';
}

// The value of attribute `name` of the start tag at tag, decoded into out (cut to n - 1
// bytes); false when the tag has none.
static bool attribute(const char *tag, const char *name, char *out, size_t n)
{
    const char *p = tag + 1;
    while (!ends_name(*p)) {
        p++;
    }
    size_t len = strlen(name);
    for (;;) {
        while (is_space(*p)) {
            p++;
        }
        if (*p == '>' || *p == '/' || *p == '\0') {
            return false;
        }
        const char *key = p;
        while (*p && *p != '=' && !is_space(*p) && *p != '>') {
            p++;
        }
        bool match = (size_t)(p - key) == len && strncmp(key, name, len) == 0;
        while (is_space(*p)) {
            p++;
        }
        if (*p != '=') {
            return false;   // not well-formed: stop here
        }
        p++;
        while (is_space(*p)) {
            p++;
        }
        char quote = *p;
        if (quote != '"' && quote != '\'') {
            return false;
        }
        const char *close = strchr(p + 1, quote);
        if (!close) {
            return false;
        }
        if (match) {
            decode_text(p + 1, close, out, n);
            return true;
        }
        p = close + 1;
    }
}

// An integer attribute, held to the range of an int; fallback when absent or not a number.
static int int_attribute(const char *tag, const char *name, int fallback)
{
    char v[32];
    char *end;
    if (!attribute(tag, name, v, sizeof v)) {
        return fallback;
    }
    long n = strtol(v, &end, 10);
    return end == v ? fallback : n > INT_MAX ? INT_MAX : n < INT_MIN ? INT_MIN : (int)n;
}

// ------------------------------------------------------------------ units

double s2d_length_um(const char *value, const char *unit, const char *default_unit)
{
    static const struct { const char *unit; double to_um; } units[] = {
        {"\xC2\xB5m", 1}, {"\xCE\xBCm", 1}, {"um", 1}, {"micron", 1}, {"microns", 1},
        {"nm", 1e-3}, {"pm", 1e-6}, {"\xC3\x85", 1e-4}, {"mm", 1e3}, {"cm", 1e4},
        {"m", 1e6}, {"in", 25.4e3}, {"inch", 25.4e3}};
    if (!value) {
        return 0;
    }
    if (!unit || !unit[0]) {
        unit = default_unit;
    }
    char *end;
    double v = strtod(value, &end), scale = 0;
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        if (strcmp(unit, units[i].unit) == 0) {
            scale = units[i].to_um;
        }
    }
    return end != value && isfinite(v) && v > 0 && scale > 0 ? v * scale : 0;
}

// Attribute value_name of the start tag at tag as a length in micrometres, in the unit
// attribute unit_name gives (default_unit when it gives none).
static double length_attribute(const char *tag, const char *value_name, const char *unit_name,
                               const char *default_unit)
{
    char value[64], unit[16] = "";
    if (!attribute(tag, value_name, value, sizeof value)) {
        return 0;
    }
    attribute(tag, unit_name, unit, sizeof unit);
    return s2d_length_um(value, unit, default_unit);
}

// ------------------------------------------------------------------ the Pixels element

#define MICROMETRE "\xC2\xB5m"

static bool read_channel(const char *tag, s2d_ome_channel *c)
{
    memset(c, 0, sizeof *c);
    attribute(tag, "Name", c->name, sizeof c->name);
    int samples = int_attribute(tag, "SamplesPerPixel", 1);
    c->samples = samples >= 1 && samples <= 4 ? samples : 1;
    char colour[32];
    char *end;
    long long v;
    if (attribute(tag, "Color", colour, sizeof colour) &&
        ((v = strtoll(colour, &end, 10)), end != colour) && v >= INT32_MIN && v <= UINT32_MAX) {
        // Signed 32-bit RGBA: red in the high byte, alpha in the low one.
        uint32_t rgba = (uint32_t)(v & 0xFFFFFFFF);
        c->colour[0] = (uint8_t)(rgba >> 24);
        c->colour[1] = (uint8_t)(rgba >> 16);
        c->colour[2] = (uint8_t)(rgba >> 8);
        c->has_colour = true;
    }
    // OME's default unit of wavelengths is the nanometre.
    c->excitation_nm =
        1e3 * length_attribute(tag, "ExcitationWavelength", "ExcitationWavelengthUnit", "nm");
    c->emission_nm =
        1e3 * length_attribute(tag, "EmissionWavelength", "EmissionWavelengthUnit", "nm");
    return true;
}

// Appends one element to *array of *n elements of `size` bytes; NULL for lack of memory.
static void *append(void *array_ptr, size_t *n, size_t size)
{
    void **array = array_ptr;
    void *grown = realloc(*array, (*n + 1) * size);
    if (!grown) {
        return NULL;
    }
    *array = grown;
    return (char *)grown + (*n)++ * size;
}

// A TiffData at tag: its planes; in another file when its UUID (a child element) is not
// the document's own (uuid, "" when the OME element has none).
static void read_tiffdata(const char *tag, const char *uuid, s2d_ome_tiffdata *t)
{
    const char *end = element_end(tag, "TiffData");
    const char *child = end && *end == '<' ? find_start(tag + 1, end, "UUID") : NULL;
    const char *text = child ? start_tag_end(child) : NULL;
    if (uuid[0] && text && text[-1] != '/') {
        const char *close = strchr(text, '<');
        char own[128];
        decode_text(text + 1, close ? close : text + 1, own, sizeof own);
        // Surrounding white space is no part of a URN.
        char *at = own;
        while (is_space(*at)) {
            at++;
        }
        size_t n = strlen(at);
        while (n > 0 && is_space(at[n - 1])) {
            at[--n] = '\0';
        }
        t->other_file = strcmp(at, uuid) != 0;
    }
    char v[8];
    bool has_ifd = attribute(tag, "IFD", v, sizeof v);
    t->ifd = int_attribute(tag, "IFD", 0);
    t->first_c = int_attribute(tag, "FirstC", 0);
    t->first_z = int_attribute(tag, "FirstZ", 0);
    t->first_t = int_attribute(tag, "FirstT", 0);
    // An IFD alone is one plane; neither IFD nor PlaneCount: every plane from the first.
    t->plane_count = int_attribute(tag, "PlaneCount", has_ifd ? 1 : -1);
}

// The element `name` the Image refers to by the ID of its child `ref` (ObjectiveSettings,
// InstrumentRef), or the document's only `name` when the Image refers to none; NULL
// otherwise.
static const char *referenced(const char *xml, const char *image, const char *image_end,
                              const char *ref, const char *name)
{
    char id[128] = "", other[128];
    const char *settings = find_start(image, image_end, ref);
    bool named = settings && attribute(settings, "ID", id, sizeof id);
    const char *chosen = NULL;
    int count = 0;
    for (const char *o = find_start(xml, NULL, name); o; o = find_start(o + 1, NULL, name)) {
        count++;
        if (!chosen && (!named || (attribute(o, "ID", other, sizeof other) &&
                                   strcmp(other, id) == 0))) {
            chosen = o;
        }
    }
    return chosen && (named || count == 1) ? chosen : NULL;
}

// The NominalMagnification of the objective the Image names, or of the document's only
// Objective; 0 otherwise.
static double objective_power(const char *xml, const char *image, const char *image_end)
{
    const char *chosen = referenced(xml, image, image_end, "ObjectiveSettings", "Objective");
    char v[32];
    double power = chosen && attribute(chosen, "NominalMagnification", v, sizeof v)
                       ? strtod(v, NULL) : 0;
    return isfinite(power) && power > 0 ? power : 0;
}

// Sets a field of the device (as s2d_meta_device_text) from the attribute name of the start
// tag at tag, if it has one.
static void device_field(const char *tag, const char *name, char out[129])
{
    char value[129];
    if (attribute(tag, name, value, sizeof value)) {
        s2d_meta_device_text(out, value, SIZE_MAX);
    }
}

// The Microscope of the Instrument the Image names, or of the document's only Instrument:
// its Manufacturer, Model and SerialNumber.
static void read_microscope(const char *xml, const char *image, const char *image_end,
                            s2d_source_device *d)
{
    const char *instrument = referenced(xml, image, image_end, "InstrumentRef", "Instrument");
    const char *end = instrument ? element_end(instrument, "Instrument") : NULL;
    const char *scope = end && *end != '>' ? find_start(instrument + 1, end, "Microscope")
                                           : NULL;
    if (scope) {
        device_field(scope, "Manufacturer", d->manufacturer);
        device_field(scope, "Model", d->model);
        device_field(scope, "SerialNumber", d->serial);
    }
}

bool s2d_ome_parse(const char *xml, s2d_ome_image *img, s2d_error *err)
{
    memset(img, 0, sizeof *img);
    const char *image = find_start(xml, NULL, "Image");
    const char *image_end = image ? element_end(image, "Image") : NULL;
    const char *pixels = image ? find_start(image + 1, image_end, "Pixels") : NULL;
    if (!pixels) {
        return s2d_error_set(err, S2D_ERR_INPUT, "OME-XML without an Image's Pixels element");
    }
    attribute(pixels, "DimensionOrder", img->dimension_order, sizeof img->dimension_order);
    attribute(pixels, "Type", img->type, sizeof img->type);
    img->size_x = int_attribute(pixels, "SizeX", 0);
    img->size_y = int_attribute(pixels, "SizeY", 0);
    img->size_c = int_attribute(pixels, "SizeC", 0);
    img->size_z = int_attribute(pixels, "SizeZ", 0);
    img->size_time = int_attribute(pixels, "SizeT", 0);
    int bits = int_attribute(pixels, "SignificantBits", 0);
    img->significant_bits = bits > 0 && bits <= 64 ? bits : 0;
    // OME's default length unit is the micrometre.
    img->physical_x_um = length_attribute(pixels, "PhysicalSizeX", "PhysicalSizeXUnit", MICROMETRE);
    img->physical_y_um = length_attribute(pixels, "PhysicalSizeY", "PhysicalSizeYUnit", MICROMETRE);
    img->physical_z_um = length_attribute(pixels, "PhysicalSizeZ", "PhysicalSizeZUnit", MICROMETRE);
    img->objective_power = objective_power(xml, image, image_end);
    read_microscope(xml, image, image_end, &img->microscope);

    const char *end = element_end(pixels, "Pixels");
    img->plane_samples = 1;
    if (!end || *end == '>') {
        return true;   // <Pixels .../>: no channels, no TiffData
    }
    for (const char *at = find_start(pixels + 1, end, "Channel"); at;
         at = find_start(at + 1, end, "Channel")) {
        s2d_ome_channel *c = append(&img->channels, &img->nchannels, sizeof *c);
        if (!c) {
            return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        }
        read_channel(at, c);
    }
    img->plane_samples = img->nchannels > 0 ? img->channels[0].samples : 1;
    char uuid[128] = "";
    const char *ome = find_start(xml, NULL, "OME");
    if (ome) {
        attribute(ome, "UUID", uuid, sizeof uuid);
    }
    for (const char *at = find_start(pixels + 1, end, "TiffData"); at;
         at = find_start(at + 1, end, "TiffData")) {
        s2d_ome_tiffdata *t = append(&img->tiffdata, &img->ntiffdata, sizeof *t);
        if (!t) {
            return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        }
        memset(t, 0, sizeof *t);
        read_tiffdata(at, uuid, t);
    }
    return true;
}

void s2d_ome_image_free(s2d_ome_image *img)
{
    free(img->channels);
    free(img->tiffdata);
    img->channels = NULL;
    img->tiffdata = NULL;
    img->nchannels = img->ntiffdata = 0;
}

int s2d_ome_effective_channels(const s2d_ome_image *img)
{
    int samples = img->plane_samples >= 1 ? img->plane_samples : 1;
    int nc = img->size_c / samples;
    return nc >= 1 && img->size_c % samples == 0 ? nc : img->size_c >= 1 ? img->size_c : 1;
}

bool s2d_ome_type_samples(const char *type, int *format, int *bits)
{
    static const struct { const char *type; int format, bits; } types[] = {
        {"uint8", 0, 8}, {"uint16", 0, 16}, {"uint32", 0, 32}, {"int8", 1, 8},
        {"int16", 1, 16}, {"int32", 1, 32}, {"float", 2, 32}, {"double", 2, 64}};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        if (strcmp(type, types[i].type) == 0) {
            *format = types[i].format;
            *bits = types[i].bits;
            return true;
        }
    }
    return false;
}

bool s2d_ome_planes_file(const s2d_tiffdir *td)
{
    if (!td || td->n == 0 || !td->ifds[0].description || !strstr(td->ifds[0].description, "<OME")) {
        return false;
    }
    const s2d_tiff_ifd *d0 = &td->ifds[0];
    return d0->samples == 1 || d0->bits != 8 || d0->sample_format != 1;   // 1: unsigned
}

// ------------------------------------------------------------------ planes to IFDs

// axis[k]: which of c (0), z (1), t (2) varies k-th fastest in DimensionOrder.
static bool axes_of(const char *order, int axis[3])
{
    if (strlen(order) != 5 || strncmp(order, "XY", 2) != 0) {
        return false;
    }
    bool seen[3] = {false, false, false};
    for (int k = 0; k < 3; k++) {
        const char *at = strchr("CZT", order[2 + k]);
        if (!order[2 + k] || !at || seen[at - "CZT"]) {
            return false;
        }
        axis[k] = (int)(at - "CZT");
        seen[axis[k]] = true;
    }
    return true;
}

bool s2d_ome_plane_ifds(const s2d_ome_image *img, int nifds, int *ifd_of_plane, s2d_error *err)
{
    int axis[3];
    if (!axes_of(img->dimension_order, axis)) {
        return s2d_error_set(err, S2D_ERR_INPUT, "OME-XML DimensionOrder \"%s\" is not one "
                             "known", img->dimension_order);
    }
    int nc = s2d_ome_effective_channels(img);
    int size[3] = {nc, img->size_z, img->size_time};
    if (img->size_c < 1 || img->size_z < 1 || img->size_time < 1) {
        return s2d_error_set(err, S2D_ERR_INPUT, "OME-XML SizeC %d, SizeZ %d, SizeT %d: not "
                             "all positive", img->size_c, img->size_z, img->size_time);
    }
    // In a double: three sizes of an int may overflow a long long.
    double planes = (double)size[0] * size[1] * size[2];
    if (planes > nifds) {
        return s2d_error_set(err, S2D_ERR_INPUT, "OME-XML describes %.0f planes (%d channels "
                             "x %d z x %d t), the file has %d IFD%s", planes, size[0], size[1],
                             size[2], nifds, nifds == 1 ? "" : "s");
    }
    long long total = (long long)planes;
    for (long long i = 0; i < total; i++) {
        ifd_of_plane[i] = -1;
    }
    // No TiffData: IFDs 0, 1, ... are the planes in DimensionOrder.
    static const s2d_ome_tiffdata every_plane = {0, 0, 0, 0, -1, false};
    size_t ntiffdata = img->ntiffdata ? img->ntiffdata : 1;
    for (size_t d = 0; d < ntiffdata; d++) {
        const s2d_ome_tiffdata *t = img->ntiffdata ? &img->tiffdata[d] : &every_plane;
        if (t->other_file) {
            return s2d_error_set(err, S2D_ERR_INPUT, "OME-XML TiffData %zu places planes in "
                                 "another file (a multi-file OME-TIFF): not supported", d);
        }
        int first[3] = {t->first_c, t->first_z, t->first_t};
        for (int a = 0; a < 3; a++) {
            if (first[a] < 0 || first[a] >= size[a]) {
                return s2d_error_set(err, S2D_ERR_INPUT, "OME-XML TiffData %zu: First%c %d is "
                                     "not below Size%c %d", d, "CZT"[a], first[a], "CZT"[a],
                                     size[a]);
            }
        }
        // Its first plane's place in DimensionOrder, and the planes it maps from there.
        long long start = first[axis[0]] +
                          (long long)size[axis[0]] * (first[axis[1]] +
                                                      (long long)size[axis[1]] * first[axis[2]]);
        long long count = t->plane_count < 0 ? total - start : t->plane_count;
        if (t->ifd < 0 || count < 0 || start + count > total) {
            return s2d_error_set(err, S2D_ERR_INPUT, "OME-XML TiffData %zu maps %lld planes "
                                 "from plane %lld, past the %lld planes", d, count, start,
                                 total);
        }
        if (t->ifd + count > nifds) {
            return s2d_error_set(err, S2D_ERR_INPUT, "OME-XML TiffData %zu maps IFDs %d to "
                                 "%lld, past the file's last IFD %d", d, t->ifd,
                                 t->ifd + count - 1, nifds - 1);
        }
        for (long long k = 0; k < count; k++) {
            long long s = start + k;
            int at[3];
            at[axis[0]] = (int)(s % size[axis[0]]);
            s /= size[axis[0]];
            at[axis[1]] = (int)(s % size[axis[1]]);
            at[axis[2]] = (int)(s / size[axis[1]]);
            ifd_of_plane[at[0] + (long long)nc * (at[1] + (long long)size[1] * at[2])] =
                t->ifd + (int)k;
        }
    }
    for (long long i = 0; i < total; i++) {
        if (ifd_of_plane[i] < 0) {
            return s2d_error_set(err, S2D_ERR_INPUT, "OME-XML maps no IFD to plane c %lld, "
                                 "z %lld, t %lld", i % nc, i / nc % size[1],
                                 i / nc / size[1]);
        }
    }
    return true;
}
