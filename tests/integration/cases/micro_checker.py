#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The microscopy test side checked on its own, before any conversion (issue 17).

usage: micro_checker.py FIXTURES TESTDATA WORKDIR

FIXTURES is what lib/micro_fixtures.py wrote (micro.fixtures); TESTDATA ../shared/testdata.
1. A second run of the generator writes the same bytes.
2. check_micro's own reading of every good fixture (tifffile, ElementTree) equals what the
   manifest says the generator wrote: origin, type, C x Z x T, size, channel names,
   colours, wavelengths, pixel size, z spacing, significant bits; no two planes of a
   fixture are equal and no size is a multiple of 256. Each bad fixture holds the
   contradiction it is named for.
3. The 2x2 rule and the level sizes on hand-made arrays.
4. docs/microscopy.md's output written here with pydicom (lib/micro_reference.py, from highdicom's
   WSM file as template) passes check_micro for every good fixture and the two shared
   microscopy files, native, and JPEG 2000 / JPEG-LS / --z series / --t 2 on some: the
   decoders (Pillow's OpenJPEG, dcmtk's dcmdjpls) give the frames back.
5. Broken copies must each be caught: a pixel flipped at level 0 and at level 1, padding
   not 0, two channels swapped, two focal planes swapped, the palette dropped or of
   another colour, a wrong name or wavelength, a wrong Pixel Spacing or Spacing Between
   Slices, a wrong Real World Value Mapping, a float plane one step off, a missing level, a
   leftover file, two time points in one series, a second Frame of Reference, an attribute
   dciodvfy requires removed, a corrupt JPEG 2000 frame, and QPTIFF's associated images
   missing.
