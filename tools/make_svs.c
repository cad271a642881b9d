// SPDX-License-Identifier: Apache-2.0
// make_svs: writes a synthetic Aperio-style SVS (tiled JPEG pyramid plus
// thumbnail, label and macro images) through libtiff, one tile at a time,
// from a procedural H&E-like picture; used as example slide and test input.
// --format philips writes the same picture as a Philips TIFF instead: an XML
// DataObject description, levels padded to whole tiles, tiles of bare glass
// left out (sparse), the label as a base64 JPEG inside the XML. --format scn
// writes a Leica SCN: a BigTIFF whose XML collection places the scanned image
// (the picture) on the glass beside a tiled macro image of the whole glass.
// --format 3dhistech writes a 3DHistech TIFF as its slide converter exports one:
// the levels only, each description Aperio's bar-separated layout without a
// vendor's name ("W x H (T x T) JPEG/RGB Q=..|Date = ..|MPP = ..|3dh_PixelSizeX
// = ..").

#define _POSIX_C_SOURCE 200809L // for sysconf and stat

#include <tiffio.h>

#include <jpeglib.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <threads.h>
#include <unistd.h>

#include "tool_util.h"

#define PROG "make_svs"
#define LIBRARY "Aperio Image Library v12.0.15"
#define PHILIPS_SOFTWARE "Philips DP v1.0"
#define LABEL_W 400
#define LABEL_H 300
#define MACRO_W 1280
#define MACRO_H 431
#define THUMB_MAX_W 1024
#define STRIP_ROWS 64   // multiple of 16 so JPEG with 4:2:0 accepts it
#define FIELD_CELLS 512 // coarse tissue-field resolution along the long side
#define FIELD_CH 4      // tissue, eosin strength, haematoxylin strength, density
#define MAX_THREADS 64

typedef enum { FORMAT_APERIO, FORMAT_PHILIPS, FORMAT_SCN, FORMAT_HISTECH } Format;

typedef struct {
    const char *out;
    Format format;
    uint32_t width, height, tile;
    double mpp;
    uint32_t levels, step, quality;
    int ycbcr;
    int label, macro, thumbnail;
    uint32_t seed;
    const char *barcode;
    uint32_t threads;
} Options;

typedef struct {
    double cx, cy, a, b, c, s; // centre, semi-axes, rotation cos/sin
} Ellipse;

typedef struct {
    float um_per_px;
    uint32_t seed_tex, seed_rot, seed_fib, seed_fine, seed_nuc;
    double inv_cell;    // coarse cells per level-0 pixel
    uint32_t gw, gh;    // coarse-field nodes
    float *field;       // FIELD_CH floats per node
} Scene;

typedef struct {
    uint8_t bars[1024]; // 1D barcode modules, 1 = dark
    uint32_t nbars;
    uint8_t code2d[14 * 14];
    float text_len[4];
} LabelArt;

typedef struct {
    struct Sampler *sm; // mutable cache behind a const painter
    float *acc;         // scratch row of colour sums
    const LabelArt *art;
    double k;           // macro pixels per level-0 pixel
    double rx0, ry0;    // scan-area origin in the macro
    double rw, rh;      // scan-area size in the macro
    double ds_x, ds_y;  // thumbnail downsample
} Painter;

typedef void (*RowFn)(const Painter *p, uint32_t y, uint32_t w, uint8_t *out);

// ---------------------------------------------------------------- noise

