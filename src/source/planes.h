// SPDX-License-Identifier: Apache-2.0
/* The planes of a microscopy file of pages (source.h's s2d_plane_layout), from what its
 * first directory says: OME-XML (ome_xml.h), a QPTIFF's per-IFD XML (qptiff.h), an ImageJ
 * description (imagej.h), or, in a file with no mark, grey pages of one size as channels.
 * fmt_plain_tiff calls it once its pages are described. */
#ifndef S2D_PLANES_H
#define S2D_PLANES_H

#include "source/source_impl.h"

/** Fills src's layout (has_planes, planes, plane_pages) and what the file says of its
 *  channels, pixel size and objective (meta), or leaves the source without planes when the
 *  file is no file of planes. @return false with err set (S2D_ERR_INPUT, one line naming
 *  what disagrees) when the file's own description contradicts its pages, or the planes
 *  differ in size or sample format, or are RGB in a file of several planes; or for lack of
 *  memory. */
bool s2d_planes_build(s2d_source *src, s2d_error *err);

#endif
