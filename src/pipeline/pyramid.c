// SPDX-License-Identifier: Apache-2.0
/* The pyramid's frames on the pump; see pipeline/pyramid.h.
 * The order frames are handed out in is fixed before the run: every source level row by
 * row, and a generated level's row after the two rows feeding it plus the next one, so that
 * the workers have that row to make while the generated row waits for the pair. Each tile
 * row is one row_job, whose `needs_made` tells the pump which frames must be made before
 * the row is handed out: the rows feeding it, and the generated row whose strip slot it is
 * about to overwrite. */
#include "pipeline/pyramid.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/clock.h"
#include "core/cpu.h"
#include "pipeline/pump.h"
#include "pipeline/strips.h"

// The pump's ceiling on frame bytes in flight (see s2d_pyramid_run).
#define BYTES_IN_FLIGHT ((size_t)64 << 20)

// One tile row of one level, in the order frames are handed out.
typedef struct row_job {
    uint64_t first_seq;      // its frame (0, row)
    uint64_t needs_made;     // every frame before this one is made first
    int level;
    uint32_t row;
} row_job;

typedef struct run {
    s2d_pyramid_plan *plan;
    s2d_frame_env env;
    row_job *rows;           // in order of first_seq
    size_t nrows;
    uint64_t *row_first[S2D_MAX_LEVELS];   // per level and tile row: its first_seq
    uint64_t frames_total;
    size_t frame_bound[S2D_MAX_LEVELS];
    bool feeds_next[S2D_MAX_LEVELS];       // the level below is generated from this one

    // Levels whose frames the calling thread copies itself (see make_inline), with its
    // reader.
    bool copy_inline[S2D_MAX_LEVELS];
    s2d_read_ctx *inline_reader;

    // Two tile rows for each generated level, filled by the level above.
    s2d_strips *strips;

    // Under `lock`: the levels' replaced_frames and the thumbnail's per-pixel sums and
    // counts.
    pthread_mutex_t lock;
    uint32_t *thumb_sum;
    int64_t thumb_w, thumb_h;

    uint64_t frames_out;     // frames written, by the sink
    double start;            // s2d_clock_seconds() when the run started
} run;

// ---- The order of the frames and what each row needs ----

typedef struct order {
    run *rn;
    uint64_t seq;
    int64_t pending_row[S2D_MAX_LEVELS];   // generated row due below the level, or -1
} order;

static uint64_t row_end(const run *rn, int level, uint32_t row)
{
    return rn->row_first[level][row] + rn->plan->levels[level].cols;
}

static void add_row(order *o, int level, uint32_t row, uint64_t needs_made);

// Adds the generated row waiting below `level`, which needs the two rows feeding it.
static void flush_pending(order *o, int level)
{
    int64_t r = o->pending_row[level];
    if (r < 0) {
        return;
    }
    o->pending_row[level] = -1;
    uint32_t last = (uint32_t)(2 * r + 1) < o->rn->plan->levels[level].rows ? (uint32_t)(2 * r + 1)
                                                                            : (uint32_t)(2 * r);
    add_row(o, level + 1, (uint32_t)r, row_end(o->rn, level, last));
}

// Adds tile row `row` of `level`. A row of the generated level below becomes due after each
// pair of rows here; it is added after the next row.
static void add_row(order *o, int level, uint32_t row, uint64_t needs_made)
{
    run *rn = o->rn;
    int next = level + 1;
    bool last = row == rn->plan->levels[level].rows - 1;
    // The next level's strip slot this row fills was last read by that level's row two back.
    if (rn->feeds_next[level] && row % 2 == 0 && row / 2 >= 2) {
        uint64_t end = row_end(rn, next, row / 2 - 2);
        needs_made = end > needs_made ? end : needs_made;
    }
    rn->rows[rn->nrows++] = (row_job){o->seq, needs_made, level, row};
    rn->row_first[level][row] = o->seq;
    o->seq += rn->plan->levels[level].cols;
    flush_pending(o, level);
    if (rn->feeds_next[level] && (row % 2 == 1 || last)) {
        o->pending_row[level] = row / 2;
        if (last) {
            flush_pending(o, level);
        }
    }
}

