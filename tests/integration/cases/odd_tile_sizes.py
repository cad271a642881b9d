#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Tiled JPEG TIFFs whose tile size is not a multiple of 16 (TIFF requires it; libtiff only
warns when reading): frames are always a multiple of 16, so such a file is decoded into
256-pixel frames, by default and under --reencode, and the output must pass the usual
checks (check_conversion.py: dciodvfy, verify-wsm-frames, pixels against OpenSlide).

usage: odd_tile_sizes.py SLIDE2DCM WORKDIR

The files are written here byte by byte (libtiff refuses to write such tiles): 1001 x 777
pixels of gradients and stripes, one baseline JPEG per tile (Pillow, Q90 4:2:0), tiles of
40 (even, a multiple of 4 and 8), 250 (even, not a multiple of 4) and 255 (odd) pixels.
Exit 0 when every conversion passes, 1 otherwise."""
import shutil
import sys
from pathlib import Path

import numpy as np
import pydicom

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from checks import Checks  # noqa: E402
from runs import checker, convert  # noqa: E402
from synthetic_tiff import tiled_tiff  # noqa: E402

WIDTH, HEIGHT = 1001, 777


def image():
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    img = np.stack([x * 255 // WIDTH, y * 255 // HEIGHT, (x * 3 + y) % 256], -1)
    img[((x // 9) + (y // 13)) % 4 == 0] = [190, 60, 120]
    return img.astype(np.uint8)


def main():
    binary, work = sys.argv[1], Path(sys.argv[2])
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    checks = Checks()
    for tile in (40, 250, 255):
        slide = work / ("tiles-%d.tif" % tile)
        tiled_tiff(slide, tile, image())
        for mode, extra in (("default", []), ("reencode", ["--reencode"])):
            out, report = work / ("%d-%s" % (tile, mode)), work / ("%d-%s.json" % (tile, mode))
            what = "tiles of %d, %s" % (tile, mode)
            failed = convert(binary, slide, out, report, extra)
            if failed:
                checks.fail(what, failed)
                continue
            frames = {(ds.Columns, ds.Rows) for ds in
                      (pydicom.dcmread(f, stop_before_pixels=True) for f in out.glob("level-*.dcm"))}
            before = len(checks.failures)
            if frames != {(256, 256)}:
                checks.fail(what, "frame sizes %s, expected 256" % sorted(frames))
            check = checker("check_conversion.py", slide, out, report,
                            ["--mpp", "0.5", "--psnr-min", "32", "--levels", "generated"]
                            + (["--reencode"] if extra else []))
            if check.returncode != 0:
                checks.fail(what, "checks fail:\n%s" % check.stdout[-1500:])
            if len(checks.failures) == before:
                checks.ok(what, "256-pixel frames, checks pass")
    return checks.result()


if __name__ == "__main__":
    sys.exit(main())
