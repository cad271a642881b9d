/* Tile pipeline; see pipeline/pyramid.h.
 * Ownership: a window slot belongs to the enumerator until queued, then to the one thread
 * that makes its frame until marked done, then to the thread holding the write turn until it
 * frees the slot. Frames are written in order by whichever thread finishes the one due next
 * (it takes the write turn and writes every frame done after it): a writer thread of its own
 * woke ~1,000 times a run and displaced a busy worker each time. All state changes happen
 * under `lock`, one for the jobs, the window and the rows, so a worker takes it once per
 * tile. Each waiter has its own condition variable, signalled only for what it waits for. */
#include "pipeline/pyramid.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "codec/frame_dec.h"
#include "codec/jpeg_enc.h"
#include "codec/jpeg_cut.h"
#include "core/clock.h"
#include "core/cpu.h"
#include "core/diag.h"
#include "pipeline/strips.h"

enum slot_state {
    SLOT_FREE,
    SLOT_QUEUED,     // waiting in `jobs` for a worker
    SLOT_BUSY,       // a worker, or the enumerator copying inline, is making the frame
    SLOT_DONE,       // the frame is ready to be written
};

typedef struct slot {
    enum slot_state state;
    uint64_t seq;            // frame sequence number: the order frames are written in
    int level;
    uint32_t col, row;
    s2d_buf frame;           // the frame's bytes
} slot;

typedef struct run {
    s2d_pyramid_plan *plan;
    const s2d_convert_options *opts;
    int tile;
    const uint8_t *background;
    uint8_t background_ycc[3];     // the background as the encoder converts it
    int chroma_div;                // 2 under 4:2:0, 1 under 4:4:4 (codec/jpeg_enc.h)

    pthread_mutex_t lock;
    pthread_cond_t job_queued;     // idle workers wait for a job
    pthread_cond_t slot_freed;     // the enumerator waits for a free window slot
    pthread_cond_t row_done;       // the enumerator waits for a whole tile row
    slot *window;            // indexed by sequence number modulo nslots
    size_t nslots;
    uint64_t written;        // frames written (their slots are free)
    uint64_t enumerator_wakes_at;   // `written` the waiting enumerator needs, else UINT64_MAX
    bool writing;            // some thread holds the write turn
    uint64_t *jobs;          // queued slots' sequence numbers, a ring of nslots
    size_t jobs_head, jobs_count;
    bool all_pushed;         // the enumerator has queued its last job
    uint32_t *rows_done[S2D_MAX_LEVELS];   // per level and tile row: jobs finished
    int64_t pending_row[S2D_MAX_LEVELS];   // enumerator only: generated row due, or -1
    atomic_bool cancelled;
    s2d_error error;         // first error wins, under lock

    // Levels whose frames the enumerator copies itself (see push_job), with its reader.
    bool copy_inline[S2D_MAX_LEVELS];
    s2d_read_ctx *enumerator_reader;
    uint64_t frames_total;
    uint64_t frames_out;     // frames written, by the thread holding the write turn

    // Two tile rows for each generated level, filled by the level above.
    s2d_strips *strips;

    // Thumbnail accumulation (under thumb_lock): per-pixel sums and counts.
    pthread_mutex_t thumb_lock;
    uint32_t *thumb_sum;
    int64_t thumb_w, thumb_h;

    double start;            // s2d_clock_seconds() when the run started
} run;

static double elapsed(const run *rn)
{
    return s2d_clock_seconds() - rn->start;
}

static void fail(run *rn, const s2d_error *e)
{
    pthread_mutex_lock(&rn->lock);
    if (rn->error.code == S2D_OK) {
        rn->error = *e;
    }
    atomic_store(&rn->cancelled, true);
    pthread_cond_broadcast(&rn->job_queued);
    pthread_cond_broadcast(&rn->slot_freed);
    pthread_cond_broadcast(&rn->row_done);
    pthread_mutex_unlock(&rn->lock);
}

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

static void add_to_thumbnail(run *rn, const uint8_t *tile, int64_t x0, int64_t y0, int64_t vw,
                             int64_t vh)
{
    int f = rn->plan->thumb_factor;
    pthread_mutex_lock(&rn->thumb_lock);
    for (int64_t y = 0; y < vh; y++) {
        int64_t ty = (y0 + y) / f;
        const uint8_t *src = tile + (size_t)y * rn->tile * 3;
        for (int64_t x = 0; x < vw; x++) {
            uint32_t *acc = rn->thumb_sum + 4 * (ty * rn->thumb_w + (x0 + x) / f);
            acc[0] += src[3 * x];
            acc[1] += src[3 * x + 1];
            acc[2] += src[3 * x + 2];
            acc[3] += 1;
        }
    }
    pthread_mutex_unlock(&rn->thumb_lock);
}

