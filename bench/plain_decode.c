// SPDX-License-Identifier: Apache-2.0
/* s2d-plain-decode: the decoding half of the plain-TIFF benchmark's reference (issue 16:
 * "the libtiff decode of the same pages plus cp + fsync of an output-sized file"). It reads
 * every page of a plain TIFF (the main directory chain, reduced-resolution copies skipped)
 * the way a minimal converter would: one strip buffer, every strip decoded into it with
 * TIFFReadEncodedStrip, nothing else. libtiff only, so that nothing of slide2dcm is in the
 * reference. bench/plain.py times the whole process from outside, as it times the
 * converter, and adds the time of `cp` + fsync of a file the size of the converter's output.
 *
 * Prints one JSON object on stdout: pages, strips, decoded bytes, seconds of the loop.
 *
 * usage: s2d-plain-decode TIFF */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <tiffio.h>
#include <time.h>

#define PROG "s2d-plain-decode"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: " PROG " TIFF\n");
        return 2;
    }
    double t0 = now_s();
    TIFF *tif = TIFFOpen(argv[1], "r");
    if (!tif) {
        fprintf(stderr, PROG ": %s: cannot open as TIFF\n", argv[1]);
        return 1;
    }
    uint8_t *strip = NULL;
    tmsize_t cap = 0;
    uint64_t pages = 0, strips = 0, bytes = 0;
    int status = 0;
    do {
        uint32_t subfile = 0;
        TIFFGetField(tif, TIFFTAG_SUBFILETYPE, &subfile);
        if ((subfile & FILETYPE_REDUCEDIMAGE) || TIFFIsTiled(tif)) {
            continue;
        }
        tmsize_t size = TIFFStripSize(tif);
        if (size > cap) {
            free(strip);
            // Owned here, freed at the end.
            if (!(strip = malloc((size_t)size))) {
                fprintf(stderr, PROG ": %s: out of memory\n", argv[1]);
                status = 1;
                break;
            }
            cap = size;
        }
        uint32_t n = TIFFNumberOfStrips(tif);
        for (uint32_t s = 0; s < n; s++) {
            tmsize_t got = TIFFReadEncodedStrip(tif, s, strip, cap);
            if (got < 0) {
                fprintf(stderr, PROG ": %s: page %llu, strip %u does not decode\n", argv[1],
                        (unsigned long long)pages, s);
                status = 1;
                break;
            }
            bytes += (uint64_t)got;
        }
        strips += n;
        pages++;
    } while (status == 0 && TIFFReadDirectory(tif));
    TIFFClose(tif);
    free(strip);
    if (status == 0) {
        printf("{\"tool\": \"libtiff decode\", \"pages\": %llu, \"strips\": %llu, "
               "\"decoded_bytes\": %llu, \"seconds\": %.4f}\n",
               (unsigned long long)pages, (unsigned long long)strips,
               (unsigned long long)bytes, now_s() - t0);
    }
    return status;
}
