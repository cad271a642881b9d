// SPDX-License-Identifier: Apache-2.0
// make_mirax: writes a synthetic 3DHistech MIRAX slide: SLIDE.mrxs (a JPEG preview of the
// glass; readers only need it to exist) beside the folder SLIDE/ holding Slidedat.ini (the
// key file: levels, pixel size, scanner), Index.dat (where each image lies) and two data
// files of JPEG images: Data0000.dat the pyramid, Data0001.dat the macro, label, preview
// and the camera-position buffer. Each camera photo is cut into 2 x 2 images
// (CameraImageDivisionsPerSide); every next zoom level joins 2 x 2 images of the one before
// into one image of the same size. Photos are placed edge to edge (no overlap), so every
// image lies on a regular grid. Test input for the MIRAX conversion (read by OpenSlide).

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>   // after stdio.h, which it needs

#include "tool_util.h"

#define PROG "make_mirax"
#define DIVISIONS 2            // images per camera photo, per side
#define INDEX_VERSION "01.02"  // Index.dat's first bytes, as Slidedat's SLIDE_VERSION
#define MACRO_W 750            // the whole 75 x 25 mm glass at 10 pixels per mm
#define MACRO_H 250
#define LABEL_W 250            // its label end, 25 x 25 mm
#define FILL_BGR 0xFFFFFFu     // the empty glass, white

typedef struct options {
    const char *out;
    uint32_t cols, rows, tile, levels, quality;
    double mpp;
    int mag;
    const char *slide_id, *serial, *software, *hardware;
} options;

static uint8_t clamp8(double v)
{
    return (uint8_t)fmax(0, fmin(255, v));
}

// The stained section at level-0 position (x, y): stroma with fibres, nuclei on a drifting
// lattice, bare glass (white, the fill colour) where a slow wave leaves the section.
static void tissue(double x, double y, uint8_t rgb[3])
{
    double section = sin(x / 610.0) + cos(y / 470.0) + 0.7 * sin((x - y) / 290.0);
    if (section < -1.0) {
        rgb[0] = rgb[1] = rgb[2] = 255;
        return;
    }
    double cx = x + 7.0 * sin(y / 33.0), cy = y + 7.0 * cos(x / 29.0);
    double fx = fmod(cx, 40.0) - 20.0, fy = fmod(cy, 40.0) - 20.0;
    double nucleus = exp(-(fx * fx + fy * fy) / 50.0);
    double fibre = 0.5 + 0.5 * sin(x / 11.0 + 2.0 * sin(y / 70.0));
    rgb[0] = clamp8(230 - 35 * fibre - 115 * nucleus);
    rgb[1] = clamp8(165 - 45 * fibre - 100 * nucleus);
    rgb[2] = clamp8(200 - 15 * fibre - 25 * nucleus);
}

// A growing byte buffer; its owner frees data.
typedef struct bytes {
    uint8_t *data;
    size_t len, cap;
} bytes;

static bool put(bytes *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n) {
            cap *= 2;
        }
        uint8_t *d = realloc(b->data, cap);
        if (!d) {
            return false;
        }
        b->data = d, b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return true;
}

static bool put_le32(bytes *b, uint32_t v)
{
    uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return put(b, le, 4);
}

// Overwrites the little-endian word at offset at (already written).
static void patch_le32(bytes *b, size_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        b->data[at + (size_t)i] = (uint8_t)(v >> (8 * i));
    }
}

// Encodes w x h RGB pixels as one baseline JFIF JPEG (YCbCr 4:2:0) appended to out.
static bool jpeg_append(bytes *out, const uint8_t *rgb, uint32_t w, uint32_t h, int quality)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    unsigned char *mem = NULL;
    unsigned long len = 0;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &mem, &len);
    c.image_width = w;
    c.image_height = h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < h) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)c.next_scanline * w * 3);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    bool ok = put(out, mem, len);
    free(mem);
    return ok;
}

// Where a record's bytes lie: its data file, offset and length.
typedef struct record {
    uint32_t file, offset, length;
} record;

static bool add_jpeg(bytes *data, uint32_t file, const uint8_t *rgb, uint32_t w, uint32_t h,
                     int quality, record *r)
{
    r->file = file;
    r->offset = (uint32_t)data->len;
    if (!jpeg_append(data, rgb, w, h, quality)) {
        return false;
    }
    r->length = (uint32_t)(data->len - r->offset);
    return true;
}

