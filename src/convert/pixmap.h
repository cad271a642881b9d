// SPDX-License-Identifier: Apache-2.0
/* From the pixels a plain TIFF's page stores to the pixels its DICOM instance holds: the
 * one place of the mapping table in docs/plain-tiff.md (inversion, widening of 2- and 4-bit
 * grey, the offset of signed samples, the linear scaling of float and 32-bit samples,
 * palette expansion). Rows come in the memory layout of codec/pixdesc.h and leave in it. */
#ifndef S2D_CONVERT_PIXMAP_H
#define S2D_CONVERT_PIXMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/pixdesc.h"
#include "slide2dcm/error.h"

typedef enum s2d_pixmap_op {
    S2D_MAP_COPY,            // the same samples
    S2D_MAP_INVERT,          // max - v, at the input's depth
    S2D_MAP_WIDEN,           // 1, 2 or 4-bit grey to 8 bits (x255, x85, x17), maybe inverted
    S2D_MAP_OFFSET,          // signed 8 or 16-bit samples to v + 32768 in 16 bits
    S2D_MAP_LINEAR,          // float or 32-bit samples to round((v - intercept) / slope)
    S2D_MAP_PALETTE,         // palette indices to 8-bit RGB (the colour map's high bytes)
} s2d_pixmap_op;

/** What the kind of the file asks of grey that is darkest at its largest value. */
typedef enum s2d_min_is_white {
    S2D_KEEP_MIN_IS_WHITE,   // keep the values (MONOCHROME1): radiology
    S2D_INVERT_MIN_IS_WHITE, // invert them to min-is-black: documents and photos
} s2d_min_is_white;

typedef struct s2d_pixmap {
    s2d_pixdesc in, out;     // what the source hands out, what we write (width, height too)
    s2d_pixmap_op op;
    bool invert;             // S2D_MAP_WIDEN: invert first
    // The real value of a written sample is stored * slope + intercept (Rescale Slope and
    // Intercept); 1 and 0 unless OFFSET or LINEAR.
    double slope, intercept;
    const uint16_t *palette; // S2D_MAP_PALETTE: 3 x palette_n entries (R, then G, then B);
    size_t palette_n;        // borrowed from the source
    uint64_t nonfinite;      // S2D_MAP_LINEAR: NaN and infinite samples written as 0
} s2d_pixmap;

/** Chooses the mapping for pixels described by in (as s2d_source_read_rows hands them out)
 *  into *m; depth_8_only: the output must be 8-bit (VL photographs); keep_one_bit: 1-bit
 *  grey stays 1-bit (documents), else it is widened to 8. For S2D_MAP_LINEAR the caller
 *  then sets the range with s2d_pixmap_set_range once it knows it.
 *  @return false with S2D_ERR_INPUT and a reason ("16-bit colour ...") for pixels we cannot
 *  write. */
bool s2d_pixmap_choose(const s2d_pixdesc *in, s2d_min_is_white min_is_white, bool depth_8_only,
                       bool keep_one_bit, s2d_pixmap *m, s2d_error *err);

/** S2D_MAP_LINEAR: the smallest and largest finite input values over the instance; sets
 *  slope and intercept (an integer range that fits 16 bits keeps slope 1, exactly). */
void s2d_pixmap_set_range(s2d_pixmap *m, double min, double max);

/** Widens [*min, *max] by the finite input values of rows (S2D_MAP_LINEAR's first pass);
 *  *any is set once a finite value was seen. */
void s2d_pixmap_scan_range(const s2d_pixmap *m, const uint8_t *in, size_t in_stride,
                           uint32_t rows, double *min, double *max, bool *any);

/** Maps rows of m->in.width pixels from in to out. Counts non-finite samples in
 *  m->nonfinite. */
void s2d_pixmap_rows(s2d_pixmap *m, const uint8_t *in, size_t in_stride, uint8_t *out,
                     size_t out_stride, uint32_t rows);

#endif