static bool plan_order(run *rn, s2d_error *err)
{
    const s2d_pyramid_plan *plan = rn->plan;
    size_t nrows = 0;
    for (int l = 0; l < plan->nlevels; l++) {
        nrows += plan->levels[l].rows;
        rn->row_first[l] = calloc(plan->levels[l].rows, sizeof(uint64_t));
        if (!rn->row_first[l]) {
            return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        }
    }
    rn->rows = calloc(nrows, sizeof *rn->rows);
    if (!rn->rows) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    order o = {.rn = rn};
    for (int l = 0; l < plan->nlevels; l++) {
        o.pending_row[l] = -1;
    }
    for (int l = 0; l < plan->nlevels; l++) {
        if (plan->levels[l].mode == S2D_LEVEL_GENERATE) {
            continue;
        }
        for (uint32_t r = 0; r < plan->levels[l].rows; r++) {
            add_row(&o, l, r, 0);
        }
    }
    if (o.seq != rn->frames_total || rn->nrows != nrows) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "pyramid order: %llu of %llu frames",
                             (unsigned long long)o.seq, (unsigned long long)rn->frames_total);
    }
    return true;
}

// The row frame seq belongs to.
static const row_job *row_of(const run *rn, uint64_t seq)
{
    size_t lo = 0, hi = rn->nrows;   // rows[lo].first_seq <= seq < rows[hi].first_seq
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (rn->rows[mid].first_seq <= seq) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return &rn->rows[lo];
}

static s2d_frame_job job_of(const run *rn, uint64_t seq)
{
    const row_job *rj = row_of(rn, seq);
    const s2d_pyramid_plan *plan = rn->plan;
    const s2d_pyramid_level *lv = &plan->levels[rj->level];
    int t = plan->tile_size;
    uint32_t col = (uint32_t)(seq - rj->first_seq);
    int64_t x0 = (int64_t)col * t, y0 = (int64_t)rj->row * t;
    return (s2d_frame_job){
        .mode = lv->mode,
        .level = rj->level,
        .source_level = lv->source_level,
        .jpeg_frames = lv->jpeg_frames,
        .col = col,
        .row = rj->row,
        .vw = lv->width - x0 < t ? lv->width - x0 : t,
        .vh = lv->height - y0 < t ? lv->height - y0 : t,
        .feeds_next = rn->feeds_next[rj->level],
        .feeds_thumb = rj->level == plan->thumb_level,
    };
}

// ---- The pump's hooks ----

typedef struct pyramid_worker {
    run *rn;
    s2d_frame_worker *frames;
} pyramid_worker;

static void *worker_start(void *ctx, int index, s2d_error *err)
{
    run *rn = ctx;
    pyramid_worker *w = calloc(1, sizeof *w);
    if (!w) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory for worker %d", index);
        return NULL;
    }
    w->rn = rn;
    w->frames = s2d_frame_worker_new(&rn->env, rn->strips != NULL, err);
    if (!w->frames) {
        free(w);
        return NULL;
    }
    return w;
}

static void worker_stop(void *ctx, void *worker)
{
    (void)ctx;
    pyramid_worker *w = worker;
    s2d_frame_worker_free(w->frames);
    free(w);
}

static size_t frame_bound(void *ctx, uint64_t seq)
{
    const run *rn = ctx;
    return rn->frame_bound[row_of(rn, seq)->level];
}

static uint64_t needs_made(void *ctx, uint64_t seq)
{
    return row_of(ctx, seq)->needs_made;
}

// A frame that is only copied from a tiled source costs one pread: the calling thread takes
// it itself. Should the source fail to give it, a worker retries and makes the replacement.
static bool make_inline(void *ctx, uint64_t seq, s2d_buf *out)
{
    run *rn = ctx;
    const row_job *rj = row_of(rn, seq);
    if (!rn->copy_inline[rj->level]) {
        return false;
    }
    int t = rn->plan->tile_size;
    int source_level = rn->plan->levels[rj->level].source_level;
    s2d_error ignored = {0};
    return s2d_source_read_frame(rn->plan->reader, rn->inline_reader, source_level,
                                 (uint32_t)(seq - rj->first_seq), rj->row, t, t, out,
                                 &ignored) &&
           s2d_frame_copy_sound(s2d_source_level(rn->plan->reader, source_level), out, t,
                                &ignored);
}

