// SPDX-License-Identifier: Apache-2.0
/* 2x2 area averages, by which generated levels and thumbnails are made. */
#ifndef S2D_DOWNSAMPLE_H
#define S2D_DOWNSAMPLE_H

#include <stddef.h>
#include <stdint.h>

/** 2x2 area average of a w x h RGB image into ceil(w/2) x ceil(h/2); at an odd edge the
 *  last row or column averages only the pixels that exist. */
void s2d_downsample_2x2(const uint8_t *src, size_t src_stride, int64_t w, int64_t h, uint8_t *dst,
                        size_t dst_stride);

/** The same for one plane of one byte a pixel (a Y, Cb or Cr plane). */
void s2d_downsample_plane_2x2(const uint8_t *src, size_t src_stride, int64_t w, int64_t h,
                              uint8_t *dst, size_t dst_stride);

#endif
