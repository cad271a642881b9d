// SPDX-License-Identifier: Apache-2.0
/* What the formats share: the source object, the operations a format provides, the format
 * descriptor of the registry, and the helpers that turn a format's own words into typed
 * metadata. */
#ifndef S2D_SOURCE_IMPL_H
#define S2D_SOURCE_IMPL_H

#include "source/source.h"
#include "source/tiffdir.h"

typedef struct s2d_source_ops {
    void (*close)(s2d_source *src);
    void *(*ctx_new)(s2d_source *src, int max_w, int max_h);
    void (*ctx_free)(s2d_source *src, void *ctx);
    bool (*read_region)(s2d_source *src, void *ctx, int level, int64_t x, int64_t y, int64_t w,
                        int64_t h, uint8_t *rgb, size_t stride, int *bad_tiles, s2d_error *err);
    // NULL when no level has frames to copy.
    bool (*read_frame)(s2d_source *src, void *ctx, int level, uint32_t col, uint32_t row,
                       int frame_w, int frame_h, s2d_buf *out, s2d_error *err);
    // NULL when no level is sparse (source.h's s2d_source_frame_absent).
    bool (*frame_absent)(const s2d_source *src, int level, uint32_t col, uint32_t row);
    bool (*read_associated)(s2d_source *src, const s2d_source_image *img, uint8_t **rgb, int64_t *w,
                            int64_t *h, s2d_error *err);
    // NULL when the format never has one to copy.
    bool (*associated_jpeg)(s2d_source *src, const s2d_source_image *img, s2d_buf *out, int64_t *w,
                            int64_t *h, s2d_colour *colour);
    // Pages (source.h); NULL when the format has none. Levels' operations (ctx_new ...)
    // are NULL for a format of pages only.
    bool (*read_rows)(s2d_source *src, int page, uint32_t y, uint32_t n, void *out,
                      size_t stride, s2d_error *err);
    // NULL, or false with err set, when the page's rows are not 1-bit packed (source.h).
    bool (*read_bilevel_rows)(s2d_source *src, int page, uint32_t y, uint32_t n, void *out,
                              size_t stride, s2d_error *err);
    uint64_t (*translucent)(const s2d_source *src, int page);
    const uint16_t *(*palette)(const s2d_source *src, int page, int *n);
    bool (*page_jpeg)(s2d_source *src, int page, s2d_buf *out, s2d_colour *colour,
                      s2d_error *err);
    bool (*page_raw)(s2d_source *src, int page, s2d_buf *out, s2d_error *err);
} s2d_source_ops;

#define S2D_MAX_ASSOCIATED 3   // label, overview, thumbnail

// The most one decoded tile (or strip decoded at once) may take, whichever reader decodes
// it: a file's own numbers set a tile's size, so a crafted one would ask for gigabytes.
// 256 MiB is an 8192 x 8192 RGBA tile; scanners write 256 to 1024 pixels a side.
#define S2D_MAX_DECODED_TILE_BYTES (256ull << 20)

struct s2d_source {
    const struct s2d_format *format;
    const s2d_source_ops *ops;
    void *impl;                        // the format's, freed by ops->close
    char *path;
    s2d_tiffdir *tiffdir;              // the listing, NULL for a file that is not a TIFF
    int nlevels;
    s2d_source_image *levels;                 // malloc'd
    int nassociated;
    s2d_source_image associated[S2D_MAX_ASSOCIATED];
    s2d_source_meta meta;
    int npages;
    s2d_source_image *pages;           // malloc'd
    s2d_page_facts *page_facts;        // malloc'd, parallel to pages
    bool has_planes;                   // planes is a microscopy file's layout
    s2d_plane_layout planes;           // its page table is plane_pages
    int *plane_pages;                  // malloc'd
};

/** One format of the registry (registry.c).
 *  detect: cheap, allocates nothing; td is NULL for a file that is not a TIFF.
 *  open: fills src (levels, associated images, meta, ops, impl) and returns true; or
 *  returns false with err set for a file of this format that cannot be read; or returns
 *  false with err untouched when the file is not one this format reads after all (then the
 *  next format is tried), leaving src as it found it. */
typedef struct s2d_format {
    const char *name;
    const char *const *extensions;     // names a batch takes as this format's; NULL-ended
    bool reads_tiff;                   // a batch takes any TIFF for it
    bool (*detect)(const char *path, const s2d_tiffdir *td);
    bool (*open)(s2d_source *src, s2d_error *err);
} s2d_format;

