/* Streaming Part 10 writer; see dicom/part10.h. Offsets in the tables count from the first
 * byte of the first item after the Basic Offset Table item, as PS3.5 A.4 defines.
 * The first half writes one file; the second splits an instance into a concatenation. */
#include "dicom/part10.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/flusher.h"
#include "core/fs.h"
#include "dicom/uid.h"

#define RATIO_TAG S2D_TAG(0x0028, 0x2112)
#define NUMBER_OF_FRAMES_TAG S2D_TAG(0x0028, 0x0008)
#define SOP_INSTANCE_UID_TAG S2D_TAG(0x0008, 0x0018)
#define CONCATENATION_UID_TAG S2D_TAG(0x0020, 0x9161)
#define CONCATENATION_SOURCE_TAG S2D_TAG(0x0020, 0x0242)
#define IN_CONCATENATION_NUMBER_TAG S2D_TAG(0x0020, 0x9162)
#define IN_CONCATENATION_TOTAL_TAG S2D_TAG(0x0020, 0x9163)
#define CONCATENATION_FRAME_OFFSET_TAG S2D_TAG(0x0020, 0x9228)
#define MAX_PARTS 65535   // In-concatenation Number and Total Number are US
// Written frames are flushed to disk every this many bytes by a thread beside the writer
// (core/flusher.h), so that the fsync at the end has little left to do.
#define FLUSH_CHUNK (8u << 20)
// stdio buffer of each file: glibc ignores the size given with a NULL buffer and uses 4 KiB,
// which made a write() per frame.
#define STDIO_BUFFER (256u << 10)

typedef struct split_state split_state;

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
    off_t ratio_pos;         // -1 when the dataset has no ratio to patch
    off_t total_pos;         // In-concatenation Total Number's value; -1 when none
    uint64_t next_offset;    // offset of the next fragment's item tag
    uint64_t flushed_at;     // next_offset when a flush was last asked for
    s2d_flusher *flusher;    // started when the file passes FLUSH_CHUNK, or by complete
    bool completed;          // s2d_part10_complete() has run
    uint64_t *offsets;       // per frame
    uint32_t *lengths;       // per frame, item length with padding
    split_state *split;      // non-NULL: frames are gathered for a concatenation (below)
};

static bool io_error(s2d_part10 *w, s2d_error *err, const char *what)
{
    return s2d_error_set(err, S2D_ERR_IO, "%s %s: %s", what, w->final_path, strerror(errno));
}

// A stream on fd with a STDIO_BUFFER buffer of its own (*buffer, freed after fclose; NULL
// leaves stdio's default). NULL when fdopen fails.
static FILE *fdopen_buffered(int fd, char **buffer)
{
    FILE *f = fdopen(fd, "w+b");
    if (f && (*buffer = malloc(STDIO_BUFFER)) != NULL) {
        setvbuf(f, *buffer, _IOFBF, STDIO_BUFFER);
    }
    return f;
}

static bool write_all(s2d_part10 *w, const void *data, size_t len, s2d_error *err)
{
    if (len && fwrite(data, 1, len, w->file) != len) {
        return io_error(w, err, "cannot write");
    }
    return true;
}

static bool write_item_header(s2d_part10 *w, uint16_t elem, uint32_t len, s2d_error *err)
{
    uint8_t h[8];
    s2d_put_u16le(h, 0xFFFE);
    s2d_put_u16le(h + 2, elem);
    s2d_put_u32le(h + 4, len);
    return write_all(w, h, sizeof h, err);
}

static bool build_file_meta(const s2d_part10_params *p, s2d_buf *out, s2d_error *err)
{
    s2d_ds *meta = s2d_ds_new();
    if (!meta) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    static const uint8_t version[2] = {0, 1};
    s2d_buf body = {0};
    bool ok = s2d_ds_put_bytes(meta, S2D_TAG(0x0002, 0x0001), "OB", version, 2, err) &&
              s2d_ds_put_str(meta, S2D_TAG(0x0002, 0x0002), "UI", p->sop_class_uid, err) &&
              s2d_ds_put_str(meta, S2D_TAG(0x0002, 0x0003), "UI", p->sop_instance_uid, err) &&
              s2d_ds_put_str(meta, S2D_TAG(0x0002, 0x0010), "UI", p->transfer_syntax_uid, err) &&
              s2d_ds_put_str(meta, S2D_TAG(0x0002, 0x0012), "UI", S2D_UID_IMPLEMENTATION_CLASS,
                             err) &&
              s2d_ds_put_str(meta, S2D_TAG(0x0002, 0x0013), "SH", "SLIDE2DCM_" S2D_VERSION, err) &&
              s2d_ds_encode(meta, &body, 0, NULL, err);
    if (ok) {
        static const uint8_t preamble[128];
        s2d_buf_append(out, preamble, sizeof preamble);
        s2d_buf_append(out, "DICM", 4);
        // (0002,0000) UL: the length of the rest of group 2.
        s2d_buf_append_u16le(out, 0x0002);
        s2d_buf_append_u16le(out, 0x0000);
        s2d_buf_append(out, "UL", 2);
        s2d_buf_append_u16le(out, 4);
        s2d_buf_append_u32le(out, (uint32_t)body.len);
        s2d_buf_append(out, body.data, body.len);
    }
    s2d_buf_free(&body);
    s2d_ds_free(meta);
    return ok;
}

