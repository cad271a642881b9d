#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""slide2dcm batch against copies of real slides (never in the repository: in WORKDIR).

usage: batch.py CASE SLIDE2DCM TESTDATA WORKDIR [REPO | MAKE_SVS]
CASE is one of:
  folder      a folder with spaces and parentheses in names, a slide without extension
              (recognised by content), a broken slide, an unsupported one, a multi-file MIRAX and a text file: good ones converted and valid under
              dciodvfy, bad ones reported with their reason, exit 1; then re-runs: nothing
              redone, a deleted output redone alone, a modified source redone alone, --force
  crash       SIGKILL at exact points (test hook) and at arbitrary moments (kill -9 of the
              whole process group), a torn journal line; each re-run: no partial file under
              a final name; at the end every slide converted and valid
  manifest    metadata columns reach that row's files; rows with ../ paths, an absolute
              path and a planted symbolic link cannot write outside OUTROOT
  uids        --deterministic-uids: two conversions of one slide share every UID, two
              slides share none; pixel options change the series and instances only
  signals     SIGTERM to the batch alone and SIGINT to its process group (a terminal's
              Ctrl-C) while a slide converts: exit 130, the slide reported as interrupted,
              nothing left behind; the progress line on a terminal; usage errors
  snakemake   workflow/Snakefile over the same manifest, --cores 2: the same outputs (and,
              with deterministic UIDs, the same SOP Instance UIDs) as batch
  snakemake_doc  docs/batch.md's local command as written (REPO's build/release/slide2dcm)
