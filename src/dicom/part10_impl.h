// SPDX-License-Identifier: Apache-2.0
/* What dicom/part10.c and dicom/concat.c share and no one else sees: the writer's state
 * and the helpers both use. */
#ifndef S2D_PART10_IMPL_H
#define S2D_PART10_IMPL_H

#include <stdio.h>
#include <sys/types.h>

#include "core/buf.h"
#include "core/flusher.h"
#include "dicom/uid.h"
#include "dicom/part10.h"

typedef struct split_state split_state;

/** A deferred value's place in a file, and the value once given (see dicom/part10.h). */
typedef struct part10_slot {
    uint32_t tag;
    uint16_t width;          // bytes reserved at the end of the value
    uint16_t len;            // of value, once set
    bool text;               // a text VR: the value is padded with spaces
    bool internal;           // the writers' own (ratio, In-concatenation Total Number)
    bool set;
    off_t pos;               // of the reserved bytes in the file (one-file writers only)
    uint8_t value[S2D_PART10_DEFERRED_MAX];
} part10_slot;

struct s2d_part10 {
    char *final_path;
    char *temp_path;
    FILE *file;
    char *file_buffer;       // file's stdio buffer, freed after fclose
    uint32_t nframes, nwritten;
    bool extended_offsets;
    bool committed;
    uint64_t uncompressed_bytes;
    off_t table_pos;         // where the BOT values (or the EOT values) start
    part10_slot *slots;      // values patched at the end: ratio, total, the caller's
    size_t nslots;
    bool values_later;       // a concatenation part: the caller's values come after finish
    uint64_t native_frame_bits;   // 0: encapsulated
    uint8_t carry, carry_bits;    // native: bits of a byte not yet written
    uint64_t frame_bits_done;     // native: bits of the frame in progress already added
    uint64_t next_offset;    // offset of the next fragment's item tag (native: bytes written)
    uint64_t flushed_at;     // next_offset when a flush was last asked for
    s2d_flusher *flusher;    // started when the file passes FLUSH_CHUNK, or by complete
    bool completed;          // s2d_part10_complete() has run
    uint64_t *offsets;       // per frame
    uint32_t *lengths;       // per frame, item length with padding
    split_state *split;      // non-NULL: frames are gathered for a concatenation (dicom/concat.c)
    bool deflate;            // deflate the dataset when finishing
    off_t dataset_pos;       // where the dataset starts, after the file meta
    // A streamed value (params.streamed_tag) instead of Pixel Data: the encoded attributes
    // after it, written once its length is known, and where that length lies in the file.
    bool streamed;
    s2d_buf value_tail;
    off_t value_length_pos;
    size_t value_length_in_tail;   // where params.streamed_length_tag's value lies; 0: none
    // What the file says it is, for the conversion's report (s2d_part10_file).
    char sop_instance_uid[S2D_UID_MAX], study_uid[S2D_UID_MAX], series_uid[S2D_UID_MAX];
};


/** Sets err to an S2D_ERR_IO "what final_path: strerror(errno)"; returns false. */
bool part10_io_error(s2d_part10 *w, s2d_error *err, const char *what);
/** The instance's file name as the user will find it in the output folder, for messages
 *  about the instance rather than the file system (the folder being written is a staging
 *  folder of another name). Points into w's final path: owned by w. */
const char *part10_file_name(const s2d_part10 *w);

/** A read-write stream on fd with a large stdio buffer of its own (*buffer, which the
 *  caller frees after fclose; left NULL when it cannot be had). NULL when fdopen fails. */
FILE *part10_fdopen_buffered(int fd, char **buffer);

/** A hidden name next to final_path, ".NAME.<what>-XXXXXX" for mkstemp; the caller frees
 *  it. NULL when out of memory. */
char *part10_temp_name(const char *final_path, const char *what);

/** Bytes the offset tables of n frames add to a head built for none. */
uint64_t part10_tables_bytes(uint64_t n, bool extended);

/** Size of the head of p without its tables (as for zero frames and a BOT). */
bool part10_head_bytes(const s2d_part10_params *p, uint64_t *out, s2d_error *err);

/** The deferred values of p: the ratio and In-concatenation Total Number when the dataset
 *  holds them (filled by the writers), then p's own. *slots is the caller's to free. */
bool part10_slots_of(const s2d_part10_params *p, part10_slot **slots, size_t *n,
                     s2d_error *err);

/** Writes given's value into slot's reserved bytes in f's file: through fd when >= 0 (a
 *  finished file), else through f's stream. */
bool part10_patch_slot(s2d_part10 *f, const part10_slot *slot, const part10_slot *given,
                       int fd, s2d_error *err);

/** The Lossy Image Compression Ratio field: raw / encoded, left-justified in 16 bytes. */
void part10_ratio_field(uint64_t uncompressed, uint64_t encoded, char field[17]);

/* The concatenation splitter (dicom/concat.c), behind a writer opened with a size cap. */

/** Opens a writer for p (p->split set): one file directly when the instance surely fits,
 *  otherwise a spool that becomes one file or parts. NULL with err set. */
s2d_part10 *s2d_concat_open(const s2d_part10_params *p, s2d_error *err);
bool s2d_concat_add_frame(s2d_part10 *w, const uint8_t *data, size_t len, s2d_error *err);
bool s2d_concat_finish(s2d_part10 *w, s2d_error *err);
bool s2d_concat_commit(s2d_part10 *w, s2d_error *err);
uint64_t s2d_concat_frame_bytes(const split_state *s);
size_t s2d_concat_file_count(const split_state *s);
void s2d_concat_file_at(const split_state *s, size_t i, s2d_part10_file *out);
void s2d_concat_free(split_state *s);

#endif
