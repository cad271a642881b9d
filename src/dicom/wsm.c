/* WSM IOD attributes; see dicom/wsm.h and docs/architecture.md. Geometry: Image Orientation
 * (Slide) 0\1\0\1\0\0 (rows run along +Y, columns along +X) with the origin at the slide
 * corner, so every pixel of every level maps to non-negative slide coordinates. */
#include "dicom/wsm.h"

#include <stdio.h>
#include <string.h>

#define T(g, e) S2D_TAG(0x##g, 0x##e)

static const char *const flavor_names[] = {"VOLUME", "LABEL", "OVERVIEW", "THUMBNAIL"};

static bool put_code(s2d_ds *seq_parent, uint32_t seq_tag, const char *value, const char *scheme,
                     const char *meaning, s2d_error *err)
{
    s2d_ds *item = s2d_ds_seq_append(seq_parent, seq_tag, err);
    return item && s2d_ds_put_str(item, T(0008, 0100), "SH", value, err) &&
           s2d_ds_put_str(item, T(0008, 0102), "SH", scheme, err) &&
           s2d_ds_put_str(item, T(0008, 0104), "LO", meaning, err);
}

static bool put_patient_study_series(s2d_ds *ds, const s2d_wsm_slide *s, s2d_error *err)
{
    // Type 2 attributes are present even when empty; users fill them with --metadata
    // or the flags, which are merged last.
    char study_date[9] = "", study_time[7] = "";
    if (s->acquisition_datetime[0]) {
        memcpy(study_date, s->acquisition_datetime, 8);
        memcpy(study_time, s->acquisition_datetime + 8, 6);
    }
    return s2d_ds_put_str(ds, T(0008, 0005), "CS", "ISO_IR 192", err) &&
           s2d_ds_put_str(ds, T(0010, 0010), "PN", "", err) &&
           s2d_ds_put_str(ds, T(0010, 0020), "LO", "", err) &&
           s2d_ds_put_str(ds, T(0010, 0030), "DA", "", err) &&
           s2d_ds_put_str(ds, T(0010, 0040), "CS", "", err) &&
           s2d_ds_put_str(ds, T(0020, 000D), "UI", s->study_uid, err) &&
           s2d_ds_put_str(ds, T(0008, 0020), "DA", study_date, err) &&
           s2d_ds_put_str(ds, T(0008, 0030), "TM", study_time, err) &&
           s2d_ds_put_str(ds, T(0008, 0090), "PN", "", err) &&
           s2d_ds_put_str(ds, T(0020, 0010), "SH", "", err) &&
           s2d_ds_put_str(ds, T(0008, 0050), "SH", "", err) &&
           s2d_ds_put_str(ds, T(0008, 0060), "CS", "SM", err) &&
           s2d_ds_put_str(ds, T(0020, 000E), "UI", s->series_uid, err) &&
           s2d_ds_put_str(ds, T(0020, 0011), "IS", "1", err) &&
           s2d_ds_put_str(ds, T(0020, 0052), "UI", s->frame_of_reference_uid, err) &&
           s2d_ds_put_str(ds, T(0020, 1040), "LO", "SLIDE_CORNER", err) &&
           // Enhanced General Equipment describes what made the instance: the converter.
           s2d_ds_put_str(ds, T(0008, 0070), "LO", "slide2dcm", err) &&
           s2d_ds_put_str(ds, T(0008, 1090), "LO", "slide2dcm", err) &&
           s2d_ds_put_str(ds, T(0018, 1000), "LO", "1", err) &&
           s2d_ds_put_str(ds, T(0018, 1020), "LO", "slide2dcm " S2D_VERSION, err) &&
           s2d_ds_put_str(ds, T(0008, 0017), "UI", s->acquisition_uid, err) &&
           s2d_ds_put_str(ds, T(0008, 002A), "DT", s->acquisition_datetime, err) &&
           s2d_ds_put_empty_seq(ds, T(0040, 0555), err);
}

