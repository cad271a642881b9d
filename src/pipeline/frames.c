// SPDX-License-Identifier: Apache-2.0
/* One frame's work; see pipeline/frames.h. */
#include "pipeline/frames.h"

#include <stdlib.h>
#include <string.h>

#include "codec/bitstream.h"
#include "codec/frame_dec.h"
#include "codec/jpeg_enc.h"
#include "codec/jpeg_cut.h"
#include "pipeline/downsample.h"

// Where a frame's half-size image comes from (s2d_frame_quarter).
typedef enum quarter_source {
    QUARTER_OF_PLANES,     // the 2x2 average of w->planes (a tile encoded here)
    QUARTER_OF_TILE,       // the 2x2 average of w->tile's RGB, converted
    QUARTER_OF_HALF_RGB,   // w->quarter_rgb (decoded at half size), converted
    QUARTER_MADE,          // w->quarter already holds it (decoded at half size as planes)
} quarter_source;

struct s2d_frame_worker {
    const s2d_frame_env *env;
    void *enc;                  // env->codec's encoder of env->planes
    s2d_planes_conv *to_planes; // RGB into the planes the encoder takes
    s2d_read_ctx *reader;
    s2d_frame_dec *dec;
    uint8_t *tile;           // tile x tile RGB
    uint8_t *planes;         // tile x tile in the encoder's planar layout: what it encodes
    // When a level is generated: this tile's share of the level below, as RGB (a copied
    // tile's average, or its decode at half size) and planar; and room for reading a
    // generated tile's quarters.
    uint8_t *quarter_rgb;
    uint8_t *quarter;
    uint8_t *scratch;
    quarter_source quarter_from;        // for the frame made last
    bool rgb_level[S2D_MAX_LEVELS];     // a frame of the level was not YCbCr: decode to RGB
    // The background frame of copied levels, encoded once: [0] coded as YCbCr levels are,
    // [1] as RGB ones. Sparse slides and the glass around a Leica region have thousands.
    s2d_buf background[2];
};

// Sets the pixels of a t x t RGB image outside its top-left vw x vh to the background.
static void fill_background(uint8_t *tile, int t, int64_t vw, int64_t vh, const uint8_t bg[3])
{
    size_t stride = (size_t)t * 3;
    for (int64_t y = 0; y < t; y++) {
        uint8_t *row = tile + (size_t)y * stride;
        for (int64_t x = y < vh ? vw : 0; x < t; x++) {
            memcpy(row + 3 * x, bg, 3);
        }
    }
}

// The same for a t x t image in the encoder's planar layout; a chroma sample counts as
// inside when any pixel it covers is.
static void fill_background_planes(uint8_t *planes, int t, int d, int64_t vw, int64_t vh,
                                   const uint8_t ycc[3])
{
    s2d_planes_layout l = s2d_planes_layout_of(t, t, d);
    for (int p = 0; p < 3; p++) {
        int64_t f = l.side_div[p], side = t / f;
        int64_t w = (vw + f - 1) / f, h = (vh + f - 1) / f;
        uint8_t *plane = planes + l.offset[p];
        for (int64_t y = 0; y < side; y++) {
            int64_t from = y < h ? w : 0;
            memset(plane + y * side + from, ycc[p], (size_t)(side - from));
        }
    }
}

