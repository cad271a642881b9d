#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The benchmark's smoke test: runs `bench/run.sh --smoke` on the given build and checks that
its JSON is complete and self-consistent (every expected key, positive figures, tile counts
that agree between the report, the levels and the limit loop) and that the table was
printed. It checks no timing: the figures only have to exist and make sense.

usage: check_results.py --build-dir DIR --work DIR
"""
import argparse
import json
import math
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODES = ("reencode", "copy", "copy-source-levels")
problems = []


def check(cond, what):
    if not cond:
        problems.append(what)
    return cond


def positive(obj, keys, where, allow_zero=()):
    for k in keys:
        v = obj.get(k)
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        ok = ok and (v > 0 or (k in allow_zero and v >= 0))
        check(ok, "%s: %s should be a positive number, is %r" % (where, k, v))


def check_run(r, where, levels=True, copies_tiles=True):
    positive(r, ["wall_s", "peak_rss_mb"], where)
    # GNU time counts CPU in 10 ms steps: a tiny run may show none
    positive(r, ["cpu_s", "others_cores"], where, allow_zero=("cpu_s", "others_cores"))
    if r["tool"] == "cp+fsync":
        return
    positive(r, ["megapixels", "mp_per_s", "tiles", "tiles_per_s"], where)
    if not levels:
        return
    lvs = r.get("levels", [])
    if not check(len(lvs) >= 1, "%s: no levels" % where):
        return
    check(sum(lv["tiles"] for lv in lvs) == r["tiles"], "%s: level tiles do not add up" % where)
    for lv in lvs:
        w = "%s level %s" % (where, lv.get("level"))
        positive(lv, ["width", "height", "tiles", "bytes", "megapixels"], w)
        positive(lv, ["seconds"], w, allow_zero=("seconds",))
        check(lv.get("mode") in ("copy", "encode"), "%s: mode %r" % (w, lv.get("mode")))
        if lv.get("seconds", 0) > 0:
            positive(lv, ["mp_per_s", "tiles_per_s"], w)
        else:   # one frame, or all written within the clock's resolution
            check(lv.get("mp_per_s") is None, "%s: a rate without a time span" % w)
    if r["mode"] == "reencode" or r["mode"] == "reencode-level0":
        check(all(lv["mode"] == "encode" for lv in lvs), "%s: a level was copied" % where)
    if not copies_tiles:   # read through OpenSlide: every level encoded
        check(all(lv["mode"] == "encode" for lv in lvs), "%s: a level was copied" % where)
        return
    if r["mode"] in ("copy", "copy-source-levels"):
        check(lvs[0]["mode"] == "copy", "%s: level 0 was not copied" % where)
    if r["mode"] == "copy-source-levels":
        check(all(lv["mode"] == "copy" for lv in lvs), "%s: a level was encoded" % where)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    out_json = os.path.join(a.work, "bench.json")
    if os.path.exists(out_json):
        os.remove(out_json)
    p = subprocess.run(["bash", os.path.join(ROOT, "bench", "run.sh"), "--smoke",
                        "--build-dir", a.build_dir, "--work", a.work, "--json", out_json],
                       capture_output=True, text=True)
    sys.stderr.write(p.stderr)
    if p.returncode != 0:
        print("bench/run.sh --smoke failed with %d" % p.returncode)
        return 1
    for header in ("| tool | mode | threads | wall s |", "| target | value | goal | status |",
                   "| mode | threads | level |", "| slide | MP | mode |"):
        check(header in p.stdout, "table %r not printed" % header)

    res = json.load(open(out_json))
    for k in ("environment", "repeat", "threads", "synthetic", "real_slides", "skipped_slides",
              "ratios", "targets"):
        check(k in res, "missing key %s" % k)
    env = res.get("environment", {})
    for k in ("date", "commit", "cpu", "cores", "loadavg_start", "loadavg_end", "page_cache",
              "libturbojpeg"):
        check(env.get(k) not in (None, ""), "environment.%s missing" % k)
    threads = res.get("threads", [])
    check(threads == [1], "smoke runs 1 thread, got %r" % threads)

    syn = res.get("synthetic", {})
    positive(syn, ["width", "height", "megapixels", "bytes", "level0_bits_per_pixel"], "synthetic")
    runs = syn.get("runs", [])
    for t in threads:
        for mode in MODES:
            r = [x for x in runs if x["mode"] == mode and x["threads"] == t]
            if check(len(r) == 1, "synthetic %s x%d: %d runs" % (mode, t, len(r))):
                check_run(r[0], "synthetic %s x%d" % (mode, t))
                check(r[0]["levels"][0]["width"] == syn["width"], "level 0 width differs")
        l0 = [x for x in syn.get("level0_runs", []) if x["threads"] == t]
        lim = [x for x in syn.get("references", []) if x["tool"] == "jpeg-limit" and
               x["threads"] == t]
        if check(len(l0) == 1 and len(lim) == 1, "level-0 or limit run missing (x%d)" % t):
            check_run(l0[0], "level0 x%d" % t)
            check_run(lim[0], "limit x%d" % t, levels=False)
            check(len(l0[0]["levels"]) == 1, "the level-0 run wrote more than level 0")
            # same tile grid: the converter's 256-pixel frames are the source's tiles
            check(lim[0]["tiles"] == l0[0]["levels"][0]["tiles"],
                  "limit decoded %d tiles, slide2dcm wrote %d frames" %
                  (lim[0]["tiles"], l0[0]["levels"][0]["tiles"]))
            loop = lim[0].get("loop", {})
            positive(loop, ["wall_s", "cpu_s", "mp_per_cpu_s", "raw_bytes", "encoded_bytes"],
                     "limit loop")
            check(loop.get("quality") == 90 and loop.get("subsampling") == "420",
                  "limit settings differ from the converter's defaults")
    cp = [x for x in syn.get("references", []) if x["tool"] == "cp+fsync"]
    if check(len(cp) == 1, "cp reference missing"):
        check_run(cp[0], "cp")
        positive(cp[0], ["megapixels", "mp_per_s"], "cp")
        check(cp[0]["bytes"] == syn.get("bytes"), "cp copied another size than the slide's")

    ratios = res.get("ratios", {}).get("threads_1", {})
    for k in ("level0_reencode_mp_per_cpu_s_vs_limit", "pyramid_reencode_wall_over_limit_level0_wall",
              "passthrough_copy_speed_vs_cp", "passthrough_copy-source-levels_speed_vs_cp"):
        positive(ratios, [k], "ratios.threads_1")
    targets = res.get("targets", [])
    check(len(targets) >= 5, "only %d targets" % len(targets))
    for t in targets:
        check(t.get("status") in ("PASS", "FAIL", "NOT RUN"), "target status %r" % t.get("status"))
        if t.get("status") in ("PASS", "FAIL"):
            positive(t, ["value"], "target %s" % t.get("target"))

    real = res.get("real_slides", [])
    if check(len(real) >= 1, "no real slide measured"):
        for s in real:
            for mode in MODES:
                r = [x for x in s["runs"] if x["mode"] == mode]
                if check(len(r) == len(threads), "%s %s missing" % (s["slide"], mode)):
                    for x in r:
                        check_run(x, "%s %s x%d" % (s["slide"], mode, x["threads"]),
                                  copies_tiles=s.get("copies_tiles", True))
            check_run(s["cp"], "%s cp" % s["slide"])

    for msg in problems:
        print("FAIL: " + msg)
    if not problems:
        print("bench smoke: JSON complete (%d targets, %d real slide(s))" %
              (len(targets), len(real)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
