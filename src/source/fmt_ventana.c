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
 * overlaps (their confidence-weighted mean, one advance for the slide), a level's tile
 * holding downsample x downsample level-0 tiles shrunk. We place the tiles the same way:
 * a level whose tiles land on the TIFF's own grid (no overlap, areas on the grid) is the
 * picture as stored and is copied; any other level (overlapping tiles: every level of
 * such a scan) is stitched from pieces of its tiles (tiffio.h), decoded and re-encoded.
 * A "Ventana TIFF" without EncodeInfo is a plain grid and copied. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

#include "source/tiffio.h"
#include "source/xml.h"

// ------------------------------------------------------------------ the XMP packets

// A numeric attribute; NAN when absent or not a number.
static double number_attribute(const s2d_xml_node *n, const char *name)
{
    const char *text = s2d_xml_attr(n, name);
    char *end;
    if (!text) {
        return NAN;
    }
    double v = strtod(text, &end);
    return end != text && *end == '\0' ? v : NAN;
}

// The iScan element of IFD 0's packet (root the packet's tree), or NULL: the root, or a
// child of a Metadata root, as OpenSlide accepts it.
static const s2d_xml_node *iscan_of(const s2d_xml_node *root)
{
    return s2d_xml_is(root, "iScan") ? root
           : s2d_xml_is(root, "Metadata") ? s2d_xml_child(root, "iScan")
                                          : NULL;
}

// ------------------------------------------------------------------ the tiles' layout

enum { MAX_AREAS = 64 };

// A scanned area: its tiles (col0, row0) .. of the TIFF's level-0 grid, where its top-left
// lies on the stitched picture.
typedef struct area {
    int64_t x, y;
    uint32_t col0, row0, cols, rows;
} area;

// How level 0's EncodeInfo lays the tiles out, as OpenSlide 3.4.1 reads it: one advance
// from tile to tile for the whole slide, the tile size less the joints' overlaps averaged
// by their confidence.
typedef struct layout {
    double advance_x, advance_y;
    int n;
    area areas[MAX_AREAS];
} layout;

// The joints of an area (its ImageInfo element) into the confidence-weighted sums. False
// for a joint of another direction or without numbers.
static bool add_joints(const s2d_xml_node *info, double sum[2], double weight[2])
{
    for (const s2d_xml_node *j = s2d_xml_child(info, "TileJointInfo"); j;
         j = s2d_xml_next(j, "TileJointInfo")) {
        const char *direction = s2d_xml_attr(j, "Direction");
        double confidence = number_attribute(j, "Confidence");
        if (!direction || !(confidence >= 0)) {
            return false;
        }
        int axis = strcmp(direction, "RIGHT") == 0 ? 0 : strcmp(direction, "UP") == 0 ? 1 : -1;
        double overlap = number_attribute(j, axis == 0 ? "OverlapX" : "OverlapY");
        if (axis < 0 || isnan(overlap)) {
            return false;
        }
        sum[axis] -= confidence * overlap;
        weight[axis] += confidence;
    }
    return true;
}

