// SPDX-License-Identifier: Apache-2.0
/* The grey planes' pyramid on the pump; see pipeline/grey_pyramid.h.
 *
 * Every step of the run has a pump sequence number. A plane's steps are, for each band
 * (tile row) of each level in the order the streaming pass meets them: a band step, which
 * fills the band's buffer (level 0: read_rows; level k > 0: the 2x2 average of level k-1's
 * two bands above it), then one frame step per tile of the band. A level's band comes right
 * after the frames of the second of its two feeding bands (or of the last one), so every
 * plane is one pass down level 0. The calling thread makes band steps itself (make_inline)
 * and gives the sink nothing for them; workers encode the frames from the band buffers.
 *
 * Each level has two band buffers, used in turn (band r in buffer r % 2). A band step
 * overwrites the buffer whose frames were cut from the band two before it (or from the
 * previous plane's last band of that parity), so needs_made holds it until those frames
 * are made; the averaging reads the level above on the calling thread, which alone writes
 * buffers, so it needs nothing more. The steps of a plane are the same for every plane:
 * one table of band steps, a few per tile row of level 0, maps a sequence number to its
 * step. */
#include "pipeline/grey_pyramid.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/pump.h"

// The pump's default ceiling on frame bytes in flight.
#define BYTES_IN_FLIGHT ((size_t)64 << 20)

typedef struct band_step {
    uint64_t seq;            // in the plane; the band's frames are seq+1 .. seq+cols
    // The buffer's previous frames are those before this step of the plane (negative: of
    // the plane before, counted from this plane's start); they must be made first.
    int64_t reuse_after;
    int level;
    uint32_t row;
} band_step;

typedef struct run {
    s2d_grey_pyramid *p;
    band_step *steps;        // in order of seq
    size_t nsteps;
    uint64_t plane_seqs;     // sequence numbers a plane takes
    s2d_pixdesc frame_desc;
    size_t frame_bound;
    size_t sample_bytes;
    uint8_t *bands[S2D_MAX_LEVELS][2];
    size_t band_stride[S2D_MAX_LEVELS];   // bytes a row: cols x tile samples, the pad zero
    // A band step failed (read_rows, on the calling thread): `error` and `failed_seq` are
    // written once before `failed` is set, and read only after it was seen set. The band's
    // own sink step reports it, so every frame before it is sunk and none after; the band
    // steps after it do nothing, and the frames cut from them, made from stale bands, never
    // reach the sink.
    atomic_bool failed;
    uint64_t failed_seq;
    s2d_error error;
} run;

void s2d_grey_pyramid_levels(s2d_grey_pyramid *p)
{
    uint32_t w = p->width, h = p->height, t = (uint32_t)p->tile;
    p->nlevels = 0;
    for (;;) {
        p->levels[p->nlevels++] = (s2d_grey_level){w, h, (w + t - 1) / t, (h + t - 1) / t};
        if ((w <= t && h <= t) || p->nlevels == S2D_MAX_LEVELS) {
            break;
        }
        w = w / 2 + w % 2;
        h = h / 2 + h % 2;
    }
}

// ---- The order of the steps ----

typedef struct order {
    run *rn;
    uint64_t seq;
    size_t last_of_parity[S2D_MAX_LEVELS][2];   // step index of the level's last band, + 1
} order;

// Band `row` of `level`, its frames, then the next level's band when this one completes it.
static void add_band(order *o, int level, uint32_t row)
{
    run *rn = o->rn;
    const s2d_grey_level *lv = &rn->p->levels[level];
    band_step *s = &rn->steps[rn->nsteps];
    *s = (band_step){.seq = o->seq, .level = level, .row = row};
    size_t *last = &o->last_of_parity[level][row % 2];
    // The buffer last held band row - 2, whose frames end cols after its band step.
    s->reuse_after = *last ? (int64_t)(rn->steps[*last - 1].seq + 1 + lv->cols) : 0;
    *last = ++rn->nsteps;
    o->seq += 1 + lv->cols;
    if (level + 1 < rn->p->nlevels && (row % 2 == 1 || row + 1 == lv->rows)) {
        add_band(o, level + 1, row / 2);
    }
}

