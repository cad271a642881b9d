#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Copied frames known to decode, and a limit on replaced tiles (issue 20 items 9, 10).

Copies of a synthetic Aperio slide (JPEG tiles) and of a JPEG 2000 slide, damaged here
(patched TIFF bytes), converted with --keep-source-levels so that the damaged level feeds
nothing that is decoded (where a broken tile used to be copied silently):
 - a level-0 JPEG tile whose scan holds noise with markers in it: the structure check
   replaces it (exit 0, one warning naming it, replaced_tiles 1, warnings >= replaced,
   every frame decodes); with --strict the conversion fails, no output;
 - a tile whose scan is noise without any 0xFF byte (sound structure, wrong data): copied
   by default, replaced under --verify;
 - two broken tiles of 117 (more than 1 %): exit 1, one error line naming the file, the
   level and the count, no output; the same re-encoded (--reencode); --max-replaced 5
   converts it;
 - a JPEG 2000 tile cut short (no EOC): the conversion fails naming the tile and
   --reencode (no J2K encoder to replace it), no output.

usage: copied_frames.py SLIDE2DCM SYNTHETIC_SVS J2K_SLIDE WORKDIR"""
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
import check_passthrough  # noqa: E402
import tiffdirs  # noqa: E402
import wsmcheck  # noqa: E402
from checks import Checks  # noqa: E402

import pydicom  # noqa: E402

BIN, SVS, J2K, WORK = sys.argv[1:5]
WORK = Path(WORK)
checks = Checks()


def inner_tiles(level):
    across, down = level.grid()
    return [k for k in range(len(level.offsets))
            if 0 < k % across < across - 1 and 0 < k // across < down - 1]


def spoil_scans(source, copy, tiles, with_markers):
    """Writes copy: source with the middle half of the scans of these level-0 tiles turned
    to noise (headers and EOI kept). with_markers: the noise holds 0xFF bytes followed by
    marker codes; else it holds no 0xFF at all. Returns the tiles' (col, row)."""
    data = bytearray(Path(source).read_bytes())
    level = check_passthrough.source_levels(source)[0]
    across = level.grid()[0]
    rng = random.Random(5)
    for k in tiles:
        off, count = level.offsets[k], level.counts[k]
        tile = bytes(data[off:off + count])
        sos = tile.index(b"\xff\xda")
        scan = sos + 2 + int.from_bytes(tile[sos + 2:sos + 4], "big")
        start, end = scan + (count - scan) // 4, scan + 3 * (count - scan) // 4
        noise = bytearray(rng.randrange(0, 0xFF) for _ in range(end - start))
        if with_markers:
            for i in range(0, len(noise) - 1, 64):
                noise[i:i + 2] = b"\xff\xc4"
        data[off + start:off + end] = noise
    Path(copy).write_bytes(bytes(data))
    return [divmod(k, across)[::-1] for k in tiles]


