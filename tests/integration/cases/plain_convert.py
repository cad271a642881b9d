#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""slide2dcm convert on every plain TIFF (issue 16), checked against plain_oracle.

usage: plain_convert.py SLIDE2DCM FIXTURES TESTDATA WORKDIR

FIXTURES is what make_plain_tiff wrote (fixture.plain, with manifest.json); TESTDATA
../shared/testdata. Every conversion runs with --json-report, then:
1. Each fixture of the manifest, histolab's kidney TIFF and the libtiff files of
   plain_oracle.REAL_FILES: exit 0, the report's kind and reason those of the manifest
   (the kind of the table for the real files), its files image-001.dcm ... with the
   oracle's SOP classes, at least one warning where the manifest says "warned", and
   check_plain.check_outputs against the oracle: dciodvfy 0
   errors, the attributes, windows, kind attributes (Modality, Conversion Type, Burned In
   Annotation, Lossy Image Compression, Nominal Scanned Pixel Spacing, no Pixel Spacing)
   and every frame decoded by pydicom, dcmtk and GDCM.
2. What must be refused (the manifest's bad fixtures, 16-bit RGB, --kind photo on 16-bit
   grey, 1-bit pages with each --codec but deflate): exit 1, one line on stderr naming the
   file, no file in OUTDIR.
3. Options, each checked the same way against the oracle given the same option: --kind
   document on a min-is-white grey page, --modality ES and CT, --pages instances,
   --window C,W (twice) and --window none, --pixel-spacing, --codec for each lossless codec
   that `slide2dcm convert --help` lists, --max-instance-size splitting a 20-frame stack
   into instances whose pages and windows are each the oracle's for those pages, and
   --deterministic-uids: twice the same bytes with SOURCE_DATE_EPOCH, the same UIDs
   without.
