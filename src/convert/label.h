// SPDX-License-Identifier: Apache-2.0
/* The replacement label of --deidentify: a picture the user gives (--label-image: JPEG, PNG
 * or TIFF) or a text drawn by us (--label-text, in a 5 x 7 bitmap font of our own). */
#ifndef S2D_CONVERT_LABEL_H
#define S2D_CONVERT_LABEL_H

#include <stdbool.h>
#include <stdint.h>

#include "slide2dcm/slide2dcm.h"

/** Most characters --label-text takes: a pseudonym, not a document. */
#define S2D_LABEL_TEXT_MAX 64

/** The label of o->label_image or o->label_text (the image when both are given is refused
 *  by the options check) into *rgb (malloc'd, the caller's to free; tightly packed 8-bit
 *  RGB) of *width x *height. Errors name the option and the file, never the text.
 *  @return false with err set and *rgb NULL. */
bool s2d_label_make(const s2d_convert_options *o, uint8_t **rgb, int64_t *width,
                    int64_t *height, s2d_error *err);

#endif
