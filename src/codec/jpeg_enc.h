// SPDX-License-Identifier: Apache-2.0
/* JPEG baseline encoder (TurboJPEG), one per thread. Output is a complete interchange
 * stream (SOI, JFIF, tables, SOF0, scan, EOI) storing YCbCr: Photometric YBR_FULL_422;
 * or, from grey pixels, one component. */
#ifndef S2D_JPEG_ENC_H
#define S2D_JPEG_ENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slide2dcm/error.h"

typedef struct s2d_jpeg_enc s2d_jpeg_enc;

/** max_width/max_height bound the images this encoder will be given (at most 65535 each and
 *  2^28 pixels in all). Not thread-safe: each worker owns one. */
s2d_jpeg_enc *s2d_jpeg_enc_new(int quality, bool subsampling_444, int max_width, int max_height,
                               s2d_error *err);
void s2d_jpeg_enc_free(s2d_jpeg_enc *enc);

/** Encodes packed RGB. *out points into the encoder's buffer, valid until the next call. */
bool s2d_jpeg_enc_encode(s2d_jpeg_enc *enc, const uint8_t *rgb, int width, int height,
                         size_t stride, const uint8_t **out, size_t *out_len, s2d_error *err);

/** Encodes one-sample grey pixels as a one-component JPEG (Photometric MONOCHROME2 or 1,
 *  whichever the pixels are); *out as for s2d_jpeg_enc_encode(). The encoder's maximum
 *  size holds for grey images too. */
bool s2d_jpeg_enc_encode_grey(s2d_jpeg_enc *enc, const uint8_t *grey, int width, int height,
                              size_t stride, const uint8_t **out, size_t *out_len, s2d_error *err);

/** Upper bound of the encoded size of a width x height grey image. */
size_t s2d_jpeg_enc_grey_bound(int width, int height);

/* A YCbCr image in the encoder's planar layout, one buffer: Y (width x height), then Cb and
 * Cr (width/d x height/d each; d = 2 under 4:2:0, 1 under 4:4:4), rows tightly packed.
 * width and height must be multiples of d. Generated levels travel in it, so that they
 * are converted from RGB once, at the level they come from, and averaged and encoded as
 * they are: the conversion and chroma subsampling are ~20 % of an encode. */

/** Where the planes of a width x height image lie in the planar layout. */
typedef struct s2d_planes_layout {
    size_t offset[3];     // Y, Cb, Cr from the buffer's start
    int side_div[3];      // each plane is width/side_div x height/side_div: 1, d, d
    size_t size;          // the whole buffer
} s2d_planes_layout;

/** The layout for chroma divisor d (2 or 1); the one place that knows it. */
s2d_planes_layout s2d_planes_layout_of(int width, int height, int d);

/** The three planes of that layout in `planes`, with their strides, as TurboJPEG's YUV
 *  functions take them. */
void s2d_planes_split(const uint8_t *planes, int width, int height, int d,
                      const unsigned char *plane[3], int stride[3]);

/** Turns packed RGB into the planar layout as the encoder does before encoding (its colour
 *  transform and chroma subsampling), apart from any encoder: the way pixels become the
 *  YCbCr planes that the codec table's JPEG entry takes (codec/pixdesc.h, chroma_div).
 *  Not thread-safe: each worker owns one. */
typedef struct s2d_planes_conv s2d_planes_conv;

/** A converter into planes of chroma divisor d (2 or 1); the caller frees it with
 *  s2d_planes_conv_free. NULL with err set. */
s2d_planes_conv *s2d_planes_conv_new(int d, s2d_error *err);
void s2d_planes_conv_free(s2d_planes_conv *conv);

/** Converts packed RGB into the planar layout: s2d_jpeg_enc_encode_planes() of the result
 *  gives s2d_jpeg_enc_encode()'s bytes. width and height are multiples of d. */
bool s2d_planes_from_rgb(s2d_planes_conv *conv, const uint8_t *rgb, int width, int height,
                         size_t stride, uint8_t *planes, s2d_error *err);

/** Encodes an image in the planar layout; *out as for s2d_jpeg_enc_encode(). */
bool s2d_jpeg_enc_encode_planes(s2d_jpeg_enc *enc, const uint8_t *planes, int width, int height,
                                const uint8_t **out, size_t *out_len, s2d_error *err);

/** Upper bound of the encoded size of a width x height image. */
size_t s2d_jpeg_enc_bound(int width, int height, bool subsampling_444);

#endif
