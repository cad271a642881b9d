// SPDX-License-Identifier: Apache-2.0
/* General Acquisition and Acquisition Context; see modules.h. */
#include "dicom/modules/modules.h"

bool s2d_module_acquisition(s2d_ds *ds, const char *acquisition_uid, const char *datetime,
                            s2d_error *err)
{
    return s2d_put_str(ds, S2D_KW_AcquisitionUID, acquisition_uid, err) &&
           s2d_put_str(ds, S2D_KW_AcquisitionDateTime, datetime, err) &&
           s2d_put_empty_seq(ds, S2D_KW_AcquisitionContextSequence, err);
}
