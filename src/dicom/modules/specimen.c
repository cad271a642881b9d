// SPDX-License-Identifier: Apache-2.0
/* Specimen; see modules.h. */
#include "dicom/modules/modules.h"

bool s2d_module_specimen(s2d_ds *ds, const char *container_id, const char *specimen_uid,
                         s2d_error *err)
{
    if (!s2d_put_str(ds, S2D_KW_ContainerIdentifier, container_id, err) ||
        !s2d_put_empty_seq(ds, S2D_KW_IssuerOfTheContainerIdentifierSequence, err) ||
        !s2d_put_code(ds, S2D_KW_ContainerTypeCodeSequence, "433466003", "SCT",
                      "Microscope slide", err)) {
        return false;
    }
    s2d_ds *specimen = s2d_put_item(ds, S2D_KW_SpecimenDescriptionSequence, err);
    return specimen && s2d_put_str(specimen, S2D_KW_SpecimenIdentifier, container_id, err) &&
           s2d_put_str(specimen, S2D_KW_SpecimenUID, specimen_uid, err) &&
           s2d_put_empty_seq(specimen, S2D_KW_IssuerOfTheSpecimenIdentifierSequence, err) &&
           s2d_put_empty_seq(specimen, S2D_KW_SpecimenPreparationSequence, err);
}
