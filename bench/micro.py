#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The microscopy benchmark (issue 17; `bash bench/run.sh --micro` builds and runs it).

Inputs, written by s2d-make-micro-bench (tools/make_micro_bench.c) into --work (a scratch
directory outside the repository, kept between runs): fluorescence-like OME-TIFFs, strips,
uncompressed: --channels channels of --size x --size pixels in uint16 (12-bit values) and
in uint8; and one-channel uint16 strip images --rss-height rows high and --rss-widths wide.

Every round, for each bit depth and each codec (--codecs, the lossless entries of the codec
table), one after the other so that other work on this shared machine falls on all alike:
  - the codec's limit loop: s2d-micro-limit (bench/micro_limit.c) encodes --tiles 256 x 256
    tiles cut from the input, on one thread, through the codec table's entry alone (only
    the encoding timed): MP/s per core;
  - the conversion: `slide2dcm convert FILE -o OUT --codec C --threads T` (T = --threads,
    default all cores). Its encoded megapixels are every frame it wrote (all channels, all
    levels, edge frames whole) x 256 x 256: the same unit as the limit loop's.
Ratio: conversion MP/s (wall) / (limit MP/s x T); the median over the rounds is the figure.
The goal applies to the compressing codecs; native's "codec" is a copy into the frame, so
its conversion is reading and writing, not encoding: its ratio is shown, with no goal.
A CPU ratio (encoded MP per CPU second of the conversion against the limit's per CPU second)
says how much of the converter's own work is not the codec's, whatever the machine's load.
Then once: peak RSS of the default conversion (no --codec) of each strip image.

Nothing is asserted about timing: the tables say PASS or FAIL against the issue's goals
(ratio >= 0.8, peak RSS < 300 MB). No figures without every channel's every level: each
conversion must write the files and frames the pyramid rules give, or the benchmark stops.
"""
import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import environment, log, run_child, warm  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TILE = 256
RATIO_GOAL = 0.8
NO_GOAL = {"native"}   # no encoding to compare with (see the docstring)
RSS_GOAL_MB = 300


def fmt(ratio):
    return "-" if ratio is None else "%.2f" % ratio


def median_or_none(values):
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def make_input(b, path, width, height, channels, bits):
    """Writes an input once; later runs reuse it (the name carries its parameters)."""
    if os.path.exists(path):
        return
    log("writing %s" % path)
    subprocess.run([os.path.join(b, "s2d-make-micro-bench"), path + ".part", "--width",
                    str(width), "--height", str(height), "--channels", str(channels),
                    "--bits", str(bits)], check=True)
    os.rename(path + ".part", path)


def expected_pyramid(width, height, channels):
    """The files and frames the grey pyramid rules give (docs: MICRO decisions): levels
    halve, rounding up, until one fits in one tile; one file per channel and level."""
    files, frames = [], 0
    level, w, h = 0, width, height
    while True:
        for c in range(channels):
            files.append("c%d-level-%d.dcm" % (c + 1, level))
        frames += channels * math.ceil(w / TILE) * math.ceil(h / TILE)
        if w <= TILE and h <= TILE:
            return sorted(files), frames
        w, h, level = (w + 1) // 2, (h + 1) // 2, level + 1


def convert(b, tif, out, extra, width, height, channels):
    """One timed conversion; checks it wrote every channel's every level."""
    shutil.rmtree(out, ignore_errors=True)
    warm(tif)
    run = run_child([os.path.join(b, "slide2dcm"), "convert", tif, "-o", out, "--quiet",
                     "--json-report", out + ".json"] + extra)
    del run["stdout"]
    report = json.load(open(out + ".json"))
    names = sorted(f["name"] for f in report["files"])
    frames = sum(f["tiles"] for f in report["files"])
    want_names, want_frames = expected_pyramid(width, height, channels)
    if names != want_names or frames != want_frames:
        raise RuntimeError("%s %s: wrote %d files and %d frames (%s...), the pyramid has %d "
                           "files and %d frames" % (os.path.basename(tif), " ".join(extra),
                                                    len(names), frames, names[:3],
                                                    len(want_names), want_frames))
    run.update({"files": len(names), "frames": frames,
                "encoded_megapixels": frames * TILE * TILE / 1e6,
                "output_bytes": sum(os.path.getsize(os.path.join(out, n)) for n in names),
                "transfer_syntax": sorted({f["transfer_syntax"] for f in report["files"]})})
    shutil.rmtree(out, ignore_errors=True)
    os.unlink(out + ".json")
    return run


def limit(b, tif, codec, tiles):
    run = run_child([os.path.join(b, "s2d-micro-limit"), tif, "--codec", codec, "--tiles",
                     str(tiles), "--repeat", "1"])
    run["loop"] = json.loads(run.pop("stdout"))
    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "s2d-bench-micro"),
                    help="scratch directory for the inputs (kept) and outputs (deleted)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--size", type=int, default=8000, help="side of the channels")
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--bits", default="16,8", help="bit depths of the inputs")
    ap.add_argument("--codecs", default="j2k,jpeg-ls,native")
    ap.add_argument("--tiles", type=int, default=300, help="tiles of the limit loop")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--rss-widths", default="4096,16384,32768")
    ap.add_argument("--rss-height", type=int, default=4096)
    ap.add_argument("--json", default=os.path.join(ROOT, "bench", "results", "micro.json"))
    a = ap.parse_args()
    b = os.path.abspath(a.build_dir)
    work = os.path.abspath(a.work)
    if work.startswith(ROOT + os.sep) and subprocess.run(
            ["git", "-C", ROOT, "check-ignore", "-q", work]).returncode != 0:
        ap.error("--work must be outside the repository (or ignored by git, as build/ is): "
                 "the inputs are gigabytes")
    os.makedirs(work, exist_ok=True)
    bits_list = [int(x) for x in a.bits.split(",")]
    codecs = a.codecs.split(",")
    widths = [int(x) for x in a.rss_widths.split(",") if x]

    inputs = {}
    for bits in bits_list:
        path = os.path.join(work, "micro-%dx%dx%d-u%d.ome.tif" % (a.size, a.size, a.channels,
                                                                   bits))
        make_input(b, path, a.size, a.size, a.channels, bits)
        inputs[bits] = path
    strips = {}
    for w in widths:
        path = os.path.join(work, "strip-%dx%d-u16.ome.tif" % (w, a.rss_height))
        make_input(b, path, w, a.rss_height, 1, 16)
        strips[w] = path
    out = os.path.join(work, "out")
    env = environment(b)
    cases = {(bits, c): {"bits": bits, "codec": c, "runs": [], "ratios": [], "cpu_ratios": []}
             for bits in bits_list for c in codecs}
    for r in range(a.rounds):
        log("round %d of %d" % (r + 1, a.rounds))
        for bits in bits_list:
            for codec in codecs:
                case = cases[(bits, codec)]
                lim = limit(b, inputs[bits], codec, a.tiles)
                conv = convert(b, inputs[bits], out, ["--codec", codec, "--threads",
                                                      str(a.threads)],
                               a.size, a.size, a.channels)
                loop = lim["loop"]
                conv_rate = conv["encoded_megapixels"] / conv["wall_s"]
                ratio = conv_rate / (loop["mp_per_s"] * a.threads)
                # CPU times of tiny runs (the smoke test's) can round to 0
                cpu_ratio = ((conv["encoded_megapixels"] / conv["cpu_s"]) /
                             (loop["megapixels"] / loop["cpu_seconds"])
                             if conv["cpu_s"] > 0 and loop["cpu_seconds"] > 0 else None)
                case["runs"].append({"slide2dcm": conv, "limit": lim})
                case["ratios"].append(ratio)
                case["cpu_ratios"].append(cpu_ratio)
                log("  %d-bit %s: limit %.1f MP/s a core; conversion %.1f MP/s on %d "
                    "threads: %.2fx (CPU %s), %.1f MB" % (
                        bits, codec, loop["mp_per_s"], conv_rate, a.threads, ratio,
                        fmt(cpu_ratio), conv["peak_rss_mb"]))
    memory = []
    for w in widths:
        conv = convert(b, strips[w], out, ["--threads", str(a.threads)], w, a.rss_height, 1)
        memory.append({"width": w, "height": a.rss_height, "input_bytes":
                       os.path.getsize(strips[w]), "slide2dcm": conv})
        log("  strip %dx%d: %.1f MB peak RSS" % (w, a.rss_height, conv["peak_rss_mb"]))

    results = []
    for case in cases.values():
        med = statistics.median(case["ratios"])
        status = "-" if case["codec"] in NO_GOAL else "PASS" if med >= RATIO_GOAL else "FAIL"
        results.append(dict(case, ratio_median=med,
                            cpu_ratio_median=median_or_none(case["cpu_ratios"]),
                            status=status))
    peak = max(m["slide2dcm"]["peak_rss_mb"] for m in memory) if memory else 0.0
    env["loadavg_end"] = os.getloadavg()
    res = {"environment": env, "rounds": a.rounds, "threads": a.threads, "tiles": a.tiles,
           "inputs": {str(bits): {"path": os.path.basename(p), "bytes": os.path.getsize(p),
                                  "size": a.size, "channels": a.channels}
                      for bits, p in inputs.items()},
           "results": results, "memory": memory, "peak_rss_mb": peak,
           "peak_rss_status": "PASS" if peak < RSS_GOAL_MB else "FAIL"}
    os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump(res, f, indent=2)
    print_tables(res)
    return 0