// The image of zoom level z whose top-left level-0 image is (x, y): tile x tile pixels, each
// 2^z level-0 pixels square, sampled at its centre; past the slide's edge the fill colour.
static void render_image(const options *o, uint32_t z, uint32_t x, uint32_t y, uint8_t *rgb)
{
    uint32_t scale = 1u << z;
    double w0 = (double)o->cols * o->tile, h0 = (double)o->rows * o->tile;
    for (uint32_t j = 0; j < o->tile; j++) {
        for (uint32_t i = 0; i < o->tile; i++) {
            double px = (double)x * o->tile + (i + 0.5) * scale;
            double py = (double)y * o->tile + (j + 0.5) * scale;
            uint8_t *p = rgb + ((size_t)j * o->tile + i) * 3;
            if (px >= w0 || py >= h0) {
                p[0] = p[1] = p[2] = 255;
            } else {
                tissue(px, py, p);
            }
        }
    }
}

// The whole section scaled into w x h (the preview).
static void render_preview(const options *o, uint32_t w, uint32_t h, uint8_t *rgb)
{
    double sx = (double)o->cols * o->tile / w, sy = (double)o->rows * o->tile / h;
    for (uint32_t j = 0; j < h; j++) {
        for (uint32_t i = 0; i < w; i++) {
            tissue((i + 0.5) * sx, (j + 0.5) * sy, rgb + ((size_t)j * w + i) * 3);
        }
    }
}

// The label end, w x h pixels of rgb whose rows are stride pixels apart: a white paper
// label with black bars (a barcode stand-in) on a grey frosted margin.
static void render_label(uint32_t w, uint32_t h, uint32_t stride, uint8_t *rgb)
{
    for (uint32_t j = 0; j < h; j++) {
        for (uint32_t i = 0; i < w; i++) {
            uint8_t *p = rgb + ((size_t)j * stride + i) * 3;
            bool paper = i > w / 10 && i < w * 9 / 10 && j > h / 10 && j < h * 6 / 10;
            bool bar = paper && j > h / 5 && j < h / 2 && ((i * 7 / 5) % 9) < 4;
            uint8_t v = bar ? 20 : paper ? 250 : 200;
            p[0] = p[1] = p[2] = v;
        }
    }
}

// The macro: the whole glass, its label end at the left, the section in the middle.
static void render_macro(const options *o, uint8_t *rgb)
{
    double w0 = (double)o->cols * o->tile, h0 = (double)o->rows * o->tile;
    double scale = fmax(w0 / 400.0, h0 / 200.0);   // the section within 400 x 200 pixels
    for (uint32_t j = 0; j < MACRO_H; j++) {
        for (uint32_t i = LABEL_W; i < MACRO_W; i++) {
            uint8_t *p = rgb + ((size_t)j * MACRO_W + i) * 3;
            double x = (i - 300.0) * scale, y = (j - 25.0) * scale;
            if (x >= 0 && y >= 0 && x < w0 && y < h0) {
                tissue(x, y, p);
            } else {
                p[0] = 235, p[1] = 238, p[2] = 240;
            }
        }
    }
    render_label(LABEL_W, MACRO_H, MACRO_W, rgb);
}

// ------------------------------------------------------------------ files

static bool write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        return false;
    }
    bool ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

