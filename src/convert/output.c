// SPDX-License-Identifier: Apache-2.0
/* Opening one output instance's writer: the steps every IOD's conversion takes in the same
 * order (path, UID, dataset, filter, layout, file), so that a slide, a plain TIFF's pages,
 * a microscopy file and a PDF document name, identify and de-identify their files alike. */
#include "convert/output.h"

#include <stdio.h>
#include <string.h>

#include "convert/outdir.h"
#include "dicom/ds.h"

bool s2d_output_open(const s2d_output_context *ctx, const s2d_plan_instance *pi,
                     const s2d_iod_instance *in, s2d_part10_params *params,
                     uint64_t frame_bound, s2d_output *out, s2d_error *err)
{
    out->writer = NULL;
    char path[4096], uid[S2D_UID_MAX];
    if (!s2d_outdir_path(ctx->outdir, pi->name, path, sizeof path, err) ||
        !s2d_identity_instance_uid(ctx->id, pi->name, uid, err)) {
        return false;
    }
    s2d_ds *ds = pi->iod->build(ctx->shared, in, uid, err);
    if (!ds || !s2d_identity_finish_dataset(ctx->id, ds, err)) {
        s2d_ds_free(ds);
        return false;
    }
    params->final_path = path;
    params->sop_class_uid = pi->iod->sop_class_uid;
    params->sop_instance_uid = uid;
    params->transfer_syntax_uid = pi->codec->transfer_syntax_uid;
    params->dataset = ds;
    // The table kind must be chosen before the first frame; the BOT is used whenever the
    // frames cannot reach 4 GiB even at their worst case (10: an item header, a pad byte).
    s2d_part10_split split;
    char concatenation_uid[S2D_UID_MAX];
    bool ok = frame_bound == 0 ||
              s2d_identity_offsets_and_split(ctx->id, pi->name,
                                             (uint64_t)in->nframes * (frame_bound + 10),
                                             params, &split, concatenation_uid, err);
    s2d_part10 *writer = ok ? s2d_part10_open(params, err) : NULL;
    s2d_ds_free(ds);
    // path, uid and split are this call's: params must not point at them past it.
    params->final_path = params->sop_instance_uid = NULL;
    params->dataset = NULL;
    params->split = NULL;
    if (!writer) {
        return false;
    }
    memset(out, 0, sizeof *out);
    out->writer = writer;
    snprintf(out->name, sizeof out->name, "%s", pi->name);
    out->role = in->role;
    out->flavor = pi->iod->image_type[in->role];
    out->sop_class_uid = pi->iod->sop_class_uid;
    out->width = in->total_width;
    out->height = in->total_height;
    out->nframes = in->nframes;
    out->first_frame_s = -1;
    out->copied = in->copied;
    out->transfer_syntax = pi->codec->transfer_syntax_uid;
    snprintf(out->photometric, sizeof out->photometric, "%s",
             in->photometric ? in->photometric : "");
    return true;
}
