# SPDX-License-Identifier: Apache-2.0
"""slide2dcm and the checkers run the way the cases run them."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pydicom

LIB = Path(__file__).resolve().parent


def run_convert(binary, slide, out, report, options):
    """slide2dcm convert of `slide` into `out` with a JSON report at `report`, then
    `options`; returns the finished process, its output captured."""
    return subprocess.run([str(binary), "convert", str(slide), "-o", str(out),
                           "--json-report", str(report)] + list(options),
                          capture_output=True, text=True)


def convert(binary, slide, out, report, extra):
    """slide2dcm convert of a TIFF written by synthetic_tiff (no pixel size in it: --mpp 0.5),
    quiet, with a JSON report; `extra` the case's own options. None when it succeeds, else
    its exit status and error."""
    run = run_convert(binary, slide, out, report, ["--mpp", "0.5", "--quiet"] + extra)
    return None if run.returncode == 0 else "exit %d: %s" % (run.returncode, run.stderr.strip())


def convert_and_read(binary, slide, out, *options):
    """slide2dcm convert of `slide` into `out` (emptied first) with its JSON report at
    OUT.report.json (an earlier one removed), then `options`. Returns the finished process
    and the report as read, None when the run wrote none; a failed run writes one too
    (ok false), so a case tells success by the exit status."""
    shutil.rmtree(out, ignore_errors=True)
    report = Path(str(out) + ".report.json")
    report.unlink(missing_ok=True)
    run = run_convert(binary, slide, out, report, options)
    return run, (json.loads(report.read_text()) if report.exists() else None)


def output_headers(out, report):
    """(name, dataset without its pixels) of every file the report says was written into
    `out`, in name order."""
    for name in sorted(f["name"] for f in report["files"]):
        yield name, pydicom.dcmread(Path(out) / name, stop_before_pixels=True)


def expect_clean_copy(checks, run, report):
    """Records in `checks` that the run converted, copied level 0's tiles, and neither
    warned nor replaced a tile; returns whether it converted (the rest is worth checking)."""
    if not checks.expect(run.returncode == 0 and report and report["ok"], "converted",
                         run.stderr.strip()):
        return False
    modes = {f["name"]: f.get("mode") for f in report["files"]}
    checks.expect(modes.get("level-0.dcm") == "copy", "level-0 copied", modes)
    checks.expect(report.get("warnings") == 0 and "warning" not in run.stderr, "no warning",
                  "%s %s" % (report.get("warnings"), run.stderr.strip()))
    replaced = {f["name"]: f["replaced_tiles"] for f in report["files"] if f.get("replaced_tiles")}
    checks.expect(not replaced, "no replaced tile", replaced)
    return True


def checker(script, slide, out, report, options):
    """Runs a checker of this directory (check_conversion.py, check_passthrough.py) on the
    conversion of `slide` in `out` with its JSON report; returns the finished process (its
    output captured: the verdict is the exit status)."""
    return subprocess.run([sys.executable, str(LIB / script), "--source", str(slide),
                           "--outdir", str(out), "--report", str(report)] + options,
                          capture_output=True, text=True)
