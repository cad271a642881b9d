// SPDX-License-Identifier: Apache-2.0
/* QPTIFF's per-IFD XML (qptiff.h). Only the root's children are read: a depth count over
 * the tags finds them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/qptiff.h"

#define QPI_ROOT "<PerkinElmer-QPI-ImageDescription"

// The text of the root's child element `name` (its first), entities left as they are,
// into out (cut to n - 1 bytes); false when the root has no such child.
static bool child_text(const char *root, const char *name, char *out, size_t n)
{
    int depth = 0;   // 1: inside the root
    size_t len = strlen(name);
    for (const char *p = strchr(root, '<'); p; p = strchr(p + 1, '<')) {
        const char *gt = strchr(p, '>');
        if (!gt) {
            return false;
        }
        if (p[1] == '?' || p[1] == '!') {
            continue;   // the declaration, comments
        }
        if (p[1] == '/') {
            if (--depth <= 0) {
                return false;   // the root ended
            }
            continue;
        }
        bool closed = gt[-1] == '/';
        if (depth == 1 && strncmp(p + 1, name, len) == 0 &&
            (p[1 + len] == '>' || p[1 + len] == ' ' || p[1 + len] == '/')) {
            const char *end = closed ? gt + 1 : strchr(gt, '<');
            size_t k = closed || !end ? 0 : (size_t)(end - gt - 1);
            snprintf(out, n, "%.*s", (int)(k < n ? k : n - 1), gt + 1);
            return true;
        }
        depth += !closed;
    }
    return false;
}

static s2d_qpi_type type_of(const char *t)
{
    static const struct { const char *name; s2d_qpi_type type; } types[] = {
        {"FullResolution", S2D_QPI_FULL}, {"ReducedResolution", S2D_QPI_REDUCED},
        {"Thumbnail", S2D_QPI_THUMBNAIL}, {"Overview", S2D_QPI_OVERVIEW},
        {"Macro", S2D_QPI_OVERVIEW},      {"Label", S2D_QPI_LABEL}};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        if (strcmp(t, types[i].name) == 0) {
            return types[i].type;
        }
    }
    return S2D_QPI_OTHER;
}

bool s2d_qptiff_parse(const char *desc, s2d_qpi_ifd *out)
{
    memset(out, 0, sizeof *out);
    const char *root = desc ? strstr(desc, QPI_ROOT) : NULL;
    if (!root) {
        return false;
    }
    char text[64];
    if (child_text(root, "ImageType", text, sizeof text)) {
        out->type = type_of(text);
    }
    child_text(root, "Name", out->name, sizeof out->name);
    unsigned r, g, b;
    char tail;
    if (child_text(root, "Color", text, sizeof text) &&
        sscanf(text, "%u ,%u ,%u %c", &r, &g, &b, &tail) == 3 && r < 256 && g < 256 && b < 256) {
        out->colour[0] = (uint8_t)r;
        out->colour[1] = (uint8_t)g;
        out->colour[2] = (uint8_t)b;
        out->has_colour = true;
    }
    char *end;
    double x;
    if (child_text(root, "Objective", text, sizeof text) &&
        ((x = strtod(text, &end)), end != text) && (*end == 'x' || *end == 'X') && x > 0 &&
        isfinite(x)) {
        out->objective = x;
    }
    // The scan's resolution lies deep in ScanProfile (ScanResolution, MsiResolution): the
    // first one is the scan's.
    const char *profile = strstr(root, "<ScanProfile");
    const char *size = profile ? strstr(profile, "<PixelSizeMicrons>") : NULL;
    if (size) {
        const char *value = size + strlen("<PixelSizeMicrons>");
        x = strtod(value, &end);
        out->pixel_um = end != value && isfinite(x) && x > 0 ? x : 0;
    }
    return true;
}