// A hidden name next to final_path: ".NAME.<what>-XXXXXX", for mkstemp.
static char *temp_name_for(const char *final_path, const char *what)
{
    const char *slash = strrchr(final_path, '/');
    size_t dirlen = slash ? (size_t)(slash - final_path + 1) : 0;
    const char *base = final_path + dirlen;
    size_t n = strlen(final_path) + 32;
    char *t = malloc(n);
    if (t) {
        snprintf(t, n, "%.*s.%s.%s-XXXXXX", (int)dirlen, final_path, base, what);
    }
    return t;
}

static pthread_once_t umask_once = PTHREAD_ONCE_INIT;
static mode_t process_umask;

static void read_umask(void)
{
    process_umask = umask(022);
    umask(process_umask);
}

// Everything before the first frame: preamble, file meta, the dataset, the Extended Offset
// Table and its Lengths (zeroed), Pixel Data's header and the BOT item (zeroed). Returns
// where the values filled later start (-1: not in this dataset).
static bool build_head(const s2d_part10_params *p, s2d_buf *head, off_t *ratio_pos,
                       off_t *table_pos, off_t *total_pos, s2d_error *err)
{
    size_t ratio_offset = 0, total_offset = 0;
    *ratio_pos = *total_pos = -1;
    if (!build_file_meta(p, head, err)) {
        return false;
    }
    size_t meta_len = head->len;
    if (!s2d_ds_encode(p->dataset, head, RATIO_TAG, &ratio_offset, err)) {
        return false;
    }
    if (ratio_offset) {
        // The value ends with 16 bytes reserved for our ratio: all spaces, after a
        // backslash or at the start. Anything else is a dataset built wrongly.
        const uint8_t *hdr = head->data + ratio_offset - 2;
        uint16_t vlen = (uint16_t)(hdr[0] | hdr[1] << 8);
        const uint8_t *field = head->data + ratio_offset + vlen - 16;
        bool reserved = vlen >= 16 && (vlen == 16 || field[-1] == '\\');
        for (int i = 0; reserved && i < 16; i++) {
            reserved = field[i] == ' ';
        }
        if (!reserved) {
            return s2d_error_set(err, S2D_ERR_INTERNAL,
                                 "%s: no room reserved for the compression ratio", p->final_path);
        }
        *ratio_pos = (off_t)(ratio_offset + vlen - 16);
    }
    if (s2d_ds_has(p->dataset, IN_CONCATENATION_TOTAL_TAG)) {
        // The encoder reports one position per pass; this value is rare (concatenation
        // parts), so a second pass over the small dataset finds it.
        s2d_buf again = {0};
        bool ok = s2d_ds_encode(p->dataset, &again, IN_CONCATENATION_TOTAL_TAG, &total_offset,
                                err);
        s2d_buf_free(&again);
        if (!ok) {
            return false;
        }
        *total_pos = (off_t)(meta_len + total_offset);
    }
    uint64_t table_bytes = (uint64_t)p->nframes * 8;
    if (p->extended_offsets) {
        if (table_bytes > 0xFFFFFFFEu) {
            return s2d_error_set(err, S2D_ERR_INPUT, "too many frames for an offset table");
        }
        // (7FE0,0001) EOT and (7FE0,0002) EOT Lengths, OV, filled at the end.
        for (uint16_t e = 1; e <= 2; e++) {
            s2d_buf_append_u16le(head, 0x7FE0);
            s2d_buf_append_u16le(head, e);
            s2d_buf_append(head, "OV", 2);
            s2d_buf_append_u16le(head, 0);
            s2d_buf_append_u32le(head, (uint32_t)table_bytes);
            if (e == 1) {
                *table_pos = (off_t)head->len;
            }
            s2d_buf_append_zeros(head, (size_t)table_bytes);
        }
    }
    // Pixel Data, OB, undefined length, then the BOT item.
    s2d_buf_append_u16le(head, 0x7FE0);
    s2d_buf_append_u16le(head, 0x0010);
    s2d_buf_append(head, "OB", 2);
    s2d_buf_append_u16le(head, 0);
    s2d_buf_append_u32le(head, 0xFFFFFFFFu);
    uint32_t bot_len = p->extended_offsets ? 0 : p->nframes * 4;
    s2d_buf_append_u16le(head, 0xFFFE);
    s2d_buf_append_u16le(head, 0xE000);
    s2d_buf_append_u32le(head, bot_len);
    if (!p->extended_offsets) {
        *table_pos = (off_t)head->len;
        s2d_buf_append_zeros(head, bot_len);
    }
    if (head->failed) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    return true;
}

// Bytes the offset tables of n frames add to a head built for none: a BOT entry per frame,
// or the two EOT elements (12-byte headers) with 8 bytes per frame each.
static uint64_t tables_bytes(uint64_t n, bool extended)
{
    return extended ? 24 + 16 * n : 4 * n;
}

// Size of the head of p without its tables (as for zero frames and a BOT).
static bool head_bytes(const s2d_part10_params *p, uint64_t *out, s2d_error *err)
{
    s2d_part10_params none = *p;
    none.nframes = 0;
    none.extended_offsets = false;
    s2d_buf head = {0};
    off_t ratio_pos, table_pos, total_pos;
    bool ok = build_head(&none, &head, &ratio_pos, &table_pos, &total_pos, err);
    *out = head.len;
    s2d_buf_free(&head);
    return ok;
}

