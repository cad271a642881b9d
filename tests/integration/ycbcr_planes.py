#!/usr/bin/python3
"""YCbCr JPEG tiles decoded straight into the encoder's planes, never through RGB: under
--reencode each level-0 frame is made from the source tile's own Y, Cb and Cr, and in the
default mode the tiles feeding the 2x level are decoded at half size the same way. Colourful
tiles (gradients and stripes in every hue) so that a chroma plane out of place shows.

usage: ycbcr_planes.py SLIDE2DCM WORKDIR

The slides are written here (odd_tiles.tiled_tiff): 2100 x 1500 pixels of hues across and
saturation down, with texture and a white margin, in 256-pixel JPEG tiles (the last column and row partly
outside the image; level 0 is too large to make the thumbnail, which would need its RGB),
4:4:4 and 4:2:0. Each is converted
with --reencode (4:2:0 frames: 4:4:4 chroma averaged 2x2, 4:2:0 chroma as it is), with
--reencode --subsampling 444 (4:4:4 as it is; 4:2:0 cannot be upsampled this way and goes
through RGB) and by default (level 0 copied, level 1 from the half-size planes), and must
pass check_conversion.py: dciodvfy, verify-wsm-frames, level 0 against OpenSlide, every
generated level against the 2x2 average of the level above. Exit 0 when all pass."""
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from odd_tiles import tiled_tiff

HERE = Path(__file__).resolve().parent
WIDTH, HEIGHT = 2100, 1500
MARGIN = 40
CASES = (("reencode", ["--reencode"], "420"),
         ("reencode-444", ["--reencode", "--subsampling", "444"], "444"),
         ("default", [], "420"))


def colourful():
    """Every hue across, grey to full saturation down, a fine texture over it, and a white
    margin at the right and bottom as on a slide (so that the edge checks are not about the
    chroma a decoder's upsampling takes from the background padding beyond the image: see
    docs/benchmarks.md, "edges")."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    hue = x / WIDTH * 6.0
    sat = 0.15 + 0.85 * y / HEIGHT
    k = np.floor(hue)
    f = hue - k
    ramps = {0: (1, f, 0), 1: (1 - f, 1, 0), 2: (0, 1, f), 3: (0, 1 - f, 1), 4: (f, 0, 1),
             5: (1, 0, 1 - f)}
    rgb = np.zeros((HEIGHT, WIDTH, 3))
    for sector, (r, g, b) in ramps.items():
        m = k == sector
        for c, v in enumerate((r, g, b)):
            rgb[..., c][m] = (v if np.isscalar(v) else v[m])
    rgb = 255 * ((1 - sat)[..., None] * 0.75 + sat[..., None] * rgb * 0.9)
    texture = 12 * np.sin(x / 3.0) * np.cos(y / 5.0)
    rgb = rgb + texture[..., None]
    rgb[:, WIDTH - MARGIN:] = 255
    rgb[HEIGHT - MARGIN:, :] = 255
    return np.clip(rgb, 0, 255).astype(np.uint8)


def main():
    binary, work = sys.argv[1], Path(sys.argv[2])
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    failures = []
    for source, pillow_subsampling in (("444", 0), ("420", 2)):
        slide = work / ("ycbcr-%s.tif" % source)
        tiled_tiff(slide, 256, colourful(), quality=92, subsampling=pillow_subsampling)
        for name, extra, out_subsampling in CASES:
            what = "%s tiles, %s" % (source, name)
            out, report = work / ("%s-%s" % (source, name)), work / ("%s-%s.json" % (source, name))
            run = subprocess.run([binary, "convert", str(slide), "-o", str(out), "--mpp", "0.5",
                                  "--quiet", "--json-report", str(report)] + extra,
                                 capture_output=True, text=True)
            if run.returncode != 0:
                failures.append("%s: exit %d: %s" % (what, run.returncode, run.stderr.strip()))
                continue
            check = subprocess.run(
                [sys.executable, str(HERE / "check_conversion.py"), "--source", str(slide),
                 "--outdir", str(out), "--mpp", "0.5", "--psnr-min", "34", "--levels",
                 "generated", "--subsampling", out_subsampling, "--report", str(report)]
                + (["--reencode"] if "--reencode" in extra else []),
                capture_output=True, text=True)
            if check.returncode != 0:
                failures.append("%s: checks fail:\n%s" % (what, check.stdout[-1500:]))
            else:
                level0 = [line.strip() for line in check.stdout.splitlines()
                          if line.strip().startswith("level-0.dcm") and "PSNR" in line]
                print("ok   %s: %s" % (what, level0[0] if level0 else "checks pass"))
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
