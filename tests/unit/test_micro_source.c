// SPDX-License-Identifier: Apache-2.0
/* The source layer of microscopy planes (issue 17):
 *  - the parsers on strings and bytes: OME-XML (ome_xml.c), ImageJ descriptions and
 *    IJMetadata LUTs (imagej.c), QPTIFF's per-IFD XML (qptiff.c);
 *  - the layout of the two shared files: multi-channel-z-series.ome.tif (int8, 3 C x 5 Z,
 *    XYZCT) and small_vectra.qptiff (3 channels, thumbnail, overview, label);
 *  - TIFFs written here with libtiff: grey OME-TIFFs (tiled ones too: fmt_ome leaves them),
 *    an ImageJ hyperstack with LUTs, grey TIFFs with and without a microscope's
 *    resolution, and files whose OME-XML or planes disagree, each refused in one line
 *    naming what disagrees.
 * usage: test_micro_source TESTDATA WORKDIR */
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <tiffio.h>

#include "harness.h"
#include "source/imagej.h"
#include "source/ome_xml.h"
#include "source/qptiff.h"
#include "source/source.h"
#include "source/tiffdir.h"

static const char *testdata, *workdir;

// ------------------------------------------------------------------ OME-XML on strings

// The IFDs of the planes of xml in a file of nifds IFDs, or NULL with the reason in why.
static int *ome_ifds(const char *xml, int nifds, char why[sizeof ((s2d_error *)0)->message])
{
    s2d_ome_image img;
    s2d_error err = {0};
    int *ifds = NULL;
    if (s2d_ome_parse(xml, &img, &err)) {
        ifds = malloc(64 * sizeof *ifds);
        if (!s2d_ome_plane_ifds(&img, nifds, ifds, &err)) {
            free(ifds);
            ifds = NULL;
        }
    }
    memcpy(why, err.message, sizeof err.message);
    s2d_ome_image_free(&img);
    return ifds;
}

// Every prefix of text, in a buffer of exactly its size, through each parser: cut documents
// parse or are refused without reading past their end (which ASan builds catch).
static void parse_prefixes(const char *text)
{
    size_t n = strlen(text);
    for (size_t k = 0; k <= n; k++) {
        char *cut = malloc(k + 1);
        if (!cut) {
            CHECK(!"memory");
            return;
        }
        memcpy(cut, text, k);
        cut[k] = '\0';
        s2d_ome_image img;
        s2d_error err = {0};
        int ifds[64];
        if (s2d_ome_parse(cut, &img, &err)) {
            s2d_ome_plane_ifds(&img, 64, ifds, &err);
        }
        s2d_ome_image_free(&img);
        s2d_qpi_ifd q;
        s2d_qptiff_parse(cut, &q);
        s2d_imagej ij;
        s2d_imagej_parse(cut, &ij);
        free(cut);
    }
}

