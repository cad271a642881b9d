// SPDX-License-Identifier: Apache-2.0
/* What the command line's subcommands share: the --json-report file of a conversion
 * (per-file tiles, bytes, seconds and tiles/s) and the one-line usage error. */
#ifndef S2D_CLI_REPORT_H
#define S2D_CLI_REPORT_H

#include <stdio.h>

#include "core/exit_status.h"
#include "slide2dcm/slide2dcm.h"

/** Writes the report atomically (temporary file, then rename; "-": standard output).
 *  ok=false records err.
 *  sent (a jansson json_t * from s2d_cli_send_run, or NULL) is stolen into "sent". */
bool s2d_report_write(const char *path, const char *slide, const char *outdir, bool ok,
                      const s2d_convert_report *report, const s2d_error *err, void *sent);

/** Writes json (a jansson json_t *, borrowed) to path atomically (temporary file, then
 *  rename), or to standard output when path is "-". @return false when it could not. */
bool s2d_cli_json_write(void *json, const char *path);

/** Prints "slide2dcm VERSION" and the versions of the libraries it was built with and
 *  loads (--version of every command). */
void s2d_cli_print_version(FILE *out);

/** A duration for a progress line, h:mm:ss: "0:04:05", "27:03:10". */
void s2d_cli_format_duration(double seconds, char *out, size_t size);

/** --dicomdir: makes media a DICOM media folder of the .dcm files in dirs[0..n)
 *  (convert/media.h) and says so unless quiet. @return the exit status (0, or that of the
 *  error, printed). */
int s2d_cli_make_media(const char *media, const char *const *dirs, size_t n, bool quiet);

/** The exit status of the command line for an error code (0 for S2D_OK). */
int s2d_cli_exit_status(s2d_error_code code);

/** Prints "slide2dcm: MESSAGE" and a pointer to `slide2dcm [command] --help` on stderr.
 *  command is "" for convert, or e.g. "batch". @return S2D_EXIT_USAGE. */
int s2d_cli_usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
