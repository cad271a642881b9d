// SPDX-License-Identifier: Apache-2.0
/* A source: the images of one input file and what it says about itself, in words of its
 * own (no DICOM words: the DICOM layer maps them). Each image has a role, a pixel
 * description, the native coding of its stored frames (copied as they are where the
 * output allows) and its own lossy history.
 *
 * s2d_source_open() tries the formats of registry.c in order, each given the one listing
 * of the file's TIFF directories (tiffdir.h). Reads are thread-safe but for the associated
 * images, which are read from one thread; per-thread state lives in an s2d_read_ctx.
 * The pixel description is the codecs' (codec/pixdesc.h). */
#ifndef S2D_SOURCE_H
#define S2D_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "slide2dcm/error.h"
#include "codec/pixdesc.h"

typedef enum s2d_image_role {
    S2D_IMAGE_LEVEL,         // a resolution level of a pyramid; index.level
    S2D_IMAGE_PAGE,          // a page of a document; index.page
    S2D_IMAGE_PLANE,         // one channel x z x t plane; index.channel, .z, .t
    S2D_IMAGE_LABEL,
    S2D_IMAGE_OVERVIEW,      // the macro image of the whole glass
    S2D_IMAGE_THUMBNAIL,
} s2d_image_role;

/** How an image's stored frames can be taken without decoding. */
typedef enum s2d_native_coding {
    S2D_CODING_NONE = 0,     // they cannot: read regions (decode) instead
    S2D_CODING_JPEG,         // complete baseline JPEG streams
    S2D_CODING_J2K,          // raw JPEG 2000 codestreams
} s2d_native_coding;

/** The multiple component transform of a JPEG 2000 codestream. */
typedef enum s2d_j2k_transform {
    S2D_J2K_NO_TRANSFORM,
    S2D_J2K_IRREVERSIBLE,    // ICT, with the 9/7 wavelet
    S2D_J2K_REVERSIBLE,      // RCT, with the 5/3 wavelet
} s2d_j2k_transform;

typedef struct s2d_native {
    s2d_native_coding coding;
    // Frame size of copied frames. 0: any multiple of mcu_w x mcu_h (frames are cut from a
    // larger JPEG, as in NDPI).
    int tile_w, tile_h;
    int mcu_w, mcu_h;
    s2d_j2k_transform j2k_transform;
} s2d_native;

/** Largest copied frame of w x h pixels a source hands out. */
#define S2D_COPIED_FRAME_MAX(w, h) ((uint64_t)(w) * (uint64_t)(h) * 6u + 65536u)

typedef enum s2d_lossy_method {
    S2D_LOSSY_NONE = 0,      // stored without loss (or not known to be lossy)
    S2D_LOSSY_JPEG,
    S2D_LOSSY_J2K,
} s2d_lossy_method;

/** How the source stored an image, for the lossy compression history. */
typedef struct s2d_lossy_history {
    bool known;              // the source says how it stored this image
    s2d_lossy_method method;
    double ratio;            // raw bytes / stored bytes; 0 when unknown
} s2d_lossy_history;

typedef struct s2d_source_image {
    s2d_image_role role;
    struct {
        int level, page, channel, z, t;
    } index;
    s2d_pixdesc pix;         // of the stored pixels
    // Chroma sampling of YCbCr: luma samples per chroma sample across and down (1: none).
    uint8_t chroma_w, chroma_h;
    double downsample;       // levels: relative to level 0
    // Associated images: the pixel size the file records for this image (an NDPI macro's
    // resolution), in µm; 0 when it records none.
    double mpp_x, mpp_y;
    s2d_native native;
    s2d_lossy_history history;
} s2d_source_image;

/** One channel the source describes (a fluorescence filter cube, an OME Channel), in its
 *  own words; "" and 0 for what it does not say. */
typedef struct s2d_source_channel {
    char name[256];                   // cut to 255 bytes
    double excitation_nm;             // excitation wavelength
    double emission_nm;               // emission wavelength
    uint8_t colour[3];                // RGB the file shows it in, when has_colour
    bool has_colour;
} s2d_source_channel;

