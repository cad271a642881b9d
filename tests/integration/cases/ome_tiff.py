#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""OME-TIFF with JPEG tiles, which OpenSlide cannot open: slide2dcm copies the tiles.

usage: ome_tiff.py SLIDE2DCM OME_TIFF OUTDIR

Bio-Formats writes these tiles as YCbCr 4:2:0 JPEG while the TIFF Photometric tag says RGB,
so a converter that trusts the tag labels them RGB and every viewer shows false colours.
Checks, against the file's own bytes (read with PIL's TIFF tag parser, not our reader):
 - the conversion succeeds and level 0 is copied: every frame is the tile with the
   JPEGTables spliced in, byte for byte;
 - Photometric Interpretation YBR_FULL_422, as the bitstream (chroma subsampled) says;
 - the colours are right: in a stained slide the three channels vary together (the
   smallest channel standard deviation is at least 0.3 of the largest), while YCbCr read
   as RGB leaves two nearly flat channels (Cb, Cr); the same statistic on the frames forced
   to decode as RGB must fail, which shows the check can tell the two apart here;
 - Pixel Spacing is the OME-XML PhysicalSizeX/Y;
 - dciodvfy reports no error and verify-wsm-frames no finding on any file.
"""
import io
import json
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.encaps import generate_pixel_data_frame

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from checks import Checks  # noqa: E402
import tools  # noqa: E402

checks = Checks()


def spliced(tables, tile):
    """The complete stream slide2dcm must write for a YCbCr tile: the tables (if the file
    has any) after SOI, no APP14 added. Bio-Formats' tiles are complete streams already."""
    return b"\xff\xd8" + (tables[2:-2] if tables else b"") + tile[2:]


ADOBE_RGB = b"\xff\xee\x00\x0eAdobe\x00\x64\x00\x00\x00\x00\x00"
CHANNEL_RATIO_MIN = 0.3


def forced_rgb(stream):
    """The stream with its JFIF APP0 removed and an Adobe transform-0 marker added: libjpeg
    then skips the YCbCr conversion, as a reader trusting the TIFF's 'RGB' would."""
    out, i = stream[:2] + ADOBE_RGB, 2
    while stream[i] == 0xFF and stream[i + 1] != 0xDA:
        length = struct.unpack(">H", stream[i + 2:i + 4])[0]
        if stream[i + 1] != 0xE0:
            out += stream[i:i + 2 + length]
        i += 2 + length
    return out + stream[i:]


def channel_ratio(frames, convert=lambda b: b):
    pixels = np.concatenate([np.asarray(Image.open(io.BytesIO(convert(f))).convert("RGB"))
                             .reshape(-1, 3) for f in frames]).astype(float)
    spread = pixels.std(axis=0)
    return spread.min() / spread.max()


def main():
    binary, slide, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    subprocess.run(["rm", "-rf", str(out)], check=True)
    report = out.with_suffix(".report.json")
    run = subprocess.run([binary, "convert", str(slide), "-o", str(out), "-q",
                          "--json-report", str(report)], capture_output=True, text=True)
    if run.returncode != 0:
        checks.fail("convert exit %d: %s" % (run.returncode, run.stderr.strip()))
        return
    files = {f["name"]: f for f in json.load(open(report))["files"]}
    if files["level-0.dcm"]["mode"] != "copy":
        checks.fail("level-0 was not copied: %s" % files["level-0.dcm"])

    tiff = Image.open(slide)
    tags = tiff.tag_v2
    offsets, counts = tags[324], tags[325]
    tables = bytes(tags[347]) if 347 in tags else None
    data = slide.read_bytes()
    ds = pydicom.dcmread(str(out / "level-0.dcm"))
    if ds.PhotometricInterpretation != "YBR_FULL_422":
        checks.fail("PI %s, expected YBR_FULL_422 (the tiles are YCbCr 4:2:0 whatever the TIFF says)"
             % ds.PhotometricInterpretation)
    frames = list(generate_pixel_data_frame(ds.PixelData, int(ds.NumberOfFrames)))
    if len(frames) != len(offsets):
        checks.fail("%d frames for %d tiles" % (len(frames), len(offsets)))
    mismatched = 0
    for frame, offset, count in zip(frames, offsets, counts):
        want = spliced(tables, data[offset:offset + count])
        # The fragment may carry one pad byte.
        if not (frame == want or (len(frame) == len(want) + 1 and frame[:-1] == want
                                  and frame[-1:] == b"\0")):
            mismatched += 1
    if mismatched:
        checks.fail("%d of %d frames differ from the spliced source tiles" % (mismatched, len(frames)))

    # Colours: stained tissue varies in all three channels together.
    ours, wrong = channel_ratio(frames), channel_ratio(frames, forced_rgb)
    print("channel spread ratio: as written %.2f, forced RGB %.2f" % (ours, wrong))
    if ours < CHANNEL_RATIO_MIN:
        checks.fail("decoded as written, two channels are nearly flat (ratio %.2f): wrong colour "
             "space" % ours)
    if wrong >= CHANNEL_RATIO_MIN:
        checks.fail("the colour check cannot tell YCbCr from RGB on this slide (forced RGB %.2f)"
             % wrong)

    # Pixel Spacing from OME-XML (micrometres by default).
    # PIL hands the description over as Latin-1 text; OME-XML is UTF-8.
    root = ET.fromstring(tags[270].encode("latin-1").decode("utf-8"))
    pix = next(e for e in root.iter() if e.tag.endswith("}Pixels"))
    sx, sy = float(pix.get("PhysicalSizeX")), float(pix.get("PhysicalSizeY"))
    assert pix.get("PhysicalSizeXUnit", "µm") == "µm", pix.get("PhysicalSizeXUnit")
    spacing = [float(v) for v in
               ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing]
    if abs(spacing[0] - sy / 1000) > 1e-9 or abs(spacing[1] - sx / 1000) > 1e-9:
        checks.fail("Pixel Spacing %s mm, OME-XML says %g x %g um" % (spacing, sx, sy))

    for path in sorted(out.glob("*.dcm")):
        dciodvfy = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
        errors = [l for l in (dciodvfy.stdout + dciodvfy.stderr).splitlines() if "Error" in l]
        if errors:
            checks.fail("%s: dciodvfy: %s" % (path.name, errors[0]))
        verify = subprocess.run([tools.verify_wsm_frames(), str(path)],
                                capture_output=True, text=True)
        if verify.returncode != 0 or not verify.stdout.strip().endswith(": OK"):
            checks.fail("%s: verify-wsm-frames: %s" % (path.name, verify.stdout.strip()))


if __name__ == "__main__":
    main()
    sys.exit(checks.result())
