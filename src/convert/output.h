// SPDX-License-Identifier: Apache-2.0
/* One output instance in the making, as the conversion's other parts see it. */
#ifndef S2D_CONVERT_OUTPUT_H
#define S2D_CONVERT_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>

#include "dicom/part10.h"
#include "iod/iod.h"

// One output instance in the making: one file, or with --max-instance-size maybe the
// parts of a concatenation (the writer knows them once finished).
typedef struct s2d_output {
    char name[64];                    // the file name of the whole instance
    s2d_part10 *writer;
    s2d_role role;
    const char *flavor;               // the IOD's name for role (static)
    const char *sop_class_uid;        // static
    int64_t width, height;
    uint32_t nframes;
    double seconds;
    double first_frame_s;    // pyramid levels; -1 for the others
    bool copied;
    const char *transfer_syntax;
    char photometric[16];
    uint64_t replaced_frames;         // copied levels: frames made because the source's broke
} s2d_output;

#endif
