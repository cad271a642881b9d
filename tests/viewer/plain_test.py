# SPDX-License-Identifier: Apache-2.0
"""A browser viewer shows plain-TIFF outputs (issue 16) as their files say: Cornerstone
(cornerstone-core and its WADO image loader, pinned in package-lock.json) in Debian's
headless Chromium shows
- the middle frame of the CT-like stack (ct_stack.tif: 16-bit signed, written as Grayscale
  Word SC with Rescale Intercept -32768 and an automatic window) with the window it takes
  from the file, and
- document pages (Single Bit SC) as black text on white paper: the A4 page of
  g4_a4_300dpi.tif fitted at a quarter of its size, and the first 13x7 page of
  bits_13x7.tif at full size (its rows do not end on a byte: the bit order and packing
  pixel for pixel).
Not shown, for faults of this Cornerstone (cornerstone-wado-image-loader 4.13.2) rather than
of the files: a frame of a multi-frame 1-bit image that does not start on a byte (it reads
the frame at a fractional byte offset: bits_13x7.tif's second page shows black), and a page
of one value (the loader's window from the pixel range has width 0: g4_small.tif's blank
pages show black).

Each screenshot is compared with a rendering computed here, apart from the viewer and from
slide2dcm's C code:
- CT: the frame's stored values as pydicom decodes them, rescaled and put through PS3.3
  C.11.2.1.2.1's LINEAR VOI function with the first window, where rescale and window are
  plain_oracle's, computed from the source TIFF (docs/plain-tiff.md's 0.5-99.5 % window);
  so a file whose window is wrong renders differently from the reference;
- documents: the source page decoded by plain_oracle (PIL), ink black, paper white.
Both are reduced to cells (CT 1 screen pixel, documents 4x4 screen pixels: the viewer's
downscaling is its own) and must agree within MAX_MEAN_DIFF and MAX_P99_DIFF (out of 255);
a document's paper cells must show white and its ink cells dark (PAPER_MIN, INK_MAX).

The test also shows broken files and expects the comparison to reject each of them (else
it fails: the comparison could not tell): the CT with its first Window Center moved by a
twentieth of its width, the CT converted with `--window 0,1`, the CT's next frame, the A4
page with its bits inverted, and with Photometric Interpretation MONOCHROME1, the 13x7
pages with the bits of each byte in reverse order.

The page and the files are served by a static HTTP server on 127.0.0.1; the npm packages
come from the fixture viewer.npm (site_folder.py). Run it with /usr/bin/python3 (Debian's
pydicom, numpy, PIL, tifffile).

usage: plain_test.py SLIDE2DCM PLAIN_FIXTURES_DIR WORKDIR"""
import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading

import numpy as np
import pydicom
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration", "lib"))
import plain_oracle  # noqa: E402
from checks import Checks  # noqa: E402
from site_folder import make_site  # noqa: E402

PAGE_FILES = ["plain.html", "plain.js", "shoot_plain.mjs"]
# Measured with Debian 12's Chromium 156: CT 0.25 and 0.53 (rounding), A4 page 0 and 0. The
# neighbouring CT frame scores 1.2 and 8.1, the moved window 4.9 and 12.8.
MAX_MEAN_DIFF = 1.0    # mean |screenshot - reference| over the cells, out of 255
MAX_P99_DIFF = 3.0     # its 99th percentile
PAPER_MIN = 230.0      # a document's paper cells must show at least this bright, on average
INK_MAX = 128.0        # its ink cells (under half paper in the reference) at most this
WINDOW_SHIFT = 1 / 20  # the moved-window control: centre + width / 20


def convert(slide2dcm, tif, out, *options):
    subprocess.run([slide2dcm, "convert", tif, "-o", out, "-q", *options], check=True)
    return f"{out}/image-001.dcm"


def values(element):
    """The values of a DICOM attribute as a list (pydicom gives one value bare)."""
    return list(element) if isinstance(element, pydicom.multival.MultiValue) else [element]


