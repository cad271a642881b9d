#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The measurements of bench/run.sh (which installs and builds first, then runs this).

Converts a synthetic tissue-like Aperio-like slide and the real test slides with slide2dcm
(re-encode, passthrough, passthrough of the source levels; 1 and 2 threads), measures the
references in the same run ((a) the libjpeg-turbo limit, bench/jpeg_limit.c; (b) cp + fsync;
(c) Orthanc's WSI dicomizer), prints Markdown tables with the issue's targets as PASS/FAIL
and writes the figures as JSON. Every figure of a child comes from the kernel: wall time
around the child, CPU (user + sys) and peak RSS from the rusage of that child alone (through
GNU time), and the cores other processes kept busy meanwhile (/proc/stat), since this
machine is shared. slide2dcm on the synthetic slide, the limit loop, cp and Orthanc run
--repeat times, round after round so that other work on the machine falls on all of them
alike, and the fastest run of each is kept (other work only slows runs down). The
passthrough of the source levels and cp + fsync, runs of 0.06-0.25 s that one disk or
scheduler hiccup can slow by a third, run SHORT_SAMPLES times a round, taking turns; the
real slides (tiny) run in the first round only, to keep the benchmark within a few minutes.
Nothing here asserts timing: the smoke test (tests/CMakeLists.txt) checks the JSON only.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTDATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "testdata"))
ORTHANC = "OrthancWSIDicomizer"

# The real slides that slide2dcm converts (all are small); --mpp is only used by those that
# record no pixel size (the TCGA slide, boxes.tiff).
REAL_SLIDES = [
    "aperio/CMU-1-Small-Region.svs",
    "aperio/tcga-cr-7395-01a-01-ts1.svs",
    "hamamatsu-ndpi/test3-DAPI 2 (387) .ndpi",
    "hamamatsu-ndpi/test3-TRITC 2 (560).ndpi",
    "ome-tiff/OS-1-detail.ome.tif",
    "ome-tiff/OS-2-ndpi.ome.tif",
    "ome-tiff/OS-2-vsi.ome.tif",
    "synthetic-openslide/boxes.tiff",
]
# Formats no real slide of ../shared/testdata has, as our generators write them (issue 21):
# converted like the real slides, against cp + fsync of the file (a MIRAX slide: its .mrxs
# and its folder). name: (generator, its arguments besides the size). MIRAX goes through
# OpenSlide (decoded), the others are copied tile-exact.
DECODED_SLIDES = {"synthetic-mirax.mrxs"}
FORMAT_SLIDES = {
    "synthetic-philips.tiff": ("s2d-make-svs", ["--format", "philips", "--tile", "512",
                                                "--colour", "ycbcr"]),
    "synthetic-leica.scn": ("s2d-make-svs", ["--format", "scn", "--tile", "256", "--colour",
                                             "ycbcr"]),
    "synthetic-3dhistech.tiff": ("s2d-make-svs", ["--format", "3dhistech", "--tile", "256",
                                                  "--colour", "ycbcr"]),
    "synthetic-ventana.bif": ("s2d-make-bif", ["--tile", "256"]),
    "synthetic-mirax.mrxs": ("s2d-make-mirax", ["--tile", "256"]),
}
# width, height, levels (--smoke: a quarter, 3 levels): the SCN's region is copied when its
# smallest level is whole 256-pixel tiles
FORMAT_SLIDE_SIZE = (8192, 4096, 5)
SKIPPED_SLIDES = {
    "aperio/small.svs": "16 x 16 pixels: process start-up only",
    "ome-tiff/multi-channel-z-series.ome.tif": "grey channels and z planes: not converted",
    "qptiff/small_vectra.qptiff": "multiplex fluorescence: not converted",
    "hamamatsu-ndpi/test3.ndpis": "a set file, no pixels",
    "negative/*, stubs-metadata-only/*": "broken or placeholder files for error tests",
}

# slide2dcm's modes. The re-encode settings are the converter's defaults (Q90, 4:2:0,
# 256-pixel frames), which the limit loop uses too.
MODES = {
    "reencode": ["--reencode"],                          # full 2x pyramid from level 0
    "copy": [],                                          # default: copy + generated 2x levels
    "copy-source-levels": ["--keep-source-levels"],      # the source's levels, no decoding
}
# Runs per round of the short passthrough-against-cp comparison (see the docstring).
SHORT_SAMPLES = 5
# Level 0 alone, re-encoded: the same work as the limit loop (a), plus the DICOM writing.
LEVEL0_ARGS = ["--reencode", "--levels", "1", "--no-label", "--no-overview", "--no-thumbnail"]
ORTHANC_MODES = {
    "copy": [],
    "reencode-pyramid": ["--reencode", "1", "--pyramid", "1", "--tile-width", "256",
                         "--tile-height", "256", "--jpeg-quality", "90"],
}


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ running children

