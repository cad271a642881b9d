// SPDX-License-Identifier: Apache-2.0
/* A DICOM media folder (PS3.10, PS3.12): the files of one or more conversions under
 * media-safe File IDs (at most 8 characters of A-Z 0-9 _, 3 levels) and a DICOMDIR
 * (iod/dicomdir.c) that references every one, for a CD, a DVD or a USB stick.
 * docs/media.md says more. */
#ifndef S2D_CONVERT_MEDIA_H
#define S2D_CONVERT_MEDIA_H

#include <stdbool.h>
#include <stddef.h>

#include "slide2dcm/error.h"

typedef struct s2d_media_report {
    size_t files;        // instances in the DICOMDIR
    size_t copied;       // of them copied (the others are hard links)
    int invented;        // records with a type 1 key the files leave empty, made up
} s2d_media_report;

/** Whether media can become a media folder: it is missing, empty, or holds nothing but
 *  DICOMDIR, S2D and hidden entries (one made before, which s2d_media_make replaces), and
 *  it and output (convert's OUTDIR, batch's OUTROOT; NULL: none) are apart, neither in
 *  the other, as written. Otherwise a usage error naming what is in the way. */
bool s2d_media_check(const char *media, const char *output, s2d_error *err);

/** Makes media (created if missing; see s2d_media_check) a media folder of the .dcm files
 *  directly in dirs[0..n): dirs[k]'s files, in name order, become media/S2D/SLkkkkkk/IMjjjjjj
 *  (k and j from 1), hard links to them when the file system allows, else copies written
 *  to disk; then media/DICOMDIR, written under a temporary name and renamed, last. A
 *  media folder made before is removed first. rep may be NULL. */
bool s2d_media_make(const char *media, const char *const *dirs, size_t n, s2d_media_report *rep,
                    s2d_error *err);

#endif
