# SPDX-License-Identifier: Apache-2.0
"""What goes wrong when sending, against real servers on 127.0.0.1: each case checks the
exit status, the one-line error naming the file or the server and the reason, and the JSON
report's per-instance outcome; and that the archive did not store what was reported failed.

usage: send_failures.py SLIDE2DCM CONVERTED_DIR WORKDIR"""
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from pacs import (BlackHole, CuttingProxy, FakeStow, Orthanc, answer, free_port,  # noqa: E402
                  read_body)

import pydicom  # noqa: E402

FAST_RETRIES = ["--retries", "2", "--retry-wait", "0.2"]


def uid_of(path):
    return str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)


def send(slide2dcm, work, *args, expect, env=None):
    report = f"{work}/report.json"
    if os.path.exists(report):
        os.unlink(report)
    r = subprocess.run([slide2dcm, "send", *args, "--json-report", report],
                       capture_output=True, text=True,
                       env={k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None})
    print("$ send", " ".join(args), f"-> {r.returncode}\n{r.stderr}", flush=True)
    assert r.returncode == expect, f"exit {r.returncode}, expected {expect}"
    rep = json.load(open(report)) if os.path.exists(report) else None
    return r.stderr, rep


def outcome(report, path):
    return next(e for e in report["instances"] if e["path"] == path)


def front_server(orthanc, failures=0, token=None):
    """An HTTP front to Orthanc's STOW-RS that first answers 503 `failures` times, and that
    requires `Authorization: Bearer <token>` when a token is set (Orthanc has no bearer
    auth of its own). Forwards everything else unchanged."""

    def on_post(request, posts):
        body = read_body(request)
        if token and request.headers.get("Authorization") != f"Bearer {token}":
            return answer(request, 401, b"bad token", "text/plain")
        if posts <= failures:
            return answer(request, 503, b"busy, try later", "text/plain")
        req = urllib.request.Request(orthanc.url + request.path, data=body, method="POST")
        for h in ("Content-Type", "Accept"):
            req.add_header(h, request.headers[h])
        with urllib.request.urlopen(req) as r:
            answer(request, r.status, r.read(), r.headers["Content-Type"])

    return FakeStow(on_post)


def usage_errors(slide2dcm, work, level0):
    """Usage errors: exit 2 and one line naming the problem, before anything is sent."""
    secret = f"{work}/secret"
    with open(secret, "w") as f:
        f.write("alice:pw\n")
    os.chmod(secret, 0o600)
    stow = ["--stow", "http://127.0.0.1:9/dicom-web/studies"]
    for args, env, words in (
        ([level0], {}, "send needs --stow URL or --cstore HOST:PORT"),
        (stow, {}, "send needs FILES or a DIR"),
        ([level0, "--stow", "ftp://host/studies"], {}, "give an http:// or https:// URL"),
        ([level0, "--cstore", "host"], {}, "--cstore host: give HOST:PORT"),
        ([level0, "--cstore", "host:70000"], {}, "give HOST:PORT"),
        ([level0, *stow, "--cstore", "host:104"], {}, "give one destination"),
        ([level0, "--cstore", "host:104", "--aec", "A" * 17], {}, "AE title is 1 to 16"),
        ([level0, *stow, "--retries", "-1"], {}, "--retries -1: use 0 to 100"),
        ([level0, *stow, "--basic-auth-file", secret], {"SLIDE2DCM_BEARER_TOKEN": "t"},
         None),   # a file beats the other kind's variable: not a usage error (server down)
        ([level0, *stow], {"SLIDE2DCM_BEARER_TOKEN": "t", "SLIDE2DCM_BASIC_AUTH": "a:b"},
         "give one credential"),
        ([level0, "--cstore", "host:104", "--basic-auth-file", secret], {},
         "credentials are for STOW-RS"),
        ([level0, *stow], {"SLIDE2DCM_BASIC_AUTH": "no-colon"}, "USER:PASSWORD"),
        ([level0, *stow, "--bearer-token-file", f"{work}/missing"], {}, "cannot open"),
        ([f"{work}/empty-dir", *stow], {}, "no .dcm files in this directory"),
    ):
        os.makedirs(f"{work}/empty-dir", exist_ok=True)
        if words is None:
            send(slide2dcm, work, *args, "--retries", "0", expect=4, env=env)
            continue
        r = subprocess.run([slide2dcm, "send", *args], capture_output=True, text=True,
                           env={**os.environ, **env})
        print("$ send", " ".join(args), env, f"-> {r.returncode}\n{r.stderr}", flush=True)
        assert r.returncode in (1, 2) and words in r.stderr, (r.returncode, r.stderr)
        assert r.stderr.startswith("slide2dcm: "), r.stderr


