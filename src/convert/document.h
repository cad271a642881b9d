// SPDX-License-Identifier: Apache-2.0
/* A document's pages as one Encapsulated PDF (--as pdf; docs/plain-tiff.md, "Documents as
 * PDF"): pages.c plans and writes through these when the option is given. Each page is
 * one PDF page whose image carries the TIFF's own coded data where a PDF filter reads it
 * (one G4 strip: CCITTFaxDecode; JPEG strips that join into one JPEG: DCTDecode), else
 * its pixels deflated (FlateDecode). The PDF goes straight into the Part 10 file's
 * Encapsulated Document value as it is made (part10.h, streamed_tag): no temporary file,
 * no page held but the one being written. */
#ifndef S2D_CONVERT_DOCUMENT_H
#define S2D_CONVERT_DOCUMENT_H

#include <stdbool.h>

#include "convert/pages.h"

/** The one instance, document.dcm, into pg->plan, once pg's kind (a document) and page
 *  mappings are known.
 *  @return false with err set (S2D_ERR_INPUT: a page whose pixels a PDF image cannot
 *  carry as they are, e.g. 16-bit grey). */
bool s2d_document_plan(s2d_pages *pg, s2d_error *err);

/** Writes document.dcm, every page in order, into its Part 10 writer (complete, not yet
 *  committed): pg->outputs[0]. */
bool s2d_document_write(s2d_pages *pg, s2d_error *err);

#endif
