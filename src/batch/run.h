/* Runs a batch plan: each slide converted by a child process (`slide2dcm convert`) into a
 * staging folder, moved into OUTROOT/<name> when complete, its outcome journaled; then
 * OUTROOT/batch-report.json and a summary. */
#ifndef S2D_BATCH_RUN_H
#define S2D_BATCH_RUN_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>

#include "batch/plan.h"

typedef struct s2d_batch_options {
    const char *input;           // for the report
    const char *outroot;
    const char *self_exe;        // the slide2dcm binary the children run
    int jobs;                    // slides at once (>= 1)
    int threads;                 // encoder threads per slide; 0 = the cores shared by the jobs
    bool force;                  // redo slides the journal says are done
    bool quiet;                  // no progress line, no summary
    char **convert_args;         // options forwarded to every `convert`
    int nconvert_args;
    const json_t *metadata;      // --metadata DICOM JSON; a manifest row's columns win

    // Sending each slide after its conversion (NULL: no sending). send_slide runs in a
    // child process of the batch: it sends the .dcm files of dir, writes the per-instance
    // outcomes as JSON (the format of `slide2dcm send --json-report`) to report_path and
    // returns the exit status of `send` (0 all stored, 4 not stored, 130 interrupted).
    int (*send_slide)(void *ctx, const char *dir, const char *report_path,
                      const volatile sig_atomic_t *interrupt);
    void *send_ctx;
    // The archive, as the journal records it: a slide sent there is not sent again.
    const char *send_destination;
} s2d_batch_options;

/** Runs the plan. Returns the exit status: 0 every slide converted or already done (and,
 *  when sending, stored), 1 some slide failed to convert, 2 the convert options are
 *  unusable, 3 OUTROOT cannot be written, 4 every slide converted but some were not
 *  stored by the archive, 130 interrupted by SIGINT or SIGTERM. */
int s2d_batch_run(const s2d_batch_plan *plan, const s2d_batch_options *o);

#endif