static inline uint32_t hash2(int32_t x, int32_t y, uint32_t seed)
{
    uint32_t h = seed ^ ((uint32_t)x * 0x9e3779b1u) ^ ((uint32_t)y * 0x85ebca77u);
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

static inline float unit(uint32_t h)
{
    return (float)(h >> 8) * (1.0f / 16777216.0f);
}

// Truncation is only floor for positives; coordinates can dip below zero.
static inline int32_t ifloor(float v)
{
    int32_t i = (int32_t)v;
    return i - (v < (float)i);
}

// Lattice corners of one noise octave, kept while successive samples stay
// in the same cell (neighbouring pixels nearly always do).
typedef struct {
    int32_t ix, iy;
    float a, b, c, d;
} NoiseCell;

// Smooth value noise in [0,1): hashed lattice values, smoothstep-blended.
static inline float vnoise_cached(NoiseCell *c, float x, float y, uint32_t seed)
{
    int32_t ix = ifloor(x), iy = ifloor(y);
    if (ix != c->ix || iy != c->iy) {
        c->ix = ix;
        c->iy = iy;
        c->a = unit(hash2(ix, iy, seed));
        c->b = unit(hash2(ix + 1, iy, seed));
        c->c = unit(hash2(ix, iy + 1, seed));
        c->d = unit(hash2(ix + 1, iy + 1, seed));
    }
    float fx = x - (float)ix, fy = y - (float)iy;
    fx = fx * fx * (3.0f - 2.0f * fx);
    fy = fy * fy * (3.0f - 2.0f * fy);
    float top = c->a + (c->b - c->a) * fx, bot = c->c + (c->d - c->c) * fx;
    return top + (bot - top) * fy;
}

static float vnoise(float x, float y, uint32_t seed)
{
    NoiseCell c = {.ix = INT32_MIN};
    return vnoise_cached(&c, x, y, seed);
}

static inline float clamp01(float v)
{
    return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
}

// Integer clamps compile to conditional moves rather than branches.
static inline uint8_t to_u8(float v)
{
    int32_t i = (int32_t)(v + 0.5f);
    i = i < 0 ? 0 : i;
    i = i > 255 ? 255 : i;
    return (uint8_t)i;
}

static uint32_t rng_next(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return hash2((int32_t)*state, 0x51ed, 0x2545f491u);
}

static double rng_range(uint32_t *state, double lo, double hi)
{
    return lo + (hi - lo) * unit(rng_next(state));
}

// ---------------------------------------------------------------- scene

// The tissue layout is relative to the slide size (so any size shows a few
// pieces) but evaluated once on a coarse grid; per pixel it is a bilinear
// lookup, which leaves the per-pixel cost to a few noise octaves and a dot.
static int scene_init(Scene *sc, const Options *o)
{
    memset(sc, 0, sizeof *sc);
    sc->um_per_px = (float)o->mpp;
    uint32_t st = hash2((int32_t)o->seed, 7, 0x1234567u);
    sc->seed_tex = rng_next(&st);
    sc->seed_rot = rng_next(&st);
    sc->seed_fib = rng_next(&st);
    sc->seed_fine = rng_next(&st);
    sc->seed_nuc = rng_next(&st);

    double longest = o->width > o->height ? o->width : o->height;
    double shortest = o->width < o->height ? o->width : o->height;
    double cell = longest / FIELD_CELLS;
    if (cell < 4.0)
        cell = 4.0;
    sc->inv_cell = 1.0 / cell;
    sc->gw = (uint32_t)ceil(o->width / cell) + 2;
    sc->gh = (uint32_t)ceil(o->height / cell) + 2;
    sc->field = malloc((size_t)sc->gw * sc->gh * FIELD_CH * sizeof(float));
    if (!sc->field)
        return -1;

    // Blob clusters in units of the short side; long thin slides get more.
    double span_u = o->width / shortest, span_v = o->height / shortest;
    uint32_t clusters = 3 + rng_next(&st) % 3;
    uint32_t reps = (uint32_t)(longest / shortest / 1.5 + 0.5);
    if (reps < 1)
        reps = 1;
    if (reps > 12)
        reps = 12;
    clusters *= reps;
    Ellipse ell[12 * 5 * 3];
    uint32_t ne = 0;
    for (uint32_t i = 0; i < clusters; i++) {
        double r = rng_range(&st, 0.10, 0.19);
        double cx = rng_range(&st, 0.2, span_u - 0.2 > 0.2 ? span_u - 0.2 : 0.2);
        double cy = rng_range(&st, 0.2, span_v - 0.2 > 0.2 ? span_v - 0.2 : 0.2);
        uint32_t parts = 2 + rng_next(&st) % 2;
        for (uint32_t k = 0; k < parts; k++) {
            Ellipse *e = &ell[ne++];
            double ang = rng_range(&st, 0.0, 3.14159265);
            e->cx = cx + rng_range(&st, -0.6, 0.6) * r;
            e->cy = cy + rng_range(&st, -0.6, 0.6) * r;
            e->a = r * rng_range(&st, 0.6, 1.1);
            e->b = e->a * rng_range(&st, 0.45, 0.9);
            e->c = cos(ang);
            e->s = sin(ang);
        }
    }

    uint32_t s_warp = rng_next(&st), s_warp2 = rng_next(&st);
    uint32_t s_edge = rng_next(&st), s_eos = rng_next(&st);
    uint32_t s_hae = rng_next(&st), s_den = rng_next(&st);
    for (uint32_t j = 0; j < sc->gh; j++) {
        for (uint32_t i = 0; i < sc->gw; i++) {
            float u = (float)(i * cell / shortest), v = (float)(j * cell / shortest);
            // Warp the domain so ellipses become irregular pieces.
            double wu = u + 0.12 * (vnoise(u * 4.0f, v * 4.0f, s_warp) - 0.5f);
            double wv = v + 0.12 * (vnoise(u * 4.0f, v * 4.0f, s_warp2) - 0.5f);
            double t = -1.0;
            for (uint32_t k = 0; k < ne; k++) {
                double du = wu - ell[k].cx, dv = wv - ell[k].cy;
                double ru = (du * ell[k].c + dv * ell[k].s) / ell[k].a;
                double rv = (dv * ell[k].c - du * ell[k].s) / ell[k].b;
                double q = 1.0 - (ru * ru + rv * rv);
                if (q > t)
                    t = q;
            }
            t += 0.35 * (vnoise(u * 9.0f, v * 9.0f, s_edge) - 0.5f);
            if (t < -1.0)
                t = -1.0;
            float *f = sc->field + ((size_t)j * sc->gw + i) * FIELD_CH;
            f[0] = (float)t;
            f[1] = 0.65f + 0.5f * vnoise(u * 2.5f, v * 2.5f, s_eos);
            f[2] = 0.7f + 0.4f * vnoise(u * 3.0f, v * 3.0f, s_hae);
            f[3] = vnoise(u * 5.0f, v * 5.0f, s_den);
        }
    }
    return 0;
}

// One nucleus slot (at most one per 9 um cell), cached the same way.
typedef struct {
    int32_t cx, cy;
    int present;
    float r, ox, oy, squash;
} NucleusCell;

// Per-caller scratch: results never depend on it, only the speed does.
typedef struct Sampler {
    const Scene *sc;
    NoiseCell n2, rot;
    NucleusCell nuc;
} Sampler;

#define NUC_CELL_UM 9.0f

static void sampler_init(Sampler *sm, const Scene *sc)
{
    memset(sm, 0, sizeof *sm);
    sm->sc = sc;
    sm->n2.ix = sm->rot.ix = sm->nuc.cx = INT32_MIN;
}

// Bilinear lookup of the coarse field at level-0 position (x, y).
static inline void field_at(const Scene *sc, double x, double y, float v[FIELD_CH])
{
    double gx = x * sc->inv_cell, gy = y * sc->inv_cell;
    uint32_t ix = gx > 0 ? (uint32_t)gx : 0, iy = gy > 0 ? (uint32_t)gy : 0;
    if (ix > sc->gw - 2)
        ix = sc->gw - 2;
    if (iy > sc->gh - 2)
        iy = sc->gh - 2;
    float fx = clamp01((float)(gx - ix)), fy = clamp01((float)(gy - iy));
    const float *a = sc->field + ((size_t)iy * sc->gw + ix) * FIELD_CH;
    const float *c = a + (size_t)sc->gw * FIELD_CH;
    for (int k = 0; k < FIELD_CH; k++) {
        float top = a[k] + (a[k + FIELD_CH] - a[k]) * fx;
        float bot = c[k] + (c[k + FIELD_CH] - c[k]) * fx;
        v[k] = top + (bot - top) * fy;
    }
}

// Pale holes (vessels, fat) where the coarse texture is low.
static inline float hole_of(float n1, float n2)
{
    return clamp01((0.33f - n1 - 0.05f * (n2 - 0.5f)) * 16.0f);
}

// The ~40 um texture: an axis-aligned octave averaged with one on a rotated,
// differently sized lattice, which hides value noise's square artefacts.
static inline float coarse_texture(float axis, NoiseCell *rot, float xu, float yu,
                                   uint32_t seed)
{
    float u = (0.8f * xu - 0.6f * yu) * (1.0f / 33.0f);
    float v = (0.6f * xu + 0.8f * yu) * (1.0f / 33.0f);
    return 0.5f * (axis + vnoise_cached(rot, u, v, seed));
}

// Decide the nucleus of one cell from values at the cell centre, so a
// nucleus is drawn whole or not at all.
static void nucleus_cell(Sampler *sm, int32_t cx, int32_t cy)
{
    const Scene *sc = sm->sc;
    NucleusCell *nc = &sm->nuc;
    nc->cx = cx;
    nc->cy = cy;
    uint32_t h = hash2(cx, cy, sc->seed_nuc);
    uint32_t h2 = hash2(cy, cx, h);
    float xu = ((float)cx + 0.5f) * NUC_CELL_UM, yu = ((float)cy + 0.5f) * NUC_CELL_UM;
    float v[FIELD_CH];
    field_at(sc, xu / sc->um_per_px, yu / sc->um_per_px, v);
    NoiseCell rot = {.ix = INT32_MIN};
    float n1 = coarse_texture(vnoise(xu * (1.0f / 40.0f), yu * (1.0f / 40.0f), sc->seed_tex),
                              &rot, xu, yu, sc->seed_rot);
    float hole = hole_of(n1, 0.5f);
    // density squared: crowded patches and sparse stroma
    nc->present = unit(h) < (v[3] * v[3] * 0.7f + 0.3f) * (1.0f - hole);
    nc->r = 0.15f + 0.17f * (float)(h2 & 0xff) / 255.0f; // in cell units
    nc->ox = nc->r + (1.0f - 2.0f * nc->r) * (float)((h2 >> 8) & 0xff) / 255.0f;
    nc->oy = nc->r + (1.0f - 2.0f * nc->r) * (float)((h2 >> 16) & 0xff) / 255.0f;
    nc->squash = 1.0f + 0.7f * (float)(h2 >> 28) / 15.0f;
}

// Value noise along a row: the y part is fixed, and the two lattice columns
// around x are pre-blended, so a sample costs one smoothstep and one lerp.
typedef struct {
    uint32_t seed;
    int32_t iy, ix;
    float fy, left, right;
} RowNoise;

static void row_noise_init(RowNoise *rn, uint32_t seed, float y)
{
    rn->seed = seed;
    rn->iy = ifloor(y);
    float f = y - (float)rn->iy;
    rn->fy = f * f * (3.0f - 2.0f * f);
    rn->ix = INT32_MIN;
    rn->left = rn->right = 0.0f;
}

static inline float row_column(const RowNoise *rn, int32_t ix)
{
    float a = unit(hash2(ix, rn->iy, rn->seed));
    float c = unit(hash2(ix, rn->iy + 1, rn->seed));
    return a + (c - a) * rn->fy;
}

static inline float row_noise(RowNoise *rn, float x)
{
    int32_t ix = ifloor(x);
    if (ix != rn->ix) {
        // moving one column right reuses the old right column
        rn->left = ix == rn->ix + 1 ? rn->right : row_column(rn, ix);
        rn->right = row_column(rn, ix + 1);
        rn->ix = ix;
    }
    float f = x - (float)ix;
    f = f * f * (3.0f - 2.0f * f);
    return rn->left + (rn->right - rn->left) * f;
}

// Adds weight * colour of the level-0 positions (x0 + i * step, y), in
// pixels with pixel centres at +0.5, to acc[3 * i ..]; a row at a time so
// everything depending on y alone is done once.
static void scene_span(Sampler *sm, double x0, double step, double y,
                       uint32_t count, float weight, float *acc)
{
    const Scene *sc = sm->sc;
    double gy = y * sc->inv_cell;
    uint32_t iy = gy > 0 ? (uint32_t)gy : 0;
    if (iy > sc->gh - 2)
        iy = sc->gh - 2;
    float fy = clamp01((float)(gy - iy));
    const float *ra = sc->field + (size_t)iy * sc->gw * FIELD_CH;
    const float *rc = ra + (size_t)sc->gw * FIELD_CH;
    float yu = (float)y * sc->um_per_px;
    RowNoise n1, n3;
    row_noise_init(&n1, sc->seed_tex, yu * (1.0f / 40.0f));
    row_noise_init(&n3, sc->seed_fine, yu * (1.0f / 2.5f));
    float cv = yu * (1.0f / NUC_CELL_UM);
    int32_t cy = ifloor(cv);
    uint32_t col = UINT32_MAX;
    float l0[FIELD_CH] = {0}, l1[FIELD_CH] = {0};

    for (uint32_t i = 0; i < count; i++, acc += 3) {
        double x = x0 + i * step;
        double gx = x * sc->inv_cell;
        uint32_t ix = gx > 0 ? (uint32_t)gx : 0;
        if (ix > sc->gw - 2)
            ix = sc->gw - 2;
        if (ix != col) {
            // coarse field blended to this row at the two nodes around x
            col = ix;
            for (int k = 0; k < FIELD_CH; k++) {
                size_t o0 = (size_t)ix * FIELD_CH + k, o1 = o0 + FIELD_CH;
                l0[k] = ra[o0] + (rc[o0] - ra[o0]) * fy;
                l1[k] = ra[o1] + (rc[o1] - ra[o1]) * fy;
            }
        }
        float fx = clamp01((float)(gx - ix));
        float t = l0[0] + (l1[0] - l0[0]) * fx;
        float dens = l0[3] + (l1[3] - l0[3]) * fx;

        // Glass background: near white, slowly varying, slightly blue.
        float bg = 241.0f + 6.0f * dens;
        float r = bg, g = bg + 0.5f, b = bg + 2.0f;
        if (t < -0.2f) {
            // far from tissue: skip the fine noise entirely
            acc[0] += weight * r;
            acc[1] += weight * g;
            acc[2] += weight * b;
            continue;
        }

        float xu = (float)x * sc->um_per_px;
        float v1 = coarse_texture(row_noise(&n1, xu * (1.0f / 40.0f)), &sm->rot,
                                  xu, yu, sc->seed_rot);
        float v3 = row_noise(&n3, xu * (1.0f / 2.5f));
        // wavy fibres: streaks whose direction the coarse texture bends
        float v2 = vnoise_cached(&sm->n2, xu * (1.0f / 24.0f),
                                 yu * (1.0f / 5.0f) + 4.0f * v1, sc->seed_fib);
        float alpha = clamp01((t + 0.2f * (v1 - 0.5f) + 0.06f * (v2 - 0.5f) +
                               0.03f * (v3 - 0.5f)) * 30.0f);
        if (alpha > 0.0f) {
            // Stroma: eosin absorbance modulated by texture.
            float eos = l0[1] + (l1[1] - l0[1]) * fx;
            float tex = 0.5f * v1 + 0.38f * v2 + 0.12f * v3;
            float hole = hole_of(v1, v2);
            float e = eos * (0.3f + 1.4f * tex) * (1.0f - hole);
            float ar = 22.0f * e, ag = 102.0f * e, ab = 62.0f * e;

            float cu = xu * (1.0f / NUC_CELL_UM);
            int32_t cx = ifloor(cu);
            if (cx != sm->nuc.cx || cy != sm->nuc.cy)
                nucleus_cell(sm, cx, cy);
            const NucleusCell *nc = &sm->nuc;
            if (nc->present) {
                float dx = (cu - (float)cx - nc->ox) * nc->squash;
                float dy = cv - (float)cy - nc->oy;
                float d2 = dx * dx + dy * dy;
                if (d2 < nc->r * nc->r) {
                    float hae = l0[2] + (l1[2] - l0[2]) * fx;
                    float na = clamp01((nc->r - sqrtf(d2)) * 14.0f);
                    float hs = hae * (0.7f + 0.6f * v3) * na; // chromatin
                    float keep = 1.0f - 0.6f * na;
                    ar = ar * keep + 150.0f * hs;
                    ag = ag * keep + 195.0f * hs;
                    ab = ab * keep + 105.0f * hs;
                }
            }
            r += alpha * (250.0f - ar - r);
            g += alpha * (250.0f - ag - g);
            b += alpha * (250.0f - ab - b);
        }
        acc[0] += weight * r;
        acc[1] += weight * g;
        acc[2] += weight * b;
    }
}

// Mean colours of `count` output pixels, each dx x dy level-0 pixels, from
// output pixel (px, py) rightwards, using n x n sub-samples per pixel.
static void pixel_row(Sampler *sm, double px, double py, double dx, double dy,
                      int n, uint32_t count, float *acc)
{
    memset(acc, 0, (size_t)count * 3 * sizeof *acc);
    float w = 1.0f / (float)(n * n);
    for (int b = 0; b < n; b++)
        for (int a = 0; a < n; a++)
            scene_span(sm, (px + (a + 0.5) / n) * dx, dx, (py + (b + 0.5) / n) * dy,
                       count, w, acc);
}

// ---------------------------------------------------------------- label

static void label_init(LabelArt *la, const char *barcode)
{
    memset(la, 0, sizeof *la);
    uint32_t h = 0x811c9dc5u;
    for (const char *p = barcode; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x01000193u;

    // Made-up 1D symbology: guard bars, then each byte's bits as wide or
    // narrow bars; it only has to look like a barcode.
    static const uint8_t guard[] = {1, 0, 1, 1, 0};
    uint32_t n = 0;
    for (size_t i = 0; i < sizeof guard; i++)
        la->bars[n++] = guard[i];
    for (const char *p = barcode; *p && n + 40 < sizeof la->bars; p++) {
        for (int b = 7; b >= 0; b--) {
            la->bars[n++] = 1;
            if ((uint8_t)*p >> b & 1)
                la->bars[n++] = 1;
            la->bars[n++] = 0;
        }
    }
    for (size_t i = sizeof guard; i-- > 0;)
        la->bars[n++] = guard[i];
    la->nbars = n;

    // 2D code: solid L finder, dotted timing edges, hashed data inside.
    for (int j = 0; j < 14; j++) {
        for (int i = 0; i < 14; i++) {
            int on;
            if (i == 0 || j == 13)
                on = 1;
            else if (j == 0)
                on = (i % 2) == 0;
            else if (i == 13)
                on = (j % 2) == 1;
            else
                on = hash2(i, j, h) >> 31;
            la->code2d[j * 14 + i] = (uint8_t)on;
        }
    }
    for (int i = 0; i < 4; i++)
        la->text_len[i] = 0.45f + 0.55f * unit(hash2(i, 99, h));
}

// Label art in a 400x300 design space; (u, v) in [0,1).
static void label_pixel(const LabelArt *la, double u, double v, float rgb[3])
{
    double X = u * LABEL_W, Y = v * LABEL_H;
    float r = 247, g = 246, b = 238; // paper
    if (X < 10 || Y < 10 || X >= LABEL_W - 10 || Y >= LABEL_H - 10) {
        r = 40, g = 90, b = 175; // coloured frame
    } else if (Y >= 18 && Y < 60 && X >= 18 && X < LABEL_W - 18) {
        r = 232, g = 132, b = 40; // header band
        // light blocks standing in for a printed lab name
        if (Y >= 30 && Y < 48 && X >= 30 && X < 300 &&
            fmod(X - 30, 22.0) < 16.0)
            r = 252, g = 226, b = 196;
    } else if (X >= 24 && X < 122 && Y >= 76 && Y < 174) {
        int i = (int)((X - 24) / 7.0), j = (int)((Y - 76) / 7.0);
        if (la->code2d[j * 14 + i])
            r = g = b = 25;
    } else if (X >= 140 && X < 376 && Y >= 80 && Y < 172) {
        int line = (int)((Y - 80) / 23.0);
        double in = fmod(Y - 80, 23.0);
        if (line < 4 && in < 13.0 && X < 140 + 236 * la->text_len[line] &&
            fmod(X - 140, 11.0) < 8.0)
            r = g = b = 70; // "text"
    } else if (X >= 24 && X < LABEL_W - 24 && Y >= 196 && Y < 274) {
        uint32_t m = (uint32_t)((X - 24) / (LABEL_W - 48) * la->nbars);
        if (m < la->nbars && la->bars[m])
            r = g = b = 20;
    }
    rgb[0] = r;
    rgb[1] = g;
    rgb[2] = b;
}

// ---------------------------------------------------------------- row painters

static void label_row(const Painter *p, uint32_t y, uint32_t w, uint8_t *out)
{
    float rgb[3];
    for (uint32_t x = 0; x < w; x++) {
        label_pixel(p->art, (x + 0.5) / w, (y + 0.5) / LABEL_H, rgb);
        for (int k = 0; k < 3; k++)
            out[3 * x + k] = to_u8(rgb[k]);
    }
}

static void thumb_row(const Painter *p, uint32_t y, uint32_t w, uint8_t *out)
{
    pixel_row(p->sm, 0, y, p->ds_x, p->ds_y, 3, w, p->acc);
    for (uint32_t i = 0; i < 3 * w; i++)
        out[i] = to_u8(p->acc[i]);
}

// Whole glass: label (rotated, as a camera sees it) at the left end, the
// scanned area drawn over blue-grey glass in the rest.
static void macro_row(const Painter *p, uint32_t y, uint32_t w, uint8_t *out)
{
    const double lx0 = 14, lx1 = 350, ly0 = 14, ly1 = MACRO_H - 14;
    double fy = y + 0.5;
    // columns whose centres fall in the scan area, sampled as one span
    uint32_t xa = 0, xb = 0;
    if (fy >= p->ry0 && fy < p->ry0 + p->rh) {
        xa = (uint32_t)ceil(p->rx0 - 0.5);
        xb = (uint32_t)ceil(p->rx0 + p->rw - 0.5);
        xb = xb < w - 4 ? xb : w - 4;
        if (xb > xa)
            pixel_row(p->sm, xa - p->rx0, y - p->ry0, 1.0 / p->k, 1.0 / p->k, 2,
                      xb - xa, p->acc);
    }
    float rgb[3];
    for (uint32_t x = 0; x < w; x++) {
        double fx = x + 0.5;
        // glass with a darker bevel and a gentle vertical gradient
        float shade = (float)(fy / MACRO_H);
        rgb[0] = 186.0f + 10.0f * shade;
        rgb[1] = 196.0f + 8.0f * shade;
        rgb[2] = 210.0f + 6.0f * shade;
        if (x < 4 || y < 4 || x >= w - 4 || y >= MACRO_H - 4) {
            rgb[0] -= 45;
            rgb[1] -= 45;
            rgb[2] -= 40;
        } else if (fx >= lx0 && fx < lx1 && fy >= ly0 && fy < ly1) {
            label_pixel(p->art, (fy - ly0) / (ly1 - ly0),
                        1.0 - (fx - lx0) / (lx1 - lx0), rgb);
        } else if (x >= xa && x < xb) {
            // tissue tints the glass; the white scan background leaves it be
            const float *s = p->acc + 3 * (x - xa);
            for (int k = 0; k < 3; k++)
                rgb[k] *= s[k] < 240.0f ? s[k] / 240.0f : 1.0f;
        }
        for (int k = 0; k < 3; k++)
            out[3 * x + k] = to_u8(rgb[k]);
    }
}

// ---------------------------------------------------------------- writing

static int set_jpeg(TIFF *tif, const Options *o)
{
    int ok = TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_JPEG);
    if (o->ycbcr) {
        // libtiff converts our RGB to YCbCr 4:2:0 inside the JPEG stream
        ok = ok && TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_YCBCR);
        ok = ok && TIFFSetField(tif, TIFFTAG_YCBCRSUBSAMPLING, 2, 2);
        ok = ok && TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
    } else {
        // components stored as R,G,B without colour transform, like Aperio
        ok = ok && TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
    }
    ok = ok && TIFFSetField(tif, TIFFTAG_JPEGQUALITY, (int)o->quality);
    ok = ok && TIFFSetField(tif, TIFFTAG_JPEGTABLESMODE,
                            JPEGTABLESMODE_QUANT | JPEGTABLESMODE_HUFF);
    return ok;
}

