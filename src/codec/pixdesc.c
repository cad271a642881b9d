// SPDX-License-Identifier: Apache-2.0
/* Sizes derived from a pixel description; see codec/pixdesc.h. */
#include "codec/pixdesc.h"

size_t s2d_pixdesc_sample_bytes(const s2d_pixdesc *d)
{
    return d->bits_allocated > 16 ? 4 : d->bits_allocated > 8 ? 2 : 1;
}

size_t s2d_pixdesc_row_bytes(const s2d_pixdesc *d)
{
    return (size_t)d->width * d->samples * s2d_pixdesc_sample_bytes(d);
}

uint64_t s2d_pixdesc_frame_bits(const s2d_pixdesc *d)
{
    return (uint64_t)d->width * d->height * d->samples * d->bits_allocated;
}
