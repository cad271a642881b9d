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

// One content item of a preparation step (TID 8001): a concept name and its value, a text or
// a code.
static s2d_ds *step_item(s2d_ds *step, const char *type, const char *code, const char *scheme,
                         const char *meaning, s2d_error *err)
{
    s2d_ds *item = s2d_put_item(step, S2D_KW_SpecimenPreparationStepContentItemSequence, err);
    return item && s2d_put_str(item, S2D_KW_ValueType, type, err) &&
                   s2d_put_code(item, S2D_KW_ConceptNameCodeSequence, code, scheme, meaning, err)
               ? item : NULL;
}

static bool put_staining_step(s2d_ds *specimen, const s2d_staining *st, s2d_error *err)
{
    char id[257];
    if (!s2d_ds_get_str(specimen, s2d_dict_entry_of(S2D_KW_SpecimenIdentifier)->tag, id,
                        sizeof id)) {
        id[0] = '\0';
    }
    s2d_ds *step = s2d_put_item(specimen, S2D_KW_SpecimenPreparationSequence, err);
    if (!step) {
        return false;
    }
    s2d_ds *item = step_item(step, "TEXT", "121041", "DCM", "Specimen Identifier", err);
    if (!item || !s2d_put_str(item, S2D_KW_TextValue, id, err)) {
        return false;
    }
    item = step_item(step, "CODE", "111701", "DCM", "Processing type", err);
    if (!item || !s2d_put_code(item, S2D_KW_ConceptCodeSequence, "127790008", "SCT", "Staining",
                               err)) {
        return false;
    }
    for (int i = 0; i < st->n; i++) {
        item = step_item(step, "CODE", "424361007", "SCT", "Using substance", err);
        if (!item || !s2d_put_code(item, S2D_KW_ConceptCodeSequence, st->substances[i]->code,
                                   "SCT", st->substances[i]->meaning, err)) {
            return false;
        }
    }
    return true;
}

bool s2d_module_staining(s2d_ds *ds, const s2d_staining *st, s2d_error *err)
{
    uint32_t tag = s2d_dict_entry_of(S2D_KW_SpecimenDescriptionSequence)->tag;
    size_t n = s2d_ds_seq_count(ds, tag);
    for (size_t i = 0; i < n && st->n > 0; i++) {
        if (!put_staining_step(s2d_ds_seq_item(ds, tag, i), st, err)) {
            return false;
        }
    }
    return true;
}
