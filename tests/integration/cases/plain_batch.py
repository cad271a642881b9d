#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""slide2dcm batch over plain TIFFs (radiology exports, documents, photographs) mixed with a
slide: the folder walk, the manifest's option columns, resume and --force.

usage: plain_batch.py CASE SLIDE2DCM PLAIN_DIR SYNTHETIC_SVS WORKDIR [REPO]
PLAIN_DIR holds make_plain_tiff's fixtures and their manifest.json (the fixture.plain test);
SYNTHETIC_SVS is a synthetic slide (fixture.synthetic). CASE is one of:
  folder    a folder of plain TIFFs (one without extension, one named .TIF, a truncated one)
            with a slide in a subfolder and a text file: each written as the IODs the
            fixture manifest expects (SOP class, Modality, one file per instance), the slide
            as a WSM pyramid, the broken one failed with its reason, the text file ignored;
            the report's kind and megapixels; re-runs skip everything (files untouched), a
            deleted output is redone alone, --force redoes all
  manifest  Modality, kind, DocumentTitle and BodyPartExamined columns: each row's SOP class
            and Modality as its columns say (the slide's row stays SM), --list shows each
            row's options, the batch's own --modality wins over the column, a row whose kind
            cannot take its pixels fails alone; a re-run skips, a changed kind redoes that
            row only; a bad kind or Modality is a usage error naming the line
  snakemake REPO's workflow/Snakefile over a manifest with option columns: the same files,
            SOP classes, Modality and (deterministic) SOP Instance UIDs as batch
  send      --send-stow, then --send-cstore, to an Orthanc started here (lib/pacs.py): every
            IOD a plain TIFF becomes (Word, Bit SC, SC Image, VL Photographic and
            Endoscopic) and the slide stored, exactly the outputs' SOP Instance UIDs; a
            re-run neither converts nor sends; another archive gets them without converting
Prints "ok ..." or "FAIL ..." lines (lib/checks.py); exit status 0 only without failures.
"""
import json
import os
import shutil
import subprocess
import sys

import pydicom

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import Checks  # noqa: E402

CASE, BIN, PLAIN, SVS, WORK = sys.argv[1:6]
BIN, PLAIN, SVS, WORK = (os.path.abspath(p) for p in (BIN, PLAIN, SVS, WORK))
REPO = sys.argv[6] if len(sys.argv) > 6 else None
checks = Checks()

SC_IMAGE = "1.2.840.10008.5.1.4.1.1.7"
SC_BIT, SC_BYTE, SC_WORD = SC_IMAGE + ".1", SC_IMAGE + ".2", SC_IMAGE + ".3"
VL_PHOTO, VL_ENDOSCOPIC = "1.2.840.10008.5.1.4.1.1.77.1.4", "1.2.840.10008.5.1.4.1.1.77.1.1"
WSM = "1.2.840.10008.5.1.4.1.1.77.1.6"
KIND_MODALITY = {"radiology": "OT", "document": "DOC", "photo": "XC"}

with open(os.path.join(PLAIN, "manifest.json")) as f:
    FIXTURES = {fx["file"]: fx for fx in json.load(f)["fixtures"]}


def batch(*args):
    p = subprocess.run([BIN, "batch", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    return p.returncode, p.stdout, p.stderr


def report(outroot):
    with open(os.path.join(outroot, "batch-report.json")) as f:
        return {os.path.relpath(s["source"], WORK): s for s in json.load(f)["slides"]}


def outcomes(outroot):
    return {k: s["outcome"] for k, s in report(outroot).items()}


def place(fixture, rel):
    """A copy of a plain fixture (or the slide, fixture None) at WORK/rel."""
    dst = os.path.join(WORK, rel)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copyfile(os.path.join(PLAIN, fixture) if fixture else SVS, dst)


def written(outroot, name):
    """{file: (SOP Class UID, Modality, dataset)} of OUTROOT/<name>/ (Snakemake adds a
    hidden timestamp file: every other file counts, so a stray one fails the reading)."""
    folder = os.path.join(outroot, name)
    found = {}
    for f in sorted(os.listdir(folder)):
        if f.startswith("."):
            continue
        ds = pydicom.dcmread(os.path.join(folder, f), stop_before_pixels=True)
        found[f] = (str(ds.SOPClassUID), str(ds.Modality), ds)
    return found


def expected_files(fixture, modality=None):
    """image-NNN.dcm -> (SOP class, Modality) as the fixture manifest says, default kind."""
    fx = FIXTURES[fixture]
    return {"image-%03d.dcm" % (i + 1): (inst["sop_class"], modality or KIND_MODALITY[fx["kind"]])
            for i, inst in enumerate(fx["instances"])}


def snapshot(outroot):
    """Size, modification time and inode of every output file: a rewrite changes them."""
    snap = {}
    for name in os.listdir(outroot):
        folder = os.path.join(outroot, name)
        if os.path.isdir(folder) and not name.startswith("."):
            for f in os.listdir(folder):
                st = os.stat(os.path.join(folder, f))
                snap[os.path.join(name, f)] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return snap


def dciodvfy_errors(outroot):
    errors = []
    for rel in sorted(snapshot(outroot)):
        p = subprocess.run(["dciodvfy", os.path.join(outroot, rel)], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        errors += ["%s: %s" % (rel, l.strip()) for l in p.stdout.splitlines() if "Error" in l]
    return errors


# The folder: source (relative to WORK) -> fixture, and what each is written as.
FOLDER = {
    "in/ct_stack.tif": "ct_stack.tif",               # 16-bit stack: one Word SC, 20 frames
    "in/g4 letter (2 pages).tif": "g4_small.tif",    # CCITT G4: Single Bit SC, DOC
    "in/PHOTO.TIF": "planar_rgb.tif",                # RGB: VL Photographic, XC
    "in/miniswhite16.tif": "miniswhite16.tif",       # MONOCHROME1: SC Image per page
    "in/two_sizes.tif": "two_sizes.tif",             # two instances of Byte SC
    "in/export 0003": "radiology8.tif",              # no extension: recognised by content
}
BROKEN = "in/bad_truncated_strip.tif"
SLIDE = "in/slides/synthetic.svs"


def case_folder():
    for rel, fixture in FOLDER.items():
        place(fixture, rel)
    place("bad_truncated_strip.tif", BROKEN)
    place(None, SLIDE)
    with open(os.path.join(WORK, "in", "notes.txt"), "w") as f:
        f.write("not an image\n")
    src, out = os.path.join(WORK, "in"), os.path.join(WORK, "out")
    rc, _, err = batch(src, "-o", out, "--jobs", "2")
    rep = report(out)
    checks.expect(rc == 1, "mixed folder: exit 1, the truncated TIFF failing (got %d)" % rc)
    checks.expect(sorted(rep) == sorted(list(FOLDER) + [BROKEN, SLIDE]),
                  "one report entry per TIFF and the slide: %s" % sorted(rep))
    with open(os.path.join(out, "batch-report.json")) as f:
        ignored = [os.path.relpath(p, WORK) for p in json.load(f)["ignored"]]
    checks.expect(ignored == ["in/notes.txt"], "the text file is ignored: %s" % ignored)
    checks.expect(rep[BROKEN]["outcome"] == "failed" and
                  "truncated" in (rep[BROKEN]["error"] or ""),
                  "truncated TIFF failed with its reason: %s" % rep[BROKEN]["error"])
    for rel, fixture in FOLDER.items():
        s = rep[rel]
        if not checks.expect(s["outcome"] == "converted", "%s converted (%s)" % (rel, s["error"])):
            continue
        got = {f: v[:2] for f, v in written(out, s["name"]).items()}
        want = expected_files(fixture)
        checks.expect(got == want, "%s: files, SOP classes and Modality %s, expected %s" % (rel, got, want))
        checks.expect(sorted(s["files"]) == sorted(want), "%s: report lists %s" % (rel, s["files"]))
        checks.expect(s.get("kind") == FIXTURES[fixture]["kind"],
                      "%s: report kind %s (%s)" % (rel, s.get("kind"), s.get("kind_reason")))
        pages = sum(p["width"] * p["height"] for p in FIXTURES[fixture]["pages"]) / 1e6
        checks.expect(s["levels"] == 0 and abs(s["megapixels"] - pages) < 1e-6 and
                      s["frames"] == len(FIXTURES[fixture]["pages"]),
                      "%s: levels 0, frames %d, megapixels %.4f = its pages'" % (rel, s["frames"], s["megapixels"]))
    slide = rep[SLIDE]
    if checks.expect(slide["outcome"] == "converted", "the slide converted (%s)" % slide["error"]):
        files = written(out, slide["name"])
        checks.expect("level-0.dcm" in files and all(v[:2] == (WSM, "SM") for v in files.values()),
                      "the slide: a WSM pyramid, Modality SM (%s)" % sorted(files))
        checks.expect(slide["levels"] > 1 and "kind" not in slide, "the slide: levels %d, no kind" % slide["levels"])
    errors = dciodvfy_errors(out)
    checks.expect(not errors, "dciodvfy: no errors %s" % errors[:3])
    checks.expect(not os.path.exists(os.path.join(out, ".staging")), "no staging folder left")

    good = list(FOLDER) + [SLIDE]
    before = snapshot(out)
    rc, _, err = batch(src, "-o", out, "--jobs", "2")
    oc = outcomes(out)
    checks.expect(rc == 1 and all(oc[g] == "already done" for g in good) and oc[BROKEN] == "failed",
                  "re-run: every converted file already done %s" % oc)
    checks.expect(snapshot(out) == before, "re-run: outputs untouched")
    checks.expect(report(out)["in/ct_stack.tif"].get("kind") == "radiology",
                  "re-run: the report keeps the kind of the run that converted it")

    redo = rep["in/two_sizes.tif"]["name"]
    shutil.rmtree(os.path.join(out, redo))
    rc, _, err = batch(src, "-o", out)
    oc = outcomes(out)
    checks.expect(oc["in/two_sizes.tif"] == "converted" and
                  all(oc[g] == "already done" for g in good if g != "in/two_sizes.tif"),
                  "deleted output: only that TIFF redone %s" % oc)
    after = snapshot(out)
    checks.expect(all(after[k] == v for k, v in before.items() if not k.startswith(redo + "/")) and
                  sorted(os.listdir(os.path.join(out, redo))) == ["image-001.dcm", "image-002.dcm"],
                  "deleted output: both its instances back, the rest untouched")

    before = snapshot(out)
    rc, _, err = batch(src, "-o", out, "--force", "-q")
    oc = outcomes(out)
    after = snapshot(out)
    checks.expect(rc == 1 and all(oc[g] == "converted" for g in good) and not err,
                  "--force converts everything again, quietly %s" % oc)
    checks.expect(sorted(after) == sorted(before) and all(after[k] != before[k] for k in before),
                  "--force: every file rewritten, the same names")


def plan_args(listed):
    return {os.path.relpath(s["source"], WORK): s["convert_args"] for s in json.loads(listed)["slides"]}


def case_manifest():
    place("ct_stack.tif", "in/ct_stack.tif")
    place("radiology8.tif", "in/radiology8.tif")
    place("g4_small.tif", "in/g4_small.tif")
    place("lzw_pred2_rgb.tif", "in/lzw_pred2_rgb.tif")
    place("a4_gray8_300dpi.tif", "in/a4_gray8_300dpi.tif")
    place("signed16.tif", "in/signed16.tif")
    place(None, "in/synthetic.svs")
    os.makedirs(os.path.join(WORK, "lists"))
    manifest = os.path.join(WORK, "lists", "manifest.csv")
    rows = [
        "path,PatientID,Modality,kind,DocumentTitle,BodyPartExamined",
        "../in/ct_stack.tif,P-1,CT,,,HAND",
        "../in/radiology8.tif,P-2,,photo,,",              # 8-bit grey as a photograph
        '../in/g4_small.tif,P-3,,document,"Consent, page 1",',
        "../in/lzw_pred2_rgb.tif,P-4,ES,,,",              # Modality ES: VL Endoscopic
        "../in/a4_gray8_300dpi.tif,P-5,,radiology,,",     # an A4 page at 300 dpi taken as radiology
        "../in/signed16.tif,P-6,,photo,,",               # 16-bit grey: no photograph IOD takes it
        "../in/synthetic.svs,P-7,CT,photo,,",             # a slide stays a WSM pyramid
    ]
    with open(manifest, "w") as f:
        f.write("\n".join(rows) + "\n")
    out = os.path.join(WORK, "out")

    rc, listed, err = batch(manifest, "-o", out, "--list", "--quality", "90")
    args = plan_args(listed) if rc == 0 else {}
    checks.expect(args.get("in/ct_stack.tif") == ["--modality", "CT"] and
                  args.get("in/radiology8.tif") == ["--kind", "photo"] and
                  args.get("in/g4_small.tif") == ["--kind", "document", "--document-title", "Consent, page 1"] and
                  json.loads(listed)["convert_args"] == ["--quality", "90"],
                  "--list: each row's options beside the common ones %s" % args)

    rc, _, err = batch(manifest, "-o", out, "--jobs", "2")
    rep = report(out)
    checks.expect(rc == 1, "manifest batch: exit 1, one row failing (got %d: %s)" % (rc, err.strip()[-200:]))
    want = {
        "in/ct_stack.tif": {"image-001.dcm": (SC_WORD, "CT")},
        "in/radiology8.tif": {"image-001.dcm": (VL_PHOTO, "XC")},
        "in/g4_small.tif": {"image-001.dcm": (SC_BIT, "DOC")},
        "in/lzw_pred2_rgb.tif": {"image-001.dcm": (VL_ENDOSCOPIC, "ES")},
        "in/a4_gray8_300dpi.tif": {"image-001.dcm": (SC_BYTE, "OT")},
    }
    kinds = {"in/ct_stack.tif": "radiology", "in/radiology8.tif": "photo", "in/g4_small.tif": "document",
             "in/lzw_pred2_rgb.tif": "photo", "in/a4_gray8_300dpi.tif": "radiology"}
    pids = {rel: "P-%d" % (i + 1) for i, rel in enumerate(want)}
    for rel, files in want.items():
        s = rep[rel]
        if not checks.expect(s["outcome"] == "converted", "%s converted (%s)" % (rel, s["error"])):
            continue
        got = written(out, s["name"])
        checks.expect({f: v[:2] for f, v in got.items()} == files,
                      "%s: SOP class and Modality %s" % (rel, {f: v[:2] for f, v in got.items()}))
        checks.expect(s.get("kind") == kinds[rel], "%s: kind %s because %s" % (rel, s.get("kind"), s.get("kind_reason")))
        checks.expect(all(v[2].PatientID == pids[rel] for v in got.values()),
                      "%s: the PatientID column applied" % rel)
    ct = written(out, rep["in/ct_stack.tif"]["name"])["image-001.dcm"][2]
    checks.expect(ct.get("BodyPartExamined") == "HAND", "BodyPartExamined column reaches the CT stack")
    doc = written(out, rep["in/g4_small.tif"]["name"])["image-001.dcm"][2]
    checks.expect(doc.get("DocumentTitle") == "Consent, page 1", "DocumentTitle column: %r" % doc.get("DocumentTitle"))
    bad = rep["in/signed16.tif"]
    checks.expect(bad["outcome"] == "failed" and "photograph" in (bad["error"] or ""),
                  "a kind that cannot take the pixels fails that row alone: %s" % bad["error"])
    slide = rep["in/synthetic.svs"]
    files = written(out, slide["name"]) if slide["outcome"] == "converted" else {}
    checks.expect(files and all(v[:2] == (WSM, "SM") and v[2].PatientID == "P-7" for v in files.values()),
                  "the slide's row: still WSM and SM, its PatientID applied (%s)" % slide["error"])
    errors = dciodvfy_errors(out)
    checks.expect(not errors, "dciodvfy: no errors %s" % errors[:3])

    # Re-run: nothing redone. Then a changed kind: that row only, as its new IOD.
    before = snapshot(out)
    rc, _, err = batch(manifest, "-o", out)
    oc = outcomes(out)
    checks.expect(all(v == "already done" for k, v in oc.items() if k != "in/signed16.tif") and
                  snapshot(out) == before, "re-run: every row already done, files untouched %s" % oc)
    rows[2] = "../in/radiology8.tif,P-2,,radiology,,"
    with open(manifest, "w") as f:
        f.write("\n".join(rows) + "\n")
    rc, _, err = batch(manifest, "-o", out)
    oc = outcomes(out)
    redone = rep["in/radiology8.tif"]["name"]
    checks.expect(oc["in/radiology8.tif"] == "converted" and
                  all(v == "already done" for k, v in oc.items() if k not in ("in/radiology8.tif", "in/signed16.tif")),
                  "kind changed in one row: only it converted again %s" % oc)
    got = {f: v[:2] for f, v in written(out, redone).items()}
    checks.expect(got == {"image-001.dcm": (SC_BYTE, "OT")}, "its new kind's IOD: %s" % got)
    after = snapshot(out)
    checks.expect(all(after[k] == v for k, v in before.items() if not k.startswith(redone + "/")),
                  "the other rows' files untouched")

    # The batch's own --modality wins over the column (flags win over manifest columns).
    one = os.path.join(WORK, "lists", "one.csv")
    with open(one, "w") as f:
        f.write("path,Modality\n../in/ct_stack.tif,CT\n")
    out_flag = os.path.join(WORK, "out-flag")
    rc, _, err = batch(one, "-o", out_flag, "--modality", "MR")
    name = report(out_flag)["in/ct_stack.tif"]["name"] if rc == 0 else None
    got = {f: v[:2] for f, v in written(out_flag, name).items()} if name else {}
    checks.expect(got == {"image-001.dcm": (SC_WORD, "MR")}, "--modality MR beats the column's CT: %s" % got)

    # Bad values: usage errors naming the line, before anything is converted.
    for text, says in [("path,kind\n../in/ct_stack.tif,radiology\n../in/g4_small.tif,xray\n",
                        'bad.csv line 3, column kind: "xray": use radiology, document, photo or '
                        'microscopy'),
                       ("path,Modality\n../in/ct_stack.tif,ct\n", 'bad.csv line 2, column Modality: "ct"')]:
        bad_csv = os.path.join(WORK, "lists", "bad.csv")
        with open(bad_csv, "w") as f:
            f.write(text)
        out_bad = os.path.join(WORK, "out-bad")
        rc, _, err = batch(bad_csv, "-o", out_bad)
        checks.expect(rc == 2 and says in err and not os.path.exists(out_bad),
                      "bad value: exit %d, %r, nothing written" % (rc, err.strip()))


def identities(outroot):
    """<name>/<file> -> (SOP Class UID, Modality, SOP Instance UID) of every output."""
    found = {}
    for name in sorted(os.listdir(outroot)):
        if os.path.isdir(os.path.join(outroot, name)) and not name.startswith("."):
            for f, (sop_class, modality, ds) in written(outroot, name).items():
                found[name + "/" + f] = (sop_class, modality, str(ds.SOPInstanceUID))
    return found


def sop_instance_uids(outroot):
    return {v[2] for v in identities(outroot).values()}


def case_send():
    from pacs import Orthanc
    place("ct_stack.tif", "in/ct_stack.tif")
    place("g4_small.tif", "in/g4_small.tif")
    place("miniswhite16.tif", "in/miniswhite16.tif")
    place("planar_rgb.tif", "in/planar_rgb.tif")
    place("lzw_pred2_rgb.tif", "in/lzw_pred2_rgb.tif")
    place(None, "in/synthetic.svs")
    os.makedirs(os.path.join(WORK, "lists"))
    manifest = os.path.join(WORK, "lists", "manifest.csv")
    with open(manifest, "w") as f:
        f.write("path,Modality\n../in/ct_stack.tif,CT\n../in/g4_small.tif,\n"
                "../in/miniswhite16.tif,\n../in/planar_rgb.tif,\n../in/lzw_pred2_rgb.tif,ES\n"
                "../in/synthetic.svs,\n")
    out = os.path.join(WORK, "out")
    with Orthanc(WORK) as orthanc:
        stow = orthanc.url + "/dicom-web/studies"
        rc, _, err = batch(manifest, "-o", out, "--send-stow", stow, "--jobs", "2")
        rep = report(out)
        checks.expect(rc == 0 and all(s["outcome"] == "converted" and s["send"]["outcome"] == "sent"
                                      for s in rep.values()),
                      "STOW-RS: every row converted and sent (exit %d) %s" % (rc, err.strip()[-300:]))
        classes = sorted({v[0] for v in identities(out).values()})
        checks.expect(classes == sorted([SC_IMAGE, SC_BIT, SC_WORD, VL_ENDOSCOPIC, VL_PHOTO, WSM]),
                      "the outputs hold every IOD of the test: %s" % classes)
        uids = sop_instance_uids(out)
        checks.expect(uids and set(orthanc.instances()) == uids,
                      "Orthanc holds exactly the outputs' %d SOP Instance UIDs" % len(uids))
        before = snapshot(out)
        rc, _, err = batch(manifest, "-o", out, "--send-stow", stow)
        checks.expect(rc == 0 and all(s["outcome"] == "already done" and s["send"]["outcome"] == "already sent"
                                      for s in report(out).values()) and snapshot(out) == before,
                      "re-run: nothing converted nor sent, files untouched")
        orthanc.clear()
        rc, _, err = batch(manifest, "-o", out, "--send-cstore", "127.0.0.1:%d" % orthanc.dicom_port,
                           "--aec", "ORTHANC")
        checks.expect(rc == 0 and all(s["outcome"] == "already converted" and s["send"]["outcome"] == "sent"
                                      for s in report(out).values()) and snapshot(out) == before,
                      "C-STORE: every row sent without converting (exit %d) %s" % (rc, err.strip()[-300:]))
        checks.expect(set(orthanc.instances()) == uids, "C-STORE: Orthanc holds the same instances")


def case_snakemake():
    place("ct_stack.tif", "in/ct_stack.tif")
    place("radiology8.tif", "in/radiology8.tif")
    place("g4_small.tif", "in/g4_small.tif")
    place(None, "in/synthetic.svs")
    os.makedirs(os.path.join(WORK, "lists"))
    manifest = os.path.join(WORK, "lists", "manifest.csv")
    with open(manifest, "w") as f:
        f.write("path,PatientID,Modality,kind,DocumentTitle\n"
                "../in/ct_stack.tif,P-1,CT,,\n"
                "../in/radiology8.tif,P-2,,photo,\n"
                "../in/g4_small.tif,P-3,,,Consent\n"
                "../in/synthetic.svs,P-4,,,\n")
    out_batch, out_snake = os.path.join(WORK, "out-batch"), os.path.join(WORK, "out-snake")
    rc, _, err = batch(manifest, "-o", out_batch, "--deterministic-uids", "-q")
    checks.expect(rc == 0, "batch over the manifest: exit %d %s" % (rc, err.strip()))
    p = subprocess.run(["snakemake", "--snakefile", os.path.join(REPO, "workflow", "Snakefile"),
                        "--cores", "2", "--directory", WORK, "--quiet",
                        "--config", "manifest=" + manifest, "outroot=" + out_snake, "slide2dcm=" + BIN,
                        "convert_options=--deterministic-uids", "threads=1"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    checks.expect(p.returncode == 0, "snakemake --cores 2: exit %d %s" % (p.returncode, p.stdout[-300:]))
    from_batch, from_snake = identities(out_batch), identities(out_snake)
    classes = sorted({v[:2] for v in from_batch.values()})
    checks.expect(classes == sorted([(SC_WORD, "CT"), (VL_PHOTO, "XC"), (SC_BIT, "DOC"), (WSM, "SM")]),
                  "batch: the rows' IODs and Modality %s" % classes)
    checks.expect(from_batch and from_snake == from_batch,
                  "the workflow writes the same files, IODs, Modality and UIDs as batch (%d files)" % len(from_snake))


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
{"folder": case_folder, "manifest": case_manifest, "snakemake": case_snakemake,
 "send": case_send}[CASE]()
sys.exit(checks.result())
