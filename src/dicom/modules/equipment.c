// SPDX-License-Identifier: Apache-2.0
/* General and Enhanced General Equipment, and slide2dcm as contributing equipment; see
 * modules.h. */
#include "dicom/modules/modules.h"

#include <stdio.h>
#include <string.h>

#include "slide2dcm/slide2dcm.h"

// What a Type 1 attribute says when the source does not record it (as wsidicom does).
#define UNKNOWN "Unknown"

// slide2dcm made these instances from a file that was not DICOM: new instances, which is
// what Processing Equipment (DCM 109102) says; Modifying Equipment would be one that
// changed existing instances.
static bool put_converter(s2d_ds *ds, const s2d_equipment *e, s2d_error *err)
{
    char description[96];
    snprintf(description, sizeof description, "Converted from %s",
             e->converted_from[0] ? e->converted_from : "a file that was not DICOM");
    s2d_ds *item = s2d_put_item(ds, S2D_KW_ContributingEquipmentSequence, err);
    return item && s2d_put_str(item, S2D_KW_Manufacturer, "slide2dcm", err) &&
           s2d_put_str(item, S2D_KW_ManufacturerModelName, "slide2dcm", err) &&
           s2d_put_str(item, S2D_KW_SoftwareVersions, S2D_VERSION, err) &&
           s2d_put_str(item, S2D_KW_ContributionDateTime, e->converted_at, err) &&
           s2d_put_str(item, S2D_KW_ContributionDescription, description, err) &&
           s2d_put_code(item, S2D_KW_PurposeOfReferenceCodeSequence, "109102", "DCM",
                        "Processing Equipment", err);
}

bool s2d_module_equipment(s2d_ds *ds, const s2d_equipment *e, bool enhanced, s2d_error *err)
{
    // The versions as one backslash-separated value list.
    char software[S2D_EQUIPMENT_SOFTWARE_MAX * 258] = "";
    for (int i = 0; i < S2D_EQUIPMENT_SOFTWARE_MAX && e->software[i][0]; i++) {
        size_t used = strlen(software);
        snprintf(software + used, sizeof software - used, "%s%s", i ? "\\" : "",
                 e->software[i]);
    }
    const char *none = enhanced ? UNKNOWN : NULL;
    const char *model = e->model[0] ? e->model : none;
    const char *serial = e->serial[0] ? e->serial : none;
    const char *versions = software[0] ? software : none;
    return s2d_put_str(ds, S2D_KW_Manufacturer,
                       e->manufacturer[0] ? e->manufacturer : enhanced ? UNKNOWN : "", err) &&
           (!model || s2d_put_str(ds, S2D_KW_ManufacturerModelName, model, err)) &&
           (!serial || s2d_put_str(ds, S2D_KW_DeviceSerialNumber, serial, err)) &&
           (!versions || s2d_put_str(ds, S2D_KW_SoftwareVersions, versions, err)) &&
           put_converter(ds, e, err);
}
