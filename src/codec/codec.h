// SPDX-License-Identifier: Apache-2.0
/* Codecs as a table, one entry (and one file) per transfer syntax: what pixels it can
 * carry, how large an encoded frame can get, and its encoder and decoder where we have
 * them. Adding a codec is one file and one line in codec.c's list. */
#ifndef S2D_CODEC_H
#define S2D_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/pixdesc.h"
#include "slide2dcm/error.h"

/** Encoder settings; a codec ignores those it has no use for. */
typedef struct s2d_codec_opts {
    int quality;             // lossy codecs: 1..100
    bool subsampling_444;    // JPEG: chroma at full resolution instead of 4:2:0
} s2d_codec_opts;

typedef struct s2d_codec {
    const char *name;
    const char *transfer_syntax_uid;
    bool lossy;
    const char *lossy_method;   // Lossy Image Compression Method (0028,2114); NULL if lossless
    /** Whether the codec can carry pixels so described (encode them, or, without an
     *  encoder, decode frames into them). */
    bool (*accepts)(const s2d_pixdesc *d);
    /** The largest frame the encoder makes from pixels so described, with these options
     *  (JPEG's depends on the chroma subsampling); 0 without an encoder. d is accepted. */
    uint64_t (*bound)(const s2d_pixdesc *d, const s2d_codec_opts *o);
    /** A new encoder for frames of d (accepted), NULL with err set. Owned by the caller,
     *  freed with enc_free; one per thread. NULL function: no encoder. */
    void *(*enc_new)(const s2d_pixdesc *d, const s2d_codec_opts *o, s2d_error *err);
    /** Encodes one frame of pixels (codec/pixdesc.h's memory layout, stride bytes a row;
     *  YCbCr planes, when d says so and the codec accepts them, are tightly packed).
     *  *out points into the encoder's buffer, valid until its next encode or free. */
    bool (*encode)(void *enc, const uint8_t *pixels, size_t stride, const uint8_t **out,
                   size_t *out_len, s2d_error *err);
    void (*enc_free)(void *enc);
    /** The Photometric Interpretation of the frames encode() makes from pixels so described
     *  (accepted): the one place that names it for encoded frames. A static string; NULL
     *  function: no encoder. */
    const char *(*photometric)(const s2d_pixdesc *d);
    /** A new decoder of frames into pixels described by d; as enc_new. NULL: no decoder. */
    void *(*dec_new)(const s2d_pixdesc *d, s2d_error *err);
    /** Decodes one frame into pixels (stride bytes a row), interleaved: never into YCbCr
     *  planes (codec/pixdesc.h). S2D_ERR_INPUT when the frame is corrupt or not of d's size. */
    bool (*decode)(void *dec, const uint8_t *data, size_t len, uint8_t *pixels, size_t stride,
                   s2d_error *err);
    void (*dec_free)(void *dec);
} s2d_codec;

/** The codec of a transfer syntax; NULL when there is none. The table is static. */
const s2d_codec *s2d_codec_find(const char *transfer_syntax_uid);

/** The i-th codec of the table, NULL past its end (for listings and tests). */
const s2d_codec *s2d_codec_at(size_t i);

/** The codec `--codec option` names: native, deflate, rle, jpeg-ls, j2k (JPEG 2000
 *  lossless) or jpeg (JPEG baseline, lossy); NULL for any other name. A static entry. */
const s2d_codec *s2d_codec_named(const char *option);

/* The entries, each defined in its own file. */
extern const s2d_codec s2d_codec_jpeg_baseline;   // codec/jpeg_baseline.c
extern const s2d_codec s2d_codec_jpeg2000;        // codec/jpeg2000.c
extern const s2d_codec s2d_codec_native;          // codec/native.c
extern const s2d_codec s2d_codec_deflated;        // codec/native.c: native frames, dataset
                                                  // deflated by the Part 10 writer
extern const s2d_codec s2d_codec_rle;             // codec/rle.c
extern const s2d_codec s2d_codec_jpeg_ls;         // codec/jpeg_ls.c
extern const s2d_codec s2d_codec_jpeg2000_lossless;   // codec/jpeg2000_lossless.c

/** Native coding of `rows` rows of pixels described by d (interleaved; its height is not
 *  used) into out, which holds at least rows x the packed row: a band of a frame streamed to
 *  the Part 10 writer (s2d_part10_add_native). 1-bit rows are packed bit after bit, the
 *  first pixel in the lowest bit; their bit count is rows x width.
 *  @return the bytes written. */
size_t s2d_native_pack_rows(const s2d_pixdesc *d, const uint8_t *pixels, size_t stride,
                            uint32_t rows, uint8_t *out);

#endif
