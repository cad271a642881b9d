#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Two conversions into one output folder (issue 20, defect 5): the folder is locked.

usage: concurrent_convert.py SLIDE2DCM MAKE_SVS WORKDIR

- A second `convert` into the -o of one still running exits 2 at once, in one line naming
  the holder's pid, with or without --overwrite; the first then completes and its folder
  holds only its own files (one Study Instance UID, the files of its report, nothing hidden).
- Into a folder that already holds a conversion, the refusal ("use --overwrite") leaves
  no lock file behind.
- A conversion killed with SIGKILL leaves its lock file (beside the folder), and that
  stale lock does not block the next conversion, which removes it and leaves nothing
  hidden in or beside the folder.
Prints "ok ..." or "FAIL ..." lines (lib/checks.py); exit status 0 only without failures.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pydicom

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import Checks  # noqa: E402

BIN, MAKE_SVS, WORK = (os.path.abspath(a) for a in sys.argv[1:4])
# Beside the folder, which a finished conversion replaces whole (outdir.h).
def lock_of(out):
    return "." + os.path.basename(out) + ".slide2dcm.lock"


checks = Checks()


def convert(slide, out, *args):
    p = subprocess.run([BIN, "convert", slide, "-o", out, "--quiet", *args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    return p.returncode, p.stderr


def start_slow(slide, out, report):
    """A conversion that takes many seconds (16-pixel tiles, one thread), once it has
    claimed its folder: its staging folder beside it holds a temporary file."""
    p = subprocess.Popen([BIN, "convert", slide, "-o", out, "--quiet", "--tile-size", "16",
                          "--threads", "1", "--json-report", report],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while p.poll() is None and time.monotonic() < deadline:
        parent, stage = os.path.dirname(out), "." + os.path.basename(out) + ".staging-"
        if any(n.startswith(stage) and any(".partial" in f for f in listdir(parent, n))
               for n in os.listdir(parent)):
            break
        time.sleep(0.02)
    return p


def listdir(parent, name):
    try:
        return os.listdir(os.path.join(parent, name))
    except FileNotFoundError:
        return []


def study_uids(out):
    return {pydicom.dcmread(os.path.join(out, n), stop_before_pixels=True).StudyInstanceUID
            for n in os.listdir(out) if n.endswith(".dcm")}


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
slow, small = os.path.join(WORK, "slow.svs"), os.path.join(WORK, "small.svs")
subprocess.run([MAKE_SVS, slow, "--width", "4000", "--height", "3000", "--levels", "1",
                "--no-macro", "--no-label"], check=True)
subprocess.run([MAKE_SVS, small, "--width", "600", "--height", "400", "--levels", "1"],
               check=True)

# A second conversion while the first runs.
out, report = os.path.join(WORK, "shared"), os.path.join(WORK, "first.json")
first = start_slow(slow, out, report)
for extra in ([], ["--overwrite"]):
    rc, err = convert(small, out, *extra)
    lines = err.strip().splitlines()
    checks.expect(rc == 2 and len(lines) == 1 and ("pid %d" % first.pid) in err,
                  "second convert %s exits 2 naming pid %d (exit %d: %s)"
                  % (" ".join(extra) or "without --overwrite", first.pid, rc, err.strip()))
checks.expect(first.poll() is None, "the first conversion was still running meanwhile")
first_err = first.communicate(timeout=300)[1]
checks.expect(first.returncode == 0, "the first conversion completes (exit %d: %s)"
              % (first.returncode, first_err.strip()))
with open(report) as f:
    reported = sorted(os.path.basename(x["name"]) for x in json.load(f)["files"])
left = sorted(os.listdir(out))
checks.expect(left == reported, "the folder holds the first conversion's files only: %s"
              % [n for n in left if n not in reported])
checks.expect(len(study_uids(out)) == 1, "one Study Instance UID in the folder: %s"
              % study_uids(out))

# A refusal for another reason releases the lock too.
rc, err = convert(small, out)
checks.expect(rc == 2 and "already holds a conversion" in err and sorted(os.listdir(out)) == left,
              "convert into a finished folder refused, nothing added (exit %d: %s)"
              % (rc, err.strip()))

# A stale lock of a killed conversion does not block.
out = os.path.join(WORK, "killed")
killed = start_slow(slow, out, os.path.join(WORK, "killed.json"))
killed.send_signal(signal.SIGKILL)
killed.wait()
checks.expect(lock_of(out) in os.listdir(WORK), "SIGKILL leaves the lock file (%s)"
              % os.listdir(WORK))
rc, err = convert(small, out)
checks.expect(rc == 0, "the stale lock does not block the next conversion (exit %d: %s)"
              % (rc, err.strip()))
checks.expect(lock_of(out) not in os.listdir(WORK), "the next conversion removed the lock file")
checks.expect(not [n for n in os.listdir(WORK) + os.listdir(out) if n.startswith(".")],
              "nothing hidden left in or beside the folder: %s" % os.listdir(WORK))

sys.exit(checks.result())
