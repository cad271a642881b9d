#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""associated_images.py SLIDE2DCM CMU1_SMALL_SVS NDPI WORKDIR

Label, overview and thumbnail as readers need them (issue 18, item 7):

- Every instance carries what highdicom 0.28 and wsidicom read before they will open or
  place it: a Pixel Spacing in the Shared Functional Groups (highdicom failed on labels and
  overviews with "'Dataset' object has no attribute 'PixelSpacing'"), the frame of
  reference, origin and orientation of the total pixel matrix, TILED_FULL with one frame,
  and an Imaged Volume that agrees with them. The checks follow highdicom's
  spatial._get_spatial_information (for_total_pixel_matrix) and wsidicom's
  WsiDataset.REQUIRED_ATTRIBUTES and pixel_spacing; where highdicom or wsidicom themselves
  import (not Debian packages), they open the files too.
- The values: the thumbnail's spacing and volume are level 0's scaled; the NDPI overview's
  is the macro's own resolution (156 px/cm); the Aperio label and overview, which record
  none, get the documented estimate from a 75 x 25 mm slide.
- dciodvfy: no error on any instance.
- --associated-series separate: label and overview in a series of their own (the thumbnail
  stays with the levels, the pyramid it is the apex of)
  (same study and frame of reference, Series Number 2, their description), the same UIDs
  when converted again under --deterministic-uids, the user's --series-description on
  the pyramid's series only; and Orthanc WSI 1.1 (Debian 12) then lists the pyramid's
  levels and nothing else (with the default it takes the label for a level: said, not
  required, as a later Orthanc WSI does not)."""
import glob
import os
import shutil
import subprocess
import sys
import urllib.error

import pydicom

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import Checks  # noqa: E402
import pacs  # noqa: E402

checks = Checks()
BIN, CMU1, NDPI, WORK = sys.argv[1:5]
ASSOCIATED = ("label.dcm", "overview.dcm", "thumbnail.dcm")
# wsidicom's WsiDataset.REQUIRED_ATTRIBUTES: read unconditionally when it opens a file.
WSIDICOM_REQUIRED = ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "ImageType",
                     "Rows", "Columns", "TotalPixelMatrixColumns", "TotalPixelMatrixRows",
                     "SamplesPerPixel", "PhotometricInterpretation", "BitsStored")


def convert(out, slide, *args):
    shutil.rmtree(out, ignore_errors=True)
    r = subprocess.run([BIN, "convert", slide, "-o", out, "--quiet", "--deterministic-uids",
                        *args], capture_output=True, text=True)
    checks.expect(r.returncode == 0, "convert %s %s exits 0" % (os.path.basename(slide),
                                                                " ".join(args)),
                  r.stderr.strip())
    return {os.path.basename(f): pydicom.dcmread(f, stop_before_pixels=True)
            for f in sorted(glob.glob(os.path.join(out, "*.dcm")))}


def spacing_of(ds):
    """[row, column] spacing in mm as highdicom and wsidicom read it, or None."""
    try:
        measures = ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0]
        return [float(v) for v in measures.PixelSpacing]
    except (AttributeError, IndexError):
        return None


def close(a, b, rel=1e-3):
    return abs(a - b) <= rel * abs(b)


def reader_faults(ds):
    """What keeps highdicom 0.28 (mapping the total pixel matrix onto the slide) or
    wsidicom from opening ds, as messages."""
    faults = []
    spacing = spacing_of(ds)
    if spacing is None or len(spacing) != 2 or min(spacing) <= 0:
        faults.append("no positive Pixel Spacing in the Shared Functional Groups (%s)"
                      % spacing)
    for keyword in ("FrameOfReferenceUID", "ImageOrientationSlide",
                    "TotalPixelMatrixOriginSequence", *WSIDICOM_REQUIRED):
        if keyword not in ds:
            faults.append("no " + keyword)
    if "TotalPixelMatrixOriginSequence" in ds:
        origin = ds.TotalPixelMatrixOriginSequence[0]
        if "XOffsetInSlideCoordinateSystem" not in origin or \
                "YOffsetInSlideCoordinateSystem" not in origin:
            faults.append("origin without X/Y offsets")
    if len(ds.get("ImageOrientationSlide", [])) != 6:
        faults.append("Image Orientation (Slide) without 6 values")
    if ds.get("DimensionOrganizationType") != "TILED_FULL":
        faults.append("not TILED_FULL (wsidicom: 'Undetermined tile type')")
    # Imaged Volume is what wsidicom's mm_size reads; it must agree with the spacing.
    width, height = ds.get("ImagedVolumeWidth"), ds.get("ImagedVolumeHeight")
    if width is None or height is None or ds.get("ImagedVolumeDepth") is None:
        faults.append("no Imaged Volume Width/Height/Depth")
    elif spacing and len(spacing) == 2 and not (
            close(float(width), ds.TotalPixelMatrixColumns * spacing[1]) and
            close(float(height), ds.TotalPixelMatrixRows * spacing[0])):
        faults.append("Imaged Volume %s x %s mm disagrees with %d x %d px at %s"
                      % (width, height, ds.TotalPixelMatrixColumns, ds.TotalPixelMatrixRows,
                         spacing))
    return faults


def libraries_open(folder):
    """highdicom and wsidicom themselves, where they import: each file opened and its
    whole pixel matrix mapped onto the slide; wsidicom opening the folder, label and
    overview included."""
    try:
        import highdicom
        import numpy as np
        from highdicom.spatial import PixelToReferenceTransformer
    except ImportError:
        checks.info("highdicom does not import here: its needs checked attribute by attribute")
    else:
        for path in sorted(glob.glob(os.path.join(folder, "*.dcm"))):
            ds = pydicom.dcmread(path)
            try:
                highdicom.imread(path)
                corner = PixelToReferenceTransformer.for_image(ds, for_total_pixel_matrix=True)(
                    np.array([[ds.TotalPixelMatrixColumns, ds.TotalPixelMatrixRows]]))
                checks.ok("highdicom %s maps %s to %s mm" % (highdicom.__version__, path,
                                                             corner[0][:2]))
            except Exception as exc:   # any failure to open is the finding
                checks.fail(path, "highdicom: %s: %s" % (type(exc).__name__, exc))
    try:
        from wsidicom import WsiDicom
    except ImportError:
        checks.info("wsidicom does not import here: its needs checked attribute by attribute")
    else:
        names = {os.path.basename(f) for f in glob.glob(os.path.join(folder, "*.dcm"))}
        try:
            with WsiDicom.open(folder) as wsi:
                if "label.dcm" in names:
                    checks.expect(wsi.read_label() is not None, "wsidicom reads the label of "
                                  + folder)
                if "overview.dcm" in names:
                    checks.expect(wsi.read_overview() is not None,
                                  "wsidicom reads the overview of " + folder)
                checks.expect(len(wsi.levels) == len([n for n in names if "level-" in n]),
                              "wsidicom finds every level of %s (%d)" % (folder,
                                                                         len(wsi.levels)))
        except Exception as exc:
            checks.fail(folder, "wsidicom: %s: %s" % (type(exc).__name__, str(exc)[:200]))


def dciodvfy_errors(path):
    r = subprocess.run(["dciodvfy", "-new", path], capture_output=True, text=True)
    return [line for line in (r.stdout + r.stderr).splitlines() if line.startswith("Error")]


def check_folder(name, files, folder):
    for f, ds in files.items():
        faults = reader_faults(ds)
        checks.expect(not faults, "%s/%s opens in highdicom and wsidicom" % (name, f),
                      "; ".join(faults))
        errors = dciodvfy_errors(os.path.join(folder, f))
        checks.expect(not errors, "%s/%s: dciodvfy 0 errors" % (name, f), "; ".join(errors[:3]))
    libraries_open(folder)


def check_values(name, files, overview_mm, label_mm):
    level0, thumb = files["level-0.dcm"], files.get("thumbnail.dcm")
    s0 = spacing_of(level0)
    if thumb is not None and s0 and spacing_of(thumb):
        st = spacing_of(thumb)
        ratio = (level0.TotalPixelMatrixRows / thumb.TotalPixelMatrixRows,
                 level0.TotalPixelMatrixColumns / thumb.TotalPixelMatrixColumns)
        checks.expect(close(st[0], s0[0] * ratio[0]) and close(st[1], s0[1] * ratio[1]),
                      "%s thumbnail spacing %s = level 0's %s x size ratio" % (name, st, s0))
        checks.expect(close(float(thumb.ImagedVolumeWidth), float(level0.ImagedVolumeWidth)) and
                      close(float(thumb.ImagedVolumeHeight), float(level0.ImagedVolumeHeight)),
                      "%s thumbnail Imaged Volume = level 0's" % name)
    for f, want in (("overview.dcm", overview_mm), ("label.dcm", label_mm)):
        if want is None:
            continue
        ds = files.get(f)
        got = spacing_of(ds) if ds is not None else None
        checks.expect(got and close(got[0], want) and close(got[1], want),
                      "%s %s Pixel Spacing %s mm (expected %.6g)" % (name, f, got, want))


# The Aperio files record no size for label (387 x 463) and macro (1280 x 431): the
# estimate, the macro's longer side the slide's 75 mm, the label's the slide's 25 mm.
cmu_out = os.path.join(WORK, "cmu1")
cmu = convert(cmu_out, CMU1)
checks.expect(set(ASSOCIATED) <= set(cmu), "CMU-1 has label, overview and thumbnail")
check_folder("cmu1", cmu, cmu_out)
check_values("cmu1", cmu, 75.0 / 1280, 25.0 / 463)
# The NDPI macro records 156 pixels per centimetre: 1/15.6 mm, not an estimate.
ndpi_out = os.path.join(WORK, "ndpi")
ndpi = convert(ndpi_out, NDPI)
checks.expect("overview.dcm" in ndpi, "the NDPI has an overview")
check_folder("ndpi", ndpi, ndpi_out)
check_values("ndpi", ndpi, 10.0 / 156, None)

# A series of their own.
sep_out = os.path.join(WORK, "cmu1-separate")
sep = convert(sep_out, CMU1, "--associated-series", "separate", "--series-description", "H&E")
check_folder("cmu1-separate", sep, sep_out)
pyramid = {f: ds for f, ds in sep.items() if f.startswith("level-")}
series = {ds.SeriesInstanceUID for ds in pyramid.values()}
checks.expect(len(series) == 1, "the levels share one series (%d)" % len(series))
for f in ("label.dcm", "overview.dcm"):
    ds = sep.get(f)
    if not checks.expect(ds is not None, "separate: %s written" % f):
        continue
    checks.expect(ds.SeriesInstanceUID not in series, "separate: %s in a series apart" % f)
    checks.expect(ds.StudyInstanceUID == sep["level-0.dcm"].StudyInstanceUID and
                  ds.FrameOfReferenceUID == sep["level-0.dcm"].FrameOfReferenceUID,
                  "separate: %s in the levels' study and frame of reference" % f)
    checks.expect(ds.SeriesNumber == 2 and
                  ds.get("SeriesDescription") == "Label and overview",
                  "separate: %s Series Number 2 and its own description (%s, %r)"
                  % (f, ds.SeriesNumber, ds.get("SeriesDescription")))
checks.expect(sep["label.dcm"].SeriesInstanceUID == sep["overview.dcm"].SeriesInstanceUID,
              "separate: label and overview share their series")
checks.expect(sep["thumbnail.dcm"].SeriesInstanceUID in series and
              sep["thumbnail.dcm"][0x00080019].value == sep["level-0.dcm"][0x00080019].value,
              "separate: the thumbnail stays in the pyramid's series, with its Pyramid UID")
checks.expect(all(ds.SeriesNumber == 1 and ds.get("SeriesDescription") == "H&E"
                  for ds in pyramid.values()),
              "separate: the user's --series-description names the pyramid's series")
checks.expect(all(ds.SeriesInstanceUID == cmu["level-0.dcm"].SeriesInstanceUID
                  for f, ds in cmu.items()), "default: every file in one series")
again = convert(os.path.join(WORK, "cmu1-separate-again"), CMU1, "--associated-series",
                "separate", "--series-description", "H&E")
checks.expect(all(again.get(f) is not None and
                  (again[f].SeriesInstanceUID, again[f].SOPInstanceUID) ==
                  (ds.SeriesInstanceUID, ds.SOPInstanceUID) for f, ds in sep.items()),
              "separate, converted again: the same series and instance UIDs")
checks.expect(not {ds.SOPInstanceUID for ds in sep.values()} &
              {ds.SOPInstanceUID for ds in cmu.values()},
              "separate and default share no SOP Instance UID (one UID, one series)")

r = subprocess.run([BIN, "convert", CMU1, "-o", os.path.join(WORK, "bad"), "--associated-series",
                    "apart"], capture_output=True, text=True)
checks.expect(r.returncode == 2 and "use same or separate" in r.stderr,
              "--associated-series apart: a usage error naming the values", r.stderr.strip())

# Orthanc WSI 1.1 makes a pyramid of every image of a series but the thumbnail and
# overview: with the default, the label (387 x 463) becomes one of its levels.
levels = sorted((int(ds.TotalPixelMatrixColumns), int(ds.TotalPixelMatrixRows))
                for ds in pyramid.values())
with pacs.Orthanc(WORK, wsi=True) as orthanc:
    for folder, files in (("default", cmu_out), ("separate", sep_out)):
        orthanc.clear()
        r = subprocess.run([BIN, "send", files, "--stow", orthanc.url + "/dicom-web/studies",
                            "--quiet"], capture_output=True, text=True)
        checks.expect(r.returncode == 0, "%s: sent to Orthanc" % folder, r.stderr.strip())
        listed = {}
        for sid in orthanc.get_json("/series"):
            number = orthanc.get_json(f"/series/{sid}")["MainDicomTags"].get("SeriesNumber")
            try:
                sizes = orthanc.get_json(f"/wsi/pyramids/{sid}")["Sizes"]
                listed[number] = sorted(tuple(s) for s in sizes)
            except urllib.error.HTTPError as exc:   # 404: a series it makes no pyramid of
                listed[number] = "HTTP %d" % exc.code
        checks.info("%s: Orthanc WSI's pyramids by Series Number: %s" % (folder, listed))
        if folder == "separate":
            checks.expect(listed.get("1") == levels,
                          "separate: Orthanc WSI's pyramid is the levels exactly (%s)"
                          % listed.get("1"))
        elif (387, 463) in listed.get("1", []):
            checks.info("default: Orthanc WSI takes the label for a level, as 1.1 does")

sys.exit(checks.result())
