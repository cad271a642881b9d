// SPDX-License-Identifier: Apache-2.0
/* QPTIFF (Akoya/PerkinElmer Vectra, Polaris): every IFD's ImageDescription is an XML
 * document <PerkinElmer-QPI-ImageDescription> saying what the IFD is (ImageType) and, for
 * a channel, its Name and Color ("R,G,B"). The declaration says utf-16, the bytes are
 * ASCII: it is read as bytes. Parsed from strings: fmt_plain_tiff's planes use it. */
#ifndef S2D_QPTIFF_H
#define S2D_QPTIFF_H

#include <stdbool.h>
#include <stdint.h>

typedef enum s2d_qpi_type {
    S2D_QPI_OTHER,            // an ImageType not known here, or none
    S2D_QPI_FULL,             // FullResolution: a channel
    S2D_QPI_REDUCED,          // ReducedResolution: a pyramid level of a channel
    S2D_QPI_THUMBNAIL,
    S2D_QPI_OVERVIEW,
    S2D_QPI_LABEL,
} s2d_qpi_type;

typedef struct s2d_qpi_ifd {
    s2d_qpi_type type;
    char name[256];           // the channel's Name; "" when none
    bool has_colour;
    uint8_t colour[3];        // Color "R,G,B"
    double pixel_um;          // ScanProfile's PixelSizeMicrons; 0 when not given
    double objective;         // Objective "10x": 10; 0 when not a magnification
} s2d_qpi_ifd;

/** Whether desc (may be NULL) is a PerkinElmer-QPI description; fills out (zeroed first)
 *  from the root's own elements (a Name inside Responsivity or ScanProfile is not the
 *  channel's). */
bool s2d_qptiff_parse(const char *desc, s2d_qpi_ifd *out);

#endif