bool s2d_frame_env_init(s2d_frame_env *env, s2d_source *reader, const char *source_name,
                        s2d_diag *diag, const s2d_convert_options *opts,
                        const s2d_codec *codec, int tile, s2d_error *err)
{
    int chroma_div = opts->subsampling_444 ? 1 : 2;
    *env = (s2d_frame_env){
        .reader = reader,
        .source_name = source_name,
        .diag = diag,
        .opts = opts,
        .codec = codec,
        .planes = {.width = (uint32_t)tile, .height = (uint32_t)tile, .samples = 3,
                   .bits_allocated = 8, .bits_stored = 8, .colour = S2D_COLOUR_YCBCR,
                   .chroma_div = (uint8_t)chroma_div},
        .codec_opts = {.quality = opts->quality, .subsampling_444 = opts->subsampling_444},
        .tile = tile,
        .chroma_div = chroma_div,
        .background = s2d_source_meta_of(reader)->background,
    };
    if (!codec->enc_new || !codec->accepts(&env->planes)) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "the %s codec cannot encode %dx%d YCbCr "
                             "planes", codec->name, tile, tile);
    }
    // The background in YCbCr, as the encoder converts it (for padding generated tiles).
    enum { N = 16 };   // the smallest block every subsampling takes
    uint8_t rgb[N * N * 3], planes[N * N * 3];
    fill_background(rgb, N, 0, 0, env->background);
    s2d_planes_conv *conv = s2d_planes_conv_new(chroma_div, err);
    bool ok = conv && s2d_planes_from_rgb(conv, rgb, N, N, N * 3, planes, err);
    s2d_planes_layout l = s2d_planes_layout_of(N, N, chroma_div);
    for (int p = 0; ok && p < 3; p++) {
        env->background_ycc[p] = planes[l.offset[p]];
    }
    s2d_planes_conv_free(conv);
    return ok;
}

s2d_frame_worker *s2d_frame_worker_new(const s2d_frame_env *env, bool generates, s2d_error *err)
{
    s2d_frame_worker *w = calloc(1, sizeof *w);
    if (!w) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    w->env = env;
    int t = env->tile, half = t / 2;
    size_t planes = s2d_planes_layout_of(t, t, env->chroma_div).size;
    w->enc = env->codec->enc_new(&env->planes, &env->codec_opts, err);
    w->to_planes = w->enc ? s2d_planes_conv_new(env->chroma_div, err) : NULL;
    w->tile = malloc((size_t)t * t * 3);
    w->planes = malloc(planes);
    if (generates) {
        w->scratch = malloc(planes);
        w->quarter_rgb = malloc((size_t)half * half * 3);
        w->quarter = malloc(s2d_planes_layout_of(half, half, env->chroma_div).size);
    }
    w->reader = w->to_planes ? s2d_read_ctx_new(env->reader, t, t, err) : NULL;
    w->dec = w->reader ? s2d_frame_dec_new(err) : NULL;
    if (!w->to_planes || !w->tile || !w->planes ||
        (generates && (!w->scratch || !w->quarter_rgb || !w->quarter)) || !w->reader ||
        !w->dec) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory for a worker");
        s2d_frame_worker_free(w);
        return NULL;
    }
    return w;
}

void s2d_frame_worker_free(s2d_frame_worker *w)
{
    if (!w) {
        return;
    }
    if (w->enc) {
        w->env->codec->enc_free(w->enc);
    }
    s2d_planes_conv_free(w->to_planes);
    s2d_buf_free(&w->background[0]);
    s2d_buf_free(&w->background[1]);
    free(w->tile);
    free(w->planes);
    free(w->scratch);
    free(w->quarter_rgb);
    free(w->quarter);
    s2d_read_ctx_free(w->reader);
    s2d_frame_dec_free(w->dec);
    free(w);
}

uint8_t *s2d_frame_generated_planes(s2d_frame_worker *w, uint8_t **scratch)
{
    *scratch = w->scratch;
    return w->planes;
}

// Encodes w->planes into out.
static bool encode_planes(s2d_frame_worker *w, s2d_buf *out, s2d_error *err)
{
    const uint8_t *frame;
    size_t len;
    if (!w->env->codec->encode(w->enc, w->planes, 0, &frame, &len, err)) {
        return false;
    }
    out->len = 0;
    s2d_buf_append(out, frame, len);
    return !out->failed || s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
}

// Pads w->planes past the image's vw x vh with the background, then encodes them.
static bool encode_padded_planes(s2d_frame_worker *w, int64_t vw, int64_t vh, s2d_buf *out,
                                 s2d_error *err)
{
    const s2d_frame_env *env = w->env;
    if (vw < env->tile || vh < env->tile) {
        fill_background_planes(w->planes, env->tile, env->chroma_div, vw, vh,
                               env->background_ycc);
    }
    return encode_planes(w, out, err);
}

