#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""deidentify.py SLIDE2DCM MAKE_SVS WORKDIR QPTIFF

--deidentify (issue 18): a synthetic SVS and plain TIFFs whose file names, barcode,
description fields and dates carry marker strings are converted (convert, batch with a
manifest, a DICOMDIR; with and without a replacement label) and no marker may appear in
the bytes of any output file, nor may the texts an embedded ICC profile carries, whose colour
transform stays the same. Every output passes dciodvfy, says Patient Identity Removed
YES with the Basic Profile's code, keeps what the user gave, and the pyramid's pixels are
those of a conversion without --deidentify."""
import io
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
from pydicom.pixel_data_handlers.util import convert_color_space
from PIL import Image, ImageCms, TiffImagePlugin

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import Checks  # noqa: E402
from icc_profiles import icc_tags, planted_icc  # noqa: E402
from synthetic_tiff import tiled_tiff  # noqa: E402

checks = Checks()
slide2dcm, make_svs, work, qptiff = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4]
shutil.rmtree(work, ignore_errors=True)
work.mkdir(parents=True)

# Text markers: none may be found in any output byte. Dates are checked as the forms a
# converter could write them in.
NAME_MARK = "MKNAMEQ1"
BARCODE_MARK = "MKBARQ2-77"
MARKERS = [NAME_MARK, BARCODE_MARK, "MKFILEQ3X", "MKUSERQ4X", "MKSNQ5", "MKDESCQ6",
           "MKDOCQ7", "MKARTISTQ8", "MKHOSTQ9", "20190713", "2019-07-13", "07/13/19",
           "13:57:42", "20180304", "2018:03:04", "05:06:07"]
SOURCE_TIMES = ("135742", "050607")   # digits a UID could hold: checked in DA/DT/TM values
# Markers in the texts of an ICC profile, searched as ASCII and as UTF-16 (ICC's Unicode).
ICC_MARKERS = ["MKICCDESCQ10", "MKICCMAKERQ11", "MKICCMODELQ12", "MKICCCPRTQ13",
               "MKICCKEYQ14", "MKICCSERIALQ15", "MKICCDISPQ16", "MKICCSEQMAKERQ17",
               "MKICCSEQMODELQ18"]
MARKER_FORMS = [(m, m.encode()) for m in MARKERS + ICC_MARKERS] + \
    [(m + " (UTF-16)", m.encode("utf-16-be")) for m in ICC_MARKERS]


def markers_in(data):
    return [name for name, form in MARKER_FORMS if form in data]


def run(*args):
    r = subprocess.run([slide2dcm, *map(str, args)], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def make_slide():
    """An SVS named with a marker, whose barcode, file name field, user, scanner serial,
    date and time (in every directory's description) are markers."""
    path = work / ("%s-slide.svs" % NAME_MARK)
    subprocess.run([make_svs, str(path), "--width", "1500", "--height", "1000", "--tile", "240",
                    "--mpp", "0.25", "--levels", "2", "--barcode", BARCODE_MARK, "--threads",
                    "1"], check=True, capture_output=True)
    data = path.read_bytes()
    # Same-length replacements keep every offset of the TIFF valid.
    for old, new in [(b"Filename = synthetic", b"Filename = MKFILEQ3X"),
                     (b"User = slide2dcm", b"User = MKUSERQ4X"),
                     (b"ScanScope ID = SS1234", b"ScanScope ID = MKSNQ5"),
                     (b"Date = 11/25/26", b"Date = 07/13/19"),
                     (b"Time = 10:11:12", b"Time = 13:57:42")]:
        checks.expect(old in data, "make_svs writes %r (the fixture plants its marker there)"
                      % old.decode())
        data = data.replace(old, new)
    path.write_bytes(data)
    return path


def make_plain(name, mode, compression):
    """A plain TIFF with markers in ImageDescription, DocumentName, Artist, HostComputer and
    DateTime; Make, Model and Software are values the profile keeps."""
    path = work / ("%s-%s.tif" % (NAME_MARK, name))
    rng = np.random.default_rng(7)
    if mode == "1":
        img = Image.fromarray((rng.random((240, 320)) > 0.2).astype(np.uint8) * 255).convert("1")
    else:
        img = Image.fromarray(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8))
    info = TiffImagePlugin.ImageFileDirectory_v2()
    for tag, value in {270: "MKDESCQ6 scanned 2018:03:04", 269: "MKDOCQ7",
                       306: "2018:03:04 05:06:07", 271: "ScannerMaker", 272: "Model9",
                       305: "ScanSoft 1.0", 315: "MKARTISTQ8", 316: "MKHOSTQ9"}.items():
        info[tag] = value
    img.save(path, compression=compression, tiffinfo=info)
    data = path.read_bytes()
    for marker in ("MKDESCQ6", "MKDOCQ7", "MKARTISTQ8", "2018:03:04 05:06:07"):
        checks.expect(marker.encode() in data, "%s carries %s" % (path.name, marker))
    return path