Exit 0 when all hold."""
import filecmp
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import tifffile
from pydicom.uid import generate_uid

LIB = Path(__file__).resolve().parent.parent / "lib"
sys.path.insert(0, str(LIB))
import check_micro as cm  # noqa: E402
import micro_reference as mr  # noqa: E402
from checks import Checks  # noqa: E402

SHARED = ["ome-tiff/multi-channel-z-series.ome.tif", "qptiff/small_vectra.qptiff"]
TEMPLATE = "dicom-reference/highdicom_sm_image.dcm"


def check_generator(fixtures, workdir, checks):
    again = workdir / "again"
    run = subprocess.run([sys.executable, str(LIB / "micro_fixtures.py"), str(again)],
                         capture_output=True, text=True)
    checks.expect(run.returncode == 0, "micro_fixtures.py", "second run exits 0: " +
                  run.stderr[-300:])
    for path in sorted(fixtures.iterdir()):
        checks.expect(filecmp.cmp(path, again / path.name, shallow=False), path.name,
                      "a second run writes the same bytes")


def check_manifest(fixtures, manifest, checks):
    for fixture in manifest:
        name, path = fixture["file"], fixtures / fixture["file"]
        if not fixture["good"]:
            continue
        source = checks.guard(name, "read_source", cm.read_source, path)
        if source is None:
            continue
        got = {"origin": source.origin, "dtype": str(source.dtype), "nc": source.nc,
               "nz": source.nz, "nt": source.nt, "width": source.width,
               "height": source.height, "channels": source.channels,
               "mpp": round(source.mpp[0], 9), "z_spacing": source.z_spacing,
               "significant_bits": source.significant_bits}
        for key, value in got.items():
            checks.expect(value == fixture[key], name, "%s %r (manifest %r)"
                          % (key, value, fixture[key]))
        planes = source.planes.reshape(-1, source.height, source.width)
        checks.expect(all(not np.array_equal(planes[i], planes[j])
                          for i in range(len(planes)) for j in range(i)), name,
                      "every plane differs from every other")
        checks.expect(source.width % 256 and source.height % 256, name,
                      "%dx%d: not multiples of 256" % (source.width, source.height))
    contradictions = {
        "bad_sizez.ome.tif": lambda tif, xml: int(xml["SizeZ"]) * int(xml["SizeC"]) >
        len(tif.pages),
        "bad_sizex.ome.tif": lambda tif, xml: int(xml["SizeX"]) != tif.pages[0].shape[1],
        "bad_type.ome.tif": lambda tif, xml: xml["Type"] == "uint8" and
        tif.pages[0].dtype == np.uint16,
        "bad_tiffdata.ome.tif": lambda tif, xml: 'IFD="9"' in tif.pages[0].description and
        len(tif.pages) == 4,
        "bad_sizes.ome.tif": lambda tif, xml: len({tif.pages[k].shape
                                                   for k in range(len(tif.pages))}) == 2}
    for fixture in manifest:
        if fixture["good"]:
            continue
        name = fixture["file"]
        with tifffile.TiffFile(str(fixtures / name)) as tif:
            xml = {k: v for k, v in
                   cm.ET.fromstring(tif.pages[0].description).find(
                       ".//{%s}Pixels" % "http://www.openmicroscopy.org/Schemas/OME/2016-06"
                   ).attrib.items()}
            checks.expect(contradictions[name](tif, xml), name, "holds its contradiction")


def check_rules(checks):
    image = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], np.uint16)
    checks.expect(np.array_equal(cm.halve(image), [[3, 5], [8, 9]]), "halve",
                  "3x3: (1+2+4+5+2)//4, (3+6+1)//2, (7+8+1)//2, 9")
    big = np.full((2, 2), 65535, np.uint16)
    checks.expect(cm.halve(big)[0, 0] == 65535, "halve", "no overflow at 65535")
    checks.expect(cm.level_sizes(700, 500, 256) == [(700, 500), (350, 250), (175, 125)],
                  "level_sizes", "700x500 in 256 tiles: 3 levels")
    checks.expect(cm.level_sizes(256, 256, 256) == [(256, 256)], "level_sizes",
                  "one tile: one level")


def reference(source_path, template, out, **options):
    source = cm.read_source(source_path)
    mr.write_reference(source, template, out, **options)
    return source


def expect_pass(name, source_path, out, checks, z_series=False, t_choice=None):
    found = cm.check_output(source_path, out, z_series, t_choice)
    checks.expect(not found.failures, name, "check_micro passes the faithful output%s"
                  % "".join("\n    " + f for f in found.failures[:8]))


def expect_caught(name, source_path, out, words, checks, z_series=False, t_choice=None):
    """check_micro must fail, with a failure holding `words`."""
    found = cm.check_output(source_path, out, z_series, t_choice)
    hit = [f for f in found.failures if words in f]
    checks.expect(hit, name, "caught (%r): %s" % (words, (hit or found.failures or
                                                         ["passed"])[0].splitlines()[0]))


def edit(path, change):
    ds = pydicom.dcmread(str(path))
    change(ds)
    ds.save_as(str(path))


def flip_pixel(frame, y, x):
    def change(ds):
        data = bytearray(ds.PixelData)
        size = int(ds.Rows) * int(ds.Columns) * int(ds.BitsAllocated) // 8
        at = frame * size + (y * int(ds.Columns) + x) * int(ds.BitsAllocated) // 8
        data[at] ^= 0x01
        ds.PixelData = bytes(data)
    return change


def swap_frames(a, b):
    def change(ds):
        size = int(ds.Rows) * int(ds.Columns) * int(ds.BitsAllocated) // 8
        data = bytearray(ds.PixelData)
        fa, fb = data[a * size:(a + 1) * size], data[b * size:(b + 1) * size]
        data[a * size:(a + 1) * size], data[b * size:(b + 1) * size] = fb, fa
        ds.PixelData = bytes(data)
    return change


def mutations(fixtures, testdata, workdir, checks):
    template = testdata / TEMPLATE
    base = workdir / "mutations"

    def copy_of(name, fixture, **options):
        out = base / name
        reference(fixtures / fixture, template, out, **options)
        return out, fixtures / fixture

    out, src = copy_of("pixel0", "u12_3c2z.ome.tif")
    edit(out / "c2-level-0.dcm", flip_pixel(4, 100, 200))    # z 2, first tile
    expect_caught("pixel flipped at level 0", src, out, "against the source plane", checks)
    out, src = copy_of("pixel1", "u8_2c3z.ome.tif")
    edit(out / "c1-level-1.dcm", flip_pixel(1, 10, 20))
    expect_caught("pixel flipped at level 1", src, out, "2x2 rule on level 0", checks)
    out, src = copy_of("padding", "u8_2c3z.ome.tif")
    edit(out / "c1-level-0.dcm", flip_pixel(2, 255, 255))     # tile (0, 2): x 767 > 700
    expect_caught("padding not 0", src, out, "padding 0", checks)
    out, src = copy_of("channels", "grey16.tif")
    (out / "c1-level-0.dcm").rename(out / "swap")
    (out / "c2-level-0.dcm").rename(out / "c1-level-0.dcm")
    (out / "swap").rename(out / "c2-level-0.dcm")
    expect_caught("two channels swapped", src, out, "Optical Path Identifier", checks)
    out, src = copy_of("planes", "u8_2c3z.ome.tif")
    edit(out / "c1-level-0.dcm", swap_frames(0, 6))           # 6 tiles a plane
    expect_caught("two focal planes swapped", src, out, "against the source plane", checks)

    def drop_palette(ds):
        del ds.OpticalPathSequence[0].PaletteColorLookupTableSequence
    out, src = copy_of("palette", "u8_2c3z.ome.tif")
    edit(out / "c2-level-1.dcm", drop_palette)
    expect_caught("palette dropped", src, out, "palette LUT in the Optical Path", checks)

    def recolour(ds):
        lut = ds.OpticalPathSequence[0].PaletteColorLookupTableSequence[0]
        lut.RedPaletteColorLookupTableData, lut.GreenPaletteColorLookupTableData = \
            lut.GreenPaletteColorLookupTableData, lut.RedPaletteColorLookupTableData
    out, src = copy_of("colour", "pyramid_2c.ome.tif")
    edit(out / "c1-level-0.dcm", recolour)
    expect_caught("palette of another colour", src, out, "to the channel colour", checks)

    def rename(ds):
        ds.OpticalPathSequence[0].OpticalPathDescription = "Channel 1"
    out, src = copy_of("name", "u8_2c3z.ome.tif")
    edit(out / "c1-level-0.dcm", rename)
    expect_caught("channel name lost", src, out, "Optical Path Description", checks)

    def wavelength(ds):
        ds.OpticalPathSequence[0].IlluminationWaveLength = 519.0
    out, src = copy_of("wavelength", "u8_2c3z.ome.tif")
    edit(out / "c2-level-0.dcm", wavelength)
    expect_caught("emission as excitation", src, out, "IlluminationWaveLength", checks)

    def spacing(ds):
        ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing = \
            ["0.0005", "0.0005"]
    out, src = copy_of("spacing", "u8_2c3z.ome.tif")
    edit(out / "c1-level-0.dcm", spacing)
    expect_caught("Pixel Spacing", src, out, "Pixel Spacing", checks)

    def between(ds):
        ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].SpacingBetweenSlices = \
            "0.001"
    out, src = copy_of("between", "u8_2c3z.ome.tif")
    edit(out / "c2-level-0.dcm", between)
    expect_caught("Spacing Between Slices", src, out, "Spacing Between Slices", checks)

    def intercept(ds):
        ds.SharedFunctionalGroupsSequence[0].RealWorldValueMappingSequence[0] \
            .RealWorldValueIntercept = -32767.0
    out, src = copy_of("rwvm", "i16_2c2z.ome.tif")
    edit(out / "c1-level-0.dcm", intercept)
    expect_caught("RWVM intercept", src, out, "Real World Value Mapping slope", checks)
    out, src = copy_of("float", "f32_2c.ome.tif")
    edit(out / "c2-level-0.dcm", flip_pixel(0, 5, 5))
    expect_caught("float one step off", src, out, "real values within half a step", checks)
    out, src = copy_of("nan", "f32_nan.ome.tif")
    edit(out / "c1-level-0.dcm", flip_pixel(0, 17, 23))
    expect_caught("NaN not stored 0", src, out, "NaN/Inf stored 0", checks)
    out, src = copy_of("level", "pyramid_2c.ome.tif")
    (out / "c2-level-2.dcm").unlink()
    expect_caught("a level missing", src, out, "missing [(0, None, 1, 2)]", checks)
    out, src = copy_of("leftover", "grey16.tif")
    (out / ".c1-level-0.dcm.part").write_bytes(b"x")
    expect_caught("leftover file", src, out, "unexpected in the output directory", checks)

    def other_series(ds):
        ds.SeriesInstanceUID = first_series
    out, src = copy_of("series", "ij_3c2z2t.tif")
    first_series = pydicom.dcmread(str(out / "t1-c1-level-0.dcm")).SeriesInstanceUID
    edit(out / "t2-c3-level-1.dcm", other_series)
    expect_caught("two time points in one series", src, out, "series by (t, z)", checks)

    def frame_of_reference(ds):
        ds.FrameOfReferenceUID = generate_uid()
    out, src = copy_of("frame-of-ref", "u12_3c2z.ome.tif")
    edit(out / "c3-level-1.dcm", frame_of_reference)
    expect_caught("second Frame of Reference", src, out, "one Study, Frame of Reference",
                  checks)

    def no_type1(ds):
        del ds.ImageType
    out, src = copy_of("dciodvfy", "grey16.tif")
    edit(out / "c2-level-0.dcm", no_type1)
    expect_caught("Image Type removed", src, out, "dciodvfy", checks)

    out, src = copy_of("j2k", "u12_3c2z.ome.tif", syntax="j2k")

    def corrupt_j2k(ds):
        frames = list(pydicom.encaps.generate_pixel_data_frame(ds.PixelData,
                                                               int(ds.NumberOfFrames)))
        broken = bytearray(frames[1])
        for k in range(len(broken) // 2, len(broken) // 2 + 8):
            broken[k] ^= 0x55
        frames[1] = bytes(broken)
        ds.PixelData = pydicom.encaps.encapsulate(frames, has_bot=True)
    edit(out / "c1-level-0.dcm", corrupt_j2k)
    expect_caught("corrupt JPEG 2000 frame", src, out, "c1-level-0.dcm", checks)

    out, src = copy_of("zseries", "ij_3c2z2t.tif", z_series=True)
    expect_caught("--z series output checked as a stack", src, out, "unexpected", checks)
    out = base / "qptiff"
    qptiff = testdata / SHARED[1]
    reference(qptiff, template, out)
    found = cm.check_output(qptiff, out)
    wanted = ["%s: missing (the source has a %s)" % (f, k) for k, f in cm.ASSOCIATED.items()]
    checks.expect(sorted(found.failures) == sorted(wanted), "QPTIFF without its RGB images",
                  "caught, and nothing else: %s" % found.failures[:5])


def main(argv):
    if len(argv) != 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    fixtures, testdata, workdir = Path(argv[1]), Path(argv[2]), Path(argv[3])
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    checks = Checks(show="failures")
    manifest = json.loads((fixtures / "manifest.json").read_text())["fixtures"]
    check_generator(fixtures, workdir, checks)
    check_manifest(fixtures, manifest, checks)
    check_rules(checks)
    template = testdata / TEMPLATE
    faithful = workdir / "faithful"
    for fixture in manifest:
        if fixture["good"]:
            src = fixtures / fixture["file"]
            reference(src, template, faithful / fixture["file"])
            expect_pass(fixture["file"], src, faithful / fixture["file"], checks)
    src = testdata / SHARED[0]
    reference(src, template, faithful / "shared-ome")
    expect_pass(SHARED[0], src, faithful / "shared-ome", checks)
    for syntax in ("j2k", "jpeg-ls"):
        for fixture in ("u12_3c2z.ome.tif", "u8_2c3z.ome.tif", "i16_2c2z.ome.tif"):
            out = faithful / ("%s-%s" % (syntax, fixture))
            reference(fixtures / fixture, template, out, syntax=syntax)
            expect_pass("%s %s" % (syntax, fixture), fixtures / fixture, out, checks)
    ij = fixtures / "ij_3c2z2t.tif"
    for z_series, t_choice in ((True, None), (False, 2)):
        out = faithful / ("ij-z%s-t%s" % (z_series, t_choice))
        reference(ij, template, out, z_series=z_series, t_choice=t_choice)
        expect_pass("ij --z %s --t %s" % ("series" if z_series else "stack", t_choice), ij,
                    out, checks, z_series, t_choice)
    mutations(fixtures, testdata, workdir, checks)
    shutil.rmtree(workdir)
    return checks.result()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
