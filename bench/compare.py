#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Before and after in one run: two builds of slide2dcm take turns on the benchmark's
synthetic slide (bench/bench.py's 30720 x 20480 Aperio-like slide, 256-pixel JPEG tiles) in
its three modes on 1 and 2 threads, round after round, so that whatever else the machine
does falls on both alike. Prints, per mode and thread count, the fastest and the median
wall time of each build, their CPU time and peak RSS, the after/before ratio, and each
build's 2-threads-over-1 speed-up on the re-encode.

usage: bench/compare.py --before BUILD_DIR --after BUILD_DIR [--rounds N] [--work DIR]

Nothing here asserts: it is for a change's commit message and issue note (issue 15 asks for
the benchmark's figures before and after a redesign that must not move them).
"""
import argparse
import os
import shutil
import statistics
import sys
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the benchmark's own runners and slide maker)

MODES = {"reencode": ["--reencode"], "copy": [], "copy-source-levels": ["--keep-source-levels"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", required=True, help="build directory of the old binary")
    ap.add_argument("--after", required=True, help="build directory of the new binary")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--work", default=os.path.join(bench.ROOT, "build", "bench"))
    a = ap.parse_args()
    builds = {}
    for name, d in (("before", a.before), ("after", a.after)):
        builds[name] = types.SimpleNamespace(slide2dcm=os.path.join(d, "slide2dcm"),
                                             make_svs=os.path.join(d, "s2d-make-svs"))
    os.makedirs(a.work, exist_ok=True)
    slide = bench.make_slide(builds["after"], os.path.join(a.work, "synthetic-30720x20480.svs"),
                             30720, 20480, 3)
    scratch = os.path.join(a.work, "compare-scratch")
    os.makedirs(scratch, exist_ok=True)
    runs = {}
    for rnd in range(a.rounds):
        bench.log("round %d of %d" % (rnd + 1, a.rounds))
        for mode, extra in MODES.items():
            for threads in (1, 2):
                # Alternate which build goes first, so neither always follows the other.
                order = ("before", "after") if rnd % 2 == 0 else ("after", "before")
                for name in order:
                    r = bench.slide2dcm_run(builds[name], slide, mode, extra, threads, scratch)
                    runs.setdefault((mode, threads, name), []).append(r)
    shutil.rmtree(scratch, ignore_errors=True)

    print("%d rounds, builds taking turns; wall s min / median, CPU s min, peak RSS MB max"
          % a.rounds)
    print("| mode | threads | before wall | after wall | after / before (min) | "
          "before CPU | after CPU | before RSS | after RSS |")
    print("|---|---|---|---|---|---|---|---|---|")
    for mode in MODES:
        for threads in (1, 2):
            cells = []
            for name in ("before", "after"):
                rs = runs[(mode, threads, name)]
                walls = [r["wall_s"] for r in rs]
                cells.append((min(walls), statistics.median(walls),
                              min(r["cpu_s"] for r in rs), max(r["peak_rss_mb"] for r in rs)))
            (bw, bm, bc, br), (aw, am, ac, ar) = cells
            print("| %s | %d | %.3f / %.3f | %.3f / %.3f | %.2f | %.3f | %.3f | %.1f | %.1f |"
                  % (mode, threads, bw, bm, aw, am, aw / bw, bc, ac, br, ar))
    for name in ("before", "after"):
        one = min(r["wall_s"] for r in runs[("reencode", 1, name)])
        two = min(r["wall_s"] for r in runs[("reencode", 2, name)])
        print("%s: re-encode 2 threads over 1: %.2fx" % (name, one / two))
    return 0


if __name__ == "__main__":
    sys.exit(main())