static void add_to_thumbnail(run *rn, const uint8_t *tile, const s2d_frame_job *job)
{
    int f = rn->plan->thumb_factor, t = rn->plan->tile_size;
    int64_t x0 = (int64_t)job->col * t, y0 = (int64_t)job->row * t;
    pthread_mutex_lock(&rn->lock);
    for (int64_t y = 0; y < job->vh; y++) {
        int64_t ty = (y0 + y) / f;
        const uint8_t *src = tile + (size_t)y * t * 3;
        for (int64_t x = 0; x < job->vw; x++) {
            uint32_t *acc = rn->thumb_sum + 4 * (ty * rn->thumb_w + (x0 + x) / f);
            acc[0] += src[3 * x];
            acc[1] += src[3 * x + 1];
            acc[2] += src[3 * x + 2];
            acc[3] += 1;
        }
    }
    pthread_mutex_unlock(&rn->lock);
}

// Counts a replaced frame of level l. More of them than the limit (opts->strict: none;
// else max_replaced_percent of the level's frames, 1 % by default) fails the run: a level
// that is mostly background is a broken slide, not a conversion.
static bool count_replaced(run *rn, int l, s2d_error *err)
{
    const s2d_convert_options *o = rn->plan->opts;
    s2d_pyramid_level *lv = &rn->plan->levels[l];
    uint64_t frames = (uint64_t)lv->cols * lv->rows;
    double percent = o->max_replaced_percent > 0 ? o->max_replaced_percent : 1.0;
    pthread_mutex_lock(&rn->lock);
    uint64_t replaced = ++lv->replaced_frames;
    pthread_mutex_unlock(&rn->lock);
    if (o->strict || (double)replaced > (double)frames * percent / 100.0) {
        char limit[64];
        if (o->strict) {
            snprintf(limit, sizeof limit, "and --strict allows none");
        } else {
            snprintf(limit, sizeof limit, "over the limit of %g %% (--max-replaced)", percent);
        }
        return s2d_error_set(err, S2D_ERR_INPUT,
                             "level %d: %" PRIu64 " of its %" PRIu64 " tiles are missing or "
                             "broken, %s", l, replaced, frames, limit);
    }
    return true;
}

// The frame, then what it gives the generated level below and the thumbnail.
static bool make_frame(void *worker, uint64_t seq, s2d_buf *out, s2d_error *err)
{
    pyramid_worker *w = worker;
    run *rn = w->rn;
    s2d_frame_job job = job_of(rn, seq);
    if (job.mode == S2D_LEVEL_GENERATE) {
        uint8_t *scratch;
        uint8_t *planes = s2d_frame_generated_planes(w->frames, &scratch);
        if (!s2d_strips_get_tile(rn->strips, job.level, job.col, job.row, planes, scratch, err)) {
            return false;
        }
    }
    bool replaced = false;
    bool made = s2d_frame_make(w->frames, &job, out, &replaced, err);
    if (replaced && made && !count_replaced(rn, job.level, err)) {
        return false;
    }
    if (!made) {
        return false;
    }
    if (job.feeds_next) {
        const uint8_t *quarter = s2d_frame_quarter(w->frames, &job, err);
        if (!quarter ||
            !s2d_strips_put_quarter(rn->strips, job.level + 1, job.col, job.row, quarter, err)) {
            return false;
        }
    }
    if (job.feeds_thumb) {
        const uint8_t *rgb = s2d_frame_rgb(w->frames, &job, err);
        if (!rgb) {
            return false;
        }
        add_to_thumbnail(rn, rgb, &job);
    }
    return true;
}

static double elapsed(const run *rn)
{
    return s2d_clock_seconds() - rn->start;
}

// Appends a frame to its level's file (one thread at a time, in order).
static bool sink(void *ctx, uint64_t seq, const uint8_t *frame, size_t len, s2d_error *err)
{
    run *rn = ctx;
    int level = row_of(rn, seq)->level;
    s2d_pyramid_level *lv = &rn->plan->levels[level];
    if (!s2d_part10_add_frame(lv->writer, frame, len, err)) {
        return false;
    }
    double now = elapsed(rn);
    if (lv->frames_written++ == 0) {
        lv->first_frame_s = now;
    }
    lv->last_frame_s = now;
    rn->frames_out++;
    const s2d_convert_options *opts = rn->plan->opts;
    if (opts->progress) {
        const s2d_pyramid_level *base = &rn->plan->levels[0];
        s2d_progress p = {.level = level, .frames_done = rn->frames_out,
                          .frames_total = rn->frames_total, .seconds = now,
                          .megapixels = (double)base->width * (double)base->height / 1e6};
        opts->progress(opts->callback_ctx, &p);
    }
    return true;
}

