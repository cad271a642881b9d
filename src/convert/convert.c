// SPDX-License-Identifier: Apache-2.0
/* One slide to one output directory: validate the options, open the source, describe the
 * slide (identity.h), plan the instances (iod/plan.h), open the writers, run the tile
 * pipeline (WSM's pyramid), write the associated images, then rename every file into place
 * (outdir.h).
 * Invariant: a file appears under its final name only when the whole conversion succeeded. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/codec.h"
#include "codec/frame_dec.h"
#include "convert/identity.h"
#include "convert/label.h"
#include "convert/outdir.h"
#include "convert/microscopy.h"
#include "convert/pages.h"
#include "convert/output.h"
#include "iod/wsm_levels.h"
#include "convert/report.h"
#include "core/clock.h"
#include "core/diag.h"
#include "dicom/part10.h"
#include "dicom/source_terms.h"
#include "iod/iod.h"
#include "iod/plan.h"
#include "pipeline/pyramid.h"
#include "source/source.h"
#include "slide2dcm/slide2dcm.h"

void s2d_convert_options_init(s2d_convert_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->quality = 90;
}

typedef struct job {
    const char *slide_path;
    const char *outdir;
    const s2d_convert_options *opts;
    s2d_source *reader;
    const s2d_iod *iod;      // the conversion's IOD: plans, owns attributes, names files
    s2d_iod_shared slide;
    s2d_identity id;
    s2d_plan plan;           // the instances the IOD writes for this source
    s2d_output *outputs;     // one per plan instance written; malloc'd, plan.ninstances
    int noutputs;
    int next_instance_number;
    s2d_diag diag;           // warnings: delivered through opts->warn and counted
    s2d_outdir out;          // -o: locked, and staged in out.staging (outdir above)
    // --deidentify's replacement label (--label-image, --label-text): malloc'd RGB, or NULL.
    uint8_t *label_rgb;
    s2d_source_image label_desc;   // what the plan is told of it: its size
} job;

static bool validate_options(const s2d_convert_options *o, s2d_error *err)
{
    if (o->tile_size != 0 && (o->tile_size < 16 || o->tile_size > 4096 || o->tile_size % 16 != 0)) {
        return s2d_error_set(err, S2D_ERR_USAGE, "tile size %d: use a multiple of 16 from 16 to 4096",
                             o->tile_size);
    }
    if (o->quality < 1 || o->quality > 100) {
        return s2d_error_set(err, S2D_ERR_USAGE, "JPEG quality %d is not in 1..100", o->quality);
    }
    if (o->threads < 0 || o->threads > 256) {
        return s2d_error_set(err, S2D_ERR_USAGE, "thread count %d is not in 0..256", o->threads);
    }
    if (o->uid_root && !s2d_uid_root_check(o->uid_root, err)) {
        return false;
    }
    s2d_staining staining;
    if (o->stain && !s2d_staining_parse(o->stain, &staining, err)) {
        return false;
    }
    if ((o->label_image || o->label_text) && !o->deidentify) {
        return s2d_error_set(err, S2D_ERR_USAGE, "--label-image and --label-text replace the "
                             "label under --deidentify; add it");
    }
    if (o->label_image && o->label_text) {
        return s2d_error_set(err, S2D_ERR_USAGE, "give --label-image or --label-text, not both");
    }
    if (o->mpp != 0 && !(o->mpp >= S2D_MPP_MIN_UM && o->mpp <= S2D_MPP_MAX_UM)) {
        return s2d_error_set(err, S2D_ERR_USAGE, "--mpp %g is not a pixel size in micrometres, "
                             "%g to %g", o->mpp, S2D_MPP_MIN_UM, S2D_MPP_MAX_UM);
    }
    return true;
}

// The writer's errors about the size cap are usage errors: name the option.
static void cap_error(const job *jb, s2d_error *err)
{
    if (err->code == S2D_ERR_USAGE && jb->opts->max_instance_bytes) {
        s2d_error_prefix(err, "--max-instance-size %" PRIu64 ": ", jb->opts->max_instance_bytes);
    }
}

// Opens the file for one planned instance, inst its dataset's values, and writes everything
// before its first frame (output.h); the instance's own IOD builds the dataset (one
// conversion may mix SOP classes). frame_bound: the largest frame it can receive, which
// decides the offset table kind. The output returned is jb->outputs' next entry: owned by
// the job, NULL with err set.
static s2d_output *open_output(job *jb, const s2d_plan_instance *planned,
                               const s2d_iod_instance *inst, uint64_t frame_bound,
                               s2d_error *err)
{
    const s2d_output_context ctx = {.outdir = jb->outdir, .id = &jb->id, .shared = &jb->slide};
    s2d_part10_params params = {
        .nframes = inst->nframes,
        .uncompressed_bytes = (uint64_t)inst->nframes * inst->frame_width * inst->frame_height *
                              inst->samples_per_pixel * ((inst->bits_per_sample + 7u) / 8u),
    };
    s2d_output *out = &jb->outputs[jb->noutputs];
    if (!s2d_output_open(&ctx, planned, inst, &params, frame_bound, out, err)) {
        cap_error(jb, err);
        return NULL;
    }
    jb->noutputs++;
    return out;
}

// A source image's lossy history as the step before ours (not lossy when the source does
// not say).
static s2d_lossy_step step_of(const s2d_lossy_history *h)
{
    return h ? (s2d_lossy_step){.lossy = h->method != S2D_LOSSY_NONE,
                                .method = s2d_lossy_method_term(h->method), .ratio = h->ratio}
             : (s2d_lossy_step){0};
}

// How the source stored its own label, overview or thumbnail: that image's history, never
// that of another image of the same size.
static s2d_lossy_step associated_step(const job *jb, s2d_image_role role)
{
    const s2d_source_image *img = s2d_source_associated(jb->reader, role);
    return img && img->history.known ? step_of(&img->history) : (s2d_lossy_step){0};
}

// How the source stored a level; levels and images we derive from the pyramid (img NULL,
// or a level the source does not describe) take level 0's, whose pixels they are made of.
static s2d_lossy_step level_step(const job *jb, const s2d_source_image *img)
{
    if (!img || !img->history.known) {
        img = s2d_source_level(jb->reader, 0);
    }
    return step_of(img->history.known ? &img->history : NULL);
}

// A single-frame image (label, overview, thumbnail): pixels to encode, or the source's own
// JPEG to copy as it is.
typedef struct single_image {
    bool copied;              // jpeg holds the image, else rgb
    uint8_t *rgb;             // malloc'd, tightly packed
    s2d_buf jpeg;
    s2d_colour colour;        // jpeg's
    int64_t width, height;
} single_image;

// Decodes the joined JPEG of an associated image into img->rgb with our own decoder, which
// takes the colour space from the bitstream as it does for tiles (libtiff's RGBA reader
// goes by the TIFF tag alone, and fails where they disagree).
static bool decode_joined(single_image *img, s2d_error *err)
{
    s2d_frame_dec *dec = s2d_frame_dec_new(err);
    img->rgb = dec ? malloc((size_t)img->width * (size_t)img->height * 3) : NULL;
    if (dec && !img->rgb) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory for an associated image");
    }
    bool ok = img->rgb &&
              s2d_frame_dec_decode(dec, img->jpeg.data, img->jpeg.len, (int)img->width,
                                   (int)img->height, img->rgb, (size_t)img->width * 3, err);
    s2d_frame_dec_free(dec);
    if (!ok) {
        free(img->rgb);
        img->rgb = NULL;
    }
    return ok;
}

// The source's associated image: copied when stored as JPEG strips, or under --reencode
// decoded from them; else decoded by the reader.
static bool read_single_image(job *jb, s2d_image_role image, single_image *img,
                              s2d_error *err)
{
    memset(img, 0, sizeof *img);
    if (s2d_source_associated_jpeg(jb->reader, image, &img->jpeg, &img->width, &img->height,
                                   &img->colour)) {
        s2d_error dec_err = {0};
        img->copied = !jb->opts->reencode;
        if (img->copied || decode_joined(img, &dec_err)) {
            return true;
        }
        if (dec_err.code == S2D_ERR_NOMEM) {
            *err = dec_err;
            s2d_buf_free(&img->jpeg);
            return false;
        }
    }
    s2d_buf_free(&img->jpeg);
    return s2d_source_read_associated(jb->reader, image, &img->rgb, &img->width, &img->height,
                                      err);
}

static void single_image_free(single_image *img)
{
    free(img->rgb);
    s2d_buf_free(&img->jpeg);
}

// The planned single-frame instance of img: its source's JPEG copied, or its pixels encoded
// with the planned codec (the planned description, at the size img turned out to have).
// Its pixel size is level 0's times the downsample, else the source's recorded_mm (row,
// column; may be NULL), else none.
static bool write_single_frame(job *jb, const s2d_plan_instance *planned,
                               const single_image *img, double downsample_x,
                               double downsample_y, const double *recorded_mm,
                               s2d_lossy_step source, s2d_error *err)
{
    const char *name = planned->name;
    s2d_role role = planned->role;
    const s2d_codec *codec = planned->codec;
    int64_t w = img->width, h = img->height;
    bool copied = img->copied;
    if (!copied && !img->rgb) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "%s: no pixels", name);
    }
    s2d_pixdesc pixels = planned->pixels;
    pixels.width = (uint32_t)w;
    pixels.height = (uint32_t)h;
    if (!copied && (!codec->enc_new || !codec->accepts(&pixels))) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "%s: the %s codec cannot encode it", name,
                             codec->name);
    }
    s2d_iod_instance inst = {
        .role = role,
        .derived = role == S2D_ROLE_THUMBNAIL,
        .instance_number = jb->next_instance_number++,
        .total_width = w,
        .total_height = h,
        .frame_width = (int)w,
        .frame_height = (int)h,
        .nframes = 1,
        .downsample_x = downsample_x,
        .downsample_y = downsample_y,
        .recorded_spacing_mm = {recorded_mm ? recorded_mm[0] : 0,
                                recorded_mm ? recorded_mm[1] : 0},
        .photometric = copied ? s2d_photometric_of(img->colour,
                                                   &(s2d_native){.coding = S2D_CODING_JPEG})
                              : codec->photometric(&pixels),
        .samples_per_pixel = pixels.samples,
        .bits_per_sample = pixels.bits_allocated,
        .source = source,
        .copied = copied,
    };
    const s2d_codec_opts codec_opts = {.quality = jb->opts->quality,
                                       .subsampling_444 = jb->opts->subsampling_444};
    void *enc = NULL;
    const uint8_t *frame = img->jpeg.data;
    size_t len = img->jpeg.len;
    s2d_output *out = NULL;
    bool ok = copied ||
              ((enc = codec->enc_new(&pixels, &codec_opts, err)) != NULL &&
               codec->encode(enc, img->rgb, s2d_pixdesc_row_bytes(&pixels), &frame, &len, err));
    ok = ok && (out = open_output(jb, planned, &inst, len, err)) != NULL &&
         s2d_part10_add_frame(out->writer, frame, len, err);
    if (enc) {
        codec->enc_free(enc);
    }
    if (!ok && err->code == S2D_ERR_USAGE && jb->opts->max_instance_bytes) {
        if (out) {
            cap_error(jb, err);   // open_output() names the option itself
        }
        static const char *const flags[] = {"", "label", "overview", "thumbnail"};
        size_t used = strlen(err->message);
        snprintf(err->message + used, sizeof err->message - used,
                 " (one frame, which cannot be split; --no-%s leaves it out)", flags[role]);
    } else if (!ok) {
        s2d_error_prefix(err, "%s: ", name);
    }
    return ok;
}

// Label and overview come from the source as they are; a broken one is a warning. Under
// --deidentify the only one planned is the replacement label.
static bool write_associated(job *jb, const s2d_plan_instance *planned, s2d_error *err)
{
    s2d_image_role image = planned->image;
    const char *file = planned->name;
    if (jb->opts->deidentify) {
        single_image made = {.rgb = jb->label_rgb, .width = jb->label_desc.pix.width,
                             .height = jb->label_desc.pix.height};
        return write_single_frame(jb, planned, &made, 0, 0, NULL, (s2d_lossy_step){0}, err);
    }
    single_image img;
    s2d_error read_err = {0};
    if (!read_single_image(jb, image, &img, &read_err)) {
        if (read_err.code == S2D_ERR_NOMEM) {
            *err = read_err;
            return false;
        }
        s2d_diag_warn(&jb->diag, "%s: %s; %s not written", jb->slide_path, read_err.message,
                      file);
        return true;
    }
    // The source's own pixel size of it (an NDPI macro's), when the file records one.
    const s2d_source_image *from = s2d_source_associated(jb->reader, image);
    double recorded_mm[2] = {from ? from->mpp_y / 1000.0 : 0, from ? from->mpp_x / 1000.0 : 0};
    bool ok = write_single_frame(jb, planned, &img, 0, 0, recorded_mm,
                                 associated_step(jb, image), err);
    single_image_free(&img);
    return ok;
}

// --associated-series separate: a series of their own for label and overview,
// numbered after the pyramid's (microscopy numbers it after its plane series), its UID
// derived like the pyramid's series'.
static bool associated_series(job *jb, s2d_error *err)
{
    if (!jb->opts->associated_series_separate) {
        return true;
    }
    jb->slide.associated_series_number = 2;
    return s2d_identity_uid(&jb->id, "associated-series", true, jb->slide.associated_series_uid,
                            err);
}

// The IOD's plan from the source's descriptions; its warning is ours to give.
static bool plan_instances(job *jb, s2d_error *err)
{
    int nsource = s2d_source_level_count(jb->reader);
    s2d_source_image *levels = malloc((size_t)(nsource > 0 ? nsource : 1) * sizeof *levels);
    if (!levels) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < nsource; i++) {
        levels[i] = *s2d_source_level(jb->reader, i);
    }
    // --deidentify: no label (its barcode and writing) unless replaced, no overview (the
    // label is in it), and a thumbnail made from the pyramid, whose pixels are known to be
    // the tissue's only.
    bool deid = jb->opts->deidentify;
    s2d_source_desc source = {
        .levels = levels, .nlevels = nsource,
        .label = deid ? (jb->label_rgb ? &jb->label_desc : NULL)
                      : s2d_source_associated(jb->reader, S2D_IMAGE_LABEL),
        .overview = deid ? NULL : s2d_source_associated(jb->reader, S2D_IMAGE_OVERVIEW),
        .thumbnail = deid ? NULL : s2d_source_associated(jb->reader, S2D_IMAGE_THUMBNAIL),
    };
    bool ok = jb->iod->plan(&source, jb->opts, &jb->plan, err);
    free(levels);
    if (ok) {
        jb->outputs = calloc(jb->plan.ninstances ? jb->plan.ninstances : 1, sizeof *jb->outputs);
        ok = jb->outputs ? true : s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    return ok;
}

// --deidentify's replacement label, when one is asked for, into jb->label_rgb.
static bool make_label(job *jb, s2d_error *err)
{
    const s2d_convert_options *o = jb->opts;
    if (!o->deidentify || o->no_label || (!o->label_image && !o->label_text)) {
        return true;
    }
    int64_t w, h;
    if (!s2d_label_make(o, &jb->label_rgb, &w, &h, err)) {
        return false;
    }
    jb->label_desc.pix.width = (uint32_t)w;
    jb->label_desc.pix.height = (uint32_t)h;
    return true;
}

// The planned instance of a role (the first), or NULL.
static const s2d_plan_instance *planned_role(const job *jb, s2d_role role)
{
    for (size_t i = 0; i < jb->plan.ninstances; i++) {
        if (jb->plan.instances[i].role == role) {
            return &jb->plan.instances[i];
        }
    }
    return NULL;
}

// WSM's conversion path: the plan's pyramid part (iod/wsm_levels.h) run through the
// pipeline into its level instances, then the thumbnail.
static bool run_pyramid(job *jb, s2d_error *err)
{
    const s2d_convert_options *o = jb->opts;
    const s2d_level_plan *levels = jb->plan.pyramid;
    if (levels->source_levels_left_out > 0) {
        s2d_diag_warn(&jb->diag, "%s: only the first %d of %d levels are written",
                      jb->slide_path, S2D_MAX_LEVELS,
                      S2D_MAX_LEVELS + levels->source_levels_left_out);
    }
    s2d_pyramid_plan plan = {.reader = jb->reader, .source_name = jb->slide_path,
                             .spill_dir = jb->outdir, .opts = o, .codec = levels->codec,
                             .diag = &jb->diag,
                             .thumb_level = -1, .tile_size = levels->tile_size,
                             .nlevels = levels->nlevels};
    int n = levels->nlevels;
    for (int i = 0; i < n; i++) {
        const s2d_planned_level *p = &levels->levels[i];
        plan.levels[i] = (s2d_pyramid_level){.width = p->width, .height = p->height,
                                             .mode = p->mode, .source_level = p->source_level,
                                             .jpeg_frames = p->jpeg_frames, .cols = p->cols,
                                             .rows = p->rows};
    }
    const s2d_source_image *base = s2d_source_level(jb->reader, 0);

    // A thumbnail from the source when it reads; else one made during the pyramid pass.
    if (levels->thumbnail_left_out) {
        s2d_diag_warn(&jb->diag, "%s: the smallest level is too large to make a thumbnail "
                      "from; none is written", jb->slide_path);
    }
    single_image thumb = {0};
    const s2d_plan_instance *thumb_plan = planned_role(jb, S2D_ROLE_THUMBNAIL);
    bool want_thumb = thumb_plan != NULL, own_thumb = false;
    if (want_thumb && thumb_plan->image == S2D_IMAGE_THUMBNAIL) {
        s2d_error terr = {0};
        own_thumb = read_single_image(jb, S2D_IMAGE_THUMBNAIL, &thumb, &terr);
        if (!own_thumb) {
            s2d_diag_warn(&jb->diag, "%s: %s; making the thumbnail from the pyramid",
                          jb->slide_path, terr.message);
        }
    }
    if (want_thumb && !own_thumb) {
        plan.thumb_level = levels->thumb_level;
        plan.thumb_factor = levels->thumb_factor;
        if (plan.thumb_level < 0) {
            s2d_diag_warn(&jb->diag, "%s: the smallest level is too large to make a thumbnail "
                          "from; %s not written", jb->slide_path, thumb_plan->name);
            want_thumb = false;
        }
    }

    // The level instances, in the plan's order: the pyramid's levels.
    bool ok = true;
    bool warned_ict = false;   // the YBR_ICT warning, once per slide
    for (size_t k = 0; ok && k < jb->plan.ninstances; k++) {
        const s2d_plan_instance *pi = &jb->plan.instances[k];
        if (pi->role != S2D_ROLE_LEVEL) {
            continue;
        }
        s2d_pyramid_level *lv = &plan.levels[pi->level];
        const s2d_source_image *src =
            lv->source_level >= 0 ? s2d_source_level(jb->reader, lv->source_level) : NULL;
        bool j2k = pi->codec == &s2d_codec_jpeg2000;
        s2d_iod_instance inst = {
            .role = S2D_ROLE_LEVEL,
            .derived = pi->level > 0,
            .instance_number = jb->next_instance_number++,
            .total_width = pi->width,
            .total_height = pi->height,
            .frame_width = (int)pi->frame_width,
            .frame_height = (int)pi->frame_height,
            .nframes = pi->nframes,
            .downsample_x = (double)base->pix.width / (double)pi->width,
            .downsample_y = (double)base->pix.height / (double)pi->height,
            .photometric = pi->copied ? s2d_photometric_of(src->pix.colour, &src->native)
                                      : pi->codec->photometric(&pi->pixels),
            .samples_per_pixel = pi->pixels.samples,
            .bits_per_sample = pi->pixels.bits_allocated,
            .method = s2d_lossy_method_term(j2k ? S2D_LOSSY_J2K : S2D_LOSSY_JPEG),
            .source = level_step(jb, src),
            .copied = pi->copied,
        };
        // A copied level may still get a replacement frame from the pyramid's encoder, which
        // makes the other levels from 8-bit colour.
        const s2d_pixdesc frame = {.width = pi->frame_width, .height = pi->frame_height,
                                   .samples = 3, .bits_allocated = 8, .bits_stored = 8,
                                   .colour = S2D_COLOUR_RGB};
        const s2d_codec_opts codec_opts = {.quality = o->quality,
                                           .subsampling_444 = o->subsampling_444};
        uint64_t bound = levels->codec->bound(&frame, &codec_opts);
        if (pi->copied && S2D_COPIED_FRAME_MAX(pi->frame_width, pi->frame_height) > bound) {
            bound = S2D_COPIED_FRAME_MAX(pi->frame_width, pi->frame_height);
        }
        s2d_output *out = open_output(jb, pi, &inst, bound, err);
        ok = out != NULL;
        if (ok) {
            lv->writer = out->writer;
        }
        if (ok && pi->copied && strcmp(inst.photometric, "YBR_ICT") == 0 && !warned_ict) {
            // Right by the standard (the codestream's own colour transform), shown wrong by
            // readers that convert the colours a second time (docs/viewers.md).
            s2d_diag_warn(&jb->diag, "%s: JPEG 2000 tiles copied as YBR_ICT; OpenSlide 4.0.0 "
                          "(QuPath 0.5, 0.6) and Orthanc WSI 1.1 show them in wrong colours "
                          "(OpenSlide 4.0.1 does not); --reencode writes JPEG instead",
                          jb->slide_path);
            warned_ict = true;
        }
    }
    s2d_image made = {0};
    if (ok && !s2d_pyramid_run(&plan, &made, err)) {
        cap_error(jb, err);   // a frame too large for --max-instance-size
        ok = false;
    }
    // Each level's timing and replaced frames to the output that holds its writer.
    for (int k = 0; ok && k < jb->noutputs; k++) {
        s2d_output *out = &jb->outputs[k];
        for (int i = 0; i < n; i++) {
            if (plan.levels[i].writer == out->writer) {
                out->seconds = plan.levels[i].last_frame_s - plan.levels[i].first_frame_s;
                out->first_frame_s = plan.levels[i].first_frame_s;
                out->replaced_frames = plan.levels[i].replaced_frames;
            }
        }
    }
    if (ok && want_thumb) {
        // The source's own thumbnail, or the one the pyramid pass made from level pixels.
        if (!own_thumb) {
            thumb = (single_image){.rgb = made.rgb, .width = made.width, .height = made.height};
            made.rgb = NULL;
        }
        s2d_lossy_step source =
            own_thumb ? associated_step(jb, S2D_IMAGE_THUMBNAIL) : level_step(jb, NULL);
        ok = write_single_frame(jb, thumb_plan, &thumb,
                                (double)base->pix.width / (double)thumb.width,
                                (double)base->pix.height / (double)thumb.height, NULL,
                                source, err);
    }
    free(made.rgb);
    single_image_free(&thumb);
    return ok;
}

static bool complete_outputs(job *jb, s2d_error *err)
{
    for (int i = 0; i < jb->noutputs; i++) {
        if (!s2d_part10_complete(jb->outputs[i].writer, err)) {
            return false;
        }
    }
    return true;
}
// A plain TIFF's pages (pages.h); the outputs become the job's, to commit like a slide's.
static bool convert_pages(job *jb, s2d_convert_report *report, s2d_error *err)
{
    s2d_pages pg = {.path = jb->slide_path, .outdir = jb->outdir, .opts = jb->opts,
                    .src = jb->reader, .id = &jb->id, .shared = &jb->slide, .diag = &jb->diag};
    bool ok = s2d_pages_plan(&pg, err);
    if (ok && report) {
        snprintf(report->kind, sizeof report->kind, "%s", s2d_pages_kind_name(pg.kind));
        snprintf(report->kind_reason, sizeof report->kind_reason, "%s", pg.kind_reason);
    }
    ok = ok && s2d_pages_write(&pg, err);
    jb->outputs = pg.outputs;
    jb->noutputs = pg.noutputs;
    pg.outputs = NULL;   // the job's now
    s2d_pages_free(&pg);
    return ok;
}

// A microscopy file's grey planes (microscopy.h); its outputs become the job's too.
static bool convert_microscopy(job *jb, s2d_convert_report *report, const char *reason,
                               s2d_error *err)
{
    if (report) {
        snprintf(report->kind, sizeof report->kind, "microscopy");
        snprintf(report->kind_reason, sizeof report->kind_reason, "%s", reason);
    }
    // Empty glass in fluorescence is black (PS3.3 CIELab: L* 0, a* b* 0).
    jb->slide.absent_pixel_lab[0] = 0;
    jb->slide.absent_pixel_lab[1] = jb->slide.absent_pixel_lab[2] = 0x8080;
    s2d_micro m = {.path = jb->slide_path, .outdir = jb->outdir, .opts = jb->opts,
                   .src = jb->reader, .id = &jb->id, .shared = &jb->slide, .diag = &jb->diag};
    bool ok = make_label(jb, err);
    m.label_rgb = jb->label_rgb;
    m.label_w = jb->label_desc.pix.width;
    m.label_h = jb->label_desc.pix.height;
    ok = ok && s2d_micro_plan(&m, err) && s2d_micro_write(&m, err);
    jb->outputs = m.outputs;
    jb->noutputs = m.noutputs;
    m.outputs = NULL;   // the job's now
    m.noutputs = 0;
    s2d_micro_free(&m);
    return ok;
}

void s2d_convert_report_free(s2d_convert_report *report)
{
    if (report) {
        free(report->files);
        report->files = NULL;
        report->nfiles = 0;
    }
}

// A source of pages (a plain TIFF) has no pyramid to convert yet.
bool s2d_convert(const char *slide_path, const char *outdir, const s2d_convert_options *opts,
                 s2d_convert_report *report, s2d_error *err)
{
    if (report) {
        memset(report, 0, sizeof *report);
    }
    double t0 = s2d_clock_seconds();
    job *jb = calloc(1, sizeof *jb);
    if (!jb) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    jb->slide_path = slide_path;
    jb->opts = opts;
    jb->next_instance_number = 1;
    jb->out.lock = -1;
    s2d_diag_init(&jb->diag, opts->warn, opts->callback_ctx);

    jb->id.opts = opts;

    // A source of pages is a plain TIFF: Secondary Capture or VL instances (pages.h);
    // the others are slides, written as WSM. Every page IOD shares names and owned
    // attributes, so one stands for them here.
    bool ok = validate_options(opts, err) &&
              (jb->reader = s2d_source_open(slide_path, err)) != NULL;
    bool pages = ok && s2d_source_page_count(jb->reader) > 0;
    // Grey planes of a microscopy file are a slide's image: WSM, like the slides.
    char micro_reason[160] = "";
    bool micro = pages && !opts->as_pdf && s2d_micro_applies(jb->reader, opts, micro_reason);
    if (ok && !pages && opts->as_pdf) {
        ok = s2d_error_set(err, S2D_ERR_INPUT, "%s: --as pdf writes a plain TIFF's document "
                           "pages, and this is a slide", s2d_base_name(slide_path));
    }
    jb->iod = pages && !micro ? &s2d_iod_sc_byte : s2d_iod_find("WSM");
    if (ok && opts->stain && !jb->iod->slide) {
        s2d_diag_warn(&jb->diag, "%s: --stain ignored: a plain TIFF's pages have no specimen "
                      "to describe", s2d_base_name(slide_path));
    }
    ok = ok && s2d_identity_load_overrides(&jb->id, jb->iod, err) &&
         s2d_identity_describe(&jb->id, jb->iod, slide_path, s2d_source_meta_of(jb->reader),
                               &jb->slide, &jb->diag, err) &&
         s2d_outdir_prepare(&jb->out, outdir, jb->iod, opts->overwrite, err);
    // Every writer works in the staging folder; -o changes only when it is published.
    jb->outdir = jb->out.staging;
    if (ok && (!pages || micro)) {
        ok = associated_series(jb, err);   // slides only: pages have no associated images
    }
    if (ok && micro) {
        jb->slide.overrides = jb->id.overrides;
        ok = convert_microscopy(jb, report, micro_reason, err);
    } else if (ok && pages) {
        jb->slide.overrides = jb->id.overrides;
        ok = convert_pages(jb, report, err);
    } else if (ok) {
        jb->slide.overrides = jb->id.overrides;
        // Each file goes on its way to disk as soon as it is complete, beside the work
        // still to do and the other files; the loop below then only waits.
        ok = make_label(jb, err) && plan_instances(jb, err) && (!jb->plan.pyramid || run_pyramid(jb, err)) &&
             complete_outputs(jb, err);
        for (size_t i = 0; ok && i < jb->plan.ninstances; i++) {
            const s2d_plan_instance *pi = &jb->plan.instances[i];
            if (pi->role == S2D_ROLE_LABEL || pi->role == S2D_ROLE_OVERVIEW) {
                ok = write_associated(jb, pi, err);
            }
        }
        ok = ok && complete_outputs(jb, err);
    }
    for (int i = 0; ok && i < jb->noutputs; i++) {
        if (!s2d_part10_finish(jb->outputs[i].writer, err)) {
            cap_error(jb, err);   // more parts than a concatenation can number
            ok = false;
        }
    }
    if (ok && opts->interrupt && *opts->interrupt) {
        ok = s2d_error_set(err, S2D_ERR_CANCELLED, "interrupted");
    }
    ok = ok && s2d_outdir_commit(&jb->out, jb->outputs, jb->noutputs, err) &&
         s2d_outdir_publish(&jb->out, &jb->diag, err);
    if (report) {
        char kind[16], reason[160];
        snprintf(kind, sizeof kind, "%s", report->kind);
        snprintf(reason, sizeof reason, "%s", report->kind_reason);
        s2d_report_fill(report, jb->outputs, jb->noutputs, s2d_diag_warnings(&jb->diag), ok);
        snprintf(report->kind, sizeof report->kind, "%s", kind);
        snprintf(report->kind_reason, sizeof report->kind_reason, "%s", reason);
        report->seconds = s2d_clock_seconds() - t0;
        // A slide's (WSM) pseudonym; the page IODs have no Container Identifier.
        if (ok && opts->deidentify && jb->iod->slide) {
            snprintf(report->deidentified_container_id,
                     sizeof report->deidentified_container_id, "%s", jb->id.deid.container_id);
            report->container_id_generated = jb->id.deid.generated;
        }
    }
    for (int i = 0; i < jb->noutputs; i++) {
        s2d_part10_free(jb->outputs[i].writer);
    }
    free(jb->outputs);
    free(jb->label_rgb);
    s2d_plan_free(&jb->plan);
    s2d_identity_free(&jb->id);
    s2d_source_close(jb->reader);
    // Last, once no writer has a file open: a failed conversion's staging folder goes.
    s2d_outdir_close(&jb->out);
    free(jb);
    return ok;
}
