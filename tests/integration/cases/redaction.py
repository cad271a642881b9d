#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""redaction.py SLIDE2DCM CMU1_SVS WORKDIR

Issue 20 defect 12: a patient's value that slide2dcm refuses, and the credentials of a STOW
URL, never appear in what it prints or stores. Each case feeds a recognisable marker (a bad
--patient-birth-date, a bad cell of a CSV manifest, a bad value in --metadata JSON, a user
and password in the STOW URL) to convert, batch or send, and checks the exit status, that
the message still names the attribute (or the redacted URL), and that the marker is in
neither stdout, stderr, the JSON report nor batch's journal and report."""
import glob
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import Checks  # noqa: E402

checks = Checks()
MARKER = "SECRET"
# Port 1 on the loopback: nothing listens, so every send fails to connect at once.
STOW = "https://user:SECRETPW@127.0.0.1:1/dicom-web/studies"
SHOWN_STOW = "https://***@127.0.0.1:1/dicom-web/studies"


def stored_texts(out_dir):
    """{path: text} of every report and journal a run left in out_dir."""
    found = {}
    for pattern in ("batch-journal.jsonl", "batch-report.json", "*.json"):
        for path in glob.glob(os.path.join(out_dir, pattern)):
            found[path] = open(path, encoding="utf-8", errors="replace").read()
    return found


def run(name, argv, expect_rc, names, out_dir=None):
    """Runs argv; checks its exit status, that stderr has every string of names, and that
    MARKER is nowhere in its output nor in the files it wrote to out_dir."""
    r = subprocess.run(argv, capture_output=True, text=True, errors="replace")
    print(f"$ {name} -> {r.returncode}\n{r.stderr}", flush=True)
    checks.expect(r.returncode == expect_rc, f"{name}: exit {r.returncode}, expected {expect_rc}")
    for text in names:
        checks.expect(text in r.stderr, f"{name}: the message names {text!r}")
    checks.expect(MARKER not in r.stdout and MARKER not in r.stderr,
                  f"{name}: the marker is not printed")
    for path, text in (stored_texts(out_dir) if out_dir else {}).items():
        checks.expect(MARKER not in text, f"{name}: the marker is not in {path}")


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def main(bin_, cmu, work):
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    w = lambda *p: os.path.join(work, *p)  # noqa: E731

    # convert: a common attribute flag, a DICOM JSON syntax error at a value, a number
    # out of range (the number is the marker here).
    run("convert --patient-birth-date", [bin_, "convert", cmu, "-o", w("c1"),
        "--patient-birth-date", "19991399XYZSECRET"], 2, ["--patient-birth-date", "(0010,0030)"])
    bad_json = write(w("bad.json"), '{"00100030": {"vr": "DA", "Value": [SECRET19991399]}}')
    run("convert --metadata syntax", [bin_, "convert", cmu, "-o", w("c2"), "--metadata",
        bad_json], 1, ["bad.json", "line 1 column"])
    bad_da = write(w("bad-da.json"), '{"00100030": {"vr": "DA", "Value": ["1999SECRET"]}}')
    run("convert --metadata DA", [bin_, "convert", cmu, "-o", w("c3"), "--metadata", bad_da],
        1, ["bad-da.json", "(0010,0030)"])
    global MARKER
    MARKER, saved = "99999", MARKER
    bad_us = write(w("bad-us.json"), '{"00181310": {"vr": "US", "Value": [99999]}}')
    run("convert --metadata US", [bin_, "convert", cmu, "-o", w("c4"), "--metadata", bad_us],
        1, ["bad-us.json", "(0018,1310)"])
    MARKER = saved

    # batch: a manifest cell, --metadata, a flag; the messages go into journal and report.
    os.makedirs(w("in"))
    os.symlink(cmu, w("in", os.path.basename(cmu)))
    manifest = write(w("manifest.csv"), f"path,StudyDate\n{cmu},2020SECRET\n")
    # The manifest's own words: its line and column (the attribute's keyword).
    run("batch manifest StudyDate", [bin_, "batch", manifest, "-o", w("b1")], 1,
        ["manifest.csv line 2, column StudyDate"], w("b1"))
    run("batch --metadata syntax", [bin_, "batch", w("in"), "-o", w("b2"), "--metadata",
        bad_json], 1, ["bad.json", "line 1 column"], w("b2"))
    run("batch --patient-birth-date", [bin_, "batch", w("in"), "-o", w("b3"),
        "--patient-birth-date", "19991399XYZSECRET"], 2, ["--patient-birth-date"], w("b3"))

    # send and batch --send-stow: credentials in the URL are shown as ***.
    run("send convert source", [bin_, "convert", cmu, "-o", w("dcm"), "-q"], 0, [])
    os.makedirs(w("send"))
    run("send --stow unreachable", [bin_, "send", w("dcm"), "--stow", STOW, "--retries", "0",
        "--json-report", w("send", "report.json")], 4, [SHOWN_STOW], w("send"))
    checks.expect(json.load(open(w("send", "report.json")))["destination"] == SHOWN_STOW,
                  "send: the report's destination is redacted")
    run("send --stow malformed", [bin_, "send", w("dcm"), "--stow",
        "http://user:SECRETPW@[bad/dicom-web", "--retries", "0"], 4, ["http://***@[bad"])
    run("send --stow ftp", [bin_, "send", w("dcm"), "--stow", "ftp://user:SECRETPW@host/x"], 2,
        ["--stow ftp://***@host/x"])
    run("batch --send-stow", [bin_, "batch", w("in"), "-o", w("b4"), "--send-stow", STOW,
        "--retries", "0"], 4, [SHOWN_STOW], w("b4"))
    return checks.result()


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