static bool put_specimen(s2d_ds *ds, const s2d_wsm_slide *s, s2d_error *err)
{
    if (!s2d_ds_put_str(ds, T(0040, 0512), "LO", s->container_id, err) ||
        !s2d_ds_put_empty_seq(ds, T(0040, 0513), err) ||
        !put_code(ds, T(0040, 0518), "433466003", "SCT", "Microscope slide", err)) {
        return false;
    }
    s2d_ds *spec = s2d_ds_seq_append(ds, T(0040, 0560), err);
    return spec && s2d_ds_put_str(spec, T(0040, 0551), "LO", s->container_id, err) &&
           s2d_ds_put_str(spec, T(0040, 0554), "UI", s->specimen_uid, err) &&
           s2d_ds_put_empty_seq(spec, T(0040, 0562), err) &&
           s2d_ds_put_empty_seq(spec, T(0040, 0610), err);
}

static bool put_optical_path(s2d_ds *ds, const s2d_wsm_slide *s, s2d_error *err)
{
    s2d_ds *path = s2d_ds_seq_append(ds, T(0048, 0105), err);
    if (!path || !s2d_ds_put_str(path, T(0048, 0106), "SH", "1", err) ||
        !s2d_ds_put_bytes(path, T(0028, 2000), "OB", s->icc_profile, s->icc_profile_len, err)) {
        return false;
    }
    bool ok;
    if (s->fluorescence) {
        char description[64] = "Epifluorescence";
        if (s->excitation_nm > 0) {
            snprintf(description, sizeof description, "Epifluorescence, excitation %.0f nm",
                     s->excitation_nm);
        }
        ok = s2d_ds_put_str(path, T(0048, 0107), "ST", description, err) &&
             put_code(path, T(0022, 0016), "111743", "DCM", "Epifluorescence illumination", err);
        // Illumination is given by colour or by wavelength; with no wavelength known, the
        // colour code is the only true statement left.
        if (ok && s->excitation_nm > 0) {
            ok = s2d_ds_put_number(path, T(0022, 0055), "FL", s->excitation_nm, err);
        } else if (ok) {
            ok = put_code(path, T(0048, 0108), "414298005", "SCT", "Full Spectrum", err);
        }
    } else {
        ok = s2d_ds_put_str(path, T(0048, 0107), "ST", "Brightfield", err) &&
             put_code(path, T(0022, 0016), "111744", "DCM", "Brightfield illumination", err) &&
             put_code(path, T(0048, 0108), "414298005", "SCT", "Full Spectrum", err);
    }
    if (!ok) {
        return false;
    }
    if (s->icc_is_srgb && !s2d_ds_put_str(path, T(0028, 2002), "CS", "SRGB", err)) {
        return false;
    }
    if (s->objective_power > 0 &&
        !s2d_ds_put_number(path, T(0048, 0112), "DS", s->objective_power, err)) {
        return false;
    }
    return s2d_ds_put_number(ds, T(0048, 0302), "UL", 1, err);
}

static bool put_geometry(s2d_ds *ds, const s2d_wsm_slide *s, const s2d_wsm_instance *in,
                         s2d_error *err)
{
    s2d_ds *origin = s2d_ds_seq_append(ds, T(0048, 0008), err);
    if (!origin || !s2d_ds_put_str(origin, T(0040, 072A), "DS", "0", err) ||
        !s2d_ds_put_str(origin, T(0040, 073A), "DS", "0", err) ||
        !s2d_ds_put_str(origin, T(0040, 074A), "DS", "0", err) ||
        !s2d_ds_put_str(ds, T(0048, 0102), "DS", "0\\1\\0\\1\\0\\0", err) ||
        !s2d_ds_put_number(ds, T(0048, 0006), "UL", (double)in->total_width, err) ||
        !s2d_ds_put_number(ds, T(0048, 0007), "UL", (double)in->total_height, err) ||
        !s2d_ds_put_number(ds, T(0048, 0303), "UL", 1, err)) {
        return false;
    }
    if (in->flavor != S2D_FLAVOR_VOLUME || in->downsample_x <= 0) {
        return true;
    }
    // Width runs along a row (columns x column spacing), in mm; depth is in µm.
    double col_mm = s->mpp_x * in->downsample_x / 1000.0;
    double row_mm = s->mpp_y * in->downsample_y / 1000.0;
    return s2d_ds_put_number(ds, T(0048, 0001), "FL", (double)in->total_width * col_mm, err) &&
           s2d_ds_put_number(ds, T(0048, 0002), "FL", (double)in->total_height * row_mm, err) &&
           s2d_ds_put_number(ds, T(0048, 0003), "FL", 1.0, err);
}

