# SPDX-License-Identifier: Apache-2.0
"""Sends a converted slide to real archives and reads it back.

- STOW-RS to Orthanc: every instance stored, the stored file byte-identical (SHA-256);
  sending again is harmless (same instances, nothing new).
- C-STORE to Orthanc and to dcmtk's storescp: every instance stored, every attribute with
  the value sent and the pixel data (every frame) byte-identical. Not the whole file: over
  DIMSE the receiver writes its own file meta group and re-encodes the dataset (DCMTK trims
  padding spaces, for one).
- convert --send-stow: one command converts and sends; its JSON report lists every instance.
- convert --max-instance-size --send-stow: every part of the split levels stored
  byte-identical.

usage: send_and_read_back.py SLIDE2DCM SLIDE WORKDIR"""
import glob
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from pacs import Orthanc, StoreSCP, free_port, sha256  # noqa: E402

import pydicom  # noqa: E402


def same_instance(sent_path, stored):
    """Every attribute of the sent file present with an equal value in the stored one,
    Pixel Data byte for byte. stored: bytes or a path."""
    import io
    a = pydicom.dcmread(sent_path)
    b = pydicom.dcmread(io.BytesIO(stored) if isinstance(stored, bytes) else stored)
    for elem in a:
        assert elem.tag in b, f"{sent_path}: {elem.tag} missing after C-STORE"
        if elem.tag == 0x7FE00010:
            assert sha256(elem.value) == sha256(b[elem.tag].value), f"{sent_path}: frames differ"
        else:
            assert elem.value == b[elem.tag].value, f"{sent_path}: {elem} != {b[elem.tag]}"


def uid_of(path):
    return str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)


def run(*args, expect=0):
    r = subprocess.run(list(args), capture_output=True, text=True)
    print("$", " ".join(args), f"-> {r.returncode}\n{r.stderr}", flush=True)
    assert r.returncode == expect, f"exit {r.returncode}, expected {expect}"
    return r


def check_report(path, files, attempts=1):
    report = json.load(open(path))
    instances = {e["path"]: e for e in report["instances"]}
    assert report["ok"] is True, report
    assert sorted(instances) == sorted(files), (sorted(instances), sorted(files))
    for f in files:
        e = instances[f]
        assert e["status"] == "stored", e
        assert e["sop_instance_uid"] == uid_of(f), e
        assert e["bytes"] == os.path.getsize(f), e
        assert e["attempts"] == attempts, e


def stow_byte_identical(slide2dcm, work, out, files, uids, orthanc, stow):
    """STOW-RS: every instance stored byte-identical; resending is harmless (the same
    instances, still byte-identical, nothing added)."""
    run(slide2dcm, "send", out, "--stow", stow, "--json-report", f"{work}/stow.json")
    check_report(f"{work}/stow.json", files)
    stored = orthanc.instances()
    assert sorted(stored) == sorted(uids), (sorted(stored), sorted(uids))
    for uid, oid in stored.items():
        assert sha256(orthanc.get(f"/instances/{oid}/file")) == sha256(uids[uid]), uids[uid]
    # Resending is harmless: the same instances, still byte-identical, nothing added.
    run(slide2dcm, "send", *files, "--stow", stow, "-q")
    again = orthanc.instances()
    assert again == stored, "resending changed what Orthanc holds"
    for uid, oid in again.items():
        assert sha256(orthanc.get(f"/instances/{oid}/file")) == sha256(uids[uid]), uids[uid]
    print(f"STOW-RS: {len(stored)} instances stored byte-identical, resend harmless")


def cstore_to_orthanc(slide2dcm, work, out, files, uids, orthanc):
    """C-STORE to Orthanc: the dataset as sent, every attribute and frame."""
    orthanc.clear()
    assert orthanc.instances() == {}
    run(slide2dcm, "send", out, "--cstore", f"127.0.0.1:{orthanc.dicom_port}",
        "--aec", "ORTHANC", "--json-report", f"{work}/cstore.json")
    check_report(f"{work}/cstore.json", files)
    stored = orthanc.instances()
    assert sorted(stored) == sorted(uids)
    for uid, oid in stored.items():
        same_instance(uids[uid], orthanc.get(f"/instances/{oid}/file"))
    print(f"C-STORE to Orthanc: {len(stored)} instances, attributes and frames identical")