def server_down(slide2dcm, work, converted):
    """Server down: retries with backoff, then one clear error; the rest are not attempted."""
    dead = free_port()
    for dest in (["--stow", f"http://127.0.0.1:{dead}/dicom-web/studies"],
                 ["--cstore", f"127.0.0.1:{dead}"]):
        err, rep = send(slide2dcm, work, converted, *dest, *FAST_RETRIES, expect=4)
        assert "cannot reach the server" in err and f"127.0.0.1:{dead}" in err, err
        first = rep["instances"][0]
        assert first["status"] == "failed" and first["attempts"] == 3, first
        assert all(e["status"] == "not-attempted" for e in rep["instances"][1:]), rep
        assert rep["ok"] is False


def hung_server_interrupted(slide2dcm, work, level0):
    """A hung server and SIGINT: sending stops at once (exit 130), the instance is failed."""
    for dest in ("stow", "cstore"):
        hole = BlackHole()
        url = (f"http://127.0.0.1:{hole.port}/dicom-web/studies" if dest == "stow"
               else f"127.0.0.1:{hole.port}")
        report = f"{work}/interrupted.json"
        proc = subprocess.Popen([slide2dcm, "send", level0, f"--{dest}", url, "--json-report",
                                 report], stderr=subprocess.PIPE, text=True)
        if not hole.accepted.wait(timeout=60):
            proc.kill()
            raise AssertionError(f"send --{dest} never connected to the hung server")
        proc.send_signal(signal.SIGINT)
        err = proc.communicate()[1]
        print(f"$ send --{dest} to a hung server, SIGINT -> {proc.returncode}\n{err}")
        assert proc.returncode == 130, proc.returncode
        assert "interrupted" in err, err
        o = outcome(json.load(open(report)), level0)
        assert o["status"] == "failed" and "interrupted" in o["detail"], o
        hole.close()


def hung_server_timeout(slide2dcm, work, level0):
    """A hung server and --timeout: each attempt gives up, is retried, then fails."""
    for dest in ("stow", "cstore"):
        hole = BlackHole()
        url = (f"http://127.0.0.1:{hole.port}/dicom-web/studies" if dest == "stow"
               else f"127.0.0.1:{hole.port}")
        err, rep = send(slide2dcm, work, level0, f"--{dest}", url, "--timeout", "1",
                        "--retries", "1", "--retry-wait", "0.1", expect=4)
        o = outcome(rep, level0)
        assert o["status"] == "failed" and o["attempts"] == 2, o
        assert "timed out" in o["detail"].lower(), o
        assert len(hole.held) == 2, hole.held   # one connection per attempt
        hole.close()


def refused_instances(slide2dcm, work, level0, label):
    """Not a DICOM file among good ones, and instances the server refuses (a 1 MB storage
    area): each fails on its own, named with the reason, and the others are stored."""
    bogus = f"{work}/notdicom.dcm"
    with open(bogus, "wb") as f:
        f.write(b"not a dicom file" * 100)
    # A 1 MB storage area: level-0 (larger) is refused, the small label is stored.
    assert os.path.getsize(level0) > 1 << 20 and os.path.getsize(label) < 1 << 19
    with Orthanc(work, max_storage_mb=1) as orthanc:
        stow = f"{orthanc.url}/dicom-web/studies"
        err, rep = send(slide2dcm, work, bogus, label, "--stow", stow, expect=4)
        assert f"{bogus}: not stored" in err and "not a DICOM Part 10 file" in err, err
        assert outcome(rep, bogus)["status"] == "failed" and outcome(rep, bogus)["attempts"] == 0
        assert outcome(rep, label)["status"] == "stored"
        orthanc.clear()

        # The server refuses an instance: the error names it, with the server's reason.
        for dest in (["--stow", stow],
                     ["--cstore", f"127.0.0.1:{orthanc.dicom_port}", "--aec", "ORTHANC"]):
            err, rep = send(slide2dcm, work, level0, label, *dest, expect=4)
            line = next(l for l in err.splitlines() if l.startswith(f"slide2dcm: {level0}:"))
            assert "not stored" in line and uid_of(level0) in line, line
            if dest[0] == "--stow":
                # Orthanc answers 200 with empty sequences when its storage refuses a file.
                assert "not confirmed by the archive (no Referenced SOP Sequence for the " \
                       "instance)" in line, line
            else:
                assert "status 0xA700 refused: out of resources" in line, line
            assert outcome(rep, level0)["status"] == "failed", outcome(rep, level0)
            assert outcome(rep, level0)["attempts"] == 1   # a refusal is not retried
            assert outcome(rep, label)["status"] == "stored", outcome(rep, label)
            assert list(orthanc.instances()) == [uid_of(label)]
            orthanc.clear()


