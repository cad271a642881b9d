// SPDX-License-Identifier: Apache-2.0
/* Reading TIFF-based sources: pread with a read window (any number of threads read at
 * once; libtiff only describes the file), tile and strip byte access, and the runtime the
 * TIFF formats share: levels whose frames a format's function gives, associated images
 * from their IFDs, per-thread contexts. A format's open() fills it from the listing. */
#ifndef S2D_TIFFIO_H
#define S2D_TIFFIO_H

#include "codec/frame_dec.h"
#include "source/grid.h"
#include "source/source_impl.h"
#include "source/xml.h"

/** Reads exactly len bytes at offset into out (replacing its contents). */
bool s2d_pread_buf(int fd, uint64_t offset, size_t len, s2d_buf *out);

/** File bytes [at, at + len) of one thread's reads. */
typedef struct s2d_read_window {
    uint8_t *data;
    size_t len, cap;                 // cap: what s2d_bigmem_alloc was asked for
    uint64_t at, read_end;           // read_end: where the last read ended
} s2d_read_window;

/** The len bytes at offset, through the window; NULL when the file does not hold them (or
 *  there is no memory for a read larger than the window). Valid until the next call. */
const uint8_t *s2d_read_window_get(int fd, s2d_read_window *w, uint64_t offset, size_t len);
void s2d_read_window_free(s2d_read_window *w);

typedef struct s2d_tiff_level s2d_tiff_level;
typedef struct s2d_tiff_ctx s2d_tiff_ctx;

/** Gives frame (col, row) of fw x fh pixels of a level as a complete stream in out. */
typedef bool (*s2d_tiff_frame_fn)(s2d_source *src, const s2d_tiff_level *lv, int level,
                                  uint32_t col, uint32_t row, int fw, int fh, s2d_tiff_ctx *c,
                                  s2d_buf *out, s2d_error *err);

/** Part of a stored tile placed on a stitched level (tiles that overlap: Ventana). */
typedef struct s2d_tile_piece {
    int64_t x, y;                    // where its top-left pixel lies on the level
    uint32_t col, row;               // the stored tile, of the level's grid (tiles)
    uint32_t sx, sy, w, h;           // the part of that tile placed
} s2d_tile_piece;

/** A level stitched from pieces: regions are painted from them, never from the grid. */
typedef struct s2d_tiff_stitch {
    s2d_tile_piece *pieces;          // in paint order: a later piece covers an earlier one
    size_t n;
    uint32_t bucket_w, bucket_h, buckets_across, buckets_down;
    uint32_t *bucket_start, *bucket_items;   // pieces touching each bucket, by index
} s2d_tiff_stitch;

struct s2d_tiff_level {
    int ifd;
    uint32_t width, height;
    int cell_w, cell_h;              // the grid regions are decoded in
    s2d_tiff_frame_fn frame;
    s2d_grid_tiles tiles;            // a tiled level's tiles
    void *cut;                       // a strip-cut level's state, the format's
    void (*cut_free)(void *cut);
    s2d_tiff_stitch *stitch;         // NULL, or the pieces the level is painted from; owned
};

#define S2D_TIFF_TILE_CACHE 4        // decoded tiles a thread keeps for stitched levels

/** One thread's reading state. `state` is the format's (freed by the source's
 *  state_free); the buffers are scratch for frame functions. */
struct s2d_tiff_ctx {
    s2d_read_window window;
    s2d_buf frame, raw;
    void *state;
    s2d_frame_dec *dec;
    s2d_buf cell_frame;              // scratch of read_region
    uint8_t *cell;                   // one decoded grid cell
    // Stored tiles decoded for stitched levels, each cell_w x cell_h RGB (lazily made):
    // neighbouring regions share them.
    uint8_t *tile_px[S2D_TIFF_TILE_CACHE];
    int tile_level[S2D_TIFF_TILE_CACHE];
    uint32_t tile_col[S2D_TIFF_TILE_CACHE], tile_row[S2D_TIFF_TILE_CACHE];
    int tile_next;
    s2d_buf hits;                    // indices of the pieces a region touches
};

typedef struct s2d_tiff_source {
    int fd;
    s2d_tiff_level *levels;          // parallel to src->levels
    int associated_ifd[S2D_MAX_ASSOCIATED];   // parallel to src->associated; -1: embedded
    // An associated image the file keeps outside its directories as one JPEG (Philips:
    // base64 in the XML description), parallel to src->associated; owned.
    s2d_buf embedded[S2D_MAX_ASSOCIATED];
    void (*state_free)(void *state);
} s2d_tiff_source;

/** The TIFF runtime of src (src->impl). */
s2d_tiff_source *s2d_tiff_source_of(const s2d_source *src);

/** Makes src a TIFF source with no image yet. */
bool s2d_tiff_source_begin(s2d_source *src, s2d_error *err);
/** Adds a level of IFD ifd; its image (src->levels[n]) and runtime are zeroed but for
 *  the size, the role and the index. @return the runtime, owned by src; NULL: no memory. */
