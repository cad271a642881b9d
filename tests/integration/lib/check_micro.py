#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Checks a microscopy conversion (issue 17, docs/microscopy.md) against its source.

usage: check_micro.py SOURCE OUTDIR [--z stack|series] [--t N] [--mpp MICRONS]

The source is read here on its own, with tifffile (its OME, ImageJ, QPTIFF or generic
series and axes, the OME-XML parsed with ElementTree, QPTIFF's XML by its tags), never with
the converter's code. The output is read with pydicom; frames are decoded by Pillow
(OpenJPEG) for JPEG 2000, by dcmtk's dcmdjpls for JPEG-LS (Debian has no pydicom JPEG-LS
handler), by pydicom for native frames. Then:
- names: c<C>-level-<L>.dcm, t<T>-... when the source has several time points and --t is not
  given, z<Z>-... with --z series; label/overview/thumbnail.dcm for QPTIFF's RGB pages;
  nothing else but a JSON report;
- every instance: dciodvfy no Error line; verify-wsm-frames no finding but the one it makes
  on any grey JPEG 2000 frame ("PI MONOCHROME2 but J2K mct=0": it knows RGB only); it
  crashes on JPEG-LS (Pillow cannot open the frames) and native files (it walks
  encapsulated items only): for those its checks are made here (fragments, offset table,
  SOI/SOF55/EOI and frame size; Part 10 header and Pixel Data length);
- VL WSM, TILED_FULL, MONOCHROME2, 1 sample, BA = BS 8 or 16, HB BS-1, Pixel Representation
  0, Presentation LUT Shape IDENTITY, Number of Optical Paths 1, Total Pixel Matrix Focal
  Planes nz (1 with --z series), frames = tiles x focal planes;
- Optical Path: identifier = channel number, description = name or "Channel C",
  epifluorescence illumination (111743, DCM), excitation as Illumination Wave Length and
  emission as Image Path Filter Pass-Through Wavelength when the source has them (absent
  otherwise), Objective Lens Power when known, a 256-entry palette LUT from black to the
  channel colour (the source's, else docs/microscopy.md's defaults);
- Pixel Spacing from the source's pixel size (level L: 2^L times it within 1 %), Spacing
  Between Slices from its z spacing when there are several focal planes;
- level 0 of every (t, c, z), reassembled from the frames (tiles row-major, then focal
  planes), equals the source plane after docs/microscopy.md's mapping: unsigned as it is, int8 + 128,
  int16 + 32768 (Real World Value Mapping intercept -128 / -32768, slope 1); float and
  32-bit: |RWV(stored) - v| <= slope / 2 with the Shared Functional Groups' mapping, its
  intercept the channel's minimum and its slope (max - min) / 65535, NaN stored 0; padding 0;
  every lower level equals the 2x2 rule applied to the level above, exactly;
- one series per time point (and per plane with --z series) holding all its channels; one
  Study, Frame of Reference and Container over all.
