#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Peak memory does not grow with a slide's width: two synthetic slides, 2,048 and 200,000
pixels wide, every level below 0 generated (the case whose tile rows span the width), both
converted by re-encoding and by copying, with 1 and 2 threads. The wide one may use at most
SLACK_MB more peak RSS than the narrow one; keeping the generated levels' rows in memory
would cost ~150 MB here.

usage: memory_width.py SLIDE2DCM MAKE_SVS WORKDIR"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import Checks  # noqa: E402

SLACK_MB = 8
HEIGHT = 1024
WIDTHS = (2048, 200000)


def peak_rss_mb(cmd):
    # GNU time reports the converter's own rusage, not this interpreter's.
    with tempfile.NamedTemporaryFile("r") as usage:
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", usage.name, "--"] + cmd, check=True)
        return int(usage.read().split()[-1]) / 1024


def main():
    slide2dcm, make_svs, work = sys.argv[1:4]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    slides = {}
    for w in WIDTHS:
        slides[w] = os.path.join(work, "wide-%d.svs" % w)
        subprocess.run([make_svs, slides[w], "--width", str(w), "--height", str(HEIGHT),
                        "--tile", "256", "--levels", "1", "--no-label", "--no-macro"],
                       check=True, stdout=subprocess.DEVNULL)
    checks = Checks()
    for mode in (["--reencode"], []):
        for threads in ("1", "2"):
            rss = {}
            for w in WIDTHS:
                out = os.path.join(work, "out-%d" % w)
                shutil.rmtree(out, ignore_errors=True)
                rss[w] = peak_rss_mb([slide2dcm, "convert", slides[w], "-o", out, "--quiet",
                                      "--threads", threads, "--json-report", out + ".json"] + mode)
                levels = sum(f["flavor"] == "VOLUME" for f in json.load(open(out + ".json"))["files"])
                shutil.rmtree(out)
            grew = rss[WIDTHS[1]] - rss[WIDTHS[0]]
            checks.expect(grew <= SLACK_MB and levels >= 9,
                          "%s, %s thread(s): peak RSS %.1f MB at %d wide, %.1f MB at %d wide "
                          "(%d levels, at least 9): %+.1f MB, allowed %+d" % (
                              " ".join(mode) or "copy", threads, rss[WIDTHS[0]], WIDTHS[0],
                              rss[WIDTHS[1]], WIDTHS[1], levels, grew, SLACK_MB))
    shutil.rmtree(work)
    return checks.result()


if __name__ == "__main__":
    sys.exit(main())
