// SPDX-License-Identifier: Apache-2.0
/* The files a slide is made of, with their sizes and times: formats that spread a slide
 * over several files count all of them: MIRAX (X.mrxs + folder X/) and Hamamatsu VMS/VMU
 * (the key file + every file it names). The digests of the list are core/fingerprint.h's. */
#ifndef S2D_FILESET_H
#define S2D_FILESET_H

#include <stdbool.h>

#include "core/fingerprint.h"
#include "slide2dcm/error.h"

/** Lists the slide's files into out (freed with s2d_slide_files_free). Fails if the slide
 *  or a companion its key file names cannot be read. */
bool s2d_slide_files_list(const char *slide_path, s2d_slide_files *out, s2d_error *err);

/** True for a name whose format spreads a slide over several files (.mrxs, .vms, .vmu). */
bool s2d_slide_is_multifile(const char *path);

#endif