Conversions and their checks run two at a time, in two processes (2 cores). Exit 0 when all
hold."""
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pydicom

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
import check_plain  # noqa: E402
import plain_oracle as po  # noqa: E402
from checks import Checks  # noqa: E402

CODEC_SYNTAX = {"deflate": "1.2.840.10008.1.2.1.99", "rle": "1.2.840.10008.1.2.5",
                "jpeg-ls": "1.2.840.10008.1.2.4.80", "j2k": "1.2.840.10008.1.2.4.90"}
# Codec cases: a Word stack of two frames, an 8-bit grey page and an RGB photograph; 1-bit
# pages too for deflate, the one codec that takes them (the others must refuse them).
CODEC_FIXTURES = ["u12in16.tif", "radiology8.tif", "planar_rgb.tif"]
BILEVEL_CODECS = {"deflate"}
MAX_INSTANCE_SIZE = 3 << 20  # 5 frames of 512x512x2 bytes fit, 6 do not
# How docs/plain-tiff.md says JPEG pages are written without --codec: copied (tables
# spliced, strips joined), or decoded when an orientation must be applied or the JPEG is
# old-style (libtiff's RGBA reader).
JPEG_SYNTAX = {"ycbcr_jpeg_1strip.tif": "1.2.840.10008.1.2.4.50",
               "ycbcr_jpeg_strips.tif": "1.2.840.10008.1.2.4.50",
               "orient6_jpeg.tif": "1.2.840.10008.1.2.1", "old_jpeg.tif": "1.2.840.10008.1.2.1"}
WORKERS = 2
FIXED_CLOCK = {"SOURCE_DATE_EPOCH": "1000000000", "TZ": "UTC"}
# The manifest says "warned" where PLAIN.md asked a warning; docs/plain-tiff.md (which wins)
# asks them all (old JPEG included), so none is exempt.
WARNING_NOT_DOCUMENTED = set()
# Cases that fail for a defect of slide2dcm already reported to the integrator: their
# failures are printed, not counted, and the case fails once it passes (remove it then).
KNOWN_DEFECTS = {}


class JobChecks(Checks):
    """The findings of one job, kept until the job ends and handed back to be printed
    together, so that two jobs running at once do not interleave their lines; each failure
    starts with the job's name (check_plain names only the file), and dciodvfy's warnings
    are counted by their text (main prints them once, for all jobs)."""

    def __init__(self, name):
        super().__init__(show="failures")
        self.name = name
        self.lines = []
        self.warnings = {}

    def fail(self, *message):
        text = ": ".join(str(part) for part in message)
        if not text.startswith(self.name + ":"):
            text = self.name + ": " + text
        self.failures.append(text)
        self.lines.append("FAIL " + text)

    def ok(self, *message):
        pass

    def info(self, message=""):
        text = str(message)
        if ": dciodvfy: Warning" in text:
            warning = text.split(": dciodvfy: ", 1)[1]
            self.warnings[warning] = self.warnings.get(warning, 0) + 1
        else:
            self.lines.append(text)


class Case:
    """One conversion: `name` (its folder under WORKDIR), the TIFF, the extra arguments,
    and `check(case, run, checks)` that judges it."""

    def __init__(self, name, tif, args, check, **expect):
        self.name, self.tif, self.args, self.check = name, Path(tif), list(args), check
        self.expect = expect


class Run:
    """A finished conversion: exit status, stderr, the output folder and the report."""

    def __init__(self, status, stderr, outdir, report, seconds):
        self.status, self.stderr, self.outdir = status, stderr, outdir
        self.report, self.seconds = report, seconds

    def files(self):
        return sorted(self.outdir.glob("image-*.dcm"))


def convert(slide2dcm, case, workdir, name=None):
    """Runs slide2dcm convert for the case into WORKDIR/NAME with --json-report (and the
    case's `env` added to the environment)."""
    name = name or case.name
    outdir, report_path = workdir / name, workdir / (name + ".json")
    command = [slide2dcm, "convert", str(case.tif), "-o", str(outdir), "--json-report",
               str(report_path)] + case.args
    start = time.monotonic()
    env = dict(os.environ, **case.expect.get("env", {}))
    done = subprocess.run(command, capture_output=True, text=True, errors="replace", env=env)
    seconds = time.monotonic() - start
    report = None
    if report_path.exists():
        try:
            report = json.loads(report_path.read_text())
        except ValueError:
            report = None
    return Run(done.returncode, done.stderr, outdir, report, seconds)


# ---------------------------------------------------------------- the judges

def converted(case, run, checks):
    """Exit 0 and a report that lists the files; False when there is nothing to check."""
    name = case.name
    if not checks.expect(run.status == 0, name, "convert exits 0 (got %d: %s)"
                         % (run.status, run.stderr.strip()[-300:])):
        return False
    return checks.expect(isinstance(run.report, dict), name, "the --json-report is written")


def check_report(case, run, instances, checks, kind=None, reason=None):
    """The report's kind (when `kind` is given) with a reason (`reason`, when given: the
    manifest's marks, the words docs/plain-tiff.md's rules give) and its files against
    the instances."""
    report, name = run.report, case.name
    if kind is not None:
        checks.expect(report.get("kind") == kind and report.get("kind_reason") and
                      reason in (None, report.get("kind_reason")), name,
                      "report kind %r (%r), expected %r (%s)"
                      % (report.get("kind"), report.get("kind_reason"), kind,
                         "a reason" if reason is None else repr(reason)))
    listed = [(f.get("name"), f.get("sop_class_uid")) for f in report.get("files", [])]
    wanted = [("image-%03d.dcm" % n, i["sop_class"]) for n, i in enumerate(instances, 1)]
    checks.expect(listed == wanted, name, "report files %s (expected %s)" % (listed, wanted))


def check_default(case, run, checks, workdir):
    """A conversion without options: the kind, the report and check_outputs."""
    if not converted(case, run, checks):
        return
    options = case.expect.get("options", {})
    instances = po.expected_instances(case.tif, **options)
    check_report(case, run, instances, checks, case.expect.get("kind"),
                 case.expect.get("reason"))
    if case.expect.get("plan") is not None:
        plan = [(i["sop_class"], i["pages"]) for i in instances]
        checks.expect(plan == case.expect["plan"], case.name, "the oracle plans %s (table: %s)"
                      % (plan, case.expect["plan"]))
    if case.expect.get("warned"):
        checks.expect(run.report.get("warnings", 0) >= 1, case.name,
                      "at least one warning (report: %s)" % run.report.get("warnings"))
    check_plain.check_outputs(case.tif, run.outdir, checks, workdir / (case.name + "-check"),
                              instances=instances,
                              pixel_spacing=case.expect.get("pixel_spacing"))
    if case.expect.get("syntax"):
        for path in run.files():
            syntax = pydicom.dcmread(str(path), stop_before_pixels=True).file_meta \
                .TransferSyntaxUID
            checks.expect(syntax == case.expect["syntax"], case.name, path.name,
                          "transfer syntax %s (expected %s)" % (syntax, case.expect["syntax"]))
    if case.expect.get("derivation"):
        for path in run.files():
            ds = pydicom.dcmread(str(path), stop_before_pixels=True)
            checks.expect(ds.get("DerivationDescription"), case.name, path.name,
                          "a Derivation Description says the values were inverted (%r)"
                          % ds.get("DerivationDescription"))


def check_refused(case, run, checks, workdir):
    """Exit 1, one line on stderr naming the file (and the reason the manifest gives, for
    our own fixtures), nothing written in OUTDIR."""
    name = case.name
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    checks.expect(run.status == 1, name, "exit 1 (got %d)" % run.status)
    checks.expect(len(lines) == 1 and case.tif.name in lines[0], name,
                  "one stderr line naming %s (got %s)" % (case.tif.name, lines))
    error = case.expect.get("error")
    if error:
        checks.expect(any(error in line for line in lines), name,
                      "the reason says %r (got %s)" % (error, lines))
    left = [str(p.relative_to(run.outdir)) for p in run.outdir.rglob("*")] \
        if run.outdir.exists() else []
    checks.expect(not left, name, "nothing left in OUTDIR (found %s)" % left)


def check_split(case, run, checks, workdir):
    """--max-instance-size on a stack: several instances, none larger than the limit, whose
    Page Number Vectors cover the pages in order; each instance holds the oracle's frames
    of its pages, with Bits Stored and windows computed over those frames alone."""
    if not converted(case, run, checks):
        return
    name, files = case.name, run.files()
    whole = po.expected_instances(case.tif)
    checks.expect(len(whole) == 1, name, "the oracle plans one instance without the limit")
    sizes = [p.stat().st_size for p in files]
    checks.expect(len(files) >= 4 and all(s <= MAX_INSTANCE_SIZE for s in sizes), name,
                  "at least 4 files of at most %d bytes (sizes %s)" % (MAX_INSTANCE_SIZE, sizes))
    groups = []
    for path in files:
        ds = pydicom.dcmread(str(path), stop_before_pixels=True)
        groups.append([int(v) for v in (ds.get("PageNumberVector") or [])])
    pages = [p for group in groups for p in group]
    checks.expect(pages == whole[0]["pages"] and all(groups), name,
                  "Page Number Vectors %s cover pages %s in order" % (groups, whole[0]["pages"]))
    if pages != whole[0]["pages"]:
        return
    instances = [po.instance_of_pages(whole[0], group) for group in groups]
    check_report(case, run, instances, checks, "radiology")
    check_plain.check_outputs(case.tif, run.outdir, checks, workdir / (name + "-check"),
                              instances=instances)


UID_KEYWORDS = ("SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID")


def uids_of(run):
    """{file name: (SOP Instance, Series, Study UID)} of a run's outputs."""
    out = {}
    for path in run.files():
        ds = pydicom.dcmread(str(path), stop_before_pixels=True)
        out[path.name] = tuple(str(ds.get(k)) for k in UID_KEYWORDS)
    return out


def check_deterministic(case, run, checks, workdir, again, unfixed):
    """--deterministic-uids three times into three folders: twice with the clock fixed the
    project's way (SOURCE_DATE_EPOCH, as golden.py does: Content Time is the conversion's
    time), the same files byte for byte; once on the real clock, the same UIDs (what
    README.md promises)."""
    if not all(converted(case, r, checks) for r in (run, again, unfixed)):
        return
    checks.expect(uids_of(run) and uids_of(unfixed) == uids_of(run), case.name,
                  "on the real clock, the same UIDs %s (got %s)"
                  % (uids_of(run), uids_of(unfixed)))
    first = {p.name: p.read_bytes() for p in run.files()}
    second = {p.name: p.read_bytes() for p in again.files()}
    differ = sorted(n for n in first if first[n] != second.get(n))
    checks.expect(first and sorted(first) == sorted(second) and not differ, case.name,
                  "two runs write the same %d file(s) byte for byte (%s differ; second run "
                  "has %s)" % (len(first), differ, sorted(second)))


# ---------------------------------------------------------------- the cases

def listed_codecs(slide2dcm):
    """The lossless codecs `slide2dcm convert --help` names in its --codec paragraph."""
    text = subprocess.run([slide2dcm, "convert", "--help"], capture_output=True,
                          text=True).stdout
    found = re.search(r"^\s*--codec\b(.*?)(?=^\s*--)", text, re.S | re.M)
    paragraph = found.group(1) if found else ""
    return [c for c in CODEC_SYNTAX if re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(c),
                                                 paragraph)]