/** Most software versions a source's device lists. */
#define S2D_SOURCE_SOFTWARE_MAX 4

/** The equipment that acquired the images (a slide scanner, a camera, a microscope), in the
 *  source's own words; "" for what it does not say. Inline in the meta, owned with it. */
typedef struct s2d_source_device {
    char manufacturer[129], model[129], serial[129];   // cut to 128 bytes
    // Versions of its software, in the source's order; "" after the last.
    char software[S2D_SOURCE_SOFTWARE_MAX][129];
} s2d_source_device;

/** What the source says about itself; empty strings / zeros when it does not say. */
typedef struct s2d_source_meta {
    double mpp_x, mpp_y;              // micrometres per pixel
    double objective_power;           // magnification
    char acquisition_datetime[27];    // YYYYMMDDHHMMSS[&ZZXX]
    char barcode[257];
    uint8_t background[3];            // RGB; white when the source has none
    uint8_t *icc_profile;             // owned by the source, or NULL
    size_t icc_profile_len;
    bool fluorescence;                // an epifluorescence scan
    // What the file is, for a person: "Aperio SVS", "Hamamatsu NDPI", "OME-TIFF", "TIFF",
    // "MIRAX (read by OpenSlide)"...
    char format_title[64];
    // Who acquired it: each format fills what it records (README, "Where the equipment
    // comes from").
    s2d_source_device device;
    // Plain TIFFs (of the first directory): an EXIF directory,
    bool exif_present;
    // ImageJ's display range ("min=" / "max=" in its description), in stored values,
    bool has_display_range;
    double display_min, display_max;
    // and the mark of a microscopy file format, or empty: "ImageJ hyperstack", "LSM",
    // "MetaMorph", "QPTIFF", "Micro-Manager", "OME-XML".
    char microscopy_mark[32];
    // The channels the source describes, in its order; NULL and 0 when it describes none.
    // Owned by the source, like the ICC profile.
    s2d_source_channel *channels;
    size_t nchannels;
} s2d_source_meta;

/** How a page is compressed in the file. */
typedef enum s2d_page_compression {
    S2D_PAGE_UNCOMPRESSED,
    S2D_PAGE_LZW,
    S2D_PAGE_DEFLATE,
    S2D_PAGE_PACKBITS,
    S2D_PAGE_CCITT,          // T.4 (G3) or T.6 (G4), or modified Huffman
    S2D_PAGE_JPEG,           // TIFF 6 JPEG (compression 7)
    S2D_PAGE_OLD_JPEG,       // the TIFF 5 JPEG of compression 6
    S2D_PAGE_OTHER,
} s2d_page_compression;

/** The alpha sample of a page (TIFF ExtraSamples), which read_rows does not hand out. */
typedef enum s2d_page_alpha {
    S2D_ALPHA_NONE,
    S2D_ALPHA_ASSOCIATED,    // premultiplied
    S2D_ALPHA_UNASSOCIATED,
} s2d_page_alpha;

typedef enum s2d_sample_format {
    S2D_SAMPLE_UINT,
    S2D_SAMPLE_INT,
    S2D_SAMPLE_FLOAT,
} s2d_sample_format;

/** What a page is in the file, beyond the pixels read_rows hands out. */
typedef struct s2d_page_facts {
    s2d_page_compression compression;
    uint16_t compression_code;        // the file's own number (CCITT: 4 is G4, 3 G3)
    // Resolution; 0 when absent or its unit is "none" (a missing unit is TIFF's inch).
    double x_px_per_mm, y_px_per_mm;
    uint8_t orientation;              // TIFF Orientation, 1..8 (1: rows top first, left first)
    s2d_page_alpha alpha;
    s2d_sample_format sample_format;
    uint16_t bits_per_sample;         // in the file (64-bit floats are handed out as 32)
    // Stored other than read_rows hands it out: decoded to 8-bit RGB by libtiff's RGBA
    // reader (YCbCr without JPEG, old JPEG, CMYK, CIE L*a*b*, LogLuv);
    bool decoded_to_rgb;
    bool cmyk;                        // of which separated inks
    bool ycbcr;                       // stored as YCbCr (JPEG or not), handed out as RGB
} s2d_page_facts;

