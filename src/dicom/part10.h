// SPDX-License-Identifier: Apache-2.0
/* Streaming Part 10 writer for one multi-frame instance: header and dataset first, then
 * frames one at a time. Frames are never held in memory.
 * - Encapsulated Pixel Data (OB, undefined length, one fragment a frame): the offset table
 *   space is reserved up front and filled when the writer completes.
 * - Native Pixel Data (OW for 16-bit samples, OB otherwise): the frames back to back in
 *   one value whose defined length is known from the frame count and size, padded to
 *   even; 1-bit frames follow each other bit by bit, without padding between them.
 * Values known only once every frame is written (the Lossy Image Compression Ratio; a
 * window computed over all frames) are deferred: reserved in the dataset, patched at the
 * end.
 *
 * With a size cap (s2d_part10_split) the same writer may instead make a DICOM
 * concatenation (PS3.3 C.7.6.16): several instances of at most the cap each, written as
 * NAME-part-1.dcm, NAME-part-2.dcm ... next to final_path. The offset table precedes the
 * frames and the number of frames a part can take is known only once its frames are
 * there, so the frames are first gathered in an unlinked spool file next to final_path and
 * a part is written out (header, exact table, frames) when the next frame would take it
 * over the cap. In-concatenation Total Number and the Lossy Image Compression Ratio (the
 * same in every part: the whole instance's) are known only after the last part; they are
 * rewritten in place in the finished temporary files before anything is renamed. An
 * instance that fits after all is written as one file under final_path, as without cap. */
#ifndef S2D_PART10_H
#define S2D_PART10_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dicom/ds.h"

typedef struct s2d_part10 s2d_part10;

/** How to split an instance that may not fit in one file. */
typedef struct s2d_part10_split {
    uint64_t max_file_bytes;        // no file larger than this (whole file, preamble included)
    // The most the frames can take as items (8-byte item headers and padding included):
    // when even that fits under max_file_bytes the file is written directly, unsplit.
    uint64_t frames_bound;
    const char *concatenation_uid;  // Concatenation UID (0020,9161) of the parts
    // The parts' SOP Instance UIDs are derived from the Concatenation UID under this root
    // (NULL = 2.25): deterministic whenever the Concatenation UID is.
    const char *uid_root;
    // Parts use the Extended Offset Table from this many bytes of frames (0 = 4 GiB).
    uint64_t eot_threshold;
} s2d_part10_split;

/** The parts of a concatenation are named after the instance, NAME.dcm -> NAME-part-K.dcm
 *  (K from 1). Returns the length of the "-part-K" that name starts with (K one or more
 *  digits), 0 when it starts with none: how a list of output names knows the parts. */
size_t s2d_part10_part_mark_length(const char *name);

/** Most bytes a deferred value may reserve. */
#define S2D_PART10_DEFERRED_MAX 64

/** A value the caller gives once the frames are written (s2d_part10_set_deferred). The
 *  dataset holds the top-level attribute with a short VR and its last `width` bytes
 *  reserved: in a text value `width` spaces (or values of spaces separated by backslashes,
 *  each within the VR's length), alone or after a backslash (the value may keep earlier
 *  values before them); in a binary one the whole value. */
typedef struct s2d_part10_deferred {
    uint32_t tag;
    uint16_t width;   // even, at most S2D_PART10_DEFERRED_MAX
} s2d_part10_deferred;

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
    const s2d_part10_split *split;   // NULL: one file, whatever its size
    const s2d_part10_deferred *deferred;   // the caller's deferred values (copied)
    size_t ndeferred;
    // Native Pixel Data: every frame is this many bits (codec/pixdesc.h's
    // s2d_pixdesc_frame_bits), given in whole bytes, as the native codec encodes it. 0:
    // encapsulated. Native instances are not split (split must be NULL).
    uint64_t native_frame_bits;
    bool native_words;               // OW (16-bit samples) rather than OB
    // Deflated Explicit VR Little Endian (transfer_syntax_uid says so; native only): the
    // dataset after the file meta is deflated (RFC 1951, no zlib header) when the writer
    // finishes, from the finished temporary file into another, padded to even length.
    bool deflate;
    // Not Pixel Data but the value of this top-level OB attribute, which the dataset holds
    // empty, is what the file streams (an Encapsulated Document): given in pieces with
    // s2d_part10_add_value, of a length known only at the end, which is then written into
    // its header (the file is seekable) before the attributes that follow it. 0: Pixel
    // Data. With it nframes is 0, nothing is deferred and nothing split.
    uint32_t streamed_tag;
    // A UL attribute after it in the dataset (any value for now), or 0: given the streamed
    // value's length without its pad byte (an Encapsulated Document Length).
    uint32_t streamed_length_tag;
} s2d_part10_params;

