// SPDX-License-Identifier: Apache-2.0
/* The frame pump on its own, synchronous and with 1, 2 and 8 workers: every frame reaches
 * the sink exactly once and in order whatever order the workers finish in (each frame
 * sleeps a pseudo-random time), the bytes in flight never exceed the budget, a frame larger
 * than the budget passes alone, frames wait for the frames they need, inline frames are
 * made on the calling thread, and an error or an interrupt stops the run with no frame
 * after the failed one reaching the sink. Runs under TSan too. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "harness.h"
#include "pipeline/pump.h"

enum { MAX_FRAMES = 4000 };

typedef struct test_run {
    uint64_t nframes;
    size_t budget;
    size_t big_every;          // every big_every-th frame's bound is 5x the budget (0: none)
    uint64_t fail_make_at;     // make_frame fails there (UINT64_MAX: never)
    uint64_t fail_sink_at;     // the sink fails there
    uint64_t interrupt_at;     // the sink raises the interrupt there
    uint64_t depends_every;    // frame k (k % depends_every == 0) needs every frame < k
    bool inline_even;          // even frames made by make_inline
    pthread_t caller;
    volatile sig_atomic_t interrupt;

    atomic_int made[MAX_FRAMES];
    atomic_int sunk[MAX_FRAMES];
    atomic_bool finished[MAX_FRAMES];   // made, as the pump's dependencies mean it
    atomic_bool made_inline_elsewhere;
    atomic_bool dependency_missing;
    atomic_bool over_budget;
    atomic_bool not_in_order;
    atomic_bool bad_bytes;
    atomic_bool sink_after_failure;
    atomic_size_t bytes;         // charged as the pump would, from the test's side
    atomic_int frames;           // frames between the start of make_frame and the sink
    atomic_int most_frames;      // the most there ever were
    uint64_t next_sink;          // the sink's own: it is never called twice at once
    atomic_int workers_started;
    atomic_int workers_stopped;
} test_run;

static uint32_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (uint32_t)x;
}

static size_t bound_of(const test_run *t, uint64_t seq)
{
    if (t->big_every && seq % t->big_every == t->big_every - 1) {
        return t->budget * 5;
    }
    return 200 + mix(seq) % (t->budget / 8);
}

static size_t len_of(const test_run *t, uint64_t seq)
{
    size_t b = bound_of(t, seq);
    return b / 2 + mix(seq + 7) % (b / 2);
}

typedef struct test_worker {
    test_run *t;
    int index;
} test_worker;

static void *worker_start(void *ctx, int index, s2d_error *err)
{
    test_run *t = ctx;
    test_worker *w = malloc(sizeof *w);
    if (!w) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    *w = (test_worker){t, index};
    atomic_fetch_add(&t->workers_started, 1);
    return w;
}

static void worker_stop(void *ctx, void *worker)
{
    test_run *t = ctx;
    atomic_fetch_add(&t->workers_stopped, 1);
    free(worker);
}

static size_t frame_bound(void *ctx, uint64_t seq)
{
    return bound_of(ctx, seq);
}

static uint64_t needs_made(void *ctx, uint64_t seq)
{
    const test_run *t = ctx;
    return t->depends_every && seq % t->depends_every == 0 ? seq : 0;
}

static void check_dependencies(test_run *t, uint64_t seq)
{
    for (uint64_t k = 0; k < needs_made(t, seq); k++) {
        if (!atomic_load(&t->finished[k])) {
            atomic_store(&t->dependency_missing, true);
        }
    }
}

// The frame's bytes: its number, then a pattern of its length.
static void fill(const test_run *t, uint64_t seq, s2d_buf *out)
{
    size_t len = len_of(t, seq);
    s2d_buf_append(out, &seq, sizeof seq);
    for (size_t i = sizeof seq; i < len; i++) {
        s2d_buf_append_byte(out, (uint8_t)(seq + i));
    }
}

static void charge(test_run *t, size_t bound)
{
    size_t now = atomic_fetch_add(&t->bytes, bound) + bound;
    int frames = atomic_fetch_add(&t->frames, 1) + 1;
    if (now > t->budget && frames > 1) {
        atomic_store(&t->over_budget, true);
    }
    for (int most = atomic_load(&t->most_frames);
         frames > most && !atomic_compare_exchange_weak(&t->most_frames, &most, frames);) {
    }
}

// One subtraction: adding len and then taking bound away would show another thread's
// charge() a moment where this frame counts twice, and the test would fail by itself.
static void recharge(test_run *t, size_t bound, size_t len)
{
    atomic_fetch_sub(&t->bytes, bound - len);
}

static bool make_inline(void *ctx, uint64_t seq, s2d_buf *out)
{
    test_run *t = ctx;
    if (!t->inline_even || seq % 2 != 0) {
        return false;
    }
    if (!pthread_equal(pthread_self(), t->caller)) {
        atomic_store(&t->made_inline_elsewhere, true);
    }
    charge(t, bound_of(t, seq));
    atomic_fetch_add(&t->made[seq], 1);
    check_dependencies(t, seq);
    fill(t, seq, out);
    recharge(t, bound_of(t, seq), out->len);
    atomic_store(&t->finished[seq], true);
    return true;
}

static bool make_frame(void *worker, uint64_t seq, s2d_buf *out, s2d_error *err)
{
    test_run *t = ((test_worker *)worker)->t;
    size_t bound = bound_of(t, seq);
    charge(t, bound);
    atomic_fetch_add(&t->made[seq], 1);
    check_dependencies(t, seq);
    // Finish in a scrambled order: up to 0.3 ms, more for some frames and for the frame
    // just before one that depends on it.
    struct timespec pause = {0, (long)(mix(seq * 31 + 1) % 300) * 1000};
    if (mix(seq) % 17 == 0 || (t->depends_every && seq % t->depends_every == t->depends_every - 1)) {
        pause.tv_nsec += 2000000;
    }
    nanosleep(&pause, NULL);
    if (seq == t->fail_make_at) {
        recharge(t, bound, 0);
        return s2d_error_set(err, S2D_ERR_IO, "frame %llu failed", (unsigned long long)seq);
    }
    fill(t, seq, out);
    recharge(t, bound, out->len);
    atomic_store(&t->finished[seq], true);
    return true;
}

static bool sink(void *ctx, uint64_t seq, const uint8_t *frame, size_t len, s2d_error *err)
{
    test_run *t = ctx;
    if (seq != t->next_sink) {
        atomic_store(&t->not_in_order, true);
    }
    t->next_sink = seq + 1;
    if (seq >= t->fail_make_at || seq > t->fail_sink_at) {
        atomic_store(&t->sink_after_failure, true);
    }
    atomic_fetch_add(&t->sunk[seq], 1);
    uint64_t said = UINT64_MAX;
    if (len >= sizeof said) {
        memcpy(&said, frame, sizeof said);
    }
    bool pattern = len == len_of(t, seq);
    for (size_t i = sizeof said; pattern && i < len; i++) {
        pattern = frame[i] == (uint8_t)(seq + i);
    }
    if (said != seq || !pattern) {
        atomic_store(&t->bad_bytes, true);
    }
    atomic_fetch_sub(&t->bytes, len);
    atomic_fetch_sub(&t->frames, 1);
    if (seq == t->interrupt_at) {
        __atomic_store_n(&t->interrupt, 1, __ATOMIC_RELAXED);   // read by workers
    }
    if (seq == t->fail_sink_at) {
        return s2d_error_set(err, S2D_ERR_IO, "sink failed at %llu", (unsigned long long)seq);
    }
    return true;
}

static const s2d_pump_ops ops = {
    .worker_start = worker_start,
    .worker_stop = worker_stop,
    .frame_bound = frame_bound,
    .needs_made = needs_made,
    .make_inline = make_inline,
    .make_frame = make_frame,
    .sink = sink,
};

static test_run *new_run(uint64_t nframes)
{
    test_run *t = calloc(1, sizeof *t);
    t->nframes = nframes;
    t->budget = 40000;
    t->fail_make_at = t->fail_sink_at = t->interrupt_at = UINT64_MAX;
    t->caller = pthread_self();
    return t;
}

static bool run(test_run *t, int workers, s2d_error *err)
{
    s2d_pump_config cfg = {.nframes = t->nframes, .workers = workers, .max_bytes = t->budget,
                           .max_frames = 64, .interrupt = &t->interrupt};
    bool ok = s2d_pump_run(&ops, t, &cfg, err);
    int states = workers > 0 ? workers : 1;
    CHECK(atomic_load(&t->workers_started) == states);
    CHECK(atomic_load(&t->workers_stopped) == states);
    CHECK(!atomic_load(&t->not_in_order));
    CHECK(!atomic_load(&t->bad_bytes));
    CHECK(!atomic_load(&t->over_budget));
    CHECK(!atomic_load(&t->dependency_missing));
    CHECK(!atomic_load(&t->made_inline_elsewhere));
    CHECK(!atomic_load(&t->sink_after_failure));
    return ok;
}

static const int worker_counts[] = {0, 1, 2, 8};

// Every frame made once and sunk once, in order; with workers, several at once.
static void every_frame_once_in_order(void)
{
    for (size_t i = 0; i < sizeof worker_counts / sizeof *worker_counts; i++) {
        test_run *t = new_run(600);
        s2d_error err = {0};
        CHECK(run(t, worker_counts[i], &err));
        CHECK(err.code == S2D_OK);
        for (uint64_t s = 0; s < t->nframes; s++) {
            CHECK(atomic_load(&t->made[s]) == 1);
            CHECK(atomic_load(&t->sunk[s]) == 1);
        }
        CHECK(t->next_sink == t->nframes);
        if (worker_counts[i] > 1) {
            CHECK(atomic_load(&t->most_frames) > 2);
        }
        free(t);
    }
}

// Frames whose bound is five times the budget pass, each alone.
static void frame_larger_than_budget(void)
{
    for (size_t i = 0; i < sizeof worker_counts / sizeof *worker_counts; i++) {
        test_run *t = new_run(300);
        t->big_every = 25;
        s2d_error err = {0};
        CHECK(run(t, worker_counts[i], &err));
        CHECK(t->next_sink == t->nframes);
        free(t);
    }
}

// Frames that need earlier ones made wait for them; inline frames stay on the caller.
static void dependencies_and_inline(void)
{
    for (size_t i = 0; i < sizeof worker_counts / sizeof *worker_counts; i++) {
        test_run *t = new_run(400);
        t->depends_every = 10;
        t->inline_even = true;
        s2d_error err = {0};
        CHECK(run(t, worker_counts[i], &err));
        CHECK(t->next_sink == t->nframes);
        for (uint64_t s = 0; s < t->nframes; s++) {
            CHECK(atomic_load(&t->made[s]) == 1);
        }
        free(t);
    }
}

// Frames made after the run stopped at frame k: at most the window and one per worker.
static void check_stopped_promptly(const test_run *t, uint64_t k, int workers)
{
    uint64_t made = 0;
    for (uint64_t s = 0; s < t->nframes; s++) {
        made += (uint64_t)atomic_load(&t->made[s]);
    }
    CHECK(made <= k + 64 + (uint64_t)workers + 1);
    CHECK(t->next_sink <= k + 64 + 1);
}

static void make_error_stops_the_run(void)
{
    for (size_t i = 0; i < sizeof worker_counts / sizeof *worker_counts; i++) {
        test_run *t = new_run(1500);
        t->fail_make_at = 137;
        s2d_error err = {0};
        CHECK(!run(t, worker_counts[i], &err));
        CHECK(err.code == S2D_ERR_IO);
        CHECK(strcmp(err.message, "frame 137 failed") == 0);
        CHECK(t->next_sink <= 137);
        check_stopped_promptly(t, 137, worker_counts[i]);
        free(t);
    }
}

static void sink_error_stops_the_run(void)
{
    for (size_t i = 0; i < sizeof worker_counts / sizeof *worker_counts; i++) {
        test_run *t = new_run(1500);
        t->fail_sink_at = 99;
        s2d_error err = {0};
        CHECK(!run(t, worker_counts[i], &err));
        CHECK(err.code == S2D_ERR_IO);
        CHECK(strcmp(err.message, "sink failed at 99") == 0);
        CHECK(t->next_sink == 100);
        check_stopped_promptly(t, 99, worker_counts[i]);
        free(t);
    }
}

static void interrupt_cancels_the_run(void)
{
    for (size_t i = 0; i < sizeof worker_counts / sizeof *worker_counts; i++) {
        test_run *t = new_run(1500);
        t->interrupt_at = 200;
        s2d_error err = {0};
        CHECK(!run(t, worker_counts[i], &err));
        CHECK(err.code == S2D_ERR_CANCELLED);
        CHECK(t->next_sink > 200);
        check_stopped_promptly(t, 200, worker_counts[i]);
        free(t);
    }
}

int main(void)
{
    RUN(every_frame_once_in_order);
    RUN(frame_larger_than_budget);
    RUN(dependencies_and_inline);
    RUN(make_error_stops_the_run);
    RUN(sink_error_stops_the_run);
    RUN(interrupt_cancels_the_run);
    return harness_failures != 0;
}
