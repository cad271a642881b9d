// SPDX-License-Identifier: Apache-2.0
/* Philips TIFF (the export of Philips IntelliSite scanners): Software starts with "Philips",
 * and IFD 0's description is an XML DataObject of type DPUfsImport, whose attributes carry
 * DICOM-like names and values:
 *
 *   <DataObject ObjectType="DPUfsImport">
 *     <Attribute Name="DICOM_MANUFACTURER" ...>PHILIPS</Attribute> ...
 *     <Attribute Name="PIM_DP_SCANNED_IMAGES" ...><Array>
 *       <DataObject ObjectType="DPScannedImage">          one WSI, a LABELIMAGE, a MACROIMAGE
 *         <Attribute Name="PIM_DP_IMAGE_TYPE">WSI</Attribute>
 *         <Attribute Name="DICOM_PIXEL_SPACING">"0.00025" "0.00025"</Attribute>   (mm)
 *         <Attribute Name="PIIM_PIXEL_DATA_REPRESENTATION_SEQUENCE"><Array>
 *           <DataObject ObjectType="PixelDataRepresentation">   one per level: its spacing
 *       ...  a label or macro may instead hold its JPEG, base64, in PIM_DP_IMAGE_DATA
 *
 * The levels are the tiled directories, each but the first marked reduced-resolution. Their
 * stored sizes are padded to whole tiles; a level's image is level 0's size divided by its
 * downsample, the ratio of its pixel spacing to level 0's rounded to a whole number, as
 * OpenSlide takes it. Tiles of zero length were never scanned (a slide of several regions):
 * background. Label and macro are stripped directories described "Label" / "Macro", else
 * the JPEGs of the XML. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

#include "core/base64.h"
#include "source/tiffio.h"
#include "source/xml.h"

#define PHILIPS_SOFTWARE "Philips"
#define ROOT_TYPE "DPUfsImport"

// ------------------------------------------------------------------ the XML

// The text of the DataObject's attribute of that Name, or NULL; owned by the tree.
static const char *attribute(const s2d_xml_node *object, const char *name)
{
    for (const s2d_xml_node *a = s2d_xml_child(object, "Attribute"); a;
         a = s2d_xml_next(a, "Attribute")) {
        const char *n = s2d_xml_attr(a, "Name");
        if (n && strcmp(n, name) == 0) {
            return s2d_xml_text(a);
        }
    }
    return NULL;
}

// The first DataObject of the Array inside the DataObject's attribute of that Name, or
// NULL; owned by the tree.
static const s2d_xml_node *array_first(const s2d_xml_node *object, const char *name)
{
    for (const s2d_xml_node *a = s2d_xml_child(object, "Attribute"); a;
         a = s2d_xml_next(a, "Attribute")) {
        const char *n = s2d_xml_attr(a, "Name");
        if (n && strcmp(n, name) == 0) {
            return s2d_xml_child(s2d_xml_child(a, "Array"), "DataObject");
        }
    }
    return NULL;
}

// The scanned images of that PIM_DP_IMAGE_TYPE: the first (owned by the tree, or NULL), and
// how many there are.
static const s2d_xml_node *scanned_image(const s2d_xml_node *root, const char *type, int *count)
{
    const s2d_xml_node *first = NULL;
    *count = 0;
    for (const s2d_xml_node *o = array_first(root, "PIM_DP_SCANNED_IMAGES"); o;
         o = s2d_xml_next(o, "DataObject")) {
        const char *t = attribute(o, "PIM_DP_IMAGE_TYPE");
        if (t && strcmp(t, type) == 0) {
            first = first ? first : o;
            ++*count;
        }
    }
    return first;
}

// A DICOM_PIXEL_SPACING value, '"row" "column"' in millimetres, quotes optional.
static bool pixel_spacing(const char *text, double *row_mm, double *col_mm)
{
    double v[2];
    const char *p = text;
    for (int i = 0; i < 2; i++) {
        while (p && (*p == ' ' || *p == '"' || *p == '\t' || *p == '\n' || *p == '\r')) {
            p++;
        }
        char *end;
        v[i] = p ? strtod(p, &end) : 0;
        if (!p || end == p || !isfinite(v[i]) || v[i] <= 0) {
            return false;
        }
        p = *end == '"' ? end + 1 : end;
    }
    *row_mm = v[0];
    *col_mm = v[1];
    return true;
}

// The objective of a DICOM_DERIVATION_DESCRIPTION "tiff-...-levels=40,...-...": the first
// value of "levels" when it is a plausible magnification (some scanners put a code above
// 10000 there instead); 0 when none.
static double derivation_objective(const char *text)
{
    const char *at = text ? strstr(text, "levels=") : NULL;
    const char *quoted = text ? strchr(text, '"') : NULL;
    if (!at || (quoted && quoted < at)) {
        return 0;
    }
    char *end;
    long v = strtol(at + 7, &end, 10);
    return end != at + 7 && (*end == ',' || *end == '-' || *end == '\0') && v > 0 && v <= 200
               ? (double)v
               : 0;
}

// Copies the value without its quotes, several values joined by a space.
static void unquoted(const char *text, char *out, size_t n)
{
    size_t k = 0;
    bool space = false;
    for (const char *p = text; p && *p && k + 1 < n; p++) {
        if (*p == '"') {
            continue;
        }
        bool is_space = *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r';
        if (is_space) {
            space = k > 0;
            continue;
        }
        if (space && k + 2 < n) {
            out[k++] = ' ';
        }
        space = false;
        out[k++] = *p;
    }
    out[k] = '\0';
}

// The barcode, base64 in PIM_DP_UFS_BARCODE; its plain text when that is no base64 of
// printable text.
static bool read_barcode(const char *text, char *out, size_t n)
{
    bool nomem;
    if (!s2d_meta_base64_text(text, out, n, &nomem)) {
        unquoted(text, out, n);
    }
    return !nomem;
}

// The scanner: the DICOM_ attributes of the XML (software versions each in quotes, as
// '"1.8.6824" "20180906_R51"'), then the TIFF's Make and Model for what they leave unsaid,
// and its Software only when the XML names no version.
static void read_device(const s2d_xml_node *root, const s2d_tiff_ifd *d0, s2d_source_device *d)
{
    static const struct { const char *name; size_t at; } fields[] = {
        {"DICOM_MANUFACTURER", offsetof(s2d_source_device, manufacturer)},
        {"DICOM_MANUFACTURERS_MODEL_NAME", offsetof(s2d_source_device, model)},
        {"DICOM_DEVICE_SERIAL_NUMBER", offsetof(s2d_source_device, serial)}};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        char value[129];
        unquoted(attribute(root, fields[i].name), value, sizeof value);
        s2d_meta_device_text((char *)d + fields[i].at, value[0] ? value : NULL, SIZE_MAX);
    }
    s2d_meta_device_software_list(d, attribute(root, "DICOM_SOFTWARE_VERSIONS"));
    s2d_meta_device_text(d->manufacturer, d0->make, SIZE_MAX);
    s2d_meta_device_text(d->model, d0->model, SIZE_MAX);
    if (!d->software[0][0]) {
        s2d_meta_device_software(d, d0->software, SIZE_MAX);
    }
}

static bool read_meta(const s2d_tiffdir *td, const s2d_xml_node *root, const s2d_xml_node *wsi,
                      s2d_source_meta *m)
{
    double row_mm, col_mm;
    const char *spacing = attribute(wsi, "DICOM_PIXEL_SPACING");
    if (spacing && pixel_spacing(spacing, &row_mm, &col_mm)) {
        m->mpp_x = col_mm * 1000;
        m->mpp_y = row_mm * 1000;
    }
    m->objective_power = derivation_objective(attribute(wsi, "DICOM_DERIVATION_DESCRIPTION"));
    if (!s2d_meta_tiff_datetime(attribute(root, "DICOM_ACQUISITION_DATETIME"),
                              m->acquisition_datetime) &&
        !s2d_meta_tiff_datetime(td->ifds[0].datetime, m->acquisition_datetime)) {
        m->acquisition_datetime[0] = '\0';
    }
    const char *barcode = attribute(root, "PIM_DP_UFS_BARCODE");
    if (barcode && !read_barcode(barcode, m->barcode, sizeof m->barcode)) {
        return false;
    }
    read_device(root, &td->ifds[0], &m->device);
    snprintf(m->format_title, sizeof m->format_title, "Philips TIFF");
    s2d_meta_default_background(m);
    return s2d_meta_take_icc(td, m);
}

// ------------------------------------------------------------------ levels

// The spacing of each level, from the WSI's pixel data representations: as many as levels.
static bool level_downsamples(const s2d_xml_node *wsi, s2d_source *src)
{
    const s2d_xml_node *rep = array_first(wsi, "PIIM_PIXEL_DATA_REPRESENTATION_SEQUENCE");
    double row0 = 0, col0 = 0;
    int n = 0;
    s2d_tiff_source *ts = s2d_tiff_source_of(src);
    for (; rep; rep = s2d_xml_next(rep, "DataObject")) {
        const char *type = s2d_xml_attr(rep, "ObjectType");
        if (!type || strcmp(type, "PixelDataRepresentation") != 0) {
            continue;
        }
        double row_mm, col_mm;
        const char *spacing = attribute(rep, "DICOM_PIXEL_SPACING");
        if (n >= src->nlevels || !spacing || !pixel_spacing(spacing, &row_mm, &col_mm)) {
            return false;
        }
        if (n == 0) {
            row0 = row_mm;
            col0 = col_mm;
        } else {
            double ds = round((col_mm / col0 + row_mm / row0) / 2);
            s2d_tiff_level *tl = &ts->levels[n];
            if (!(ds >= 1 && ds < 1e6)) {
                return false;
            }
            // The stored size is padded to whole tiles; the image is level 0's, scaled.
            tl->width = (uint32_t)(ts->levels[0].width / ds);
            tl->height = (uint32_t)(ts->levels[0].height / ds);
            if (tl->width > src->tiffdir->ifds[tl->ifd].width ||
                tl->height > src->tiffdir->ifds[tl->ifd].height) {
                return false;
            }
            src->levels[n].pix.width = tl->width;
            src->levels[n].pix.height = tl->height;
        }
        n++;
    }
    return n == src->nlevels;
}

// Adds IFD i as the next level: JPEG tiles to copy, reduced-resolution unless first, no
// larger than the level before.
static bool add_level(s2d_source *src, int i, bool *nomem)
{
    const s2d_tiff_ifd *d = &src->tiffdir->ifds[i];
    int fd = s2d_tiff_source_of(src)->fd;
    bool first = src->nlevels == 0;
    const s2d_tiff_level *prev = first ? NULL : &s2d_tiff_source_of(src)->levels[src->nlevels - 1];
    if ((!first && !(d->subfile_type & FILETYPE_REDUCEDIMAGE)) ||
        (prev && (d->width > src->tiffdir->ifds[prev->ifd].width ||
                  d->height > src->tiffdir->ifds[prev->ifd].height)) ||
        d->compression != COMPRESSION_JPEG) {
        return false;
    }
    s2d_tiff_level *tl = s2d_tiff_source_add_level(src, i);
    if (!tl) {
        *nomem = true;
        return false;
    }
    tl->frame = s2d_tiff_tiled_frame;
    bool ok = s2d_grid_probe_tiles(d, fd, &tl->tiles, &src->levels[src->nlevels - 1]);
    tl->tiles.sparse = ok;
    tl->cell_w = (int)tl->tiles.tile_w;
    tl->cell_h = (int)tl->tiles.tile_h;
    return ok;
}

// A label or macro from the XML's base64 JPEG, unless a directory gave one. A JPEG that
// cannot be read is left out, as OpenSlide leaves it.
static bool add_embedded(s2d_source *src, const s2d_xml_node *root, const char *type,
                         s2d_image_role role)
{
    int count;
    const s2d_xml_node *image = scanned_image(root, type, &count);
    const char *data = image ? attribute(image, "PIM_DP_IMAGE_DATA") : NULL;
    if (!data || s2d_source_associated(src, role)) {
        return true;
    }
    s2d_buf jpeg = {0};
    bool decoded = s2d_base64_decode(data, &jpeg);
    bool nomem = jpeg.failed;
    if (decoded) {
        s2d_tiff_source_set_embedded(src, &jpeg, role);
    }
    s2d_buf_free(&jpeg);
    return !nomem;
}

static bool philips_detect(const char *path, const s2d_tiffdir *td)
{
    (void)path;
    if (!td || td->n == 0) {
        return false;
    }
    const s2d_tiff_ifd *d0 = &td->ifds[0];
    if (!d0->software || strncmp(d0->software, PHILIPS_SOFTWARE, 7) != 0 || !d0->description) {
        return false;
    }
    // The first element (past the declaration, comments and white space) must be the
    // DataObject root of type DPUfsImport; open() reads the rest.
    const char *p = d0->description;
    for (;;) {
        p += strspn(p, " \t\r\n");
        if (strncmp(p, "<?", 2) == 0 || strncmp(p, "<!--", 4) == 0) {
            const char *close = strstr(p, p[1] == '?' ? "?>" : "-->");
            if (!close) {
                return false;
            }
            p = close + (p[1] == '?' ? 2 : 3);
            continue;
        }
        break;
    }
    if (strncmp(p, "<DataObject", 11) != 0 || !strchr(" \t\r\n", p[11]) || p[11] == '\0') {
        return false;
    }
    const char *gt = strchr(p, '>');
    const char *type = strstr(p, "ObjectType=");
    return gt && type && type < gt &&
           (strncmp(type + 11, "\"" ROOT_TYPE "\"", sizeof ROOT_TYPE + 1) == 0 ||
            strncmp(type + 11, "'" ROOT_TYPE "'", sizeof ROOT_TYPE + 1) == 0);
}

// Fills src from the listing and the parsed XML; false with err untouched when the file
// is not one to copy from (OpenSlide reads it, or refuses it).
static bool open_levels(s2d_source *src, const s2d_xml_node *root, const s2d_xml_node *wsi,
                        s2d_error *err)
{
    const s2d_tiffdir *td = src->tiffdir;
    bool ok = true, nomem = false;
    for (int i = 0; ok && i < td->n; i++) {
        const s2d_tiff_ifd *d = &td->ifds[i];
        const char *desc = d->description ? d->description : "";
        if (d->tiled) {
            ok = add_level(src, i, &nomem);
        } else if (strncmp(desc, "Label", 5) == 0) {
            ok = s2d_tiff_source_set_associated(src, i, S2D_IMAGE_LABEL);
        } else if (strncmp(desc, "Macro", 5) == 0) {
            ok = s2d_tiff_source_set_associated(src, i, S2D_IMAGE_OVERVIEW);
        }
    }
    ok = ok && src->nlevels > 0 && level_downsamples(wsi, src);
    for (int n = 1; ok && n < src->nlevels; n++) {
        ok = s2d_tiff_level_follows(src, &s2d_tiff_source_of(src)->levels[n]);
    }
    ok = ok && s2d_tiff_source_finish(src);
    if (ok && (!add_embedded(src, root, "LABELIMAGE", S2D_IMAGE_LABEL) ||
               !add_embedded(src, root, "MACROIMAGE", S2D_IMAGE_OVERVIEW) ||
               !read_meta(td, root, wsi, &src->meta))) {
        nomem = true;
    }
    return s2d_tiff_source_end(src, ok, nomem, err);
}

static bool philips_open(s2d_source *src, s2d_error *err)
{
    s2d_xml_node *root = s2d_tiff_source_xml(src->tiffdir, src->tiffdir->ifds[0].description,
                                             err);
    if (!root) {
        return false;   // malformed XML: OpenSlide takes it for a generic TIFF, if anything
    }
    // philips_detect searched the root tag's text, which another attribute's value can
    // fool; the parsed root decides, as OpenSlide's does (else a generic TIFF, if anything).
    const char *type = s2d_xml_attr(root, "ObjectType");
    if (strcmp(root->name, "DataObject") != 0 || !type || strcmp(type, ROOT_TYPE) != 0) {
        s2d_xml_free(root);
        return false;
    }
    int wsi_count;
    const s2d_xml_node *wsi = scanned_image(root, "WSI", &wsi_count);
    bool ok = wsi_count == 1 && s2d_tiff_source_begin(src, err) &&
              open_levels(src, root, wsi, err);
    s2d_xml_free(root);
    return ok;
}

static const char *const philips_extensions[] = {".tiff", ".tif", NULL};

const s2d_format s2d_format_philips = {
    .name = "philips",
    .extensions = philips_extensions,
    .reads_tiff = true,
    .detect = philips_detect,
    .open = philips_open,
};
