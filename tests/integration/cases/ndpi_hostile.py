#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A crafted NDPI whose restart-offset tag (65426) says the JPEG headers end at byte 256,
where a comment segment holds a stray SOF marker (FF C0) at byte 251 and the real frame
header lies past 256 (issue 20, defect 1). The strip's SOF was once found by scanning for
FF C0 and its height and width patched 4 bytes past the 256 copied header bytes: a heap
overflow that ASan reports and a release build survived with a corrupted heap.

usage: ndpi_hostile.py SLIDE2DCM WORKDIR

slide2dcm must not copy from such a strip: it either reads the file another way (exit 0,
level 0 not copied) or refuses it with one line naming the file; never a crash or a
sanitizer report."""
import json
import struct
import subprocess
import sys
from pathlib import Path

WIDTH, HEIGHT = 512, 256
HEADERS_END = 256   # what the restart-offset tag claims
STRAY_AT = 251      # FF C0 here: its "height field" would be bytes 256..259


def ppm(width, height):
    """A smooth RGB gradient as a binary PPM."""
    rows = bytearray()
    for y in range(height):
        for x in range(width):
            rows += bytes(((x * 255) // width, (y * 255) // height, 128))
    return b"P6\n%d %d\n255\n" % (width, height) + bytes(rows)


def jpeg_with_stray_sof(work):
    """cjpeg's baseline JPEG (a restart marker every MCU row) with a comment segment right
    after SOI that carries FF C0 at STRAY_AT and pushes the real headers past HEADERS_END."""
    src = work / "gradient.ppm"
    src.write_bytes(ppm(WIDTH, HEIGHT))
    jpeg = subprocess.run(["cjpeg", "-quality", "85", "-sample", "1x1", "-restart", "1",
                           str(src)], capture_output=True, check=True).stdout
    payload = bytearray(HEADERS_END + 16 - 6)   # SOI (2) + COM marker and length (4) first
    payload[STRAY_AT - 6:STRAY_AT - 4] = b"\xFF\xC0"
    comment = b"\xFF\xFE" + struct.pack(">H", 2 + len(payload)) + payload
    crafted = jpeg[:2] + comment + jpeg[2:]
    assert crafted[STRAY_AT:STRAY_AT + 2] == b"\xFF\xC0"
    assert crafted.find(b"\xFF\xC0") == STRAY_AT and crafted.find(b"\xFF\xC0", 252) > 256
    return crafted


def restart_starts(jpeg):
    """Where each restart interval's data begins: after SOS, then after each RST marker."""
    i = 2
    while True:
        marker, length = jpeg[i + 1], struct.unpack(">H", jpeg[i + 2:i + 4])[0]
        i += 2 + length
        if marker == 0xDA:
            break
    starts = [i]
    for k in range(i, len(jpeg) - 1):
        if jpeg[k] == 0xFF and 0xD0 <= jpeg[k + 1] <= 0xD7:
            starts.append(k + 2)
    return starts


def ndpi(jpeg, starts, path):
    """A little-endian classic TIFF, one IFD: the strip and the NDPI tags slide2dcm reads."""
    entries = []   # (tag, type, count, value bytes)

    def add(tag, typ, values):
        fmt = {3: "H", 4: "I", 5: "II", 11: "f"}[typ]
        raw = b"".join(struct.pack("<" + fmt, *(v if isinstance(v, tuple) else (v,)))
                       for v in values)
        entries.append((tag, typ, len(values), raw))

    for tag, typ, values in ((256, 4, [WIDTH]), (257, 4, [HEIGHT]), (258, 3, [8, 8, 8]),
                             (259, 3, [7]), (262, 3, [6]), (273, 4, [0]), (277, 3, [3]),
                             (278, 4, [HEIGHT]), (279, 4, [len(jpeg)]),
                             (282, 5, [(40000, 1)]), (283, 5, [(40000, 1)]), (296, 3, [3]),
                             (65420, 4, [1]), (65421, 11, [20.0]), (65426, 4, starts)):
        add(tag, typ, values)
    data_at = 8 + 2 + 12 * len(entries) + 4
    extra, offsets = bytearray(), {}
    for tag, _, _, raw in entries:
        if len(raw) > 4:
            offsets[tag] = data_at + len(extra)
            extra += raw + (b"\0" if len(raw) % 2 else b"")
    strip_at = data_at + len(extra)
    ifd = struct.pack("<H", len(entries))
    for tag, typ, count, raw in entries:
        if tag == 273:
            raw = struct.pack("<I", strip_at)
        value = struct.pack("<I", offsets[tag]) if tag in offsets else raw.ljust(4, b"\0")
        ifd += struct.pack("<HHI", tag, typ, count) + value
    ifd += struct.pack("<I", 0)
    Path(path).write_bytes(b"II*\0" + struct.pack("<I", 8) + ifd + extra + jpeg)


def main():
    binary, work = sys.argv[1], Path(sys.argv[2])
    subprocess.run(["rm", "-rf", str(work)], check=True)
    work.mkdir(parents=True)
    jpeg = jpeg_with_stray_sof(work)
    starts = restart_starts(jpeg)
    assert len(starts) == HEIGHT // 8, len(starts)   # one interval per MCU row
    starts[0] = HEADERS_END   # the lie: the headers end inside the comment
    slide = work / "stray-sof.ndpi"
    ndpi(jpeg, starts, slide)
    out, report = work / "out", work / "report.json"
    run = subprocess.run([binary, "convert", str(slide), "-o", str(out), "-q",
                          "--json-report", str(report)], capture_output=True, text=True)
    print(f"$ convert {slide} -> {run.returncode}\n{run.stderr}", flush=True)
    problems = []
    if run.returncode < 0 or run.returncode > 4 or "Sanitizer" in run.stderr or \
            "runtime error" in run.stderr:
        problems.append(f"crashed or a sanitizer report (exit {run.returncode})")
    elif run.returncode == 0:
        modes = {f["name"]: f["mode"] for f in json.load(open(report))["files"]}
        if modes.get("level-0.dcm") == "copy":
            problems.append("level 0 copied from a strip whose headers are not where the "
                            "restart offsets say")
    else:
        lines = run.stderr.strip().splitlines()
        if len(lines) != 1 or not lines[0].startswith("slide2dcm: ") or str(slide) not in lines[0]:
            problems.append("the refusal is not one line naming the file")
    for p in problems:
        print("FAIL:", p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