typedef struct worker {
    run *rn;
    pthread_t thread;
    s2d_jpeg_enc *enc;
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
    bool rgb_level[S2D_MAX_LEVELS];   // a frame of the level was not YCbCr: decode to RGB
} worker;

// Encodes wk->planes into the slot's frame.
static bool encode_planes(worker *wk, slot *s, s2d_error *err)
{
    int t = wk->rn->tile;
    const uint8_t *jpeg;
    size_t len;
    if (!s2d_jpeg_enc_encode_planes(wk->enc, wk->planes, t, t, &jpeg, &len, err)) {
        return false;
    }
    s->frame.len = 0;
    s2d_buf_append(&s->frame, jpeg, len);
    return !s->frame.failed || s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
}

// Pads wk->planes past the image's vw x vh with the background, then encodes them.
static bool encode_padded_planes(worker *wk, slot *s, int64_t vw, int64_t vh, s2d_error *err)
{
    run *rn = wk->rn;
    if (vw < rn->tile || vh < rn->tile) {
        fill_background_planes(wk->planes, rn->tile, rn->chroma_div, vw, vh, rn->background_ycc);
    }
    return encode_planes(wk, s, err);
}

// Encodes wk->tile's RGB, through wk->planes (the same bytes as encoding the RGB at once).
static bool encode_tile(worker *wk, slot *s, s2d_error *err)
{
    int t = wk->rn->tile;
    return s2d_jpeg_enc_rgb_to_planes(wk->enc, wk->tile, t, t, (size_t)t * 3, wk->planes, err) &&
           encode_planes(wk, s, err);
}

// Where a tile's share of the generated level below comes from (put_quarter).
typedef enum quarter_source {
    QUARTER_OF_PLANES,     // the 2x2 average of wk->planes (a tile encoded here)
    QUARTER_OF_TILE,       // the 2x2 average of wk->tile's RGB, converted
    QUARTER_OF_HALF_RGB,   // wk->quarter_rgb (decoded at half size), converted
    QUARTER_MADE,          // wk->quarter already holds it (decoded at half size as planes)
} quarter_source;

