// SPDX-License-Identifier: Apache-2.0
/* A microscopy file's grey planes to WSM; see microscopy.h and docs/microscopy.md. */
#include "convert/microscopy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "dicom/part10.h"
#include "dicom/source_terms.h"
#include "pipeline/grey_pyramid.h"

// Rows read at a time in the first pass over float and 32-bit planes.
#define SCAN_ROWS 64u

// Display colours of channels whose file gives none (one channel: white).
static const uint8_t default_colours[][3] = {
    {0, 0, 255}, {0, 255, 0}, {255, 0, 0}, {255, 0, 255}, {0, 255, 255}, {255, 255, 0},
    {255, 255, 255},
};

bool s2d_micro_applies(s2d_source *src, const s2d_convert_options *o, char reason[160])
{
    char why[128] = "";
    bool applies;
    if (!s2d_source_planes(src)) {
        return false;
    }
    if (o->kind) {
        applies = strcmp(o->kind, "microscopy") == 0;
        snprintf(why, sizeof why, "--kind %s", o->kind);
    } else if (o->modality) {
        applies = !strcmp(o->modality, "SM") || !strcmp(o->modality, "GM");
        snprintf(why, sizeof why, "--modality %s", o->modality);
    } else {
        applies = s2d_source_kind(src, why) == S2D_KIND_MICROSCOPY;
    }
    if (applies && reason) {
        snprintf(reason, 160, "%s", why);
    }
    return applies;
}

// The codec --codec names for these samples: JPEG-LS unless another is named (lossless,
// three times JPEG 2000's speed at 16 bits for the same size on noisy fluorescence, and
// decoded by the same viewers: docs/microscopy.md); JPEG only for 8 bits.
static const s2d_codec *chosen_codec(const s2d_micro *m, s2d_error *err)
{
    const char *name = m->opts->codec ? m->opts->codec : "jpeg-ls";
    const s2d_codec *codec = s2d_codec_named(name);
    if (!codec || codec == &s2d_codec_deflated || codec == &s2d_codec_rle) {
        s2d_error_set(err, S2D_ERR_USAGE,
                      "--codec %s: microscopy planes take jpeg-ls (default), j2k, native or, "
                      "for 8-bit samples, jpeg", name);
        return NULL;
    }
    s2d_pixdesc frame = {.width = (uint32_t)m->desc.tile, .height = (uint32_t)m->desc.tile,
                         .samples = 1, .bits_allocated = (uint16_t)m->bits,
                         .bits_stored = (uint16_t)m->bits,
                         .colour = S2D_COLOUR_MONO_MIN_IS_BLACK};
    if (!codec->accepts(&frame)) {
        s2d_error_set(err, S2D_ERR_USAGE, "--codec %s cannot carry %d-bit samples", name,
                      m->bits);
        return NULL;
    }
    return codec;
}

static int page_of(const s2d_plane_layout *l, int c, int z, int t)
{
    return l->page[c + l->nc * (z + l->nz * t)];
}

// A sample of the stored type at index i of a row, as a double.
static double sample_at(const s2d_pixdesc *d, const void *row, size_t i)
{
    if (d->is_float) {
        return ((const float *)row)[i];
    }
    if (d->bits_allocated == 32) {
        return d->is_signed ? (double)((const int32_t *)row)[i]
                            : (double)((const uint32_t *)row)[i];
    }
    if (d->bits_allocated == 16) {
        return d->is_signed ? ((const int16_t *)row)[i] : ((const uint16_t *)row)[i];
    }
    return d->is_signed ? ((const int8_t *)row)[i] : ((const uint8_t *)row)[i];
}

// The smallest and largest finite sample over every plane of channel c.
static bool channel_range(s2d_micro *m, int c, double *lo, double *hi, s2d_error *err)
{
    const s2d_plane_layout *l = m->layout;
    size_t row_bytes = (size_t)m->stored.width * s2d_pixdesc_sample_bytes(&m->stored);
    uint8_t *rows = malloc(row_bytes * SCAN_ROWS);
    if (!rows) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    *lo = INFINITY;
    *hi = -INFINITY;
    bool ok = true;
    for (int t = 0; ok && t < l->nt; t++) {
        for (int z = 0; ok && z < l->nz; z++) {
            int page = page_of(l, c, z, t);
            for (uint32_t y = 0; ok && y < m->stored.height; y += SCAN_ROWS) {
                uint32_t n = m->stored.height - y < SCAN_ROWS ? m->stored.height - y : SCAN_ROWS;
                ok = s2d_source_read_rows(m->src, page, y, n, rows, row_bytes, err);
                for (size_t i = 0; ok && i < (size_t)n * m->stored.width; i++) {
                    double v = sample_at(&m->stored, rows, i);
                    if (isfinite(v)) {
                        *lo = v < *lo ? v : *lo;
                        *hi = v > *hi ? v : *hi;
                    }
                }
            }
        }
    }
    free(rows);
    if (ok && *lo > *hi) {
        *lo = *hi = 0;   // no finite sample at all: every one is written as 0
    }
    return ok;
}

