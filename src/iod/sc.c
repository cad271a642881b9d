// SPDX-License-Identifier: Apache-2.0
/* The Secondary Capture family (PS3.3 A.8): the single-frame SC Image and the four
 * multi-frame SC IODs (Single Bit, Grayscale Byte, Grayscale Word, True Color). They share
 * every module and differ in SOP class and in the pixels each may hold, so they are one
 * file: what a plain TIFF's page becomes when it is not a photograph (docs/plain-tiff.md).
 * Their instances are planned by iod/page_plan.c (their plan hook is NULL), one per run of
 * pages, each page a frame. */
#include <stdio.h>
#include <string.h>

#include "dicom/modules/modules.h"
#include "iod/iod.h"
#include "iod/pages.h"

static bool is_multi_frame(const s2d_iod *iod)
{
    return iod != &s2d_iod_sc_image;
}

// Image Pixel, Multi-frame and the SC Multi-frame Vector: frames follow the page numbers.
static bool put_frames(s2d_ds *ds, const s2d_iod *iod, const s2d_iod_instance *in,
                       s2d_error *err)
{
    s2d_image_pixel pixel = {
        .rows = (uint32_t)in->frame_height,
        .columns = (uint32_t)in->frame_width,
        .samples_per_pixel = in->samples_per_pixel,
        .bits_allocated = in->bits_per_sample,
        .bits_stored = in->bits_stored,
        .photometric = in->photometric,
    };
    if (!s2d_module_image_pixel(ds, &pixel, err)) {
        return false;
    }
    if (!is_multi_frame(iod)) {
        return true;
    }
    if (!s2d_put_number(ds, S2D_KW_NumberOfFrames, in->nframes, err)) {
        return false;
    }
    if (in->nframes < 2) {
        return true;   // the Frame Increment Pointer is needed only for more frames (C.8.6.3)
    }
    const s2d_dict_entry *vector = s2d_dict_entry_of(S2D_KW_PageNumberVector);
    uint8_t pointer[4] = {(uint8_t)(vector->tag >> 16), (uint8_t)(vector->tag >> 24),
                          (uint8_t)vector->tag, (uint8_t)(vector->tag >> 8)};
    double pages[S2D_PAGE_RUN_MAX];
    if (in->nframes > S2D_PAGE_RUN_MAX) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "%u frames: too many pages for one instance",
                             in->nframes);
    }
    for (uint32_t i = 0; i < in->nframes; i++) {
        pages[i] = in->page_numbers[i];
    }
    return s2d_put_bytes(ds, S2D_KW_FrameIncrementPointer, pointer, 4, err) &&
           s2d_put_numbers(ds, S2D_KW_PageNumberVector, pages, in->nframes, err);
}

// SC Image module (C.8.6.2): when it was captured, the pixel size on the scanned paper
// (allowed for scans only) and the calibrated one in the patient.
static bool put_sc_image(s2d_ds *ds, const s2d_iod_shared *s, s2d_error *err)
{
    const char *type = s->conversion_type;
    bool scanned = !strcmp(type, "DF") || !strcmp(type, "SD") || !strcmp(type, "SI");
    if (!s2d_put_str(ds, S2D_KW_DateOfSecondaryCapture, s->content_date, err) ||
        !s2d_put_str(ds, S2D_KW_TimeOfSecondaryCapture, s->content_time, err)) {
        return false;
    }
    if (scanned && s->nominal_spacing_mm[0] > 0 &&
        !s2d_put_numbers(ds, S2D_KW_NominalScannedPixelSpacing, s->nominal_spacing_mm, 2, err)) {
        return false;
    }
    return s->pixel_spacing_mm[0] <= 0 ||
           s2d_put_numbers(ds, S2D_KW_PixelSpacing, s->pixel_spacing_mm, 2, err);
}

static bool put_history(s2d_ds *ds, const s2d_iod_instance *in, s2d_error *err)
{
    if (in->copied) {
        return s2d_module_lossy_history(ds, in->lossy_method, NULL, err);
    }
    if (in->lossy_method) {
        return s2d_module_lossy_history(ds, in->lossy_method, &in->source, err);
    }
    return s2d_module_lossless_history(ds, &in->source, err);
}