typedef struct s2d_source s2d_source;
typedef struct s2d_read_ctx s2d_read_ctx;

/** Opens path with the first format of the registry that takes it. Fails with
 *  S2D_ERR_INPUT and a reason that names what is wrong; what is not a regular file (a
 *  directory, a named pipe, a device) is refused without being opened.
 *  @return a source the caller closes with s2d_source_close(), or NULL with err set. */
s2d_source *s2d_source_open(const char *path, s2d_error *err);
/** NULL is a no-op. */
void s2d_source_close(s2d_source *src);

/** The format that opened it: "aperio", "ndpi", "philips", "leica-scn", "ome",
 *  "tiled-tiff", "plain-tiff", "openslide" (a static string). */
const char *s2d_source_format(const s2d_source *src);

/** Levels are images 0 .. level_count - 1, largest first. Pointers stay valid until close. */
int s2d_source_level_count(const s2d_source *src);
const s2d_source_image *s2d_source_level(const s2d_source *src, int level);
/** The image of that role (LABEL, OVERVIEW, THUMBNAIL), or NULL when there is none.
 *  Owned by the source, like the levels and the metadata: valid until close. */
const s2d_source_image *s2d_source_associated(const s2d_source *src, s2d_image_role role);
const s2d_source_meta *s2d_source_meta_of(const s2d_source *src);

/** Per-thread reading state for regions of at most max_w x max_h pixels; the caller frees
 *  it with s2d_read_ctx_free() before closing the source. */
s2d_read_ctx *s2d_read_ctx_new(s2d_source *src, int max_w, int max_h, s2d_error *err);
void s2d_read_ctx_free(s2d_read_ctx *ctx);

/**
 * Reads w x h pixels at (x, y) in the coordinates of level into rgb (3 bytes per pixel,
 * stride bytes per row), straight (not premultiplied) RGB on the background colour.
 * A source tile that cannot be decoded becomes background and is counted in
 * *bad_tiles (may be NULL), so the caller can warn.
 */
bool s2d_source_read_region(s2d_source *src, s2d_read_ctx *ctx, int level, int64_t x,
                            int64_t y, int64_t w, int64_t h, uint8_t *rgb, size_t stride,
                            int *bad_tiles, s2d_error *err);

/**
 * Frame (col, row) of a level whose native coding is not NONE, frame_w x frame_h pixels
 * (the level's tile size, or a multiple of its MCU when that is 0), as a complete stream in
 * out. Fails with S2D_ERR_INPUT when the source's tile is missing or broken: the caller
 * replaces the frame.
 */
bool s2d_source_read_frame(s2d_source *src, s2d_read_ctx *ctx, int level, uint32_t col,
                           uint32_t row, int frame_w, int frame_h, s2d_buf *out,
                           s2d_error *err);

/** Whether frame (col, row) of a level is empty by the source's design: a sparse level's
 *  tile that was never stored (Philips writes only the scanned regions). Such a frame is
 *  the background, not a missing or broken tile: nothing to warn of or count. */
bool s2d_source_frame_absent(const s2d_source *src, int level, uint32_t col, uint32_t row);

/** Reads an associated image as tightly packed RGB.
 *  @return false with err set when it is missing or unreadable; *rgb is malloc'd, the
 *  caller's. */
bool s2d_source_read_associated(s2d_source *src, s2d_image_role role, uint8_t **rgb,
                                int64_t *w, int64_t *h, s2d_error *err);

