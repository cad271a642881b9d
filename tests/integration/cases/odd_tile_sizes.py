#!/usr/bin/python3
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
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom

LIB = Path(__file__).resolve().parent.parent / "lib"
sys.path.insert(0, str(LIB))
from runs import convert  # noqa: E402
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
    failures = []
    for tile in (40, 250, 255):
        slide = work / ("tiles-%d.tif" % tile)
        tiled_tiff(slide, tile, image())
        for mode, extra in (("default", []), ("reencode", ["--reencode"])):
            out, report = work / ("%d-%s" % (tile, mode)), work / ("%d-%s.json" % (tile, mode))
            what = "tiles of %d, %s" % (tile, mode)
            failed = convert(binary, slide, out, report, extra)
            if failed:
                failures.append("%s: %s" % (what, failed))
                continue
            frames = {(ds.Columns, ds.Rows) for ds in
                      (pydicom.dcmread(f, stop_before_pixels=True) for f in out.glob("level-*.dcm"))}
            before = len(failures)
            if frames != {(256, 256)}:
                failures.append("%s: frame sizes %s, expected 256" % (what, sorted(frames)))
            check = subprocess.run(
                [sys.executable, str(LIB / "check_conversion.py"), "--source", str(slide),
                 "--outdir", str(out), "--mpp", "0.5", "--psnr-min", "32",
                 "--levels", "generated", "--report", str(report)]
                + (["--reencode"] if extra else []), capture_output=True, text=True)
            if check.returncode != 0:
                failures.append("%s: checks fail:\n%s" % (what, check.stdout[-1500:]))
            if len(failures) == before:
                print("ok   %s: 256-pixel frames, checks pass" % what)
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