// Level 0's EncodeInfo (the root of its packet's tree) for tiles of tw x th: the scanned
// areas (SlideStitchInfo's ImageInfo elements), each at its Pos-X and Pos-Y (the latter
// measured from the bottom), its first tile at the OriginX, OriginY of AoiOrigin's element
// of the same rank. False when it is not one we stitch (OpenSlide's to read).
static bool read_layout(const s2d_xml_node *encode_info, uint32_t tw, uint32_t th, layout *l)
{
    const s2d_xml_node *stitch = s2d_xml_child(encode_info, "SlideStitchInfo"),
                       *origins = s2d_xml_child(encode_info, "AoiOrigin");
    if (!s2d_xml_is(encode_info, "EncodeInfo") || !stitch || !origins) {
        return false;
    }
    double sum[2] = {0, 0}, weight[2] = {0, 0}, pos_y[MAX_AREAS];
    l->n = 0;
    const s2d_xml_node *origin = origins->first_child;
    for (const s2d_xml_node *a = s2d_xml_child(stitch, "ImageInfo"); a;
         a = s2d_xml_next(a, "ImageInfo")) {
        if (!origin || l->n == MAX_AREAS) {
            return false;   // fewer origins than areas, or too many areas for us
        }
        const s2d_xml_node *this_origin = origin;
        origin = origin->next;
        double scanned = number_attribute(a, "AOIScanned");
        if (isnan(scanned)) {
            return false;
        }
        if (scanned == 0) {
            continue;
        }
        double x = number_attribute(a, "Pos-X"), y = number_attribute(a, "Pos-Y"),
               cols = number_attribute(a, "NumCols"), rows = number_attribute(a, "NumRows"),
               ox = number_attribute(this_origin, "OriginX"),
               oy = number_attribute(this_origin, "OriginY");
        if (number_attribute(a, "Width") != tw || number_attribute(a, "Height") != th ||
            !(cols >= 1 && rows >= 1 && cols <= 65536 && rows <= 65536 && x >= 0 && y >= 0 &&
              x < 1e9 && y < 1e9 && ox >= 0 && oy >= 0 && ox < 1e9 && oy < 1e9) ||
            fmod(ox, tw) != 0 || fmod(oy, th) != 0 || cols != floor(cols) ||
            rows != floor(rows) || !add_joints(a, sum, weight)) {
            return false;   // also NANs
        }
        area *r = &l->areas[l->n];
        *r = (area){.x = (int64_t)x, .col0 = (uint32_t)(ox / tw), .row0 = (uint32_t)(oy / th),
                    .cols = (uint32_t)cols, .rows = (uint32_t)rows};
        pos_y[l->n++] = (double)(int64_t)y;
    }
    if (l->n == 0 || weight[0] <= 0 || weight[1] <= 0) {
        return false;   // OpenSlide's advance would be no number
    }
    l->advance_x = tw + sum[0] / weight[0];
    l->advance_y = th + sum[1] / weight[1];
    if (!(l->advance_x >= 1 && l->advance_y >= 1)) {
        return false;
    }
    // Pos-Y is where the area's bottom lies above a line below all areas: measured from the
    // top of the highest one instead.
    int64_t top = 0, height[MAX_AREAS];
    for (int i = 0; i < l->n; i++) {
        height[i] = (int64_t)((l->areas[i].rows - 1) * l->advance_y + th);
        top = (int64_t)fmax((double)top, pos_y[i] + (double)height[i]);
    }
    for (int i = 0; i < l->n; i++) {
        l->areas[i].y = top - (int64_t)pos_y[i] - height[i];
    }
    return true;
}

static int ascending(uint32_t a, uint32_t b)
{
    return (a > b) - (a < b);
}

static int paint_order(const void *a, const void *b)
{
    // Where neighbouring tiles share pixels, OpenSlide 3.4.1's picture shows the right
    // one's, and the lower one's (measured against its read_region: the other way round
    // leaves the seams 10 dB worse): the level-0 tiles are painted row by row from the
    // top, each row from the left. A level-0 tile's row is (row, sy) of its piece, its
    // column (col, sx).
    const s2d_tile_piece *p = a, *q = b;
    return p->row != q->row ? ascending(p->row, q->row)
           : p->sy != q->sy ? ascending(p->sy, q->sy)
           : p->col != q->col ? ascending(p->col, q->col)
                              : ascending(p->sx, q->sx);
}

