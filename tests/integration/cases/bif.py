#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""bif.py SLIDE2DCM FIXTURES WORKDIR

Ventana BIF (issue 21), run with Debian's /usr/bin/python3 (pydicom, tifffile, openslide),
on make_bif's slides: synthetic.bif (tiles that do not overlap), overlap.bif (level-0
tiles sharing pixels with their neighbours) and decoy.bif (synthetic.bif whose iScan values
hold attribute-like text in single quotes, which only an XML parser tells from attributes).

Both are Ventana to OpenSlide and read by our own reader (fmt_ventana.c). synthetic.bif's
levels are copied; overlap.bif's levels (each packs level-0 tiles that overlap) are
stitched and encoded, its label image and thumbnail copied. Every output file carries what the iScan element of the source's first XMP
packet says, as ElementTree reads it here: Manufacturer Ventana, ScannerModel,
UnitNumber, BuildVersion, Barcode (the container), ScanDate; level 0 its ScanRes as
pixel spacing and its Magnification as objective lens power, and OpenSlide's size.
overlap.bif converted with --keep-source-levels at quality 100, 4:4:4: each stitched level
is OpenSlide's read_region of that level within the loss of that encoding (>= 52 dB; the
seams where tiles share pixels are what a wrong stitch gets wrong)."""
import io
import os
import re
import struct
import sys
import xml.etree.ElementTree as ET

import numpy
import openslide
import pydicom
import tifffile
from PIL import Image
from pydicom.encaps import generate_pixel_data_frame

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tiffdirs  # noqa: E402
from checks import Checks  # noqa: E402
from runs import convert_and_read, output_headers  # noqa: E402

checks = Checks()


def iscan(path):
    """The iScan element's attributes of IFD 0's XMP packet."""
    with tifffile.TiffFile(path) as t:
        xmp = t.pages[0].tags[700].value
    root = ET.fromstring(bytes(xmp))
    node = root if root.tag == "iScan" else root.find("iScan")
    return dict(node.attrib)


def check_slide(bin_, slide, work, levels_copied):
    name = os.path.basename(slide)
    checks.expect(openslide.OpenSlide.detect_format(slide) == "ventana",
                  "%s: OpenSlide names the vendor ventana" % name)
    want = iscan(slide)
    out = os.path.join(work, name)
    r, report = convert_and_read(bin_, slide, out, "--quiet")
    if not checks.expect(r.returncode == 0 and report, "%s converts" % name, r.stderr.strip()):
        return
    modes = {f["name"]: f["mode"] for f in report["files"]}
    levels = sorted(n for n in modes if n.startswith("level-"))
    copied = [n for n in levels if modes[n] == "copy"]
    if levels_copied:
        checks.expect(copied == ["level-0.dcm", "level-1.dcm", "level-2.dcm"],
                      "%s: the source's levels copied" % name, str(modes))
    else:
        checks.expect(levels and not copied,
                      "%s: overlapping tiles: every level stitched and encoded" % name,
                      str(modes))
    checks.expect(modes.get("overview.dcm") == "copy" and modes.get("thumbnail.dcm") == "copy",
                  "%s: label image and thumbnail copied" % name, str(modes))
    title = "Ventana BIF"
    date = re.sub(r"\D", "", want["ScanDate"])
    osr = openslide.OpenSlide(slide)
    for f, ds in output_headers(out, report):
        tag = "%s %s: " % (name, f)
        contribution = ds.ContributingEquipmentSequence[0].ContributionDescription
        checks.expect(contribution == "Converted from " + title, tag + "read by " + title,
                      contribution)
        software = ds.SoftwareVersions
        got = (ds.Manufacturer, ds.ManufacturerModelName, ds.DeviceSerialNumber,
               list(software) if isinstance(software, pydicom.multival.MultiValue)
               else [software])
        checks.expect(got == ("Ventana", want["ScannerModel"], want["UnitNumber"],
                              [want["BuildVersion"]]), tag + "scanner from iScan", str(got))
        checks.expect(ds.ContainerIdentifier == want["Barcode"], tag + "barcode",
                      ds.ContainerIdentifier)
        checks.expect(ds.AcquisitionDateTime.startswith(date), tag + "scan date",
                      ds.AcquisitionDateTime)
    ds = pydicom.dcmread(os.path.join(out, "level-0.dcm"), stop_before_pixels=True)
    spacing = ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing
    mpp = float(want["ScanRes"]) / 1000
    checks.expect(all(abs(float(v) - mpp) < 1e-9 for v in spacing),
                  "%s level-0: pixel spacing = ScanRes" % name, str(spacing))
    checks.expect(float(ds.OpticalPathSequence[0].ObjectiveLensPower) ==
                  float(want["Magnification"]), "%s level-0: objective = Magnification" % name)
    checks.expect((ds.TotalPixelMatrixColumns, ds.TotalPixelMatrixRows) == osr.dimensions,
                  "%s level-0: OpenSlide's size %s" % (name, osr.dimensions),
                  str((ds.TotalPixelMatrixColumns, ds.TotalPixelMatrixRows)))


def with_description(data, index, text):
    """The classic little-endian TIFF `data` with IFD index's ImageDescription replaced by
    text, written at the end of the file (it may be longer than the one it replaces)."""
    off = struct.unpack("<I", data[4:8])[0]
    for _ in range(index):
        n = struct.unpack("<H", data[off:off + 2])[0]
        off = struct.unpack("<I", data[off + 2 + 12 * n:off + 6 + 12 * n])[0]
    n = struct.unpack("<H", data[off:off + 2])[0]
    out = bytearray(data) + b"\0" * (len(data) % 2)
    for e in range(off + 2, off + 2 + 12 * n, 12):
        if struct.unpack("<H", data[e:e + 2])[0] == tiffdirs.DESCRIPTION:
            value = text.encode() + b"\0"
            struct.pack_into("<II", out, e + 4, len(value), len(out))
            return bytes(out + value)
    raise ValueError("IFD %d has no ImageDescription" % index)


def check_level_out_of_range(bin_, slide, work):
    """A level number past what a long holds is damage: refused in one line naming it."""
    data = open(slide, "rb").read()
    ifds = list(tiffdirs.directories(data))
    index = next(i for i, d in enumerate(ifds)
                 if tiffdirs.text(d, tiffdirs.DESCRIPTION).startswith("level=0 "))
    damaged = os.path.join(work, "level-out-of-range.bif")
    open(damaged, "wb").write(with_description(
        data, index, "level=99999999999999999999 mag=40 quality=90"))
    r, _ = convert_and_read(bin_, damaged, os.path.join(work, "level-out-of-range"), "--quiet")
    lines = r.stderr.strip().splitlines()
    checks.expect(r.returncode == 1 and len(lines) == 1 and "level number" in lines[0] and
                  "out of range" in lines[0] and "9999" not in lines[0],
                  "a level number out of range: refused in one line naming it",
                  "exit %d: %s" % (r.returncode, r.stderr.strip()))


STITCH_PSNR_MIN = 52.0


def level_pixels(path):
    """A level's Total Pixel Matrix, its frames decoded (PIL) and placed."""
    ds = pydicom.dcmread(path)
    cols, rows = int(ds.TotalPixelMatrixColumns), int(ds.TotalPixelMatrixRows)
    tw, th = int(ds.Columns), int(ds.Rows)
    across = (cols + tw - 1) // tw
    out = numpy.zeros(((rows + th - 1) // th * th, across * tw, 3), numpy.uint8)
    for i, frame in enumerate(generate_pixel_data_frame(ds.PixelData, int(ds.NumberOfFrames))):
        r, c = divmod(i, across)
        out[r * th:(r + 1) * th, c * tw:(c + 1) * tw] = Image.open(io.BytesIO(frame)).convert("RGB")
    return out[:rows, :cols]


def check_stitched_levels(bin_, slide, work):
    name = os.path.basename(slide)
    out = os.path.join(work, name + "-source-levels")
    r, _ = convert_and_read(bin_, slide, out, "--quiet", "--keep-source-levels",
                            "--quality", "100", "--subsampling", "444")
    checks.expect(r.returncode == 0, "%s --keep-source-levels converts" % name, r.stderr.strip())
    if r.returncode:
        return
    osr = openslide.OpenSlide(slide)
    for level, dims in enumerate(osr.level_dimensions):
        ours = level_pixels(os.path.join(out, "level-%d.dcm" % level)).astype(float)
        ref = numpy.asarray(osr.read_region((0, 0), level, dims).convert("RGB")).astype(float)
        tag = "%s source level %d" % (name, level)
        if not checks.expect(ours.shape == ref.shape, tag + ": OpenSlide's size %s" % (dims,),
                             str(ours.shape)):
            continue
        mse = ((ours - ref) ** 2).mean()
        psnr = 10 * numpy.log10(255.0 ** 2 / mse) if mse else float("inf")
        checks.expect(psnr >= STITCH_PSNR_MIN, tag + ": %.2f dB vs OpenSlide's read_region "
                      "(minimum %.0f)" % (psnr, STITCH_PSNR_MIN))


def main():
    bin_, fixtures, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    check_slide(bin_, os.path.join(fixtures, "synthetic.bif"), work, True)
    check_slide(bin_, os.path.join(fixtures, "overlap.bif"), work, False)
    check_stitched_levels(bin_, os.path.join(fixtures, "overlap.bif"), work)
    # ScanRes, Magnification and Barcode as attribute-like text inside earlier attributes'
    # values: read as the XML's values, never as attributes.
    check_slide(bin_, os.path.join(fixtures, "decoy.bif"), work, True)
    check_level_out_of_range(bin_, os.path.join(fixtures, "synthetic.bif"), work)
    sys.exit(checks.result())


if __name__ == "__main__":
    main()