static s2d_part10 *split_open(const s2d_part10_params *p, s2d_error *err);

s2d_part10 *s2d_part10_open(const s2d_part10_params *p, s2d_error *err)
{
    if (p->split) {
        return split_open(p, err);
    }
    s2d_part10 *w = calloc(1, sizeof *w);
    s2d_buf head = {0};
    if (!w) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    w->nframes = p->nframes;
    w->extended_offsets = p->extended_offsets;
    w->uncompressed_bytes = p->uncompressed_bytes;
    w->ratio_pos = w->total_pos = -1;
    w->final_path = strdup(p->final_path);
    w->temp_path = temp_name_for(p->final_path, "partial");
    w->offsets = calloc(p->nframes ? p->nframes : 1, sizeof *w->offsets);
    w->lengths = calloc(p->nframes ? p->nframes : 1, sizeof *w->lengths);
    if (!w->final_path || !w->temp_path || !w->offsets || !w->lengths) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (!build_head(p, &head, &w->ratio_pos, &w->table_pos, &w->total_pos, err)) {
        free(w->temp_path);   // not created yet
        w->temp_path = NULL;
        goto fail;
    }
    int fd = mkstemp(w->temp_path);
    if (fd < 0) {
        io_error(w, err, "cannot create a temporary file for");
        free(w->temp_path);
        w->temp_path = NULL;
        goto fail;
    }
    w->file = fdopen_buffered(fd, &w->file_buffer);
    if (!w->file) {
        close(fd);
        io_error(w, err, "cannot open");
        goto fail;
    }
    // mkstemp makes 0600 files; archive files are meant to be read by others, as the
    // process's umask allows (read once: umask() is process-wide and not thread-safe).
    pthread_once(&umask_once, read_umask);
    fchmod(fd, 0666 & ~process_umask);
    if (!write_all(w, head.data, head.len, err)) {
        goto fail;
    }
    s2d_buf_free(&head);
    return w;
fail:
    s2d_buf_free(&head);
    s2d_part10_free(w);
    return NULL;
}

static bool split_add_frame(s2d_part10 *w, const uint8_t *data, size_t len, s2d_error *err);
static bool split_finish(s2d_part10 *w, s2d_error *err);
static bool split_commit(s2d_part10 *w, s2d_error *err);
static void split_free(split_state *s);

// Hands what has been written so far to the file's flusher thread (started on first use;
// without one, the final fsync does it all).
static bool flush_in_background(s2d_part10 *w, s2d_error *err)
{
    if (fflush(w->file) != 0) {
        return io_error(w, err, "cannot write");
    }
    if (!w->flusher) {
        w->flusher = s2d_flusher_start(fileno(w->file));
    }
    if (w->flusher) {
        s2d_flusher_request(w->flusher);
    }
    return true;
}

bool s2d_part10_add_frame(s2d_part10 *w, const uint8_t *data, size_t len, s2d_error *err)
{
    if (w->split) {
        return split_add_frame(w, data, len, err);
    }
    if (w->nwritten >= w->nframes) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "%s: more frames than announced",
                             w->final_path);
    }
    size_t padded = len + (len & 1);
    if (padded > 0xFFFFFFFEu) {
        return s2d_error_set(err, S2D_ERR_INPUT, "%s: a frame of %zu bytes is too large",
                             w->final_path, len);
    }
    if (!w->extended_offsets && w->next_offset > 0xFFFFFFFFu) {
        return s2d_error_set(err, S2D_ERR_INTERNAL,
                             "%s: frames pass 4 GiB but the Basic Offset Table was chosen",
                             w->final_path);
    }
    w->offsets[w->nwritten] = w->next_offset;
    w->lengths[w->nwritten] = (uint32_t)padded;
    if (!write_item_header(w, 0xE000, (uint32_t)padded, err) || !write_all(w, data, len, err)) {
        return false;
    }
    // Odd codestreams get one 0x00 after EOI, inside the fragment (PS3.5 A.4).
    if (padded != len && !write_all(w, "", 1, err)) {
        return false;
    }
    w->next_offset += 8 + padded;
    w->nwritten++;
    if (w->next_offset - w->flushed_at >= FLUSH_CHUNK) {
        w->flushed_at = w->next_offset;
        return flush_in_background(w, err);
    }
    return true;
}

static uint64_t split_frame_bytes(const split_state *s);

uint64_t s2d_part10_frame_bytes(const s2d_part10 *w)
{
    if (w->split) {
        return split_frame_bytes(w->split);
    }
    return w->next_offset - 8ull * w->nwritten;
}

static bool patch(s2d_part10 *w, off_t pos, const void *data, size_t len, s2d_error *err)
{
    if (fseeko(w->file, pos, SEEK_SET) != 0) {
        return io_error(w, err, "cannot seek in");
    }
    return write_all(w, data, len, err);
}

// The ratio field: raw / encoded, left-justified in the 16 bytes reserved at the end of the
// even-length value (see dicom/wsm.c): at most 15 characters, so the value stays within
// DS's 16 bytes.
static void ratio_field(uint64_t uncompressed, uint64_t encoded, char field[17])
{
    char num[17];
    s2d_format_ds(encoded ? (double)uncompressed / (double)encoded : 1.0, 15, num);
    snprintf(field, 17, "%-16s", num);
}