// Index.dat: the version and slide id, then two words pointing to the table of zoom-level
// lists and to the table of non-hierarchical records. A zoom level's list is a word 0 and
// the offset of its one page: the count of entries, the next page (0: none), then per image
// its index (y * IMAGENUMBER_X + x, in level-0 images), offset, length and data file. A
// non-hierarchical record is a word 0 and the offset of a page of one entry: 1, 0, 0, 0,
// offset, length, data file.
static bool build_index(const options *o, record *const *images, const uint32_t *nimages,
                        const uint32_t *const *image_index, const record *nonhier,
                        uint32_t nnonhier, bytes *ix)
{
    bool ok = put(ix, INDEX_VERSION, strlen(INDEX_VERSION)) &&
              put(ix, o->slide_id, strlen(o->slide_id));
    size_t roots = ix->len;
    ok = ok && put_le32(ix, 0) && put_le32(ix, 0);
    size_t hier_table = ix->len;
    patch_le32(ix, roots, (uint32_t)hier_table);
    for (uint32_t z = 0; ok && z < o->levels; z++) {
        ok = put_le32(ix, 0);
    }
    for (uint32_t z = 0; ok && z < o->levels; z++) {
        patch_le32(ix, hier_table + 4 * z, (uint32_t)ix->len);
        size_t head = ix->len;
        ok = put_le32(ix, 0) && put_le32(ix, 0);
        patch_le32(ix, head + 4, (uint32_t)ix->len);
        ok = ok && put_le32(ix, nimages[z]) && put_le32(ix, 0);
        for (uint32_t k = 0; ok && k < nimages[z]; k++) {
            const record *r = &images[z][k];
            ok = put_le32(ix, image_index[z][k]) && put_le32(ix, r->offset) &&
                 put_le32(ix, r->length) && put_le32(ix, r->file);
        }
    }
    size_t nonhier_table = ix->len;
    patch_le32(ix, roots + 4, (uint32_t)nonhier_table);
    for (uint32_t k = 0; ok && k < nnonhier; k++) {
        ok = put_le32(ix, 0);
    }
    for (uint32_t k = 0; ok && k < nnonhier; k++) {
        patch_le32(ix, nonhier_table + 4 * k, (uint32_t)ix->len);
        size_t head = ix->len;
        ok = put_le32(ix, 0) && put_le32(ix, 0);
        patch_le32(ix, head + 4, (uint32_t)ix->len);
        ok = ok && put_le32(ix, 1) && put_le32(ix, 0) && put_le32(ix, 0) && put_le32(ix, 0) &&
             put_le32(ix, nonhier[k].offset) && put_le32(ix, nonhier[k].length) &&
             put_le32(ix, nonhier[k].file);
    }
    return ok;
}

__attribute__((format(printf, 2, 3))) static bool ini(FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool ok = vfprintf(f, fmt, ap) >= 0 && fputc('\n', f) != EOF;
    va_end(ap);
    return ok;
}

