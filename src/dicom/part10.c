// SPDX-License-Identifier: Apache-2.0
/* Streaming Part 10 writer of one file; see dicom/part10.h. Offsets in the tables count
 * from the first byte of the first item after the Basic Offset Table item, as PS3.5 A.4
 * defines. A writer with a size cap hands its frames to dicom/concat.c. */
#include "dicom/part10.h"
#include "dicom/part10_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/flusher.h"
#include "core/fs.h"
#include "dicom/uid.h"

#define RATIO_TAG S2D_TAG(0x0028, 0x2112)
#define IN_CONCATENATION_TOTAL_TAG S2D_TAG(0x0020, 0x9163)
#define STUDY_INSTANCE_UID_TAG S2D_TAG(0x0020, 0x000D)
#define SERIES_INSTANCE_UID_TAG S2D_TAG(0x0020, 0x000E)
// Written frames are flushed to disk every this many bytes by a thread beside the writer
// (core/flusher.h), so that the fsync at the end has little left to do.
#define FLUSH_CHUNK (8u << 20)
// stdio buffer of each file: glibc ignores the size given with a NULL buffer and uses 4 KiB,
// which made a write() per frame.
#define STDIO_BUFFER (256u << 10)
// Bytes read and deflated at a time when a dataset is deflated.
#define DEFLATE_CHUNK (1u << 20)

const char *part10_file_name(const s2d_part10 *w)
{
    const char *slash = strrchr(w->final_path, '/');
    return slash ? slash + 1 : w->final_path;
}

bool part10_io_error(s2d_part10 *w, s2d_error *err, const char *what)
{
    return s2d_error_set(err, S2D_ERR_IO, "%s %s: %s", what, w->final_path, strerror(errno));
}

// A stream on fd with a STDIO_BUFFER buffer of its own (*buffer, freed after fclose; NULL
// leaves stdio's default). NULL when fdopen fails.
FILE *part10_fdopen_buffered(int fd, char **buffer)
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
        return part10_io_error(w, err, "cannot write");
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

