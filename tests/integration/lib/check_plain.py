# SPDX-License-Identifier: Apache-2.0
"""Checks of one plain-TIFF output instance (issue 16) against plain_oracle's expectation.

Each instance is decoded by three readers and every frame compared with the expected stored
values (exactly on lossless paths; by PSNR, after YCbCr to RGB, on lossy ones):
- pydicom: `pixel_array` (its own native unpacking; GDCM or Pillow for compressed data);
- dcmtk: the file made Explicit VR Little Endian by dcmtk (`dcmconv +te` for native and
  deflated files, `dcmdjpeg`, `dcmdjpls`, `dcmdrle` for compressed ones), then the Pixel
  Data bytes taken as they are and unpacked here. Not dcm2pnm/dcmj2pnm: they apply the
  Modality LUT, MONOCHROME1 inversion and a scaling to the output depth, so they give no
  stored values to compare exactly. Debian's dcmtk has no JPEG 2000 decoder: such files are
  skipped for dcmtk, with a line saying so;
- GDCM: `gdcmconv --raw` then `gdcmraw -t 7fe0,0010` (the Pixel Data bytes GDCM decoded).
Only the attributes that say how to read the bytes (Rows, Columns, Bits Allocated, ...) are
taken with pydicom from each tool's own output file.

Then dciodvfy: no "Error" line (its warnings are printed). Attributes checked against the
expectation: SOP Class, Photometric Interpretation, Bits Allocated/Stored, High Bit, Pixel
Representation, Rescale Slope/Intercept, Number of Frames, Window Center/Width and their
explanations; by check_outputs also those of the kind (check_kind_attributes: Modality,
Conversion Type, Burned In Annotation, Lossy Image Compression, pixel spacings). Bilevel
instances are also rendered by dcmj2pnm (paper white, ink black); JPEG copies are compared
byte for byte with the source's spliced strip.

    checks = Checks()
    check_outputs(tif, outdir, checks, workdir)          # a whole conversion, or
    for path, instance in zip(outputs, plain_oracle.expected_instances(tif, kind)):
        check_instance(path, instance, checks, workdir)  # one instance at a time"""
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pydicom.config
import pydicom.encaps
from PIL import Image

import plain_oracle
from plain_oracle import psnr

JPEG_SYNTAXES = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57",
                 "1.2.840.10008.1.2.4.70"}
JPEG_LS_SYNTAXES = {"1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"}
J2K_SYNTAXES = {"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"}
RLE_SYNTAX = "1.2.840.10008.1.2.5"
DEFLATED_SYNTAX = "1.2.840.10008.1.2.1.99"
LOSSY_PSNR_MIN = 30.0  # dB, decoded lossy frames against the oracle's decode of the source


class Decoded:
    """Frames as one reader decoded them: `frames` (frames x rows x columns [x samples]) and
    the Photometric Interpretation of the file they were read from."""

    def __init__(self, frames, photometric):
        self.frames = frames
        self.photometric = photometric


def run(command):
    """Runs a tool; returns (exit status, stdout + stderr)."""
    done = subprocess.run(command, capture_output=True, text=True, errors="replace")
    return done.returncode, done.stdout + done.stderr


def unpack_native(raw, ds):
    """Native Pixel Data bytes as frames, read the way PS3.5 lays them out: 1-bit pixels
    LSB first and continuous across frames, samples by Planar Configuration."""
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    rows, cols, spp = ds.Rows, ds.Columns, ds.SamplesPerPixel
    allocated = ds.BitsAllocated
    count = frames * rows * cols * spp
    if allocated == 1:
        bits = np.unpackbits(np.frombuffer(raw, np.uint8), bitorder="little")[:count]
        return bits.reshape(frames, rows, cols)
    dtype = {8: "u1", 16: "u2", 32: "u4"}[allocated]
    if ds.PixelRepresentation == 1:
        dtype = dtype.replace("u", "i")
    values = np.frombuffer(raw, "<" + dtype, count)
    if spp == 1:
        return values.reshape(frames, rows, cols)
    if int(getattr(ds, "PlanarConfiguration", 0)) == 1:
        return np.moveaxis(values.reshape(frames, spp, rows, cols), 1, -1)
    return values.reshape(frames, rows, cols, spp)