/** An associated image that the source stores as baseline JPEG strips, as one complete
 *  JPEG made without decoding (s2d_jpeg_join_strips), and its colour model (RGB or YCbCr).
 *  @return false when the source does not store it so: read_associated decodes it. */
bool s2d_source_associated_jpeg(s2d_source *src, s2d_image_role role, s2d_buf *out,
                                int64_t *w, int64_t *h, s2d_colour *colour);

/** The history of the first image of exactly w x h pixels in the file (in IFD order), or
 *  NULL (not a TIFF, no such image). Only for fmt_openslide.c: OpenSlide does not say which
 *  directory an image comes from, so its images are matched by size. Every other format
 *  gives each image its own directory's history (s2d_source_image.history). */
const s2d_lossy_history *s2d_source_history_by_size(const s2d_source *src, int64_t w,
                                                    int64_t h);

/* ------------------------------------------------------------------ pages
 * The pages of a document-like file (a plain TIFF): images of role S2D_IMAGE_PAGE,
 * index.page their 0-based number in the file. Their pixel description is that of what
 * read_rows hands out (never planar). Pages of one source are read from one thread. */

/** Pages are 0 .. page_count - 1; 0 for a source of levels. Pointers stay valid until
 *  close, owned by the source. */
int s2d_source_page_count(const s2d_source *src);
const s2d_source_image *s2d_source_page(const s2d_source *src, int page);
const s2d_page_facts *s2d_source_page_facts(const s2d_source *src, int page);

/**
 * Rows y .. y + n - 1 of a page, decoded, into out (rows `stride` bytes apart) in the
 * memory layout of its pixel description (codec/pixdesc.h): samples interleaved; 1-bit
 * pixels one byte 0/1, 2- and 4-bit samples one byte each; colours as stored (min-is-white
 * not inverted, palette pages as indices). An alpha sample is left out: colour on a
 * translucent pixel is put on white (s2d_source_page_translucent counts those). The
 * source keeps the one strip (or row of tiles) the last rows came from; rows read in
 * order decode each strip once. Fails with S2D_ERR_INPUT naming the reason (a truncated
 * strip, data libtiff cannot decode).
 */
bool s2d_source_read_rows(s2d_source *src, int page, uint32_t y, uint32_t n, void *out,
                          size_t stride, s2d_error *err);

/** A 1-bit page's rows y .. y + n - 1 as libtiff decodes them: 8 pixels a byte, the first
 *  in the most significant bit, each row padded to whole bytes, values as stored (not
 *  inverted). A bilevel page so is read without a byte per pixel; false (err set) for any
 *  other page, which read_rows reads. */
bool s2d_source_read_bilevel_rows(s2d_source *src, int page, uint32_t y, uint32_t n,
                                  void *out, size_t stride, s2d_error *err);

/** Pixels of the page that read_rows has put on white (translucent alpha), in the rows
 *  read so far in order from the top (each row counted once, however often it is read). */
uint64_t s2d_source_page_translucent(const s2d_source *src, int page);

/** The colour table of a palette page: 3 x *n uint16_t, all reds, then greens, then blues,
 *  as in the TIFF; NULL (and *n 0) for other pages. Owned by the source. */
const uint16_t *s2d_source_palette(const s2d_source *src, int page, int *n);

/** A page stored as baseline JPEG (compression 7) as one complete JPEG, its strips joined
 *  without decoding (JPEGTables spliced, as for associated images), and its colour model
 *  (RGB, YCbCr, or grey min-is-black).
 *  @return false (err set to say why) when the page cannot be copied so: decode it. */
bool s2d_source_page_jpeg(s2d_source *src, int page, s2d_buf *out, s2d_colour *colour,
                          s2d_error *err);

/** The coded bytes of a page stored as one strip (or one tile), as the file holds them,
 *  nothing decoded: for a container that carries the same coding (a PDF's CCITT stream).
 *  Their coding is the page's (s2d_page_facts.compression_code); FillOrder 2 bytes come
 *  with their bits reversed, so the first bit is always the highest.
 *  @return false (err set to say why) when the page has several strips or tiles or its
 *  bytes cannot be read; *out is the caller's to free either way. */
