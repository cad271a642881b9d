/* The pyramid plan (see plan.h). */
#include "convert/plan.h"

#include "core/diag.h"

#define THUMBNAIL_MAX 1024   // largest side of a thumbnail made from the pyramid
#define DEFAULT_TILE 256     // frame size when the source is not tiled JPEG / JPEG 2000

// The frame size: --tile-size, else the source's own JPEG / JPEG 2000 tile size (240 for
// most Aperio files), else DEFAULT_TILE. Re-encoding keeps the source's size too: then
// each frame is one decoded source tile, where another size would decode up to four.
// Frames are always a multiple of 16, as TIFF requires of tiles: the encoder's planar
// path (codec/jpeg_enc.h) gives tjCompress2's bytes only at whole MCUs, and generated
// levels' quarters must split into whole chroma samples. A file that breaks the rule
// (libtiff only warns) is decoded into DEFAULT_TILE frames.
static int plan_tile_size(const s2d_source *r, const s2d_convert_options *o)
{
    const s2d_source_image *l0 = s2d_source_level(r, 0);
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
static bool gives_frames(const s2d_source *r, int source_level, int t)
{
    const s2d_native *li = &s2d_source_level(r, source_level)->native;
    if (li->coding == S2D_CODING_NONE) {
        return false;
    }
    if (li->tile_w == 0) {
        return li->mcu_w > 0 && li->mcu_h > 0 && t % li->mcu_w == 0 && t % li->mcu_h == 0;
    }
    return li->tile_w == t && li->tile_h == t;
}

// A source level is copied when its frames can be taken as they are at this frame size.
static bool copyable(const s2d_source *r, const s2d_convert_options *o, int source_level, int t)
{
    return !o->reencode && gives_frames(r, source_level, t);
}

static s2d_pyramid_level source_level(const s2d_source *r, const s2d_convert_options *o, int s,
                                       int t)
{
    const s2d_source_image *li = s2d_source_level(r, s);
    return (s2d_pyramid_level){.width = li->pix.width, .height = li->pix.height, .source_level = s,
                               .mode = copyable(r, o, s, t) ? S2D_LEVEL_COPY : S2D_LEVEL_READ,
                               .jpeg_frames = li->native.coding == S2D_CODING_JPEG &&
                                              gives_frames(r, s, t)};
}

// Level 0 is the source's. Each next level halves the one before: a copyable source level
// of that scale (within 2%) is taken as it is, with its own size; otherwise the level is
// generated. With --keep-source-levels the source's levels are written as they are;
// --levels keeps only the largest ones.
int s2d_plan_levels(const s2d_source *r, const s2d_convert_options *o, const char *source_name,
                    s2d_diag *diag, s2d_pyramid_plan *plan, s2d_error *err)
{
    int t = plan_tile_size(r, o);
    plan->tile_size = t;
    const s2d_source_image *base = s2d_source_level(r, 0);
    int n = 0;
    if (o->keep_source_levels) {
        if (s2d_source_level_count(r) > S2D_MAX_LEVELS) {
            s2d_diag_warn(diag, "%s: only the first %d of %d levels are written", source_name,
                          S2D_MAX_LEVELS, s2d_source_level_count(r));
        }
        for (int i = 0; i < s2d_source_level_count(r) && n < S2D_MAX_LEVELS; i++) {
            plan->levels[n++] = source_level(r, o, i, t);
        }
    } else {
        plan->levels[n++] = source_level(r, o, 0, t);
        int64_t w = base->pix.width, h = base->pix.height;
        int next_source = 1;
        while ((w > t || h > t) && n < S2D_MAX_LEVELS) {
            int64_t hw = (w + 1) / 2, hh = (h + 1) / 2;
            double want = (double)base->pix.width / (double)hw;
            int use = -1;
            for (int s = next_source; s < s2d_source_level_count(r); s++) {
                const s2d_source_image *li = s2d_source_level(r, s);
                double ds = (double)base->pix.width / (double)li->pix.width;
                if (ds > want * 1.02) {
                    break;
                }
                if (ds >= want / 1.02 && copyable(r, o, s, t)) {
                    use = s;
                    break;
                }
            }
            if (use >= 0) {
                plan->levels[n] = source_level(r, o, use, t);
                next_source = use + 1;
            } else {
                plan->levels[n] = (s2d_pyramid_level){.width = hw, .height = hh,
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
        s2d_pyramid_level *lv = &plan->levels[i];
        int64_t cols = (lv->width + t - 1) / t, rows = (lv->height + t - 1) / t;
        // Total Pixel Matrix is UL and Number of Frames IS (at most 2^31 - 1).
        if (lv->width > UINT32_MAX || lv->height > UINT32_MAX || cols * rows > INT32_MAX) {
            s2d_error_set(err, S2D_ERR_INPUT,
                          "level %d (%lldx%lld) has too many pixels or frames for DICOM; "
                          "try a larger --tile-size", i, (long long)lv->width,
                          (long long)lv->height);
            return 0;
        }
        lv->cols = (uint32_t)cols;
        lv->rows = (uint32_t)rows;
    }
    plan->nlevels = n;
    return n;
}

// The thumbnail made from the pyramid: the first level that fits THUMBNAIL_MAX, or the
// smallest level reduced by a power of two until it fits.
void s2d_plan_thumbnail(s2d_pyramid_plan *plan)
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

