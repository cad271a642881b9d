/* Optical Path; see modules.h. */
#include "dicom/modules/modules.h"

#include <stdio.h>

static bool put_illumination(s2d_ds *item, const s2d_optical_path *p, s2d_error *err)
{
    if (!p->fluorescence) {
        return s2d_put_str(item, S2D_KW_OpticalPathDescription, "Brightfield", err) &&
               s2d_put_code(item, S2D_KW_IlluminationTypeCodeSequence, "111744", "DCM",
                            "Brightfield illumination", err) &&
               s2d_put_code(item, S2D_KW_IlluminationColorCodeSequence, "414298005", "SCT",
                            "Full Spectrum", err);
    }
    char description[64] = "Epifluorescence";
    if (p->excitation_nm > 0) {
        snprintf(description, sizeof description, "Epifluorescence, excitation %.0f nm",
                 p->excitation_nm);
    }
    if (!s2d_put_str(item, S2D_KW_OpticalPathDescription, description, err) ||
        !s2d_put_code(item, S2D_KW_IlluminationTypeCodeSequence, "111743", "DCM",
                      "Epifluorescence illumination", err)) {
        return false;
    }
    // Illumination is given by colour or by wavelength; with no wavelength known, the
    // colour code is the only true statement left.
    if (p->excitation_nm > 0) {
        return s2d_put_number(item, S2D_KW_IlluminationWaveLength, p->excitation_nm, err);
    }
    return s2d_put_code(item, S2D_KW_IlluminationColorCodeSequence, "414298005", "SCT",
                        "Full Spectrum", err);
}

static bool put_path(s2d_ds *ds, const s2d_optical_path *p, s2d_error *err)
{
    s2d_ds *item = s2d_put_item(ds, S2D_KW_OpticalPathSequence, err);
    if (!item || !s2d_put_str(item, S2D_KW_OpticalPathIdentifier, p->identifier, err) ||
        !s2d_put_bytes(item, S2D_KW_ICCProfile, p->icc_profile, p->icc_profile_len, err) ||
        !put_illumination(item, p, err)) {
        return false;
    }
    if (p->icc_is_srgb && !s2d_put_str(item, S2D_KW_ColorSpace, "SRGB", err)) {
        return false;
    }
    return p->objective_power <= 0 ||
           s2d_put_number(item, S2D_KW_ObjectiveLensPower, p->objective_power, err);
}

bool s2d_module_optical_paths(s2d_ds *ds, const s2d_optical_path *paths, size_t n,
                              s2d_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (!put_path(ds, &paths[i], err)) {
            return false;
        }
    }
    return s2d_put_number(ds, S2D_KW_NumberOfOpticalPaths, (double)n, err);
}