def warm(path):
    """Reads a file once so that every run starts with it in the page cache."""
    with open(path, "rb") as f:
        while f.read(8 << 20):
            pass


def fsync_tree(path):
    """fsyncs every file under path (or path itself) and its directories."""
    paths = [path]
    if os.path.isdir(path):
        paths = [os.path.join(d, n) for d, _, names in os.walk(path) for n in names]
        paths += [d for d, _, _ in os.walk(path)]
    for p in paths + [os.path.dirname(path)]:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def busy_seconds():
    """CPU seconds the whole machine has been busy (all processes, all cores)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = v[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def run_child(cmd, after=None):
    """Runs cmd; returns wall, CPU and peak RSS of that child alone, its stdout, and how
    many cores other processes kept busy meanwhile; fails loudly on a non-zero exit.
    after() runs inside the timed span.

    The child is started through GNU time, which reports the child's rusage: a child forked
    from this Python process directly would inherit its resident size into ru_maxrss."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as usage:
        busy0, t0 = busy_seconds(), time.monotonic()
        code = subprocess.call(["/usr/bin/time", "-f", "%U %S %M", "-o", usage.name, "--"] +
                               cmd, stdout=out, stderr=err)
        if code == 0 and after:
            after()
        wall = time.monotonic() - t0
        busy = busy_seconds() - busy0
        out.seek(0)
        err.seek(0)
        if code != 0:
            tail = err.read().decode(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError("%s exited with %d: %s" % (" ".join(cmd), code,
                                                         " | ".join(tail)))
        user, system, rss_kb = usage.read().split()[-3:]
        cpu = float(user) + float(system)
        return {"wall_s": wall, "cpu_s": cpu, "user_s": float(user), "sys_s": float(system),
                "peak_rss_mb": int(rss_kb) / 1024.0,
                # cores kept busy by everything else on the machine during this run
                "others_cores": max(0.0, busy - cpu) / wall,
                "stdout": out.read().decode()}


def tree_bytes(path):
    return sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(path) for n in ns)


def rates(run, megapixels, tiles):
    run["megapixels"] = megapixels
    run["tiles"] = tiles
    run["mp_per_s"] = megapixels / run["wall_s"]
    run["mp_per_cpu_s"] = megapixels / run["cpu_s"] if run["cpu_s"] > 0 else None
    run["tiles_per_s"] = tiles / run["wall_s"]
    return run


def slide2dcm_run(b, slide, mode, extra, threads, workdir):
    out = os.path.join(workdir, "out")
    report = os.path.join(workdir, "report.json")
    shutil.rmtree(out, ignore_errors=True)
    warm(slide)
    cmd = [b.slide2dcm, "convert", slide, "-o", out, "--quiet", "--json-report", report,
           "--threads", str(threads), "--mpp", "0.5"] + extra
    run = run_child(cmd)
    del run["stdout"]
    rep = json.load(open(report))
    levels = []
    for i, f in enumerate(x for x in rep["files"] if x["flavor"] == "VOLUME"):
        mp = f["width"] * f["height"] / 1e6
        s = f["seconds"]
        levels.append({"level": i, "width": f["width"], "height": f["height"],
                       "tiles": f["tiles"], "mode": f["mode"], "bytes": f["bytes"],
                       "seconds": s, "megapixels": mp,
                       # levels are made at the same time: when each began and ended
                       "first_frame_s": f.get("first_frame_s"),
                       "last_frame_s": (f["first_frame_s"] + s
                                        if f.get("first_frame_s") is not None else None),
                       # one frame has no first-to-last span
                       "mp_per_s": mp / s if s > 0 else None,
                       "tiles_per_s": f["tiles"] / s if s > 0 else None})
    run.update({"tool": "slide2dcm", "mode": mode, "threads": threads,
                "slide": os.path.basename(slide), "args": extra,
                "converter_seconds": rep["seconds"], "levels": levels,
                "output_mb": tree_bytes(out) / 1e6})
    shutil.rmtree(out, ignore_errors=True)
    # Overall: the slide's (level 0) megapixels, and frames of every level, per wall second.
    return rates(run, levels[0]["megapixels"], sum(lv["tiles"] for lv in levels))


