// SPDX-License-Identifier: Apache-2.0
/* The IOD table; see iod/iod.h. A new IOD is one file and one line here. */
#include "iod/iod.h"

#include <string.h>

static const s2d_iod *const iods[] = {
    &s2d_iod_wsm,
    &s2d_iod_sc_image, &s2d_iod_sc_bit, &s2d_iod_sc_byte, &s2d_iod_sc_word, &s2d_iod_sc_colour,
    &s2d_iod_vl_photo, &s2d_iod_vl_endoscopic, &s2d_iod_pdf,
};

const s2d_iod *s2d_iod_find(const char *name)
{
    for (size_t i = 0; i < sizeof iods / sizeof *iods; i++) {
        if (strcmp(iods[i]->name, name) == 0) {
            return iods[i];
        }
    }
    return NULL;
}

bool s2d_iod_role_of(const char *image_type, s2d_role *role)
{
    for (size_t i = 0; i < sizeof iods / sizeof *iods; i++) {
        for (int r = 0; r < S2D_ROLE_COUNT; r++) {
            if (iods[i]->image_type[r] && strcmp(iods[i]->image_type[r], image_type) == 0) {
                *role = (s2d_role)r;
                return true;
            }
        }
    }
    return false;
}