// Encodes w->tile's RGB, through w->planes (the same bytes as encoding the RGB at once).
static bool encode_tile(s2d_frame_worker *w, s2d_buf *out, s2d_error *err)
{
    int t = w->env->tile;
    return s2d_planes_from_rgb(w->to_planes, w->tile, t, t, (size_t)t * 3, w->planes, err) &&
           encode_planes(w, out, err);
}

// Decodes a YCbCr JPEG frame of level `level`, of the tile's size, at 1/scale, into `to`
// (the encoder's layout at that size) without passing through RGB; 4:4:4 chroma is averaged
// 2x2 when the output is 4:2:0, over the vw x vh pixels of the image only (what lies
// beyond is the source's padding, whatever its colour). `scratch` holds 3 bytes a pixel at
// that size. False when the frame cannot be decoded this way (not YCbCr, 4:2:0 into 4:4:4,
// broken): the caller decodes it to RGB, which reports what is wrong with it. A level
// whose frame is not YCbCr is not tried again by this worker: its frames share their
// coding.
static bool decode_to_planes(s2d_frame_worker *w, int level, const s2d_buf *frame, int scale,
                             int64_t vw, int64_t vh, uint8_t *to, uint8_t *scratch)
{
    int t = w->env->tile, side = t / scale, div = 0;
    int chroma_div = w->env->chroma_div;
    s2d_error ignored = {0};
    if (w->rgb_level[level]) {
        return false;
    }
    s2d_planes_result got = s2d_frame_dec_decode_planes(w->dec, frame->data, frame->len, t, t,
                                                        scale, scratch, &div, &ignored);
    // 4:2:0 chroma would need upsampling for 4:4:4 frames: those go through RGB, as do
    // frames coded otherwise. A broken frame says nothing of its level's coding.
    if (got != S2D_PLANES_DECODED || div > chroma_div) {
        w->rgb_level[level] = got != S2D_PLANES_FAILED;
        return false;
    }
    s2d_planes_layout from = s2d_planes_layout_of(side, side, div);
    s2d_planes_layout out = s2d_planes_layout_of(side, side, chroma_div);
    for (int p = 0; p < 3; p++) {
        int64_t n = side / from.side_div[p];
        if (from.side_div[p] == out.side_div[p]) {
            memcpy(to + out.offset[p], scratch + from.offset[p], (size_t)(n * n));
        } else {
            s2d_downsample_plane_2x2(scratch + from.offset[p], (size_t)n, vw, vh,
                                     to + out.offset[p], (size_t)n / 2);
        }
    }
    return true;
}

// A frame of a level read from a source whose frames are JPEGs of the frame's size, decoded
// into w->planes when it is YCbCr (w->tile serving as scratch); the frame's bytes are read
// into out, which the encoding overwrites.
static bool source_planes(s2d_frame_worker *w, const s2d_frame_job *job, s2d_buf *out)
{
    const s2d_frame_env *env = w->env;
    s2d_error ignored = {0};
    return job->jpeg_frames && !w->rgb_level[job->level] &&
           s2d_source_read_frame(env->reader, w->reader, job->source_level, job->col, job->row,
                                 env->tile, env->tile, out, &ignored) &&
           decode_to_planes(w, job->level, out, 1, job->vw, job->vh, w->planes, w->tile);
}

bool s2d_frame_copy_sound(const s2d_source_image *src, const s2d_buf *frame, int tile,
                          s2d_error *why)
{
    const char *flaw = src->native.coding == S2D_CODING_J2K
                           ? s2d_j2k_frame_flaw(frame->data, frame->len, tile, tile)
                           : s2d_jpeg_frame_flaw(frame->data, frame->len, tile, tile);
    return !flaw || s2d_error_set(why, S2D_ERR_INPUT, "damaged: %s", flaw);
}

// A frame of the background in place of a copied level's tile, coded as the level's other
// frames are (RGB or YCbCr); its pixels stay in the worker's tile for the levels below.
static bool background_frame(s2d_frame_worker *w, const s2d_source_image *src, s2d_buf *out,
                             s2d_error *err)
{
    int t = w->env->tile;
    bool rgb = src->pix.colour == S2D_COLOUR_RGB;
    s2d_buf *made = &w->background[rgb];
    fill_background(w->tile, t, 0, t, w->env->background);
    if (made->len == 0 && !(rgb ? s2d_jpeg_encode_rgb(w->tile, t, t, w->env->opts->quality, made,
                                                      err)
                                : encode_tile(w, made, err))) {
        made->len = 0;
        return false;
    }
    out->len = 0;
    s2d_buf_append(out, made->data, made->len);
    return !out->failed || s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
}

