// SPDX-License-Identifier: Apache-2.0
/* An ordered parallel frame producer. It knows frames by sequence number (0 .. n-1), not
 * images: the calling thread hands the frames out in order, worker threads make them in
 * whatever order they finish, and the sink receives them strictly in order, one at a time.
 * There is no writer thread: whichever thread finishes the frame due next takes the "write
 * turn" and sinks it and every frame already made after it (a thread of its own that only
 * writes woke ~1,000 times a run and displaced a busy worker each time).
 *
 * The window of frames handed out but not yet sunk is bounded in bytes: a frame is charged
 * its bound (ops.frame_bound) from hand-out until made, then its real size until sunk. A
 * frame larger than the whole budget still passes, alone. max_frames also bounds how far
 * ahead of the frame due next a frame may be handed out (the reorder distance).
 *
 * What a frame depends on (a generated level's rows need earlier frames' results) stays
 * with the caller: ops.needs_made says which earlier frames must be made before a frame is
 * handed out, and the pump waits for them.
 *
 * With 0 workers everything runs on the calling thread, in order (tests, debugging). */
#ifndef S2D_PUMP_H
#define S2D_PUMP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "slide2dcm/error.h"

typedef struct s2d_pump_ops {
    /** Per-worker state, made on the calling thread before the run starts; NULL with err set
     *  fails the run. What it returns belongs to the caller and is given back to worker_stop. */
    void *(*worker_start)(void *ctx, int index, s2d_error *err);
    /** Frees a worker_start result (called on the calling thread after the workers stopped). */
    void (*worker_stop)(void *ctx, void *worker);
    /** Upper bound of frame seq's size: what the frame is charged while it is made. */
    size_t (*frame_bound)(void *ctx, uint64_t seq);
    /** Optional: frames 0 .. returned-1 must all be made before seq is handed out. Asked on
     *  the calling thread, in order, without the pump's lock. */
    uint64_t (*needs_made)(void *ctx, uint64_t seq);
    /** Optional: lets the calling thread make a cheap frame itself (one read), sparing two
     *  thread hand-offs. False hands the frame to a worker, which makes it afresh. */
    bool (*make_inline)(void *ctx, uint64_t seq, s2d_buf *out);
    /** Makes frame seq into out (empty; its capacity is kept from earlier frames). Runs on
     *  a worker thread, or the calling thread with 0 workers. */
    bool (*make_frame)(void *worker, uint64_t seq, s2d_buf *out, s2d_error *err);
    /** Takes frame seq, made: called for 0, 1, 2 ... in order, never two at once, by the
     *  thread holding the write turn. The bytes belong to the pump. */
    bool (*sink)(void *ctx, uint64_t seq, const uint8_t *frame, size_t len, s2d_error *err);
} s2d_pump_ops;

typedef struct s2d_pump_config {
    uint64_t nframes;
    int workers;             // worker threads; 0: everything on the calling thread
    size_t max_bytes;        // the window's budget (see above)
    uint32_t max_frames;     // frames handed out and not yet sunk, at most (>= 1)
    const volatile sig_atomic_t *interrupt;   // optional: non-zero cancels the run
} s2d_pump_config;

/** Makes and sinks frames 0 .. nframes-1. The first error wins: the run stops promptly, no
 *  frame after the failed one reaches the sink, and err holds that error (S2D_ERR_CANCELLED
 *  when interrupted). True when every frame was sunk. */
bool s2d_pump_run(const s2d_pump_ops *ops, void *ctx, const s2d_pump_config *cfg,
                  s2d_error *err);

#endif
