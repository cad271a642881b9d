#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Plain-TIFF outputs of every kind stored in Orthanc and rendered by it (issue 16).

usage: plain_pacs.py SLIDE2DCM FIXTURES WORKDIR

FIXTURES is what make_plain_tiff wrote (fixture.plain). One conversion per kind of output:
Single Bit SC (g4_a4_300dpi.tif, a text page: Orthanc 1.10 renders no bilevel frame whose
width is not a multiple of 8, "Bad number of columns for a black-and-white image"), the
same in Deflated Explicit VR Little Endian (--codec deflate), Grayscale Byte SC
(radiology8.tif), Grayscale Word SC with its automatic windows (ct_stack.tif: 20 frames in
HU, intercept -32768; float32.tif: a fractional slope) and with --window 40,400
(signed16.tif), True Colour SC (palette8.tif --kind document), SC Image MONOCHROME1
(miniswhite16.tif: one per page) and VL Photographic (photo_exif.tif). Then, in the tests'
own Orthanc on 127.0.0.1 (lib/pacs.py):
1. slide2dcm send --stow: every instance stored byte for byte; Orthanc reads back the SOP
   class and the number of frames the oracle plans;
2. slide2dcm send --cstore: every instance stored with its SOP class, frames, windows and
   Pixel Data as sent;
3. after each, Orthanc renders the first and last frame (GET /instances/{id}/frames/{n}/
   rendered), compared with a rendering computed here from the stored pixels (pydicom) and
   the stored window: the Modality LUT (Rescale Slope, Intercept), then the first window by
   PS3.3 C.11.2.1.3.2's LINEAR_EXACT function, y = ((x - c) / w + 0.5) * 255 clipped, then
   MONOCHROME1 inverted; colour as stored; bilevel 1 white, 0 black; 8-bit grey without a
   window over its stored range. The stored window itself must be the one computed here
   from the stored pixels (plain_oracle.expected_window), or the one given by --window.
