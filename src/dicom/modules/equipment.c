// SPDX-License-Identifier: Apache-2.0
/* Enhanced General Equipment; see modules.h. */
#include "dicom/modules/modules.h"

// The equipment that made the instance is the converter, not the scanner.
bool s2d_module_equipment(s2d_ds *ds, s2d_error *err)
{
    return s2d_put_str(ds, S2D_KW_Manufacturer, "slide2dcm", err) &&
           s2d_put_str(ds, S2D_KW_ManufacturerModelName, "slide2dcm", err) &&
           s2d_put_str(ds, S2D_KW_DeviceSerialNumber, "1", err) &&
           s2d_put_str(ds, S2D_KW_SoftwareVersions, "slide2dcm " S2D_VERSION, err);
}
