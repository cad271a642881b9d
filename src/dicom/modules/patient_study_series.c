// SPDX-License-Identifier: Apache-2.0
/* Patient, General Study, General Series and Frame of Reference; see modules.h. */
#include "dicom/modules/modules.h"

#include <stdio.h>
#include <string.h>

bool s2d_module_patient_study_series(s2d_ds *ds, const s2d_study_series *s, s2d_error *err)
{
    char study_date[9] = "", study_time[7] = "";
    snprintf(study_date, sizeof study_date, "%.8s", s->study_datetime);
    if (strlen(s->study_datetime) > 8) {
        snprintf(study_time, sizeof study_time, "%.6s", s->study_datetime + 8);
    }
    return s2d_put_str(ds, S2D_KW_PatientName, "", err) &&
           s2d_put_str(ds, S2D_KW_PatientID, "", err) &&
           s2d_put_str(ds, S2D_KW_PatientBirthDate, "", err) &&
           s2d_put_str(ds, S2D_KW_PatientSex, "", err) &&
           s2d_put_str(ds, S2D_KW_StudyInstanceUID, s->study_uid, err) &&
           s2d_put_str(ds, S2D_KW_StudyDate, study_date, err) &&
           s2d_put_str(ds, S2D_KW_StudyTime, study_time, err) &&
           s2d_put_str(ds, S2D_KW_ReferringPhysicianName, "", err) &&
           s2d_put_str(ds, S2D_KW_StudyID, "", err) &&
           s2d_put_str(ds, S2D_KW_AccessionNumber, "", err) &&
           s2d_put_str(ds, S2D_KW_Modality, s->modality, err) &&
           s2d_put_str(ds, S2D_KW_SeriesInstanceUID, s->series_uid, err) &&
           s2d_put_number(ds, S2D_KW_SeriesNumber, s->series_number > 0 ? s->series_number : 1,
                          err) &&
           (!s->empty_laterality || s2d_put_str(ds, S2D_KW_Laterality, "", err)) &&
           (!s->frame_of_reference_uid ||
            (s2d_put_str(ds, S2D_KW_FrameOfReferenceUID, s->frame_of_reference_uid, err) &&
             s2d_put_str(ds, S2D_KW_PositionReferenceIndicator, s->position_reference_indicator,
                         err)));
}