/** One file a writer makes (see s2d_part10_file_at). */
typedef struct s2d_part10_file {
    const char *final_path;
    uint32_t nframes;
    uint64_t frame_bytes;            // encoded frames, fragment padding included
    double seconds;                  // concatenation parts: first to last frame received
    // Concatenation parts only (in_concatenation_number 0 otherwise).
    const char *concatenation_uid;
    unsigned in_concatenation_number, in_concatenation_total;
    uint32_t frame_offset;           // Concatenation Frame Offset Number
    // The file's SOP Instance UID (a part's own) and the Study and Series Instance UIDs of
    // its dataset (empty when it has none): the writer's strings.
    const char *sop_instance_uid, *study_uid, *series_uid;
} s2d_part10_file;

/** Appends to out the preamble, "DICM" and the file meta group (PS3.10 7.1) of an
 *  instance: what precedes the dataset in every file slide2dcm writes. */
bool s2d_part10_file_meta(const char *sop_class_uid, const char *sop_instance_uid,
                          const char *transfer_syntax_uid, s2d_buf *out, s2d_error *err);

/** Creates a hidden temporary file next to final_path and writes everything up to the
 *  first frame (with split: the spool, unless the instance surely fits). A cap too small
 *  for the header and one frame is S2D_ERR_USAGE.
 *  @return the writer, or NULL with err set (nothing left on disk). */
s2d_part10 *s2d_part10_open(const s2d_part10_params *params, s2d_error *err);

/** Appends one frame: encapsulated, as one fragment padded to even length; native, as
 *  (native_frame_bits + 7) / 8 bytes. Not thread-safe. With split,
 *  may write out a finished part first; a frame that does not fit in a part on its own
 *  is S2D_ERR_USAGE. */
bool s2d_part10_add_frame(s2d_part10 *w, const uint8_t *data, size_t len, s2d_error *err);

/** Appends `bits` bits of a native frame (data holds them in (bits + 7) / 8 bytes, the first
 *  pixel in the lowest bit of a 1-bit frame): a frame may come in pieces, e.g. bands of
 *  rows, never crossing into the next frame. Not with split. */
bool s2d_part10_add_native(s2d_part10 *w, const uint8_t *data, uint64_t bits, s2d_error *err);

/** Appends len bytes to the streamed value (params.streamed_tag): written to the file as
 *  they come, never held. Not thread-safe. */
bool s2d_part10_add_value(s2d_part10 *w, const void *data, size_t len, s2d_error *err);

/** Gives the value of a deferred attribute (params.deferred): text is padded with spaces
 *  to the reserved width, a binary value fills it exactly. Before the writer completes;
 *  completing with a value not given is S2D_ERR_INTERNAL. */
bool s2d_part10_set_deferred(s2d_part10 *w, uint32_t tag, const void *value, size_t len,
                             s2d_error *err);

/** Writes what follows the last frame, fills the offset table and the deferred values,
 *  and starts the file's way to disk in the background: a caller with several files
 *  completes them all before finishing any, so that the disk writes them at once.
 *  Optional (finish completes a writer that is not); nothing to do with split. */
bool s2d_part10_complete(s2d_part10 *w, s2d_error *err);

/** Completes the writer if need be, then waits until the file is on disk. With split:
 *  writes the last part and the values known only now into every part. */
bool s2d_part10_finish(s2d_part10 *w, s2d_error *err);

/** Renames the finished temporary file(s) to the final name(s); on failure none is left
 *  under a final name. */
bool s2d_part10_commit(s2d_part10 *w, s2d_error *err);

/** Bytes of encoded frames written so far (fragments, padding included); of a streamed
 *  value, its bytes so far. */
uint64_t s2d_part10_frame_bytes(const s2d_part10 *w);

/** How many files the writer makes: 1, or after s2d_part10_finish() the parts. */
size_t s2d_part10_file_count(const s2d_part10 *w);

/** Describes file i (< s2d_part10_file_count) ; the strings live as long as the writer. */
void s2d_part10_file_at(const s2d_part10 *w, size_t i, s2d_part10_file *out);

/** Closes the writer; removes the temporary file unless it was committed. NULL is a no-op. */
void s2d_part10_free(s2d_part10 *w);

#endif
