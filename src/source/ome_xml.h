// SPDX-License-Identifier: Apache-2.0
/* OME-XML (the ImageDescription of an OME-TIFF's first IFD): what the first Image's Pixels
 * element says about the planes, the channels and the pixel size, the Image's microscope,
 * and which IFD holds which plane. fmt_ome.c (RGB slides) and fmt_plain_tiff.c (grey planes) both read it
 * here. No libxml: the elements we need are found by name, attributes and the five named
 * entities decoded. */
#ifndef S2D_OME_XML_H
#define S2D_OME_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slide2dcm/error.h"
#include "source/tiffdir.h"

typedef struct s2d_ome_channel {
    char name[256];                   // "" when not given; cut to 255 bytes
    int samples;                      // SamplesPerPixel; 1 when not given
    bool has_colour;
    uint8_t colour[3];                // RGB of Color (a signed 32-bit RGBA integer)
    double excitation_nm, emission_nm;   // 0 when not given
} s2d_ome_channel;

/** A TiffData element: plane_count planes from (first_c, first_z, first_t) onwards in
 *  DimensionOrder are IFDs ifd, ifd + 1, ... plane_count -1: "all planes". */
typedef struct s2d_ome_tiffdata {
    int ifd, first_c, first_z, first_t, plane_count;
    bool other_file;          // its UUID is not the document's: the planes lie elsewhere
} s2d_ome_tiffdata;

typedef struct s2d_ome_image {
    char dimension_order[8];          // as given, e.g. "XYZCT"
    int size_x, size_y, size_c, size_z, size_time;   // SizeT is size_time
    char type[16];                    // "uint8", "int16", "float", ...
    int significant_bits;             // 0 when not given
    int plane_samples;                // samples of a plane: the first Channel's
                                      // SamplesPerPixel, 1 when not given
    double physical_x_um, physical_y_um, physical_z_um;   // 0 when not given or unknown units
    double objective_power;           // the Image's objective NominalMagnification; 0 unknown
    // The Microscope of the Image's Instrument (Manufacturer, Model, SerialNumber); no
    // software: the TIFF's Software of an OME-TIFF is the program that wrote the file.
    s2d_source_device microscope;
    s2d_ome_channel *channels;        // owned (s2d_ome_image_free)
    size_t nchannels;
    s2d_ome_tiffdata *tiffdata;       // owned; none: IFDs 0, 1, ... in DimensionOrder
    size_t ntiffdata;
} s2d_ome_image;

/** Parses the first Image's Pixels element of xml into img (zeroed first).
 *  @return false with err set: no Pixels element (S2D_ERR_INPUT), no memory. img is the
 *  caller's to free with s2d_ome_image_free() either way. */
bool s2d_ome_parse(const char *xml, s2d_ome_image *img, s2d_error *err);
void s2d_ome_image_free(s2d_ome_image *img);

/** Channels per plane group: SizeC / plane_samples (1 for an RGB image of SizeC 3), at
 *  least 1. */
int s2d_ome_effective_channels(const s2d_ome_image *img);

/**
 * The IFD of every plane (c, z, t), at ifd_of_plane[c + nc*(z + nz*t)], nc the effective
 * channels: from the TiffData elements, each continuing in DimensionOrder, or IFDs 0, 1,
 * ... in DimensionOrder when there are none. nifds: the IFDs of the file's main chain.
 * @return false with err set (S2D_ERR_INPUT, one line naming what disagrees): a
 * DimensionOrder not known, sizes not positive, a TiffData past the planes or past the
 * last IFD or in another file, a plane no TiffData maps, fewer IFDs than planes.
 */
bool s2d_ome_plane_ifds(const s2d_ome_image *img, int nifds, int *ifd_of_plane, s2d_error *err);

/** The sample format of Type: 0 unsigned, 1 signed, 2 float; and *bits its size.
 *  @return false for a Type not known here (complex, bit). */
bool s2d_ome_type_samples(const char *type, int *format, int *bits);

/** Whether td is an OME-TIFF of microscopy planes: OME-XML in IFD 0's description, whose
 *  image is grey (one sample) or not of 8-bit unsigned samples. fmt_ome and fmt_tiled_tiff
 *  leave those to fmt_plain_tiff. */
bool s2d_ome_planes_file(const s2d_tiffdir *td);

/** A length in micrometres: value (text) in unit (NULL or "": default_unit). 0 when not a
 *  positive number or the unit is not known: "µm", "um", "micron", "nm", "mm", "cm", "m",
 *  "pm", "Å", "in". */
double s2d_length_um(const char *value, const char *unit, const char *default_unit);

#endif