static void test_ome_parse(void)
{
    static const char xml[] =
        "<?xml version=\"1.0\"?><!-- an <Image> in a comment is none --><ome:OME "
        "xmlns:ome=\"http://www.openmicroscopy.org/Schemas/OME/2016-06\">"
        "<ome:Instrument ID=\"Instrument:0\"><ome:Objective ID=\"Objective:0\" "
        "NominalMagnification=\"63\"/><ome:Objective ID=\"Objective:1\" "
        "NominalMagnification=\"20\"/></ome:Instrument>"
        "<ome:Image ID=\"Image:0\"><ome:ObjectiveSettings ID='Objective:1'/>"
        "<ome:Pixels ID=\"Pixels:0\" DimensionOrder=\"XYCZT\" Type=\"uint16\"\n"
        " SizeX=\"64\" SizeY=\"32\" SizeC=\"2\" SizeZ=\"3\" SizeT=\"1\" SignificantBits=\"12\" "
        "PhysicalSizeX=\"325\" PhysicalSizeXUnit=\"nm\" PhysicalSizeY=\"0.33\" "
        "PhysicalSizeZ=\"1.5\" PhysicalSizeZUnit=\"\xC2\xB5m\">"
        "<ome:Channel ID=\"Channel:0:0\" Name=\"DAPI &amp; &#x3B1;\" Color=\"-16776961\" "
        "ExcitationWavelength=\"0.405\" ExcitationWavelengthUnit=\"\xC2\xB5m\" "
        "EmissionWavelength=\"450\"/>"
        "<ome:Channel ID=\"Channel:0:1\" Color=\"16711935\" FileName=\"x\"/>"
        "<ome:TiffData IFD=\"0\" PlaneCount=\"6\"/></ome:Pixels></ome:Image>"
        "<ome:Image ID=\"Image:1\"><ome:Pixels SizeC=\"9\"/></ome:Image></ome:OME>";
    s2d_ome_image img;
    s2d_error err = {0};
    CHECK(s2d_ome_parse(xml, &img, &err));
    CHECK(!strcmp(img.dimension_order, "XYCZT") && !strcmp(img.type, "uint16"));
    CHECK(img.size_x == 64 && img.size_y == 32 && img.size_c == 2 && img.size_z == 3 &&
          img.size_time == 1 && img.significant_bits == 12);
    CHECK(fabs(img.physical_x_um - 0.325) < 1e-12 && img.physical_y_um == 0.33 &&
          img.physical_z_um == 1.5);
    CHECK(img.objective_power == 20);   // the one ObjectiveSettings names
    CHECK(img.nchannels == 2 && img.ntiffdata == 1);
    if (img.nchannels == 2) {
        const s2d_ome_channel *c = img.channels;
        CHECK(!strcmp(c[0].name, "DAPI & \xCE\xB1"));
        // -16776961 is 0xFF0000FF: red, opaque.
        CHECK(c[0].has_colour && c[0].colour[0] == 255 && c[0].colour[1] == 0 &&
              c[0].colour[2] == 0);
        CHECK(fabs(c[0].excitation_nm - 405) < 1e-9 && c[0].emission_nm == 450);
        // 16711935 is 0x00FF00FF: green.
        CHECK(c[1].has_colour && c[1].colour[0] == 0 && c[1].colour[1] == 255 &&
              c[1].colour[2] == 0 && !c[1].name[0] && c[1].samples == 1);
    }
    CHECK(img.tiffdata && img.tiffdata[0].ifd == 0 && img.tiffdata[0].plane_count == 6);
    s2d_ome_image_free(&img);
    parse_prefixes(xml);

    // Neither an Image nor a Pixels: refused, saying so.
    CHECK(!s2d_ome_parse("<OME><Pixels SizeX=\"1\"/></OME>", &img, &err) &&
          err.code == S2D_ERR_INPUT && strstr(err.message, "Pixels"));
    s2d_ome_image_free(&img);

    // One Objective and no ObjectiveSettings: that one; two: neither.
    CHECK(s2d_ome_parse("<OME><Instrument><Objective NominalMagnification=\"40\"/>"
                        "</Instrument><Image><Pixels/></Image></OME>", &img, &err) &&
          img.objective_power == 40 && img.nchannels == 0);
    s2d_ome_image_free(&img);
    CHECK(s2d_ome_parse("<OME><Objective NominalMagnification=\"40\"/><Objective "
                        "NominalMagnification=\"10\"/><Image><Pixels/></Image></OME>", &img,
                        &err) &&
          img.objective_power == 0);
    s2d_ome_image_free(&img);

    // An RGB image: SizeC 3 in one Channel of 3 samples is one plane group.
    CHECK(s2d_ome_parse("<OME><Image><Pixels SizeC=\"3\"><Channel SamplesPerPixel=\"3\"/>"
                        "</Pixels></Image></OME>", &img, &err) &&
          s2d_ome_effective_channels(&img) == 1);
    s2d_ome_image_free(&img);

    // Tags spelt inside a DOCTYPE, processing instruction, CDATA or comment are text: no
    // decoy Image, Pixels or Channel is read, and a decoy </Pixels> does not end the real
    // one before its Channel.
    static const char decoys[] =
        "<!DOCTYPE OME [<!ENTITY e \"<Image><Pixels SizeX='7'/></Image>\">]>"
        "<OME><?note <Image><Pixels SizeX=\"8\"/></Image>?>"
        "<Description><![CDATA[<Image><Pixels SizeX=\"9\"/></Image>]]></Description>"
        "<Image><Pixels SizeX=\"64\" SizeC=\"1\">"
        "<![CDATA[<Channel SamplesPerPixel=\"3\"/>]]><?pi <Channel SamplesPerPixel=\"4\"/>?>"
        "<!-- </Pixels> --><Channel SamplesPerPixel=\"1\" Name=\"real\"/>"
        "</Pixels></Image></OME>";
    CHECK(s2d_ome_parse(decoys, &img, &err) && img.size_x == 64 && img.nchannels == 1 &&
          !strcmp(img.channels[0].name, "real") &&
          img.channels[0].samples == 1);
    s2d_ome_image_free(&img);
    parse_prefixes(decoys);

    // A '>' in a quoted attribute value is text: "a/>" does not close Pixels before its
    // Channel, nor does a TiffData's "x>" hide its UUID.
    static const char quoted[] =
        "<OME UUID=\"urn:uuid:1\"><Image><Pixels Name=\"a/>\" SizeX=\"64\" SizeC=\"1\">"
        "<Channel Name=\"b > c\" SamplesPerPixel=\"1\"/>"
        "<TiffData Note='x/>' IFD=\"2\"><UUID FileName='y>'>urn:uuid:1</UUID></TiffData>"
        "</Pixels></Image></OME>";
    CHECK(s2d_ome_parse(quoted, &img, &err) && img.size_x == 64 && img.nchannels == 1 &&
          !strcmp(img.channels[0].name, "b > c") && img.ntiffdata == 1 &&
          img.tiffdata[0].ifd == 2 && !img.tiffdata[0].other_file);
    s2d_ome_image_free(&img);
    parse_prefixes(quoted);

    int format, bits;
    CHECK(s2d_ome_type_samples("int8", &format, &bits) && format == 1 && bits == 8);
    CHECK(s2d_ome_type_samples("double", &format, &bits) && format == 2 && bits == 64);
    CHECK(!s2d_ome_type_samples("complex", &format, &bits));
    CHECK(s2d_length_um("2", "mm", "") == 2000 && s2d_length_um("1", "parsec", "") == 0 &&
          s2d_length_um("-1", "\xC2\xB5m", "") == 0 && s2d_length_um("3", NULL, "nm") == 0.003);
}

#define PIXELS(order, c, z, t) \
    "<OME><Image><Pixels DimensionOrder=\"" order "\" SizeC=\"" #c "\" SizeZ=\"" #z \
    "\" SizeT=\"" #t "\">"