static bool put_functional_groups(s2d_ds *ds, const s2d_wsm_slide *s, const s2d_wsm_instance *in,
                                  const char *type, s2d_error *err)
{
    s2d_ds *shared = s2d_ds_seq_append(ds, T(5200, 9229), err);
    if (!shared) {
        return false;
    }
    s2d_ds *measures = s2d_ds_seq_append(shared, T(0028, 9110), err);
    if (!measures || !s2d_ds_put_str(measures, T(0018, 0050), "DS", "0.001", err)) {
        return false;
    }
    if (in->downsample_x > 0) {
        // [row spacing, column spacing]: row spacing is the vertical pixel size.
        double spacing[2] = {s->mpp_y * in->downsample_y / 1000.0,
                             s->mpp_x * in->downsample_x / 1000.0};
        if (!s2d_ds_put_numbers(measures, T(0028, 0030), "DS", spacing, 2, err)) {
            return false;
        }
    }
    s2d_ds *frame_type = s2d_ds_seq_append(shared, T(0040, 0710), err);
    s2d_ds *path_id = frame_type ? s2d_ds_seq_append(shared, T(0048, 0207), err) : NULL;
    return path_id && s2d_ds_put_str(frame_type, T(0008, 9007), "CS", type, err) &&
           s2d_ds_put_str(path_id, T(0048, 0106), "SH", "1", err);
}

static bool put_image(s2d_ds *ds, const s2d_wsm_slide *s, const s2d_wsm_instance *in,
                      const char *type, s2d_error *err)
{
    bool label_visible = in->flavor == S2D_FLAVOR_LABEL || in->flavor == S2D_FLAVOR_OVERVIEW;
    char frames[16];
    snprintf(frames, sizeof frames, "%u", in->nframes);
    // Earlier lossy steps come first in the history (PS3.3 C.7.6.1.1.5). Our own ratio is
    // known only after the frames: the Part 10 writer fills the last 16 bytes of the
    // value, so the values before it are made to take an even number of bytes.
    char methods[40], ratio[48], prefix[24] = "";
    const s2d_source_compression *src = in->source;
    // The two lists correspond value by value and a ratio cannot be empty (dciodvfy reads
    // it as zero), so an earlier step is listed only when its ratio is known.
    const char *method = in->method ? in->method : "ISO_10918_1";
    if (src && src->lossy && src->ratio > 0 && !in->copied) {
        char src_ratio[17];
        s2d_format_ds(src->ratio, 15, src_ratio);
        // With its backslash, an odd-length value makes an even prefix; a trailing space
        // is allowed in DS.
        snprintf(prefix, sizeof prefix, "%s%s\\", src_ratio, strlen(src_ratio) % 2 ? "" : " ");
        snprintf(methods, sizeof methods, "%s\\%s", src->method, method);
    } else {
        snprintf(methods, sizeof methods, "%s", method);
    }
    snprintf(ratio, sizeof ratio, "%s%16s", prefix, "");
    double lab[3] = {s->absent_pixel_lab[0], s->absent_pixel_lab[1], s->absent_pixel_lab[2]};
    return s2d_ds_put_str(ds, T(0008, 0008), "CS", type, err) &&
           s2d_ds_put_str(ds, T(0008, 0016), "UI", S2D_UID_WSM_SOP_CLASS, err) &&
           s2d_ds_put_str(ds, T(0008, 0023), "DA", s->content_date, err) &&
           s2d_ds_put_str(ds, T(0008, 0033), "TM", s->content_time, err) &&
           s2d_ds_put_number(ds, T(0020, 0013), "IS", in->instance_number, err) &&
           s2d_ds_put_str(ds, T(0008, 9206), "CS", "VOLUME", err) &&
           s2d_ds_put_str(ds, T(0048, 0010), "CS", label_visible ? "YES" : "NO", err) &&
           s2d_ds_put_str(ds, T(0028, 0301), "CS", label_visible ? "YES" : "NO", err) &&
           s2d_ds_put_str(ds, T(0048, 0011), "CS", "AUTO", err) &&
           s2d_ds_put_str(ds, T(0048, 0012), "CS", "NO", err) &&
           s2d_ds_put_numbers(ds, T(0048, 0015), "US", lab, 3, err) &&
           s2d_ds_put_number(ds, T(0028, 0002), "US", 3, err) &&
           s2d_ds_put_str(ds, T(0028, 0004), "CS", in->photometric, err) &&
           s2d_ds_put_number(ds, T(0028, 0006), "US", 0, err) &&
           s2d_ds_put_str(ds, T(0028, 0008), "IS", frames, err) &&
           s2d_ds_put_number(ds, T(0028, 0010), "US", in->frame_height, err) &&
           s2d_ds_put_number(ds, T(0028, 0011), "US", in->frame_width, err) &&
           s2d_ds_put_number(ds, T(0028, 0100), "US", 8, err) &&
           s2d_ds_put_number(ds, T(0028, 0101), "US", 8, err) &&
           s2d_ds_put_number(ds, T(0028, 0102), "US", 7, err) &&
           s2d_ds_put_number(ds, T(0028, 0103), "US", 0, err) &&
           s2d_ds_put_str(ds, T(0028, 2110), "CS", "01", err) &&
           s2d_ds_put_str(ds, T(0028, 2112), "DS", ratio, err) &&
           s2d_ds_put_str(ds, T(0028, 2114), "CS", methods, err);
}