def decode_pydicom(path):
    """pydicom's decode, or a string saying why pydicom cannot decode this transfer syntax
    here (Debian has neither CharPyLS nor pylibjpeg, so no JPEG-LS decoder)."""
    ds = pydicom.dcmread(str(path))
    syntax = ds.file_meta.TransferSyntaxUID
    if not any(handler.is_available() and handler.supports_transfer_syntax(syntax)
               for handler in pydicom.config.pixel_data_handlers):
        return "pydicom has no decoder for %s here" % syntax.name
    frames = ds.pixel_array
    if int(getattr(ds, "NumberOfFrames", 1) or 1) == 1:
        frames = frames[None]
    return Decoded(frames, ds.PhotometricInterpretation)


def decode_dcmtk(path, workdir):
    """dcmtk's decode, or a string saying why dcmtk cannot decode this transfer syntax."""
    syntax = pydicom.dcmread(str(path), stop_before_pixels=True).file_meta.TransferSyntaxUID
    out = Path(workdir) / (Path(path).stem + ".dcmtk.dcm")
    if syntax in JPEG_SYNTAXES:
        command = ["dcmdjpeg", str(path), str(out)]
    elif syntax in JPEG_LS_SYNTAXES:
        command = ["dcmdjpls", str(path), str(out)]
    elif syntax == RLE_SYNTAX:
        command = ["dcmdrle", str(path), str(out)]
    elif syntax in J2K_SYNTAXES:
        return "Debian's dcmtk has no JPEG 2000 decoder"
    else:
        command = ["dcmconv", "+te", str(path), str(out)]
    status, text = run(command)
    if status != 0:
        raise RuntimeError("%s failed: %s" % (command[0], text.strip().splitlines()[-1:]))
    ds = pydicom.dcmread(str(out))
    return Decoded(unpack_native(ds.PixelData, ds), ds.PhotometricInterpretation)


def decode_gdcm(path, workdir):
    raw_file = Path(workdir) / (Path(path).stem + ".gdcm.dcm")
    pixels = Path(workdir) / (Path(path).stem + ".gdcm.raw")
    for command in (["gdcmconv", "--raw", str(path), str(raw_file)],
                    ["gdcmraw", "-i", str(raw_file), "-t", "7fe0,0010", "-o", str(pixels)]):
        status, text = run(command)
        if status != 0:
            raise RuntimeError("%s failed: %s" % (command[0], text.strip().splitlines()[-1:]))
    ds = pydicom.dcmread(str(raw_file), stop_before_pixels=True)
    return Decoded(unpack_native(pixels.read_bytes(), ds), ds.PhotometricInterpretation)


def ybr_full_to_rgb(frames):
    """YBR_FULL samples to RGB (the JFIF equations, rounded and clipped)."""
    y, cb, cr = (frames[..., i].astype(np.float64) for i in range(3))
    rgb = np.stack([y + 1.402 * (cr - 128), y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128),
                    y + 1.772 * (cb - 128)], -1)
    return np.clip(np.floor(rgb + 0.5), 0, 255).astype(np.uint8)


def compare_frames(name, reader, decoded, instance, checks):
    """Every decoded frame against the instance's expected frames."""
    expected = instance["frames"]
    frames = decoded.frames
    if not checks.expect(len(frames) == len(expected), name, "%s decodes %d frame(s), expected %d"
                         % (reader, len(frames), len(expected))):
        return
    lossy = instance["lossy"]
    if lossy and decoded.photometric.startswith("YBR"):
        frames = ybr_full_to_rgb(frames)
    for index, (actual, wanted) in enumerate(zip(frames, expected)):
        where = "%s frame %d (%s)" % (name, index + 1, reader)
        if actual.shape != wanted.shape:
            checks.fail(where, "shape %s, expected %s" % (actual.shape, wanted.shape))
            continue
        if lossy:
            quality = psnr(actual, wanted)
            checks.expect(quality >= LOSSY_PSNR_MIN, where,
                          "PSNR %.1f dB against the source's decode (minimum %.0f)"
                          % (quality, LOSSY_PSNR_MIN))
            continue
        diff = np.abs(actual.astype(np.int64) - wanted.astype(np.int64))
        worst = int(diff.max()) if diff.size else 0
        if worst > instance["tolerance"]:
            at = np.unravel_index(int(diff.argmax()), diff.shape)
            checks.fail(where, "%d value(s) differ by more than %d, the first at %s: %s, "
                        "expected %s" % (int((diff > instance["tolerance"]).sum()),
                                         instance["tolerance"], tuple(int(i) for i in at),
                                         actual[at], wanted[at]))
        else:
            checks.ok(where, "equal to the expected values" +
                      (" within %d" % instance["tolerance"] if instance["tolerance"] else ""))


