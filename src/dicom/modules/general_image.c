// SPDX-License-Identifier: Apache-2.0
/* General Image; see modules.h. */
#include "dicom/modules/modules.h"

bool s2d_module_general_image(s2d_ds *ds, const s2d_general_image *g, s2d_error *err)
{
    return s2d_put_str(ds, S2D_KW_ImageType, g->image_type, err) &&
           s2d_put_str(ds, S2D_KW_ContentDate, g->content_date, err) &&
           s2d_put_str(ds, S2D_KW_ContentTime, g->content_time, err) &&
           s2d_put_number(ds, S2D_KW_InstanceNumber, g->instance_number, err) &&
           s2d_put_str(ds, S2D_KW_BurnedInAnnotation, g->burned_in_annotation ? "YES" : "NO",
                       err);
}
