# SPDX-License-Identifier: Apache-2.0
"""dicom-microscopy-viewer shows a converted 3-channel fluorescence slide, each channel in its
colour (issue 17).

The fixture, written here with numpy and tifffile (micro_fixtures.write_ome): an OME-TIFF of
3 channels of 1500 x 1000 pixels, uint16 holding 12-bit values (SignificantBits 12) or, with
--bits 8, uint8: nuclei (DAPI, blue), cytoplasm rings around them (FITC, green) and small
spots of their own (TRITC, red) on a dim noisy background. slide2dcm converts it (--codec
as given, else its default), sends it to a fresh Orthanc by STOW-RS, and the page
(fluorescence.html) shows every optical path through its own Palette Color LUT, with the
display range [0, 4095] (12-bit) or [0, 255] set as the viewer's limitValues, in Debian's
headless Chromium (shoot.mjs).

The screenshot is compared with a composite computed here from the source planes, apart
from the viewer and from slide2dcm: each channel scaled by the same display range, times
its OME colour, squared (the viewer's blending of channel layers, see composite()), added,
clipped. Both are reduced to a grid of cells over the slide's box (the viewer fits the
slide in its 800 x 600 viewport, centred); per colour component (R, G, B) the cells must
correlate (Pearson, MIN_CORRELATION) and agree in level (MAX_MEAN_DIFF out of 255). The test
then shows the slide again with the LUTs of channels 1 and 2 exchanged in the page, and
fails unless that comparison fails: a channel in the wrong colour must be caught.
Measured with Debian 12's Chromium, the same for JPEG 2000, JPEG-LS and native frames and
for 8-bit data: r = 0.982, 0.987, 0.995 and |d| = 0.3, 1.6, 1.1 (R, G, B); with the LUTs
exchanged G and B fall to r = -0.03, |d| = 17.
Without limitValues the viewer's display range is [0, 2^Bits Allocated - 1]: 12-bit data in
16 bits then shows black (at most 1/255: 4095/65535 of the ramp, squared by the blending).

The page is served by Orthanc (ServeFolders), the npm packages from the fixture viewer.npm
(site_folder.py). Run it with /usr/bin/python3 (Debian's numpy, PIL, pydicom, tifffile).

usage: fluorescence_test.py SLIDE2DCM WORKDIR [--codec C] [--bits 16|8]"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pydicom
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration", "lib"))
from micro_fixtures import BLUE, GREEN, RED, channel, write_ome  # noqa: E402
from pacs import Orthanc  # noqa: E402
from site_folder import make_site  # noqa: E402

PAGE_FILES = ["fluorescence.html", "fluorescence.js", "shoot.mjs"]
WIDTH, HEIGHT = 1500, 1000
VIEW_W, VIEW_H = 800, 600
GRID = (40, 60)            # rows, columns of cells over the slide's box
MIN_CORRELATION = 0.95     # per colour component, screenshot cells against the composite's
MAX_MEAN_DIFF = 6.0        # mean |screenshot - composite| per colour component, out of 255
CHANNELS = [channel("DAPI", BLUE, 358, 461), channel("FITC", GREEN, 495, 519),
            channel("TRITC", RED, 557, 576)]


def disc(shape, cy, cx, radius):
    y, x = np.ogrid[0:shape[0], 0:shape[1]]
    return (y - cy) ** 2 + (x - cx) ** 2 < radius ** 2


def fluorescence_planes(bits):
    """Three planes in 12-bit values (uint16) or the same >> 4 (uint8)."""
    rng = np.random.default_rng(17)
    shape = (HEIGHT, WIDTH)
    nuclei, cytoplasm, spots = (np.zeros(shape) for _ in range(3))
    pitch = 125
    for gy in range(HEIGHT // pitch):
        for gx in range(WIDTH // pitch):
            if rng.random() < 0.3:
                continue
            cy = gy * pitch + pitch / 2 + rng.uniform(-8, 8)
            cx = gx * pitch + pitch / 2 + rng.uniform(-8, 8)
            r = rng.uniform(18, 30)
            nuclei[disc(shape, cy, cx, r)] += rng.uniform(0.5, 0.95)
            ring = disc(shape, cy, cx, r * 1.9) & ~disc(shape, cy, cx, r * 1.35)
            cytoplasm[ring] += rng.uniform(0.4, 0.8)
    for _ in range(60):
        cy, cx = rng.uniform(10, HEIGHT - 10), rng.uniform(10, WIDTH - 10)
        spots[disc(shape, cy, cx, rng.uniform(6, 10))] = rng.uniform(0.6, 1.0)
    planes = []
    for signal in (nuclei, cytoplasm, spots):
        value = 80 + np.clip(signal, 0, 1) * 3800 + rng.normal(0, 25, shape)
        value = np.clip(np.rint(value), 0, 4095).astype(np.uint16)
        planes.append(value if bits == 16 else (value >> 4).astype(np.uint8))
    return planes


def composite(planes, colours, low, high):
    """The expected picture, 0..255 floats: each channel windowed to [low, high], times its
    colour, squared (the viewer blends each channel's layer with gl.blendFunc(SRC_COLOR,
    ONE): source times source, plus what is there), added, clipped."""
    out = np.zeros(planes[0].shape + (3,))
    for plane, colour in zip(planes, colours):
        level = np.clip((plane.astype(np.float64) - low) / (high - low), 0, 1)
        rgb = np.array(colour, dtype=np.float64) / 255
        out += (level[:, :, None] * rgb[None, None, :]) ** 2
    return np.clip(out, 0, 1) * 255


def cells(rgb):
    """Box-reduces an H x W x 3 float image to the GRID."""
    h, w, _ = rgb.shape
    ys = np.linspace(0, h, GRID[0] + 1).astype(int)
    xs = np.linspace(0, w, GRID[1] + 1).astype(int)
    return np.array([[rgb[ys[i]:ys[i + 1], xs[j]:xs[j + 1]].mean(axis=(0, 1))
                      for j in range(GRID[1])] for i in range(GRID[0])])


def compare(shot_path, expected_cells):
    """Per colour component: correlation and mean |difference| of the screenshot's cells
    over the slide's box against the composite's."""
    scale = min(VIEW_W / WIDTH, VIEW_H / HEIGHT)
    bw, bh = round(WIDTH * scale), round(HEIGHT * scale)
    x0, y0 = (VIEW_W - bw) // 2, (VIEW_H - bh) // 2
    shot = Image.open(shot_path).convert("RGB")
    assert shot.size == (VIEW_W, VIEW_H), shot.size
    seen = cells(np.asarray(shot.crop((x0, y0, x0 + bw, y0 + bh)), dtype=np.float64))
    result = []
    for k in range(3):
        a, b = seen[:, :, k].ravel(), expected_cells[:, :, k].ravel()
        corr = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else 0.0
        result.append({"correlation": corr, "mean_diff": float(np.abs(a - b).mean()),
                       "mean_seen": float(a.mean()), "mean_expected": float(b.mean())})
    return result


def passes(scores):
    return all(s["correlation"] >= MIN_CORRELATION and s["mean_diff"] <= MAX_MEAN_DIFF
               for s in scores)


def describe(scores):
    return "; ".join("%s r=%.3f |d|=%.1f (%.1f vs %.1f)" % (
        name, s["correlation"], s["mean_diff"], s["mean_seen"], s["mean_expected"])
        for name, s in zip("RGB", scores))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("slide2dcm")
    ap.add_argument("work")
    ap.add_argument("--codec")
    ap.add_argument("--bits", type=int, choices=(8, 16), default=16)
    a = ap.parse_args()
    work = os.path.abspath(a.work)
    shutil.rmtree(work, ignore_errors=True)
    site, converted = f"{work}/site", f"{work}/converted"
    os.makedirs(work)
    planes = fluorescence_planes(a.bits)
    fixture = f"{work}/fluorescence.ome.tif"
    dtype = "uint16" if a.bits == 16 else "uint8"
    write_ome(fixture, {(c, 0, 0): p for c, p in enumerate(planes)}, 3, 1, 1, dtype, CHANNELS,
              significant_bits=12 if a.bits == 16 else None)
    subprocess.run([a.slide2dcm, "convert", fixture, "-o", converted, "--quiet"] +
                   (["--codec", a.codec] if a.codec else []), check=True)
    first = pydicom.dcmread(f"{converted}/c1-level-0.dcm", stop_before_pixels=True)
    print(f"converted: {sorted(os.listdir(converted))}, transfer syntax "
          f"{first.file_meta.TransferSyntaxUID}, Bits Stored {first.BitsStored}")
    make_site(site, PAGE_FILES)

    low, high = 0, 4095 if a.bits == 16 else 255
    expected = cells(composite(planes, [c["colour"] for c in CHANNELS], low, high))
    shots = {}
    with Orthanc(work, serve_folders={"/viewer": site}) as orthanc:
        subprocess.run([a.slide2dcm, "send", converted, "--stow",
                        f"{orthanc.url}/dicom-web/studies", "-q"], check=True)
        base = (f"{orthanc.url}/viewer/fluorescence.html?dicomweb={orthanc.url}/dicom-web"
                f"&study={first.StudyInstanceUID}&series={first.SeriesInstanceUID}"
                f"&limits={low},{high}")
        for variant, query in (("colours", ""), ("swapped", "&swap=1,2")):
            shot, state = f"{work}/{variant}.png", f"{work}/{variant}.json"
            subprocess.run(["node", f"{site}/shoot.mjs", base + query, shot, state],
                           check=True)
            shots[variant] = (compare(shot, expected), json.load(open(state)))

    scores, state = shots["colours"]
    shown = [(c["id"], c["description"], c["limits"], c["visible"])
             for c in sorted(state["channels"], key=lambda c: c["id"])]
    print(f"channels shown: {shown}")
    want = [(str(k + 1), c["name"], [low, high], True) for k, c in enumerate(CHANNELS)]
    assert shown == want, f"the viewer shows {shown}, expected {want}"
    print(f"as converted: {describe(scores)}")
    swapped = shots["swapped"][0]
    print(f"channels 1 and 2 in each other's colour: {describe(swapped)}")
    assert passes(scores), "the viewer's rendering differs from the composite of the source"
    assert not passes(swapped), \
        "the comparison cannot tell channels shown in the wrong colours from the right ones"
    shutil.rmtree(site)


if __name__ == "__main__":
    main()