def convert_and_send_stow(slide2dcm, slide, work, orthanc, stow):
    """convert --send-stow: one command; the report has the conversion and the sending."""
    orthanc.clear()
    out2 = f"{work}/converted-and-sent"
    run(slide2dcm, "convert", slide, "-o", out2, "-q", "--send-stow", stow,
        "--json-report", f"{work}/convert.json")
    report = json.load(open(f"{work}/convert.json"))
    sent = report["sent"]
    files2 = sorted(glob.glob(f"{out2}/*.dcm"))
    assert sent["ok"] is True and len(sent["instances"]) == len(files2), sent
    assert all(e["status"] == "stored" for e in sent["instances"]), sent
    stored = orthanc.instances()
    assert sorted(stored) == sorted(uid_of(f) for f in files2)
    print(f"convert --send-stow: {len(stored)} instances converted and stored")


def parts_sent(slide2dcm, slide, work, orthanc, stow):
    """A level split by --max-instance-size: every part stored, byte-identical."""
    orthanc.clear()
    out_parts = f"{work}/converted-in-parts"
    run(slide2dcm, "convert", slide, "-o", out_parts, "-q", "--max-instance-size", "400K",
        "--send-stow", stow, "--json-report", f"{work}/parts.json")
    files_parts = sorted(glob.glob(f"{out_parts}/*.dcm"))
    parts = [f for f in files_parts if "-part-" in f]
    assert len(parts) >= 3, files_parts
    sent = json.load(open(f"{work}/parts.json"))["sent"]
    assert sent["ok"] is True and len(sent["instances"]) == len(files_parts), sent
    by_uid = {uid_of(f): f for f in files_parts}
    stored = orthanc.instances()
    assert sorted(stored) == sorted(by_uid), (sorted(stored), sorted(by_uid))
    for uid, oid in stored.items():
        assert sha256(orthanc.get(f"/instances/{oid}/file")) == sha256(by_uid[uid]), by_uid[uid]
    print(f"--max-instance-size: {len(parts)} parts among {len(stored)} instances stored")


def storescp_peer(slide2dcm, slide, work, out, files, uids):
    """dcmtk's storescp, an independent C-STORE peer: send, then convert --send-cstore."""
    with StoreSCP(work) as scp:
        run(slide2dcm, "send", out, "--cstore", f"127.0.0.1:{scp.port}", "--aec", scp.aet,
            "--aet", "S2DTEST", "-q", "--json-report", f"{work}/storescp.json")
        check_report(f"{work}/storescp.json", files)
        received = sorted(glob.glob(f"{scp.dir}/*"))
        assert len(received) == len(files), received
        for path in received:
            same_instance(uids[uid_of(path)], path)
            os.unlink(path)
        print(f"C-STORE to storescp: {len(received)} instances, attributes and frames identical")
        out3 = f"{work}/converted-and-stored"
        run(slide2dcm, "convert", slide, "-o", out3, "-q", "--send-cstore",
            f"127.0.0.1:{scp.port}", "--aec", scp.aet)
        files3 = sorted(glob.glob(f"{out3}/*.dcm"))
        received = sorted(glob.glob(f"{scp.dir}/*"))
        assert sorted(uid_of(p) for p in received) == sorted(uid_of(f) for f in files3)
        print(f"convert --send-cstore: {len(received)} instances converted and stored")


def converted_not_delivered(slide2dcm, slide, work):
    """Converted but not delivered: exit 4, the conversion is kept, the report says so."""
    out4 = f"{work}/converted-not-sent"
    run(slide2dcm, "convert", slide, "-o", out4, "-q", "--send-stow",
        f"http://127.0.0.1:{free_port()}/dicom-web/studies", "--retries", "0",
        "--json-report", f"{work}/not-sent.json", expect=4)
    report = json.load(open(f"{work}/not-sent.json"))
    assert report["ok"] is True and report["sent"]["ok"] is False, report
    assert len(glob.glob(f"{out4}/*.dcm")) == len(report["files"])


def main(slide2dcm, slide, work):
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    out = f"{work}/converted"
    run(slide2dcm, "convert", slide, "-o", out, "-q")
    files = sorted(glob.glob(f"{out}/*.dcm"))
    assert len(files) >= 4, files
    uids = {uid_of(f): f for f in files}
    with Orthanc(work) as orthanc:
        stow = f"{orthanc.url}/dicom-web/studies"
        stow_byte_identical(slide2dcm, work, out, files, uids, orthanc, stow)
        cstore_to_orthanc(slide2dcm, work, out, files, uids, orthanc)
        convert_and_send_stow(slide2dcm, slide, work, orthanc, stow)
        parts_sent(slide2dcm, slide, work, orthanc, stow)
    storescp_peer(slide2dcm, slide, work, out, files, uids)
    converted_not_delivered(slide2dcm, slide, work)
    shutil.rmtree(work)


if __name__ == "__main__":
    main(*sys.argv[1:])
