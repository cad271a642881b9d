// SPDX-License-Identifier: Apache-2.0
/* The pyramid plan (see plan.h). */
#include "iod/wsm_levels.h"

#include <string.h>

#define THUMBNAIL_MAX 1024   // largest side of a thumbnail made from the pyramid
#define DEFAULT_TILE 256     // frame size when the source is not tiled JPEG / JPEG 2000

// The frame size: --tile-size, else the source's own JPEG / JPEG 2000 tile size (240 for
// most Aperio files), else DEFAULT_TILE. Re-encoding keeps the source's size too: then
// each frame is one decoded source tile, where another size would decode up to four.
// Frames are always a multiple of 16, as TIFF requires of tiles: the encoder's planar
// path (codec/jpeg_enc.h) gives tjCompress2's bytes only at whole MCUs, and generated
// levels' quarters must split into whole chroma samples. A file that breaks the rule
// (libtiff only warns) is decoded into DEFAULT_TILE frames.
static int plan_tile_size(const s2d_source_image *l0, const s2d_convert_options *o)
{
    if (o->tile_size > 0) {
        return o->tile_size;
    }
    const s2d_native *n0 = &l0->native;
    if (n0->coding != S2D_CODING_NONE && n0->tile_w > 0 && n0->tile_w == n0->tile_h &&
        n0->tile_w % 16 == 0) {
        return n0->tile_w;
    }
    return DEFAULT_TILE;
}

// Whether the source gives each t x t frame of a level as it is: its tiles are that size,
// or it is cut from strips on MCU boundaries (NDPI).
static bool gives_frames(const s2d_source_image *li, int t)
{
    const s2d_native *n = &li->native;
    if (n->coding == S2D_CODING_NONE) {
        return false;
    }
    if (n->tile_w == 0) {
        return n->mcu_w > 0 && n->mcu_h > 0 && t % n->mcu_w == 0 && t % n->mcu_h == 0;
    }
    return n->tile_w == t && n->tile_h == t;
}

// A source level is copied when its frames can be taken as they are at this frame size.
static bool copyable(const s2d_source_image *li, const s2d_convert_options *o, int t)
{
    return !o->reencode && gives_frames(li, t);
}

static s2d_planned_level source_level(const s2d_source_image *source,
                                      const s2d_convert_options *o, int s, int t)
{
    const s2d_source_image *li = &source[s];
    return (s2d_planned_level){.width = li->pix.width, .height = li->pix.height,
                               .source_level = s,
                               .mode = copyable(li, o, t) ? S2D_LEVEL_COPY : S2D_LEVEL_READ,
                               .jpeg_frames = li->native.coding == S2D_CODING_JPEG &&
                                              gives_frames(li, t)};
}

// Level 0 is the source's. Each next level halves the one before: a copyable source level
// of that scale (within 2%) is taken as it is, with its own size; otherwise the level is
// generated. With --keep-source-levels the source's levels are written as they are;
// --levels keeps only the largest ones.
static bool plan_levels(const s2d_source_image *source, int nsource,
                        const s2d_convert_options *o, s2d_level_plan *plan, s2d_error *err)
{
    int t = plan_tile_size(&source[0], o);
    plan->tile_size = t;
    const s2d_source_image *base = &source[0];
    int n = 0;
    if (o->keep_source_levels) {
        if (nsource > S2D_MAX_LEVELS) {
            plan->source_levels_left_out = nsource - S2D_MAX_LEVELS;
        }
        for (int i = 0; i < nsource && n < S2D_MAX_LEVELS; i++) {
            plan->levels[n++] = source_level(source, o, i, t);
        }
    } else {
        plan->levels[n++] = source_level(source, o, 0, t);
        int64_t w = base->pix.width, h = base->pix.height;
        int next_source = 1;
        while ((w > t || h > t) && n < S2D_MAX_LEVELS) {
            int64_t hw = (w + 1) / 2, hh = (h + 1) / 2;
            double want = (double)base->pix.width / (double)hw;
            int use = -1;
            for (int s = next_source; s < nsource; s++) {
                const s2d_source_image *li = &source[s];
                double ds = (double)base->pix.width / (double)li->pix.width;
                if (ds > want * 1.02) {
                    break;
                }
                if (ds >= want / 1.02 && copyable(li, o, t)) {
                    use = s;
                    break;
                }
            }
            if (use >= 0) {
                plan->levels[n] = source_level(source, o, use, t);
                next_source = use + 1;
            } else {
                plan->levels[n] = (s2d_planned_level){.width = hw, .height = hh,
                                                      .source_level = -1,
                                                      .mode = S2D_LEVEL_GENERATE};
            }
            w = plan->levels[n].width;
            h = plan->levels[n].height;
            n++;
        }
    }
    if (o->max_levels > 0 && n > o->max_levels) {
        n = o->max_levels;
    }
    for (int i = 0; i < n; i++) {
        s2d_planned_level *lv = &plan->levels[i];
        int64_t cols = (lv->width + t - 1) / t, rows = (lv->height + t - 1) / t;
        // Number of Frames is IS (at most 2^31 - 1). Total Pixel Matrix is UL, which the
        // source's 32-bit sizes always fit.
        if (cols * rows > INT32_MAX) {
            s2d_error_set(err, S2D_ERR_INPUT,
                          "level %d (%lldx%lld) has too many pixels or frames for DICOM; "
                          "try a larger --tile-size", i, (long long)lv->width,
                          (long long)lv->height);
            return false;
        }
        lv->cols = (uint32_t)cols;
        lv->rows = (uint32_t)rows;
    }
    plan->nlevels = n;
    return true;
}

// The thumbnail made from the pyramid: the first level that fits THUMBNAIL_MAX, or the
// smallest level reduced by a power of two until it fits.
static void plan_thumbnail(s2d_level_plan *plan)
{
    int l = plan->nlevels - 1;
    for (int i = 0; i < plan->nlevels; i++) {
        if (plan->levels[i].width <= THUMBNAIL_MAX && plan->levels[i].height <= THUMBNAIL_MAX) {
            l = i;
            break;
        }
    }
    int f = 1;
    while ((plan->levels[l].width + f - 1) / f > THUMBNAIL_MAX ||
           (plan->levels[l].height + f - 1) / f > THUMBNAIL_MAX) {
        f *= 2;
    }
    plan->thumb_level = l;
    plan->thumb_factor = f;
    // The per-pixel sums are 32-bit: f * f * 255 must fit.
    if (f > 4096) {
        plan->thumb_level = -1;
    }
}

bool s2d_level_plan_make(const s2d_source_image *source, int nsource,
                         const s2d_convert_options *o, s2d_level_plan *plan, s2d_error *err)
{
    memset(plan, 0, sizeof *plan);
    plan->thumb_level = -1;
    if (nsource < 1) {
        return s2d_error_set(err, S2D_ERR_INPUT, "the source has no levels");
    }
    if (!plan_levels(source, nsource, o, plan, err)) {
        return false;
    }
    plan_thumbnail(plan);
    return true;
}
