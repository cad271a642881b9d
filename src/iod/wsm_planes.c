// SPDX-License-Identifier: Apache-2.0
/* The plan of a microscopy file's planes; see wsm_planes.h. */
#include "iod/wsm_planes.h"

#include <stdio.h>

int s2d_planes_series_count(const s2d_planes_desc *d)
{
    int times = d->only_t ? 1 : d->nt;
    return d->z_series ? times * d->nz : times;
}

void s2d_planes_series_of(const s2d_planes_desc *d, int s, int *t, int *z)
{
    int per_t = d->z_series ? d->nz : 1;
    *t = d->only_t ? d->only_t - 1 : s / per_t;
    *z = d->z_series ? s % per_t : -1;
}

// A single-frame RGB image of the file (label, overview, thumbnail), in the first series,
// encoded like the planes (lossless unless the user chose JPEG).
static bool add_rgb(s2d_plan *plan, const s2d_codec *codec, const char *name, s2d_role role,
                    s2d_image_role image, uint32_t w, uint32_t h, s2d_error *err)
{
    if (w == 0 || h == 0) {
        return true;
    }
    s2d_plan_instance in = {
        .iod = &s2d_iod_wsm, .role = role, .image = image, .level = -1, .width = w,
        .height = h, .frame_width = w, .frame_height = h, .cols = 1, .rows = 1, .nframes = 1,
        .codec = codec,
        .pixels = {.width = w, .height = h, .samples = 3, .bits_allocated = 8,
                   .bits_stored = 8, .colour = S2D_COLOUR_RGB}};
    snprintf(in.name, sizeof in.name, "%s", name);
    return s2d_plan_add(plan, &in, err);
}

bool s2d_wsm_plan_planes(const s2d_planes_desc *d, s2d_plan *plan, s2d_error *err)
{
    if (d->only_t < 0 || d->only_t > d->nt) {
        return s2d_error_set(err, S2D_ERR_USAGE, "--t %d: the file has %d time point%s",
                             d->only_t, d->nt, d->nt == 1 ? "" : "s");
    }
    int nseries = s2d_planes_series_count(d);
    uint32_t tile = (uint32_t)d->tile;
    for (int s = 0; s < nseries; s++) {
        int t, z;
        s2d_planes_series_of(d, s, &t, &z);
        char prefix[32] = "";
        if (d->nt > 1 && z >= 0) {
            snprintf(prefix, sizeof prefix, "t%d-z%d-", t + 1, z + 1);
        } else if (d->nt > 1) {
            snprintf(prefix, sizeof prefix, "t%d-", t + 1);
        } else if (z >= 0) {
            snprintf(prefix, sizeof prefix, "z%d-", z + 1);
        }
        uint32_t planes = z >= 0 ? 1 : (uint32_t)d->nz;
        for (int c = 0; c < d->nc; c++) {
            for (int l = 0; l < d->nlevels; l++) {
                uint32_t cols = (d->level_width[l] + tile - 1) / tile;
                uint32_t rows = (d->level_height[l] + tile - 1) / tile;
                s2d_plan_instance in = {
                    .iod = &s2d_iod_wsm, .role = S2D_ROLE_LEVEL, .image = S2D_IMAGE_PLANE,
                    .level = l, .channel = c, .series = s, .focal_planes = planes,
                    .width = d->level_width[l], .height = d->level_height[l],
                    .frame_width = tile, .frame_height = tile, .cols = cols, .rows = rows,
                    .nframes = cols * rows * planes, .codec = d->codec,
                    .pixels = {.width = tile, .height = tile, .samples = 1,
                               .bits_allocated = (uint16_t)d->bits,
                               .bits_stored = (uint16_t)d->bits,
                               .colour = S2D_COLOUR_MONO_MIN_IS_BLACK}};
                snprintf(in.name, sizeof in.name, "%sc%d-level-%d.dcm", prefix, c + 1, l);
                if (!s2d_plan_add(plan, &in, err)) {
                    return false;
                }
            }
        }
    }
    const s2d_codec *c = d->codec;
    return add_rgb(plan, c, "label.dcm", S2D_ROLE_LABEL, S2D_IMAGE_LABEL, d->label_w,
                   d->label_h, err) &&
           add_rgb(plan, c, "overview.dcm", S2D_ROLE_OVERVIEW, S2D_IMAGE_OVERVIEW, d->overview_w,
                   d->overview_h, err) &&
           add_rgb(plan, c, "thumbnail.dcm", S2D_ROLE_THUMBNAIL, S2D_IMAGE_THUMBNAIL,
                   d->thumbnail_w, d->thumbnail_h, err);
}
