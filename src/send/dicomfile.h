// SPDX-License-Identifier: Apache-2.0
/* What sending needs from a Part 10 file without loading it: the UIDs of its file meta
 * group and where the dataset starts (C-STORE sends the dataset bytes as they are). */
#ifndef S2D_SEND_DICOMFILE_H
#define S2D_SEND_DICOMFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "slide2dcm/error.h"
#include "slide2dcm/send.h"

typedef struct s2d_dicomfile {
    char sop_class_uid[S2D_SEND_UID_SIZE];
    char sop_instance_uid[S2D_SEND_UID_SIZE];
    char transfer_syntax_uid[S2D_SEND_UID_SIZE];
    uint64_t dataset_offset;   // first byte after the file meta group
    uint64_t size;             // whole file
} s2d_dicomfile;

/** Reads the preamble and file meta group of path. Fails with S2D_ERR_INPUT when the file
 *  is not Part 10 DICOM or lacks one of the three UIDs, S2D_ERR_IO when it cannot be read. */
bool s2d_dicomfile_read(const char *path, s2d_dicomfile *out, s2d_error *err);

#endif
