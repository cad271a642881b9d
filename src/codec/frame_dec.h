// SPDX-License-Identifier: Apache-2.0
/* Decoder of single frames: a complete JPEG stream (TurboJPEG) or a raw JPEG 2000
 * codestream (OpenJPEG), told apart by their first marker. One per thread. */
#ifndef S2D_FRAME_DEC_H
#define S2D_FRAME_DEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/pixdesc.h"
#include "slide2dcm/error.h"

typedef struct s2d_frame_dec s2d_frame_dec;

/** A new decoder, NULL with err set. Owned by the caller, freed with s2d_frame_dec_free;
 *  one per thread. */
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

/** Decodes a JPEG frame of exactly width x height pixels into one byte of grey a pixel
 *  (a colour stream's luminance). JPEG only; fails as s2d_frame_dec_decode(). */
bool s2d_frame_dec_decode_grey(s2d_frame_dec *d, const uint8_t *data, size_t len, int width,
                               int height, uint8_t *grey, size_t stride, s2d_error *err);

typedef enum s2d_planes_result {
    S2D_PLANES_DECODED,
    S2D_PLANES_NOT_YCBCR,   // coded otherwise, or another size: decode it to RGB instead
    S2D_PLANES_FAILED,      // a broken stream (not even its header reads): err says why
} s2d_planes_result;

/** Decodes a JPEG frame of width x height pixels coded as YCbCr 4:2:0 or 4:4:4, at 1/scale
 *  of its size (scale 1 or 2), straight into the encoder's planar layout (codec/jpeg_enc.h)
 *  with the stream's own chroma: *chroma_div is 2 for 4:2:0, 1 for 4:4:4. Y, Cb and Cr are
 *  the stream's, with no conversion to RGB and back (which a re-encode would otherwise pay
 *  for twice, and lose a little to). planes must hold the 4:4:4 layout, 3 bytes a pixel.
 *  Any other stream (RGB-coded, grey, other subsampling, another size) is
 *  S2D_PLANES_NOT_YCBCR. */
s2d_planes_result s2d_frame_dec_decode_planes(s2d_frame_dec *d, const uint8_t *data, size_t len,
                                              int width, int height, int scale, uint8_t *planes,
                                              int *chroma_div, s2d_error *err);

/** Converts a YCbCr image in the encoder's planar layout (codec/jpeg_enc.h: Y, then Cb and
 *  Cr at 1/chroma_div of each side) into packed RGB, as a JPEG decoder would. */
bool s2d_frame_dec_planes_to_rgb(s2d_frame_dec *d, const uint8_t *planes, int width, int height,
                                 int chroma_div, uint8_t *rgb, size_t stride, s2d_error *err);

/** The decoder state of the codec entries whose frames frame_dec decodes (JPEG baseline,
 *  JPEG 2000): one frame decoder and the pixel description frames are decoded into. */
typedef struct s2d_frame_decoder {
    s2d_frame_dec *frames;
    s2d_pixdesc desc;
} s2d_frame_decoder;

/** A new s2d_frame_decoder for frames of d, as an s2d_codec's dec_new; NULL with err set.
 *  Owned by the caller, freed with s2d_frame_decoder_free. */
void *s2d_frame_decoder_new(const s2d_pixdesc *d, s2d_error *err);
/** NULL is a no-op. */
void s2d_frame_decoder_free(void *dec);

#endif
