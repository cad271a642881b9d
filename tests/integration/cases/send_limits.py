#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Limits on sending (issue 20 item 14), against small fake servers on 127.0.0.1:
 - a STOW-RS server answering at 2 bytes a second (its body) and a C-STORE
   peer sending its A-ASSOCIATE-AC at 2 bytes a second: the transfer is given up as too
   slow (under 1 KiB/s over the window, here the 3 s timeout), exit 4, within seconds;
 - --deadline against a hung archive (STOW-RS and C-STORE) with a long timeout and many
   retries: the run stops when the deadline passes, the file under way failed, the rest
   "not-attempted", exit 4;
 - batch --send-stow ... --deadline: the same for a slide's files, journaled send-failed.
Every run has a time limit far below what it would take without the limits.

usage: send_limits.py SLIDE2DCM SYNTHETIC_SVS WORKDIR"""
import json
import os
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import Checks  # noqa: E402
from pacs import BlackHole, FakeStow, LoopbackServer, read_body  # noqa: E402

BIN, SVS, WORK = (os.path.abspath(a) for a in sys.argv[1:4])
checks = Checks()
LIMIT = 40   # seconds any one run may take here (without the limits: hours, or for ever)


def slow_stow():
    """A STOW-RS resource that reads the request, then answers 200 with its headers at once
    and a 5000-byte body two bytes a second."""

    def on_post(request, posts):
        read_body(request)
        request.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/dicom+json"
                            b"\r\nContent-Length: 5000\r\n\r\n")
        trickled = b"{" + b" " * 4998 + b"}"
        try:
            for i in range(0, len(trickled), 2):
                request.wfile.write(trickled[i:i + 2])
                request.wfile.flush()
                time.sleep(1)
        except OSError:
            pass   # the client gave up: what we want

    return FakeStow(on_post)


class SlowPeer(LoopbackServer):
    """A C-STORE peer that reads the A-ASSOCIATE-RQ, then sends an A-ASSOCIATE-AC whose
    300-byte body comes two bytes a second."""

    def __init__(self):
        super().__init__(backlog=4)

    def accepted_connection(self, client):
        threading.Thread(target=self.answer, args=(client,), daemon=True).start()

    @staticmethod
    def answer(client):
        try:
            client.recv(65536)
            client.sendall(bytes([0x02, 0]) + (300).to_bytes(4, "big"))
            for _ in range(150):
                client.sendall(b"\0\0")
                time.sleep(1)
        except OSError:
            pass
        client.close()


def run(*args):
    start = time.monotonic()
    try:
        p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=LIMIT)
        rc, err = p.returncode, p.stderr
    except subprocess.TimeoutExpired as e:
        rc, err = None, (e.stderr or b"").decode()
    took = time.monotonic() - start
    print("$ slide2dcm %s -> %s in %.1f s\n%s" % (" ".join(args), rc, took, err), flush=True)
    return rc, err, took


def send(paths, *args):
    report = f"{WORK}/report.json"
    if os.path.exists(report):
        os.unlink(report)
    rc, err, took = run("send", *paths, "--json-report", report, *args)
    rep = json.load(open(report)) if os.path.exists(report) else {"instances": []}
    return rc, err, took, rep["instances"]


def too_slow(label):
    server = slow_stow()
    rc, err, took, inst = send([label], "--stow", server.url, "--timeout", "3", "--retries", "0")
    checks.expect(rc == 4 and inst and "too slow" in inst[0]["detail"] and took < 20,
                  f"STOW-RS answering at 2 bytes/s: given up as too slow (exit {rc}, "
                  f"{took:.0f} s)")
    server.close()
    peer = SlowPeer()
    rc, err, took, inst = send([label], "--cstore", f"127.0.0.1:{peer.port}", "--timeout", "3",
                               "--retries", "0")
    checks.expect(rc == 4 and inst and "too slow" in inst[0]["detail"] and took < 20,
                  f"C-STORE peer at 2 bytes/s: given up as too slow (exit {rc}, {took:.0f} s)")
    peer.close()


def deadline(files):
    for dest in ("stow", "cstore"):
        hole = BlackHole()
        url = (f"http://127.0.0.1:{hole.port}/dicom-web/studies" if dest == "stow"
               else f"127.0.0.1:{hole.port}")
        rc, err, took, inst = send(files, f"--{dest}", url, "--timeout", "600", "--retries",
                                   "50", "--deadline", "3")
        checks.expect(rc == 4 and took < 15, f"{dest}: --deadline 3 ends the run (exit {rc}, "
                      f"{took:.1f} s)")
        checks.expect(inst and inst[0]["status"] == "failed" and "deadline" in inst[0]["detail"],
                      f"{dest}: the file under way failed at the deadline "
                      f"({inst[0] if inst else None})")
        checks.expect(len(inst) > 1 and all(e["status"] == "not-attempted" and "deadline" in
                                            e["detail"] for e in inst[1:]),
                      f"{dest}: the rest not attempted, the deadline named")
        checks.expect("the deadline of 3 s passed" in err, f"{dest}: the message names the deadline")
        hole.close()


def batch_deadline():
    src = f"{WORK}/slides"
    os.makedirs(src)
    shutil.copyfile(SVS, f"{src}/synthetic.svs")
    hole = BlackHole()
    out = f"{WORK}/batch-out"
    rc, err, took = run("batch", src, "-o", out, "-q", "--send-stow",
                        f"http://127.0.0.1:{hole.port}/dicom-web/studies", "--timeout", "600",
                        "--deadline", "3")
    events = []
    if os.path.exists(f"{out}/batch-journal.jsonl"):
        with open(f"{out}/batch-journal.jsonl") as f:
            events = [json.loads(line) for line in f]
    failed = [e for e in events if e["event"] == "send-failed"]
    checks.expect(rc == 4 and failed and "deadline" in failed[-1].get("error", ""),
                  f"batch --deadline: exit {rc}, journal {[e['event'] for e in events]}")
    hole.close()


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    rc, _, _ = run("convert", SVS, "-o", f"{WORK}/converted", "-q")
    assert rc == 0
    files = sorted(f"{WORK}/converted/{f}" for f in os.listdir(f"{WORK}/converted")
                   if f.endswith(".dcm"))
    too_slow(f"{WORK}/converted/label.dcm")
    deadline(files)
    batch_deadline()
    sys.exit(checks.result())


if __name__ == "__main__":
    main()
