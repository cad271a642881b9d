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
