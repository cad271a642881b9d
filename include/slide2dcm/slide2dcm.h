// SPDX-License-Identifier: Apache-2.0
/* Public API of the slide2dcm library: convert one slide or TIFF into the DICOM files of
 * a directory (VL Whole Slide Microscopy for slides and microscopy planes; Secondary
 * Capture, VL Photographic or Encapsulated PDF for plain TIFFs). Sending is in
 * slide2dcm/send.h. Link with `pkg-config --libs slide2dcm` or CMake's
 * find_package(slide2dcm) and the target slide2dcm::slide2dcm.
 *
 * Errors: every function that can fail returns false and fills a caller-owned s2d_error
 * (slide2dcm/error.h) with a code and one line naming the file and the reason.
 * Memory: the library never keeps a pointer the caller passed beyond the call; what it
 * hands out is said at each function, with the function that frees it.
 * Threads: s2d_convert() may run in several threads at once, on different output
 * directories; one conversion uses opts->threads threads of its own. The progress
 * callback is called from one of them (the writer), the warning callback from any of
 * them, possibly at the same time: it must be thread-safe.
 * The library sets libtiff's process-wide warning and error handlers to none (it reports
 * problems itself) the first time it opens a TIFF.
 * Versions: 0.x; the ABI (struct layouts included) may change between minor versions,
 * and the soname with it. */
#ifndef SLIDE2DCM_H
#define SLIDE2DCM_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "slide2dcm/api.h"
#include "slide2dcm/error.h"

S2D_BEGIN_C

#define S2D_MAX_LEVELS 32

/** Attributes the command line sets by keyword (--patient-name ...). They are
 *  applied after --metadata, so a flag wins over the file. NULL = not given. */
typedef struct s2d_common_attrs {
    const char *patient_name;
    const char *patient_id;
    const char *patient_birth_date;
    const char *patient_sex;
    const char *study_id;
    const char *accession_number;
    const char *study_date;
    const char *institution_name;
    const char *referring_physician;
    const char *series_description;
} s2d_common_attrs;

/** Progress of a conversion, handed to opts->progress after each frame written (from the
 *  writer thread; the callback should be quick, e.g. print at most a few times a second). */
typedef struct s2d_progress {
    bool pages;              // the frames are a plain TIFF's pages (level is 0)
    int level;               // level whose frame was just written
    uint64_t frames_done;    // over all levels
    uint64_t frames_total;
    double seconds;          // since the pyramid started
    double megapixels;       // level 0's pixels in millions (one plane's, for microscopy;
                             // all the pages' for pages): this x frames_done / frames_total
                             // is a throughput
} s2d_progress;

/** The pixel sizes in µm a conversion takes, from --mpp or from the source: 1 nm, finer
 *  than any light microscope's pixel (rendered super-resolution images use 5-20 nm), to
 *  1 mm, coarser than an overview camera's (about 10-100 µm across a 75 mm slide). A value
 *  outside is a wrong unit or a broken file, and would not fit the FL and DS attributes
 *  derived from it (Imaged Volume Width overflows a float at 1e+308). */
#define S2D_MPP_MIN_UM 0.001
#define S2D_MPP_MAX_UM 1000.0

/** Most --window pairs one conversion takes. */
#define S2D_MAX_WINDOWS 8

