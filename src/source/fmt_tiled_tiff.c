// SPDX-License-Identifier: Apache-2.0
/* A generic tiled TIFF (OpenSlide's generic-tiff): every tiled IFD a level, of JPEG or
 * JPEG 2000 tiles to copy. Other tiles (LZW, Deflate...) are OpenSlide's to decode. */
#include <stdio.h>

#include "source/ome_xml.h"
#include "source/tiffio.h"

static bool tiled_detect(const char *path, const s2d_tiffdir *td)
{
    (void)path;
    // OME-TIFFs of grey planes are fmt_plain_tiff's, however tiled.
    return td && td->n > 0 && td->ifds[0].tiled && !s2d_tiff_vendor_marked(td) &&
           !s2d_ome_planes_file(td);
}

static bool tiled_open(s2d_source *src, s2d_error *err)
{
    if (!s2d_tiff_source_open_tiled(src, NULL, err)) {
        return false;
    }
    s2d_meta_tiff_datetime(src->tiffdir->ifds[0].datetime, src->meta.acquisition_datetime);
    // A scanner that writes plain tiled TIFFs names itself in Make, Model and Software.
    s2d_meta_tiff_device(&src->tiffdir->ifds[0], &src->meta.device);
    snprintf(src->meta.format_title, sizeof src->meta.format_title, "tiled TIFF");
    s2d_meta_default_background(&src->meta);
    return s2d_meta_take_icc(src->tiffdir, &src->meta) ||
           s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
}

static const char *const tiled_extensions[] = {".tif", ".tiff", NULL};

const s2d_format s2d_format_tiled_tiff = {
    .name = "tiled-tiff",
    .extensions = tiled_extensions,
    .reads_tiff = true,
    .detect = tiled_detect,
    .open = tiled_open,
};