// A copied level's frame, and its pixels when they feed another level or the thumbnail:
// at half size when `halve` (the level below is all they feed): as planes into the worker's
// quarter when the frame is YCbCr, else as RGB into its quarter_rgb; otherwise into the
// worker's tile. w->quarter_from tells which happened. A tile the source cannot give, or
// whose frame fails the structure check (or, under --verify, does not decode), becomes
// background, encoded like the level's other frames, so no frame is ever broken.
static bool copy_tile(s2d_frame_worker *w, const s2d_frame_job *job, bool need_pixels,
                      bool halve, s2d_buf *out, bool *replaced, s2d_error *err)
{
    const s2d_frame_env *env = w->env;
    const s2d_source_image *src = s2d_source_level(env->reader, job->source_level);
    int t = env->tile;
    s2d_error why = {0};
    w->quarter_from = QUARTER_OF_TILE;
    // A tile a sparse source never stored is background by design: no warning, no count.
    if (s2d_source_frame_absent(env->reader, job->source_level, job->col, job->row)) {
        return background_frame(w, src, out, err);
    }
    bool read = s2d_source_read_frame(env->reader, w->reader, job->source_level, job->col,
                                      job->row, t, t, out, &why);
    if (read && !s2d_frame_copy_sound(src, out, t, &why)) {
        s2d_error_prefix(&why, "level %d tile (%u,%u): ", job->source_level, job->col, job->row);
    } else if (read) {
        // De-identified copies keep no comment or application segment: text a scanner wrote
        // there would pass unread.
        if (env->opts->deidentify && src->native.coding == S2D_CODING_J2K) {
            bool comment_left;
            out->len = s2d_j2k_strip_text(out->data, out->len, &comment_left);
            if (comment_left) {
                return s2d_error_set(err, S2D_ERR_INPUT, "%s: level %d tile (%u,%u): a "
                                     "comment inside a JPEG 2000 tile-part, which --deidentify "
                                     "cannot remove from a copy; add --reencode",
                                     env->source_name, job->source_level, job->col, job->row);
            }
        } else if (env->opts->deidentify) {
            out->len = s2d_jpeg_strip_text(out->data, out->len);
        }
        // Under --verify a frame whose pixels are not needed is decoded all the same.
        if (!need_pixels && !env->opts->verify) {
            return true;
        }
        if (halve && decode_to_planes(w, job->level, out, 2, t / 2, t / 2, w->quarter,
                                      w->quarter_rgb)) {
            w->quarter_from = QUARTER_MADE;
            return true;
        }
        if (halve && s2d_frame_dec_decode_half(w->dec, out->data, out->len, t, t,
                                               w->quarter_rgb, (size_t)(t / 2) * 3, &why)) {
            w->quarter_from = QUARTER_OF_HALF_RGB;
            return true;
        }
        if (!halve && s2d_frame_dec_decode(w->dec, out->data, out->len, t, t, w->tile,
                                          (size_t)t * 3, &why)) {
            return true;
        }
        s2d_error_prefix(&why, "level %d tile (%u,%u): ", job->source_level, job->col, job->row);
    }
    if (why.code != S2D_ERR_INPUT) {
        *err = why;
        return false;
    }
    if (src->native.coding == S2D_CODING_J2K) {
        // A replacement JPEG 2000 frame would need a J2K encoder, which we do not have:
        // the conversion stops, naming the tile and the way out.
        return s2d_error_set(err, why.code, "%s (--reencode converts the slide, with such "
                             "tiles as background)", why.message);
    }
    s2d_diag_warn(env->diag, "%s: %s; written as background", env->source_name, why.message);
    *replaced = true;
    return background_frame(w, src, out, err);
}

