// SPDX-License-Identifier: Apache-2.0
/* The PS3.3 modules that more than one IOD uses, each writing its attributes into a dataset
 * from plain values: no slide, reader or option types. An IOD (src/iod/) calls the ones it
 * includes and writes its own modules itself. Attributes of Type 2 are written even when
 * empty: users fill them through --metadata or the flags, merged last.
 * Every function returns false with err set when an attribute cannot be set. Strings are
 * borrowed for the call only. */
#ifndef S2D_MODULES_H
#define S2D_MODULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dicom/dict.h"
#include "dicom/stains.h"

/** Patient, General Study, General Series and Frame of Reference (C.7.1.1, C.7.2.1,
 *  C.7.3.1, C.7.4.1); patient and study facts are left empty for the user. */
typedef struct s2d_study_series {
    const char *study_uid, *series_uid;
    const char *frame_of_reference_uid;         // NULL: no Frame of Reference module
    // DT of the study (may be empty): Study Date and Time are its first 8 and next 6
    // characters.
    const char *study_datetime;
    const char *modality;
    const char *position_reference_indicator;
    bool empty_laterality;                      // write Laterality (Type 2C) empty
    int series_number;                          // 0 means 1
} s2d_study_series;
bool s2d_module_patient_study_series(s2d_ds *ds, const s2d_study_series *s, s2d_error *err);

/** Most software versions of the equipment. */
#define S2D_EQUIPMENT_SOFTWARE_MAX 4

/** Who made an image: the equipment that acquired what it shows (a slide scanner, a camera),
 *  as its source records it, and slide2dcm, which converted it. Text as LO values take it
 *  (64 characters, no backslash or control character); "" for what the source does not
 *  say. */
typedef struct s2d_equipment {
    char manufacturer[257], model[257], serial[257];
    char software[S2D_EQUIPMENT_SOFTWARE_MAX][257];   // "" after the last
    char converted_at[27];                           // DT of the conversion
    char converted_from[65];                         // what the source is: "Aperio SVS"
} s2d_equipment;

/** What acquired the image, and slide2dcm as the one item of the Contributing Equipment
 *  Sequence (SOP Common, C.12.1.1.5): Processing Equipment (CID 7005), its version, the
 *  time of the conversion and "Converted from <converted_from>". With `enhanced`, Enhanced
 *  General Equipment (C.7.5.2), whose Manufacturer, Model, Device Serial Number and
 *  Software Versions are Type 1: "Unknown" for what the source does not say; else General
 *  Equipment (C.7.5.1), Manufacturer empty (Type 2) and the others left out. */
bool s2d_module_equipment(s2d_ds *ds, const s2d_equipment *e, bool enhanced, s2d_error *err);

/** General Acquisition (C.7.10.1) and an empty Acquisition Context (C.7.6.14). */
bool s2d_module_acquisition(s2d_ds *ds, const char *acquisition_uid, const char *datetime,
                            s2d_error *err);

/** SOP Common (C.12.1), with the character set of our text: UTF-8. */
bool s2d_module_sop_common(s2d_ds *ds, const char *sop_class_uid, const char *sop_instance_uid,
                           s2d_error *err);

/** The General Image attributes that multi-frame images keep (C.7.6.1). */
typedef struct s2d_general_image {
    const char *image_type;                     // backslash-separated values
    int instance_number;
    const char *content_date, *content_time;    // DA, TM
    bool burned_in_annotation;
} s2d_general_image;
bool s2d_module_general_image(s2d_ds *ds, const s2d_general_image *g, s2d_error *err);

/** Image Pixel (C.7.6.3) of interleaved samples; Planar Configuration only with more than
 *  one sample per pixel, as Type 1C wants. */
typedef struct s2d_image_pixel {
    uint32_t rows, columns;
    uint16_t samples_per_pixel, bits_allocated, bits_stored;
    bool is_signed;
    const char *photometric;
} s2d_image_pixel;
bool s2d_module_image_pixel(s2d_ds *ds, const s2d_image_pixel *p, s2d_error *err);

/** Specimen (C.7.6.22): one slide holding one specimen, both named container_id. */
bool s2d_module_specimen(s2d_ds *ds, const char *container_id, const char *specimen_uid,
                         s2d_error *err);