// What follows the last frame, and the values known only then.
static bool write_trailer(s2d_part10 *w, s2d_error *err)
{
    if (w->nwritten != w->nframes) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "%s: %u frames written of %u",
                             w->final_path, w->nwritten, w->nframes);
    }
    if (!write_item_header(w, 0xE0DD, 0, err)) {
        return false;
    }
    size_t entry = w->extended_offsets ? 8 : 4;
    uint8_t *table = malloc((size_t)w->nframes * entry + 1);
    if (!table) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < w->nframes; i++) {
        if (w->extended_offsets) {
            s2d_put_u64le(table + 8 * i, w->offsets[i]);
        } else {
            s2d_put_u32le(table + 4 * i, (uint32_t)w->offsets[i]);
        }
    }
    bool ok = patch(w, w->table_pos, table, (size_t)w->nframes * entry, err);
    if (ok && w->extended_offsets) {
        for (uint32_t i = 0; i < w->nframes; i++) {
            s2d_put_u64le(table + 8 * i, w->lengths[i]);
        }
        // The Lengths element follows the EOT value and a 12-byte element header.
        ok = patch(w, w->table_pos + (off_t)w->nframes * 8 + 12, table,
                   (size_t)w->nframes * 8, err);
    }
    free(table);
    if (ok && w->ratio_pos >= 0) {
        char field[17];
        ratio_field(w->uncompressed_bytes, s2d_part10_frame_bytes(w), field);
        ok = patch(w, w->ratio_pos, field, 16, err);
    }
    return ok;
}

bool s2d_part10_complete(s2d_part10 *w, s2d_error *err)
{
    if (w->split || w->completed) {
        return true;
    }
    if (!write_trailer(w, err) || !flush_in_background(w, err)) {
        return false;
    }
    w->completed = true;
    return true;
}

bool s2d_part10_finish(s2d_part10 *w, s2d_error *err)
{
    if (w->split) {
        return split_finish(w, err);
    }
    if (!w->completed && !write_trailer(w, err)) {
        return false;
    }
    int flush_error = w->flusher ? s2d_flusher_stop(w->flusher) : 0;
    w->flusher = NULL;
    if (flush_error) {
        errno = flush_error;
        return io_error(w, err, "cannot write");
    }
    if (fflush(w->file) != 0 || fsync(fileno(w->file)) != 0) {
        return io_error(w, err, "cannot write");
    }
    FILE *f = w->file;
    w->file = NULL;
    bool closed = fclose(f) == 0;
    free(w->file_buffer);
    w->file_buffer = NULL;
    if (!closed) {
        return io_error(w, err, "cannot close");
    }
    return true;
}

bool s2d_part10_commit(s2d_part10 *w, s2d_error *err)
{
    if (w->split) {
        return split_commit(w, err);
    }
    if (w->file || !w->temp_path) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "%s committed before finish", w->final_path);
    }
    if (rename(w->temp_path, w->final_path) != 0) {
        return io_error(w, err, "cannot rename the finished file to");
    }
    w->committed = true;
    return true;
}

void s2d_part10_free(s2d_part10 *w)
{
    if (!w) {
        return;
    }
    if (w->flusher) {
        s2d_flusher_stop(w->flusher);   // the file is abandoned: its errors do not matter
    }
    if (w->file) {
        fclose(w->file);
    }
    free(w->file_buffer);
    if (!w->committed && w->temp_path) {
        unlink(w->temp_path);
    }
    free(w->final_path);
    free(w->temp_path);
    free(w->offsets);
    free(w->lengths);
    split_free(w->split);
    free(w);
}

/* ---- A concatenation: the instance split into parts of at most max_file_bytes ------- */

typedef struct split_part {
    s2d_part10 *file;           // finished, not committed yet
    uint32_t frame_offset;      // Concatenation Frame Offset Number
    double seconds;             // from its first to its last frame received
} split_part;

struct split_state {
    s2d_part10_params whole;    // the instance as one file; strings and dataset owned here
    s2d_ds *dataset;
    char *sop_class_uid, *sop_instance_uid, *transfer_syntax_uid;
    uint64_t max_file_bytes;
    uint64_t eot_limit;         // a part whose frames take this much gets the EOT
    uint64_t frame_raw_bytes;   // uncompressed bytes per frame, for the ratio
    char concatenation_uid[S2D_UID_MAX], uid_root[S2D_UID_MAX];
    // The part being gathered: its frames back to back in an unlinked spool file.
    FILE *spool;
    char *spool_buffer;         // its stdio buffer, freed after fclose
    uint32_t *lengths;          // their lengths, unpadded
    uint32_t nspooled;
    uint64_t spooled_items;     // their size as items: 8-byte header + padded length each
    uint64_t part_head;         // its head without the offset tables, measured with
    uint32_t part_head_frames;  // this Number of Frames (all the frames left)
    uint64_t whole_head;        // the head of the whole instance as one file, likewise
    // While no part is written the spool may still become the whole instance as one file;
    // its first part_fit frames (part_fit_items bytes as items) would fit in a part.
    uint32_t part_fit;
    uint64_t part_fit_items;
    bool outgrown;              // too large for one file: parts from now on
    double first_at, last_at;
    // The files written so far.
    split_part *parts;
    unsigned nparts;
    bool concatenated;          // parts of a concatenation, not the instance as one file
    uint32_t frames_done;       // in the files written
    uint64_t frame_bytes_done;
    uint8_t *buf;               // one frame read back from the spool
    size_t bufcap;
};

