#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Reads the files test_part10 wrote: bot.dcm must carry a filled Basic Offset Table and no
Extended Offset Table; eot.dcm an empty BOT plus EOT and EOT Lengths. Both must hold the
same frames, found through their own table, and pass verify-wsm-frames and dciodvfy."""
import os
import struct
import subprocess
import sys

import pydicom
from pydicom.encaps import generate_pixel_data_frame

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration", "lib"))
from checks import Checks  # noqa: E402
from tools import verify_wsm_frames  # noqa: E402



def items(pixel_data):
    """(offset after BOT, value) of every item; the first is the BOT."""
    out, off = [], 0
    while off < len(pixel_data):
        tag = struct.unpack("<HH", pixel_data[off:off + 4])
        length = struct.unpack("<I", pixel_data[off + 4:off + 8])[0]
        if tag == (0xFFFE, 0xE0DD):
            break
        out.append((off, pixel_data[off + 8:off + 8 + length]))
        off += 8 + length
    return out


def main(outdir):
    checks = Checks()
    bot = pydicom.dcmread(os.path.join(outdir, "bot.dcm"))
    eot = pydicom.dcmread(os.path.join(outdir, "eot.dcm"))
    n = int(bot.NumberOfFrames)
    bot_items, eot_items = items(bot.PixelData), items(eot.PixelData)
    if len(bot_items[0][1]) != 4 * n:
        checks.fail("bot.dcm: BOT has %d bytes, want %d" % (len(bot_items[0][1]), 4 * n))
    if (0x7FE0, 0x0001) in bot:
        checks.fail("bot.dcm: has an Extended Offset Table")
    if len(eot_items[0][1]) != 0:
        checks.fail("eot.dcm: BOT is not empty")
    if (0x7FE0, 0x0001) not in eot or (0x7FE0, 0x0002) not in eot:
        checks.fail("eot.dcm: Extended Offset Table or Lengths missing")
    else:
        offsets = struct.unpack("<%dQ" % n, eot[0x7FE00001].value)
        lengths = struct.unpack("<%dQ" % n, eot[0x7FE00002].value)
        base = eot_items[1][0]
        frames_via_eot = []
        for o, ln in zip(offsets, lengths):
            start = base + o
            frames_via_eot.append(eot.PixelData[start + 8:start + 8 + ln])
        frames_via_bot = list(generate_pixel_data_frame(bot.PixelData, n))
        if frames_via_eot != frames_via_bot:
            checks.fail("frames found through the EOT differ from those through the BOT")
        if any(len(f) % 2 for f in frames_via_bot):
            checks.fail("odd fragment length")
        if not all(f[:2] == b"\xff\xd8" and f.rstrip(b"\x00")[-2:] == b"\xff\xd9"
                   for f in frames_via_bot):
            checks.fail("a fragment is not a whole JPEG stream")
    for name in ("bot.dcm", "eot.dcm"):
        path = os.path.join(outdir, name)
        r = subprocess.run([verify_wsm_frames(), path], capture_output=True, text=True)
        if r.returncode != 0 or ": OK" not in r.stdout:
            checks.fail("%s: verify-wsm-frames: %s" % (name, r.stdout.strip()))
        r = subprocess.run(["dciodvfy", path], capture_output=True, text=True)
        errors = [l for l in (r.stdout + r.stderr).splitlines() if l.startswith("Error")]
        if errors:
            checks.fail("%s: dciodvfy: %s" % (name, "; ".join(errors)))
    # Lossy Image Compression Ratio behind earlier ratios of every length: each value at
    # most 16 bytes (the even-length pad included), the last one ours.
    for k, source in enumerate(["", "12.5", "15.486866875559", "123456789.12346", "7"]):
        path = os.path.join(outdir, "ratio-%d.dcm" % k)
        data = open(path, "rb").read()
        at = data.index(b"\x28\x00\x12\x21DS")
        length = struct.unpack("<H", data[at + 6:at + 8])[0]
        values = data[at + 8:at + 8 + length].split(b"\\")
        ds = pydicom.dcmread(path)
        frames = list(generate_pixel_data_frame(ds.PixelData, int(ds.NumberOfFrames)))
        ours = int(ds.NumberOfFrames) * ds.Rows * ds.Columns * 3 / sum(len(f) for f in frames)
        # An unknown earlier ratio cannot be written (empty reads as zero): ours alone.
        expect = [source] if source else []
        ok = (len(values) == len(expect) + 1 and all(len(v) <= 16 for v in values)
              and [v.strip().decode() for v in values[:-1]] == expect
              and abs(float(values[-1]) - ours) < 1e-6 * ours)
        if not ok:
            checks.fail("%s: ratio values %r (source %r, ours %.6f)" % (path, values, source, ours))
        r = subprocess.run(["dciodvfy", path], capture_output=True, text=True)
        if any(l.startswith("Error") for l in (r.stdout + r.stderr).splitlines()):
            checks.fail("%s: dciodvfy: %s" % (path, r.stderr.strip()))

    # Non-square pixels (0.25 um wide, 0.5 um tall): [row, column] spacing, and the imaged
    # volume's width along a row.
    measures = bot.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0]
    spacing = [float(v) for v in measures.PixelSpacing]
    if spacing != [0.0005, 0.00025]:
        checks.fail("bot.dcm: Pixel Spacing %s, want [0.0005, 0.00025] (row, column)" % spacing)
    width = bot.TotalPixelMatrixColumns * 0.00025
    height = bot.TotalPixelMatrixRows * 0.0005
    if abs(bot.ImagedVolumeWidth - width) > 1e-6 or abs(bot.ImagedVolumeHeight - height) > 1e-6:
        checks.fail("bot.dcm: Imaged Volume %s x %s, want %s x %s"
                    % (bot.ImagedVolumeWidth, bot.ImagedVolumeHeight, width, height))

    print("offset tables: %d frames" % n)
    return checks.result()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
