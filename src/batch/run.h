// SPDX-License-Identifier: Apache-2.0
/* Runs a batch plan: each slide converted by a child process (`slide2dcm convert`) into a
 * staging folder, moved into OUTROOT/<name> when complete, its outcome journaled; then
 * OUTROOT/batch-report.json. What happened comes back as counts and an s2d_error; the
 * caller shows progress, notices and the summary (nothing here prints). */
#ifndef S2D_BATCH_RUN_H
#define S2D_BATCH_RUN_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "batch/plan.h"

typedef struct s2d_batch_options {
    const char *input;           // for the report
    const char *outroot;
    const char *self_exe;        // the slide2dcm binary the children run
    int jobs;                    // slides at once (>= 1)
    int threads;                 // encoder threads per slide; 0 = the cores shared by the jobs
    bool force;                  // redo slides the journal says are done
    char **convert_args;         // options forwarded to every `convert`
    int nconvert_args;
    const json_t *metadata;      // --metadata DICOM JSON; a manifest row's columns win

    // Sending each slide after its conversion (NULL: no sending). send_slide runs in a
    // child process of the batch: it sends the .dcm files of dir, writes the per-instance
    // outcomes as JSON (the format of `slide2dcm send --json-report`) to report_path and
    // returns the exit status of `send` (S2D_EXIT_OK all stored, S2D_EXIT_NOT_STORED not
    // stored, S2D_EXIT_INTERRUPTED interrupted: core/exit_status.h). With progress_path
    // (non-NULL when progress is shown) it keeps that file a line "BYTES_SENT BYTES_TOTAL",
    // replaced whole by a rename.
    int (*send_slide)(void *ctx, const char *dir, const char *report_path,
                      const char *progress_path, const volatile sig_atomic_t *interrupt);
    void *send_ctx;
    // The archive, as the journal records it: a slide sent there is not sent again.
    const char *send_destination;
} s2d_batch_options;

/** A slide being converted or sent, as the progress callback sees it. The converter
 *  reports its frames through a small file in the staging folder (docs/batch.md). */
typedef struct s2d_batch_running {
    const char *source;          // the plan's string
    bool sending;                // converted; its files are being sent
    uint64_t frames_done, frames_total;   // 0 of 0 until the converter's first frame
    uint64_t bytes_sent, bytes_total;     // sending: 0 of 0 until the sender says
    double seconds;              // since its conversion (or sending) started
} s2d_batch_running;

/** Where the run stands, handed to the progress callback when a slide starts or ends and
 *  at least once a second in between. When sending, a slide is done once stored. */
typedef struct s2d_batch_progress {
    int done, failed, left;
    // Level-0 megapixels converted in this run over its time so far, the slides in
    // progress counted by their share of frames done.
    double megapixels_per_second;
    double eta_seconds;             // -1 until some work is done
    bool final;                     // the last call, after every slide
    const s2d_batch_running *running;   // nrunning entries, valid during the call only
    int nrunning;
} s2d_batch_progress;

/** A slide whose conversion or sending ended in this run, for the finished callback. */
typedef struct s2d_batch_event {
    const char *source;          // the plan's string
    // "converted", "failed", "interrupted" (a conversion); "stored", "not stored",
    // "sending interrupted" (sending)
    const char *what;
    const char *error;           // the reason for "failed" and "not stored"; else NULL
    double seconds;              // the conversion's or the sending's
    double megapixels;           // converted: level 0's (a slide) or its pages'
} s2d_batch_event;

/** A slide that failed to convert, or was converted but not stored by the archive. */
typedef struct s2d_batch_failure {
    char *source;                // owned by the result
    char *error;                 // owned by the result
    bool not_stored;             // converted; sending it failed
} s2d_batch_failure;

/** What a run did. Free with s2d_batch_result_free. */
typedef struct s2d_batch_result {
    bool ran;                    // the slides were run (false: OUTROOT could not be set up)
    int slides;
    int converted, already_converted, already_done, failed, interrupted, not_run;
    int sent, already_sent, send_failed, send_interrupted;   // when sending
    double bytes;                // written by the conversions of this run
    double seconds;
    int nignored;                // files of the folder that are not slides
    s2d_batch_failure *failures; // nfailures entries in plan order, owned by the result
    int nfailures;
    // OUTROOT/<name> of every slide whose conversion is in place (converted now or
    // before), in plan order; owned by the result.
    char **converted_dirs;
    int nconverted_dirs;
} s2d_batch_result;

typedef struct s2d_batch_callbacks {
    void (*progress)(void *ctx, const s2d_batch_progress *p);   // NULL: none
    void (*finished)(void *ctx, const s2d_batch_event *e);      // NULL: none
    void (*notice)(void *ctx, const char *message);              // NULL: none
    void *ctx;
} s2d_batch_callbacks;

/** Runs the plan and fills *result (also on failure; free it either way).
 *  @return true when every slide was run and recorded (some may have failed to convert or
 *  to send: see result); false with err: S2D_ERR_CANCELLED interrupted by SIGINT or
 *  SIGTERM, S2D_ERR_USAGE the convert options are unusable or another batch holds OUTROOT,
 *  S2D_ERR_IO OUTROOT, its journal or its report cannot be written, S2D_ERR_NOMEM. */
bool s2d_batch_run(const s2d_batch_plan *plan, const s2d_batch_options *o,
                   const s2d_batch_callbacks *cb, s2d_batch_result *result, s2d_error *err);

/** Frees what s2d_batch_run put in result (not result itself). */
void s2d_batch_result_free(s2d_batch_result *result);

#endif
