// SPDX-License-Identifier: Apache-2.0
/* Two digests of the files a slide is made of (listed by source/fileset.h):
 *  - the change key: names, sizes and modification times (stat only, no reading), which
 *    decides whether a batch must redo a slide;
 *  - the content fingerprint: over sizes and every byte, which identifies the slide
 *    wherever it lies and seeds deterministic UIDs.
 */
#ifndef S2D_FINGERPRINT_H
#define S2D_FINGERPRINT_H

#include <stdbool.h>
#include <stdint.h>

#include "slide2dcm/error.h"

typedef struct s2d_slide_file {
    char *path;              // as opened
    uint64_t size;
    int64_t mtime_ns;
} s2d_slide_file;

typedef struct s2d_slide_files {
    int n;                   // files[0] is the slide itself, then its companions by name
    s2d_slide_file *files;
} s2d_slide_files;

/** Frees the list (s2d_slide_files_list fills it); leaves it empty. */
void s2d_slide_files_free(s2d_slide_files *files);

/** Change key (64 hex + NUL) from the listing: file names relative to the slide's folder,
 *  sizes, modification times. */
void s2d_slide_change_key(const s2d_slide_files *files, char out[65]);

/** Content fingerprint (64 hex + NUL): SHA-256 of each file's size and the XXH3-128 of
 *  every byte of it (its listed size), so that two slides differing anywhere, pixels
 *  included, differ. Names and times are left out: a copy or a renamed slide has the same
 *  fingerprint. Reads every file once. */
bool s2d_slide_fingerprint(const s2d_slide_files *files, char out[65], s2d_error *err);

#endif