// The pieces of a level of downsample ds (IFD d, tiles of tw x th) as the layout places
// them: each level-0 tile shrunk to tw/ds x th/ds, found in the level's tile (col / ds,
// row / ds), placed at its position over ds (rounded to a whole pixel). Sets *w, *h (the
// stitched size) and *grid (the pieces are the TIFF's own grid, the level as stored).
// @return the pieces in paint order (malloc'd, the caller's) and their number in *n;
// NULL with *n 1 for lack of memory, with *n 0 when the level is not one we stitch.
static s2d_tile_piece *level_pieces(const layout *l, uint32_t ds, const s2d_tiff_ifd *d,
                                    size_t *n, uint32_t *w, uint32_t *h, bool *grid)
{
    uint32_t sw = d->tile_w / ds, sh = d->tile_h / ds;
    uint32_t across = (d->width + d->tile_w - 1) / d->tile_w,
             down = (d->height + d->tile_h - 1) / d->tile_h;
    size_t total = 0;
    for (int i = 0; i < l->n; i++) {
        total += (size_t)l->areas[i].cols * l->areas[i].rows;
    }
    *n = 0;
    if ((double)total > (double)across * down * ds * ds) {
        return NULL;   // more tiles than the level holds
    }
    s2d_tile_piece *p = malloc(total * sizeof *p);
    if (!p) {
        *n = 1;
        return NULL;
    }
    double right = 0, bottom = 0;
    *grid = true;
    size_t k = 0;
    for (int i = 0; i < l->n; i++) {
        const area *a = &l->areas[i];
        for (uint32_t r = 0; r < a->rows; r++) {
            for (uint32_t c = 0; c < a->cols; c++) {
                uint64_t col = (uint64_t)a->col0 + c, row = (uint64_t)a->row0 + r;
                double x = ((double)a->x + c * l->advance_x) / ds,
                       y = ((double)a->y + r * l->advance_y) / ds;
                if (col / ds >= across || row / ds >= down) {
                    free(p);
                    return NULL;   // a tile the level does not store
                }
                // The stored tile's pixels beyond the image are not the picture.
                uint32_t sx = (uint32_t)(col % ds) * sw, sy = (uint32_t)(row % ds) * sh;
                uint64_t px = (col / ds) * d->tile_w + sx, py = (row / ds) * d->tile_h + sy;
                s2d_tile_piece *q = &p[k++];
                *q = (s2d_tile_piece){.x = llround(x), .y = llround(y), .col = (uint32_t)(col / ds),
                                      .row = (uint32_t)(row / ds), .sx = sx, .sy = sy,
                                      .w = px >= d->width ? 0 : (uint32_t)fmin(sw, d->width - px),
                                      .h = py >= d->height ? 0 : (uint32_t)fmin(sh, d->height - py)};
                right = fmax(right, x + sw);
                bottom = fmax(bottom, y + sh);
                *grid = *grid && q->x == (int64_t)px && q->y == (int64_t)py;
            }
        }
    }
    qsort(p, total, sizeof *p, paint_order);
    for (size_t i = 1; i < total; i++) {
        if (p[i].col == p[i - 1].col && p[i].row == p[i - 1].row && p[i].sx == p[i - 1].sx &&
            p[i].sy == p[i - 1].sy) {
            free(p);
            return NULL;   // two areas claim one tile
        }
    }
    if (right > UINT32_MAX || bottom > UINT32_MAX) {
        free(p);
        return NULL;
    }
    *w = (uint32_t)ceil(right);
    *h = (uint32_t)ceil(bottom);
    // As stored: every piece where the TIFF has it, covering its whole picture.
    *grid = *grid && *w == d->width && *h == d->height &&
            total == (size_t)((d->width + sw - 1) / sw) * ((d->height + sh - 1) / sh);
    *n = total;
    return p;
}

// "level=N mag=M quality=Q": N and M, both required. @return 1 when read, 0 when desc is no
// such description, -1 when N is out of range (damage).
static int level_description(const char *desc, long *level, double *mag)
{
    const char *l = strstr(desc, "level="), *m = strstr(desc, "mag=");
    char *end;
    if (!l || !m || (l != desc && l[-1] != ' ') || (m != desc && m[-1] != ' ')) {
        return 0;
    }
    errno = 0;
    *level = strtol(l + 6, &end, 10);
    if (end == l + 6 || (*end && *end != ' ')) {
        return 0;
    }
    if (errno == ERANGE) {
        return -1;
    }
    *mag = strtod(m + 4, &end);
    return end != m + 4 && (!*end || *end == ' ') && *mag > 0;
}