// Slidedat.ini: the key file naming everything above.
static bool write_slidedat(const options *o, const char *path, uint32_t preview_w,
                           uint32_t preview_h)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        return false;
    }
    bool ok = ini(f, "[GENERAL]") && ini(f, "SLIDE_VERSION = %s", INDEX_VERSION) &&
              ini(f, "SLIDE_NAME = synthetic") && ini(f, "PROJECT_NAME = slide2dcm") &&
              ini(f, "SLIDE_ID = %s", o->slide_id) &&
              ini(f, "IMAGENUMBER_X = %u", o->cols) && ini(f, "IMAGENUMBER_Y = %u", o->rows) &&
              ini(f, "CURRENT_SLIDE_VERSION = 2") &&
              ini(f, "IMAGE_OVERLAP_MICROMETERS_X = 0") &&
              ini(f, "IMAGE_OVERLAP_MICROMETERS_Y = 0") &&
              ini(f, "SLIDE_CONTENT = DIGITAL_SLIDE") &&
              ini(f, "SLIDE_CREATIONDATETIME = 25/11/2025 17:05:09") &&
              ini(f, "SLIDE_TYPE = SLIDE_TYPE_BRIGHTFIELD") &&
              ini(f, "CAMERA_TYPE = synthetic camera") &&
              ini(f, "OBJECTIVE_MAGNIFICATION = %d", o->mag) &&
              ini(f, "OBJECTIVE_NAME = Plan-Apochromat") &&
              ini(f, "SCANNER_HARDWARE_ID = %s", o->serial) &&
              ini(f, "CameraImageDivisionsPerSide = %d", DIVISIONS);
    ok = ok && ini(f, "[HIERARCHICAL]") && ini(f, "INDEXFILE = Index.dat") &&
         ini(f, "HIER_COUNT = 1") && ini(f, "NONHIER_COUNT = 2") &&
         ini(f, "HIER_0_NAME = Slide zoom level") && ini(f, "HIER_0_COUNT = %u", o->levels) &&
         ini(f, "HIER_0_SECTION = LAYER_0_SECTION");
    for (uint32_t z = 0; ok && z < o->levels; z++) {
        ok = ini(f, "HIER_0_VAL_%u = ZoomLevel_%u", z, z) &&
             ini(f, "HIER_0_VAL_%u_SECTION = LAYER_0_LEVEL_%u_SECTION", z, z);
    }
    static const char *const scan_data[] = {"ScanDataLayer_SlideThumbnail",
                                            "ScanDataLayer_SlideBarcode",
                                            "ScanDataLayer_SlidePreview"};
    ok = ok && ini(f, "NONHIER_0_NAME = Scan data layer") && ini(f, "NONHIER_0_COUNT = 3") &&
         ini(f, "NONHIER_0_SECTION = NONHIERLAYER_0_SECTION");
    for (int k = 0; ok && k < 3; k++) {
        ok = ini(f, "NONHIER_0_VAL_%d = %s", k, scan_data[k]) &&
             ini(f, "NONHIER_0_VAL_%d_SECTION = NONHIERLAYER_0_LEVEL_%d_SECTION", k, k);
    }
    ok = ok && ini(f, "NONHIER_1_NAME = VIMSLIDE_POSITION_BUFFER") &&
         ini(f, "NONHIER_1_COUNT = 1") && ini(f, "NONHIER_1_SECTION = NONHIERLAYER_1_SECTION") &&
         ini(f, "NONHIER_1_VAL_0 = default") &&
         ini(f, "NONHIER_1_VAL_0_SECTION = NONHIERLAYER_1_LEVEL_0_SECTION");
    ok = ok && ini(f, "[DATAFILE]") && ini(f, "FILE_COUNT = 2") &&
         ini(f, "FILE_0 = Data0000.dat") && ini(f, "FILE_1 = Data0001.dat");
    for (uint32_t z = 0; ok && z < o->levels; z++) {
        double mpp = o->mpp * (1u << z);
        ok = ini(f, "[LAYER_0_LEVEL_%u_SECTION]", z) &&
             ini(f, "IMAGE_FILL_COLOR_BGR = %u", FILL_BGR) &&
             ini(f, "MICROMETER_PER_PIXEL_X = %.10g", mpp) &&
             ini(f, "MICROMETER_PER_PIXEL_Y = %.10g", mpp) &&
             ini(f, "DIGITIZER_WIDTH = %u", o->tile) && ini(f, "DIGITIZER_HEIGHT = %u", o->tile) &&
             ini(f, "OVERLAP_X = 0") && ini(f, "OVERLAP_Y = 0") &&
             ini(f, "IMAGE_CONCAT_FACTOR = %d", z ? 1 : 0) && ini(f, "IMAGE_FORMAT = JPEG") &&
             ini(f, "IMAGE_COMPRESSION_FACTOR = %u", o->quality);
    }
    ok = ok && ini(f, "[LAYER_0_SECTION]") && ini(f, "SQRT2_RESIZED = False") &&
         ini(f, "[NONHIERLAYER_0_SECTION]") &&
         ini(f, "SCANNER_HARDWARE_VERSION = %s", o->hardware) &&
         ini(f, "SCANNER_SOFTWARE_VERSION = %s", o->software) &&
         ini(f, "[NONHIERLAYER_0_LEVEL_0_SECTION]") && ini(f, "THUMBNAIL_IMAGE_TYPE = JPEG") &&
         ini(f, "THUMBNAIL_IMAGE_WIDTH = %d", MACRO_W) &&
         ini(f, "THUMBNAIL_IMAGE_HEIGHT = %d", MACRO_H) &&
         ini(f, "[NONHIERLAYER_0_LEVEL_1_SECTION]") && ini(f, "BARCODE_IMAGE_TYPE = JPEG") &&
         ini(f, "BARCODE_IMAGE_WIDTH = %d", LABEL_W) &&
         ini(f, "BARCODE_IMAGE_HEIGHT = %d", MACRO_H) &&
         ini(f, "[NONHIERLAYER_0_LEVEL_2_SECTION]") && ini(f, "PREVIEW_IMAGE_TYPE = JPEG") &&
         ini(f, "PREVIEW_IMAGE_WIDTH = %u", preview_w) &&
         ini(f, "PREVIEW_IMAGE_HEIGHT = %u", preview_h) &&
         ini(f, "[NONHIERLAYER_1_SECTION]") &&
         ini(f, "VIMSLIDE_POSITION_DATA_FORMAT_VERSION = 257");
    return fclose(f) == 0 && ok;
}

