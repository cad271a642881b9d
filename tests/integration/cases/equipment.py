#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""equipment.py SLIDE2DCM TESTDATA WORKDIR

The scanner in the equipment, slide2dcm as contributing equipment (issue 18 item 3), run
with Debian's /usr/bin/python3 (pydicom, tifffile, openslide).

For each format slide2dcm reads, a file is converted and every output file must name, in
(Enhanced) General Equipment, the device the source records, as tifffile, OpenSlide or the
OME-XML itself read it (never a value written here): Manufacturer, Manufacturer's Model
Name, Device Serial Number and Software Versions, "Unknown" in WSM for what the source
does not say (those four are Type 1 there). Every file carries one Contributing Equipment
item: slide2dcm, its version, Processing Equipment (DCM 109102, CID 7005), the
conversion's date and time, "Converted from <format>". A --metadata value wins over the
source's; what it does not give stays the source's. dciodvfy finds no error in any file."""
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import openslide
import pydicom
import tifffile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import Checks  # noqa: E402
from synthetic_tiff import tiled_tiff  # noqa: E402

checks = Checks()
UNKNOWN = "Unknown"
OME_NS = "{http://www.openmicroscopy.org/Schemas/OME/2016-06}"


def convert(bin_, slide, out, *args):
    shutil.rmtree(out, ignore_errors=True)
    r = subprocess.run([bin_, "convert", str(slide), "-o", str(out), "--quiet", *args],
                       capture_output=True, text=True)
    checks.expect(r.returncode == 0, "%s converts" % os.path.basename(str(slide)),
                  r.stderr.strip())
    return r.returncode == 0


def version(bin_):
    return subprocess.run([bin_, "--version"], capture_output=True,
                          text=True).stdout.split()[1]


def tiff_tags(path):
    """{name: value} of the first IFD's text tags, as tifffile reads them."""
    with tifffile.TiffFile(path) as t:
        tags = t.pages[0].tags
        return {name: tags[name].value for name in ("Make", "Model", "Software")
                if name in tags}, (tags[65442].value if 65442 in tags else None)


def values(v):
    """A DICOM value as a list of strings ([] when absent)."""
    if v is None:
        return []
    return [str(x) for x in v] if isinstance(v, pydicom.multival.MultiValue) else [str(v)]


def check_outputs(out, expected, source, enhanced=True):
    """Every file of `out`: the device `expected` (manufacturer, model, serial, software
    list; None for what the source does not say), slide2dcm's item, dciodvfy clean."""
    files = sorted(f for f in os.listdir(out) if f.endswith(".dcm"))
    checks.expect(files, out, "files written")
    manufacturer, model, serial, software = expected
    for name in files:
        path = os.path.join(out, name)
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        tag = "%s %s" % (os.path.basename(out), name)
        if enhanced:
            want = [manufacturer or UNKNOWN, model or UNKNOWN, serial or UNKNOWN,
                    software or [UNKNOWN]]
            got = [ds.get("Manufacturer"), ds.get("ManufacturerModelName"),
                   ds.get("DeviceSerialNumber"), values(ds.get("SoftwareVersions"))]
        else:   # General Equipment: Manufacturer Type 2, the others Type 3
            want = [manufacturer or "", model, serial, software or []]
            got = [ds.get("Manufacturer"), ds.get("ManufacturerModelName"),
                   ds.get("DeviceSerialNumber"), values(ds.get("SoftwareVersions"))]
        checks.expect(got == want, tag, "equipment %s, the source says %s" % (got, want))
        check_contribution(ds, tag, source)
        r = subprocess.run(["dciodvfy", path], capture_output=True, text=True)
        errors = [line for line in (r.stdout + r.stderr).splitlines()
                  if line.startswith("Error")]
        checks.expect(not errors, tag, "dciodvfy: %s" % (errors[:3] or "no error"))


