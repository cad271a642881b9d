/* UIDs: "2.25." followed by the decimal value of 128 random bits (PS3.5 B.2). */
#ifndef S2D_UID_H
#define S2D_UID_H

#include <stdbool.h>
#include <stdint.h>

#include "slide2dcm/error.h"

#define S2D_UID_MAX 65   // 64 characters + NUL

/** Writes a new random UID into out. Thread-safe. */
bool s2d_uid_new(char out[S2D_UID_MAX], s2d_error *err);

/** Formats 16 bytes (big-endian 128-bit number) as a 2.25 UID. */
void s2d_uid_from_bytes(const uint8_t bytes[16], char out[S2D_UID_MAX]);

#define S2D_UID_WSM_SOP_CLASS "1.2.840.10008.5.1.4.1.1.77.1.6"
#define S2D_UID_JPEG_BASELINE "1.2.840.10008.1.2.4.50"
// Root of the implementation class UID: a fixed 2.25 UID made once for slide2dcm.
#define S2D_UID_IMPLEMENTATION_CLASS "2.25.248830757311271813498618549301622150217"

#endif