/** A staining step (PS3.16 TID 8004: the specimen, "Staining", a "Using substance" item per
 *  substance) appended to the Specimen Preparation Sequence of every specimen ds describes,
 *  after the user's own steps; nothing when st names no substance. Call it once the
 *  specimens' identifiers are final. */
bool s2d_module_staining(s2d_ds *ds, const s2d_staining *st, s2d_error *err);

/** One item of the Optical Path module (C.8.12.5). */
typedef struct s2d_optical_path {
    const char *identifier;
    const uint8_t *icc_profile;
    size_t icc_profile_len;
    bool icc_is_srgb;                 // also say Color Space SRGB
    bool fluorescence;                // epifluorescence instead of brightfield
    double excitation_nm;             // fluorescence excitation wavelength; 0 = unknown
    double objective_power;           // 0 = unknown
    // A channel of a fluorescence image (microscopy TIFFs): its name as the description
    // (NULL: the illumination's), its emission wavelength (0 = unknown) and the colour a
    // viewer shows it in, as a black-to-colour palette (has_colour).
    const char *description;
    double emission_nm;
    bool has_colour;
    uint8_t colour[3];
} s2d_optical_path;
/** The Optical Path Sequence of n paths and Number of Optical Paths. */
bool s2d_module_optical_paths(s2d_ds *ds, const s2d_optical_path *paths, size_t n,
                              s2d_error *err);

/** A lossy step before ours: how the source stored the pixels we encode again. */
typedef struct s2d_lossy_step {
    bool lossy;
    const char *method;               // ISO_10918_1, ISO_15444_1
    double ratio;                     // 0 = unknown
} s2d_lossy_step;
/** Lossy Image Compression, Ratio and Method (C.7.6.1.1.5) of lossy frames made with
 *  method, after earlier (NULL: none). Earlier steps come first; one is listed only when
 *  lossy with a known ratio, as the two lists correspond value by value and an empty ratio
 *  reads as zero. Our own ratio is known only after the frames: the value ends with 16
 *  spaces that the Part 10 writer fills, and what comes before them has an even length. */
bool s2d_module_lossy_history(s2d_ds *ds, const char *method, const s2d_lossy_step *earlier,
                              s2d_error *err);

/** Appends a code item (value, scheme, meaning) to sequence seq of parent. */
bool s2d_put_code(s2d_ds *parent, s2d_kw seq, const char *value, const char *scheme,
                  const char *meaning, s2d_error *err);

/* Modules of the images made from plain TIFF pages (Secondary Capture, VL): pages.c. */

/** SC Equipment (C.8.6.1): slide2dcm as the secondary capture device, with
 *  conversion_type. */
bool s2d_module_sc_equipment(s2d_ds *ds, const char *conversion_type, s2d_error *err);

/** Rescale Slope, Intercept and Type "US" (Modality LUT, C.11.1, or the SC Multi-frame
 *  Image module's own), with Presentation LUT Shape IDENTITY when presentation_lut. */
bool s2d_module_rescale(s2d_ds *ds, double slope, double intercept, bool presentation_lut,
                        s2d_error *err);

/** VOI LUT (C.11.2): n windows (center, width, explanation each). With reserve, two
 *  windows whose values are spaces, S2D_WINDOW_*_WIDTH bytes, for the Part 10 writer to
 *  fill at the end: Window Center and Width as 16 and 15 characters around a backslash
 *  (an even length whose last value is not 16 characters and a pad), the explanations as
 *  one value of spaces. */
#define S2D_WINDOW_VALUES_WIDTH 32
#define S2D_WINDOW_EXPLANATION_WIDTH 64
bool s2d_module_voi_lut(s2d_ds *ds, const double *centers, const double *widths,
                        const char *const *explanations, int n, bool reserve, s2d_error *err);

/** ICC Profile module (C.11.15) when profile is not NULL. */
bool s2d_module_icc_profile(s2d_ds *ds, const uint8_t *profile, size_t len, s2d_error *err);

/** Lossy Image Compression "00", or "01" with the source's method when an earlier step was
 *  lossy and our frames are not (no ratio: the Part 10 writer would take one for ours). */
bool s2d_module_lossless_history(s2d_ds *ds, const s2d_lossy_step *earlier, s2d_error *err);

#endif