static void test_ome_planes(void)
{
    char why[sizeof ((s2d_error *)0)->message];
    // No TiffData: IFDs in DimensionOrder. XYZCT, 2 C x 3 Z: (c, z) is IFD c*3 + z.
    int *f = ome_ifds(PIXELS("XYZCT", 2, 3, 1) "</Pixels></Image></OME>", 6, why);
    CHECK(f != NULL);
    for (int c = 0; f && c < 2; c++) {
        for (int z = 0; z < 3; z++) {
            CHECK(f[c + 2 * z] == c * 3 + z);
        }
    }
    free(f);
    // XYTCZ, 2 C x 2 Z x 2 T: t fastest, then c, then z.
    f = ome_ifds(PIXELS("XYTCZ", 2, 2, 2) "<TiffData/></Pixels></Image></OME>", 8, why);
    CHECK(f && f[1 + 2 * (0 + 2 * 1)] == 1 * 2 + 1 && f[0 + 2 * (1 + 2 * 0)] == 4);
    free(f);
    // TiffData from plane (c 1, z 0) in XYCZT continues in that order; one IFD alone is a
    // plane.
    f = ome_ifds(PIXELS("XYCZT", 2, 2, 1)
                 "<TiffData IFD=\"7\"/><TiffData FirstC=\"1\" IFD=\"3\" PlaneCount=\"3\"/>"
                 "</Pixels></Image></OME>", 8, why);
    CHECK(f && f[0] == 7 && f[1] == 3 && f[2] == 4 && f[3] == 5);
    free(f);

    // Planes in this file by its own UUID, whatever its name now.
    f = ome_ifds("<OME UUID=\"urn:uuid:a\"><Image><Pixels DimensionOrder=\"XYZCT\" SizeC=\"1\" "
                 "SizeZ=\"2\" SizeT=\"1\"><TiffData IFD=\"1\" PlaneCount=\"2\"><UUID "
                 "FileName=\"renamed.ome.tif\"> urn:uuid:a\n</UUID></TiffData></Pixels></Image>"
                 "</OME>", 3, why);
    CHECK(f && f[0] == 1 && f[1] == 2);
    free(f);

    // What disagrees is named.
    static const struct {
        const char *xml;
        int nifds;
        const char *why;
    } bad[] = {
        {PIXELS("XYZQT", 1, 1, 1) "</Pixels></Image></OME>", 1, "DimensionOrder \"XYZQT\""},
        {PIXELS("XYZCT", 3, 5, 1) "</Pixels></Image></OME>", 14, "describes 15 planes"},
        {PIXELS("XYZCT", 1, 2, 1) "<TiffData IFD=\"1\" PlaneCount=\"2\"/></Pixels></Image></OME>",
         2, "past the file's last IFD 1"},
        {PIXELS("XYZCT", 1, 2, 1) "<TiffData IFD=\"0\"/></Pixels></Image></OME>", 2,
         "maps no IFD to plane c 0, z 1"},
        {PIXELS("XYZCT", 1, 2, 1) "<TiffData FirstZ=\"2\"/></Pixels></Image></OME>", 2,
         "FirstZ 2"},
        {PIXELS("XYZCT", 1, 2, 1) "<TiffData FirstZ=\"1\" PlaneCount=\"2\"/></Pixels></Image>"
         "</OME>", 4, "past the 2 planes"},
        {PIXELS("XYZCT", 1, 0, 1) "</Pixels></Image></OME>", 4, "not all positive"},
        // Sizes whose product overflows a long long, one past an int.
        {PIXELS("XYZCT", 4, 2147483647, 99999999999) "</Pixels></Image></OME>", 4,
         "(4 channels x 2147483647 z x 2147483647 t), the file has 4 IFDs"},
        {"<OME UUID=\"urn:uuid:a\"><Image><Pixels DimensionOrder=\"XYZCT\" SizeC=\"1\" "
         "SizeZ=\"2\" SizeT=\"1\"><TiffData IFD=\"0\"><UUID FileName=\"a.ome.tif\">"
         "urn:uuid:a</UUID></TiffData><TiffData IFD=\"0\" FirstZ=\"1\"><UUID>urn:uuid:b"
         "</UUID></TiffData></Pixels></Image></OME>", 2, "TiffData 1 places planes in another"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        parse_prefixes(bad[i].xml);
        f = ome_ifds(bad[i].xml, bad[i].nifds, why);
        if (f || !strstr(why, bad[i].why)) {
            fprintf(stderr, "bad OME-XML %zu: \"%s\", want \"%s\"\n", i, why, bad[i].why);
            CHECK(!"refused naming what disagrees");
        }
        free(f);
    }
}

// ------------------------------------------------------------------ ImageJ and QPTIFF

static void put_int(uint8_t *p, uint32_t v, bool big)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (big ? 24 - 8 * i : 8 * i));
    }
}

// IJMetadata of an 'info' block and n LUTs whose entry 255 is colours[i]; counts filled.
static size_t ij_metadata(uint8_t *data, uint32_t *counts, bool big, int n,
                          const uint8_t (*colours)[3])
{
    memcpy(data, big ? "IJIJ" : "JIJI", 4);
    put_int(data + 4, 0x696e666f, big);   // "info", one block
    put_int(data + 8, 1, big);
    put_int(data + 12, 0x6c757473, big);  // "luts", n blocks
    put_int(data + 16, (uint32_t)n, big);
    counts[0] = 20;
    counts[1] = 6;
    memcpy(data + 20, "i\0n\0f\0", 6);
    size_t at = 26;
    for (int i = 0; i < n; i++) {
        counts[2 + i] = 768;
        for (int k = 0; k < 256; k++) {
            for (int s = 0; s < 3; s++) {
                data[at + 256 * s + k] = (uint8_t)(colours[i][s] * k / 255);
            }
        }
        at += 768;
    }
    return at;
}