// NAME.dcm -> NAME-part-K.dcm
static char *part_path(const char *final_path, unsigned k)
{
    size_t n = strlen(final_path);
    size_t stem = n >= 4 && strcmp(final_path + n - 4, ".dcm") == 0 ? n - 4 : n;
    char *out = malloc(n + 32);
    if (out) {
        snprintf(out, n + 32, "%.*s-part-%u.dcm", (int)stem, final_path, k);
    }
    return out;
}

static void part_uid(const split_state *s, unsigned k, char out[S2D_UID_MAX])
{
    char role[32];
    snprintf(role, sizeof role, "part-%u", k);
    s2d_uid_derive(s->uid_root, s->concatenation_uid, role, out);
}

// The dataset of part k (PS3.3 C.7.6.16.2.2): the whole instance's, with its own SOP
// Instance UID and Number of Frames and the Concatenation attributes. The SOP Instance
// UID of Concatenation Source is the whole instance's, which no file carries. The Total
// Number is 0 until split_finish() knows it.
static s2d_ds *part_dataset(const split_state *s, unsigned k, uint32_t nframes, const char *uid,
                            s2d_error *err)
{
    s2d_ds *ds = s2d_ds_new();
    if (!ds) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    bool ok = s2d_ds_merge(ds, s->dataset, err) &&
              s2d_ds_put_number(ds, NUMBER_OF_FRAMES_TAG, "IS", nframes, err) &&
              s2d_ds_put_str(ds, SOP_INSTANCE_UID_TAG, "UI", uid, err) &&
              s2d_ds_put_str(ds, CONCATENATION_UID_TAG, "UI", s->concatenation_uid, err) &&
              s2d_ds_put_str(ds, CONCATENATION_SOURCE_TAG, "UI", s->sop_instance_uid, err) &&
              s2d_ds_put_number(ds, IN_CONCATENATION_NUMBER_TAG, "US", k, err) &&
              s2d_ds_put_number(ds, IN_CONCATENATION_TOTAL_TAG, "US", 0, err) &&
              s2d_ds_put_number(ds, CONCATENATION_FRAME_OFFSET_TAG, "UL", s->frames_done, err);
    if (!ok) {
        s2d_ds_free(ds);
        return NULL;
    }
    return ds;
}

static s2d_part10_params part_params(const split_state *s, const char *path, const char *uid,
                                     const s2d_ds *ds, uint32_t nframes, uint64_t items)
{
    return (s2d_part10_params){
        .final_path = path,
        .sop_class_uid = s->sop_class_uid,
        .sop_instance_uid = uid,
        .transfer_syntax_uid = s->transfer_syntax_uid,
        .dataset = ds,
        .nframes = nframes,
        .extended_offsets = items >= s->eot_limit,
        .uncompressed_bytes = s->frame_raw_bytes * nframes,
    };
}

// The heads of the next part (measured with all the frames left as its Number of Frames;
// part_bytes() corrects that) and, while no part is written, of the whole instance as one
// file, which the spool still may become.
static bool measure_heads(s2d_part10 *w, s2d_error *err)
{
    split_state *s = w->split;
    unsigned k = s->nparts + 1;
    if (k > MAX_PARTS) {
        return s2d_error_set(err, S2D_ERR_USAGE, "%s: more than %d parts; allow larger files",
                             w->final_path, MAX_PARTS);
    }
    char uid[S2D_UID_MAX];
    part_uid(s, k, uid);
    char *path = part_path(w->final_path, k);
    s->part_head_frames = s->whole.nframes - s->frames_done;
    s2d_ds *ds = path ? part_dataset(s, k, s->part_head_frames, uid, err) : NULL;
    if (!path) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    bool ok = ds != NULL;
    if (ok) {
        s2d_part10_params p = part_params(s, path, uid, ds, 0, 0);
        ok = head_bytes(&p, &s->part_head, err);
    }
    if (ok && s->nparts == 0) {
        ok = head_bytes(&s->whole, &s->whole_head, err);
    }
    s2d_ds_free(ds);
    free(path);
    return ok;
}

// Bytes of an IS value of n: its digits, padded to an even length.
static uint64_t is_value_bytes(uint64_t n)
{
    uint64_t digits = 1;
    while (n >= 10) {
        n /= 10;
        digits++;
    }
    return digits + (digits & 1);
}

// Size of the next part holding n frames that take items bytes as items.
static uint64_t part_bytes(const split_state *s, uint32_t n, uint64_t items)
{
    uint64_t head = s->part_head - is_value_bytes(s->part_head_frames) + is_value_bytes(n);
    return head + tables_bytes(n, items >= s->eot_limit) + items + 8;   // 8: the delimiter
}

// Size of the whole instance as one file, at the least, once frames taking items bytes as
// items are in it (its table has room for all its frames from the start).
static uint64_t whole_bytes(const split_state *s, uint64_t items)
{
    return s->whole_head + tables_bytes(s->whole.nframes, s->whole.extended_offsets) + items + 8;
}

