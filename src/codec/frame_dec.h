/* Decoder of single frames: a complete JPEG stream (TurboJPEG) or a raw JPEG 2000
 * codestream (OpenJPEG), told apart by their first marker. One per thread. */
#ifndef S2D_FRAME_DEC_H
#define S2D_FRAME_DEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slide2dcm/error.h"

typedef struct s2d_frame_dec s2d_frame_dec;

s2d_frame_dec *s2d_frame_dec_new(s2d_error *err);
void s2d_frame_dec_free(s2d_frame_dec *d);

/** Decodes a frame of exactly width x height pixels into packed RGB (stride bytes a row).
 *  JPEG colour follows the stream's markers (an Adobe transform 0 stream stays RGB).
 *  Fails with S2D_ERR_INPUT on a corrupt or differently sized frame. */
bool s2d_frame_dec_decode(s2d_frame_dec *d, const uint8_t *data, size_t len, int width,
                          int height, uint8_t *rgb, size_t stride, s2d_error *err);

/** Decodes a JPEG frame of width x height pixels (even) at half size, width/2 x height/2,
 *  through the decoder's DCT scaling: much cheaper than a full decode and a 2x2 average,
 *  which it replaces where a copied level only feeds the level below. JPEG only. */
bool s2d_frame_dec_decode_half(s2d_frame_dec *d, const uint8_t *data, size_t len, int width,
                               int height, uint8_t *rgb, size_t stride, s2d_error *err);

/** Converts a YCbCr image in the encoder's planar layout (codec/jpeg_enc.h: Y, then Cb and
 *  Cr at 1/chroma_div of each side) into packed RGB, as a JPEG decoder would. */
bool s2d_frame_dec_planes_to_rgb(s2d_frame_dec *d, const uint8_t *planes, int width, int height,
                                 int chroma_div, uint8_t *rgb, size_t stride, s2d_error *err);

#endif
