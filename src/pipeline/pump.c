// SPDX-License-Identifier: Apache-2.0
/* Ordered parallel frame producer; see pipeline/pump.h.
 * Ownership: a slot belongs to the calling thread until queued (or while it makes the frame
 * inline), then to the one worker making its frame until marked made, then to the thread
 * holding the write turn until it frees the slot. Every state change happens under `lock`,
 * so a worker takes it once per frame. Each waiter has its own condition variable,
 * signalled only for what it waits for. Frame buffers are kept in a stack, last freed first
 * reused, so that a run which makes every frame inline keeps reusing one cached buffer. */
#include "pipeline/pump.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

enum slot_state {
    SLOT_FREE,
    SLOT_QUEUED,     // waiting in `jobs` for a worker
    SLOT_BUSY,       // a worker, or the calling thread inline, is making the frame
    SLOT_MADE,       // ready for the sink
};

typedef struct slot {
    enum slot_state state;
    uint64_t seq;
    size_t charge;           // bytes counted in `in_flight` for this frame
    s2d_buf *frame;          // from the buffer stack while the slot is in use
} slot;

typedef struct pump {
    const s2d_pump_ops *ops;
    void *ctx;
    const s2d_pump_config *cfg;

    pthread_mutex_t lock;
    pthread_cond_t job_queued;     // idle workers wait for a job
    pthread_cond_t caller_wake;    // the calling thread waits for room or for made frames
    slot *window;                  // indexed by sequence number modulo max_frames
    uint64_t handed;               // frames handed out
    uint64_t made_below;           // every frame before it is made
    uint64_t written;              // frames sunk (their slots are free)
    size_t in_flight;              // bytes charged to frames handed out and not sunk
    bool writing;                  // some thread holds the write turn
    // What the waiting calling thread needs before it is woken: made_below at least
    // wake_made, or room for a frame of wake_bound bytes with a quarter of the window spare
    // (so that it sleeps through many frames, not one). SIZE_MAX / UINT64_MAX: not waiting.
    uint64_t wake_made;
    size_t wake_bound;
    uint64_t *jobs;                // queued frames, a ring of max_frames
    size_t jobs_head, jobs_count;
    bool all_handed;               // the calling thread has handed out its last frame
    s2d_buf *buffers;              // max_frames of them
    s2d_buf **free_buffers;        // a stack
    size_t nfree;
    atomic_bool stopped;
    s2d_error error;               // first error wins, under lock
} pump;

// Empties a frame buffer for the next frame, keeping its capacity; a failure to grow it
// belonged to the frame before.
static void empty(s2d_buf *b)
{
    b->len = 0;
    b->failed = false;
}

static slot *slot_of(pump *p, uint64_t seq)
{
    return &p->window[seq % p->cfg->max_frames];
}

// With the lock held: records the first error and stops everyone.
static void fail_locked(pump *p, const s2d_error *e)
{
    if (p->error.code == S2D_OK) {
        p->error = *e;
    }
    atomic_store(&p->stopped, true);
    pthread_cond_broadcast(&p->job_queued);
    pthread_cond_broadcast(&p->caller_wake);
}

// A signal handler sets the flag, or, in tests, another thread: an atomic load reads it
// either way without a data race.
static bool interrupted(const pump *p)
{
    return p->cfg->interrupt && __atomic_load_n(p->cfg->interrupt, __ATOMIC_RELAXED);
}

static s2d_error cancelled_error(void)
{
    s2d_error e = {0};
    s2d_error_set(&e, S2D_ERR_CANCELLED, "interrupted");
    return e;
}

// With the lock held: whether a frame of `bound` bytes can be handed out, with
// `spare_frames` and `spare_bytes` of the window left over. A frame alone always fits.
static bool room_for(const pump *p, size_t bound, uint64_t spare_frames, size_t spare_bytes)
{
    if (p->handed - p->written + 1 + spare_frames > p->cfg->max_frames) {
        return false;
    }
    return p->in_flight == 0 ||
           (bound <= p->cfg->max_bytes && spare_bytes <= p->cfg->max_bytes - bound &&
            p->in_flight <= p->cfg->max_bytes - bound - spare_bytes);
}

// With the lock held: wakes the calling thread when what it waits for has come.
static void wake_caller(pump *p)
{
    if (p->made_below >= p->wake_made ||
        (p->wake_bound != SIZE_MAX &&
         room_for(p, p->wake_bound, p->cfg->max_frames / 4, p->cfg->max_bytes / 4))) {
        pthread_cond_signal(&p->caller_wake);
    }
}

