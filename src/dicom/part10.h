/* Streaming Part 10 writer for one instance with encapsulated Pixel Data: header and
 * dataset first, then frames one at a time; the offset table space is reserved up front
 * and filled by s2d_part10_finish(). Frames are never held in memory. */
#ifndef S2D_PART10_H
#define S2D_PART10_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dicom/ds.h"

typedef struct s2d_part10 s2d_part10;

typedef struct s2d_part10_params {
    const char *final_path;          // renamed to this by s2d_part10_commit()
    const char *sop_class_uid;
    const char *sop_instance_uid;
    const char *transfer_syntax_uid;
    const s2d_ds *dataset;           // everything but Pixel Data and the offset tables
    uint32_t nframes;
    bool extended_offsets;           // empty BOT + Extended Offset Table (and Lengths)
    // Lossy Image Compression Ratio (0028,2112) is known only at the end: when the
    // dataset holds it, the last 16 bytes of its (even-length) value are overwritten
    // with raw / encoded, left-justified.
    uint64_t uncompressed_bytes;
} s2d_part10_params;

/** Creates a hidden temporary file next to final_path and writes everything up to the
 *  first frame. @return the writer, or NULL with err set (nothing left on disk). */
s2d_part10 *s2d_part10_open(const s2d_part10_params *params, s2d_error *err);

/** Appends one frame as one fragment, padded to even length. Not thread-safe. */
bool s2d_part10_add_frame(s2d_part10 *w, const uint8_t *data, size_t len, s2d_error *err);

/** Writes the delimiter, fills the offset table and the ratio, flushes to disk. */
bool s2d_part10_finish(s2d_part10 *w, s2d_error *err);

/** Renames the finished temporary file to its final name. */
bool s2d_part10_commit(s2d_part10 *w, s2d_error *err);

/** Bytes of encoded frames written so far (fragments, padding included). */
uint64_t s2d_part10_frame_bytes(const s2d_part10 *w);

/** Closes the writer; removes the temporary file unless it was committed. NULL is a no-op. */
void s2d_part10_free(s2d_part10 *w);

#endif