bool s2d_part10_file_meta(const char *sop_class_uid, const char *sop_instance_uid,
                          const char *transfer_syntax_uid, s2d_buf *out, s2d_error *err)
{
    s2d_ds *meta = s2d_ds_new();
    if (!meta) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    static const uint8_t version[2] = {0, 1};
    s2d_buf body = {0};
    bool ok = s2d_ds_put_bytes(meta, S2D_TAG(0x0002, 0x0001), "OB", version, 2, err) &&
              s2d_ds_put_str(meta, S2D_TAG(0x0002, 0x0002), "UI", sop_class_uid, err) &&
              s2d_ds_put_str(meta, S2D_TAG(0x0002, 0x0003), "UI", sop_instance_uid, err) &&
              s2d_ds_put_str(meta, S2D_TAG(0x0002, 0x0010), "UI", transfer_syntax_uid, err) &&
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

static bool build_file_meta(const s2d_part10_params *p, s2d_buf *out, s2d_error *err)
{
    return s2d_part10_file_meta(p->sop_class_uid, p->sop_instance_uid, p->transfer_syntax_uid,
                                out, err);
}

// A hidden name next to final_path: ".NAME.<what>-XXXXXX", for mkstemp.
char *part10_temp_name(const char *final_path, const char *what)
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

// Bytes of native Pixel Data: every frame's bits back to back, without padding.
static uint64_t native_bytes(const s2d_part10_params *p)
{
    return ((uint64_t)p->nframes * p->native_frame_bits + 7) / 8;
}

bool part10_slots_of(const s2d_part10_params *p, part10_slot **slots, size_t *n,
                     s2d_error *err)
{
    bool ratio = s2d_ds_has(p->dataset, RATIO_TAG);
    bool total = s2d_ds_has(p->dataset, IN_CONCATENATION_TOTAL_TAG);
    *n = p->ndeferred + ratio + total;
    *slots = calloc(*n ? *n : 1, sizeof **slots);
    if (!*slots) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    size_t k = 0;
    if (ratio) {
        (*slots)[k++] = (part10_slot){.tag = RATIO_TAG, .width = 16, .internal = true};
    }
    if (total) {
        (*slots)[k++] = (part10_slot){.tag = IN_CONCATENATION_TOTAL_TAG, .width = 2,
                                      .internal = true};
    }
    for (size_t i = 0; i < p->ndeferred; i++, k++) {
        const s2d_part10_deferred *d = &p->deferred[i];
        if (d->width == 0 || d->width > S2D_PART10_DEFERRED_MAX || d->width % 2 ||
            d->tag == RATIO_TAG || d->tag == IN_CONCATENATION_TOTAL_TAG) {
            free(*slots);
            *slots = NULL;
            return s2d_error_set(err, S2D_ERR_INTERNAL, "(%04X,%04X) cannot be deferred",
                                 d->tag >> 16, d->tag & 0xFFFF);
        }
        (*slots)[k] = (part10_slot){.tag = d->tag, .width = d->width};
    }
    return true;
}

// Whether VR holds text (padded with spaces) rather than binary numbers.
static bool vr_is_text(const uint8_t vr[2])
{
    static const char binary[][3] = {"US", "UL", "SS", "SL", "FL", "FD", "AT"};
    for (size_t i = 0; i < sizeof binary / sizeof *binary; i++) {
        if (vr[0] == binary[i][0] && vr[1] == binary[i][1]) {
            return false;
        }
    }
    return true;
}

// Finds where slot's reserved bytes lie in the encoded dataset `enc` (value at offset,
// found by the encoder) and checks they are reserved: a text value ends with `width`
// bytes of spaces (and backslashes between values of spaces), alone or after a backslash;
// a binary value is `width` bytes long. Anything
// else is a dataset built wrongly.
static bool locate_slot(const s2d_part10_params *p, const s2d_buf *enc, size_t offset,
                        size_t meta_len, part10_slot *slot, s2d_error *err)
{
    uint32_t tag = slot->tag;
    if (offset < 8 || s2d_vr_is_long((const char[3]){(char)enc->data[offset - 4],
                                                     (char)enc->data[offset - 3], 0})) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "%s: (%04X,%04X) cannot be deferred",
                             p->final_path, tag >> 16, tag & 0xFFFF);
    }
    const uint8_t *hdr = enc->data + offset - 2;
    uint16_t vlen = (uint16_t)(hdr[0] | hdr[1] << 8);
    slot->text = vr_is_text(enc->data + offset - 4);
    bool reserved = vlen >= slot->width;
    if (reserved && slot->text) {
        // Spaces, or values of spaces between backslashes (a multi-valued reservation whose
        // every value keeps within its VR's length).
        const uint8_t *field = enc->data + offset + vlen - slot->width;
        reserved = vlen == slot->width || field[-1] == '\\';
        for (size_t i = 0; reserved && i < slot->width; i++) {
            reserved = field[i] == ' ' || (field[i] == '\\' && i > 0);
        }
    } else {
        reserved = reserved && vlen == slot->width;
    }
    if (!reserved) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "%s: no room reserved for (%04X,%04X)",
                             p->final_path, tag >> 16, tag & 0xFFFF);
    }
    slot->pos = (off_t)(meta_len + offset + vlen - slot->width);
    return true;
}