def outputs(folder):
    return sorted(p for p in Path(folder).rglob("*") if p.is_file())


def dicom_files(folder):
    return [p for p in outputs(folder) if p.suffix == ".dcm" or p.name.startswith("IM")]


def no_markers(folder, what):
    """Greps the bytes of every file under folder (DICOMDIR included) for every marker."""
    files = outputs(folder)
    checks.expect(files, what, "has files")
    found = []
    for path in files:
        data = path.read_bytes()
        found += ["%s in %s" % (m, path.relative_to(folder)) for m in markers_in(data)]
    checks.expect(not found, what, "no marker in the bytes of %d files" % len(files),
                  ", ".join(found[:6]))


def date_values(ds, out):
    for elem in ds:
        if elem.VR == "SQ":
            for item in elem.value:
                date_values(item, out)
        elif elem.VR in ("DA", "DT", "TM") and elem.value:
            out.append((elem.keyword, str(elem.value)))
    return out


def check_instance(path, user=None):
    """dciodvfy, the method attributes, dates that are not the source's, the user's values."""
    name = path.name
    r = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
    errors = [line for line in (r.stdout + r.stderr).splitlines() if line.startswith("Error")]
    checks.expect(not errors, name, "dciodvfy: no errors", "; ".join(errors[:3]))
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    checks.expect(ds.get("PatientIdentityRemoved") == "YES", name, "PatientIdentityRemoved YES")
    codes = [i.CodeValue for i in ds.get("DeidentificationMethodCodeSequence", [])]
    checks.expect(codes == ["113100"], name, "method code 113100 only (got %s)" % codes)
    checks.expect(ds.get("DeidentificationMethod"), name, "DeidentificationMethod")
    checks.expect(ds.get((0x0028, 0x0303)) is not None and
                  ds[0x0028, 0x0303].value == "REMOVED", name,
                  "LongitudinalTemporalInformationModified REMOVED")
    dates = date_values(ds, [])
    bad = [d for d in dates if any(t in d[1] for t in SOURCE_TIMES) or "2019" in d[1] or
           "2018" in d[1]]
    checks.expect(not bad, name, "no date or time of the source", bad[:3])
    for keyword, value in (user or {}).items():
        checks.expect(str(ds.get(keyword, "")) == value, name, "keeps the user's %s" % keyword)
    return ds


def pixel_data(path):
    data = path.read_bytes()
    return data[data.rfind(b"\xe0\x7f\x10\x00"):]


slide = make_slide()
photo = make_plain("photo", "RGB", "raw")
document = make_plain("document", "1", "group4")

# 1. A slide, with a generated pseudonym, deterministic.
plain_out, deid_out = work / "plain", work / "deid"
rc, log = run("convert", slide, "-o", plain_out, "-q", "--deterministic-uids")
checks.expect(rc == 0, "convert without --deidentify exits 0", log.strip())
rc, log = run("convert", slide, "-o", deid_out, "-q", "--deterministic-uids", "--deidentify",
              "--stain", "HE", "--json-report", work / "deid.json")
checks.expect(rc == 0, "convert --deidentify exits 0", log.strip())
names = sorted(p.name for p in deid_out.glob("*.dcm"))
checks.expect("label.dcm" not in names and "overview.dcm" not in names,
              "no label or overview without a replacement (%s)" % names)
checks.expect("thumbnail.dcm" in names, "the thumbnail is kept (made from the pyramid)")
no_markers(deid_out, "convert --deidentify")
report = json.loads((work / "deid.json").read_text())
pseudonym = (report.get("deidentified") or {}).get("container_identifier", "")
checks.expect(pseudonym.startswith("DEID-") and report["deidentified"]["generated"],
              "the report gives the generated Container Identifier (%s)" % pseudonym)
