#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""slide2dcm convert on microscopy TIFFs (issue 17), each output judged by check_micro.py.

usage: micro_convert.py SLIDE2DCM FIXTURES TESTDATA WORKDIR

Every good fixture of lib/micro_fixtures.py (FIXTURES, micro.fixtures) and the two shared
microscopy files (TESTDATA/ome-tiff/multi-channel-z-series.ome.tif, int8 3c x 5z big-endian;
TESTDATA/qptiff/small_vectra.qptiff, 3 channels and RGB thumbnail/overview/label) convert
with the default codec (--mpp for the OME sample, which records no pixel size) and pass
check_micro.py: dciodvfy, verify-wsm-frames, names, series, optical paths, spacings, level 0
equal to the source after docs/microscopy.md's mapping, lower levels the 2x2 rule, and the JSON report
lists the files written. Then the options: --codec j2k on the 12-bit and int16 fixtures,
--codec native on the 12-bit and float ones, --z series and --t 2 on the ImageJ hyperstack,
--max-instance-size (parts whose frames are the uncapped instance's).
The float fixture with a NaN converts with one warning naming it; the others with none.
Exit 0 when all hold."""
import concurrent.futures
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

LIB = Path(__file__).resolve().parent.parent / "lib"
sys.path.insert(0, str(LIB))
import check_micro as cm  # noqa: E402
import pydicom  # noqa: E402
from checks import Checks  # noqa: E402

WORKERS = 2
# The shared files, with the options they need (the OME sample records neither its pixel size
# nor its z spacing).
SHARED = [("ome-tiff/multi-channel-z-series.ome.tif", ["--mpp", "0.4", "--z-spacing", "1.5"]),
          ("qptiff/small_vectra.qptiff", [])]
# (case name, fixture, options, check_micro's --z series, its --t)
OPTIONS = [
    ("j2k-u12", "u12_3c2z.ome.tif", ["--codec", "j2k"], False, None),
    ("j2k-i16", "i16_2c2z.ome.tif", ["--codec", "j2k"], False, None),
    ("native-u12", "u12_3c2z.ome.tif", ["--codec", "native"], False, None),
    ("native-f32", "f32_2c.ome.tif", ["--codec", "native"], False, None),
    ("z-series-ij", "ij_3c2z2t.tif", ["--z", "series"], True, None),
    ("t2-ij", "ij_3c2z2t.tif", ["--t", "2"], False, 2),
]


def job(slide2dcm, name, source, args, z_series, t_choice, warning, workdir):
    """Converts one case and checks it; returns (name, failures, lines, seconds)."""
    mpp = float(args[args.index("--mpp") + 1]) if "--mpp" in args else None
    z_spacing = float(args[args.index("--z-spacing") + 1]) if "--z-spacing" in args else None
    out = workdir / name
    report = workdir / (name + ".json")
    start = time.monotonic()
    run = subprocess.run([slide2dcm, "convert", str(source), "-o", str(out), "--json-report",
                          str(report)] + args, capture_output=True, text=True)
    seconds = time.monotonic() - start
    checks = Checks(show="none")
    if not checks.expect(run.returncode == 0, "convert exits %d: %s"
                         % (run.returncode, run.stderr.strip()[-400:])):
        return name, checks.failures, [], seconds
    warned = [line for line in run.stderr.splitlines() if "warning" in line.lower()]
    if warning:
        checks.expect(len(warned) == 1 and warning in warned[0], "one warning, naming %s "
                      "(stderr: %r)" % (warning, run.stderr[-300:]))
    else:
        checks.expect(not warned, "no warning (stderr: %r)" % run.stderr[-300:])
    listed = sorted(f["name"] for f in json.loads(report.read_text()).get("files", []))
    written = sorted(p.name for p in out.iterdir())
    checks.expect(listed == written, "the JSON report lists the files written (%s, "
                  "written %s)" % (listed, written))
    cm.check_output(source, out, z_series, t_choice, checks, mpp, z_spacing)
    lines = ["%d instance(s), %d MB" % (len(written),
                                        sum(p.stat().st_size for p in out.iterdir()) >> 20)]
    if not checks.failures:
        shutil.rmtree(out)
    return name, checks.failures, lines, seconds


def check_concatenation(slide2dcm, source, workdir, checks):
    """--max-instance-size splits a channel's level into parts of one concatenation whose
    frames, in Concatenation Frame Offset order, are the frames of the uncapped conversion
    byte for byte; a part never passes the cap; --codec native, which cannot be split, is a
    usage error."""
    whole, parts = workdir / "cap-whole", workdir / "cap-parts"
    cap = 300 * 1024
    for out, extra in ((whole, []), (parts, ["--max-instance-size", "300K"])):
        run = subprocess.run([slide2dcm, "convert", str(source), "-o", str(out), "-q"] + extra,
                             capture_output=True, text=True)
        if not checks.expect(run.returncode == 0, "--max-instance-size: convert exits %d: %s"
                             % (run.returncode, run.stderr.strip()[-300:])):
            return
    instances = {}
    for path in sorted(parts.iterdir()):
        ds = pydicom.dcmread(str(path))
        checks.expect(path.stat().st_size <= cap, "%s: %d bytes, over the cap"
                      % (path.name, path.stat().st_size))
        name = re.sub(r"-part-\d+", "", path.name)
        offset = int(ds.get("ConcatenationFrameOffsetNumber", 0))
        count = int(ds.NumberOfFrames)
        frames = list(pydicom.encaps.generate_pixel_data_frame(ds.PixelData, count))
        instances.setdefault(name, []).append((offset, frames))
    checks.expect(sorted(instances) == sorted(p.name for p in whole.iterdir()),
                  "--max-instance-size: the same instances (%s)" % sorted(instances))
    split = 0
    for name, pieces in instances.items():
        split += len(pieces) > 1
        joined = [f for _, frames in sorted(pieces, key=lambda p: p[0]) for f in frames]
        ds = pydicom.dcmread(str(whole / name))
        wanted = list(pydicom.encaps.generate_pixel_data_frame(ds.PixelData,
                                                               int(ds.NumberOfFrames)))
        checks.expect(joined == wanted, "%s: the parts' frames are the whole instance's" % name)
    checks.expect(split > 0, "--max-instance-size 300K split no instance")
    run = subprocess.run([slide2dcm, "convert", str(source), "-o", str(workdir / "cap-native"),
                          "--codec", "native", "--max-instance-size", "300K"],
                         capture_output=True, text=True)
    checks.expect(run.returncode == 2 and "--max-instance-size" in run.stderr,
                  "--codec native with a cap: exit 2 naming the option (%d, %s)"
                  % (run.returncode, run.stderr.strip()))


def main(argv):
    if len(argv) != 5:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    slide2dcm, fixtures, testdata, workdir = argv[1], Path(argv[2]), Path(argv[3]), \
        Path(argv[4])
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    manifest = json.loads((fixtures / "manifest.json").read_text())["fixtures"]
    todo = [("default-" + f["file"], fixtures / f["file"], [], False, None, f["warning"])
            for f in manifest if f["good"]]
    todo += [("default-" + Path(s).name, testdata / s, args, False, None, None)
             for s, args in SHARED]
    todo += [(name, fixtures / fixture, args, z, t, None)
             for name, fixture, args, z, t in OPTIONS]
    checks = Checks(show="failures")
    start = time.monotonic()
    with concurrent.futures.ProcessPoolExecutor(WORKERS) as pool:
        futures = [pool.submit(job, slide2dcm, *case, workdir) for case in todo]
        for future in concurrent.futures.as_completed(futures):
            name, failures, lines, seconds = future.result()
            checks.info("%-4s %s (convert %.2f s) %s" % ("FAIL" if failures else "ok", name,
                                                         seconds, " ".join(lines)))
            for failure in failures:
                checks.fail(name, failure)
    check_concatenation(slide2dcm, fixtures / "pyramid_2c.ome.tif", workdir, checks)
    checks.info("%d conversions checked in %.1f s" % (len(todo), time.monotonic() - start))
    status = checks.result()
    if status == 0:
        shutil.rmtree(workdir)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
