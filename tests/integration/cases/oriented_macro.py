#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A JPEG macro image stored upside down (TIFF Orientation 3) must not be copied as it is:
the copy would be upside down, so it is decoded (upright) and encoded, and the overview
must match OpenSlide's macro, which libtiff turns upright too.

usage: oriented_macro.py SLIDE2DCM CMU1.svs WORKDIR

The slide is CMU-1-Small-Region.svs with an Orientation entry added to its macro
directory (a copy of the directory, with the entry, appended to the file and linked in
place of the original). Its thumbnail, stored top row first, must still be copied.
Exit 0 when both hold, 1 otherwise."""
import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import openslide

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from checks import Checks  # noqa: E402
from macro import macro_case, overview_pixels  # noqa: E402
from wsmcheck import psnr  # noqa: E402

ORIENTATION = 274


def with_orientation(data, index, value):
    """The TIFF bytes with directory `index` replaced by a copy that also holds
    Orientation = value. Values stored outside the entries keep their offsets."""
    data = bytearray(data)
    link = 4                                       # where the pointer to IFD 0 sits
    off = struct.unpack("<I", data[4:8])[0]
    for _ in range(index):
        n = struct.unpack("<H", data[off:off + 2])[0]
        link = off + 2 + 12 * n
        off = struct.unpack("<I", data[link:link + 4])[0]
    n = struct.unpack("<H", data[off:off + 2])[0]
    entries = [bytes(data[off + 2 + 12 * i:off + 14 + 12 * i]) for i in range(n)]
    next_ifd = data[off + 2 + 12 * n:off + 6 + 12 * n]
    entries.append(struct.pack("<HHIHH", ORIENTATION, 3, 1, value, 0))
    entries.sort(key=lambda e: struct.unpack("<H", e[:2])[0])
    if len(data) % 2:
        data += b"\0"
    new_off = len(data)
    data += struct.pack("<H", len(entries)) + b"".join(entries) + next_ifd
    data[link:link + 4] = struct.pack("<I", new_off)
    return bytes(data)


def main():
    binary, source, work, data, dirs, macro = macro_case(sys.argv)
    slide_path = work / "oriented-macro.svs"
    slide_path.write_bytes(with_orientation(data, macro, 3))
    out, report = work / "out", work / "report.json"
    run = subprocess.run([binary, "convert", str(slide_path), "-o", str(out), "--json-report",
                          str(report)], capture_output=True, text=True)
    checks = Checks()
    if not checks.expect(run.returncode == 0, "exit %d: %s" % (run.returncode, run.stderr.strip())):
        return checks.result()
    modes = {f["name"]: f.get("mode") for f in json.load(open(report))["files"]}
    checks.expect(modes.get("overview.dcm") == "encode",
                  "overview.dcm mode %r, expected encode (Orientation 3)" % modes.get("overview.dcm"))
    checks.expect(modes.get("thumbnail.dcm") == "copy",
                  "thumbnail.dcm mode %r, expected copy" % modes.get("thumbnail.dcm"))
    got = overview_pixels(out)[1]
    slide = openslide.OpenSlide(str(slide_path))
    upright = np.asarray(slide.associated_images["macro"].convert("RGB"))
    stored = np.asarray(openslide.OpenSlide(source).associated_images["macro"].convert("RGB"))
    if checks.expect(got.shape == upright.shape,
                     "overview %s, OpenSlide's macro %s" % (got.shape, upright.shape)):
        right, wrong = psnr(got, upright), psnr(got, stored)
        print("overview vs OpenSlide's macro: %.1f dB; vs the image as stored: %.1f dB"
              % (right, wrong))
        # The test means something only if turning the image makes a difference.
        checks.expect(psnr(upright, stored) <= 25,
                      "the turned macro differs enough from the stored one to tell them apart")
        checks.expect(right >= 30 and wrong <= right - 10,
                      "overview is OpenSlide's upright macro (%.1f dB, stored image %.1f dB)"
                      % (right, wrong))
    return checks.result()


if __name__ == "__main__":
    sys.exit(main())
