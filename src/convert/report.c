// SPDX-License-Identifier: Apache-2.0
/* The conversion's report (see report.h). */
#include "convert/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/outdir.h"

void s2d_report_fill(s2d_convert_report *report, const s2d_output *outputs, int noutputs,
                     int warnings, bool ok)
{
    memset(report, 0, sizeof *report);
    report->warnings = warnings;
    size_t nfiles = 0;
    s2d_output_file *files = ok ? s2d_outdir_files(outputs, noutputs, &nfiles) : NULL;
    report->files = files ? calloc(nfiles ? nfiles : 1, sizeof *report->files) : NULL;
    if (!report->files) {
        free(files);
        return;
    }
    report->nfiles = (int)nfiles;
    for (size_t i = 0; i < nfiles; i++) {
        const s2d_part10_file *file = &files[i].info;
        const s2d_output *out = &outputs[files[i].output];
        s2d_file_report *f = &report->files[i];
        snprintf(f->name, sizeof f->name, "%s", s2d_base_name(file->final_path));
        snprintf(f->level_name, sizeof f->level_name, "%s", out->name);
        snprintf(f->flavor, sizeof f->flavor, "%s", out->flavor);
        snprintf(f->sop_class_uid, sizeof f->sop_class_uid, "%s", out->sop_class_uid);
        snprintf(f->study_instance_uid, sizeof f->study_instance_uid, "%s", file->study_uid);
        snprintf(f->series_instance_uid, sizeof f->series_instance_uid, "%s", file->series_uid);
        snprintf(f->sop_instance_uid, sizeof f->sop_instance_uid, "%s", file->sop_instance_uid);
        f->width = out->width;
        f->height = out->height;
        f->frames = file->nframes;
        f->bytes = file->frame_bytes;
        // A part's own time; a whole level's comes from the pipeline.
        f->seconds = file->in_concatenation_number ? file->seconds : out->seconds;
        f->first_frame_s = out->role == S2D_ROLE_LEVEL && !file->in_concatenation_number
                               ? out->first_frame_s : -1;
        snprintf(f->mode, sizeof f->mode, "%s", out->copied ? "copy" : "encode");
        snprintf(f->transfer_syntax, sizeof f->transfer_syntax, "%s", out->transfer_syntax);
        snprintf(f->photometric, sizeof f->photometric, "%s", out->photometric);
        f->replaced_tiles = out->replaced_frames;
        if (file->in_concatenation_number) {
            snprintf(f->concatenation_uid, sizeof f->concatenation_uid, "%s",
                     file->concatenation_uid);
            f->in_concatenation_number = file->in_concatenation_number;
            f->in_concatenation_total = file->in_concatenation_total;
            f->frame_offset = file->frame_offset;
        }
    }
    free(files);
}

json_t *s2d_report_json(const s2d_convert_report *report)
{
    json_t *root = json_object();
    json_t *files = json_array();
    if (!root || !files) {
        json_decref(root);
        json_decref(files);
        return NULL;
    }
    json_object_set_new(root, "seconds", json_real(report->seconds));
    json_object_set_new(root, "warnings", json_integer(report->warnings));
    if (report->kind[0]) {
        json_object_set_new(root, "kind", json_string(report->kind));
        json_object_set_new(root, "kind_reason", json_string(report->kind_reason));
    }
    if (report->deidentified_container_id[0]) {
        // The lab's key from this slide to its pseudonym (README "De-identification").
        json_object_set_new(root, "deidentified",
                            json_pack("{s:s, s:b}", "container_identifier",
                                      report->deidentified_container_id, "generated",
                                      report->container_id_generated));
    }
    for (int i = 0; i < report->nfiles; i++) {
        const s2d_file_report *f = &report->files[i];
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(f->name));
        json_object_set_new(o, "flavor", json_string(f->flavor));
        json_object_set_new(o, "sop_class_uid", json_string(f->sop_class_uid));
        json_object_set_new(o, "study_instance_uid", json_string(f->study_instance_uid));
        json_object_set_new(o, "series_instance_uid", json_string(f->series_instance_uid));
        json_object_set_new(o, "sop_instance_uid", json_string(f->sop_instance_uid));
        json_object_set_new(o, "width", json_integer(f->width));
        json_object_set_new(o, "height", json_integer(f->height));
        json_object_set_new(o, "tiles", json_integer((json_int_t)f->frames));
        json_object_set_new(o, "bytes", json_integer((json_int_t)f->bytes));
        json_object_set_new(o, "seconds", json_real(f->seconds));
        if (f->first_frame_s >= 0) {
            json_object_set_new(o, "first_frame_s", json_real(f->first_frame_s));
        }
        json_object_set_new(o, "mode", json_string(f->mode));
        json_object_set_new(o, "transfer_syntax", json_string(f->transfer_syntax));
        json_object_set_new(o, "photometric", json_string(f->photometric));
        json_object_set_new(o, "replaced_tiles", json_integer((json_int_t)f->replaced_tiles));
        json_object_set_new(o, "tiles_per_second",
                            f->seconds > 0 ? json_real((double)f->frames / f->seconds) : json_null());
        if (f->in_concatenation_number) {
            // A part of a level split by --max-instance-size (replaced_tiles: the level's).
            json_t *c = json_object();
            json_object_set_new(c, "level", json_string(f->level_name));
            json_object_set_new(c, "uid", json_string(f->concatenation_uid));
            json_object_set_new(c, "number", json_integer(f->in_concatenation_number));
            json_object_set_new(c, "total", json_integer(f->in_concatenation_total));
            json_object_set_new(c, "frame_offset", json_integer((json_int_t)f->frame_offset));
            json_object_set_new(o, "concatenation", c);
        }
        json_array_append_new(files, o);
    }
    json_object_set_new(root, "files", files);
    return root;
}
