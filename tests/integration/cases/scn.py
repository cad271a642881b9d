#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""scn.py SLIDE2DCM LEICA_SCN WORKDIR

A Leica SCN converted with the defaults, checked against what the file itself says, read
here from its bytes and its XML (not through slide2dcm or OpenSlide):
 - OpenSlide names the vendor "leica", and slide2dcm copies the region's tiles;
 - metadata: Container Identifier and the Barcode Value = the collection's barcode
   (base64), Acquisition DateTime = the region's creationDate, Objective Lens Power = its
   objective, Pixel Spacing = level 0's TIFF resolution, Manufacturer "Leica", model and
   software = its device's model and version;
 - the frames of the glass around the region (never stored) are flat background, and the
   conversion neither warns nor counts a replaced tile;
 - the control: the region's directory moved by half a tile (offsetX) no longer falls on
   the frames' grid, so the region is not copied but read through OpenSlide (the check of
   the copy can fail);
 - a decoy: the root's namespace written only inside another attribute's value (which a
   search of the root tag's text finds) is not Leica's, as for OpenSlide: no vendor reader
   takes it, so the generic reader asks for the pixel size the slide does not record.
   On the real namespace the same file converts (the first run)."""
import base64
import os
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
NS = "{http://www.leica-microsystems.com/scn/2010/10/01}"


def main(bin_, slide, work):
    os.makedirs(work, exist_ok=True)
    data = open(slide, "rb").read()
    ifds = list(tiffdirs.directories(data))
    description = tiffdirs.text(ifds[0], tiffdirs.DESCRIPTION)
    collection = ElementTree.fromstring(description).find(NS + "collection")
    glass = (int(collection.get("sizeX")), int(collection.get("sizeY")))
    region = next(i for i in collection.findall(NS + "image")
                  if (int(i.find(NS + "view").get("offsetX")),
                      int(i.find(NS + "view").get("sizeX"))) != (0, glass[0]))
    vendor = openslide.OpenSlide.detect_format(slide)
    checks.expect(vendor == "leica", "OpenSlide names the vendor", vendor)

    out = os.path.join(work, "default")
    run, report = convert_and_read(bin_, slide, out)
    if not expect_clean_copy(checks, run, report):
        return checks.result()

    ds = pydicom.dcmread(os.path.join(out, "level-0.dcm"))
    barcode = base64.b64decode(collection.find(NS + "barcode").text).decode()
    checks.expect(ds.ContainerIdentifier == barcode, "Container Identifier",
                  "%s (source %s)" % (ds.ContainerIdentifier, barcode))
    created = region.find(NS + "creationDate").text
    when = created[:19].replace("-", "").replace("T", "").replace(":", "")
    checks.expect(ds.AcquisitionDateTime == when, "Acquisition DateTime",
                  "%s (source %s)" % (ds.AcquisitionDateTime, created))
    objective = float(region.find("%sscanSettings/%sobjectiveSettings/%sobjective"
                                  % (NS, NS, NS)).text)
    power = float(ds.OpticalPathSequence[0].ObjectiveLensPower)
    checks.expect(power == objective, "Objective Lens Power", "%s (source %s)" % (power, objective))
    level0 = ifds[int(region.find(NS + "pixels").find(NS + "dimension").get("ifd"))]
    mm = 10.0 / tiffdirs.number(level0, 282)              # pixels per cm -> mm per pixel
    got = [float(v) for v in
           ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing]
    checks.expect(np.allclose(got, [mm, mm], rtol=1e-6), "Pixel Spacing",
                  "%s (source %s mm)" % (got, mm))
    device = region.find(NS + "device")
    for keyword, want in (("Manufacturer", "Leica"),
                          ("ManufacturerModelName", device.get("model"))):
        checks.expect(ds.get(keyword) == want, keyword, "%s (source %s)" % (ds.get(keyword), want))
    versions = ds.get("SoftwareVersions")
    versions = [versions] if isinstance(versions, str) else list(versions or [])
    checks.expect(device.get("version") in versions, "Software Versions",
                  "%s (source %s)" % (versions, device.get("version")))

    # The glass around the region: frames with no stored tile, flat background.
    tile = int(ds.Columns)
    across = -(-int(ds.TotalPixelMatrixColumns) // tile)
    view = region.find(NS + "view")
    nm = int(view.get("sizeX")) / tiffdirs.number(level0, tiffdirs.WIDTH)
    col0 = int(int(view.get("offsetX")) / nm) // tile
    row0 = int(int(view.get("offsetY")) / nm) // tile
    cols, rows = -(-tiffdirs.number(level0, tiffdirs.WIDTH) // tile), \
        -(-tiffdirs.number(level0, tiffdirs.LENGTH) // tile)
    frames = [bytes(f) for f in generate_pixel_data_frame(ds.PixelData, int(ds.NumberOfFrames))]
    outside = [k for k in range(len(frames))
               if not (col0 <= k % across < col0 + cols and row0 <= k // across < row0 + rows)]
    checks.expect(outside, "the glass has frames around the region", len(outside))
    background = np.array(wsmcheck.background_rgb(openslide.OpenSlide(slide)), np.int16)
    space = wsmcheck.jpeg_space_for_pi(ds.PhotometricInterpretation)
    worst = max((int(np.abs(wsmcheck.decode_jpeg(frames[k], space)[0].astype(np.int16) -
                            background).max()) for k in outside), default=0)
    checks.expect(worst <= 3, "frames around the region are background", "max abs diff %d" % worst)

    # The control: the region half a tile further right is not on the frames' grid.
    shifted = description.replace('offsetX="%s"' % view.get("offsetX"),
                                  'offsetX="%d"' % (int(view.get("offsetX")) + nm * tile // 2))
    control = os.path.join(work, "shifted.scn")
    tiffdirs.write_with_text(data, ifds[0], tiffdirs.DESCRIPTION, shifted, control)
    run, report = convert_and_read(bin_, control, os.path.join(work, "shifted"))
    mode = next((f["mode"] for f in report["files"] if f["name"] == "level-0.dcm"), None) \
        if report else None
    checks.expect(run.returncode == 0 and mode == "encode",
                  "control: a region off the tile grid is read through OpenSlide, not copied",
                  "exit %d, level-0 %s" % (run.returncode, mode))

    # Damage: the region's offsetX past what a 64-bit integer holds is refused in one line
    # naming the attribute (room made by dropping the collection's uuid, which is unread).
    damaged_text = description.replace(' uuid="%s"' % collection.get("uuid"), "", 1).replace(
        'offsetX="%s"' % view.get("offsetX"), 'offsetX="99999999999999999999"')
    assert len(damaged_text.encode()) <= len(description.encode())
    damaged = os.path.join(work, "offset-out-of-range.scn")
    tiffdirs.write_with_text(data, ifds[0], tiffdirs.DESCRIPTION, damaged_text, damaged)
    run, _ = convert_and_read(bin_, damaged, os.path.join(work, "offset-out-of-range"))
    lines = run.stderr.strip().splitlines()
    checks.expect(run.returncode == 1 and len(lines) == 1 and "offsetX" in lines[0] and
                  "out of range" in lines[0] and "9999" not in lines[0],
                  "an offset out of range: refused in one line naming the attribute",
                  "exit %d: %s" % (run.returncode, run.stderr.strip()))

    # A decoy: the namespace only inside another attribute's value (room made by dropping
    # the XML declaration, which is optional).
    decoy_text = description[description.index("?>") + 2:].replace(
        'xmlns="%s"' % NS[1:-1], "comment='xmlns=\"%s\"'" % NS[1:-1], 1)
    assert len(decoy_text.encode()) <= len(description.encode()) and "comment=" in decoy_text
    decoy = os.path.join(work, "namespace-decoy.scn")
    tiffdirs.write_with_text(data, ifds[0], tiffdirs.DESCRIPTION, decoy_text, decoy)
    vendor = openslide.OpenSlide.detect_format(decoy)
    checks.expect(vendor != "leica", "decoy: OpenSlide does not take it for Leica", vendor)
    run, _ = convert_and_read(bin_, decoy, os.path.join(work, "namespace-decoy"))
    lines = run.stderr.strip().splitlines()
    checks.expect(run.returncode == 1 and len(lines) == 1 and "pixel size" in lines[0],
                  "decoy: a namespace inside another attribute's value is not Leica's",
                  "exit %d: %s" % (run.returncode, run.stderr.strip()))
    return checks.result()


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
