// SPDX-License-Identifier: Apache-2.0
/* The microscopy descriptions read from TIFF text tags (src/source/ome_xml.c, imagej.c,
 * qptiff.c): the input's first byte picks the parser, the rest is the text. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "source/imagej.h"
#include "source/ome_xml.h"
#include "source/qptiff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    char *text = malloc(size);   // the rest, NUL-ended, as a TIFF ASCII tag reads
    if (!text) {
        return 0;
    }
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    switch (data[0] % 3) {
    case 0: {
        s2d_ome_image img;
        s2d_error err = {0};
        if (s2d_ome_parse(text, &img, &err)) {
            // Room for the planes as planes.c gives it: as many as the file's IFDs at most.
            double planes = (double)s2d_ome_effective_channels(&img) * img.size_z *
                            img.size_time;
            for (int nifds = 1; nifds <= 64; nifds *= 4) {
                size_t room = planes >= 1 && planes <= nifds ? (size_t)planes : 1;
                int *ifd_of_plane = malloc(room * sizeof *ifd_of_plane);
                if (ifd_of_plane) {
                    (void)s2d_ome_plane_ifds(&img, nifds, ifd_of_plane, &err);
                }
                free(ifd_of_plane);
            }
        }
        s2d_ome_image_free(&img);   // the caller's either way
        break;
    }
    case 1: {
        s2d_imagej ij;
        (void)s2d_imagej_parse(text, &ij);
        break;
    }
    default: {
        s2d_qpi_ifd q;
        (void)s2d_qptiff_parse(text, &q);
        break;
    }
    }
    free(text);
    return 0;
}