// Makes tl (IFD d, downsample ds) a level stitched as the layout says, unless its pieces are
// the TIFF's own grid (then it stays one to copy). @return 1 when done, 0 when the level is
// not one we stitch, -1 for lack of memory.
static int stitch_level(s2d_source *src, s2d_tiff_level *tl, const layout *l, uint32_t ds,
                        const s2d_tiff_ifd *d)
{
    size_t n;
    uint32_t w, h;
    bool grid;
    s2d_tile_piece *pieces = level_pieces(l, ds, d, &n, &w, &h, &grid);
    if (!pieces) {
        return n ? -1 : 0;
    }
    if (grid) {
        free(pieces);
        return 1;
    }
    return s2d_tiff_level_stitch(src, tl, pieces, n, w, h) ? 1 : -1;
}

// The levels, label and thumbnail. @return 1 when added, 0 when the file is not one we read,
// -1 with err set when it is damaged, -1 with err untouched for lack of memory.
static int add_images(s2d_source *src, s2d_error *err)
{
    const s2d_tiffdir *td = src->tiffdir;
    int fd = s2d_tiff_source_of(src)->fd;
    double mag0 = 0, prev_mag = INFINITY;
    long next_level = 0;
    layout *l = NULL;   // level 0's EncodeInfo, if it has one
    int result = 0;
    for (int i = 0; i < td->n; i++) {
        const s2d_tiff_ifd *d = &td->ifds[i];
        const char *desc = d->description ? d->description : "";
        long level;
        double mag;
        if (strcmp(desc, "Label Image") == 0 || strcmp(desc, "Label_Image") == 0) {
            if (!s2d_tiff_source_set_associated(src, i, S2D_IMAGE_OVERVIEW)) {
                result = -1;
                goto done;
            }
            continue;
        }
        if (strcmp(desc, "Thumbnail") == 0) {
            if (!s2d_tiff_source_set_associated(src, i, S2D_IMAGE_THUMBNAIL)) {
                result = -1;
                goto done;
            }
            continue;
        }
        if (!strstr(desc, "level=")) {
            continue;
        }
        int described = level_description(desc, &level, &mag);
        if (described < 0) {
            s2d_error_set(err, S2D_ERR_INPUT,
                          "Ventana BIF: the level number of directory %d is out of range", i);
            result = -1;
            goto done;
        }
        if (!described || level != next_level++ || mag >= prev_mag || !d->tiled) {
            goto done;
        }
        prev_mag = mag;
        mag0 = level == 0 ? mag : mag0;
        int ifd0 = src->nlevels ? s2d_tiff_source_of(src)->levels[0].ifd : i;
        const s2d_tiff_ifd *d0 = &td->ifds[ifd0];
        if (level == 0 && d->xmp && strstr(d->xmp, "EncodeInfo")) {
            s2d_error xml_err = {0};
            s2d_xml_node *encode_info = s2d_tiff_source_xml(td, d->xmp, &xml_err);
            bool parsed = encode_info != NULL;
            bool read = parsed && (l = malloc(sizeof *l)) &&
                        read_layout(encode_info, d->tile_w, d->tile_h, l);
            s2d_xml_free(encode_info);
            if (!read) {
                result = xml_err.code == S2D_ERR_NOMEM || (parsed && !l) ? -1 : 0;
                goto done;
            }
        }
        // OpenSlide cuts a level's tiles into downsample x downsample level-0 tiles, each of
        // level 0's tile size over the downsample; without EncodeInfo it takes the level as
        // a grid of level 0 over the downsample.
        double ds = mag0 / mag;
        if (!(ds <= 1 << 16) || d->tile_w != d0->tile_w || d->tile_h != d0->tile_h ||
            ds != floor(ds) || d->tile_w % (uint32_t)ds || d->tile_h % (uint32_t)ds ||
            (!l && (d->width != (uint32_t)ceil(d0->width / ds) ||
                    d->height != (uint32_t)ceil(d0->height / ds)))) {
            goto done;
        }
        s2d_tiff_level *tl = s2d_tiff_source_add_level(src, i);
        if (!tl) {
            result = -1;
            goto done;
        }
        if (d->compression != COMPRESSION_JPEG ||
            !s2d_grid_probe_tiles(d, fd, &tl->tiles, &src->levels[src->nlevels - 1])) {
            goto done;
        }
        tl->frame = s2d_tiff_tiled_frame;
        tl->cell_w = (int)tl->tiles.tile_w;
        tl->cell_h = (int)tl->tiles.tile_h;
        int stitched = l ? stitch_level(src, tl, l, (uint32_t)ds, d) : 1;
        if (stitched <= 0) {
            result = stitched;
            goto done;
        }
        if (!s2d_tiff_level_follows(src, tl)) {
            goto done;
        }
    }
    result = s2d_tiff_source_finish(src) ? 1 : 0;
done:
    free(l);
    return result;
}

