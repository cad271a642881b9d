#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""YCbCr JPEG tiles decoded straight into the encoder's planes, never through RGB: under
--reencode each level-0 frame is made from the source tile's own Y, Cb and Cr, and in the
default mode the tiles feeding the 2x level are decoded at half size the same way. Colourful
tiles (gradients and stripes in every hue) so that a chroma plane out of place shows.

usage: ycbcr_planes.py SLIDE2DCM WORKDIR

The slides are written here (synthetic_tiff.tiled_tiff): 1600 x 1100 pixels of hues across and
saturation down, with texture and a white margin, in 256-pixel JPEG tiles (the last column and row partly
outside the image; level 0 is too large to make the thumbnail, which would need its RGB),
4:4:4 and 4:2:0. Each is converted
with --reencode (4:2:0 frames: 4:4:4 chroma averaged 2x2, 4:2:0 chroma as it is), with
--reencode --subsampling 444 (4:4:4 as it is; 4:2:0 cannot be upsampled this way and goes
through RGB) and by default (level 0 copied, level 1 from the half-size planes), and must
pass check_conversion.py: dciodvfy, verify-wsm-frames, level 0 against OpenSlide, every
generated level against the 2x2 average of the level above.

Then the edges: a 1301 x 901 slide of 4:4:4 tiles padded past the image with green, its
last three columns and rows magenta. Re-encoded to 4:2:0, the chroma sample that straddles
the odd edge must average the image's pixel alone, not the source's padding: level 0's last
column and row against OpenSlide's must stay above EDGE_PSNR_MIN (averaged with the
source's padding they came out at 10 dB; through RGB, averaged with the white background
that pads frames, at 19 dB). Exit 0 when all pass."""
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import openslide
import pydicom

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from checks import Checks  # noqa: E402
from runs import checker, convert  # noqa: E402
from synthetic_tiff import tiled_tiff  # noqa: E402
from wsmcheck import psnr  # noqa: E402

WIDTH, HEIGHT = 1600, 1100
MARGIN = 40
EDGE_PSNR_MIN = 28.0
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


def level0_pixels(path):
    """Level 0 of a TILED_FULL file as one RGB array (pydicom converts YBR to RGB)."""
    ds = pydicom.dcmread(str(path))
    frames = ds.pixel_array
    if ds.PhotometricInterpretation != "RGB":
        frames = pydicom.pixel_data_handlers.util.convert_color_space(
            frames, ds.PhotometricInterpretation, "RGB")
    frames = frames.reshape((-1, ds.Rows, ds.Columns, 3))
    across = -(-ds.TotalPixelMatrixColumns // ds.Columns)
    down = -(-ds.TotalPixelMatrixRows // ds.Rows)
    mosaic = np.zeros((down * ds.Rows, across * ds.Columns, 3), np.uint8)
    for i, frame in enumerate(frames):
        r, c = divmod(i, across)
        mosaic[r * ds.Rows:(r + 1) * ds.Rows, c * ds.Columns:(c + 1) * ds.Columns] = frame
    return mosaic[:ds.TotalPixelMatrixRows, :ds.TotalPixelMatrixColumns]


def check_edges(binary, work, checks):
    """The odd-edge case of the docstring."""
    w, h = 1301, 901
    img = np.empty((h, w, 3), np.uint8)
    img[:] = (90, 150, 210)
    img[:, w - 3:] = (200, 40, 160)
    img[h - 3:, :] = (200, 40, 160)
    slide, out = work / "edge-444.tif", work / "edge-reencode"
    tiled_tiff(slide, 256, img, quality=95, subsampling=0, pad=(0, 255, 0))
    run = subprocess.run([binary, "convert", str(slide), "-o", str(out), "--mpp", "0.5",
                          "--quiet", "--reencode"], capture_output=True, text=True)
    if run.returncode != 0:
        checks.fail("edges", "exit %d: %s" % (run.returncode, run.stderr.strip()))
        return
    ours = level0_pixels(out / "level-0.dcm")
    source = np.asarray(openslide.OpenSlide(str(slide)).read_region((0, 0), 0, (w, h)))[..., :3]
    for name, a, b in (("last column", ours[:, -1], source[:, -1]),
                       ("last row", ours[-1, :], source[-1, :])):
        value = psnr(a, b)
        # Below the minimum, the source's padding got into the edge's chroma.
        checks.expect(value >= EDGE_PSNR_MIN, "edges", "level 0's %s %.1f dB from OpenSlide's "
                      "(at least %.0f)" % (name, value, EDGE_PSNR_MIN))


def main():
    binary, work = sys.argv[1], Path(sys.argv[2])
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    checks = Checks()
    for source, pillow_subsampling in (("444", 0), ("420", 2)):
        slide = work / ("ycbcr-%s.tif" % source)
        tiled_tiff(slide, 256, colourful(), quality=92, subsampling=pillow_subsampling)
        for name, extra, out_subsampling in CASES:
            what = "%s tiles, %s" % (source, name)
            out, report = work / ("%s-%s" % (source, name)), work / ("%s-%s.json" % (source, name))
            failed = convert(binary, slide, out, report, extra)
            if failed:
                checks.fail(what, failed)
                continue
            check = checker("check_conversion.py", slide, out, report,
                            ["--mpp", "0.5", "--psnr-min", "34", "--levels", "generated",
                             "--subsampling", out_subsampling]
                            + (["--reencode"] if "--reencode" in extra else []))
            if check.returncode != 0:
                checks.fail(what, "checks fail:\n%s" % check.stdout[-1500:])
            else:
                level0 = [line.strip() for line in check.stdout.splitlines()
                          if line.strip().startswith("level-0.dcm") and "PSNR" in line]
                checks.ok(what, level0[0] if level0 else "checks pass")
    check_edges(binary, work, checks)
    return checks.result()


if __name__ == "__main__":
    sys.exit(main())
