#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Check one output directory of `slide2dcm convert SLIDE -o OUTDIR`.

usage: check_conversion.py --source SLIDE --outdir DIR [--mpp X] [--psnr-min 32]
                           [--levels generated|source] [--report REPORT.json]
                           [--expect-label yes|no|auto] [--expect-overview yes|no|auto]
                           [--expect-thumbnail yes|no|auto]

Checks, in order:
 1. per file: dciodvfy (no "Error" lines), verify-wsm-frames (no findings),
    dcmdump and gdcminfo exit 0; no leftover non-.dcm files in DIR;
 2. structure by value: SOP class, modality, transfer syntax (JPEG baseline, or
    JPEG 2000 for copied J2K tiles) with a PI it allows, Image Type = Frame
    Type, frame counts, pyramid level sizes and count as the files and the source
    say, without planning the pyramid again (tests/unit/test_plan.c tests the
    plan): level 0 is the source's, each next level the ceil half of the one
    above or (copied, the report's mode "copy") a level the source stores at 2x
    its downsample, down to the first level in one frame or --levels N; with
    --levels source, the source's levels), Pixel Spacing, Imaged Volume
    Width/Height, shared and distinct UIDs;
 3. pixels: every VOLUME frame decoded as its transfer syntax and Photometric
    Interpretation say, level 0, every level taken from a source level (and
    every level with --levels source) against OpenSlide, generated levels
    against a 2x2 area average of the level above, edge padding = background
    (except in levels copied from the source: their padding is the source's);
    the JPEG quality and subsampling of every file the converter encoded
    (the report's mode "encode"; all files without --report);
 4. label / overview / thumbnail against OpenSlide's associated images.

Everything goes to stdout: the summary (indented lines), then
"RESULT: PASS", or "RESULT: FAIL, N failure(s):" followed by one unindented
line per failure, "<file>: <what>".  (stderr only carries noise from C
libraries such as libtiff.)  Exit 0 if nothing failed, 1 otherwise, 2 on a
usage problem (bad arguments, source not readable by OpenSlide).
"""
import argparse
import json
import math
import re
import subprocess
import sys
import warnings
from pathlib import Path

import io

import numpy as np
import openslide
import pydicom
from pydicom.encaps import generate_pixel_data_frame
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_passthrough  # noqa: E402  (needs the path above)
import checks  # noqa: E402
import tools  # noqa: E402
import wsmcheck  # noqa: E402

WSM_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.77.1.6"
JPEG_BASELINE = wsmcheck.JPEG_BASELINE
# Within 2 %, a source level is at twice the downsample of the level above (the
# passthrough contract's pyramid rule).
LEVEL_STEP_TOL = 0.02
LEVEL_FILE = re.compile(r"^level-(\d+)\.dcm$")
# associated file name -> (Image Type value 3, OpenSlide associated image)
ASSOCIATED = {
    "label.dcm": ("LABEL", "label"),
    "overview.dcm": ("OVERVIEW", "macro"),
    "thumbnail.dcm": ("THUMBNAIL", None),
}
# (name, tag): tags because pydicom 2.3's dictionary predates Acquisition
# UID and Pyramid UID.
SHARED_UIDS = (("StudyInstanceUID", 0x0020000D), ("SeriesInstanceUID", 0x0020000E),
               ("FrameOfReferenceUID", 0x00200052), ("AcquisitionUID", 0x00080017))
PYRAMID_UID = ("PyramidUID", 0x00080019)
SPACING_REL_TOL = 1e-6
# Imaged Volume Width/Height are FL (float32): allow for that rounding.
VOLUME_REL_TOL = 1e-5
# A thumbnail pixel covers (level-0 size / thumbnail size) level-0 pixels on each axis,
# exactly, whatever rounding made its size.
THUMB_SPACING_REL_TOL = 1e-6
# A microscope slide, in mm (DICOM slide coordinates: X across, Y along).
SLIDE_WIDTH_MM, SLIDE_LENGTH_MM = 26.0, 76.0
ASSOCIATED_PSNR_MIN = 30.0
THUMBNAIL_PSNR_MIN = 20.0
PADDING_MAX_DIFF = 8.0
# The last row/column of a level made from an odd-sized one is checked on its
# own (a wrong odd-edge rule hardly moves the whole-level PSNR).  A single
# line next to JPEG padding is noisier than the whole level, hence a margin.
EDGE_PSNR_MARGIN = 6.0
TOOL_TIMEOUT = 900
# Where the content keeps every JPEG at the converter's settings under --psnr-min, a level
# passes within this many dB of libjpeg's own encoding of the same reference pixels: our
# levels are made from the exact pixels, the reference from the decoded level above, so
# ours may trail by a fraction of a dB; a wrong colour space or offset costs 10 dB or more.
REFERENCE_MARGIN = 1.0


def run_tool(command):
    """Run a validator; returns (returncode, stdout, stderr) or raises
    OSError / TimeoutExpired for the caller to report."""
    proc = subprocess.run(command, capture_output=True, text=True,
                          errors="replace", timeout=TOOL_TIMEOUT)
    return proc.returncode, proc.stdout, proc.stderr


def last_line(text):
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(no output)"


# --------------------------------------------------------------------------
# 1. Directory listing and per-file validators
# --------------------------------------------------------------------------

def scan_outdir(outdir, report):
    """Sort the directory into level files, associated files, other .dcm and
    leftovers.  Returns (levels {k: Path}, associated {name: Path},
    all_dcm [Path])."""
    levels, associated, all_dcm = {}, {}, []
    for entry in sorted(outdir.iterdir()):
        name = entry.name
        if entry.is_file() and name.endswith(".dcm"):
            all_dcm.append(entry)
            match = LEVEL_FILE.match(name)
            if match:
                levels[int(match.group(1))] = entry
            elif name in ASSOCIATED:
                associated[name] = entry
            else:
                report.fail(name, "unexpected DICOM file name (expected "
                            "level-N.dcm, label.dcm, overview.dcm, thumbnail.dcm)")
        elif entry.is_file() and name.endswith(".json") and not name.startswith("."):
            report.info("  report file %s (not checked)" % name)
        else:
            # Temporary files, hidden files and directories are all debris a
            # converter must not leave behind.
            kind = "directory" if entry.is_dir() else "file"
            report.fail(name, "leftover %s in output directory (only *.dcm "
                        "and the JSON report may remain)" % kind)
    return levels, associated, all_dcm


def summarise_findings(verdicts):
    """verify-wsm-frames reports per-frame problems one by one; fold
    "frame N: <problem>" findings into one line per problem so a systematic
    fault gives one failure line, not thousands."""
    per_problem, order = {}, []
    for verdict in verdicts:
        for finding in verdict.split("; "):
            match = re.match(r"frame (\d+): (.*)$", finding)
            key = match.group(2) if match else finding
            if key not in per_problem:
                per_problem[key] = []
                order.append(key)
            if match:
                per_problem[key].append(int(match.group(1)))
    lines = []
    for key in order:
        frames = per_problem[key]
        if not frames:
            lines.append(key)
        elif len(frames) == 1:
            lines.append("frame %d: %s" % (frames[0], key))
        else:
            lines.append("%s (%d frames, first %d)" % (key, len(frames), frames[0]))
    return lines


def validate_file(path, verify_tool, report):
    """Part 1 for one file.  Returns a short status string for the summary
    and the warnings worth showing under it."""
    name = path.name
    status, notes = [], []

    try:
        code, out, err = run_tool(["dciodvfy", str(path)])
        lines = [l.strip() for l in (out + err).splitlines() if l.strip()]
        errors = [l for l in lines if "Error" in l]
        warnings = [l for l in lines if "Warning" in l]
        for line in errors:
            report.fail(name, "dciodvfy: " + line)
        if code < 0:
            # e.g. SIGFPE when Rows or Columns is missing
            report.fail(name, "dciodvfy killed by signal %d" % -code)
        elif code != 0 and not errors:
            # dciodvfy exits 0 with warnings only; anything else is unexplained
            report.fail(name, "dciodvfy exit %d without an Error line: %s" % (code, last_line(err or out)))
        status.append("dciodvfy %d error(s) %d warning(s)" % (len(errors), len(warnings)))
        notes.extend("dciodvfy: " + line for line in warnings)
    except (OSError, subprocess.TimeoutExpired) as exc:
        report.fail(name, "dciodvfy could not run: %s" % exc)

    # verify-wsm-frames prints "<path>: OK" or "<path>: finding; finding".
    try:
        code, out, err = run_tool([verify_tool, str(path)])
        prefix = str(path) + ": "
        verdicts = [l[len(prefix):] for l in out.splitlines() if l.startswith(prefix)]
        if code == 0 and verdicts == ["OK"]:
            status.append("verify-wsm-frames OK")
        elif verdicts and verdicts != ["OK"]:
            for finding in summarise_findings(verdicts):
                report.fail(name, "verify-wsm-frames: " + finding)
            status.append("verify-wsm-frames FINDINGS")
        else:
            report.fail(name, "verify-wsm-frames crashed (exit %d): %s"
                        % (code, last_line(err or out)))
            status.append("verify-wsm-frames CRASHED")
    except (OSError, subprocess.TimeoutExpired) as exc:
        report.fail(name, "verify-wsm-frames could not run: %s" % exc)

    for tool in ("dcmdump", "gdcminfo"):
        try:
            code, out, err = run_tool([tool, str(path)])
            if code != 0:
                report.fail(name, "%s exit %d: %s" % (tool, code, last_line(err or out)))
                status.append("%s FAILED" % tool)
            else:
                status.append("%s ok" % tool)
        except (OSError, subprocess.TimeoutExpired) as exc:
            report.fail(name, "%s could not run: %s" % (tool, exc))
    return ", ".join(status), notes


# --------------------------------------------------------------------------
# 2. Structure by value
# --------------------------------------------------------------------------

def shared_item(ds, sequence):
    """First item of SharedFunctionalGroupsSequence[0].<sequence>, or None."""
    try:
        return getattr(ds.SharedFunctionalGroupsSequence[0], sequence)[0]
    except (AttributeError, IndexError):
        return None


def pixel_spacing(ds):
    item = shared_item(ds, "PixelMeasuresSequence")
    if item is None or "PixelSpacing" not in item or len(item.PixelSpacing) != 2:
        return None
    return [float(v) for v in item.PixelSpacing]


def rel_close(actual, expected, tol):
    return abs(actual - expected) <= tol * abs(expected)


def check_optical_path(name, ds, slide, report):
    """Brightfield unless the source is a fluorescence scan: then epifluorescence with its
    excitation wavelength. One optical path with an ICC profile (colour images)."""
    paths = ds.get("OpticalPathSequence", [])
    if len(paths) != 1:
        report.fail(name, "%d Optical Path items, expected 1" % len(paths))
        return
    path = paths[0]
    if not path.get("ICCProfile"):
        report.fail(name, "no ICC Profile in the Optical Path item")
    codes = path.get("IlluminationTypeCodeSequence", [])
    code = codes[0].get("CodeValue") if codes else None
    excitation = wsmcheck.excitation_wavelength(slide)
    want = "111743" if excitation else "111744"
    if code != want:
        report.fail(name, "Illumination Type %s, expected %s (%s)"
                    % (code, want, "fluorescence source" if excitation else "brightfield"))
    if excitation and float(path.get("IlluminationWaveLength", 0)) != excitation:
        report.fail(name, "Illumination Wave Length %s, expected the excitation %g nm"
                    % (path.get("IlluminationWaveLength"), excitation))
    # What viewers paint outside the scan: the background, in PS3.3 C.10.7.1.1 CIELab
    # (L 0..100 and a, b -128..127 scaled to 0..65535): white is 65535\32896\32896.
    background = wsmcheck.background_rgb(slide)
    lab = [int(v) for v in ds.get((0x0048, 0x0015)).value] if (0x0048, 0x0015) in ds else None
    want_l = {(255, 255, 255): 65535, (0, 0, 0): 0}.get(tuple(background))
    if want_l is not None and (lab is None or abs(lab[0] - want_l) > 1
                               or any(abs(v - 32896) > 2 for v in lab[1:])):
        report.fail(name, "Recommended Absent Pixel CIELab Value %s, expected L %d for "
                    "background %s" % (lab, want_l, background))


def check_common(name, ds, role, report):
    """Checks every file gets, whatever its flavour."""
    if ds.get("SOPClassUID") != WSM_SOP_CLASS:
        report.fail(name, "SOPClassUID %s, expected %s (VL WSM)"
                    % (ds.get("SOPClassUID"), WSM_SOP_CLASS))
    if ds.get("Modality") != "SM":
        report.fail(name, "Modality %r, expected 'SM'" % ds.get("Modality"))
    ts = ds.file_meta.get("TransferSyntaxUID")
    pi = ds.get("PhotometricInterpretation")
    if ts not in wsmcheck.ALLOWED_TS_PI:
        report.fail(name, "transfer syntax %s, expected JPEG baseline %s or JPEG 2000 %s"
                    % (ts, JPEG_BASELINE, wsmcheck.JPEG_2000))
    elif pi not in wsmcheck.ALLOWED_TS_PI[ts]:
        report.fail(name, "PhotometricInterpretation %r, expected one of %s with %s"
                    % (pi, wsmcheck.ALLOWED_TS_PI[ts], ts))
    if ds.get("DimensionOrganizationType") != "TILED_FULL":
        report.fail(name, "DimensionOrganizationType %r, expected TILED_FULL"
                    % ds.get("DimensionOrganizationType"))

    image_type = list(ds.get("ImageType", []))
    frame_item = shared_item(ds, "WholeSlideMicroscopyImageFrameTypeSequence")
    frame_type = list(frame_item.get("FrameType", [])) if frame_item is not None else None
    if frame_type is None:
        report.fail(name, "no Shared WholeSlideMicroscopyImageFrameTypeSequence FrameType")
    elif frame_type != image_type:
        report.fail(name, "FrameType %s != ImageType %s"
                    % ("\\".join(frame_type), "\\".join(image_type)))
    if len(image_type) != 4:
        report.fail(name, "ImageType %s has %d values, expected 4"
                    % ("\\".join(image_type), len(image_type)))
    else:
        if image_type[1] != "PRIMARY":
            report.fail(name, "ImageType value 2 %r, expected PRIMARY" % image_type[1])
        if image_type[2] != role:
            report.fail(name, "ImageType value 3 %r, expected %s for this file name"
                        % (image_type[2], role))

    frames = int(ds.get("NumberOfFrames", 0) or 0)
    cols, rows = int(ds.get("Columns", 0)), int(ds.get("Rows", 0))
    tpm_cols = int(ds.get("TotalPixelMatrixColumns", 0))
    tpm_rows = int(ds.get("TotalPixelMatrixRows", 0))
    if not (cols and rows and tpm_cols and tpm_rows):
        report.fail(name, "missing/zero Rows, Columns or TotalPixelMatrixRows/Columns")
        return
    if role == "VOLUME":
        expected = math.ceil(tpm_cols / cols) * math.ceil(tpm_rows / rows)
        if frames != expected:
            report.fail(name, "NumberOfFrames %d, expected %d (= ceil(%d/%d) * ceil(%d/%d))"
                        % (frames, expected, tpm_cols, cols, tpm_rows, rows))
    else:
        if frames != 1:
            report.fail(name, "NumberOfFrames %d, expected 1 for %s" % (frames, role))
        if (tpm_cols, tpm_rows) != (cols, rows):
            report.fail(name, "single-frame image: TotalPixelMatrix %dx%d != Columns x Rows %dx%d"
                        % (tpm_cols, tpm_rows, cols, rows))


def check_level_structure(name, ds, level, expected_dims, level0_dims, mpp, report):
    """Image Type flavour, size, Pixel Spacing and Imaged Volume of one
    pyramid level.  expected_dims may be None (level beyond the expected
    pyramid)."""
    image_type = list(ds.get("ImageType", []))
    if len(image_type) == 4:
        if level == 0 and image_type[3] != "NONE":
            report.fail(name, "ImageType %s: level 0 is not resampled, value 4 must be NONE"
                        % "\\".join(image_type))
        if level > 0 and (image_type[0], image_type[3]) != ("DERIVED", "RESAMPLED"):
            report.fail(name, "ImageType %s: a reduced level must be DERIVED\\PRIMARY\\VOLUME\\RESAMPLED"
                        % "\\".join(image_type))

    tpm = (int(ds.get("TotalPixelMatrixColumns", 0)), int(ds.get("TotalPixelMatrixRows", 0)))
    if expected_dims is not None and tpm != tuple(expected_dims):
        report.fail(name, "TotalPixelMatrix %dx%d, expected %dx%d"
                    % (tpm + tuple(expected_dims)))

    spacing = pixel_spacing(ds)
    if spacing is None:
        report.fail(name, "no Pixel Spacing (2 values) in SharedFunctionalGroupsSequence[0]."
                    "PixelMeasuresSequence[0]")
    elif mpp is not None:
        cols, rows = expected_dims if expected_dims is not None else tpm
        want = [mpp[1] / 1000.0 * level0_dims[1] / rows,     # row spacing: y
                mpp[0] / 1000.0 * level0_dims[0] / cols]     # column spacing: x
        if not all(rel_close(a, e, SPACING_REL_TOL) for a, e in zip(spacing, want)):
            report.fail(name, "Pixel Spacing [%.12g, %.12g] mm, expected [row, column] = "
                        "[%.12g, %.12g]" % (spacing[0], spacing[1], want[0], want[1]))

    if spacing is not None:
        for attr, extent, step in (("ImagedVolumeWidth", tpm[0], spacing[1]),
                                   ("ImagedVolumeHeight", tpm[1], spacing[0])):
            value = ds.get(attr)
            if value is None:
                report.fail(name, "%s missing" % attr)
            elif not rel_close(float(value), extent * step, VOLUME_REL_TOL):
                report.fail(name, "%s %.9g mm, expected %d x %.9g = %.9g mm"
                            % (attr, float(value), extent, step, extent * step))
    return spacing


def uid_value(ds, tag):
    """UID text of an element, also when pydicom only knows it as UN."""
    element = ds.get(tag)
    if element is None or element.value is None:
        return None
    value = element.value
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value).rstrip("\0 ") or None


def check_uids(headers, report):
    """Shared UIDs across all files, Pyramid UID across VOLUME+THUMBNAIL,
    distinct SOP Instance UIDs.  headers: {name: (ds, role)}."""
    names = sorted(headers, key=file_order)
    if not names:
        return
    reference = names[0]
    for attr, tag in SHARED_UIDS:
        ref_value = uid_value(headers[reference][0], tag)
        for name in names:
            value = uid_value(headers[name][0], tag)
            if not value:
                report.fail(name, "%s missing" % attr)
            elif ref_value and value != ref_value:
                report.fail(name, "%s %s differs from %s's %s" % (attr, value, reference, ref_value))
    pyramid = [n for n in names if headers[n][1] in ("VOLUME", "THUMBNAIL")]
    if pyramid:
        ref_value = uid_value(headers[pyramid[0]][0], PYRAMID_UID[1])
        for name in pyramid:
            value = uid_value(headers[name][0], PYRAMID_UID[1])
            if not value:
                report.fail(name, "PyramidUID missing")
            elif ref_value and value != ref_value:
                report.fail(name, "PyramidUID %s differs from %s's %s" % (value, pyramid[0], ref_value))
    seen = {}
    for name in names:
        uid = headers[name][0].get("SOPInstanceUID")
        if uid in seen:
            report.fail(name, "SOPInstanceUID %s is also used by %s" % (uid, seen[uid]))
        seen[uid] = name


def check_geometry(headers, report):
    """Image Orientation (Slide) orthonormal and the same in every file, one origin for all,
    and every corner of every VOLUME/THUMBNAIL matrix on the glass (non-negative, inside a
    26 x 76 mm slide): viewers refuse negative coordinates and images off the slide."""
    reference = None
    for name in sorted(headers, key=file_order):
        ds, role = headers[name]
        orientation = [float(v) for v in ds.get("ImageOrientationSlide", [])]
        origin_items = ds.get("TotalPixelMatrixOriginSequence", [])
        if len(orientation) != 6 or len(origin_items) != 1:
            report.fail(name, "Image Orientation (Slide) or Total Pixel Matrix Origin missing")
            continue
        # The documented choice (docs/architecture.md): rows along +Y, columns along +X.
        if orientation != [0, 1, 0, 1, 0, 0]:
            report.fail(name, "Image Orientation (Slide) %s, documented 0\\1\\0\\1\\0\\0"
                        % orientation)
        row, col = orientation[:3], orientation[3:]
        dot = sum(a * b for a, b in zip(row, col))
        units = [sum(a * a for a in v) for v in (row, col)]
        if abs(dot) > 1e-6 or any(abs(u - 1) > 1e-6 for u in units):
            report.fail(name, "Image Orientation (Slide) %s is not orthonormal" % orientation)
        item = origin_items[0]
        origin = (float(item.XOffsetInSlideCoordinateSystem),
                  float(item.YOffsetInSlideCoordinateSystem))
        if reference is None:
            reference = (name, orientation, origin)
        elif (orientation, origin) != tuple(reference[1:]):
            report.fail(name, "orientation %s / origin %s differ from %s's %s / %s"
                        % (orientation, origin, reference[0], reference[1], reference[2]))
        spacing = pixel_spacing(ds)
        if role not in ("VOLUME", "THUMBNAIL") or spacing is None:
            continue
        rows, cols = int(ds.TotalPixelMatrixRows), int(ds.TotalPixelMatrixColumns)
        for r, c in ((0, 0), (0, cols), (rows, 0), (rows, cols)):
            # Column index c moves along the row direction by column spacing, r along the
            # column direction by row spacing.
            x = origin[0] + row[0] * c * spacing[1] + col[0] * r * spacing[0]
            y = origin[1] + row[1] * c * spacing[1] + col[1] * r * spacing[0]
            if not (-1e-9 <= x <= SLIDE_WIDTH_MM and -1e-9 <= y <= SLIDE_LENGTH_MM):
                report.fail(name, "corner (row %d, column %d) maps to (%.3f, %.3f) mm, off the "
                            "slide" % (r, c, x, y))
                break


def file_order(name):
    match = LEVEL_FILE.match(name)
    if match:
        return (0, int(match.group(1)), name)
    return (1, 0, name)


# --------------------------------------------------------------------------
# 3./4. Pixels
# --------------------------------------------------------------------------

def decode_instance(name, path, report, args):
    """Read and decode all frames of an instance in the colour space its
    Photometric Interpretation declares.  Returns (ds, DecodedImage) or
    (ds, None) when the file cannot be decoded at all."""
    ds = pydicom.dcmread(str(path))
    ts, pi = ds.file_meta.get("TransferSyntaxUID"), ds.get("PhotometricInterpretation", "")
    if pi not in wsmcheck.ALLOWED_TS_PI.get(ts, ()):
        report.fail(name, "pixels not checked: needs JPEG baseline (PI RGB or YBR_FULL_422) or "
                    "JPEG 2000 (PI RGB, YBR_ICT or YBR_RCT)")
        return ds, None
    if file_mode(args, name) == "encode":
        check_jpeg_settings(name, ds, args, report)
    space = wsmcheck.jpeg_space_for_pi(pi)
    decoded = wsmcheck.decode_tiled(ds)
    for frame, message in decoded.decode_errors[:3]:
        report.fail(name, "frame %d does not decode: %s" % (frame, message))
    if len(decoded.decode_errors) > 3:
        report.fail(name, "... %d more frames do not decode" % (len(decoded.decode_errors) - 3))
    if decoded.guess_mismatches:
        pi = ds.PhotometricInterpretation
        other = "YCbCr" if space == "RGB" else "RGB"
        # libjpeg lets a JFIF APP0 override an Adobe transform 0 marker.
        hint = ("needs an Adobe APP14 marker with transform 0 and no JFIF APP0"
                if space == "RGB"
                else "must not carry Adobe APP14 transform 0 or 'R','G','B' component ids")
        report.fail(name, "PI %s but PIL/libjpeg alone would decode %d of %d frames as %s "
                    "(the JPEG %s)" % (pi, decoded.guess_mismatches, decoded.frames, other, hint))
    return ds, decoded


def jpeg_tables_and_sampling(stream):
    """({table id: 64 quantisation values}, [(h, v) per component]) of a JPEG stream."""
    tables, sampling, i = {}, [], 2
    while i + 4 <= len(stream) and stream[i] == 0xFF:
        marker = stream[i + 1]
        length = int.from_bytes(stream[i + 2:i + 4], "big")
        segment = stream[i + 4:i + 2 + length]
        if marker == 0xDB:
            k = 0
            while k < len(segment):
                precision, table = segment[k] >> 4, segment[k] & 15
                size = 128 if precision else 64
                tables[table] = bytes(segment[k + 1:k + 1 + size])
                k += 1 + size
        elif marker in (0xC0, 0xC1, 0xC2):
            sampling = [(segment[7 + 3 * c] >> 4, segment[7 + 3 * c] & 15)
                        for c in range(segment[5])]
        elif marker == 0xDA:
            break
        i += 2 + length
    return tables, sampling


def check_jpeg_settings(name, ds, args, report):
    """The first frame was encoded with the quality and subsampling the converter was
    given: same quantisation tables and sampling factors as libjpeg's at those settings."""
    frame = next(generate_pixel_data_frame(ds.PixelData, int(ds.get("NumberOfFrames", 1))))
    buf = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buf, "JPEG", quality=args.quality,
                                    subsampling=0 if args.subsampling == "444" else 2)
    want_tables, want_sampling = jpeg_tables_and_sampling(buf.getvalue())
    tables, sampling = jpeg_tables_and_sampling(frame)
    if tables != want_tables:
        report.fail(name, "quantisation tables are not libjpeg's at quality %d" % args.quality)
    if sampling != want_sampling:
        report.fail(name, "sampling factors %s, expected %s for %s" % (sampling, want_sampling,
                                                                         args.subsampling))


def reference_encoder_psnr(expected, args):
    """PSNR that libjpeg itself reaches encoding `expected` with the converter's quality and
    subsampling: the best any JPEG at those settings can do on these pixels."""
    pixels = np.clip(np.rint(expected), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=args.quality,
                                 subsampling=0 if args.subsampling == "444" else 2)
    decoded = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    return wsmcheck.psnr(decoded, expected)


def compare(name, label, actual, expected, minimum, report, args=None):
    """PSNR of actual vs expected; records a failure below minimum. With args (the JPEG
    settings), content that no JPEG at those settings can bring to the minimum (fine
    saturated colour under 4:2:0, say) passes when it is within REFERENCE_MARGIN dB of
    libjpeg's own encoding of the same reference. Returns (summary, minimum applied)."""
    if actual.shape != expected.shape:
        report.fail(name, "%s: size %dx%d vs %dx%d, PSNR not computed"
                    % (label, actual.shape[1], actual.shape[0], expected.shape[1], expected.shape[0]))
        return "%s: size mismatch" % label, minimum
    value = wsmcheck.psnr(actual, expected)
    text = "PSNR %.2f dB %s" % (value, label)
    if value < minimum and args is not None:
        best = reference_encoder_psnr(expected, args)
        text += " (libjpeg q%d %s on the same reference: %.2f dB)" % (
            args.quality, args.subsampling, best)
        minimum = min(minimum, best - REFERENCE_MARGIN)
    if value < minimum:
        report.fail(name, "PSNR %.2f dB %s, below the minimum %.2f dB" % (value, label, minimum))
    return text, minimum


def check_padding(name, decoded, tpm_cols, tpm_rows, background, report):
    overall, worst = wsmcheck.padding_report(decoded, tpm_cols, tpm_rows, background)
    if overall is None:
        return "no padding"
    text = "padding |diff| %.2f" % overall
    if overall >= PADDING_MAX_DIFF:
        report.fail(name, "edge padding is not background %s: mean abs diff %.2f (limit %.0f)"
                    % (background, overall, PADDING_MAX_DIFF))
    if worst is not None:
        text += " (worst frame %d: %.2f)" % worst
        if worst[1] >= PADDING_MAX_DIFF:
            report.fail(name, "frame %d: padding outside the Total Pixel Matrix is not background "
                        "%s: mean abs diff %.2f (limit %.0f)"
                        % (worst[0], background, worst[1], PADDING_MAX_DIFF))
    return text


def check_odd_edges(name, above, pixels, reference, minimum, report):
    """Where the level above has an odd width/height, compare the last
    column/row alone: it must average only the pixels that exist."""
    notes = []
    rows, cols = above.shape[:2]
    strips = []
    if cols % 2:
        strips.append(("last column", (slice(None), slice(-1, None))))
    if rows % 2:
        strips.append(("last row", (slice(-1, None), slice(None))))
    for what, index in strips:
        value = wsmcheck.psnr(pixels[index], reference[index])
        notes.append("%s %.2f dB" % (what, value))
        if value < minimum:
            report.fail(name, "PSNR %.2f dB on the %s vs the 2x2 average (the level above is "
                        "%dx%d: odd edges must average only existing pixels), below %.1f dB"
                        % (value, what, cols, rows, minimum))
    return notes


def check_level_pixels(levels, args, slide, background, report):
    """Decode every level; compare level 0 (and with --levels source every
    level) to OpenSlide, generated levels to a 2x2 average of the one above."""
    previous = None           # decoded pixels of level k-1, cropped
    previous_failed = False   # so a knock-on failure can say where it starts
    for level in sorted(levels):
        name = levels[level].name
        failures_before = len(report.failures)
        result = report.guard(name, "pixel check", check_one_level, name, levels[level],
                              level, previous, previous_failed, args, slide, background, report)
        previous = result
        previous_failed = len(report.failures) > failures_before


def check_one_level(name, path, level, previous, previous_failed, args, slide, background,
                    report):
    """Pixels of one level; returns its decoded pixels cropped to the Total
    Pixel Matrix (for the next level's comparison) or None."""
    ds, decoded = decode_instance(name, path, report, args)
    if decoded is None:
        return None
    tpm_cols, tpm_rows = int(ds.TotalPixelMatrixColumns), int(ds.TotalPixelMatrixRows)
    pixels = decoded.cropped(tpm_cols, tpm_rows)
    mode = file_mode(args, name)
    if mode == "copy":
        # The frames are the source's tiles: beyond the image they hold whatever the
        # scanner stored there (check_passthrough.py checks what the contract says).
        notes = ["padding copied from the source"]
    else:
        notes = [check_padding(name, decoded, tpm_cols, tpm_rows, background, report)]
    source_level = openslide_level_for(slide, args, level, (tpm_cols, tpm_rows), previous, mode)
    if source_level is not None:
        reference = wsmcheck.level_reference(slide, source_level, background)
        notes.insert(0, compare(name, "vs OpenSlide level %d" % source_level,
                                pixels, reference, args.psnr_min, report, args)[0])
        del reference
    elif level == 0 or args.levels == "source":
        report.fail(name, "OpenSlide has no %dx%d level to compare" % (tpm_cols, tpm_rows))
        notes.insert(0, "no OpenSlide level %d to compare" % level)
    elif previous is not None:
        reference = wsmcheck.area_average_2x(previous)
        label = "vs 2x2 average of level-%d" % (level - 1)
        if previous_failed:
            label += " (level-%d has failures itself)" % (level - 1)
        text, minimum = compare(name, label, pixels, reference, args.psnr_min, report, args)
        notes.insert(0, text)
        if pixels.shape == reference.shape:
            notes[1:1] = check_odd_edges(name, previous, pixels, reference,
                                         minimum - EDGE_PSNR_MARGIN, report)
        del reference
    else:
        notes.insert(0, "not compared (level-%d unusable)" % (level - 1))
    report.info("  %s %dx%d %d frames %s%s: %s"
                % (name, tpm_cols, tpm_rows, decoded.frames, ds.PhotometricInterpretation,
                   " [%s]" % mode if mode else "", "; ".join(notes)))
    return pixels


def openslide_level_for(slide, args, level, size, previous, mode):
    """The OpenSlide level a pyramid level is compared with, or None for a level made
    from the one above (compared with its 2x2 average). Level 0, every level with
    --levels source, a level copied from the source, and a level that is not the ceil
    half of the one above (so it can only be a source level at its own size) come from
    the source."""
    try:
        index = list(slide.level_dimensions).index(tuple(size))
    except ValueError:
        index = None
    if level == 0 or args.levels == "source":
        return index if index is not None and (level == 0 or index == level) else None
    if previous is None:
        return None
    half = ((previous.shape[1] + 1) // 2, (previous.shape[0] + 1) // 2)
    if mode == "copy" or tuple(size) != half:
        return index
    return None


def file_mode(args, name):
    """The report's mode of a file ("copy" or "encode"); "encode" without --report, as
    every file was encoded before passthrough; None if the report does not list it."""
    if args.report_files is None:
        return "encode"
    entry = args.report_files.get(name)
    return entry.get("mode") if entry else None


def check_associated(name, path, slide, args, background, level0_dims, mpp, report):
    """Pixels (and thumbnail specifics) of label / overview / thumbnail."""
    role, source_name = ASSOCIATED[name]
    ds, decoded = decode_instance(name, path, report, args)
    if decoded is None:
        return
    cols, rows = int(ds.Columns), int(ds.Rows)
    pixels = decoded.cropped(cols, rows)
    note = "%s %dx%d %s" % (name, cols, rows, ds.PhotometricInterpretation)
    if role == "THUMBNAIL":
        image_type = list(ds.get("ImageType", []))
        if image_type != ["DERIVED", "PRIMARY", "THUMBNAIL", "RESAMPLED"]:
            report.fail(name, "ImageType %s, expected DERIVED\\PRIMARY\\THUMBNAIL\\RESAMPLED"
                        % "\\".join(image_type))
        spacing = pixel_spacing(ds)
        if spacing is None:
            report.fail(name, "no Pixel Spacing in SharedFunctionalGroupsSequence[0]."
                        "PixelMeasuresSequence[0]")
        elif mpp is not None:
            want = [mpp[1] / 1000.0 * level0_dims[1] / rows,
                    mpp[0] / 1000.0 * level0_dims[0] / cols]
            if not all(rel_close(a, e, THUMB_SPACING_REL_TOL) for a, e in zip(spacing, want)):
                report.fail(name, "Pixel Spacing [%.9g, %.9g] mm, expected about [%.9g, %.9g]"
                            % (spacing[0], spacing[1], want[0], want[1]))
        reference = wsmcheck.thumbnail_reference(slide, cols, rows)
        note += ": " + compare(name, "vs OpenSlide get_thumbnail", pixels, reference,
                               THUMBNAIL_PSNR_MIN, report)[0]
    elif source_name in slide.associated_images:
        reference = wsmcheck.associated_reference(slide, source_name, background)
        note += ": " + compare(name, "vs OpenSlide '%s'" % source_name, pixels, reference,
                               ASSOCIATED_PSNR_MIN, report)[0]
    else:
        note += ": source has no '%s' image, not compared" % source_name
    report.info("  " + note)


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------

def slide_mpp(slide, args, report, slide_name):
    """(mpp_x, mpp_y) in micrometres: --mpp wins (the value the converter was
    given), else OpenSlide's properties; None if neither is known."""
    if args.mpp is not None:
        return (args.mpp, args.mpp), "--mpp"
    try:
        return (float(slide.properties["openslide.mpp-x"]),
                float(slide.properties["openslide.mpp-y"])), "openslide properties"
    except (KeyError, ValueError):
        report.fail(slide_name, "no openslide.mpp-x/mpp-y and no --mpp given: "
                    "Pixel Spacing values cannot be checked")
        return None, "unknown"


def stored_levels(path, slide):
    """(width, height) of the levels the source stores, largest first: for a TIFF its
    pyramid directories read from the bytes (NDPI: 4 stored levels where OpenSlide adds 3
    made by libjpeg's scaled decode), otherwise OpenSlide's levels."""
    try:
        levels = check_passthrough.source_levels(str(path))
    except Exception:       # a damaged TIFF: OpenSlide's view is what is left
        levels = []
    return [(lv.width, lv.height) for lv in levels] or [tuple(d) for d in slide.level_dimensions]


def downsample(level0, dims):
    return (level0[0] / dims[0] + level0[1] / dims[1]) / 2


def level_tpm(headers, path):
    ds = headers[path.name][0]
    return (int(ds.get("TotalPixelMatrixColumns", 0)), int(ds.get("TotalPixelMatrixRows", 0)))


def expected_level_dims(slide, args, count):
    """What the source alone says of levels 0..count-1 (None where it says nothing): level
    0 is the source's level 0; with --levels source level k is the source's level k."""
    if args.levels == "source":
        return [args.source_dims[k] if k < len(args.source_dims) else None
                for k in range(count)]
    return [tuple(slide.dimensions)] + [None] * (count - 1)


def check_level_steps(levels, headers, slide, args, report):
    """Each level after 0 of a halving pyramid is what the files and the source allow: the
    ceil half of the level above (generated), or a level the source stores, at its own size
    and within 2 % of twice the downsample of the level above (copied). The report's mode,
    when given, says which of the two it must be."""
    level0 = tuple(slide.dimensions)
    for k in sorted(levels):
        if k == 0 or k - 1 not in levels:
            continue
        above, size = level_tpm(headers, levels[k - 1]), level_tpm(headers, levels[k])
        half = ((above[0] + 1) // 2, (above[1] + 1) // 2)
        stored = (size in args.source_dims and
                  abs(downsample(level0, size) / (2 * downsample(level0, above)) - 1)
                  <= LEVEL_STEP_TOL)
        mode = file_mode(args, levels[k].name) if args.report_files is not None else None
        if mode == "copy" and not stored:
            report.fail(levels[k].name, "copied level of %dx%d: the source stores no level of "
                        "that size at twice the downsample of level-%d (%dx%d)"
                        % (size + (k - 1,) + above))
        elif mode == "encode" and size != half:
            report.fail(levels[k].name, "encoded level of %dx%d, expected the ceil half %dx%d "
                        "of level-%d" % (size + half + (k - 1,)))
        elif size != half and not stored:
            report.fail(levels[k].name, "%dx%d is neither the ceil half %dx%d of level-%d nor a "
                        "source level at twice its downsample" % (size + half + (k - 1,)))


def check_pyramid_extent(levels, headers, slide, args, report):
    """Levels 0..N present without gaps, and N is where the files say: the last level is
    the first that fits in one tile (or the N-th with --levels N); with --levels source,
    one level per level the source stores."""
    found = sorted(levels)
    if not found:
        report.fail("level-0.dcm", "missing: no level-N.dcm files at all")
        return
    for k in range(found[-1] + 1):
        if k not in levels:
            report.fail("level-%d.dcm" % k, "missing (found levels %s)"
                        % ",".join(map(str, found)))
    if args.levels == "source":
        if found[-1] + 1 != len(args.source_dims):
            report.fail("level-%d.dcm" % found[-1], "%d levels written, the source has %d "
                        "(--levels source)" % (found[-1] + 1, len(args.source_dims)))
        return
    for k in found:
        ds = headers[levels[k].name][0]
        tile = (int(ds.get("Columns", 0)), int(ds.get("Rows", 0)))
        cols, rows = level_tpm(headers, levels[k])
        fits = cols <= tile[0] and rows <= tile[1]
        if fits and k != found[-1]:
            report.fail(levels[k].name, "%dx%d already fits in one %dx%d tile, so the pyramid "
                        "must end here, but level-%d.dcm exists"
                        % (cols, rows, tile[0], tile[1], k + 1))
            break
        if not fits and k == found[-1] and k + 1 == args.max_levels:
            report.info("pyramid ends at level %d as --levels %d asked" % (k, args.max_levels))
        elif not fits and k == found[-1]:
            report.fail(levels[k].name, "last level is %dx%d, which does not fit in one %dx%d "
                        "tile: level-%d.dcm is missing" % ((cols, rows) + tile + (k + 1,)))
    if args.max_levels and found[-1] + 1 > args.max_levels:
        report.fail("level-%d.dcm" % found[-1], "%d levels written, --levels %d asked"
                    % (found[-1] + 1, args.max_levels))


def check_expectations(associated, slide, args, report):
    """Which associated files must / must not exist."""
    wanted = {
        "label.dcm": (args.expect_label, "label"),
        "overview.dcm": (args.expect_overview, "macro"),
        "thumbnail.dcm": (args.expect_thumbnail, None),
    }
    for name, (flag, source_name) in wanted.items():
        present = name in associated
        in_source = source_name is None or source_name in slide.associated_images
        if flag == "auto":
            must = in_source if source_name is not None else None
        else:
            must = flag == "yes"
        if flag == "yes" and not in_source:
            report.fail(name, "--expect-%s yes but the source has no '%s' associated image"
                        % (name[:-4], source_name))
        if must is True and not present:
            why = "source has a '%s' image" % source_name if source_name else "thumbnail expected"
            report.fail(name, "missing (%s)" % why)
        elif must is False and present:
            why = ("source has no '%s' image" % source_name if flag == "auto"
                   else "--expect-%s no" % name[:-4])
            report.fail(name, "present but should not be (%s)" % why)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Check a slide2dcm output directory against its source slide.")
    parser.add_argument("--source", required=True, help="slide given to slide2dcm")
    parser.add_argument("--outdir", required=True, help="directory slide2dcm wrote")
    parser.add_argument("--mpp", type=float,
                        help="the --mpp value given to the converter (micrometres/pixel)")
    parser.add_argument("--psnr-min", type=float, default=32.0,
                        help="minimum PSNR (dB) of each level (default 32)")
    parser.add_argument("--quality", type=int, default=90,
                        help="JPEG quality the converter was given (default 90)")
    parser.add_argument("--subsampling", choices=("420", "444"), default="420",
                        help="chroma subsampling the converter was given (default 420)")
    parser.add_argument("--levels", choices=("generated", "source"), default="generated",
                        help="'source' when converted with --keep-source-levels")
    parser.add_argument("--max-levels", type=int, default=0,
                        help="the converter's --levels N: exactly N levels must be written")
    parser.add_argument("--expect-label", choices=("yes", "no", "auto"), default="auto")
    parser.add_argument("--expect-overview", choices=("yes", "no", "auto"), default="auto")
    parser.add_argument("--expect-thumbnail", choices=("yes", "no", "auto"), default="yes",
                        help="'auto' checks thumbnail.dcm only if present")
    parser.add_argument("--reencode", action="store_true",
                        help="converted with --reencode: every level after 0 generated")
    parser.add_argument("--report", help="the converter's --json-report file: its per-file "
                        "mode says which files were encoded (JPEG settings checked) and which "
                        "copied from the source")
    parser.add_argument("--verify-tool", default=None,
                        help="path of verify-wsm-frames (default: $S2D_TOOLS, "
                        "../shared/tools)")
    args = parser.parse_args(argv)
    args.report_files = None
    if args.report:
        with open(args.report) as f:
            args.report_files = {entry["name"]: entry for entry in json.load(f)["files"]}
    return args


def run(args):
    """All checks; returns the list of failure lines."""
    report = checks.Checks(show="none")     # the findings are listed under the verdict
    source = Path(args.source)
    outdir = Path(args.outdir)
    try:
        slide = openslide.OpenSlide(str(source))
    except Exception as exc:
        print("check_conversion: cannot open source %s: %s" % (source, exc), file=sys.stderr)
        sys.exit(2)
    background = wsmcheck.background_rgb(slide)
    mpp, mpp_origin = slide_mpp(slide, args, report, source.name)
    level0_dims = slide.dimensions

    report.info("source %s: %dx%d, %d OpenSlide level(s), mpp %s (%s), background %s, "
                "associated %s" % (source.name, level0_dims[0], level0_dims[1], slide.level_count,
                                   mpp, mpp_origin, background,
                                   sorted(slide.associated_images) or "none"))
    report.info("outdir %s" % outdir)
    if not outdir.is_dir():
        report.fail(outdir.name or str(outdir), "output directory does not exist")
        return report.failures

    levels, associated, all_dcm = scan_outdir(outdir, report)
    report.info("files: %s" % " ".join(p.name for p in sorted(all_dcm, key=lambda p: file_order(p.name))))

    # 1. validators
    report.info("validators:")
    verify_tool = args.verify_tool or tools.verify_wsm_frames()
    for path in sorted(all_dcm, key=lambda p: file_order(p.name)):
        status, notes = validate_file(path, verify_tool, report)
        report.info("  %s: %s" % (path.name, status))
        for note in notes:
            report.info("      " + note)

    # 2. structure
    headers = {}
    for path in list(levels.values()) + list(associated.values()):
        try:
            ds = pydicom.dcmread(str(path), stop_before_pixels=True)
        except Exception as exc:
            report.fail(path.name, "pydicom cannot read it: %s" % exc)
            continue
        role = "VOLUME" if LEVEL_FILE.match(path.name) else ASSOCIATED[path.name][0]
        headers[path.name] = (ds, role)
        report.guard(path.name, "structure check", check_common, path.name, ds, role, report)
        report.guard(path.name, "optical path check", check_optical_path, path.name, ds, slide,
                     report)
    levels = {k: p for k, p in levels.items() if p.name in headers}
    associated = {n: p for n, p in associated.items() if n in headers}

    args.source_dims = stored_levels(source, slide)
    report.guard("level-0.dcm", "pyramid extent check", check_pyramid_extent,
                 levels, headers, slide, args, report)
    if args.levels == "generated":
        report.guard("level-0.dcm", "level step check", check_level_steps,
                     levels, headers, slide, args, report)
    if levels:
        count = max(levels) + 1
        dims = expected_level_dims(slide, args, count)
        if args.levels == "generated" and 0 in levels:
            ds0 = headers[levels[0].name][0]
            tile = (int(ds0.get("Columns", 0) or 1), int(ds0.get("Rows", 0) or 1))
            report.info("pyramid: generated, %d level(s) written, %dx%d tiles"
                        % ((count,) + tile))
        else:
            report.info("pyramid: %s, %d level(s) written, the source has %d"
                        % (args.levels, count, len(args.source_dims)))
        for k in sorted(levels):
            ds = headers[levels[k].name][0]
            spacing = report.guard(levels[k].name, "level structure check", check_level_structure,
                                   levels[k].name, ds, k, dims[k], level0_dims, mpp, report)
            report.info("  %s TPM %sx%s (expected %s) tile %sx%s frames %s spacing %s"
                        % (levels[k].name, ds.get("TotalPixelMatrixColumns"),
                           ds.get("TotalPixelMatrixRows"),
                           "%dx%d" % dims[k] if dims[k] else "none",
                           ds.get("Columns"), ds.get("Rows"), ds.get("NumberOfFrames"),
                           spacing))
    check_expectations(associated, slide, args, report)
    report.guard("level-0.dcm", "UID check", check_uids, headers, report)
    report.guard("level-0.dcm", "geometry check", check_geometry, headers, report)

    # 3. pixels of the pyramid
    report.info("pixels (PSNR minimum %.1f dB):" % args.psnr_min)
    check_level_pixels(levels, args, slide, background, report)

    # 4. associated images
    for name in sorted(associated):
        report.guard(name, "pixel check", check_associated, name, associated[name], slide,
                     args, background, level0_dims, mpp, report)
    return report.failures


def show_warning(message, category, filename, lineno, file=None, line=None):
    """Library warnings (pydicom about odd values, ...) are information for
    the summary, not failures; keep them on stdout with the rest."""
    print("      %s: %s" % (category.__name__, message), flush=True)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if checks.output_checked_in_release():
        return 0
    warnings.showwarning = show_warning
    return checks.verdict(run(args))


if __name__ == "__main__":
    sys.exit(main())