def dciodvfy(path):
    """(errors, warnings): dciodvfy's "Error" and "Warning" lines for the file."""
    status, text = run(["dciodvfy", str(path)])
    lines = text.splitlines()
    errors = [line for line in lines if line.startswith("Error")]
    warnings = [line for line in lines if line.startswith("Warning")]
    if status != 0 and not errors:
        errors.append("dciodvfy exits %d: %s" % (status, lines[-1:] if lines else ""))
    return errors, warnings


def values_of(ds, keyword):
    """A multi-valued numeric attribute as a list of floats ([] when absent)."""
    value = ds.get(keyword)
    if value is None:
        return []
    if isinstance(value, (list, tuple, pydicom.multival.MultiValue)):
        return [float(v) for v in value]
    return [float(value)]


def close(a, b):
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


def check_attributes(name, ds, instance, checks):
    """The attributes the expectation fixes."""
    checks.expect(ds.SOPClassUID == instance["sop_class"], name,
                  "SOP Class %s (expected %s)" % (ds.SOPClassUID, instance["sop_class"]))
    # J2K lossless may code RGB with its reversible colour transform; decoders undo it.
    rct = instance["photometric"] == "RGB" and ds.PhotometricInterpretation == "YBR_RCT" and \
        ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.90"
    checks.expect(ds.PhotometricInterpretation == instance["photometric"] or instance["lossy"]
                  or rct, name, "Photometric Interpretation %s (expected %s)"
                  % (ds.PhotometricInterpretation, instance["photometric"]))
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    checks.expect(frames == len(instance["frames"]), name,
                  "Number of Frames %d (expected %d)" % (frames, len(instance["frames"])))
    checks.expect(ds.BitsAllocated == instance["bits_allocated"], name,
                  "Bits Allocated %d (expected %d)" % (ds.BitsAllocated,
                                                       instance["bits_allocated"]))
    checks.expect(ds.BitsStored == instance["bits_stored"] and
                  ds.HighBit == instance["bits_stored"] - 1, name,
                  "Bits Stored %d, High Bit %d (expected %d, %d)"
                  % (ds.BitsStored, ds.HighBit, instance["bits_stored"],
                     instance["bits_stored"] - 1))
    checks.expect(ds.PixelRepresentation == 0, name, "Pixel Representation %d (expected 0)"
                  % ds.PixelRepresentation)
    slope = values_of(ds, "RescaleSlope") or [1.0]
    intercept = values_of(ds, "RescaleIntercept") or [0.0]
    checks.expect(close(slope[0], instance["slope"]) and
                  close(intercept[0], instance["intercept"]), name,
                  "Rescale Slope %r, Intercept %r (expected %r, %r)"
                  % (slope[0], intercept[0], instance["slope"], instance["intercept"]))
    centers, widths = values_of(ds, "WindowCenter"), values_of(ds, "WindowWidth")
    explanations = ds.get("WindowCenterWidthExplanation")
    if isinstance(explanations, str):
        explanations = [explanations]
    wanted = instance["windows"]
    got = list(zip(centers, widths))
    same = len(got) == len(wanted) and all(
        close(c, w[0]) and close(ww, w[1]) for (c, ww), w in zip(got, wanted))
    same_text = all(w[2] is None or (explanations and i < len(explanations) and
                                     explanations[i] == w[2]) for i, w in enumerate(wanted))
    checks.expect(same and same_text, name, "windows %s %s (expected %s)"
                  % (got, list(explanations or []), wanted))


def check_jpeg_copy(name, ds, streams, checks):
    """The frames of a JPEG copy: JPEG Baseline, Lossy Image Compression 01, and each frame
    byte for byte the stream plain_oracle.jpeg_page_streams gives for its page (None for
    a page it cannot say: skipped)."""
    syntax = ds.file_meta.TransferSyntaxUID
    checks.expect(syntax == "1.2.840.10008.1.2.4.50", name,
                  "transfer syntax %s (expected JPEG Baseline)" % syntax)
    checks.expect(ds.get("LossyImageCompression") == "01", name,
                  "Lossy Image Compression %r (expected 01)" % ds.get("LossyImageCompression"))
    if not syntax.is_encapsulated:
        return
    count = int(getattr(ds, "NumberOfFrames", 1) or 1)
    frames = list(pydicom.encaps.generate_pixel_data_frame(ds.PixelData, count))
    for index, (frame, stream) in enumerate(zip(frames, streams)):
        if stream is None:
            continue
        if len(frame) == len(stream) + 1 and frame.endswith(b"\0"):
            frame = frame[:-1]  # a fragment has even length
        checks.expect(frame == stream, "%s frame %d" % (name, index + 1),
                      "the source's JPEG stream byte for byte (%d bytes, expected %d)"
                      % (len(frame), len(stream)))