static void test_imagej(void)
{
    s2d_imagej ij;
    CHECK(!s2d_imagej_parse("ImageK=1", &ij) && !s2d_imagej_parse(NULL, &ij));
    CHECK(s2d_imagej_parse("ImageJ=1.53t\nimages=30\nchannels=3\nslices=5\nframes=2\n"
                           "hyperstack=true\nmode=composite\nunit=\\u00B5m\nspacing=0.25\n"
                           "loop=false\nmin=12.5\nmax=4000.0\n", &ij));
    CHECK(ij.images == 30 && ij.channels == 3 && ij.slices == 5 && ij.frames == 2 &&
          ij.hyperstack && ij.spacing == 0.25 && ij.has_range && ij.min == 12.5 &&
          ij.max == 4000);
    CHECK(s2d_imagej_unit_um(ij.unit) == 1);
    parse_prefixes("ImageJ=1.53t\nimages=30\nchannels=3\nunit=micron\nmin=1\nmax=2\n");
    CHECK(s2d_imagej_parse("ImageJ=1.4\nimages=5\nslices=5\nunit=micron\nmin=9\nmax=9\n", &ij));
    CHECK(!ij.hyperstack && ij.channels == 0 && ij.slices == 5 && !ij.has_range &&
          s2d_imagej_unit_um(ij.unit) == 1);
    CHECK(s2d_imagej_unit_um("nm") == 1e-3 && s2d_imagej_unit_um("mm") == 1e3 &&
          s2d_imagej_unit_um("cm") == 1e4 && s2d_imagej_unit_um("pixel") == 0 &&
          s2d_imagej_unit_um("inch") == 25400);

    static const uint8_t want[3][3] = {{0, 0, 255}, {0, 255, 0}, {255, 0, 255}};
    uint8_t data[26 + 3 * 768];
    uint32_t counts[5];
    for (int big = 0; big < 2; big++) {
        size_t len = ij_metadata(data, counts, big, 3, want);
        uint8_t got[3][3];
        CHECK(s2d_imagej_lut_colours(counts, 5, data, len, got, 3) == 3 &&
              memcmp(got, want, sizeof got) == 0);
        // Counts that run past the data: none trusted.
        CHECK(s2d_imagej_lut_colours(counts, 5, data, len - 1, got, 3) == 0);
        // Fewer counts than the header says.
        CHECK(s2d_imagej_lut_colours(counts, 3, data, len, got, 3) == 0);
    }
    data[0] = 'X';
    uint8_t got[3][3];
    CHECK(s2d_imagej_lut_colours(counts, 5, data, sizeof data, got, 3) == 0);
}

static void test_qptiff_parse(void)
{
    static const char channel[] =
        "<?xml version=\"1.0\" encoding=\"utf-16\"?>\r\n<PerkinElmer-QPI-ImageDescription>\r\n"
        "  <DescriptionVersion>2</DescriptionVersion>\r\n  <ImageType>FullResolution</ImageType>"
        "\r\n  <Barcode />\r\n  <Responsivity><Filter><Name>not this</Name></Filter>"
        "</Responsivity>\r\n  <Name>Opal 570</Name>\r\n  <Color>255, 128,0</Color>\r\n"
        "  <Objective>20x</Objective>\r\n  <ScanProfile><root><Name>profile</Name><ScanResolution>"
        "<PixelSizeMicrons>0.4977</PixelSizeMicrons></ScanResolution></root></ScanProfile>\r\n"
        "</PerkinElmer-QPI-ImageDescription>";
    s2d_qpi_ifd q;
    CHECK(s2d_qptiff_parse(channel, &q));
    CHECK(q.type == S2D_QPI_FULL && !strcmp(q.name, "Opal 570") && q.has_colour &&
          q.colour[0] == 255 && q.colour[1] == 128 && q.colour[2] == 0 && q.objective == 20 &&
          q.pixel_um == 0.4977);
    parse_prefixes(channel);
    CHECK(s2d_qptiff_parse("<PerkinElmer-QPI-ImageDescription><ImageType>Overview</ImageType>"
                           "<Objective>WideFOV</Objective><Color>1,2</Color>"
                           "</PerkinElmer-QPI-ImageDescription>", &q));
    CHECK(q.type == S2D_QPI_OVERVIEW && q.objective == 0 && !q.has_colour && !q.name[0] &&
          q.pixel_um == 0);
    CHECK(s2d_qptiff_parse("<PerkinElmer-QPI-ImageDescription><ImageType>ReducedResolution"
                           "</ImageType></PerkinElmer-QPI-ImageDescription>", &q) &&
          q.type == S2D_QPI_REDUCED);
    CHECK(!s2d_qptiff_parse("<OME/>", &q) && !s2d_qptiff_parse(NULL, &q));
}

// ------------------------------------------------------------------ the shared files

static s2d_source *open_path(const char *path, s2d_error *err)
{
    s2d_source *src = s2d_source_open(path, err);
    if (!src) {
        fprintf(stderr, "%s: %s\n", path, err->message);
    }
    return src;
}

static void test_shared_ome(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/ome-tiff/multi-channel-z-series.ome.tif", testdata);
    s2d_error err = {0};
    s2d_source *src = open_path(path, &err);
    CHECK(src != NULL);
    if (!src) {
        return;
    }
    CHECK(!strcmp(s2d_source_format(src), "plain-tiff"));
    const s2d_plane_layout *l = s2d_source_planes(src);
    CHECK(l && l->nc == 3 && l->nz == 5 && l->nt == 1 && !strcmp(l->origin, "OME-XML"));
    for (int c = 0; l && c < 3; c++) {
        for (int z = 0; z < 5; z++) {
            CHECK(l->page[c + 3 * z] == c * 5 + z);   // XYZCT: z fastest in the file
        }
    }
    CHECK(l && l->label_page == -1 && l->overview_page == -1 && l->thumbnail_page == -1);
    const s2d_source_meta *m = s2d_source_meta_of(src);
    CHECK(m->nchannels == 3 && !m->channels[0].name[0] && !m->channels[0].has_colour);
    char reason[128];
    CHECK(s2d_source_kind(src, reason) == S2D_KIND_MICROSCOPY);
    CHECK(!strcmp(reason, "OME-XML, 3 channels x 5 z"));
    const s2d_source_image *p = s2d_source_page(src, l ? l->page[0] : 0);
    CHECK(p->pix.width == 439 && p->pix.height == 167 && p->pix.is_signed);
    s2d_source_close(src);
}

