// SPDX-License-Identifier: Apache-2.0
/* SOP Common; see modules.h. */
#include "dicom/modules/modules.h"

bool s2d_module_sop_common(s2d_ds *ds, const char *sop_class_uid, const char *sop_instance_uid,
                           s2d_error *err)
{
    return s2d_put_str(ds, S2D_KW_SpecificCharacterSet, "ISO_IR 192", err) &&
           s2d_put_str(ds, S2D_KW_SOPClassUID, sop_class_uid, err) &&
           s2d_put_str(ds, S2D_KW_SOPInstanceUID, sop_instance_uid, err);
}