static bool read_at(int fd, uint8_t *buf, size_t len, off_t at)
{
    ssize_t got = s2d_pread_full(fd, buf, len, (uint64_t)at);
    if (got >= 0 && (size_t)got < len) {
        errno = EIO;   // the spool is shorter than what was written to it
    }
    return got >= 0 && (size_t)got == len;
}

// Writes the gathered frames into the file p describes and finishes it; empties the spool.
static s2d_part10 *write_gathered(s2d_part10 *w, const s2d_part10_params *p, s2d_error *err)
{
    split_state *s = w->split;
    if (fflush(s->spool) != 0) {
        io_error(w, err, "cannot write the spool of");
        return NULL;
    }
    s2d_part10 *f = s2d_part10_open(p, err);
    bool ok = f != NULL;
    off_t at = 0;
    for (uint32_t i = 0; ok && i < s->nspooled; i++) {
        size_t len = s->lengths[i];
        if (len > s->bufcap) {
            uint8_t *grown = realloc(s->buf, len);
            if (!grown) {
                ok = s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
                break;
            }
            s->buf = grown;
            s->bufcap = len;
        }
        if (!read_at(fileno(s->spool), s->buf, len, at)) {
            ok = io_error(w, err, "cannot read the spool of");
            break;
        }
        ok = s2d_part10_add_frame(f, s->buf, len, err);
        at += (off_t)len;
    }
    ok = ok && s2d_part10_finish(f, err);
    if (ok && (ftruncate(fileno(s->spool), 0) != 0 || fseeko(s->spool, 0, SEEK_SET) != 0)) {
        ok = io_error(w, err, "cannot empty the spool of");
    }
    if (!ok) {
        s2d_part10_free(f);
        return NULL;
    }
    s->frames_done += s->nspooled;
    s->frame_bytes_done += s2d_part10_frame_bytes(f);
    s->nspooled = 0;
    s->spooled_items = 0;
    return f;
}

static bool add_part(split_state *s, s2d_part10 *f, uint32_t frame_offset)
{
    split_part *grown = realloc(s->parts, (s->nparts + 1) * sizeof *grown);
    if (!grown) {
        return false;
    }
    s->parts = grown;
    s->parts[s->nparts++] = (split_part){f, frame_offset, s->last_at - s->first_at};
    return true;
}