def retries_and_tokens(slide2dcm, work, converted, level0, label, orthanc):
    """503 answers retried, then given up; bearer tokens from the environment or a file, a
    wrong one refused and not retried."""
    # 503 twice, then the server takes it: retried, stored, three attempts.
    front = front_server(orthanc, failures=2)
    err, rep = send(slide2dcm, work, level0, "--stow", front.url, *FAST_RETRIES, expect=0)
    assert outcome(rep, level0)["status"] == "stored" and outcome(rep, level0)["attempts"] == 3
    front.close()
    # 503 for ever: failed after the retries, the server's answer in the reason.
    front = front_server(orthanc, failures=100)
    err, rep = send(slide2dcm, work, level0, "--stow", front.url, *FAST_RETRIES, expect=4)
    assert "HTTP 503: busy, try later (after 3 attempts)" in err, err
    front.close()

    # Bearer token, from the environment or a file; a wrong one is refused, not retried.
    front = front_server(orthanc, token="s3cret-token")
    err, rep = send(slide2dcm, work, converted, "--stow", front.url, expect=4,
                    env={"SLIDE2DCM_BEARER_TOKEN": "wrong"})
    assert "HTTP 401: the server refused the credentials" in err, err
    assert front.posts == 1 and rep["instances"][1]["status"] == "not-attempted"
    token_file = f"{work}/token"
    with open(token_file, "w") as f:
        f.write("s3cret-token\n")
    os.chmod(token_file, 0o644)
    err, _ = send(slide2dcm, work, level0, "--stow", front.url, "--bearer-token-file",
                  token_file, expect=2)
    assert "readable by others" in err, err
    os.chmod(token_file, 0o600)
    send(slide2dcm, work, level0, "--stow", front.url, "--bearer-token-file", token_file,
         expect=0)
    send(slide2dcm, work, label, "--stow", front.url, expect=4,
         env={"SLIDE2DCM_BEARER_TOKEN": None})   # no token at all: refused
    front.close()
    orthanc.clear()


def cut_connection(slide2dcm, work, level0, orthanc):
    """Connection cut mid-transfer: never reported stored, and Orthanc has nothing."""
    size = os.path.getsize(level0)
    for target, dest in ((orthanc.http_port, "stow"), (orthanc.dicom_port, "cstore")):
        proxy = CuttingProxy(target, size // 3)
        url = (f"http://127.0.0.1:{proxy.port}/dicom-web/studies" if dest == "stow"
               else f"127.0.0.1:{proxy.port}")
        err, rep = send(slide2dcm, work, level0, f"--{dest}", url, "--aec", "ORTHANC",
                        *FAST_RETRIES, expect=4)
        o = outcome(rep, level0)
        assert o["status"] == "failed" and o["attempts"] == 3, o
        assert proxy.connections == 3, proxy.connections
        assert f"{level0}: not stored" in err, err
        proxy.close()
        assert orthanc.instances() == {}, "a cut transfer was stored"


def wrong_basic_auth(slide2dcm, work, converted, files):
    """Wrong credentials against Orthanc's own HTTP basic authentication; the right ones
    from a file store everything."""
    with Orthanc(work, users={"alice": "right-password"}) as orthanc:
        stow = f"{orthanc.url}/dicom-web/studies"
        err, rep = send(slide2dcm, work, converted, "--stow", stow, expect=4,
                        env={"SLIDE2DCM_BASIC_AUTH": "alice:wrong-password"})
        assert "HTTP 401: the server refused the credentials" in err, err
        assert orthanc.instances() == {}
        auth_file = f"{work}/basic"
        with open(auth_file, "w") as f:
            f.write("alice:right-password\n")
        os.chmod(auth_file, 0o600)
        send(slide2dcm, work, converted, "--stow", stow, "--basic-auth-file", auth_file,
             expect=0)
        assert len(orthanc.instances()) == len(files)


def association_rejected(slide2dcm, work, converted):
    """Association rejected: Orthanc checks the called AE title; no retry, nothing stored."""
    with Orthanc(work, check_called_aet=True) as orthanc:
        err, rep = send(slide2dcm, work, converted, "--cstore",
                        f"127.0.0.1:{orthanc.dicom_port}", "--aec", "NOT-ORTHANC", expect=4)
        assert "association rejected" in err and "called AE title not recognized" in err, err
        assert rep["instances"][0]["attempts"] == 1   # permanent rejection: no retry
        assert all(e["status"] != "stored" for e in rep["instances"])
        assert orthanc.instances() == {}


def main(slide2dcm, converted, work):
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    files = sorted(glob.glob(f"{converted}/*.dcm"))
    label = f"{converted}/label.dcm"
    level0 = f"{converted}/level-0.dcm"
    assert label in files and level0 in files, files
    usage_errors(slide2dcm, work, level0)
    server_down(slide2dcm, work, converted)
    hung_server_interrupted(slide2dcm, work, level0)
    hung_server_timeout(slide2dcm, work, level0)
    refused_instances(slide2dcm, work, level0, label)
    with Orthanc(work) as orthanc:
        retries_and_tokens(slide2dcm, work, converted, level0, label, orthanc)
        cut_connection(slide2dcm, work, level0, orthanc)
    wrong_basic_auth(slide2dcm, work, converted, files)
    association_rejected(slide2dcm, work, converted)
    shutil.rmtree(work)
    print("all sending failure cases behaved")

if __name__ == "__main__":
    main(*sys.argv[1:])