s2d_ds *s2d_wsm_build(const s2d_wsm_slide *s, const s2d_wsm_instance *in,
                      const char *sop_instance_uid, s2d_error *err)
{
    s2d_ds *ds = s2d_ds_new();
    if (!ds) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    char type[64];
    snprintf(type, sizeof type, "%s\\PRIMARY\\%s\\%s", in->derived ? "DERIVED" : "ORIGINAL",
             flavor_names[in->flavor], in->derived ? "RESAMPLED" : "NONE");
    bool in_pyramid = in->flavor == S2D_FLAVOR_VOLUME || in->flavor == S2D_FLAVOR_THUMBNAIL;
    s2d_ds *dim = NULL;
    bool ok = put_patient_study_series(ds, s, err) && put_specimen(ds, s, err) &&
              put_optical_path(ds, s, err) && put_geometry(ds, s, in, err) &&
              put_functional_groups(ds, s, in, type, err) && put_image(ds, s, in, type, err) &&
              s2d_ds_put_str(ds, T(0008, 0018), "UI", sop_instance_uid, err) &&
              s2d_ds_put_str(ds, T(0020, 9311), "CS", "TILED_FULL", err) &&
              (dim = s2d_ds_seq_append(ds, T(0020, 9221), err)) != NULL &&
              s2d_ds_put_str(dim, T(0020, 9164), "UI", s->dimension_organization_uid, err);
    if (ok && in_pyramid) {
        ok = s2d_ds_put_str(ds, T(0008, 0019), "UI", s->pyramid_uid, err) &&
             s2d_ds_put_str(ds, T(0020, 0027), "LO", s->container_id, err);
    }
    if (ok && in->flavor == S2D_FLAVOR_LABEL) {
        ok = s2d_ds_put_str(ds, T(2200, 0005), "LT", s->barcode, err) &&
             s2d_ds_put_str(ds, T(2200, 0002), "UT", "", err);
    }
    if (ok && s->overrides) {
        ok = s2d_ds_merge(ds, s->overrides, err);
    }
    if (!ok) {
        s2d_ds_free(ds);
        return NULL;
    }
    return ds;
}