// Writes the spool out as the next part of the concatenation.
static bool write_part(s2d_part10 *w, s2d_error *err)
{
    split_state *s = w->split;
    unsigned k = s->nparts + 1;   // measure_heads() has checked it against MAX_PARTS
    char uid[S2D_UID_MAX];
    part_uid(s, k, uid);
    char *path = part_path(w->final_path, k);
    s2d_ds *ds = path ? part_dataset(s, k, s->nspooled, uid, err) : NULL;
    if (!path) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    uint32_t frame_offset = s->frames_done;
    s2d_part10 *f = NULL;
    if (ds) {
        s2d_part10_params p = part_params(s, path, uid, ds, s->nspooled, s->spooled_items);
        f = write_gathered(w, &p, err);
    }
    s2d_ds_free(ds);
    free(path);
    if (!f) {
        return false;
    }
    if (!add_part(s, f, frame_offset)) {
        s2d_part10_free(f);
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    s->concatenated = true;
    return true;
}

static s2d_part10 *split_open(const s2d_part10_params *p, s2d_error *err)
{
    const s2d_part10_split *sp = p->split;
    s2d_part10_params whole = *p;
    whole.split = NULL;
    uint64_t head;
    if (!head_bytes(&whole, &head, err)) {
        return NULL;
    }
    if (head + tables_bytes(p->nframes, p->extended_offsets) + sp->frames_bound + 8 <=
        sp->max_file_bytes) {
        return s2d_part10_open(&whole, err);   // fits even at the worst: no spool needed
    }
    s2d_part10 *w = calloc(1, sizeof *w);
    split_state *s = w ? calloc(1, sizeof *s) : NULL;
    if (!s) {
        free(w);
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    w->split = s;
    w->ratio_pos = w->total_pos = -1;
    w->final_path = strdup(p->final_path);
    s->sop_class_uid = strdup(p->sop_class_uid);
    s->sop_instance_uid = strdup(p->sop_instance_uid);
    s->transfer_syntax_uid = strdup(p->transfer_syntax_uid);
    s->dataset = s2d_ds_new();
    s->lengths = calloc(p->nframes ? p->nframes : 1, sizeof *s->lengths);
    char *spool_path = w->final_path ? temp_name_for(w->final_path, "spool") : NULL;
    if (!w->final_path || !s->sop_class_uid || !s->sop_instance_uid || !s->transfer_syntax_uid ||
        !s->dataset || !s->lengths || !spool_path) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (!s2d_ds_merge(s->dataset, p->dataset, err)) {
        goto fail;
    }
    s->whole = whole;
    s->whole.final_path = w->final_path;
    s->whole.sop_class_uid = s->sop_class_uid;
    s->whole.sop_instance_uid = s->sop_instance_uid;
    s->whole.transfer_syntax_uid = s->transfer_syntax_uid;
    s->whole.dataset = s->dataset;
    s->max_file_bytes = sp->max_file_bytes;
    s->eot_limit = sp->eot_threshold && sp->eot_threshold < 0xFFFFFFFFull ? sp->eot_threshold
                                                                          : 0xFFFFFFFFull;
    s->frame_raw_bytes = p->nframes ? p->uncompressed_bytes / p->nframes : 0;
    snprintf(s->concatenation_uid, sizeof s->concatenation_uid, "%s", sp->concatenation_uid);
    snprintf(s->uid_root, sizeof s->uid_root, "%s", sp->uid_root ? sp->uid_root : "2.25");
    // The spool lives next to the output (same file system, same free space) and is
    // unlinked at once: nothing to clean up whatever happens.
    int fd = mkstemp(spool_path);
    if (fd < 0) {
        io_error(w, err, "cannot create a spool file for");
        goto fail;
    }
    unlink(spool_path);
    s->spool = fdopen_buffered(fd, &s->spool_buffer);
    if (!s->spool) {
        close(fd);
        io_error(w, err, "cannot open the spool of");
        goto fail;
    }
    if (!measure_heads(w, err)) {
        goto fail;
    }
    // The smallest head this instance can have: as one file, or as a part of one frame.
    uint64_t one = whole_bytes(s, 0) - 8, one_part = part_bytes(s, 1, 0) - 8;
    if (s->whole.nframes > 1 && one_part < one) {
        one = one_part;
    }
    if (one + 8 + 2 + 8 > s->max_file_bytes) {
        s2d_error_set(err, S2D_ERR_USAGE,
                      "%s: its header alone takes %" PRIu64 " bytes; a file of at most %" PRIu64
                      " bytes cannot hold it and a frame",
                      w->final_path, one, s->max_file_bytes);
        goto fail;
    }
    free(spool_path);
    return w;
fail:
    free(spool_path);
    s2d_part10_free(w);
    return NULL;
}

static bool spool_frame(s2d_part10 *w, const uint8_t *data, size_t len, uint64_t item,
                        s2d_error *err)
{
    split_state *s = w->split;
    if (len && fwrite(data, 1, len, s->spool) != len) {
        return io_error(w, err, "cannot write the spool of");
    }
    double now = s2d_clock_seconds();
    if (s->nspooled == 0) {
        s->first_at = now;
    }
    s->last_at = now;
    s->lengths[s->nspooled++] = (uint32_t)len;
    s->spooled_items += item;
    return true;
}

static bool frame_too_large(s2d_part10 *w, uint32_t index, size_t len, uint64_t need,
                            s2d_error *err)
{
    return s2d_error_set(err, S2D_ERR_USAGE,
                         "%s: frame %" PRIu32 " (%zu bytes) and the header make a file of %" PRIu64
                         " bytes, more than %" PRIu64,
                         w->final_path, index + 1, len, need, w->split->max_file_bytes);
}

// The instance has outgrown one file, so it becomes parts. When the gathered frames do not
// all fit a part (a part's head is longer than the whole file's, so the last few may fit
// the one but not the other), the first part_fit of them become part 1 and the others are
// taken back from the spool and added again, to part 2.
static bool split_first_part(s2d_part10 *w, s2d_error *err)
{
    split_state *s = w->split;
    s->outgrown = true;
    if (s->part_fit == s->nspooled) {
        return true;   // all gathered fit a part: part 1 goes on as any part
    }
    if (s->part_fit == 0) {
        uint64_t item = 8 + s->lengths[0] + (s->lengths[0] & 1);
        return frame_too_large(w, 0, s->lengths[0], part_bytes(s, 1, item), err);
    }
    uint32_t carry = s->nspooled - s->part_fit;
    uint64_t at = 0, carried_len = 0;
    for (uint32_t i = 0; i < s->nspooled; i++) {
        *(i < s->part_fit ? &at : &carried_len) += s->lengths[i];
    }
    uint8_t *carried = malloc(carried_len ? carried_len : 1);
    uint32_t *lengths = malloc((carry ? carry : 1) * sizeof *lengths);
    bool ok = carried && lengths;
    if (!ok) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    } else if (fflush(s->spool) != 0 ||
               !read_at(fileno(s->spool), carried, carried_len, (off_t)at)) {
        ok = io_error(w, err, "cannot read the spool of");
    }
    if (ok) {
        memcpy(lengths, s->lengths + s->part_fit, carry * sizeof *lengths);
        s->nspooled = s->part_fit;
        s->spooled_items = s->part_fit_items;
        ok = write_part(w, err) && measure_heads(w, err);
    }
    uint64_t off = 0;
    for (uint32_t i = 0; ok && i < carry; i++) {
        ok = split_add_frame(w, carried + off, lengths[i], err);
        off += lengths[i];
    }
    free(carried);
    free(lengths);
    return ok;
}

static bool split_add_frame(s2d_part10 *w, const uint8_t *data, size_t len, s2d_error *err)
{
    split_state *s = w->split;
    uint32_t index = s->frames_done + s->nspooled;
    if (index >= s->whole.nframes) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "%s: more frames than announced",
                             w->final_path);
    }
    size_t padded = len + (len & 1);
    if (padded > 0xFFFFFFFEu) {
        return s2d_error_set(err, S2D_ERR_INPUT, "%s: a frame of %zu bytes is too large",
                             w->final_path, len);
    }
    uint64_t item = 8 + padded;
    uint64_t cap = s->max_file_bytes;
    if (!s->outgrown) {
        // Until the instance outgrows one file it stays one file, as without a cap.
        uint64_t whole = whole_bytes(s, s->spooled_items + item);
        if (whole <= cap) {
            if (s->part_fit == s->nspooled &&
                part_bytes(s, s->nspooled + 1, s->spooled_items + item) <= cap) {
                s->part_fit++;
                s->part_fit_items += item;
            }
            return spool_frame(w, data, len, item, err);
        }
        if (s->whole.nframes == 1) {
            return frame_too_large(w, index, len, whole, err);   // one frame: no parts
        }
        if (!split_first_part(w, err)) {
            return false;
        }
    }
    // Roll over before the frame that would take the part past the cap.
    if (s->nspooled > 0 && part_bytes(s, s->nspooled + 1, s->spooled_items + item) > cap &&
        (!write_part(w, err) || !measure_heads(w, err))) {
        return false;
    }
    uint64_t need = part_bytes(s, s->nspooled + 1, s->spooled_items + item);
    if (need > cap) {
        return frame_too_large(w, s->frames_done + s->nspooled, len, need, err);
    }
    return spool_frame(w, data, len, item, err);
}