// Each camera photo's level-0 position: a flag byte (1: scanned) and x, y little-endian.
static bool position_buffer(const options *o, bytes *b)
{
    bool ok = true;
    for (uint32_t yp = 0; ok && yp < o->rows / DIVISIONS; yp++) {
        for (uint32_t xp = 0; ok && xp < o->cols / DIVISIONS; xp++) {
            uint8_t flag = 1;
            ok = put(b, &flag, 1) && put_le32(b, xp * DIVISIONS * o->tile) &&
                 put_le32(b, yp * DIVISIONS * o->tile);
        }
    }
    return ok;
}

// Writes the pyramid into data (Data0000.dat), filling each zoom level's records and image
// indexes (arrays the caller frees).
static bool write_pyramid(const options *o, bytes *data, record **images, uint32_t *nimages,
                          uint32_t **image_index)
{
    uint8_t *rgb = malloc((size_t)o->tile * o->tile * 3);
    bool ok = rgb != NULL;
    for (uint32_t z = 0; ok && z < o->levels; z++) {
        uint32_t step = 1u << z;
        uint32_t across = (o->cols + step - 1) / step, down = (o->rows + step - 1) / step;
        images[z] = calloc((size_t)across * down, sizeof **images);
        image_index[z] = calloc((size_t)across * down, sizeof **image_index);
        ok = images[z] && image_index[z];
        for (uint32_t y = 0; ok && y < o->rows; y += step) {
            for (uint32_t x = 0; ok && x < o->cols; x += step) {
                render_image(o, z, x, y, rgb);
                image_index[z][nimages[z]] = y * o->cols + x;
                ok = add_jpeg(data, 0, rgb, o->tile, o->tile, (int)o->quality,
                              &images[z][nimages[z]++]);
            }
        }
    }
    free(rgb);
    return ok;
}

// Writes the macro, label, preview and position buffer into data (Data0001.dat), and the
// preview into mrxs (the .mrxs file's bytes).
static bool write_nonhier(const options *o, bytes *data, bytes *mrxs, record nonhier[4],
                          uint32_t *preview_w, uint32_t *preview_h)
{
    *preview_w = 256;
    *preview_h = (uint32_t)lround(256.0 * o->rows / o->cols);
    size_t most = (size_t)MACRO_W * MACRO_H;
    if ((size_t)*preview_w * *preview_h > most) {
        most = (size_t)*preview_w * *preview_h;
    }
    uint8_t *rgb = calloc(most, 3);
    if (!rgb) {
        return false;
    }
    render_macro(o, rgb);
    bool ok = add_jpeg(data, 1, rgb, MACRO_W, MACRO_H, 90, &nonhier[0]);
    render_label(LABEL_W, MACRO_H, LABEL_W, rgb);
    ok = ok && add_jpeg(data, 1, rgb, LABEL_W, MACRO_H, 90, &nonhier[1]);
    render_preview(o, *preview_w, *preview_h, rgb);
    ok = ok && add_jpeg(data, 1, rgb, *preview_w, *preview_h, 90, &nonhier[2]) &&
         jpeg_append(mrxs, rgb, *preview_w, *preview_h, 90);
    nonhier[3].file = 1;
    nonhier[3].offset = (uint32_t)data->len;
    ok = ok && position_buffer(o, data);
    nonhier[3].length = (uint32_t)(data->len - nonhier[3].offset);
    free(rgb);
    return ok;
}