Why LINEAR_EXACT: Orthanc 1.10's /rendered maps [c - w/2, c + w/2] onto 0..255 whatever the
VOI LUT Function says; the default LINEAR function (C.11.2.1.2.1) maps
[c - 0.5 - (w-1)/2, c - 0.5 + (w-1)/2]. Where the window spans many stored values the two are
under a level apart; for the float fixture (window 9.2 wide in units of 0.00015) they differ
by up to 28 levels, so the test prints the LINEAR difference too, for the record.
Tolerance: colour and bilevel exactly; grey within 1 of 255 levels: Orthanc truncates in
float32 where this test rounds in double (and, without a window, uses width 2^BitsStored, so
stored 255 shows as 254).
Orthanc's /preview ignores the window (it stretches each frame's minimum to maximum): shown
for the record, not checked. Exit 0 when all hold."""
import hashlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
import plain_oracle as po  # noqa: E402
from checks import Checks  # noqa: E402
from pacs import Orthanc  # noqa: E402

# (name, fixture, convert arguments, options for plain_oracle.expected_instances)
KINDS = [
    ("single-bit", "g4_a4_300dpi.tif", [], {}),
    ("single-bit-deflated", "g4_a4_300dpi.tif", ["--codec", "deflate"], {"codec": "deflate"}),
    ("byte", "radiology8.tif", [], {}),
    ("word", "ct_stack.tif", [], {}),
    ("word-float", "float32.tif", [], {}),
    ("word-window", "signed16.tif", ["--window", "40,400"], {"windows": [(40, 400)]}),
    ("true-colour", "palette8.tif", ["--kind", "document"], {"kind": "document"}),
    ("monochrome1", "miniswhite16.tif", [], {}),
    ("vl-photographic", "photo_exif.tif", [], {}),
]
GREY_TOLERANCE = 1  # levels of 255: see the docstring


def run(checks, what, *command):
    """Runs a command; records a failure (with its stderr) unless it exits 0."""
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True)
    checks.expect(done.returncode == 0, what, "exits 0" if done.returncode == 0 else
                  "exits 0 (got %d: %s)" % (done.returncode, done.stderr.strip()[-400:]))
    return done


def convert_all(slide2dcm, fixtures, workdir, checks):
    """Converts each kind; returns [(name, path, expected instance)] for every output."""
    outputs = []
    (workdir / "converted").mkdir()
    for name, fixture, args, options in KINDS:
        outdir = workdir / "converted" / name
        done = run(checks, "convert " + name, slide2dcm, "convert", fixtures / fixture, "-o",
                   outdir, "-q", *args)
        if done.returncode != 0:
            continue
        instances = po.expected_instances(fixtures / fixture, **options)
        files = sorted(outdir.glob("image-*.dcm"))
        if checks.expect(len(files) == len(instances), name, "%d file(s), the oracle plans %d"
                         % (len(files), len(instances))):
            outputs += [(name, path, instance) for path, instance in zip(files, instances)]
    return outputs


# ---------------------------------------------------------------- rendering

def first_value(ds, keyword):
    value = ds.get(keyword)
    if value is None:
        return None
    return float(value[0]) if isinstance(value, pydicom.multival.MultiValue) else float(value)


def linear_exact(x, center, width):
    """PS3.3 C.11.2.1.3.2, LINEAR_EXACT, onto 0..255 (rounded)."""
    y = ((x - center) / width + 0.5) * 255.0
    return np.clip(np.floor(y + 0.5), 0, 255).astype(np.int64)


def linear(x, center, width):
    """PS3.3 C.11.2.1.2.1, LINEAR (the default VOI LUT Function), onto 0..255 (rounded)."""
    low, high = center - 0.5 - (width - 1) / 2.0, center - 0.5 + (width - 1) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        y = ((x - (center - 0.5)) / (width - 1) + 0.5) * 255.0
    y = np.where(x <= low, 0.0, np.where(x > high, 255.0, y))
    return np.floor(y + 0.5).astype(np.int64)


def expected_rendering(ds, frame, function=linear_exact):
    """Frame `frame` of a dataset as a display shows it: (8-bit image, tolerance, note).
    Colour as stored; bilevel 1 white and 0 black; grey through the Modality LUT (Rescale
    Slope and Intercept) and the first stored window by `function`, or over the stored range
    when there is no window; MONOCHROME1 inverted."""
    pixels = ds.pixel_array
    if int(ds.get("NumberOfFrames", 1) or 1) > 1:
        pixels = pixels[frame]
    if ds.SamplesPerPixel == 3:
        return pixels.astype(np.int64), 0, "colour as stored"
    if ds.BitsStored == 1:
        return pixels.astype(np.int64) * 255, 0, "1 white, 0 black"
    center, width = first_value(ds, "WindowCenter"), first_value(ds, "WindowWidth")
    if center is None:
        top = (1 << ds.BitsStored) - 1
        shown = np.floor(pixels.astype(np.float64) * 255.0 / top + 0.5).astype(np.int64)
        note = "no window: stored range 0..%d" % top
    else:
        slope = first_value(ds, "RescaleSlope") or 1.0
        intercept = first_value(ds, "RescaleIntercept") or 0.0
        x = pixels.astype(np.float64) * slope + intercept
        shown = function(x, center, width)
        note = "window %g/%g" % (center, width)
    if ds.PhotometricInterpretation == "MONOCHROME1":
        shown = 255 - shown
        note += ", inverted"
    return shown, GREY_TOLERANCE, note


def check_window(name, ds, instance, checks):
    """The stored first window: the one computed here from the stored pixels (or given),
    and wide enough in stored values for GREY_TOLERANCE."""
    center, width = first_value(ds, "WindowCenter"), first_value(ds, "WindowWidth")
    if not instance["windows"]:
        checks.expect(center is None, name, "no window (found %s/%s)" % (center, width))
        return
    slope = first_value(ds, "RescaleSlope") or 1.0
    intercept = first_value(ds, "RescaleIntercept") or 0.0
    if instance["windows"][0][2] is None:  # given by --window
        wanted = instance["windows"][0][:2]
    else:
        wanted = po.expected_window(ds.pixel_array, slope, intercept, ds.BitsStored)[0][:2]
    checks.expect(center is not None and abs(center - wanted[0]) <= 1e-6 * max(1, abs(wanted[0]))
                  and abs(width - wanted[1]) <= 1e-6 * max(1, abs(wanted[1])), name,
                  "first window %s/%s, computed from the stored pixels %s/%s"
                  % (center, width, *wanted))


def check_rendered(name, orthanc, oid, ds, checks, frames):
    """Orthanc's /rendered of the first and last frame against expected_rendering."""
    for frame in sorted({0, frames - 1}):
        png = orthanc.get("/instances/%s/frames/%d/rendered" % (oid, frame))
        with Image.open(io.BytesIO(png)) as image:
            shown = np.asarray(image).astype(np.int64)
        wanted, tolerance, note = expected_rendering(ds, frame)
        where = "%s frame %d" % (name, frame)
        if not checks.expect(shown.shape == wanted.shape, where, "rendered %s (expected %s)"
                             % (shown.shape, wanted.shape)):
            continue
        diff = np.abs(shown - wanted)
        checks.expect(int(diff.max()) <= tolerance, where,
                      "Orthanc's rendering within %d of the expected (%s): largest difference "
                      "%d, mean %.2f" % (tolerance, note, int(diff.max()), float(diff.mean())))
        if "WindowCenter" in ds:
            standard = np.abs(shown - expected_rendering(ds, frame, linear)[0])
            checks.info("%s: for the record, against the LINEAR function: largest difference "
                        "%d, mean %.2f" % (where, int(standard.max()), float(standard.mean())))


