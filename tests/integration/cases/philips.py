#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""philips.py SLIDE2DCM PHILIPS_TIFF WORKDIR

A Philips TIFF converted with the defaults, checked against what the file itself says,
read here from its bytes and its XML (not through slide2dcm or OpenSlide):
 - OpenSlide names the vendor "philips", and slide2dcm copies its tiles (the report's mode);
 - metadata: Container Identifier and Barcode Value = PIM_DP_UFS_BARCODE (base64),
   Manufacturer, model, serial number and software versions = the DICOM_ attributes,
   Acquisition DateTime = DICOM_ACQUISITION_DATETIME, Pixel Spacing = the WSI's
   DICOM_PIXEL_SPACING, Objective Lens Power = the first value of "levels=" in
   DICOM_DERIVATION_DESCRIPTION;
 - sparse tiles (zero byte count, never scanned): the frames at their places are flat
   background, and the conversion neither warns nor counts a replaced tile;
 - the same file with damaged tiles where they were sparse: each is a replaced one with a
   warning, so that what keeps the first run quiet is the sparse rule (the check can fail);
 - a decoy: the root's ObjectType written only inside another attribute's value (which a
   search of the root tag's text finds) is not Philips', as for OpenSlide: no vendor reader
   takes it, so the generic reader asks for the pixel size the slide does not record."""
import base64
import os
import struct
import sys
import xml.etree.ElementTree as ElementTree

import numpy as np
import openslide
import pydicom
from pydicom.encaps import generate_pixel_data_frame

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tiffdirs  # noqa: E402
import wsmcheck  # noqa: E402
from checks import Checks  # noqa: E402
from runs import convert_and_read, expect_clean_copy  # noqa: E402

checks = Checks()


def attribute(obj, name):
    found = [a for a in obj.findall("Attribute") if a.get("Name") == name]
    return found[0].text if found else None


def check_metadata(ds, label, root, wsi):
    barcode = base64.b64decode(attribute(root, "PIM_DP_UFS_BARCODE")).decode()
    checks.expect(ds.ContainerIdentifier == barcode, "Container Identifier",
                  "%s (source %s)" % (ds.ContainerIdentifier, barcode))
    checks.expect(label.get("BarcodeValue") == barcode, "the label's Barcode Value",
                  "%s (source %s)" % (label.get("BarcodeValue"), barcode))
    when = attribute(root, "DICOM_ACQUISITION_DATETIME")[:14]
    checks.expect(ds.AcquisitionDateTime == when, "Acquisition DateTime",
                  "%s (source %s)" % (ds.AcquisitionDateTime, when))
    spacing = [float(v) for v in attribute(wsi, "DICOM_PIXEL_SPACING").replace('"', " ").split()]
    got = [float(v) for v in
           ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing]
    checks.expect(np.allclose(got, spacing, rtol=1e-6), "Pixel Spacing",
                  "%s (source %s)" % (got, spacing))
    for keyword, name in (("Manufacturer", "DICOM_MANUFACTURER"),
                          ("ManufacturerModelName", "DICOM_MANUFACTURERS_MODEL_NAME"),
                          ("DeviceSerialNumber", "DICOM_DEVICE_SERIAL_NUMBER")):
        checks.expect(ds.get(keyword) == attribute(root, name), keyword,
                      "%s (source %s)" % (ds.get(keyword), attribute(root, name)))
    versions = attribute(root, "DICOM_SOFTWARE_VERSIONS").replace('"', " ").split()
    got = ds.get("SoftwareVersions")
    got = [got] if isinstance(got, str) else list(got or [])
    checks.expect(got == versions, "Software Versions", "%s (source %s)" % (got, versions))
    derivation = attribute(wsi, "DICOM_DERIVATION_DESCRIPTION")
    objective = float(derivation.split("levels=")[1].split(",")[0].split("-")[0])
    power = float(ds.OpticalPathSequence[0].ObjectiveLensPower)
    checks.expect(power == objective, "Objective Lens Power", "%s (source %s)" % (power, objective))


def damaged_instead_of_sparse(data, ifd, sparse):
    """The file's bytes with the level's sparse tiles pointing at the first half of one of
    its stored tiles: headers that read, a scan cut short."""
    offsets, counts = tiffdirs.pieces(ifd)
    stored = next(k for k, c in enumerate(counts) if c)
    half = data[offsets[stored]:offsets[stored] + counts[stored] // 2]
    out = bytearray(data) + half
    for tag, value in ((tiffdirs.TILE_OFFSETS, len(data)), (tiffdirs.TILE_COUNTS, len(half))):
        typ, _, _, at = ifd[tag]
        size, code = tiffdirs.TYPES[typ]
        for k in sparse:
            struct.pack_into("<" + code, out, at + k * size, value)
    return bytes(out)


def main(bin_, slide, work):
    os.makedirs(work, exist_ok=True)
    data = open(slide, "rb").read()
    ifds = list(tiffdirs.directories(data))
    root = ElementTree.fromstring(tiffdirs.text(ifds[0], tiffdirs.DESCRIPTION))
    wsi = next(o for o in root.find("Attribute[@Name='PIM_DP_SCANNED_IMAGES']/Array")
               if attribute(o, "PIM_DP_IMAGE_TYPE") == "WSI")
    vendor = openslide.OpenSlide.detect_format(slide)
    checks.expect(vendor == "philips", "OpenSlide names the vendor", vendor)

    out = os.path.join(work, "default")
    run, report = convert_and_read(bin_, slide, out)
    if not expect_clean_copy(checks, run, report):
        return checks.result()
    ds = pydicom.dcmread(os.path.join(out, "level-0.dcm"))
    check_metadata(ds, pydicom.dcmread(os.path.join(out, "label.dcm")), root, wsi)

    # Level 0's sparse tiles (its own byte counts of 0): flat background frames.
    _, counts = tiffdirs.pieces(ifds[0])
    sparse = [k for k, c in enumerate(counts) if c == 0]
    checks.expect(sparse, "the slide has sparse tiles", sparse)
    frames = [bytes(f) for f in generate_pixel_data_frame(ds.PixelData, int(ds.NumberOfFrames))]
    background = np.array(wsmcheck.background_rgb(openslide.OpenSlide(slide)), np.int16)
    space = wsmcheck.jpeg_space_for_pi(ds.PhotometricInterpretation)
    worst = max((int(np.abs(wsmcheck.decode_jpeg(frames[k], space)[0].astype(np.int16) -
                            background).max()) for k in sparse), default=0)
    checks.expect(worst <= 3, "sparse frames are background", "max abs diff %d" % worst)

    # The control: the same tiles stored damaged are broken ones, each replaced and warned
    # of: what keeps the first run quiet is that they were never stored.
    control = os.path.join(work, "damaged.tiff")
    open(control, "wb").write(damaged_instead_of_sparse(data, ifds[0], sparse))
    run, report = convert_and_read(bin_, control, os.path.join(work, "damaged"),
                                   "--max-replaced", "100")
    level0 = next((f for f in report["files"] if f["name"] == "level-0.dcm"), {}) if report else {}
    checks.expect(run.returncode == 0 and level0.get("replaced_tiles") == len(sparse) and
                  report["warnings"] >= len(sparse),
                  "control: damaged tiles where they were sparse are replaced, with warnings",
                  "exit %d, %s replaced, %s warnings"
                  % (run.returncode, level0.get("replaced_tiles"), report and report.get("warnings")))

    # A decoy: ObjectType only inside another attribute's value (room made by dropping the
    # XML declaration, which is optional).
    description = tiffdirs.text(ifds[0], tiffdirs.DESCRIPTION)
    decoy_text = description[description.index("?>") + 2:].replace(
        'ObjectType="DPUfsImport"', "comment='ObjectType=\"DPUfsImport\"'", 1)
    assert len(decoy_text.encode()) <= len(description.encode()) and "comment=" in decoy_text
    decoy = os.path.join(work, "type-decoy.tiff")
    tiffdirs.write_with_text(data, ifds[0], tiffdirs.DESCRIPTION, decoy_text, decoy)
    vendor = openslide.OpenSlide.detect_format(decoy)
    checks.expect(vendor != "philips", "decoy: OpenSlide does not take it for Philips", vendor)
    run, _ = convert_and_read(bin_, decoy, os.path.join(work, "type-decoy"))
    lines = run.stderr.strip().splitlines()
    checks.expect(run.returncode == 1 and len(lines) == 1 and "pixel size" in lines[0],
                  "decoy: an ObjectType inside another attribute's value is not Philips'",
                  "exit %d: %s" % (run.returncode, run.stderr.strip()))
    return checks.result()


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