// The Body Part Examined values (PS3.16 CID 4031) of structures without a side, on which
// a Laterality, even empty, is an error (dciodvfy's rule, checked value by value).
static bool is_midline(const char *body_part)
{
    static const char *const midline[] = {
        "ABDOMEN", "ABDOMENPELVIS", "AORTA", "BACK", "BLADDER", "BRAIN", "CEREBELLUM",
        "CERVIX", "CHEST", "CHESTABDOMEN", "CHESTABDPELVIS", "CIRCLEOFWILLIS", "COCCYX",
        "COLON", "CORONARYARTERY", "CSPINE", "CTSPINE", "DUODENUM", "ESOPHAGUS", "FACE",
        "GALLBLADDER", "HEAD", "HEADNECK", "HEART", "ILEUM", "ILIUM", "JAW", "JEJUNUM",
        "LARYNX", "LIVER", "LSPINE", "LSSPINE", "MAXILLA", "MEDIASTINUM", "MOUTH", "NECK",
        "NECKCHEST", "NECKCHESTABDOMEN", "NECKCHESTABDPELV", "NOSE", "PANCREAS", "PELVIS",
        "PENIS", "PHARYNX", "PROSTATE", "RECTUM", "SCALP", "SKULL", "SPINE", "SPLEEN",
        "SSPINE", "STERNUM", "STOMACH", "THYMUS", "THYROID", "TONGUE", "TRACHEA", "TSPINE",
        "URETER", "URETHRA", "UTERUS", "VAGINA", "VULVA", "WHOLEBODY",
    };
    for (size_t i = 0; i < sizeof midline / sizeof *midline; i++) {
        if (!strcmp(body_part, midline[i])) {
            return true;
        }
    }
    return false;
}

bool s2d_iod_pages_common(s2d_ds *ds, const s2d_iod *iod, const s2d_iod_shared *s,
                          const s2d_iod_instance *in, const char *image_type,
                          const char *sop_instance_uid, s2d_error *err)
{
    s2d_study_series study = {
        .study_uid = s->study_uid,
        .series_uid = s->series_uid,
        .study_datetime = s->acquisition_datetime,
        .modality = s->modality,
        // Laterality (Type 2C) is needed for a paired body part, and for none named: it
        // is left empty (unknown); a midline one (--body-part CHEST) must not have it.
        .empty_laterality = !s->body_part || !is_midline(s->body_part),
    };
    s2d_general_image image = {
        .image_type = image_type,
        .instance_number = in->instance_number,
        .content_date = s->content_date,
        .content_time = s->content_time,
        .burned_in_annotation = s->burned_in_annotation,
    };
    return s2d_module_sop_common(ds, iod->sop_class_uid, sop_instance_uid, err) &&
           s2d_module_patient_study_series(ds, &study, err) &&
           s2d_module_general_image(ds, &image, err) &&
           s2d_put_str(ds, S2D_KW_PatientOrientation, "", err) &&
           (!s->body_part || s2d_put_str(ds, S2D_KW_BodyPartExamined, s->body_part, err)) &&
           (!in->derivation ||
            s2d_put_str(ds, S2D_KW_DerivationDescription, in->derivation, err)) &&
           put_history(ds, in, err) &&
           (!s->document_title ||
            (s2d_put_str(ds, S2D_KW_DocumentTitle, s->document_title, err) &&
             // the series' name too, unless the user gives one (merged after)
             s2d_put_str(ds, S2D_KW_SeriesDescription, s->document_title, err)));
}