typedef struct s2d_convert_options {
    int tile_size;               // frame size; 0 = the source's tiles when they are copied,
                                 // else 256
    bool reencode;               // decode and re-encode every level, even copyable ones
    int quality;                 // JPEG quality 1..100 (default 90)
    bool subsampling_444;        // chroma 4:4:4 instead of 4:2:0
    int threads;                 // encoder threads; 0 = all cores
    bool keep_source_levels;     // write the source's own levels instead of a 2x pyramid
    int max_levels;              // write only this many of the largest levels; 0 = all
    bool no_label, no_overview, no_thumbnail;
    // Label, overview and thumbnail in a series of their own, after the pyramid's, instead of
    // in its series (readers such as Orthanc WSI 1.1 take a label there for a level).
    bool associated_series_separate;
    bool overwrite;              // replace slide2dcm outputs already in the directory
    double mpp;                  // pixel size in µm, S2D_MPP_MIN_UM..S2D_MPP_MAX_UM, for or
                                 // instead of the source's (0 = from source)
    const char *metadata_json;   // DICOM JSON (PS3.18 F.2) file of attributes, or NULL
    // The slide's stain ("H&E", "PAS", "hematoxylin+eosin": `slide2dcm help convert` lists
    // the names), written as a coded staining step of the specimen; NULL = not said.
    // Slides and microscopy only: plain TIFF pages have no specimen (a warning).
    const char *stain;
    s2d_common_attrs attrs;
    // Deterministic UIDs under this root ("2.25" or an organisation's root), derived from
    // the slide's content fingerprint: re-converting the same slide with the same pixel
    // options gives the same UIDs. NULL = random UIDs.
    const char *uid_root;
    // Test hook: use the Extended Offset Table when the worst-case pixel data size
    // reaches this many bytes (0 = the DICOM limit of 4 GiB).
    uint64_t eot_threshold;
    // No file larger than this many bytes: a level that would be is split into a DICOM
    // concatenation, level-N-part-1.dcm, level-N-part-2.dcm ... (0 = no limit).
    uint64_t max_instance_bytes;
    // Copied frames all get a structure check (markers, size, complete stream); with
    // verify each is also decoded. One that fails is replaced by background (a warning
    // each), or stops the conversion when it is JPEG 2000 (no encoder to replace it).
    bool verify;
    // Tiles replaced (missing or broken source tiles written as background) fail the
    // conversion when a level has more than max_replaced_percent % of them (0 = the
    // default, 1 %), or any at all when strict.
    bool strict;
    double max_replaced_percent;
    // De-identification (PS3.15 Annex E, Basic Profile; README "De-identification"): every
    // dataset is filtered before it is written; what the user gives (metadata_json, attrs)
    // is kept, what comes from the source is removed or replaced. No label or overview is
    // written, unless label_image (a JPEG, PNG or TIFF file) or label_text (drawn by us)
    // gives a replacement label; each needs deidentify.
    bool deidentify;
    const char *label_image;
    const char *label_text;

    // Plain TIFFs (pages rather than a slide pyramid; see docs/plain-tiff.md).
    const char *kind;            // "radiology", "document", "photo" or "microscopy";
                                 // NULL = detected
    const char *modality;        // Modality (CT, MR, DOC, XC, ...); NULL = the kind's own
    const char *codec;           // "native", "rle", "jpeg-ls", "j2k"; NULL = native, or the
                                 // source's JPEG copied
    bool pages_as_instances;     // one instance per page instead of one per run of pages
    bool as_pdf;                 // documents: one Encapsulated PDF (document.dcm) instead
    // Window Center/Width pairs in rescaled units, replacing the computed ones; no_window:
    // write none.
    double windows[S2D_MAX_WINDOWS][2];
    int nwindows;
    bool no_window;
    double pixel_spacing[2];     // row, column in mm; 0 = none (radiology ignores TIFF dpi)
    const char *conversion_type; // Conversion Type (DI, DF, SD, SI, ...); NULL = the kind's
    int burned_in_annotation;    // 1 YES, -1 NO, 0 = the kind's default
    const char *document_title;  // Document Title and, unless given, Series Description
    const char *body_part;       // Body Part Examined

    // Microscopy TIFFs (grey planes; see docs/microscopy.md).
    bool z_series;               // a series per z plane instead of focal planes
    double z_spacing;            // µm between z planes when the file does not say (0 = from file)
    int only_t;                  // only this time point (1-based); 0 = each in a series

    // When non-NULL and set non-zero (by a signal handler, say), the conversion stops,
    // removes what it wrote and fails with S2D_ERR_CANCELLED.
    const volatile sig_atomic_t *interrupt;

    void (*progress)(void *ctx, const s2d_progress *p);   // may be NULL
    void (*warn)(void *ctx, const char *message);         // NULL = counted, not shown
    void *callback_ctx;
} s2d_convert_options;

/** "0.1.0": the library's version, a static string. */
S2D_API const char *s2d_version(void);

/** Fills options with the defaults listed above. */
S2D_API void s2d_convert_options_init(s2d_convert_options *opts);

