// SPDX-License-Identifier: Apache-2.0
/* Each TIFF format's open (src/source/fmt_*.c: NDPI, Aperio, Philips and Leica SCN with
 * their XML, Ventana, OME, tiled TIFF, plain TIFF with ImageJ, QPTIFF and the other planes) on any
 * bytes, in the registry's order as s2d_source_open() tries them, then a little of what a
 * conversion reads of what opened: the first and last frame of each copied level, a small
 * region of each level, the associated images and the first rows of the first pages.
 * OpenSlide, last in the registry, is left out: it is not our parser, and it is run in its
 * own process by nobody here. */
#include <stdlib.h>
#include <string.h>

#include "codec/pixdesc.h"
#include "fuzz.h"
#include "source/source_impl.h"

// Larger frames, regions and rows are not read: their memory is not the parser's.
#define MAX_FRAME_SIDE 1024
#define MAX_ROW_BYTES (1 << 20)

static void read_levels(s2d_source *src)
{
    for (int level = 0; level < src->nlevels && level < 4; level++) {
        const s2d_source_image *img = &src->levels[level];
        const s2d_native *nat = &img->native;
        int fw = nat->tile_w ? nat->tile_w : 4 * nat->mcu_w;
        int fh = nat->tile_h ? nat->tile_h : 4 * nat->mcu_h;
        if (fw <= 0 || fh <= 0 || fw > MAX_FRAME_SIDE || fh > MAX_FRAME_SIDE) {
            continue;
        }
        s2d_error err = {0};
        s2d_read_ctx *ctx = s2d_read_ctx_new(src, fw, fh, &err);
        if (!ctx) {
            continue;
        }
        if (nat->coding != S2D_CODING_NONE) {
            uint32_t cols = (img->pix.width + (uint32_t)fw - 1) / (uint32_t)fw;
            uint32_t rows = (img->pix.height + (uint32_t)fh - 1) / (uint32_t)fh;
            s2d_buf frame = {0};
            (void)s2d_source_read_frame(src, ctx, level, 0, 0, fw, fh, &frame, &err);
            frame.len = 0;
            (void)s2d_source_read_frame(src, ctx, level, cols - 1, rows - 1, fw, fh, &frame,
                                        &err);
            s2d_buf_free(&frame);
        }
        int64_t w = img->pix.width < (uint32_t)fw ? (int64_t)img->pix.width : fw;
        int64_t h = img->pix.height < (uint32_t)fh ? (int64_t)img->pix.height : fh;
        uint8_t *rgb = malloc((size_t)(w * h * 3));
        if (rgb) {
            int bad = 0;
            (void)s2d_source_read_region(src, ctx, level, 0, 0, w, h, rgb, (size_t)w * 3, &bad,
                                         &err);
        }
        free(rgb);
        s2d_read_ctx_free(ctx);
    }
}

static void read_associated(s2d_source *src)
{
    for (int i = 0; i < src->nassociated; i++) {
        const s2d_source_image *img = &src->associated[i];
        if ((uint64_t)img->pix.width * img->pix.height > MAX_FRAME_SIDE * MAX_FRAME_SIDE) {
            continue;
        }
        s2d_buf jpeg = {0};
        int64_t w, h;
        s2d_colour colour;
        (void)s2d_source_associated_jpeg(src, img->role, &jpeg, &w, &h, &colour);
        s2d_buf_free(&jpeg);
        uint8_t *rgb = NULL;
        s2d_error err = {0};
        (void)s2d_source_read_associated(src, img->role, &rgb, &w, &h, &err);
        free(rgb);
    }
}

static void read_pages(s2d_source *src)
{
    for (int page = 0; page < src->npages && page < 4; page++) {
        const s2d_source_image *img = &src->pages[page];
        size_t row = s2d_pixdesc_row_bytes(&img->pix);
        s2d_error err = {0};
        if (row == 0 || row > MAX_ROW_BYTES) {
            continue;
        }
        uint32_t n = img->pix.height < 2 ? img->pix.height : 2;
        uint8_t *rows = malloc(row * 2);
        if (rows) {
            (void)s2d_source_read_rows(src, page, 0, n, rows, row, &err);
        }
        free(rows);
        s2d_buf coded = {0};
        s2d_colour colour;
        (void)s2d_source_page_jpeg(src, page, &coded, &colour, &err);
        coded.len = 0;
        (void)s2d_source_page_raw(src, page, &coded, &err);
        s2d_buf_free(&coded);
        int ncolours;
        (void)s2d_source_palette(src, page, &ncolours);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    // NDPI is only read from files so named; the other formats do not look at the name.
    const char *path = s2d_fuzz_file("slide.ndpi", data, size);
    s2d_error err = {0};
    s2d_tiffdir *td = s2d_tiffdir_list(path, &err);
    if (!td) {
        return 0;   // not a TIFF: only OpenSlide would try it
    }
    s2d_source *src = calloc(1, sizeof *src);
    if (!src || !(src->path = strdup(path))) {
        abort();   // out of memory: no input is to blame
    }
    src->tiffdir = td;
    int n;
    const s2d_format *const *formats = s2d_formats(&n);
    bool failed = false;
    for (int i = 0; i < n && !src->format && !failed; i++) {
        if (formats[i] == &s2d_format_openslide || !formats[i]->detect(path, td)) {
            continue;
        }
        s2d_error ferr = {0};
        if (formats[i]->open(src, &ferr)) {
            src->format = formats[i];
        }
        failed = ferr.code != S2D_OK;
    }
    bool pixels = src->format != NULL;
    for (int i = 0; pixels && i < src->nlevels; i++) {
        pixels = src->levels[i].pix.width && src->levels[i].pix.height;   // as open() checks
    }
    if (pixels) {
        char reason[128];
        (void)s2d_source_kind(src, reason);
        read_levels(src);
        read_associated(src);
        read_pages(src);
    }
    s2d_source_close(src);
    return 0;
}
