// SPDX-License-Identifier: Apache-2.0
/* VL Photographic Image (PS3.3 A.32.4) and VL Endoscopic Image (A.32.1): a plain TIFF that
 * holds a clinical photograph, one instance per page. They share the VL Image module
 * (C.8.12.1): 8-bit samples, one frame, no palette, no MONOCHROME1. */
#include <string.h>

#include "dicom/modules/modules.h"
#include "iod/iod.h"
#include "iod/pages.h"

static s2d_ds *build_vl(const s2d_iod *iod, const s2d_iod_shared *s,
                        const s2d_iod_instance *in, const char *sop_instance_uid,
                        s2d_error *err)
{
    s2d_ds *ds = s2d_ds_new();
    if (!ds) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    s2d_image_pixel pixel = {
        .rows = (uint32_t)in->frame_height,
        .columns = (uint32_t)in->frame_width,
        .samples_per_pixel = in->samples_per_pixel,
        .bits_allocated = 8,
        .bits_stored = 8,
        .photometric = in->photometric,
    };
    // A photograph is the camera's own image, only in another container; changed pixels
    // (inverted grey) make it derived.
    const char *type = in->derivation ? "DERIVED\\PRIMARY" : "ORIGINAL\\PRIMARY";
    bool ok = s2d_iod_pages_common(ds, iod, s, in, type, sop_instance_uid, err) &&
              s2d_module_equipment(ds, &s->equipment, false, err) &&
              s2d_put_empty_seq(ds, S2D_KW_AcquisitionContextSequence, err) &&
              s2d_module_image_pixel(ds, &pixel, err) &&
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

static s2d_ds *build_photo(const s2d_iod_shared *s, const s2d_iod_instance *in,
                           const char *uid, s2d_error *err)
{
    return build_vl(&s2d_iod_vl_photo, s, in, uid, err);
}

static s2d_ds *build_endoscopic(const s2d_iod_shared *s, const s2d_iod_instance *in,
                                const char *uid, s2d_error *err)
{
    return build_vl(&s2d_iod_vl_endoscopic, s, in, uid, err);
}

const s2d_iod s2d_iod_vl_photo = {
    .name = "VL-PHOTO",
    .sop_class_uid = "1.2.840.10008.5.1.4.1.1.77.1.4",
    .image_type = {[S2D_ROLE_PAGE] = "PAGE"},
    .owned = s2d_iod_page_owned,
    .nowned = S2D_IOD_PAGE_NOWNED,
    .is_output_name = s2d_iod_is_page_name,
    .build = build_photo,
};

const s2d_iod s2d_iod_vl_endoscopic = {
    .name = "VL-ENDOSCOPIC",
    .sop_class_uid = "1.2.840.10008.5.1.4.1.1.77.1.1",
    .image_type = {[S2D_ROLE_PAGE] = "PAGE"},
    .owned = s2d_iod_page_owned,
    .nowned = S2D_IOD_PAGE_NOWNED,
    .is_output_name = s2d_iod_is_page_name,
    .build = build_endoscopic,
};