Prints "ok ..." or "FAIL ..." lines (lib/checks.py); exit status 0 only without failures.
"""
import json
import os
import pty
import shutil
import signal
import subprocess
import sys
import time

import pydicom
from pydicom.encaps import generate_pixel_data_frame

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import Checks  # noqa: E402

CASE, BIN, DATA, WORK = sys.argv[1:5]
BIN, DATA, WORK = os.path.abspath(BIN), os.path.abspath(DATA), os.path.abspath(WORK)
REPO = sys.argv[5] if len(sys.argv) > 5 else None
checks = Checks()


def run(args, env=None, **kw):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=dict(os.environ, **(env or {})), **kw)
    return p.returncode, p.stdout, p.stderr


def batch(*args, env=None):
    return run([BIN, "batch", *args], env=env)


def report(outroot):
    with open(os.path.join(outroot, "batch-report.json")) as f:
        return json.load(f)


def outcomes(outroot):
    return {os.path.relpath(s["source"], WORK): s["outcome"] for s in report(outroot)["slides"]}


def copy(src, dst):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copyfile(src, dst)


GOOD = ["in/CMU-1 (copy) small.svs", "in/small slide.svs", "in/sub/small slide.svs", "in/scan 0002"]
BAD = ["in/broken (1).svs", "in/unsupported.tiff", "in/mirax/Mirax2-Fluorescence-1.mrxs"]


def make_folder():
    """Copies of real slides, a broken and an unsupported file, a MIRAX set, a text file."""
    d = os.path.join(WORK, "in")
    copy(os.path.join(DATA, "aperio/CMU-1-Small-Region.svs"), os.path.join(d, "CMU-1 (copy) small.svs"))
    copy(os.path.join(DATA, "aperio/small.svs"), os.path.join(d, "small slide.svs"))
    copy(os.path.join(DATA, "aperio/small.svs"), os.path.join(d, "sub/small slide.svs"))
    copy(os.path.join(DATA, "aperio/small.svs"), os.path.join(d, "scan 0002"))   # no extension
    copy(os.path.join(DATA, "negative/histolab_broken.svs"), os.path.join(d, "broken (1).svs"))
    copy(os.path.join(DATA, "negative/openslide-python_unopenable.tiff"), os.path.join(d, "unsupported.tiff"))
    mirax = os.path.join(DATA, "stubs-metadata-only")
    copy(os.path.join(mirax, "Mirax2-Fluorescence-1.mrxs"), os.path.join(d, "mirax/Mirax2-Fluorescence-1.mrxs"))
    for f in os.listdir(os.path.join(mirax, "Mirax2-Fluorescence-1")):
        copy(os.path.join(mirax, "Mirax2-Fluorescence-1", f), os.path.join(d, "mirax/Mirax2-Fluorescence-1", f))
    with open(os.path.join(d, "notes.txt"), "w") as f:
        f.write("not a slide\n")
    return d


def dcm_files(outroot):
    """Every .dcm under OUTROOT/<name>/, relative to OUTROOT."""
    found = []
    for name in sorted(os.listdir(outroot)):
        folder = os.path.join(outroot, name)
        if os.path.isdir(folder) and not name.startswith("."):
            found += [os.path.join(name, f) for f in sorted(os.listdir(folder)) if f.endswith(".dcm")]
    return found


def snapshot(outroot):
    """Size, modification time and inode of every output: any rewrite changes them."""
    snap = {}
    for rel in dcm_files(outroot):
        st = os.stat(os.path.join(outroot, rel))
        snap[rel] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return snap


def dciodvfy_errors(outroot):
    errors = []
    for rel in dcm_files(outroot):
        p = subprocess.run(["dciodvfy", os.path.join(outroot, rel)], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        errors += ["%s: %s" % (rel, l.strip()) for l in p.stdout.splitlines() if "Error" in l]
        if p.returncode < 0:
            errors.append("%s: dciodvfy killed by signal %d" % (rel, -p.returncode))
    return errors


def partial_files(outroot):
    """Anything under a final name that is not a whole DICOM file slide2dcm writes."""
    bad = []
    for name in os.listdir(outroot):
        folder = os.path.join(outroot, name)
        if name.startswith(".") or not os.path.isdir(folder):
            continue
        files = os.listdir(folder)
        if not files:
            bad.append(name + "/ (empty)")
        for f in files:
            path = os.path.join(folder, f)
            if not f.endswith(".dcm") or f.startswith("."):
                bad.append(os.path.join(name, f))
                continue
            try:
                ds = pydicom.dcmread(path)
                frames = int(ds.NumberOfFrames)
                if sum(1 for _ in generate_pixel_data_frame(ds.PixelData, frames)) != frames:
                    bad.append(os.path.join(name, f) + " (frames missing)")
            except Exception as exc:   # any reading error means a partial file
                bad.append("%s (%s)" % (os.path.join(name, f), exc))
    return bad


def case_folder():
    src = make_folder()
    out = os.path.join(WORK, "out")
    rc, _, err = batch(src, "-o", out, "--jobs", "2")
    checks.expect(rc == 1, "folder batch exits 1 when some slides fail (got %d)" % rc)
    checks.expect("4 converted" in err and "3 failed" in err, "summary counts: " + err.splitlines()[0])
    rep = report(out)
    oc = outcomes(out)
    checks.expect(sorted(oc) == sorted(GOOD + BAD), "one report entry per slide, MIRAX once: %s" % sorted(oc))
    checks.expect(all(oc[g] == "converted" for g in GOOD), "good slides converted")
    reasons = {os.path.relpath(s["source"], WORK): s["error"] for s in rep["slides"]}
    checks.expect("not a slide format" in (reasons["in/broken (1).svs"] or ""),
                  "broken slide reason: %s" % reasons["in/broken (1).svs"])
    checks.expect("compression" in (reasons["in/unsupported.tiff"] or "").lower(),
                  "unsupported slide reason: %s" % reasons["in/unsupported.tiff"])
    checks.expect(reasons["in/mirax/Mirax2-Fluorescence-1.mrxs"] is not None, "MIRAX stub reported with a reason")
    checks.expect([os.path.relpath(p, WORK) for p in rep["ignored"]] == ["in/notes.txt"],
                  "text file listed as ignored: %s" % rep["ignored"])
    names = {os.path.relpath(s["source"], WORK): s["name"] for s in rep["slides"]}
    checks.expect(names["in/small slide.svs"] != names["in/sub/small slide.svs"], "same stem, two names")
    cmu = [s for s in rep["slides"] if s["source"].endswith("CMU-1 (copy) small.svs")][0]
    checks.expect(cmu["levels"] == 5 and cmu["frames"] > 100 and cmu["bytes"] > 100000 and
                  cmu["seconds"] > 0 and cmu["megapixels_per_second"] > 0 and "level-0.dcm" in cmu["files"],
                  "report figures: levels %s frames %s bytes %s" % (cmu["levels"], cmu["frames"], cmu["bytes"]))
    errors = dciodvfy_errors(out)
    checks.expect(len(dcm_files(out)) >= 10 and not errors, "dciodvfy: %d files, errors %s" % (len(dcm_files(out)), errors[:3]))
    checks.expect(not partial_files(out) and not os.path.exists(os.path.join(out, ".staging")), "no partial files")

    before = snapshot(out)
    rc, _, err = batch(src, "-o", out, "--jobs", "2")
    checks.expect(rc == 1 and all(outcomes(out)[g] == "already done" for g in GOOD), "re-run: nothing redone")
    checks.expect(snapshot(out) == before, "re-run: outputs untouched")

    shutil.rmtree(os.path.join(out, names["in/CMU-1 (copy) small.svs"]))
    rc, _, err = batch(src, "-o", out)
    oc = outcomes(out)
    checks.expect(oc["in/CMU-1 (copy) small.svs"] == "converted" and
                  oc["in/small slide.svs"] == oc["in/sub/small slide.svs"] == oc["in/scan 0002"] == "already done",
                  "deleted output: only that slide redone %s" % oc)
    after = snapshot(out)
    checks.expect(all(after[k] == v for k, v in before.items() if not k.startswith(names["in/CMU-1 (copy) small.svs"])),
                  "deleted output: the other outputs untouched")

    before = snapshot(out)
    with open(os.path.join(src, "sub/small slide.svs"), "ab") as f:
        f.write(b"\0" * 16)   # a changed source that is still a valid TIFF
    rc, _, err = batch(src, "-o", out)
    oc = outcomes(out)
    checks.expect(oc["in/sub/small slide.svs"] == "converted" and
                  oc["in/small slide.svs"] == oc["in/CMU-1 (copy) small.svs"] == oc["in/scan 0002"] == "already done",
                  "modified source: only it redone %s" % oc)
    after = snapshot(out)
    checks.expect(all(after[k] == v for k, v in before.items() if not k.startswith(names["in/sub/small slide.svs"])),
                  "modified source: the other outputs untouched")

    rc, _, err = batch(src, "-o", out, "--force", "-q")
    checks.expect(rc == 1 and all(outcomes(out)[g] == "converted" for g in GOOD) and not err,
                  "--force redoes everything, quietly")
    checks.expect(not dciodvfy_errors(out) and not partial_files(out), "after the re-runs: valid, no partial files")

    # The journal is append-only: every run added lines, none changed.
    with open(os.path.join(out, "batch-journal.jsonl")) as f:
        events = [json.loads(l)["event"] for l in f]
    checks.expect(events.count("done") == 4 + 1 + 1 + 4, "journal keeps every outcome: %d done" % events.count("done"))


def recovered(out, src, what):
    bad = partial_files(out)
    checks.expect(not bad, "%s: no partial file under a final name %s" % (what, bad[:3]))


def case_crash():
    src = make_folder()
    out = os.path.join(WORK, "out")
    # Exact points: the hook kills the batch with SIGKILL (its running child dies with it).
    for point in ["started:1", "started:2", "converted:1", "committed:1", "journaled:1",
                  "committed:1", "converted:2"]:
        rc, _, err = batch(src, "-o", out, "--jobs", "2", "-q", env={"S2D_BATCH_CRASH_AT": point})
        checks.expect(rc == -signal.SIGKILL, "killed at %s (exit %d)" % (point, rc))
        recovered(out, src, "after a kill at " + point)
    # A torn last line, as a kill in the middle of a journal write leaves.
    with open(os.path.join(out, "batch-journal.jsonl"), "a") as f:
        f.write('{"event":"done","name":"CMU-1__copy__sm')
    # Arbitrary moments: kill -9 the whole process group, as a scheduler does.
    for delay in [0.05, 0.3, 0.8]:
        p = subprocess.Popen([BIN, "batch", src, "-o", out, "--jobs", "2", "--force", "-q"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(delay)
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        recovered(out, src, "after kill -9 at %.2f s" % delay)
    rc, _, err = batch(src, "-o", out, "--jobs", "2")
    oc = outcomes(out)
    checks.expect(rc == 1 and all(oc[g] in ("converted", "already done") for g in GOOD) and
                  all(oc[b] == "failed" for b in BAD), "final run: every good slide complete %s" % oc)
    checks.expect("incomplete line" in err, "the torn journal line is noticed and skipped")
    checks.expect(len(dcm_files(out)) >= 10 and not dciodvfy_errors(out), "final outputs pass dciodvfy")
    recovered(out, src, "final run")
    checks.expect(not os.path.exists(os.path.join(out, ".staging")), "no staging folder left")


def case_manifest():
    src = make_folder()
    out = os.path.join(WORK, "out")
    os.makedirs(os.path.join(WORK, "lists"))
    outside = os.path.join(WORK, "outside")
    os.makedirs(outside)
    absolute = os.path.join(src, "small slide.svs")
    rows = [
        'path,PatientID,PatientName,AccessionNumber,StudyInstanceUID,ContainerIdentifier',
        '"../in/CMU-1 (copy) small.svs",P-001,Doe^Jane,ACC-1,1.2.826.0.1.3680043.10.999.1,"SLIDE 1, A"',
        '%s,P-002,,ACC-2,,' % absolute,
        '"../in/sub/../sub/small slide.svs",P-003,Roe^Richard,,,',
        '../../../../../../../../../../etc/hostname,P-004,,,,',
    ]
    manifest = os.path.join(WORK, "lists", "manifest.csv")
    with open(manifest, "w") as f:
        f.write("\n".join(rows) + "\n")
    rc, listed, _ = batch(manifest, "-o", out, "--list")
    plan = json.loads(listed)["slides"]
    checks.expect(rc == 0 and len(plan) == 4, "--list plans 4 rows")
    # A link planted where row 3's output goes must not lead the batch outside OUTROOT.
    os.makedirs(out)
    os.symlink(outside, os.path.join(out, plan[2]["name"]))
    before_outside = sorted(os.listdir(WORK))
    rc, _, err = batch(manifest, "-o", out, "--institution-name", "Lab One")
    checks.expect(rc == 1, "manifest batch exits 1 (the /etc row is not a slide): %d" % rc)
    oc = {s["manifest_line"]: s["outcome"] for s in report(out)["slides"]}
    checks.expect(oc == {2: "converted", 3: "converted", 4: "converted", 5: "failed"}, "row outcomes %s" % oc)
    checks.expect(os.listdir(outside) == [] and sorted(os.listdir(WORK)) == before_outside,
                  "nothing written outside OUTROOT")
    for name in os.listdir(out):
        path = os.path.join(out, name)
        checks.expect(not os.path.islink(path) and "/" not in name, "OUTROOT/%s is a plain entry" % name)
    checks.expect(os.path.isdir(os.path.join(out, plan[2]["name"])) and
                  not os.path.islink(os.path.join(out, plan[2]["name"])), "the planted link was replaced")
    expect = {
        plan[0]["name"]: dict(PatientID="P-001", PatientName="Doe^Jane", AccessionNumber="ACC-1",
                              StudyInstanceUID="1.2.826.0.1.3680043.10.999.1",
                              ContainerIdentifier="SLIDE 1, A"),
        plan[1]["name"]: dict(PatientID="P-002", AccessionNumber="ACC-2"),
        plan[2]["name"]: dict(PatientID="P-003", PatientName="Roe^Richard"),
    }
    for name, attrs in expect.items():
        for rel in dcm_files(out):
            if not rel.startswith(name + "/"):
                continue
            ds = pydicom.dcmread(os.path.join(out, rel), stop_before_pixels=True)
            got = {k: str(ds.get(k, "")) for k in attrs}
            checks.expect(got == attrs and ds.InstitutionName == "Lab One", "%s: %s" % (rel, got))
    errors = dciodvfy_errors(out)
    checks.expect(not errors, "manifest outputs pass dciodvfy %s" % errors[:3])


def children(pid):
    """Process ids whose parent is pid, from /proc (procps may be absent)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def wait_for_start(journal, proc):
    """Until the journal says a conversion started (or the batch ended)."""
    while proc.poll() is None:
        if os.path.exists(journal) and '"event":"started"' in open(journal).read():
            return True
        time.sleep(0.05)
    return False