def check_contribution(ds, tag, source):
    items = ds.get("ContributingEquipmentSequence") or []
    if not checks.expect(len(items) == 1, tag, "one Contributing Equipment item"):
        return
    item = items[0]
    purpose = item.PurposeOfReferenceCodeSequence
    checks.expect(len(purpose) == 1 and (purpose[0].CodeValue, purpose[0].CodingSchemeDesignator,
                                         purpose[0].CodeMeaning)
                  == ("109102", "DCM", "Processing Equipment"), tag,
                  "purpose Processing Equipment (CID 7005)")
    checks.expect((item.Manufacturer, item.ManufacturerModelName,
                   values(item.SoftwareVersions)) == ("slide2dcm", "slide2dcm", [VERSION]),
                  tag, "slide2dcm %s contributed: %s %s %s"
                  % (VERSION, item.Manufacturer, item.ManufacturerModelName,
                     item.SoftwareVersions))
    checks.expect(item.ContributionDateTime == ds.ContentDate + ds.ContentTime, tag,
                  "contribution time %s is the content's" % item.ContributionDateTime)
    checks.expect(item.ContributionDescription == "Converted from " + source, tag,
                  "description %r" % item.ContributionDescription)


def aperio_expected(slide):
    """What OpenSlide reads of an Aperio file: the vendor, ScanScope ID and the image
    library versions of its description; no model."""
    props = openslide.OpenSlide(str(slide)).properties
    checks.expect(props.get("openslide.vendor") == "aperio", slide, "OpenSlide: an Aperio file")
    software = []
    for v in re.findall(r"Aperio Image Library v[^\s;|]+", props["openslide.comment"]):
        if v not in software:
            software.append(v)
    return "Aperio", None, props.get("aperio.ScanScope ID"), software


def tiff_expected(slide):
    tags, _ = tiff_tags(slide)
    return (tags.get("Make"), tags.get("Model"), None,
            [tags["Software"]] if "Software" in tags else [])


def ndpi_expected(slide):
    tags, serial = tiff_tags(slide)
    props = openslide.OpenSlide(str(slide)).properties
    checks.expect(serial and serial == props.get("hamamatsu.NDP.S/N"), slide,
                  "tag 65442 %r is OpenSlide's NDP.S/N" % serial)
    return tags["Make"], tags["Model"], serial, [tags["Software"]]


def with_instrument(src, dst):
    """A copy of an OME-TIFF whose OME-XML names a microscope (with an entity in its serial
    number) and links the image to it; returns what the XML says of the microscope."""
    shutil.copyfile(src, dst)
    xml = tifffile.TiffFile(dst).pages[0].description
    instrument = ('<Instrument ID="Instrument:7"><Microscope Manufacturer="Olympus" '
                  'Model="VS200 &lt;slide&gt;" SerialNumber="OLY-0042 &amp; B"/></Instrument>')
    xml = re.sub(r"(<Image [^>]*>)", instrument + r'\1<InstrumentRef ID="Instrument:7"/>', xml,
                 count=1)
    tifffile.tiffcomment(dst, xml.encode())
    root = ET.fromstring(tifffile.TiffFile(dst).pages[0].description)
    scope = root.find(OME_NS + "Instrument/" + OME_NS + "Microscope")
    return (scope.get("Manufacturer"), scope.get("Model"), scope.get("SerialNumber"), [])