def check_paper_white(name, path, instance, checks, workdir):
    """A bilevel instance as dcmtk renders it for display (dcmj2pnm, frame 1): light where the
    stored bit is 1, black where it is 0, so that paper shows white and ink black."""
    if instance["bits_allocated"] != 1:
        return
    out = Path(workdir) / (Path(path).stem + ".render.pgm")
    status, text = run(["dcmj2pnm", "--frame", "1", str(path), str(out)])
    if not checks.expect(status == 0, name, "dcmj2pnm renders frame 1%s"
                         % ("" if status == 0 else ": " + text.strip()[-200:])):
        return
    with Image.open(out) as image:
        rendered = np.asarray(image)
    bits = instance["frames"][0].astype(np.uint8)
    # dcmtk 3.6.7 renders a bilevel frame without a window as 0 and 128, not 255: what
    # matters is that every 1 is the same light grey and every 0 black.
    paper = int(rendered.max()) if bits.any() else 1
    checks.expect(rendered.shape == bits.shape and paper > 0 and
                  np.array_equal(rendered, bits * paper), name,
                  "dcmj2pnm shows 1 as paper (light) and 0 as ink (black)")


def check_instance(path, instance, checks, workdir, readers=("pydicom", "dcmtk", "gdcm"),
                   jpeg_streams=None):
    """All of the above for one output file against one expected instance (from
    plain_oracle.expected_instances); findings go to `checks` (checks.Checks).
    jpeg_streams: for an instance that copies JPEG pages, the expected stream per frame
    (plain_oracle.jpeg_page_streams().get(page) for each of the instance's pages)."""
    name = Path(path).name
    Path(workdir).mkdir(parents=True, exist_ok=True)
    checked = path
    if pydicom.dcmread(str(path), stop_before_pixels=True).file_meta.TransferSyntaxUID == \
            DEFLATED_SYNTAX:
        # dciodvfy (2022) cannot inflate: it checks dcmtk's Explicit VR Little Endian copy.
        checked = Path(workdir) / (Path(path).stem + "-inflated.dcm")
        status, text = run(["dcmconv", "+te", str(path), str(checked)])
        checks.expect(status == 0, name, "dcmconv +te reads the deflated file: " + text[-200:])
    errors, warnings = dciodvfy(checked)
    for line in warnings:
        checks.info("%s: dciodvfy: %s" % (name, line))
    checks.expect(not errors, name, "dciodvfy: %d error(s)%s"
                  % (len(errors), "".join("\n    " + e for e in errors)))
    ds = pydicom.dcmread(str(path), stop_before_pixels=True)
    checks.guard(name, "attribute checks", check_attributes, name, ds, instance, checks)
    decoders = {"pydicom": lambda: decode_pydicom(path),
                "dcmtk": lambda: decode_dcmtk(path, workdir),
                "gdcm": lambda: decode_gdcm(path, workdir)}
    if jpeg_streams is not None:
        ds_full = pydicom.dcmread(str(path))
        checks.guard(name, "JPEG copy checks", check_jpeg_copy, name, ds_full, jpeg_streams,
                     checks)
    checks.guard(name, "rendering", check_paper_white, name, path, instance, checks, workdir)
    for reader in readers:
        decoded = checks.guard(name, reader + " decode", decoders[reader])
        if isinstance(decoded, str):
            checks.info("%s: %s skipped: %s" % (name, reader, decoded))
        elif decoded is not None:
            compare_frames(name, reader, decoded, instance, checks)


MULTI_FRAME_SC = {plain_oracle.SOP_BIT, plain_oracle.SOP_BYTE, plain_oracle.SOP_WORD,
                  plain_oracle.SOP_COLOUR}
PHOTO_CLASSES = {plain_oracle.SOP_PHOTO, plain_oracle.SOP_ENDOSCOPIC}
CONVERSION_TYPE = {"radiology": "DI", "document": "SD"}


