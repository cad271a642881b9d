// SPDX-License-Identifier: Apache-2.0
/* Ventana BIF (Roche iScan): a TIFF whose first directory's XMP packet holds an iScan
 * element (as the root, or a child of a Metadata root) with the scanner and the scan:
 * Magnification, ScanRes (um per pixel), UnitNumber (serial), ScannerModel, BuildVersion,
 * Barcode, ScanDate. The levels are the tiled directories described "level=N mag=M ...",
 * level 0 first; "Label Image" (or "Label_Image") is the photo of the slide, OpenSlide's
 * macro, and "Thumbnail" the thumbnail.
 *
 * Level 0's XMP, an EncodeInfo element, says how the scanner's tiles join: per area of
 * interest its tile grid, where it lies, and for each pair of neighbours how many pixels
 * they share (OverlapX, OverlapY). OpenSlide lays every level's tiles out by these
 * overlaps. Where no tile overlaps and the areas lie on the TIFF's own grid, its tiles are
 * the picture as they are and are copied; otherwise the file is declined here and
 * OpenSlide stitches it (fmt_openslide.c, decoded). A "Ventana TIFF" without EncodeInfo is
 * a plain grid and copied. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

#include "source/tiffio.h"

// ------------------------------------------------------------------ a little XML

static bool name_ends(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '>' || c == '/';
}

// The next start tag <name ...> at or after at, or NULL.
static const char *next_tag(const char *at, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strchr(at, '<'); p; p = strchr(p + 1, '<')) {
        if (strncmp(p + 1, name, n) == 0 && name_ends(p[1 + n])) {
            return p;
        }
    }
    return NULL;
}

// The root element's start tag: past the declaration, comments and a DOCTYPE.
static const char *root_tag(const char *xml)
{
    const char *p = xml;
    for (;;) {
        p += strspn(p, " \t\r\n");
        if (strncmp(p, "\xEF\xBB\xBF", 3) == 0) {
            p += 3;
        } else if (strncmp(p, "<?", 2) == 0 || strncmp(p, "<!DOCTYPE", 9) == 0) {
            const char *end = strchr(p, '>');
            if (!end) {
                return NULL;
            }
            p = end + 1;
        } else if (strncmp(p, "<!--", 4) == 0) {
            const char *end = strstr(p, "-->");
            if (!end) {
                return NULL;
            }
            p = end + 3;
        } else {
            return p[0] == '<' ? p : NULL;
        }
    }
}

static bool tag_is(const char *tag, const char *name)
{
    size_t n = strlen(name);
    return tag && strncmp(tag + 1, name, n) == 0 && name_ends(tag[1 + n]);
}

// Attribute name of the start tag at tag into out (the five named entities decoded, cut
// to n - 1 bytes). @return false when the tag has no such attribute.
static bool attribute(const char *tag, const char *name, char *out, size_t n)
{
    size_t len = strlen(name);
    const char *end = tag ? strchr(tag, '>') : NULL;
    for (const char *p = tag + 1; end && p < end; p++) {
        if (!strchr(" \t\r\n", p[-1]) || strncmp(p, name, len) != 0) {
            continue;
        }
        const char *q = p + len;
        q += strspn(q, " \t\r\n");
        if (*q != '=') {
            continue;
        }
        q++;
        q += strspn(q, " \t\r\n");
        char quote = *q;
        const char *close = quote == '"' || quote == '\'' ? strchr(q + 1, quote) : NULL;
        if (!close) {
            return false;
        }
        static const struct { const char *entity; char c; } entities[] = {
            {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
        size_t k = 0;
        for (const char *v = q + 1; v < close && k + 1 < n; v++) {
            char c = *v;
            for (size_t e = 0; c == '&' && e < sizeof entities / sizeof *entities; e++) {
                size_t el = strlen(entities[e].entity);
                if ((size_t)(close - v) >= el && strncmp(v, entities[e].entity, el) == 0) {
                    c = entities[e].c;
                    v += el - 1;
                    break;
                }
            }
            out[k++] = c;
        }
        out[k] = '\0';
        return true;
    }
    return false;
}

// A numeric attribute; NAN when absent or not a number.
static double number_attribute(const char *tag, const char *name)
{
    char text[64];
    char *end;
    if (!attribute(tag, name, text, sizeof text)) {
        return NAN;
    }
    double v = strtod(text, &end);
    return end != text && *end == '\0' ? v : NAN;
}

// The iScan element of IFD 0's packet (its start tag), or NULL: the root, or a child of a
// Metadata root, as OpenSlide accepts it.
static const char *iscan_tag(const char *xmp)
{
    const char *root = xmp && strstr(xmp, "iScan") ? root_tag(xmp) : NULL;
    if (tag_is(root, "iScan")) {
        return root;
    }
    return tag_is(root, "Metadata") ? next_tag(root, "iScan") : NULL;
}

// ------------------------------------------------------------------ the tiles' layout

// Whether level 0's EncodeInfo (xml) lays its tiles out as the TIFF's grid of w x h pixels
// in tiles of tw x th: no joint with an overlap, every scanned area's tiles of that size,
// starting where the TIFF's grid puts them (its Pos-X/Pos-Y, Pos-Y measured from the
// bottom, as its AoiOrigin says), and together exactly w x h.
static bool layout_is_grid(const char *xml, uint32_t w, uint32_t h, uint32_t tw, uint32_t th)
{
    const char *stitch = next_tag(xml, "SlideStitchInfo"), *origins = next_tag(xml, "AoiOrigin");
    if (!stitch || !origins) {
        return false;
    }
    for (const char *j = next_tag(stitch, "TileJointInfo"); j;
         j = next_tag(j + 1, "TileJointInfo")) {
        if (number_attribute(j, "OverlapX") != 0 || number_attribute(j, "OverlapY") != 0) {
            return false;
        }
    }
    // The areas, and AoiOrigin's children in the same order.
    enum { MAX_AREAS = 64 };
    double x[MAX_AREAS], y[MAX_AREAS], ox[MAX_AREAS], oy[MAX_AREAS], cols[MAX_AREAS],
        rows[MAX_AREAS];
    int n = 0;
    const char *origin = strchr(origins + 1, '<');
    for (const char *a = next_tag(stitch, "ImageInfo"); a; a = next_tag(a + 1, "ImageInfo")) {
        while (origin && origin[1] == '/' && strncmp(origin, "</AoiOrigin", 11) != 0) {
            origin = strchr(origin + 1, '<');   // a child's end tag
        }
        if (!origin || origin[1] == '/' || n == MAX_AREAS) {
            return false;   // fewer origins than areas, or too many areas for us
        }
        const char *this_origin = origin;
        origin = strchr(origin + 1, '<');
        double scanned = number_attribute(a, "AOIScanned");
        if (isnan(scanned)) {
            return false;
        }
        if (scanned == 0) {
            continue;
        }
        if (number_attribute(a, "Width") != tw || number_attribute(a, "Height") != th) {
            return false;
        }
        x[n] = number_attribute(a, "Pos-X");
        y[n] = number_attribute(a, "Pos-Y");
        cols[n] = number_attribute(a, "NumCols");
        rows[n] = number_attribute(a, "NumRows");
        ox[n] = number_attribute(this_origin, "OriginX");
        oy[n] = number_attribute(this_origin, "OriginY");
        if (!(cols[n] >= 1 && rows[n] >= 1 && x[n] >= 0 && y[n] >= 0 && ox[n] >= 0 &&
              oy[n] >= 0)) {
            return false;   // also NANs
        }
        n++;
    }
    double top = 0, right = 0, bottom = 0;
    for (int i = 0; i < n; i++) {
        top = fmax(top, y[i] + rows[i] * th);
    }
    for (int i = 0; i < n; i++) {
        double from_top = top - y[i] - rows[i] * th;
        if (x[i] != ox[i] || from_top != oy[i]) {
            return false;
        }
        right = fmax(right, x[i] + cols[i] * tw);
        bottom = fmax(bottom, from_top + rows[i] * th);
    }
    return n > 0 && right == w && bottom == h;
}

// "level=N mag=M quality=Q": N and M, both required.
static bool level_description(const char *desc, long *level, double *mag)
{
    const char *l = strstr(desc, "level="), *m = strstr(desc, "mag=");
    char *end;
    if (!l || !m || (l != desc && l[-1] != ' ') || (m != desc && m[-1] != ' ')) {
        return false;
    }
    *level = strtol(l + 6, &end, 10);
    if (end == l + 6 || (*end && *end != ' ')) {
        return false;
    }
    *mag = strtod(m + 4, &end);
    return end != m + 4 && (!*end || *end == ' ') && *mag > 0;
}

// The levels, label and thumbnail. @return 1 when added, 0 when the file is not one we copy
// from, -1 for lack of memory.
static int add_images(s2d_source *src)
{
    const s2d_tiffdir *td = src->tiffdir;
    int fd = s2d_tiff_source_of(src)->fd;
    double mag0 = 0, prev_mag = INFINITY;
    long next_level = 0;
    for (int i = 0; i < td->n; i++) {
        const s2d_tiff_ifd *d = &td->ifds[i];
        const char *desc = d->description ? d->description : "";
        long level;
        double mag;
        if (strcmp(desc, "Label Image") == 0 || strcmp(desc, "Label_Image") == 0) {
            if (!s2d_tiff_source_set_associated(src, i, S2D_IMAGE_OVERVIEW)) {
                return -1;
            }
            continue;
        }
        if (strcmp(desc, "Thumbnail") == 0) {
            if (!s2d_tiff_source_set_associated(src, i, S2D_IMAGE_THUMBNAIL)) {
                return -1;
            }
            continue;
        }
        if (!strstr(desc, "level=")) {
            continue;
        }
        if (!level_description(desc, &level, &mag) || level != next_level++ ||
            mag >= prev_mag || !d->tiled) {
            return 0;
        }
        prev_mag = mag;
        mag0 = level == 0 ? mag : mag0;
        int ifd0 = src->nlevels ? s2d_tiff_source_of(src)->levels[0].ifd : i;
        const s2d_tiff_ifd *d0 = &td->ifds[ifd0];
        if (level == 0 && d->xmp && strstr(d->xmp, "EncodeInfo") &&
            !layout_is_grid(d->xmp, d->width, d->height, d->tile_w, d->tile_h)) {
            return 0;
        }
        // OpenSlide sizes a level as level 0 over the magnification's downsample, in tiles of
        // level 0's size; a file of other sizes is its to make sense of.
        double ds = mag0 / mag;
        if (!(ds <= 1 << 16) || d->tile_w != d0->tile_w || d->tile_h != d0->tile_h ||
            ds != floor(ds) ||
            d->tile_w % (uint32_t)ds || d->tile_h % (uint32_t)ds ||
            d->width != (uint32_t)ceil(d0->width / ds) ||
            d->height != (uint32_t)ceil(d0->height / ds)) {
            return 0;
        }
        s2d_tiff_level *tl = s2d_tiff_source_add_level(src, i);
        if (!tl) {
            return -1;
        }
        if (!s2d_tiff_level_follows(src, tl) || d->compression != COMPRESSION_JPEG ||
            !s2d_grid_probe_tiles(d, fd, &tl->tiles, &src->levels[src->nlevels - 1])) {
            return 0;
        }
        tl->frame = s2d_tiff_tiled_frame;
        tl->cell_w = (int)tl->tiles.tile_w;
        tl->cell_h = (int)tl->tiles.tile_h;
    }
    return s2d_tiff_source_finish(src) ? 1 : 0;
}

// ------------------------------------------------------------------ metadata

static bool read_meta(const s2d_tiffdir *td, s2d_source_meta *m)
{
    const char *iscan = iscan_tag(td->ifds[0].xmp);
    char text[257];
    s2d_source_device *dev = &m->device;
    if (attribute(iscan, "ScanRes", text, sizeof text)) {
        m->mpp_x = m->mpp_y = s2d_meta_positive(text);
    }
    if (attribute(iscan, "Magnification", text, sizeof text)) {
        m->objective_power = s2d_meta_positive(text);
    }
    if (attribute(iscan, "Barcode", text, sizeof text)) {
        snprintf(m->barcode, sizeof m->barcode, "%s", text);
    }
    if (!(attribute(iscan, "ScanDate", text, sizeof text) &&
          s2d_meta_tiff_datetime(text, m->acquisition_datetime)) &&
        !s2d_meta_tiff_datetime(td->ifds[0].datetime, m->acquisition_datetime)) {
        m->acquisition_datetime[0] = '\0';
    }
    s2d_meta_device_text(dev->manufacturer, "Ventana", SIZE_MAX);
    if (attribute(iscan, "ScannerModel", text, sizeof text)) {
        s2d_meta_device_text(dev->model, text, SIZE_MAX);
    }
    if (attribute(iscan, "UnitNumber", text, sizeof text)) {
        s2d_meta_device_text(dev->serial, text, SIZE_MAX);
    }
    if (attribute(iscan, "BuildVersion", text, sizeof text)) {
        s2d_meta_device_software(dev, text, SIZE_MAX);
    }
    snprintf(m->format_title, sizeof m->format_title, "Ventana BIF");
    s2d_meta_default_background(m);
    return s2d_meta_take_icc(td, m);
}

// OpenSlide's test: IFD 0's XMP packet has an iScan element where it looks for one.
static bool ventana_detect(const char *path, const s2d_tiffdir *td)
{
    (void)path;
    return td && td->n > 0 && iscan_tag(td->ifds[0].xmp) != NULL;
}

static bool ventana_open(s2d_source *src, s2d_error *err)
{
    if (!s2d_tiff_source_sound(src->tiffdir, err) || !s2d_tiff_source_begin(src, err)) {
        return false;
    }
    int added = add_images(src);
    if (added <= 0) {
        s2d_tiff_source_abandon(src);   // overlapping tiles or another layout: OpenSlide's
        return added == 0 ? false : s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    return read_meta(src->tiffdir, &src->meta) ||
           s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
}

static const char *const ventana_extensions[] = {".bif", NULL};

const s2d_format s2d_format_ventana = {
    .name = "ventana",
    .extensions = ventana_extensions,
    .reads_tiff = true,
    .detect = ventana_detect,
    .open = ventana_open,
};
