// SPDX-License-Identifier: Apache-2.0
/* ImageJ's TIFFs: the description ImageJ writes in the first IFD ("ImageJ=1.53t\nimages=6\n
 * channels=2\nslices=3\nhyperstack=true\nunit=micron\nspacing=0.5\nmin=0\nmax=4095\n"), whose
 * planes lie channel fastest, then slice (z), then frame (t); and the channel LUTs of its
 * IJMetadata tags. Parsed from strings and bytes: fmt_plain_tiff's planes use them. */
#ifndef S2D_IMAGEJ_H
#define S2D_IMAGEJ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define S2D_TAG_IJ_META_COUNTS 50838   // IJMetadataByteCounts: LONGs
#define S2D_TAG_IJ_META 50839          // IJMetadata: the bytes

typedef struct s2d_imagej {
    int images, channels, slices, frames;   // 0 when not given (one is meant)
    bool hyperstack;                        // hyperstack=true
    char unit[32];                          // the unit of lengths as given; "" when none
    double spacing;                         // between slices, in unit; 0 when not given
    bool has_range;                         // min= and max=, max above min
    double min, max;
} s2d_imagej;

/** Parses an ImageJ description (one that starts "ImageJ=") into ij (zeroed first).
 *  @return false when desc (may be NULL) is not one. */
bool s2d_imagej_parse(const char *desc, s2d_imagej *ij);

/** Micrometres per ImageJ unit: "micron", "um", "µm" (also written "\u00B5m"), "nm", "mm",
 *  "cm", "m", "inch"...; 0 for "pixel" and units not known. */
double s2d_imagej_unit_um(const char *unit);

/**
 * The colours of the channel LUTs in IJMetadata: counts (tag 50838, ncounts values) gives
 * the sizes of the blocks of data (tag 50839, len bytes): a header ("IJIJ", or "JIJI" in
 * little-endian files, then (type, count) pairs), then the blocks of each type in turn.
 * Each "luts" block is 768 bytes, 256 reds, greens, blues; a channel's colour is its entry
 * 255. @return how many colours were put in colours (at most max); 0 when there are no
 * LUTs or the blocks do not add up.
 */
int s2d_imagej_lut_colours(const uint32_t *counts, size_t ncounts, const uint8_t *data,
                           size_t len, uint8_t (*colours)[3], int max);

#endif