// How each channel's samples map (docs/microscopy.md): unsigned 8 and 16 bits as they are,
// signed ones offset, float and 32-bit ones scaled into 16 bits over the channel's range.
static bool map_channels(s2d_micro *m, s2d_error *err)
{
    const s2d_pixdesc *d = &m->stored;
    bool scaled = d->is_float || d->bits_allocated == 32;
    m->bits = d->bits_allocated == 8 ? 8 : 16;
    for (int c = 0; c < m->layout->nc; c++) {
        s2d_channel_map *map = &m->maps[c];
        *map = (s2d_channel_map){.min = 0, .slope = 1, .identity = !d->is_signed && !scaled};
        if (d->is_signed && !scaled) {
            map->min = d->bits_allocated == 8 ? -128 : -32768;
        } else if (scaled) {
            double lo = 0, hi = 0;
            if (!channel_range(m, c, &lo, &hi, err)) {
                return false;
            }
            map->min = lo;
            map->slope = hi > lo ? (hi - lo) / 65535.0 : 1;
            if (!d->is_float && map->slope < 1) {
                map->slope = 1;   // integers are not spread over values between them
            }
        }
    }
    return true;
}

// Channel c's optical path: its name, wavelengths and colour (docs/microscopy.md).
static void describe_channel(s2d_micro *m, int c)
{
    const s2d_source_meta *meta = s2d_source_meta_of(m->src);
    const s2d_source_channel *ch = (size_t)c < meta->nchannels ? &meta->channels[c] : NULL;
    s2d_optical_path *p = &m->paths[c];
    snprintf(m->path_words[c].id, sizeof m->path_words[c].id, "%d", c + 1);
    if (ch && ch->name[0]) {
        snprintf(m->path_words[c].name, sizeof m->path_words[c].name, "%s", ch->name);
    } else {
        snprintf(m->path_words[c].name, sizeof m->path_words[c].name, "Channel %d", c + 1);
    }
    // The palette's colours are sRGB, which the profile says (a palette needs one:
    // C.8.12.5.1.1).
    *p = (s2d_optical_path){.identifier = m->path_words[c].id,
                            .description = m->path_words[c].name, .fluorescence = true,
                            .objective_power = m->shared->objective_power,
                            .icc_profile = m->shared->icc_profile,
                            .icc_profile_len = m->shared->icc_profile_len,
                            .icc_is_srgb = m->shared->icc_is_srgb, .has_colour = true};
    if (ch) {
        p->excitation_nm = ch->excitation_nm;
        p->emission_nm = ch->emission_nm;
    }
    const uint8_t *colour = ch && ch->has_colour ? ch->colour
                            : m->layout->nc == 1 ? default_colours[6]
                                                 : default_colours[c % 7];
    memcpy(p->colour, colour, 3);
}

