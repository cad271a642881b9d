#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""convert --max-instance-size: levels split into DICOM concatenations (PS3.3 C.7.6.16).

usage: concatenation.py SLIDE2DCM SLIDE WORKDIR   (S2D_TOOLS: where verify-wsm-frames is)

The slide is converted without a cap (the reference) and with a cap small enough to split
level 0 into four parts and level 1 into two. Then:
- every file is at most the cap; the levels that fit are single files as without the cap;
- every part passes dciodvfy except for the one error dciodvfy 2022 reports on any
  concatenation part (its NumberOfFrames against the whole level's tile count), and
  verify-wsm-frames except for its own version of that finding (it does not know
  concatenations either): each accepted only with this part's and this level's numbers;
- pydicom: the Concatenation attributes of every part, one Series, distinct SOP Instance
  UIDs, every other attribute the same in all parts of a level and equal to the
  reference's level (UIDs aside), the compression ratio that of the whole level;
- the frames of the parts, in In-concatenation Number order, are byte for byte the
  reference level's frames; the JSON report lists each part;
- deterministic UIDs are stable, and another cap gives other instances;
- parts with the Extended Offset Table (--eot-threshold) check out too;
- a cap too small for the header, or for one frame, is a usage error (exit 2) leaving
  nothing behind; bad SIZE strings are usage errors;
- caps near a file's size: a level that fits stays whole, one just over splits, every part
  but the last could not take its next frame; a one-frame image that fits is written, one
  that does not is refused with its own size;
- --overwrite swaps a split conversion for a whole one and back without stale files.
"""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pydicom
from pydicom.encaps import generate_pixel_data_frame

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from checks import Checks  # noqa: E402
import tools  # noqa: E402

CAP = 400 * 1024
CAP_ARG = "400K"
UID_SLACK = 8   # bytes by which files of two runs may differ: their UIDs' lengths
# What may differ across conversions besides UIDs and dates: nothing (the sRGB profile's
# creation time is fixed, so this also proves the profile is the same bytes every time).
ACROSS_RUNS = set()
# What may differ between the parts of one concatenation (C.7.6.16.2.2.4), besides the
# pixel data and the file meta group.
PER_PART = {"SOPInstanceUID", "NumberOfFrames", "InConcatenationNumber",
            "ConcatenationFrameOffsetNumber"}
CONCATENATION = {"ConcatenationUID", "SOPInstanceUIDOfConcatenationSource",
                 "InConcatenationNumber", "InConcatenationTotalNumber",
                 "ConcatenationFrameOffsetNumber"}
DCIODVFY_ACCEPTED = re.compile(
    r"^Error - NumberOfFrames does not match expected value for tiled total pixel matrix "
    r"got (\d+) expected (\d+) for ")

# The messages below name the fault: only the missed expectations are shown.
checks = Checks(show="failures")


def run(*args, expect=0):
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    print("$", " ".join(str(a) for a in args), "->", r.returncode, r.stderr.strip(), flush=True)
    checks.expect(r.returncode == expect, f"exit {r.returncode}, expected {expect}: {args}")
    return r


def frames(ds):
    n = int(ds.NumberOfFrames)
    return list(generate_pixel_data_frame(ds.PixelData, n))


def level_files(outdir):
    """{level-name: [files in part order]} and the other files."""
    levels = {}
    for path in sorted(Path(outdir).glob("level-*.dcm")):
        m = re.match(r"(level-\d+)(?:-part-(\d+))?\.dcm$", path.name)
        levels.setdefault(m.group(1) + ".dcm", []).append((int(m.group(2) or 0), path))
    return {k: [p for _, p in sorted(v)] for k, v in levels.items()}


def comparable(ds, skip):
    """The dataset as nested plain values, without UIDs, the skipped keywords, the
    content date and time and the contribution's (taken at conversion time) and the pixel
    data with its offset tables."""
    out = {}
    for elem in ds:
        if elem.VR == "UI" or elem.keyword in skip or elem.tag.group == 0x7FE0 or \
                elem.keyword in ("ContentDate", "ContentTime", "ContributionDateTime"):
            continue
        if elem.VR == "SQ":
            out[elem.tag] = [comparable(item, skip) for item in elem.value]
        else:
            out[elem.tag] = elem.value
    return out


def dciodvfy_ok(path, nframes, total):
    r = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
    errors = [l.strip() for l in (r.stdout + r.stderr).splitlines() if "Error" in l]
    unexpected = []
    for line in errors:
        m = DCIODVFY_ACCEPTED.match(line)
        if not (m and int(m.group(1)) == nframes and int(m.group(2)) == total and nframes != total):
            unexpected.append(line)
    checks.expect(not unexpected and r.returncode >= 0, f"{path.name}: dciodvfy: {unexpected or r.returncode}")
    return len(errors) - len(unexpected)


def verify_frames(tool, paths):
    """verify-wsm-frames over all files in one run (it prints "<path>: <verdict>")."""
    r = subprocess.run([tool] + [str(p) for p in paths], capture_output=True, text=True)
    verdicts = {}
    for line in r.stdout.splitlines():
        path, _, verdict = line.partition(": ")
        verdicts[path] = verdict
    checks.expect(len(verdicts) == len(paths), f"verify-wsm-frames: {r.returncode} {r.stderr[-300:]}")
    return verdicts


def verify_frames_ok(verdicts, path, nframes, total):
    verdict = verdicts.get(str(path))
    accepted = "OK" if nframes == total else f"TILED_FULL expects {total} frames, have {nframes}"
    checks.expect(verdict == accepted, f"{path.name}: verify-wsm-frames: {verdict!r}, accepted only {accepted!r}")


def check_split(slide2dcm, tool, whole_dir, split_dir, report_path, cap):
    whole, split = level_files(whole_dir), level_files(split_dir)
    verdicts = verify_frames(tool, [p for parts in split.values() for p in parts])
    checks.expect(sorted(whole) == sorted(split), f"levels {sorted(split)} != {sorted(whole)}")
    report = json.load(open(report_path))
    by_name = {f["name"]: f for f in report["files"]}
    names = sorted(p.name for p in Path(split_dir).glob("*.dcm"))
    checks.expect(sorted(by_name) == names, f"report lists {sorted(by_name)}, directory has {names}")
    for path in Path(split_dir).glob("*.dcm"):
        checks.expect(path.stat().st_size <= cap, f"{path.name}: {path.stat().st_size} bytes > {cap}")

    all_uids, series, split_levels = set(), set(), 0
    for level, parts in sorted(split.items()):
        ref = pydicom.dcmread(whole[level][0])
        ref_frames = frames(ref)
        total = int(ref.NumberOfFrames)
        dss = [pydicom.dcmread(p) for p in parts]
        for p, ds in zip(parts, dss):
            all_uids.add(str(ds.SOPInstanceUID))
            series.add(str(ds.SeriesInstanceUID))
            checks.expect(ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID, f"{p.name}: meta UID")
        if len(parts) == 1:
            # A level that fits: one file as without the cap (UIDs and dates aside).
            ds = dss[0]
            checks.expect(not any(k in ds for k in CONCATENATION), f"{parts[0].name}: concatenation attributes")
            checks.expect(comparable(ds, ACROSS_RUNS) == comparable(ref, ACROSS_RUNS),
                          f"{level}: differs from the reference")
            checks.expect(frames(ds) == ref_frames, f"{level}: frames differ from the reference")
            dciodvfy_ok(parts[0], total, total)
            verify_frames_ok(verdicts, parts[0], total, total)
            continue
        split_levels += 1
        got, offset = [], 0
        for k, (p, ds) in enumerate(zip(parts, dss), 1):
            n = int(ds.NumberOfFrames)
            checks.expect(p.name == level.replace(".dcm", f"-part-{k}.dcm"), f"{p.name}: name")
            checks.expect(ds.InConcatenationNumber == k, f"{p.name}: In-concatenation Number {ds.InConcatenationNumber}")
            checks.expect(ds.InConcatenationTotalNumber == len(parts), f"{p.name}: total {ds.InConcatenationTotalNumber}")
            checks.expect(ds.ConcatenationFrameOffsetNumber == offset, f"{p.name}: offset {ds.ConcatenationFrameOffsetNumber} != {offset}")
            checks.expect(ds.ConcatenationUID == dss[0].ConcatenationUID, f"{p.name}: Concatenation UID")
            checks.expect(ds.SOPInstanceUIDOfConcatenationSource == dss[0].SOPInstanceUIDOfConcatenationSource,
                          f"{p.name}: source UID")
            checks.expect(ds.DimensionOrganizationType == "TILED_FULL", f"{p.name}: not TILED_FULL")
            checks.expect((ds.TotalPixelMatrixColumns, ds.TotalPixelMatrixRows) ==
                          (ref.TotalPixelMatrixColumns, ref.TotalPixelMatrixRows), f"{p.name}: total pixel matrix")
            checks.expect(ds.LossyImageCompressionRatio == ref.LossyImageCompressionRatio,
                          f"{p.name}: ratio {ds.LossyImageCompressionRatio} != level's {ref.LossyImageCompressionRatio}")
            # Everything but the per-part attributes is the same in every part ...
            checks.expect(comparable(ds, PER_PART) == comparable(dss[0], PER_PART), f"{p.name}: differs from part 1")
            for kw in ("SeriesInstanceUID", "StudyInstanceUID", "FrameOfReferenceUID", "PyramidUID",
                       "DimensionOrganizationSequence"):
                checks.expect(ds.get(kw) == dss[0].get(kw), f"{p.name}: {kw} differs from part 1")
            # ... and as in the reference level.
            checks.expect(comparable(ds, CONCATENATION | ACROSS_RUNS | {"NumberOfFrames"}) ==
                          comparable(ref, ACROSS_RUNS | {"NumberOfFrames"}),
                          f"{p.name}: differs from the reference level")
            r = by_name.get(p.name, {}).get("concatenation", {})
            checks.expect(r == {"level": level, "uid": ds.ConcatenationUID, "number": k,
                                "total": len(parts), "frame_offset": offset}, f"{p.name}: report {r}")
            checks.expect(by_name.get(p.name, {}).get("tiles") == n, f"{p.name}: report tiles")
            part_frames = frames(ds)
            checks.expect(len(part_frames) == n, f"{p.name}: {len(part_frames)} fragments for {n} frames")
            got += part_frames
            offset += n
            dciodvfy_ok(p, n, total)
            verify_frames_ok(verdicts, p, n, total)
        checks.expect(offset == total, f"{level}: parts hold {offset} frames of {total}")
        checks.expect(got == ref_frames, f"{level}: the parts' frames are not the reference's, byte for byte")
        source = str(dss[0].SOPInstanceUIDOfConcatenationSource)
        checks.expect(source not in {str(ds.SOPInstanceUID) for ds in dss}, f"{level}: source UID is a part's")
        print(f"{level}: {len(parts)} parts, {total} frames, sizes "
              f"{[p.stat().st_size for p in parts]}", flush=True)
    nfiles = len(list(Path(split_dir).glob("*.dcm")))
    checks.expect(len(all_uids) == len(list(Path(split_dir).glob("level-*.dcm"))), "SOP Instance UIDs not distinct")
    checks.expect(len(series) == 1, f"{len(series)} series")
    concat_uids = {str(pydicom.dcmread(p, stop_before_pixels=True).ConcatenationUID)
                   for p in Path(split_dir).glob("level-*-part-1.dcm")}
    checks.expect(len(concat_uids) == split_levels, "Concatenation UIDs shared between levels")
    return split_levels, nfiles


def is_bytes(n):
    """Bytes of the IS value of n (Number of Frames): digits padded to an even length."""
    digits = len(str(n))
    return digits + digits % 2


def item_bytes(frame):
    return 8 + len(frame) + len(frame) % 2


def check_edges(slide2dcm, slide, work):
    """Caps near a file's size. UIDs differ between runs (and their lengths by a few bytes),
    so the caps keep UID_SLACK bytes from the sizes they are made from. A level that fits
    stays one file; a level just over splits, every part but the last as full as the cap
    allows (its next frame would pass it, computed from that part's own size); frames that
    fit the whole file but not a part (a part's head is longer) move to the next part; a
    one-frame image that fits is written, and one that does not is refused with its own
    size."""
    edge = ["-q", "--levels", "1", "--no-label", "--no-overview", "--no-thumbnail"]
    run(slide2dcm, "convert", slide, "-o", work / "edge-ref", *edge)
    ref_path = work / "edge-ref/level-0.dcm"
    size = ref_path.stat().st_size
    ref_frames = frames(pydicom.dcmread(ref_path))
    last = item_bytes(ref_frames[-1])
    for i, (cap, nparts) in enumerate(((size + UID_SLACK, 1), (size - UID_SLACK, 2),
                                       (size - last + 4 * UID_SLACK, 2), (CAP, None))):
        out = work / f"edge-{i}"
        run(slide2dcm, "convert", slide, "-o", out, "--max-instance-size", cap, *edge)
        parts = level_files(out).get("level-0.dcm", [])
        got, sizes = [], []
        for k, path in enumerate(parts):
            part_frames = frames(pydicom.dcmread(path))
            got += part_frames
            sizes.append(path.stat().st_size)
            checks.expect(sizes[-1] <= cap, f"cap {cap}: {path.name} has {sizes[-1]} bytes")
            if k + 1 < len(parts):
                n = len(part_frames)
                grown = (sizes[-1] + 4 + item_bytes(ref_frames[len(got)]) + is_bytes(n + 1) -
                         is_bytes(n))
                checks.expect(grown > cap, f"cap {cap}: {path.name} could take one more frame "
                                   f"({grown} bytes)")
        checks.expect(got == ref_frames, f"cap {cap}: the frames are not the level's")
        if nparts == 1:
            checks.expect([p.name for p in parts] == ["level-0.dcm"], f"cap {cap}: {parts}, not one file")
        elif nparts:
            checks.expect(len(parts) == nparts, f"cap {cap}: {len(parts)} parts, expected {nparts}")
        print(f"cap {cap}: sizes {sizes}", flush=True)
    thumb = (work / "whole/thumbnail.dcm").stat().st_size
    one = ["-q", "--levels", "1", "--no-label", "--no-overview"]
    run(slide2dcm, "convert", slide, "-o", work / "thumb-fits", "--max-instance-size",
        thumb + UID_SLACK, *one)
    checks.expect((work / "thumb-fits/thumbnail.dcm").exists(), "a thumbnail that fits was refused")
    r = run(slide2dcm, "convert", slide, "-o", work / "thumb-over", "--max-instance-size",
            thumb - 100, *one, expect=2)
    m = re.search(r"make a file of (\d+) bytes, more than (\d+)", r.stderr)
    checks.expect(m and abs(int(m.group(1)) - thumb) <= UID_SLACK and int(m.group(2)) == thumb - 100,
                  f"thumbnail refused with {r.stderr.strip()!r}, not its own size {thumb}")


def uids(outdir):
    return {p.name: str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID)
            for p in sorted(Path(outdir).glob("*.dcm"))}


def main(slide2dcm, slide, work):
    work = Path(work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    tool = tools.verify_wsm_frames()

    run(slide2dcm, "convert", slide, "-o", work / "whole", "-q")
    run(slide2dcm, "convert", slide, "-o", work / "split", "-q", "--max-instance-size", CAP_ARG,
        "--json-report", work / "split.json")
    split_levels, nfiles = check_split(slide2dcm, tool, work / "whole", work / "split",
                                       work / "split.json", CAP)
    parts0 = len(level_files(work / "split")["level-0.dcm"])
    checks.expect(parts0 >= 3, f"level 0 in {parts0} parts; the test wants at least 3")
    checks.expect(split_levels >= 2, f"{split_levels} levels split; the test wants 2")

    # Parts indexed by the Extended Offset Table.
    run(slide2dcm, "convert", slide, "-o", work / "eot", "-q", "--max-instance-size", CAP_ARG,
        "--eot-threshold", "1", "--json-report", work / "eot.json")
    checks.expect(all("ExtendedOffsetTable" in pydicom.dcmread(p)
                      for p in (work / "eot").glob("level-0-part-*.dcm")), "parts without EOT")
    check_split(slide2dcm, tool, work / "whole", work / "eot", work / "eot.json", CAP)

    # Deterministic UIDs: the same again; another cap, other instances; no cap, as before.
    det = ["--deterministic-uids", "-q"]
    run(slide2dcm, "convert", slide, "-o", work / "det1", "--max-instance-size", CAP_ARG, *det)
    run(slide2dcm, "convert", slide, "-o", work / "det2", "--max-instance-size", str(CAP), *det)
    run(slide2dcm, "convert", slide, "-o", work / "det3", "--max-instance-size", "300K", *det)
    run(slide2dcm, "convert", slide, "-o", work / "det4", *det)
    a, b, c, d = (uids(work / f"det{i}") for i in range(1, 5))
    checks.expect(a == b, "deterministic UIDs changed between two identical runs")
    checks.expect(not set(a.values()) & set(c.values()), "another cap reused SOP Instance UIDs")
    checks.expect(not set(a.values()) & set(d.values()), "the capped conversion reused uncapped UIDs")
    ds_a = pydicom.dcmread(work / "det1/level-0-part-1.dcm", stop_before_pixels=True)
    ds_b = pydicom.dcmread(work / "det2/level-0-part-1.dcm", stop_before_pixels=True)
    checks.expect(ds_a.ConcatenationUID == ds_b.ConcatenationUID, "Concatenation UID not deterministic")

    # Usage errors: exit 2, one line naming the option, nothing left behind.
    for size, why in (("2K", "header"), ("12K", "frame")):
        out = work / f"small-{size}"
        r = run(slide2dcm, "convert", slide, "-o", out, "-q", "--max-instance-size", size, expect=2)
        lines = r.stderr.strip().splitlines()
        checks.expect(len(lines) == 1 and f"--max-instance-size {int(size[:-1]) * 1024}:" in lines[0]
                      and why in lines[0], f"{size}: message {lines}")
        # The file as the user will find it, not the staging folder it was written in.
        checks.expect(lines and re.search(r": level-0\.dcm: ", lines[0]) and "staging" not in lines[0],
                      f"{size}: names the staging folder, not level-0.dcm: {lines}")
        checks.expect(not out.exists(), f"{size}: output left behind")
    for bad in ("0", "abc", "5X", "12KB", "-1", ""):
        run(slide2dcm, "convert", slide, "-o", work / "bad", "--max-instance-size", bad, expect=2)
    checks.expect(not (work / "bad").exists(), "bad size: output directory created")

    check_edges(slide2dcm, slide, work)

    # --overwrite: whole over split and split over whole, never a stale file.
    run(slide2dcm, "convert", slide, "-o", work / "split", "-q", expect=2)
    run(slide2dcm, "convert", slide, "-o", work / "split", "-q", "--overwrite")
    checks.expect(sorted(p.name for p in (work / "split").glob("*.dcm")) ==
                  sorted(p.name for p in (work / "whole").glob("*.dcm")), "stale parts after --overwrite")
    run(slide2dcm, "convert", slide, "-o", work / "split", "-q", "--overwrite",
        "--max-instance-size", CAP_ARG)
    checks.expect(not (work / "split/level-0.dcm").exists(), "stale level-0.dcm after --overwrite")
    checks.expect(len(list((work / "split").glob("*.dcm"))) == nfiles, "files after --overwrite")
    checks.expect(not [p for p in (work / "split").iterdir() if p.name.startswith(".")], "hidden leftovers")

    status = checks.result()
    if status == 0:
        shutil.rmtree(work)
    return status


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