def main():
    global VERSION
    bin_, testdata, work = sys.argv[1:4]
    VERSION = version(bin_)
    os.makedirs(work, exist_ok=True)
    w = lambda name: os.path.join(work, name)  # noqa: E731

    # Aperio SVS (fmt_aperio): ScanScope ID; the TCGA file records none.
    for name in ("CMU-1-Small-Region.svs", "tcga-cr-7395-01a-01-ts1.svs"):
        slide = os.path.join(testdata, "aperio", name)
        if convert(bin_, slide, w(name), "--mpp", "0.5", "--levels", "1"):
            check_outputs(w(name), aperio_expected(slide), "Aperio SVS")

    # Hamamatsu NDPI (fmt_ndpi): Make, Model, Software and the serial number tag.
    slide = os.path.join(testdata, "hamamatsu-ndpi", "test3-DAPI 2 (387) .ndpi")
    if convert(bin_, slide, w("ndpi"), "--levels", "2"):
        check_outputs(w("ndpi"), ndpi_expected(slide), "Hamamatsu NDPI")

    # A user's --metadata wins over the source's; the rest stays the source's.
    meta = w("meta.json")
    with open(meta, "w") as f:
        json.dump({"00080070": {"vr": "LO", "Value": ["Lab Override"]},
                   "00181000": {"vr": "LO", "Value": ["SCANNER-9"]}}, f)
    if convert(bin_, slide, w("ndpi_meta"), "--levels", "1", "--metadata", meta):
        _, model, _, software = ndpi_expected(slide)
        check_outputs(w("ndpi_meta"), ("Lab Override", model, "SCANNER-9", software),
                      "Hamamatsu NDPI")

    # OME-TIFF (fmt_ome): Bio-Formats wrote it, and its XML names no instrument; then the
    # same file naming a microscope.
    slide = os.path.join(testdata, "ome-tiff", "OS-2-ndpi.ome.tif")
    if convert(bin_, slide, w("ome"), "--levels", "1"):
        check_outputs(w("ome"), (None, None, None, []), "OME-TIFF")
    marked = w("instrument.ome.tif")
    expected = with_instrument(slide, marked)
    if convert(bin_, marked, w("ome_instrument"), "--levels", "1"):
        check_outputs(w("ome_instrument"), expected, "OME-TIFF")
    # OME planes (fmt_plain_tiff's microscopy planes, WSM of grey channels).
    planes = w("planes.ome.tif")
    expected = with_instrument(os.path.join(testdata, "ome-tiff", "multi-channel-z-series.ome.tif"),
                               planes)
    if convert(bin_, planes, w("ome_planes"), "--mpp", "0.5", "--z", "series"):
        check_outputs(w("ome_planes"), expected, "OME-TIFF")

    # A generic tiled TIFF of JPEG tiles (fmt_tiled_tiff): the TIFF's Make, Model, Software.
    img = np.zeros((300, 400, 3), np.uint8)
    img[..., 0] = np.arange(400) % 256
    img[..., 1] = 90
    tiled = Path(w("tiled.tif"))
    tiled_tiff(tiled, 128, img, text={271: "Acme Scanners", 272: "Model X-1",
                                      305: "AcmeScan 3.1"})
    if convert(bin_, tiled, w("tiled"), "--mpp", "0.5"):
        check_outputs(w("tiled"), tiff_expected(tiled), "tiled TIFF")

    # The OpenSlide path: Deflate tiles, an Aperio description, then a generic TIFF whose
    # tiff.* properties name the device.
    aperio = w("deflate.svs")
    tifffile.imwrite(aperio, img, tile=(64, 64), compression="zlib", photometric="rgb",
                     software=False, metadata=None,
                     description="Aperio Image Library v12.0.5\r\n400x300 (64x64) Deflate"
                                 "|AppMag = 20|ScanScope ID = SS-EQUIP-7|MPP = 0.5")
    if convert(bin_, aperio, w("os_aperio"), "--levels", "1"):
        check_outputs(w("os_aperio"), aperio_expected(aperio), "Aperio SVS, read by OpenSlide")
    generic = w("deflate.tif")
    tifffile.imwrite(generic, img, tile=(64, 64), compression="zlib", photometric="rgb",
                     software="ScanSoft 2.0", metadata=None,
                     extratags=[(271, "s", 0, "Acme Scanners", True),
                                (272, "s", 0, "Model Z", True)])
    props = openslide.OpenSlide(generic).properties
    if convert(bin_, generic, w("os_generic"), "--mpp", "0.5", "--levels", "1"):
        check_outputs(w("os_generic"), (props.get("tiff.Make"), props.get("tiff.Model"), None,
                                        [props["tiff.Software"]]),
                      "tiled TIFF, read by OpenSlide")

    # A plain TIFF: General Equipment (Type 2 Manufacturer) of its Make, Model, Software,
    # as a VL photograph and as Secondary Capture.
    plain = w("camera.tif")
    tifffile.imwrite(plain, img, photometric="rgb", software="CamFirmware 1.2", metadata=None,
                     extratags=[(271, "s", 0, "ClinicCam", True),
                                (272, "s", 0, "DermaShot 3", True)])
    for kind in ("photo", "radiology"):
        if convert(bin_, plain, w("plain_" + kind), "--kind", kind):
            check_outputs(w("plain_" + kind), tiff_expected(plain), "TIFF", enhanced=False)
    return checks.result()


if __name__ == "__main__":
    sys.exit(main())
