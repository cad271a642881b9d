// SPDX-License-Identifier: Apache-2.0
/* What a file of pages holds (radiology, document, photo, microscopy), told from the
 * source's facts alone: the first rule that matches wins, and the reason names the fact.
 * No DICOM word here: the conversion maps kinds to IODs. */
#include <math.h>
#include <stdio.h>

#include "source/source_impl.h"

// Document resolutions, in dots per inch.
#define DOC_DPI_MIN 150.0
#define DOC_DPI_MAX 600.0
// How far a page may be from a paper size, either side.
#define PAPER_TOLERANCE 0.10
// The largest pixel of a microscope, in micrometres (a radiograph's are 50 um and more).
#define MICROSCOPY_UM_MAX 10.0

static const struct {
    const char *name;
    double w_mm, h_mm;
} papers[] = {
    {"A4", 210, 297},
    {"Letter", 215.9, 279.4},
    {"Legal", 215.9, 355.6},
};

const char *s2d_kind_name(s2d_tiff_kind kind)
{
    switch (kind) {
    case S2D_KIND_RADIOLOGY:
        return "radiology";
    case S2D_KIND_DOCUMENT:
        return "document";
    case S2D_KIND_PHOTO:
        return "photo";
    default:
        return "microscopy";
    }
}

static bool is_grey(const s2d_pixdesc *p)
{
    return p->samples == 1 && (p->colour == S2D_COLOUR_MONO_MIN_IS_BLACK ||
                               p->colour == S2D_COLOUR_MONO_MIN_IS_WHITE);
}

// How far w x h mm is from a paper of pw x ph, either way round: the larger relative
// difference of the two sides.
static double paper_distance(double w, double h, double pw, double ph)
{
    double upright = fmax(fabs(w - pw) / pw, fabs(h - ph) / ph);
    double turned = fmax(fabs(w - ph) / ph, fabs(h - pw) / pw);
    return fmin(upright, turned);
}

// The paper a page of 8-bit grey or RGB at a document resolution is (the closest within
// the tolerance: Letter and A4 are within 10 % of each other), or NULL; *dpi its
// resolution.
static const char *paper_of(const s2d_pixdesc *p, const s2d_page_facts *f, double *dpi)
{
    bool eight = p->bits_stored == 8 && !p->is_signed && !p->is_float;
    bool colour_ok = is_grey(p) || (p->samples == 3 && p->colour == S2D_COLOUR_RGB);
    double xdpi = f->x_px_per_mm * 25.4, ydpi = f->y_px_per_mm * 25.4;
    if (!eight || !colour_ok || xdpi < DOC_DPI_MIN || xdpi > DOC_DPI_MAX || ydpi < DOC_DPI_MIN ||
        ydpi > DOC_DPI_MAX) {
        return NULL;
    }
    double w = p->width / f->x_px_per_mm, h = p->height / f->y_px_per_mm;
    const char *best = NULL;
    double best_distance = PAPER_TOLERANCE;
    for (size_t i = 0; i < sizeof papers / sizeof *papers; i++) {
        double d = paper_distance(w, h, papers[i].w_mm, papers[i].h_mm);
        if (d <= best_distance) {
            best = papers[i].name;
            best_distance = d;
        }
    }
    *dpi = xdpi;
    return best;
}

// A page that can be a microscope's grey plane: one sample, min-is-black, 8, 16 or 32
// bits (or a 64-bit float).
static bool grey_plane(const s2d_pixdesc *p, const s2d_page_facts *f)
{
    bool depth = f->bits_per_sample == 8 || f->bits_per_sample == 16 ||
                 f->bits_per_sample == 32 || (p->is_float && f->bits_per_sample == 64);
    return p->samples == 1 && p->colour == S2D_COLOUR_MONO_MIN_IS_BLACK && !f->decoded_to_rgb &&
           depth;
}

// Whether every page is a grey plane.
static bool all_grey_planes(const s2d_source_image *pages, const s2d_page_facts *facts, int n)
{
    for (int i = 0; i < n; i++) {
        if (!grey_plane(&pages[i].pix, &facts[i])) {
            return false;
        }
    }
    return n > 0;
}

bool s2d_pages_are_planes(const s2d_source_image *pages, const s2d_page_facts *facts, int n)
{
    if (!all_grey_planes(pages, facts, n)) {
        return false;
    }
    const s2d_pixdesc *p0 = &pages[0].pix;
    for (int i = 1; i < n; i++) {
        const s2d_pixdesc *p = &pages[i].pix;
        if (facts[i].bits_per_sample != facts[0].bits_per_sample || p->width != p0->width ||
            p->height != p0->height || p->bits_stored != p0->bits_stored ||
            p->is_signed != p0->is_signed || p->is_float != p0->is_float) {
            return false;
        }
    }
    return true;
}

// The pixel size, in micrometres, a page's resolution says (the larger side); 0 when it
// says none.
static double page_um(const s2d_page_facts *f)
{
    return f->x_px_per_mm > 0 && f->y_px_per_mm > 0
               ? 1000.0 / fmin(f->x_px_per_mm, f->y_px_per_mm)
               : 0;
}