static int set_basic(TIFF *tif, uint32_t w, uint32_t h, const char *desc)
{
    int ok = TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, w);
    ok = ok && TIFFSetField(tif, TIFFTAG_IMAGELENGTH, h);
    ok = ok && TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 8);
    ok = ok && TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 3);
    ok = ok && TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    ok = ok && TIFFSetField(tif, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
    ok = ok && TIFFSetField(tif, TIFFTAG_IMAGEDESCRIPTION, desc);
    return ok;
}

// One pyramid level in flight: workers render tiles into a ring of
// buffers, the main thread hands them to libtiff strictly in order.
typedef struct {
    const Scene *sc;
    uint32_t tile, lw, lh, across;   // lw x lh: the picture; across: tiles stored per row
    int sparse;         // tiles of bare glass are not written (Philips)
    uint32_t left_out;  // how many were not
    double dx, dy;
    int n;              // sub-samples per axis
    uint32_t ntiles, slots;
    uint8_t *bufs;      // slots * tile bytes
    uint8_t *ready;     // per slot: rendered, not yet written
    uint32_t next;      // next tile to hand to a worker
    uint32_t written;   // tiles written so far
    int abort;
    mtx_t lock;
    cnd_t cond;         // any change to ready, written or abort
} LevelJob;

static void render_tile(const LevelJob *job, Sampler *sm, float *acc,
                        uint32_t index, uint8_t *buf)
{
    const uint32_t T = job->tile;
    uint32_t tx = index % job->across * T, ty = index / job->across * T;
    // a level stored padded to whole tiles has tiles past its picture: white
    uint32_t cols = tx >= job->lw ? 0 : (job->lw - tx < T ? job->lw - tx : T);
    for (uint32_t j = 0; j < T; j++) {
        uint8_t *row = buf + (size_t)j * T * 3;
        if (ty + j >= job->lh) {
            memset(row, 255, (size_t)T * 3); // outside the image: white
            continue;
        }
        if (cols)
            pixel_row(sm, tx, ty + j, job->dx, job->dy, job->n, cols, acc);
        for (uint32_t i = 0; i < 3 * cols; i++)
            row[i] = to_u8(acc[i]);
        memset(row + 3 * cols, 255, (size_t)(T - cols) * 3);
    }
}