def cut_j2k_tile(source, copy):
    """Writes copy: source with one inner level-0 tile's byte count halved (its codestream
    loses its end). Returns its (col, row)."""
    data = bytearray(Path(source).read_bytes())
    level = check_passthrough.source_levels(source)[0]
    across = level.grid()[0]
    k = inner_tiles(level)[len(inner_tiles(level)) // 2]
    assert level.ifd[tiffdirs.TILE_COUNTS][0] == 4, "TileByteCounts must be LONG"
    at = level.ifd[tiffdirs.TILE_COUNTS][3] + 4 * k
    data[at:at + 4] = (level.counts[k] // 2).to_bytes(4, "little")
    Path(copy).write_bytes(bytes(data))
    return divmod(k, across)[::-1]


def convert(source, name, *args):
    out, report = WORK / name, WORK / (name + ".json")
    run = subprocess.run([BIN, "convert", str(source), "-o", str(out), "--json-report",
                          str(report), *args], capture_output=True, text=True)
    print("$ convert %s %s -> %d\n%s" % (source, " ".join(args), run.returncode, run.stderr),
          flush=True)
    warnings = [l for l in run.stderr.splitlines() if l.startswith("slide2dcm: warning")]
    errors = [l for l in run.stderr.splitlines() if not l.startswith("slide2dcm: warning")]
    rep = json.loads(report.read_text()) if run.returncode == 0 else None
    return run.returncode, warnings, errors, rep, out


def level0(rep):
    return next(f for f in rep["files"] if f["name"] == "level-0.dcm")


def frames_decode(out, what):
    ds = pydicom.dcmread(str(out / "level-0.dcm"))
    decoded = wsmcheck.decode_tiled(ds)
    checks.expect(not decoded.decode_errors and decoded.frames == int(ds.NumberOfFrames),
                  "%s: every level-0 frame decodes %s" % (what, decoded.decode_errors[:3]))


def no_output(out, what):
    checks.expect(not out.exists() or not any(out.glob("*.dcm")), "%s: no output" % what)


def structure_check():
    damaged = WORK / "markers.svs"
    level = check_passthrough.source_levels(SVS)[0]
    (col, row), = spoil_scans(SVS, damaged, [inner_tiles(level)[5]], True)
    rc, warnings, errors, rep, out = convert(damaged, "markers", "--keep-source-levels")
    checks.expect(rc == 0 and len(warnings) == 1 and "level 0 tile (%d,%d)" % (col, row)
                  in warnings[0], "a scan with markers in it: replaced, one warning (%s)"
                  % warnings)
    if rc == 0:
        checks.expect(level0(rep)["replaced_tiles"] == 1 and rep["warnings"] >= 1,
                      "report: replaced_tiles 1, warnings %s" % rep["warnings"])
        frames_decode(out, "markers")
    rc, warnings, errors, rep, out = convert(damaged, "markers-strict", "--keep-source-levels",
                                             "--strict")
    checks.expect(rc == 1 and len(errors) == 1 and "level 0: 1 of its" in errors[0]
                  and "--strict" in errors[0] and errors[0].startswith("slide2dcm: %s: " % damaged),
                  "--strict: exit 1, one line naming the file, the level, the count (%s)" % errors)
    no_output(out, "--strict")


def verify():
    damaged = WORK / "noise.svs"
    level = check_passthrough.source_levels(SVS)[0]
    (col, row), = spoil_scans(SVS, damaged, [inner_tiles(level)[7]], False)
    rc, warnings, errors, rep, out = convert(damaged, "noise", "--keep-source-levels")
    checks.expect(rc == 0 and not warnings and level0(rep)["replaced_tiles"] == 0,
                  "a sound structure with noise: copied without --verify (%s)" % warnings)
    rc, warnings, errors, rep, out = convert(damaged, "noise-verify", "--keep-source-levels",
                                             "--verify")
    checks.expect(rc == 0 and len(warnings) == 1 and "level 0 tile (%d,%d)" % (col, row)
                  in warnings[0], "--verify decodes it and replaces it (%s)" % warnings)
    if rc == 0:
        checks.expect(level0(rep)["replaced_tiles"] == 1, "--verify: replaced_tiles 1")
        frames_decode(out, "--verify")


def limit():
    damaged = WORK / "two.svs"
    level = check_passthrough.source_levels(SVS)[0]
    tiles = inner_tiles(level)
    spoil_scans(SVS, damaged, [tiles[3], tiles[9]], True)
    total = len(level.offsets)
    assert 2 * 100 > total, "the slide needs fewer than 200 level-0 tiles"
    for args, what in (((), "copied"), (("--reencode",), "re-encoded")):
        rc, warnings, errors, rep, out = convert(damaged, "two", *args)
        checks.expect(rc == 1 and len(errors) == 1 and errors[0].startswith(
            "slide2dcm: %s: level 0: 2 of its %d tiles are missing or broken" % (damaged, total))
            and "1 %" in errors[0], "%s, 2 of %d tiles broken: exit 1, one line (%s)"
            % (what, total, errors))
        no_output(out, what)
    rc, warnings, errors, rep, out = convert(damaged, "two-5", "--max-replaced", "5")
    checks.expect(rc == 0 and rep and level0(rep)["replaced_tiles"] == 2
                  and rep["warnings"] >= 2, "--max-replaced 5 converts it, counted")


def j2k_cut():
    damaged = WORK / "cut.svs"
    col, row = cut_j2k_tile(J2K, damaged)
    rc, warnings, errors, rep, out = convert(damaged, "cut", "--keep-source-levels",
                                             "--mpp", "0.25")
    checks.expect(rc == 1 and len(errors) == 1 and "level 0 tile (%d,%d)" % (col, row)
                  in errors[0] and "--reencode" in errors[0],
                  "a JPEG 2000 tile cut short: exit 1 naming the tile and --reencode (%s)"
                  % errors)
    no_output(out, "JPEG 2000")


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    structure_check()
    verify()
    limit()
    j2k_cut()
    sys.exit(checks.result())


if __name__ == "__main__":
    main()
