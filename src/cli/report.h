/* The --json-report file: per-file tiles, bytes, seconds and tiles/s of one conversion. */
#ifndef S2D_CLI_REPORT_H
#define S2D_CLI_REPORT_H

#include "slide2dcm/slide2dcm.h"

/** Writes the report atomically (temporary file, then rename). ok=false records err.
 *  sent (a jansson json_t * from s2d_cli_send_run, or NULL) is stolen into "sent". */
bool s2d_report_write(const char *path, const char *slide, const char *outdir, bool ok,
                      const s2d_convert_report *report, const s2d_error *err, void *sent);

#endif
