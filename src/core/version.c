// SPDX-License-Identifier: Apache-2.0
/* The library's version; see slide2dcm/slide2dcm.h. */
#include "slide2dcm/slide2dcm.h"

const char *s2d_version(void)
{
    return S2D_VERSION;
}