/** The options that change the pixel data, as one canonical string, e.g.
 *  "tile=0/q=90/420/halving/copy" (plus "/max-instance=N" under a size cap): deterministic
 *  UIDs of the series and instances derive from the slide's fingerprint and this, so that
 *  another encoding of a slide gets other UIDs. Writes at most size bytes, terminated, into
 *  out (the caller's). @return the length of the whole string, as snprintf. */
S2D_API int s2d_convert_pixel_settings(const s2d_convert_options *opts, char *out, size_t size);

typedef struct s2d_file_report {
    char name[64];           // file name inside the output directory
    char flavor[16];         // VOLUME, LABEL, OVERVIEW, THUMBNAIL
    int64_t width, height;   // total pixel matrix
    uint64_t frames;
    uint64_t bytes;          // encoded frame bytes (fragments, padding included)
    double seconds;          // wall time from the first to the last frame written
    // Pyramid levels (whole, not parts): when the first frame was written, in seconds
    // since the pyramid started (levels are made at the same time); else -1.
    double first_frame_s;
    char mode[8];            // "copy": the source's frames unchanged; "encode": ours
    char transfer_syntax[65];
    char photometric[16];
    uint64_t replaced_tiles; // pyramid levels: frames made anew, or partly background, for
                             // source tiles missing or broken
    // Parts of a concatenation (max_instance_bytes): in_concatenation_number 1..total,
    // 0 for a file that is a whole instance.
    char concatenation_uid[65];
    unsigned in_concatenation_number, in_concatenation_total;
    uint64_t frame_offset;   // frames of the level in the parts before this one
    char level_name[64];     // the name the level has unsplit, e.g. level-0.dcm
    char sop_class_uid[65];
    // The file's instance as the archive will know it: its SOP Instance UID (a part's own)
    // and its Study and Series Instance UIDs (a user's --metadata values when given).
    char study_instance_uid[65], series_instance_uid[65], sop_instance_uid[65];
} s2d_file_report;

typedef struct s2d_convert_report {
    int nfiles;
    s2d_file_report *files;  // nfiles entries; s2d_convert_report_free() releases them
    int warnings;            // warnings handed to opts->warn (counted without one too)
    // A plain TIFF: what it was taken for ("radiology", "document", "photo") and why;
    // empty for a slide.
    char kind[16];
    char kind_reason[160];
    double seconds;          // whole conversion
    // With deidentify: the Container Identifier written (the user's, or generated), so
    // that the lab can map the output back to its slide; empty otherwise.
    char deidentified_container_id[65];
    bool container_id_generated;
} s2d_convert_report;

/** Frees what s2d_convert() allocated in a report (not the report itself). */
S2D_API void s2d_convert_report_free(s2d_convert_report *report);

/**
 * Converts slide_path into outdir (created if missing). Files are written under
 * temporary names and renamed only when every file is complete; on failure nothing
 * is left behind. report may be NULL; when given, free it with s2d_convert_report_free().
 * Not thread-safe with respect to the same outdir.
 * @return true on success; on failure err holds the reason.
 */
S2D_API bool s2d_convert(const char *slide_path, const char *outdir, const s2d_convert_options *opts,
                 s2d_convert_report *report, s2d_error *err);

/**
 * s2d_convert() for bindings (the Python package) and programs that would rather not
 * share the layout of s2d_convert_options: options_json (NULL = the defaults) is a JSON
 * object keyed by the field names of s2d_convert_options, attrs' fields at the top level,
 * e.g. {"quality": 80, "reencode": true, "patient_id": "P1", "windows": [[40, 400]],
 * "pixel_spacing": [0.5, 0.5]}; an unknown name or a value of the wrong type is an
 * S2D_ERR_USAGE. The callbacks, their ctx and interrupt are those of s2d_convert_options.
 * @return true with *report_json the report as a JSON object (malloc'd: free it with
 *         s2d_free); false with err set and *report_json NULL.
 */
S2D_API bool s2d_convert_json(const char *slide_path, const char *outdir,
                              const char *options_json,
                              void (*progress)(void *ctx, const s2d_progress *p),
                              void (*warn)(void *ctx, const char *message), void *callback_ctx,
                              const volatile sig_atomic_t *interrupt, char **report_json,
                              s2d_error *err);

/** Frees what the library allocated and says to free with it (s2d_convert_json's report). */
S2D_API void s2d_free(void *p);

S2D_END_C

#endif
