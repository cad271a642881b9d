// SPDX-License-Identifier: Apache-2.0
/* An IOD: one kind of DICOM object slide2dcm writes, as a table entry. It owns its SOP
 * class, its names for what each instance shows (Image Type value 3, the report's flavour),
 * the attributes a user may not set, and the building of each instance's dataset from the
 * shared modules (dicom/modules/) and its own. The conversion (src/convert/) knows IODs only
 * through this interface; the registry (registry.c) lists them. */
#ifndef S2D_IOD_H
#define S2D_IOD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dicom/dict.h"
#include "dicom/uid.h"
#include "dicom/modules/modules.h"
#include "slide2dcm/slide2dcm.h"

/** What an instance shows of the source; an IOD names each in its own terms. */
typedef enum s2d_role {
    S2D_ROLE_LEVEL,          // a pyramid level, tiled into frames
    S2D_ROLE_LABEL,
    S2D_ROLE_OVERVIEW,
    S2D_ROLE_THUMBNAIL,
    S2D_ROLE_PAGE,           // pages of a plain TIFF, one frame each
    S2D_ROLE_COUNT
} s2d_role;

/** Everything the instances of one conversion share. */
typedef struct s2d_iod_shared {
    char study_uid[S2D_UID_MAX], series_uid[S2D_UID_MAX], frame_of_reference_uid[S2D_UID_MAX];
    char pyramid_uid[S2D_UID_MAX], acquisition_uid[S2D_UID_MAX], specimen_uid[S2D_UID_MAX];
    char dimension_organization_uid[S2D_UID_MAX];
    char container_id[257];           // LO: 64 characters of up to 4 UTF-8 bytes
    char barcode[257];                // for the Slide Label module; may be empty
    char acquisition_datetime[27];    // DICOM DT, never empty
    char content_date[9], content_time[7];
    double mpp_x, mpp_y;              // level-0 pixel size in µm
    double objective_power;           // 0 = unknown
    const uint8_t *icc_profile;       // borrowed
    size_t icc_profile_len;
    bool icc_is_srgb;                 // made by us: also say Color Space SRGB
    uint16_t absent_pixel_lab[3];     // the background colour, PS3.3 CIELab encoding
    bool fluorescence;                // epifluorescence instead of brightfield
    double excitation_nm;             // fluorescence excitation wavelength; 0 = unknown
    const s2d_ds *overrides;          // borrowed; user attributes (--metadata, then flags); may be NULL
    s2d_staining staining;            // --stain; n == 0 when not given
    // Pages of plain TIFFs (Secondary Capture, VL): what the kind and the options say.
    const char *modality;             // static or the options'
    const char *conversion_type;      // SC Equipment's Conversion Type
    bool burned_in_annotation;
    const char *document_title;       // may be NULL
    const char *body_part;            // may be NULL
    double nominal_spacing_mm[2];     // row, column on the scanned paper; 0 = none
    double pixel_spacing_mm[2];       // row, column in the patient (--pixel-spacing); 0 = none
    // --associated-series separate: the series of label and overview, and its
    // number; an empty UID keeps them in the pyramid's series.
    char associated_series_uid[S2D_UID_MAX];
    int associated_series_number;
    s2d_equipment equipment;          // the source's device and the conversion
} s2d_iod_shared;

typedef struct s2d_plan s2d_plan;               // iod/plan.h
typedef struct s2d_source_desc s2d_source_desc; // iod/plan.h

/** A UID the IOD's instances share beyond study, series, frame of reference and acquisition
 *  (which every image has): made once per conversion into the field at `field` of
 *  s2d_iod_shared, random or derived for `role` from the slide (per_encoding false: the same
 *  whatever the options) or from this encoding of it. */
typedef struct s2d_iod_uid {
    const char *role;
    bool per_encoding;
    size_t field;            // offsetof(s2d_iod_shared, ...), a char[S2D_UID_MAX]
} s2d_iod_uid;

