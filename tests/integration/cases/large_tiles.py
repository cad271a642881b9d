#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Source tiles larger than the reader's read window (1 MiB; source/tiffio.c READ_WINDOW):
each such tile is read on its own, into a window grown to hold it, and the small tiles
after it are read a window at a time into that grown window. The frames must still be the
tiles byte for byte (check_passthrough.py) and pass the usual checks (check_conversion.py:
dciodvfy, verify-wsm-frames, pixels against OpenSlide).

usage: large_tiles.py SLIDE2DCM WORKDIR

The slide is written here (synthetic_tiff.tiled_tiff): 3000 x 1100 pixels, 1024-pixel JPEG
tiles at Q95 4:4:4; noise over gradients in the first two tile columns (tiles above
1 MiB), gradients alone in the third (tiles of a few KB), which is partly outside the
image, as is the second tile row. It is converted by default (frames copied) and with
--threads 2 (two readers, each with its own window). Exit 0 when both pass, 1 otherwise."""
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from checks import Checks  # noqa: E402
from runs import checker, convert  # noqa: E402
from synthetic_tiff import tiled_tiff  # noqa: E402

WIDTH, HEIGHT, TILE = 3000, 1100, 1024
READ_WINDOW = 1 << 20


def noisy_image():
    rng = np.random.default_rng(5)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    base = np.stack([x * 255 // WIDTH, y * 255 // HEIGHT, (x + y) * 255 // (WIDTH + HEIGHT)], -1)
    noise = rng.integers(-60, 61, (HEIGHT, WIDTH, 3))
    noise[:, 2 * TILE:] = 0
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def main():
    binary, work = sys.argv[1], Path(sys.argv[2])
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    slide = work / "large-tiles.tif"
    sizes = tiled_tiff(slide, TILE, noisy_image(), quality=95, subsampling=0)
    checks = Checks()
    if not checks.expect(any(a > READ_WINDOW >= b for a, b in zip(sizes, sizes[1:])),
                         "the test slide has a tile above the read window followed by one "
                         "below it: %s" % sizes):
        return checks.result()
    for name, extra in (("default", []), ("2 threads", ["--threads", "2"])):
        out = work / name.replace(" ", "-")
        report = work / (name.replace(" ", "-") + ".json")
        failed = convert(binary, slide, out, report, extra)
        if failed:
            checks.fail(name, failed)
            continue
        before = len(checks.failures)
        for script, args in (
                # Level 0 is the source's tiles; the levels below are made from it.
                ("check_passthrough.py", ["--copied", "level-0.dcm"]),
                ("check_conversion.py", ["--mpp", "0.5", "--levels", "generated",
                                         "--quality", "90", "--psnr-min", "30"])):
            check = checker(script, slide, out, report, args)
            if check.returncode != 0:
                checks.fail(name, "%s fails:\n%s" % (script, check.stdout[-1500:]))
        if len(checks.failures) == before:
            checks.ok(name, "tiles of %s bytes copied byte for byte, checks pass"
                      % ", ".join(str(n) for n in sizes))
    return checks.result()


if __name__ == "__main__":
    sys.exit(main())