static const s2d_pump_ops pyramid_ops = {
    .worker_start = worker_start,
    .worker_stop = worker_stop,
    .frame_bound = frame_bound,
    .needs_made = needs_made,
    .make_inline = make_inline,
    .make_frame = make_frame,
    .sink = sink,
};

// ---- The run ----

static int default_threads(void)
{
    int n = s2d_cpu_count();   // the CPUs this process may use, not the machine's
    return n > 256 ? 256 : n;
}

static bool setup(run *rn, s2d_error *err)
{
    s2d_pyramid_plan *plan = rn->plan;
    int t = plan->tile_size;
    if (!s2d_frame_env_init(&rn->env, plan->reader, plan->source_name, plan->diag,
                            plan->opts, plan->codec, t, err)) {
        return false;
    }
    uint32_t generated_cols[S2D_MAX_LEVELS] = {0};
    bool generates = false;
    for (int l = 0; l < plan->nlevels; l++) {
        s2d_pyramid_level *lv = &plan->levels[l];
        rn->frames_total += (uint64_t)lv->cols * lv->rows;
        rn->feeds_next[l] = l + 1 < plan->nlevels && plan->levels[l + 1].mode == S2D_LEVEL_GENERATE;
        // A copied level may still get a replacement frame from our encoder.
        size_t encoded = (size_t)plan->codec->bound(&rn->env.planes, &rn->env.codec_opts);
        size_t copied = (size_t)S2D_COPIED_FRAME_MAX(t, t);
        rn->frame_bound[l] = lv->mode == S2D_LEVEL_COPY && copied > encoded ? copied : encoded;
        // Tiled sources (tile_w > 0) give a frame with a pread; NDPI frames are cut from
        // coefficients, work for the workers.
        rn->copy_inline[l] = lv->mode == S2D_LEVEL_COPY && !rn->feeds_next[l] &&
                             l != plan->thumb_level && !plan->opts->verify &&
                             s2d_source_level(plan->reader, lv->source_level)->native.tile_w > 0;
        if (rn->copy_inline[l] && !rn->inline_reader &&
            !(rn->inline_reader = s2d_read_ctx_new(plan->reader, t, t, err))) {
            return false;
        }
        if (lv->mode == S2D_LEVEL_GENERATE) {
            generated_cols[l] = lv->cols;
            generates = true;
        }
    }
    if (generates && !(rn->strips = s2d_strips_new(plan->spill_dir, t, rn->env.chroma_div,
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
    return plan_order(rn, err);
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
    run rn = {.plan = plan};
    pthread_mutex_init(&rn.lock, NULL);
    rn.start = s2d_clock_seconds();
    bool ok = setup(&rn, err);
    if (ok) {
        // Enough frames in flight to keep every worker busy while the oldest one is still
        // being made, and the calling thread asleep for a quarter of them at a time. The
        // bytes in flight have their own ceiling, whatever the frame count: 64 MiB, or one
        // frame per worker and two more of the largest bound when frames are larger than
        // that allows (so that workers never wait on the budget alone). JPEG tiles of 256 x
        // 256 stay far below it (64 frames are ~13 MB at their bound); 32 MB 16-bit native
        // frames would have 3-4 in flight instead of 64.
        uint32_t max_frames = (uint32_t)nthreads * 4 + 56;
        size_t largest = 0;
        for (int l = 0; l < plan->nlevels; l++) {
            largest = rn.frame_bound[l] > largest ? rn.frame_bound[l] : largest;
        }
        size_t per_worker = largest * ((size_t)nthreads + 2);
        size_t max_bytes = per_worker > BYTES_IN_FLIGHT ? per_worker : BYTES_IN_FLIGHT;
        s2d_pump_config cfg = {
            .nframes = rn.frames_total,
            .workers = nthreads,
            .max_bytes = max_bytes,
            .max_frames = max_frames,
            .interrupt = opts->interrupt,
        };
        ok = s2d_pump_run(&pyramid_ops, &rn, &cfg, err);
    }
    if (ok && plan->thumb_level >= 0) {
        ok = collect_thumbnail(&rn, thumb, err);
    }
    free(rn.rows);
    for (int l = 0; l < plan->nlevels; l++) {
        free(rn.row_first[l]);
    }
    s2d_read_ctx_free(rn.inline_reader);
    s2d_strips_free(rn.strips);
    free(rn.thumb_sum);
    pthread_mutex_destroy(&rn.lock);
    return ok;
}
