// SPDX-License-Identifier: Apache-2.0
/* Modules of images made from plain TIFF pages; see modules.h. */
#include "dicom/modules/modules.h"

#include <stdio.h>
#include <string.h>

#include "slide2dcm/slide2dcm.h"

bool s2d_module_sc_equipment(s2d_ds *ds, const char *conversion_type, s2d_error *err)
{
    return s2d_put_str(ds, S2D_KW_ConversionType, conversion_type, err) &&
           s2d_put_str(ds, S2D_KW_SecondaryCaptureDeviceManufacturer, "slide2dcm", err) &&
           s2d_put_str(ds, S2D_KW_SecondaryCaptureDeviceManufacturerModelName, "slide2dcm",
                       err) &&
           s2d_put_str(ds, S2D_KW_SecondaryCaptureDeviceSoftwareVersions,
                       "slide2dcm " S2D_VERSION, err);
}

bool s2d_module_rescale(s2d_ds *ds, double slope, double intercept, bool presentation_lut,
                        s2d_error *err)
{
    return s2d_put_number(ds, S2D_KW_RescaleIntercept, intercept, err) &&
           s2d_put_number(ds, S2D_KW_RescaleSlope, slope, err) &&
           s2d_put_str(ds, S2D_KW_RescaleType, "US", err) &&
           (!presentation_lut || s2d_put_str(ds, S2D_KW_PresentationLUTShape, "IDENTITY", err));
}

bool s2d_module_voi_lut(s2d_ds *ds, const double *centers, const double *widths,
                        const char *const *explanations, int n, bool reserve, s2d_error *err)
{
    if (n <= 0) {
        return true;
    }
    if (reserve) {
        char values[S2D_WINDOW_VALUES_WIDTH + 1], text[S2D_WINDOW_EXPLANATION_WIDTH + 1];
        snprintf(values, sizeof values, "%16s\\%15s", "", "");
        snprintf(text, sizeof text, "%*s", S2D_WINDOW_EXPLANATION_WIDTH, "");
        return s2d_put_str(ds, S2D_KW_WindowCenter, values, err) &&
               s2d_put_str(ds, S2D_KW_WindowWidth, values, err) &&
               s2d_put_str(ds, S2D_KW_WindowCenterWidthExplanation, text, err);
    }
    char joined[S2D_MAX_WINDOWS * 65] = "";
    for (int i = 0; i < n && i < S2D_MAX_WINDOWS; i++) {
        size_t used = strlen(joined);
        snprintf(joined + used, sizeof joined - used, "%s%s", i ? "\\" : "", explanations[i]);
    }
    return s2d_put_numbers(ds, S2D_KW_WindowCenter, centers, (size_t)n, err) &&
           s2d_put_numbers(ds, S2D_KW_WindowWidth, widths, (size_t)n, err) &&
           s2d_put_str(ds, S2D_KW_WindowCenterWidthExplanation, joined, err);
}

bool s2d_module_icc_profile(s2d_ds *ds, const uint8_t *profile, size_t len, s2d_error *err)
{
    return !profile || s2d_put_bytes(ds, S2D_KW_ICCProfile, profile, len, err);
}

bool s2d_module_lossless_history(s2d_ds *ds, const s2d_lossy_step *earlier, s2d_error *err)
{
    if (!earlier || !earlier->lossy) {
        return s2d_put_str(ds, S2D_KW_LossyImageCompression, "00", err);
    }
    return s2d_put_str(ds, S2D_KW_LossyImageCompression, "01", err) &&
           s2d_put_str(ds, S2D_KW_LossyImageCompressionMethod, earlier->method, err);
}
