// SPDX-License-Identifier: Apache-2.0
/* Code sequence items; see modules.h. */
#include "dicom/modules/modules.h"

bool s2d_put_code(s2d_ds *parent, s2d_kw seq, const char *value, const char *scheme,
                  const char *meaning, s2d_error *err)
{
    s2d_ds *item = s2d_put_item(parent, seq, err);
    return item && s2d_put_str(item, S2D_KW_CodeValue, value, err) &&
           s2d_put_str(item, S2D_KW_CodingSchemeDesignator, scheme, err) &&
           s2d_put_str(item, S2D_KW_CodeMeaning, meaning, err);
}
