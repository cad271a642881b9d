// SPDX-License-Identifier: Apache-2.0
/* A minimal PDF writer (ISO 32000-1): one page per image, each page an image XObject
 * drawn over the whole page, written front to back into a sink, never seeking and never
 * holding an image. What an image's stream carries is the caller's: coded bytes a PDF
 * filter reads as they are (CCITT G4, baseline JPEG), or pixel rows that are deflated
 * here. Stream lengths that are not known before the data (deflated pixels) are indirect
 * objects written after their stream, so a document of any length takes the memory of
 * its cross-reference table (16 bytes a page). It knows PDF only: no TIFF, no DICOM. */
#ifndef S2D_PDF_WRITER_H
#define S2D_PDF_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slide2dcm/error.h"

/** Where the PDF's bytes go, in order; false with err set stops the writer. */
typedef bool (*s2d_pdf_sink)(void *ctx, const void *data, size_t len, s2d_error *err);

typedef enum s2d_pdf_coding {
    S2D_PDF_CCITT_G4,        // /CCITTFaxDecode /K -1: a T.6 bitstream, first bit the highest
    S2D_PDF_JPEG,            // /DCTDecode: a complete baseline JPEG
    S2D_PDF_PIXELS,          // /FlateDecode: rows of pixels, deflated by the writer
} s2d_pdf_coding;

/** One page: its image and its size on paper. */
typedef struct s2d_pdf_page {
    uint32_t width, height;  // pixels
    uint8_t components;      // 1 (DeviceGray) or 3 (DeviceRGB)
    uint8_t bits;            // 1 or 8 per component
    s2d_pdf_coding coding;
    bool black_is_1;         // CCITT: coded 1 bits are black (a min-is-black TIFF)
    bool ycbcr;              // JPEG of three components: YCbCr (else RGB as it is)
    double width_pt, height_pt;   // the MediaBox, in points (1/72 inch), of the upright page
    // How the image's rows lie on the page, numbered as TIFF and EXIF do (1: first row at
    // the top, first column left; 5 to 8 turn it on its side): the page shows it upright.
    uint8_t orientation;
} s2d_pdf_page;

typedef struct s2d_pdf s2d_pdf;

/** Starts a PDF of npages pages (at least 1) into sink: writes its header.
 *  @return the writer (the caller frees it with s2d_pdf_free) or NULL with err set. */
s2d_pdf *s2d_pdf_begin(uint32_t npages, s2d_pdf_sink sink, void *ctx, s2d_error *err);

/** Starts the next page. Pages come in order, each ended before the next begins. */
bool s2d_pdf_page_begin(s2d_pdf *pdf, const s2d_pdf_page *page, s2d_error *err);

/** Appends to the page's image: coded bytes (CCITT, JPEG) as they are, or for PIXELS whole
 *  rows, ceil(width * components * bits / 8) bytes each (1-bit pixels first in the highest
 *  bit, 1 white), top row first. */
bool s2d_pdf_page_data(s2d_pdf *pdf, const void *data, size_t len, s2d_error *err);

/** Ends the page: for PIXELS, checks that every row came. */
bool s2d_pdf_page_end(s2d_pdf *pdf, s2d_error *err);

/** Writes the page tree, the cross-reference table and the trailer, once every page is
 *  ended; *bytes (may be NULL) gets the PDF's length. */
bool s2d_pdf_finish(s2d_pdf *pdf, uint64_t *bytes, s2d_error *err);

/** NULL is a no-op. */
void s2d_pdf_free(s2d_pdf *pdf);

#endif