// Decodes a YCbCr JPEG frame of level `level`, of the tile's size, at 1/scale, into `to`
// (the encoder's layout at that size) without passing through RGB; 4:4:4 chroma is averaged
// 2x2 when the output is 4:2:0, over the vw x vh pixels of the image only (what lies
// beyond is the source's padding, whatever its colour). `scratch` holds 3 bytes a pixel at
// that size. False when the frame cannot be decoded this way (not YCbCr, 4:2:0 into 4:4:4,
// broken): the caller decodes it to RGB, which reports what is wrong with it. A level
// whose frame is not YCbCr is not tried again by this worker: its frames share their
// coding.
static bool decode_to_planes(worker *wk, int level, const s2d_buf *frame, int scale,
                             int64_t vw, int64_t vh, uint8_t *to, uint8_t *scratch)
{
    run *rn = wk->rn;
    int t = rn->tile, side = t / scale, div = 0;
    s2d_error ignored = {0};
    if (wk->rgb_level[level]) {
        return false;
    }
    s2d_planes_result got = s2d_frame_dec_decode_planes(wk->dec, frame->data, frame->len, t, t,
                                                        scale, scratch, &div, &ignored);
    // 4:2:0 chroma would need upsampling for 4:4:4 frames: those go through RGB, as do
    // frames coded otherwise. A broken frame says nothing of its level's coding.
    if (got != S2D_PLANES_DECODED || div > rn->chroma_div) {
        wk->rgb_level[level] = got != S2D_PLANES_FAILED;
        return false;
    }
    s2d_planes_layout from = s2d_planes_layout_of(side, side, div);
    s2d_planes_layout out = s2d_planes_layout_of(side, side, rn->chroma_div);
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
// into wk->planes when it is YCbCr (wk->tile serving as scratch); vw x vh of it is image.
static bool source_planes(worker *wk, slot *s, const s2d_pyramid_level *lv, int64_t vw,
                          int64_t vh)
{
    run *rn = wk->rn;
    s2d_error ignored = {0};
    return lv->jpeg_frames && !wk->rgb_level[s->level] &&
           s2d_source_read_frame(rn->plan->reader, wk->reader, lv->source_level, s->col, s->row,
                                 rn->tile, rn->tile, &s->frame, &ignored) &&
           decode_to_planes(wk, s->level, &s->frame, 1, vw, vh, wk->planes, wk->tile);
}

// A copied level's frame, and its pixels when they feed another level or the thumbnail:
// at half size when `halve` (the level below is all they feed): as planes into the worker's
// quarter when the frame is YCbCr, else as RGB into its quarter_rgb; otherwise into the
// worker's tile. *quarter tells which happened. A tile the source cannot give becomes
// background, encoded like the level's other frames, so no frame is ever broken.
static bool copy_tile(worker *wk, slot *s, bool need_pixels, bool halve, quarter_source *quarter,
                      s2d_error *err)
{
    run *rn = wk->rn;
    s2d_pyramid_level *lv = &rn->plan->levels[s->level];
    const s2d_source_image *src = s2d_source_level(rn->plan->reader, lv->source_level);
    int t = rn->tile;
    s2d_error why = {0};
    *quarter = QUARTER_OF_TILE;
    if (s2d_source_read_frame(rn->plan->reader, wk->reader, lv->source_level, s->col, s->row, t,
                              t, &s->frame, &why)) {
        if (!need_pixels) {
            return true;
        }
        if (halve && decode_to_planes(wk, s->level, &s->frame, 2, t / 2, t / 2, wk->quarter,
                                      wk->quarter_rgb)) {
            *quarter = QUARTER_MADE;
            return true;
        }
        if (halve && s2d_frame_dec_decode_half(wk->dec, s->frame.data, s->frame.len, t, t,
                                               wk->quarter_rgb, (size_t)(t / 2) * 3, &why)) {
            *quarter = QUARTER_OF_HALF_RGB;
            return true;
        }
        if (!halve && s2d_frame_dec_decode(wk->dec, s->frame.data, s->frame.len, t, t, wk->tile,
                                          (size_t)t * 3, &why)) {
            return true;
        }
        s2d_error_prefix(&why, "level %d tile (%u,%u): ", lv->source_level, s->col, s->row);
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
    s2d_diag_warn(rn->plan->diag, "%s: %s; written as background", rn->plan->source_name,
                  why.message);
    fill_background(wk->tile, t, 0, t, rn->background);
    pthread_mutex_lock(&rn->lock);
    lv->replaced_frames++;
    pthread_mutex_unlock(&rn->lock);
    if (src->pix.colour == S2D_COLOUR_RGB) {
        return s2d_jpeg_encode_rgb(wk->tile, t, t, rn->opts->quality, &s->frame, err);
    }
    return encode_tile(wk, s, err);
}

// The tile's quarter-size image, into the rows of the generated level below, from where
// `source` says.
static bool put_quarter(worker *wk, const slot *s, quarter_source source, int64_t vw,
                        int64_t vh, s2d_error *err)
{
    run *rn = wk->rn;
    int t = rn->tile, half = t / 2;
    if (source == QUARTER_OF_PLANES) {
        s2d_planes_layout from = s2d_planes_layout_of(t, t, rn->chroma_div);
        s2d_planes_layout to = s2d_planes_layout_of(half, half, rn->chroma_div);
        for (int p = 0; p < 3; p++) {
            int64_t f = from.side_div[p], side = t / f;
            s2d_downsample_plane_2x2(wk->planes + from.offset[p], (size_t)side, (vw + f - 1) / f,
                                     (vh + f - 1) / f, wk->quarter + to.offset[p],
                                     (size_t)side / 2);
        }
    } else if (source != QUARTER_MADE) {
        if (source == QUARTER_OF_TILE) {
            s2d_downsample_2x2(wk->tile, (size_t)t * 3, vw, vh, wk->quarter_rgb,
                               (size_t)half * 3);
            // What lies past the image would otherwise colour the chroma at its edge.
            fill_background(wk->quarter_rgb, half, (vw + 1) / 2, (vh + 1) / 2, rn->background);
        }
        if (!s2d_jpeg_enc_rgb_to_planes(wk->enc, wk->quarter_rgb, half, half, (size_t)half * 3,
                                        wk->quarter, err)) {
            return false;
        }
    }
    return s2d_strips_put_quarter(rn->strips, s->level + 1, s->col, s->row, wk->quarter, err);
}

static bool process(worker *wk, slot *s, s2d_error *err)
{
    run *rn = wk->rn;
    s2d_pyramid_plan *plan = rn->plan;
    s2d_pyramid_level *lv = &plan->levels[s->level];
    int t = rn->tile;
    int64_t x0 = (int64_t)s->col * t, y0 = (int64_t)s->row * t;
    int64_t vw = lv->width - x0 < t ? lv->width - x0 : t;
    int64_t vh = lv->height - y0 < t ? lv->height - y0 : t;
    size_t stride = (size_t)t * 3;
    int next = s->level + 1;
    bool feeds_next = next < plan->nlevels && plan->levels[next].mode == S2D_LEVEL_GENERATE;
    bool feeds_thumb = s->level == plan->thumb_level;
    quarter_source quarter = QUARTER_OF_PLANES;
    if (lv->mode == S2D_LEVEL_COPY) {
        // JPEG tiles that feed only the level below are decoded at half size, which costs
        // less than a full decode and replaces the 2x2 average. Not at the level's right and
        // bottom edges: the DCT scaling would mix the source's padding into the image.
        bool halve = feeds_next && !feeds_thumb && vw == t && vh == t &&
                     s2d_source_level(plan->reader, lv->source_level)->native.coding == S2D_CODING_JPEG;
        if (!copy_tile(wk, s, feeds_next || feeds_thumb, halve, &quarter, err)) {
            return false;
        }
    } else if (lv->mode == S2D_LEVEL_READ && !feeds_thumb && source_planes(wk, s, lv, vw, vh)) {
        // A YCbCr source tile of the frame's size: its planes are encoded as they are.
        if (!encode_padded_planes(wk, s, vw, vh, err)) {
            return false;
        }
    } else if (lv->mode == S2D_LEVEL_READ) {
        int bad = 0;
        if (!s2d_source_read_region(plan->reader, wk->reader, lv->source_level, x0, y0, vw, vh,
                                    wk->tile, stride, &bad, err)) {
            s2d_error_prefix(err, "level %d tile (%u,%u): ", s->level, s->col, s->row);
            return false;
        }
        if (bad > 0) {
            s2d_diag_warn(plan->diag, "%s: level %d tile (%u,%u): %d source tile(s) missing or "
                          "broken, written as background", plan->source_name, s->level, s->col,
                          s->row, bad);
        }
        // Edge tiles are padded with the background (every frame of an instance has its full size).
        if (vw < t || vh < t) {
            fill_background(wk->tile, t, vw, vh, rn->background);
        }
        if (!encode_tile(wk, s, err)) {
            return false;
        }
    } else {
        // Generated: its planes as the level above left them, averaged; never RGB.
        if (!s2d_strips_get_tile(rn->strips, s->level, s->col, s->row, wk->planes, wk->scratch,
                                 err) ||
            !encode_padded_planes(wk, s, vw, vh, err)) {
            return false;
        }
    }
    if (feeds_next && !put_quarter(wk, s, quarter, vw, vh, err)) {
        return false;
    }
    if (feeds_thumb) {
        if (lv->mode == S2D_LEVEL_GENERATE &&
            !s2d_frame_dec_planes_to_rgb(wk->dec, wk->planes, t, t, rn->chroma_div, wk->tile,
                                         stride, err)) {
            return false;
        }
        add_to_thumbnail(rn, wk->tile, x0, y0, vw, vh);
    }
    return true;
}

// Appends one done frame to its level's file. Called by the thread holding the write turn,
// without the lock. False when the write fails (the run is then cancelled).
static bool write_frame(run *rn, slot *s)
{
    s2d_pyramid_level *lv = &rn->plan->levels[s->level];
    s2d_error err = {0};
    if (!s2d_part10_add_frame(lv->writer, s->frame.data, s->frame.len, &err)) {
        fail(rn, &err);
        return false;
    }
    double now = elapsed(rn);
    if (lv->frames_written++ == 0) {
        lv->first_frame_s = now;
    }
    lv->last_frame_s = now;
    rn->frames_out++;
    if (rn->opts->progress) {
        s2d_progress p = {s->level, rn->frames_out, rn->frames_total, now};
        rn->opts->progress(rn->opts->callback_ctx, &p);
    }
    return true;
}

// With the lock held and the write turn taken: writes the frames done from `written` on, a
// run at a time without the lock, and frees their slots; gives the turn back when the frame
// due next is not done yet.
static void write_done_frames(run *rn)
{
    while (!atomic_load(&rn->cancelled)) {
        uint64_t first = rn->written, end = first;
        for (slot *s = &rn->window[first % rn->nslots]; s->state == SLOT_DONE && s->seq == end;
             s = &rn->window[end % rn->nslots]) {
            end++;
        }
        if (end == first) {
            break;
        }
        pthread_mutex_unlock(&rn->lock);
        bool ok = true;
        for (uint64_t seq = first; ok && seq < end; seq++) {
            ok = write_frame(rn, &rn->window[seq % rn->nslots]);
        }
        pthread_mutex_lock(&rn->lock);
        if (!ok) {
            break;
        }
        for (uint64_t seq = first; seq < end; seq++) {
            rn->window[seq % rn->nslots].state = SLOT_FREE;
        }
        rn->written = end;
        if (rn->written >= rn->enumerator_wakes_at) {
            pthread_cond_signal(&rn->slot_freed);
        }
    }
    rn->writing = false;
}

// Marks a slot's frame done, with the lock held, and writes it and the frames done after
// it when it is the one due next and no other thread is writing.
static void finish_job(run *rn, slot *s)
{
    s->state = SLOT_DONE;
    if (++rn->rows_done[s->level][s->row] == rn->plan->levels[s->level].cols) {
        pthread_cond_signal(&rn->row_done);
    }
    if (!rn->writing && s->seq == rn->written) {
        rn->writing = true;
        write_done_frames(rn);
    }
}

// Queues a slot for the workers, with the lock held.
static void queue_job(run *rn, slot *s)
{
    s->state = SLOT_QUEUED;
    rn->jobs[(rn->jobs_head + rn->jobs_count++) % rn->nslots] = s->seq;
    pthread_cond_signal(&rn->job_queued);
}

// With the lock held: the next queued slot, waiting for one; NULL once every job has been
// taken or the run is cancelled.
static slot *take_job(run *rn)
{
    while (rn->jobs_count == 0 && !rn->all_pushed && !atomic_load(&rn->cancelled)) {
        pthread_cond_wait(&rn->job_queued, &rn->lock);
    }
    if (rn->jobs_count == 0 || atomic_load(&rn->cancelled)) {
        return NULL;
    }
    slot *s = &rn->window[rn->jobs[rn->jobs_head] % rn->nslots];
    rn->jobs_head = (rn->jobs_head + 1) % rn->nslots;
    rn->jobs_count--;
    s->state = SLOT_BUSY;
    return s;
}

static void *worker_main(void *arg)
{
    worker *wk = arg;
    run *rn = wk->rn;
    pthread_mutex_lock(&rn->lock);
    for (slot *s; (s = take_job(rn));) {
        pthread_mutex_unlock(&rn->lock);
        s2d_error err = {0};
        if (!atomic_load(&rn->cancelled) && !process(wk, s, &err)) {
            fail(rn, &err);
        }
        pthread_mutex_lock(&rn->lock);
        finish_job(rn, s);
    }
    pthread_mutex_unlock(&rn->lock);
    return NULL;
}

// Blocks until rows_done[level][row] reaches the level's column count.
static bool wait_row(run *rn, int level, uint32_t row)
{
    uint32_t need = rn->plan->levels[level].cols;
    pthread_mutex_lock(&rn->lock);
    while (rn->rows_done[level][row] < need && !atomic_load(&rn->cancelled)) {
        pthread_cond_wait(&rn->row_done, &rn->lock);
    }
    pthread_mutex_unlock(&rn->lock);
    return !atomic_load(&rn->cancelled);
}

static bool push_job(run *rn, uint64_t *seq, int level, uint32_t col, uint32_t row)
{
    if (rn->opts->interrupt && *rn->opts->interrupt) {
        s2d_error e = {0};
        s2d_error_set(&e, S2D_ERR_CANCELLED, "interrupted");
        fail(rn, &e);
        return false;
    }
    slot *s = &rn->window[*seq % rn->nslots];
    pthread_mutex_lock(&rn->lock);
    while (s->state != SLOT_FREE && !atomic_load(&rn->cancelled)) {
        // Sleep until a quarter of the window is free rather than waking for every slot;
        // the frames before *seq are all queued, so the writing can get there.
        uint64_t slot_free_at = *seq + 1 - rn->nslots;   // *seq >= nslots when not free
        rn->enumerator_wakes_at = slot_free_at + rn->nslots / 4;
        pthread_cond_wait(&rn->slot_freed, &rn->lock);
    }
    rn->enumerator_wakes_at = UINT64_MAX;
    bool cancelled = atomic_load(&rn->cancelled);
    if (!cancelled) {
        s->seq = *seq;
        s->level = level;
        s->col = col;
        s->row = row;
        s->frame.len = 0;
        if (rn->copy_inline[level]) {
            s->state = SLOT_BUSY;
        } else {
            queue_job(rn, s);
        }
    }
    pthread_mutex_unlock(&rn->lock);
    if (cancelled) {
        return false;
    }
    (*seq)++;
    // A frame that is only copied from a tiled source costs one pread: the enumerator
    // takes it itself, sparing two thread hand-offs per frame. Should the source fail to
    // give it, a worker retries and makes the replacement.
    if (rn->copy_inline[level]) {
        s2d_error ignored = {0};
        bool copied = s2d_source_read_frame(rn->plan->reader, rn->enumerator_reader,
                                            rn->plan->levels[level].source_level, col, row,
                                            rn->tile, rn->tile, &s->frame, &ignored);
        pthread_mutex_lock(&rn->lock);
        if (copied) {
            finish_job(rn, s);
        } else {
            queue_job(rn, s);
        }
        pthread_mutex_unlock(&rn->lock);
    }
    return !atomic_load(&rn->cancelled);
}

static bool emit_row(run *rn, uint64_t *seq, int level, uint32_t row);

// Queues the generated row waiting on `level` once the two rows feeding it are done.
static bool flush_pending(run *rn, uint64_t *seq, int level)
{
    int64_t r = rn->pending_row[level];
    if (r < 0) {
        return true;
    }
    rn->pending_row[level] = -1;
    uint32_t first = (uint32_t)(2 * r);
    uint32_t last = first + 1 < rn->plan->levels[level].rows ? first + 1 : first;
    for (uint32_t k = first; k <= last; k++) {
        if (!wait_row(rn, level, k)) {
            return false;
        }
    }
    return emit_row(rn, seq, level + 1, (uint32_t)r);
}

// Queues tile row `row` of `level`. A row of the generated level below becomes due after
// each pair of rows here; it is queued after the next row, so the workers have that row
// to encode while the enumerator waits for the pair to finish.
static bool emit_row(run *rn, uint64_t *seq, int level, uint32_t row)
{
    s2d_pyramid_plan *plan = rn->plan;
    int next = level + 1;
    bool feeds_next = next < plan->nlevels && plan->levels[next].mode == S2D_LEVEL_GENERATE;
    bool last = row == plan->levels[level].rows - 1;
    // The next level's row slot we are about to fill was last read by its row two back.
    if (feeds_next && row % 2 == 0 && row / 2 >= 2 && !wait_row(rn, next, row / 2 - 2)) {
        return false;
    }
    for (uint32_t c = 0; c < plan->levels[level].cols; c++) {
        if (!push_job(rn, seq, level, c, row)) {
            return false;
        }
    }
    if (!flush_pending(rn, seq, level)) {
        return false;
    }
    if (feeds_next && (row % 2 == 1 || last)) {
        rn->pending_row[level] = row / 2;
        if (last) {
            return flush_pending(rn, seq, level);
        }
    }
    return true;
}

static int default_threads(void)
{
    int n = s2d_cpu_count();   // the CPUs this process may use, not the machine's
    return n > 256 ? 256 : n;
}

// The background in YCbCr, as the encoder converts it (for padding generated tiles).
static bool convert_background(run *rn, s2d_error *err)
{
    enum { N = 16 };   // the smallest block every subsampling takes
    uint8_t rgb[N * N * 3], planes[N * N * 3];
    fill_background(rgb, N, 0, 0, rn->background);
    s2d_jpeg_enc *enc = s2d_jpeg_enc_new(rn->opts->quality, rn->opts->subsampling_444, N, N, err);
    bool ok = enc && s2d_jpeg_enc_rgb_to_planes(enc, rgb, N, N, N * 3, planes, err);
    s2d_planes_layout l = s2d_planes_layout_of(N, N, rn->chroma_div);
    for (int p = 0; ok && p < 3; p++) {
        rn->background_ycc[p] = planes[l.offset[p]];
    }
    s2d_jpeg_enc_free(enc);
    return ok;
}

static bool setup(run *rn, s2d_pyramid_plan *plan, s2d_error *err)
{
    int t = rn->tile;
    rn->chroma_div = rn->opts->subsampling_444 ? 1 : 2;
    if (!convert_background(rn, err)) {
        return false;
    }
    uint32_t generated_cols[S2D_MAX_LEVELS] = {0};
    bool generates = false;
    bool all_inline = true;
    for (int l = 0; l < plan->nlevels; l++) {
        s2d_pyramid_level *lv = &plan->levels[l];
        rn->pending_row[l] = -1;
        rn->frames_total += (uint64_t)lv->cols * lv->rows;
        rn->rows_done[l] = calloc(lv->rows, sizeof(uint32_t));
        if (!rn->rows_done[l]) {
            return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        }
        // Tiled sources (tile_w > 0) give a frame with a pread; NDPI frames are cut from
        // coefficients, work for the workers.
        bool feeds_next = l + 1 < plan->nlevels && plan->levels[l + 1].mode == S2D_LEVEL_GENERATE;
        rn->copy_inline[l] = lv->mode == S2D_LEVEL_COPY && !feeds_next && l != plan->thumb_level &&
                             s2d_source_level(plan->reader, lv->source_level)->native.tile_w > 0;
        all_inline = all_inline && rn->copy_inline[l];
        if (rn->copy_inline[l] && !rn->enumerator_reader &&
            !(rn->enumerator_reader = s2d_read_ctx_new(plan->reader, t, t, err))) {
            return false;
        }
        if (lv->mode == S2D_LEVEL_GENERATE) {
            generated_cols[l] = lv->cols;
            generates = true;
        }
    }
    if (generates && !(rn->strips = s2d_strips_new(plan->spill_dir, t, rn->chroma_div,
                                                   generated_cols, plan->nlevels, err))) {
        return false;
    }
    if (plan->thumb_level >= 0) {
        const s2d_pyramid_level *lv = &plan->levels[plan->thumb_level];
        rn->thumb_w = (lv->width + plan->thumb_factor - 1) / plan->thumb_factor;
        rn->thumb_h = (lv->height + plan->thumb_factor - 1) / plan->thumb_factor;
        rn->thumb_sum = calloc((size_t)(rn->thumb_w * rn->thumb_h) * 4, sizeof(uint32_t));
        if (!rn->thumb_sum) {
            return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory for the thumbnail");
        }
    }
    if (all_inline) {
        // The enumerator writes each frame as soon as it has read it: one slot suffices,
        // and its buffer stays in the cache instead of the window's 64 buffers each being
        // paged in.
        rn->nslots = 1;
    }
    rn->window = calloc(rn->nslots, sizeof(slot));
    rn->jobs = calloc(rn->nslots, sizeof *rn->jobs);
    if (!rn->window || !rn->jobs) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    return true;
}

static bool collect_thumbnail(run *rn, s2d_image *thumb, s2d_error *err)
{
    size_t n = (size_t)(rn->thumb_w * rn->thumb_h);
    thumb->rgb = malloc(n * 3);
    if (!thumb->rgb) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory for the thumbnail");
    }
    thumb->width = rn->thumb_w;
    thumb->height = rn->thumb_h;
    for (size_t i = 0; i < n; i++) {
        const uint32_t *acc = rn->thumb_sum + 4 * i;
        uint32_t cnt = acc[3] ? acc[3] : 1;
        for (int c = 0; c < 3; c++) {
            thumb->rgb[3 * i + c] = (uint8_t)((acc[c] + cnt / 2) / cnt);
        }
    }
    return true;
}

bool s2d_pyramid_run(s2d_pyramid_plan *plan, s2d_image *thumb, s2d_error *err)
{
    const s2d_convert_options *opts = plan->opts;
    int nthreads = opts->threads > 0 ? opts->threads : default_threads();
    run rn = {
        .plan = plan,
        .opts = opts,
        .background = s2d_source_meta_of(plan->reader)->background,
        .tile = plan->tile_size,
        // Enough frames in flight to keep every worker busy while the oldest one is still
        // being made, and the enumerator asleep for a quarter of them at a time. A slot
        // holds one compressed frame.
        .nslots = (size_t)nthreads * 4 + 56,
        .enumerator_wakes_at = UINT64_MAX,
    };
    pthread_mutex_init(&rn.lock, NULL);
    pthread_cond_init(&rn.job_queued, NULL);
    pthread_cond_init(&rn.slot_freed, NULL);
    pthread_cond_init(&rn.row_done, NULL);
    pthread_mutex_init(&rn.thumb_lock, NULL);
    rn.start = s2d_clock_seconds();

    worker *workers = calloc((size_t)nthreads, sizeof *workers);
    int started = 0;
    bool ok = workers && setup(&rn, plan, err);
    if (!workers) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; ok && i < nthreads; i++) {
        worker *wk = &workers[i];
        wk->rn = &rn;
        wk->enc = s2d_jpeg_enc_new(opts->quality, opts->subsampling_444, rn.tile, rn.tile, err);
        int t = rn.tile, half = t / 2;
        size_t planes = s2d_planes_layout_of(t, t, rn.chroma_div).size;
        wk->tile = malloc((size_t)t * t * 3);
        wk->planes = malloc(planes);
        // Room for making generated levels, when there are any.
        bool generates = rn.strips != NULL;
        if (generates) {
            wk->scratch = malloc(planes);
            wk->quarter_rgb = malloc((size_t)half * half * 3);
            wk->quarter = malloc(s2d_planes_layout_of(half, half, rn.chroma_div).size);
        }
        wk->reader = wk->enc ? s2d_read_ctx_new(plan->reader, t, t, err) : NULL;
        wk->dec = wk->reader ? s2d_frame_dec_new(err) : NULL;
        if (!wk->enc || !wk->tile || !wk->planes ||
            (generates && (!wk->scratch || !wk->quarter_rgb || !wk->quarter)) || !wk->reader ||
            !wk->dec) {
            s2d_error_set(err, S2D_ERR_NOMEM, "out of memory for worker %d", i);
            ok = false;
            break;
        }
        if (pthread_create(&wk->thread, NULL, worker_main, wk) != 0) {
            ok = s2d_error_set(err, S2D_ERR_NOMEM, "cannot start a worker thread");
            break;
        }
        started++;
    }
    if (ok) {
        // The enumerator: every source level row by row; generated levels follow from
        // the rows that feed them.
        uint64_t seq = 0;
        for (int l = 0; l < plan->nlevels && !atomic_load(&rn.cancelled); l++) {
            if (plan->levels[l].mode == S2D_LEVEL_GENERATE) {
                continue;
            }
            for (uint32_t r = 0; r < plan->levels[l].rows; r++) {
                if (!emit_row(&rn, &seq, l, r)) {
                    break;
                }
            }
        }
    }
    pthread_mutex_lock(&rn.lock);
    rn.all_pushed = true;
    pthread_cond_broadcast(&rn.job_queued);
    pthread_mutex_unlock(&rn.lock);
    for (int i = 0; i < started; i++) {
        pthread_join(workers[i].thread, NULL);
    }
    if (ok && rn.error.code != S2D_OK) {
        *err = rn.error;
        ok = false;
    }
    if (ok && rn.frames_out != rn.frames_total) {
        ok = s2d_error_set(err, S2D_ERR_INTERNAL, "%llu of %llu frames written",
                           (unsigned long long)rn.frames_out,
                           (unsigned long long)rn.frames_total);
    }
    if (ok && plan->thumb_level >= 0) {
        ok = collect_thumbnail(&rn, thumb, err);
    }
    for (int i = 0; workers && i < nthreads; i++) {
        s2d_jpeg_enc_free(workers[i].enc);
        free(workers[i].tile);
        free(workers[i].planes);
        free(workers[i].scratch);
        free(workers[i].quarter_rgb);
        free(workers[i].quarter);
        s2d_read_ctx_free(workers[i].reader);
        s2d_frame_dec_free(workers[i].dec);
    }
    free(workers);
    for (size_t i = 0; rn.window && i < rn.nslots; i++) {
        s2d_buf_free(&rn.window[i].frame);
    }
    free(rn.window);
    free(rn.jobs);
    s2d_read_ctx_free(rn.enumerator_reader);
    for (int l = 0; l < plan->nlevels; l++) {
        free(rn.rows_done[l]);
    }
    s2d_strips_free(rn.strips);
    free(rn.thumb_sum);
    pthread_mutex_destroy(&rn.lock);
    pthread_cond_destroy(&rn.job_queued);
    pthread_cond_destroy(&rn.slot_freed);
    pthread_cond_destroy(&rn.row_done);
    pthread_mutex_destroy(&rn.thumb_lock);
    return ok;
}