static void test_shared_qptiff(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/qptiff/small_vectra.qptiff", testdata);
    s2d_error err = {0};
    s2d_source *src = open_path(path, &err);
    CHECK(src != NULL);
    if (!src) {
        return;
    }
    const s2d_plane_layout *l = s2d_source_planes(src);
    CHECK(l && l->nc == 3 && l->nz == 1 && l->nt == 1 && !strcmp(l->origin, "QPTIFF"));
    CHECK(l && l->page[0] == 0 && l->page[1] == 1 && l->page[2] == 2);
    CHECK(l && l->thumbnail_page == 3 && l->overview_page == 4 && l->label_page == 5);
    const s2d_source_meta *m = s2d_source_meta_of(src);
    static const struct {
        const char *name;
        uint8_t rgb[3];
    } want[3] = {{"DAPI", {0, 0, 255}}, {"FITC", {0, 255, 0}}, {"Cy3", {255, 255, 0}}};
    CHECK(m->nchannels == 3);
    for (size_t i = 0; i < 3 && i < m->nchannels; i++) {
        CHECK(!strcmp(m->channels[i].name, want[i].name) && m->channels[i].has_colour &&
              !memcmp(m->channels[i].colour, want[i].rgb, 3));
    }
    CHECK(m->mpp_x == 0.5 && m->mpp_y == 0.5 && m->objective_power == 10);
    char reason[128];
    CHECK(s2d_source_kind(src, reason) == S2D_KIND_MICROSCOPY &&
          !strcmp(reason, "QPTIFF, 3 channels"));
    // The associated pages stay RGB pages to read.
    if (l) {
        const s2d_source_image *t = s2d_source_page(src, l->thumbnail_page);
        CHECK(t->pix.samples == 3 && t->pix.width == 480 && t->pix.height == 360);
        uint8_t *row = malloc(480 * 3);
        CHECK(s2d_source_read_rows(src, l->thumbnail_page, 0, 1, row, 480 * 3, &err));
        free(row);
    }
    s2d_source_close(src);
}

// ------------------------------------------------------------------ files written here

typedef struct page_spec {
    uint32_t w, h;
    uint16_t spp, bits, format;
    bool tiled;               // one 16 x 16 JPEG tile (else one Deflate strip)
    float x_res;              // pixels per centimetre; 0: no resolution
} page_spec;

static const TIFFFieldInfo ij_fields[] = {
    {S2D_TAG_IJ_META_COUNTS, -1, -1, TIFF_LONG, FIELD_CUSTOM, 1, 1, "IJMetadataByteCounts"},
    {S2D_TAG_IJ_META, -1, -1, TIFF_BYTE, FIELD_CUSTOM, 1, 1, "IJMetadata"},
};

static bool write_page(TIFF *t, const page_spec *p, int index)
{
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, p->w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, p->h);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, p->spp);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, p->bits);
    TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, p->format);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, p->spp == 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_COMPRESSION, p->tiled ? COMPRESSION_JPEG : COMPRESSION_DEFLATE);
    if (p->x_res > 0) {
        TIFFSetField(t, TIFFTAG_XRESOLUTION, p->x_res);
        TIFFSetField(t, TIFFTAG_YRESOLUTION, p->x_res);
        TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_CENTIMETER);
    }
    size_t row = (size_t)p->w * p->spp * p->bits / 8;
    uint8_t *buf = calloc(1, row * (p->tiled ? 16 : p->h) + 1);
    bool ok = buf != NULL;
    for (size_t i = 0; ok && i < row * (p->tiled ? 16 : p->h); i++) {
        buf[i] = (uint8_t)(i * 7 + (size_t)index);
    }
    if (ok && p->tiled) {
        // One 16 x 16 tile (the pages written tiled are that small): JPEG, as fmt_ome copies.
        TIFFSetField(t, TIFFTAG_TILEWIDTH, 16);
        TIFFSetField(t, TIFFTAG_TILELENGTH, 16);
        ok = TIFFWriteEncodedTile(t, 0, buf, (tmsize_t)(row * 16)) > 0;
    } else if (ok) {
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, p->h);
        ok = TIFFWriteEncodedStrip(t, 0, buf, (tmsize_t)(row * p->h)) > 0;
    }
    free(buf);
    return ok && TIFFWriteDirectory(t);
}

// n pages (specs[i % nspecs]) into workdir/name, description in IFD 0 (NULL: none),
// IJMetadata of nluts LUTs when nluts > 0.
static void write_tiff(char path[4096], const char *name, const page_spec *specs, int nspecs,
                       int n, const char *description, int nluts, const uint8_t (*luts)[3])
{
    snprintf(path, 4096, "%s/%s", workdir, name);
    TIFF *t = TIFFOpen(path, "w");
    CHECK(t != NULL);
    if (!t) {
        return;
    }
    TIFFMergeFieldInfo(t, ij_fields, 2);
    for (int i = 0; i < n; i++) {
        if (i == 0 && description) {
            TIFFSetField(t, TIFFTAG_IMAGEDESCRIPTION, description);
        }
        if (i == 0 && nluts > 0) {
            static uint8_t data[26 + 8 * 768];
            uint32_t counts[10];
            size_t len = ij_metadata(data, counts, true, nluts, luts);
            TIFFSetField(t, S2D_TAG_IJ_META_COUNTS, 2 + nluts, counts);
            TIFFSetField(t, S2D_TAG_IJ_META, (int)len, data);
        }
        CHECK(write_page(t, &specs[i % nspecs], i));
    }
    TIFFClose(t);
}