s2d_tiff_level *s2d_tiff_source_add_level(s2d_source *src, int ifd);
/** Whether tl, the level just added, continues a pyramid: not empty, narrower than the
 *  level before it and no taller. */
bool s2d_tiff_level_follows(const s2d_source *src, const s2d_tiff_level *tl);
/** Makes IFD ifd the associated image of that role (replacing an earlier one): its
 *  description and history from the listing. False when there is no room. */
bool s2d_tiff_source_set_associated(s2d_source *src, int ifd, s2d_image_role role);

/** The largest label or macro kept outside the directories (a Philips XML's base64 JPEG):
 *  100 megapixels, far above the few megapixels of a label or macro camera's picture. */
#define S2D_EMBEDDED_MAX_PIXELS 100000000u

/** Makes a complete baseline JPEG stream kept outside the directories the associated image
 *  of that role (replacing an earlier one); takes *jpeg's bytes (left empty) when it
 *  returns true. False, *jpeg untouched, when it is no 8-bit baseline JPEG of 1 or 3
 *  components, larger than S2D_EMBEDDED_MAX_PIXELS, or there is no room. */
bool s2d_tiff_source_set_embedded(s2d_source *src, s2d_buf *jpeg, s2d_image_role role);

/** Sorts a stripped IFD of a tiled layout: may make it an associated image; false only for
 *  lack of room. */
typedef bool (*s2d_tiff_classify_fn)(s2d_source *src, int ifd);

/** The tiled layouts (Aperio, OME, generic): every tiled IFD is a level, each smaller
 *  than the one before, of JPEG or JPEG 2000 tiles to copy; classify (may be NULL) sorts
 *  the others. @return true when src is filled; false with err set (damaged, no memory);
 *  false with err untouched when the file is not such a layout (src as found). */
bool s2d_tiff_source_open_tiled(s2d_source *src, s2d_tiff_classify_fn classify,
                                s2d_error *err);
/** Makes tl, the level just added (a tiled one, its tiles probed), a level stitched from
 *  the n pieces of its stored tiles (taken: owned by src from now on, freed also when this
 *  fails), painted in order, w x h pixels: regions are decoded from the pieces, the
 *  level's frames are never copied (native coding NONE). Pixels no piece covers are
 *  background. @return false for lack of memory. */
bool s2d_tiff_level_stitch(s2d_source *src, s2d_tiff_level *tl, s2d_tile_piece *pieces,
                           size_t n, uint32_t w, uint32_t h);
/** Level downsamples; false when there is no level. */
bool s2d_tiff_source_finish(s2d_source *src);
/** Undoes begin and everything added since: src is as the format found it. */
void s2d_tiff_source_abandon(s2d_source *src);
/** Ends a format's open(): keeps src when ok, else abandons it; nomem says the failure was
 *  lack of memory (then err is set). @return ok && !nomem. */
bool s2d_tiff_source_end(s2d_source *src, bool ok, bool nomem, s2d_error *err);

/** Copying tiles from a truncated file would give frames of background where the data was
 *  cut: a damaged listing is refused (err set), as OpenSlide does. */
bool s2d_tiff_source_sound(const s2d_tiffdir *td, s2d_error *err);

/** The XML a vendor keeps in a tag of td (IFD 0's description, an XMP packet; NULL when
 *  absent) as a tree, once td is sound (s2d_tiff_source_sound).
 *  @return its root, which the caller frees with s2d_xml_free(); NULL with err set when td
 *  is damaged or memory ran out (S2D_ERR_NOMEM); NULL with err untouched when there is no
 *  text or it is no XML document: the file is not the format's (OpenSlide's, if anyone's). */
s2d_xml_node *s2d_tiff_source_xml(const s2d_tiffdir *td, const char *text, s2d_error *err);

/** The frame function of tiled levels (grid.h's tiles). */
bool s2d_tiff_tiled_frame(s2d_source *src, const s2d_tiff_level *lv, int level, uint32_t col,
                          uint32_t row, int fw, int fh, s2d_tiff_ctx *c, s2d_buf *out,
                          s2d_error *err);

/** The JPEG strips of a stripped IFD (compression 7, 8-bit, RGB or YCbCr; or grey in one
 *  strip) as one complete JPEG made without decoding (s2d_jpeg_join_strips), read from
 *  fd, and its colour model. Their total is bounded as a copied frame's is.
 *  @return false when the IFD is not stored so or its strips cannot be joined. */
bool s2d_tiff_strips_jpeg(int fd, const s2d_tiff_ifd *d, s2d_buf *out, s2d_colour *colour);

/** Whether d's description is a 3DHistech TIFF's: a "|3dh_PixelSizeX = " pair. */
bool s2d_tiff_3dhistech(const s2d_tiff_ifd *d);

/** Whether IFD 0 carries the mark of a TIFF-based vendor format that OpenSlide tries
 *  before its generic tiled TIFF (NDPI's tag, Trestle's or Philips' Software, Aperio's
 *  description, Ventana's iScan XMP, Leica's SCN XML), or of one read here before the
 *  generic one (3DHistech's description): such a file is no generic one. */
bool s2d_tiff_vendor_marked(const s2d_tiffdir *td);

#endif
