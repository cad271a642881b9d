#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The memory bound of microscopy strip images (issue 17, "Pyramids"): a 40,000 x 15,000
16-bit grey TIFF in deflated strips of 16 rows (1.2 GB of pixels; lib/micro_fixtures.py
--large writes it here, strip by strip) converts with a peak RSS under LIMIT_MB. Holding one
level-0 band of 256 rows takes 20 MB; the whole image, eight times the bound. The peak
grows with the width, not the height (docs/benchmarks.md), so the width is a slide's and
the height only as much as makes holding the image impossible.

The output must be the whole pyramid, so that a conversion that stops early cannot pass:
one channel, levels down to one tile with the sizes of the 2x2 rule, every level's Number
of Frames its tile count, and sampled level-0 frames (the corners, the middle, the right
and bottom edges) equal to the generator's pixels with 0 padding. The peak is the
converter's own ru_maxrss, through GNU time. The image and the output are removed after.

usage: micro_memory.py SLIDE2DCM WORKDIR [CONVERT OPTIONS...]"""
import io
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate

LIB = Path(__file__).resolve().parent.parent / "lib"
sys.path.insert(0, str(LIB))
import check_micro as cm  # noqa: E402
import micro_fixtures as mf  # noqa: E402
from checks import Checks  # noqa: E402

LIMIT_MB = 150


def peak_rss_mb(cmd):
    with tempfile.NamedTemporaryFile("r") as usage:
        run = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", usage.name, "--"] + cmd,
                             capture_output=True, text=True)
        return run, int(usage.read().split()[-1]) / 1024


def fragment(ds, index):
    """Frame `index` (0-based) of an encapsulated instance, found through its Basic Offset
    Table or Extended Offset Table, without reading the others."""
    data = ds.PixelData
    for k, frame in enumerate(pydicom.encaps.generate_pixel_data_frame(
            data, int(ds.NumberOfFrames))):
        if k == index:
            return frame
    raise IndexError(index)


def decode_one(ds, frame, workdir):
    """One frame decoded: Pillow for JPEG 2000, dcmdjpls (a one-frame file) for JPEG-LS,
    as stored for native frames."""
    syntax = ds.file_meta.TransferSyntaxUID
    rows, cols = int(ds.Rows), int(ds.Columns)
    if syntax in cm.J2K:
        return np.asarray(Image.open(io.BytesIO(frame))).astype(np.uint16)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = cm.WSM
    meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    meta.TransferSyntaxUID = syntax
    one = Dataset()
    one.file_meta = meta
    one.is_little_endian, one.is_implicit_VR = True, False
    one.SOPClassUID, one.SOPInstanceUID = cm.WSM, meta.MediaStorageSOPInstanceUID
    one.Rows, one.Columns, one.SamplesPerPixel = rows, cols, 1
    one.PhotometricInterpretation = "MONOCHROME2"
    one.BitsAllocated, one.BitsStored, one.HighBit, one.PixelRepresentation = 16, 16, 15, 0
    one.PixelData = encapsulate([frame])
    path = workdir / "one.dcm"
    one.save_as(str(path), write_like_original=False)
    out = workdir / "one-native.dcm"
    subprocess.run(["dcmdjpls", str(path), str(out)], check=True, capture_output=True)
    return np.frombuffer(pydicom.dcmread(str(out)).PixelData, "<u2").reshape(rows, cols)


def expected_tile(row, col, tile, width, height):
    """The generator's pixels of tile (row, col), zero padded."""
    top, left = row * tile, col * tile
    x = np.arange(left, min(left + tile, width), dtype=np.int64)
    y = np.arange(top, min(top + tile, height), dtype=np.int64)[:, None]
    values = mf.large_values(y, x)
    out = np.zeros((tile, tile), np.uint16)
    out[:values.shape[0], :values.shape[1]] = values
    return out


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    slide2dcm, work, options = argv[1], Path(argv[2]), argv[3:]
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    checks = Checks()
    try:
        tif, out = work / "large.tif", work / "out"
        width, height = mf.LARGE_WIDTH, mf.LARGE_HEIGHT
        start = time.monotonic()
        mf.make_large(tif)
        checks.info("generated %dx%d, %.0f MB, in %.1f s" % (width, height,
                                                            tif.stat().st_size / 1e6,
                                                            time.monotonic() - start))
        start = time.monotonic()
        run, rss = peak_rss_mb([slide2dcm, "convert", str(tif), "-o", str(out), "--quiet"] +
                               options)
        seconds = time.monotonic() - start
        tif.unlink()
        checks.expect(run.returncode == 0, "convert %s exits %d: %s"
                      % (" ".join(options), run.returncode, run.stderr[-300:]))
        checks.expect(rss < LIMIT_MB, "%dx%d 16-bit strips (%.1f GB of pixels): peak RSS %.1f MB, "
                      "bound %d MB, in %.1f s" % (width, height, width * height * 2 / 1e9, rss,
                                                  LIMIT_MB, seconds))
        if run.returncode == 0:
            files = sorted(p.name for p in out.iterdir())
            first = pydicom.dcmread(str(out / "c1-level-0.dcm"), stop_before_pixels=True) \
                if (out / "c1-level-0.dcm").exists() else None
            tile = int(first.Columns) if first else 256
            sizes = cm.level_sizes(width, height, tile)
            wanted = ["c1-level-%d.dcm" % k for k in range(len(sizes))]
            checks.expect(sorted(files) == sorted(wanted), "files %s (expected %s)"
                          % (files, wanted))
            for level, (w, h) in enumerate(sizes):
                path = out / ("c1-level-%d.dcm" % level)
                if not path.exists():
                    continue
                ds = pydicom.dcmread(str(path), stop_before_pixels=level == 0)
                tiles = -(-w // tile) * -(-h // tile)
                checks.expect((int(ds.TotalPixelMatrixColumns), int(ds.TotalPixelMatrixRows),
                               int(ds.NumberOfFrames)) == (w, h, tiles),
                              "level %d: %sx%s, %s frames (expected %dx%d, %d)"
                              % (level, ds.TotalPixelMatrixColumns, ds.TotalPixelMatrixRows,
                                 ds.NumberOfFrames, w, h, tiles))
            level0 = pydicom.dcmread(str(out / "c1-level-0.dcm"))
            across, down = -(-width // tile), -(-height // tile)
            samples = [(0, 0), (0, across - 1), (down // 2, across // 2), (down - 1, 0),
                       (down - 1, across - 1), (down // 3, across - 1), (down - 1, across // 3)]
            for row, col in samples:
                frame = fragment(level0, row * across + col) \
                    if level0.file_meta.TransferSyntaxUID not in cm.NATIVE else None
                if frame is None:
                    size = tile * tile * 2
                    at = (row * across + col) * size
                    got = np.frombuffer(level0.PixelData[at:at + size], "<u2").reshape(tile, tile)
                else:
                    got = decode_one(level0, frame, work)
                checks.expect(np.array_equal(got, expected_tile(row, col, tile, width, height)),
                              "level 0 tile (row %d, col %d) equals the generator's pixels, "
                              "padding 0" % (row, col))
    finally:
        shutil.rmtree(work)
    return checks.result()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