// Everything before the first frame: preamble, file meta, the dataset, then Pixel Data's
// header: native, with its length; or encapsulated, after the Extended Offset Table and
// its Lengths (zeroed), with the BOT item (zeroed). With slots, finds where each deferred
// value lies; *table_pos is where the offset table's values start.
static bool build_head(const s2d_part10_params *p, s2d_buf *head, part10_slot *slots,
                       size_t nslots, off_t *table_pos, s2d_error *err)
{
    if (!build_file_meta(p, head, err)) {
        return false;
    }
    size_t meta_len = head->len;
    // The encoder reports one value's position per pass: the first slot's in the pass
    // that writes the dataset, the others' in passes of their own over the small dataset.
    size_t offset = 0;
    if (!s2d_ds_encode(p->dataset, head, nslots ? slots[0].tag : 0, &offset, err)) {
        return false;
    }
    for (size_t i = 0; i < nslots; i++) {
        s2d_buf again = {0};
        s2d_buf dataset = {.data = head->data + meta_len, .len = head->len - meta_len};
        size_t at = offset ? offset - meta_len : 0;   // in the dataset's encoding
        bool ok = true;
        if (i > 0) {
            offset = 0;
            ok = s2d_ds_encode(p->dataset, &again, slots[i].tag, &offset, err);
            dataset = again;
            at = offset;
        }
        if (ok && at == 0) {
            ok = s2d_error_set(err, S2D_ERR_INTERNAL, "%s: (%04X,%04X) deferred but not in the "
                               "dataset", p->final_path, slots[i].tag >> 16, slots[i].tag & 0xFFFF);
        }
        ok = ok && locate_slot(p, &dataset, at, meta_len, &slots[i], err);
        s2d_buf_free(&again);
        if (!ok) {
            return false;
        }
    }
    if (p->native_frame_bits) {
        // Native: the frames back to back, one defined length, padded to even.
        uint64_t bytes = native_bytes(p);
        if (p->extended_offsets || bytes + (bytes & 1) > 0xFFFFFFFEu) {
            return s2d_error_set(err, S2D_ERR_INPUT,
                                 "%s: %" PRIu64 " bytes of native Pixel Data do not fit one value",
                                 p->final_path, bytes);
        }
        s2d_buf_append_u16le(head, 0x7FE0);
        s2d_buf_append_u16le(head, 0x0010);
        s2d_buf_append(head, p->native_words ? "OW" : "OB", 2);
        s2d_buf_append_u16le(head, 0);
        s2d_buf_append_u32le(head, (uint32_t)(bytes + (bytes & 1)));
        *table_pos = (off_t)head->len;
        return !head->failed || s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
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

// Everything before a streamed value (params.streamed_tag): preamble, file meta, the
// dataset up to that attribute's header, whose length (0 for now) lies at *length_pos;
// *tail is the encoding of the attributes after it.
static bool build_streamed_head(const s2d_part10_params *p, s2d_buf *head, s2d_buf *tail,
                                off_t *length_pos, size_t *length_in_tail, s2d_error *err)
{
    if (!build_file_meta(p, head, err)) {
        return false;
    }
    size_t meta_len = head->len, offset = 0;
    if (!s2d_ds_encode(p->dataset, head, p->streamed_tag, &offset, err)) {
        return false;
    }
    // An empty OB: tag, "OB", two reserved bytes, a 4-byte length of 0, then the value.
    const uint8_t *h = head->data + offset - 12;
    if (offset < meta_len + 12 || h[4] != 'O' || h[5] != 'B' || h[8] || h[9] || h[10] ||
        h[11]) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "%s: (%04X,%04X) is not an empty OB in "
                             "the dataset", p->final_path, p->streamed_tag >> 16,
                             p->streamed_tag & 0xFFFF);
    }
    // The value's own length, a UL after it: found in the tail by encoding again.
    size_t at = 0;
    if (p->streamed_length_tag) {
        s2d_buf again = {0};
        bool found = s2d_ds_encode(p->dataset, &again, p->streamed_length_tag, &at, err);
        size_t start = offset - meta_len;   // the streamed value in the dataset's encoding
        bool ul = found && at > start + 8 && again.data[at - 4] == 'U' &&
                  again.data[at - 3] == 'L' && again.data[at - 2] == 4 && !again.data[at - 1];
        s2d_buf_free(&again);
        if (!ul) {
            return s2d_error_set(err, S2D_ERR_INTERNAL, "%s: (%04X,%04X) is no UL after the "
                                 "streamed value", p->final_path, p->streamed_length_tag >> 16,
                                 p->streamed_length_tag & 0xFFFF);
        }
        at -= start;
    }
    *length_in_tail = at;
    s2d_buf_append(tail, head->data + offset, head->len - offset);
    head->len = offset;
    *length_pos = (off_t)offset - 4;
    return !tail->failed || s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
}

