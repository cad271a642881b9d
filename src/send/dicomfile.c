// SPDX-License-Identifier: Apache-2.0
/* Part 10 file meta reader; see send/dicomfile.h. The meta group is always Explicit VR
 * Little Endian (PS3.10 7.1). */
#include "send/dicomfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fs.h"
#include "dicom/ds.h"

// The meta group is a few hundred bytes; anything past this is not a meta group we send.
#define META_MAX (64 * 1024)

static void copy_uid(char out[S2D_SEND_UID_SIZE], const uint8_t *value, uint32_t len)
{
    // UIDs are padded with NUL to even length; some writers pad with a space.
    while (len && (value[len - 1] == '\0' || value[len - 1] == ' ')) {
        len--;
    }
    if (len > S2D_SEND_UID_SIZE - 1) {
        len = S2D_SEND_UID_SIZE - 1;
    }
    memcpy(out, value, len);
    out[len] = '\0';
}

bool s2d_dicomfile_read(const char *path, s2d_dicomfile *out, s2d_error *err)
{
    memset(out, 0, sizeof *out);
    // O_NONBLOCK: opening a named pipe would otherwise wait for a writer, forever; for a
    // regular file the flag changes nothing.
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        return s2d_error_set(err, errno == ENOENT ? S2D_ERR_INPUT : S2D_ERR_IO, "cannot open: %s",
                             strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return s2d_error_set(err, S2D_ERR_IO, "cannot read: %s", strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return s2d_error_set(err, S2D_ERR_INPUT, "%s, not a regular file",
                             s2d_special_file_kind(st.st_mode));
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    out->size = (uint64_t)st.st_size;
    uint8_t buf[META_MAX];
    size_t got = fread(buf, 1, sizeof buf, f);
    bool read_error = ferror(f);
    fclose(f);
    if (read_error) {
        return s2d_error_set(err, S2D_ERR_IO, "cannot read: %s", strerror(errno));
    }
    if (got < 132 + 12 || memcmp(buf + 128, "DICM", 4) != 0) {
        return s2d_error_set(err, S2D_ERR_INPUT, "not a DICOM Part 10 file (no DICM prefix)");
    }
    size_t pos = 132;
    while (pos + 8 <= got) {
        const uint8_t *e = buf + pos;
        uint16_t group = (uint16_t)(e[0] | e[1] << 8), elem = (uint16_t)(e[2] | e[3] << 8);
        if (group != 0x0002) {
            break;
        }
        uint32_t len;
        size_t header;
        if (s2d_vr_is_long((const char *)e + 4)) {
            if (pos + 12 > got) {
                break;
            }
            len = (uint32_t)e[8] | (uint32_t)e[9] << 8 | (uint32_t)e[10] << 16 |
                  (uint32_t)e[11] << 24;
            header = 12;
        } else {
            len = (uint32_t)(e[6] | e[7] << 8);
            header = 8;
        }
        if (len == 0xFFFFFFFFu || pos + header + len > got) {
            return s2d_error_set(err, S2D_ERR_INPUT, "damaged file meta group");
        }
        const uint8_t *value = e + header;
        if (elem == 0x0002) {
            copy_uid(out->sop_class_uid, value, len);
        } else if (elem == 0x0003) {
            copy_uid(out->sop_instance_uid, value, len);
        } else if (elem == 0x0010) {
            copy_uid(out->transfer_syntax_uid, value, len);
        }
        pos += header + len;
    }
    if (pos + 8 > got && got == sizeof buf) {
        return s2d_error_set(err, S2D_ERR_INPUT, "file meta group too long");
    }
    if (!out->sop_class_uid[0] || !out->sop_instance_uid[0] || !out->transfer_syntax_uid[0]) {
        return s2d_error_set(err, S2D_ERR_INPUT,
                             "the file meta group lacks the SOP Class, SOP Instance or "
                             "Transfer Syntax UID");
    }
    out->dataset_offset = pos;
    return true;
}
