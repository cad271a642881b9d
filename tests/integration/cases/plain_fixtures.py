#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The plain-TIFF test side checked on its own, before any conversion (issue 16).

usage: plain_fixtures.py GENERATOR FIXTURES TESTDATA WORKDIR

FIXTURES is what GENERATOR (make_plain_tiff) wrote (fixture.plain); TESTDATA
../shared/testdata.
0. A second run of the generator writes the same bytes.
1. The oracle's decode of every fixture page (tifffile, numpy, PIL: plain_oracle.py) equals
   the samples the generator wrote (NAME.values), exactly, or above 30 dB for JPEG pages;
   the oracle's kind and instances (SOP class, pages) equal the manifest's, two statements
   of PLAIN.md's rules written apart.
2. The mapping on known pixels, each against a formula of its own: signed + 32768, bits
   inverted, palette entries, x17 / x85, orientation against PIL's transpose table, alpha,
   float and uint32 scaling within half a step, int8 + 32768, NaN -> 0, Bits Stored 12/13, the BigTIFF/big-endian
   twins, the ImageJ range, the CT window in HU.
3. expected_window on hand-made arrays.
4. The real files: histolab's kidney TIFF and libtiff's test images decode (PIL and tifffile
   agree where both can), with the kinds and classes PLAIN.md gives them; 16-bit RGB refused.
5. check_plain.py on Secondary Capture files written here with pydicom from the oracle's
   expectation: dciodvfy 0 errors, pydicom, dcmtk and GDCM decode them equal, dcmj2pnm
   shows bilevel paper white, a JPEG copy equals the spliced strip, a folder of two
   instances passes check_outputs; then a changed pixel, a changed JPEG byte, instances in
   the wrong order, a wrong window and a missing Type 1 attribute must each be caught.
