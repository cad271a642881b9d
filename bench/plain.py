#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The plain-TIFF benchmark (issue 16; `bash bench/run.sh --plain` builds and runs it).

Inputs, written by s2d-make-plain-bench (tools/make_plain_bench.c) into --work (a scratch
directory outside the repository, kept between runs):
  - a radiology stack: --stack-pages pages of 2048 x 2048 unsigned 16-bit (default 256:
    2 GiB), uncompressed, ~8 KB strips;
  - a scanned document: --doc-pages A4 pages at 300 dpi, 1-bit, CCITT G4 (default 100);
  - a smaller stack for JPEG-LS: --jls-pages pages (default 32: 256 MiB).

Every round runs, one after the other so that other work on this shared machine falls on
all of them alike:
  - native conversion (`slide2dcm convert --threads 1`) of the stack and of the document,
    against the reference: s2d-plain-decode (bench/plain_decode.c, libtiff alone decoding
    every page's strips) plus `cp` of the converter's output file and fsync of the copy and
    its directory (slide2dcm fsyncs its output too);
  - `--codec jpeg-ls --threads 1` on the small stack, against s2d-codec-limit
    (bench/codec_limit.c: CharLS encoding the same frames alone; only its encoding is
    timed, reading the pages is not).
Ratios are speed ratios (reference seconds / slide2dcm seconds, > 1 is faster than the
reference), one per round; the median is reported. Peak RSS is the converter's own, from
its rusage through GNU time, the largest of the rounds. Inputs are in the page cache before
every run (read once right before it); nothing is dropped from the cache. Nothing here
asserts timing: the table says PASS or FAIL against the issue's goals.
"""
import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import environment, fsync_tree, log, run_child, warm  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NATIVE_GOAL = 0.7
JLS_GOAL = 0.8
RSS_GOAL_MB = 100


def make_input(b, path, args):
    """Writes an input once; later runs reuse it (the name carries its parameters)."""
    if os.path.exists(path):
        return
    log("writing %s" % path)
    subprocess.run([os.path.join(b, "s2d-make-plain-bench"), args[0], path + ".part"] +
                   args[1:], check=True)
    os.rename(path + ".part", path)


def convert(b, tif, out, extra):
    """One timed conversion; returns the run with its output's path and size."""
    shutil.rmtree(out, ignore_errors=True)
    warm(tif)
    run = run_child([os.path.join(b, "slide2dcm"), "convert", tif, "-o", out, "--quiet",
                     "--threads", "1", "--json-report", out + ".json"] + extra)
    del run["stdout"]
    report = json.load(open(out + ".json"))
    files = [os.path.join(out, f["name"]) for f in report["files"]]
    run.update({"files": len(files), "frames": sum(f["tiles"] for f in report["files"]),
                "output_bytes": sum(os.path.getsize(f) for f in files),
                "transfer_syntax": sorted({f["transfer_syntax"] for f in report["files"]})})
    run["_outputs"] = files
    return run


def decode(b, tif):
    warm(tif)
    run = run_child([os.path.join(b, "s2d-plain-decode"), tif])
    run["loop"] = json.loads(run.pop("stdout"))
    return run


def cp_fsync(files, workdir):
    """cp of the converter's output files (in the page cache: just written) to a fresh
    directory, then fsync of the copies and the directory, in one timed span."""
    dst = os.path.join(workdir, "cp")
    shutil.rmtree(dst, ignore_errors=True)
    os.makedirs(dst)
    run = run_child(["cp"] + files + [dst], after=lambda: fsync_tree(dst))
    del run["stdout"]
    run["bytes"] = sum(os.path.getsize(f) for f in files)
    shutil.rmtree(dst)
    return run


def charls(b, tif):
    warm(tif)
    run = run_child([os.path.join(b, "s2d-codec-limit"), tif, "--repeat", "1"])
    run["loop"] = json.loads(run.pop("stdout"))
    return run


def expect_pages(name, pages, conv, reference):
    """No figures for a conversion or a reference that did not take every page."""
    if conv["frames"] != pages or conv["files"] != 1 or reference["pages"] != pages:
        raise RuntimeError("%s: %d pages written, slide2dcm made %d frames in %d files, the "
                           "reference took %d pages" % (name, pages, conv["frames"],
                                                        conv["files"], reference["pages"]))


def summary(name, runs, ratios, goal):
    med = statistics.median(ratios)
    return {"case": name, "ratio_median": med, "ratios": ratios, "goal": goal,
            "status": "PASS" if med >= goal else "FAIL", "runs": runs}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "s2d-bench-plain"),
                    help="scratch directory for the inputs (kept) and outputs (deleted)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--stack-pages", type=int, default=256)
    ap.add_argument("--doc-pages", type=int, default=100)
    ap.add_argument("--jls-pages", type=int, default=32)
    ap.add_argument("--json", default=os.path.join(ROOT, "bench", "results", "plain.json"))
    a = ap.parse_args()
    b = os.path.abspath(a.build_dir)
    work = os.path.abspath(a.work)
    if work.startswith(ROOT + os.sep) and subprocess.run(
            ["git", "-C", ROOT, "check-ignore", "-q", work]).returncode != 0:
        ap.error("--work must be outside the repository (or ignored by git, as build/ is): "
                 "the inputs are gigabytes")
    os.makedirs(a.work, exist_ok=True)

    stack = os.path.join(a.work, "stack-2048x2048x%d-u16.tif" % a.stack_pages)
    doc = os.path.join(a.work, "document-a4-300dpi-%d-g4.tif" % a.doc_pages)
    small = os.path.join(a.work, "stack-2048x2048x%d-u16.tif" % a.jls_pages)
    make_input(b, stack, ["stack", "--pages", str(a.stack_pages)])
    make_input(b, doc, ["document", "--pages", str(a.doc_pages)])
    make_input(b, small, ["stack", "--pages", str(a.jls_pages)])
    out = os.path.join(a.work, "out")
    env = environment(b)
    cases = {"stack": {"runs": [], "ratios": []}, "document": {"runs": [], "ratios": []},
             "jpeg-ls": {"runs": [], "ratios": []}}
    for r in range(a.rounds):
        log("round %d of %d" % (r + 1, a.rounds))
        for name, tif, pages in (("stack", stack, a.stack_pages),
                                 ("document", doc, a.doc_pages)):
            conv = convert(b, tif, out, [])
            dec = decode(b, tif)
            expect_pages(name, pages, conv, dec["loop"])
            cp = cp_fsync(conv.pop("_outputs"), a.work)
            ref = dec["wall_s"] + cp["wall_s"]
            cases[name]["runs"].append({"slide2dcm": conv, "decode": dec, "cp_fsync": cp})
            cases[name]["ratios"].append(ref / conv["wall_s"])
            log("  %s native: %.2f s against decode %.2f s + cp %.2f s: %.2fx, %.1f MB" % (
                name, conv["wall_s"], dec["wall_s"], cp["wall_s"], ref / conv["wall_s"],
                conv["peak_rss_mb"]))
        conv = convert(b, small, out, ["--codec", "jpeg-ls"])
        conv.pop("_outputs")
        lim = charls(b, small)
        expect_pages("jpeg-ls", a.jls_pages, conv, lim["loop"])
        cases["jpeg-ls"]["runs"].append({"slide2dcm": conv, "charls": lim})
        cases["jpeg-ls"]["ratios"].append(lim["loop"]["seconds"] / conv["wall_s"])
        log("  jpeg-ls: %.2f s against CharLS alone %.2f s: %.2fx, %.1f MB" % (
            conv["wall_s"], lim["loop"]["seconds"], lim["loop"]["seconds"] / conv["wall_s"],
            conv["peak_rss_mb"]))
    shutil.rmtree(out, ignore_errors=True)
    if os.path.exists(out + ".json"):
        os.unlink(out + ".json")

    results = [summary("stack native", cases["stack"]["runs"], cases["stack"]["ratios"],
                       NATIVE_GOAL),
               summary("document native", cases["document"]["runs"],
                       cases["document"]["ratios"], NATIVE_GOAL),
               summary("stack jpeg-ls", cases["jpeg-ls"]["runs"], cases["jpeg-ls"]["ratios"],
                       JLS_GOAL)]
    peak = max(run["slide2dcm"]["peak_rss_mb"] for run in cases["stack"]["runs"])
    env["loadavg_end"] = os.getloadavg()
    inputs = {name: {"path": os.path.basename(p), "bytes": os.path.getsize(p)}
              for name, p in (("stack", stack), ("document", doc), ("jls_stack", small))}
    res = {"environment": env, "inputs": inputs, "rounds": a.rounds, "results": results,
           "peak_rss_mb_stack": peak,
           "peak_rss_status": "PASS" if peak < RSS_GOAL_MB else "FAIL"}
    os.makedirs(os.path.dirname(a.json), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump(res, f, indent=2)
    print_tables(res)
    return 0


def print_tables(res):
    e, i = res["environment"], res["inputs"]
    print("Plain-TIFF benchmark %s, commit %s, %s (%d cores), load %.2f -> %.2f, %d rounds\n" % (
        e["date"], e["commit"], e["cpu"], e["cores"], e["loadavg_start"][0],
        e["loadavg_end"][0], res["rounds"]))
    print("Inputs: %s (%.0f MB), %s (%.1f MB), %s (%.0f MB)\n" % (
        i["stack"]["path"], i["stack"]["bytes"] / 1e6, i["document"]["path"],
        i["document"]["bytes"] / 1e6, i["jls_stack"]["path"], i["jls_stack"]["bytes"] / 1e6))
    print("| case | round | slide2dcm wall s | CPU s | peak RSS MB | output MB | reference | "
          "reference s | ratio | others' cores |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for s in res["results"]:
        for n, run in enumerate(s["runs"]):
            c = run["slide2dcm"]
            if "charls" in run:
                ref = "CharLS alone %.2f s (CPU %.2f)" % (run["charls"]["loop"]["seconds"],
                                                          run["charls"]["loop"]["cpu_seconds"])
                ref_s = run["charls"]["loop"]["seconds"]
                others = max(c["others_cores"], run["charls"]["others_cores"])
            else:
                ref = "decode %.2f s + cp/fsync %.2f s" % (run["decode"]["wall_s"],
                                                           run["cp_fsync"]["wall_s"])
                ref_s = run["decode"]["wall_s"] + run["cp_fsync"]["wall_s"]
                others = max(c["others_cores"], run["decode"]["others_cores"],
                             run["cp_fsync"]["others_cores"])
            print("| %s | %d | %.2f | %.2f | %.1f | %.1f | %s | %.2f | %.2f | %.2f |" % (
                s["case"], n + 1, c["wall_s"], c["cpu_s"], c["peak_rss_mb"],
                c["output_bytes"] / 1e6, ref, ref_s, s["ratios"][n], others))
    print("\n| target | median ratio | goal | status | ratios |")
    print("|---|---|---|---|---|")
    for s in res["results"]:
        print("| %s | %.2f | >= %.1f | %s | %s |" % (
            s["case"], s["ratio_median"], s["goal"], s["status"],
            ", ".join("%.2f" % x for x in s["ratios"])))
    print("| peak RSS, %s | %.1f MB | < %d MB | %s | largest of the rounds |" % (
        i["stack"]["path"], res["peak_rss_mb_stack"], RSS_GOAL_MB, res["peak_rss_status"]))


if __name__ == "__main__":
    sys.exit(main())