# ---------------------------------------------------------------- read back

def stored_ids(orthanc):
    """{SOP Instance UID: Orthanc id}."""
    return orthanc.instances()


def check_read_back(how, orthanc, outputs, checks, byte_identical):
    """Every output stored; its SOP class and frame count as Orthanc reads them; the file
    byte for byte (STOW-RS) or its attributes and Pixel Data (C-STORE: the receiver writes
    its own file meta group); the window; the rendering."""
    stored = stored_ids(orthanc)
    for name, path, instance in outputs:
        sent = pydicom.dcmread(str(path))
        label = "%s %s/%s" % (how, name, path.name)
        oid = stored.get(sent.SOPInstanceUID)
        if not checks.expect(oid is not None, label, "stored"):
            continue
        tags = orthanc.get_json("/instances/%s/simplified-tags" % oid)
        frames = len(orthanc.get_json("/instances/%s/frames" % oid))
        checks.expect(tags.get("SOPClassUID") == instance["sop_class"] and
                      frames == len(instance["frames"]), label,
                      "Orthanc reads SOP class %s with %d frame(s) (expected %s, %d)"
                      % (tags.get("SOPClassUID"), frames, instance["sop_class"],
                         len(instance["frames"])))
        data = orthanc.get("/instances/%s/file" % oid)
        back = pydicom.dcmread(io.BytesIO(data))
        if byte_identical:
            checks.expect(hashlib.sha256(data).digest() ==
                          hashlib.sha256(path.read_bytes()).digest(), label,
                          "the stored file is the sent file byte for byte")
        else:
            same = [k for k in ("SOPClassUID", "NumberOfFrames", "PhotometricInterpretation",
                                "BitsStored", "WindowCenter", "WindowWidth", "RescaleSlope",
                                "RescaleIntercept") if sent.get(k) != back.get(k)]
            checks.expect(not same and sent.PixelData == back.PixelData, label,
                          "attributes and Pixel Data as sent (differing: %s%s)"
                          % (same, "" if sent.PixelData == back.PixelData else ", Pixel Data"))
        checks.guard(label, "the window check", check_window, label, back, instance, checks)
        checks.guard(label, "the rendering check", check_rendered, label, orthanc, oid, back,
                     checks, frames)


def show_preview(orthanc, outputs):
    """For the record: /preview of the Word instances with automatic and given windows."""
    stored = stored_ids(orthanc)
    for name, path, _ in outputs:
        if not name.startswith("word"):
            continue
        uid = pydicom.dcmread(str(path), stop_before_pixels=True).SOPInstanceUID
        png = orthanc.get("/instances/%s/frames/0/preview" % stored[uid])
        with Image.open(io.BytesIO(png)) as image:
            shown = np.asarray(image)
        Checks.info("preview of %s (window ignored, min..max stretched): %d..%d, first row %s"
                    % (name, shown.min(), shown.max(), shown[0, :6].tolist()))


def main(argv):
    if len(argv) != 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    slide2dcm, fixtures, workdir = argv[1], Path(argv[2]), Path(argv[3])
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    checks = Checks()
    outputs = convert_all(slide2dcm, fixtures, workdir, checks)
    files = [path for _, path, _ in outputs]
    if not files:
        return checks.result()
    with Orthanc(str(workdir)) as orthanc:
        stow = "%s/dicom-web/studies" % orthanc.url
        done = run(checks, "send --stow", slide2dcm, "send", *files, "--stow", stow,
                   "--json-report", workdir / "stow.json")
        if done.returncode == 0:
            report = json.loads((workdir / "stow.json").read_text())
            checks.expect(report.get("ok") is True and len(report.get("instances", [])) ==
                          len(files), "send --stow", "the report lists %d instance(s), ok"
                          % len(files))
        check_read_back("STOW-RS", orthanc, outputs, checks, byte_identical=True)
        show_preview(orthanc, outputs)
        orthanc.clear()
        checks.expect(orthanc.instances() == {}, "Orthanc", "emptied between the two sends")
        run(checks, "send --cstore", slide2dcm, "send", *files, "--cstore",
            "127.0.0.1:%d" % orthanc.dicom_port, "--aec", "ORTHANC", "-q")
        check_read_back("C-STORE", orthanc, outputs, checks, byte_identical=False)
    return checks.result()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
