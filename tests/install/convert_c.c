// SPDX-License-Identifier: Apache-2.0
/* A C program a user of the installed library would write, built by tests/install/check.sh
 * with `pkg-config --cflags --libs slide2dcm`: converts SLIDE into OUTDIR with a progress
 * callback, then converts a missing file and expects the error code and message.
 * usage: convert_c SLIDE OUTDIR */
#include <stdio.h>
#include <string.h>

#include <slide2dcm/slide2dcm.h>

static void on_progress(void *ctx, const s2d_progress *p)
{
    unsigned long long *calls = ctx;
    (*calls)++;
    if (p->frames_done > p->frames_total) {
        fprintf(stderr, "progress past the total\n");
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: convert_c SLIDE OUTDIR\n");
        return 2;
    }
    unsigned long long calls = 0;
    s2d_convert_options opts;
    s2d_convert_options_init(&opts);
    opts.threads = 2;
    opts.progress = on_progress;
    opts.callback_ctx = &calls;
    s2d_convert_report report;
    s2d_error err = {0};
    if (!s2d_convert(argv[1], argv[2], &opts, &report, &err)) {
        fprintf(stderr, "convert failed: %s\n", err.message);
        return 1;
    }
    printf("slide2dcm %s: %d files, %llu progress calls, first %s\n", s2d_version(),
           report.nfiles, calls, report.nfiles ? report.files[0].name : "-");
    int files = report.nfiles;
    s2d_convert_report_free(&report);

    s2d_error missing = {0};
    bool ok = s2d_convert("/nonexistent/slide.svs", argv[2], &opts, NULL, &missing);
    if (ok || missing.code != S2D_ERR_INPUT || !strstr(missing.message, "No such file")) {
        fprintf(stderr, "a missing slide gave ok=%d code=%d: %s\n", ok, missing.code,
                missing.message);
        return 1;
    }
    printf("missing slide: code %d: %s\n", missing.code, missing.message);
    return files > 0 && calls > 0 ? 0 : 1;
}
