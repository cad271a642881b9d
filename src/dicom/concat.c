// SPDX-License-Identifier: Apache-2.0
/* The concatenation splitter (PS3.3 C.7.6.16) behind a Part 10 writer opened with a size
 * cap; see dicom/part10.h. Frames are gathered in an unlinked spool file next to the
 * output, and a part is written out through the one-file writer of dicom/part10.c when
 * the next frame would take it over the cap. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/fs.h"
#include "dicom/part10.h"
#include "dicom/part10_impl.h"
#include "dicom/uid.h"

#define NUMBER_OF_FRAMES_TAG S2D_TAG(0x0028, 0x0008)
#define SOP_INSTANCE_UID_TAG S2D_TAG(0x0008, 0x0018)
#define CONCATENATION_UID_TAG S2D_TAG(0x0020, 0x9161)
#define CONCATENATION_SOURCE_TAG S2D_TAG(0x0020, 0x0242)
#define IN_CONCATENATION_NUMBER_TAG S2D_TAG(0x0020, 0x9162)
#define IN_CONCATENATION_TOTAL_TAG S2D_TAG(0x0020, 0x9163)
#define CONCATENATION_FRAME_OFFSET_TAG S2D_TAG(0x0020, 0x9228)
#define MAX_PARTS 65535   // In-concatenation Number and Total Number are US

typedef struct split_part {
    s2d_part10 *file;           // finished, not committed yet
    uint32_t frame_offset;      // Concatenation Frame Offset Number
    double seconds;             // from its first to its last frame received
} split_part;

struct split_state {
    s2d_part10_params whole;    // the instance as one file; strings and dataset owned here
    s2d_ds *dataset;
    char *sop_class_uid, *sop_instance_uid, *transfer_syntax_uid;
    s2d_part10_deferred *deferred;   // the caller's deferred values, as every part has them
    size_t ndeferred;
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

// What stands between an instance's name and the number of one of its parts.
#define PART_MARK "-part-"

size_t s2d_part10_part_mark_length(const char *name)
{
    size_t mark = strlen(PART_MARK);
    if (strncmp(name, PART_MARK, mark) != 0) {
        return 0;
    }
    size_t digits = strspn(name + mark, "0123456789");
    return digits ? mark + digits : 0;
}

// NAME.dcm -> NAME-part-K.dcm, malloc'd (the caller frees it), or NULL.
static char *part_path(const char *final_path, unsigned k)
{
    size_t n = strlen(final_path);
    size_t stem = n >= 4 && strcmp(final_path + n - 4, ".dcm") == 0 ? n - 4 : n;
    char *out = malloc(n + 32);
    if (out) {
        snprintf(out, n + 32, "%.*s" PART_MARK "%u.dcm", (int)stem, final_path, k);
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
// Number is 0 until s2d_concat_finish() knows it.
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
        .deferred = s->deferred,
        .ndeferred = s->ndeferred,
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
        ok = part10_head_bytes(&p, &s->part_head, err);
    }
    if (ok && s->nparts == 0) {
        ok = part10_head_bytes(&s->whole, &s->whole_head, err);
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
    return head + part10_tables_bytes(n, items >= s->eot_limit) + items + 8;   // 8: the delimiter
}

// Size of the whole instance as one file, at the least, once frames taking items bytes as
// items are in it (its table has room for all its frames from the start).
static uint64_t whole_bytes(const split_state *s, uint64_t items)
{
    return s->whole_head + part10_tables_bytes(s->whole.nframes, s->whole.extended_offsets) +
           items + 8;
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
        part10_io_error(w, err, "cannot write the spool of");
        return NULL;
    }
    s2d_part10 *f = s2d_part10_open(p, err);
    bool ok = f != NULL;
    if (f) {
        f->values_later = true;   // given to the whole instance, patched by finish
    }
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
            ok = part10_io_error(w, err, "cannot read the spool of");
            break;
        }
        ok = s2d_part10_add_frame(f, s->buf, len, err);
        at += (off_t)len;
    }
    ok = ok && s2d_part10_finish(f, err);
    if (ok && (ftruncate(fileno(s->spool), 0) != 0 || fseeko(s->spool, 0, SEEK_SET) != 0)) {
        ok = part10_io_error(w, err, "cannot empty the spool of");
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

s2d_part10 *s2d_concat_open(const s2d_part10_params *p, s2d_error *err)
{
    const s2d_part10_split *sp = p->split;
    s2d_part10_params whole = *p;
    whole.split = NULL;
    uint64_t head;
    if (!part10_head_bytes(&whole, &head, err)) {
        return NULL;
    }
    if (head + part10_tables_bytes(p->nframes, p->extended_offsets) + sp->frames_bound + 8 <=
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
    w->final_path = strdup(p->final_path);
    s->sop_class_uid = strdup(p->sop_class_uid);
    s->sop_instance_uid = strdup(p->sop_instance_uid);
    s->transfer_syntax_uid = strdup(p->transfer_syntax_uid);
    s->dataset = s2d_ds_new();
    s->lengths = calloc(p->nframes ? p->nframes : 1, sizeof *s->lengths);
    s->ndeferred = p->ndeferred;
    s->deferred = malloc((p->ndeferred ? p->ndeferred : 1) * sizeof *s->deferred);
    if (s->deferred && p->ndeferred) {
        memcpy(s->deferred, p->deferred, p->ndeferred * sizeof *s->deferred);
    }
    char *spool_path = w->final_path ? part10_temp_name(w->final_path, "spool") : NULL;
    if (!w->final_path || !s->sop_class_uid || !s->sop_instance_uid || !s->transfer_syntax_uid ||
        !s->dataset || !s->lengths || !s->deferred || !spool_path) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        goto fail;
    }
    // The outer writer keeps the caller's values (s2d_part10_set_deferred) for the files.
    if (!s2d_ds_merge(s->dataset, p->dataset, err) ||
        !part10_slots_of(p, &w->slots, &w->nslots, err)) {
        goto fail;
    }
    s->whole = whole;
    s->whole.final_path = w->final_path;
    s->whole.sop_class_uid = s->sop_class_uid;
    s->whole.sop_instance_uid = s->sop_instance_uid;
    s->whole.transfer_syntax_uid = s->transfer_syntax_uid;
    s->whole.dataset = s->dataset;
    s->whole.deferred = s->deferred;
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
        part10_io_error(w, err, "cannot create a spool file for");
        goto fail;
    }
    unlink(spool_path);
    s->spool = part10_fdopen_buffered(fd, &s->spool_buffer);
    if (!s->spool) {
        close(fd);
        part10_io_error(w, err, "cannot open the spool of");
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
                      part10_file_name(w), one, s->max_file_bytes);
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
        return part10_io_error(w, err, "cannot write the spool of");
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
                         part10_file_name(w), index + 1, len, need, w->split->max_file_bytes);
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
        ok = part10_io_error(w, err, "cannot read the spool of");
    }
    if (ok) {
        memcpy(lengths, s->lengths + s->part_fit, carry * sizeof *lengths);
        s->nspooled = s->part_fit;
        s->spooled_items = s->part_fit_items;
        ok = write_part(w, err) && measure_heads(w, err);
    }
    uint64_t off = 0;
    for (uint32_t i = 0; ok && i < carry; i++) {
        ok = s2d_concat_add_frame(w, carried + off, lengths[i], err);
        off += lengths[i];
    }
    free(carried);
    free(lengths);
    return ok;
}

bool s2d_concat_add_frame(s2d_part10 *w, const uint8_t *data, size_t len, s2d_error *err)
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
                             part10_file_name(w), len);
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

// Rewrites the values known only after the last part in a finished, not yet renamed file:
// the caller's (given to w), and for parts total and ratio (total < 0, ratio NULL: none).
static bool patch_finished(const s2d_part10 *w, s2d_part10 *f, int total, const char *ratio,
                           s2d_error *err)
{
    int fd = open(f->temp_path, O_WRONLY);
    if (fd < 0) {
        return part10_io_error(f, err, "cannot reopen");
    }
    bool ok = true;
    for (size_t i = 0; ok && i < f->nslots; i++) {
        const part10_slot *slot = &f->slots[i];
        part10_slot given = {0};
        if (slot->tag == IN_CONCATENATION_TOTAL_TAG) {
            if (total < 0) {
                continue;
            }
            s2d_put_u16le(given.value, (uint16_t)total);
            given.len = 2;
        } else if (slot->internal) {   // the ratio
            if (!ratio) {
                continue;
            }
            memcpy(given.value, ratio, 16);
            given.len = 16;
        } else {
            for (size_t k = 0; k < w->nslots; k++) {
                if (w->slots[k].tag == slot->tag && !w->slots[k].internal) {
                    given = w->slots[k];
                }
            }
        }
        ok = part10_patch_slot(f, slot, &given, fd, err);
    }
    if (ok && fsync(fd) != 0) {
        ok = part10_io_error(f, err, "cannot write");
    }
    int saved = errno;
    if (close(fd) != 0 && ok) {
        return part10_io_error(f, err, "cannot write");
    }
    errno = saved;
    return ok;
}

bool s2d_concat_finish(s2d_part10 *w, s2d_error *err)
{
    split_state *s = w->split;
    if (s->frames_done + s->nspooled != s->whole.nframes) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "%s: %u frames written of %u",
                             w->final_path, s->frames_done + s->nspooled, s->whole.nframes);
    }
    for (size_t i = 0; i < w->nslots; i++) {
        if (!w->slots[i].internal && !w->slots[i].set) {
            return s2d_error_set(err, S2D_ERR_INTERNAL, "%s: no value given for (%04X,%04X)",
                                 w->final_path, w->slots[i].tag >> 16,
                                 w->slots[i].tag & 0xFFFF);
        }
    }
    if (!s->concatenated) {
        // Everything fitted in one file after all: the instance as it is without a cap.
        s2d_part10 *f = write_gathered(w, &s->whole, err);
        if (f && !add_part(s, f, 0)) {
            s2d_part10_free(f);
            return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        }
        return f != NULL && (s->ndeferred == 0 || patch_finished(w, f, -1, NULL, err));
    }
    if (s->nspooled > 0 && !write_part(w, err)) {
        return false;
    }
    // The same in every part, known only now: In-concatenation Total Number, and the
    // compression ratio of the whole instance.
    char ratio[17];
    part10_ratio_field(s->frame_raw_bytes * s->whole.nframes, s->frame_bytes_done, ratio);
    for (unsigned i = 0; i < s->nparts; i++) {
        if (!patch_finished(w, s->parts[i].file, (int)s->nparts, ratio, err)) {
            return false;
        }
    }
    return true;
}

bool s2d_concat_commit(s2d_part10 *w, s2d_error *err)
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

uint64_t s2d_concat_frame_bytes(const split_state *s)
{
    return s->frame_bytes_done + s->spooled_items - 8ull * s->nspooled;
}

void s2d_concat_free(split_state *s)
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
    free(s->deferred);
    free(s);
}

size_t s2d_concat_file_count(const split_state *s)
{
    return s->nparts;
}

void s2d_concat_file_at(const split_state *s, size_t i, s2d_part10_file *out)
{
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
