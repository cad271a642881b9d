#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""STOW-RS answers that do not confirm the instance (issue 20 item 4), against small fake
archives on 127.0.0.1: a 200 whose body is HTML, empty, lists another instance or another
SOP class is "not confirmed": exit 4 (even with -q the line is printed), the report says
failed, nothing is retried, and a batch does not journal the slide as sent (the next run
sends it again). A confirmation whose UIDs carry NUL / space padding, or that names a UID
longer than 64 characters (a file of another writer, issue 18 item 8), is stored.

usage: send_unconfirmed.py SLIDE2DCM SYNTHETIC_SVS WORKDIR"""
import json
import os
import shutil
import subprocess
import sys
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import Checks  # noqa: E402
from pacs import FakeStow, answer, posted_uids, read_body, store_response  # noqa: E402

import pydicom  # noqa: E402

BIN, SVS, WORK = (os.path.abspath(a) for a in sys.argv[1:4])
checks = Checks()
NOT_CONFIRMED = "not confirmed by the archive (no Referenced SOP Sequence for the instance)"


def answer_for(mode, sop_class, sop_instance):
    """(status, content type, body) of the fake archive in this mode."""
    if mode == "html":
        return 200, "text/html", b"<html><body><h1>Welcome to nginx!</h1></body></html>"
    if mode == "empty":
        return 200, "application/dicom+json", b""
    if mode == "other-instance":
        return 200, "application/dicom+json", store_response([(sop_class, "1.2.3.4.5")])
    if mode == "other-class":
        return 200, "application/dicom+json", store_response([("1.2.840.10008.5.1.4.1.1.7",
                                                               sop_instance)])
    if mode == "empty-sequence":
        return 200, "application/dicom+json", json.dumps({"00081199": {"vr": "SQ"}}).encode()
    if mode == "padded":
        return 200, "application/dicom+json", store_response([(sop_class + "\0",
                                                               sop_instance + " ")])
    if mode == "warning":
        body = json.loads(store_response([(sop_class, sop_instance)]))
        body["00081199"]["Value"][0]["00081196"] = {"vr": "US", "Value": [0xB000]}
        return 202, "application/dicom+json", json.dumps(body).encode()
    return 200, "application/dicom+json", store_response([(sop_class, sop_instance)])


class FakeArchive(FakeStow):
    """A STOW-RS studies resource answering every POST as `mode` says (settable)."""

    def __init__(self, mode):
        self.mode = mode

        def on_post(request, posts):
            body = read_body(request)
            status, ctype, out = answer_for(self.mode,
                                            *posted_uids(body, request.headers["Content-Type"]))
            answer(request, status, out, ctype)

        super().__init__(on_post)


def run(*args):
    p = subprocess.run([BIN, *args], capture_output=True, text=True)
    print("$ slide2dcm %s -> %d\n%s" % (" ".join(args), p.returncode, p.stderr), flush=True)
    return p.returncode, p.stderr


def send(path, archive, *extra):
    report = f"{WORK}/report.json"
    if os.path.exists(report):
        os.unlink(report)
    rc, err = run("send", path, "--stow", archive.url, "--retries", "1", "--retry-wait", "0.1",
                  "--json-report", report, *extra)
    with open(report) as f:
        return rc, err, json.load(f)["instances"][0]


def single_file_answers(label):
    for mode in ("html", "empty", "other-instance", "other-class", "empty-sequence"):
        archive = FakeArchive(mode)
        rc, err, o = send(label, archive, "-q")
        checks.expect(rc == 4 and NOT_CONFIRMED in err and f"{label}: not stored" in err,
                      f"{mode}: exit 4, one line saying not confirmed, even with -q")
        checks.expect(o["status"] == "failed" and o["attempts"] == 1 and archive.posts == 1,
                      f"{mode}: failed in the report, not retried ({o})")
        archive.close()
    for mode, status in (("confirm", "stored"), ("padded", "stored"),
                         ("warning", "stored-with-warning")):
        archive = FakeArchive(mode)
        rc, err, o = send(label, archive)
        checks.expect(rc == 0 and o["status"] == status, f"{mode}: {status} ({o})")
        archive.close()


def long_uid(label):
    """A file whose SOP Instance UID has 70 characters: the archive's confirmation of the
    full UID is recognised."""
    ds = pydicom.dcmread(label)
    warnings.simplefilter("ignore", UserWarning)   # pydicom's: longer than 64 characters
    uid = "1.2.826.0.1.3680043.10.999." + "1234567890" * 4 + "123"
    assert len(uid) == 70
    ds.SOPInstanceUID = uid
    ds.file_meta.MediaStorageSOPInstanceUID = uid
    path = f"{WORK}/long-uid.dcm"
    ds.save_as(path, write_like_original=False)
    archive = FakeArchive("confirm")
    rc, err, o = send(path, archive)
    checks.expect(rc == 0 and o["status"] == "stored" and o["sop_instance_uid"] == uid,
                  f"a 70-character UID is stored and reported in full ({o})")
    archive.close()


def batch_not_journaled():
    """batch: a slide whose files were not confirmed is not journaled as sent; the next run
    (the archive now confirming) sends it again without converting."""
    src = f"{WORK}/slides"
    os.makedirs(src)
    shutil.copyfile(SVS, f"{src}/synthetic.svs")
    out = f"{WORK}/batch-out"
    archive = FakeArchive("html")
    rc, err = run("batch", src, "-o", out, "-q", "--send-stow", archive.url, "--retries", "0")
    with open(f"{out}/batch-journal.jsonl") as f:
        events = [json.loads(line)["event"] for line in f]
    checks.expect(rc == 4 and "sent" not in events and "send-failed" in events,
                  f"batch: exit 4, journal without 'sent' ({events})")
    archive.mode = "confirm"
    posts = archive.posts
    rc, err = run("batch", src, "-o", out, "-q", "--send-stow", archive.url)
    with open(f"{out}/batch-journal.jsonl") as f:
        last = [json.loads(line) for line in f][-1]
    checks.expect(rc == 0 and archive.posts > posts and last["event"] == "sent",
                  f"batch: the next run sends the slide again ({last['event']})")
    archive.close()


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    rc, _ = run("convert", SVS, "-o", f"{WORK}/converted", "-q")
    assert rc == 0
    label = f"{WORK}/converted/label.dcm"
    single_file_answers(label)
    long_uid(label)
    batch_not_journaled()
    sys.exit(checks.result())


if __name__ == "__main__":
    main()