// Bytes the offset tables of n frames add to a head built for none: a BOT entry per frame,
// or the two EOT elements (12-byte headers) with 8 bytes per frame each.
uint64_t part10_tables_bytes(uint64_t n, bool extended)
{
    return extended ? 24 + 16 * n : 4 * n;
}

// Size of the head of p without its tables (as for zero frames and a BOT).
bool part10_head_bytes(const s2d_part10_params *p, uint64_t *out, s2d_error *err)
{
    s2d_part10_params none = *p;
    none.nframes = 0;
    none.extended_offsets = false;
    s2d_buf head = {0};
    off_t table_pos;
    bool ok = build_head(&none, &head, NULL, 0, &table_pos, err);
    *out = head.len;
    s2d_buf_free(&head);
    return ok;
}

s2d_part10 *s2d_part10_open(const s2d_part10_params *p, s2d_error *err)
{
    if (p->split && p->native_frame_bits) {
        s2d_error_set(err, S2D_ERR_USAGE, "%s: only encapsulated Pixel Data is split by size",
                      p->final_path);
        return NULL;
    }
    if (p->streamed_tag && (p->split || p->nframes || p->ndeferred || p->native_frame_bits)) {
        s2d_error_set(err, S2D_ERR_INTERNAL, "%s: a streamed value goes alone", p->final_path);
        return NULL;
    }
    if (p->split) {
        return s2d_concat_open(p, err);
    }
    s2d_part10 *w = calloc(1, sizeof *w);
    s2d_buf head = {0};
    if (!w) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (p->deflate && !p->native_frame_bits) {
        free(w);
        s2d_error_set(err, S2D_ERR_INTERNAL, "%s: only native Pixel Data is deflated",
                      p->final_path);
        return NULL;
    }
    w->deflate = p->deflate;
    w->nframes = p->nframes;
    w->extended_offsets = p->extended_offsets;
    w->uncompressed_bytes = p->uncompressed_bytes;
    w->native_frame_bits = p->native_frame_bits;
    w->final_path = strdup(p->final_path);
    snprintf(w->sop_instance_uid, sizeof w->sop_instance_uid, "%s", p->sop_instance_uid);
    s2d_ds_get_str(p->dataset, STUDY_INSTANCE_UID_TAG, w->study_uid, sizeof w->study_uid);
    s2d_ds_get_str(p->dataset, SERIES_INSTANCE_UID_TAG, w->series_uid, sizeof w->series_uid);
    w->temp_path = part10_temp_name(p->final_path, "partial");
    w->offsets = calloc(p->nframes ? p->nframes : 1, sizeof *w->offsets);
    w->lengths = calloc(p->nframes ? p->nframes : 1, sizeof *w->lengths);
    if (!w->final_path || !w->temp_path || !w->offsets || !w->lengths) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        goto fail;
    }
    w->streamed = p->streamed_tag != 0;
    bool built = w->streamed
                     ? build_streamed_head(p, &head, &w->value_tail, &w->value_length_pos,
                                           &w->value_length_in_tail, err)
                     : part10_slots_of(p, &w->slots, &w->nslots, err) &&
                           build_head(p, &head, w->slots, w->nslots, &w->table_pos, err);
    if (!built) {
        free(w->temp_path);   // not created yet
        w->temp_path = NULL;
        goto fail;
    }
    int fd = mkstemp(w->temp_path);
    if (fd < 0) {
        part10_io_error(w, err, "cannot create a temporary file for");
        free(w->temp_path);
        w->temp_path = NULL;
        goto fail;
    }
    w->file = part10_fdopen_buffered(fd, &w->file_buffer);
    if (!w->file) {
        close(fd);
        part10_io_error(w, err, "cannot open");
        goto fail;
    }
    // mkstemp makes 0600 files; archive files are meant to be read by others, as the
    // process's umask allows (read once: umask() is process-wide and not thread-safe).
    pthread_once(&umask_once, read_umask);
    fchmod(fd, 0666 & ~process_umask);
    if (!write_all(w, head.data, head.len, err)) {
        goto fail;
    }
    // The file meta ends after its group length's value: preamble and "DICM" (132 bytes),
    // then (0002,0000) UL with a 4-byte value.
    w->dataset_pos = 144 + (off_t)(head.data[140] | head.data[141] << 8 |
                                   head.data[142] << 16 | (uint32_t)head.data[143] << 24);
    s2d_buf_free(&head);
    return w;
