#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""`send --cstore` against a scripted peer on 127.0.0.1 that answers with crafted PDUs
(issue 20, defects 2, 3 and 17); the ASan+UBSan run turns an over-read into a failure.

usage: cstore_peer.py SLIDE2DCM WORKDIR

 - well-formed answers, Status 0x0000: stored, exit 0 (the peer itself is sound);
 - an A-ASSOCIATE-AC whose last item is a Maximum Length sub-item header without its 4
   value bytes: refused as malformed (exit 4, one attempt), nothing read past the PDU;
 - a C-STORE-RSP without Status (0000,0900): not stored (exit 4), the outcome says why;
 - a C-STORE-RSP whose command is empty (a PDV of no bytes): not stored (exit 4), no
   undefined behaviour on the empty buffer."""
import json
import os
import struct
import subprocess
import sys

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from pacs import LoopbackServer  # noqa: E402

SOP_CLASS = "1.2.840.10008.5.1.4.1.1.77.1.6"   # VL Whole Slide Microscopy Image


def recv_exactly(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def read_pdu(conn):
    head = recv_exactly(conn, 6)
    return head[0], recv_exactly(conn, struct.unpack(">I", head[2:])[0])


def pdu(kind, body):
    return struct.pack(">BBI", kind, 0, len(body)) + body


def item(kind, body):
    return struct.pack(">BBH", kind, 0, len(body)) + body


def contexts(rq):
    """(id, transfer syntax) of each presentation context of an A-ASSOCIATE-RQ."""
    found, i = [], 68
    while i + 4 <= len(rq):
        kind, length = rq[i], struct.unpack(">H", rq[i + 2:i + 4])[0]
        if kind == 0x20:
            pc, j, syntax = rq[i + 4:i + 4 + length], 4, None
            while j + 4 <= len(pc):
                sub, sublen = pc[j], struct.unpack(">H", pc[j + 2:j + 4])[0]
                if sub == 0x40:
                    syntax = pc[j + 4:j + 4 + sublen]
                j += 4 + sublen
            found.append((pc[0], syntax))
        i += 4 + length
    return found


def associate_ac(rq, user_info):
    fixed = rq[:68]   # protocol version, reserved, AE titles, reserved: echoed
    items = item(0x10, b"1.2.840.10008.3.1.1.1")
    for cid, syntax in contexts(rq):
        items += item(0x21, bytes([cid, 0, 0, 0]) + item(0x40, syntax))
    return pdu(0x02, fixed + items + item(0x50, user_info))


def element(elem, value):
    return struct.pack("<HHI", 0, elem, len(value)) + value


def uid_value(uid):
    raw = uid.encode()
    return raw + b"\0" * (len(raw) % 2)


def store_rsp(message_id, instance, with_status):
    body = element(0x0002, uid_value(SOP_CLASS)) + element(0x0100, struct.pack("<H", 0x8001)) \
        + element(0x0120, struct.pack("<H", message_id)) \
        + element(0x0800, struct.pack("<H", 0x0101))
    if with_status:
        body += element(0x0900, struct.pack("<H", 0))
    body += element(0x1000, uid_value(instance))
    return element(0x0000, struct.pack("<I", len(body))) + body


def pdv(cid, header, data):
    return struct.pack(">IBB", 2 + len(data), cid, header) + data


class Peer(LoopbackServer):
    """A C-STORE SCP with one scripted flaw: `mode` is "sound", "short-max-length",
    "no-status" or "empty-command". Serves connections one after the other."""

    def __init__(self, mode):
        self.mode, self.connections = mode, 0
        super().__init__(backlog=4)

    def accepted_connection(self, conn):
        self.connections += 1
        try:
            self.talk(conn)
        except (ConnectionError, OSError):
            pass
        conn.close()

    def talk(self, conn):
        kind, rq = read_pdu(conn)
        assert kind == 0x01, kind
        max_length = item(0x51, struct.pack(">I", 16384))
        if self.mode == "short-max-length":
            max_length = struct.pack(">BBH", 0x51, 0, 4)   # the header alone, then the end
        conn.sendall(associate_ac(rq, max_length))
        command, message_id, instance = b"", None, None
        while True:
            kind, body = read_pdu(conn)
            if kind == 0x05:   # A-RELEASE-RQ
                conn.sendall(pdu(0x06, b"\0\0\0\0"))
                return
            if kind != 0x04:
                return
            i = 0
            while i < len(body):
                length = struct.unpack(">I", body[i:i + 4])[0]
                cid, header, data = body[i + 4], body[i + 5], body[i + 6:i + 4 + length]
                i += 4 + length
                if header & 1:
                    command += data
                    if header & 2:
                        ds = pydicom.dcmread(pydicom.filebase.DicomBytesIO(command),
                                             force=True)
                        message_id, instance = ds[0x00000110].value, ds[0x00001000].value
                        command = b""
                elif header & 2:   # the dataset's last fragment: answer
                    if self.mode == "empty-command":
                        answer = pdv(cid, 0x03, b"")
                    else:
                        answer = pdv(cid, 0x03, store_rsp(message_id, instance,
                                                          self.mode != "no-status"))
                    conn.sendall(pdu(0x04, answer))


def tiny_instance(path):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SOP_CLASS
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SOP_CLASS
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientName = "Peer^Test"
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.save_as(path, write_like_original=False)


def send(binary, work, path, peer):
    report = os.path.join(work, f"{peer.mode}.json")
    r = subprocess.run([binary, "send", path, "--cstore", f"127.0.0.1:{peer.port}",
                        "--retries", "1", "--retry-wait", "0.1", "--timeout", "5",
                        "--json-report", report], capture_output=True, text=True)
    print(f"$ send to a {peer.mode} peer -> {r.returncode}\n{r.stderr}", flush=True)
    outcome = json.load(open(report))["instances"][0] if os.path.exists(report) else None
    return r, outcome


def main():
    binary, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, "tiny.dcm")
    tiny_instance(path)
    problems = []
    # (mode, exit status, status in the report, words of its detail, connections)
    for mode, code, status, words, connections in (
            ("sound", 0, "stored", "", 1),
            ("short-max-length", 4, "failed", "malformed A-ASSOCIATE-AC", 1),
            ("no-status", 4, "failed", "no Status (0000,0900)", 2),
            ("empty-command", 4, "failed", "unexpected answer", 2)):
        peer = Peer(mode)
        r, outcome = send(binary, work, path, peer)
        peer.close()
        if "Sanitizer" in r.stderr or "runtime error" in r.stderr or r.returncode < 0:
            problems.append(f"{mode}: crashed or a sanitizer report (exit {r.returncode})")
            continue
        if r.returncode != code:
            problems.append(f"{mode}: exit {r.returncode}, expected {code}")
        if not outcome or outcome["status"] != status or words not in outcome["detail"]:
            problems.append(f"{mode}: outcome {outcome}, expected {status} saying '{words}'")
        if peer.connections != connections:
            problems.append(f"{mode}: {peer.connections} associations, expected {connections}")
    for p in problems:
        print("FAIL:", p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