bool s2d_micro_plan(s2d_micro *m, s2d_error *err)
{
    const s2d_plane_layout *l = m->layout = s2d_source_planes(m->src);
    if (!l || l->nc < 1 || l->nz < 1 || l->nt < 1) {
        return s2d_error_set(err, S2D_ERR_INPUT, "no microscopy planes");
    }
    m->stored = s2d_source_page(m->src, l->page[0])->pix;
    if (m->stored.samples != 1) {
        return s2d_error_set(err, S2D_ERR_INPUT, "%u samples a pixel: microscopy planes must "
                             "be grey", m->stored.samples);
    }
    int nc = l->nc;
    m->maps = calloc((size_t)nc, sizeof *m->maps);
    m->paths = calloc((size_t)nc, sizeof *m->paths);
    m->path_words = calloc((size_t)nc, sizeof *m->path_words);
    if (!m->maps || !m->paths || !m->path_words) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    if (!map_channels(m, err)) {
        return false;
    }
    for (int c = 0; c < nc; c++) {
        describe_channel(m, c);
    }
    m->camera = (s2d_optical_path){.identifier = "0", .icc_profile = m->shared->icc_profile,
                                   .icc_profile_len = m->shared->icc_profile_len,
                                   .icc_is_srgb = m->shared->icc_is_srgb,
                                   .objective_power = m->shared->objective_power};
    const s2d_convert_options *o = m->opts;
    s2d_grey_pyramid levels = {.width = m->stored.width, .height = m->stored.height,
                               .tile = o->tile_size > 0 ? o->tile_size : 256};
    s2d_grey_pyramid_levels(&levels);
    int keep = o->max_levels > 0 && o->max_levels < levels.nlevels ? o->max_levels
                                                                     : levels.nlevels;
    for (int i = 0; i < keep; i++) {
        m->level_w[i] = levels.levels[i].width;
        m->level_h[i] = levels.levels[i].height;
    }
    // Several focal planes need their spacing (Spacing Between Slices, Type 1C); we do not
    // invent one.
    m->z_spacing_um = o->z_spacing > 0 ? o->z_spacing : l->z_spacing_um;
    if (l->nz > 1 && !o->z_series && m->z_spacing_um <= 0) {
        return s2d_error_set(err, S2D_ERR_INPUT, "%d z planes whose spacing the file does not "
                             "record; pass --z-spacing MICRONS, or --z series", l->nz);
    }
    m->desc = (s2d_planes_desc){.nc = nc, .nz = l->nz, .nt = l->nt, .bits = m->bits,
                                .tile = levels.tile, .nlevels = keep,
                                .level_width = m->level_w, .level_height = m->level_h,
                                .z_series = o->z_series, .only_t = o->only_t};
    if (!(m->desc.codec = chosen_codec(m, err))) {
        return false;
    }
    // De-identified: the label's writing and barcode, the overview that shows the label,
    // and a thumbnail the scanner made (its extent unknown) stay out; a replacement label
    // goes in.
    if (o->deidentify) {
        m->desc.label_w = m->label_rgb ? m->label_w : 0;
        m->desc.label_h = m->label_rgb ? m->label_h : 0;
    } else if (!o->no_label && l->label_page >= 0) {
        m->desc.label_w = s2d_source_page(m->src, l->label_page)->pix.width;
        m->desc.label_h = s2d_source_page(m->src, l->label_page)->pix.height;
    }
    if (!o->deidentify && !o->no_overview && l->overview_page >= 0) {
        m->desc.overview_w = s2d_source_page(m->src, l->overview_page)->pix.width;
        m->desc.overview_h = s2d_source_page(m->src, l->overview_page)->pix.height;
    }
    if (!o->deidentify && !o->no_thumbnail && l->thumbnail_page >= 0) {
        m->desc.thumbnail_w = s2d_source_page(m->src, l->thumbnail_page)->pix.width;
        m->desc.thumbnail_h = s2d_source_page(m->src, l->thumbnail_page)->pix.height;
    }
    if (!s2d_wsm_plan_planes(&m->desc, &m->plan, err)) {
        return false;
    }
    int nseries = s2d_planes_series_count(&m->desc);
    // A user's Series Instance UID would go into every instance and merge the series.
    if (nseries > 1 && m->shared->overrides &&
        s2d_ds_has(m->shared->overrides, s2d_dict_entry_of(S2D_KW_SeriesInstanceUID)->tag)) {
        return s2d_error_set(err, S2D_ERR_USAGE,
                             "a SeriesInstanceUID is given (--metadata or the manifest), and "
                             "this file makes %d series (one per time point or z plane): leave "
                             "it out, or write one series with --t N or --z stack", nseries);
    }
    m->series_uids = calloc((size_t)nseries, sizeof *m->series_uids);
    m->outputs = calloc(m->plan.ninstances, sizeof *m->outputs);
    if (!m->series_uids || !m->outputs) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    // The first series is the conversion's; each other one derives its own. A series of
    // the RGB images of the file (--associated-series separate) comes after them all.
    snprintf(m->series_uids[0], sizeof m->series_uids[0], "%s", m->shared->series_uid);
    if (m->shared->associated_series_uid[0]) {
        m->shared->associated_series_number = nseries + 1;
    }
    for (int s = 1; s < nseries; s++) {
        char role[32];
        snprintf(role, sizeof role, "series:%d", s + 1);
        if (!s2d_identity_uid(m->id, role, true, m->series_uids[s], err)) {
            return false;
        }
    }
    return true;
}

