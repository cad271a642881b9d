// SPDX-License-Identifier: Apache-2.0
/* DICOM words for the source model; see dicom/source_terms.h. */
#include "dicom/source_terms.h"

const char *s2d_photometric_of(s2d_colour colour, const s2d_native *native)
{
    if (native->coding == S2D_CODING_J2K) {
        switch (native->j2k_transform) {
        case S2D_J2K_IRREVERSIBLE:
            return "YBR_ICT";
        case S2D_J2K_REVERSIBLE:
            return "YBR_RCT";
        case S2D_J2K_NO_TRANSFORM:
            break;
        }
        return "RGB";
    }
    return colour == S2D_COLOUR_RGB ? "RGB" : "YBR_FULL_422";
}

const char *s2d_lossy_method_term(s2d_lossy_method method)
{
    switch (method) {
    case S2D_LOSSY_JPEG:
        return "ISO_10918_1";
    case S2D_LOSSY_J2K:
        return "ISO_15444_1";
    case S2D_LOSSY_NONE:
        break;
    }
    return 0;
}
