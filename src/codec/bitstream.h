// SPDX-License-Identifier: Apache-2.0
/* Facts read from JPEG and JPEG 2000 bitstreams without decoding them, and the splicing that
 * turns an abbreviated TIFF JPEG tile into a complete stream. The colour coding of a copied
 * frame comes from here, not from TIFF tags, which vendors get wrong. */
#ifndef S2D_BITSTREAM_H
#define S2D_BITSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

typedef struct s2d_jpeg_facts {
    int sof;                  // SOFn marker (0xC0 baseline), 0 when none was found
    int precision;
    int width, height, ncomp;
    uint8_t ids[4], h[4], v[4];   // component ids and sampling factors
    bool jfif;                // APP0 "JFIF"
    int adobe_transform;      // APP14 "Adobe" transform flag, -1 when absent
    int restart_interval;     // DRI, 0 when absent
    bool scan;                // the headers end in a scan (SOS), not EOI or the end
} s2d_jpeg_facts;

/** Reads the markers of a JPEG stream (complete or abbreviated) up to its first SOS.
 *  @return false when it is not a JPEG stream or has no frame header. */
bool s2d_jpeg_parse(const uint8_t *p, size_t n, s2d_jpeg_facts *f);

/** The MCU of a parsed frame: 8 pixels times the largest sampling factors. */
void s2d_jpeg_mcu_size(const s2d_jpeg_facts *f, int *mcu_w, int *mcu_h);

/** How a stream's three components are to be read. tiff_says_rgb settles the one case the
 *  bitstream leaves open (no APP0/APP14, ids not 'R','G','B', no chroma subsampling). */
bool s2d_jpeg_is_rgb(const s2d_jpeg_facts *f, bool tiff_says_rgb);

/** A complete stream from a TIFF tile and the JPEGTables tag (either may be abbreviated):
 *  SOI, [Adobe APP14 transform 0 when add_rgb_marker], the tables' segments, the tile after
 *  its SOI. tables may be NULL. */
bool s2d_jpeg_splice(const uint8_t *tables, size_t tables_len, const uint8_t *tile,
                     size_t tile_len, bool add_rgb_marker, s2d_buf *out);

/** One complete stream from the JPEG strips of a TIFF image (each abbreviated or complete,
 *  sharing tables), without decoding: the strips' scans are joined with restart markers,
 *  one restart interval per strip. The image is width x height in strips of
 *  rows_per_strip rows. Every strip must have the same headers but for its own height,
 *  one interleaved baseline 8-bit scan of 3 components, no restart interval of its own
 *  (nor restart markers), and all but the last a whole number of MCU rows. *rgb tells how
 *  the components are to be read (s2d_jpeg_is_rgb); when they are R, G, B an Adobe APP14
 *  marker says so, as s2d_jpeg_splice does.
 *  @return false when the strips cannot be joined so (decode them instead). */
bool s2d_jpeg_join_strips(const uint8_t *tables, size_t tables_len, const s2d_buf *strips,
                          size_t nstrips, int width, int height, int64_t rows_per_strip,
                          bool tiff_says_rgb, bool *rgb, s2d_buf *out);

/** Structure check of a complete stream: SOI, a baseline 8-bit 3-component frame header of
 *  the given size, a scan, and EOI at the end. */
bool s2d_jpeg_complete(const uint8_t *p, size_t n, int width, int height);

/** The structure check of a JPEG frame copied unchanged, without decoding it: SOI, marker
 *  segments whose lengths stay inside the stream, one frame header (SOFn) of width x height,
 *  each scan's SOS well formed for that frame, entropy-coded data holding no marker but
 *  stuffed bytes and restart markers, and EOI as the last two bytes.
 *  @return NULL when it holds, else what is wrong (a static string). */
const char *s2d_jpeg_frame_flaw(const uint8_t *p, size_t n, int width, int height);

/** Removes from a JPEG frame the segments before its first scan that can carry text:
 *  comments (COM) and application segments (APPn), but for the JFIF (APP0) and Adobe
 *  (APP14) ones that say how to read the colours. Pixels are unchanged. A segment whose
 *  length runs past the end stops the walk (what follows stays as it is).
 *  @return the frame's new length (its bytes moved down in place). */
size_t s2d_jpeg_strip_text(uint8_t *p, size_t n);

/** The same for a JPEG 2000 codestream that passed s2d_j2k_frame_flaw: its main header's
 *  comments (COM) are removed. A comment inside a tile-part header stays (removing it
 *  would change lengths that TLM segments may record): *comment_left says so.
 *  @return the codestream's new length. */
size_t s2d_j2k_strip_text(uint8_t *p, size_t n, bool *comment_left);

typedef struct s2d_j2k_facts {
    int width, height, ncomp;
    int precision;                // bits of component 0
    bool subsampled;              // any component with XRsiz/YRsiz != 1
    bool mct;                     // multiple component transform (COD)
    bool reversible;              // 5/3 wavelet; false: 9/7
} s2d_j2k_facts;

/** Reads SIZ and COD of a raw codestream (SOC first). @return false if it is not one. */
bool s2d_j2k_parse(const uint8_t *p, size_t n, s2d_j2k_facts *f);

/** The same for a raw JPEG 2000 codestream: SOC, SIZ of width x height, main header segments
 *  inside the stream, then tile-parts each starting with SOT, holding SOD and ending where
 *  its Psot says, and EOC as the last two bytes. @return NULL or a static string. */
const char *s2d_j2k_frame_flaw(const uint8_t *p, size_t n, int width, int height);

/** The Photometric Interpretation that describes a codestream, or NULL when no WSM value
 *  fits (YCbCr samples without MCT, subsampling). Without MCT the codestream cannot say
 *  what its components are: samples_are_rgb (from the container) tells. A static string,
 *  never freed. */
const char *s2d_j2k_photometric(const s2d_j2k_facts *f, bool samples_are_rgb);

#endif