def orthanc_frames(folder):
    import pydicom
    frames = 0
    for name in os.listdir(folder):
        ds = pydicom.dcmread(os.path.join(folder, name), stop_before_pixels=True)
        frames += int(getattr(ds, "NumberOfFrames", 1))
    return frames


def orthanc_run(b, slide, mode, threads, megapixels, workdir):
    out = os.path.join(workdir, "orthanc")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    warm(slide)
    # One instance per level (--max-size 0) like slide2dcm; Orthanc does not fsync, so the
    # timed span includes an fsync of what it wrote, as slide2dcm's does.
    cmd = [ORTHANC, "--folder", out, "--threads", str(threads), "--max-size", "0"]
    run = run_child(cmd + ORTHANC_MODES[mode] + [slide], after=lambda: fsync_tree(out))
    del run["stdout"]
    run.update({"tool": "orthanc-wsi", "mode": mode, "threads": threads,
                "slide": os.path.basename(slide), "args": ORTHANC_MODES[mode],
                "instances": len(os.listdir(out)), "output_mb": tree_bytes(out) / 1e6})
    tiles = orthanc_frames(out)
    shutil.rmtree(out, ignore_errors=True)
    return rates(run, megapixels, tiles)


def limit_run(b, slide, threads, megapixels):
    warm(slide)
    run = run_child([b.jpeg_limit, slide, "--threads", str(threads)])
    loop = json.loads(run.pop("stdout"))
    run.update({"tool": "jpeg-limit", "mode": "level0-decode-encode", "threads": threads,
                "slide": os.path.basename(slide), "loop": loop})
    return rates(run, megapixels, loop["tiles"])


def slide_files(slide):
    """The files of a slide: the file, and for a MIRAX .mrxs those of its folder too."""
    folder = os.path.splitext(slide)[0]
    if slide.endswith(".mrxs") and os.path.isdir(folder):
        return [slide] + [os.path.join(folder, n) for n in sorted(os.listdir(folder))]
    return [slide]


def cp_run(slide, workdir, megapixels=None):
    dst = os.path.join(workdir, "cp", os.path.basename(slide))
    shutil.rmtree(os.path.dirname(dst), ignore_errors=True)
    os.makedirs(os.path.dirname(dst))
    files = slide_files(slide)
    for f in files:
        warm(f)
    folder = os.path.splitext(slide)[0]
    cmd = ["cp", "-r", slide, folder, os.path.dirname(dst)] if len(files) > 1 else \
        ["cp", slide, dst]
    run = run_child(cmd, after=lambda: fsync_tree(os.path.dirname(dst)))
    size = sum(os.path.getsize(f) for f in files)
    del run["stdout"]
    run.update({"tool": "cp+fsync", "mode": "copy", "threads": 1,
                "slide": os.path.basename(slide), "bytes": size, "output_mb": size / 1e6})
    shutil.rmtree(os.path.dirname(dst), ignore_errors=True)
    if megapixels:
        run["megapixels"] = megapixels
        run["mp_per_s"] = megapixels / run["wall_s"]
    return run


def best_run(samples):
    """The sample with the shortest wall time (best of N), all walls kept beside it. On a
    shared virtual machine other work only ever slows a run down (by up to a third here),
    so the fastest of a few is the closest to the program's own speed, for slide2dcm and the
    references alike."""
    ordered = sorted(samples, key=lambda r: r["wall_s"])
    best = dict(ordered[0])
    best["wall_s_samples"] = [round(r["wall_s"], 4) for r in samples]
    return best


# ------------------------------------------------------------------ inputs

