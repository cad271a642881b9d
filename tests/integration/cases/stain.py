#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""stain.py SLIDE2DCM CMU1_SMALL_SVS PLAIN_TIFF WORKDIR

--stain and the manifest's Stain column (issue 18): the slide's staining as a coded step
of each specimen's preparation (PS3.16 TID 8001/8004, substances from CID 8112) in every
file: the step names the specimen as finally identified (a Container Identifier from
--metadata), follows the user's own steps, takes names in any spelling the table knows
and refuses others in one line; dciodvfy accepts every file; a plain TIFF's pages (no
specimen) convert with a warning."""
import csv
import json
import os
import re
import shutil
import subprocess
import sys

import pydicom

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import Checks  # noqa: E402
from dicom_json import SPECIMEN_IDENTIFIER, preparation_naming  # noqa: E402

checks = Checks()
BIN, SLIDE, PLAIN, WORK = sys.argv[1:5]

HEMATOXYLIN = ("12710003", "SCT", "hematoxylin stain")
EOSIN = ("36879007", "SCT", "water soluble eosin stain")
PAS = ("255808002", "SCT", "periodic acid Schiff stain")
ALCIAN_BLUE = ("4656000", "SCT", "alcian blue 8GX stain")


def run(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True)


def convert(out, *args, slide=SLIDE):
    shutil.rmtree(out, ignore_errors=True)
    return run("convert", slide, "-o", out, "--quiet", *args)


def code(seq):
    item = seq[0]
    return (item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning)


def steps_of(ds):
    """[(specimen id as the step says, processing type or None, [substance codes])] per step
    of the first specimen, and that specimen's identifier."""
    specimen = ds.SpecimenDescriptionSequence[0]
    found = []
    for step in specimen.get("SpecimenPreparationSequence", []):
        text_id, processing, substances = None, None, []
        for item in step.SpecimenPreparationStepContentItemSequence:
            name = code(item.ConceptNameCodeSequence)
            if name == SPECIMEN_IDENTIFIER:
                checks.expect(item.ValueType == "TEXT", "Specimen Identifier item is TEXT")
                text_id = item.TextValue
            elif name[:2] == ("111701", "DCM"):
                processing = code(item.ConceptCodeSequence)
            elif name[:2] == ("424361007", "SCT"):
                checks.expect(item.ValueType == "CODE", "Using substance item is CODE")
                substances.append(code(item.ConceptCodeSequence))
        found.append((text_id, processing, substances))
    return specimen.SpecimenIdentifier, found


def dcm_files(out):
    return sorted(os.path.join(out, f) for f in os.listdir(out) if f.endswith(".dcm"))


def dciodvfy_clean(path):
    p = subprocess.run(["dciodvfy", "-new", path], capture_output=True, text=True)
    return [line for line in (p.stdout + p.stderr).splitlines() if line.startswith("Error")]


def expect_staining(out, what, substances, specimen_id=None, earlier_steps=0):
    files = dcm_files(out)
    checks.expect(len(files) >= 3, what, "levels, label and overview written (%d files)" % len(files))
    for path in files:
        name = "%s %s" % (what, os.path.basename(path))
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        identifier, steps = steps_of(ds)
        if specimen_id:
            checks.expect(identifier == specimen_id, name, "specimen %r, expected %r" % (identifier, specimen_id))
        checks.expect(len(steps) == earlier_steps + 1, name,
                      "%d preparation steps, expected %d" % (len(steps), earlier_steps + 1))
        if not steps:
            continue
        text_id, processing, found = steps[-1]
        checks.expect(text_id == identifier, name, "the step names the specimen (%r, %r)" % (text_id, identifier))
        checks.expect(processing == ("127790008", "SCT", "Staining"), name, "processing type Staining: %s" % (processing,))
        checks.expect(found == substances, name, "substances %s" % found)
        errors = dciodvfy_clean(path)
        checks.expect(not errors, name, "dciodvfy: no error %s" % errors[:3])