// ------------------------------------------------------------------ writing

typedef struct micro_run {
    s2d_micro *m;
    int *plane_channel;      // per plane of the run
    int *plane_page;
    int *plane_first_output; // the output of level 0 of the plane's channel and series
    uint8_t *stored_rows;    // a band of rows as stored, for samples that are mapped
    size_t stored_row_bytes;
    uint64_t not_finite;     // NaN and infinite samples written as 0
    uint64_t frames_done, frames_total;
    double t0;
} micro_run;

// Rows of a plane as unsigned samples: as they are, offset, or scaled.
static bool read_plane_rows(void *ctx, int plane, uint32_t y, uint32_t n, void *out,
                            size_t stride, s2d_error *err)
{
    micro_run *r = ctx;
    const s2d_micro *m = r->m;
    int page = r->plane_page[plane];
    const s2d_channel_map *map = &m->maps[r->plane_channel[plane]];
    if (map->identity) {
        return s2d_source_read_rows(m->src, page, y, n, out, stride, err);
    }
    if (!s2d_source_read_rows(m->src, page, y, n, r->stored_rows, r->stored_row_bytes, err)) {
        return false;
    }
    uint32_t w = m->stored.width;
    for (uint32_t k = 0; k < n; k++) {
        const uint8_t *from = r->stored_rows + (size_t)k * r->stored_row_bytes;
        uint8_t *to = (uint8_t *)out + (size_t)k * stride;
        for (uint32_t i = 0; i < w; i++) {
            double v = sample_at(&m->stored, from, i);
            double s = 0;
            if (isfinite(v)) {
                s = floor((v - map->min) / map->slope + 0.5);
                s = s < 0 ? 0 : s > 65535 ? 65535 : s;
            } else {
                r->not_finite++;
            }
            if (m->bits == 8) {
                to[i] = (uint8_t)s;
            } else {
                ((uint16_t *)to)[i] = (uint16_t)s;
            }
        }
    }
    return true;
}

static bool sink_frame(void *ctx, int plane, int level, uint32_t col, uint32_t row,
                       const uint8_t *frame, size_t len, s2d_error *err)
{
    (void)col;
    (void)row;
    micro_run *r = ctx;
    s2d_micro *m = r->m;
    if (level >= m->desc.nlevels) {
        return true;   // --levels left it out
    }
    s2d_output *out = &m->outputs[r->plane_first_output[plane] + level];
    if (!s2d_part10_add_frame(out->writer, frame, len, err)) {
        return false;
    }
    r->frames_done++;
    const s2d_convert_options *o = m->opts;
    if (o->progress) {
        s2d_progress p = {.level = level, .frames_done = r->frames_done,
                          .frames_total = r->frames_total,
                          .seconds = s2d_clock_seconds() - r->t0,
                          .megapixels = (double)m->stored.width * m->stored.height / 1e6};
        o->progress(o->callback_ctx, &p);
    }
    return true;
}

static bool open_writer(s2d_micro *m, const s2d_plan_instance *pi, const s2d_iod_instance *in,
                        s2d_output *out, s2d_error *err)
{
    bool native = pi->codec == &s2d_codec_native;
    if (m->opts->max_instance_bytes && native) {
        return s2d_error_set(err, S2D_ERR_USAGE, "--max-instance-size splits encoded frames "
                             "only; with --codec native it cannot");
    }
    // Encoded frames are laid out as a slide's: the extended offset table past 4 GiB, a
    // concatenation under --max-instance-size. Native Pixel Data has neither.
    s2d_codec_opts copts = {.quality = m->opts->quality};
    uint64_t frame_bits = s2d_pixdesc_frame_bits(&pi->pixels);
    s2d_part10_params params = {
        .nframes = pi->nframes,
        .uncompressed_bytes = (uint64_t)pi->nframes * ((frame_bits + 7) / 8),
        .native_frame_bits = native ? frame_bits : 0,
        .native_words = native && pi->pixels.bits_allocated == 16,
    };
    const s2d_output_context ctx = {.outdir = m->outdir, .id = m->id, .shared = m->shared};
    return s2d_output_open(&ctx, pi, in, &params, native ? 0 : pi->codec->bound(&pi->pixels, &copts),
                           out, err);
}

