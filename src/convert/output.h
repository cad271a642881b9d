// SPDX-License-Identifier: Apache-2.0
/* One output instance in the making, as the conversion's other parts see it, and the one
 * way every IOD's conversion opens its writer (output.c). */
#ifndef S2D_CONVERT_OUTPUT_H
#define S2D_CONVERT_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>

#include "convert/identity.h"
#include "slide2dcm/error.h"
#include "dicom/part10.h"
#include "iod/iod.h"
#include "iod/plan.h"

// One output instance in the making: one file, or with --max-instance-size maybe the
// parts of a concatenation (the writer knows them once finished).
typedef struct s2d_output {
    char name[64];                    // the file name of the whole instance
    s2d_part10 *writer;
    s2d_role role;
    const char *flavor;               // the IOD's name for role (static)
    const char *sop_class_uid;        // static
    int64_t width, height;
    uint32_t nframes;
    double seconds;
    double first_frame_s;    // pyramid levels; -1 for the others
    bool copied;
    const char *transfer_syntax;
    char photometric[16];
    uint64_t replaced_frames;         // copied levels: frames made because the source's broke
} s2d_output;

/** What every instance of one conversion is written with (all borrowed from it). */
typedef struct s2d_output_context {
    const char *outdir;               // the folder the files are written in (the staging one)
    const s2d_identity *id;           // the UIDs, the datasets' last filter, the layout rules
    const s2d_iod_shared *shared;     // what every instance's dataset shares
} s2d_output_context;

/** Opens the Part 10 writer of planned instance pi (its name, IOD and codec) into out: the
 *  file in ctx->outdir, its SOP Instance UID from ctx->id, its dataset built by pi's IOD from
 *  ctx->shared and in, then given ctx->id's last filter (--deidentify), and everything before
 *  the first frame written.
 *  params: what only the caller knows of the file (frames, deferred values, native words,
 *  deflate, a streamed value); the rest is filled here. Borrowed for the call only.
 *  frame_bound: the largest frame the instance can receive: identity then lays the frames
 *  out (the offset table kind, the split under --max-instance-size) the same way for every
 *  IOD. 0: params already says how (native frames, a streamed value, pages' own rule).
 *  out is then described from pi and in (first_frame_s -1: not a timed level yet), and
 *  owns the writer (s2d_part10_free). @return false with err set, out->writer NULL. */
bool s2d_output_open(const s2d_output_context *ctx, const s2d_plan_instance *pi,
                     const s2d_iod_instance *in, s2d_part10_params *params,
                     uint64_t frame_bound, s2d_output *out, s2d_error *err);

#endif