static int make(const options *o)
{
    size_t n = strlen(o->out);
    if (n <= 5 || strcmp(o->out + n - 5, ".mrxs") != 0) {
        return tool_fail(o->out, "the slide's name must end in .mrxs");
    }
    char dir[4096], path[4200];
    if (n - 5 >= sizeof dir) {
        return tool_fail(o->out, "name too long");
    }
    snprintf(dir, sizeof dir, "%.*s", (int)(n - 5), o->out);
    struct stat st;
    if (mkdir(dir, 0777) != 0 && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        return tool_fail(o->out, "cannot make the folder %s", dir);
    }
    // Each data file starts with the version and the slide id, as the scanner's do.
    bytes pyramid = {0}, extra = {0}, index = {0}, mrxs = {0};
    record *images[32] = {0}, nonhier[4] = {{0}};
    uint32_t *image_index[32] = {0}, nimages[32] = {0}, preview_w = 0, preview_h = 0;
    bool ok = put(&pyramid, INDEX_VERSION, 5) && put(&pyramid, o->slide_id, strlen(o->slide_id)) &&
              put(&extra, INDEX_VERSION, 5) && put(&extra, o->slide_id, strlen(o->slide_id)) &&
              write_pyramid(o, &pyramid, images, nimages, image_index) &&
              write_nonhier(o, &extra, &mrxs, nonhier, &preview_w, &preview_h) &&
              build_index(o, images, nimages, (const uint32_t *const *)image_index, nonhier, 4,
                          &index);
    const char *failed = ok ? NULL : "out of memory";
    struct { const char *name; const bytes *b; } files[] = {
        {"Data0000.dat", &pyramid}, {"Data0001.dat", &extra}, {"Index.dat", &index}};
    for (size_t i = 0; !failed && i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
        if (!write_file(path, files[i].b->data, files[i].b->len)) {
            failed = files[i].name;
        }
    }
    snprintf(path, sizeof path, "%s/Slidedat.ini", dir);
    if (!failed && !write_slidedat(o, path, preview_w, preview_h)) {
        failed = "Slidedat.ini";
    }
    if (!failed && !write_file(o->out, mrxs.data, mrxs.len)) {
        failed = "the .mrxs file";
    }
    for (uint32_t z = 0; z < 32; z++) {
        free(images[z]);
        free(image_index[z]);
    }
    free(pyramid.data), free(extra.data), free(index.data), free(mrxs.data);
    return failed ? tool_fail(o->out, "cannot write %s", failed) : 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: " PROG " OUT.mrxs [--cols N] [--rows N] [--tile N] [--levels N]\n"
            "       [--quality Q] [--mpp UM] [--mag N] [--slide-id HEX] [--serial S]\n"
            "       [--software V] [--hardware V]\n"
            "Writes OUT.mrxs and the folder OUT/ (Slidedat.ini, Index.dat, Data0000.dat,\n"
            "Data0001.dat). --cols and --rows count level-0 images of --tile pixels (even:\n"
            "2 x 2 images per camera photo); each of the --levels zoom levels halves the one\n"
            "before. Defaults: 8 x 6 images of 256, 4 levels, quality 90, 0.25 um, 20x.\n");
}

int main(int argc, char **argv)
{
    tool_begin(PROG);
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    options o = {.cols = 8, .rows = 6, .tile = 256, .levels = 4, .quality = 90, .mpp = 0.25,
                 .mag = 20, .slide_id = "5A0E2C9B7D1F4E3A8B6C0D2E4F6A8B0C",
                 .serial = "SN-0042-P250", .software = "2.0.0.27", .hardware = "1.8"};
    if (argc < 2 || argv[1][0] == '-') {
        usage(stderr);
        return 2;
    }
    o.out = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            usage(stderr);
            return 2;
        }
        i++;
        if (!strcmp(a, "--cols")) {
            o.cols = (uint32_t)strtoul(v, NULL, 10);
        } else if (!strcmp(a, "--rows")) {
            o.rows = (uint32_t)strtoul(v, NULL, 10);
        } else if (!strcmp(a, "--tile")) {
            o.tile = (uint32_t)strtoul(v, NULL, 10);
        } else if (!strcmp(a, "--levels")) {
            o.levels = (uint32_t)strtoul(v, NULL, 10);
        } else if (!strcmp(a, "--quality")) {
            o.quality = (uint32_t)strtoul(v, NULL, 10);
        } else if (!strcmp(a, "--mpp")) {
            o.mpp = strtod(v, NULL);
        } else if (!strcmp(a, "--mag")) {
            o.mag = atoi(v);
        } else if (!strcmp(a, "--slide-id")) {
            o.slide_id = v;
        } else if (!strcmp(a, "--serial")) {
            o.serial = v;
        } else if (!strcmp(a, "--software")) {
            o.software = v;
        } else if (!strcmp(a, "--hardware")) {
            o.hardware = v;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (o.cols < DIVISIONS || o.rows < DIVISIONS || o.cols % DIVISIONS || o.rows % DIVISIONS ||
        o.cols > 4096 || o.rows > 4096 || o.tile < 16 || o.tile > 4096 || o.levels < 1 ||
        o.levels > 12 || o.quality < 1 || o.quality > 100 || !(o.mpp > 0) || o.mag <= 0) {
        usage(stderr);
        return 2;
    }
    return make(&o);
}