def check_kind_attributes(name, ds, instance, checks, pixel_spacing=None):
    """What docs/plain-tiff.md's instance table fixes beyond the pixels: Modality (the kind's
    default or --modality), Conversion Type (DI radiology, SD documents; none in the VL
    IODs, which have no SC Equipment), Burned In Annotation (NO for photographs, else YES),
    Lossy Image Compression 01 and its method ISO_10918_1 when the source was JPEG, Nominal Scanned Pixel Spacing
    25.4 / dpi (row, column) for documents whose file records a resolution and never for
    the other kinds, Pixel Spacing only as given by --pixel-spacing (row, column in mm)."""
    kind = instance["kind"]
    photo = instance["sop_class"] in PHOTO_CLASSES
    checks.expect(ds.get("Modality") == instance["modality"], name, "Modality %r (expected %r)"
                  % (ds.get("Modality"), instance["modality"]))
    conversion = None if photo else CONVERSION_TYPE.get(kind)
    checks.expect(ds.get("ConversionType") == conversion, name,
                  "Conversion Type %r (expected %r)" % (ds.get("ConversionType"), conversion))
    burned = "NO" if photo else "YES"
    checks.expect(ds.get("BurnedInAnnotation") == burned, name,
                  "Burned In Annotation %r (expected %r)" % (ds.get("BurnedInAnnotation"), burned))
    lossy, method = ds.get("LossyImageCompression"), ds.get("LossyImageCompressionMethod")
    checks.expect(lossy == "01" and method == "ISO_10918_1" if instance["lossy"] else
                  lossy in (None, "00"), name,
                  "Lossy Image Compression %r, method %r (the source was %s)"
                  % (lossy, method, "lossy JPEG" if instance["lossy"] else "lossless"))
    nominal = values_of(ds, "NominalScannedPixelSpacing")
    dpi = instance["dpi"]
    wanted = [25.4 / dpi[1], 25.4 / dpi[0]] if kind == "document" and dpi else []
    checks.expect(len(nominal) == len(wanted) and
                  all(abs(a - b) <= 5e-6 * b for a, b in zip(nominal, wanted)), name,
                  "Nominal Scanned Pixel Spacing %s (expected %s)" % (nominal, wanted))
    spacing = values_of(ds, "PixelSpacing")
    wanted = list(pixel_spacing) if pixel_spacing else []
    checks.expect(len(spacing) == len(wanted) and all(close(a, b) for a, b in
                                                      zip(spacing, wanted)), name,
                  "Pixel Spacing %s (expected %s)" % (spacing, wanted))


def check_outputs(tif, outdir, checks, workdir, kind=None, readers=("pydicom", "dcmtk", "gdcm"),
                  options=None, instances=None, pixel_spacing=None):
    """A whole conversion of one plain TIFF: OUTDIR holds image-001.dcm ... one per expected
    instance (plain_oracle.expected_instances(tif, kind, **options), or `instances` as
    given), in page order, all in one series with Instance Number 1..n; a multi-frame SC
    instance of several frames points its Frame Increment Pointer at a Page Number Vector
    equal to its TIFF pages (with one frame dciodvfy rejects the pointer, so it is only
    compared when present); then check_kind_attributes and check_instance on each, with
    the expected JPEG streams when the instance is JPEG Baseline."""
    if instances is None:
        instances = plain_oracle.expected_instances(tif, kind, **(options or {}))
    files = sorted(Path(outdir).glob("image-*.dcm"))
    names = ["image-%03d.dcm" % n for n in range(1, len(instances) + 1)]
    checks.expect([f.name for f in files] == names, Path(tif).name,
                  "outputs %s (expected %s)" % ([f.name for f in files], names))
    streams = plain_oracle.jpeg_page_streams(tif)
    series = set()
    for number, (path, instance) in enumerate(zip(files, instances), 1):
        ds = pydicom.dcmread(str(path), stop_before_pixels=True)
        series.add(ds.get("SeriesInstanceUID"))
        checks.expect(int(ds.get("InstanceNumber", 0)) == number, path.name,
                      "Instance Number %s (expected %d)" % (ds.get("InstanceNumber"), number))
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        pointer = ds.get("FrameIncrementPointer")
        if instance["sop_class"] in MULTI_FRAME_SC and (frames > 1 or pointer is not None):
            pages = [int(v) for v in (ds.get("PageNumberVector") or [])]
            checks.expect(pointer == pydicom.tag.Tag("PageNumberVector") and
                          pages == instance["pages"], path.name,
                          "Frame Increment Pointer %s, Page Number Vector %s (expected "
                          "(0018,2001), %s)" % (pointer, pages, instance["pages"]))
        checks.guard(path.name, "kind attribute checks", check_kind_attributes, path.name, ds,
                     instance, checks, pixel_spacing)
        jpeg = None
        if ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.50":
            jpeg = [streams.get(page) for page in instance["pages"]]
        check_instance(path, instance, checks, Path(workdir) / path.stem, readers, jpeg)
    checks.expect(len(series) == 1, Path(tif).name,
                  "all instances in one series (%d Series Instance UIDs)" % len(series))
