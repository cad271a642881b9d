# SPDX-License-Identifier: Apache-2.0
"""slide2dcm and the checkers run the way the cases run them."""
import subprocess
import sys
from pathlib import Path

LIB = Path(__file__).resolve().parent


def convert(binary, slide, out, report, extra):
    """slide2dcm convert of a TIFF written by synthetic_tiff (no pixel size in it: --mpp 0.5),
    quiet, with a JSON report; `extra` the case's own options. None when it succeeds, else
    its exit status and error."""
    run = subprocess.run([binary, "convert", str(slide), "-o", str(out), "--mpp", "0.5",
                          "--quiet", "--json-report", str(report)] + extra,
                         capture_output=True, text=True)
    return None if run.returncode == 0 else "exit %d: %s" % (run.returncode, run.stderr.strip())


def checker(script, slide, out, report, options):
    """Runs a checker of this directory (check_conversion.py, check_passthrough.py) on the
    conversion of `slide` in `out` with its JSON report; returns the finished process (its
    output captured: the verdict is the exit status)."""
    return subprocess.run([sys.executable, str(LIB / script), "--source", str(slide),
                           "--outdir", str(out), "--report", str(report)] + options,
                          capture_output=True, text=True)