extern const s2d_format s2d_format_ndpi, s2d_format_aperio, s2d_format_philips,
    s2d_format_leica_scn, s2d_format_ventana, s2d_format_3dhistech, s2d_format_ome,
    s2d_format_tiled_tiff, s2d_format_plain_tiff, s2d_format_openslide;

/** The registry's formats in try order, and how many. */
const s2d_format *const *s2d_formats(int *n);

/** Whether a pixel of um micrometres is a microscope's (10 um or less; kind.c). */
bool s2d_microscope_pixel(double um);

/** The name our messages give an associated image: "label", "macro", "thumbnail". */
const char *s2d_role_name(s2d_image_role role);

// ------------------------------------------------------------------ typed metadata

/** The positive finite number text starts with, else 0. NULL gives 0. */
double s2d_meta_positive(const char *text);

/** "12/29/09" + "09:59:15" (either NULL) + "GMT-05:00" (may be NULL) into out. */
bool s2d_meta_us_datetime(const char *date, const char *time, const char *zone, char out[27]);

/** "2009:12:29 09:59:15" (TIFF DateTime), "2010-10-14T10:20:07" (ISO 8601) or
 *  "20261125101112[.ffffff]" (DICOM DT; the fraction ignored) into out, each field in its
 *  range. @return false for anything else. */
bool s2d_meta_tiff_datetime(const char *text, char out[27]);

/** Day first, as 3DHistech writes it: "29/12/2009" + "12:43:52" into out; time NULL takes
 *  the clock after the date in its own text ("20/02/2008 13:12:26", MIRAX), if any. */
bool s2d_meta_dmy_datetime(const char *date, const char *time, char out[27]);

/** Appends a channel of "" and zeros to meta's channels.
 *  @return it (owned by meta, valid until the next append), or NULL for lack of memory. */
s2d_source_channel *s2d_meta_add_channel(s2d_source_meta *meta);

/** Hamamatsu fluorescence scans describe their filter cube in a property:
 *  "...;Name=DAPI 2 (387) \r;...;ExcitationWaveLength=387\r;EmissionWaveLength=455\r;...".
 *  When text (may be NULL) holds it, sets *found, meta's fluorescence and the cube as
 *  meta's one channel (its name and wavelengths).
 *  @return false only for lack of memory. */
bool s2d_meta_fluorescence(const char *text, s2d_source_meta *meta, bool *found);

/** A base64 value that decodes to printable ASCII text shorter than n (a barcode), into
 *  out. False, out untouched, when text is NULL, not base64, or not such text; *nomem
 *  tells running out of memory apart. */
bool s2d_meta_base64_text(const char *text, char *out, size_t n, bool *nomem);

/** Empty glass: white in brightfield, black in fluorescence. */
void s2d_meta_default_background(s2d_source_meta *meta);

/** Sets a device's field (manufacturer, model or serial) to text, at most len bytes of it
 *  (SIZE_MAX: up to its NUL) cut to 128, unless the field is set already (the first
 *  statement wins) or text is NULL. */
void s2d_meta_device_text(char out[129], const char *text, size_t len);

/** Appends a software version (at most len bytes of text, as above) to the device's list
 *  unless it is empty, listed already or the list is full. */
void s2d_meta_device_software(s2d_source_device *d, const char *text, size_t len);

/** Appends the software versions of text (may be NULL): each value in double quotes, as
 *  Philips lists them ('"1.8.6824" "20180906_R51"', up to an unclosed quote), or the whole
 *  text when it has no quote. */
void s2d_meta_device_software_list(s2d_source_device *d, const char *text);

/** The TIFF's Make, Model and Software tags (of d0) as the device, where not set already. */
void s2d_meta_tiff_device(const s2d_tiff_ifd *d0, s2d_source_device *d);

/** The scanner an Aperio ImageDescription (may be NULL) names (fmt_aperio.c), also for the
 *  Aperio files OpenSlide reads. Fields set already are kept. @return false for lack of
 *  memory. */
bool s2d_aperio_device(const char *description, s2d_source_device *d);

/** The ICC profile of the listing's IFD 0, copied into meta; false for lack of memory. */
bool s2d_meta_take_icc(const s2d_tiffdir *td, s2d_source_meta *meta);

#endif