// The dataset values of planned instance pi.
static s2d_iod_instance instance_of(s2d_micro *m, const s2d_plan_instance *pi, int number)
{
    const s2d_plane_layout *l = m->layout;
    const s2d_source_image *base = s2d_source_page(m->src, l->page[0]);
    bool level = pi->role == S2D_ROLE_LEVEL;
    const s2d_channel_map *map = level ? &m->maps[pi->channel] : NULL;
    s2d_iod_instance in = {
        .role = pi->role,
        .derived = level && pi->level > 0,
        .instance_number = number,
        .total_width = pi->width,
        .total_height = pi->height,
        .frame_width = (int)pi->frame_width,
        .frame_height = (int)pi->frame_height,
        .nframes = pi->nframes,
        .photometric = pi->codec->photometric(&pi->pixels),
        .samples_per_pixel = pi->pixels.samples,
        .bits_per_sample = pi->pixels.bits_allocated,
        .lossy_method = pi->codec->lossy_method,
        .series_uid = m->series_uids[pi->series],
        .series_number = pi->series + 1,
    };
    if (level) {
        in.downsample_x = (double)base->pix.width / (double)pi->width;
        in.downsample_y = (double)base->pix.height / (double)pi->height;
        in.optical_path = &m->paths[pi->channel];
        in.focal_planes = pi->focal_planes;
        in.z_spacing_mm = m->z_spacing_um / 1000.0;
        in.rescaled = !map->identity;
        in.rescale_intercept = map->min;
        in.rescale_slope = map->slope;
        const s2d_lossy_history *h = &base->history;
        in.source = (s2d_lossy_step){.lossy = h->known && h->method != S2D_LOSSY_NONE,
                                     .method = s2d_lossy_method_term(h->method),
                                     .ratio = h->ratio};
    } else {
        // An RGB image of the file: its own brightfield optical path, and a pixel size
        // when it is the whole slide made smaller.
        in.optical_path = &m->camera;
        if (pi->role == S2D_ROLE_THUMBNAIL) {
            in.downsample_x = (double)base->pix.width / (double)pi->width;
            in.downsample_y = (double)base->pix.height / (double)pi->height;
        }
    }
    return in;
}

// An RGB image as one JPEG frame.
static bool write_rgb_frame(const s2d_plan_instance *pi, const uint8_t *rgb, size_t stride,
                            int quality, s2d_output *out, s2d_error *err)
{
    s2d_codec_opts copts = {.quality = quality};
    void *enc = pi->codec->enc_new(&pi->pixels, &copts, err);
    const uint8_t *jpeg;
    size_t len;
    bool ok = enc && pi->codec->encode(enc, rgb, stride, &jpeg, &len, err) &&
              s2d_part10_add_frame(out->writer, jpeg, len, err);
    if (enc) {
        pi->codec->enc_free(enc);
    }
    return ok;
}

// An RGB page of the file (QPTIFF's label, overview, thumbnail), or the replacement label,
// as one JPEG frame.
static bool write_rgb_page(s2d_micro *m, const s2d_plan_instance *pi, s2d_output *out,
                           s2d_error *err)
{
    if (pi->role == S2D_ROLE_LABEL && m->label_rgb) {
        return write_rgb_frame(pi, m->label_rgb, (size_t)m->label_w * 3, m->opts->quality, out,
                               err);
    }
    const s2d_plane_layout *l = m->layout;
    int page = pi->role == S2D_ROLE_LABEL      ? l->label_page
               : pi->role == S2D_ROLE_OVERVIEW ? l->overview_page
                                               : l->thumbnail_page;
    const s2d_source_image *img = s2d_source_page(m->src, page);
    if (img->pix.samples != 3 || img->pix.bits_allocated != 8) {
        return s2d_error_set(err, S2D_ERR_INPUT, "page %d: a %s that is not 8-bit RGB", page,
                             pi->name);
    }
    size_t stride = (size_t)img->pix.width * 3;
    uint8_t *rgb = malloc(stride * img->pix.height);
    if (!rgb) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    bool ok = s2d_source_read_rows(m->src, page, 0, img->pix.height, rgb, stride, err) &&
              write_rgb_frame(pi, rgb, stride, m->opts->quality, out, err);
    free(rgb);
    return ok;
}