// ------------------------------------------------------------------ metadata

// The scanner and the scan from the iScan element.
static bool read_meta(const s2d_tiffdir *td, const s2d_xml_node *iscan, s2d_source_meta *m)
{
    s2d_source_device *dev = &m->device;
    m->mpp_x = m->mpp_y = s2d_meta_positive(s2d_xml_attr(iscan, "ScanRes"));
    m->objective_power = s2d_meta_positive(s2d_xml_attr(iscan, "Magnification"));
    const char *barcode = s2d_xml_attr(iscan, "Barcode");
    if (barcode) {
        snprintf(m->barcode, sizeof m->barcode, "%s", barcode);
    }
    if (!s2d_meta_tiff_datetime(s2d_xml_attr(iscan, "ScanDate"), m->acquisition_datetime) &&
        !s2d_meta_tiff_datetime(td->ifds[0].datetime, m->acquisition_datetime)) {
        m->acquisition_datetime[0] = '\0';
    }
    s2d_meta_device_text(dev->manufacturer, "Ventana", SIZE_MAX);
    s2d_meta_device_text(dev->model, s2d_xml_attr(iscan, "ScannerModel"), SIZE_MAX);
    s2d_meta_device_text(dev->serial, s2d_xml_attr(iscan, "UnitNumber"), SIZE_MAX);
    s2d_meta_device_software(dev, s2d_xml_attr(iscan, "BuildVersion"), SIZE_MAX);
    snprintf(m->format_title, sizeof m->format_title, "Ventana BIF");
    s2d_meta_default_background(m);
    return s2d_meta_take_icc(td, m);
}

// OpenSlide's test: IFD 0's XMP packet is XML with an iScan element where it looks for one.
// A packet we had no memory to read is taken: open() says so.
static bool ventana_detect(const char *path, const s2d_tiffdir *td)
{
    (void)path;
    const char *xmp = td && td->n > 0 ? td->ifds[0].xmp : NULL;
    if (!xmp || !strstr(xmp, "iScan")) {
        return false;
    }
    s2d_error err = {0};
    s2d_xml_node *root = s2d_xml_parse(xmp, strlen(xmp), &err);
    bool found = iscan_of(root) != NULL || err.code == S2D_ERR_NOMEM;
    s2d_xml_free(root);
    return found;
}

static bool ventana_open(s2d_source *src, s2d_error *err)
{
    s2d_xml_node *root = s2d_tiff_source_xml(src->tiffdir, src->tiffdir->ifds[0].xmp, err);
    const s2d_xml_node *iscan = iscan_of(root);
    if (!iscan || !s2d_tiff_source_begin(src, err)) {
        s2d_xml_free(root);
        return false;
    }
    int added = add_images(src, err);
    bool ok = added > 0 && read_meta(src->tiffdir, iscan, &src->meta);
    s2d_xml_free(root);
    // Failing without a reason once add_images found the layout is lack of memory; with
    // added 0 it is a layout we do not read (OpenSlide's).
    return s2d_tiff_source_end(src, ok, !ok && added != 0 && err->code == S2D_OK, err);
}

static const char *const ventana_extensions[] = {".bif", NULL};

const s2d_format s2d_format_ventana = {
    .name = "ventana",
    .extensions = ventana_extensions,
    .reads_tiff = true,
    .detect = ventana_detect,
    .open = ventana_open,
};
