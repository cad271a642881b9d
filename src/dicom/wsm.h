/* The only place that maps a slide's description to the attributes of the VL Whole Slide
 * Microscopy Image IOD (PS3.3 A.32.8): modules, functional groups, TILED_FULL, UIDs. */
#ifndef S2D_WSM_H
#define S2D_WSM_H

#include <stdint.h>

#include "dicom/ds.h"
#include "dicom/uid.h"
#include "reader/reader.h"

typedef enum s2d_flavor {
    S2D_FLAVOR_VOLUME,
    S2D_FLAVOR_LABEL,
    S2D_FLAVOR_OVERVIEW,
    S2D_FLAVOR_THUMBNAIL,
} s2d_flavor;

/** Everything the instances of one slide share. */
typedef struct s2d_wsm_slide {
    char study_uid[S2D_UID_MAX], series_uid[S2D_UID_MAX], frame_of_reference_uid[S2D_UID_MAX];
    char pyramid_uid[S2D_UID_MAX], acquisition_uid[S2D_UID_MAX], specimen_uid[S2D_UID_MAX];
    char dimension_organization_uid[S2D_UID_MAX];
    char container_id[257];           // LO: 64 characters of up to 4 UTF-8 bytes
    char barcode[257];                // for the Slide Label module; may be empty
    char acquisition_datetime[27];    // DICOM DT, never empty
    char content_date[9], content_time[7];
    double mpp_x, mpp_y;              // level-0 pixel size in µm
    double objective_power;           // 0 = unknown
    const uint8_t *icc_profile;
    size_t icc_profile_len;
    bool icc_is_srgb;                 // made by us: also say Color Space SRGB
    uint16_t absent_pixel_lab[3];     // the background colour, PS3.3 CIELab encoding
    bool fluorescence;                // epifluorescence instead of brightfield
    double excitation_nm;             // fluorescence excitation wavelength; 0 = unknown
    const s2d_ds *overrides;          // user attributes (--metadata, then flags); may be NULL
} s2d_wsm_slide;

typedef struct s2d_wsm_instance {
    s2d_flavor flavor;
    bool derived;                     // DERIVED\...\RESAMPLED instead of ORIGINAL\...\NONE
    int instance_number;
    int64_t total_width, total_height;
    int frame_width, frame_height;
    uint32_t nframes;
    double downsample_x, downsample_y;  // pixel size relative to level 0; 0 = unknown (no spacing)
    const char *photometric;          // YBR_FULL_422, RGB, YBR_ICT or YBR_RCT
    uint16_t samples_per_pixel, bits_per_sample;
    const char *method;               // what the frames are: ISO_10918_1 or ISO_15444_1
    // How the pixels were stored before we encoded them, when the source says; a lossy
    // earlier step is listed first in the Lossy Image Compression history. Copied frames
    // are that step itself: they have no earlier one.
    const s2d_source_compression *source;
    bool copied;
} s2d_wsm_instance;

/** Builds the dataset of one instance (without Pixel Data). The Lossy Image Compression
 *  Ratio ends with a 16-character field that the Part 10 writer fills.
 *  @return a new dataset or NULL with err set. */
s2d_ds *s2d_wsm_build(const s2d_wsm_slide *slide, const s2d_wsm_instance *inst,
                      const char *sop_instance_uid, s2d_error *err);

#endif
