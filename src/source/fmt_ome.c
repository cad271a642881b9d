// SPDX-License-Identifier: Apache-2.0
/* OME-TIFF: a tiled TIFF whose first ImageDescription is OME-XML and whose image is 8-bit
 * RGB. Its levels are copied as a generic tiled TIFF's; the pixel size and the channels
 * (names, colours, wavelengths) come from the first Pixels element (ome_xml.c), the
 * scanner from the Image's Instrument (its TIFF Software names the converter that wrote
 * the file, Bio-Formats, not the scanner). Grey
 * channels and samples of other sizes are microscopy planes: fmt_plain_tiff reads those. */
#include <stdio.h>
#include <string.h>

#include "source/ome_xml.h"
#include "source/tiffio.h"

static bool ome_detect(const char *path, const s2d_tiffdir *td)
{
    (void)path;
    return td && td->n > 0 && td->ifds[0].description &&
           strstr(td->ifds[0].description, "<OME") && !s2d_tiff_vendor_marked(td);
}

// The Channel elements, in their order, as meta's channels. @return false for lack of memory.
static bool take_channels(const s2d_ome_image *img, s2d_source_meta *m)
{
    for (size_t i = 0; i < img->nchannels; i++) {
        s2d_source_channel *c = s2d_meta_add_channel(m);
        if (!c) {
            return false;
        }
        const s2d_ome_channel *oc = &img->channels[i];
        memcpy(c->name, oc->name, sizeof c->name);
        c->excitation_nm = oc->excitation_nm;
        c->emission_nm = oc->emission_nm;
        memcpy(c->colour, oc->colour, sizeof c->colour);
        c->has_colour = oc->has_colour;
    }
    return true;
}

static bool ome_open(s2d_source *src, s2d_error *err)
{
    if (s2d_ome_planes_file(src->tiffdir) ||
        !s2d_tiff_source_open_tiled(src, NULL, err)) {
        return false;
    }
    const s2d_tiff_ifd *d0 = &src->tiffdir->ifds[0];
    s2d_source_meta *m = &src->meta;
    s2d_ome_image img;
    s2d_error parse_err = {0};
    // An OME-XML without a Pixels element describes nothing we use: the levels stand alone.
    bool parsed = s2d_ome_parse(d0->description, &img, &parse_err);
    bool ok = parsed || parse_err.code != S2D_ERR_NOMEM;
    if (parsed) {
        m->mpp_x = img.physical_x_um;
        m->mpp_y = img.physical_y_um;
        m->device = img.microscope;
        ok = take_channels(&img, m);
    }
    snprintf(m->format_title, sizeof m->format_title, "OME-TIFF");
    s2d_ome_image_free(&img);
    s2d_meta_tiff_datetime(d0->datetime, m->acquisition_datetime);
    s2d_meta_default_background(m);
    return (ok && s2d_meta_take_icc(src->tiffdir, m)) ||
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