def case_signals():
    make_svs = sys.argv[5]
    d = os.path.join(WORK, "in")
    os.makedirs(d)
    # Many 16-pixel tiles: a conversion that lasts while the signal arrives.
    subprocess.run([make_svs, os.path.join(d, "slow.svs"), "--width", "4000", "--height", "3000",
                    "--levels", "1", "--no-macro", "--no-label"], check=True)
    copy(os.path.join(DATA, "aperio/small.svs"), os.path.join(d, "z small.svs"))
    for sig, group in [(signal.SIGTERM, False), (signal.SIGINT, True)]:
        out = os.path.join(WORK, "out-" + sig.name)
        p = subprocess.Popen([BIN, "batch", d, "-o", out, "--tile-size", "16", "--threads", "1"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
        started = wait_for_start(os.path.join(out, "batch-journal.jsonl"), p)
        if group:
            os.killpg(p.pid, sig)
        else:
            p.send_signal(sig)
        err = p.communicate()[1]
        oc = outcomes(out)
        checks.expect(started and p.returncode == 130, "%s: exit %d" % (sig.name, p.returncode))
        checks.expect(oc == {"in/slow.svs": "interrupted", "in/z small.svs": "not run"}, "%s: report %s" % (sig.name, oc))
        left = sorted(os.listdir(out))
        checks.expect(left == [".batch.lock", "batch-journal.jsonl", "batch-report.json"],
                      "%s: nothing left behind: %s" % (sig.name, left))
        checks.expect("1 interrupted, 1 not run" in err, "%s: summary says so: %s" % (sig.name, err.strip().splitlines()[-1:]))

    # A conversion that dies (the OOM killer's SIGKILL, a crash in a reader library) costs
    # that slide only: the batch reports it and goes on.
    out = os.path.join(WORK, "out-crash")
    p = subprocess.Popen([BIN, "batch", d, "-o", out, "--tile-size", "16", "--threads", "1"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    started = wait_for_start(os.path.join(out, "batch-journal.jsonl"), p)
    kids = []
    while not kids and p.poll() is None:   # "started" is journaled just before the fork
        kids = children(p.pid)
        time.sleep(0.02)
    for kid in kids:
        os.kill(kid, signal.SIGKILL)
    err = p.communicate()[1]
    rep = {os.path.relpath(s["source"], WORK): s for s in report(out)["slides"]}
    checks.expect(started and len(kids) == 1 and p.returncode == 1, "killed conversion: batch exit %d" % p.returncode)
    checks.expect(rep["in/slow.svs"]["outcome"] == "failed" and
                  rep["in/slow.svs"]["error"] == "the converter crashed: Killed (signal 9)",
                  "killed conversion reported: %s" % rep["in/slow.svs"]["error"])
    checks.expect(rep["in/z small.svs"]["outcome"] == "converted", "the next slide converted all the same")
    checks.expect(sorted(os.listdir(out))[0] == ".batch.lock" and ".staging" not in os.listdir(out),
                  "no staging left after the crash")

    # On a terminal: the overall progress line.
    out = os.path.join(WORK, "out-tty")
    master, slave = pty.openpty()
    p = subprocess.Popen([BIN, "batch", d, "-o", out, "--mpp", "0.5"], stdout=subprocess.DEVNULL,
                         stderr=slave)
    os.close(slave)
    text = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        text += chunk
    p.wait()
    os.close(master)
    text = text.decode(errors="replace")
    checks.expect(p.returncode == 0 and "slides: 2 done, 0 failed, 0 left" in text and "MP/s" in text and "ETA" in text,
                  "progress line on a terminal: %r" % text[-200:])

    # Usage errors: one line, exit 2, nothing converted.
    for args, what in [(["--quality", "500"], "convert options do not work: --quality 500"), (["--bogus"], "unknown option"),
                       ([], "needs -o")]:
        outargs = ["-o", os.path.join(WORK, "out-usage")] if what != "needs -o" else []
        rc, _, err = batch(d, *outargs, *args)
        checks.expect(rc == 2 and what in err, "usage error %s: exit %d, %s" % (what, rc, err.strip().splitlines()[:1]))
    bad = os.path.join(WORK, "bad.csv")
    with open(bad, "w") as f:
        f.write("path,Colour\na.svs,red\n")
    rc, _, err = batch(bad, "-o", os.path.join(WORK, "out-usage"), "--strict-manifest")
    checks.expect(rc == 2 and "bad.csv line 1, column Colour" in err,
                  "manifest with an unknown column, --strict-manifest: " + err.strip())


def uids(outroot, name):
    found = {}
    for rel in dcm_files(outroot):
        if rel.startswith(name + "/"):
            ds = pydicom.dcmread(os.path.join(outroot, rel), stop_before_pixels=True)
            found[os.path.basename(rel)] = (ds.StudyInstanceUID, ds.SeriesInstanceUID,
                                            ds.SOPInstanceUID, ds.FrameOfReferenceUID)
    return found


def case_uids():
    d = os.path.join(WORK, "in")
    copy(os.path.join(DATA, "aperio/CMU-1-Small-Region.svs"), os.path.join(d, "a.svs"))
    copy(os.path.join(DATA, "synthetic-openslide/boxes.tiff"), os.path.join(d, "b.tiff"))
    runs = {}
    for run_name in ["one", "two"]:
        out = os.path.join(WORK, run_name)
        rc, _, err = batch(d, "-o", out, "--deterministic-uids", "--mpp", "0.5", "-q")
        checks.expect(rc == 0, "deterministic batch %s: exit %d %s" % (run_name, rc, err.strip()))
        runs[run_name] = {s["key"]: s["name"] for s in json.loads(batch(d, "-o", out, "--list")[1])["slides"]}
    names = runs["one"]
    a1, a2 = uids(os.path.join(WORK, "one"), names["a.svs"]), uids(os.path.join(WORK, "two"), names["a.svs"])
    b1 = uids(os.path.join(WORK, "one"), names["b.tiff"])
    checks.expect(len(a1) >= 5 and a1 == a2, "same slide twice: identical Study/Series/SOP/FoR UIDs (%d files)" % len(a1))
    all_a = {u for v in a1.values() for u in v}
    all_b = {u for v in b1.values() for u in v}
    checks.expect(b1 and not all_a & all_b, "two slides: no UID in common")
    checks.expect(len({v[2] for v in a1.values()}) == len(a1), "one SOP Instance UID per file")
    checks.expect(all(u.startswith("2.25.") and len(u) <= 64 for u in all_a), "2.25 UIDs by default")
    # convert gives the same UIDs as batch; other pixel options: same study, new series.
    single = os.path.join(WORK, "single")
    rc, _, _ = run([BIN, "convert", os.path.join(d, "a.svs"), "-o", single, "-q", "--deterministic-uids", "--mpp", "0.5"])
    s1 = {os.path.basename(k): v for k, v in uids(WORK, "single").items()}
    checks.expect(rc == 0 and s1 == a1, "convert --deterministic-uids = batch --deterministic-uids")
    q80 = os.path.join(WORK, "q80")
    run([BIN, "convert", os.path.join(d, "a.svs"), "-o", q80, "-q", "--deterministic-uids", "--quality", "80"])
    s2 = uids(WORK, "q80")
    checks.expect(s2["level-0.dcm"][0] == a1["level-0.dcm"][0] and s2["level-0.dcm"][3] == a1["level-0.dcm"][3] and
                  s2["level-0.dcm"][1] != a1["level-0.dcm"][1] and s2["level-0.dcm"][2] != a1["level-0.dcm"][2],
                  "--quality 80: same study and frame of reference, new series and instances")
    rnd1, rnd2 = os.path.join(WORK, "rnd1"), os.path.join(WORK, "rnd2")
    copy(os.path.join(DATA, "aperio/small.svs"), os.path.join(WORK, "small.svs"))
    run([BIN, "convert", os.path.join(WORK, "small.svs"), "-o", rnd1, "-q"])
    run([BIN, "convert", os.path.join(WORK, "small.svs"), "-o", rnd2, "-q"])
    checks.expect(uids(WORK, "rnd1")["level-0.dcm"][2] != uids(WORK, "rnd2")["level-0.dcm"][2],
                  "without the option UIDs are random")
    root = "1.2.826.0.1.3680043.10.999"
    rooted = os.path.join(WORK, "rooted")
    rc, _, _ = run([BIN, "convert", os.path.join(WORK, "small.svs"), "-o", rooted, "-q",
                    "--deterministic-uids", "--uid-root", root])
    r = uids(WORK, "rooted")
    checks.expect(rc == 0 and all(u.startswith(root + ".") and len(u) <= 64 for v in r.values() for u in v),
                  "--uid-root: every UID under the root, at most 64 characters")
    checks.expect(not dciodvfy_errors(rooted) and not dciodvfy_errors(os.path.join(WORK, "one")),
                  "derived UIDs pass dciodvfy")
    rc, _, err = run([BIN, "convert", os.path.join(d, "a.svs"), "-o", os.path.join(WORK, "x"),
                      "--deterministic-uids", "--uid-root", "1.02"])
    checks.expect(rc == 2 and "UID root" in err, "a bad root is a usage error: " + err.strip())
    far_edit_changes_uids()


def far_edit_changes_uids():
    """Issue 20, defect 8: the fingerprint once hashed sixteen 1 MiB blocks of a file past
    16 MiB, so two slides differing elsewhere (pixels included) shared every UID. Here an
    uncompressed 2560 x 2560 tiled TIFF (19.7 MB, read by OpenSlide) and a copy with 64
    pixel bytes inverted halfway between two of those blocks."""
    import numpy as np
    import tifffile
    side, block, count = 2560, 1 << 20, 16
    y, x = np.mgrid[0:side, 0:side]
    img = np.stack([x * 255 // side, y * 255 // side, (x ^ y) & 255], -1).astype(np.uint8)
    one, two = os.path.join(WORK, "far-one.tif"), os.path.join(WORK, "far-two.tif")
    tifffile.imwrite(one, img, tile=(256, 256), photometric="rgb", compression=None)
    data = bytearray(open(one, "rb").read())
    step = (len(data) - block) // (count - 1)
    at = 4 * step + block + (step - block) // 2      # between blocks 4 and 5
    checks.expect(len(data) > block * count and step - block > 65536,
                  "the test slide is past 16 MiB with gaps between the old samples")
    data[at:at + 64] = bytes(255 - b for b in data[at:at + 64])
    open(two, "wb").write(data)
    found = []
    for slide in (one, two):
        out = os.path.join(WORK, os.path.basename(slide)[:-4])
        rc, _, err = run([BIN, "convert", slide, "-o", out, "-q", "--deterministic-uids",
                          "--mpp", "0.5", "--levels", "1"])
        checks.expect(rc == 0, "convert %s: exit %d %s" % (os.path.basename(slide), rc, err.strip()))
        ds = pydicom.dcmread(os.path.join(out, "level-0.dcm"))
        found.append((ds.SOPInstanceUID, ds.StudyInstanceUID, ds.PixelData))
    (sop1, study1, px1), (sop2, study2, px2) = found
    checks.expect(px1 != px2, "the 64 bytes reach level 0's pixels")
    checks.expect(sop1 != sop2 and study1 != study2,
                  "64 bytes changed far from the old samples: new Study and SOP Instance UIDs")


def case_snakemake():
    make_folder()
    lists = os.path.join(WORK, "lists")
    os.makedirs(lists)
    manifest = os.path.join(lists, "manifest.csv")
    with open(manifest, "w") as f:
        f.write("path,PatientID\n")
        for i, g in enumerate(GOOD + ["in/broken (1).svs"]):
            f.write('"../%s",P-%d\n' % (g, i))
    out_batch = os.path.join(WORK, "out-batch")
    rc, _, err = batch(manifest, "-o", out_batch, "--deterministic-uids", "-j", "2", "-q")
    checks.expect(rc == 1, "batch over the manifest: exit 1 (one broken row)")
    out_snake = os.path.join(WORK, "out-snake")
    rc, out, err = run(["snakemake", "--snakefile", os.path.join(REPO, "workflow", "Snakefile"),
                        "--cores", "2", "--keep-going", "--directory", WORK, "--quiet",
                        "--config", "manifest=" + manifest, "outroot=" + out_snake, "slide2dcm=" + BIN,
                        "convert_options=--deterministic-uids", "threads=1"])
    # As batch does, the workflow goes on past the broken slide and fails at the end.
    checks.expect(rc == 1 and "not a slide format" in (out + err),
                  "snakemake --cores 2 --keep-going: exit 1 naming the broken slide (%d)" % rc)
    files_b, files_s = dcm_files(out_batch), dcm_files(out_snake)
    checks.expect(files_b and files_b == files_s, "same set of outputs: %d files" % len(files_b))
    same = all(uids(out_batch, n.split("/")[0]) == uids(out_snake, n.split("/")[0]) for n in files_b)
    checks.expect(same, "same UIDs in both (deterministic)")
    ds = [pydicom.dcmread(os.path.join(out_snake, r), stop_before_pixels=True) for r in files_s]
    checks.expect(sorted({d.PatientID for d in ds}) == ["P-0", "P-1", "P-2", "P-3"], "manifest metadata applied by the workflow")
    checks.expect(not dciodvfy_errors(out_snake), "workflow outputs pass dciodvfy")
    # The folders that go to the archive hold only the conversion's files (Snakemake's
    # timestamp of a directory output used to be written into each).
    extra = [os.path.join(n, f) for n in os.listdir(out_snake) if not n.startswith(".")
             for f in os.listdir(os.path.join(out_snake, n)) if not f.endswith(".dcm")]
    checks.expect(not extra, "nothing but .dcm files in the output folders %s" % extra[:3])
    # Without slide2dcm on PATH the workflow says so, instead of a Python traceback.
    rc, out, err = run(["snakemake", "--snakefile", os.path.join(REPO, "workflow", "Snakefile"),
                        "--cores", "1", "--directory", WORK, "--quiet", "--config",
                        "manifest=" + manifest, "outroot=" + out_snake,
                        "slide2dcm=" + os.path.join(WORK, "no-such-slide2dcm")])
    checks.expect(rc != 0 and "slide2dcm not found" in (out + err) and "FileNotFoundError" not in (out + err),
                  "a missing slide2dcm is named with the fix (exit %d)" % rc)


def case_snakemake_doc():
    """docs/batch.md's local Snakemake command, run as the page shows it from the repository
    (slide2dcm found in build/release, not on PATH), with /data a scratch folder."""
    make_folder()
    text = open(os.path.join(REPO, "docs", "batch.md")).read()
    start = text.index("```sh\n", text.index("Locally ("))
    block = text[start + 6:text.index("```", start + 6)]
    data = os.path.join(WORK, "data")
    os.makedirs(data)
    with open(os.path.join(data, "manifest.csv"), "w") as f:
        f.write("path,PatientID\n")
        for i, g in enumerate(GOOD):
            f.write('"../%s",D-%d\n' % (g, i))
    env = dict(os.environ, PATH=os.pathsep.join(
        p for p in os.environ.get("PATH", "").split(os.pathsep)
        if not os.path.exists(os.path.join(p, "slide2dcm"))))
    p = subprocess.run(["bash", "-euc", block.replace("/data/", data + "/")], cwd=REPO, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    checks.expect(p.returncode == 0, "the documented command: exit %d %s" % (p.returncode, p.stdout[-600:]))
    outroot = os.path.join(data, "dicom")
    names = sorted(n for n in os.listdir(outroot) if not n.startswith(".")) if os.path.isdir(outroot) else []
    checks.expect(len(names) == len(GOOD) and all(dcm_files(outroot)), "one output folder per row: %s" % names)
    checks.expect(os.path.isdir(os.path.join(data, "work", ".snakemake")),
                  "Snakemake's state went to --directory, not the repository")


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
{"folder": case_folder, "crash": case_crash, "manifest": case_manifest, "uids": case_uids,
 "signals": case_signals, "snakemake": case_snakemake,
 "snakemake_doc": case_snakemake_doc}[CASE]()
sys.exit(checks.result())
