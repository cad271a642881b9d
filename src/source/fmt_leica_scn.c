// SPDX-License-Identifier: Apache-2.0
/* Leica SCN: a tiled (Big)TIFF whose first description is an XML document in the SCN
 * namespace describing the glass and the images scanned on it:
 *
 *   <scn xmlns="http://www.leica-microsystems.com/scn/2010/10/01">
 *     <collection sizeX="nm" sizeY="nm"> <barcode>base64</barcode>
 *       <image> <creationDate/> <device model= version=/>
 *         <pixels> <dimension sizeX= sizeY= ifd= [z=]/> ... </pixels>
 *         <view sizeX="nm" sizeY="nm" offsetX="nm" offsetY="nm"/>
 *         <scanSettings> ... <objective/> ... <illuminationSource/> ...
 *
 * The image as large as the glass at offset 0 is the macro; the others are scanned regions.
 * As OpenSlide shows it, a level is the whole glass at a region's resolution (its size
 * rounded up), the region's directory placed at its offset, the rest empty. We copy a slide
 * of one brightfield region whose tiles fall on the level's tile grid at every level (its
 * offset a whole number of tiles, its directory whole tiles or reaching the glass's edge):
 * the frames outside it are empty glass, background. Any other layout (several regions,
 * fluorescence, offsets between tiles) is left to OpenSlide. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

#include "source/tiffio.h"
#include "source/xml.h"

#define SCN_NS_2010_03 "http://www.leica-microsystems.com/scn/2010/03/10"
#define SCN_NS_2010_10 "http://www.leica-microsystems.com/scn/2010/10/01"
#define SCN_MAX_DIMENSIONS 32

typedef struct scn_dimension {
    int64_t ifd, width, height;
} scn_dimension;

typedef struct scn_image {
    const s2d_xml_node *node;
    int64_t nm_w, nm_h, nm_x, nm_y;
    bool macro, brightfield;
    scn_dimension dims[SCN_MAX_DIMENSIONS];   // z plane 0, widest first
    int ndims;
} scn_image;

// A whole integer attribute, as OpenSlide requires them. False when absent or no integer
// (err untouched), or when out of range: damage (err set).
static bool int_attr(const s2d_xml_node *n, const char *name, int64_t *out, s2d_error *err)
{
    const char *v = s2d_xml_attr(n, name);
    char *end;
    if (!v || !v[0]) {
        return false;
    }
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (*end != '\0') {
        return false;
    }
    if (errno == ERANGE) {
        return s2d_error_set(err, S2D_ERR_INPUT,
                             "Leica SCN: attribute %s of <%s> is out of range", name, n->name);
    }
    *out = x;
    return true;
}

// The text of the element path[0]/path[1]/... below n (path ends in NULL), or NULL; owned
// by the tree.
static const char *child_text(const s2d_xml_node *n, const char *const *path)
{
    for (; n && *path; path++) {
        n = s2d_xml_child(n, *path);
    }
    return n ? s2d_xml_text(n) : NULL;
}

// Reads an image element; false when it is not one OpenSlide accepts either (err set when
// it is damaged).
static bool read_image(const s2d_xml_node *node, int64_t glass_w, int64_t glass_h,
                       scn_image *im, s2d_error *err)
{
    static const char *const source[] = {"scanSettings", "illuminationSettings",
                                         "illuminationSource", NULL};
    memset(im, 0, sizeof *im);
    im->node = node;
    const s2d_xml_node *view = s2d_xml_child(node, "view");
    if (!int_attr(view, "sizeX", &im->nm_w, err) || !int_attr(view, "sizeY", &im->nm_h, err) ||
        !int_attr(view, "offsetX", &im->nm_x, err) ||
        !int_attr(view, "offsetY", &im->nm_y, err)) {
        return false;
    }
    im->macro = im->nm_x == 0 && im->nm_y == 0 && im->nm_w == glass_w && im->nm_h == glass_h;
    const char *illumination = child_text(node, source);
    im->brightfield = illumination && strcmp(illumination, "brightfield") == 0;
    for (const s2d_xml_node *d = s2d_xml_child(s2d_xml_child(node, "pixels"), "dimension"); d;
         d = s2d_xml_next(d, "dimension")) {
        const char *z = s2d_xml_attr(d, "z");
        if (z && strcmp(z, "0") != 0) {
            continue;
        }
        scn_dimension dim;
        if (im->ndims == SCN_MAX_DIMENSIONS || !int_attr(d, "ifd", &dim.ifd, err) ||
            !int_attr(d, "sizeX", &dim.width, err) || !int_attr(d, "sizeY", &dim.height, err)) {
            return false;
        }
        int at = im->ndims++;
        while (at > 0 && im->dims[at - 1].width < dim.width) {
            im->dims[at] = im->dims[at - 1];
            at--;
        }
        im->dims[at] = dim;
    }
    return true;
}

// Adds the region's dimension as level n: the glass at its resolution, its directory's
// tiles placed at their offset. False when they do not fall on the level's tile grid.
static bool add_level(s2d_source *src, const scn_image *main, int n, int64_t glass_w,
                      int64_t glass_h, bool *nomem)
{
    const scn_dimension *dim = &main->dims[n];
    const s2d_tiffdir *td = src->tiffdir;
    if (dim->ifd < 0 || dim->ifd >= td->n || dim->width <= 0) {
        return false;
    }
    const s2d_tiff_ifd *d = &td->ifds[dim->ifd];
    double nm_per_px = (double)main->nm_w / (double)dim->width;
    double w = ceil((double)glass_w / nm_per_px), h = ceil((double)glass_h / nm_per_px);
    double x = trunc((double)main->nm_x / nm_per_px), y = trunc((double)main->nm_y / nm_per_px);
    if (!d->tiled || d->compression != COMPRESSION_JPEG || !(w > 0 && w <= UINT32_MAX) ||
        !(h > 0 && h <= UINT32_MAX) || x < 0 || y < 0 || x + d->width > w ||
        y + d->height > h || d->tile_w == 0 || d->tile_h == 0) {
        return false;
    }
    uint32_t tw = d->tile_w, th = d->tile_h;
    // Frames are the level's tiles: the region starts on one and fills whole tiles but
    // where the glass ends (a partial tile would show its padding on the glass).
    if (fmod(x, tw) != 0 || fmod(y, th) != 0 ||
        (d->width % tw && x + d->width != w) || (d->height % th && y + d->height != h)) {
        return false;
    }
    s2d_tiff_level *tl = s2d_tiff_source_add_level(src, (int)dim->ifd);
    if (!tl) {
        *nomem = true;
        return false;
    }
    s2d_source_image *img = &src->levels[src->nlevels - 1];
    tl->frame = s2d_tiff_tiled_frame;
    bool ok = s2d_grid_probe_tiles(d, s2d_tiff_source_of(src)->fd, &tl->tiles, img);
    tl->width = img->pix.width = (uint32_t)w;
    tl->height = img->pix.height = (uint32_t)h;
    tl->tiles.placed = true;
    tl->tiles.col0 = (uint32_t)(x / tw);
    tl->tiles.row0 = (uint32_t)(y / th);
    tl->cell_w = (int)tw;
    tl->cell_h = (int)th;
    return ok && s2d_tiff_level_follows(src, tl);
}

static bool read_meta(const s2d_tiffdir *td, const s2d_xml_node *collection,
                      const scn_image *main, int level0_ifd, s2d_source_meta *m)
{
    static const char *const objective[] = {"scanSettings", "objectiveSettings", "objective",
                                            NULL};
    static const char *const created[] = {"creationDate", NULL};
    const s2d_tiff_ifd *d = &td->ifds[level0_ifd];
    if (d->resolution_unit == RESUNIT_CENTIMETER && d->x_resolution > 0 && d->y_resolution > 0) {
        m->mpp_x = 10000.0 / d->x_resolution;
        m->mpp_y = 10000.0 / d->y_resolution;
    }
    m->objective_power = s2d_meta_positive(child_text(main->node, objective));
    if (!s2d_meta_tiff_datetime(child_text(main->node, created), m->acquisition_datetime)) {
        m->acquisition_datetime[0] = '\0';
    }
    // The 2010/10/01 namespace keeps the barcode base64 in an element; the older one as an
    // attribute, as it is.
    const s2d_xml_node *barcode = s2d_xml_child(collection, "barcode");
    if (barcode) {
        bool nomem;
        if (!s2d_meta_base64_text(s2d_xml_text(barcode), m->barcode, sizeof m->barcode,
                                  &nomem) && nomem) {
            return false;
        }
    } else if (s2d_xml_attr(collection, "barcode")) {
        snprintf(m->barcode, sizeof m->barcode, "%s", s2d_xml_attr(collection, "barcode"));
    }
    const s2d_xml_node *device = s2d_xml_child(main->node, "device");
    s2d_meta_device_text(m->device.manufacturer, "Leica", SIZE_MAX);
    s2d_meta_device_text(m->device.model, s2d_xml_attr(device, "model"), SIZE_MAX);
    s2d_meta_device_software(&m->device, s2d_xml_attr(device, "version"), SIZE_MAX);
    s2d_meta_tiff_device(&td->ifds[0], &m->device);
    snprintf(m->format_title, sizeof m->format_title, "Leica SCN");
    s2d_meta_default_background(m);
    return s2d_meta_take_icc(td, m);
}

// The collection's one brightfield region and its macro, or false (OpenSlide's to read).
static bool open_collection(s2d_source *src, const s2d_xml_node *collection, s2d_error *err)
{
    int64_t glass_w = 0, glass_h = 0;
    if (!int_attr(collection, "sizeX", &glass_w, err) ||
        !int_attr(collection, "sizeY", &glass_h, err) ||
        glass_w <= 0 || glass_h <= 0) {
        return false;
    }
    scn_image *images = NULL;
    int n = 0, mains = 0, macros = 0, main_at = -1, macro_at = -1;
    bool ok = true;
    for (const s2d_xml_node *i = s2d_xml_child(collection, "image"); ok && i;
         i = s2d_xml_next(i, "image")) {
        scn_image *grown = realloc(images, (size_t)(n + 1) * sizeof *images);
        if (!grown) {
            free(images);
            return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        }
        images = grown;
        ok = read_image(i, glass_w, glass_h, &images[n], err);
        if (ok && images[n].brightfield && images[n].macro) {
            macros++;
            macro_at = n;
        } else if (ok && images[n].brightfield) {
            mains++;
            main_at = n;
        }
        n++;
    }
    ok = ok && mains == 1 && macros <= 1 && images[main_at].ndims > 0 &&
         s2d_tiff_source_begin(src, err);
    if (!ok) {
        free(images);
        return false;
    }
    const scn_image *main = &images[main_at];
    bool nomem = false;
    for (int l = 0; ok && l < main->ndims; l++) {
        ok = add_level(src, main, l, glass_w, glass_h, &nomem);
    }
    ok = ok && s2d_tiff_source_finish(src);
    if (ok && macro_at >= 0 && images[macro_at].ndims > 0) {
        int64_t ifd = images[macro_at].dims[0].ifd;
        ok = ifd >= 0 && ifd < src->tiffdir->n &&
             s2d_tiff_source_set_associated(src, (int)ifd, S2D_IMAGE_OVERVIEW);
    }
    if (ok && !read_meta(src->tiffdir, collection, main, (int)main->dims[0].ifd, &src->meta)) {
        nomem = true;
    }
    free(images);
    return s2d_tiff_source_end(src, ok, nomem, err);
}

static bool scn_detect(const char *path, const s2d_tiffdir *td)
{
    (void)path;
    if (!td || td->n == 0 || !td->ifds[0].tiled || !td->ifds[0].description) {
        return false;
    }
    // The root element (past the declaration, comments and white space) is scn, in one of
    // Leica's namespaces as its default one.
    const char *p = td->ifds[0].description;
    for (;;) {
        p += strspn(p, " \t\r\n");
        if (strncmp(p, "<?", 2) != 0 && strncmp(p, "<!--", 4) != 0) {
            break;
        }
        const char *close = strstr(p, p[1] == '?' ? "?>" : "-->");
        if (!close) {
            return false;
        }
        p = close + (p[1] == '?' ? 2 : 3);
    }
    if (strncmp(p, "<scn", 4) != 0 || !p[4] || !strchr(" \t\r\n", p[4])) {
        return false;
    }
    const char *gt = strchr(p, '>');
    const char *ns = strstr(p, "xmlns=");
    if (!gt || !ns || ns > gt || (ns[6] != '"' && ns[6] != '\'')) {
        return false;
    }
    size_t n = strcspn(ns + 7, "\"'");
    return (n == strlen(SCN_NS_2010_03) && strncmp(ns + 7, SCN_NS_2010_03, n) == 0) ||
           (n == strlen(SCN_NS_2010_10) && strncmp(ns + 7, SCN_NS_2010_10, n) == 0);
}

// Whether the parsed root is an unprefixed scn whose own xmlns attribute (the exact name:
// s2d_xml_attr would also take "x:xmlns") is one of Leica's namespaces. scn_detect only
// searched the root tag's text, which another attribute's value can fool.
static bool leica_root(const s2d_xml_node *root)
{
    if (!root || strcmp(root->name, "scn") != 0) {
        return false;
    }
    for (size_t i = 0; i < root->nattrs; i++) {
        if (strcmp(root->attrs[2 * i], "xmlns") == 0) {
            const char *ns = root->attrs[2 * i + 1];
            return strcmp(ns, SCN_NS_2010_03) == 0 || strcmp(ns, SCN_NS_2010_10) == 0;
        }
    }
    return false;
}

// False with err untouched when the parsed root is not Leica's: the next format may read it.
static bool scn_open(s2d_source *src, s2d_error *err)
{
    s2d_xml_node *root = s2d_tiff_source_xml(src->tiffdir, src->tiffdir->ifds[0].description,
                                             err);
    const s2d_xml_node *collection = leica_root(root) ? s2d_xml_child(root, "collection") : NULL;
    bool ok = collection && open_collection(src, collection, err);
    s2d_xml_free(root);
    return ok;
}

static const char *const scn_extensions[] = {".scn", NULL};

const s2d_format s2d_format_leica_scn = {
    .name = "leica-scn",
    .extensions = scn_extensions,
    .reads_tiff = true,
    .detect = scn_detect,
    .open = scn_open,
};