def linear_voi(x, center, width):
    """PS3.3 C.11.2.1.2.1, the LINEAR function, output range 0..255."""
    low = center - 0.5 - (width - 1) / 2
    high = center - 0.5 + (width - 1) / 2
    ramp = ((x - (center - 0.5)) / max(width - 1, 1e-9) + 0.5) * 255
    return np.where(x <= low, 0.0, np.where(x > high, 255.0, ramp))


def ct_reference(dcm, frame, tif):
    """The CT frame as it must look: pydicom's stored values, the oracle's rescale and
    first window."""
    expected = plain_oracle.expected_instances(tif)[0]
    center, width, explanation = expected["windows"][0]
    stored = pydicom.dcmread(dcm).pixel_array[frame].astype(np.float64)
    rescaled = stored * expected["slope"] + expected["intercept"]
    print(f"  reference window {center}, {width} ({explanation}), rescale "
          f"{expected['slope']} x + {expected['intercept']}")
    return linear_voi(rescaled, center, width)


def document_reference(tif, frame):
    """The source page decoded by the oracle, mapped as docs/plain-tiff.md says (written
    1 = white): paper 255, ink 0."""
    written = plain_oracle.expected_instances(tif)[0]["frames"][frame]
    return written.reshape(written.shape[:2]).astype(np.float64) * 255


def cells(image, size):
    h, w = image.shape[0] // size, image.shape[1] // size
    return image[:h * size, :w * size].reshape(h, size, w, size).mean(axis=(1, 3))


