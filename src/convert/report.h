// SPDX-License-Identifier: Apache-2.0
/* The report of one conversion: one entry per file written, the parts of a concatenation
 * each with its own, filled from the outputs and their finished writers. */
#ifndef S2D_CONVERT_REPORT_H
#define S2D_CONVERT_REPORT_H

#include <jansson.h>
#include <stdbool.h>

#include "convert/output.h"
#include "slide2dcm/slide2dcm.h"

/** Fills *report (report->files is malloc'd, freed by s2d_convert_report_free); after a
 *  failure (!ok) only the warning count. */
void s2d_report_fill(s2d_convert_report *report, const s2d_output *outputs, int noutputs,
                     int warnings, bool ok);

/** The report as JSON: seconds, warnings, kind and kind_reason (plain TIFFs), and per file
 *  its name, flavor, SOP Class, size, tiles, bytes, timing, mode, transfer syntax,
 *  photometric, replaced tiles and concatenation. A new reference the caller decrefs, or
 *  NULL when out of memory. The command line's --json-report and s2d_convert_json share it. */
json_t *s2d_report_json(const s2d_convert_report *report);

#endif
