// SPDX-License-Identifier: Apache-2.0
/* OpenJPEG reads codestreams from a stream object; the decoders of JPEG 2000 frames
 * (frame_dec.c for copied tiles, jpeg2000_lossless.c) read them from memory through this
 * one, and silence OpenJPEG's messages the same way: our errors say what failed. */
#ifndef S2D_CODEC_OPJ_MEMORY_H
#define S2D_CODEC_OPJ_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#include <openjpeg.h>

/** A window on bytes in memory, read from the start. */
typedef struct s2d_opj_input {
    const uint8_t *data;
    size_t len, pos;
} s2d_opj_input;

/** A read stream over in's bytes; in (and its bytes) must outlive it.
 *  @return a stream the caller destroys with opj_stream_destroy(), or NULL when out of
 *  memory. */
opj_stream_t *s2d_opj_input_stream(s2d_opj_input *in);

/** Sends the codec's errors, warnings and notes nowhere. */
void s2d_opj_silence(opj_codec_t *codec);

#endif