fail:
    s2d_buf_free(&head);
    s2d_part10_free(w);
    return NULL;
}

// Hands what has been written so far to the file's flusher thread (started on first use;
// without one, the final fsync does it all).
static bool flush_in_background(s2d_part10 *w, s2d_error *err)
{
    if (fflush(w->file) != 0) {
        return part10_io_error(w, err, "cannot write");
    }
    if (!w->flusher) {
        w->flusher = s2d_flusher_start(fileno(w->file));
    }
    if (w->flusher) {
        s2d_flusher_request(w->flusher);
    }
    return true;
}

// Appends `bits` bits of native Pixel Data after those written before. Whole bytes are
// written as they are; 1-bit frames whose pixel count is not a multiple of 8 start in the
// middle of a byte (PS3.5 8.1.1: no padding between frames), so their bits are shifted in
// behind those carried over, the first pixel in the lowest free bit.
static bool append_native_bits(s2d_part10 *w, const uint8_t *data, uint64_t bits,
                               s2d_error *err)
{
    size_t len = (size_t)((bits + 7) / 8);
    uint64_t before = w->next_offset * 8 + w->carry_bits;
    if (w->carry_bits == 0 && bits % 8 == 0) {
        if (!write_all(w, data, len, err)) {
            return false;
        }
    } else {
        uint8_t out[4096];
        size_t nout = 0;
        unsigned carry = w->carry, have = w->carry_bits;
        uint64_t left = bits;
        for (size_t i = 0; i < len; i++) {
            unsigned take = left >= 8 ? 8 : (unsigned)left;
            left -= take;
            carry |= (unsigned)(data[i] & ((1u << take) - 1)) << have;
            have += take;
            if (have >= 8) {
                out[nout++] = (uint8_t)carry;
                carry >>= 8;
                have -= 8;
            }
            if (nout == sizeof out) {
                if (!write_all(w, out, nout, err)) {
                    return false;
                }
                nout = 0;
            }
        }
        if (!write_all(w, out, nout, err)) {
            return false;
        }
        w->carry = (uint8_t)carry;
        w->carry_bits = (uint8_t)have;
    }
    uint64_t after = before + bits;
    w->next_offset = after / 8;   // whole bytes written
    if (w->next_offset - w->flushed_at >= FLUSH_CHUNK) {
        w->flushed_at = w->next_offset;
        return flush_in_background(w, err);
    }
    return true;
}

bool s2d_part10_add_native(s2d_part10 *w, const uint8_t *data, uint64_t bits, s2d_error *err)
{
    if (!w->native_frame_bits || w->split) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "%s: not a native writer", w->final_path);
    }
    if (w->nwritten >= w->nframes || w->frame_bits_done + bits > w->native_frame_bits) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "%s: more native pixels than announced",
                             w->final_path);
    }
    if (!append_native_bits(w, data, bits, err)) {
        return false;
    }
    w->frame_bits_done += bits;
    if (w->frame_bits_done == w->native_frame_bits) {
        w->frame_bits_done = 0;
        w->nwritten++;
    }
    return true;
}

bool s2d_part10_add_value(s2d_part10 *w, const void *data, size_t len, s2d_error *err)
{
    if (!w->streamed || w->completed) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "%s: no value to stream", w->final_path);
    }
    if (!write_all(w, data, len, err)) {
        return false;
    }
    w->next_offset += len;
    if (w->next_offset - w->flushed_at >= FLUSH_CHUNK) {
        w->flushed_at = w->next_offset;
        return flush_in_background(w, err);
    }
    return true;
}

