/* The pyramid plan: the frame size, and for each level written whether the source's frames
 * are copied, a source level is read and re-encoded, or the level is generated from the one
 * above; and which level the thumbnail is made from. */
#ifndef S2D_CONVERT_PLAN_H
#define S2D_CONVERT_PLAN_H

#include "core/diag.h"
#include "pipeline/pyramid.h"
#include "source/source.h"
#include "slide2dcm/slide2dcm.h"

/** Fills plan->tile_size, levels (size, mode, source level, tile grid) and nlevels.
 *  Warnings name source_name and go to diag.
 *  @return the number of levels, or 0 with err set. */
int s2d_plan_levels(const s2d_source *r, const s2d_convert_options *o, const char *source_name,
                    s2d_diag *diag, s2d_pyramid_plan *plan, s2d_error *err);

/** Sets plan->thumb_level and thumb_factor for a thumbnail made from the pyramid;
 *  thumb_level -1 when no level is small enough. */
void s2d_plan_thumbnail(s2d_pyramid_plan *plan);

#endif