def cases(fixtures, testdata, manifest, codecs):
    """Every conversion of this test, with its judge."""
    out = []
    for fixture in manifest["fixtures"]:
        tif = fixtures / fixture["file"]
        stem = Path(fixture["file"]).stem
        if fixture["kind"] is None:
            out.append(Case(stem, tif, [], check_refused, error=fixture["error"]))
            continue
        plan = [(i["sop_class"], i["pages"]) for i in fixture["instances"]]
        warned = "warned" in fixture["special"] and fixture["file"] not in WARNING_NOT_DOCUMENTED
        out.append(Case(stem, tif, [], check_default, kind=fixture["kind"], plan=plan,
                        reason=fixture["marks"], warned=warned,
                        syntax=JPEG_SYNTAX.get(fixture["file"])))
    for relative, expected in po.REAL_FILES.items():
        stem = "real-" + Path(relative).stem
        if isinstance(expected, str):
            out.append(Case(stem, testdata / relative, [], check_refused))
        else:
            out.append(Case(stem, testdata / relative, [], check_default, kind=expected[0],
                            plan=expected[1]))
    option = lambda name, file, args, **expect: out.append(  # noqa: E731
        Case(name, fixtures / file, args, check_default, **expect))
    option("opt-kind-document", "miniswhite8.tif", ["--kind", "document"], kind="document",
           options={"kind": "document"}, derivation=True)
    option("opt-modality-es", "planar_rgb.tif", ["--modality", "ES"], kind="photo",
           options={"modality": "ES"})
    option("opt-modality-ct", "bits_13x7.tif", ["--modality", "CT"], kind="radiology",
           options={"modality": "CT"})
    option("opt-pages-u13", "u13_one_pixel.tif", ["--pages", "instances"],
           options={"pages_as_instances": True})
    option("opt-pages-g4", "g4_small.tif", ["--pages", "instances"],
           options={"pages_as_instances": True})
    option("opt-window", "signed16.tif", ["--window", "40,400", "--window", "-600,1500"],
           options={"windows": [(40, 400), (-600, 1500)]})
    option("opt-window-none", "signed16.tif", ["--window", "none"], options={"windows": []})
    option("opt-pixel-spacing", "radiology16_72dpi.tif", ["--pixel-spacing", "0.5,0.25"],
           pixel_spacing=(0.5, 0.25))
    for codec in codecs:
        for file in CODEC_FIXTURES:
            option("opt-codec-%s-%s" % (codec, Path(file).stem), file, ["--codec", codec],
                   options={"codec": codec}, syntax=CODEC_SYNTAX[codec])
        if codec in BILEVEL_CODECS:
            option("opt-codec-%s-1bit" % codec, "bits_13x7.tif", ["--codec", codec],
                   options={"codec": codec}, syntax=CODEC_SYNTAX[codec])
        else:
            out.append(Case("opt-codec-%s-1bit" % codec, fixtures / "bits_13x7.tif",
                            ["--codec", codec], check_refused))
    out.append(Case("opt-kind-photo-16bit", fixtures / "signed16.tif", ["--kind", "photo"],
                    check_refused))
    out.append(Case("opt-max-instance-size", fixtures / "ct_stack.tif",
                    ["--max-instance-size", str(MAX_INSTANCE_SIZE)], check_split))
    for file in ("g4_small.tif", "signed16.tif", "ycbcr_jpeg_1strip.tif"):
        out.append(Case("opt-deterministic-" + Path(file).stem, fixtures / file,
                        ["--deterministic-uids"], check_deterministic, env=FIXED_CLOCK))
    return out