static s2d_ds *build_sc(const s2d_iod *iod, const s2d_iod_shared *s, const s2d_iod_instance *in,
                        const char *sop_instance_uid, s2d_error *err)
{
    s2d_ds *ds = s2d_ds_new();
    if (!ds) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    bool grey_levels = in->samples_per_pixel == 1 && in->bits_per_sample > 1;
    // The multi-frame grey IODs want a rescale and IDENTITY presentation always
    // (C.8.6.3, 1C on MONOCHROME2); the single-frame one only when values are rescaled.
    bool rescale = in->rescaled || (is_multi_frame(iod) && grey_levels);
    bool ok = s2d_iod_pages_common(ds, iod, s, in, "DERIVED\\SECONDARY", sop_instance_uid,
                                   err) &&
              s2d_module_equipment(ds, &s->equipment, false, err) &&
              s2d_module_sc_equipment(ds, s->conversion_type, err) &&
              put_frames(ds, iod, in, err) && put_sc_image(ds, s, err) &&
              (!rescale || s2d_module_rescale(ds, in->rescale_slope, in->rescale_intercept,
                                              is_multi_frame(iod), err)) &&
              s2d_module_voi_lut(ds, in->window_center, in->window_width,
                                 in->window_explanation, in->nwindows, in->windows_deferred,
                                 err) &&
              (in->samples_per_pixel != 3 ||
               s2d_module_icc_profile(ds, s->icc_profile, s->icc_profile_len, err));
    if (ok && s->overrides) {
        ok = s2d_ds_merge(ds, s->overrides, err);
    }
    if (!ok) {
        s2d_ds_free(ds);
        return NULL;
    }
    return ds;
}

// One builder per entry: the hook has no IOD argument.
#define SC_BUILD(entry)                                                                 \
    static s2d_ds *build_##entry(const s2d_iod_shared *s, const s2d_iod_instance *in,   \
                                 const char *uid, s2d_error *err)                       \
    {                                                                                   \
        return build_sc(&s2d_iod_##entry, s, in, uid, err);                             \
    }
SC_BUILD(sc_image)
SC_BUILD(sc_bit)
SC_BUILD(sc_byte)
SC_BUILD(sc_word)
SC_BUILD(sc_colour)

bool s2d_iod_is_page_name(const char *name)
{
    if (strcmp(name, "document.dcm") == 0) {
        return true;
    }
    if (strncmp(name, "image-", 6) != 0) {
        return false;
    }
    size_t digits = strspn(name + 6, "0123456789");
    return digits >= 3 && strcmp(name + 6 + digits, ".dcm") == 0;
}

const s2d_kw s2d_iod_page_owned[S2D_IOD_PAGE_NOWNED] = {
    S2D_KW_SpecificCharacterSet, S2D_KW_SOPClassUID, S2D_KW_SOPInstanceUID,
    S2D_KW_InstanceNumber, S2D_KW_SamplesPerPixel, S2D_KW_PhotometricInterpretation,
    S2D_KW_PlanarConfiguration, S2D_KW_NumberOfFrames, S2D_KW_Rows, S2D_KW_Columns,
    S2D_KW_BitsAllocated, S2D_KW_BitsStored, S2D_KW_HighBit, S2D_KW_PixelRepresentation,
    S2D_KW_FrameIncrementPointer, S2D_KW_PageNumberVector, S2D_KW_RescaleIntercept,
    S2D_KW_RescaleSlope, S2D_KW_PresentationLUTShape, S2D_KW_WindowCenter,
    S2D_KW_WindowWidth, S2D_KW_WindowCenterWidthExplanation, S2D_KW_LossyImageCompression,
    S2D_KW_LossyImageCompressionRatio, S2D_KW_LossyImageCompressionMethod,
    S2D_KW_EncapsulatedDocument, S2D_KW_MIMETypeOfEncapsulatedDocument,
    S2D_KW_EncapsulatedDocumentLength,
};

#define SC_ENTRY(entry, iod_name, uid)                                                   \
    const s2d_iod s2d_iod_##entry = {                                                    \
        .name = iod_name,                                                                \
        .sop_class_uid = uid,                                                            \
        .image_type = {[S2D_ROLE_PAGE] = "PAGE"},                                        \
        .owned = s2d_iod_page_owned,                                                     \
        .nowned = S2D_IOD_PAGE_NOWNED,                                                   \
        .is_output_name = s2d_iod_is_page_name,                                          \
        .build = build_##entry,                                                          \
    };
SC_ENTRY(sc_image, "SC", "1.2.840.10008.5.1.4.1.1.7")
SC_ENTRY(sc_bit, "SC-BIT", "1.2.840.10008.5.1.4.1.1.7.1")
SC_ENTRY(sc_byte, "SC-BYTE", "1.2.840.10008.5.1.4.1.1.7.2")
SC_ENTRY(sc_word, "SC-WORD", "1.2.840.10008.5.1.4.1.1.7.3")
SC_ENTRY(sc_colour, "SC-COLOUR", "1.2.840.10008.5.1.4.1.1.7.4")
