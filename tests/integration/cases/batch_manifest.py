#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A LIS export as a batch manifest, and the UIDs and warnings the reports give back.

usage: batch_manifest.py CASE SLIDE2DCM TESTDATA WORKDIR
CASE is one of:
  lis      a ';'-separated export with a byte order mark, CRLF, quoted cells holding ';',
           headers in other cases and columns of the LIS's own: those are warned about
           once each and ignored (refused with --strict-manifest, nothing converted); the
           keyword columns (SeriesInstanceUID too) reach the row's files, SpecimenIdentifier
           inside a complete specimen description (dciodvfy: no error); a bad cell fails
           its row alone naming "list.csv line N, column StudyDate", and a value the
           converter refuses names the manifest line, not the batch's staging file;
           batch-report.json gives per file the UIDs the files carry, and each slide's
           warning texts as the converter printed them, also after a re-run
  convert  convert --json-report: per file (parts of a concatenation included) the Study,
           Series and SOP Instance UIDs the file carries, a --metadata StudyInstanceUID
           included; --metadata's one-item Specimen Description Sequence with only a
           SpecimenIdentifier is completed (SpecimenUID, Type 2 sequences; dciodvfy: no error)
Prints "ok ..." or "FAIL ..." lines (lib/checks.py); exit status 0 only without failures.
Needs /usr/bin/python3 with pydicom (Debian's python3-pydicom).
"""
import json
import os
import shutil
import subprocess
import sys

import pydicom

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import Checks  # noqa: E402

CASE, BIN, DATA, WORK = sys.argv[1:5]
BIN, DATA, WORK = os.path.abspath(BIN), os.path.abspath(DATA), os.path.abspath(WORK)
checks = Checks()
SLIDE = os.path.join(DATA, "aperio", "small.svs")


def run(*args):
    p = subprocess.run([BIN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return p.returncode, p.stdout, p.stderr


def dciodvfy_errors(path):
    p = subprocess.run(["dciodvfy", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return [line.strip() for line in p.stdout.splitlines() if "Error" in line] + \
        (["dciodvfy killed by signal %d" % -p.returncode] if p.returncode < 0 else [])


def expect_specimen(path, identifier, what):
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    items = ds.get("SpecimenDescriptionSequence", [])
    item = items[0] if len(items) == 1 else {}
    checks.expect(len(items) == 1 and item.get("SpecimenIdentifier") == identifier and
                  item.get("SpecimenUID") and "SpecimenPreparationSequence" in item and
                  "IssuerOfTheSpecimenIdentifierSequence" in item,
                  "%s: SpecimenIdentifier %s in a complete specimen description" % (what, identifier))
    errors = dciodvfy_errors(path)
    checks.expect(not errors, "%s: dciodvfy finds no error %s" % (what, errors[:3]))


def file_uids(path):
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    return {"study_instance_uid": ds.StudyInstanceUID, "series_instance_uid": ds.SeriesInstanceUID,
            "sop_instance_uid": ds.SOPInstanceUID}


def expect_uids_match(folder, entries, what):
    """Each entry (name + the three UIDs) against the file it names; every .dcm listed."""
    listed = sorted(e["name"] for e in entries)
    present = sorted(f for f in os.listdir(folder) if f.endswith(".dcm"))
    checks.expect(listed == present, "%s: every file listed (%s, files %s)" % (what, listed, present))
    wrong = [e["name"] for e in entries
             if {k: e.get(k) for k in ("study_instance_uid", "series_instance_uid",
                                       "sop_instance_uid")} != file_uids(os.path.join(folder, e["name"]))]
    checks.expect(entries and not wrong, "%s: the UIDs are the files' (wrong: %s)" % (what, wrong))


LIS = ("\ufeffPath;PATIENTID;\"Case No\";seriesinstanceuid;StudyDate ;Block;SpecimenIdentifier\r\n"
       "\"a;1.svs\";\"P\"\"1\";\"C;7\";1.2.826.0.1.3680043.10.1.42;20240105;B1;\"S-24-7; A1\"\r\n"
       ";;;;;;\r\n"
       "b.svs;P2;C8;;2024-01-05;B2;\r\n"
       "c.svs;P3;C9;;;B3;\r\n")


def case_lis():
    src = os.path.join(WORK, "lis")
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(src)
    for name in ("a;1.svs", "b.svs", "c.svs"):
        shutil.copyfile(SLIDE, os.path.join(src, name))
    manifest = os.path.join(src, "list.csv")
    with open(manifest, "w", encoding="utf-8", newline="") as f:
        f.write(LIS)
    out = os.path.join(WORK, "out")

    rc, _, err = run("batch", manifest, "-o", out, "--strict-manifest")
    checks.expect(rc == 2 and "list.csv line 1, column Case No: not a column" in err,
                  "--strict-manifest refuses the LIS's own columns, exit 2 (%d: %s)" % (rc, err.strip()))
    checks.expect(not os.path.exists(out), "--strict-manifest: nothing converted")

    # --mpp replaces the slide's pixel size: one warning per slide, kept in the report.
    rc, _, err = run("batch", manifest, "-o", out, "--mpp", "0.3")
    checks.expect(rc == 1, "one bad cell: exit 1 (got %d)" % rc)
    for column in ("Case No", "Block"):
        said = err.count("warning: %s line 1, column %s: not a column slide2dcm sets; ignored"
                         % (manifest, column))
        checks.expect(said == 1, "column %s warned about once (%d times)" % (column, said))
    with open(os.path.join(out, "batch-report.json")) as f:
        report = json.load(f)
    checks.expect(report.get("ignored_columns") == ["Case No", "Block"],
                  "the report lists the ignored columns (%s)" % report.get("ignored_columns"))
    slides = {os.path.basename(s["source"]): s for s in report["slides"]}
    b = slides["b.svs"]
    checks.expect(b["outcome"] == "failed" and
                  b["error"].startswith("%s line 4, column StudyDate: DA value" % manifest) and
                  "2024-01-05" not in b["error"],
                  "the bad cell fails its row, naming line and column, not the value (%s)" % b["error"])
    for name in ("a;1.svs", "c.svs"):
        s = slides[name]
        checks.expect(s["outcome"] == "converted", "%s converted" % name)
        folder = s["output"]
        expect_uids_match(folder, s.get("instances", []), "%s's report" % name)
        level0 = pydicom.dcmread(os.path.join(folder, "level-0.dcm"), stop_before_pixels=True)
        checks.expect(level0.PatientID == {"a;1.svs": 'P"1', "c.svs": "P3"}[name],
                      "%s: the quoted PatientID cell reaches the file (%r)" % (name, level0.PatientID))
        if name == "a;1.svs":
            checks.expect(all(u["series_instance_uid"] == "1.2.826.0.1.3680043.10.1.42"
                              for u in s["instances"]) and level0.StudyDate == "20240105",
                          "SeriesInstanceUID and StudyDate columns reach every file")
            expect_specimen(os.path.join(folder, "level-0.dcm"), "S-24-7; A1", name)
        checks.expect(s.get("warning_messages") == ["--mpp 0.3 replaces the slide's own pixel size 0.499"],
                      "%s: the converter's warning text in the report (%s)" % (name, s.get("warning_messages")))
        checks.expect(s.get("warnings") == 1, "%s: the warning count" % name)

    # A re-run skips them and reports the same UIDs and warnings from the journal.
    rc, _, _ = run("batch", manifest, "-o", out, "--mpp", "0.3", "-q")
    with open(os.path.join(out, "batch-report.json")) as f:
        again = {os.path.basename(s["source"]): s for s in json.load(f)["slides"]}
    for name in ("a;1.svs", "c.svs"):
        checks.expect(again[name]["outcome"] == "already done" and
                      again[name]["instances"] == slides[name]["instances"] and
                      again[name].get("warning_messages") == slides[name]["warning_messages"],
                      "re-run: %s already done, same UIDs and warnings" % name)

    # A value the converter refuses from --metadata: the reason names the manifest line.
    bad = os.path.join(WORK, "bad.json")
    with open(bad, "w") as f:
        json.dump({"00100030": {"vr": "DA", "Value": ["1999-01-01"]}}, f)
    rc, _, _ = run("batch", manifest, "-o", os.path.join(WORK, "out-bad"), "--metadata", bad, "-q")
    with open(os.path.join(WORK, "out-bad", "batch-report.json")) as f:
        errors = {os.path.basename(s["source"]): s["error"] for s in json.load(f)["slides"]}
    checks.expect(rc == 1 and errors["c.svs"].startswith(
                      "the metadata of %s line 5 and --metadata: (0010,0030) DA value" % manifest)
                  and ".staging" not in errors["c.svs"],
                  "a refused --metadata value names the manifest line, not a staging file (%s)"
                  % errors["c.svs"])


def case_convert():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    meta = os.path.join(WORK, "study.json")
    study = "1.2.826.0.1.3680043.10.1.7"
    with open(meta, "w") as f:
        json.dump({"0020000D": {"vr": "UI", "Value": [study]},
                   "00400560": {"vr": "SQ", "Value": [{"00400551": {"vr": "LO", "Value": ["S-9"]}}]}}, f)
    out = os.path.join(WORK, "out")
    cmu = os.path.join(DATA, "aperio", "CMU-1-Small-Region.svs")
    rc, stdout, err = run("convert", cmu, "-o", out, "--json-report", "-", "-q",
                          "--max-instance-size", "400K", "--metadata", meta)
    checks.expect(rc == 0, "convert exits 0 (%d: %s)" % (rc, err.strip()))
    files = json.loads(stdout)["files"] if rc == 0 else []
    checks.expect(any("concatenation" in f for f in files), "the cap splits a level into parts")
    expect_uids_match(out, files, "convert --json-report")
    checks.expect(files and all(f["study_instance_uid"] == study for f in files),
                  "the Study Instance UID is --metadata's")
    checks.expect(len({f["sop_instance_uid"] for f in files}) == len(files),
                  "every file, every part, its own SOP Instance UID")
    expect_specimen(os.path.join(out, "level-2.dcm"), "S-9", "a partial --metadata specimen")


{"lis": case_lis, "convert": case_convert}[CASE]()
sys.exit(checks.result())
