#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A JPEG macro whose TIFF Photometric (RGB) disagrees with its bitstream (YCbCr, 4:2:0)
must keep its colours both when copied and under --reencode. libtiff's RGBA reader goes
by the tag alone and cannot decode it; the converter reads the colour space from the
bitstream, as for tiles.

usage: macro_photometric.py SLIDE2DCM SYNTHETIC-YCBCR.svs WORKDIR

The slide is the bundled synthetic-ycbcr.svs with its macro directory's Photometric
changed from YCbCr to RGB. Both conversions must write overview.dcm (copy, then encode)
within 40 dB of OpenSlide's macro of the unchanged slide, without a warning.
Exit 0 when they do, 1 otherwise."""
import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import openslide

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
import tiffdirs  # noqa: E402
from checks import Checks  # noqa: E402
from macro import macro_case, overview_pixels  # noqa: E402
from wsmcheck import psnr  # noqa: E402

PHOTOMETRIC = 262


def with_rgb_photometric(data, index):
    """The TIFF bytes with directory `index`'s Photometric entry set to 2 (RGB)."""
    data = bytearray(data)
    off = struct.unpack("<I", data[4:8])[0]
    for _ in range(index):
        n = struct.unpack("<H", data[off:off + 2])[0]
        off = struct.unpack("<I", data[off + 2 + 12 * n:off + 6 + 12 * n])[0]
    for i in range(struct.unpack("<H", data[off:off + 2])[0]):
        entry = off + 2 + 12 * i
        if struct.unpack("<H", data[entry:entry + 2])[0] == PHOTOMETRIC:
            data[entry + 8:entry + 10] = struct.pack("<H", 2)
    return bytes(data)


def main():
    binary, source, work, data, dirs, macro = macro_case(sys.argv)
    checks = Checks()
    if not checks.expect(tiffdirs.number(dirs[macro], PHOTOMETRIC) == 6,
                         "the source's macro is YCbCr to begin with"):
        return checks.result()
    slide_path = work / "macro-says-rgb.svs"
    slide_path.write_bytes(with_rgb_photometric(data, macro))
    reference = np.asarray(openslide.OpenSlide(source).associated_images["macro"].convert("RGB"))
    for options, mode in (([], "copy"), (["--reencode"], "encode")):
        out, report = work / ("out" + "".join(options)), work / ("report%s.json" % "".join(options))
        run = subprocess.run([binary, "convert", str(slide_path), "-o", str(out),
                              "--json-report", str(report)] + options,
                             capture_output=True, text=True)
        what = " ".join(options) or "default"
        if not checks.expect(run.returncode == 0 and "warning" not in run.stderr, what,
                             "exit %d: %s" % (run.returncode, run.stderr.strip())):
            continue
        modes = {f["name"]: f.get("mode") for f in json.load(open(report))["files"]}
        if not checks.expect(modes.get("overview.dcm") == mode, what,
                             "overview.dcm mode %r, expected %s" % (modes.get("overview.dcm"), mode)):
            continue
        ds, got = overview_pixels(out)
        value = psnr(got, reference) if got.shape == reference.shape else 0.0
        print("%s: overview.dcm [%s] %s, %.1f dB vs the macro" %
              (what, mode, ds.PhotometricInterpretation, value))
        checks.expect(value >= 40, what, "overview.dcm %.1f dB vs OpenSlide's macro of the "
                      "unchanged slide (at least 40)" % value)
    return checks.result()


if __name__ == "__main__":
    sys.exit(main())