// Opens path expecting a refusal whose reason contains what.
static void expect_refused(const char *path, const char *what)
{
    s2d_error err = {0};
    s2d_source *src = s2d_source_open(path, &err);
    if (src || err.code != S2D_ERR_INPUT || !strstr(err.message, what) ||
        strchr(err.message, '\n')) {
        fprintf(stderr, "%s: %s \"%s\", want a refusal naming \"%s\"\n", path,
                src ? "opened" : "refused", err.message, what);
        CHECK(!"refused in one line naming what disagrees");
    }
    s2d_source_close(src);
}

#define OME_HEAD \
    "<?xml version=\"1.0\"?><OME xmlns=\"http://www.openmicroscopy.org/Schemas/OME/2016-06\">"

static void test_written_ome(void)
{
    char path[4096];
    char xml[2048];
    const page_spec u16 = {40, 30, 1, 16, SAMPLEFORMAT_UINT, false, 0};
    // 2 C x 2 T in XYCTZ (c fastest, then t), uint16, 12 bits, colours, pixel size in nm.
    snprintf(xml, sizeof xml, OME_HEAD "<Image ID=\"Image:0\"><Pixels DimensionOrder=\"XYCTZ\" "
             "Type=\"uint16\" SizeX=\"40\" SizeY=\"30\" SizeC=\"2\" SizeZ=\"1\" SizeT=\"2\" "
             "SignificantBits=\"12\" PhysicalSizeX=\"250\" PhysicalSizeXUnit=\"nm\" "
             "PhysicalSizeY=\"250\" PhysicalSizeYUnit=\"nm\"><Channel Name=\"GFP\" "
             "Color=\"16711935\" EmissionWavelength=\"510\"/><Channel Name=\"RFP\"/>"
             "</Pixels></Image></OME>");
    write_tiff(path, "planes.ome.tif", &u16, 1, 4, xml, 0, NULL);
    s2d_error err = {0};
    s2d_source *src = open_path(path, &err);
    if (src) {
        const s2d_plane_layout *l = s2d_source_planes(src);
        CHECK(!strcmp(s2d_source_format(src), "plain-tiff"));
        CHECK(l && l->nc == 2 && l->nz == 1 && l->nt == 2 && l->significant_bits == 12);
        CHECK(l && l->page[0] == 0 && l->page[1] == 1 && l->page[2] == 2 && l->page[3] == 3);
        const s2d_source_meta *m = s2d_source_meta_of(src);
        CHECK(m->mpp_x == 0.25 && m->mpp_y == 0.25 && m->nchannels == 2);
        CHECK(m->nchannels == 2 && !strcmp(m->channels[0].name, "GFP") &&
              m->channels[0].has_colour && m->channels[0].colour[1] == 255 &&
              m->channels[0].emission_nm == 510 && !m->channels[1].has_colour);
        char reason[128];
        CHECK(s2d_source_kind(src, reason) == S2D_KIND_MICROSCOPY &&
              !strcmp(reason, "OME-XML, 2 channels x 2 t"));
        s2d_source_close(src);
    }

    // A grey OME-TIFF of JPEG tiles is no RGB slide for fmt_ome to copy: fmt_plain_tiff
    // reads it.
    const page_spec tiled = {16, 16, 1, 8, SAMPLEFORMAT_UINT, true, 0};
    write_tiff(path, "tiled.ome.tif", &tiled, 1, 1, OME_HEAD "<Image><Pixels "
               "DimensionOrder=\"XYZCT\" Type=\"uint8\" SizeX=\"16\" SizeY=\"16\" SizeC=\"1\" "
               "SizeZ=\"1\" SizeT=\"1\"/></Image></OME>", 0, NULL);
    if ((src = open_path(path, &err)) != NULL) {
        CHECK(!strcmp(s2d_source_format(src), "plain-tiff"));
        const s2d_plane_layout *l = s2d_source_planes(src);
        CHECK(l && l->nc == 1 && s2d_source_meta_of(src)->nchannels == 0);
        s2d_source_close(src);
    }

    // An OME-XML that contradicts the file, and planes that disagree.
    static const struct {
        const char *name, *pixels;
        page_spec pages[2];
        int n;
        const char *why;
    } bad[] = {
        {"sizex.ome.tif", "Type=\"uint16\" SizeX=\"41\" SizeY=\"30\" SizeC=\"2\"",
         {{40, 30, 1, 16, SAMPLEFORMAT_UINT, false, 0}}, 2, "SizeX 41, SizeY 30, but IFD 0"},
        {"type.ome.tif", "Type=\"int16\" SizeX=\"40\" SizeY=\"30\" SizeC=\"2\"",
         {{40, 30, 1, 16, SAMPLEFORMAT_UINT, false, 0}}, 2,
         "Type int16, but IFD 0 holds 16-bit unsigned"},
        {"count.ome.tif", "Type=\"uint16\" SizeX=\"40\" SizeY=\"30\" SizeC=\"3\"",
         {{40, 30, 1, 16, SAMPLEFORMAT_UINT, false, 0}}, 2, "describes 3 planes"},
        {"sizes.ome.tif", "Type=\"uint16\" SizeX=\"40\" SizeY=\"30\" SizeC=\"2\"",
         {{40, 30, 1, 16, SAMPLEFORMAT_UINT, false, 0},
          {40, 31, 1, 16, SAMPLEFORMAT_UINT, false, 0}},
         2, "planes of different sizes: page 2"},
        {"formats.ome.tif", "Type=\"uint16\" SizeX=\"40\" SizeY=\"30\" SizeC=\"2\"",
         {{40, 30, 1, 16, SAMPLEFORMAT_UINT, false, 0},
          {40, 30, 1, 16, SAMPLEFORMAT_INT, false, 0}},
         2, "planes of different sample formats: page 2 holds 16-bit signed"},
        {"rgb.ome.tif", "Type=\"uint8\" SizeX=\"40\" SizeY=\"30\" SizeC=\"6\"><Channel "
         "SamplesPerPixel=\"3\"/><Channel SamplesPerPixel=\"3\"/></Pixels",
         {{40, 30, 3, 8, SAMPLEFORMAT_UINT, false, 0}}, 2, "RGB planes in a multi-channel file"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        // The OME-XML as the table gives it; an element with Channels closes itself.
        bool open_pixels = strstr(bad[i].pixels, "</Pixels") != NULL;
        snprintf(xml, sizeof xml, OME_HEAD "<Image><Pixels DimensionOrder=\"XYCZT\" "
                 "SizeZ=\"1\" SizeT=\"1\" %s%s></Image></OME>", bad[i].pixels,
                 open_pixels ? "" : "/");
        write_tiff(path, bad[i].name, bad[i].pages, bad[i].pages[1].w ? 2 : 1, bad[i].n, xml, 0,
                   NULL);
        expect_refused(path, bad[i].why);
    }

    // One RGB image in strips, its three Channels of one sample each (as some writers
    // give them): no planes, the pages' path as before.
    const page_spec rgb = {40, 30, 3, 8, SAMPLEFORMAT_UINT, false, 0};
    write_tiff(path, "rgb_one.ome.tif", &rgb, 1, 1, OME_HEAD "<Image><Pixels "
               "DimensionOrder=\"XYCZT\" Type=\"uint8\" SizeX=\"40\" SizeY=\"30\" SizeC=\"3\" "
               "SizeZ=\"1\" SizeT=\"1\"><Channel SamplesPerPixel=\"1\"/><Channel "
               "SamplesPerPixel=\"1\"/><Channel SamplesPerPixel=\"1\"/></Pixels></Image></OME>",
               0, NULL);
    if ((src = open_path(path, &err)) != NULL) {
        char reason[128];
        CHECK(!s2d_source_planes(src) && s2d_source_kind(src, reason) == S2D_KIND_MICROSCOPY &&
              !strcmp(reason, "OME-XML"));
        s2d_source_close(src);
    }

    // Which OME-TIFFs fmt_ome and fmt_tiled_tiff leave to fmt_plain_tiff: grey, or not
    // 8-bit unsigned; not the RGB slides they copy.
    static const struct {
        const char *dir, *rel;   // dir: NULL for workdir, else under testdata
        bool planes;
    } files[] = {{NULL, "tiled.ome.tif", true},
                 {NULL, "planes.ome.tif", true},
                 {NULL, "rgb.ome.tif", false},
                 {"ome-tiff", "OS-1-detail.ome.tif", false}};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        if (files[i].dir) {
            snprintf(path, sizeof path, "%s/%s/%s", testdata, files[i].dir, files[i].rel);
        } else {
            snprintf(path, sizeof path, "%s/%s", workdir, files[i].rel);
        }
        s2d_tiffdir *td = s2d_tiffdir_list(path, &err);
        CHECK(td && s2d_ome_planes_file(td) == files[i].planes);
        s2d_tiffdir_free(td);
    }
}

