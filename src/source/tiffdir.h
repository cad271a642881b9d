// SPDX-License-Identifier: Apache-2.0
/* One pass of libtiff over every directory (IFD) of a TIFF, kept as a plain listing that
 * every format's detect() and open() read: the fields they use, the tile or strip tables,
 * the private tags, each image's lossy history, and whether the file is damaged. libtiff
 * opens the file once per source; its handle stays in the listing for the one thing only
 * libtiff does for us, decoding a non-JPEG associated image (tiffdir_read_rgba). */
#ifndef S2D_TIFFDIR_H
#define S2D_TIFFDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slide2dcm/error.h"
#include "source/source.h"

/** A tag libtiff does not know (a vendor's), as libtiff hands it out: count values of
 *  `width` bytes, then a NUL. The width is libtiff's, not the file's (a RATIONAL is a
 *  4-byte float), and it is the type the file gave: a reader checks it before it reads. */
typedef struct s2d_tiff_private_tag {
    uint32_t tag;
    uint32_t count;
    uint32_t width;
    void *data;              // owned by the listing
} s2d_tiff_private_tag;

typedef struct s2d_tiff_ifd {
    uint32_t width, height;
    uint16_t compression, photometric, samples, bits, sample_format, planar, orientation;
    bool has_photometric;
    bool tiled;
    uint32_t tile_w, tile_h, rows_per_strip;
    uint32_t nchunks;                 // tiles or strips
    uint64_t *offsets, *counts;       // owned; NULL when the tables cannot be read
    uint8_t *jpeg_tables;             // owned, or NULL
    uint32_t jpeg_tables_len;
    char *description, *software, *datetime;   // owned, NULL when absent
    char *make, *model;               // the device's (Make, Model); owned, NULL when absent
    char *xmp;                        // XMP packet (tag 700), owned, NUL-ended, or NULL
    uint16_t resolution_unit;
    float x_resolution, y_resolution; // 0 when absent
    s2d_tiff_private_tag *private_tags;
    int nprivate;
    s2d_lossy_history history;        // how this image is stored
    uint32_t subfile_type;            // NewSubfileType; bit 0: a reduced-resolution copy
} s2d_tiff_ifd;

/** The most directories (IFDs) the listing reads: past them the walk stops, and the file
 *  is refused naming this limit. Stacks of plain TIFFs are the longest files (a 2 GB stack
 *  of 256 x 256 16-bit slices has 16384); a directory costs the listing 176 bytes and
 *  libtiff some more: listing a file at the limit took 2 s and 49 MB peak RSS. */
#define S2D_TIFF_MAX_IFDS (1 << 17)

typedef struct s2d_tiffdir {
    char *path;
    uint64_t file_size;
    int n;
    s2d_tiff_ifd *ifds;
    uint8_t *icc_profile;             // IFD 0's (tag 34675), owned, or NULL
    uint32_t icc_profile_len;
    // Why the file is damaged or truncated (an IFD that cannot be read, image data past the
    // end of the file) or too long (more than S2D_TIFF_MAX_IFDS); empty when it is sound.
    char damage[160];
    struct tiff *tif;                 // libtiff's handle, or NULL when IFD 0 cannot be read
} s2d_tiffdir;

/** Whether the file starts like a TIFF or BigTIFF (either byte order). */
bool s2d_tiffdir_magic(const char *path);

/** Lists path's directories in one libtiff pass. A file that is not a TIFF gives NULL with
 *  err untouched; a TIFF whose first IFD cannot be read gives a listing of no directory
 *  with `damage` set. Fails (NULL, err set) only for lack of memory.
 *  @return a listing the caller frees with s2d_tiffdir_free(). */
s2d_tiffdir *s2d_tiffdir_list(const char *path, s2d_error *err);
void s2d_tiffdir_free(s2d_tiffdir *td);

/** The private tag of that number in IFD ifd, or NULL. */
const s2d_tiff_private_tag *s2d_tiffdir_private(const s2d_tiffdir *td, int ifd, uint32_t tag);

/** Decodes IFD ifd with libtiff's RGBA reader, top row first, into tightly packed RGB.
 *  @return false with err set; *rgb is malloc'd, the caller's. Not thread-safe. */
bool s2d_tiffdir_read_rgb(s2d_tiffdir *td, int ifd, const char *what, uint8_t **rgb,
                          int64_t *w, int64_t *h, s2d_error *err);

#endif
