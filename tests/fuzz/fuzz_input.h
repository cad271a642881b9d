// SPDX-License-Identifier: Apache-2.0
/* Cutting one fuzz input into the several arguments a parser takes: a field of bytes whose
 * length the input states, so that mutations of the lengths and of the contents both reach
 * the parser. */
#ifndef S2D_FUZZ_INPUT_H
#define S2D_FUZZ_INPUT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fuzz_input {
    const uint8_t *p;
    size_t left;
} fuzz_input;

/** The next byte (0 once the input is used up). */
static inline uint8_t fuzz_byte(fuzz_input *in)
{
    if (!in->left) {
        return 0;
    }
    in->left--;
    return *in->p++;
}

/** The next 16-bit big-endian number. */
static inline uint16_t fuzz_u16(fuzz_input *in)
{
    uint16_t hi = fuzz_byte(in);
    return (uint16_t)(hi << 8 | fuzz_byte(in));
}

/** A field of a length stated by the next two bytes (cut short at the input's end), or the
 *  whole rest when last. Points into the input. */
static inline const uint8_t *fuzz_field(fuzz_input *in, bool last, size_t *len)
{
    size_t n = last ? in->left : fuzz_u16(in);
    if (n > in->left) {
        n = in->left;
    }
    const uint8_t *field = in->p;
    in->p += n;
    in->left -= n;
    *len = n;
    return field;
}

#endif