Exit 0 when all hold."""
import argparse
import io
import math
import re
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pydicom
import tifffile
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tools  # noqa: E402
from checks import Checks  # noqa: E402

WSM = "1.2.840.10008.5.1.4.1.1.77.1.6"
NATIVE = ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2")
J2K = ("1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91")
JPEG_LS = ("1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81")
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
DEFAULT_COLOURS = [(0, 0, 255), (0, 255, 0), (255, 0, 0), (255, 0, 255), (0, 255, 255),
                   (255, 255, 0), (255, 255, 255)]
# verify-wsm-frames' one finding on a correct grey JPEG 2000 frame (it expects RGB/YBR).
GREY_J2K_FINDING = re.compile(r"frame \d+: PI MONOCHROME2 but J2K mct=0 wavelet=1$")
# Its findings that only concern JPEG/J2K frames, meaningless for native or JPEG-LS ones.
FRAME_FINDING = re.compile(r"frame \d+: ")
NAME = re.compile(r"^(?:t(\d+)-)?(?:z(\d+)-)?c(\d+)-level-(\d+)\.dcm$")
ASSOCIATED = {"Thumbnail": "thumbnail.dcm", "Overview": "overview.dcm", "Label": "label.dcm"}
UNIT_UM = {"µm": 1.0, "um": 1.0, "micron": 1.0, "microns": 1.0, "nm": 1e-3, "mm": 1e3,
           "cm": 1e4, "m": 1e6, "\\u00B5m": 1.0}


# ------------------------------------------------------------------ the source, on its own

class Source:
    """What a microscopy TIFF holds: planes[t][c][z] (2-D arrays of the file's type),
    channels [{name, colour, excitation, emission}], mpp (x, y) in um, z_spacing in um (or
    None), objective power (or None), associated {kind: RGB array} (QPTIFF)."""

    def __init__(self):
        self.origin = None
        self.planes = None
        self.channels = []
        self.mpp = None
        self.z_spacing = None
        self.objective = None
        self.significant_bits = None
        self.associated = {}

    @property
    def nt(self):
        return self.planes.shape[0]

    @property
    def nc(self):
        return self.planes.shape[1]

    @property
    def nz(self):
        return self.planes.shape[2]

    @property
    def height(self):
        return self.planes.shape[3]

    @property
    def width(self):
        return self.planes.shape[4]

    @property
    def dtype(self):
        return self.planes.dtype

    def colour(self, c):
        """The channel's colour, else docs/microscopy.md's default (one channel: white)."""
        own = self.channels[c]["colour"]
        if own:
            return tuple(own)
        return (255, 255, 255) if self.nc == 1 else DEFAULT_COLOURS[c % len(DEFAULT_COLOURS)]


def as_tczyx(data, axes):
    """The series' array with axes T, C, Z, Y, X (missing ones of size 1; the generic
    series' page axis I is the channel axis, as docs/microscopy.md reads a plain grey TIFF)."""
    axes = axes.replace("I", "C").replace("Q", "C")
    if "S" in axes:
        raise ValueError("planes of %s samples: not grey" % data.shape[axes.index("S")])
    for axis in "TCZ":
        if axis not in axes:
            data = data[np.newaxis]
            axes = axis + axes
    return np.transpose(data, [axes.index(a) for a in "TCZYX"])


def length_um(value, unit):
    return float(value) * UNIT_UM.get(unit or "µm", 1.0)


def read_ome(tif, source):
    root = ET.fromstring(tif.ome_metadata)
    ns = {"ome": root.tag[1:root.tag.index("}")]} if root.tag.startswith("{") else {}
    q = (lambda tag: "ome:" + tag) if ns else (lambda tag: tag)
    pixels = root.find("%s/%s" % (q("Image"), q("Pixels")), ns)
    if pixels.get("PhysicalSizeX"):
        source.mpp = (length_um(pixels.get("PhysicalSizeX"), pixels.get("PhysicalSizeXUnit")),
                      length_um(pixels.get("PhysicalSizeY", pixels.get("PhysicalSizeX")),
                                pixels.get("PhysicalSizeYUnit")))
    if pixels.get("PhysicalSizeZ"):
        source.z_spacing = length_um(pixels.get("PhysicalSizeZ"),
                                     pixels.get("PhysicalSizeZUnit"))
    if pixels.get("SignificantBits"):
        source.significant_bits = int(pixels.get("SignificantBits"))
    objective = root.find(".//%s" % q("Objective"), ns)
    if objective is not None and objective.get("NominalMagnification"):
        source.objective = float(objective.get("NominalMagnification"))
    for element in pixels.findall(q("Channel"), ns):
        colour = element.get("Color")
        rgba = int(colour) & 0xFFFFFFFF if colour is not None else None
        source.channels.append({
            "name": element.get("Name"),
            "colour": [(rgba >> 24) & 255, (rgba >> 16) & 255, (rgba >> 8) & 255]
            if rgba is not None else None,
            "excitation": float(element.get("ExcitationWavelength"))
            if element.get("ExcitationWavelength") else None,
            "emission": float(element.get("EmissionWavelength"))
            if element.get("EmissionWavelength") else None})


def resolution_um(page):
    """(x, y) pixel size from the TIFF resolution tags, or None."""
    tags = page.tags
    if "XResolution" not in tags or "ResolutionUnit" not in tags:
        return None
    unit = {2: 25400.0, 3: 10000.0}.get(int(tags["ResolutionUnit"].value))
    if unit is None:
        return None
    x, y = tags["XResolution"].value, tags.get("YResolution", tags["XResolution"]).value
    return unit * x[1] / x[0], unit * y[1] / y[0]


def read_imagej(tif, source):
    meta = tif.imagej_metadata or {}
    unit = meta.get("unit", "")
    scale = UNIT_UM.get(unit.replace("\\u00B5", "µ"))
    page = tif.pages[0]
    if scale is not None and "XResolution" in page.tags:
        x, y = page.tags["XResolution"].value, page.tags["YResolution"].value
        source.mpp = (scale * x[1] / x[0], scale * y[1] / y[0])
    if scale is not None and meta.get("spacing"):
        source.z_spacing = scale * float(meta["spacing"])
    luts = meta.get("LUTs") or []
    for c in range(source.nc):
        colour = None
        if c < len(luts):
            lut = np.asarray(luts[c]).astype(np.int64)
            colour = [int(v) for v in lut[:, int(np.argmax(lut.sum(axis=0)))]]
        source.channels.append({"name": None, "colour": colour, "excitation": None,
                                "emission": None})


def qpi_tag(description, tag):
    """The first value of <tag> at the top level of a QPTIFF page's XML (two spaces in)."""
    found = re.search(r"^  <%s>([^<]*)</%s>" % (tag, tag), description, re.M)
    return found.group(1) if found else None


def page_pixels(path, index):
    """One page decoded by Pillow (libtiff): tifffile needs imagecodecs for LZW, which
    Debian 12 does not package."""
    with Image.open(str(path)) as image:
        image.seek(index)
        return np.asarray(image.convert("RGB") if image.mode not in ("L", "I;16") else image)


def read_qptiff(tif, source):
    full = []
    for page in tif.pages:
        description = page.description
        kind = qpi_tag(description, "ImageType")
        if kind == "FullResolution":
            full.append(page)
            colour = qpi_tag(description, "Color")
            source.channels.append({
                "name": qpi_tag(description, "Name"),
                "colour": [int(v) for v in colour.split(",")] if colour else None,
                "excitation": None, "emission": None})
        elif kind in ASSOCIATED:
            source.associated[kind] = page_pixels(tif.filehandle.path, page.index)
    description = full[0].description
    size = re.search(r"<PixelSizeMicrons>([0-9.]+)</PixelSizeMicrons>", description)
    source.mpp = (float(size.group(1)),) * 2 if size else resolution_um(full[0])
    objective = qpi_tag(description, "Objective")
    if objective and re.match(r"^[0-9.]+x$", objective):
        source.objective = float(objective[:-1])
    source.planes = np.stack([page_pixels(tif.filehandle.path, p.index)
                              for p in full])[np.newaxis, :, np.newaxis]


def read_source(path):
    """The Source of a microscopy TIFF, read with tifffile."""
    source = Source()
    with tifffile.TiffFile(str(path)) as tif:
        if tif.is_qpi:
            source.origin = "QPTIFF"
            read_qptiff(tif, source)
            return source
        series = tif.series[0]
        source.planes = as_tczyx(series.asarray(), series.axes)
        if tif.is_ome:
            source.origin = "OME-XML"
            read_ome(tif, source)
        elif tif.is_imagej:
            source.origin = "ImageJ hyperstack"
            read_imagej(tif, source)
        else:
            source.origin = "grey TIFF"
            source.mpp = resolution_um(tif.pages[0])
            source.channels = [{"name": None, "colour": None, "excitation": None,
                                "emission": None} for _ in range(source.nc)]
    return source


# ------------------------------------------------------------------ docs/microscopy.md's rules

class Mapping:
    """How one channel's values are written: stored = round((v - intercept) / slope), with
    exact = True when that is an integer offset (no rounding)."""

    def __init__(self, dtype, values):
        dtype = np.dtype(dtype)
        self.identity = dtype in (np.uint8, np.uint16)
        self.exact = dtype.kind in "ui" and dtype.itemsize <= 2
        self.bits = 8 if dtype.itemsize == 1 else 16
        if self.identity:
            self.intercept, self.slope = 0.0, 1.0
        elif self.exact:
            self.intercept, self.slope = -float(1 << (self.bits - 1)), 1.0
        else:
            finite = values[np.isfinite(values)].astype(np.float64)
            low, high = (float(finite.min()), float(finite.max())) if finite.size else (0, 0)
            slope = (high - low) / 65535 if high > low else 1.0
            if dtype.kind in "ui":
                slope = max(slope, 1.0)
            self.intercept, self.slope = low, slope

    def stored(self, plane):
        """The values the file must hold (exact mappings only)."""
        return (plane.astype(np.int64) - int(self.intercept)).astype(
            np.uint8 if self.bits == 8 else np.uint16)


def halve(image):
    """docs/microscopy.md's 2x2 rule: ceil(w/2) x ceil(h/2), each pixel (sum + n/2) // n over the
    pixels of its block that exist (n = 4, 2 or 1)."""
    h, w = image.shape
    src = image.astype(np.int64)
    total = np.zeros(((h + 1) // 2, (w + 1) // 2), np.int64)
    count = np.zeros_like(total)
    for dy in (0, 1):
        for dx in (0, 1):
            part = src[dy::2, dx::2]
            total[:part.shape[0], :part.shape[1]] += part
            count[:part.shape[0], :part.shape[1]] += 1
    return ((total + count // 2) // count).astype(image.dtype)


def level_sizes(width, height, tile):
    """(width, height) of each level: halved (ceil) until one fits in one tile."""
    sizes = [(width, height)]
    while sizes[-1][0] > tile or sizes[-1][1] > tile:
        w, h = sizes[-1]
        sizes.append(((w + 1) // 2, (h + 1) // 2))
    return sizes


# ------------------------------------------------------------------ the DICOM side

def run(command):
    done = subprocess.run(command, capture_output=True, text=True, errors="replace")
    return done.returncode, done.stdout + done.stderr


def decode_frames(path, ds):
    """All frames of an instance, (frames, rows, columns[, samples]), as stored."""
    syntax = ds.file_meta.TransferSyntaxUID
    count = int(ds.get("NumberOfFrames", 1) or 1)
    rows, cols = int(ds.Rows), int(ds.Columns)
    samples = int(ds.get("SamplesPerPixel", 1))
    shape = (count, rows, cols) + ((samples,) if samples > 1 else ())
    dtype = np.uint8 if int(ds.BitsAllocated) == 8 else np.dtype("<u2")
    if syntax in NATIVE:
        return np.frombuffer(ds.PixelData, dtype)[:math.prod(shape)].reshape(shape)
    if syntax in J2K:
        frames = []
        for frame in pydicom.encaps.generate_pixel_data_frame(ds.PixelData, count):
            image = Image.open(io.BytesIO(frame))
            frames.append(np.asarray(image).astype(dtype))
        return np.stack(frames)
    if syntax in JPEG_LS:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "native.dcm"
            status, text = run(["dcmdjpls", str(path), str(out)])
            if status != 0:
                raise RuntimeError("dcmdjpls: " + text.strip()[-300:])
            native = pydicom.dcmread(str(out))
            return np.frombuffer(native.PixelData, dtype)[:math.prod(shape)].reshape(shape)
    raise ValueError("transfer syntax %s: not lossless" % syntax)


def dciodvfy(path):
    status, text = run(["dciodvfy", str(path)])
    lines = text.splitlines()
    errors = [line for line in lines if line.startswith("Error")]
    warnings = [line for line in lines if line.startswith("Warning")]
    if status != 0 and not errors:
        errors.append("dciodvfy exits %d: %s" % (status, lines[-1:]))
    return errors, warnings


def verify_frames(path, ds):
    """verify-wsm-frames' findings that count for this syntax. It walks encapsulated
    frames only (a native file makes it crash): for native frames, its file-level checks
    are made here instead."""
    syntax = ds.file_meta.TransferSyntaxUID
    if syntax in NATIVE:
        findings = []
        if open(path, "rb").read(132)[128:] != b"DICM":
            findings.append("no 128-byte preamble + DICM")
        if ds.file_meta.MediaStorageSOPInstanceUID != ds.SOPInstanceUID:
            findings.append("MediaStorageSOPInstanceUID != SOPInstanceUID")
        size = int(ds.NumberOfFrames) * int(ds.Rows) * int(ds.Columns) * \
            int(ds.BitsAllocated) // 8
        if len(ds.PixelData) != size + size % 2:
            findings.append("native Pixel Data of %d bytes, %d frames need %d"
                            % (len(ds.PixelData), int(ds.NumberOfFrames), size))
        return findings
    if syntax in JPEG_LS:
        return encapsulation_findings(ds)
    status, text = run([tools.verify_wsm_frames(), str(path)])
    prefix = str(path) + ": "
    verdicts = [line[len(prefix):] for line in text.splitlines() if line.startswith(prefix)]
    if len(verdicts) != 1:
        return ["verify-wsm-frames gave no verdict (exit %d): %s" % (status, text[-300:])]
    if verdicts[0] == "OK":
        return []
    findings = verdicts[0].split("; ")
    if syntax in J2K:
        return [f for f in findings if not GREY_J2K_FINDING.match(f)]
    return [f for f in findings if not FRAME_FINDING.match(f)]


def encapsulation_findings(ds):
    """verify-wsm-frames' encapsulation checks for JPEG-LS frames, which it cannot open
    (Pillow reads no JPEG-LS): one even fragment per frame, Basic Offset Table offsets
    right when there is one, each frame SOI ... SOF55 (Columns x Rows, Samples per Pixel
    components) ... EOI."""
    findings = []
    data, items, offset = ds.PixelData, [], 0
    while offset + 8 <= len(data):
        group, element, length = struct.unpack("<HHI", data[offset:offset + 8])
        if (group, element) != (0xFFFE, 0xE000):
            break
        items.append((offset, data[offset + 8:offset + 8 + length]))
        offset += 8 + length
    if not items:
        return ["no encapsulated items"]
    bot, fragments = items[0][1], items[1:]
    count = int(ds.NumberOfFrames)
    if len(fragments) != count:
        findings.append("%d fragments for %d frames" % (len(fragments), count))
    base = fragments[0][0] if fragments else 0
    actual = [o - base for o, _ in fragments]
    if bot and list(struct.unpack("<%dI" % (len(bot) // 4), bot)) != actual:
        findings.append("Basic Offset Table differs from the fragments' offsets")
    for k, (_, fragment) in enumerate(fragments):
        body = fragment[:-1] if fragment.endswith(b"\xff\xd9\x00") else fragment
        sof = body.find(b"\xff\xf7")
        if len(fragment) % 2:
            findings.append("frame %d: odd length" % (k + 1))
        elif body[:2] != b"\xff\xd8" or body[-2:] != b"\xff\xd9" or sof < 0:
            findings.append("frame %d: not SOI, SOF55 ... EOI" % (k + 1))
        else:
            _, _, rows, cols, components = struct.unpack(">HBHHB", body[sof + 2:sof + 10])
            samples = int(ds.get("SamplesPerPixel", 1))
            if (cols, rows, components) != (int(ds.Columns), int(ds.Rows), samples):
                findings.append("frame %d: SOF55 %dx%d, %d component(s)"
                                % (k + 1, cols, rows, components))
    return findings


def item(ds, keyword):
    """The first item of a sequence, or an empty Dataset."""
    sequence = ds.get(keyword)
    return sequence[0] if sequence else pydicom.Dataset()


def close(a, b, rel=1e-6):
    return abs(float(a) - float(b)) <= rel * max(abs(float(b)), 1e-12)


def palette_end(lut_item, colour_name):
    """(first entry, last entry as 8 bits, 256 entries, non-decreasing) of one palette."""
    descriptor = lut_item.get("%sPaletteColorLookupTableDescriptor" % colour_name)
    data = lut_item.get("%sPaletteColorLookupTableData" % colour_name)
    if descriptor is None or data is None:
        return None
    entries, _, bits = [int(v) for v in descriptor]
    entries = entries or 65536
    values = np.frombuffer(data, "<u2" if bits == 16 else np.uint8).astype(np.int64)
    last = int(values[-1]) >> 8 if bits == 16 else int(values[-1])
    return int(values[0]), last, entries == 256 == len(values), bool(np.all(np.diff(values) >= 0))


def check_optical_path(name, ds, source, c, checks):
    path = item(ds, "OpticalPathSequence")
    info = source.channels[c]
    checks.expect(int(ds.get("NumberOfOpticalPaths", 0)) == 1, name, "Number of Optical Paths "
                  "%s (expected 1)" % ds.get("NumberOfOpticalPaths"))
    checks.expect(len(ds.get("OpticalPathSequence", [])) == 1, name, "one Optical Path item")
    checks.expect(path.get("OpticalPathIdentifier") == str(c + 1), name, "Optical Path "
                  "Identifier %r (expected %r)" % (path.get("OpticalPathIdentifier"), str(c + 1)))
    wanted = info["name"] or "Channel %d" % (c + 1)
    checks.expect(path.get("OpticalPathDescription") == wanted, name, "Optical Path "
                  "Description %r (expected %r)" % (path.get("OpticalPathDescription"), wanted))
    code = item(path, "IlluminationTypeCodeSequence")
    checks.expect((code.get("CodeValue"), code.get("CodingSchemeDesignator")) ==
                  ("111743", "DCM"), name, "Illumination Type %s/%s (expected 111743/DCM)"
                  % (code.get("CodeValue"), code.get("CodingSchemeDesignator")))
    for keyword, value in (("IlluminationWaveLength", info["excitation"]),
                           ("ImagePathFilterPassThroughWavelength", info["emission"])):
        got = path.get(keyword)
        if value is None:
            checks.expect(got is None, name, "%s %s though the source has none" % (keyword, got))
        else:
            checks.expect(got is not None and abs(float(got) - value) < 0.5, name,
                          "%s %s (expected %g nm)" % (keyword, got, value))
    if source.objective:
        power = path.get("ObjectiveLensPower")
        checks.expect(power is not None and close(power, source.objective), name,
                      "Objective Lens Power %s (expected %g)" % (power, source.objective))
    lut = item(path, "PaletteColorLookupTableSequence")
    colour = source.colour(c)
    ends = [palette_end(lut, part) for part in ("Red", "Green", "Blue")]
    if checks.expect(all(ends), name, "palette LUT in the Optical Path (Red/Green/Blue "
                     "descriptor and data)"):
        checks.expect(all(e[2] and e[3] and e[0] == 0 for e in ends) and
                      tuple(e[1] for e in ends) == colour, name,
                      "palette: 256 rising entries from 0 to the channel colour %s (got "
                      "first %s, last %s)" % (colour, [e[0] for e in ends],
                                              [e[1] for e in ends]))


def check_attributes(name, ds, source, c, level, mapping, focal_planes, sizes, tile, checks):
    expect = [("SOPClassUID", WSM), ("PhotometricInterpretation", "MONOCHROME2"),
              ("SamplesPerPixel", 1), ("BitsAllocated", mapping.bits),
              ("BitsStored", mapping.bits), ("HighBit", mapping.bits - 1),
              ("PixelRepresentation", 0), ("PresentationLUTShape", "IDENTITY"),
              ("DimensionOrganizationType", "TILED_FULL"),
              ("TotalPixelMatrixColumns", sizes[level][0]),
              ("TotalPixelMatrixRows", sizes[level][1]),
              ("TotalPixelMatrixFocalPlanes", focal_planes)]
    for keyword, value in expect:
        checks.expect(ds.get(keyword) == value, name, "%s %r (expected %r)"
                      % (keyword, ds.get(keyword), value))
    checks.expect((int(ds.Columns), int(ds.Rows)) == (tile, tile), name,
                  "frames %sx%s (level 0's %dx%d)" % (ds.Columns, ds.Rows, tile, tile))
    across, down = -(-sizes[level][0] // tile), -(-sizes[level][1] // tile)
    frames = int(ds.get("NumberOfFrames", 0))
    checks.expect(frames == across * down * focal_planes, name, "Number of Frames %d "
                  "(expected %d x %d tiles x %d planes)" % (frames, across, down, focal_planes))
    shared = item(ds, "SharedFunctionalGroupsSequence")
    measures = item(shared, "PixelMeasuresSequence")
    spacing = measures.get("PixelSpacing")
    if source.mpp:
        scale = sizes[0][0] / sizes[level][0]
        wanted = (source.mpp[1] / 1000 * scale, source.mpp[0] / 1000 * scale)
        rel = 1e-6 if level == 0 else 0.01
        checks.expect(spacing is not None and len(spacing) == 2 and
                      close(spacing[0], wanted[0], rel) and close(spacing[1], wanted[1], rel),
                      name, "Pixel Spacing %s (expected %.6g\\%.6g mm)"
                      % (spacing, wanted[0], wanted[1]))
    if focal_planes > 1 and source.z_spacing:
        between = measures.get("SpacingBetweenSlices")
        checks.expect(between is not None and close(between, source.z_spacing / 1000), name,
                      "Spacing Between Slices %s (expected %g mm)"
                      % (between, source.z_spacing / 1000))
    rwvm = item(shared, "RealWorldValueMappingSequence")
    if mapping.identity:
        checks.expect("RealWorldValueSlope" not in rwvm or
                      (rwvm.RealWorldValueSlope == 1 and rwvm.RealWorldValueIntercept == 0),
                      name, "no Real World Value Mapping for unsigned data")
    else:
        slope, intercept = rwvm.get("RealWorldValueSlope"), rwvm.get("RealWorldValueIntercept")
        if checks.expect(slope is not None and intercept is not None, name,
                         "Real World Value Mapping in the Shared Functional Groups"):
            checks.expect(close(slope, mapping.slope, 1e-6) and
                          close(intercept, mapping.intercept, 1e-9), name,
                          "Real World Value Mapping slope %r intercept %r (expected %r, %r)"
                          % (slope, intercept, mapping.slope, mapping.intercept))
    checks.expect("RescaleSlope" not in ds or (ds.RescaleSlope == 1 and
                                               ds.RescaleIntercept == 0),
                  name, "no Rescale but the identity")
    check_optical_path(name, ds, source, c, checks)


def planes_of(frames, across, down, tile, focal_planes):
    """The mosaics (with padding) of each focal plane: tiles row-major, then planes."""
    per_plane = across * down
    out = []
    for fp in range(focal_planes):
        block = frames[fp * per_plane:(fp + 1) * per_plane]
        rows = [np.concatenate(list(block[r * across:(r + 1) * across]), axis=1)
                for r in range(down)]
        out.append(np.concatenate(rows, axis=0))
    return out


def compare(name, what, got, wanted, checks):
    if got.shape != wanted.shape:
        checks.fail(name, "%s: %s, expected %s" % (what, got.shape, wanted.shape))
        return
    diff = got.astype(np.int64) != wanted.astype(np.int64)
    if diff.any():
        y, x = np.argwhere(diff)[0]
        checks.fail(name, "%s: %d pixel(s) differ, the first at x %d y %d: %d, expected %d"
                    % (what, int(diff.sum()), x, y, got[y, x], wanted[y, x]))
    else:
        checks.ok(name, what + ": equal")


def check_level0_real(name, what, got, plane, mapping, checks):
    """Float / 32-bit planes: the real value of every stored pixel within half a step."""
    real = plane.astype(np.float64)
    finite = np.isfinite(real)
    value = got.astype(np.float64) * mapping.slope + mapping.intercept
    error = np.where(finite, np.abs(value - real), 0)
    bound = mapping.slope / 2 * (1 + 1e-6)
    worst = float(error.max())
    checks.expect(worst <= bound, name, "%s: real values within half a step (worst %.3g, "
                  "slope %.6g)" % (what, worst, mapping.slope))
    if (~finite).any():
        checks.expect(np.all(got[~finite] == 0), name, "%s: %d NaN/Inf stored 0"
                      % (what, int((~finite).sum())))


def expected_instances(source, z_series, t_choice):
    """{(t, z, c): None} keys of the instances' (t, z or None, c), 0-based."""
    ts = [t_choice - 1] if t_choice else range(source.nt)
    zs = range(source.nz) if z_series else [None]
    return [(t, z, c) for t in ts for z in zs for c in range(source.nc)]


def parse_names(outdir, source, z_series, t_choice, checks):
    """{(t, z, c, level): path} from the file names; the rest is judged here."""
    found = {}
    for entry in sorted(Path(outdir).iterdir()):
        if entry.name.endswith(".json") and entry.is_file():
            continue
        if entry.name in ASSOCIATED.values():
            continue
        match = NAME.match(entry.name)
        if not match or not entry.is_file():
            checks.fail(entry.name, "unexpected in the output directory")
            continue
        t, z, c, level = match.groups()
        if t is None and source.nt > 1 and not t_choice:
            checks.fail(entry.name, "no t<T>- though the source has %d time points" % source.nt)
        if (z is not None) != z_series:
            checks.fail(entry.name, "z<Z>- %s --z series" % ("without" if z_series else "with"))
        t = int(t) - 1 if t else (t_choice - 1 if t_choice else 0)
        z = int(z) - 1 if z else None
        found[(t, z, int(c) - 1, int(level))] = entry
    return found


def check_output(source_path, outdir, z_series=False, t_choice=None, checks=None, mpp=None,
                 z_spacing=None):
    """All of the module's checks on one conversion; returns the Checks. mpp and z_spacing:
    the --mpp and --z-spacing given to the converter, for a source that does not record its
    pixel size or the distance between its z planes."""
    checks = checks or Checks(show="none")
    source = checks.guard(str(source_path), "reading the source", read_source, source_path)
    if source is None:
        return checks
    if mpp and not source.mpp:
        source.mpp = (mpp, mpp)
    if z_spacing:
        source.z_spacing = z_spacing
    if t_choice and not 1 <= t_choice <= source.nt:
        checks.fail(str(source_path), "--t %d of %d time points" % (t_choice, source.nt))
        return checks
    found = parse_names(outdir, source, z_series, t_choice, checks)
    first = next((p for k, p in sorted(found.items()) if k[3] == 0), None)
    if not checks.expect(first is not None, str(outdir), "a level-0 instance"):
        return checks
    tile = int(pydicom.dcmread(str(first), stop_before_pixels=True).Columns)
    sizes = level_sizes(source.width, source.height, tile)
    wanted = {(t, z, c, level) for t, z, c in expected_instances(source, z_series, t_choice)
              for level in range(len(sizes))}
    checks.expect(set(found) == wanted, str(outdir), "instances (t, z, c, level): missing %s, "
                  "unexpected %s" % (sorted(wanted - set(found), key=str),
                                     sorted(set(found) - wanted, key=str)))
    mappings = [Mapping(source.dtype, source.planes[:, c]) for c in range(source.nc)]
    focal_planes = 1 if z_series else source.nz
    studies, frames_of_ref, containers, series, sops = set(), set(), set(), {}, set()
    levels = {}
    for key in sorted(found, key=lambda k: (k[0], -1 if k[1] is None else k[1], k[2], k[3])):
        t, z, c, level = key
        path = found[key]
        name = path.name
        if key not in wanted:
            continue
        ds = checks.guard(name, "pydicom", pydicom.dcmread, str(path))
        if ds is None:
            continue
        errors, _ = dciodvfy(path)
        checks.expect(not errors, name, "dciodvfy: %d error(s)%s"
                      % (len(errors), "".join("\n    " + e for e in errors)))
        findings = verify_frames(path, ds)
        checks.expect(not findings, name, "verify-wsm-frames: %s" % "; ".join(findings[:5]))
        mapping = mappings[c]
        checks.guard(name, "attribute checks", check_attributes, name, ds, source, c, level,
                     mapping, focal_planes, sizes, tile, checks)
        studies.add(ds.get("StudyInstanceUID"))
        frames_of_ref.add(ds.get("FrameOfReferenceUID"))
        containers.add(ds.get("ContainerIdentifier"))
        series.setdefault(ds.get("SeriesInstanceUID"), set()).add((t, z))
        sops.add(ds.get("SOPInstanceUID"))
        frames = checks.guard(name, "decoding the frames", decode_frames, path, ds)
        if frames is None:
            continue
        width, height = sizes[level]
        across, down = -(-width // tile), -(-height // tile)
        if frames.shape != (across * down * focal_planes, tile, tile):
            checks.fail(name, "frames decode to %s, expected %d of %dx%d"
                        % (frames.shape, across * down * focal_planes, tile, tile))
            continue
        for fp, mosaic in enumerate(planes_of(frames, across, down, tile, focal_planes)):
            zz = z if z_series else fp
            what = "t %d c %d z %d level %d" % (t + 1, c + 1, zz + 1, level)
            image = mosaic[:height, :width]
            pad = mosaic.copy()
            pad[:height, :width] = 0
            checks.expect(not pad.any(), name, "%s: padding 0 (%d non-zero)"
                          % (what, int(np.count_nonzero(pad))))
            levels[(t, zz, c, level)] = image
            if level == 0:
                plane = source.planes[t, c, zz]
                if mapping.exact:
                    compare(name, what + " against the source plane", image,
                            mapping.stored(plane), checks)
                else:
                    check_level0_real(name, what, image, plane, mapping, checks)
            elif (t, zz, c, level - 1) in levels:
                compare(name, what + " against the 2x2 rule on level %d" % (level - 1),
                        image, halve(levels[(t, zz, c, level - 1)]), checks)
            else:
                checks.fail(name, "%s: no level %d to compare with" % (what, level - 1))
    checks.expect(len(studies) == 1 and len(frames_of_ref) == 1 and len(containers) == 1,
                  str(outdir), "one Study, Frame of Reference and Container (%d, %d, %d)"
                  % (len(studies), len(frames_of_ref), len(containers)))
    groups = sorted(tuple(sorted(g, key=str)) for g in series.values())
    wanted_groups = sorted({((t, z),) for t, z, _ in expected_instances(source, z_series,
                                                                         t_choice)})
    checks.expect(groups == wanted_groups, str(outdir), "series by (t, z): %s (expected one "
                  "per %s: %s)" % (groups, "time point and plane" if z_series else "time point",
                                   wanted_groups))
    checks.expect(len(sops) == len([k for k in found if k in wanted]), str(outdir),
                  "distinct SOP Instance UIDs")
    check_associated(source, Path(outdir), studies, frames_of_ref, checks)
    return checks


def check_associated(source, outdir, studies, frames_of_ref, checks):
    """QPTIFF's thumbnail / overview / label: RGB images of the source's pages, encoded like
    the planes: equal to them when the codec is lossless, within 30 dB under JPEG baseline;
    clean under dciodvfy and verify-wsm-frames."""
    for kind, file in ASSOCIATED.items():
        path = outdir / file
        if kind not in source.associated:
            checks.expect(not path.exists(), file, "written though the source has no %s" % kind)
            continue
        if not checks.expect(path.is_file(), file, "missing (the source has a %s)" % kind):
            continue
        ds = pydicom.dcmread(str(path))
        errors, _ = dciodvfy(path)
        checks.expect(not errors, file, "dciodvfy: %d error(s)%s"
                      % (len(errors), "".join("\n    " + e for e in errors)))
        findings = verify_frames(path, ds)
        checks.expect(not findings, file, "verify-wsm-frames: %s" % "; ".join(findings[:5]))
        checks.expect(ds.get("ImageType", [None] * 3)[2] == kind.upper(), file,
                      "Image Type %s (expected ...\\%s)" % (ds.get("ImageType"), kind.upper()))
        checks.expect(ds.get("StudyInstanceUID") in studies and
                      ds.get("FrameOfReferenceUID") in frames_of_ref, file,
                      "the slide's Study and Frame of Reference")
        wanted = source.associated[kind]
        # The lossless syntaxes only: .4.91 and .4.81 may be lossy.
        lossless = ds.file_meta.TransferSyntaxUID in NATIVE + J2K[:1] + JPEG_LS[:1]
        if lossless:
            got = decode_frames(path, ds)[0]
        else:
            frame = next(pydicom.encaps.generate_pixel_data_frame(ds.PixelData, 1))
            got = np.asarray(Image.open(io.BytesIO(frame)).convert("RGB"))
        if checks.expect(got.shape == wanted.shape, file, "%s, expected %s"
                         % (got.shape, wanted.shape)):
            mse = float(np.mean((got.astype(np.float64) - wanted) ** 2))
            psnr = math.inf if mse == 0 else 10 * math.log10(255 ** 2 / mse)
            if lossless:
                checks.expect(mse == 0, file, "lossless, yet %.1f dB against the source page"
                              % psnr)
            else:
                checks.expect(psnr >= 30, file, "%.1f dB against the source page" % psnr)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("outdir")
    parser.add_argument("--z", choices=("stack", "series"), default="stack")
    parser.add_argument("--t", type=int)
    parser.add_argument("--mpp", type=float, help="the converter's --mpp, for a source "
                        "without a pixel size")
    parser.add_argument("--z-spacing", type=float, help="the converter's --z-spacing")
    args = parser.parse_args(argv[1:])
    checks = check_output(Path(args.source), Path(args.outdir), args.z == "series", args.t,
                          Checks(show="failures"), args.mpp, args.z_spacing)
    return checks.result()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
