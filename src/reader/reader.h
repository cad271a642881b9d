/* Slide reader: describes the pyramid and metadata of a slide and reads regions as RGB.
 * Backed by OpenSlide. Reads are thread-safe (OpenSlide handles are). */
#ifndef S2D_READER_H
#define S2D_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slide2dcm/error.h"

typedef struct s2d_level_info {
    int64_t width, height;
    double downsample;       // relative to level 0
} s2d_level_info;

/** How the source stored one of its images, for the Lossy Image Compression history. */
typedef struct s2d_source_compression {
    int64_t width, height;            // the image this describes
    bool lossy;
    char method[16];                  // ISO_10918_1 or ISO_15444_1 when lossy
    double ratio;                     // raw bytes / stored bytes; 0 when unknown
} s2d_source_compression;

#define S2D_MAX_SOURCE_IMAGES 64

/** What the source says about itself; empty strings / zeros when it does not say. */
typedef struct s2d_slide_meta {
    char vendor[32];                  // OpenSlide's vendor name, e.g. "aperio"
    double mpp_x, mpp_y;              // micrometres per pixel
    double objective_power;
    char acquisition_datetime[27];    // DICOM DT
    char barcode[257];
    uint8_t background[3];            // RGB; white when the source has none
    uint8_t *icc_profile;             // from TIFF tag 34675, or NULL
    size_t icc_profile_len;
    bool fluorescence;                // an epifluorescence scan
    double excitation_nm;             // its excitation wavelength; 0 when unknown
    // Every image of a TIFF-based source, as libtiff sees it.
    int nsource_images;
    s2d_source_compression source_images[S2D_MAX_SOURCE_IMAGES];
} s2d_slide_meta;

typedef struct s2d_reader s2d_reader;

/** Opens path. Fails with S2D_ERR_INPUT and a reason that names what is wrong. */
s2d_reader *s2d_reader_open(const char *path, s2d_error *err);
/** NULL is a no-op. */
void s2d_reader_close(s2d_reader *r);

int s2d_reader_level_count(const s2d_reader *r);
const s2d_level_info *s2d_reader_level(const s2d_reader *r, int level);
const s2d_slide_meta *s2d_reader_meta(const s2d_reader *r);

/**
 * Reads w x h pixels at (x, y) in the coordinates of level into rgb (3 bytes per pixel,
 * stride bytes per row), un-premultiplied, transparent pixels replaced by the background.
 * scratch must hold w * h uint32_t and belongs to the calling thread. Thread-safe.
 */
bool s2d_reader_read_region(s2d_reader *r, int level, int64_t x, int64_t y, int64_t w, int64_t h,
                            uint8_t *rgb, size_t stride, uint32_t *scratch, s2d_error *err);

/** Reads an associated image ("label", "macro", "thumbnail") as tightly packed RGB.
 *  @return false with err set when it is missing or unreadable; *rgb is malloc'd. */
bool s2d_reader_read_associated(s2d_reader *r, const char *name, uint8_t **rgb, int64_t *w,
                                int64_t *h, s2d_error *err);
bool s2d_reader_has_associated(const s2d_reader *r, const char *name);

/** Fills what libtiff can tell about a TIFF-based slide: ICC profile and how each image is
 *  compressed. Leaves meta untouched for other files. */
void s2d_tiff_info_read(const char *path, s2d_slide_meta *meta);

/** The source image of exactly width x height, or NULL when the source has none (or is
 *  not TIFF-based). */
const s2d_source_compression *s2d_slide_meta_compression(const s2d_slide_meta *meta,
                                                         int64_t width, int64_t height);

/** For a file OpenSlide refuses: when it is a TIFF at all, writes why it cannot be a slide
 *  (damaged, truncated, a plain stripped TIFF...) into reason and returns true. */
bool s2d_tiff_info_diagnose(const char *path, char *reason, size_t n);

#endif