static bool plan_steps(run *rn, s2d_error *err)
{
    const s2d_grey_pyramid *p = rn->p;
    size_t nsteps = 0;
    for (int l = 0; l < p->nlevels; l++) {
        nsteps += p->levels[l].rows;
    }
    rn->steps = calloc(nsteps, sizeof *rn->steps);
    if (!rn->steps) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    order o = {.rn = rn};
    for (uint32_t r = 0; r < p->levels[0].rows; r++) {
        add_band(&o, 0, r);
    }
    rn->plane_seqs = o.seq;
    // A level's first bands reuse the buffers of the previous plane's last bands.
    for (size_t i = 0; i < rn->nsteps; i++) {
        band_step *s = &rn->steps[i];
        if (s->row < 2) {
            const band_step *prev = &rn->steps[o.last_of_parity[s->level][s->row % 2] - 1];
            uint32_t cols = p->levels[s->level].cols;
            s->reuse_after = (int64_t)(prev->seq + 1 + cols) - (int64_t)rn->plane_seqs;
        }
    }
    return true;
}

typedef struct step_of {
    int plane;
    const band_step *band;
    bool is_band;            // else frame `col` of the band
    uint32_t col;
} step_of;

static step_of find_step(const run *rn, uint64_t seq)
{
    uint64_t local = seq % rn->plane_seqs;
    size_t lo = 0, hi = rn->nsteps;   // the last step whose seq <= local lies in [lo, hi)
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (rn->steps[mid].seq <= local) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    const band_step *b = &rn->steps[lo];
    return (step_of){.plane = (int)(seq / rn->plane_seqs), .band = b,
                     .is_band = local == b->seq,
                     .col = local == b->seq ? 0 : (uint32_t)(local - b->seq - 1)};
}

// ---- Filling bands (the calling thread) ----

static void zero_rows(run *rn, int level, uint8_t *band, uint32_t from)
{
    size_t stride = rn->band_stride[level];
    memset(band + from * stride, 0, ((size_t)rn->p->tile - from) * stride);
}

// One row of a level from the rows `top` and `bottom` (NULL past the image) of the level
// above, src_width wide: (sum + n/2) / n over the n pixels of each 2x2 block that exist.
// The blocks with two columns first, in a loop without branches, then the odd last column.
static void average_rows_u8(const uint8_t *top, const uint8_t *bottom, uint32_t src_width,
                            uint8_t *dst)
{
    uint32_t pairs = src_width / 2;
    if (bottom) {
        for (uint32_t x = 0; x < pairs; x++) {
            dst[x] = (uint8_t)((top[2 * x] + top[2 * x + 1] + bottom[2 * x] +
                                bottom[2 * x + 1] + 2) / 4);
        }
        if (src_width % 2) {
            dst[pairs] = (uint8_t)((top[2 * pairs] + bottom[2 * pairs] + 1) / 2);
        }
    } else {
        for (uint32_t x = 0; x < pairs; x++) {
            dst[x] = (uint8_t)((top[2 * x] + top[2 * x + 1] + 1) / 2);
        }
        if (src_width % 2) {
            dst[pairs] = top[2 * pairs];
        }
    }
}

static void average_rows_u16(const uint16_t *top, const uint16_t *bottom, uint32_t src_width,
                             uint16_t *dst)
{
    uint32_t pairs = src_width / 2;
    if (bottom) {
        for (uint32_t x = 0; x < pairs; x++) {
            dst[x] = (uint16_t)(((uint32_t)top[2 * x] + top[2 * x + 1] + bottom[2 * x] +
                                 bottom[2 * x + 1] + 2) / 4);
        }
        if (src_width % 2) {
            dst[pairs] = (uint16_t)(((uint32_t)top[2 * pairs] + bottom[2 * pairs] + 1) / 2);
        }
    } else {
        for (uint32_t x = 0; x < pairs; x++) {
            dst[x] = (uint16_t)(((uint32_t)top[2 * x] + top[2 * x + 1] + 1) / 2);
        }
        if (src_width % 2) {
            dst[pairs] = top[2 * pairs];
        }
    }
}

// Band `row` of `level` (> 0) from bands 2 row and 2 row + 1 of the level above, which lie
// in that level's buffers 0 and 1. Rows past the level's height are zeroed.
static void average_band(run *rn, int level, uint32_t row)
{
    const s2d_grey_level *src = &rn->p->levels[level - 1], *lv = &rn->p->levels[level];
    uint32_t tile = (uint32_t)rn->p->tile;
    uint32_t n = lv->height - row * tile < tile ? lv->height - row * tile : tile;
    uint8_t *dst = rn->bands[level][row % 2];
    size_t src_stride = rn->band_stride[level - 1], dst_stride = rn->band_stride[level];
    for (uint32_t y = 0; y < n; y++) {
        // Source row 2y of the pair of bands: in the second one from the band's middle on.
        uint32_t half = 2 * y / tile, in_band = 2 * y - half * tile;
        const uint8_t *top = rn->bands[level - 1][half] + in_band * src_stride;
        uint64_t src_y = (uint64_t)(row * 2 + half) * tile + in_band;
        const uint8_t *bottom = src_y + 1 < src->height ? top + src_stride : NULL;
        uint8_t *out = dst + y * dst_stride;
        if (rn->sample_bytes == 1) {
            average_rows_u8(top, bottom, src->width, out);
        } else {
            average_rows_u16((const uint16_t *)(const void *)top,
                             (const uint16_t *)(const void *)bottom, src->width,
                             (uint16_t *)(void *)out);
        }
    }
    zero_rows(rn, level, dst, n);
}

