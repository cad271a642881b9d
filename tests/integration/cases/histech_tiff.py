#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""histech_tiff.py SLIDE2DCM SLIDE.tiff WORKDIR

3DHistech TIFF (issue 21), run with Debian's /usr/bin/python3 (pydicom, tifffile,
openslide), on make_svs --format 3dhistech's slide: tiled JPEG levels whose descriptions
hold "|MPP = ..|3dh_PixelSizeX = ..|Date = dd/mm/yyyy|Time = ..".

OpenSlide 3.4.1 has no reader of its own for it: a generic TIFF, with no pixel size. Ours
(fmt_3dhistech.c) copies its levels (frames against the tiles: passthrough.3dhistech) and
takes from IFD 0's description, as tifffile reads it here: the pixel size (MPP), the scan's
date and time (day first), and 3DHISTECH as the manufacturer; the format title "3DHistech
TIFF". Without that description's pair the same file is a generic tiled TIFF, which needs
--mpp: the control that the pixel size comes from the description."""
import os
import sys

import openslide
import pydicom
import tifffile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import Checks  # noqa: E402
from runs import convert_and_read, output_headers  # noqa: E402

checks = Checks()


def description_pairs(path):
    with tifffile.TiffFile(path) as t:
        text = t.pages[0].tags[270].value
    pairs = {}
    for part in text.split("|")[1:]:
        key, _, value = part.partition(" = ")
        pairs[key.strip()] = value.strip()
    return pairs


def main():
    bin_, slide, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    name = os.path.basename(slide)
    checks.expect(openslide.OpenSlide.detect_format(slide) == "generic-tiff",
                  "%s: a generic TIFF to OpenSlide 3.4.1" % name)
    want = description_pairs(slide)
    out = os.path.join(work, "converted")
    r, report = convert_and_read(bin_, slide, out, "--quiet")
    if not checks.expect(r.returncode == 0 and report, "%s converts without --mpp" % name,
                         r.stderr):
        sys.exit(checks.result())
    modes = {f["name"]: f["mode"] for f in report["files"]}
    levels = sorted(n for n in modes if n.startswith("level-") and modes[n] == "copy")
    checks.expect(levels == ["level-0.dcm", "level-1.dcm", "level-2.dcm", "level-3.dcm"],
                  "%s: its four levels copied" % name, str(modes))
    day, month, year = want["Date"].split("/")
    stamp = year + month + day + want["Time"].replace(":", "")
    for f, ds in output_headers(out, report):
        tag = "%s %s: " % (name, f)
        checks.expect(ds.ContributingEquipmentSequence[0].ContributionDescription ==
                      "Converted from 3DHistech TIFF", tag + "read as 3DHistech TIFF")
        checks.expect(ds.Manufacturer == "3DHISTECH", tag + "manufacturer 3DHISTECH",
                      ds.Manufacturer)
        checks.expect(ds.AcquisitionDateTime.startswith(stamp), tag + "scan date, day first",
                      ds.AcquisitionDateTime)
    ds = pydicom.dcmread(os.path.join(out, "level-0.dcm"), stop_before_pixels=True)
    spacing = ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing
    checks.expect(all(abs(float(v) * 1000 - float(want["MPP"])) < 1e-9 for v in spacing),
                  "%s level-0: pixel spacing = MPP %s um" % (name, want["MPP"]), str(spacing))
    # The control: the same tiles with the 3DHistech pair renamed are a generic tiled TIFF,
    # which records no pixel size.
    plain = os.path.join(work, "renamed.tiff")
    data = open(slide, "rb").read()
    open(plain, "wb").write(data.replace(b"|3dh_PixelSizeX = ", b"|xdh_PixelSizeX = "))
    r, _ = convert_and_read(bin_, plain, os.path.join(work, "renamed"), "--quiet")
    checks.expect(r.returncode != 0 and "pixel size" in r.stderr,
                  "control: without the 3dh pair, a generic TIFF asking for --mpp",
                  r.stderr.strip())
    sys.exit(checks.result())


if __name__ == "__main__":
    main()