static int level_worker(void *arg)
{
    LevelJob *job = arg;
    Sampler sm;
    sampler_init(&sm, job->sc);
    float *acc = malloc((size_t)job->tile * 3 * sizeof *acc);
    mtx_lock(&job->lock);
    if (!acc) {
        job->abort = 1;
        cnd_broadcast(&job->cond);
    }
    for (;;) {
        // a slot is free once the tile that used it last has been written
        while (!job->abort && job->next < job->ntiles &&
               job->next - job->written >= job->slots)
            cnd_wait(&job->cond, &job->lock);
        if (job->abort || job->next >= job->ntiles)
            break;
        uint32_t i = job->next++;
        mtx_unlock(&job->lock);
        render_tile(job, &sm, acc, i,
                    job->bufs + (size_t)(i % job->slots) * job->tile * job->tile * 3);
        mtx_lock(&job->lock);
        job->ready[i % job->slots] = 1;
        cnd_broadcast(&job->cond);
    }
    mtx_unlock(&job->lock);
    free(acc);
    return 0;
}

// Bare glass or padding only: nothing a scanner of regions would have stored.
static int bare_tile(const uint8_t *buf, size_t bytes)
{
    for (size_t i = 0; i < bytes; i++)
        if (buf[i] < 238)
            return 0;
    return 1;
}

static int put_tile(TIFF *tif, LevelJob *job, uint32_t i, uint8_t *buf, tmsize_t bytes)
{
    if (job->sparse && bare_tile(buf, (size_t)bytes)) {
        job->left_out++; // libtiff leaves its offset and byte count 0
        return 0;
    }
    return TIFFWriteEncodedTile(tif, i, buf, bytes) < 0 ? -1 : 0;
}

static int write_tiles(TIFF *tif, const Options *o, LevelJob *job, uint32_t index)
{
    const tmsize_t bytes = (tmsize_t)job->tile * job->tile * 3;
    if (o->threads <= 1) {
        // no pipeline: render and write in turn (also the per-core baseline)
        Sampler sm;
        sampler_init(&sm, job->sc);
        float *acc = malloc((size_t)job->tile * 3 * sizeof *acc);
        if (!acc)
            return tool_fail(o->out, "out of memory for level %u", index);
        for (uint32_t i = 0; i < job->ntiles; i++) {
            render_tile(job, &sm, acc, i, job->bufs);
            if (put_tile(tif, job, i, job->bufs, bytes) < 0) {
                free(acc);
                return tool_fail(o->out, "cannot write tile %u of level %u", i, index);
            }
        }
        free(acc);
        return 0;
    }

    thrd_t th[MAX_THREADS];
    uint32_t started = 0;
    int rc = 0;
    if (mtx_init(&job->lock, mtx_plain) != thrd_success)
        return tool_fail(o->out, "cannot create a mutex");
    if (cnd_init(&job->cond) != thrd_success) {
        mtx_destroy(&job->lock);
        return tool_fail(o->out, "cannot create a condition variable");
    }
    for (; started < o->threads; started++)
        if (thrd_create(&th[started], level_worker, job) != thrd_success)
            break;
    if (started == 0)
        rc = tool_fail(o->out, "cannot start threads");

    for (uint32_t i = 0; rc == 0 && i < job->ntiles; i++) {
        uint32_t slot = i % job->slots;
        mtx_lock(&job->lock);
        while (!job->ready[slot] && !job->abort)
            cnd_wait(&job->cond, &job->lock);
        int aborted = job->abort;
        mtx_unlock(&job->lock);
        if (aborted) {
            rc = tool_fail(o->out, "out of memory for level %u", index);
            break;
        }
        if (put_tile(tif, job, i, job->bufs + (size_t)slot * bytes, bytes) < 0)
            rc = tool_fail(o->out, "cannot write tile %u of level %u", i, index);
        mtx_lock(&job->lock);
        job->ready[slot] = 0;
        job->written++;
        job->abort |= rc != 0;
        cnd_broadcast(&job->cond);
        mtx_unlock(&job->lock);
    }
    for (uint32_t t = 0; t < started; t++)
        thrd_join(th[t], NULL);
    cnd_destroy(&job->cond);
    mtx_destroy(&job->lock);
    return rc;
}

