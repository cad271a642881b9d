// SPDX-License-Identifier: Apache-2.0
/* ImageJ descriptions and IJMetadata LUTs (imagej.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/imagej.h"
#include "source/ome_xml.h"

// The value after `key` at the start of a line of desc, or NULL.
static const char *line_value(const char *desc, const char *key)
{
    size_t n = strlen(key);
    for (const char *line = desc; line && *line;) {
        if (strncmp(line, key, n) == 0) {
            return line + n;
        }
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;   // no arithmetic on NULL
    }
    return NULL;
}

// The number after `key` at the start of a line, or false.
static bool line_number(const char *desc, const char *key, double *v)
{
    const char *at = line_value(desc, key);
    if (!at) {
        return false;
    }
    char *end;
    *v = strtod(at, &end);
    return end != at && isfinite(*v);
}

// A count (images=, channels= ...): a positive integer, else 0.
static int line_count(const char *desc, const char *key)
{
    double v;
    return line_number(desc, key, &v) && v >= 1 && v <= 1e9 && v == floor(v) ? (int)v : 0;
}

bool s2d_imagej_parse(const char *desc, s2d_imagej *ij)
{
    memset(ij, 0, sizeof *ij);
    if (!desc || strncmp(desc, "ImageJ=", 7) != 0) {
        return false;
    }
    ij->images = line_count(desc, "images=");
    ij->channels = line_count(desc, "channels=");
    ij->slices = line_count(desc, "slices=");
    ij->frames = line_count(desc, "frames=");
    const char *hyper = line_value(desc, "hyperstack=");
    ij->hyperstack = hyper && strncmp(hyper, "true", 4) == 0;
    const char *unit = line_value(desc, "unit=");
    if (unit) {
        size_t n = strcspn(unit, "\r\n");
        snprintf(ij->unit, sizeof ij->unit, "%.*s", (int)(n < sizeof ij->unit ? n : 0), unit);
    }
    double spacing;
    if (line_number(desc, "spacing=", &spacing) && spacing > 0) {
        ij->spacing = spacing;
    }
    ij->has_range = line_number(desc, "min=", &ij->min) && line_number(desc, "max=", &ij->max) &&
                    ij->max > ij->min;
    return true;
}

double s2d_imagej_unit_um(const char *unit)
{
    // ImageJ escapes the micro sign of its descriptions.
    if (strcmp(unit, "\\u00B5m") == 0 || strcmp(unit, "\\u00b5m") == 0) {
        return 1;
    }
    return s2d_length_um("1", unit, "");
}

// A 4-byte integer of the header in its byte order.
static uint32_t header_int(const uint8_t *p, bool big)
{
    return big ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
               : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

#define IJ_TYPE_LUTS 0x6c757473u   // "luts"
#define IJ_LUT_BYTES 768

int s2d_imagej_lut_colours(const uint32_t *counts, size_t ncounts, const uint8_t *data,
                           size_t len, uint8_t (*colours)[3], int max)
{
    if (!counts || !data || ncounts < 1 || counts[0] < 4 || counts[0] > len) {
        return 0;
    }
    bool big = memcmp(data, "IJIJ", 4) == 0;
    if (!big && memcmp(data, "JIJI", 4) != 0) {
        return 0;
    }
    size_t at = counts[0], block = 1;   // the first block after the header
    int found = 0;
    for (size_t h = 4; h + 8 <= counts[0]; h += 8) {
        uint32_t type = header_int(data + h, big), n = header_int(data + h + 4, big);
        for (uint32_t k = 0; k < n; k++, block++) {
            if (block >= ncounts || counts[block] > len - at) {
                return 0;   // the blocks do not add up: trust none of them
            }
            if (type == IJ_TYPE_LUTS && counts[block] == IJ_LUT_BYTES && found < max) {
                const uint8_t *lut = data + at;
                colours[found][0] = lut[255];
                colours[found][1] = lut[256 + 255];
                colours[found][2] = lut[512 + 255];
                found++;
            }
            at += counts[block];
        }
    }
    return found;
}