Exit 0 when all hold."""
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
import pydicom.encaps
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit
from pydicom.valuerep import DSfloat

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
import check_plain  # noqa: E402
import plain_oracle as po  # noqa: E402
from checks import Checks  # noqa: E402

LOSSY_PSNR_MIN = 30.0
# PIL's table for EXIF orientations (ImageOps.exif_transpose), written apart from po.orient.
PIL_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                 4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
                 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
                 8: Image.Transpose.ROTATE_90}
# Uncompressed real files both tifffile and PIL read: their decodes must agree.
CROSS_DECODE = ["libtiff/miniswhite-1c-1b.tiff", "libtiff/minisblack-1c-8b.tiff",
                "libtiff/minisblack-1c-16b.tiff", "libtiff/palette-1c-8b.tiff",
                "libtiff/rgb-3c-8b.tiff"]


def fixture_pages(fixture):
    return [p for p in fixture["pages"] if p["page"]]


def check_decode_and_plan(fixtures_dir, manifest, checks):
    """Section 1; returns {file: (decoded pages, instances)} for the later sections."""
    results = {}
    for fixture in manifest["fixtures"]:
        name, path = fixture["file"], fixtures_dir / fixture["file"]
        if fixture["kind"] is None:
            continue
        pages = checks.guard(name, "decode", po.decode_pages, path)
        if pages is None:
            continue
        wanted = fixture_pages(fixture)
        checks.expect(len(pages) == len(wanted), name,
                      "%d page(s) decoded, %d in the manifest" % (len(pages), len(wanted)))
        for decoded, page in zip(pages, wanted):
            values = po.generator_values(fixtures_dir, fixture, page)
            where = "%s page %d (%s)" % (name, page["page"], decoded["decoder"])
            if fixture["lossy"]:
                quality = po.psnr(decoded["stored"], values)
                checks.expect(quality >= LOSSY_PSNR_MIN, where,
                              "%.1f dB against the samples written" % quality)
            else:
                stored = decoded["stored"].astype(values.dtype)
                checks.expect(stored.shape == values.shape and
                              np.array_equal(stored, values, equal_nan=True), where,
                              "decode equals the samples written")
        checks.expect(po.detect_kind(pages) == fixture["kind"], name, "kind %s (manifest %s)"
                      % (po.detect_kind(pages), fixture["kind"]))
        instances = checks.guard(name, "expected_instances", po.expected_instances, path,
                                 fixture["kind"], pages)
        if instances is None:
            continue
        plan = [(i["sop_class"], i["pages"]) for i in instances]
        manifest_plan = [(i["sop_class"], i["pages"]) for i in fixture["instances"]]
        checks.expect(plan == manifest_plan, name, "instances %s (manifest %s)"
                      % (plan, manifest_plan))
        results[name] = (pages, instances)
    return results


def values(fixtures_dir, manifest, name, page=1):
    fixture = next(f for f in manifest["fixtures"] if f["file"] == name)
    return po.generator_values(fixtures_dir, fixture, fixture_pages(fixture)[page - 1])


def frames(results, name, instance=0):
    return results[name][1][instance]["frames"]


def check_mapping(fixtures_dir, manifest, results, checks):
    """Section 2: known pixels after the mapping, each from a formula of its own."""
    v = lambda name, page=1: values(fixtures_dir, manifest, name, page)  # noqa: E731
    inst = lambda name, i=0: results[name][1][i]  # noqa: E731

    signed = frames(results, "signed16.tif")[0].astype(np.int64) - 32768
    checks.expect(np.array_equal(signed, v("signed16.tif")[:, :, 0]) and
                  inst("signed16.tif")["intercept"] == -32768 and
                  v("signed16.tif").min() < 0, "signed16.tif",
                  "stored - 32768 equals the signed source, negatives included")
    ct = inst("ct_stack.tif")
    checks.expect(all(np.array_equal(f.astype(np.int64) - 32768, v("ct_stack.tif", k + 1)[:, :, 0])
                      for k, f in enumerate(ct["frames"])) and len(ct["frames"]) == 20,
                  "ct_stack.tif", "20 frames, stored - 32768 equals the HU written")
    centre, width, _ = ct["windows"][0]
    checks.expect(-200 < centre < 200 and width > 1000, "ct_stack.tif",
                  "window 1 in HU (centre %.1f, width %.1f), not 32768 off" % (centre, width))
    for name, bits in (("u12in16.tif", 12), ("u13_one_pixel.tif", 13), ("signed16.tif", 16)):
        checks.expect(inst(name)["bits_stored"] == bits, name,
                      "Bits Stored %d (expected %d)" % (inst(name)["bits_stored"], bits))
    for name in ("g4_small.tif", "bits_13x7_miniswhite_fill2.tif"):
        checks.expect(all(np.array_equal(f, 1 - v(name, k + 1)[:, :, 0])
                          for k, f in enumerate(frames(results, name))), name,
                      "min-is-white bits inverted (1 = white)")
    checks.expect(all(np.array_equal(f, v("bits_13x7.tif", k + 1)[:, :, 0])
                      for k, f in enumerate(frames(results, "bits_13x7.tif"))), "bits_13x7.tif",
                  "min-is-black bits as they are")
    as_ct = po.expected_instances(fixtures_dir / "bits_13x7.tif", modality="CT")
    checks.expect(len(as_ct) == 1 and as_ct[0]["sop_class"] == po.SOP_BYTE and
                  as_ct[0]["kind"] == "radiology" and
                  all(np.array_equal(f, v("bits_13x7.tif", k + 1)[:, :, 0] * 255)
                      for k, f in enumerate(as_ct[0]["frames"])), "bits_13x7.tif",
                  "--modality CT: radiology, bits x255 in one Grayscale Byte SC")
    endoscopic = po.expected_instances(fixtures_dir / "planar_rgb.tif", modality="ES")
    checks.expect([i["sop_class"] for i in endoscopic] == [po.SOP_ENDOSCOPIC],
                  "planar_rgb.tif", "--modality ES: VL Endoscopic")
    per_page = po.expected_instances(fixtures_dir / "u13_one_pixel.tif", pages_as_instances=True)
    checks.expect([(i["pages"], i["bits_stored"]) for i in per_page] == [([1], 12), ([2], 13)],
                  "u13_one_pixel.tif", "--pages instances: Bits Stored 12, then 13")
    checks.expect(all(np.array_equal(a, b) for a, b in
                      zip(frames(results, "g4_fillorder2.tif"), frames(results, "g4_small.tif"))),
                  "g4_fillorder2.tif", "the same pages as g4_small.tif")
    for name in ("miniswhite16.tif", "miniswhite8.tif"):
        checks.expect(inst(name)["photometric"] == "MONOCHROME1" and
                      np.array_equal(frames(results, name)[0], v(name)[:, :, 0]), name,
                      "MONOCHROME1, values kept")
    for name, n in (("palette8.tif", 256), ("palette4.tif", 16)):
        index = v(name)[:, :, 0].astype(np.int64)
        rgb = frames(results, name)[0]
        checks.expect(np.array_equal(rgb[:, :, 0], index * 255 // (n - 1)) and
                      np.array_equal(rgb[:, :, 2], (n - 1 - index) * 255 // (n - 1)), name,
                      "red and blue are the high bytes of the generator's colour map")
    for name, factor in (("gray4.tif", 17), ("gray2.tif", 85)):
        checks.expect(np.array_equal(frames(results, name)[0], v(name)[:, :, 0] * factor), name,
                      "values x%d" % factor)
    for orientation, method in PIL_TRANSPOSE.items():
        name = "orient%d.tif" % orientation
        upright = np.asarray(Image.fromarray(v(name)).transpose(method))
        checks.expect(np.array_equal(frames(results, name)[0], upright), name,
                      "equal to PIL's transpose for Orientation %d" % orientation)
    checks.expect(frames(results, "orient6_jpeg.tif")[0].shape == (160, 96, 3),
                  "orient6_jpeg.tif", "turned to 96 columns x 160 rows")
    rgba = v("alpha_opaque.tif")
    checks.expect(np.array_equal(frames(results, "alpha_opaque.tif")[0], rgba[:, :, :3]),
                  "alpha_opaque.tif", "opaque alpha dropped")
    for name in ("alpha_unassociated.tif", "alpha_associated.tif"):
        rgba, out = v(name), frames(results, name)[0].astype(np.int64)
        alpha = rgba[:, :, 3]
        checks.expect((out[alpha == 0] == 255).all() and
                      np.array_equal(out[alpha == 255], rgba[alpha == 255][:, :3]) and
                      0 < (alpha == 0).sum() and inst(name)["tolerance"] == 1, name,
                      "transparent pixels white, opaque ones as they are")
    for name in ("float32.tif", "float32_nan.tif"):
        i = inst(name)
        real = v(name)[:, :, 0].astype(np.float64)
        got = frames(results, name)[0] * i["slope"] + i["intercept"]
        finite = np.isfinite(real)
        checks.expect(np.all(np.abs(got[finite] - real[finite]) <= i["slope"] / 2 * (1 + 1e-9))
                      and frames(results, name)[0].max() == 65535, name,
                      "real values within half a step (slope %g), the maximum at 65535"
                      % i["slope"])
    narrow = frames(results, "int8.tif")[0].astype(np.int64) - 32768
    checks.expect(np.array_equal(narrow, v("int8.tif")[:, :, 0]) and
                  inst("int8.tif")["intercept"] == -32768, "int8.tif",
                  "int8: stored - 32768 equals the source")
    wide, real = inst("uint32.tif"), v("uint32.tif")[:, :, 0].astype(np.float64)
    got = wide["frames"][0] * wide["slope"] + wide["intercept"]
    checks.expect(wide["slope"] > 1 and wide["intercept"] == real.min() and
                  np.all(np.abs(got - real) <= wide["slope"] / 2 * (1 + 1e-9)), "uint32.tif",
                  "uint32: slope %g, intercept the minimum, values within half a step"
                  % wide["slope"])
    checks.expect(inst("float32_nan.tif")["nan_count"] == 1 and
                  frames(results, "float32_nan.tif")[0][2, 3] == 0, "float32_nan.tif",
                  "one NaN, stored 0")
    for name in ("twin_be.tif", "twin_bigtiff.tif", "twin_bigtiff_be.tif"):
        checks.expect(np.array_equal(frames(results, name)[0], frames(results, "twin_le.tif")[0])
                      and inst(name)["windows"] == inst("twin_le.tif")["windows"], name,
                      "the same instance as twin_le.tif")
    checks.expect(inst("imagej_range.tif")["windows"][0] == (1300.5, 2401.0,
                                                             "IMAGEJ DISPLAY RANGE"),
                  "imagej_range.tif", "window 1 from min=100 max=2500")
    checks.expect(inst("one_pixel.tif")["windows"] == [(512.0, 1024.0, "IDENTITY"),
                                                       (1000.5, 1.0, "FULL RANGE")],
                  "one_pixel.tif", "the identity window over Bits Stored 10, then the value")
    checks.expect(inst("radiology8.tif")["windows"] == [], "radiology8.tif", "8-bit: no window")


def check_sop_classes(checks):
    """The oracle's SOP Class UIDs are storage classes pydicom's dictionary knows by name."""
    for name in ("SOP_SC", "SOP_BIT", "SOP_BYTE", "SOP_WORD", "SOP_COLOUR", "SOP_PHOTO",
                 "SOP_ENDOSCOPIC"):
        uid = pydicom.uid.UID(getattr(po, name))
        checks.expect(uid.name.endswith("Storage"), "plain_oracle", "%s %s is %s"
                      % (name, uid, uid.name))


def check_windows(checks):
    """Section 3: expected_window on arrays whose percentiles are known by hand."""
    ramp = np.arange(200)
    checks.expect(po.expected_window(ramp) == [(99.5, 199.0, "AUTO 0.5-99.5%"),
                                               (100.0, 200.0, "FULL RANGE")],
                  "window", "0..199: ranks 1 and 199 give 0..198; full range 0..199")
    outliers = np.array([0] * 4 + [100] * 992 + [4000] * 4)
    checks.expect(po.expected_window(outliers)[0] == (100.5, 1.0, "AUTO 0.5-99.5%"),
                  "window", "4 low and 4 high outliers in 1000 fall outside 0.5-99.5 %")
    five = np.array([0] * 5 + [100] * 990 + [4000] * 5)
    checks.expect(po.expected_window(five)[0] == (50.5, 101.0, "AUTO 0.5-99.5%"),
                  "window", "5 low outliers in 1000 reach rank ceil(5): lo = 0")
    shifted = po.expected_window([(outliers + 32768).astype(np.uint16)], 1.0, -32768.0)
    checks.expect(shifted == po.expected_window(outliers), "window",
                  "stored + 32768 with intercept -32768: the same window in rescaled units")
    scaled = po.expected_window(ramp, 0.5, -10.0)
    checks.expect(scaled[1] == (40.25, 100.5, "FULL RANGE"), "window",
                  "slope 0.5, intercept -10: x from -10 to 89.5, so centre "
                  "(-10 + 89.5 + 1) / 2 and width 89.5 + 10 + 1 (note 4 for any slope)")
    tiny = po.expected_window(np.array([0, 0, 1, 1]), 0.25, 0.0)
    checks.expect(tiny[1] == (0.625, 1.25, "FULL RANGE"), "window",
                  "x from 0 to 0.25: LINEAR's edges at 0 and 0.25")
    checks.expect(po.expected_window(np.full(9, 1000), bits_stored=10) ==
                  [(512.0, 1024.0, "IDENTITY"), (1000.5, 1.0, "FULL RANGE")], "window",
                  "constant: identity over Bits Stored 10, then the full range of width 1")
    checks.expect(po.expected_window(ramp, display_range=(20, 120))[0] ==
                  (70.5, 101.0, "IMAGEJ DISPLAY RANGE"), "window", "display range replaces 1")


def check_real_files(testdata, checks):
    """Section 4."""
    for relative, expected in po.REAL_FILES.items():
        path = testdata / relative
        if isinstance(expected, str):
            try:
                po.expected_instances(path)
                checks.fail(relative, "not refused (expected: %s)" % expected)
            except po.Refused as refusal:
                checks.expect(expected in str(refusal), relative, "refused: %s" % refusal)
            continue
        instances = checks.guard(relative, "expected_instances", po.expected_instances, path)
        if instances is None:
            continue
        plan = [(i["sop_class"], i["pages"]) for i in instances]
        checks.expect(instances[0]["kind"] == expected[0] and plan == expected[1], relative,
                      "%s %s (expected %s %s)" % (instances[0]["kind"], plan, *expected))
    for relative in CROSS_DECODE:
        path = testdata / relative
        pages = po.decode_pages(path)
        via_pil = po.decode_with_pil(path, 0, pages[0]["facts"])
        checks.expect(np.array_equal(pages[0]["stored"], via_pil), relative,
                      "tifffile and PIL decode the same samples")


# ---------------------------------------------------------------- section 5

UID_ROOT = "1.2.826.0.1.3680043.10.543.16."


def ds_value(number):
    """A Decimal String of at most 16 characters."""
    return DSfloat(number, auto_format=True)


def secondary_capture(instance, number, jpeg_streams=None):
    """A Secondary Capture dataset holding the oracle's expected instance natively (or the
    given JPEG streams, one per frame): the file slide2dcm should write, as far as this test
    needs it."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = instance["sop_class"]
    ds.file_meta.MediaStorageSOPInstanceUID = UID_ROOT + "1.%d" % number
    ds.SOPClassUID = instance["sop_class"]
    ds.SOPInstanceUID = UID_ROOT + "1.%d" % number
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = "Plain^Test", "P1", "", ""
    ds.StudyInstanceUID, ds.SeriesInstanceUID = UID_ROOT + "2", UID_ROOT + "3"
    ds.StudyDate, ds.StudyTime, ds.ReferringPhysicianName = "20260101", "120000", ""
    ds.StudyID, ds.AccessionNumber, ds.Modality, ds.SeriesNumber = "1", "", "OT", 1
    ds.Laterality = ""
    ds.InstanceNumber, ds.Manufacturer, ds.ConversionType = number, "", "DI"
    ds.BurnedInAnnotation, ds.PatientOrientation = "YES", ""
    ds.ContentDate, ds.ContentTime = "20260101", "120000"
    stack = np.stack(instance["frames"])
    ds.Rows, ds.Columns = stack.shape[1:3]
    ds.SamplesPerPixel = 3 if stack.ndim == 4 else 1
    ds.PhotometricInterpretation = instance["photometric"]
    ds.BitsAllocated, ds.BitsStored = instance["bits_allocated"], instance["bits_stored"]
    ds.HighBit, ds.PixelRepresentation = instance["bits_stored"] - 1, 0
    if ds.SamplesPerPixel == 3:
        ds.PlanarConfiguration = 0
    if instance["sop_class"] != po.SOP_SC:
        ds.NumberOfFrames = len(stack)
        if len(stack) > 1:
            ds.PageNumberVector = instance["pages"]
            ds.FrameIncrementPointer = pydicom.tag.Tag("PageNumberVector")
    if ds.SamplesPerPixel == 1 and instance["bits_allocated"] >= 8:
        ds.RescaleIntercept, ds.RescaleSlope = ds_value(instance["intercept"]), \
            ds_value(instance["slope"])
        ds.RescaleType = "US"
        if instance["photometric"] == "MONOCHROME2" and instance["sop_class"] != po.SOP_SC:
            ds.PresentationLUTShape = "IDENTITY"
    if instance["windows"]:
        ds.WindowCenter = [ds_value(w[0]) for w in instance["windows"]]
        ds.WindowWidth = [ds_value(w[1]) for w in instance["windows"]]
        ds.WindowCenterWidthExplanation = [w[2] for w in instance["windows"]]
    ds.is_little_endian, ds.is_implicit_VR = True, False
    if jpeg_streams:
        ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
        ds.PhotometricInterpretation = "YBR_FULL_422" if ds.SamplesPerPixel == 3 else \
            "MONOCHROME2"
        ds.LossyImageCompression, ds.LossyImageCompressionMethod = "01", "ISO_10918_1"
        ds.PixelData = pydicom.encaps.encapsulate(jpeg_streams)
        ds["PixelData"].VR = "OB"
        return ds
    if instance["bits_allocated"] == 1:
        data = np.packbits(stack.ravel(), bitorder="little").tobytes()
    else:
        data = stack.astype("<u2" if instance["bits_allocated"] == 16 else "u1").tobytes()
    ds.PixelData = data + b"\0" * (len(data) % 2)
    ds["PixelData"].VR = "OW" if instance["bits_allocated"] == 16 else "OB"
    return ds