/** One instance. */
typedef struct s2d_iod_instance {
    s2d_role role;
    bool derived;                     // made from other pixels (resampled), not the source's own
    int instance_number;
    int64_t total_width, total_height;
    int frame_width, frame_height;
    uint32_t nframes;
    double downsample_x, downsample_y;  // pixel size relative to level 0; 0 = unknown (no spacing)
    // A label's or overview's own pixel size as the source records it, row and column, in
    // mm; 0 = not recorded (the IOD estimates one).
    double recorded_spacing_mm[2];
    const char *photometric;          // YBR_FULL_422, RGB, YBR_ICT or YBR_RCT
    uint16_t samples_per_pixel, bits_per_sample;
    const char *method;               // what the frames are: ISO_10918_1 or ISO_15444_1
    // How the source stored these pixels before we encoded them; a lossy step is listed
    // first in the Lossy Image Compression history. Copied frames are that step itself:
    // they have no earlier one.
    s2d_lossy_step source;
    bool copied;
    // Pages of plain TIFFs (Secondary Capture, VL).
    uint16_t bits_stored;             // of the frames (patched later when deferred)
    bool bits_stored_deferred;        // Bits Stored and High Bit are reserved, given at the end
    const uint32_t *page_numbers;     // 1-based TIFF page of each of the nframes frames
    bool rescaled;                    // write Rescale Slope, Intercept and Type
    double rescale_slope, rescale_intercept;
    // Window Center and Width pairs; with windows_deferred, their values are reserved and
    // given at the end (nwindows is then the most there may be).
    int nwindows;
    double window_center[S2D_MAX_WINDOWS], window_width[S2D_MAX_WINDOWS];
    const char *window_explanation[S2D_MAX_WINDOWS];
    bool windows_deferred;
    const char *derivation;           // Derivation Description (the pixels were inverted...)
    // Grey planes of a microscopy file (WSM): the instance's channel (NULL: the slide's one
    // optical path), its z planes as focal planes (0 means 1) and their spacing (mm, 0 =
    // unknown), and its series when a conversion writes several (NULL: the shared one).
    // rescaled then says that the stored values map to true ones (a Real World Value
    // Mapping, as WSM has no Modality LUT).
    const s2d_optical_path *optical_path;
    uint32_t focal_planes;
    double z_spacing_mm;
    const char *series_uid;
    int series_number;                // 0: not written
    const char *lossy_method;         // the frames' own lossy method, NULL when lossless
} s2d_iod_instance;

typedef struct s2d_iod {
    const char *name;
    const char *sop_class_uid;
    // A slide's image: it needs a pixel size, and colour without an ICC profile is taken
    // for sRGB (a profile is made).
    bool slide;
    /** The IOD's name for each role: Image Type value 3, and the report's flavour. */
    const char *image_type[S2D_ROLE_COUNT];
    /** The UIDs of its own that the instances share (see s2d_iod_uid). */
    const s2d_iod_uid *uids;
    size_t nuids;
    /** Attributes that follow from the pixels or identify one instance: a user's value
     *  would make the file wrong, so --metadata may not set them. */
    const s2d_kw *owned;
    size_t nowned;
    /** The instances to write for a source under the options, into *plan (zeroed by the
     *  caller, freed with s2d_plan_free even on failure).
     *  @return false with err set when the source cannot be written as this IOD. */
    bool (*plan)(const s2d_source_desc *source, const s2d_convert_options *o, s2d_plan *plan,
                 s2d_error *err);
    /** Whether a file name is one that some conversion to this IOD writes (any plan's, its
     *  concatenations' parts included): how the output directory tells an earlier
     *  conversion's files, which may be more than this plan's, from the user's. */
    bool (*is_output_name)(const char *file_name);
    /** The dataset of one instance, without Pixel Data. Its Lossy Image Compression Ratio
     *  ends with a 16-character field that the Part 10 writer fills.
     *  @return a new dataset (the caller frees it) or NULL with err set. */
    s2d_ds *(*build)(const s2d_iod_shared *shared, const s2d_iod_instance *inst,
                     const char *sop_instance_uid, s2d_error *err);
} s2d_iod;

/** The IOD of this name, or NULL; a static entry, never freed. */
const s2d_iod *s2d_iod_find(const char *name);

/** The role that some IOD names image_type (a report's flavour); false when none does. */
bool s2d_iod_role_of(const char *image_type, s2d_role *role);

/* The registry's entries, one per IOD file (the Secondary Capture family shares one). */
extern const s2d_iod s2d_iod_wsm;
extern const s2d_iod s2d_iod_sc_image;        // iod/sc.c: single-frame SC Image
extern const s2d_iod s2d_iod_sc_bit;          // Multi-frame Single Bit SC
extern const s2d_iod s2d_iod_sc_byte;         // Multi-frame Grayscale Byte SC
extern const s2d_iod s2d_iod_sc_word;         // Multi-frame Grayscale Word SC
extern const s2d_iod s2d_iod_sc_colour;       // Multi-frame True Color SC
extern const s2d_iod s2d_iod_vl_photo;        // iod/vl_photo.c: VL Photographic Image
extern const s2d_iod s2d_iod_vl_endoscopic;   // VL Endoscopic Image
extern const s2d_iod s2d_iod_pdf;             // iod/pdf.c: Encapsulated PDF (--as pdf)

#endif