bool s2d_microscope_pixel(double um)
{
    // A little room for a resolution stored as a float (2540 dpi is 10 um).
    return um > 0 && um <= MICROSCOPY_UM_MAX * (1 + 1e-6);
}

static const char *ccitt_name(uint16_t code)
{
    return code == 4 ? "CCITT G4" : code == 3 ? "CCITT G3" : "CCITT modified Huffman";
}

s2d_tiff_kind s2d_kind_of(const char *mark, const s2d_source_image *pages,
                          const s2d_page_facts *facts, int n, char reason[128])
{
    if (mark && mark[0]) {
        snprintf(reason, 128, "%s", mark);
        return S2D_KIND_MICROSCOPY;
    }
    // A microscope's grey pages; of several sizes or sample formats they are no planes of
    // one image, which the conversion refuses (--kind radiology takes them as pages).
    if (all_grey_planes(pages, facts, n) && s2d_microscope_pixel(page_um(&facts[0]))) {
        bool one = s2d_pages_are_planes(pages, facts, n);
        snprintf(reason, 128, "grey %s of %.3g um pixels%s", one ? "planes" : "pages",
                 page_um(&facts[0]), one ? "" : ", of several sizes or sample formats");
        return S2D_KIND_MICROSCOPY;
    }
    for (int i = 0; i < n; i++) {
        if (facts[i].bits_per_sample == 1) {
            snprintf(reason, 128, "1-bit pages");
            return S2D_KIND_DOCUMENT;
        }
    }
    for (int i = 0; i < n; i++) {
        if (facts[i].compression == S2D_PAGE_CCITT) {
            snprintf(reason, 128, "%s compression", ccitt_name(facts[i].compression_code));
            return S2D_KIND_DOCUMENT;
        }
    }
    for (int i = 0; i < n; i++) {
        double dpi = 0;
        const char *paper = paper_of(&pages[i].pix, &facts[i], &dpi);
        if (paper) {
            snprintf(reason, 128, "%s page at %.0f dpi", paper, dpi);
            return S2D_KIND_DOCUMENT;
        }
    }
    for (int i = 0; i < n; i++) {
        if (pages[i].pix.is_float) {
            snprintf(reason, 128, "float");
            return S2D_KIND_RADIOLOGY;
        }
    }
    for (int i = 0; i < n; i++) {
        // Grey of any depth: over 8 bits, 8 bits, or 2 and 4 bits.
        const s2d_pixdesc *p = &pages[i].pix;
        if (is_grey(p) && !facts[i].decoded_to_rgb) {
            bool white = p->colour == S2D_COLOUR_MONO_MIN_IS_WHITE;
            snprintf(reason, 128, "%u-bit grey%s%s", (unsigned)facts[i].bits_per_sample,
                     p->is_signed ? ", signed" : "", white ? ", min-is-white" : "");
            return S2D_KIND_RADIOLOGY;
        }
    }
    const s2d_page_facts *f = n > 0 ? &facts[0] : NULL;
    const s2d_pixdesc *p = n > 0 ? &pages[0].pix : NULL;
    snprintf(reason, 128, "%s", !p                                   ? "no pages"
                                : p->colour == S2D_COLOUR_PALETTE ? "palette"
                                : f->cmyk                         ? "CMYK"
                                : f->ycbcr                        ? "YCbCr"
                                                                  : "RGB");
    return S2D_KIND_PHOTO;
}

s2d_tiff_kind s2d_source_kind(const s2d_source *src, char reason[128])
{
    if (src->npages == 0) {
        snprintf(reason, 128, "a whole-slide image");
        return S2D_KIND_MICROSCOPY;
    }
    const s2d_source_meta *m = &src->meta;
    const s2d_plane_layout *l = s2d_source_planes(src);
    double um = fmax(m->mpp_x, m->mpp_y);
    bool by_size = l && m->mpp_x > 0 && m->mpp_y > 0 && s2d_microscope_pixel(um);
    s2d_tiff_kind kind = s2d_kind_of(m->microscopy_mark, src->pages, src->page_facts,
                                     src->npages, reason);
    if (!l || (kind != S2D_KIND_MICROSCOPY && !by_size)) {
        return kind;
    }
    // What the layout holds: "OME-XML, 3 channels x 5 z", "grey TIFF, 1 channel, 0.5 um
    // pixels" (no mark: the pixel size decided).
    size_t used = (size_t)snprintf(reason, 128, "%s, %d channel%s", l->origin, l->nc,
                                   l->nc == 1 ? "" : "s");
    if (l->nz > 1 && used < 128) {
        used += (size_t)snprintf(reason + used, 128 - used, " x %d z", l->nz);
    }
    if (l->nt > 1 && used < 128) {
        used += (size_t)snprintf(reason + used, 128 - used, " x %d t", l->nt);
    }
    if (!m->microscopy_mark[0] && used < 128) {
        snprintf(reason + used, 128 - used, ", %.3g um pixels", um);
    }
    return S2D_KIND_MICROSCOPY;
}