// With the lock held and the write turn taken: sinks the frames made from `written` on, a
// run at a time without the lock, and frees their slots; gives the turn back when the frame
// due next is not made yet.
static void write_made_frames(pump *p)
{
    while (!atomic_load(&p->stopped)) {
        uint64_t first = p->written, end = first;
        while (end < p->handed && slot_of(p, end)->state == SLOT_MADE) {
            end++;
        }
        if (end == first) {
            break;
        }
        pthread_mutex_unlock(&p->lock);
        s2d_error err = {0};
        bool ok = true;
        uint64_t seq = first;
        for (; seq < end && ok && !atomic_load(&p->stopped); seq++) {
            const s2d_buf *f = slot_of(p, seq)->frame;
            ok = p->ops->sink(p->ctx, seq, f->data, f->len, &err);
        }
        uint64_t sunk = ok ? seq : seq - 1;
        pthread_mutex_lock(&p->lock);
        for (uint64_t s = first; s < sunk; s++) {
            slot *sl = slot_of(p, s);
            p->in_flight -= sl->charge;
            p->free_buffers[p->nfree++] = sl->frame;
            sl->frame = NULL;
            sl->state = SLOT_FREE;
        }
        p->written = sunk;
        if (!ok) {
            fail_locked(p, &err);
            break;
        }
        wake_caller(p);
    }
    p->writing = false;
}

// With the lock held: marks frame seq made, charges its real size, and sinks it and the
// frames made after it when it is the one due next and no other thread is writing.
static void finish_frame(pump *p, uint64_t seq)
{
    slot *s = slot_of(p, seq);
    s->state = SLOT_MADE;
    p->in_flight = p->in_flight - s->charge + s->frame->len;
    s->charge = s->frame->len;
    while (p->made_below < p->handed && slot_of(p, p->made_below)->state == SLOT_MADE) {
        p->made_below++;
    }
    wake_caller(p);
    if (!p->writing && seq == p->written) {
        p->writing = true;
        write_made_frames(p);
    }
}

// With the lock held: the frame's buffer must not have failed to grow.
static bool frame_ok(pump *p, uint64_t seq)
{
    if (!slot_of(p, seq)->frame->failed) {
        return true;
    }
    s2d_error e = {0};
    s2d_error_set(&e, S2D_ERR_NOMEM, "out of memory for frame %llu", (unsigned long long)seq);
    fail_locked(p, &e);
    return false;
}

static void queue_job(pump *p, uint64_t seq)
{
    slot_of(p, seq)->state = SLOT_QUEUED;
    p->jobs[(p->jobs_head + p->jobs_count++) % p->cfg->max_frames] = seq;
    pthread_cond_signal(&p->job_queued);
}

typedef struct worker {
    pump *p;
    void *state;             // worker_start's
    pthread_t thread;
} worker;