static void fill_band(run *rn, uint64_t seq, int plane, const band_step *b)
{
    if (atomic_load(&rn->failed)) {
        return;
    }
    if (b->level > 0) {
        average_band(rn, b->level, b->row);
        return;
    }
    const s2d_grey_pyramid *p = rn->p;
    uint32_t tile = (uint32_t)p->tile, y = b->row * tile;
    uint32_t n = p->height - y < tile ? p->height - y : tile;
    uint8_t *band = rn->bands[0][b->row % 2];
    if (!p->read_rows(p->ctx, plane, y, n, band, rn->band_stride[0], &rn->error)) {
        if (rn->error.code == S2D_OK) {
            s2d_error_set(&rn->error, S2D_ERR_INTERNAL, "plane %d rows %u..%u: not read",
                          plane, y, y + n - 1);
        }
        rn->failed_seq = seq;
        atomic_store(&rn->failed, true);
        return;
    }
    zero_rows(rn, 0, band, n);
}

// ---- The pump's operations ----

typedef struct worker {
    run *rn;
    void *enc;
} worker;

static void *worker_start(void *ctx, int index, s2d_error *err)
{
    (void)index;
    run *rn = ctx;
    worker *w = calloc(1, sizeof *w);
    if (!w) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    w->rn = rn;
    w->enc = rn->p->codec->enc_new(&rn->frame_desc, &rn->p->codec_opts, err);
    if (!w->enc) {
        free(w);
        return NULL;
    }
    return w;
}

static void worker_stop(void *ctx, void *state)
{
    const run *rn = ctx;
    worker *w = state;
    rn->p->codec->enc_free(w->enc);
    free(w);
}

static size_t frame_bound(void *ctx, uint64_t seq)
{
    const run *rn = ctx;
    return find_step(rn, seq).is_band ? 0 : rn->frame_bound;
}

static uint64_t needs_made(void *ctx, uint64_t seq)
{
    const run *rn = ctx;
    step_of s = find_step(rn, seq);
    if (!s.is_band) {
        return 0;
    }
    int64_t after = (int64_t)(seq - seq % rn->plane_seqs) + s.band->reuse_after;
    return after > 0 ? (uint64_t)after : 0;
}

// Band steps are the calling thread's own, and give the sink an empty frame.
static bool make_inline(void *ctx, uint64_t seq, s2d_buf *out)
{
    (void)out;
    run *rn = ctx;
    step_of s = find_step(rn, seq);
    if (s.is_band) {
        fill_band(rn, seq, s.plane, s.band);
    }
    return s.is_band;
}

static bool make_frame(void *state, uint64_t seq, s2d_buf *out, s2d_error *err)
{
    worker *w = state;
    const run *rn = w->rn;
    step_of s = find_step(rn, seq);
    int level = s.band->level;
    const uint8_t *pixels = rn->bands[level][s.band->row % 2] +
                            (size_t)s.col * (size_t)rn->p->tile * rn->sample_bytes;
    const uint8_t *frame;
    size_t len;
    if (!rn->p->codec->encode(w->enc, pixels, rn->band_stride[level], &frame, &len, err)) {
        s2d_error_prefix(err, "plane %d level %d frame (%u, %u): ", s.plane, level, s.col,
                         s.band->row);
        return false;
    }
    s2d_buf_append(out, frame, len);
    return true;
}

static bool sink(void *ctx, uint64_t seq, const uint8_t *frame, size_t len, s2d_error *err)
{
    run *rn = ctx;
    step_of s = find_step(rn, seq);
    if (s.is_band) {
        if (atomic_load(&rn->failed) && rn->failed_seq == seq) {
            *err = rn->error;
            return false;
        }
        return true;
    }
    const s2d_grey_pyramid *p = rn->p;
    if (!p->sink(p->ctx, s.plane, s.band->level, s.col, s.band->row, frame, len, err)) {
        if (err->code == S2D_OK) {
            s2d_error_set(err, S2D_ERR_INTERNAL, "plane %d level %d: frame not taken", s.plane,
                          s.band->level);
        }
        return false;
    }
    return true;
}

