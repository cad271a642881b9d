// SPDX-License-Identifier: Apache-2.0
/* What the pixels of an image are, in words of pixels, not of a file format: the codecs
 * decide from it what they can carry, and how large a frame can get. It belongs to the
 * source model (src/source/), which includes it from here. */
#ifndef S2D_PIXDESC_H
#define S2D_PIXDESC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum s2d_colour {
    S2D_COLOUR_MONO_MIN_IS_BLACK,   // one sample, 0 is black
    S2D_COLOUR_MONO_MIN_IS_WHITE,   // one sample, 0 is white
    S2D_COLOUR_RGB,
    S2D_COLOUR_YCBCR,
    S2D_COLOUR_PALETTE,             // one sample, an index into a colour table
} s2d_colour;

typedef struct s2d_pixdesc {
    uint32_t width, height;
    uint16_t samples;          // samples per pixel: 1 or 3
    uint16_t bits_allocated;   // 1, 8, 16 or 32
    uint16_t bits_stored;      // at most bits_allocated, the low bits
    bool is_signed;            // two's complement samples
    s2d_colour colour;
    bool planar;               // each sample in a plane of its own (3 samples only)
    bool is_float;             // IEEE float samples (bits_allocated 32); no codec takes them
    // YCbCr only: 0 when its samples lie interleaved as below; 1 or 2 when they lie in
    // three planes, Y then Cb and Cr at 1/chroma_div of each side (the JPEG encoder's own
    // layout, codec/jpeg_enc.h: 2 is 4:2:0). Generated levels travel that way.
    uint8_t chroma_div;
} s2d_pixdesc;

/* Pixels in memory, as encoders take them and decoders give them: rows of width x samples
 * interleaved samples, `stride` bytes apart; a sample is a byte when bits_allocated is 8,
 * a uint16_t in host order when 16, a float, uint32_t or int32_t (is_float, is_signed) in
 * host order when 32, and a byte holding 0 or 1 when 1. `planar` says how a codec stores
 * them, not how they lie in memory; chroma_div says when YCbCr lies in planes instead
 * (then the sizes below do not apply, and stride is ignored). */

/** Bytes of one sample in memory: 1, 2 or 4. */
size_t s2d_pixdesc_sample_bytes(const s2d_pixdesc *d);

/** Bytes of one row in memory, tightly packed. */
size_t s2d_pixdesc_row_bytes(const s2d_pixdesc *d);

/** Bits of one frame stored uncompressed (width x height x samples x bits_allocated). */
uint64_t s2d_pixdesc_frame_bits(const s2d_pixdesc *d);

#endif
