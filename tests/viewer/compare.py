# SPDX-License-Identifier: Apache-2.0
"""Compares the viewer's screenshot with OpenSlide's own rendering of the source slide.

The viewer fits the whole slide into its 800x600 viewport, centred; the same box is cut
from the screenshot and compared with OpenSlide's thumbnail at that size, both reduced to a
coarse grid (the viewer's resampling differs from OpenSlide's; layout and colour are what
is checked). Passes when the mean absolute difference is small, and also checks that the
measure would catch the faults it is meant for: the same thumbnail with red and blue
swapped, or upside down, must score clearly worse.

usage: compare.py SCREENSHOT.png SLIDE"""
import sys

import numpy as np
import openslide
from PIL import Image

VIEW_W, VIEW_H = 800, 600
GRID = (48, 64)           # rows, columns of the coarse comparison grid
MAX_MEAN_DIFF = 12.0      # out of 255, over all pixels and channels
MIN_FAULT_MARGIN = 2.0    # a faulty rendering must differ at least this many times more


def grid(img):
    return np.asarray(img.convert("RGB").resize((GRID[1], GRID[0]), Image.BOX), dtype=float)


def main(shot_path, slide_path):
    slide = openslide.OpenSlide(slide_path)
    w, h = slide.dimensions
    scale = min(VIEW_W / w, VIEW_H / h)
    bw, bh = round(w * scale), round(h * scale)
    x0, y0 = (VIEW_W - bw) // 2, (VIEW_H - bh) // 2
    shot = Image.open(shot_path).convert("RGB")
    assert shot.size == (VIEW_W, VIEW_H), shot.size
    seen = grid(shot.crop((x0, y0, x0 + bw, y0 + bh)))
    thumb = slide.get_thumbnail((bw, bh)).convert("RGB").resize((bw, bh))
    expected = grid(thumb)
    diff = np.abs(seen - expected).mean()
    channel = (seen.mean(axis=(0, 1)) - expected.mean(axis=(0, 1))).round(1)
    swapped = np.abs(seen - expected[:, :, ::-1]).mean()
    flipped = np.abs(seen - expected[::-1, :, :]).mean()
    print(f"slide box {bw}x{bh} at ({x0},{y0}); mean |difference| {diff:.2f}/255, "
          f"per-channel mean difference R,G,B {channel.tolist()}; "
          f"against red/blue swapped {swapped:.2f}, upside down {flipped:.2f}")
    assert diff < MAX_MEAN_DIFF, f"the viewer's rendering differs: {diff:.2f}"
    assert swapped > MIN_FAULT_MARGIN * diff and flipped > MIN_FAULT_MARGIN * diff, \
        "the comparison cannot tell a faulty rendering from a good one on this slide"


if __name__ == "__main__":
    main(*sys.argv[1:])