static void test_written_imagej(void)
{
    char path[4096];
    static const uint8_t luts[4][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};
    const page_spec p = {20, 10, 1, 16, SAMPLEFORMAT_UINT, false, 50000};   // 0.5 um/px (cm)
    // 2 channels x 3 slices; ImageJ's resolution is pixels per unit: 1 / 0.2 um.
    const page_spec ij_res = {20, 10, 1, 16, SAMPLEFORMAT_UINT, false, 5};
    write_tiff(path, "hyperstack.tif", &ij_res, 1, 6, "ImageJ=1.53t\nimages=6\nchannels=2\n"
               "slices=3\nhyperstack=true\nunit=micron\nspacing=1.5\n", 2, luts);
    s2d_error err = {0};
    s2d_source *src = open_path(path, &err);
    if (src) {
        const s2d_plane_layout *l = s2d_source_planes(src);
        CHECK(l && l->nc == 2 && l->nz == 3 && l->nt == 1 && l->page[3] == 3 &&
              l->z_spacing_um == 1.5 && !strcmp(l->origin, "ImageJ hyperstack"));
        const s2d_source_meta *m = s2d_source_meta_of(src);
        CHECK(fabs(m->mpp_x - 0.2) < 1e-9 && m->nchannels == 2);
        CHECK(m->nchannels == 2 && m->channels[0].has_colour &&
              !memcmp(m->channels[0].colour, luts[0], 3) &&
              !memcmp(m->channels[1].colour, luts[1], 3));
        char reason[128];
        CHECK(s2d_source_kind(src, reason) == S2D_KIND_MICROSCOPY &&
              !strcmp(reason, "ImageJ hyperstack, 2 channels x 3 z"));
        s2d_source_close(src);
    }
    // LUTs that are not one per channel say nothing.
    write_tiff(path, "hyperstack_luts.tif", &p, 1, 3, "ImageJ=1.53t\nimages=3\nchannels=3\n"
               "hyperstack=true\n", 2, luts);
    if ((src = open_path(path, &err)) != NULL) {
        CHECK(s2d_source_planes(src) && s2d_source_meta_of(src)->nchannels == 0);
        s2d_source_close(src);
    }
    write_tiff(path, "hyperstack_short.tif", &p, 1, 5, "ImageJ=1.53t\nimages=6\nchannels=2\n"
               "slices=3\nhyperstack=true\n", 0, NULL);
    expect_refused(path, "ImageJ description: 6 images, the file has 5 pages");
    write_tiff(path, "hyperstack_count.tif", &p, 1, 6, "ImageJ=1.53t\nimages=5\nchannels=2\n"
               "slices=3\nhyperstack=true\n", 0, NULL);
    expect_refused(path, "images=5, but channels x slices x frames is 6");
    write_tiff(path, "hyperstack_huge.tif", &p, 1, 1, "ImageJ=1.53t\nchannels=1000000000\n"
               "slices=1000000000\nframes=1000000000\nhyperstack=true\n", 0, NULL);
    expect_refused(path, "ImageJ description: 1000000000000000013287555072 images");
    // One RGB image marked hyperstack: no planes to refuse, the pages' path.
    const page_spec rgb = {20, 10, 3, 8, SAMPLEFORMAT_UINT, false, 0};
    write_tiff(path, "hyperstack_rgb.tif", &rgb, 1, 1, "ImageJ=1.53t\nimages=1\n"
               "hyperstack=true\n", 0, NULL);
    if ((src = open_path(path, &err)) != NULL) {
        CHECK(!s2d_source_planes(src));
        s2d_source_close(src);
    }
    // A stack of slices only: no mark, z planes; no microscope's pixel: radiology.
    const page_spec none = {20, 10, 1, 16, SAMPLEFORMAT_UINT, false, 0};
    write_tiff(path, "stack.tif", &none, 1, 4, "ImageJ=1.53t\nimages=4\nslices=4\n", 0, NULL);
    if ((src = open_path(path, &err)) != NULL) {
        const s2d_plane_layout *l = s2d_source_planes(src);
        CHECK(l && l->nc == 1 && l->nz == 4 && !strcmp(l->origin, "ImageJ stack"));
        char reason[128];
        CHECK(s2d_source_kind(src, reason) == S2D_KIND_RADIOLOGY);
        CHECK(s2d_source_meta_of(src)->mpp_x == 0);
        s2d_source_close(src);
    }
}