// Level `index` of lw x lh pixels, stored as sw x sh (>= lw x lh: padded to whole
// tiles, as Philips does; Aperio stores the picture's size).
static int write_level(TIFF *tif, const Options *o, const Scene *sc, uint32_t index,
                       uint32_t lw, uint32_t lh, uint32_t sw, uint32_t sh, const char *desc)
{
    const uint32_t T = o->tile;
    double dx = (double)o->width / lw, dy = (double)o->height / lh;
    double px_cm = 1e4 / (o->mpp * (dx + dy) / 2);
    int philips = o->format == FORMAT_PHILIPS;
    if (philips && (!TIFFSetField(tif, TIFFTAG_SOFTWARE, PHILIPS_SOFTWARE) ||
                    (index > 0 && !TIFFSetField(tif, TIFFTAG_SUBFILETYPE, FILETYPE_REDUCEDIMAGE))))
        return tool_fail(o->out, "cannot set tags of level %u", index);
    if (!set_basic(tif, sw, sh, desc) || !set_jpeg(tif, o) ||
        !TIFFSetField(tif, TIFFTAG_TILEWIDTH, T) ||
        !TIFFSetField(tif, TIFFTAG_TILELENGTH, T) ||
        !TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, RESUNIT_CENTIMETER) ||
        !TIFFSetField(tif, TIFFTAG_XRESOLUTION, px_cm) ||
        !TIFFSetField(tif, TIFFTAG_YRESOLUTION, px_cm))
        return tool_fail(o->out, "cannot set tags of level %u", index);

    LevelJob job = {
        .sc = sc, .tile = T, .lw = lw, .lh = lh, .dx = dx, .dy = dy,
        .across = (sw + T - 1) / T, .sparse = philips,
        // a few sub-samples per pixel on reduced levels against aliasing
        .n = dx < 1.5 ? 1 : (dx <= 6.0 ? 2 : 3),
        .slots = o->threads <= 1 ? 1 : 3 * o->threads,
    };
    job.ntiles = job.across * ((sh + T - 1) / T);
    job.bufs = malloc((size_t)job.slots * T * T * 3);
    job.ready = calloc(job.slots, 1);
    int rc = job.bufs && job.ready ? write_tiles(tif, o, &job, index)
                                   : tool_fail(o->out, "out of memory for level %u", index);
    free(job.bufs);
    free(job.ready);
    if (rc == 0 && job.left_out == job.ntiles)
        rc = tool_fail(o->out, "level %u is bare glass only: nothing to store", index);
    if (rc == 0 && !TIFFWriteDirectory(tif))
        rc = tool_fail(o->out, "cannot write directory of level %u", index);
    return rc;
}

static int write_stripped(TIFF *tif, const Options *o, const char *what,
                          uint32_t w, uint32_t h, int jpeg, uint32_t subfile,
                          const char *desc, RowFn fn, const Painter *p)
{
    uint32_t rps = h < STRIP_ROWS ? h : STRIP_ROWS;
    int ok = set_basic(tif, w, h, desc);
    ok = ok && TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, rps);
    if (subfile)
        ok = ok && TIFFSetField(tif, TIFFTAG_SUBFILETYPE, subfile);
    if (jpeg) {
        ok = ok && set_jpeg(tif, o);
    } else {
        ok = ok && TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_LZW);
        ok = ok && TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
    }
    if (!ok)
        return tool_fail(o->out, "cannot set tags of %s image", what);

    uint8_t *strip = malloc((size_t)w * rps * 3);
    if (!strip)
        return tool_fail(o->out, "out of memory for %s image", what);
    for (uint32_t y0 = 0, s = 0; y0 < h; y0 += rps, s++) {
        uint32_t rows = h - y0 < rps ? h - y0 : rps;
        for (uint32_t j = 0; j < rows; j++)
            fn(p, y0 + j, w, strip + (size_t)j * w * 3);
        if (TIFFWriteEncodedStrip(tif, s, strip, (tmsize_t)w * rows * 3) < 0) {
            free(strip);
            return tool_fail(o->out, "cannot write %s image", what);
        }
    }
    free(strip);
    if (!TIFFWriteDirectory(tif))
        return tool_fail(o->out, "cannot write directory of %s image", what);
    return 0;
}

static uint32_t level_dim(uint32_t base, uint32_t step, uint32_t level)
{
    uint64_t v = base;
    for (uint32_t i = 0; i < level; i++)
        v /= step;
    return (uint32_t)v;
}

// Where the scanned area lies in the macro image.
static void macro_layout(const Options *o, Painter *p)
{
    // Glass is 75 x 25 mm: true scale unless the tissue would be a speck
    // or would not fit beside the label.
    double k = o->mpp / (75000.0 / MACRO_W);
    double longest = o->width > o->height ? o->width : o->height;
    double kmin = 160.0 / longest;
    double kmax = fmin(880.0 / o->width, 380.0 / o->height);
    k = k < kmin ? kmin : k;
    k = k > kmax ? kmax : k;
    p->k = k;
    p->rw = o->width * k;
    p->rh = o->height * k;
    p->rx0 = 372 + (MACRO_W - 386 - p->rw) / 2;
    p->ry0 = (MACRO_H - p->rh) / 2;
}

static int write_slide(TIFF *tif, const Options *o, const Scene *sc)
{
    const char *cmode = "JPEG/RGB"; // what Aperio writes whatever the photometric
    char props[400], head[160], desc[700];
    snprintf(props, sizeof props,
             "|AppMag = %d|StripeWidth = 2040|ScanScope ID = SS1234"
             "|Filename = synthetic|Date = 11/25/26|Time = 10:11:12"
             "|Time Zone = GMT+00:00|User = slide2dcm|MPP = %.4f"
             "|Left = 25.0|Top = 18.0|Barcode = %s|ImageID = 1",
             o->mpp >= 0.4 ? 20 : 40, o->mpp, o->barcode);
    snprintf(head, sizeof head, "%ux%u [0,0 %ux%u] (%ux%u)", o->width, o->height,
             o->width, o->height, o->tile, o->tile);

    snprintf(desc, sizeof desc, LIBRARY " \r\n%s %s Q=%u%s", head, cmode,
             o->quality, props);
    int rc = write_level(tif, o, sc, 0, o->width, o->height, o->width, o->height, desc);

    // Aperio puts the stripped thumbnail second; OpenSlide names IFD 1 so.
    Sampler sm;
    sampler_init(&sm, sc);
    float acc[3 * (MACRO_W > THUMB_MAX_W ? MACRO_W : THUMB_MAX_W)];
    Painter p = {.sm = &sm, .acc = acc};
    if (rc == 0 && o->thumbnail) {
        uint32_t tw = o->width / 32, th = o->height / 32;
        if (tw > THUMB_MAX_W) {
            th = (uint32_t)((double)o->height * THUMB_MAX_W / o->width + 0.5);
            tw = THUMB_MAX_W;
        }
        tw = tw ? tw : 1;
        th = th ? th : 1;
        p.ds_x = (double)o->width / tw;
        p.ds_y = (double)o->height / th;
        snprintf(desc, sizeof desc, LIBRARY " \r\n%ux%u -> %ux%u - %s",
                 o->width, o->height, tw, th, props);
        rc = write_stripped(tif, o, "thumbnail", tw, th, 1, 0, desc, thumb_row, &p);
    }

    for (uint32_t l = 1; rc == 0 && l < o->levels; l++) {
        uint32_t lw = level_dim(o->width, o->step, l);
        uint32_t lh = level_dim(o->height, o->step, l);
        snprintf(desc, sizeof desc, LIBRARY " \r\n%s -> %ux%u %s Q=%u%s", head,
                 lw, lh, cmode, o->quality, props);
        rc = write_level(tif, o, sc, l, lw, lh, lw, lh, desc);
    }

    // OpenSlide splits the description on each of '\r' and '\n', so a
    // "\r\n" would leave an empty second line and lose the image's name.
    LabelArt art;
    label_init(&art, o->barcode);
    p.art = &art;
    if (rc == 0 && o->label) {
        snprintf(desc, sizeof desc, LIBRARY "\nlabel %ux%u", LABEL_W, LABEL_H);
        rc = write_stripped(tif, o, "label", LABEL_W, LABEL_H, 0,
                            FILETYPE_REDUCEDIMAGE, desc, label_row, &p);
    }
    if (rc == 0 && o->macro) {
        macro_layout(o, &p);
        snprintf(desc, sizeof desc, LIBRARY "\nmacro %ux%u", MACRO_W, MACRO_H);
        rc = write_stripped(tif, o, "macro", MACRO_W, MACRO_H, 1,
                            FILETYPE_REDUCEDIMAGE | 8, // 8: Aperio's macro bit
                            desc, macro_row, &p);
    }
    return rc;
}

// ---------------------------------------------------------------- Philips TIFF

typedef struct {
    char *data;
    size_t len, cap;
    int failed;
} Text;

__attribute__((format(printf, 2, 3))) static void text_add(Text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (t->failed || n < 0)
        return;
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = (t->len + (size_t)n + 1) * 2;
        char *grown = realloc(t->data, cap);
        if (!grown) {
            t->failed = 1;
            return;
        }
        t->data = grown;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->data + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

static void text_base64(Text *t, const uint8_t *p, size_t n)
{
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        text_add(t, "%c%c%c%c", digits[v >> 18], digits[v >> 12 & 63],
                 i + 1 < n ? digits[v >> 6 & 63] : '=', i + 2 < n ? digits[v & 63] : '=');
    }
}