def print_tables(res):
    e = res["environment"]
    print("Microscopy benchmark %s, commit %s, %s (%d cores), load %.2f -> %.2f, %d rounds, "
          "conversions on %d threads, limit loops on 1 (%d tiles)\n" % (
              e["date"], e["commit"], e["cpu"], e["cores"], e["loadavg_start"][0],
              e["loadavg_end"][0], res["rounds"], res["threads"], res["tiles"]))
    for bits, i in res["inputs"].items():
        print("Input %s-bit: %s (%d channels of %dx%d, %.0f MB)" % (
            bits, i["path"], i["channels"], i["size"], i["size"], i["bytes"] / 1e6))
    print("\n| bits | codec | round | limit MP/s a core | limit CPU s | compression | "
          "slide2dcm wall s | CPU s | encoded MP | MP/s | peak RSS MB | output MB | ratio | "
          "CPU ratio | others' cores |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for s in res["results"]:
        for n, run in enumerate(s["runs"]):
            c, lim = run["slide2dcm"], run["limit"]
            print("| %d | %s | %d | %.1f | %.2f | %.2f | %.2f | %.2f | %.0f | %.1f | %.1f | "
                  "%.1f | %.2f | %s | %.2f |" % (
                      s["bits"], s["codec"], n + 1, lim["loop"]["mp_per_s"],
                      lim["loop"]["cpu_seconds"], lim["loop"]["compression"], c["wall_s"],
                      c["cpu_s"], c["encoded_megapixels"],
                      c["encoded_megapixels"] / c["wall_s"], c["peak_rss_mb"],
                      c["output_bytes"] / 1e6, s["ratios"][n], fmt(s["cpu_ratios"][n]),
                      max(c["others_cores"], lim["others_cores"])))
    print("\n| bits | codec | limit MP/s a core (median) | median ratio | goal | status | "
          "ratios | median CPU ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for s in res["results"]:
        print("| %d | %s | %.1f | %.2f | %s | %s | %s | %s |" % (
            s["bits"], s["codec"],
            statistics.median(r["limit"]["loop"]["mp_per_s"] for r in s["runs"]),
            s["ratio_median"], "-" if s["status"] == "-" else ">= %.1f" % RATIO_GOAL,
            s["status"],
            ", ".join("%.2f" % x for x in s["ratios"]), fmt(s["cpu_ratio_median"])))
    if res["memory"]:
        print("\nPeak RSS against image size (one uint16 channel, strips, default codec)\n")
        print("| image | megapixels | input MB | wall s | CPU s | peak RSS MB | output MB | "
              "transfer syntax |")
        print("|---|---|---|---|---|---|---|---|")
        for m in res["memory"]:
            c = m["slide2dcm"]
            print("| %dx%d | %.0f | %.0f | %.2f | %.2f | %.1f | %.1f | %s |" % (
                m["width"], m["height"], m["width"] * m["height"] / 1e6,
                m["input_bytes"] / 1e6, c["wall_s"], c["cpu_s"], c["peak_rss_mb"],
                c["output_bytes"] / 1e6, ", ".join(c["transfer_syntax"])))
        print("\n| target | value | goal | status |")
        print("|---|---|---|---|")
        print("| peak RSS, largest strip image | %.1f MB | < %d MB | %s |" % (
            res["peak_rss_mb"], RSS_GOAL_MB, res["peak_rss_status"]))


if __name__ == "__main__":
    sys.exit(main())