static const s2d_pump_ops grey_ops = {
    .worker_start = worker_start,
    .worker_stop = worker_stop,
    .frame_bound = frame_bound,
    .needs_made = needs_made,
    .make_inline = make_inline,
    .make_frame = make_frame,
    .sink = sink,
};

// ---- The run ----

static bool check_request(const s2d_grey_pyramid *p, const s2d_pixdesc *d, s2d_error *err)
{
    if (p->width == 0 || p->height == 0 || p->tile < 2 || p->tile % 2 != 0 ||
        (p->bytes_per_sample != 1 && p->bytes_per_sample != 2) || p->nplanes < 0 ||
        p->threads < 0 || !p->read_rows || !p->sink || !p->codec) {
        return s2d_error_set(err, S2D_ERR_INTERNAL,
                             "grey pyramid: %ux%u, tile %d, %d-byte samples, %d planes, "
                             "%d threads: not a pyramid it makes",
                             p->width, p->height, p->tile, p->bytes_per_sample, p->nplanes,
                             p->threads);
    }
    if (!p->codec->enc_new || !p->codec->accepts(d)) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "grey pyramid: %s does not encode %d-bit grey",
                             p->codec->name, 8 * p->bytes_per_sample);
    }
    return true;
}

static bool alloc_bands(run *rn, s2d_error *err)
{
    const s2d_grey_pyramid *p = rn->p;
    for (int l = 0; l < p->nlevels; l++) {
        size_t stride, bytes;
        if (!s2d_mul_size((size_t)p->levels[l].cols * (size_t)p->tile, rn->sample_bytes,
                          &stride) ||
            !s2d_mul_size(stride, (size_t)p->tile, &bytes)) {
            return s2d_error_set(err, S2D_ERR_NOMEM,
                                 "grey pyramid: a band of %u pixels is too wide",
                                 p->levels[l].width);
        }
        rn->band_stride[l] = stride;
        // Zeroed: the columns past the level's width are never written and stay the pad.
        for (int b = 0; b < 2 && (b == 0 || p->levels[l].rows > 1); b++) {
            rn->bands[l][b] = calloc(1, bytes);
            if (!rn->bands[l][b]) {
                return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory for a band of %zu bytes",
                                     bytes);
            }
        }
    }
    return true;
}

bool s2d_grey_pyramid_run(s2d_grey_pyramid *p, s2d_error *err)
{
    s2d_pixdesc d = {.width = (uint32_t)p->tile, .height = (uint32_t)p->tile, .samples = 1,
                     .bits_allocated = (uint16_t)(8 * p->bytes_per_sample),
                     .bits_stored = (uint16_t)(8 * p->bytes_per_sample),
                     .colour = S2D_COLOUR_MONO_MIN_IS_BLACK};
    if (!check_request(p, &d, err)) {
        return false;
    }
    s2d_grey_pyramid_levels(p);
    if (p->nplanes == 0) {
        return true;
    }
    run rn = {.p = p, .frame_desc = d, .sample_bytes = (size_t)p->bytes_per_sample};
    uint64_t bound = p->codec->bound(&d, &p->codec_opts);
    rn.frame_bound = bound < SIZE_MAX ? (size_t)bound : SIZE_MAX;
    bool ok = plan_steps(&rn, err) && alloc_bands(&rn, err);
    if (ok) {
        // As pipeline/pyramid.c: enough frames in flight to keep every worker busy while the
        // oldest is still being made; the bytes have their own ceiling, at least one frame
        // per worker and two more.
        size_t max_bytes = p->max_bytes;
        if (max_bytes == 0) {
            size_t per_worker = rn.frame_bound * ((size_t)p->threads + 2);
            max_bytes = per_worker > BYTES_IN_FLIGHT ? per_worker : BYTES_IN_FLIGHT;
        }
        s2d_pump_config cfg = {
            .nframes = rn.plane_seqs * (uint64_t)p->nplanes,
            .workers = p->threads,
            .max_bytes = max_bytes,
            .max_frames = (uint32_t)p->threads * 4 + 56,
            .interrupt = p->interrupt,
        };
        ok = s2d_pump_run(&grey_ops, &rn, &cfg, err);
    }
    for (int l = 0; l < S2D_MAX_LEVELS; l++) {
        free(rn.bands[l][0]);
        free(rn.bands[l][1]);
    }
    free(rn.steps);
    return ok;
}