def job(slide2dcm, case, workdir):
    """Converts and judges one case; returns its JobChecks and the conversion seconds."""
    checks = JobChecks(case.name)
    run = convert(slide2dcm, case, workdir)
    if case.check is check_deterministic:
        again = convert(slide2dcm, case, workdir, case.name + "-again")
        unfixed = Case(case.name, case.tif, case.args, case.check)  # no fixed clock
        unfixed = convert(slide2dcm, unfixed, workdir, case.name + "-real-clock")
        checks.guard(case.name, "the checks", case.check, case, run, checks, workdir, again,
                     unfixed)
    else:
        checks.guard(case.name, "the checks", case.check, case, run, checks, workdir)
    return checks, run.seconds


def main(argv):
    if len(argv) != 5:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    slide2dcm, fixtures, testdata, workdir = argv[1], Path(argv[2]), Path(argv[3]), \
        Path(argv[4])
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    checks = Checks(show="failures")
    codecs = listed_codecs(slide2dcm)
    checks.info("codecs listed by convert --help: %s" % (codecs or "none"))
    todo = cases(fixtures, testdata, po.load_manifest(fixtures), codecs)
    start = time.monotonic()
    warnings = {}
    # Processes, not threads: PIL's libtiff path closes a descriptor twice, which in a
    # threaded run can close another thread's subprocess pipe (EBADF seen).
    with concurrent.futures.ProcessPoolExecutor(WORKERS) as pool:
        futures = {pool.submit(job, slide2dcm, case, workdir): case for case in todo}
        for future in concurrent.futures.as_completed(futures):
            case = futures[future]
            found, seconds = future.result()
            defect = KNOWN_DEFECTS.get(case.name)
            verdict = "FAIL" if found.failures else "ok"
            if defect:
                verdict = "known defect" if found.failures else "FAIL"
                if not found.failures:
                    found.fail("the known defect no longer shows (%s): remove it from "
                               "KNOWN_DEFECTS" % defect)
                else:
                    checks.info("known defect, reported: %s" % defect)
            checks.info("%-5s %s (convert %.2f s)" % (verdict, case.name, seconds))
            for line in found.lines:
                checks.info("    " + line)
            if not defect or verdict == "FAIL":
                checks.failures.extend(found.failures)
            for warning, count in found.warnings.items():
                warnings[warning] = warnings.get(warning, 0) + count
    for warning, count in sorted(warnings.items()):
        checks.info("dciodvfy, %d file(s): %s" % (count, warning))
    checks.info("%d conversions checked in %.1f s" % (len(todo), time.monotonic() - start))
    return checks.result()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
