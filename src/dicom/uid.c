/* UID generation from the kernel's random source; see dicom/uid.h. */
#include "dicom/uid.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

void s2d_uid_from_bytes(const uint8_t bytes[16], char out[S2D_UID_MAX])
{
    // Long division of the 128-bit number by 10, four 32-bit limbs at a time.
    uint32_t limbs[4];
    for (int i = 0; i < 4; i++) {
        limbs[i] = (uint32_t)bytes[4 * i] << 24 | (uint32_t)bytes[4 * i + 1] << 16 |
                   (uint32_t)bytes[4 * i + 2] << 8 | bytes[4 * i + 3];
    }
    char digits[40];
    int n = 0;
    for (;;) {
        uint64_t rem = 0;
        bool zero = true;
        for (int i = 0; i < 4; i++) {
            uint64_t cur = rem << 32 | limbs[i];
            limbs[i] = (uint32_t)(cur / 10);
            rem = cur % 10;
            zero &= limbs[i] == 0;
        }
        digits[n++] = (char)('0' + rem);
        if (zero) {
            break;
        }
    }
    strcpy(out, "2.25.");
    char *p = out + 5;
    while (n > 0) {
        *p++ = digits[--n];
    }
    *p = '\0';
}

bool s2d_uid_new(char out[S2D_UID_MAX], s2d_error *err)
{
    uint8_t bytes[16];
    size_t got = 0;
    while (got < sizeof bytes) {
        ssize_t r = getrandom(bytes + got, sizeof bytes - got, 0);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return s2d_error_set(err, S2D_ERR_IO, "cannot read random bytes for a UID: %s",
                                 strerror(errno));
        }
        got += (size_t)r;
    }
    s2d_uid_from_bytes(bytes, out);
    return true;
}