bool s2d_frame_make(s2d_frame_worker *w, const s2d_frame_job *job, s2d_buf *out, bool *replaced,
                    s2d_error *err)
{
    const s2d_frame_env *env = w->env;
    int t = env->tile;
    size_t stride = (size_t)t * 3;
    w->quarter_from = QUARTER_OF_PLANES;
    if (job->mode == S2D_LEVEL_COPY) {
        // JPEG tiles that feed only the level below are decoded at half size, which costs
        // less than a full decode and replaces the 2x2 average. Not at the level's right and
        // bottom edges: the DCT scaling would mix the source's padding into the image.
        bool halve = job->feeds_next && !job->feeds_thumb && job->vw == t && job->vh == t &&
                     s2d_source_level(env->reader, job->source_level)->native.coding == S2D_CODING_JPEG;
        return copy_tile(w, job, job->feeds_next || job->feeds_thumb, halve, out, replaced, err);
    }
    if (job->mode == S2D_LEVEL_READ && !job->feeds_thumb && source_planes(w, job, out)) {
        // A YCbCr source tile of the frame's size: its planes are encoded as they are.
        return encode_padded_planes(w, job->vw, job->vh, out, err);
    }
    if (job->mode == S2D_LEVEL_READ) {
        int bad = 0;
        if (!s2d_source_read_region(env->reader, w->reader, job->source_level,
                                    (int64_t)job->col * t, (int64_t)job->row * t, job->vw,
                                    job->vh, w->tile, stride, &bad, err)) {
            s2d_error_prefix(err, "level %d tile (%u,%u): ", job->level, job->col, job->row);
            return false;
        }
        if (bad > 0) {
            *replaced = true;
            s2d_diag_warn(env->diag, "%s: level %d tile (%u,%u): %d source tile(s) missing or "
                          "broken, written as background", env->source_name, job->level,
                          job->col, job->row, bad);
        }
        // Edge tiles are padded with the background (every frame of an instance has its full size).
        if (job->vw < t || job->vh < t) {
            fill_background(w->tile, t, job->vw, job->vh, env->background);
        }
        return encode_tile(w, out, err);
    }
    // Generated: its planes as the level above left them, averaged; never RGB.
    return encode_padded_planes(w, job->vw, job->vh, out, err);
}

const uint8_t *s2d_frame_quarter(s2d_frame_worker *w, const s2d_frame_job *job, s2d_error *err)
{
    const s2d_frame_env *env = w->env;
    int t = env->tile, half = t / 2;
    int64_t vw = job->vw, vh = job->vh;
    quarter_source source = w->quarter_from;
    if (source == QUARTER_OF_PLANES) {
        s2d_planes_layout from = s2d_planes_layout_of(t, t, env->chroma_div);
        s2d_planes_layout to = s2d_planes_layout_of(half, half, env->chroma_div);
        for (int p = 0; p < 3; p++) {
            int64_t f = from.side_div[p], side = t / f;
            s2d_downsample_plane_2x2(w->planes + from.offset[p], (size_t)side, (vw + f - 1) / f,
                                     (vh + f - 1) / f, w->quarter + to.offset[p],
                                     (size_t)side / 2);
        }
    } else if (source != QUARTER_MADE) {
        if (source == QUARTER_OF_TILE) {
            s2d_downsample_2x2(w->tile, (size_t)t * 3, vw, vh, w->quarter_rgb, (size_t)half * 3);
            // What lies past the image would otherwise colour the chroma at its edge.
            fill_background(w->quarter_rgb, half, (vw + 1) / 2, (vh + 1) / 2, env->background);
        }
        if (!s2d_planes_from_rgb(w->to_planes, w->quarter_rgb, half, half, (size_t)half * 3,
                                 w->quarter, err)) {
            return NULL;
        }
    }
    return w->quarter;
}

const uint8_t *s2d_frame_rgb(s2d_frame_worker *w, const s2d_frame_job *job, s2d_error *err)
{
    int t = w->env->tile;
    // Every other kind of frame that feeds the thumbnail left its RGB in w->tile.
    if (job->mode == S2D_LEVEL_GENERATE &&
        !s2d_frame_dec_planes_to_rgb(w->dec, w->planes, t, t, w->env->chroma_div, w->tile,
                                     (size_t)t * 3, err)) {
        return NULL;
    }
    return w->tile;
}