def make_slide(b, path, width, height, levels, fmt_args=("--tile", "256"),
               tool="s2d-make-svs"):
    """Our generator's Aperio-like slide (256-pixel JPEG tiles, its default Q80, 4x levels;
    or another format's: tool and fmt_args), cached under the work directory and remade only
    when its parameters change. make_bif and make_mirax count level 0 in tiles of --tile."""
    if tool == "s2d-make-svs":
        size = ["--width", str(width), "--height", str(height)]
    else:
        tile = int(fmt_args[fmt_args.index("--tile") + 1])
        size = ["--cols", str(width // tile), "--rows", str(height // tile)]
    args = size + list(fmt_args) + ["--levels", str(levels)]
    stamp = path + ".args"
    if os.path.exists(path) and os.path.exists(stamp) and open(stamp).read() == " ".join(args):
        return path
    log("making %s (%dx%d, %d levels)" % (path, width, height, levels))
    if tool == "s2d-make-mirax":
        # Its folder is named after the .mrxs: made in place.
        shutil.rmtree(os.path.splitext(path)[0], ignore_errors=True)
        subprocess.run([os.path.join(b.build_dir, tool), path] + args, check=True)
    else:
        tmp = path + ".partial"
        subprocess.run([os.path.join(b.build_dir, tool), tmp] + args, check=True)
        os.replace(tmp, path)
    with open(stamp, "w") as f:
        f.write(" ".join(args))
    return path


# ------------------------------------------------------------------ ratios and tables

def target(name, value, goal, passed, detail):
    return {"target": name, "value": round(value, 3) if value is not None else None,
            "goal": goal, "status": ("PASS" if passed else "FAIL") if value is not None
            else "NOT RUN", "detail": detail}


def find(runs, **kw):
    for r in runs:
        if all(r.get(k) == v for k, v in kw.items()):
            return r
    return None


def ratios_and_targets(res, threads_list, memory):
    syn = res["synthetic"]["runs"]
    l0 = res["synthetic"]["level0_runs"]
    refs = res["synthetic"]["references"]
    slide = res["synthetic"]["slide"]
    ratios, targets = {}, []
    for t in threads_list:
        lim = find(refs, tool="jpeg-limit", threads=t)
        s2d_l0 = find(l0, threads=t)
        pyr = find(syn, tool="slide2dcm", mode="reencode", threads=t)
        r = ratios.setdefault("threads_%d" % t, {})
        r["level0_reencode_mp_per_cpu_s_vs_limit"] = s2d_l0["mp_per_cpu_s"] / lim["mp_per_cpu_s"]
        r["level0_reencode_wall_mp_per_s_vs_limit"] = s2d_l0["mp_per_s"] / lim["mp_per_s"]
        r["pyramid_reencode_wall_over_limit_level0_wall"] = pyr["wall_s"] / lim["wall_s"]
        cp = find(refs, tool="cp+fsync")
        for mode in ("copy", "copy-source-levels"):
            run = find(syn, tool="slide2dcm", mode=mode, threads=t)
            r["passthrough_%s_speed_vs_cp" % mode] = cp["wall_s"] / run["wall_s"]
        for mode in ORTHANC_MODES:
            orth = find(refs, tool="orthanc-wsi", mode=mode, threads=t)
            ours = find(syn, tool="slide2dcm",
                        mode="reencode" if mode == "reencode-pyramid" else "copy-source-levels",
                        threads=t)
            r["orthanc_%s_wall_over_slide2dcm" % mode] = (orth["wall_s"] / ours["wall_s"]
                                                          if orth else None)

        targets.append(target(
            "level-0 re-encode >= 0.8 x limit, MP per CPU-second (%d thread%s)"
            % (t, "s" if t > 1 else ""), r["level0_reencode_mp_per_cpu_s_vs_limit"], ">= 0.8",
            r["level0_reencode_mp_per_cpu_s_vs_limit"] >= 0.8,
            "%.1f vs %.1f MP/CPU-s" % (s2d_l0["mp_per_cpu_s"], lim["mp_per_cpu_s"])))
        if t > 1:
            targets.append(target(
                "level-0 re-encode >= 0.8 x limit, MP per wall second (%d threads)" % t,
                r["level0_reencode_wall_mp_per_s_vs_limit"], ">= 0.8",
                r["level0_reencode_wall_mp_per_s_vs_limit"] >= 0.8,
                "%.1f vs %.1f MP/s" % (s2d_l0["mp_per_s"], lim["mp_per_s"])))
        targets.append(target(
            "full re-encoded pyramid <= 1.5 x limit's level-0 time (%d thread%s)"
            % (t, "s" if t > 1 else ""), r["pyramid_reencode_wall_over_limit_level0_wall"],
            "<= 1.5", r["pyramid_reencode_wall_over_limit_level0_wall"] <= 1.5,
            "%.2f s vs %.2f s" % (pyr["wall_s"], lim["wall_s"])))
        o = r["orthanc_reencode-pyramid_wall_over_slide2dcm"]
        orth = find(refs, tool="orthanc-wsi", mode="reencode-pyramid", threads=t)
        targets.append(target(
            "pyramid re-encode >= 2 x faster than Orthanc --reencode 1 --pyramid 1 (%d thread%s)"
            % (t, "s" if t > 1 else ""), o, ">= 2", o is not None and o >= 2,
            "%.2f s vs %.2f s" % (pyr["wall_s"], orth["wall_s"]) if orth else
            "OrthancWSIDicomizer not installed or --no-orthanc"))
        for mode in ("copy-source-levels", "copy"):
            run = find(syn, tool="slide2dcm", mode=mode, threads=t)
            v = r["passthrough_%s_speed_vs_cp" % mode]
            targets.append(target(
                "passthrough (%s) >= 0.8 x cp + fsync speed (%d thread%s)"
                % ("--keep-source-levels" if mode == "copy-source-levels"
                   else "default, 2x levels generated", t, "s" if t > 1 else ""),
                v, ">= 0.8", v >= 0.8, "%.3f s vs %.3f s for %.1f MB" %
                (run["wall_s"], cp["wall_s"], cp["bytes"] / 1e6)))
    large = res.get("synthetic_large")
    for run in large["runs"] if large else []:
        cp = large["cp"]
        v = cp["wall_s"] / run["wall_s"]
        ratios["threads_%d" % run["threads"]]["passthrough_large_speed_vs_cp"] = v
        targets.append(target(
            "passthrough (--keep-source-levels) >= 0.8 x cp + fsync speed, %.0f MB slide "
            "(%d thread%s)" % (cp["bytes"] / 1e6, run["threads"],
                               "s" if run["threads"] > 1 else ""),
            v, ">= 0.8", v >= 0.8, "%.3f s vs %.3f s for %.1f MB" %
            (run["wall_s"], cp["wall_s"], cp["bytes"] / 1e6)))
    if len(threads_list) > 1:
        t1, tn = threads_list[0], threads_list[-1]
        a = find(syn, tool="slide2dcm", mode="reencode", threads=t1)
        z = find(syn, tool="slide2dcm", mode="reencode", threads=tn)
        la = find(refs, tool="jpeg-limit", threads=t1)
        lz = find(refs, tool="jpeg-limit", threads=tn)
        speedup = a["wall_s"] / z["wall_s"]
        ratios["reencode_speedup_%d_over_%d_threads" % (tn, t1)] = speedup
        ratios["limit_speedup_%d_over_%d_threads" % (tn, t1)] = la["wall_s"] / lz["wall_s"]
        targets.append(target(
            "re-encode: %d threads >= 1.8 x %d thread" % (tn, t1), speedup, ">= 1.8",
            speedup >= 1.8, "%.2f s vs %.2f s (the limit loop itself: %.2fx)"
            % (z["wall_s"], a["wall_s"], la["wall_s"] / lz["wall_s"])))
    big = [m for m in memory.get("runs", []) if m["size"] == "100000x80000"] if memory else []
    if big:
        targets.append(target("peak RSS < 300 MB on 100000 x 80000", big[0]["peak_rss_mb"],
                              "< 300 MB", big[0]["peak_rss_mb"] < 300, ", ".join(
                                  "%s: %.1f MB" % (m["size"], m["peak_rss_mb"])
                                  for m in memory["runs"])))
    else:
        targets.append(target("peak RSS < 300 MB on 100000 x 80000", None, "< 300 MB", False,
                              "not run: bash bench/run.sh --memory"))
    # Independent of size: a slide 20x wider (and as many pixels as 5 of the small one) may
    # not need more memory than the small one, beyond what grows per frame (offsets).
    runs = {m["size"]: m for m in memory.get("runs", [])} if memory else {}
    small, wide = runs.get("20000x16000"), runs.get("400000x4000")
    if small and wide:
        grew = wide["peak_rss_mb"] - small["peak_rss_mb"]
        detail = "%.1f MB at 400,000 wide vs %.1f MB at 20,000" % (wide["peak_rss_mb"],
                                                                   small["peak_rss_mb"])
        if big:
            per_gp = (big[0]["peak_rss_mb"] - small["peak_rss_mb"]) / (
                big[0]["megapixels"] - small["megapixels"]) * 1000
            ratios["peak_rss_mb_per_gigapixel"] = per_gp
            detail += "; with area: %+.1f MB per gigapixel (frame offsets)" % per_gp
        targets.append(target("peak RSS independent of width (400000 x 4000 vs 20000 x 16000)",
                              grew, "<= +10 MB", grew <= 10, detail))
    rss = [r["peak_rss_mb"] for r in syn if r["tool"] == "slide2dcm"]
    ratios["synthetic_peak_rss_mb_max"] = max(rss)
    return ratios, targets


def fmt(v, digits=2):
    return "-" if v is None else "%.*f" % (digits, v)


def print_tables(res):
    syn = res["synthetic"]
    p = print
    p("\nSynthetic slide %s: %dx%d, %.0f megapixels, %d source levels, %.1f MB, level 0 %.2f "
      "bits/pixel; fastest of %d runs (of %d for copy-source-levels and cp + fsync); source "
      "in the page cache before every run\n"
      % (syn["slide"], syn["width"], syn["height"], syn["megapixels"], syn["source_levels"],
         syn["bytes"] / 1e6, syn["level0_bits_per_pixel"], res["repeat"],
         res["repeat"] * res["short_samples"]))
    p("| tool | mode | threads | wall s | CPU s | peak RSS MB | MP/s | tiles/s | output MB "
      "| others' cores |")
    p("|---|---|---|---|---|---|---|---|---|---|")
    large = res.get("synthetic_large")
    large_rows = large["runs"] + [large["cp"]] if large else []
    for r in syn["runs"] + syn["level0_runs"] + syn["references"] + large_rows:
        p("| %s | %s | %d | %.2f | %.2f | %.1f | %s | %s | %s | %.2f |" % (
            r["tool"], r["mode"] + (" (%s)" % large["slide"] if r in large_rows else ""),
            r["threads"], r["wall_s"], r["cpu_s"], r["peak_rss_mb"],
            fmt(r.get("mp_per_s"), 0), fmt(r.get("tiles_per_s"), 0),
            fmt(r.get("output_mb"), 1), r["others_cores"]))
    busy = [r["others_cores"] for r in syn["runs"] + syn["level0_runs"] + syn["references"]]
    mean_busy = sum(busy) / len(busy)
    if mean_busy > 0.25:
        p("\n**Other processes kept %.2f of the %d cores busy on average during these runs**: "
          "the 2-thread figures, the thread scaling and CPU-second ratios are distorted by "
          "that; compare only figures measured side by side." % (mean_busy,
                                                                 res["environment"]["cores"]))
    p("\nMP/s: the slide's level-0 megapixels per wall second (all level-0 runs and the limit "
      "do level 0 only). tiles/s: frames of all levels per wall second. others' cores: CPU "
      "that other processes used during the run, in cores (of %d)." % res["environment"]["cores"])

    p("\nPer level, slide2dcm (seconds from a level's first frame written to its last; "
      "levels are made concurrently, so a level's span overlaps the others')\n")
    p("| mode | threads | level | size | tiles | copy/encode | seconds | MP/s | tiles/s |")
    p("|---|---|---|---|---|---|---|---|---|")
    for r in syn["runs"] + syn["level0_runs"]:
        if r["threads"] != max(res["threads"]):
            continue
        for lv in r["levels"]:
            p("| %s | %d | %d | %dx%d | %d | %s | %.3f | %s | %s |" % (
                r["mode"], r["threads"], lv["level"], lv["width"], lv["height"], lv["tiles"],
                lv["mode"], lv["seconds"], fmt(lv["mp_per_s"], 0), fmt(lv["tiles_per_s"], 0)))

    p("\nTargets (ratios from this run)\n")
    p("| target | value | goal | status | figures |")
    p("|---|---|---|---|---|")
    for t in res["targets"]:
        p("| %s | %s | %s | %s | %s |" % (t["target"], fmt(t["value"]), t["goal"], t["status"],
                                          t["detail"]))

    threads = res["threads"]
    per_t = " / ".join(str(t) for t in threads)
    p("\nReal slides (../shared/testdata) and the generator's slides of other formats "
      "(%s): slide2dcm with %s thread(s), against cp + fsync of the file\n"
      % (", ".join(FORMAT_SLIDES), per_t))
    p("| slide | MP | mode | wall s (%s) | CPU s (%s) | peak RSS MB | MP/s | tiles/s | "
      "cp+fsync s | others' cores |" % (per_t, per_t))
    p("|---|---|---|---|---|---|---|---|---|---|")
    for s in res["real_slides"]:
        for mode in MODES:
            rs = [find(s["runs"], mode=mode, threads=t) for t in threads]
            fast = min(rs, key=lambda r: r["wall_s"])
            p("| %s | %.1f | %s | %s | %s | %.1f | %.0f | %.0f | %.3f | %.2f |" % (
                s["slide"], fast["megapixels"], mode,
                " / ".join("%.3f" % r["wall_s"] for r in rs),
                " / ".join("%.2f" % r["cpu_s"] for r in rs),
                max(r["peak_rss_mb"] for r in rs), fast["mp_per_s"], fast["tiles_per_s"],
                s["cp"]["wall_s"], max(r["others_cores"] for r in rs)))
    p("\nMP/s and tiles/s of the faster thread count; peak RSS and others' cores: the largest.")
    for name, why in res["skipped_slides"].items():
        p("- skipped %s: %s" % (name, why))
    if res.get("memory"):
        p("\nPeak RSS against slide size (bench/memory.sh, default threads)\n")
        p("| slide | megapixels | levels | wall s | CPU s | peak RSS MB | output MB |")
        p("|---|---|---|---|---|---|---|")
        for m in res["memory"]["runs"]:
            p("| %s | %.0f | %d | %.1f | %.1f | %.1f | %.1f |" % (
                m["size"], m["megapixels"], m["levels"], m["wall_s"], m["cpu_s"],
                m["peak_rss_mb"], m["output_mb"]))


# ------------------------------------------------------------------ main

def environment(b):
    def pkg(name):
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", name], capture_output=True,
                           text=True)
        return r.stdout or None
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    # bench/results is what this run rewrites (memory.sh's file, say): not a change of code
    changed = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", ".",
                              ":!bench/results"], capture_output=True, text=True).stdout
    commit += "-dirty" if changed.strip() else ""
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.machine())
    return {"date": datetime.datetime.now().isoformat(timespec="seconds"), "commit": commit,
            "cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "libturbojpeg": pkg("libturbojpeg0"), "orthanc_wsi": pkg("orthanc-wsi"),
            "loadavg_start": os.getloadavg(),
            "page_cache": "warm: each input is read once right before each run (cp and "
                          "slide2dcm alike); nothing is dropped from the cache"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "bench"),
                    help="cache of generated slides and scratch output")
    ap.add_argument("--json", default=os.path.join(ROOT, "bench", "results", "bench.json"))
    ap.add_argument("--smoke", action="store_true",
                    help="tiny: 2000x1500 slide, 1 thread, 1 run, one real slide, no Orthanc")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--no-orthanc", action="store_true")
    ap.add_argument("--memory-json", help="bench/memory.sh's results to include")
    b = ap.parse_args()
    b.slide2dcm = os.path.join(b.build_dir, "slide2dcm")
    b.jpeg_limit = os.path.join(b.build_dir, "s2d-jpeg-limit")
    if b.smoke:
        width, height, repeat, threads_list = 2000, 1500, 1, [1]
        real = REAL_SLIDES[:1]
        use_orthanc = False
    else:
        # 120 x 80 whole 256-pixel tiles: no partial edge tile blurs the tile counts.
        width, height, repeat = 30720, 20480, b.repeat
        threads_list = [int(t) for t in b.threads.split(",")]
        real = REAL_SLIDES
        use_orthanc = not b.no_orthanc and shutil.which(ORTHANC) is not None
        if not use_orthanc:
            log("OrthancWSIDicomizer not used (not installed or --no-orthanc)")

    os.makedirs(b.work, exist_ok=True)
    env = environment(b)
    tag = "%dx%d" % (width, height)
    slide = make_slide(b, os.path.join(b.work, "synthetic-%s.svs" % tag), width, height, 3)
    # The same generator and seed with one level: the same level-0 tiles, byte for byte.
    slide_l0 = make_slide(b, os.path.join(b.work, "synthetic-%s-level0.svs" % tag), width,
                          height, 1)
    # Passthrough against cp again on a slide four times larger (about 180 MB), where the
    # ~30 ms of process start-up and the associated images no longer dominate.
    big = None
    if not b.smoke:
        big_w, big_h = 2 * width, 2 * height
        big = make_slide(b, os.path.join(b.work, "synthetic-%dx%d.svs" % (big_w, big_h)),
                         big_w, big_h, 3)
        big_mp = big_w * big_h / 1e6
    fw, fh, fl = FORMAT_SLIDE_SIZE
    fw, fh, fl = (fw // 4, fh // 4, 3) if b.smoke else (fw, fh, fl)
    real_paths = [(rel, os.path.join(TESTDATA, rel)) for rel in real] + \
        [(name, make_slide(b, os.path.join(b.work, name), fw, fh, fl, args, tool))
         for name, (tool, args) in FORMAT_SLIDES.items()]
    megapixels = width * height / 1e6
    scratch = os.path.join(b.work, "scratch")
    os.makedirs(scratch, exist_ok=True)

    samples = {}

    def sample(key, fn):
        samples.setdefault(key, []).append(fn())

    t_start = time.monotonic()
    for rnd in range(repeat):
        log("round %d of %d" % (rnd + 1, repeat))
        for t in threads_list:
            for mode, extra in MODES.items():
                if mode == "copy-source-levels":
                    continue   # below, in turns with cp
                sample(("s2d", mode, t), lambda: slide2dcm_run(b, slide, mode, extra, t, scratch))
            sample(("l0", t), lambda: slide2dcm_run(b, slide_l0, "reencode-level0",
                                                    LEVEL0_ARGS, t, scratch))
            sample(("limit", t), lambda: limit_run(b, slide_l0, t, megapixels))
            if use_orthanc:
                for mode in ORTHANC_MODES:
                    sample(("orthanc", mode, t),
                           lambda: orthanc_run(b, slide, mode, t, megapixels, scratch))
        passthrough = MODES["copy-source-levels"]
        for _ in range(1 if b.smoke else SHORT_SAMPLES):
            for t in threads_list:
                sample(("s2d", "copy-source-levels", t),
                       lambda: slide2dcm_run(b, slide, "copy-source-levels", passthrough, t,
                                             scratch))
            sample(("cp",), lambda: cp_run(slide, scratch, megapixels))
            if big:
                for t in threads_list:
                    sample(("big", t), lambda: slide2dcm_run(b, big, "copy-source-levels",
                                                             passthrough, t, scratch))
                sample(("big-cp",), lambda: cp_run(big, scratch, big_mp))
        for rel, path in real_paths if rnd == 0 else []:
            for t in threads_list:
                for mode, extra in MODES.items():
                    sample(("real", rel, mode, t),
                           lambda: slide2dcm_run(b, path, mode, extra, t, scratch))
            sample(("real-cp", rel), lambda: cp_run(path, scratch))

    med = {k: best_run(v) for k, v in samples.items()}
    limit1 = med[("limit", threads_list[0])]["loop"]
    res = {
        "environment": env, "repeat": repeat, "threads": threads_list, "smoke": b.smoke,
        "short_samples": 1 if b.smoke else SHORT_SAMPLES,
        "synthetic": {
            "slide": os.path.basename(slide), "width": width, "height": height,
            "megapixels": megapixels, "source_levels": 3, "bytes": os.path.getsize(slide),
            "tile": 256, "source_quality": 80,
            "level0_bits_per_pixel": limit1["raw_bytes"] * 8 / (width * height),
            "level0_slide": os.path.basename(slide_l0),
            "runs": [med[("s2d", m, t)] for t in threads_list for m in MODES] +
                    [med[("orthanc", m, t)] for t in threads_list for m in ORTHANC_MODES
                     if ("orthanc", m, t) in med],
            "level0_runs": [med[("l0", t)] for t in threads_list],
            "references": [med[("limit", t)] for t in threads_list] + [med[("cp",)]],
        },
        "real_slides": [{"slide": os.path.basename(rel), "path": rel,
                         "copies_tiles": os.path.basename(rel) not in DECODED_SLIDES,
                         "runs": [med[("real", rel, m, t)] for t in threads_list for m in MODES],
                         "cp": med[("real-cp", rel)]} for rel, _ in real_paths],
        "skipped_slides": SKIPPED_SLIDES,
    }
    if big:
        res["synthetic_large"] = {
            "slide": os.path.basename(big), "width": 2 * width, "height": 2 * height,
            "megapixels": big_mp, "bytes": os.path.getsize(big),
            "runs": [med[("big", t)] for t in threads_list], "cp": med[("big-cp",)]}
    # Orthanc's runs are references too; keep them with the others.
    syn = res["synthetic"]
    syn["references"] += [r for r in syn["runs"] if r["tool"] == "orthanc-wsi"]
    syn["runs"] = [r for r in syn["runs"] if r["tool"] != "orthanc-wsi"]
    memory = json.load(open(b.memory_json)) if b.memory_json else None
    if memory:
        res["memory"] = memory
    res["ratios"], res["targets"] = ratios_and_targets(res, threads_list, memory)
    env["loadavg_end"] = os.getloadavg()
    env["measuring_seconds"] = round(time.monotonic() - t_start, 1)
    shutil.rmtree(scratch, ignore_errors=True)

    os.makedirs(os.path.dirname(os.path.abspath(b.json)), exist_ok=True)
    tmp = b.json + ".partial"
    with open(tmp, "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, b.json)
    print("Benchmark %s, commit %s, %s (%d cores), load %.2f -> %.2f, %.0f s of measuring" % (
        env["date"], env["commit"], env["cpu"], env["cores"], env["loadavg_start"][0],
        env["loadavg_end"][0], env["measuring_seconds"]))
    print_tables(res)
    print("\nJSON: %s" % os.path.relpath(b.json))
    return 0


if __name__ == "__main__":
    sys.exit(main())