bool s2d_source_page_raw(s2d_source *src, int page, s2d_buf *out, s2d_error *err);

/* ------------------------------------------------------------------ planes
 * A microscopy file of pages (OME-XML, ImageJ hyperstack, QPTIFF, or grey pages of one
 * size): which page holds which channel, z and t. */

/** The planes of a microscopy file: nc x nz x nt grey images, each one page of the file
 *  (read with s2d_source_read_rows(src, page, ...)), all of the first plane's width,
 *  height and pixel description. */
typedef struct s2d_plane_layout {
    int nc, nz, nt;
    const int *page;         // nc*nz*nt entries: page of plane (c, z, t) at c + nc*(z + nz*t)
    double z_spacing_um;     // between z planes (OME PhysicalSizeZ, ImageJ spacing); 0 unknown
    int significant_bits;    // OME SignificantBits (e.g. 12 of 16); 0 unknown
    int label_page, overview_page, thumbnail_page;   // RGB pages (QPTIFF), -1 none
    char origin[32];         // "OME-XML", "ImageJ hyperstack", "QPTIFF", "grey TIFF"
} s2d_plane_layout;

/** NULL when the source is not a file of microscopy planes. Owned by the source, valid
 *  until close. A "grey TIFF" layout (pages of one size and grey pixel description, each a
 *  channel) is made for any such file: s2d_source_kind says whether it is microscopy. */
const s2d_plane_layout *s2d_source_planes(const s2d_source *src);

/* ------------------------------------------------------------------ kinds
 * What a file of pages holds, told from its facts alone (src/source/kind.c). */

typedef enum s2d_tiff_kind {
    S2D_KIND_RADIOLOGY,      // greyscale over 8 bits, float, or plain 8-bit (or 2/4-bit) grey
    S2D_KIND_DOCUMENT,       // bilevel or CCITT pages, or pages of a paper size at 150..600 dpi
    S2D_KIND_PHOTO,          // RGB, YCbCr, palette, CMYK
    S2D_KIND_MICROSCOPY,     // a microscopy format's mark, or a whole-slide image
} s2d_tiff_kind;

/** "radiology", "document", "photo", "microscopy" (a static string). */
const char *s2d_kind_name(s2d_tiff_kind kind);

/** The kind of n pages (pages and facts parallel arrays) of a file with that microscopy
 *  mark (meta's, may be empty), the first rule that matches: the mark; grey pages (one
 *  sample, 8, 16 or 32 bits) whose first page's resolution says pixels of 10 um or less,
 *  planes of one image or not (s2d_pages_are_planes; the reason says which); 1-bit pages,
 *  CCITT, 8-bit grey or RGB of a paper size (A4, Letter, Legal within 10 %) at 150..600 dpi
 *  on any page; float, then grey of any depth on any page; else photo. reason says what
 *  decided, in a few words ("16-bit grey", "A4 page at 300 dpi", "RGB"). */
s2d_tiff_kind s2d_kind_of(const char *microscopy_mark, const s2d_source_image *pages,
                          const s2d_page_facts *facts, int n, char reason[128]);

/** Whether n pages are grey planes of one size: one sample, min-is-black, 8, 16 or 32
 *  bits (64-bit floats too), all of page 0's width, height and pixel description. */
bool s2d_pages_are_planes(const s2d_source_image *pages, const s2d_page_facts *facts, int n);

/** s2d_kind_of over a source's pages; a source of levels is microscopy ("a whole-slide
 *  image"). A microscopy file with a layout of planes says its origin and dimensions
 *  ("OME-XML, 3 channels x 5 z"). */
s2d_tiff_kind s2d_source_kind(const s2d_source *src, char reason[128]);

/** Whether a batch should take path as an input: a name or first bytes that a format of
 *  the registry reads (without opening it with libtiff). */
bool s2d_source_sniff(const char *path);

#endif