// One attribute as Philips writes them: its DICOM group and element, and its type.
static void attr(Text *t, int depth, const char *name, unsigned group, unsigned element,
                 const char *type, const char *value)
{
    text_add(t, "%*s<Attribute Name=\"%s\" Group=\"0x%04X\" Element=\"0x%04X\" "
             "PMSVR=\"%s\">%s</Attribute>\n", depth, "", name, group, element, type, value);
}

// The label as a standalone baseline JPEG (JFIF, YCbCr 4:2:0), as Philips keeps it in
// the XML; *out is malloc'd.
static int label_jpeg(const Options *o, const Painter *p, unsigned char **out,
                      unsigned long *len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    *out = NULL;
    *len = 0;
    jpeg_mem_dest(&c, out, len);
    c.image_width = LABEL_W;
    c.image_height = LABEL_H;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, (int)o->quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    uint8_t row[3 * LABEL_W];
    for (uint32_t y = 0; y < LABEL_H; y++) {
        label_row(p, y, LABEL_W, row);
        JSAMPROW rows[1] = {row};
        jpeg_write_scanlines(&c, rows, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    return *out ? 0 : tool_fail(o->out, "cannot encode the label");
}

// Stored size of a reduced level: padded to whole tiles, never past the level above.
static uint32_t padded(uint32_t v, uint32_t tile, uint32_t above)
{
    uint64_t p = ((uint64_t)v + tile - 1) / tile * tile;
    return p < above ? (uint32_t)p : above;
}

static void philips_xml(Text *t, const Options *o, const uint8_t *label, size_t label_len)
{
    char value[256];
    text_add(t, "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n"
                "<DataObject ObjectType=\"DPUfsImport\">\n");
    attr(t, 1, "DICOM_ACQUISITION_DATETIME", 0x0008, 0x002A, "IString", "20261125101112.000000");
    attr(t, 1, "DICOM_DATE_OF_LAST_CALIBRATION", 0x0018, 0x1200, "IStringArray",
         "&quot;20261101&quot;");
    attr(t, 1, "DICOM_DEVICE_SERIAL_NUMBER", 0x0018, 0x1000, "IString", "FMT0042");
    attr(t, 1, "DICOM_MANUFACTURER", 0x0008, 0x0070, "IString", "PHILIPS");
    attr(t, 1, "DICOM_MANUFACTURERS_MODEL_NAME", 0x0008, 0x1090, "IString", "UFS Scanner");
    attr(t, 1, "DICOM_SOFTWARE_VERSIONS", 0x0018, 0x1020, "IStringArray",
         "&quot;1.8.6824&quot; &quot;20180906_R51&quot;");
    text_add(t, " <Attribute Name=\"PIM_DP_UFS_BARCODE\" Group=\"0x301D\" Element=\"0x1002\" "
                "PMSVR=\"IString\">");
    text_base64(t, (const uint8_t *)o->barcode, strlen(o->barcode));
    text_add(t, "</Attribute>\n");
    text_add(t, " <Attribute Name=\"PIM_DP_SCANNED_IMAGES\" Group=\"0x301D\" Element=\"0x1003\" "
                "PMSVR=\"IDataObjectArray\">\n  <Array>\n"
                "   <DataObject ObjectType=\"DPScannedImage\">\n");
    // "levels=": the objective first, as the scanners that record it do.
    snprintf(value, sizeof value, "tiff-useBigTIFF=0-useRgb=%d-levels=%d-processing=0-q%u-"
             "sourceFilename=&quot;synthetic&quot;", !o->ycbcr, o->mpp >= 0.4 ? 20 : 40,
             o->quality);
    attr(t, 4, "DICOM_DERIVATION_DESCRIPTION", 0x0008, 0x2111, "IString", value);
    attr(t, 4, "DICOM_LOSSY_IMAGE_COMPRESSION", 0x0028, 0x2110, "IString", "01");
    attr(t, 4, "DICOM_LOSSY_IMAGE_COMPRESSION_METHOD", 0x0028, 0x2114, "IStringArray",
         "&quot;PHILIPS_DP_1_0&quot;");
    snprintf(value, sizeof value, "&quot;%.9g&quot; &quot;%.9g&quot;", o->mpp / 1000,
             o->mpp / 1000);
    attr(t, 4, "DICOM_PIXEL_SPACING", 0x0028, 0x0030, "IDoubleArray", value);
    snprintf(value, sizeof value, "%u", o->width);
    attr(t, 4, "PIM_DP_IMAGE_COLUMNS", 0x301D, 0x1007, "IUInt32", value);
    snprintf(value, sizeof value, "%u", o->height);
    attr(t, 4, "PIM_DP_IMAGE_ROWS", 0x301D, 0x1006, "IUInt32", value);
    attr(t, 4, "PIM_DP_IMAGE_TYPE", 0x301D, 0x1004, "IString", "WSI");
    text_add(t, "    <Attribute Name=\"PIIM_PIXEL_DATA_REPRESENTATION_SEQUENCE\" "
                "Group=\"0x1001\" Element=\"0x8B01\" PMSVR=\"IDataObjectArray\">\n"
                "     <Array>\n");
    uint32_t sw = o->width, sh = o->height;
    double ds = 1;
    for (uint32_t l = 0; l < o->levels; l++, ds *= o->step) {
        if (l > 0) {
            sw = padded(level_dim(o->width, o->step, l), o->tile, sw);
            sh = padded(level_dim(o->height, o->step, l), o->tile, sh);
        }
        text_add(t, "      <DataObject ObjectType=\"PixelDataRepresentation\">\n");
        snprintf(value, sizeof value, "&quot;%.9g&quot; &quot;%.9g&quot;", o->mpp * ds / 1000,
                 o->mpp * ds / 1000);
        attr(t, 7, "DICOM_PIXEL_SPACING", 0x0028, 0x0030, "IDoubleArray", value);
        snprintf(value, sizeof value, "%u", sw);
        attr(t, 7, "PIIM_PIXEL_DATA_REPRESENTATION_COLUMNS", 0x2001, 0x115E, "IUInt32", value);
        snprintf(value, sizeof value, "%u", l);
        attr(t, 7, "PIIM_PIXEL_DATA_REPRESENTATION_NUMBER", 0x1001, 0x8B02, "IUInt16", value);
        snprintf(value, sizeof value, "%u", sh);
        attr(t, 7, "PIIM_PIXEL_DATA_REPRESENTATION_ROWS", 0x2001, 0x115D, "IUInt32", value);
        text_add(t, "      </DataObject>\n");
    }
    text_add(t, "     </Array>\n    </Attribute>\n   </DataObject>\n");
    if (label) {
        text_add(t, "   <DataObject ObjectType=\"DPScannedImage\">\n"
                    "    <Attribute Name=\"PIM_DP_IMAGE_DATA\" Group=\"0x301D\" "
                    "Element=\"0x1005\" PMSVR=\"IString\">");
        text_base64(t, label, label_len);
        text_add(t, "</Attribute>\n");
        attr(t, 4, "PIM_DP_IMAGE_TYPE", 0x301D, 0x1004, "IString", "LABELIMAGE");
        text_add(t, "   </DataObject>\n");
    }
    text_add(t, "  </Array>\n </Attribute>\n</DataObject>\n");
}

// Levels as tiled directories (reduced ones padded to whole tiles, bare glass left out),
// then the macro as a stripped directory described "Macro"; the label only in the XML.
static int write_philips(TIFF *tif, const Options *o, const Scene *sc)
{
    Sampler sm;
    sampler_init(&sm, sc);
    float acc[3 * MACRO_W];
    LabelArt art;
    label_init(&art, o->barcode);
    Painter p = {.sm = &sm, .acc = acc, .art = &art};
    unsigned char *label = NULL;
    unsigned long label_len = 0;
    if (o->label && label_jpeg(o, &p, &label, &label_len) != 0)
        return -1;
    Text xml = {0};
    philips_xml(&xml, o, label, label_len);
    free(label);
    if (xml.failed) {
        free(xml.data);
        return tool_fail(o->out, "out of memory for the XML description");
    }
    int rc = 0;
    uint32_t sw = o->width, sh = o->height;
    for (uint32_t l = 0; rc == 0 && l < o->levels; l++) {
        uint32_t lw = level_dim(o->width, o->step, l);
        uint32_t lh = level_dim(o->height, o->step, l);
        if (l > 0) {
            sw = padded(lw, o->tile, sw);
            sh = padded(lh, o->tile, sh);
        }
        rc = write_level(tif, o, sc, l, lw, lh, sw, sh, l == 0 ? xml.data : "level");
    }
    free(xml.data);
    if (rc == 0 && o->macro) {
        macro_layout(o, &p);
        rc = write_stripped(tif, o, "macro", MACRO_W, MACRO_H, 1, 0, "Macro", macro_row, &p);
    }
    return rc;
}

// ---------------------------------------------------------------- Leica SCN

#define SCN_NS "http://www.leica-microsystems.com/scn/2010/10/01"
#define SCN_MACRO_NM 4000 // the macro's pixel: 4 um

// Where the scanned image lies on the glass, in level-0 pixels: a margin of whole tiles
// of the smallest level on every side, so its tiles fall on the glass's tile grid at every
// level.
static uint32_t scn_margin(const Options *o)
{
    uint32_t m = o->tile;
    for (uint32_t l = 1; l < o->levels; l++)
        m *= o->step;
    return m;
}

static void scn_xml(Text *t, const Options *o, uint32_t first_level_ifd, uint32_t macro_w,
                    uint32_t macro_h)
{
    uint64_t nm = (uint64_t)(o->mpp * 1000 + 0.5), margin = scn_margin(o);
    uint64_t glass_w = (o->width + 2 * margin) * nm, glass_h = (o->height + 2 * margin) * nm;
    text_add(t, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<scn xmlns=\"" SCN_NS "\">\n"
                " <collection name=\"synthetic\" uuid=\"urn:uuid:5f9e0c1a-0000-4000-8000-"
                "000000000001\" sizeX=\"%llu\" sizeY=\"%llu\">\n  <barcode>",
             (unsigned long long)glass_w, (unsigned long long)glass_h);
    text_base64(t, (const uint8_t *)o->barcode, strlen(o->barcode));
    text_add(t, "</barcode>\n");
    // The macro: the whole glass (offset 0, the collection's size).
    text_add(t, "  <image name=\"macro\" uuid=\"urn:uuid:5f9e0c1a-0000-4000-8000-000000000002\">\n"
                "   <creationDate>2026-11-25T10:11:12.00Z</creationDate>\n"
                "   <device model=\"Leica SCN400;Leica SCN\" version=\"1.5.1.10804 "
                "2012/05/10 13:29:07;1.5.1.10864\"/>\n"
                "   <pixels sizeX=\"%u\" sizeY=\"%u\">\n"
                "    <dimension sizeX=\"%u\" sizeY=\"%u\" r=\"0\" ifd=\"0\"/>\n   </pixels>\n"
                "   <view sizeX=\"%llu\" sizeY=\"%llu\" offsetX=\"0\" offsetY=\"0\" "
                "spacingZ=\"0\"/>\n"
                "   <scanSettings><objectiveSettings><objective>0.1625</objective>"
                "</objectiveSettings><illuminationSettings><numericalAperture>0.0045"
                "</numericalAperture><illuminationSource>brightfield</illuminationSource>"
                "</illuminationSettings></scanSettings>\n  </image>\n",
             macro_w, macro_h, macro_w, macro_h, (unsigned long long)glass_w,
             (unsigned long long)glass_h);
    text_add(t, "  <image name=\"main\" uuid=\"urn:uuid:5f9e0c1a-0000-4000-8000-000000000003\">\n"
                "   <creationDate>2026-11-25T10:11:12.00Z</creationDate>\n"
                "   <device model=\"Leica SCN400;Leica SCN\" version=\"1.5.1.10804 "
                "2012/05/10 13:29:07;1.5.1.10864\"/>\n"
                "   <pixels sizeX=\"%u\" sizeY=\"%u\">\n", o->width, o->height);
    for (uint32_t l = 0; l < o->levels; l++)
        text_add(t, "    <dimension sizeX=\"%u\" sizeY=\"%u\" r=\"%u\" ifd=\"%u\"/>\n",
                 level_dim(o->width, o->step, l), level_dim(o->height, o->step, l), l,
                 first_level_ifd + l);
    text_add(t, "   </pixels>\n"
                "   <view sizeX=\"%llu\" sizeY=\"%llu\" offsetX=\"%llu\" offsetY=\"%llu\" "
                "spacingZ=\"0\"/>\n"
                "   <scanSettings><objectiveSettings><objective>%d</objective>"
                "</objectiveSettings><illuminationSettings><numericalAperture>0.4"
                "</numericalAperture><illuminationSource>brightfield</illuminationSource>"
                "</illuminationSettings></scanSettings>\n  </image>\n </collection>\n</scn>\n",
             (unsigned long long)(o->width * nm), (unsigned long long)(o->height * nm),
             (unsigned long long)(margin * nm), (unsigned long long)(margin * nm),
             o->mpp >= 0.4 ? 20 : 40);
}

// The whole glass seen from above: blue-grey glass, the scanned area's picture at its place.
static void scn_macro_row(const Painter *p, uint32_t y, uint32_t w, uint8_t *out)
{
    double fy = y + 0.5;
    uint32_t xa = 0, xb = 0;
    if (fy >= p->ry0 && fy < p->ry0 + p->rh) {
        xa = (uint32_t)ceil(p->rx0 - 0.5);
        xb = (uint32_t)ceil(p->rx0 + p->rw - 0.5);
        xb = xb < w ? xb : w;
        if (xb > xa)
            pixel_row(p->sm, xa - p->rx0, y - p->ry0, 1.0 / p->k, 1.0 / p->k, 2, xb - xa,
                      p->acc);
    }
    for (uint32_t x = 0; x < w; x++) {
        float rgb[3] = {196, 204, 214};
        if (x >= xa && x < xb)
            for (int k = 0; k < 3; k++)
                rgb[k] = p->acc[3 * (x - xa) + k];
        for (int k = 0; k < 3; k++)
            out[3 * x + k] = to_u8(rgb[k]);
    }
}

// The macro (tiled, IFD 0, whose description is the XML), then the scanned image's levels,
// each with its resolution (OpenSlide takes the pixel size from level 0's).
static int write_scn(TIFF *tif, const Options *o, const Scene *sc)
{
    uint32_t margin = scn_margin(o);
    double glass_w = (double)(o->width + 2 * margin), glass_h = (double)(o->height + 2 * margin);
    double k = o->mpp * 1000 / SCN_MACRO_NM;        // macro pixels per level-0 pixel
    uint32_t macro_w = (uint32_t)(glass_w * k + 0.5), macro_h = (uint32_t)(glass_h * k + 0.5);
    if (macro_w < 16 || macro_h < 16 || macro_w > 65535 || macro_h > 65535)
        return tool_fail(o->out, "the glass makes a macro of %ux%u pixels", macro_w, macro_h);
    Text xml = {0};
    scn_xml(&xml, o, 1, macro_w, macro_h);
    if (xml.failed) {
        free(xml.data);
        return tool_fail(o->out, "out of memory for the XML description");
    }
    Sampler sm;
    sampler_init(&sm, sc);
    float *acc = malloc((size_t)macro_w * 3 * sizeof *acc);
    uint8_t *tile = malloc((size_t)o->tile * o->tile * 3);
    Painter p = {.sm = &sm, .acc = acc, .k = k, .rx0 = margin * k, .ry0 = margin * k,
                 .rw = o->width * k, .rh = o->height * k};
    const uint32_t T = o->tile;
    int rc = acc && tile ? 0 : tool_fail(o->out, "out of memory for the macro");
    if (rc == 0 && (!set_basic(tif, macro_w, macro_h, xml.data) || !set_jpeg(tif, o) ||
                    !TIFFSetField(tif, TIFFTAG_TILEWIDTH, T) ||
                    !TIFFSetField(tif, TIFFTAG_TILELENGTH, T)))
        rc = tool_fail(o->out, "cannot set tags of the macro");
    uint8_t *row = rc == 0 ? malloc((size_t)macro_w * 3) : NULL;
    if (rc == 0 && !row)
        rc = tool_fail(o->out, "out of memory for the macro");
    // Tile rows at a time: paint T rows of the macro, cut them into tiles.
    uint8_t *band = rc == 0 ? malloc((size_t)macro_w * 3 * T) : NULL;
    if (rc == 0 && !band)
        rc = tool_fail(o->out, "out of memory for the macro");
    for (uint32_t ty = 0; rc == 0 && ty < macro_h; ty += T) {
        for (uint32_t j = 0; j < T; j++) {
            if (ty + j < macro_h)
                scn_macro_row(&p, ty + j, macro_w, band + (size_t)j * macro_w * 3);
            else
                memset(band + (size_t)j * macro_w * 3, 255, (size_t)macro_w * 3);
        }
        for (uint32_t tx = 0; rc == 0 && tx < macro_w; tx += T) {
            for (uint32_t j = 0; j < T; j++) {
                uint32_t cols = macro_w - tx < T ? macro_w - tx : T;
                memcpy(tile + (size_t)j * T * 3, band + ((size_t)j * macro_w + tx) * 3,
                       (size_t)cols * 3);
                memset(tile + ((size_t)j * T + cols) * 3, 255, (size_t)(T - cols) * 3);
            }
            if (TIFFWriteTile(tif, tile, tx, ty, 0, 0) < 0)
                rc = tool_fail(o->out, "cannot write the macro");
        }
    }
    if (rc == 0 && !TIFFWriteDirectory(tif))
        rc = tool_fail(o->out, "cannot write directory of the macro");
    free(band);
    free(row);
    free(tile);
    free(acc);
    free(xml.data);
    for (uint32_t l = 0; rc == 0 && l < o->levels; l++) {
        uint32_t lw = level_dim(o->width, o->step, l), lh = level_dim(o->height, o->step, l);
        rc = write_level(tif, o, sc, l, lw, lh, lw, lh, "Leica SCN");
    }
    return rc;
}

// ---------------------------------------------------------------- 3DHistech TIFF

// Every level a tiled JPEG directory whose description begins with CR LF, then its
// size, tile size, coding and the scan's values between bars; the pixel size in µm.
static int write_histech(TIFF *tif, const Options *o, const Scene *sc)
{
    int rc = 0;
    for (uint32_t l = 0; rc == 0 && l < o->levels; l++) {
        uint32_t lw = level_dim(o->width, o->step, l), lh = level_dim(o->height, o->step, l);
        double mpp = o->mpp * o->width / lw;
        char desc[400];
        snprintf(desc, sizeof desc,
                 "\r\n%ux%u (%ux%u) JPEG/RGB Q=%u|Date = 25/11/2025|Time = 17:05:09"
                 "|MPP = %.6g|3dh_PixelSizeX = %.6g|3dh_PixelSizeY = %.6g"
                 "|3dh_Filter = Default|3dh_Profile = Current Profile",
                 lw, lh, o->tile, o->tile, o->quality, mpp, mpp, mpp);
        // Reduced levels say so, as a generic TIFF reader requires.
        if (l > 0 && !TIFFSetField(tif, TIFFTAG_SUBFILETYPE, FILETYPE_REDUCEDIMAGE))
            rc = tool_fail(o->out, "cannot set tags of level %u", l);
        if (rc == 0)
            rc = write_level(tif, o, sc, l, lw, lh, lw, lh, desc);
    }
    return rc;
}

// ---------------------------------------------------------------- options

static void usage(FILE *f)
{
    fprintf(f,
            "usage: " PROG " OUT.svs [--format aperio|philips|scn|3dhistech] [--width W]\n"
            "       [--height H]\n"
            "       [--tile T] [--mpp X]\n"
            "       [--levels N] [--level-step S] [--quality Q] [--colour rgb|ycbcr]\n"
            "       [--no-label] [--no-macro] [--no-thumbnail] [--seed N]\n"
            "       [--barcode TEXT] [--threads N]\n"
            "defaults: 3000 x 2000, tile 240, mpp 0.25, 3 levels, step 4, Q 80,\n"
            "          rgb, seed 1, barcode SYNTH-0001, threads = CPUs (max 16)\n"
            "philips: a Philips TIFF (levels padded to whole tiles, sparse, label in the\n"
            "         XML, no thumbnail); its --level-step is 2 unless given\n"
            "scn: a Leica SCN BigTIFF (the picture placed on the glass, a tiled macro of\n"
            "     the whole glass, barcode in the XML, no label); --level-step 2 too\n"
            "3dhistech: a 3DHistech TIFF (levels only, MPP and 3dh_PixelSize in each\n"
            "           description); --level-step 2 too\n");
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, PROG ": ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see " PROG " --help)\n");
    va_end(ap);
    return 2;
}

static int parse_args(int argc, char **argv, Options *o)
{
    *o = (Options){
        .width = 3000, .height = 2000, .tile = 240, .mpp = 0.25,
        .levels = 3, .step = 4, .quality = 80, .ycbcr = 0,
        .label = 1, .macro = 1, .thumbnail = 1, .seed = 1,
        .barcode = "SYNTH-0001",
    };
    int step_given = 0;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    o->threads = cpus < 1 ? 1 : (cpus > 16 ? 16 : (uint32_t)cpus);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--no-label")) {
            o->label = 0;
            continue;
        } else if (!strcmp(a, "--no-macro")) {
            o->macro = 0;
            continue;
        } else if (!strcmp(a, "--no-thumbnail")) {
            o->thumbnail = 0;
            continue;
        } else if (a[0] == '-' && a[1] != '\0') {
            static const char *const valued[] = {
                "--width", "--height", "--tile", "--levels", "--level-step",
                "--quality", "--threads", "--seed", "--mpp", "--colour",
                "--color", "--barcode", "--format",
            };
            int known = 0;
            for (size_t k = 0; k < sizeof valued / sizeof *valued; k++)
                known |= !strcmp(a, valued[k]);
            if (!known)
                return usage_error("unknown option %s", a);
            if (!v)
                return usage_error("option %s needs a value", a);
            if (!strcmp(a, "--width"))
                bad = !tool_parse_u32(v, 1, 1000000, &o->width);
            else if (!strcmp(a, "--height"))
                bad = !tool_parse_u32(v, 1, 1000000, &o->height);
            else if (!strcmp(a, "--tile"))
                bad = !tool_parse_u32(v, 16, 4096, &o->tile) || o->tile % 16;
            else if (!strcmp(a, "--levels"))
                bad = !tool_parse_u32(v, 1, 16, &o->levels);
            else if (!strcmp(a, "--level-step"))
                bad = !tool_parse_u32(v, 2, 64, &o->step), step_given = 1;
            else if (!strcmp(a, "--format")) {
                bad = strcmp(v, "aperio") && strcmp(v, "philips") && strcmp(v, "scn") &&
                      strcmp(v, "3dhistech");
                o->format = !strcmp(v, "philips")     ? FORMAT_PHILIPS
                            : !strcmp(v, "scn")       ? FORMAT_SCN
                            : !strcmp(v, "3dhistech") ? FORMAT_HISTECH
                                                      : FORMAT_APERIO;
            }
            else if (!strcmp(a, "--quality"))
                bad = !tool_parse_u32(v, 1, 100, &o->quality);
            else if (!strcmp(a, "--threads"))
                bad = !tool_parse_u32(v, 1, MAX_THREADS, &o->threads);
            else if (!strcmp(a, "--seed"))
                bad = !tool_parse_u32(v, 0, UINT32_MAX, &o->seed);
            else if (!strcmp(a, "--mpp")) {
                char *end;
                o->mpp = strtod(v, &end);
                bad = *end || end == v || !(o->mpp >= 0.01 && o->mpp <= 100.0);
            } else if (!strcmp(a, "--colour") || !strcmp(a, "--color")) {
                bad = strcmp(v, "rgb") && strcmp(v, "ycbcr");
                o->ycbcr = !strcmp(v, "ycbcr");
            } else if (!strcmp(a, "--barcode")) {
                // '|' would split the property list; keep it printable ASCII
                size_t len = strlen(v);
                bad = len == 0 || len > 64;
                for (const char *c = v; *c; c++)
                    bad |= *c < 0x20 || *c > 0x7e || *c == '|';
                o->barcode = v;
            }
            if (bad)
                return usage_error("bad value for %s", a);
            i++;
            continue;
        } else if (!o->out) {
            o->out = a;
            continue;
        }
        return usage_error("unexpected argument %s", a);
    }
    if (!o->out)
        return usage_error("%s", "missing output file");
    if (o->format != FORMAT_APERIO && !step_given)
        o->step = 2; // Philips, our SCN and 3DHistech halve each level
    if (level_dim(o->width, o->step, o->levels - 1) < 1 ||
        level_dim(o->height, o->step, o->levels - 1) < 1)
        return usage_error("%s", "too many levels for the image size");
    return 0;
}

