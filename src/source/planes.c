// SPDX-License-Identifier: Apache-2.0
/* The planes of a microscopy file of pages (planes.h). Each origin says how many channels,
 * z and t the file has and which page holds which; the checks every layout gets are here:
 * the planes are grey, of one size and one sample format. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/imagej.h"
#include "source/ome_xml.h"
#include "source/planes.h"
#include "source/qptiff.h"

// The layout of nc x nz x nt planes named origin, its page table allocated and unfilled.
static bool begin_layout(s2d_source *src, int nc, int nz, int nt, const char *origin,
                         s2d_error *err)
{
    s2d_plane_layout *l = &src->planes;
    memset(l, 0, sizeof *l);
    l->nc = nc;
    l->nz = nz;
    l->nt = nt;
    l->label_page = l->overview_page = l->thumbnail_page = -1;
    snprintf(l->origin, sizeof l->origin, "%s", origin);
    free(src->plane_pages);
    src->plane_pages = malloc((size_t)nc * (size_t)nz * (size_t)nt * sizeof *src->plane_pages);
    if (!src->plane_pages) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    l->page = src->plane_pages;
    src->has_planes = true;
    return true;
}

// Back to no layout: the file is no file of planes after all.
static void drop_layout(s2d_source *src)
{
    free(src->plane_pages);
    src->plane_pages = NULL;
    src->has_planes = false;
    memset(&src->planes, 0, sizeof src->planes);
}

static int plane_count(const s2d_plane_layout *l)
{
    return l->nc * l->nz * l->nt;
}

// "16-bit unsigned" for a page's samples.
static void sample_words(const s2d_page_facts *f, char out[32])
{
    snprintf(out, 32, "%u-bit %s", (unsigned)f->bits_per_sample,
             f->sample_format == S2D_SAMPLE_INT     ? "signed"
             : f->sample_format == S2D_SAMPLE_FLOAT ? "float"
                                                    : "unsigned");
}

// One RGB page as the whole layout: an RGB brightfield image that keeps the pages' path.
static bool single_rgb(const s2d_source *src)
{
    const s2d_plane_layout *l = &src->planes;
    return plane_count(l) == 1 && src->pages[l->page[0]].pix.samples == 3;
}

// Every plane grey, one sample of 8, 16 or 32 bits (or 64-bit float), of the first plane's
// size and sample format.
static bool check_planes(const s2d_source *src, s2d_error *err)
{
    const s2d_plane_layout *l = &src->planes;
    int first = l->page[0];
    const s2d_pixdesc *p0 = &src->pages[first].pix;
    const s2d_page_facts *f0 = &src->page_facts[first];
    for (int i = 0; i < plane_count(l); i++) {
        int page = l->page[i];
        const s2d_pixdesc *p = &src->pages[page].pix;
        const s2d_page_facts *f = &src->page_facts[page];
        if (p->samples != 1) {
            return s2d_error_set(err, S2D_ERR_INPUT, "RGB planes in a multi-channel file: not "
                                 "supported (page %d)", page + 1);
        }
        if (p->colour != S2D_COLOUR_MONO_MIN_IS_BLACK || f->decoded_to_rgb) {
            return s2d_error_set(err, S2D_ERR_INPUT, "page %d is a plane of %s pixels, not "
                                 "grey min-is-black", page + 1,
                                 p->colour == S2D_COLOUR_PALETTE ? "palette" : "min-is-white");
        }
        bool depth = f->bits_per_sample == 8 || f->bits_per_sample == 16 ||
                     f->bits_per_sample == 32 || (p->is_float && f->bits_per_sample == 64);
        if (!depth) {
            return s2d_error_set(err, S2D_ERR_INPUT, "page %d is a plane of %u-bit samples: "
                                 "8, 16 or 32 bits are supported", page + 1,
                                 (unsigned)f->bits_per_sample);
        }
        if (p->width != p0->width || p->height != p0->height) {
            return s2d_error_set(err, S2D_ERR_INPUT, "planes of different sizes: page %d is "
                                 "%u x %u pixels, page %d %u x %u", page + 1, p->width,
                                 p->height, first + 1, p0->width, p0->height);
        }
        if (f->bits_per_sample != f0->bits_per_sample || f->sample_format != f0->sample_format) {
            char a[32], b[32];
            sample_words(f, a);
            sample_words(f0, b);
            return s2d_error_set(err, S2D_ERR_INPUT, "planes of different sample formats: "
                                 "page %d holds %s samples, page %d %s", page + 1, a,
                                 first + 1, b);
        }
    }
    return true;
}

// The pixel size the first plane's resolution says, in micrometres; 0 when it says none.
static void resolution_mpp(const s2d_source *src, s2d_source_meta *m)
{
    const s2d_page_facts *f = &src->page_facts[src->planes.page[0]];
    if (m->mpp_x <= 0 && f->x_px_per_mm > 0 && f->y_px_per_mm > 0) {
        m->mpp_x = 1000.0 / f->x_px_per_mm;
        m->mpp_y = 1000.0 / f->y_px_per_mm;
    }
}

// Pages are the directories of the main chain that are no reduced-resolution copies: the
// page of each IFD, -1 for those copies. @return malloc'd (the caller's), NULL: no memory.
static int *pages_of_ifds(const s2d_tiffdir *td)
{
    int *page = malloc((size_t)td->n * sizeof *page);
    for (int i = 0, n = 0; page && i < td->n; i++) {
        page[i] = td->ifds[i].subfile_type & 1 ? -1 : n++;
    }
    return page;
}

// ------------------------------------------------------------------ OME-XML

// Type against the samples of the IFD of the first plane.
static bool check_ome_pixels(const s2d_source *src, const s2d_ome_image *img, int ifd,
                             s2d_error *err)
{
    const s2d_pixdesc *p = &src->pages[src->planes.page[0]].pix;
    const s2d_page_facts *f = &src->page_facts[src->planes.page[0]];
    if ((img->size_x > 0 || img->size_y > 0) &&
        ((uint32_t)img->size_x != p->width || (uint32_t)img->size_y != p->height)) {
        return s2d_error_set(err, S2D_ERR_INPUT, "OME-XML SizeX %d, SizeY %d, but IFD %d is "
                             "%u x %u pixels", img->size_x, img->size_y, ifd, p->width,
                             p->height);
    }
    int format, bits;
    if (!s2d_ome_type_samples(img->type, &format, &bits)) {
        return s2d_error_set(err, S2D_ERR_INPUT, "OME-XML Type \"%s\": not supported",
                             img->type);
    }
    s2d_sample_format want = format == 0   ? S2D_SAMPLE_UINT
                             : format == 1 ? S2D_SAMPLE_INT
                                           : S2D_SAMPLE_FLOAT;
    if (f->sample_format != want || f->bits_per_sample != bits) {
        char held[32];
        sample_words(f, held);
        return s2d_error_set(err, S2D_ERR_INPUT, "OME-XML Type %s, but IFD %d holds %s "
                             "samples", img->type, ifd, held);
    }
    return true;
}

// The Channel elements as meta's channels, exactly nc of them (a missing one says nothing).
static bool take_ome_channels(const s2d_ome_image *img, int nc, s2d_source_meta *m)
{
    for (int i = 0; img->nchannels > 0 && i < nc; i++) {
        s2d_source_channel *c = s2d_meta_add_channel(m);
        if (!c) {
            return false;
        }
        if ((size_t)i < img->nchannels) {
            const s2d_ome_channel *oc = &img->channels[i];
            memcpy(c->name, oc->name, sizeof c->name);
            c->excitation_nm = oc->excitation_nm;
            c->emission_nm = oc->emission_nm;
            memcpy(c->colour, oc->colour, sizeof c->colour);
            c->has_colour = oc->has_colour;
        }
    }
    return true;
}

static bool ome_layout(s2d_source *src, const s2d_ome_image *img, const int *page_of_ifd,
                       s2d_error *err)
{
    const s2d_tiffdir *td = src->tiffdir;
    int nc = s2d_ome_effective_channels(img);
    // In a double: three sizes of an int may overflow a long long. s2d_ome_plane_ifds
    // refuses sizes that do not fit the file before it writes a plane.
    double planes = (double)nc * img->size_z * img->size_time;
    long long total = planes >= 1 && planes <= td->n ? (long long)planes : 1;
    size_t room = (size_t)total;
    int *ifds = malloc(room * sizeof *ifds);
    if (!ifds) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    bool ok = s2d_ome_plane_ifds(img, td->n, ifds, err) &&
              begin_layout(src, nc, img->size_z, img->size_time, "OME-XML", err);
    for (long long i = 0; ok && i < total; i++) {
        src->plane_pages[i] = page_of_ifd[ifds[i]];
        if (src->plane_pages[i] < 0) {
            ok = s2d_error_set(err, S2D_ERR_INPUT, "OME-XML maps a plane to IFD %d, a "
                               "reduced-resolution copy", ifds[i]);
        }
    }
    int first_ifd = ok ? ifds[0] : 0;
    free(ifds);
    if (!ok) {
        return false;
    }
    if (single_rgb(src)) {
        drop_layout(src);
        return true;
    }
    if (!check_planes(src, err) || !check_ome_pixels(src, img, first_ifd, err)) {
        return false;
    }
    s2d_source_meta *m = &src->meta;
    src->planes.z_spacing_um = img->physical_z_um;
    src->planes.significant_bits = img->significant_bits;
    m->mpp_x = img->physical_x_um;
    m->mpp_y = img->physical_y_um > 0 ? img->physical_y_um : img->physical_x_um;
    m->objective_power = img->objective_power;
    // The microscope, not the program that wrote the TIFF (Make, Model, Software).
    m->device = img->microscope;
    return take_ome_channels(img, nc, m) || s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
}

static bool ome_planes(s2d_source *src, const int *page_of_ifd, s2d_error *err)
{
    s2d_ome_image img;
    s2d_error parse_err = {0};
    bool ok;
    const s2d_tiff_ifd *d0 = &src->tiffdir->ifds[0];
    if (s2d_ome_parse(d0->description, &img, &parse_err)) {
        // Writers that give an RGB image's Channels one sample each still store it as
        // RGB planes: the file says how many samples a plane has.
        if (d0->samples == 3 && img.size_c % 3 == 0) {
            img.plane_samples = 3;
        }
        ok = ome_layout(src, &img, page_of_ifd, err);
    } else {
        // An OME-XML without a Pixels element says nothing of planes: no layout.
        ok = parse_err.code != S2D_ERR_NOMEM ||
             s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    s2d_ome_image_free(&img);
    return ok;
}

// ------------------------------------------------------------------ QPTIFF

static bool qptiff_planes(s2d_source *src, const int *page_of_ifd, s2d_error *err)
{
    const s2d_tiffdir *td = src->tiffdir;
    s2d_qpi_ifd *q = calloc((size_t)td->n, sizeof *q);
    if (!q) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    int nc = 0;
    for (int i = 0; i < td->n; i++) {
        s2d_qptiff_parse(td->ifds[i].description, &q[i]);
        // A FullResolution IFD marked reduced is no page: no channel either.
        nc += q[i].type == S2D_QPI_FULL && page_of_ifd[i] >= 0;
    }
    bool ok = nc == 0 || begin_layout(src, nc, 1, 1, "QPTIFF", err);
    s2d_plane_layout *l = &src->planes;
    s2d_source_meta *m = &src->meta;
    for (int i = 0, c = 0; ok && nc > 0 && i < td->n; i++) {
        int page = page_of_ifd[i];
        if (page < 0) {
            continue;
        }
        int *associated = q[i].type == S2D_QPI_THUMBNAIL ? &l->thumbnail_page
                          : q[i].type == S2D_QPI_OVERVIEW ? &l->overview_page
                          : q[i].type == S2D_QPI_LABEL    ? &l->label_page
                                                          : NULL;
        if (associated && *associated < 0) {
            *associated = page;
        }
        if (q[i].type != S2D_QPI_FULL) {
            continue;   // reduced-resolution levels and what is not known are left out
        }
        src->plane_pages[c++] = page;
        s2d_source_channel *ch = s2d_meta_add_channel(m);
        if (!ch) {
            ok = s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
            break;
        }
        memcpy(ch->name, q[i].name, sizeof ch->name);
        memcpy(ch->colour, q[i].colour, sizeof ch->colour);
        ch->has_colour = q[i].has_colour;
        if (m->mpp_x <= 0 && q[i].pixel_um > 0) {
            m->mpp_x = m->mpp_y = q[i].pixel_um;
        }
        if (m->objective_power <= 0) {
            m->objective_power = q[i].objective;
        }
    }
    free(q);
    if (!ok || nc == 0) {
        return ok;   // no FullResolution IFD: no planes
    }
    if (single_rgb(src)) {
        // One RGB brightfield image: the pages' path, as before.
        free(m->channels);
        m->channels = NULL;
        m->nchannels = 0;
        m->mpp_x = m->mpp_y = m->objective_power = 0;
        drop_layout(src);
        return true;
    }
    return check_planes(src, err);
}

// ------------------------------------------------------------------ ImageJ

// The colours of IFD 0's channel LUTs, as nc channels of meta when there is one per
// channel. @return false only for lack of memory.
static bool imagej_channels(const s2d_tiffdir *td, int nc, s2d_source_meta *m)
{
    const s2d_tiff_private_tag *counts = s2d_tiffdir_private(td, 0, S2D_TAG_IJ_META_COUNTS);
    const s2d_tiff_private_tag *data = s2d_tiffdir_private(td, 0, S2D_TAG_IJ_META);
    if (!counts || !data || counts->width != sizeof(uint32_t)) {
        return true;   // none, or counts that are not LONGs: no colours from them
    }
    uint8_t (*colours)[3] = malloc((size_t)nc * sizeof *colours);
    if (!colours) {
        return false;
    }
    // libtiff hands the counts (LONGs) in host order; the data are bytes.
    int n = s2d_imagej_lut_colours(counts->data, counts->count, data->data, data->count,
                                   colours, nc);
    bool ok = true;
    for (int i = 0; n == nc && i < nc && ok; i++) {
        s2d_source_channel *c = s2d_meta_add_channel(m);
        if ((ok = c != NULL)) {
            memcpy(c->colour, colours[i], 3);
            c->has_colour = true;
        }
    }
    free(colours);
    return ok;
}

static bool imagej_planes(s2d_source *src, s2d_error *err)
{
    const s2d_tiffdir *td = src->tiffdir;
    s2d_imagej ij;
    s2d_imagej_parse(td->ifds[0].description, &ij);
    // A stack of slices only carries no mark (radiology is saved so too): it is a layout
    // when its pages are grey planes that fit it, and nothing is refused.
    bool marked = strcmp(src->meta.microscopy_mark, "ImageJ hyperstack") == 0;
    int nc = ij.channels ? ij.channels : 1, nz = ij.slices ? ij.slices : 1,
        nt = ij.frames ? ij.frames : 1;
    // In a double: three counts up to 10^9 overflow a long long.
    double planes = (double)nc * nz * nt;
    if (ij.images && ij.images != planes) {
        return !marked || s2d_error_set(err, S2D_ERR_INPUT, "ImageJ description: images=%d, "
                                        "but channels x slices x frames is %.0f", ij.images,
                                        planes);
    }
    if (planes > src->npages) {
        return !marked || s2d_error_set(err, S2D_ERR_INPUT, "ImageJ description: %.0f "
                                        "images, the file has %d page%s", planes, src->npages,
                                        src->npages == 1 ? "" : "s");
    }
    int total = (int)planes;
    if (!marked && !s2d_pages_are_planes(src->pages, src->page_facts, total)) {
        return true;
    }
    if (!begin_layout(src, nc, nz, nt, marked ? "ImageJ hyperstack" : "ImageJ stack", err)) {
        return false;
    }
    for (int i = 0; i < total; i++) {
        src->plane_pages[i] = i;   // ImageJ's order is the layout's: c, then z, then t
    }
    if (single_rgb(src)) {
        drop_layout(src);   // one RGB image: no planes
        return true;
    }
    if (!check_planes(src, err)) {
        return false;
    }
    s2d_source_meta *m = &src->meta;
    double unit_um = ij.unit[0] ? s2d_imagej_unit_um(ij.unit) : 0;
    const s2d_tiff_ifd *d0 = &td->ifds[0];
    // ImageJ's resolution is pixels per unit, whatever ResolutionUnit says.
    if (unit_um > 0 && d0->x_resolution > 0 && d0->y_resolution > 0) {
        m->mpp_x = unit_um / d0->x_resolution;
        m->mpp_y = unit_um / d0->y_resolution;
    }
    src->planes.z_spacing_um = ij.spacing * unit_um;
    return imagej_channels(td, nc, m) || s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
}

// ------------------------------------------------------------------ the origins

static bool grey_planes(s2d_source *src, s2d_error *err)
{
    if (!s2d_pages_are_planes(src->pages, src->page_facts, src->npages)) {
        return true;
    }
    if (!begin_layout(src, src->npages, 1, 1, "grey TIFF", err)) {
        return false;
    }
    for (int i = 0; i < src->npages; i++) {
        src->plane_pages[i] = i;   // each page a channel
    }
    return true;
}

bool s2d_planes_build(s2d_source *src, s2d_error *err)
{
    const s2d_tiffdir *td = src->tiffdir;
    const char *desc = td->ifds[0].description ? td->ifds[0].description : "";
    const char *mark = src->meta.microscopy_mark;
    bool ok;
    if (strstr(desc, "<OME") || strcmp(mark, "QPTIFF") == 0) {
        int *page_of_ifd = pages_of_ifds(td);
        if (!page_of_ifd) {
            return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        }
        ok = strcmp(mark, "QPTIFF") == 0 ? qptiff_planes(src, page_of_ifd, err)
                                         : ome_planes(src, page_of_ifd, err);
        free(page_of_ifd);
    } else if (strncmp(desc, "ImageJ=", 7) == 0) {
        ok = imagej_planes(src, err);
    } else if (mark[0]) {
        return true;   // LSM, MetaMorph, Micro-Manager: their planes are not read here
    } else {
        ok = grey_planes(src, err);
    }
    if (!ok || !src->has_planes) {
        return ok;
    }
    s2d_source_meta *m = &src->meta;
    resolution_mpp(src, m);
    // Without a mark, the pixel size decides whether the file is microscopy at all: a
    // radiograph's is not kept as a microscope's.
    if (!mark[0] && !s2d_microscope_pixel(m->mpp_x > m->mpp_y ? m->mpp_x : m->mpp_y)) {
        m->mpp_x = m->mpp_y = 0;
    }
    return true;
}
