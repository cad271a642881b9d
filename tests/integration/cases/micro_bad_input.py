#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Microscopy TIFFs that contradict themselves are refused cleanly (issue 17).

usage: micro_bad_input.py SLIDE2DCM FIXTURES WORKDIR

Each bad fixture of lib/micro_fixtures.py: an OME-XML whose SizeZ promises more planes than
the file has IFDs, one whose SizeX is not the IFD's width, one whose Type is not the IFD's
sample type, a TiffData pointing past the last IFD, and channels of different sizes. For
each, slide2dcm convert exits 1 with one line on stderr that names the file and what
disagrees, and leaves no DICOM file (nor a partial one) in the output directory. Then a
good hyperstack of two time points (two series) with a SeriesInstanceUID in --metadata,
which would merge them: exit 2 saying so, with the same check of the output, and with
--t 2 (one series) it converts into that series. Exit 0 when all hold."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pydicom

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from checks import Checks  # noqa: E402

# The words one of which the error must hold (lower case): what disagrees.
REASONS = {"bad_sizez.ome.tif": ("sizez", "ifd", "plane"),
           "bad_sizex.ome.tif": ("sizex", "width"),
           "bad_type.ome.tif": ("type", "bits", "sample"),
           "bad_tiffdata.ome.tif": ("ifd",),
           "bad_sizes.ome.tif": ("size", "width", "height")}


def main(argv):
    if len(argv) != 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    slide2dcm, fixtures, workdir = argv[1], Path(argv[2]), Path(argv[3])
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    checks = Checks()
    for name, words in REASONS.items():
        out = workdir / name
        run = subprocess.run([slide2dcm, "convert", str(fixtures / name), "-o", str(out)],
                             capture_output=True, text=True)
        lines = [line for line in run.stderr.splitlines() if line.strip()]
        checks.expect(run.returncode == 1, name, "exit %d (expected 1)" % run.returncode)
        checks.expect(len(lines) == 1 and name in lines[0] and
                      any(w in lines[0].lower() for w in words), name,
                      "one line naming the file and one of %s: %r" % (words, run.stderr))
        left = sorted(p.name for p in out.rglob("*")) if out.exists() else []
        checks.expect(not left, name, "nothing left in the output directory (%s)" % left)
    metadata = workdir / "series.json"
    metadata.write_text(json.dumps({"0020000E": {"vr": "UI", "Value": ["2.25.4242"]}}))
    name = "ij_3c2z2t.tif"
    out = workdir / "series-uid"
    run = subprocess.run([slide2dcm, "convert", str(fixtures / name), "-o", str(out),
                          "--metadata", str(metadata)], capture_output=True, text=True)
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    checks.expect(run.returncode == 2 and len(lines) == 1 and "SeriesInstanceUID" in lines[0]
                  and "2 series" in lines[0], name, "a SeriesInstanceUID for 2 series: exit 2 "
                  "in one line (%d: %r)" % (run.returncode, run.stderr))
    checks.expect(not out.exists() or not any(out.rglob("*")), name, "nothing written")
    run = subprocess.run([slide2dcm, "convert", str(fixtures / name), "-o", str(out), "--t", "2",
                          "--metadata", str(metadata), "-q"], capture_output=True, text=True)
    uids = {str(pydicom.dcmread(p, stop_before_pixels=True).SeriesInstanceUID)
            for p in out.glob("*.dcm")}
    checks.expect(run.returncode == 0 and uids == {"2.25.4242"}, name,
                  "with --t 2 the one series takes it (%d, %s)" % (run.returncode, uids))
    status = checks.result()
    if status == 0:
        shutil.rmtree(workdir)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
