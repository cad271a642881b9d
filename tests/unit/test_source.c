// SPDX-License-Identifier: Apache-2.0
/* The source registry and its TIFF listing:
 *  - each format's detect() agrees with OpenSlide's own vendor test on every file under the
 *    test data and the synthetic slides (a wrong detect would send a slide down the wrong
 *    format; plain_tiff claims no file OpenSlide reads as a slide of 8-bit samples), and
 *    every Aperio, NDPI and Ventana file is told without OpenSlide;
 *  - the formats that open the shared slides and the plain TIFFs, and damage refused;
 *  - the listing: one entry per directory, in one pass, each image with its own lossy
 *    history (pages of one size, more than 64 of them), damage told by IFD;
 *  - typed metadata: a Hamamatsu filter cube and OME-XML's channels as the source's. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <math.h>
#include <stdlib.h>
#include <tiffio.h>
#include <unistd.h>

#include "core/dynlib.h"
#include "harness.h"
#include "source/source_impl.h"

static const char *testdata;
static const char *(*detect_vendor)(const char *filename);
static int told, tiff_slides;

static bool is(const char *a, const char *b)
{
    return a && strcmp(a, b) == 0;
}

static int check_detect(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)ftw;
    if (type != FTW_F) {
        return 0;
    }
    s2d_error err = {0};
    s2d_tiffdir *td = s2d_tiffdir_list(path, &err);
    CHECK(err.code == S2D_OK);
    const char *vendor = detect_vendor(path);
    bool ndpi = s2d_format_ndpi.detect(path, td), aperio = s2d_format_aperio.detect(path, td);
    bool philips = s2d_format_philips.detect(path, td);
    bool scn = s2d_format_leica_scn.detect(path, td);
    bool ome = s2d_format_ome.detect(path, td), tiled = s2d_format_tiled_tiff.detect(path, td);
    bool plain = s2d_format_plain_tiff.detect(path, td);
    bool ventana = s2d_format_ventana.detect(path, td);
    bool histech = s2d_format_3dhistech.detect(path, td);
    bool ok = true;
    // What a format claims is OpenSlide's to say so too.
    ok &= !ndpi || is(vendor, "hamamatsu");
    ok &= !aperio || is(vendor, "aperio");
    ok &= !philips || is(vendor, "philips");
    ok &= !scn || is(vendor, "leica");
    ok &= !ventana || is(vendor, "ventana");
    ok &= !(ome || tiled) || !vendor || is(vendor, "generic-tiff");
    // OpenSlide has no 3DHistech TIFF reader: a generic TIFF to it.
    ok &= !histech || is(vendor, "generic-tiff");
    // A plain TIFF is no slide to OpenSlide, or a generic one it would cut to 8 bits.
    ok &= !plain || !vendor ||
          (is(vendor, "generic-tiff") &&
           (td->ifds[0].bits != 8 || td->ifds[0].sample_format != SAMPLEFORMAT_UINT));
    // And what OpenSlide says of a TIFF, a format claims.
    ok &= !td || !is(vendor, "hamamatsu") || ndpi;
    ok &= !is(vendor, "aperio") || aperio;
    ok &= !is(vendor, "philips") || philips;
    ok &= !is(vendor, "leica") || scn;
    ok &= !is(vendor, "ventana") || ventana;
    ok &= !is(vendor, "generic-tiff") || ome || tiled || histech;
    ok &= (int)ndpi + (int)aperio + (int)philips + (int)scn + (int)ventana + (int)histech +
              (int)tiled <= 1;
    if (!ok) {
        fprintf(stderr, "%s: OpenSlide says %s; ndpi %d aperio %d philips %d scn %d ventana %d "
                "3dhistech %d ome %d tiled %d plain %d\n", path, vendor ? vendor : "none", ndpi,
                aperio, philips, scn, ventana, histech, ome, tiled, plain);
        CHECK(!"detect() agrees with OpenSlide");
    }
    told += ndpi || aperio || philips || scn || ventana;
    tiff_slides += td && (is(vendor, "hamamatsu") || is(vendor, "aperio") ||
                          is(vendor, "philips") || is(vendor, "leica") || is(vendor, "ventana"));
    s2d_tiffdir_free(td);
    return 0;
}

static void test_detect_agrees_with_openslide(const char *fixtures)
{
    s2d_error why = {0};
    const s2d_dynsym syms[] = {S2D_DYNSYM("openslide_detect_vendor", detect_vendor)};
    CHECK(s2d_dynlib_load(OPENSLIDE_SONAME, syms, 1, &why));
    if (!detect_vendor) {
        return;
    }
    CHECK(nftw(testdata, check_detect, 16, FTW_PHYS) == 0);
    CHECK(nftw(fixtures, check_detect, 16, FTW_PHYS) == 0);
    fprintf(stderr, "%d file(s) told without OpenSlide, %d Aperio, NDPI, Philips, Leica or "
            "Ventana per OpenSlide\n",
            told, tiff_slides);
    CHECK(told >= 5 && told == tiff_slides);
}

static void path_of(char *out, size_t n, const char *rel)
{
    snprintf(out, n, "%s/%s", testdata, rel);
}

static void expect_format(const char *rel, const char *format)
{
    char path[4096];
    path_of(path, sizeof path, rel);
    s2d_error err = {0};
    s2d_source *src = s2d_source_open(path, &err);
    if (!src || strcmp(s2d_source_format(src), format) != 0) {
        fprintf(stderr, "%s: %s (want %s)\n", rel, src ? s2d_source_format(src) : err.message,
                format);
        CHECK(!"opened by the expected format");
    }
    s2d_source_close(src);
}

static void expect_refused(const char *rel, const char *message)
{
    char path[4096];
    path_of(path, sizeof path, rel);
    s2d_error err = {0};
    s2d_source *src = s2d_source_open(path, &err);
    CHECK(!src && err.code == S2D_ERR_INPUT);
    if (strstr(err.message, message) != err.message) {
        fprintf(stderr, "%s: \"%s\"\n", rel, err.message);
        CHECK(!"refused with today's message");
    }
    s2d_source_close(src);
}

static void test_formats(void)
{
    expect_format("aperio/CMU-1-Small-Region.svs", "aperio");
    expect_format("aperio/tcga-cr-7395-01a-01-ts1.svs", "aperio");
    expect_format("hamamatsu-ndpi/test3-DAPI 2 (387) .ndpi", "ndpi");
    expect_format("ome-tiff/OS-1-detail.ome.tif", "ome");
    expect_format("synthetic-openslide/boxes.tiff", "openslide");   // Deflate tiles
    // Stripped TIFFs, and tiled ones OpenSlide would read only in 8 bits or not at all.
    expect_format("libtiff/minisblack-1c-8b.tiff", "plain-tiff");
    expect_format("libtiff/palette-1c-1b.tiff", "plain-tiff");
    expect_format("libtiff/rgb-3c-16b.tiff", "plain-tiff");
    expect_format("libtiff/ojpeg_zackthecat_subsamp22_single_strip.tiff", "plain-tiff");
    expect_format("ome-tiff/multi-channel-z-series.ome.tif", "plain-tiff");
    expect_format("libtiff/tiff_with_subifd_chain.tif", "openslide");   // 8-bit LZW tiles
    expect_refused("libtiff/test_ifd_loop_to_self.tif",
                   "a damaged or truncated TIFF: IFD 1 cannot be read");
    expect_refused("negative/histolab_broken.svs", "not a slide format OpenSlide can read");
}

// The Philips fixture (make_svs --format philips): reduced levels cut to level 0's size
// over their downsample, never-stored tiles absent, the label from the XML's JPEG, and the
// metadata of the XML.
static void test_philips(const char *fixtures)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/synthetic-philips.tiff", fixtures);
    s2d_error err = {0};
    s2d_source *src = s2d_source_open(path, &err);
    CHECK(src && strcmp(s2d_source_format(src), "philips") == 0);
    if (!src) {
        return;
    }
    static const uint32_t sizes[][2] = {{3000, 2000}, {1500, 1000}, {750, 500}, {375, 250}};
    CHECK(s2d_source_level_count(src) == 4);
    for (int i = 0; i < 4 && i < s2d_source_level_count(src); i++) {
        const s2d_source_image *l = s2d_source_level(src, i);
        CHECK(l->pix.width == sizes[i][0] && l->pix.height == sizes[i][1]);
        CHECK(l->native.coding == S2D_CODING_JPEG && l->native.tile_w == 512);
        CHECK(l->pix.colour == S2D_COLOUR_YCBCR && l->chroma_w == 2 && l->chroma_h == 2);
        CHECK(fabs(l->downsample - (double)(1 << i)) < 1e-9);
    }
    // Level 0's tiles 0 (top left, bare glass) and 10 (tissue), as the listing stores them.
    const s2d_tiff_ifd *d0 = &src->tiffdir->ifds[0];
    CHECK(d0->counts[0] == 0 && d0->counts[10] > 0);
    CHECK(s2d_source_frame_absent(src, 0, 0, 0) && !s2d_source_frame_absent(src, 0, 4, 1));
    CHECK(!s2d_source_frame_absent(src, 1, 0, 0));
    const s2d_source_image *label = s2d_source_associated(src, S2D_IMAGE_LABEL);
    CHECK(label && label->pix.width == 400 && label->pix.height == 300 &&
          label->pix.colour == S2D_COLOUR_YCBCR && label->history.method == S2D_LOSSY_JPEG);
    const s2d_source_image *macro = s2d_source_associated(src, S2D_IMAGE_OVERVIEW);
    CHECK(macro && macro->pix.width == 1280 && macro->pix.height == 431);
    CHECK(s2d_source_associated(src, S2D_IMAGE_THUMBNAIL) == NULL);
    s2d_buf jpeg = {0};
    int64_t w = 0, h = 0;
    s2d_colour colour;
    CHECK(s2d_source_associated_jpeg(src, S2D_IMAGE_LABEL, &jpeg, &w, &h, &colour) &&
          w == 400 && h == 300 && colour == S2D_COLOUR_YCBCR && jpeg.len > 4 &&
          jpeg.data[0] == 0xFF && jpeg.data[1] == 0xD8);
    s2d_buf_free(&jpeg);
    uint8_t *rgb = NULL;
    CHECK(s2d_source_read_associated(src, S2D_IMAGE_LABEL, &rgb, &w, &h, &err) && w == 400);
    // The label's coloured frame (40, 90, 175) near its top left corner, JPEG give or take.
    const uint8_t *px = rgb ? rgb + (5 * 400 + 5) * 3 : NULL;
    CHECK(px && abs(px[0] - 40) < 12 && abs(px[1] - 90) < 12 && abs(px[2] - 175) < 12);
    free(rgb);
    const s2d_source_meta *m = s2d_source_meta_of(src);
    CHECK(m->mpp_x == 0.25 && m->mpp_y == 0.25 && m->objective_power == 40);
    CHECK(strcmp(m->barcode, "SYNTH-0001") == 0);
    CHECK(strcmp(m->acquisition_datetime, "20261125101112") == 0);
    const s2d_source_device *dev = &m->device;
    CHECK(strcmp(dev->manufacturer, "PHILIPS") == 0 && strcmp(dev->model, "UFS Scanner") == 0);
    CHECK(strcmp(dev->serial, "FMT0042") == 0);
    CHECK(strcmp(dev->software[0], "1.8.6824") == 0 &&
          strcmp(dev->software[1], "20180906_R51") == 0 && !dev->software[2][0]);
    CHECK(strcmp(m->format_title, "Philips TIFF") == 0);
    s2d_source_close(src);
}

// The Leica fixture (make_svs --format scn): levels of the whole glass, the region's tiles
// placed at its offset, the frames around it absent; the tiled macro; the XML's metadata.
static void test_scn(const char *fixtures)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/synthetic-leica.scn", fixtures);
    s2d_error err = {0};
    s2d_source *src = s2d_source_open(path, &err);
    CHECK(src && strcmp(s2d_source_format(src), "leica-scn") == 0);
    if (!src) {
        return;
    }
    static const uint32_t sizes[][2] = {{5120, 4096}, {2560, 2048}, {1280, 1024}};
    CHECK(s2d_source_level_count(src) == 3);
    for (int i = 0; i < 3 && i < s2d_source_level_count(src); i++) {
        const s2d_source_image *l = s2d_source_level(src, i);
        CHECK(l->pix.width == sizes[i][0] && l->pix.height == sizes[i][1]);
        CHECK(l->native.coding == S2D_CODING_JPEG && l->native.tile_w == 256);
    }
    // Level 0's region starts at pixel (1024, 1024): frame (4, 4) is its first tile.
    CHECK(s2d_source_frame_absent(src, 0, 3, 4) && s2d_source_frame_absent(src, 0, 4, 3));
    CHECK(!s2d_source_frame_absent(src, 0, 4, 4) && !s2d_source_frame_absent(src, 0, 15, 11));
    CHECK(s2d_source_frame_absent(src, 0, 16, 11) && s2d_source_frame_absent(src, 2, 0, 0));
    s2d_read_ctx *ctx = s2d_read_ctx_new(src, 256, 256, &err);
    s2d_buf frame = {0};
    CHECK(ctx && s2d_source_read_frame(src, ctx, 0, 4, 4, 256, 256, &frame, &err));
    s2d_buf_free(&frame);
    s2d_read_ctx_free(ctx);
    const s2d_source_image *macro = s2d_source_associated(src, S2D_IMAGE_OVERVIEW);
    CHECK(macro && macro->pix.width == 640 && macro->pix.height == 512);
    CHECK(!s2d_source_associated(src, S2D_IMAGE_LABEL));
    const s2d_source_meta *m = s2d_source_meta_of(src);
    CHECK(m->mpp_x == 0.5 && m->mpp_y == 0.5 && m->objective_power == 20);
    CHECK(strcmp(m->barcode, "SYNTH-0001") == 0);
    CHECK(strcmp(m->acquisition_datetime, "20261125101112") == 0);
    CHECK(strcmp(m->device.manufacturer, "Leica") == 0 &&
          strcmp(m->device.model, "Leica SCN400;Leica SCN") == 0);
    CHECK(strncmp(m->device.software[0], "1.5.1.10804", 11) == 0);
    CHECK(strcmp(m->format_title, "Leica SCN") == 0);
    s2d_source_close(src);
}

// The source model: levels and associated images with roles, pixel descriptions, native
// coding and their own history.
static void test_model(void)
{
    char path[4096];
    path_of(path, sizeof path, "aperio/CMU-1-Small-Region.svs");
    s2d_error err = {0};
    s2d_source *src = s2d_source_open(path, &err);
    CHECK(src != NULL);
    if (!src) {
        return;
    }
    const s2d_source_image *l0 = s2d_source_level(src, 0);
    CHECK(s2d_source_level_count(src) == 1 && l0->role == S2D_IMAGE_LEVEL);
    CHECK(l0->pix.width == 2220 && l0->pix.height == 2967 && l0->pix.samples == 3);
    CHECK(l0->pix.colour == S2D_COLOUR_RGB);   // RGB samples, though subsampling says 2,2
    CHECK(l0->native.coding == S2D_CODING_JPEG && l0->native.tile_w == 240);
    CHECK(l0->history.known && l0->history.method == S2D_LOSSY_JPEG && l0->history.ratio > 1);
    const s2d_source_image *label = s2d_source_associated(src, S2D_IMAGE_LABEL);
    CHECK(label && label->history.known && label->history.method == S2D_LOSSY_NONE);
    CHECK(s2d_source_associated(src, S2D_IMAGE_OVERVIEW) != NULL);
    CHECK(s2d_source_associated(src, S2D_IMAGE_THUMBNAIL) != NULL);
    const s2d_source_meta *m = s2d_source_meta_of(src);
    CHECK(m->mpp_x == 0.499 && m->objective_power == 20 && !m->fluorescence);
    s2d_source_close(src);

    // The thumbnail of small.svs has level 0's size but a history of its own.
    path_of(path, sizeof path, "aperio/small.svs");
    src = s2d_source_open(path, &err);
    CHECK(src != NULL);
    const s2d_source_image *thumb = src ? s2d_source_associated(src, S2D_IMAGE_THUMBNAIL) : NULL;
    CHECK(thumb && thumb->history.known);
    if (thumb) {
        l0 = s2d_source_level(src, 0);
        CHECK(thumb->pix.width == l0->pix.width && thumb->pix.height == l0->pix.height);
        CHECK(thumb->history.ratio != l0->history.ratio);
    }
    s2d_source_close(src);

    path_of(path, sizeof path, "hamamatsu-ndpi/test3-DAPI 2 (387) .ndpi");
    src = s2d_source_open(path, &err);
    CHECK(src != NULL);
    if (src) {
        l0 = s2d_source_level(src, 0);
        CHECK(l0->native.tile_w == 0 && l0->native.mcu_w > 0);   // cut from strips
        const s2d_source_meta *meta = s2d_source_meta_of(src);
        CHECK(meta->fluorescence && meta->nchannels == 1);
        CHECK(meta->nchannels == 1 && meta->channels[0].excitation_nm == 387 &&
              meta->channels[0].emission_nm == 455 &&
              !strcmp(meta->channels[0].name, "DAPI 2 (387)"));
        CHECK(s2d_source_associated(src, S2D_IMAGE_OVERVIEW) != NULL);
    }
    s2d_source_close(src);
}

// A TIFF of n pages of one size: even pages JPEG, odd ones uncompressed.
static bool write_pages(const char *path, int n)
{
    TIFF *tif = TIFFOpen(path, "w");
    if (!tif) {
        return false;
    }
    uint8_t row[64 * 3];
    for (int i = 0; i < 64 * 3; i++) {
        row[i] = (uint8_t)(i * 7);
    }
    bool ok = true;
    for (int p = 0; ok && p < n; p++) {
        TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, 64);
        TIFFSetField(tif, TIFFTAG_IMAGELENGTH, 64);
        TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 3);
        TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 8);
        TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
        TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
        TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, 64);
        TIFFSetField(tif, TIFFTAG_COMPRESSION, p % 2 ? COMPRESSION_NONE : COMPRESSION_JPEG);
        for (uint32_t y = 0; ok && y < 64; y++) {
            ok = TIFFWriteScanline(tif, row, y, 0) == 1;
        }
        ok = ok && TIFFWriteDirectory(tif);
    }
    TIFFClose(tif);
    return ok;
}

static void test_listing(const char *workdir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/pages.tif", workdir);
    CHECK(write_pages(path, 70));
    s2d_error err = {0};
    s2d_tiffdir *td = s2d_tiffdir_list(path, &err);
    CHECK(td && td->n == 70 && !td->damage[0]);
    for (int p = 0; td && p < td->n; p++) {
        const s2d_lossy_history *h = &td->ifds[p].history;
        bool jpeg = p % 2 == 0;
        if (!h->known || h->method != (jpeg ? S2D_LOSSY_JPEG : S2D_LOSSY_NONE) ||
            (jpeg && !(h->ratio > 1))) {
            fprintf(stderr, "page %d: known %d method %d ratio %g\n", p, h->known, h->method,
                    h->ratio);
            CHECK(!"each page has its own history");
        }
    }
    s2d_tiffdir_free(td);

    // The listing holds every directory libtiff walks, with its tables.
    path_of(path, sizeof path, "aperio/tcga-cr-7395-01a-01-ts1.svs");
    td = s2d_tiffdir_list(path, &err);
    TIFF *tif = TIFFOpen(path, "r");
    CHECK(td && tif && td->n == (int)TIFFNumberOfDirectories(tif));
    CHECK(td && td->icc_profile_len > 0 && td->ifds[0].offsets && td->ifds[0].tiled);
    CHECK(td && td->ifds[0].history.method == S2D_LOSSY_J2K);
    if (tif) {
        TIFFClose(tif);
    }
    s2d_tiffdir_free(td);

    // A file cut in half is told damaged, naming the first directory that cannot be read.
    snprintf(path, sizeof path, "%s/cut.tif", workdir);
    struct stat st;
    CHECK(write_pages(path, 3) && stat(path, &st) == 0 && truncate(path, st.st_size / 2) == 0);
    td = s2d_tiffdir_list(path, &err);
    CHECK(td && td->n == 1);
    CHECK(td && strcmp(td->damage, "a damaged or truncated TIFF: IFD 1 cannot be read") == 0);
    s2d_tiffdir_free(td);

    // Not a TIFF: no listing, no error.
    path_of(path, sizeof path, "negative/histolab_broken.svs");
    err = (s2d_error){0};
    CHECK(s2d_tiffdir_list(path, &err) == NULL && err.code == S2D_OK);
}

// One JPEG-tiled RGB image of 256 x 256 pixels with description as its ImageDescription.
static bool write_tiled(const char *path, const char *description)
{
    TIFF *tif = TIFFOpen(path, "w");
    if (!tif) {
        return false;
    }
    static uint8_t tile[256 * 256 * 3];
    for (size_t i = 0; i < sizeof tile; i++) {
        tile[i] = (uint8_t)(i % 251);
    }
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, 256);
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, 256);
    TIFFSetField(tif, TIFFTAG_TILEWIDTH, 256);
    TIFFSetField(tif, TIFFTAG_TILELENGTH, 256);
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 3);
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
    TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_JPEG);
    TIFFSetField(tif, TIFFTAG_IMAGEDESCRIPTION, description);
    bool ok = TIFFWriteTile(tif, tile, 0, 0, 0, 0) > 0 && TIFFWriteDirectory(tif);
    TIFFClose(tif);
    return ok;
}

// OME-XML's channels become the source's, in order, names and wavelengths in nanometres
// whatever unit the file gives them in; a channel that says nothing is "" and zeros. The
// Channel of a second image is not the first image's.
static void test_ome_channels(const char *workdir)
{
    static const char xml[] =
        "<?xml version=\"1.0\"?><OME xmlns=\"http://www.openmicroscopy.org/Schemas/OME/2016-06\">"
        "<Image ID=\"Image:0\"><Pixels ID=\"Pixels:0\" DimensionOrder=\"XYCZT\" SizeC=\"3\" "
        "SizeT=\"1\" SizeX=\"256\" SizeY=\"256\" SizeZ=\"1\" Type=\"uint8\" "
        "PhysicalSizeX=\"0.5\" PhysicalSizeY=\"0.5\">"
        "<Channel ID=\"Channel:0:0\" Name=\"DAPI &amp; Hoechst\" ExcitationWavelength=\"358\" "
        "EmissionWavelength=\"461.5\" SamplesPerPixel=\"1\"><LightPath/></Channel>"
        "<Channel ID=\"Channel:0:1\" Name=\"FITC\" ExcitationWavelength=\"0.49\" "
        "ExcitationWavelengthUnit=\"\xC2\xB5m\" SamplesPerPixel=\"1\"/>"
        "<Channel ID=\"Channel:0:2\" SamplesPerPixel=\"1\"/>"
        "<TiffData/></Pixels></Image>"
        "<Image ID=\"Image:1\"><Pixels ID=\"Pixels:1\"><Channel ID=\"Channel:1:0\" "
        "Name=\"other image\"/></Pixels></Image></OME>";
    char path[4096];
    snprintf(path, sizeof path, "%s/channels.ome.tif", workdir);
    CHECK(write_tiled(path, xml));
    s2d_error err = {0};
    s2d_source *src = s2d_source_open(path, &err);
    CHECK(src && strcmp(s2d_source_format(src), "ome") == 0);
    if (!src) {
        fprintf(stderr, "%s: %s\n", path, err.message);
        return;
    }
    const s2d_source_meta *m = s2d_source_meta_of(src);
    CHECK(m->mpp_x == 0.5 && m->nchannels == 3);
    if (m->nchannels == 3) {
        const s2d_source_channel *c = m->channels;
        CHECK(!strcmp(c[0].name, "DAPI & Hoechst") && c[0].excitation_nm == 358 &&
              c[0].emission_nm == 461.5);
        CHECK(!strcmp(c[1].name, "FITC") && fabs(c[1].excitation_nm - 490) < 1e-9 &&
              c[1].emission_nm == 0);
        CHECK(!c[2].name[0] && c[2].excitation_nm == 0 && c[2].emission_nm == 0);
    }
    // Channels alone do not make a scan fluorescent: the optical path stays as it was.
    CHECK(!m->fluorescence);
    s2d_source_close(src);
}

static void test_sniff(void)
{
    char path[4096];
    path_of(path, sizeof path, "libtiff/rgb-3c-8b.tiff");
    CHECK(s2d_source_sniff(path));   // a TIFF: a batch takes it, and says why it fails
    CHECK(s2d_source_sniff("/nonexistent/slide.MRXS"));
    CHECK(s2d_source_sniff("/nonexistent/a.ndpi"));
    CHECK(!s2d_source_sniff("/nonexistent/notes.txt"));
    path_of(path, sizeof path, "README.md");
    CHECK(!s2d_source_sniff(path));
}

// What the format files read from scanners' text: dates in their three forms, each field in
// range, and base64 barcodes that must decode to printable text.
static void test_meta_text(void)
{
    char dt[27];
    CHECK(s2d_meta_tiff_datetime("2009:12:29 09:59:15", dt) && !strcmp(dt, "20091229095915"));
    CHECK(s2d_meta_tiff_datetime("20261125101112.000000", dt) && !strcmp(dt, "20261125101112"));
    CHECK(!s2d_meta_tiff_datetime("20261325101112", dt));   // month 13
    CHECK(!s2d_meta_tiff_datetime("20261100101112", dt));   // day 0
    CHECK(!s2d_meta_tiff_datetime("00001125101112", dt));   // year 0
    CHECK(!s2d_meta_tiff_datetime("2026112510111", dt));    // 13 digits
    char barcode[16];
    bool nomem = true;
    CHECK(s2d_meta_base64_text("U0xJREUtNDI=", barcode, sizeof barcode, &nomem) &&
          !strcmp(barcode, "SLIDE-42") && !nomem);
    strcpy(barcode, "kept");
    CHECK(!s2d_meta_base64_text("AAEC", barcode, sizeof barcode, &nomem) &&
          !strcmp(barcode, "kept"));   // bytes 0, 1, 2: not text
    CHECK(!s2d_meta_base64_text("QUJDREVGR0hJSktMTU5PUFFS", barcode, sizeof barcode, &nomem));
    CHECK(!s2d_meta_base64_text("SLIDE 42!", barcode, sizeof barcode, &nomem));
    CHECK(!s2d_meta_base64_text(NULL, barcode, sizeof barcode, &nomem));
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: test_source TESTDATA FIXTURES WORKDIR\n");
        return 2;
    }
    testdata = argv[1];
    mkdir(argv[3], 0777);
    test_detect_agrees_with_openslide(argv[2]);
    RUN(test_formats);
    RUN(test_model);
    test_philips(argv[2]);
    test_scn(argv[2]);
    test_listing(argv[3]);
    test_ome_channels(argv[3]);
    RUN(test_sniff);
    RUN(test_meta_text);
    return harness_failures != 0;
}
