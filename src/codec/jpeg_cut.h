// SPDX-License-Identifier: Apache-2.0
/* What only the libjpeg API can do: cut a frame out of a JPEG at DCT-coefficient level
 * (lossless: the coefficients are copied, not decoded to pixels), and encode pixels
 * without a colour transform (Photometric RGB). */
#ifndef S2D_JPEG_CUT_H
#define S2D_JPEG_CUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "slide2dcm/error.h"

/** The DCT coefficients of a whole JPEG, read once so that many frames can be cut. */
typedef struct s2d_jpeg_coefs s2d_jpeg_coefs;

/** Reads every coefficient of src (copied: src may go). Fails with S2D_ERR_INPUT when src
 *  is corrupt (libjpeg warnings included). Owned by the caller, freed with
 *  s2d_jpeg_coefs_free. */
s2d_jpeg_coefs *s2d_jpeg_coefs_read(const uint8_t *src, size_t len, s2d_error *err);
void s2d_jpeg_coefs_free(s2d_jpeg_coefs *c);

/**
 * Writes into out a baseline JPEG of out_w x out_h pixels whose blocks are those of the
 * source starting at pixel (x0, y0), which must be a multiple of its MCU size, as must
 * out_w and out_h. Blocks beyond the source are the flat colour fill (in its colour space,
 * e.g. YCbCr).
 */
bool s2d_jpeg_coefs_cut(s2d_jpeg_coefs *c, int x0, int y0, int out_w, int out_h,
                        const uint8_t fill[3], s2d_buf *out, s2d_error *err);

/** Encodes packed RGB as a JPEG whose components are R, G, B (4:4:4, Adobe APP14 with
 *  transform 0). */
bool s2d_jpeg_encode_rgb(const uint8_t *rgb, int width, int height, int quality, s2d_buf *out,
                         s2d_error *err);

/** RGB to the JFIF YCbCr that libjpeg's encoder uses, for fill colours. */
void s2d_rgb_to_ycbcr(const uint8_t rgb[3], uint8_t ycc[3]);

#endif
