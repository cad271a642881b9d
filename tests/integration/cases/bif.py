#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""bif.py SLIDE2DCM FIXTURES WORKDIR

Ventana BIF (issue 21), run with Debian's /usr/bin/python3 (pydicom, tifffile, openslide),
on make_bif's two slides: synthetic.bif (tiles that do not overlap) and overlap.bif (level-0
tiles sharing pixels with their neighbours).

Both are Ventana to OpenSlide. synthetic.bif is read by our own reader (fmt_ventana.c),
its levels copied; overlap.bif is declined by it and read by OpenSlide, every file
encoded. Every output file carries what the iScan element of the source's first XMP
packet says, as ElementTree reads it here: Manufacturer Ventana, ScannerModel,
UnitNumber, BuildVersion, Barcode (the container), ScanDate; level 0 its ScanRes as
pixel spacing and its Magnification as objective lens power, and OpenSlide's size."""
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import openslide
import pydicom
import tifffile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import Checks  # noqa: E402

checks = Checks()


def iscan(path):
    """The iScan element's attributes of IFD 0's XMP packet."""
    with tifffile.TiffFile(path) as t:
        xmp = t.pages[0].tags[700].value
    root = ET.fromstring(bytes(xmp))
    node = root if root.tag == "iScan" else root.find("iScan")
    return dict(node.attrib)


def convert(bin_, slide, out):
    shutil.rmtree(out, ignore_errors=True)
    report = out + ".report.json"
    r = subprocess.run([bin_, "convert", slide, "-o", out, "--quiet", "--json-report", report],
                       capture_output=True, text=True)
    checks.expect(r.returncode == 0, "%s converts" % os.path.basename(slide), r.stderr.strip())
    return json.load(open(report)) if r.returncode == 0 else None


def check_slide(bin_, slide, work, own_reader):
    name = os.path.basename(slide)
    checks.expect(openslide.OpenSlide.detect_format(slide) == "ventana",
                  "%s: OpenSlide names the vendor ventana" % name)
    want = iscan(slide)
    report = convert(bin_, slide, os.path.join(work, name))
    if not report:
        return
    modes = {f["name"]: f["mode"] for f in report["files"]}
    levels = sorted(n for n in modes if n.startswith("level-"))
    if own_reader:
        copied = [n for n in levels if modes[n] == "copy"]
        checks.expect(copied == ["level-0.dcm", "level-1.dcm", "level-2.dcm"] and
                      modes.get("overview.dcm") == "copy" and modes.get("thumbnail.dcm") == "copy",
                      "%s: the source's levels, label image and thumbnail copied" % name,
                      str(modes))
    else:
        checks.expect(all(m == "encode" for m in modes.values()),
                      "%s: overlapping tiles: every file decoded and encoded" % name, str(modes))
    title = "Ventana BIF" if own_reader else "Ventana BIF, read by OpenSlide"
    date = re.sub(r"\D", "", want["ScanDate"])
    osr = openslide.OpenSlide(slide)
    for f in sorted(modes):
        ds = pydicom.dcmread(os.path.join(work, name, f), stop_before_pixels=True)
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
    ds = pydicom.dcmread(os.path.join(work, name, "level-0.dcm"), stop_before_pixels=True)
    spacing = ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing
    mpp = float(want["ScanRes"]) / 1000
    checks.expect(all(abs(float(v) - mpp) < 1e-9 for v in spacing),
                  "%s level-0: pixel spacing = ScanRes" % name, str(spacing))
    checks.expect(float(ds.OpticalPathSequence[0].ObjectiveLensPower) ==
                  float(want["Magnification"]), "%s level-0: objective = Magnification" % name)
    checks.expect((ds.TotalPixelMatrixColumns, ds.TotalPixelMatrixRows) == osr.dimensions,
                  "%s level-0: OpenSlide's size %s" % (name, osr.dimensions),
                  str((ds.TotalPixelMatrixColumns, ds.TotalPixelMatrixRows)))


def main():
    bin_, fixtures, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    check_slide(bin_, os.path.join(fixtures, "synthetic.bif"), work, True)
    check_slide(bin_, os.path.join(fixtures, "overlap.bif"), work, False)
    sys.exit(checks.result())


if __name__ == "__main__":
    main()
