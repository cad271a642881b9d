/* Streaming Part 10 writer; see dicom/part10.h. Offsets in the tables count from the first
 * byte of the first item after the Basic Offset Table item, as PS3.5 A.4 defines. */
#include "dicom/part10.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dicom/uid.h"

#define RATIO_TAG S2D_TAG(0x0028, 0x2112)

struct s2d_part10 {
    char *final_path;
    char *temp_path;
    FILE *file;
    uint32_t nframes, nwritten;
    bool extended_offsets;
    bool committed;
    uint64_t uncompressed_bytes;
    off_t table_pos;         // where the BOT values (or the EOT values) start
    off_t ratio_pos;         // -1 when the dataset has no ratio to patch
    uint64_t next_offset;    // offset of the next fragment's item tag
    uint64_t *offsets;       // per frame
    uint32_t *lengths;       // per frame, item length with padding
};

static bool io_error(s2d_part10 *w, s2d_error *err, const char *what)
{
    return s2d_error_set(err, S2D_ERR_IO, "%s %s: %s", what, w->final_path, strerror(errno));
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

static char *temp_name_for(const char *final_path)
{
    const char *slash = strrchr(final_path, '/');
    size_t dirlen = slash ? (size_t)(slash - final_path + 1) : 0;
    const char *base = final_path + dirlen;
    size_t n = strlen(final_path) + 32;
    char *t = malloc(n);
    if (t) {
        snprintf(t, n, "%.*s.%s.partial-XXXXXX", (int)dirlen, final_path, base);
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

s2d_part10 *s2d_part10_open(const s2d_part10_params *p, s2d_error *err)
{
    s2d_part10 *w = calloc(1, sizeof *w);
    s2d_buf head = {0};
    if (!w) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    w->nframes = p->nframes;
    w->extended_offsets = p->extended_offsets;
    w->uncompressed_bytes = p->uncompressed_bytes;
    w->ratio_pos = -1;
    w->final_path = strdup(p->final_path);
    w->temp_path = temp_name_for(p->final_path);
    w->offsets = calloc(p->nframes ? p->nframes : 1, sizeof *w->offsets);
    w->lengths = calloc(p->nframes ? p->nframes : 1, sizeof *w->lengths);
    if (!w->final_path || !w->temp_path || !w->offsets || !w->lengths) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        goto fail;
    }
    int fd = mkstemp(w->temp_path);
    if (fd < 0) {
        io_error(w, err, "cannot create a temporary file for");
        free(w->temp_path);
        w->temp_path = NULL;
        goto fail;
    }
    w->file = fdopen(fd, "w+b");
    if (!w->file) {
        close(fd);
        io_error(w, err, "cannot open");
        goto fail;
    }
    setvbuf(w->file, NULL, _IOFBF, 1 << 20);
    // mkstemp makes 0600 files; archive files are meant to be read by others, as the
    // process's umask allows (read once: umask() is process-wide and not thread-safe).
    pthread_once(&umask_once, read_umask);
    fchmod(fd, 0666 & ~process_umask);

    size_t ratio_offset = 0;
    if (!build_file_meta(p, &head, err)) {
        goto fail;
    }
    if (!s2d_ds_encode(p->dataset, &head, RATIO_TAG, &ratio_offset, err)) {
        goto fail;
    }
    if (ratio_offset) {
        // The value ends with 16 bytes reserved for our ratio: all spaces, after a
        // backslash or at the start. Anything else is a dataset built wrongly.
        const uint8_t *hdr = head.data + ratio_offset - 2;
        uint16_t vlen = (uint16_t)(hdr[0] | hdr[1] << 8);
        const uint8_t *field = head.data + ratio_offset + vlen - 16;
        bool reserved = vlen >= 16 && (vlen == 16 || field[-1] == '\\');
        for (int i = 0; reserved && i < 16; i++) {
            reserved = field[i] == ' ';
        }
        if (!reserved) {
            s2d_error_set(err, S2D_ERR_INTERNAL, "%s: no room reserved for the compression ratio",
                          p->final_path);
            goto fail;
        }
        w->ratio_pos = (off_t)(ratio_offset + vlen - 16);
    }
    uint64_t table_bytes = (uint64_t)p->nframes * 8;
    if (p->extended_offsets) {
        if (table_bytes > 0xFFFFFFFEu) {
            s2d_error_set(err, S2D_ERR_INPUT, "too many frames for an offset table");
            goto fail;
        }
        // (7FE0,0001) EOT and (7FE0,0002) EOT Lengths, OV, filled at the end.
        for (uint16_t e = 1; e <= 2; e++) {
            s2d_buf_append_u16le(&head, 0x7FE0);
            s2d_buf_append_u16le(&head, e);
            s2d_buf_append(&head, "OV", 2);
            s2d_buf_append_u16le(&head, 0);
            s2d_buf_append_u32le(&head, (uint32_t)table_bytes);
            if (e == 1) {
                w->table_pos = (off_t)head.len;
            }
            for (uint64_t i = 0; i < table_bytes; i++) {
                s2d_buf_append_byte(&head, 0);
            }
        }
    }
    // Pixel Data, OB, undefined length, then the BOT item.
    s2d_buf_append_u16le(&head, 0x7FE0);
    s2d_buf_append_u16le(&head, 0x0010);
    s2d_buf_append(&head, "OB", 2);
    s2d_buf_append_u16le(&head, 0);
    s2d_buf_append_u32le(&head, 0xFFFFFFFFu);
    uint32_t bot_len = p->extended_offsets ? 0 : p->nframes * 4;
    s2d_buf_append_u16le(&head, 0xFFFE);
    s2d_buf_append_u16le(&head, 0xE000);
    s2d_buf_append_u32le(&head, bot_len);
    if (!p->extended_offsets) {
        w->table_pos = (off_t)head.len;
        for (uint32_t i = 0; i < bot_len; i++) {
            s2d_buf_append_byte(&head, 0);
        }
    }
    if (head.failed) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        goto fail;
    }
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

bool s2d_part10_add_frame(s2d_part10 *w, const uint8_t *data, size_t len, s2d_error *err)
{
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
    return true;
}

uint64_t s2d_part10_frame_bytes(const s2d_part10 *w)
{
    return w->next_offset - 8ull * w->nwritten;
}

static bool patch(s2d_part10 *w, off_t pos, const void *data, size_t len, s2d_error *err)
{
    if (fseeko(w->file, pos, SEEK_SET) != 0) {
        return io_error(w, err, "cannot seek in");
    }
    return write_all(w, data, len, err);
}

bool s2d_part10_finish(s2d_part10 *w, s2d_error *err)
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
        uint64_t encoded = s2d_part10_frame_bytes(w);
        // The last 16 bytes of the even-length value are ours (see dicom/wsm.c): a number
        // of at most 15 characters and spaces, so the value stays within DS's 16 bytes.
        char num[17], field[17];
        s2d_format_ds(encoded ? (double)w->uncompressed_bytes / (double)encoded : 1.0, 15, num);
        snprintf(field, sizeof field, "%-16s", num);
        ok = patch(w, w->ratio_pos, field, 16, err);
    }
    if (!ok) {
        return false;
    }
    if (fflush(w->file) != 0 || fsync(fileno(w->file)) != 0) {
        return io_error(w, err, "cannot write");
    }
    FILE *f = w->file;
    w->file = NULL;
    if (fclose(f) != 0) {
        return io_error(w, err, "cannot close");
    }
    return true;
}

bool s2d_part10_commit(s2d_part10 *w, s2d_error *err)
{
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
    if (w->file) {
        fclose(w->file);
    }
    if (!w->committed && w->temp_path) {
        unlink(w->temp_path);
    }
    free(w->final_path);
    free(w->temp_path);
    free(w->offsets);
    free(w->lengths);
    free(w);
}