def findings(path, instance, workdir, jpeg_streams=None):
    """check_plain's failures for one file (nothing printed but dciodvfy's warnings)."""
    quiet = Checks(show="none")
    check_plain.check_instance(path, instance, quiet, workdir, jpeg_streams=jpeg_streams)
    return quiet.failures


def check_checker(fixtures_dir, workdir, checks):
    """Section 5: the checker passes faithful files and catches broken ones."""
    cases = [("signed16.tif", None), ("bits_13x7.tif", None), ("two_sizes.tif", None),
             ("palette8.tif", "document"), ("miniswhite16.tif", None), ("float32_nan.tif", None)]
    workdir.mkdir(parents=True, exist_ok=True)
    for number, (name, kind) in enumerate(cases, 1):
        instance = po.expected_instances(fixtures_dir / name, kind)[0]
        ds = secondary_capture(instance, number)
        good = workdir / (name + ".dcm")
        ds.save_as(str(good), write_like_original=False)
        failures = findings(good, instance, workdir / "good")
        checks.expect(not failures, name, "a faithful SC file passes check_plain%s"
                      % "".join("\n    " + f for f in failures))
        # One stored value changed: every reader must see it.
        broken = dict(instance, frames=[f.copy() for f in instance["frames"]])
        last = broken["frames"][-1]
        index = (last.shape[0] - 1, last.shape[1] - 1) + ((0,) if last.ndim == 3 else ())
        last[index] = (int(last[index]) + 1) % (2 if instance["bits_allocated"] == 1 else 256)
        failures = findings(good, broken, workdir / "pixel")
        readers = [r for r in ("pydicom", "dcmtk", "gdcm")
                   if any("(%s)" % r in f and "differ" in f for f in failures)]
        checks.expect(readers == ["pydicom", "dcmtk", "gdcm"], name,
                      "a changed pixel is caught by %s" % readers)
    # A JPEG copy (as True Colour SC): the spliced strip passes, one byte changed does not.
    path = fixtures_dir / "ycbcr_jpeg_1strip.tif"
    instance = po.expected_instances(path, "document")[0]
    streams = [po.jpeg_page_streams(path)[1]]
    good = workdir / "ycbcr_jpeg_1strip.dcm"
    secondary_capture(instance, 7, streams).save_as(str(good), write_like_original=False)
    failures = findings(good, instance, workdir / "jpeg", streams)
    checks.expect(not failures, good.name, "a copied JPEG stream passes check_plain%s"
                  % "".join("\n    " + f for f in failures))
    changed = [streams[0][:-40] + bytes([streams[0][-40] ^ 0x55]) + streams[0][-39:]]
    failures = findings(good, instance, workdir / "jpeg", changed)
    checks.expect(any("byte for byte" in f for f in failures), good.name,
                  "a stream differing in one byte is caught")
    # A whole conversion's folder: two_sizes.tif's two instances pass; swapped, they fail.
    path = fixtures_dir / "two_sizes.tif"
    outdir = workdir / "two_sizes"
    outdir.mkdir(exist_ok=True)
    instances = po.expected_instances(path)
    for number, instance in enumerate(instances, 1):
        ds = secondary_capture(instance, 10 + number)
        ds.InstanceNumber = number
        ds.save_as(str(outdir / ("image-%03d.dcm" % number)), write_like_original=False)
    quiet = Checks(show="none")
    check_plain.check_outputs(path, outdir, quiet, workdir / "two_sizes-check")
    checks.expect(not quiet.failures, "two_sizes.tif", "check_outputs passes its two "
                  "instances%s" % "".join("\n    " + f for f in quiet.failures))
    first, second = outdir / "image-001.dcm", outdir / "image-002.dcm"
    first.rename(outdir / "swap"), second.rename(first), (outdir / "swap").rename(second)
    quiet = Checks(show="none")
    check_plain.check_outputs(path, outdir, quiet, workdir / "two_sizes-check")
    checks.expect(any("Instance Number" in f for f in quiet.failures) and
                  any("Page Number Vector" in f for f in quiet.failures), "two_sizes.tif",
                  "check_outputs catches the instances in the wrong order")
    # A wrong window and a missing Type 1 attribute, on the signed file.
    instance = po.expected_instances(fixtures_dir / "signed16.tif")[0]
    ds = secondary_capture(instance, 1)
    ds.WindowCenter = [instance["windows"][0][0] + 32768, instance["windows"][1][0]]
    del ds.ConversionType
    bad = workdir / "signed16-bad.dcm"
    ds.save_as(str(bad), write_like_original=False)
    failures = findings(bad, instance, workdir / "bad")
    checks.expect(any("windows" in f for f in failures), "signed16-bad.dcm",
                  "a window 32768 off is caught")
    checks.expect(any("dciodvfy" in f and "error" in f for f in failures), "signed16-bad.dcm",
                  "dciodvfy's error for the missing Conversion Type is caught")