bool s2d_part10_add_frame(s2d_part10 *w, const uint8_t *data, size_t len, s2d_error *err)
{
    if (w->split) {
        return s2d_concat_add_frame(w, data, len, err);
    }
    if (w->nwritten >= w->nframes) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "%s: more frames than announced",
                             w->final_path);
    }
    if (w->native_frame_bits) {
        if (len != (w->native_frame_bits + 7) / 8 || w->frame_bits_done != 0) {
            return s2d_error_set(err, S2D_ERR_INTERNAL, "%s: a native frame of %zu bytes, not %" PRIu64,
                                 w->final_path, len, (w->native_frame_bits + 7) / 8);
        }
        return s2d_part10_add_native(w, data, w->native_frame_bits, err);
    }
    size_t padded = len + (len & 1);
    if (padded > 0xFFFFFFFEu) {
        return s2d_error_set(err, S2D_ERR_INPUT, "%s: a frame of %zu bytes is too large",
                             part10_file_name(w), len);
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

uint64_t s2d_part10_frame_bytes(const s2d_part10 *w)
{
    if (w->split) {
        return s2d_concat_frame_bytes(w->split);
    }
    if (w->native_frame_bits) {
        return w->next_offset + (w->carry_bits != 0);
    }
    if (w->streamed) {
        return w->next_offset;
    }
    return w->next_offset - 8ull * w->nwritten;
}

static bool patch(s2d_part10 *w, off_t pos, const void *data, size_t len, s2d_error *err)
{
    if (fseeko(w->file, pos, SEEK_SET) != 0) {
        return part10_io_error(w, err, "cannot seek in");
    }
    return write_all(w, data, len, err);
}

// The ratio field: raw / encoded, left-justified in the 16 bytes reserved at the end of the
// even-length value (see dicom/wsm.c): at most 15 characters, so the value stays within
// DS's 16 bytes.
void part10_ratio_field(uint64_t uncompressed, uint64_t encoded, char field[17])
{
    char num[17];
    s2d_format_ds(encoded ? (double)uncompressed / (double)encoded : 1.0, 15, num);
    snprintf(field, 17, "%-16s", num);
}

// Writes slot's value, padded to its width, at its place in the file (fd, or the stream
// when fd < 0).
bool part10_patch_slot(s2d_part10 *f, const part10_slot *slot, const part10_slot *given,
                       int fd, s2d_error *err)
{
    uint8_t field[S2D_PART10_DEFERRED_MAX];
    if (slot->text) {
        memset(field, ' ', slot->width);
    } else if (given->len != slot->width) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "%s: (%04X,%04X) takes %u bytes, given %u",
                             f->final_path, slot->tag >> 16, slot->tag & 0xFFFF, slot->width,
                             given->len);
    }
    memcpy(field, given->value, given->len);
    if (fd >= 0) {
        return s2d_pwrite_all(fd, field, slot->width, (uint64_t)slot->pos) ||
               part10_io_error(f, err, "cannot write");
    }
    return patch(f, slot->pos, field, slot->width, err);
}

static bool write_encapsulated_trailer(s2d_part10 *w, s2d_error *err);

// A streamed value's end: a pad byte to an even length, the attributes after it, then its
// length into its header.
static bool write_streamed_trailer(s2d_part10 *w, s2d_error *err)
{
    uint64_t len = w->next_offset + (w->next_offset & 1);
    if (len > 0xFFFFFFFEu) {
        return s2d_error_set(err, S2D_ERR_INPUT, "%s: a value of %" PRIu64 " bytes does not "
                             "fit DICOM's 4 GiB", w->final_path, w->next_offset);
    }
    uint8_t length[4];
    s2d_put_u32le(length, (uint32_t)len);
    if (w->value_length_in_tail) {
        s2d_put_u32le(w->value_tail.data + w->value_length_in_tail, (uint32_t)w->next_offset);
    }
    return write_all(w, "", (size_t)(len - w->next_offset), err) &&
           write_all(w, w->value_tail.data, w->value_tail.len, err) &&
           patch(w, w->value_length_pos, length, sizeof length, err);
}

