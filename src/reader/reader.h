/* Slide reader: describes the pyramid and metadata of a slide, reads regions as RGB, and,
 * where the source allows, hands out its compressed tiles as complete frames to copy.
 *
 * Two backends sit behind this interface, chosen by s2d_reader_open():
 *  - reader_tiff.c (libtiff layout + our own decoders): Aperio SVS with JPEG or JPEG 2000
 *    (33005) tiles, Hamamatsu NDPI, generic tiled TIFF with JPEG tiles; it can copy frames;
 *  - reader_openslide.c: everything else OpenSlide reads; decode only.
 * Reads are thread-safe; per-thread state lives in an s2d_read_ctx. */
#ifndef S2D_READER_H
#define S2D_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "slide2dcm/error.h"

/** How a level's own frames can be copied into DICOM without decoding. */
typedef enum s2d_frame_coding {
    S2D_CODING_NONE = 0,     // they cannot: read regions (decode) instead
    S2D_CODING_JPEG,         // complete baseline JPEG streams
    S2D_CODING_J2K,          // raw JPEG 2000 codestreams
} s2d_frame_coding;

/** Largest copied frame of w x h pixels the reader hands out. */
#define S2D_COPIED_FRAME_MAX(w, h) ((uint64_t)(w) * (uint64_t)(h) * 6u + 65536u)

typedef struct s2d_level_info {
    int64_t width, height;
    double downsample;       // relative to level 0
    s2d_frame_coding coding;
    // Frame size of copied frames. 0: any multiple of mcu_w x mcu_h (frames are cut from a
    // larger JPEG, as in NDPI).
    int tile_w, tile_h;
    int mcu_w, mcu_h;
    char photometric[16];    // Photometric Interpretation of copied frames
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
typedef struct s2d_read_ctx s2d_read_ctx;

/** Opens path with the TIFF backend when it knows the layout, else with OpenSlide. Fails
 *  with S2D_ERR_INPUT and a reason that names what is wrong. */
s2d_reader *s2d_reader_open(const char *path, s2d_error *err);
/** NULL is a no-op. */
void s2d_reader_close(s2d_reader *r);

int s2d_reader_level_count(const s2d_reader *r);
const s2d_level_info *s2d_reader_level(const s2d_reader *r, int level);
const s2d_slide_meta *s2d_reader_meta(const s2d_reader *r);

/** Per-thread reading state for regions of at most max_w x max_h pixels. */
s2d_read_ctx *s2d_read_ctx_new(s2d_reader *r, int max_w, int max_h, s2d_error *err);
void s2d_read_ctx_free(s2d_read_ctx *ctx);

/**
 * Reads w x h pixels at (x, y) in the coordinates of level into rgb (3 bytes per pixel,
 * stride bytes per row), straight (not premultiplied) RGB on the background colour.
 * A source tile that cannot be decoded becomes background and is counted in
 * *bad_tiles (may be NULL), so the caller can warn.
 */
bool s2d_reader_read_region(s2d_reader *r, s2d_read_ctx *ctx, int level, int64_t x, int64_t y,
                            int64_t w, int64_t h, uint8_t *rgb, size_t stride, int *bad_tiles,
                            s2d_error *err);

/**
 * Frame (col, row) of a level whose coding is not NONE, frame_w x frame_h pixels (the
 * level's tile size, or a multiple of its MCU when that is 0), as a complete stream in out.
 * Fails with S2D_ERR_INPUT when the source's tile is missing or broken: the caller
 * replaces the frame.
 */
bool s2d_reader_read_frame(s2d_reader *r, s2d_read_ctx *ctx, int level, uint32_t col,
                           uint32_t row, int frame_w, int frame_h, s2d_buf *out, s2d_error *err);

/** Reads an associated image ("label", "macro", "thumbnail") as tightly packed RGB.
 *  @return false with err set when it is missing or unreadable; *rgb is malloc'd. */
bool s2d_reader_read_associated(s2d_reader *r, const char *name, uint8_t **rgb, int64_t *w,
                                int64_t *h, s2d_error *err);
bool s2d_reader_has_associated(const s2d_reader *r, const char *name);

/** An associated image that the source stores as baseline JPEG strips, as one complete
 *  JPEG made without decoding (s2d_jpeg_join_strips), with its Photometric Interpretation.
 *  @return false when the source does not store it so: read_associated decodes it. */
bool s2d_reader_associated_jpeg(s2d_reader *r, const char *name, s2d_buf *out, int64_t *w,
                                int64_t *h, char photometric[16]);

/** The source image of exactly width x height, or NULL when the source has none (or is
 *  not TIFF-based). */
const s2d_source_compression *s2d_slide_meta_compression(const s2d_slide_meta *meta,
                                                         int64_t width, int64_t height);

/** Fills what libtiff can tell about a TIFF-based slide: ICC profile and how each image is
 *  compressed. Leaves meta untouched for other files. */
void s2d_tiff_info_read(const char *path, s2d_slide_meta *meta);

/** When path is a TIFF that is damaged or truncated (an IFD that cannot be read, image data
 *  past the end of the file), writes why into reason and returns true. */
bool s2d_tiff_info_damaged(const char *path, char *reason, size_t n);

/** For a file no backend opens: when it is a TIFF at all, writes why it cannot be a slide
 *  (damaged, truncated, a plain stripped TIFF...) into reason and returns true. */
bool s2d_tiff_info_diagnose(const char *path, char *reason, size_t n);

#endif
