#!/usr/bin/python3
"""A JPEG macro image stored upside down (TIFF Orientation 3) must not be copied as it is:
the copy would be upside down, so it is decoded (upright) and encoded, and the overview
must match OpenSlide's macro, which libtiff turns upright too.

usage: oriented_macro.py SLIDE2DCM CMU1.svs WORKDIR

The slide is CMU-1-Small-Region.svs with an Orientation entry added to its macro
directory (a copy of the directory, with the entry, appended to the file and linked in
place of the original). Its thumbnail, stored top row first, must still be copied.
Exit 0 when both hold, 1 otherwise."""
import io
import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import openslide
import pydicom
from pydicom.encaps import generate_pixel_data_frame
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tiffdirs  # noqa: E402

ORIENTATION = 274


def with_orientation(data, index, value):
    """The TIFF bytes with directory `index` replaced by a copy that also holds
    Orientation = value. Values stored outside the entries keep their offsets."""
    data = bytearray(data)
    link = 4                                       # where the pointer to IFD 0 sits
    off = struct.unpack("<I", data[4:8])[0]
    for _ in range(index):
        n = struct.unpack("<H", data[off:off + 2])[0]
        link = off + 2 + 12 * n
        off = struct.unpack("<I", data[link:link + 4])[0]
    n = struct.unpack("<H", data[off:off + 2])[0]
    entries = [bytes(data[off + 2 + 12 * i:off + 14 + 12 * i]) for i in range(n)]
    next_ifd = data[off + 2 + 12 * n:off + 6 + 12 * n]
    entries.append(struct.pack("<HHIHH", ORIENTATION, 3, 1, value, 0))
    entries.sort(key=lambda e: struct.unpack("<H", e[:2])[0])
    if len(data) % 2:
        data += b"\0"
    new_off = len(data)
    data += struct.pack("<H", len(entries)) + b"".join(entries) + next_ifd
    data[link:link + 4] = struct.pack("<I", new_off)
    return bytes(data)


def overview_pixels(out):
    """The dataset of OUT/overview.dcm and its frame decoded as RGB (PIL reads the colour
    space from the JPEG's markers, which the converter's frames carry)."""
    ds = pydicom.dcmread(str(out / "overview.dcm"))
    frame = next(generate_pixel_data_frame(ds.PixelData, 1))
    return ds, np.asarray(Image.open(io.BytesIO(frame)).convert("RGB"))


def verdict(failures):
    for line in failures:
        print("FAIL: " + line)
    print("RESULT: %s" % ("FAIL" if failures else "PASS"))
    return 1 if failures else 0


def psnr(a, b):
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def start(argv):
    """(converter, source path, emptied work directory, source bytes, its directories,
    the index of the macro's) from the command line."""
    binary, source, work = argv[1], argv[2], Path(argv[3])
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    data = open(source, "rb").read()
    dirs = list(tiffdirs.directories(data))
    macro = next(i for i, d in enumerate(dirs) if "macro" in tiffdirs.text(d, tiffdirs.DESCRIPTION))
    return binary, source, work, data, dirs, macro


def main():
    binary, source, work, data, dirs, macro = start(sys.argv)
    slide_path = work / "oriented-macro.svs"
    slide_path.write_bytes(with_orientation(data, macro, 3))
    out, report = work / "out", work / "report.json"
    run = subprocess.run([binary, "convert", str(slide_path), "-o", str(out), "--json-report",
                          str(report)], capture_output=True, text=True)
    failures = []
    if run.returncode != 0:
        print("FAIL: exit %d: %s" % (run.returncode, run.stderr.strip()))
        return 1
    modes = {f["name"]: f.get("mode") for f in json.load(open(report))["files"]}
    if modes.get("overview.dcm") != "encode":
        failures.append("overview.dcm mode %r, expected encode (Orientation 3)"
                        % modes.get("overview.dcm"))
    if modes.get("thumbnail.dcm") != "copy":
        failures.append("thumbnail.dcm mode %r, expected copy" % modes.get("thumbnail.dcm"))
    got = overview_pixels(out)[1]
    slide = openslide.OpenSlide(str(slide_path))
    upright = np.asarray(slide.associated_images["macro"].convert("RGB"))
    stored = np.asarray(openslide.OpenSlide(source).associated_images["macro"].convert("RGB"))
    if got.shape != upright.shape:
        failures.append("overview %s, OpenSlide's macro %s" % (got.shape, upright.shape))
    else:
        right, wrong = psnr(got, upright), psnr(got, stored)
        print("overview vs OpenSlide's macro: %.1f dB; vs the image as stored: %.1f dB"
              % (right, wrong))
        # The test means something only if turning the image makes a difference.
        if psnr(upright, stored) > 25:
            failures.append("the turned macro is too like the stored one to tell them apart")
        if right < 30 or wrong > right - 10:
            failures.append("overview is not OpenSlide's upright macro (%.1f dB, stored "
                            "image %.1f dB)" % (right, wrong))
    return verdict(failures)


if __name__ == "__main__":
    sys.exit(main())
