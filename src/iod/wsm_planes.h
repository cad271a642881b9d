// SPDX-License-Identifier: Apache-2.0
/* A microscopy file's grey planes as VL Whole Slide Microscopy instances
 * (docs/microscopy.md): one TILED_FULL pyramid per channel, all channels of a time point in
 * one series, z planes as the focal planes of each instance (or, with --z series, a series
 * per plane). The plan is a plain value like every IOD's (iod/plan.h); the level sizes come
 * from the caller, which makes the pyramid (pipeline/grey_pyramid.h). */
#ifndef S2D_IOD_WSM_PLANES_H
#define S2D_IOD_WSM_PLANES_H

#include <stdbool.h>
#include <stdint.h>

#include "iod/plan.h"

typedef struct s2d_planes_desc {
    int nc, nz, nt;                   // channels, z planes, time points of the file
    int bits;                         // 8 or 16: the written samples
    int tile;                         // frame width and height
    int nlevels;                      // the pyramid of every plane, level 0 first
    const uint32_t *level_width, *level_height;
    bool z_series;                    // --z series: a series per z plane (focal planes 1)
    int only_t;                       // --t N: only time point N (1-based); 0: every one
    const s2d_codec *codec;           // the frames' (a static table entry)
    // The file's RGB images (QPTIFF): each one frame, encoded with `codec` as well; 0 x 0
    // when absent.
    uint32_t label_w, label_h, overview_w, overview_h, thumbnail_w, thumbnail_h;
} s2d_planes_desc;

/** The series the plan writes (time points, or time points x z planes). */
int s2d_planes_series_count(const s2d_planes_desc *d);

/** The time point and z plane of series s (z -1 with --z stack: all of them). */
void s2d_planes_series_of(const s2d_planes_desc *d, int s, int *t, int *z);

/** Appends to plan, series by series, channel by channel, the levels of every channel
 *  (c<C>-level-<L>.dcm, with t<T>- and z<Z>- in front when there are several series), then
 *  label.dcm, overview.dcm and thumbnail.dcm in the first series.
 *  @return false with err set (--t past the time points, out of memory). */
bool s2d_wsm_plan_planes(const s2d_planes_desc *d, s2d_plan *plan, s2d_error *err);

#endif