for path in sorted(deid_out.glob("*.dcm")):
    ds = check_instance(path)
    checks.expect(ds.ContainerIdentifier == pseudonym, path.name, "ContainerIdentifier is it")
    specimen = ds.SpecimenDescriptionSequence[0]
    checks.expect(specimen.SpecimenIdentifier == pseudonym, path.name, "SpecimenIdentifier is it")
    texts = [item.TextValue for step in specimen.get("SpecimenPreparationSequence", [])
             for item in step.SpecimenPreparationStepContentItemSequence if "TextValue" in item]
    checks.expect(texts == [pseudonym], path.name,
                  "the staining step's Specimen Identifier item is it (%s)" % texts)
for path in sorted(deid_out.glob("level-*.dcm")):
    checks.expect(pixel_data(path) == pixel_data(plain_out / path.name), path.name,
                  "frames identical to the conversion without --deidentify")
    a = pydicom.dcmread(path, stop_before_pixels=True)
    b = pydicom.dcmread(plain_out / path.name, stop_before_pixels=True)
    checks.expect(a.StudyInstanceUID != b.StudyInstanceUID and
                  a.SOPInstanceUID != b.SOPInstanceUID, path.name,
                  "UIDs other than the identified conversion's")
again = work / "deid-again"
run("convert", slide, "-o", again, "-q", "--deterministic-uids", "--deidentify")
checks.expect(pydicom.dcmread(again / "level-0.dcm").ContainerIdentifier == pseudonym,
              "with --deterministic-uids the pseudonym is the same twice")

# 2. Replacement labels, and the user's values kept.
user = {"PatientID": "PSEUDO-17", "ContainerIdentifier": "CASE-17-A"}
meta = work / "meta.json"
meta.write_text(json.dumps({"00400512": {"vr": "LO", "Value": ["CASE-17-A"]}}))
text_out = work / "label-text"
rc, log = run("convert", slide, "-o", text_out, "-q", "--deidentify", "--label-text",
              "Case 17 A", "--patient-id", "PSEUDO-17", "--metadata", meta)
checks.expect(rc == 0, "--label-text exits 0", log.strip())
checks.expect((text_out / "label.dcm").exists() and not (text_out / "overview.dcm").exists(),
              "--label-text: label.dcm, no overview.dcm")
no_markers(text_out, "--label-text")
for path in sorted(text_out.glob("*.dcm")):
    check_instance(path, user)
