// SPDX-License-Identifier: Apache-2.0
/* The VL Whole Slide Microscopy Image IOD (PS3.3 A.32.8): the only file that knows its SOP
 * class, its image flavours, its file names, its own UIDs and TILED_FULL. Each instance is
 * one pyramid level, label, overview or thumbnail, its frames tiling the whole image in
 * row-major order.
 * Geometry: Image Orientation (Slide) 0\1\0\1\0\0 (rows run along +Y, columns along +X)
 * with the origin at the slide corner, so every pixel of every level maps to non-negative
 * slide coordinates. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicom/modules/modules.h"
#include "dicom/part10.h"
#include "iod/iod.h"
#include "iod/plan.h"
#include "iod/wsm_levels.h"

// The standard microscope slide, 75 x 25 mm (3 x 1 inch, ISO 8037-1 gives 76 x 26 mm),
// for the pixel size of a label or overview that the source does not record.
#define SLIDE_LENGTH_MM 75.0
#define SLIDE_WIDTH_MM 25.0

// An estimate, in square pixels, of the pixel size of a label or overview the source gives
// none for: the overview is taken to show the whole slide, its longer side the slide's
// 75 mm; the label the slide's label end, its longer side the slide's 25 mm width (the
// label area runs some 20-25 mm along the slide). Aperio's 1280 x 431 macro so gets
// 0.0586 mm (75.0 x 25.3 mm), its 387 x 463 label 0.0540 mm (20.9 x 25.0 mm).
static double estimated_spacing_mm(const s2d_iod_instance *in)
{
    int64_t longer = in->total_width > in->total_height ? in->total_width : in->total_height;
    double covered = in->role == S2D_ROLE_OVERVIEW ? SLIDE_LENGTH_MM : SLIDE_WIDTH_MM;
    return covered / (double)(longer > 0 ? longer : 1);
}

// The instance's [row spacing, column spacing] in mm (row spacing is the vertical pixel
// size): level 0's times the downsample for levels and thumbnails, the source's own for a
// label or overview that has one, else estimated for them (estimated_spacing_mm). False
// when none applies (a page of a plain TIFF has no WSM role).
static bool pixel_spacing(const s2d_iod_shared *s, const s2d_iod_instance *in, double out[2])
{
    if (in->downsample_x > 0) {
        out[0] = s->mpp_y * in->downsample_y / 1000.0;
        out[1] = s->mpp_x * in->downsample_x / 1000.0;
    } else if (in->recorded_spacing_mm[0] > 0 && in->recorded_spacing_mm[1] > 0) {
        out[0] = in->recorded_spacing_mm[0];
        out[1] = in->recorded_spacing_mm[1];
    } else if (in->role == S2D_ROLE_LABEL || in->role == S2D_ROLE_OVERVIEW) {
        out[0] = out[1] = estimated_spacing_mm(in);
    } else {
        return false;
    }
    return out[0] > 0 && out[1] > 0;
}

static bool put_geometry(s2d_ds *ds, const s2d_iod_shared *s, const s2d_iod_instance *in,
                         s2d_error *err)
{
    s2d_ds *origin = s2d_put_item(ds, S2D_KW_TotalPixelMatrixOriginSequence, err);
    if (!origin || !s2d_put_str(origin, S2D_KW_XOffsetInSlideCoordinateSystem, "0", err) ||
        !s2d_put_str(origin, S2D_KW_YOffsetInSlideCoordinateSystem, "0", err) ||
        !s2d_put_str(origin, S2D_KW_ZOffsetInSlideCoordinateSystem, "0", err) ||
        !s2d_put_str(ds, S2D_KW_ImageOrientationSlide, "0\\1\\0\\1\\0\\0", err) ||
        !s2d_put_number(ds, S2D_KW_TotalPixelMatrixColumns, (double)in->total_width, err) ||
        !s2d_put_number(ds, S2D_KW_TotalPixelMatrixRows, (double)in->total_height, err) ||
        !s2d_put_number(ds, S2D_KW_TotalPixelMatrixFocalPlanes,
                        in->focal_planes > 1 ? in->focal_planes : 1, err)) {
        return false;
    }
    double spacing[2];
    if (!pixel_spacing(s, in, spacing)) {
        return true;
    }
    // Width runs along a row (columns x column spacing), in mm; depth is in µm. Every
    // flavour has it (readers size labels and overviews by it), not only VOLUME.
    return s2d_put_number(ds, S2D_KW_ImagedVolumeWidth, (double)in->total_width * spacing[1],
                          err) &&
           s2d_put_number(ds, S2D_KW_ImagedVolumeHeight, (double)in->total_height * spacing[0],
                          err) &&
           s2d_put_number(ds, S2D_KW_ImagedVolumeDepth, 1.0, err);
}

// How stored values map to true ones (offset or scaled samples of a microscopy file): the
// Real World Value Mapping, since MONOCHROME2 WSM has Rescale Slope 1 and Intercept 0.
static bool put_real_world_values(s2d_ds *shared, const s2d_iod_instance *in, s2d_error *err)
{
    s2d_ds *map = s2d_put_item(shared, S2D_KW_RealWorldValueMappingSequence, err);
    return map &&
           s2d_put_number(map, S2D_KW_RealWorldValueFirstValueMapped, 0, err) &&
           s2d_put_number(map, S2D_KW_RealWorldValueLastValueMapped,
                          in->bits_per_sample == 8 ? 255 : 65535, err) &&
           s2d_put_number(map, S2D_KW_RealWorldValueIntercept, in->rescale_intercept, err) &&
           s2d_put_number(map, S2D_KW_RealWorldValueSlope, in->rescale_slope, err) &&
           s2d_put_str(map, S2D_KW_LUTExplanation, "Sample values of the source file", err) &&
           s2d_put_str(map, S2D_KW_LUTLabel, "SOURCE", err) &&
           s2d_put_code(map, S2D_KW_MeasurementUnitsCodeSequence, "1", "UCUM", "no units",
                        err);
}

// Multi-frame Functional Groups: every frame shares its pixel measures, frame type and
// optical path.
static bool put_functional_groups(s2d_ds *ds, const s2d_iod_shared *s, const s2d_iod_instance *in,
                                  const char *type, s2d_error *err)
{
    char frames[16];
    snprintf(frames, sizeof frames, "%u", in->nframes);
    s2d_ds *shared = s2d_put_item(ds, S2D_KW_SharedFunctionalGroupsSequence, err);
    if (!shared || !s2d_put_str(ds, S2D_KW_NumberOfFrames, frames, err)) {
        return false;
    }
    s2d_ds *measures = s2d_put_item(shared, S2D_KW_PixelMeasuresSequence, err);
    if (!measures || !s2d_put_str(measures, S2D_KW_SliceThickness, "0.001", err)) {
        return false;
    }
    // Required but for labels and overviews; readers (highdicom, wsidicom) need it on those
    // too to place them.
    double spacing[2];
    if (pixel_spacing(s, in, spacing) &&
        !s2d_put_numbers(measures, S2D_KW_PixelSpacing, spacing, 2, err)) {
        return false;
    }
    if (in->focal_planes > 1 && in->z_spacing_mm > 0 &&
        !s2d_put_number(measures, S2D_KW_SpacingBetweenSlices, in->z_spacing_mm, err)) {
        return false;
    }
    if (in->rescaled && !put_real_world_values(shared, in, err)) {
        return false;
    }
    s2d_ds *frame_type = s2d_put_item(shared, S2D_KW_WholeSlideMicroscopyImageFrameTypeSequence,
                                      err);
    s2d_ds *path_id = frame_type ? s2d_put_item(shared, S2D_KW_OpticalPathIdentificationSequence,
                                                err)
                                 : NULL;
    return path_id && s2d_put_str(frame_type, S2D_KW_FrameType, type, err) &&
           s2d_put_str(path_id, S2D_KW_OpticalPathIdentifier,
                       in->optical_path ? in->optical_path->identifier : "1", err);
}

// The Whole Slide Microscopy Image module's own attributes, and the frame organisation.
static bool put_wsm_image(s2d_ds *ds, const s2d_iod_shared *s, bool label_visible,
                          s2d_error *err)
{
    double lab[3] = {s->absent_pixel_lab[0], s->absent_pixel_lab[1], s->absent_pixel_lab[2]};
    s2d_ds *dim;
    return s2d_put_str(ds, S2D_KW_VolumetricProperties, "VOLUME", err) &&
           s2d_put_str(ds, S2D_KW_SpecimenLabelInImage, label_visible ? "YES" : "NO", err) &&
           s2d_put_str(ds, S2D_KW_FocusMethod, "AUTO", err) &&
           s2d_put_str(ds, S2D_KW_ExtendedDepthOfField, "NO", err) &&
           s2d_put_numbers(ds, S2D_KW_RecommendedAbsentPixelCIELabValue, lab, 3, err) &&
           s2d_put_str(ds, S2D_KW_DimensionOrganizationType, "TILED_FULL", err) &&
           (dim = s2d_put_item(ds, S2D_KW_DimensionOrganizationSequence, err)) != NULL &&
           s2d_put_str(dim, S2D_KW_DimensionOrganizationUID, s->dimension_organization_uid, err);
}

// One optical path: the instance's channel, or brightfield or epifluorescence as the slide
// says.
static bool put_optical_path(s2d_ds *ds, const s2d_iod_shared *s, const s2d_iod_instance *in,
                             s2d_error *err)
{
    if (in->optical_path) {
        return s2d_module_optical_paths(ds, in->optical_path, 1, err);
    }
    s2d_optical_path path = {
        .identifier = "1",
        .icc_profile = s->icc_profile,
        .icc_profile_len = s->icc_profile_len,
        .icc_is_srgb = s->icc_is_srgb,
        .fluorescence = s->fluorescence,
        .excitation_nm = s->excitation_nm,
        .objective_power = s->objective_power,
    };
    return s2d_module_optical_paths(ds, &path, 1, err);
}

// Copied frames are the source's lossy step itself: they have no earlier one. A channel
// of grey planes is encoded without loss unless its codec is lossy (lossy_method).
static bool put_lossy_history(s2d_ds *ds, const s2d_iod_instance *in, s2d_error *err)
{
    if (in->optical_path) {
        return in->lossy_method ? s2d_module_lossy_history(ds, in->lossy_method, &in->source, err)
                                : s2d_module_lossless_history(ds, &in->source, err);
    }
    return s2d_module_lossy_history(ds, in->method ? in->method : "ISO_10918_1",
                                    in->copied ? NULL : &in->source, err);
}

// The specimen of our one-item description takes the user's Container Identifier when
// the user names no specimen: one slide, one specimen, one name (not the file's stem under
// a barcode the user gave).
static bool specimen_follows_container(s2d_ds *ours, const s2d_ds *overrides,
                                       const s2d_ds *theirs, s2d_error *err)
{
    uint32_t container = s2d_dict_entry_of(S2D_KW_ContainerIdentifier)->tag;
    uint32_t specimen = s2d_dict_entry_of(S2D_KW_SpecimenIdentifier)->tag;
    char id[65];
    if (!ours || (theirs && s2d_ds_has(theirs, specimen)) ||
        !s2d_ds_get_str(overrides, container, id, sizeof id)) {
        return true;
    }
    return s2d_put_str(ours, S2D_KW_SpecimenIdentifier, id, err);
}

// The user's attributes over ours. A Specimen Description Sequence of one item completes
// our item attribute by attribute instead of replacing the sequence: a manifest's
// SpecimenIdentifier alone, or a description without a SpecimenUID, keeps the UID and the
// Type 2 sequences the module made (a partial item would lack them). Several items (several
// specimens on the slide) are the user's whole description.
static bool merge_overrides(s2d_ds *ds, const s2d_ds *overrides, s2d_error *err)
{
    uint32_t tag = s2d_dict_entry_of(S2D_KW_SpecimenDescriptionSequence)->tag;
    const s2d_ds *theirs = s2d_ds_seq_count(overrides, tag) == 1
                               ? s2d_ds_seq_item(overrides, tag, 0) : NULL;
    s2d_ds *ours = s2d_ds_seq_count(ds, tag) == 1 ? s2d_ds_seq_item(ds, tag, 0) : NULL;
    bool user_items = s2d_ds_seq_count(overrides, tag) > 1;
    if (!user_items && !specimen_follows_container(ours, overrides, theirs, err)) {
        return false;
    }
    if (!theirs || !ours) {
        return s2d_ds_merge(ds, overrides, err);
    }
    s2d_ds *rest = s2d_ds_new();
    bool ok = rest && s2d_ds_merge(rest, overrides, err);
    if (!rest) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    if (ok) {
        s2d_ds_remove(rest, tag);
        ok = s2d_ds_merge(ours, theirs, err) && s2d_ds_merge(ds, rest, err);
    }
    s2d_ds_free(rest);
    return ok;
}

static s2d_ds *build(const s2d_iod_shared *s, const s2d_iod_instance *in,
                     const char *sop_instance_uid, s2d_error *err)
{
    s2d_ds *ds = s2d_ds_new();
    if (!ds) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    char type[64];
    snprintf(type, sizeof type, "%s\\PRIMARY\\%s\\%s", in->derived ? "DERIVED" : "ORIGINAL",
             s2d_iod_wsm.image_type[in->role], in->derived ? "RESAMPLED" : "NONE");
    bool label_visible = in->role == S2D_ROLE_LABEL || in->role == S2D_ROLE_OVERVIEW;
    bool in_pyramid = in->role == S2D_ROLE_LEVEL || in->role == S2D_ROLE_THUMBNAIL;
    // --associated-series separate moves label and overview; the thumbnail is the pyramid's
    // apex (it carries the Pyramid UID), so it stays in the pyramid's series.
    bool own_series = label_visible && s->associated_series_uid[0];
    s2d_study_series study = {
        .study_uid = s->study_uid,
        .series_uid = own_series ? s->associated_series_uid
                      : in->series_uid ? in->series_uid : s->series_uid,
        .series_number = own_series ? s->associated_series_number : in->series_number,
        .frame_of_reference_uid = s->frame_of_reference_uid,
        .study_datetime = s->acquisition_datetime,
        .modality = "SM",
        .position_reference_indicator = "SLIDE_CORNER",
    };
    s2d_general_image image = {
        .image_type = type,
        .instance_number = in->instance_number,
        .content_date = s->content_date,
        .content_time = s->content_time,
        .burned_in_annotation = label_visible,
    };
    s2d_image_pixel pixel = {
        .rows = (uint32_t)in->frame_height,
        .columns = (uint32_t)in->frame_width,
        .samples_per_pixel = in->samples_per_pixel,
        .bits_allocated = in->bits_per_sample,
        .bits_stored = in->bits_per_sample,
        .photometric = in->photometric,
    };
    bool ok = s2d_module_sop_common(ds, s2d_iod_wsm.sop_class_uid, sop_instance_uid, err) &&
              s2d_module_patient_study_series(ds, &study, err) &&
              s2d_module_equipment(ds, &s->equipment, true, err) &&
              s2d_module_acquisition(ds, s->acquisition_uid, s->acquisition_datetime, err) &&
              s2d_module_specimen(ds, s->container_id, s->specimen_uid, err) &&
              put_optical_path(ds, s, in, err) && put_geometry(ds, s, in, err) &&
              put_functional_groups(ds, s, in, type, err) &&
              s2d_module_general_image(ds, &image, err) &&
              put_wsm_image(ds, s, label_visible, err) &&
              s2d_module_image_pixel(ds, &pixel, err) && put_lossy_history(ds, in, err);
    // MONOCHROME2 WSM (grey planes) shows its values as they are (C.8.12.4.1.5).
    // Its true values, when the stored ones are offset or scaled, are in the Real World
    // Value Mapping: Rescale Slope and Intercept must be 1 and 0 (C.8.12.4.1.4).
    if (ok && pixel.samples_per_pixel == 1) {
        ok = s2d_put_str(ds, S2D_KW_PresentationLUTShape, "IDENTITY", err) &&
             s2d_put_str(ds, S2D_KW_RescaleIntercept, "0", err) &&
             s2d_put_str(ds, S2D_KW_RescaleSlope, "1", err);
    }
    if (ok && in_pyramid) {
        ok = s2d_put_str(ds, S2D_KW_PyramidUID, s->pyramid_uid, err) &&
             s2d_put_str(ds, S2D_KW_PyramidLabel, s->container_id, err);
    }
    if (ok && in->role == S2D_ROLE_LABEL) {
        ok = s2d_put_str(ds, S2D_KW_BarcodeValue, s->barcode, err) &&
             s2d_put_str(ds, S2D_KW_LabelText, "", err);
    }
    if (ok && s->overrides) {
        ok = merge_overrides(ds, s->overrides, err);
    }
    // The user's series (a manifest's SeriesInstanceUID, --series-description) is the
    // pyramid's; the associated images keep a series of their own.
    if (ok && own_series) {
        ok = s2d_put_str(ds, S2D_KW_SeriesInstanceUID, s->associated_series_uid, err) &&
             s2d_put_number(ds, S2D_KW_SeriesNumber, s->associated_series_number, err) &&
             s2d_put_str(ds, S2D_KW_SeriesDescription, "Label and overview", err);
    }
    // After the user's description: the step names each specimen as finally identified.
    ok = ok && s2d_module_staining(ds, &s->staining, err);
    if (!ok) {
        s2d_ds_free(ds);
        return NULL;
    }
    return ds;
}

// What follows from the pixels or identifies one instance, and the character set: our text
// is UTF-8, and another would misdescribe every string.
static const s2d_kw owned[] = {
    S2D_KW_SpecificCharacterSet, S2D_KW_ImageType, S2D_KW_SOPClassUID, S2D_KW_SOPInstanceUID,
    S2D_KW_InstanceNumber, S2D_KW_DimensionOrganizationSequence,
    S2D_KW_DimensionOrganizationType, S2D_KW_SamplesPerPixel, S2D_KW_PhotometricInterpretation,
    S2D_KW_PlanarConfiguration, S2D_KW_NumberOfFrames, S2D_KW_Rows, S2D_KW_Columns,
    S2D_KW_BitsAllocated, S2D_KW_BitsStored, S2D_KW_HighBit, S2D_KW_PixelRepresentation,
    S2D_KW_BurnedInAnnotation, S2D_KW_LossyImageCompression, S2D_KW_LossyImageCompressionRatio,
    S2D_KW_LossyImageCompressionMethod, S2D_KW_ImagedVolumeWidth, S2D_KW_ImagedVolumeHeight,
    S2D_KW_TotalPixelMatrixColumns, S2D_KW_TotalPixelMatrixRows, S2D_KW_SpecimenLabelInImage,
    S2D_KW_NumberOfOpticalPaths, S2D_KW_TotalPixelMatrixFocalPlanes,
    S2D_KW_SharedFunctionalGroupsSequence, S2D_KW_PerFrameFunctionalGroupsSequence,
    S2D_KW_PresentationLUTShape, S2D_KW_RescaleIntercept, S2D_KW_RescaleSlope,
    S2D_KW_RealWorldValueMappingSequence,
};

// What WSM encodes frames with: its levels not copied, replacements, single frames.
static const s2d_codec *const encoding = &s2d_codec_jpeg_baseline;

// A single-frame instance of an associated image (or of the thumbnail made from the
// pyramid), encoded unless its JPEG is copied.
static s2d_plan_instance single_frame(const char *name, s2d_role role, s2d_image_role image,
                                      int64_t width, int64_t height)
{
    s2d_plan_instance in = {.iod = &s2d_iod_wsm, .role = role, .image = image, .level = -1, .width = width,
                            .height = height, .frame_width = (uint32_t)width,
                            .frame_height = (uint32_t)height, .cols = 1, .rows = 1,
                            .nframes = 1,
                            .codec = encoding,
                            .pixels = {.width = (uint32_t)width, .height = (uint32_t)height,
                                       .samples = 3, .bits_allocated = 8, .bits_stored = 8,
                                       .colour = S2D_COLOUR_RGB}};
    snprintf(in.name, sizeof in.name, "%s", name);
    return in;
}

// The pyramid (iod/wsm_levels.h) as level-N.dcm, then thumbnail.dcm, label.dcm and
// overview.dcm, in the order their instance numbers follow. Copied levels keep the source's
// coding (JPEG or JPEG 2000) and pixels; the others are JPEG baseline from 8-bit RGB.
static bool plan(const s2d_source_desc *src, const s2d_convert_options *o, s2d_plan *p,
                 s2d_error *err)
{
    s2d_level_plan *pyr = p->pyramid = malloc(sizeof *p->pyramid);
    if (!pyr) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    if (!s2d_level_plan_make(src->levels, src->nlevels, o, pyr, err)) {
        return false;
    }
    pyr->codec = encoding;
    uint32_t t = (uint32_t)pyr->tile_size;
    for (int i = 0; i < pyr->nlevels; i++) {
        const s2d_planned_level *lv = &pyr->levels[i];
        bool copied = lv->mode == S2D_LEVEL_COPY;
        const s2d_source_image *from = copied ? &src->levels[lv->source_level] : NULL;
        s2d_plan_instance in = {
            .iod = &s2d_iod_wsm, .role = S2D_ROLE_LEVEL, .image = S2D_IMAGE_LEVEL, .level = i,
            .width = lv->width, .height = lv->height, .frame_width = t, .frame_height = t,
            .cols = lv->cols, .rows = lv->rows, .nframes = lv->cols * lv->rows,
            .copied = copied,
            .codec = copied && from->native.coding == S2D_CODING_J2K ? &s2d_codec_jpeg2000
                                                                     : encoding,
            // The reader gives 8-bit colour only; a copy keeps the source's colour model.
            .pixels = {.width = t, .height = t, .samples = 3, .bits_allocated = 8,
                       .bits_stored = 8,
                       .colour = copied ? from->pix.colour : S2D_COLOUR_RGB},
        };
        snprintf(in.name, sizeof in.name, "level-%d.dcm", i);
        if (!s2d_plan_add(p, &in, err)) {
            return false;
        }
    }
    // The source's thumbnail, else (and when it turns out unreadable) one made from the
    // pyramid's thumb_level; with neither, none is planned, and the conversion says so.
    if (!o->no_thumbnail && src->thumbnail) {
        s2d_plan_instance thumb =
            single_frame("thumbnail.dcm", S2D_ROLE_THUMBNAIL, S2D_IMAGE_THUMBNAIL,
                         src->thumbnail->pix.width, src->thumbnail->pix.height);
        if (!s2d_plan_add(p, &thumb, err)) {
            return false;
        }
    } else if (!o->no_thumbnail && pyr->thumb_level >= 0) {
        const s2d_planned_level *lv = &pyr->levels[pyr->thumb_level];
        int64_t f = pyr->thumb_factor;
        s2d_plan_instance thumb = single_frame("thumbnail.dcm", S2D_ROLE_THUMBNAIL,
                                               S2D_IMAGE_LEVEL, (lv->width + f - 1) / f,
                                               (lv->height + f - 1) / f);
        thumb.level = pyr->thumb_level;
        if (!s2d_plan_add(p, &thumb, err)) {
            return false;
        }
    } else if (!o->no_thumbnail) {
        pyr->thumbnail_left_out = true;   // even the smallest level is too large
    }
    if (!o->no_label && src->label) {
        s2d_plan_instance label = single_frame("label.dcm", S2D_ROLE_LABEL, S2D_IMAGE_LABEL,
                                               src->label->pix.width, src->label->pix.height);
        if (!s2d_plan_add(p, &label, err)) {
            return false;
        }
    }
    if (!o->no_overview && src->overview) {
        s2d_plan_instance overview =
            single_frame("overview.dcm", S2D_ROLE_OVERVIEW, S2D_IMAGE_OVERVIEW,
                         src->overview->pix.width, src->overview->pix.height);
        return s2d_plan_add(p, &overview, err);
    }
    return true;
}

// After `letter` and digits and a hyphen at *p ("c2-"), *p moves past them.
static bool skip_numbered(const char **p, char letter)
{
    size_t digits = (*p)[0] == letter ? strspn(*p + 1, "0123456789") : 0;
    if (digits == 0 || (*p)[1 + digits] != '-') {
        return false;
    }
    *p += digits + 2;
    return true;
}

// The names any WSM plan writes: level-N.dcm, level-N-part-K.dcm (a concatenation),
// label.dcm, overview.dcm, thumbnail.dcm; a microscopy file's channels put c<C>- in
// front, and t<T>- and z<Z>- before that when time points or planes are series of their
// own (iod/wsm_planes.h). A pattern, not one plan's list: --overwrite must also clear an
// earlier conversion's files that this one does not write (more levels).
static bool is_output_name(const char *name)
{
    if (!strcmp(name, "label.dcm") || !strcmp(name, "overview.dcm") ||
        !strcmp(name, "thumbnail.dcm")) {
        return true;
    }
    const char *p = name;
    bool t = skip_numbered(&p, 't'), z = skip_numbered(&p, 'z');
    if (!skip_numbered(&p, 'c') && (t || z)) {
        return false;
    }
    if (strncmp(p, "level-", 6) != 0) {
        return false;
    }
    p += 6;
    size_t digits = strspn(p, "0123456789");
    if (digits == 0) {
        return false;
    }
    p += digits;
    p += s2d_part10_part_mark_length(p);
    return strcmp(p, ".dcm") == 0;
}

// The pyramid the levels form, the one specimen on the slide, the one way its frames are
// organized: each the same for every instance of a conversion.
static const s2d_iod_uid uids[] = {
    {"pyramid", true, offsetof(s2d_iod_shared, pyramid_uid)},
    {"specimen", false, offsetof(s2d_iod_shared, specimen_uid)},
    {"dimension-organization", true, offsetof(s2d_iod_shared, dimension_organization_uid)},
};

const s2d_iod s2d_iod_wsm = {
    .name = "WSM",
    .sop_class_uid = "1.2.840.10008.5.1.4.1.1.77.1.6",
    .slide = true,
    .image_type = {[S2D_ROLE_LEVEL] = "VOLUME", [S2D_ROLE_LABEL] = "LABEL",
                   [S2D_ROLE_OVERVIEW] = "OVERVIEW", [S2D_ROLE_THUMBNAIL] = "THUMBNAIL"},
    .uids = uids,
    .nuids = sizeof uids / sizeof *uids,
    .owned = owned,
    .nowned = sizeof owned / sizeof *owned,
    .plan = plan,
    .is_output_name = is_output_name,
    .build = build,
};
