// SPDX-License-Identifier: Apache-2.0
/* Lossy Image Compression history; see modules.h. */
#include "dicom/modules/modules.h"

#include <stdio.h>
#include <string.h>

bool s2d_module_lossy_history(s2d_ds *ds, const char *method, const s2d_lossy_step *earlier,
                              s2d_error *err)
{
    char methods[40], ratio[48], prefix[24] = "";
    if (earlier && earlier->lossy && earlier->ratio > 0) {
        char earlier_ratio[17];
        s2d_format_ds(earlier->ratio, 15, earlier_ratio);
        // With its backslash, an odd-length value makes an even prefix; a trailing space
        // is allowed in DS.
        snprintf(prefix, sizeof prefix, "%s%s\\", earlier_ratio,
                 strlen(earlier_ratio) % 2 ? "" : " ");
        snprintf(methods, sizeof methods, "%s\\%s", earlier->method, method);
    } else {
        snprintf(methods, sizeof methods, "%s", method);
    }
    snprintf(ratio, sizeof ratio, "%s%16s", prefix, "");
    return s2d_put_str(ds, S2D_KW_LossyImageCompression, "01", err) &&
           s2d_put_str(ds, S2D_KW_LossyImageCompressionRatio, ratio, err) &&
           s2d_put_str(ds, S2D_KW_LossyImageCompressionMethod, methods, err);
}
