#!/usr/bin/python3
"""Tiled JPEG TIFFs whose tile size is not a multiple of 16 (TIFF requires it; libtiff only
warns when reading): frames are always a multiple of 16, so such a file is decoded into
256-pixel frames, by default and under --reencode, and the output must pass the usual
checks (check_conversion.py: dciodvfy, verify-wsm-frames, pixels against OpenSlide).

usage: odd_tiles.py SLIDE2DCM WORKDIR

The files are written here byte by byte (libtiff refuses to write such tiles): 1001 x 777
pixels of gradients and stripes, one baseline JPEG per tile (Pillow, Q90 4:2:0), tiles of
40 (even, a multiple of 4 and 8), 250 (even, not a multiple of 4) and 255 (odd) pixels.
Exit 0 when every conversion passes, 1 otherwise."""
import io
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image

WIDTH, HEIGHT = 1001, 777
HERE = Path(__file__).resolve().parent


def image():
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    img = np.stack([x * 255 // WIDTH, y * 255 // HEIGHT, (x * 3 + y) % 256], -1)
    img[((x // 9) + (y // 13)) % 4 == 0] = [190, 60, 120]
    return img.astype(np.uint8)


def tiled_tiff(path, tile, img=None, quality=90, subsampling=2, pad=(255, 255, 255)):
    """A little-endian tiled TIFF: YCbCr JPEG tiles, each a complete JPEG stream (Pillow's
    subsampling: 0 is 4:4:4, 2 is 4:2:0), edge tiles filled past the image with `pad`.
    Returns the tiles' sizes in bytes."""
    img = image() if img is None else img
    height, width = img.shape[:2]
    tiles = []
    for r in range(0, height, tile):
        for c in range(0, width, tile):
            block = np.empty((tile, tile, 3), np.uint8)
            block[:] = pad
            part = img[r:r + tile, c:c + tile]
            block[:part.shape[0], :part.shape[1]] = part
            out = io.BytesIO()
            Image.fromarray(block).save(out, "JPEG", quality=quality, subsampling=subsampling)
            tiles.append(out.getvalue())
    data = bytearray(b"II*\0\0\0\0\0")

    def put(raw):
        at = len(data)
        data.extend(raw)
        if len(data) % 2:
            data.append(0)
        return at

    offsets = [put(t) for t in tiles]
    bits = put(struct.pack("<3H", 8, 8, 8))
    offs = put(struct.pack("<%dI" % len(tiles), *offsets))
    counts = put(struct.pack("<%dI" % len(tiles), *[len(t) for t in tiles]))
    SHORT, LONG = 3, 4
    entries = [(256, LONG, 1, width), (257, LONG, 1, height), (258, SHORT, 3, bits),
               (259, SHORT, 1, 7), (262, SHORT, 1, 6), (277, SHORT, 1, 3), (284, SHORT, 1, 1),
               (322, LONG, 1, tile), (323, LONG, 1, tile), (324, LONG, len(tiles), offs),
               (325, LONG, len(tiles), counts)]
    ifd = len(data)
    data.extend(struct.pack("<H", len(entries)))
    for tag, kind, count, value in entries:
        if kind == SHORT and count == 1:
            data.extend(struct.pack("<HHIHH", tag, kind, count, value, 0))
        else:
            data.extend(struct.pack("<HHII", tag, kind, count, value))
    data.extend(struct.pack("<I", 0))
    struct.pack_into("<I", data, 4, ifd)
    path.write_bytes(bytes(data))
    return [len(t) for t in tiles]


def convert(binary, slide, out, report, extra):
    """slide2dcm convert as these tests run it (--mpp 0.5, a JSON report, quiet): None when
    it succeeds, else its exit status and error."""
    run = subprocess.run([binary, "convert", str(slide), "-o", str(out), "--mpp", "0.5",
                          "--quiet", "--json-report", str(report)] + extra,
                         capture_output=True, text=True)
    return None if run.returncode == 0 else "exit %d: %s" % (run.returncode, run.stderr.strip())


def main():
    binary, work = sys.argv[1], Path(sys.argv[2])
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    failures = []
    for tile in (40, 250, 255):
        slide = work / ("tiles-%d.tif" % tile)
        tiled_tiff(slide, tile)
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
                [sys.executable, str(HERE / "check_conversion.py"), "--source", str(slide),
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
