// SPDX-License-Identifier: Apache-2.0
/* Chosen top-level text attributes of a Part 10 dataset, read without loading the file:
 * what a DICOMDIR record needs from the files it references. The dataset is Explicit VR
 * Little Endian, deflated or not (PS3.5 A.2, A.5), as slide2dcm writes every file; values
 * not asked for (pixel data, an encapsulated document, sequences) are skipped, not read. */
#ifndef S2D_SCAN_H
#define S2D_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slide2dcm/error.h"

/** Reads the values of tags[0..n) (ascending, top level) from the dataset of path, which
 *  starts at byte offset (after the meta group); deflated: Deflated Explicit VR Little
 *  Endian. values[i] receives a malloc'd copy of the value without its padding (trailing
 *  spaces and NULs), the caller's to free, or NULL when the file has no such attribute.
 *  The scan ends after the last tag asked for. S2D_ERR_INPUT for a dataset that is not
 *  well formed (values[] then all NULL), S2D_ERR_IO when the file cannot be read. */
bool s2d_scan_values(const char *path, uint64_t offset, bool deflated, const uint32_t *tags,
                     size_t n, char **values, s2d_error *err);

#endif
