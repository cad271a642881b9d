#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""--dicomdir: DICOM media folders (issue 19) that dciodvfy, dcmtk and pydicom accept.

usage: media.py CASE SLIDE2DCM TESTDATA PLAIN_FIXTURES WORKDIR
CASE is one of:
  convert  a slide (with a Patient ID and Study ID; then without, and into the same media
           folder again), a CT stack as Deflated Explicit VR Little Endian and a document as
           an Encapsulated PDF, each made a media folder: every name media-safe, the files
           the conversion's (hard links), dciodvfy without errors or warnings on the
           DICOMDIR, every file referenced once (dcmdump and pydicom's FileSet read it back,
           the records' UIDs and transfer syntax the files'), dcmmkdir re-creates a DICOMDIR
           from the folder with the same records; a folder holding something else is
           refused before converting
  batch    a folder of two slides and a broken one: one media folder for every slide done,
           a folder per slide, rebuilt by the re-run
Prints "ok ..." or "FAIL ..." lines (lib/checks.py); exit status 0 only without failures."""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import Checks  # noqa: E402

import pydicom  # noqa: E402
from pydicom.fileset import FileSet  # noqa: E402

CASE, BIN, DATA, PLAIN, WORK = (sys.argv[1], *(os.path.abspath(a) for a in sys.argv[2:6]))
checks = Checks()
SAFE = re.compile(r"^[A-Z0-9_]{1,8}$")


def fresh(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def run(*args):
    p = subprocess.run([BIN, *args], capture_output=True, text=True)
    return p.returncode, p.stderr


def records(path):
    """(record type, referenced file or None, SOP instance, transfer syntax) of a DICOMDIR."""
    ds = pydicom.dcmread(path)
    out = []
    for r in ds.DirectoryRecordSequence:
        ref = r.get("ReferencedFileID")
        if ref is not None:
            ref = "/".join([ref] if isinstance(ref, str) else list(ref))
        out.append((r.DirectoryRecordType, ref, r.get("ReferencedSOPInstanceUIDInFile"),
                    r.get("ReferencedTransferSyntaxUIDInFile")))
    return out


def check_media(media, outdirs, what, patient_id=None):
    """Everything the media folder must be, for the .dcm files of outdirs."""
    sources = [os.path.join(d, f) for d in outdirs for f in sorted(os.listdir(d)) if f.endswith(".dcm")]
    names, unsafe = [], []
    for root, dirs, files in os.walk(media):
        for name in dirs + files:
            rel = os.path.relpath(os.path.join(root, name), media)
            parts = rel.split(os.sep)
            if not all(SAFE.match(p) for p in parts) or len(parts) > 8:
                unsafe.append(rel)
            if name in files and rel != "DICOMDIR":
                names.append(rel)
    checks.expect(not unsafe, what, "every name media-safe (8 of A-Z 0-9 _, 8 levels): %s" % unsafe[:3])
    inodes = {os.stat(p).st_ino for p in sources}
    checks.expect(len(names) == len(sources) and {os.stat(os.path.join(media, n)).st_ino for n in names} == inodes,
                  what, "the conversion's %d files, as hard links (%d in the folder)" % (len(sources), len(names)))

    p = subprocess.run(["dciodvfy", os.path.join(media, "DICOMDIR")], capture_output=True, text=True)
    found = [line for line in (p.stdout + p.stderr).splitlines() if re.match(r"^(Error|Warning)", line)]
    checks.expect(p.returncode == 0 and not found, what, "dciodvfy: no error or warning %s" % found[:3])

    dump = subprocess.run(["dcmdump", os.path.join(media, "DICOMDIR")], capture_output=True, text=True)
    referenced = sorted(m.replace("\\", "/") for m in re.findall(r'refFileID="([^"]+)"', dump.stdout))
    checks.expect(dump.returncode == 0 and referenced == sorted(names), what,
                  "dcmdump reads the DICOMDIR back, every file referenced once (%d)" % len(referenced))

    try:
        recs = records(os.path.join(media, "DICOMDIR"))
    except Exception as exc:   # pydicom follows the offsets: a wrong one raises
        checks.fail(what, "pydicom cannot read the DICOMDIR: %r" % exc)
        return []
    good = True
    for kind, ref, uid, ts in recs:
        if ref:
            f = pydicom.dcmread(os.path.join(media, ref), stop_before_pixels=True)
            good &= uid == f.SOPInstanceUID and ts == f.file_meta.TransferSyntaxUID
    try:
        fs = FileSet(os.path.join(media, "DICOMDIR"))
    except Exception as exc:
        checks.fail(what, "pydicom's FileSet cannot follow the offsets: %r" % exc)
        return recs
    checks.expect(good and len(fs) == len(names) and all(os.path.exists(i.path) for i in fs), what,
                  "pydicom's FileSet follows the offsets to every instance; UIDs and transfer syntax are the files'")
    pids = {str(r.PatientID) for r in pydicom.dcmread(os.path.join(media, "DICOMDIR")).DirectoryRecordSequence
            if r.DirectoryRecordType == "PATIENT"}
    checks.expect(all(pids) and (patient_id is None or pids == {patient_id}), what, "Patient IDs %s" % pids)

    # dcmmkdir (dcmtk) takes the folder's files and makes the same records of them.
    again = os.path.join(WORK, "dcmmkdir-DICOMDIR")
    if os.path.exists(again):
        os.unlink(again)
    invent = [] if patient_id else ["+I"]
    p = subprocess.run(["dcmmkdir", "-Pfl", "-Nxc", *invent, "+id", media, "+r", "S2D", "+D", again],
                       capture_output=True, text=True)
    theirs = records(again) if p.returncode == 0 else []
    ours = recs

    def count(recs, kind):
        return sum(1 for r in recs if r[0] == kind)

    same = all(count(theirs, k) == count(ours, k) for k in ("IMAGE", "ENCAP DOC")) and \
        sorted(r[1] for r in theirs if r[1]) == sorted(r[1] for r in ours if r[1])
    if patient_id:   # without IDs dcmmkdir makes up a patient (and study, series) per file
        same = same and all(count(theirs, k) == count(ours, k) for k in ("PATIENT", "STUDY", "SERIES"))
    checks.expect(p.returncode == 0 and same, what, "dcmmkdir re-creates it from the folder (exit %d) %s" %
                  (p.returncode, p.stderr.strip().splitlines()[:2]))
    return recs


def case_convert():
    fresh(WORK)
    slide = os.path.join(DATA, "aperio/CMU-1-Small-Region.svs")
    out, media = os.path.join(WORK, "out"), os.path.join(WORK, "media")
    rc, err = run("convert", slide, "-o", out, "--dicomdir", media, "--patient-id", "P-001",
                  "--study-id", "S7")
    checks.expect(rc == 0 and "DICOM media folder, 8 files" in err, "slide: exit %d: %s" % (rc, err.strip()))
    recs = check_media(media, [out], "slide", "P-001")
    checks.expect([r[0] for r in recs[:4]] == ["PATIENT", "STUDY", "SERIES", "IMAGE"], "slide: records in order")

    # The same media folder again, from a conversion without IDs: replaced, IDs made up.
    rc, err = run("convert", slide, "-o", out, "--overwrite", "--dicomdir", media)
    checks.expect(rc == 0 and "made up" in err, "again without IDs: exit %d, says what it made up" % rc)
    check_media(media, [out], "slide again")

    # Another file system (a stick; here /dev/shm when it is one): copies, byte for byte.
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.stat(shm).st_dev != os.stat(WORK).st_dev:
        other = os.path.join(shm, "s2d-media-test-%d" % os.getpid())
        try:
            rc, err = run("convert", slide, "-o", out, "--overwrite", "--dicomdir", other)
            copies = [os.path.join(root, f) for root, _, files in os.walk(os.path.join(other, "S2D")) for f in files]
            originals = sorted(os.path.join(out, f) for f in os.listdir(out) if f.endswith(".dcm"))
            same = len(copies) == len(originals) and sorted(open(p, "rb").read() for p in copies) == \
                sorted(open(p, "rb").read() for p in originals)
            checks.expect(rc == 0 and "8 copied" in err and same,
                          "media on another file system: copies, byte for byte: %s" % err.strip()[-120:])
        finally:
            shutil.rmtree(other, ignore_errors=True)

    # Deflated Explicit VR Little Endian: the scan reads the deflated dataset.
    ct_out, ct_media = os.path.join(WORK, "ct"), os.path.join(WORK, "ct-media")
    rc, err = run("convert", os.path.join(PLAIN, "ct_stack.tif"), "-o", ct_out, "--codec", "deflate",
                  "--patient-id", "CT-9", "--study-id", "1", "--dicomdir", ct_media)
    checks.expect(rc == 0, "deflated CT stack: exit %d %s" % (rc, err.strip()[-200:]))
    if rc == 0:
        recs = check_media(ct_media, [ct_out], "deflated", "CT-9")
        checks.expect(all(r[3] == "1.2.840.10008.1.2.1.99" for r in recs if r[1]), "deflated: the records say so")

    # An Encapsulated PDF: an ENCAP DOC record.
    doc_out, doc_media = os.path.join(WORK, "doc"), os.path.join(WORK, "doc-media")
    rc, err = run("convert", os.path.join(PLAIN, "g4_small.tif"), "-o", doc_out, "--as", "pdf",
                  "--patient-id", "D-1", "--study-id", "2", "--dicomdir", doc_media)
    checks.expect(rc == 0, "PDF: exit %d %s" % (rc, err.strip()[-200:]))
    if rc == 0:
        recs = check_media(doc_media, [doc_out], "PDF", "D-1")
        checks.expect([r[0] for r in recs] == ["PATIENT", "STUDY", "SERIES", "ENCAP DOC"], "PDF: an ENCAP DOC record")

    # A folder that holds something else is refused before converting.
    busy = fresh(os.path.join(WORK, "busy"))
    open(os.path.join(busy, "notes.txt"), "w").close()
    rc, err = run("convert", slide, "-o", os.path.join(WORK, "not-made"), "--dicomdir", busy)
    checks.expect(rc == 2 and "notes.txt" in err and not os.path.exists(os.path.join(WORK, "not-made")),
                  "a folder holding other files: exit 2 before converting: %s" % err.strip())
    rc, err = run("convert", slide, "-o", os.path.join(WORK, "not-made"), "--dicomdir",
                  os.path.join(WORK, "not-made", "media"))
    checks.expect(rc == 2 and "apart from" in err and not os.path.exists(os.path.join(WORK, "not-made")),
                  "a media folder inside OUTDIR: exit 2 before converting: %s" % err.strip())


def case_batch():
    fresh(WORK)
    d = os.path.join(WORK, "in")
    os.makedirs(d)
    shutil.copyfile(os.path.join(DATA, "aperio/CMU-1-Small-Region.svs"), os.path.join(d, "a.svs"))
    shutil.copyfile(os.path.join(DATA, "aperio/small.svs"), os.path.join(d, "b.svs"))
    shutil.copyfile(os.path.join(DATA, "negative/histolab_broken.svs"), os.path.join(d, "c.svs"))
    out, media = os.path.join(WORK, "out"), os.path.join(WORK, "media")
    for run_no in (1, 2):
        rc, err = run("batch", d, "-o", out, "--dicomdir", media, "--patient-id", "B-1", "--study-id", "1")
        slides = sorted(os.path.join(out, n) for n in os.listdir(out) if not n.startswith((".", "batch-")))
        checks.expect(rc == 1 and len(slides) == 2 and "DICOM media folder" in err,
                      "run %d: exit 1 (a slide failed), the two others in the media folder: %s" % (run_no, err.strip()[-300:]))
        recs = check_media(media, slides, "batch run %d" % run_no, "B-1")
        folders = sorted({r[1].split("/")[1] for r in recs if r[1]})
        checks.expect(folders == ["SL000001", "SL000002"], "run %d: a folder per slide %s" % (run_no, folders))


{"convert": case_convert, "batch": case_batch}[CASE]()
sys.exit(checks.result())
