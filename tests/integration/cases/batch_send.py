#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""slide2dcm batch --send-stow / --send-cstore against a real Orthanc started here on
127.0.0.1 (tests/integration/lib/pacs.py), over copies of real slides.

0. A bad destination: usage error (exit 2) before anything is converted.
1. The archive is down: every slide converts, every send fails; exit 4, the journal records
   "send-failed" with the reason and the counts, the report and the summary say so.
2. One output folder deleted, the archive up: that slide converts again, the other two are
   only sent (their files untouched: size, mtime, inode); exit 0; Orthanc holds exactly the
   SOP Instance UIDs of the output files; the journal records "sent" with the counts.
3. Again: nothing converted, nothing sent, nothing journaled; exit 0.
4. Another destination (C-STORE to the same Orthanc): sent again without converting.
5. A send interrupted by SIGTERM (a hung archive): exit 130, the conversion kept, the journal
   says "send-failed: interrupted"; the next run sends it without converting. The same after
   the batch is killed (SIGKILL) while sending.
6. The Snakemake workflow with send_options: every converted file stored in Orthanc.

usage: batch_send.py SLIDE2DCM TESTDATA WORKDIR REPO
Prints "ok ..." or "FAIL ..." lines (lib/checks.py); exit status 0 only without failures."""
import json
import os
import shutil
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import Checks  # noqa: E402
from pacs import BlackHole, Orthanc  # noqa: E402

import pydicom  # noqa: E402

BIN, DATA, WORK, REPO = (os.path.abspath(a) for a in sys.argv[1:5])
checks = Checks()


def batch(*args):
    p = subprocess.run([BIN, "batch", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    print("$ slide2dcm batch %s -> %d\n%s" % (" ".join(args), p.returncode, p.stderr), flush=True)
    return p.returncode, p.stderr


def copy(src, dst):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copyfile(src, dst)


def report(outroot):
    with open(os.path.join(outroot, "batch-report.json")) as f:
        rep = json.load(f)
    return rep, {os.path.relpath(s["source"], WORK): s for s in rep["slides"]}


def journal(outroot):
    with open(os.path.join(outroot, "batch-journal.jsonl")) as f:
        return [json.loads(line) for line in f]


def last_records(outroot):
    return {r["name"]: r for r in journal(outroot)}


def dcm_files(outroot, name=None):
    found = []
    for d in sorted(os.listdir(outroot)):
        folder = os.path.join(outroot, d)
        if os.path.isdir(folder) and not d.startswith(".") and (name is None or d == name):
            found += [os.path.join(folder, f) for f in sorted(os.listdir(folder)) if f.endswith(".dcm")]
    return found


def snapshot(outroot, names):
    """Size, mtime and inode of every output file of these slides: a rewrite changes them."""
    snap = {}
    for name in names:
        for path in dcm_files(outroot, name):
            st = os.stat(path)
            snap[path] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return snap


def sop_uids(paths):
    return {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in paths}


def stored_uids(orthanc):
    return set(orthanc.instances())


def bad_destination(src, out):
    """A bad destination is a usage error before anything is converted."""
    rc, err = batch(src, "-o", out, "--send-cstore", "no-port")
    checks.expect(rc == 2 and "HOST:PORT" in err and not os.path.exists(out),
                  "bad --send-cstore: exit 2, nothing written")


def archive_down(src, out, stow, quick):
    """Every slide converts, every send fails: exit 4, and the report, summary and journal
    say why. Returns {source relative to WORK: output name}."""
    rc, err = batch(src, "-o", out, "--jobs", "2", "--send-stow", stow, *quick)
    rep, slides = report(out)
    checks.expect(rc == 4, "archive down: exit 4 (got %d)" % rc)
    checks.expect(len(slides) == 3 and all(s["outcome"] == "converted" for s in slides.values()),
                  "archive down: every slide converted %s" % {k: s["outcome"] for k, s in slides.items()})
    checks.expect(all(s["send"]["outcome"] == "failed" and s["send"]["stored"] == 0 and
                      "cannot reach the server" in (s["send"]["error"] or "") for s in slides.values()),
                  "archive down: report says not stored, with the reason: %s" % slides["in/a.svs"]["send"])
    checks.expect(rep["counts"]["send_failed"] == 3 and rep["counts"]["sent"] == 0, "report counts %s" % rep["counts"])
    checks.expect("3 not stored" in err and "not stored: %s" % os.path.join(src, "a.svs") in err,
                  "summary names the slides not stored")
    last = last_records(out)
    names = {os.path.relpath(s["source"], WORK): s["name"] for s in rep["slides"]}
    checks.expect(all(last[n]["event"] == "send-failed" and "cannot reach the server" in last[n]["error"] and
                      last[n]["send"]["destination"] == stow and last[n]["send"]["stored"] == 0 and
                      last[n]["send"]["failed"] + last[n]["send"]["not_attempted"] == len(dcm_files(out, n))
                      for n in names.values()),
                  "journal: send-failed with the reason and counts: %s" %
                  {k: last[n].get("send") for k, n in names.items()})
    events = [r["event"] for r in journal(out)]
    checks.expect(events.count("done") == 3 and events.count("send-failed") == 3,
                  "journal: each slide done (converted), then send-failed")
    checks.expect(not os.path.exists(os.path.join(out, ".staging")), "no staging folder left")
    return names


def archive_up(orthanc, src, out, stow, quick, names):
    """One output folder deleted, the archive up: that slide converts again, the intact
    conversions are only sent. Returns the output files."""
    kept = [names["in/a.svs"], names["in/b slide.svs"]]
    before = snapshot(out, kept)
    shutil.rmtree(os.path.join(out, names["in/sub/c.svs"]))
    rc, err = batch(src, "-o", out, "--jobs", "2", "--send-stow", stow, *quick)
    rep, slides = report(out)
    oc = {k: s["outcome"] for k, s in slides.items()}
    checks.expect(rc == 0, "archive up: exit 0 (got %d)" % rc)
    checks.expect(oc == {"in/a.svs": "already converted", "in/b slide.svs": "already converted",
                         "in/sub/c.svs": "converted"}, "resume: sent without converting again %s" % oc)
    checks.expect(snapshot(out, kept) == before, "resume: the sent slides' files untouched")
    files = dcm_files(out)
    checks.expect(stored_uids(orthanc) == sop_uids(files) and len(files) >= 10,
                  "Orthanc holds every instance: %d files" % len(files))
    checks.expect(len(orthanc.get_json("/instances")) == len(files), "no more instances than files")
    last = last_records(out)
    checks.expect(all(last[n]["event"] == "sent" and last[n]["send"]["stored"] == len(dcm_files(out, n)) and
                      last[n]["send"]["failed"] == 0 and "error" not in last[n] for n in names.values()),
                  "journal: sent with counts %s" % {k: last[n].get("send") for k, n in names.items()})
    checks.expect(all(s["send"]["outcome"] == "sent" for s in slides.values()) and
                  rep["counts"]["sent"] == 3 and rep["counts"]["already_converted"] == 2,
                  "report: sent %s" % rep["counts"])
    checks.expect(all(last[n]["files"] and last[n]["fingerprint"] for n in names.values()),
                  "the sent records keep the conversion's files and fingerprint")
    return files


def already_sent(orthanc, src, out, stow, names, files):
    """Converted and sent: skipped, nothing journaled or rewritten. Returns the snapshot of
    every output file."""
    lines = len(journal(out))
    before_all = snapshot(out, names.values())
    rc, err = batch(src, "-o", out, "--send-stow", stow)
    rep, slides = report(out)
    checks.expect(rc == 0 and all(s["outcome"] == "already done" and s["send"]["outcome"] == "already sent"
                          for s in slides.values()), "third run: everything skipped")
    checks.expect(len(journal(out)) == lines and snapshot(out, names.values()) == before_all,
                  "third run: nothing journaled, nothing rewritten")
    checks.expect("0 sent, 3 already sent" in err, "summary: 3 already sent")
    checks.expect(len(orthanc.get_json("/instances")) == len(files), "third run: nothing new in Orthanc")
    return before_all


def another_archive(orthanc, src, out, quick, names, files, before_all):
    """Another destination (C-STORE to the same Orthanc): sent there, not converted again."""
    rc, err = batch(src, "-o", out, "--send-cstore", "127.0.0.1:%d" % orthanc.dicom_port,
                    "--aec", "ORTHANC", *quick)
    rep, slides = report(out)
    checks.expect(rc == 0 and all(s["outcome"] == "already converted" and s["send"]["outcome"] == "sent"
                          for s in slides.values()), "C-STORE destination: sent, not converted")
    checks.expect(snapshot(out, names.values()) == before_all, "C-STORE: files untouched")
    checks.expect(all(r["send"]["destination"] == "ORTHANC@127.0.0.1:%d" % orthanc.dicom_port
                      for r in last_records(out).values()), "journal names the C-STORE peer")
    checks.expect(len(orthanc.get_json("/instances")) == len(files), "resending stores nothing twice")


def interrupted_send(orthanc, stow):
    """A send interrupted (SIGTERM while the archive hangs): the conversion stays, and the
    next run sends it without converting."""
    src2, out2 = os.path.join(WORK, "in2"), os.path.join(WORK, "out2")
    copy(os.path.join(DATA, "aperio/small.svs"), os.path.join(src2, "d.svs"))
    hole = BlackHole()
    p = subprocess.Popen([BIN, "batch", src2, "-o", out2, "--send-stow",
                          "http://127.0.0.1:%d/dicom-web/studies" % hole.port, "--timeout", "60"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while not hole.accepted.wait(0.1) and p.poll() is None:
        pass
    p.send_signal(signal.SIGTERM)
    err = p.communicate()[1]
    hole.close()
    rep, slides = report(out2)
    (d,) = slides.values()
    checks.expect(p.returncode == 130, "SIGTERM while sending: exit %d" % p.returncode)
    checks.expect(d["outcome"] == "converted" and d["send"]["outcome"] == "interrupted",
                  "interrupted send reported: %s %s" % (d["outcome"], d["send"]))
    rec = last_records(out2)[d["name"]]
    checks.expect(rec["event"] == "send-failed" and rec["error"] == "interrupted",
                  "journal: send-failed, interrupted")
    kept2 = snapshot(out2, [d["name"]])
    rc, err = batch(src2, "-o", out2, "--send-stow", stow)
    _, slides = report(out2)
    (d,) = slides.values()
    checks.expect(rc == 0 and d["outcome"] == "already converted" and d["send"]["outcome"] == "sent" and
                  snapshot(out2, [d["name"]]) == kept2, "after the interruption: sent without converting")
    checks.expect(sop_uids(dcm_files(out2)) <= stored_uids(orthanc), "the interrupted slide is stored now")


def killed_while_sending(orthanc, stow):
    """The batch killed (SIGKILL, test hook) just after starting a send: its sender dies with
    it; the next run sends without converting."""
    src3, out4 = os.path.join(WORK, "in3"), os.path.join(WORK, "out3")
    copy(os.path.join(DATA, "aperio/small.svs"), os.path.join(src3, "e.svs"))
    p = subprocess.run([BIN, "batch", src3, "-o", out4, "-q", "--send-stow", stow],
                       env=dict(os.environ, S2D_BATCH_CRASH_AT="sending:1"))
    (rec,) = last_records(out4).values()
    checks.expect(p.returncode == -signal.SIGKILL and rec["event"] == "done",
                  "killed while sending: exit %d, last record %s" % (p.returncode, rec["event"]))
    kept4 = snapshot(out4, [rec["name"]])
    rc, err = batch(src3, "-o", out4, "--send-stow", stow)
    _, slides = report(out4)
    (e,) = slides.values()
    checks.expect(rc == 0 and e["outcome"] == "already converted" and e["send"]["outcome"] == "sent" and
                  snapshot(out4, [rec["name"]]) == kept4 and sop_uids(dcm_files(out4)) <= stored_uids(orthanc),
                  "after the kill: sent without converting")
    checks.expect(not os.path.exists(os.path.join(out4, ".staging")), "the killed run's staging is gone")


def snakemake_send(orthanc, src, stow, files):
    """The Snakemake workflow's send_options (convert --send-stow per slide): every converted
    file stored."""
    out3 = os.path.join(WORK, "out-snake")
    before_ids = stored_uids(orthanc)
    p = subprocess.run(["snakemake", "--snakefile", os.path.join(REPO, "workflow", "Snakefile"),
                        "--cores", "2", "--directory", WORK, "--quiet", "--config",
                        "manifest=" + src, "outroot=" + out3, "slide2dcm=" + BIN, "threads=1",
                        "send_options=--send-stow " + stow],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    files3 = dcm_files(out3)
    new = stored_uids(orthanc) - before_ids
    checks.expect(p.returncode == 0 and len(files3) == len(files) and new == sop_uids(files3),
                  "snakemake send_options: every converted file stored (%d files, %d new in Orthanc)%s" %
                  (len(files3), len(new), "" if p.returncode == 0 else "\n" + p.stdout[-2000:]))


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    src = os.path.join(WORK, "in")
    copy(os.path.join(DATA, "aperio/CMU-1-Small-Region.svs"), os.path.join(src, "a.svs"))
    copy(os.path.join(DATA, "aperio/small.svs"), os.path.join(src, "b slide.svs"))
    copy(os.path.join(DATA, "aperio/small.svs"), os.path.join(src, "sub/c.svs"))
    out = os.path.join(WORK, "out")
    orthanc = Orthanc(WORK)   # its ports are fixed now; started below
    stow = orthanc.url + "/dicom-web/studies"
    quick = ["--retries", "1", "--retry-wait", "0.1"]
    bad_destination(src, out)
    names = archive_down(src, out, stow, quick)
    with orthanc:
        files = archive_up(orthanc, src, out, stow, quick, names)
        before_all = already_sent(orthanc, src, out, stow, names, files)
        another_archive(orthanc, src, out, quick, names, files, before_all)
        interrupted_send(orthanc, stow)
        killed_while_sending(orthanc, stow)
        snakemake_send(orthanc, src, stow, files)


main()
sys.exit(checks.result())
