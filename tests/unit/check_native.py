#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Reads the native-Pixel-Data instances test_part10_native wrote (grey8, grey16, bits) with
pydicom, dcmdump and dcm2pnm, and compares every pixel of every frame with NAME.raw, the
pixels the test gave the writer. grey16's Window Center / Width, deferred until the frames
were written, must be those of its pixels."""
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import pydicom

# name: (numpy type of NAME.raw, Pixel Data VR, dcm2pnm output options, bits per value)
CASES = {
    "grey8": ("u1", "OB", ["+op"], 8),
    "grey16": ("<u2", "OW", ["+opn", "12"], 12),
    "bits": ("u1", "OB", ["+op"], 1),
}


def read_pnm(path):
    """Pixel values of a PGM, binary (P5, 8-bit) or ASCII (P2)."""
    data = open(path, "rb").read()
    fields = re.match(rb"(P[25])\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    kind, w, h = fields.group(1), int(fields.group(2)), int(fields.group(3))
    body = data[fields.end():]
    if kind == b"P5":
        values = np.frombuffer(body, dtype=np.uint8)[: w * h]
    else:
        values = np.array([int(v) for v in body.split()], dtype=np.int64)
    return values.reshape(h, w)


def check(outdir, name, failures):
    raw_type, vr, pnm_opts, bits = CASES[name]
    path = os.path.join(outdir, name + ".dcm")
    ds = pydicom.dcmread(path)
    n, rows, cols = int(ds.NumberOfFrames), ds.Rows, ds.Columns
    want = np.fromfile(os.path.join(outdir, name + ".raw"), dtype=raw_type).reshape(n, rows, cols)
    if ds.file_meta.TransferSyntaxUID != "1.2.840.10008.1.2.1":
        failures.append("%s: transfer syntax %s" % (name, ds.file_meta.TransferSyntaxUID))
    if ds["PixelData"].VR != vr:
        failures.append("%s: Pixel Data is %s, want %s" % (name, ds["PixelData"].VR, vr))
    expect_len = (n * rows * cols * ds.BitsAllocated + 7) // 8
    if len(ds.PixelData) != expect_len + expect_len % 2:
        failures.append("%s: Pixel Data of %d bytes, want %d" % (name, len(ds.PixelData), expect_len))
    got = ds.pixel_array.reshape(n, rows, cols)
    if not np.array_equal(got.astype(np.int64), want.astype(np.int64)):
        failures.append("%s: pydicom reads %d pixels differently"
                        % (name, int((got.astype(np.int64) != want.astype(np.int64)).sum())))

    dump = subprocess.run(["dcmdump", path], capture_output=True, text=True)
    line = [l for l in dump.stdout.splitlines() if l.startswith("(7fe0,0010)")]
    if dump.returncode != 0 or not line or not re.search(
            r"^\(7fe0,0010\) %s .*# *%d," % (vr, expect_len + expect_len % 2), line[0]):
        failures.append("%s: dcmdump: %s %s" % (name, line, dump.stderr.strip()))

    with tempfile.TemporaryDirectory() as tmp:
        stem = os.path.join(tmp, "f")
        r = subprocess.run(["dcm2pnm", "+Fa", "-W"] + pnm_opts + [path, stem],
                           capture_output=True, text=True)
        if r.returncode != 0:
            failures.append("%s: dcm2pnm: %s" % (name, r.stderr.strip()))
            return
        for f in range(n):
            frame = read_pnm("%s.%d.pgm" % (stem, f))
            # Without windowing dcmtk keeps the stored values, but for 1-bit, which it
            # shows as 0 and 128: compared as set or not.
            frame = frame.astype(np.int64)
            if bits == 1:
                frame = (frame != 0).astype(np.int64)
            expect = want[f].astype(np.int64)
            if not np.array_equal(frame, expect):
                failures.append("%s: dcm2pnm frame %d differs in %d pixels"
                                % (name, f + 1, int((frame != expect).sum())))

    if name == "grey16":
        lo, hi = int(want.min()), int(want.max())
        given = [str(ds.get("WindowCenter", "")), str(ds.get("WindowWidth", ""))]
        if given != [("%g" % ((lo + hi) / 2)), str(hi - lo + 1)]:
            failures.append("grey16: window %s / %s, want %s / %s"
                            % (ds.WindowCenter, ds.WindowWidth, (lo + hi) / 2, hi - lo + 1))


def main(outdir):
    failures = []
    for name in CASES:
        check(outdir, name, failures)
    for f in failures:
        print("FAIL", f)
    print("native Pixel Data: %d instances, %s" % (len(CASES), "ok" if not failures else "FAILED"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