def check_determinism(generator, fixtures_dir, workdir, checks):
    """Section 0: a second run of the generator writes the same files, byte for byte."""
    again = workdir / "again"
    shutil.rmtree(again, ignore_errors=True)
    done = subprocess.run([generator, str(again)], capture_output=True, text=True)
    if not checks.expect(done.returncode == 0, "generator", "a second run exits 0 %s"
                         % done.stderr.strip()):
        return
    names = sorted(p.name for p in again.iterdir())
    differ = [n for n in names if (again / n).read_bytes() != (fixtures_dir / n).read_bytes()]
    checks.expect(len(names) > 100 and not differ, "generator",
                  "a second run writes the same %d files (differing: %s)" % (len(names), differ))
    shutil.rmtree(again)


def main(argv):
    if len(argv) != 5:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    generator, fixtures_dir = argv[1], Path(argv[2])
    testdata, workdir = Path(argv[3]), Path(argv[4])
    checks = Checks(show="failures")
    workdir.mkdir(parents=True, exist_ok=True)  # the generator makes one level, not two
    check_determinism(generator, fixtures_dir, workdir, checks)
    manifest = po.load_manifest(fixtures_dir)
    results = check_decode_and_plan(fixtures_dir, manifest, checks)
    checks.guard("mapping", "the mapping checks", check_mapping, fixtures_dir, manifest,
                 results, checks)
    check_windows(checks)
    check_sop_classes(checks)
    checks.guard("real files", "the real-file checks", check_real_files, testdata, checks)
    checks.guard("checker", "the checker's own test", check_checker, fixtures_dir, workdir,
                 checks)
    return checks.result()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
