// SPDX-License-Identifier: Apache-2.0
/* The formats, in the order they are tried: the TIFF layouts whose tiles we copy first,
 * each recognised by its own marks, then the plain TIFFs of pages, then OpenSlide for
 * everything else. A new format is a
 * new fmt_*.c and a line here. */
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "source/source_impl.h"

static const s2d_format *const formats[] = {
    &s2d_format_ndpi,        // a private tag of its own
    &s2d_format_aperio,      // its description
    &s2d_format_philips,     // its Software and XML description
    &s2d_format_leica_scn,   // its XML description's namespace
    &s2d_format_ventana,     // the iScan element in its first XMP packet
    &s2d_format_3dhistech,   // the 3dh_PixelSizeX pair in its description
    &s2d_format_ome,         // OME-XML
    &s2d_format_tiled_tiff,  // any other tiled TIFF without a vendor's mark
    &s2d_format_plain_tiff,  // a TIFF of pages: stripped, or tiled but no slide
    &s2d_format_openslide,   // last: whatever OpenSlide knows
};

const s2d_format *const *s2d_formats(int *n)
{
    *n = (int)(sizeof formats / sizeof *formats);
    return formats;
}

static bool has_extension(const char *path, const char *ext)
{
    size_t n = strlen(path), e = strlen(ext);
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    return n > e && (size_t)(path + n - base) > e && strcasecmp(path + n - e, ext) == 0;
}

bool s2d_source_sniff(const char *path)
{
    bool any_tiff = false;
    for (size_t i = 0; i < sizeof formats / sizeof *formats; i++) {
        for (const char *const *ext = formats[i]->extensions; ext && *ext; ext++) {
            if (has_extension(path, *ext)) {
                return true;
            }
        }
        any_tiff |= formats[i]->reads_tiff;
    }
    return any_tiff && s2d_tiffdir_magic(path);
}
