// SPDX-License-Identifier: Apache-2.0
/* One frame of a tiled output, made by one worker: copied (the source's compressed tile
 * unchanged), read (the source's pixels decoded and encoded) or generated (encoded from
 * planes the caller assembled). Frames are encoded by the codec the caller names, from
 * YCbCr planes (codec/pixdesc.h's chroma_div: the JPEG encoder's layout, codec/jpeg_enc.h);
 * generated frames stay such planes from the level they come from to their encoding. A
 * frame can also leave its half-size image (for the generated level below) and its RGB
 * (for the thumbnail). */
#ifndef S2D_FRAMES_H
#define S2D_FRAMES_H

#include <stdbool.h>
#include <stdint.h>

#include "codec/codec.h"
#include "core/buf.h"
#include "core/diag.h"
#include "source/source.h"
#include "slide2dcm/slide2dcm.h"

typedef enum s2d_level_mode {
    S2D_LEVEL_GENERATE,        // 2x2 average of the level above, encoded
    S2D_LEVEL_READ,            // source level decoded and encoded
    S2D_LEVEL_COPY,            // source level's frames copied
} s2d_level_mode;

/** What every worker shares; read only while frames are made. */
typedef struct s2d_frame_env {
    s2d_source *reader;
    const char *source_name;           // for warnings
    s2d_diag *diag;                    // where warnings go
    const s2d_convert_options *opts;   // quality, subsampling
    const s2d_codec *codec;            // what frames are encoded with; takes YCbCr planes
    s2d_pixdesc planes;                // one frame as the codec is given it
    s2d_codec_opts codec_opts;
    int tile;                          // frame width and height
    int chroma_div;                    // 2 under 4:2:0, 1 under 4:4:4 (codec/jpeg_enc.h)
    const uint8_t *background;         // RGB, the reader's
    uint8_t background_ycc[3];         // the background as the encoder converts it
} s2d_frame_env;

/** Fills env for frames of tile x tile from `reader` (borrowed, as are the name, diag and
 *  options, for as long as env is used), encoded with `codec` (a static table entry).
 *  @return false with err set when the codec cannot encode such frames from YCbCr planes. */
bool s2d_frame_env_init(s2d_frame_env *env, s2d_source *reader, const char *source_name,
                        s2d_diag *diag, const s2d_convert_options *opts,
                        const s2d_codec *codec, int tile, s2d_error *err);

typedef struct s2d_frame_job {
    s2d_level_mode mode;
    int level;               // output level (< S2D_MAX_LEVELS); a worker remembers by level
                             // when frames are not YCbCr, as a level's frames share a coding
    int source_level;        // COPY and READ: the reader's level
    bool jpeg_frames;        // READ: the source gives each frame as a JPEG of the frame's size
    uint32_t col, row;
    int64_t vw, vh;          // what of the frame is image (less at the right and bottom edges)
    bool feeds_next;         // s2d_frame_quarter will be asked for
    bool feeds_thumb;        // s2d_frame_rgb will be asked for
} s2d_frame_job;

typedef struct s2d_frame_worker s2d_frame_worker;

/** A worker's codecs, reader context and pixel buffers, with room for generated levels when
 *  `generates`. The caller owns it (s2d_frame_worker_free); env must outlive it. */
s2d_frame_worker *s2d_frame_worker_new(const s2d_frame_env *env, bool generates,
                                       s2d_error *err);
void s2d_frame_worker_free(s2d_frame_worker *w);

/** For a GENERATE job: where its planes go before s2d_frame_make (tile x tile, the encoder's
 *  planar layout), and in *scratch as many bytes of room. Both owned by the worker. */
uint8_t *s2d_frame_generated_planes(s2d_frame_worker *w, uint8_t **scratch);

/** The structure check every copied frame gets (codec/bitstream.h's *_frame_flaw for the
 *  coding of src): false with why set (S2D_ERR_INPUT, the flaw) when frame is not a sound
 *  tile x tile frame of that coding. */
bool s2d_frame_copy_sound(const s2d_source_image *src, const s2d_buf *frame, int tile,
                          s2d_error *why);

/** Makes the job's frame into out. A copied tile the source cannot give, or whose frame is
 *  not sound (s2d_frame_copy_sound; under opts->verify, not decodable), is written as
 *  background, encoded like the level's other frames, and *replaced set (a warning says so);
 *  so is a read frame that some missing or broken source tile left partly background. */
bool s2d_frame_make(s2d_frame_worker *w, const s2d_frame_job *job, s2d_buf *out, bool *replaced,
                    s2d_error *err);

/** After s2d_frame_make of a job that feeds_next: its 2x2 average (tile/2 square, planar).
 *  Owned by the worker, valid until its next frame; NULL with err set on failure. */
const uint8_t *s2d_frame_quarter(s2d_frame_worker *w, const s2d_frame_job *job, s2d_error *err);

/** After s2d_frame_make (and s2d_frame_quarter, if asked) of a job that feeds_thumb: its
 *  pixels as tile x tile RGB. Owned by the worker, valid until its next frame. */
const uint8_t *s2d_frame_rgb(s2d_frame_worker *w, const s2d_frame_job *job, s2d_error *err);

#endif
