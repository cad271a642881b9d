#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""mirax.py SLIDE2DCM SLIDE.mrxs WORKDIR

3DHistech MIRAX (issue 21), run with Debian's /usr/bin/python3 (pydicom, numpy, openslide),
on make_mirax's slide: SLIDE.mrxs beside its folder (Slidedat.ini, Index.dat, data files).

OpenSlide names the vendor mirax and slide2dcm reads it through OpenSlide (format title
"MIRAX, read by OpenSlide"), every file encoded. Every output file carries what the
folder's Slidedat.ini says, read here with configparser: manufacturer 3DHISTECH, the serial
GENERAL.SCANNER_HARDWARE_ID, the software NONHIERLAYER_0_SECTION.SCANNER_SOFTWARE_VERSION,
the scan's date GENERAL.SLIDE_CREATIONDATETIME (day first);
level 0 the zoom level 0 section's MICROMETER_PER_PIXEL_X/Y as pixel spacing,
OBJECTIVE_MAGNIFICATION as objective lens power, and its pixels within 45 dB of OpenSlide's
read_region. MIRAX records no barcode text, so the container is the file's stem. The
multi-file slide: the .mrxs without its folder fails in one line and leaves nothing; a batch
over a folder holding the slide converts it as one slide, its data files not as inputs."""
import configparser
import os
import shutil
import subprocess
import sys

import numpy
import openslide
import pydicom

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import Checks  # noqa: E402
import wsmcheck  # noqa: E402
from runs import convert_and_read, output_headers  # noqa: E402

checks = Checks()


def slidedat(slide):
    ini = configparser.ConfigParser(interpolation=None)
    ini.optionxform = str
    ini.read(os.path.join(slide[:-len(".mrxs")], "Slidedat.ini"))
    return ini


def psnr(a, b):
    mse = numpy.mean((a.astype(numpy.float64) - b.astype(numpy.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * numpy.log10(255.0 ** 2 / mse)


def check_files(slide, out, report, ini):
    name = os.path.basename(slide)
    modes = {f["name"]: f["mode"] for f in report["files"]}
    want = {"level-0.dcm", "level-1.dcm", "level-2.dcm", "level-3.dcm", "label.dcm",
            "overview.dcm", "thumbnail.dcm"}
    checks.expect(set(modes) == want and all(m == "encode" for m in modes.values()),
                  "%s: four levels, label, overview and thumbnail, all encoded" % name,
                  str(modes))
    general, scanner = ini["GENERAL"], ini["NONHIERLAYER_0_SECTION"]
    level0 = ini[ini["HIERARCHICAL"]["HIER_0_VAL_0_SECTION"]]
    stem = name[:-len(".mrxs")]
    day_month_year, clock = general["SLIDE_CREATIONDATETIME"].split()
    day, month, year = day_month_year.split("/")
    stamp = year + month + day + clock.replace(":", "")
    for f, ds in output_headers(out, report):
        tag = "%s %s: " % (name, f)
        contribution = ds.ContributingEquipmentSequence[0].ContributionDescription
        checks.expect(contribution == "Converted from MIRAX, read by OpenSlide",
                      tag + "read by OpenSlide as MIRAX", contribution)
        got = (ds.Manufacturer, ds.get("DeviceSerialNumber"), str(ds.get("SoftwareVersions")))
        checks.expect(got == ("3DHISTECH", general["SCANNER_HARDWARE_ID"],
                              scanner["SCANNER_SOFTWARE_VERSION"]),
                      tag + "scanner from Slidedat.ini", str(got))
        checks.expect(ds.ContainerIdentifier == stem, tag + "container: the file's stem",
                      ds.ContainerIdentifier)
        checks.expect(ds.AcquisitionDateTime.startswith(stamp),
                      tag + "scan date SLIDE_CREATIONDATETIME, day first", ds.AcquisitionDateTime)
    ds = pydicom.dcmread(os.path.join(out, "level-0.dcm"))
    spacing = ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing
    # Pixel Spacing is (row, column): Y then X, in mm.
    mpp = (float(level0["MICROMETER_PER_PIXEL_Y"]), float(level0["MICROMETER_PER_PIXEL_X"]))
    checks.expect(all(abs(float(v) * 1000 - m) < 1e-9 for v, m in zip(spacing, mpp)),
                  "%s level-0: pixel spacing = MICROMETER_PER_PIXEL_Y/X" % name, str(spacing))
    checks.expect(float(ds.OpticalPathSequence[0].ObjectiveLensPower) ==
                  float(general["OBJECTIVE_MAGNIFICATION"]),
                  "%s level-0: objective = OBJECTIVE_MAGNIFICATION" % name)
    osr = openslide.OpenSlide(slide)
    size = (ds.TotalPixelMatrixColumns, ds.TotalPixelMatrixRows)
    checks.expect(size == osr.dimensions, "%s level-0: OpenSlide's size %s" % (name,
                  osr.dimensions), str(size))
    decoded = wsmcheck.decode_tiled(ds)
    checks.expect(not decoded.decode_errors, "%s level-0: every frame decodes" % name)
    if size == osr.dimensions and not decoded.decode_errors:
        ours = decoded.mosaic[:size[1], :size[0]]
        theirs = numpy.asarray(osr.read_region((0, 0), 0, size).convert("RGB"))
        value = psnr(ours, theirs)
        checks.expect(value >= 45, "%s level-0: %.2f dB against OpenSlide's read_region (>= 45)"
                      % (name, value))


def check_multifile(bin_, slide, work):
    """The .mrxs alone is no slide; a batch takes the .mrxs and its folder as one slide."""
    alone = os.path.join(work, "alone")
    shutil.rmtree(alone, ignore_errors=True)
    os.makedirs(alone)
    shutil.copy(slide, alone)
    r, _ = convert_and_read(bin_, os.path.join(alone, os.path.basename(slide)),
                            os.path.join(work, "out"), "--quiet")
    lines = r.stderr.strip().splitlines()
    checks.expect(r.returncode != 0 and len(lines) == 1 and
                  not os.path.exists(os.path.join(work, "out")),
                  "the .mrxs without its folder: refused in one line, nothing written",
                  "exit %d: %s" % (r.returncode, r.stderr.strip()))
    inputs, root = os.path.join(work, "batch-in"), os.path.join(work, "batch-out")
    shutil.rmtree(inputs, ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(inputs)
    shutil.copy(slide, inputs)
    shutil.copytree(slide[:-len(".mrxs")], os.path.join(inputs, os.path.basename(slide)[:-5]))
    r = subprocess.run([bin_, "batch", inputs, "-o", root, "--quiet"], capture_output=True,
                       text=True)
    checks.expect(r.returncode == 0, "batch over the slide's folder succeeds", r.stderr.strip())
    outputs = sorted(d for d in os.listdir(root) if not d.startswith(".") and
                     os.path.isdir(os.path.join(root, d))) if os.path.isdir(root) else []
    checks.expect(len(outputs) == 1 and
                  os.path.exists(os.path.join(root, outputs[0], "level-0.dcm")),
                  "batch: the .mrxs and its folder are one slide, converted", str(outputs))


def main():
    bin_, slide, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    name = os.path.basename(slide)
    checks.expect(openslide.OpenSlide.detect_format(slide) == "mirax",
                  "%s: OpenSlide names the vendor mirax" % name)
    out = os.path.join(work, "synthetic")
    r, report = convert_and_read(bin_, slide, out, "--quiet")
    if checks.expect(r.returncode == 0 and report, "%s converts" % name, r.stderr.strip()):
        check_files(slide, out, report, slidedat(slide))
    check_multifile(bin_, slide, work)
    sys.exit(checks.result())


if __name__ == "__main__":
    main()