label = pydicom.dcmread(text_out / "label.dcm")
pixels = label.pixel_array
checks.expect(pixels.min() < 64 and pixels.max() > 192, "the drawn label has dark text on white")
yy, xx = np.mgrid[0:200, 0:300]
picture_pixels = np.dstack([xx * 255 // 299, yy * 255 // 199, (xx + yy) * 255 // 498]).astype(np.uint8)
picture_pixels[60:140, 100:200] = (20, 40, 200)   # an edge for the PNG filters to predict
for kind, suffix, mode in (("PNG", ".png", "RGB"), ("PNG", ".png", "RGBA"), ("PNG", ".png", "P"),
                           ("JPEG", ".jpg", "RGB"), ("TIFF", ".tif", "RGB")):
    picture = work / ("replacement-%s%s" % (mode, suffix))
    image = Image.fromarray(picture_pixels)
    image = image.quantize(64) if mode == "P" else image.convert(mode)
    image.save(picture, kind)
    expected = np.asarray(image.convert("RGB"), dtype=float)
    what = "--label-image %s %s" % (kind, mode)
    out = work / ("label-%s-%s" % (kind.lower(), mode))
    rc, log = run("convert", slide, "-o", out, "-q", "--deidentify", "--label-image", picture)
    checks.expect(rc == 0, what, "exits 0", log.strip())
    if rc == 0:
        ds = pydicom.dcmread(out / "label.dcm")
        checks.expect((ds.TotalPixelMatrixColumns, ds.TotalPixelMatrixRows) == (300, 200),
                      what, "label.dcm is the picture's size")
        got = ds.pixel_array
        if ds.PhotometricInterpretation.startswith("YBR"):
            got = convert_color_space(got, "YBR_FULL", "RGB")
        error = np.abs(got.astype(float) - expected).mean()
        checks.expect(error < 6, what, "label.dcm shows the picture (mean error %.1f)" % error)
        check_instance(out / "label.dcm")
        no_markers(out, what)

# 3. Plain TIFFs: VL Photographic / Secondary Capture, and the Encapsulated PDF.
# Pages that may show names (documents: Burned In Annotation YES) are refused until the
# user says they do not.
rc, log = run("convert", document, "-o", work / "plain-refused", "--deidentify", "--kind",
              "document")
checks.expect(rc == 2 and "--burned-in-annotation no" in log and
              len(log.strip().splitlines()) == 1 and not (work / "plain-refused").exists(),
              "document pages under --deidentify: refused in one line, nothing written", log)
no_annotation = ["--burned-in-annotation", "no"]
for source, extra, what in ((photo, [], "photo"),
                            (document, ["--kind", "document", *no_annotation], "SC"),
                            (document, ["--kind", "document", "--as", "pdf", *no_annotation],
                             "PDF")):
    out = work / ("plain-" + what)
    rc, log = run("convert", source, "-o", out, "-q", "--deidentify", *extra)
    checks.expect(rc == 0, "plain TIFF (%s) --deidentify exits 0" % what, log.strip())
    no_markers(out, "plain TIFF " + what)
    for path in sorted(out.glob("*.dcm")):
        ds = check_instance(path)
        checks.expect(ds.get("Manufacturer") == "ScannerMaker", path.name,
                      "Manufacturer kept (the profile keeps it)")

# 4. batch with a manifest (user values in its cells) and a DICOMDIR.
manifest = work / "manifest.csv"
manifest.write_text("path,PatientID,ContainerIdentifier\n%s,PSEUDO-17,CASE-17-A\n%s,,\n"
                    % (slide, photo))
batch_out, media = work / "batch", work / "media"
r = subprocess.run([slide2dcm, "batch", str(manifest), "-o", str(batch_out), "-q",
                    "--deidentify", "--dicomdir", str(media)], capture_output=True, text=True)
checks.expect(r.returncode == 0, "batch --deidentify exits 0", (r.stdout + r.stderr).strip())
dicoms = [p for p in outputs(batch_out) if p.suffix == ".dcm"]
checks.expect(dicoms and all(not markers_in(p.read_bytes()) for p in dicoms),
              "batch: no marker in the bytes of its %d DICOM files" % len(dicoms))
no_markers(media, "the DICOMDIR media folder")
for path in dicoms:
    ds = check_instance(path)
    if ds.Modality == "SM":
        checks.expect(ds.ContainerIdentifier == "CASE-17-A" and ds.PatientID == "PSEUDO-17",
                      path.name, "the manifest's cells are kept")
slides = json.loads((batch_out / "batch-report.json").read_text())["slides"]
by_source = {Path(s["source"]).name: s for s in slides}
checks.expect(by_source[slide.name].get("deidentified") ==
              {"container_identifier": "CASE-17-A", "generated": False},
              "batch-report.json gives the slide's Container Identifier, the manifest's")
checks.expect("deidentified" not in by_source[photo.name],
              "and none for a plain TIFF, which has no Container Identifier")

# 4b. Copied tiles whose JPEG streams carry a comment (COM) with a marker: the copies
# --deidentify writes keep no COM (a conversion without it copies the tile as it is).
tiled = work / "commented-tiles.tif"
rng = np.random.default_rng(3)
tiled_tiff(tiled, 256, rng.integers(0, 256, (600, 700, 3), dtype=np.uint8),
           comment=NAME_MARK.encode())
rc, log = run("convert", tiled, "-o", work / "tiles-plain", "-q", "--mpp", "0.5")
checks.expect(rc == 0 and any(NAME_MARK.encode() in p.read_bytes()
                              for p in (work / "tiles-plain").glob("level-0.dcm")),
              "without --deidentify the commented tiles are copied as they are", log.strip())
rc, log = run("convert", tiled, "-o", work / "tiles-deid", "-q", "--mpp", "0.5", "--deidentify")
checks.expect(rc == 0, "commented tiles: --deidentify exits 0", log.strip())
no_markers(work / "tiles-deid", "copied tiles with a COM segment")
if rc == 0:
    plain0 = pydicom.dcmread(work / "tiles-plain" / "level-0.dcm").pixel_array
    deid0 = pydicom.dcmread(work / "tiles-deid" / "level-0.dcm").pixel_array
    checks.expect(np.array_equal(plain0, deid0), "the stripped copies decode to the same pixels")
    check_instance(work / "tiles-deid" / "level-0.dcm")

# 4c. A microscopy file (QPTIFF): its own label, overview and thumbnail (the label's writing,
# the slide seen whole) stay out; a replacement label goes in.
for extra, expected in (([], set()), (["--label-text", "CASE 17"], {"label.dcm"})):
    out = work / ("qptiff" + ("-label" if extra else ""))
    rc, log = run("convert", qptiff, "-o", out, "-q", "--deidentify", *extra)
    names = {p.name for p in out.glob("*.dcm")}
    checks.expect(rc == 0 and names and {n for n in names if "level" not in n} == expected,
                  "QPTIFF --deidentify %s: no associated image of the file (%s)"
                  % (" ".join(extra), sorted(n for n in names if "level" not in n)), log.strip())
    for path in sorted(out.glob("*.dcm"))[:3] + sorted(out.glob("label.dcm")):
        check_instance(path)

# 4d. An ICC profile whose texts (descriptions, device maker and model, copyright, a
# metadata dictionary, a profile sequence) carry markers and whose calibration date is the source's: the
# profile --deidentify writes, in a slide's Optical Path and a plain TIFF's ICC Profile,
# has none of them, still opens and converts colours exactly as the source's does.
def lab_of(profile, colours):
    """colours (an RGB image) through profile into CIELab, as PIL's LittleCMS does it."""
    source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    lab = ImageCms.buildTransform(source, ImageCms.createProfile("LAB"), "RGB", "LAB")
    return np.asarray(ImageCms.applyTransform(colours, lab))


icc = planted_icc()
planted = ImageCms.ImageCmsProfile(io.BytesIO(icc)).profile
checks.expect(all(m in planted.profile_description + planted.manufacturer + planted.copyright
                  for m in ("MKICCDESCQ10", "MKICCMAKERQ11", "MKICCCPRTQ13")),
              "the planted ICC profile opens and carries its markers")
grid = np.stack(np.meshgrid(*[np.arange(0, 256, 51)] * 3), -1).reshape(12, 18, 3)
colours = Image.fromarray(grid.astype(np.uint8))
icc_lab = lab_of(icc, colours)
icc_slide, icc_photo = work / "icc-tiles.tif", work / "icc-photo.tif"
tiled_tiff(icc_slide, 256, rng.integers(0, 256, (300, 400, 3), dtype=np.uint8), icc=icc)
Image.fromarray(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)).save(
    icc_photo, compression="raw", icc_profile=icc)
for source, extra, what, profiles in (
        (icc_slide, ["--mpp", "0.5"], "slide",
         lambda ds: [p.ICCProfile for p in ds.OpticalPathSequence if "ICCProfile" in p]),
        (icc_photo, [], "plain TIFF", lambda ds: [ds.ICCProfile] if "ICCProfile" in ds else [])):
    kept, cleaned = work / ("icc-kept-" + what[:5]), work / ("icc-deid-" + what[:5])
    rc, log = run("convert", source, "-o", kept, "-q", *extra)
    checks.expect(rc == 0 and any(markers_in(p.read_bytes()) for p in outputs(kept)),
                  "ICC %s: without --deidentify the profile's texts are written" % what,
                  log.strip())
    rc, log = run("convert", source, "-o", cleaned, "-q", "--deidentify", *extra)
    checks.expect(rc == 0, "ICC %s: --deidentify exits 0" % what, log.strip())
    no_markers(cleaned, "ICC %s: the profile's texts" % what)
    for path in sorted(cleaned.glob("*.dcm")):
        ds = check_instance(path)
        written = profiles(ds)
        checks.expect(written, path.name, "ICC %s: holds the profile" % what)
        for profile in written:
            checks.expect(len(profile) == len(icc), path.name, "ICC: the profile's length kept")
            try:
                same = np.array_equal(lab_of(profile, colours), icc_lab)
            except (OSError, ImageCms.PyCMSError) as e:
                same = "does not open: %s" % e
            checks.expect(same is True, path.name,
                          "ICC: opens in LittleCMS, same colour transform", same)
            calt = icc_tags(profile).get(b"calt", b"")
            checks.expect(calt[8:20] == struct.pack(">6H", 2000, 1, 1, 0, 0, 0), path.name,
                          "ICC: calibration date 2000-01-01", calt[8:20].hex())

# 5. Errors: one line, naming the option and the file, never a value.
rc, log = run("convert", slide, "-o", work / "e1", "--label-text", "X")
checks.expect(rc == 2 and "--deidentify" in log, "--label-text alone is a usage error", log)
rc, log = run("convert", slide, "-o", work / "e2", "--deidentify", "--label-image",
              work / "missing.png")
checks.expect(rc == 2 and "missing.png" in log and len(log.strip().splitlines()) == 1,
              "a missing --label-image: one line naming it (exit 2)", log)
garbage = work / "garbage.png"
garbage.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
rc, log = run("convert", slide, "-o", work / "e3", "--deidentify", "--label-image", garbage)
checks.expect(rc == 2 and "garbage.png" in log and len(log.strip().splitlines()) == 1,
              "a broken --label-image: one line naming it (exit 2)", log)

sys.exit(checks.result())
