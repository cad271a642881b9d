// SPDX-License-Identifier: Apache-2.0
/* Base64 (RFC 4648's alphabet) as DICOM JSON's InlineBinary and scanners' XML (Philips,
 * Leica) write it. */
#ifndef S2D_CORE_BASE64_H
#define S2D_CORE_BASE64_H

#include <stdbool.h>

#include "core/buf.h"

/** Decodes text into out (replacing its contents), skipping white space. False when text
 *  holds another character, digits after the padding, more than two '=', or a last group
 *  whose unused bits are not zero (no encoder writes those), or when out ran out of memory
 *  (out->failed). */
bool s2d_base64_decode(const char *text, s2d_buf *out);

#endif
