// SPDX-License-Identifier: Apache-2.0
/* The DICOM words for what the source model describes in its own: the Photometric
 * Interpretation of copied frames and the Lossy Image Compression Method of a source
 * image's history. */
#ifndef S2D_SOURCE_TERMS_H
#define S2D_SOURCE_TERMS_H

#include "source/source.h"

/** Photometric Interpretation of frames copied from an image of that colour model and
 *  native coding: RGB, YBR_FULL_422 (YCbCr JPEG, whatever its chroma sampling, as PS3.5
 *  8.2.1 asks), YBR_ICT or YBR_RCT (JPEG 2000 with its component transform). A static
 *  string. */
const char *s2d_photometric_of(s2d_colour colour, const s2d_native *native);

/** Lossy Image Compression Method of a lossy history: ISO_10918_1 or ISO_15444_1; NULL for
 *  none. A static string. */
const char *s2d_lossy_method_term(s2d_lossy_method method);

#endif
