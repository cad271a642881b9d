// SPDX-License-Identifier: Apache-2.0
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
    if (!s2d_put_str(item, S2D_KW_OpticalPathDescription,
                     p->description ? p->description : description, err) ||
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

// The colour a channel is shown in: a palette of 256 16-bit entries from black to the
// colour, which viewers apply over the display range (C.8.12.5, C.7.9).
static bool put_palette(s2d_ds *item, const s2d_optical_path *p, s2d_error *err)
{
    static const s2d_kw descriptors[3] = {S2D_KW_RedPaletteColorLookupTableDescriptor,
                                          S2D_KW_GreenPaletteColorLookupTableDescriptor,
                                          S2D_KW_BluePaletteColorLookupTableDescriptor};
    static const s2d_kw data[3] = {S2D_KW_RedPaletteColorLookupTableData,
                                   S2D_KW_GreenPaletteColorLookupTableData,
                                   S2D_KW_BluePaletteColorLookupTableData};
    s2d_ds *palette = s2d_put_item(item, S2D_KW_PaletteColorLookupTableSequence, err);
    if (!palette) {
        return false;
    }
    const double descriptor[3] = {256, 0, 16};
    for (int k = 0; k < 3; k++) {
        uint8_t entries[256 * 2];   // little endian, as OW is written
        for (unsigned i = 0; i < 256; i++) {
            // i / 255 of the colour, in 16 bits: (i * c * 65535 / 255) / 255.
            unsigned v = (i * p->colour[k] * 257u + 127u) / 255u;
            entries[2 * i] = (uint8_t)(v & 0xFF);
            entries[2 * i + 1] = (uint8_t)(v >> 8);
        }
        if (!s2d_put_numbers(palette, descriptors[k], descriptor, 3, err) ||
            !s2d_put_bytes(palette, data[k], entries, sizeof entries, err)) {
            return false;
        }
    }
    return true;
}

static bool put_path(s2d_ds *ds, const s2d_optical_path *p, s2d_error *err)
{
    s2d_ds *item = s2d_put_item(ds, S2D_KW_OpticalPathSequence, err);
    // An ICC profile is for colour: colour images and a grey channel's palette.
    if (!item || !s2d_put_str(item, S2D_KW_OpticalPathIdentifier, p->identifier, err) ||
        (p->icc_profile_len > 0 &&
         !s2d_put_bytes(item, S2D_KW_ICCProfile, p->icc_profile, p->icc_profile_len, err)) ||
        !put_illumination(item, p, err)) {
        return false;
    }
    if (p->icc_is_srgb && !s2d_put_str(item, S2D_KW_ColorSpace, "SRGB", err)) {
        return false;
    }
    if (p->emission_nm > 0 && !s2d_put_number(item, S2D_KW_ImagePathFilterPassThroughWavelength,
                                              (double)(long)(p->emission_nm + 0.5), err)) {
        return false;
    }
    if (p->has_colour && !put_palette(item, p, err)) {
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