def main():
    os.makedirs(WORK, exist_ok=True)

    # H&E in three spellings gives the same two substances in every file.
    for spelling in ("H&E", "h and e", "Hematoxylin+eosin stain"):
        out = os.path.join(WORK, "he")
        p = convert(out, "--stain", spelling)
        if checks.expect(p.returncode == 0, "--stain %r converts (%s)" % (spelling, p.stderr.strip()[:200])):
            expect_staining(out, spelling, [HEMATOXYLIN, EOSIN])

    # The step follows the final specimen identifier (a Container Identifier from --metadata)
    # and comes after the user's own steps.
    meta = {
        "00400512": {"vr": "LO", "Value": ["SLIDE-77"]},
        "00400560": {"vr": "SQ", "Value": [{"00400610": preparation_naming("SLIDE-77")}]},
    }
    meta_path = os.path.join(WORK, "meta.json")
    with open(meta_path, "w") as f:
        json.dump(meta, f)
    out = os.path.join(WORK, "meta")
    p = convert(out, "--stain", "PAS+alcian blue", "--metadata", meta_path)
    if checks.expect(p.returncode == 0, "--stain with --metadata converts (%s)" % p.stderr.strip()[:200]):
        expect_staining(out, "PAS+alcian blue after the user's step", [PAS, ALCIAN_BLUE],
                        specimen_id="SLIDE-77", earlier_steps=1)

    # Without --stain nothing is added (the default output stays as it was).
    out = os.path.join(WORK, "none")
    p = convert(out)
    if checks.expect(p.returncode == 0, "no --stain converts"):
        steps = [steps_of(pydicom.dcmread(f, stop_before_pixels=True))[1] for f in dcm_files(out)]
        checks.expect(all(s == [] for s in steps), "no --stain: empty Specimen Preparation Sequence")

    # An unknown stain: a usage error in one line naming it, nothing written.
    out = os.path.join(WORK, "unknown")
    p = convert(out, "--stain", "H&E+blorp")
    lines = p.stderr.strip().splitlines()
    checks.expect(p.returncode == 2 and lines and '"blorp" is not a stain' in lines[0],
                  "unknown stain: exit 2 naming it (%d: %s)" % (p.returncode, lines[:1]))
    checks.expect(not os.path.exists(out), "unknown stain: no output folder")

    # A plain TIFF's pages have no specimen: converted, with one warning.
    out = os.path.join(WORK, "plain")
    shutil.rmtree(out, ignore_errors=True)
    p = run("convert", PLAIN, "-o", out, "--stain", "H&E")
    checks.expect(p.returncode == 0 and re.search(r"--stain ignored", p.stderr),
                  "plain TIFF: converted with a warning (%d: %s)" % (p.returncode, p.stderr.strip()[:200]))

    # The manifest's Stain column, per row. A bad cell refuses the manifest as a bad option
    # column does (a usage error naming line and column, before anything is converted).
    slides = []
    for n in (1, 2):
        path = os.path.join(WORK, "slide-%d.svs" % n)
        shutil.copyfile(SLIDE, path)
        slides.append(path)
    for name, rows in (("bad", [(slides[0], "PAS"), (slides[1], "blorp")]),
                       ("good", [(slides[0], "PAS"), (slides[1], "")])):
        manifest = os.path.join(WORK, "%s.csv" % name)
        with open(manifest, "w", newline="") as f:
            w = csv.writer(f, delimiter=";")
            w.writerow(["path", "stain"])
            w.writerows(rows)
        outroot = os.path.join(WORK, "batch-" + name)
        shutil.rmtree(outroot, ignore_errors=True)
        p = run("batch", manifest, "-o", outroot, "--quiet")
        if name == "bad":
            lines = p.stderr.strip().splitlines()
            checks.expect(p.returncode == 2 and len(lines) == 1 and
                          re.search(r"bad\.csv line 3, column stain: \"blorp\"", lines[0]),
                          "a bad Stain cell: exit 2, one line naming line and column (%d: %s)"
                          % (p.returncode, lines[:2]))
            checks.expect(not any(f.endswith(".dcm") for _, _, fs in os.walk(outroot) for f in fs),
                          "a bad Stain cell: nothing converted")
            continue
        checks.expect(p.returncode == 0, "manifest with a Stain column converts (%s)" % p.stderr.strip()[:200])
        report = json.load(open(os.path.join(outroot, "batch-report.json")))
        names = {os.path.basename(s["source"]): s["name"] for s in report["slides"]}
        if checks.expect(len(names) == 2, "two slides in the report"):
            expect_staining(os.path.join(outroot, names["slide-1.svs"]), "manifest PAS", [PAS])
            steps = [steps_of(pydicom.dcmread(f, stop_before_pixels=True))[1]
                     for f in dcm_files(os.path.join(outroot, names["slide-2.svs"]))]
            checks.expect(steps and all(s == [] for s in steps), "an empty Stain cell adds no step")
    return checks.result()


if __name__ == "__main__":
    sys.exit(main())