static void *worker_main(void *arg)
{
    worker *wk = arg;
    pump *p = wk->p;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->jobs_count == 0 && !p->all_handed && !atomic_load(&p->stopped)) {
            pthread_cond_wait(&p->job_queued, &p->lock);
        }
        if (p->jobs_count == 0 || atomic_load(&p->stopped)) {
            break;
        }
        uint64_t seq = p->jobs[p->jobs_head];
        p->jobs_head = (p->jobs_head + 1) % p->cfg->max_frames;
        p->jobs_count--;
        slot *s = slot_of(p, seq);
        s->state = SLOT_BUSY;
        s2d_buf *out = s->frame;
        pthread_mutex_unlock(&p->lock);
        s2d_error err = {0};
        bool ok;
        if (interrupted(p)) {
            err = cancelled_error();
            ok = false;
        } else {
            empty(out);
            ok = p->ops->make_frame(wk->state, seq, out, &err);
        }
        pthread_mutex_lock(&p->lock);
        if (!ok) {
            fail_locked(p, &err);
        } else if (frame_ok(p, seq)) {
            finish_frame(p, seq);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

// The calling thread: hands frame seq out once what it needs is made and the window has
// room. False when the run stopped.
static bool hand_out(pump *p, uint64_t seq)
{
    if (interrupted(p)) {
        s2d_error e = cancelled_error();
        pthread_mutex_lock(&p->lock);
        fail_locked(p, &e);
        pthread_mutex_unlock(&p->lock);
        return false;
    }
    uint64_t needs = p->ops->needs_made ? p->ops->needs_made(p->ctx, seq) : 0;
    size_t bound = p->ops->frame_bound(p->ctx, seq);
    pthread_mutex_lock(&p->lock);
    while (p->made_below < needs && !atomic_load(&p->stopped)) {
        p->wake_made = needs;
        pthread_cond_wait(&p->caller_wake, &p->lock);
    }
    p->wake_made = UINT64_MAX;
    while (!room_for(p, bound, 0, 0) && !atomic_load(&p->stopped)) {
        p->wake_bound = bound;
        pthread_cond_wait(&p->caller_wake, &p->lock);
    }
    p->wake_bound = SIZE_MAX;
    bool stopped = atomic_load(&p->stopped);
    bool inline_try = false;
    if (!stopped) {
        slot *s = slot_of(p, seq);
        s->seq = seq;
        s->charge = bound;
        s->frame = p->free_buffers[--p->nfree];
        empty(s->frame);
        p->in_flight += bound;
        p->handed = seq + 1;
        inline_try = p->ops->make_inline != NULL;
        if (inline_try) {
            s->state = SLOT_BUSY;
        } else {
            queue_job(p, seq);
        }
    }
    pthread_mutex_unlock(&p->lock);
    if (stopped) {
        return false;
    }
    if (inline_try) {
        s2d_buf *out = slot_of(p, seq)->frame;
        bool made = p->ops->make_inline(p->ctx, seq, out);
        pthread_mutex_lock(&p->lock);
        if (!made) {
            queue_job(p, seq);
        } else if (frame_ok(p, seq)) {
            finish_frame(p, seq);
        }
        pthread_mutex_unlock(&p->lock);
    }
    return !atomic_load(&p->stopped);
}

static bool run_threaded(pump *p, worker *workers, int nworkers, s2d_error *err)
{
    const s2d_pump_config *cfg = p->cfg;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->job_queued, NULL);
    pthread_cond_init(&p->caller_wake, NULL);
    p->wake_made = UINT64_MAX;
    p->wake_bound = SIZE_MAX;
    p->window = calloc(cfg->max_frames, sizeof *p->window);
    p->jobs = calloc(cfg->max_frames, sizeof *p->jobs);
    p->buffers = calloc(cfg->max_frames, sizeof *p->buffers);
    p->free_buffers = calloc(cfg->max_frames, sizeof *p->free_buffers);
    bool ok = p->window && p->jobs && p->buffers && p->free_buffers;
    if (!ok) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    for (uint32_t i = 0; ok && i < cfg->max_frames; i++) {
        // Pushed so that the first pop is buffers[0].
        p->free_buffers[p->nfree++] = &p->buffers[cfg->max_frames - 1 - i];
    }
    int started = 0;
    for (int i = 0; ok && i < nworkers; i++) {
        workers[i].p = p;
        if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
            ok = s2d_error_set(err, S2D_ERR_NOMEM, "cannot start a worker thread");
            break;
        }
        started++;
    }
    for (uint64_t seq = 0; ok && seq < cfg->nframes; seq++) {
        if (!hand_out(p, seq)) {
            break;
        }
    }
    pthread_mutex_lock(&p->lock);
    p->all_handed = true;
    if (!ok) {
        atomic_store(&p->stopped, true);
    }
    pthread_cond_broadcast(&p->job_queued);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < started; i++) {
        pthread_join(workers[i].thread, NULL);
    }
    if (ok && p->error.code != S2D_OK) {
        *err = p->error;
        ok = false;
    }
    if (ok && p->written != cfg->nframes) {
        ok = s2d_error_set(err, S2D_ERR_INTERNAL, "%llu of %llu frames sunk",
                           (unsigned long long)p->written, (unsigned long long)cfg->nframes);
    }
    for (uint32_t i = 0; p->buffers && i < cfg->max_frames; i++) {
        s2d_buf_free(&p->buffers[i]);
    }
    free(p->buffers);
    free(p->free_buffers);
    free(p->window);
    free(p->jobs);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->job_queued);
    pthread_cond_destroy(&p->caller_wake);
    return ok;
}

// 0 workers: each frame made and sunk in turn on the calling thread.
static bool run_sync(pump *p, void *worker_state, s2d_error *err)
{
    s2d_buf frame = {0};
    bool ok = true;
    for (uint64_t seq = 0; ok && seq < p->cfg->nframes; seq++) {
        if (interrupted(p)) {
            *err = cancelled_error();
            ok = false;
            break;
        }
        empty(&frame);
        if (!p->ops->make_inline || !p->ops->make_inline(p->ctx, seq, &frame)) {
            empty(&frame);
            ok = p->ops->make_frame(worker_state, seq, &frame, err);
        }
        if (ok && frame.failed) {
            ok = s2d_error_set(err, S2D_ERR_NOMEM, "out of memory for frame %llu",
                               (unsigned long long)seq);
        }
        ok = ok && p->ops->sink(p->ctx, seq, frame.data, frame.len, err);
    }
    s2d_buf_free(&frame);
    return ok;
}

bool s2d_pump_run(const s2d_pump_ops *ops, void *ctx, const s2d_pump_config *cfg,
                  s2d_error *err)
{
    if (cfg->workers < 0 || cfg->max_frames == 0) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "pump: %d workers, %u frames in flight",
                             cfg->workers, cfg->max_frames);
    }
    pump p = {.ops = ops, .ctx = ctx, .cfg = cfg};
    int nstates = cfg->workers > 0 ? cfg->workers : 1;
    worker *workers = calloc((size_t)nstates, sizeof *workers);
    if (!workers) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    bool ok = true;
    int made = 0;
    for (; ok && made < nstates; made++) {
        workers[made].state = ops->worker_start(ctx, made, err);
        ok = workers[made].state != NULL;
    }
    if (ok) {
        ok = cfg->workers == 0 ? run_sync(&p, workers[0].state, err)
                               : run_threaded(&p, workers, cfg->workers, err);
    }
    for (int i = 0; i < made; i++) {
        if (workers[i].state) {
            ops->worker_stop(ctx, workers[i].state);
        }
    }
    free(workers);
    return ok;
}