static void test_written_grey(void)
{
    char path[4096];
    s2d_error err = {0};
    char reason[128];
    // Grey pages at 0.5 um: microscopy, each page a channel.
    const page_spec fine = {20, 10, 1, 16, SAMPLEFORMAT_UINT, false, 20000};
    write_tiff(path, "grey_fine.tif", &fine, 1, 3, NULL, 0, NULL);
    s2d_source *src = open_path(path, &err);
    if (src) {
        const s2d_plane_layout *l = s2d_source_planes(src);
        CHECK(l && l->nc == 3 && l->nz == 1 && l->nt == 1 && l->page[2] == 2 &&
              !strcmp(l->origin, "grey TIFF"));
        CHECK(s2d_source_kind(src, reason) == S2D_KIND_MICROSCOPY &&
              !strcmp(reason, "grey TIFF, 3 channels, 0.5 um pixels"));
        const s2d_source_meta *m = s2d_source_meta_of(src);
        CHECK(fabs(m->mpp_x - 0.5) < 1e-9 && m->nchannels == 0);
        s2d_source_close(src);
    }
    // 100 um pixels (a radiograph's): radiology, its pixel size not taken for a
    // microscope's; the layout is there for --kind microscopy.
    const page_spec coarse = {20, 10, 1, 16, SAMPLEFORMAT_UINT, false, 100};
    write_tiff(path, "grey_coarse.tif", &coarse, 1, 1, NULL, 0, NULL);
    if ((src = open_path(path, &err)) != NULL) {
        CHECK(s2d_source_planes(src) && s2d_source_planes(src)->nc == 1);
        CHECK(s2d_source_kind(src, reason) == S2D_KIND_RADIOLOGY &&
              !strcmp(reason, "16-bit grey"));
        CHECK(s2d_source_meta_of(src)->mpp_x == 0);
        s2d_source_close(src);
    }
    // A microscope's pages of two sizes: microscopy, but no planes (the conversion refuses
    // them; --kind radiology takes them as pages).
    const page_spec two[2] = {fine, {21, 10, 1, 16, SAMPLEFORMAT_UINT, false, 20000}};
    write_tiff(path, "grey_sizes.tif", two, 2, 2, NULL, 0, NULL);
    if ((src = open_path(path, &err)) != NULL) {
        CHECK(!s2d_source_planes(src));
        CHECK(s2d_source_kind(src, reason) == S2D_KIND_MICROSCOPY &&
              !strcmp(reason, "grey pages of 0.5 um pixels, of several sizes or sample formats"));
        s2d_source_close(src);
    }
    // Floats of 64 and 32 bits (both handed out as 32) are no planes of one format.
    const page_spec floats[2] = {{20, 10, 1, 64, SAMPLEFORMAT_IEEEFP, false, 20000},
                                 {20, 10, 1, 32, SAMPLEFORMAT_IEEEFP, false, 20000}};
    write_tiff(path, "grey_floats.tif", floats, 2, 2, NULL, 0, NULL);
    if ((src = open_path(path, &err)) != NULL) {
        CHECK(!s2d_source_planes(src));
        s2d_source_close(src);
    }
    // RGB pages are no planes.
    const page_spec rgb = {20, 10, 3, 8, SAMPLEFORMAT_UINT, false, 20000};
    write_tiff(path, "rgb_fine.tif", &rgb, 1, 1, NULL, 0, NULL);
    if ((src = open_path(path, &err)) != NULL) {
        CHECK(!s2d_source_planes(src));
        s2d_source_close(src);
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_micro_source TESTDATA WORKDIR\n");
        return 2;
    }
    testdata = argv[1];
    workdir = argv[2];
    mkdir(workdir, 0777);
    RUN(test_ome_parse);
    RUN(test_ome_planes);
    RUN(test_imagej);
    RUN(test_qptiff_parse);
    RUN(test_shared_ome);
    RUN(test_shared_qptiff);
    RUN(test_written_ome);
    RUN(test_written_imagej);
    RUN(test_written_grey);
    return harness_failures != 0;
}