// Rewrites values known only after the last part in a finished, not yet renamed file.
static bool patch_finished(s2d_part10 *f, uint16_t total, const char ratio[16], s2d_error *err)
{
    int fd = open(f->temp_path, O_WRONLY);
    if (fd < 0) {
        return io_error(f, err, "cannot reopen");
    }
    uint8_t value[2];
    s2d_put_u16le(value, total);
    bool ok = (f->total_pos < 0 || pwrite(fd, value, 2, f->total_pos) == 2) &&
              (f->ratio_pos < 0 || pwrite(fd, ratio, 16, f->ratio_pos) == 16) && fsync(fd) == 0;
    if (!ok) {
        int saved = errno;
        close(fd);
        errno = saved;
        return io_error(f, err, "cannot write");
    }
    return close(fd) == 0 || io_error(f, err, "cannot write");
}

static bool split_finish(s2d_part10 *w, s2d_error *err)
{
    split_state *s = w->split;
    if (s->frames_done + s->nspooled != s->whole.nframes) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "%s: %u frames written of %u",
                             w->final_path, s->frames_done + s->nspooled, s->whole.nframes);
    }
    if (!s->concatenated) {
        // Everything fitted in one file after all: the instance as it is without a cap.
        s2d_part10 *f = write_gathered(w, &s->whole, err);
        if (f && !add_part(s, f, 0)) {
            s2d_part10_free(f);
            return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        }
        return f != NULL;
    }
    if (s->nspooled > 0 && !write_part(w, err)) {
        return false;
    }
    // The same in every part, known only now: In-concatenation Total Number, and the
    // compression ratio of the whole instance.
    char ratio[17];
    ratio_field(s->frame_raw_bytes * s->whole.nframes, s->frame_bytes_done, ratio);
    for (unsigned i = 0; i < s->nparts; i++) {
        if (!patch_finished(s->parts[i].file, (uint16_t)s->nparts, ratio, err)) {
            return false;
        }
    }
    return true;
}

static bool split_commit(s2d_part10 *w, s2d_error *err)
{
    split_state *s = w->split;
    unsigned done = 0;
    while (done < s->nparts && s2d_part10_commit(s->parts[done].file, err)) {
        done++;
    }
    if (done == s->nparts) {
        return true;
    }
    // Leave none under a final name: the renamed ones go back to their temporary names
    // (removed with the writer), or away.
    for (unsigned i = 0; i < done; i++) {
        s2d_part10 *f = s->parts[i].file;
        if (rename(f->final_path, f->temp_path) == 0) {
            f->committed = false;
        } else {
            unlink(f->final_path);
        }
    }
    return false;
}

static uint64_t split_frame_bytes(const split_state *s)
{
    return s->frame_bytes_done + s->spooled_items - 8ull * s->nspooled;
}

static void split_free(split_state *s)
{
    if (!s) {
        return;
    }
    for (unsigned i = 0; i < s->nparts; i++) {
        s2d_part10_free(s->parts[i].file);
    }
    free(s->parts);
    if (s->spool) {
        fclose(s->spool);
    }
    free(s->spool_buffer);
    free(s->lengths);
    free(s->buf);
    s2d_ds_free(s->dataset);
    free(s->sop_class_uid);
    free(s->sop_instance_uid);
    free(s->transfer_syntax_uid);
    free(s);
}

size_t s2d_part10_file_count(const s2d_part10 *w)
{
    return w->split ? w->split->nparts : 1;
}

void s2d_part10_file_at(const s2d_part10 *w, size_t i, s2d_part10_file *out)
{
    memset(out, 0, sizeof *out);
    if (!w->split) {
        out->final_path = w->final_path;
        out->nframes = w->nframes;
        out->frame_bytes = s2d_part10_frame_bytes(w);
        return;
    }
    const split_state *s = w->split;
    const split_part *part = &s->parts[i];
    s2d_part10_file_at(part->file, 0, out);
    out->seconds = part->seconds;
    if (s->concatenated) {
        out->concatenation_uid = s->concatenation_uid;
        out->in_concatenation_number = (unsigned)i + 1;
        out->in_concatenation_total = s->nparts;
        out->frame_offset = part->frame_offset;
    }
}
