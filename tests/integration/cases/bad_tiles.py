#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""bad_tiles.py SLIDE2DCM SLIDE WORKDIR

Tiles the source cannot give, in a copy of SLIDE damaged here (patched TIFF bytes):
 - a JPEG 2000 slide: one inner level-0 tile overwritten with garbage; copying must fail
   (see check_j2k), --reencode must convert it;
 - an Aperio-like slide (JPEG tiles): one level-0 tile's byte count set to 0, another
   tile's bytes overwritten with garbage (no SOI);
 - an NDPI slide: one restart interval of level 0 overwritten (same length, its RST
   marker kept) with FF 00 pairs, so that stripe cannot be decoded.
The copy must still convert: exit 0, a warning naming each replaced tile (Aperio: the two
tiles; NDPI: the frames of the damaged tile row), every frame of every file decodes,
dciodvfy and verify-wsm-frames clean, the report's replaced_tiles counts them and its
"warnings" the warnings printed, they are
background, and check_passthrough.py (OpenSlide's reference: the pristine SLIDE) finds
every other frame as the source has it (Aperio byte-identical, NDPI pixel-identical)."""
import json
import math
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import openslide
import pydicom

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
import check_conversion  # noqa: E402
import check_passthrough  # noqa: E402
import tiffdirs  # noqa: E402
import tools  # noqa: E402
import wsmcheck  # noqa: E402
from checks import Checks  # noqa: E402

checks = Checks()
NDPI_FRAME = 256    # the converter's default frame size
# The spoiled tiles are more than 1 % of level 0's, which fails a conversion by default
# (copied_frames.py tests that): these runs raise the limit to see the replacements.
OVER_LIMIT = ["--max-replaced", "20"]


def damaged_ndpi(slide, copy, frame_size):
    """Write `copy`: `slide` with one level-0 restart interval spoiled; returns the
    (col, row) of the frames it lies in (the whole tile row: restart intervals are full MCU
    rows)."""
    data = bytearray(Path(slide).read_bytes())
    level = check_passthrough.source_levels(slide)[0]
    assert level.kind == "ndpi", "needs an NDPI slide, not %s" % level.kind
    starts = tiffdirs.numbers(level.ifd[tiffdirs.NDPI_MCU_STARTS])
    mcu_rows = len(starts)
    rows_per_interval = 8 * max(1, round(level.height / 8 / mcu_rows))
    interval = mcu_rows // 3
    begin = level.offsets[0] + starts[interval]
    end = level.offsets[0] + starts[interval + 1] - 2            # keep the RST marker
    assert data[end] == 0xFF and 0xD0 <= data[end + 1] <= 0xD7, "no RST before the next interval"
    data[begin:end] = (b"\xff\x00" * ((end - begin) // 2 + 1))[:end - begin]
    Path(copy).write_bytes(bytes(data))
    y = interval * rows_per_interval
    across = math.ceil(level.width / frame_size)
    return [(c, y // frame_size) for c in range(across)]


def damaged_copy(slide, copy):
    """Write `copy`: `slide` with two level-0 tiles spoiled; returns their (col, row)."""
    data = bytearray(Path(slide).read_bytes())
    level = check_passthrough.source_levels(slide)[0]
    assert level.kind == "jpeg", "needs a slide with JPEG tiles, not %s" % level.kind
    across, down = level.grid()
    # Two tiles inside the image (not on an edge), both holding tissue, so background in
    # their place differs from what the source had.
    rgb = check_passthrough.level_is_rgb(level)
    inner = [k for k in range(len(level.offsets))
             if 0 < k % across < across - 1 and 0 < k // across < down - 1
             and np.abs(check_passthrough.ExpectedTile(level, k, rgb).pixels.astype(np.int16)
                        - np.array(wsmcheck.WHITE, np.int16)).max() > 64]
    assert len(inner) >= 3, "the slide has too few inner tiles with tissue"
    empty, garbage = inner[len(inner) // 3], inner[2 * len(inner) // 3]
    counts_at = level.ifd[tiffdirs.TILE_COUNTS][3]
    assert level.ifd[tiffdirs.TILE_COUNTS][0] == 4, "TileByteCounts must be LONG"
    data[counts_at + 4 * empty:counts_at + 4 * empty + 4] = b"\0\0\0\0"
    off, count = level.offsets[garbage], level.counts[garbage]
    noise = random.Random(7).randbytes(count)
    data[off:off + count] = b"\0" + noise[1:]     # no SOI: structurally not a JPEG
    Path(copy).write_bytes(bytes(data))
    return [divmod(k, across)[::-1] for k in (empty, garbage)]


def damaged_j2k(slide, copy):
    """Write `copy`: `slide` (JPEG 2000 tiles) with one inner level-0 tile overwritten by
    garbage; returns its (col, row)."""
    data = bytearray(Path(slide).read_bytes())
    level = check_passthrough.source_levels(slide)[0]
    across, down = level.grid()
    k = (down // 2) * across + across // 2
    off, count = level.offsets[k], level.counts[k]
    data[off:off + count] = b"\0" + random.Random(7).randbytes(count)[1:]
    Path(copy).write_bytes(bytes(data))
    return divmod(k, across)[::-1]


def check_j2k(bin_, slide, work):
    """A broken JPEG 2000 tile cannot be replaced by a copied frame (we have no J2K
    encoder): the conversion fails with one line naming the file, the tile and the way out,
    and leaves no output; --reencode then converts it with that tile as background."""
    damaged = work / ("damaged" + Path(slide).suffix)
    col, row = damaged_j2k(slide, damaged)
    print("spoiled level-0 JPEG 2000 tile (col,row): (%d,%d)" % (col, row))
    out = work / "out"
    # TCGA's J2K slides do not record their pixel size.
    run = subprocess.run([bin_, "convert", str(damaged), "-o", str(out), "--mpp", "0.25"],
                         capture_output=True, text=True)
    # Warnings may come first (copied YBR_ICT tiles: docs/viewers.md); the error is one line.
    lines = [l for l in run.stderr.strip().splitlines() if not l.startswith("slide2dcm: warning: ")]
    checks.expect(run.returncode == 1, "copying fails with exit 1 (exit %d)" % run.returncode)
    checks.expect(len(lines) == 1 and lines[0].startswith("slide2dcm: %s: " % damaged)
                  and "level 0 tile (%d,%d)" % (col, row) in lines[0] and "--reencode" in lines[0],
                  "one line naming the file, the tile and --reencode: %s" % lines)
    checks.expect(not any(out.glob("*.dcm")), "no DICOM file left in %s" % out)
    run = subprocess.run([bin_, "convert", str(damaged), "-o", str(out), "--mpp", "0.25",
                          "--reencode", "--overwrite"], capture_output=True, text=True)
    warnings = [line for line in run.stderr.splitlines() if line.startswith("slide2dcm: warning")]
    checks.expect(run.returncode == 0, "--reencode converts it (exit %d: %s)"
                  % (run.returncode, run.stderr.strip()[-300:]))
    checks.expect(len(warnings) == 1 and "level 0 tile (%d,%d)" % (col, row) in warnings[0],
                  "--reencode warns once, naming the tile: %s" % warnings)


def main(bin_, slide, work):
    work = Path(work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    if check_passthrough.source_levels(slide)[0].kind == "j2k":
        check_j2k(bin_, slide, work)
        return
    ndpi = check_passthrough.source_levels(slide)[0].kind == "ndpi"
    damaged = work / ("damaged" + Path(slide).suffix)
    spoiled = damaged_ndpi(slide, damaged, NDPI_FRAME) if ndpi else damaged_copy(slide, damaged)
    print("spoiled level-0 %s (col,row): %s" % ("frames" if ndpi else "tiles", spoiled))
    out, report_path = work / "out", work / "report.json"
    run = subprocess.run([bin_, "convert", str(damaged), "-o", str(out), "--json-report",
                          str(report_path), *OVER_LIMIT], capture_output=True, text=True)
    checks.expect(run.returncode == 0, "converts with exit 0 (exit %d: %s)"
                  % (run.returncode, run.stderr.strip()[-300:]))
    if run.returncode != 0:
        return
    check_warnings(run.stderr, spoiled, "(tile|frame)", "")

    report = json.loads(report_path.read_text())
    level0 = next((f for f in report["files"] if f["name"] == "level-0.dcm"), {})
    checks.expect(level0.get("mode") == "copy" and level0.get("replaced_tiles") == len(spoiled),
                  "report: level-0 copied with %d replaced tiles: %s" % (len(spoiled), level0))
    check_warning_count(report, run.stderr, len(spoiled), "")

    verify_tool = tools.verify_wsm_frames()
    for path in sorted(out.glob("*.dcm")):
        collector = Checks(show="none")
        status, _ = check_conversion.validate_file(path, verify_tool, collector)
        checks.expect(not collector.failures, "%s: %s %s" % (path.name, status, collector.failures))
        ds = pydicom.dcmread(str(path))
        decoded = wsmcheck.decode_tiled(ds)
        checks.expect(not decoded.decode_errors and decoded.frames == int(ds.NumberOfFrames),
                      "%s: all %d frames decode %s" % (path.name, decoded.frames,
                                                decoded.decode_errors[:3]))
        if path.name == "level-0.dcm":
            # The replaced frames are the background (check_passthrough below checks it
            # too, from the source's side).
            check_background(decoded, slide, spoiled, "")

    lines = check_passthrough.run(check_passthrough.parse_args(
        ["--source", str(damaged), "--reference", slide, "--outdir", str(out),
         "--report", str(report_path)]))
    checks.expect(not lines, "check_passthrough against the damaged source's bytes: %s" % lines)
    if not ndpi:
        check_keep_source_levels(bin_, damaged, work, spoiled, out / "level-0.dcm")
    check_reencode(bin_, damaged, slide, work, spoiled)


def check_warnings(stderr, spoiled, noun, prefix):
    """One warning names each spoiled level-0 tile (`noun`: how the warning calls it, a
    regular expression), and there are no others."""
    warnings = [line for line in stderr.splitlines() if line.startswith("slide2dcm: warning")]
    for col, row in spoiled:
        named = [w for w in warnings
                 if re.search(r"level 0 %s \(%d, ?%d\)" % (noun, col, row), w)]
        checks.expect(len(named) == 1, "%sone warning names level 0 tile (%d,%d): %s"
                      % (prefix, col, row, named or warnings[:3]))
    checks.expect(len(warnings) == len(spoiled), "%sno other warnings (%d for %d): %s"
                  % (prefix, len(warnings), len(spoiled), warnings[:3]))


def check_warning_count(report, stderr, expected, prefix):
    """The report counts the warnings the user was shown: as many as the warning lines on
    stderr, one per spoiled tile."""
    printed = sum(line.startswith("slide2dcm: warning") for line in stderr.splitlines())
    checks.expect(report.get("warnings") == printed == expected,
                  "%sreport: \"warnings\": %s, %d printed, %d expected"
                  % (prefix, report.get("warnings"), printed, expected))


def check_background(decoded, slide, spoiled, prefix):
    """The frames of the spoiled level-0 tiles in `decoded` are the slide's background."""
    background = np.array(wsmcheck.background_rgb(openslide.OpenSlide(slide)), np.int16)
    for col, row in spoiled:
        tile = decoded.mosaic[row * decoded.tile_rows:(row + 1) * decoded.tile_rows,
                              col * decoded.tile_cols:(col + 1) * decoded.tile_cols]
        worst = int(np.abs(tile.astype(np.int16) - background).max())
        checks.expect(worst <= check_passthrough.BACKGROUND_MAX_DIFF,
                      "%sframe of tile (%d,%d) is background: max abs diff %d" % (prefix, col, row, worst))


def frames_of(path):
    ds = pydicom.dcmread(str(path))
    return list(pydicom.encaps.generate_pixel_data_frame(ds.PixelData, int(ds.NumberOfFrames)))


def check_keep_source_levels(bin_, damaged, work, spoiled, default_level0):
    """With every level copied, the enumerator writes each frame itself; a replacement is
    still made by a worker and must land in its place: level 0 as in the default mode."""
    out, report_path = work / "keep", work / "keep.json"
    run = subprocess.run([bin_, "convert", str(damaged), "-o", str(out), "--keep-source-levels",
                          "--json-report", str(report_path), *OVER_LIMIT],
                         capture_output=True, text=True)
    checks.expect(run.returncode == 0, "--keep-source-levels converts with exit 0 (exit %d: %s)"
                  % (run.returncode, run.stderr.strip()[-300:]))
    if run.returncode != 0:
        return
    warnings = [line for line in run.stderr.splitlines() if line.startswith("slide2dcm: warning")]
    checks.expect(len(warnings) == len(spoiled), "--keep-source-levels: %d warnings for %d tiles"
                  % (len(warnings), len(spoiled)))
    report = json.loads(report_path.read_text())
    level0 = next((f for f in report["files"] if f["name"] == "level-0.dcm"), {})
    checks.expect(level0.get("replaced_tiles") == len(spoiled),
                  "--keep-source-levels: report counts %s replaced tiles" % level0.get("replaced_tiles"))
    check_warning_count(report, run.stderr, len(spoiled), "--keep-source-levels: ")
    checks.expect(frames_of(out / "level-0.dcm") == frames_of(default_level0),
                  "--keep-source-levels: level-0 frames byte-identical to the default mode's")


def spoil_scan(source, copy, spoiled):
    """Write `copy`: `source` with one more inner level-0 tile whose headers are intact but
    whose entropy-coded data is half noise, so that only decoding finds it broken; returns
    its (col, row)."""
    data = bytearray(Path(source).read_bytes())
    level = check_passthrough.source_levels(source)[0]
    across, down = level.grid()
    k = next(k for k in range((down // 2) * across + across // 2, len(level.offsets))
             if 0 < k % across < across - 1 and divmod(k, across)[::-1] not in spoiled)
    off, count = level.offsets[k], level.counts[k]
    tile = bytes(data[off:off + count])
    sos = tile.index(b"\xff\xda")
    scan = sos + 2 + int.from_bytes(tile[sos + 2:sos + 4], "big")
    start, end = scan + (count - scan) // 4, scan + 3 * (count - scan) // 4
    data[off + start:off + end] = random.Random(11).randbytes(end - start)
    Path(copy).write_bytes(bytes(data))
    return divmod(k, across)[::-1]


def check_reencode(bin_, damaged, slide, work, spoiled):
    """--reencode reads YCbCr tiles straight into planes when it can; a tile that cannot be
    read or decoded must still go the general way: one warning naming it, background
    pixels, every frame decoding. Tiled slides get one more tile whose scan alone is
    broken (its headers read, its data does not decode)."""
    if check_passthrough.source_levels(slide)[0].kind == "jpeg":
        worse = work / ("scan-damaged" + Path(slide).suffix)
        spoiled = spoiled + [spoil_scan(damaged, worse, spoiled)]
        damaged = worse
    out, report_path = work / "reencode", work / "reencode.json"
    run = subprocess.run([bin_, "convert", str(damaged), "-o", str(out), "--reencode",
                          "--json-report", str(report_path), *OVER_LIMIT],
                         capture_output=True, text=True)
    checks.expect(run.returncode == 0, "--reencode converts with exit 0 (exit %d: %s)"
                  % (run.returncode, run.stderr.strip()[-300:]))
    if run.returncode != 0:
        return
    check_warnings(run.stderr, spoiled, "tile", "--reencode: ")
    check_warning_count(json.loads(report_path.read_text()), run.stderr, len(spoiled),
                        "--reencode: ")
    ds = pydicom.dcmread(str(out / "level-0.dcm"))
    decoded = wsmcheck.decode_tiled(ds)
    checks.expect(not decoded.decode_errors and decoded.frames == int(ds.NumberOfFrames),
                  "--reencode: all %d level-0 frames decode %s"
                  % (decoded.frames, decoded.decode_errors[:3]))
    check_background(decoded, slide, spoiled, "--reencode: ")


if __name__ == "__main__":
    main(*sys.argv[1:4])
    sys.exit(checks.result())
