#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The Python package as a user installs and calls it: pip installs python/ from the source
tree into a fresh virtual environment (Debian's python3, its setuptools, nothing
downloaded), and that environment's python converts a slide through the library:
the report against the files on disk and dciodvfy, progress and warning callbacks,
cancelling, and the typed exceptions with their one-line reasons; then sends the result
to a real Orthanc by STOW-RS and by C-STORE, and a non-DICOM file among them raises
NotStored with the outcome of each file.

usage: test_package.py SOURCE_DIR LIBRARY SLIDE WORKDIR
"""
import os
import shutil
import subprocess
import sys
import textwrap

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration", "lib"))
from checks import Checks  # noqa: E402
from pacs import Orthanc  # noqa: E402

checks = Checks()

src, library, slide, work = sys.argv[1:5]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
venv = os.path.join(work, "venv")
subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", venv], check=True)
# From a copy: setuptools writes build/ and .egg-info beside the sources it builds.
package = os.path.join(work, "python")
shutil.copytree(os.path.join(src, "python"), package)
pip = subprocess.run([os.path.join(venv, "bin", "pip"), "install", "--no-build-isolation",
                      "--no-index", "--quiet", package],
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
checks.expect(pip.returncode == 0, "pip install --no-build-isolation --no-index ./python%s" %
              ("" if pip.returncode == 0 else ": " + pip.stdout[-500:]))

# What runs inside the environment (from its own site-packages, not the source tree).
script = textwrap.dedent('''
    import json, os, subprocess, sys, threading
    import slide2dcm
    slide, work = sys.argv[1:3]
    out = {"module": slide2dcm.__file__, "version": slide2dcm.version()}
    seen, warnings = [], []
    report = slide2dcm.convert(slide, os.path.join(work, "out"), reencode=True, quality=80,
                               patient_id="PY-1", mpp=0.3, threads=2,
                               progress=lambda p: seen.append((p.frames_done, p.frames_total)),
                               warn=warnings.append)
    out["report"] = report
    out["progress"] = seen
    out["warnings"] = warnings
    errors = {}
    for name, call in [
            ("missing", lambda: slide2dcm.convert(os.path.join(work, "nope.svs"), os.path.join(work, "x"))),
            ("unknown", lambda: slide2dcm.convert(slide, os.path.join(work, "y"), qualty=3)),
            ("type", lambda: slide2dcm.convert(slide, os.path.join(work, "y"), quality="high")),
            ("in-use", lambda: slide2dcm.convert(slide, os.path.join(work, "out")))]:
        try:
            call()
            errors[name] = None
        except slide2dcm.Error as e:
            errors[name] = [type(e).__name__, e.code, str(e)]
    cancel = threading.Event()
    def stop_early(p):
        if p.frames_done >= 3:
            cancel.set()
    try:
        slide2dcm.convert(slide, os.path.join(work, "cancelled"), reencode=True, threads=1,
                          cancel=cancel, progress=stop_early)
        errors["cancel"] = None
    except slide2dcm.Cancelled as e:
        errors["cancel"] = ["Cancelled", e.code, str(e)]
    out["errors"] = errors
    out["cancelled_left"] = os.path.exists(os.path.join(work, "cancelled")) and os.listdir(os.path.join(work, "cancelled"))
    # Sending what was converted, both ways, to the Orthanc the test started.
    stow, cstore = sys.argv[3:5]
    sent = []
    out["stow"] = slide2dcm.send(os.path.join(work, "out"), stow=stow,
                                 progress=lambda path, done, size: sent.append((done, size)))
    out["stow_progress"] = sent[-1] if sent else None
    out["cstore"] = slide2dcm.send(sorted(os.path.join(work, "out", f) for f in os.listdir(os.path.join(work, "out"))),
                                   cstore=cstore, called_aet="ORTHANC", retries=0)
    with open(os.path.join(work, "notes.dcm"), "w") as f:
        f.write("not DICOM")
    try:
        slide2dcm.send([os.path.join(work, "out", "level-0.dcm"), os.path.join(work, "notes.dcm")],
                       stow=stow, retries=0)
        out["not_stored"] = None
    except slide2dcm.NotStored as e:
        out["not_stored"] = [e.code, str(e), e.outcomes]
    print(json.dumps(out))
''')
env = dict(os.environ, SLIDE2DCM_LIBRARY=library)
with Orthanc(work) as orthanc:
    run = subprocess.run([os.path.join(venv, "bin", "python"), "-c", script, slide, work,
                          orthanc.url + "/dicom-web/studies", "127.0.0.1:%d" % orthanc.dicom_port],
                         env=env, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stored = set(orthanc.instances()) if run.returncode == 0 else set()
checks.expect(run.returncode == 0, "the script ran (%s)" % run.stderr[-800:])
if run.returncode == 0:
    import json
    got = json.loads(run.stdout)
    checks.expect(got["module"].startswith(venv), "imported from the environment: %s" % got["module"])
    checks.expect(got["version"] == "0.1.0", "slide2dcm.version() %s" % got["version"])
    files = sorted(f["name"] for f in got["report"]["files"])
    on_disk = sorted(f for f in os.listdir(os.path.join(work, "out")) if f.endswith(".dcm"))
    checks.expect(files and files == on_disk, "the report names the %d files written" % len(files))
    checks.expect(all(f["mode"] == "encode" for f in got["report"]["files"] if f["flavor"] == "VOLUME"),
                  "reencode=True re-encoded every level")
    level0 = os.path.join(work, "out", "level-0.dcm")
    dump = subprocess.run(["dcmdump", "+P", "PatientID", level0], stdout=subprocess.PIPE, text=True).stdout
    checks.expect("PY-1" in dump, "patient_id reached the file")
    dv = subprocess.run(["dciodvfy", level0], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
    checks.expect(not [l for l in dv.splitlines() if l.startswith("Error")], "level-0.dcm: dciodvfy 0 errors")
    seen = got["progress"]
    checks.expect(seen and all(a[0] <= b[0] for a, b in zip(seen, seen[1:])) and seen[-1][0] == seen[-1][1],
                  "progress: %d calls, frames_done rising to the total %s" % (len(seen), seen[-1] if seen else None))
    checks.expect(any("0.3" in w or "mpp" in w.lower() or "pixel size" in w.lower() for w in got["warnings"]),
                  "warn() received the pixel-size override warning: %s" % got["warnings"][:1])
    e = got["errors"]
    checks.expect(e["missing"] and e["missing"][0] == "InputError" and e["missing"][1] == 1 and
                  "nope.svs: " in e["missing"][2], "a missing file: InputError naming it: %s" % e["missing"])
    checks.expect(e["unknown"] and e["unknown"][0] == "UsageError" and "qualty" in e["unknown"][2],
                  "an unknown option: UsageError %s" % e["unknown"])
    checks.expect(e["type"] and e["type"][0] == "UsageError" and "quality" in e["type"][2],
                  "a value of the wrong type: UsageError %s" % e["type"])
    checks.expect(e["in-use"] and e["in-use"][0] == "UsageError",
                  "an output folder holding a conversion: UsageError %s" % e["in-use"])
    checks.expect(e["cancel"] and e["cancel"][0] == "Cancelled" and not got["cancelled_left"],
                  "cancel: Cancelled, nothing left behind %s" % e["cancel"])
    written = {f["sop_instance_uid"] for f in got["stow"]}
    reported = {f.get("sop_instance_uid") for f in got["report"]["files"]}
    checks.expect(reported == written, "the report's SOP Instance UIDs are those sent")
    checks.expect(len(got["stow"]) == len(files) and all(f["status"] == "stored" for f in got["stow"])
                  and written <= stored, "send(stow=): every file stored, and Orthanc holds them (%d)" % len(written))
    checks.expect(got["stow_progress"] and got["stow_progress"][0] == got["stow_progress"][1] > 0,
                  "send progress: bytes sent up to the size %s" % (got["stow_progress"],))
    checks.expect(len(got["cstore"]) == len(files) and all(f["status"].startswith("stored") for f in got["cstore"]),
                  "send(cstore=): every file stored")
    ns = got["not_stored"]
    checks.expect(ns and ns[0] == 7 and [o["status"] for o in ns[2]] == ["stored", "failed"],
                  "a non-DICOM file: NotStored, its outcome failed and the other stored: %r" %
                  ([ns[1], [o["status"] for o in ns[2]]] if ns else None,))
sys.exit(checks.result())
