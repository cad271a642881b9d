#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""NDPI strips whose restart intervals are narrower than a row, as in large real NDPI files
(the two in ../shared/testdata have one interval per MCU row).

usage: ndpi_narrow_intervals.py SLIDE2DCM SOURCE_SLIDE WORKDIR

Builds NDPI-like files from a region of SOURCE_SLIDE: cjpeg (libjpeg-turbo) encodes it
with a restart marker every few MCUs; a minimal TIFF holds the strip with Hamamatsu's tags
(65420 format flag, 65421 objective, 65426 the offset of every restart interval, found here
by scanning the entropy data for RST markers). For 4:4:4 and 4:2:0 sampling:
 - slide2dcm copies level 0 (report mode "copy") and every file passes dciodvfy and
   verify-wsm-frames;
 - 4:4:4: the reassembled level equals PIL's decode of the whole strip exactly;
 - 4:2:0: equal except next to frame edges, where libjpeg's chroma upsampling no longer
   sees the neighbouring block: every differing pixel lies within 1 pixel of an inner
   frame edge and the level is at least 45 dB from the strip's decode.
"""
import io
import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import openslide
import pydicom
from PIL import Image
from pydicom.encaps import generate_pixel_data_frame

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from checks import Checks  # noqa: E402
import tools  # noqa: E402

WIDTH, HEIGHT, FRAME = 1024, 768, 256
checks = Checks()


def restart_starts(jpeg):
    """Offsets (from the stream's start) where each restart interval's data begins."""
    i = 2
    while True:
        marker, length = jpeg[i + 1], struct.unpack(">H", jpeg[i + 2:i + 4])[0]
        i += 2 + length
        if marker == 0xDA:
            break
    starts = [i]
    while i < len(jpeg) - 1:
        if jpeg[i] == 0xFF and 0xD0 <= jpeg[i + 1] <= 0xD7:
            starts.append(i + 2)
            i += 2
        else:
            i += 1
    return starts


def tiff_with_strip(jpeg, starts, path):
    """A little-endian classic TIFF, one IFD: the strip and the NDPI tags we read."""
    entries = []   # (tag, type, count, value bytes)

    def add(tag, typ, values):
        fmt = {3: "H", 4: "I", 5: "II", 11: "f"}[typ]
        raw = b"".join(struct.pack("<" + fmt, *(v if isinstance(v, tuple) else (v,)))
                       for v in values)
        entries.append((tag, typ, len(values), raw))

    header = 8
    nentries = 14
    ifd_size = 2 + 12 * nentries + 4
    data_at = header + ifd_size
    extra = bytearray()

    add(256, 4, [WIDTH])
    add(257, 4, [HEIGHT])
    add(258, 3, [8, 8, 8])
    add(259, 3, [7])
    add(262, 3, [6])
    add(273, 4, [0])                      # patched below: the strip's offset
    add(277, 3, [3])
    add(278, 4, [HEIGHT])
    add(279, 4, [len(jpeg)])
    add(282, 5, [(40000, 1)])             # 4 um per pixel... in pixels per cm
    add(283, 5, [(40000, 1)])
    add(296, 3, [3])                      # centimetre
    add(65420, 4, [1])
    add(65421, 11, [20.0])
    add(65426, 4, starts)
    entries.sort()
    nentries = len(entries)
    ifd_size = 2 + 12 * nentries + 4
    data_at = header + ifd_size
    # Values over 4 bytes go after the IFD; then the strip.
    offsets = {}
    for tag, typ, count, raw in entries:
        if len(raw) > 4:
            offsets[tag] = data_at + len(extra)
            extra += raw + (b"\0" if len(raw) % 2 else b"")
    strip_at = data_at + len(extra)
    ifd = struct.pack("<H", nentries)
    for tag, typ, count, raw in entries:
        if tag == 273:
            raw = struct.pack("<I", strip_at)
        value = struct.pack("<I", offsets[tag]) if tag in offsets else raw.ljust(4, b"\0")
        ifd += struct.pack("<HHI", tag, typ, count) + value
    ifd += struct.pack("<I", 0)
    Path(path).write_bytes(b"II*\0" + struct.pack("<I", header) + ifd + extra + jpeg)


def level0(outdir):
    ds = pydicom.dcmread(str(outdir / "level-0.dcm"))
    cols = -(-ds.TotalPixelMatrixColumns // ds.Columns)
    rows = -(-ds.TotalPixelMatrixRows // ds.Rows)
    img = np.zeros((rows * ds.Rows, cols * ds.Columns, 3), np.uint8)
    for k, frame in enumerate(generate_pixel_data_frame(ds.PixelData, int(ds.NumberOfFrames))):
        r, c = divmod(k, cols)
        img[r * ds.Rows:(r + 1) * ds.Rows, c * ds.Columns:(c + 1) * ds.Columns] = \
            np.asarray(Image.open(io.BytesIO(frame)).convert("RGB"))
    return img[:ds.TotalPixelMatrixRows, :ds.TotalPixelMatrixColumns]


def case(binary, region, work, sampling, restart):
    name = "narrow-%s" % sampling.replace("x", "")
    ppm = work / "region.ppm"
    region.save(ppm)
    jpeg = subprocess.run(["cjpeg", "-quality", "85", "-sample", sampling, "-restart", restart,
                           str(ppm)], capture_output=True, check=True).stdout
    starts = restart_starts(jpeg)
    slide = work / (name + ".ndpi")
    tiff_with_strip(jpeg, starts, slide)
    out = work / name
    subprocess.run(["rm", "-rf", str(out)], check=True)
    report = work / (name + ".json")
    run = subprocess.run([binary, "convert", str(slide), "-o", str(out), "-q", "--tile-size",
                          str(FRAME), "--json-report", str(report)],
                         capture_output=True, text=True)
    if run.returncode != 0:
        checks.fail("%s: convert exit %d: %s" % (name, run.returncode, run.stderr.strip()))
        return
    modes = {f["name"]: f["mode"] for f in json.load(open(report))["files"]}
    if modes.get("level-0.dcm") != "copy":
        checks.fail("%s: level 0 not copied (%s)" % (name, modes.get("level-0.dcm")))
    got = level0(out).astype(int)
    want = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB")).astype(int)
    diff = np.abs(got - want).max(axis=2)
    print("%s: %d restart intervals, %d pixels differ, max %d"
          % (name, len(starts), int((diff > 0).sum()), int(diff.max())))
    if sampling == "1x1":
        if diff.max() != 0:
            checks.fail("%s: %d pixels differ from the strip's decode" % (name, int((diff > 0).sum())))
    else:
        ys, xs = np.nonzero(diff)
        near_edge = (np.minimum(ys % FRAME, FRAME - 1 - ys % FRAME) <= 1) | \
                    (np.minimum(xs % FRAME, FRAME - 1 - xs % FRAME) <= 1)
        if not near_edge.all():
            checks.fail("%s: %d differing pixels away from frame edges" % (name, int((~near_edge).sum())))
        mse = ((got - want) ** 2).mean()
        psnr = 10 * np.log10(255 ** 2 / mse) if mse else float("inf")
        if psnr < 45:
            checks.fail("%s: %.1f dB from the strip's decode" % (name, psnr))
    for path in sorted(out.glob("*.dcm")):
        v = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
        errors = [l for l in (v.stdout + v.stderr).splitlines() if "Error" in l]
        if errors:
            checks.fail("%s/%s: dciodvfy: %s" % (name, path.name, errors[0]))
        w = subprocess.run([tools.verify_wsm_frames(), str(path)], capture_output=True,
                           text=True)
        if w.returncode != 0:
            checks.fail("%s/%s: verify-wsm-frames: %s" % (name, path.name, w.stdout.strip()))


def main():
    binary, source, work = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    work.mkdir(parents=True, exist_ok=True)
    region = openslide.OpenSlide(source).read_region((0, 0), 0, (WIDTH, HEIGHT)).convert("RGB")
    # 16 MCUs of 8 px and 8 MCUs of 16 px: 128-pixel intervals, 8 to a row.
    case(binary, region, work, "1x1", "16B")
    case(binary, region, work, "2x2", "8B")
    sys.exit(checks.result())


if __name__ == "__main__":
    main()