// The run's planes in the order their frames go to the instances: series, channel, z.
static bool order_planes(micro_run *r, int *nplanes, s2d_error *err)
{
    s2d_micro *m = r->m;
    const s2d_plane_layout *l = m->layout;
    int nseries = s2d_planes_series_count(&m->desc);
    int per_series = l->nc * (m->desc.z_series ? 1 : l->nz);
    int n = nseries * per_series;
    r->plane_channel = calloc((size_t)n, sizeof *r->plane_channel);
    r->plane_page = calloc((size_t)n, sizeof *r->plane_page);
    r->plane_first_output = calloc((size_t)n, sizeof *r->plane_first_output);
    if (!r->plane_channel || !r->plane_page || !r->plane_first_output) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    int p = 0;
    for (int s = 0; s < nseries; s++) {
        int t, zonly;
        s2d_planes_series_of(&m->desc, s, &t, &zonly);
        for (int c = 0; c < l->nc; c++) {
            for (int z = 0; z < l->nz; z++) {
                if (zonly >= 0 && z != zonly) {
                    continue;
                }
                r->plane_channel[p] = c;
                r->plane_page[p] = page_of(l, c, z, t);
                // The plan lists series, then channels, then levels (iod/wsm_planes.h).
                r->plane_first_output[p] = (s * l->nc + c) * m->desc.nlevels;
                p++;
            }
        }
    }
    *nplanes = n;
    return true;
}

bool s2d_micro_write(s2d_micro *m, s2d_error *err)
{
    int number = 1;
    for (size_t i = 0; i < m->plan.ninstances; i++) {
        const s2d_plan_instance *pi = &m->plan.instances[i];
        s2d_iod_instance in = instance_of(m, pi, number++);
        if (!open_writer(m, pi, &in, &m->outputs[m->noutputs], err)) {
            return false;
        }
        m->noutputs++;
    }
    micro_run r = {.m = m, .t0 = s2d_clock_seconds()};
    int nplanes = 0;
    bool ok = order_planes(&r, &nplanes, err);
    const s2d_convert_options *o = m->opts;
    s2d_grey_pyramid pyr = {.width = m->stored.width, .height = m->stored.height,
                            .tile = m->desc.tile, .bytes_per_sample = m->bits / 8,
                            .nplanes = nplanes, .codec = m->desc.codec,
                            .codec_opts = {.quality = o->quality},
                            .threads = o->threads, .interrupt = o->interrupt, .ctx = &r,
                            .read_rows = read_plane_rows, .sink = sink_frame};
    s2d_grey_pyramid_levels(&pyr);
    for (size_t i = 0; i < m->plan.ninstances; i++) {
        r.frames_total += m->plan.instances[i].role == S2D_ROLE_LEVEL
                              ? m->plan.instances[i].nframes : 0;
    }
    r.stored_row_bytes = (size_t)m->stored.width * s2d_pixdesc_sample_bytes(&m->stored);
    bool mapped = false;
    for (int c = 0; c < m->layout->nc; c++) {
        mapped = mapped || !m->maps[c].identity;
    }
    if (ok && mapped && !(r.stored_rows = malloc(r.stored_row_bytes * (size_t)pyr.tile))) {
        ok = s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    ok = ok && s2d_grey_pyramid_run(&pyr, err);
    if (ok && r.not_finite) {
        s2d_diag_warn(m->diag, "%s: %llu samples are NaN or infinite; written as 0", m->path,
                      (unsigned long long)r.not_finite);
    }
    for (size_t i = 0; ok && i < m->plan.ninstances; i++) {
        const s2d_plan_instance *pi = &m->plan.instances[i];
        if (pi->role != S2D_ROLE_LEVEL) {
            ok = write_rgb_page(m, pi, &m->outputs[i], err);
        }
    }
    for (int i = 0; ok && i < m->noutputs; i++) {
        ok = s2d_part10_complete(m->outputs[i].writer, err);
    }
    free(r.plane_channel);
    free(r.plane_page);
    free(r.plane_first_output);
    free(r.stored_rows);
    return ok;
}

void s2d_micro_free(s2d_micro *m)
{
    for (int i = 0; m->outputs && i < m->noutputs; i++) {
        s2d_part10_free(m->outputs[i].writer);
    }
    free(m->outputs);
    free(m->maps);
    free(m->paths);
    free(m->path_words);
    free(m->series_uids);
    s2d_plan_free(&m->plan);
    memset(m, 0, sizeof *m);
}