int main(int argc, char **argv)
{
    tool_begin(PROG);
    Options o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;

    TIFFSetErrorHandler(tool_keep_complaint);
    TIFFSetWarningHandler(tool_print_warning);

    Scene sc;
    if (scene_init(&sc, &o) != 0) {
        tool_fail(o.out, "out of memory");
        return 1;
    }

    // Estimate ~1:8 JPEG; past 3.5 GB use BigTIFF to be safe of 4 GB offsets.
    double estimate = (double)o.width * o.height * 3.0 / 8.0;
    TIFF *tif = TIFFOpen(o.out, estimate > 3.5e9 ? "w8" : "w");
    if (!tif) {
        tool_fail(o.out, "cannot create file");
        free(sc.field);
        return 1;
    }
    if (o.format == FORMAT_SCN) {
        TIFFClose(tif); // Leica writes BigTIFF whatever the size
        tif = TIFFOpen(o.out, "w8");
        if (!tif) {
            tool_fail(o.out, "cannot create file");
            free(sc.field);
            return 1;
        }
    }
    rc = o.format == FORMAT_PHILIPS ? write_philips(tif, &o, &sc)
         : o.format == FORMAT_SCN     ? write_scn(tif, &o, &sc)
         : o.format == FORMAT_HISTECH ? write_histech(tif, &o, &sc)
                                      : write_slide(tif, &o, &sc);
    TIFFClose(tif);
    free(sc.field);
    if (rc != 0) {
        // only a regular file is ours to delete (never e.g. /dev/null)
        struct stat st;
        if (stat(o.out, &st) == 0 && S_ISREG(st.st_mode))
            remove(o.out);
        return 1;
    }
    return 0;
}