// What follows the last frame, and the values known only then.
static bool write_trailer(s2d_part10 *w, s2d_error *err)
{
    if (w->streamed) {
        return write_streamed_trailer(w, err);
    }
    if (w->nwritten != w->nframes) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "%s: %u frames written of %u",
                             w->final_path, w->nwritten, w->nframes);
    }
    if (w->native_frame_bits) {
        // The last byte's unused bits, and a pad byte to an even length.
        uint8_t tail[2] = {w->carry, 0};
        size_t n = w->carry_bits != 0;
        n += (w->next_offset + n) & 1;
        if (!write_all(w, tail, n, err)) {
            return false;
        }
    } else if (!write_encapsulated_trailer(w, err)) {
        return false;
    }
    bool ok = true;
    for (size_t i = 0; ok && i < w->nslots; i++) {
        part10_slot *slot = &w->slots[i];
        if (slot->tag == RATIO_TAG) {
            char field[17];
            part10_ratio_field(w->uncompressed_bytes, s2d_part10_frame_bytes(w), field);
            memcpy(slot->value, field, 16);
            slot->len = 16;
            slot->set = true;
        }
        if (slot->set) {
            ok = part10_patch_slot(w, slot, slot, -1, err);
        } else if (!slot->internal && !w->values_later) {
            ok = s2d_error_set(err, S2D_ERR_INTERNAL, "%s: no value given for (%04X,%04X)",
                               w->final_path, slot->tag >> 16, slot->tag & 0xFFFF);
        }
    }
    return ok;
}

// The delimiter and the offset tables of encapsulated Pixel Data.
static bool write_encapsulated_trailer(s2d_part10 *w, s2d_error *err)
{
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
    return ok;
}