def compare(shot_path, reference, scale, cell, document):
    """The faults found between a screenshot and the reference (an empty list: they agree)
    and the figures, as text. The box is the image at `scale`, so the screenshot is the
    whole image; `cell` is in screen pixels."""
    rgb = np.asarray(Image.open(shot_path).convert("RGB"), dtype=np.float64)
    faults = []
    if np.abs(rgb - rgb[:, :, :1]).max() > 1:
        faults.append("the screenshot is not grey")
    shot = rgb.mean(axis=2)
    expected_size = (round(reference.shape[0] * scale), round(reference.shape[1] * scale))
    if shot.shape != expected_size:
        return [f"screenshot {shot.shape}, expected {expected_size}"], ""
    seen = cells(shot, cell)
    wanted = cells(reference, round(cell / scale))
    diff = np.abs(seen - wanted)
    mean, p99 = diff.mean(), np.percentile(diff, 99)
    figures = f"mean |difference| {mean:.2f}, 99th percentile {p99:.2f}"
    if mean > MAX_MEAN_DIFF or p99 > MAX_P99_DIFF:
        faults.append(f"differs from the reference: {figures}")
    if document:
        paper, ink = seen[wanted == 255].mean(), seen[wanted < 128].mean()
        figures += f"; paper cells {paper:.1f}, ink cells {ink:.1f}"
        if paper < PAPER_MIN or ink > INK_MAX:
            faults.append(f"not black text on white: paper {paper:.1f}, ink {ink:.1f}")
    return faults, figures


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def main(slide2dcm, fixtures, work):
    checks = Checks()
    shutil.rmtree(work, ignore_errors=True)
    site = f"{work}/site"
    os.makedirs(f"{site}/data")
    os.makedirs(f"{work}/shots")
    make_site(site, PAGE_FILES)

    ct_tif = f"{fixtures}/ct_stack.tif"
    a4_tif = f"{fixtures}/g4_a4_300dpi.tif"
    odd_tif = f"{fixtures}/bits_13x7.tif"
    ct = convert(slide2dcm, ct_tif, f"{work}/ct")
    a4 = convert(slide2dcm, a4_tif, f"{work}/a4")
    odd = convert(slide2dcm, odd_tif, f"{work}/odd")
    ct_frames = int(pydicom.dcmread(ct, stop_before_pixels=True).NumberOfFrames)
    middle = ct_frames // 2

    # The controls: files a faithful viewer shows wrongly.
    moved = pydicom.dcmread(ct)
    centers, widths = values(moved.WindowCenter), values(moved.WindowWidth)
    centers[0] = float(centers[0]) + float(widths[0]) * WINDOW_SHIFT
    moved.WindowCenter = centers
    moved.save_as(f"{work}/ct_window_moved.dcm")
    window01 = convert(slide2dcm, ct_tif, f"{work}/ct_window01", "--window", "0,1")
    inverted = pydicom.dcmread(a4)
    inverted.PixelData = bytes(b ^ 0xFF for b in inverted.PixelData)
    inverted.save_as(f"{work}/a4_inverted_bits.dcm")
    mono1 = pydicom.dcmread(a4)
    mono1.PhotometricInterpretation = "MONOCHROME1"
    mono1.save_as(f"{work}/a4_monochrome1.dcm")
    reversed_bits = pydicom.dcmread(odd)
    reversed_bits.PixelData = bytes(int(f"{b:08b}"[::-1], 2) for b in reversed_bits.PixelData)
    reversed_bits.save_as(f"{work}/odd_bit_order.dcm")

    ct_ref = ct_reference(ct, middle, ct_tif)
    a4_ref = document_reference(a4_tif, 0)
    odd_ref = document_reference(odd_tif, 0)
    # name: (file, frame, reference, scale, cell, document, faithful)
    shows = {
        "ct": (ct, middle, ct_ref, 1, 1, False, True),
        "a4": (a4, 0, a4_ref, 0.25, 4, True, True),
        "odd_page1": (odd, 0, odd_ref, 1, 1, True, True),
        "ct_window_moved": (f"{work}/ct_window_moved.dcm", middle, ct_ref, 1, 1, False, False),
        "ct_window_0_1": (window01, middle, ct_ref, 1, 1, False, False),
        "ct_next_frame": (ct, middle + 1, ct_ref, 1, 1, False, False),
        "a4_inverted_bits": (f"{work}/a4_inverted_bits.dcm", 0, a4_ref, 0.25, 4, True, False),
        "a4_monochrome1": (f"{work}/a4_monochrome1.dcm", 0, a4_ref, 0.25, 4, True, False),
        "odd_bit_order": (f"{work}/odd_bit_order.dcm", 0, odd_ref, 1, 1, True, False),
    }
    handler = functools.partial(QuietHandler, directory=site)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        jobs = []
        for name, (path, frame, reference, scale, _, _, _) in shows.items():
            shutil.copy(path, f"{site}/data/{name}.dcm")
            height, width = (round(n * scale) for n in reference.shape)
            jobs.append({"name": name, "png": f"{work}/shots/{name}.png",
                         "url": f"http://127.0.0.1:{server.server_port}/plain.html?"
                                f"file=data/{name}.dcm&frame={frame}"
                                f"&width={width}&height={height}"})
        with open(f"{work}/jobs.json", "w") as f:
            json.dump(jobs, f)
        subprocess.run(["node", f"{site}/shoot_plain.mjs", f"{work}/jobs.json",
                        f"{work}/results.json"], check=True)
    finally:
        server.shutdown()
    with open(f"{work}/results.json") as f:
        results = {job["name"]: job for job in json.load(f)}

    for name, (path, frame, reference, scale, cell, document, faithful) in shows.items():
        state = results[name]["state"]
        faults, figures = compare(results[name]["png"], reference, scale, cell, document)
        print(f"{name} (frame {frame}): viewer {json.dumps(state['viewport'])}; {figures}")
        if faithful:
            checks.expect(not faults, f"{name}: the viewer shows what the reference shows",
                          "; ".join(faults) or "agrees")
            if not document:
                stored = pydicom.dcmread(path, stop_before_pixels=True)
                center = float(values(stored.WindowCenter)[0])
                width = float(values(stored.WindowWidth)[0])
                checks.expect(state["viewport"]["windowCenter"] == center and
                              state["viewport"]["windowWidth"] == width,
                              f"{name}: the viewer applied the file's first window "
                              f"({center:g}, {width:g})")
        else:
            checks.expect(faults, f"{name}: the comparison rejects this broken file",
                          "; ".join(faults) or "it passed")
    if not checks.failures:
        shutil.rmtree(site)
    return checks.result()


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
