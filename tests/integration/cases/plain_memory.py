#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The memory bound of plain TIFFs (issue 16, "Streams"): a 16-bit stack of STACK_PAGES
pages of 2048 x 2048 (629 MB of pixels) and a scanned document of DOC_PAGES A4 pages at
300 dpi, 1-bit G4 (326 MB decoded), both written by s2d-make-plain-bench, convert natively
(the default) with a peak RSS under LIMIT_MB each. Holding the pages, decoded, in memory
would take six or three times the bound. Each output must hold every page as a frame of
one instance, at full size, so that a conversion that stops early cannot pass. The peak is
the converter's own ru_maxrss, through GNU time (a child forked from Python directly would
start its high-water mark at Python's).

usage: plain_memory.py SLIDE2DCM MAKE_PLAIN_BENCH WORKDIR"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import Checks  # noqa: E402

import pydicom  # noqa: E402

LIMIT_MB = 100
STACK_PAGES = 75
DOC_PAGES = 300
SIDE = 2048
# A4 at 300 dpi, as s2d-make-plain-bench lays it out.
A4_300 = (2480, 3508)


def peak_rss_mb(cmd):
    with tempfile.NamedTemporaryFile("r") as usage:
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", usage.name, "--"] + cmd, check=True)
        return int(usage.read().split()[-1]) / 1024


def main():
    slide2dcm, make_bench, work = sys.argv[1:4]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    checks = Checks()
    cases = [
        ("stack", ["--pages", str(STACK_PAGES)], STACK_PAGES, SIDE * SIDE * 2),
        ("document", ["--pages", str(DOC_PAGES)], DOC_PAGES, (A4_300[0] + 7) // 8 * A4_300[1]),
    ]
    for kind, args, pages, frame_bytes in cases:
        tif = os.path.join(work, kind + ".tif")
        out = os.path.join(work, "out-" + kind)
        subprocess.run([make_bench, kind, tif] + args, check=True)
        rss = peak_rss_mb([slide2dcm, "convert", tif, "-o", out, "--quiet",
                           "--json-report", out + ".json"])
        os.unlink(tif)
        report = json.load(open(out + ".json"))
        files = [os.path.join(out, f["name"]) for f in report["files"]]
        frames = [int(pydicom.dcmread(f, stop_before_pixels=True).get("NumberOfFrames", 1))
                  for f in files]
        size = sum(os.path.getsize(f) for f in files)
        checks.expect(frames == [pages] and size >= pages * frame_bytes,
                      "%s: %d pages as one instance of %d frames (got %s), at least %.0f MB "
                      "(got %.0f MB)" % (kind, pages, pages, frames, pages * frame_bytes / 1e6,
                                         size / 1e6))
        checks.expect(rss < LIMIT_MB, "%s: %d pages, %.0f MB of pixels: peak RSS %.1f MB, "
                      "bound %d MB" % (kind, pages, pages * frame_bytes / 1e6, rss, LIMIT_MB))
        shutil.rmtree(out)
    shutil.rmtree(work)
    return checks.result()


if __name__ == "__main__":
    sys.exit(main())