bool s2d_part10_set_deferred(s2d_part10 *w, uint32_t tag, const void *value, size_t len,
                             s2d_error *err)
{
    for (size_t i = 0; i < w->nslots; i++) {
        part10_slot *slot = &w->slots[i];
        if (slot->tag == tag && !slot->internal) {
            if (len > slot->width || (!slot->text && len != slot->width && !w->split)) {
                return s2d_error_set(err, S2D_ERR_INTERNAL,
                                     "%s: %zu bytes for (%04X,%04X), which has room for %u",
                                     w->final_path, len, tag >> 16, tag & 0xFFFF, slot->width);
            }
            memcpy(slot->value, value, len);
            slot->len = (uint16_t)len;
            slot->set = true;
            return true;
        }
    }
    return s2d_error_set(err, S2D_ERR_INTERNAL, "%s: (%04X,%04X) was not deferred",
                         w->final_path, tag >> 16, tag & 0xFFFF);
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

// Copies the file meta of the finished temporary file into a new one, then the dataset
// deflated, padded with a zero byte to even length; the new file, on disk, replaces the
// old as the writer's temporary file. The old one is closed either way.
static bool deflate_dataset(s2d_part10 *w, s2d_error *err)
{
    char *out_path = part10_temp_name(w->final_path, "deflated");
    int fd = out_path ? mkstemp(out_path) : -1;
    FILE *in = w->file;
    w->file = NULL;
    uint8_t *chunk = malloc(DEFLATE_CHUNK), *packed = malloc(DEFLATE_CHUNK);
    z_stream z = {0};
    bool z_ready = false, ok = fd >= 0 && chunk && packed && fseeko(in, 0, SEEK_SET) == 0;
    if (!ok) {
        part10_io_error(w, err, out_path && chunk && packed ? "cannot create a temporary file for"
                                                            : "out of memory for");
    }
    if (ok) {
        pthread_once(&umask_once, read_umask);
        fchmod(fd, 0666 & ~process_umask);
        z_ready = deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK;
        ok = z_ready || s2d_error_set(err, S2D_ERR_NOMEM, "%s: cannot start deflate",
                                      w->final_path);
    }
    uint64_t meta_left = (uint64_t)w->dataset_pos, written = 0;
    bool at_end = false;
    while (ok && !at_end) {
        size_t want = meta_left && meta_left < DEFLATE_CHUNK ? (size_t)meta_left : DEFLATE_CHUNK;
        size_t got = fread(chunk, 1, want, in);
        if (got < want && ferror(in)) {
            ok = part10_io_error(w, err, "cannot read back");
            break;
        }
        if (meta_left) {   // the file meta stays as it is
            ok = (got == want && s2d_write_all(fd, chunk, got)) ||
                 part10_io_error(w, err, "cannot write");
            meta_left -= got;
            written += got;
            continue;
        }
        at_end = got < want;
        z.next_in = chunk;
        z.avail_in = (uInt)got;
        do {
            z.next_out = packed;
            z.avail_out = DEFLATE_CHUNK;
            deflate(&z, at_end ? Z_FINISH : Z_NO_FLUSH);
            size_t n = DEFLATE_CHUNK - z.avail_out;
            ok = s2d_write_all(fd, packed, n) || part10_io_error(w, err, "cannot write");
            written += n;
        } while (ok && z.avail_out == 0);
    }
    if (ok && written % 2) {
        ok = s2d_write_all(fd, (const uint8_t[]){0}, 1) || part10_io_error(w, err, "cannot write");
    }
    ok = ok && (fsync(fd) == 0 || part10_io_error(w, err, "cannot write"));
    if (z_ready) {
        deflateEnd(&z);
    }
    free(chunk);
    free(packed);
    fclose(in);
    free(w->file_buffer);
    w->file_buffer = NULL;
    if (fd >= 0 && close(fd) != 0 && ok) {
        ok = part10_io_error(w, err, "cannot close");
    }
    if (!ok) {
        if (fd >= 0) {
            unlink(out_path);
        }
        free(out_path);
        return false;
    }
    unlink(w->temp_path);
    free(w->temp_path);
    w->temp_path = out_path;
    return true;
}

bool s2d_part10_finish(s2d_part10 *w, s2d_error *err)
{
    if (w->split) {
        return s2d_concat_finish(w, err);
    }
    if (!w->completed && !write_trailer(w, err)) {
        return false;
    }
    int flush_error = w->flusher ? s2d_flusher_stop(w->flusher) : 0;
    w->flusher = NULL;
    if (flush_error) {
        errno = flush_error;
        return part10_io_error(w, err, "cannot write");
    }
    if (fflush(w->file) != 0) {
        return part10_io_error(w, err, "cannot write");
    }
    if (w->deflate) {
        return deflate_dataset(w, err);
    }
    if (fsync(fileno(w->file)) != 0) {
        return part10_io_error(w, err, "cannot write");
    }
    FILE *f = w->file;
    w->file = NULL;
    bool closed = fclose(f) == 0;
    free(w->file_buffer);
    w->file_buffer = NULL;
    if (!closed) {
        return part10_io_error(w, err, "cannot close");
    }
    return true;
}

bool s2d_part10_commit(s2d_part10 *w, s2d_error *err)
{
    if (w->split) {
        return s2d_concat_commit(w, err);
    }
    if (w->file || !w->temp_path) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "%s committed before finish", w->final_path);
    }
    if (rename(w->temp_path, w->final_path) != 0) {
        return part10_io_error(w, err, "cannot rename the finished file to");
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
    free(w->slots);
    s2d_buf_free(&w->value_tail);
    s2d_concat_free(w->split);
    free(w);
}

size_t s2d_part10_file_count(const s2d_part10 *w)
{
    return w->split ? s2d_concat_file_count(w->split) : 1;
}

void s2d_part10_file_at(const s2d_part10 *w, size_t i, s2d_part10_file *out)
{
    if (w->split) {
        s2d_concat_file_at(w->split, i, out);
        return;
    }
    memset(out, 0, sizeof *out);
    out->final_path = w->final_path;
    out->nframes = w->nframes;
    out->frame_bytes = s2d_part10_frame_bytes(w);
    out->sop_instance_uid = w->sop_instance_uid;
    out->study_uid = w->study_uid;
    out->series_uid = w->series_uid;
}
