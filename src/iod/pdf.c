// SPDX-License-Identifier: Apache-2.0
/* Encapsulated PDF (PS3.3 A.45.1): a plain TIFF's document pages as one PDF, written with
 * --as pdf (docs/plain-tiff.md, "Documents as PDF"). Modules: Patient, General Study,
 * Encapsulated Document Series, General Equipment, SC Equipment, Encapsulated Document
 * (C.24.2), SOP Common. The PDF itself is no dataset value here: the Encapsulated Document
 * attribute is left empty for the Part 10 writer to stream (part10.h, streamed_tag), as
 * src/convert/document.c makes the PDF. Its one instance is planned there too (its plan
 * hook is NULL, like the other page IODs'). */
#include <string.h>

#include "dicom/modules/modules.h"
#include "iod/iod.h"
#include "iod/pages.h"

static s2d_ds *build_pdf(const s2d_iod_shared *s, const s2d_iod_instance *in,
                         const char *sop_instance_uid, s2d_error *err)
{
    s2d_ds *ds = s2d_ds_new();
    if (!ds) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    // The Encapsulated Document Series has no Laterality (C.24.1).
    s2d_study_series study = {
        .study_uid = s->study_uid,
        .series_uid = s->series_uid,
        .study_datetime = s->acquisition_datetime,
        .modality = s->modality,
    };
    bool ok =
        s2d_module_sop_common(ds, s2d_iod_pdf.sop_class_uid, sop_instance_uid, err) &&
        s2d_module_patient_study_series(ds, &study, err) &&
        // The title names the series too, as for the other page IODs (a user's Series
        // Description, merged last, wins).
        (!s->document_title ||
         s2d_put_str(ds, S2D_KW_SeriesDescription, s->document_title, err)) &&
        s2d_module_equipment(ds, &s->equipment, false, err) &&
        s2d_module_sc_equipment(ds, s->conversion_type, err) &&
        // Encapsulated Document (C.24.2).
        s2d_put_number(ds, S2D_KW_InstanceNumber, in->instance_number, err) &&
        s2d_put_str(ds, S2D_KW_ContentDate, s->content_date, err) &&
        s2d_put_str(ds, S2D_KW_ContentTime, s->content_time, err) &&
        s2d_put_str(ds, S2D_KW_AcquisitionDateTime, s->acquisition_datetime, err) &&
        s2d_put_str(ds, S2D_KW_BurnedInAnnotation, s->burned_in_annotation ? "YES" : "NO",
                    err) &&
        s2d_put_str(ds, S2D_KW_DocumentTitle, s->document_title ? s->document_title : "",
                    err) &&
        s2d_put_empty_seq(ds, S2D_KW_ConceptNameCodeSequence, err) &&
        s2d_put_str(ds, S2D_KW_MIMETypeOfEncapsulatedDocument, "application/pdf", err) &&
        s2d_put_bytes(ds, S2D_KW_EncapsulatedDocument, "", 0, err) &&
        // The PDF's own length (its value may end in a pad byte), known at the end.
        s2d_put_number(ds, S2D_KW_EncapsulatedDocumentLength, 0, err);
    if (ok && s->overrides) {
        ok = s2d_ds_merge(ds, s->overrides, err);
    }
    if (!ok) {
        s2d_ds_free(ds);
        return NULL;
    }
    return ds;
}

const s2d_iod s2d_iod_pdf = {
    .name = "PDF",
    .sop_class_uid = "1.2.840.10008.5.1.4.1.1.104.1",
    .image_type = {[S2D_ROLE_PAGE] = "DOCUMENT"},
    .owned = s2d_iod_page_owned,
    .nowned = S2D_IOD_PAGE_NOWNED,
    .is_output_name = s2d_iod_is_page_name,
    .build = build_pdf,
};
