// SPDX-License-Identifier: Apache-2.0
/* Plain TIFF pages into instances; see iod/pages.h. The IOD of each page follows from the
 * kind and its written pixels (docs/plain-tiff.md, "Instances"). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "iod/pages.h"
#include "iod/plan.h"

// The IOD a page is written as, or NULL with err set.
static const s2d_iod *iod_of(const s2d_page_desc *p, s2d_page_kind kind, const char *modality,
                             s2d_error *err)
{
    const s2d_pixdesc *d = &p->pixels;
    bool colour = d->samples == 3;
    if (kind == S2D_PAGES_PHOTO) {
        if (d->bits_allocated != 8 || d->colour == S2D_COLOUR_MONO_MIN_IS_WHITE) {
            s2d_error_set(err, S2D_ERR_INPUT, "page %u: %u-bit pixels cannot be a VL photograph "
                          "(8-bit only); use --kind radiology or document", p->page + 1,
                          d->bits_stored);
            return NULL;
        }
        return modality && !strcmp(modality, "ES") ? &s2d_iod_vl_endoscopic : &s2d_iod_vl_photo;
    }
    if (d->colour == S2D_COLOUR_MONO_MIN_IS_WHITE) {
        return &s2d_iod_sc_image;   // MONOCHROME1: the multi-frame IODs forbid it
    }
    if (colour) {
        return &s2d_iod_sc_colour;
    }
    switch (d->bits_allocated) {
    case 1:
        return &s2d_iod_sc_bit;
    case 8:
        return &s2d_iod_sc_byte;
    default:
        return &s2d_iod_sc_word;
    }
}

// Bytes one frame takes in the file at most.
static uint64_t frame_cost(const s2d_page_desc *p, const s2d_codec *codec)
{
    if (p->copied) {
        return p->copied_bytes + 10;   // item header and padding
    }
    if (codec == &s2d_codec_native || codec == &s2d_codec_deflated) {   // at most
        return (s2d_pixdesc_frame_bits(&p->pixels) + 7) / 8 + 1;
    }
    s2d_codec_opts opts = {0};
    return codec->bound(&p->pixels, &opts) + 10;
}

static bool same_run(const s2d_page_desc *a, const s2d_page_desc *b, const s2d_iod *ia,
                     const s2d_iod *ib)
{
    return ia == ib && a->copied == b->copied && a->pixels.width == b->pixels.width &&
           a->pixels.height == b->pixels.height && a->pixels.samples == b->pixels.samples &&
           a->pixels.bits_allocated == b->pixels.bits_allocated &&
           a->pixels.bits_stored == b->pixels.bits_stored &&
           a->pixels.colour == b->pixels.colour && a->pixels.is_signed == b->pixels.is_signed;
}

bool s2d_plan_pages(const s2d_page_desc *pages, size_t npages, s2d_page_kind kind,
                    const char *modality, const s2d_codec *codec, uint64_t header_bytes,
                    const s2d_convert_options *o, s2d_plan *plan, s2d_error *err)
{
    if (npages == 0) {
        return s2d_error_set(err, S2D_ERR_INPUT, "no pages");
    }
    uint64_t cap = o->max_instance_bytes;
    size_t i = 0;
    while (i < npages) {
        const s2d_page_desc *first = &pages[i];
        const s2d_iod *iod = iod_of(first, kind, modality, err);
        if (!iod) {
            return false;
        }
        const s2d_codec *frames_codec = first->copied ? &s2d_codec_jpeg_baseline : codec;
        if (!first->copied && !codec->accepts(&first->pixels)) {
            return s2d_error_set(err, S2D_ERR_INPUT,
                                 "page %u: the %s codec cannot carry %u-bit %s pages; "
                                 "--codec native can", first->page + 1, codec->name,
                                 first->pixels.bits_stored,
                                 first->pixels.samples == 3 ? "colour" : "grey");
        }
        uint64_t bytes = header_bytes + frame_cost(first, codec);
        if (cap && bytes > cap) {
            return s2d_error_set(err, S2D_ERR_USAGE,
                                 "--max-instance-size %" PRIu64 ": page %u alone takes up to "
                                 "%" PRIu64 " bytes", cap, first->page + 1, bytes);
        }
        bool single = o->pages_as_instances || iod == &s2d_iod_sc_image ||
                      iod == &s2d_iod_vl_photo || iod == &s2d_iod_vl_endoscopic;
        size_t n = 1;
        while (!single && i + n < npages && n < S2D_PAGE_RUN_MAX) {
            const s2d_page_desc *next = &pages[i + n];
            s2d_error ignored = {0};
            const s2d_iod *next_iod = iod_of(next, kind, modality, &ignored);
            uint64_t more = frame_cost(next, codec);
            if (!next_iod || !same_run(first, next, iod, next_iod) || (cap && bytes + more > cap)) {
                break;
            }
            bytes += more;
            n++;
        }
        s2d_plan_instance in = {
            .role = S2D_ROLE_PAGE,
            .image = S2D_IMAGE_PAGE,
            .level = -1,
            .first_page = (uint32_t)i,
            .iod = iod,
            .width = first->pixels.width,
            .height = first->pixels.height,
            .frame_width = first->pixels.width,
            .frame_height = first->pixels.height,
            .cols = 1,
            .rows = 1,
            .nframes = (uint32_t)n,
            .codec = frames_codec,
            .copied = first->copied,
            .pixels = first->pixels,
        };
        snprintf(in.name, sizeof in.name, "image-%03zu.dcm", plan->ninstances + 1);
        if (!s2d_plan_add(plan, &in, err)) {
            return false;
        }
        i += n;
    }
    return true;
}
