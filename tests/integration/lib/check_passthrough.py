#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Check the lossless passthrough of one `slide2dcm convert` output against the source
slide's own bytes (docs: the passthrough contract; issue 3).

usage: check_passthrough.py --source SLIDE --outdir DIR --report REPORT.json
                            [--copied NAME... | --copied none] [--tile-size N]
                            [--quality Q] [--reference SLIDE] [--mutations]
       check_passthrough.py --self-test --source SLIDE

Each file's mode ("copy" or "encode") is the one the --json-report states: the report is
the converter's statement, and this checker verifies it from the source's side; which
files a conversion must copy is not derived here, but stated by the test (--copied, per
slide and options) so that a converter that stops copying fails.

The source is read with tiffdirs (the TIFF bytes, not libtiff or our reader); OpenSlide
gives the colour reference. For every pyramid level file (level-N.dcm), matched to the
source directory of the same size:
 - the report's mode / transfer_syntax / photometric agree with the file; a "copy" has a
   source level of its size stored as JPEG or JPEG 2000 tiles or NDPI strips;
 - JPEG tiles copied: each frame is byte for byte SOI + [Adobe APP14 transform 0 when the
   tiles are RGB] + JPEGTables without SOI/EOI + the raw tile without SOI, PI RGB or
   YBR_FULL_422 as the bitstream says; JPEG 2000 tiles copied: each frame is the raw
   codestream, PI from SIZ/COD (MCT + 9/7 -> YBR_ICT, MCT + 5/3 -> YBR_RCT, no MCT -> RGB);
 - every frame, decoded as its PI says, equals the source tile decoded by PIL
   (libjpeg-turbo / OpenJPEG) exactly, and the level is within 45 dB PSNR of OpenSlide's
   read_region of the same level (a wrong PI costs 30 dB or more);
 - NDPI: frames are baseline JPEGs of the frame size with the strip's quantisation tables;
   the reassembled level equals OpenSlide's decode exactly inside the image, and the
   padding outside is the background;
 - source tiles that cannot be copied (zero length, not a JPEG) were replaced by a frame
   that decodes to the background (or to what PIL can still make of the tile), as many as
   the report's replaced_tiles;
 - a copied level keeps the source's lossy history: 01, the source's method only, ratio
   = uncompressed frame bytes / written frame bytes;
 - an encoded level carries libjpeg's quantisation tables at --quality, and no frame is
   the source tile at its place copied;
 - label, overview and thumbnail reported "copy": the source image of the same size is
   stored as JPEG strips that can be joined (same headers but the height, whole MCU rows,
   no restart markers of their own) and the frame is byte for byte their join (see
   joined_strips), PI as the bitstream says, a copy's lossy history, and within 45 dB of
   OpenSlide's image; reported "encode": the frame is not that join;
 - with --copied: the files reported "copy" are exactly those named.
--mutations then breaks the checked output in memory (wrong PI, two frames swapped, APP14
dropped) and requires each breakage to be caught: the checks can fail.
--self-test needs no output: it proves the expected frames from the source alone (spliced
tiles decoded by PIL vs OpenSlide >= 45 dB; the same with the wrong colour space must fall
below it).

Output: the summary, then "RESULT: PASS" or "RESULT: FAIL, N failure(s):" and one line
per failure. Exit 0 / 1, 2 on a usage problem.
"""
import argparse
import base64
import copy
import io
import json
import math
import re
import struct
import sys
import warnings
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import openslide
import pydicom
from pydicom.encaps import encapsulate, generate_pixel_data_frame
from PIL import Image, ImageFile

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tiffdirs  # noqa: E402
import checks  # noqa: E402
import wsmcheck  # noqa: E402

Image.MAX_IMAGE_PIXELS = None            # NDPI strips are one 19-megapixel JPEG
JPEG_BASELINE, JPEG_2000 = wsmcheck.JPEG_BASELINE, wsmcheck.JPEG_2000
# The contract's marker for RGB tiles: Adobe APP14, version 100, flags 0, transform 0.
ADOBE_RGB = b"\xff\xee\x00\x0eAdobe\x00\x64\x00\x00\x00\x00\x00"
SOI = b"\xff\xd8"
COLOUR_PSNR_MIN = 45.0
# A replaced tile made from the background, encoded as JPEG: flat colour survives JPEG
# within a level or two.
BACKGROUND_MAX_DIFF = 3
# NDPI padding is made of DC-only blocks: exact up to the DC quantisation step.
NDPI_PADDING_MAX_DIFF = 2
DEFAULT_FRAME = 256
LEVEL_FILE = re.compile(r"^level-(\d+)\.dcm$")


# --------------------------------------------------------------------------
# JPEG and JPEG 2000 bitstreams
# --------------------------------------------------------------------------

def jpeg_header(stream):
    """Markers of a JPEG stream up to SOS: {'app14': transform or None, 'jfif': bool,
    'sof': marker, 'size': (w, h), 'ids': [...], 'sampling': [(h, v)...],
    'dqt': {table id: bytes}, 'ok': SOI seen}."""
    info = dict(app14=None, jfif=False, sof=None, size=None, ids=[], sampling=[], dqt={},
                ok=stream[:2] == SOI)
    i = 2
    while info["ok"] and i + 4 <= len(stream) and stream[i] == 0xFF:
        marker = stream[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = struct.unpack(">H", stream[i + 2:i + 4])[0]
        seg = stream[i + 4:i + 2 + length]
        if marker == 0xE0 and seg[:5] == b"JFIF\0":
            info["jfif"] = True
        elif marker == 0xEE and seg[:5] == b"Adobe" and len(seg) >= 12:
            info["app14"] = seg[11]
        elif marker == 0xDB:
            k = 0
            while k < len(seg):
                size = 128 if seg[k] >> 4 else 64
                info["dqt"][seg[k] & 15] = bytes(seg[k + 1:k + 1 + size])
                k += 1 + size
        elif 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            info["sof"] = marker
            info["size"] = (struct.unpack(">H", seg[3:5])[0], struct.unpack(">H", seg[1:3])[0])
            for c in range(seg[5]):
                info["ids"].append(seg[6 + 3 * c])
                info["sampling"].append((seg[7 + 3 * c] >> 4, seg[7 + 3 * c] & 15))
        elif marker in (0xDA, 0xD9):
            break
        i += 2 + length
    return info


def jpeg_is_rgb(header, tiff_photometric):
    """The contract's colour rule, from the bitstream first: Adobe APP14 -> its transform;
    JFIF -> YCbCr; component ids 'R','G','B' -> RGB; chroma subsampled -> YCbCr; else the
    TIFF Photometric (2 RGB, 6 YCbCr) decides."""
    if header["app14"] is not None:
        return header["app14"] == 0
    if header["jfif"]:
        return False
    if header["ids"] == [ord("R"), ord("G"), ord("B")]:
        return True
    if len(set(header["sampling"])) > 1:
        return False
    return tiff_photometric != 6


def spliced_tile(tables, tile, rgb):
    """The contract's frame for an abbreviated TIFF JPEG tile."""
    return SOI + (ADOBE_RGB if rgb else b"") + (tables[2:-2] if tables else b"") + tile[2:]


def jpeg_segments(stream):
    """[(marker, start, end)] of a JPEG stream's header segments up to and including its
    SOS; None when the stream is not one."""
    if stream[:2] != SOI:
        return None
    segments, i = [], 2
    while i + 4 <= len(stream) and stream[i] == 0xFF:
        marker = stream[i + 1]
        end = i + 2 + struct.unpack(">H", stream[i + 2:i + 4])[0]
        segments.append((marker, i, end))
        if marker == 0xDA:
            return segments
        i = end
    return None


def joined_strips(image):
    """The contract's one JPEG for an image stored as JPEG strips, or (None, why) when the
    strips cannot be joined so and the image must be encoded. The frame is SOI, [Adobe
    APP14 transform 0 when the strips are RGB], the JPEGTables without SOI/EOI, strip 1's
    segments before its SOS with the SOF height set to the image's, [DRI of one strip's
    MCUs when there are several strips], strip 1's SOS, then every strip's entropy-coded
    data, RST0..RST7 in turn between strips, and EOI. An image embedded as one JPEG is
    that JPEG."""
    if isinstance(image, EmbeddedImage):
        return image.jpeg, None
    if image.compression != 7:
        return None, "not JPEG"
    orientation = tiffdirs.number(image.ifd, 274, 1)
    if orientation != 1 or image.photometric not in (2, 6):
        return None, "Orientation %d, Photometric %s" % (orientation, image.photometric)
    strips = [image.raw(k) for k in range(len(image.offsets))]
    rps = tiffdirs.number(image.ifd, tiffdirs.ROWS_PER_STRIP, 2 ** 32 - 1)
    if len(strips) != -(-image.height // rps) or not all(strips):
        return None, "strips missing"
    first = jpeg_segments(strips[0])
    if first is None:
        return None, "strip 1 is not a JPEG"
    header = jpeg_header((image.tables[:-2] if image.tables else SOI) + strips[0][2:])
    sof = [seg for seg in first if seg[0] == 0xC0]
    if header["sof"] != 0xC0 or len(sof) != 1 or len(header["ids"]) != 3 or \
            header["size"][0] != image.width or any(m == 0xDD for m, _, _ in first):
        return None, "not one baseline 3-component scan without restarts"
    sos_start, data_start = first[-1][1], first[-1][2]
    if strips[0][sos_start + 4] != 3:
        return None, "scan not interleaved"
    height_at = sof[0][1] + 5
    mcu_w = 8 * max(h for h, _ in header["sampling"])
    mcu_h = 8 * max(v for _, v in header["sampling"])
    if len(strips) > 1 and rps % mcu_h:
        return None, "strips of %d rows, MCUs of %d" % (rps, mcu_h)
    scans = []
    for k, strip in enumerate(strips):
        rows = min(rps, image.height - k * rps)
        segs = jpeg_segments(strip)
        if segs is None or segs[-1][2] != data_start or \
                strip[:height_at] + strip[height_at + 2:data_start] != \
                strips[0][:height_at] + strips[0][height_at + 2:data_start] or \
                struct.unpack(">H", strip[height_at:height_at + 2])[0] != rows:
            return None, "strip %d's headers differ" % (k + 1)
        scan = strip[data_start:]
        scan = scan[:-2] if scan.endswith(b"\xff\xd9") else scan
        if re.search(rb"\xff[^\x00]", scan) or scan.endswith(b"\xff") or not scan:
            return None, "strip %d's scan holds a marker" % (k + 1)
        scans.append(scan)
    rgb = jpeg_is_rgb(header, image.photometric)
    head = strips[0][2:height_at] + struct.pack(">H", image.height) + \
        strips[0][height_at + 2:sos_start]
    if len(strips) > 1:
        interval = -(-image.width // mcu_w) * (rps // mcu_h)
        head += b"\xff\xdd\x00\x04" + struct.pack(">H", interval)
    head += strips[0][sos_start:data_start]
    body = b"".join(scan + (bytes((0xFF, 0xD0 + k % 8)) if k + 1 < len(scans) else b"")
                    for k, scan in enumerate(scans))
    return (SOI + (ADOBE_RGB if rgb else b"") + (image.tables[2:-2] if image.tables else b"")
            + head + body + b"\xff\xd9"), "joined"


def j2k_header(stream):
    """SIZ/COD facts of a raw codestream: {'ncomp', 'mct', 'wavelet' (0 9/7, 1 5/3),
    'size'}; None when it does not start with SOC SIZ."""
    if stream[:4] != b"\xff\x4f\xff\x51":
        return None
    info, i = {}, 2
    while i + 4 <= len(stream):
        marker, length = struct.unpack(">HH", stream[i:i + 4])
        seg = stream[i + 4:i + 2 + length]
        if marker == 0xFF51:
            xsiz, ysiz, xo, yo = struct.unpack(">IIII", seg[2:18])
            info["size"] = (xsiz - xo, ysiz - yo)
            info["ncomp"] = struct.unpack(">H", seg[34:36])[0]
        elif marker == 0xFF52:
            info["mct"], info["wavelet"] = seg[4], seg[9]
        elif marker == 0xFF90:
            break
        i += 2 + length
    return info


def j2k_pi(header):
    if header.get("mct"):
        return "YBR_RCT" if header.get("wavelet") == 1 else "YBR_ICT"
    return "RGB"


def decode_frame(stream, ts, photometric):
    if ts == JPEG_2000:
        return wsmcheck.decode_j2k(stream, photometric)
    space = wsmcheck.jpeg_space_for_pi(photometric)
    if space is None:
        raise ValueError("PI %s is not a JPEG colour space" % photometric)
    return wsmcheck.decode_jpeg(stream, space)[0]


def decode_partial(stream, space):
    """What PIL can make of a damaged JPEG (truncated data allowed), or None."""
    ImageFile.LOAD_TRUNCATED_IMAGES = True
    try:
        return wsmcheck.decode_jpeg(stream, space)[0]
    except Exception:
        return None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = False


def libjpeg_tables(quality):
    buf = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buf, "JPEG", quality=quality)
    return jpeg_header(buf.getvalue())["dqt"]


def unpad(fragment):
    """A DICOM fragment holds the frame plus one 00 byte when the frame length is odd."""
    return fragment[:-1] if len(fragment) % 2 == 0 and fragment.endswith(b"\xff\xd9\0") \
        else fragment


def padded(frame):
    return frame + b"\0" if len(frame) % 2 else frame


# --------------------------------------------------------------------------
# The source, from its TIFF bytes
# --------------------------------------------------------------------------

class SourceLevel:
    """One pyramid level of the source TIFF: an Aperio / generic / Philips tiled directory,
    or an NDPI strip level. width x height is the level's image; a Philips level is stored
    larger (padded to whole tiles, stored_across tiles a row), and its tiles of zero length
    are sparse: never scanned, background by design rather than missing. A Leica level is
    the glass, the directory's tiles placed from its tile (col0, row0) on, the frames
    outside them empty."""

    def __init__(self, data, index, ifd):
        self.data, self.index, self.ifd = data, index, ifd
        self.width = tiffdirs.number(ifd, tiffdirs.WIDTH)
        self.height = tiffdirs.number(ifd, tiffdirs.LENGTH)
        self.compression = tiffdirs.number(ifd, tiffdirs.COMPRESSION, 1)
        self.photometric = tiffdirs.number(ifd, tiffdirs.PHOTOMETRIC)
        self.ndpi = tiffdirs.NDPI_MCU_STARTS in ifd
        self.tiled = tiffdirs.TILE_WIDTH in ifd
        self.tile = (tiffdirs.number(ifd, tiffdirs.TILE_WIDTH),
                     tiffdirs.number(ifd, tiffdirs.TILE_LENGTH)) if self.tiled else None
        self.offsets, self.counts = tiffdirs.pieces(ifd)
        self.tables = ifd[tiffdirs.JPEG_TABLES][2] if tiffdirs.JPEG_TABLES in ifd else None
        self.stored_across = math.ceil(self.width / self.tile[0]) if self.tiled else None
        self.stored_down = math.ceil(self.height / self.tile[1]) if self.tiled else None
        self.sparse = False
        self.col0 = self.row0 = 0

    @property
    def kind(self):
        if self.ndpi and self.compression == 7:
            return "ndpi"
        if self.tiled and self.compression == 7:
            return "jpeg"
        if self.tiled and self.compression == 33005:
            return "j2k"
        return "other"

    def stored(self, k):
        """The stored tile of the level's frame k (row-major over the level's image), None
        outside the stored tiles."""
        if not self.tiled:
            return k
        r, c = divmod(k, self.grid()[0])
        r, c = r - self.row0, c - self.col0
        if not (0 <= r < self.stored_down and 0 <= c < self.stored_across):
            return None
        return r * self.stored_across + c

    def frames(self):
        across, down = self.grid() if self.tiled else (len(self.offsets), 1)
        return across * down

    def absent(self, k):
        """Frame k is outside the stored tiles, or a sparse level's tile never stored."""
        stored = self.stored(k)
        return stored is None or (self.sparse and self.counts[stored] == 0)

    def raw(self, k):
        """Bytes of the level's tile (or strip) k as stored, b'' when its byte count is 0
        or it lies outside the file."""
        k = self.stored(k)
        if k is None:
            return b""
        off, count = self.offsets[k], self.counts[k]
        if count == 0 or off + count > len(self.data):
            return b""
        return self.data[off:off + count]

    def grid(self):
        return (math.ceil(self.width / self.tile[0]), math.ceil(self.height / self.tile[1]))


PHILIPS_LABELS = {"LABELIMAGE": "label", "MACROIMAGE": "macro"}


def philips_xml(dirs):
    """The XML root of a Philips TIFF (Software "Philips...", a DataObject DPUfsImport
    description), or None."""
    software = tiffdirs.text(dirs[0], 305) if dirs else None
    description = tiffdirs.text(dirs[0], 270) if dirs else None
    if not (software or "").startswith("Philips") or not description:
        return None
    try:
        root = ElementTree.fromstring(description)
    except ElementTree.ParseError:
        return None
    return root if root.tag == "DataObject" and root.get("ObjectType") == "DPUfsImport" else None


def philips_attribute(obj, name):
    return next((a for a in obj.findall("Attribute") if a.get("Name") == name), None)


def philips_images(root, kind):
    """The DPScannedImage objects of that PIM_DP_IMAGE_TYPE (WSI, LABELIMAGE...)."""
    images = philips_attribute(root, "PIM_DP_SCANNED_IMAGES")
    return [o for o in (images.findall("Array/DataObject") if images is not None else [])
            if (philips_attribute(o, "PIM_DP_IMAGE_TYPE").text
                if philips_attribute(o, "PIM_DP_IMAGE_TYPE") is not None else None) == kind]


def philips_spacings(root):
    """(row, column) pixel spacing in mm of each level, from the WSI's representations."""
    wsi = philips_images(root, "WSI")[0]
    seq = philips_attribute(wsi, "PIIM_PIXEL_DATA_REPRESENTATION_SEQUENCE")
    out = []
    for rep in seq.findall("Array/DataObject"):
        values = philips_attribute(rep, "DICOM_PIXEL_SPACING").text.replace('"', " ").split()
        out.append((float(values[0]), float(values[1])))
    return out


SCN_NAMESPACES = ("http://www.leica-microsystems.com/scn/2010/03/10",
                  "http://www.leica-microsystems.com/scn/2010/10/01")


def scn_xml(dirs):
    """(root, namespace) of a Leica SCN's XML description, or None."""
    description = tiffdirs.text(dirs[0], 270) if dirs else ""
    if "leica-microsystems.com/scn" not in description:
        return None
    try:
        root = ElementTree.fromstring(description)
    except ElementTree.ParseError:
        return None
    return next(((root, ns) for ns in SCN_NAMESPACES if root.tag == "{%s}scn" % ns), None)


def scn_levels(data, dirs, root, ns):
    """A Leica SCN's levels as OpenSlide shows them: for its first brightfield region (an
    image that is not the glass-sized macro), the glass at each of its dimensions'
    resolution (rounded up), the dimension's directory placed at the region's offset."""
    def q(*names):
        return "/".join("{%s}%s" % (ns, n) for n in names)
    collection = root.find(q("collection"))
    glass = (int(collection.get("sizeX")), int(collection.get("sizeY")))
    for image in collection.findall(q("image")):
        view = image.find(q("view"))
        w, h, x, y = (int(view.get(k)) for k in ("sizeX", "sizeY", "offsetX", "offsetY"))
        source = image.find(q("scanSettings", "illuminationSettings", "illuminationSource"))
        if (x, y, (w, h)) == (0, 0, glass) or source is None or source.text != "brightfield":
            continue
        dims = sorted((d for d in image.findall(q("pixels", "dimension"))
                       if d.get("z", "0") == "0"), key=lambda d: -int(d.get("sizeX")))
        levels = []
        for d in dims:
            index = int(d.get("ifd"))
            level = SourceLevel(data, index, dirs[index])
            nm = w / int(d.get("sizeX"))
            level.col0, level.row0 = int(x / nm) // level.tile[0], int(y / nm) // level.tile[1]
            level.width, level.height = math.ceil(glass[0] / nm), math.ceil(glass[1] / nm)
            levels.append(level)
        return levels
    return []


def source_levels(path):
    """The pyramid levels of a TIFF slide as the contract sees them (tiled directories;
    for NDPI the directories with restart-marker offsets), [] for a non-TIFF source.
    Philips: a reduced level's image is level 0's divided by the whole ratio of its pixel
    spacing to level 0's (the directories are padded to whole tiles), its tiles sparse."""
    data = open(path, "rb").read()
    if not tiffdirs.is_tiff(data):
        return []
    dirs = list(tiffdirs.directories(data))
    scn = scn_xml(dirs)
    if scn:
        return scn_levels(data, dirs, *scn)
    ndpi = any(tiffdirs.NDPI_MCU_STARTS in d for d in dirs)
    levels = []
    for index, ifd in enumerate(dirs):
        if (ndpi and tiffdirs.NDPI_MCU_STARTS in ifd) or (not ndpi and tiffdirs.TILE_WIDTH in ifd):
            levels.append(SourceLevel(data, index, ifd))
    root = philips_xml(dirs)
    if root is not None:
        spacings = philips_spacings(root)
        (row0, col0), first = spacings[0], levels[0]
        for level, (row, col) in zip(levels, spacings):
            ds = round((col / col0 + row / row0) / 2)
            level.width, level.height = first.width // ds, first.height // ds
            level.sparse = True
    return levels


class EmbeddedImage:
    """A Philips label or macro kept as a base64 JPEG in the XML description: a copy is
    that JPEG as it is."""

    def __init__(self, kind, jpeg):
        self.kind, self.jpeg, self.index = kind, jpeg, "XML " + kind
        self.width, self.height = Image.open(io.BytesIO(jpeg)).size


def source_images(path):
    """The stripped directories of a TIFF slide that are no level (Aperio's thumbnail,
    label and macro; NDPI's macro; Philips' label and macro), and a Philips XML's JPEGs,
    by (width, height); {} for a non-TIFF source."""
    data = open(path, "rb").read()
    if not tiffdirs.is_tiff(data):
        return {}
    images = {}
    dirs = list(tiffdirs.directories(data))
    for index, ifd in enumerate(dirs):
        if tiffdirs.TILE_WIDTH not in ifd and tiffdirs.NDPI_MCU_STARTS not in ifd and \
                tiffdirs.STRIP_OFFSETS in ifd:
            image = SourceLevel(data, index, ifd)
            images.setdefault((image.width, image.height), image)
    root = philips_xml(dirs)
    for kind in PHILIPS_LABELS if root is not None else ():
        found = philips_images(root, kind)
        data_attr = philips_attribute(found[0], "PIM_DP_IMAGE_DATA") if found else None
        if data_attr is not None:
            image = EmbeddedImage(kind, base64.b64decode(data_attr.text))
            images.setdefault((image.width, image.height), image)
    return images


def openslide_level(slide, size):
    try:
        return list(slide.level_dimensions).index(tuple(size))
    except ValueError:
        return None


# --------------------------------------------------------------------------
# Expected frames and their pixels
# --------------------------------------------------------------------------

class ExpectedTile:
    """What the contract makes of source tile k: the frame bytes (None when the tile
    cannot be copied), its pixels as PIL decodes it, and for broken tiles what PIL can
    still decode (or None)."""

    def __init__(self, level, k, rgb):
        raw = level.raw(k)
        self.frame, self.pixels, self.partial, self.why = None, None, None, None
        if level.kind == "j2k":
            if j2k_header(raw) is None:
                self.why = "zero length" if not raw else "not a J2K codestream"
                return
            try:
                self.pixels = wsmcheck.decode_j2k(raw, "RGB")
                self.frame = raw
            except Exception as exc:
                self.why = "OpenJPEG cannot decode it: %s" % exc
            return
        if not raw:
            self.why = "zero length"
            return
        if raw[:2] != SOI:
            self.why = "does not start with SOI"
            return
        stream = spliced_tile(level.tables, raw, rgb)
        space = "RGB" if rgb else "YCbCr"
        try:
            self.pixels = wsmcheck.decode_jpeg(stream, space)[0]
            self.frame = stream
        except Exception as exc:
            self.why = "libjpeg cannot decode it: %s" % exc
            self.partial = decode_partial(stream, space)


def copied_tile(level, k, rgb):
    """The bytes a copy of tile k would be (what ExpectedTile.frame is for a tile that
    decodes), without decoding it; b'' for a tile that cannot be copied."""
    raw = level.raw(k)
    if level.kind == "j2k":
        return raw if j2k_header(raw) is not None else b""
    return spliced_tile(level.tables, raw, rgb) if raw[:2] == SOI else b""


_expected = {}


def expected_tile(level, k, rgb):
    """ExpectedTile, kept: the mutation checks go over the same level again."""
    key = (id(level), k, rgb)
    if key not in _expected:
        _expected[key] = ExpectedTile(level, k, rgb)
    return _expected[key]


def level_is_rgb(level):
    """Colour coding of a JPEG level, from its first tile that has a header."""
    for k in range(level.frames()):
        raw = level.raw(k)
        if raw[:2] == SOI:
            head = jpeg_header(spliced_tile(level.tables, raw, False))
            if head["sof"]:
                return jpeg_is_rgb(head, level.photometric)
    return level.photometric != 6


def mosaic_of(tiles, across, down, tw, th):
    """Tiles (row-major arrays or None) laid out as one image; None tiles stay grey."""
    out = np.full((down * th, across * tw, 3), 128, np.uint8)
    for k, px in enumerate(tiles):
        if px is None:
            continue
        r, c = divmod(k, across)
        h, w = min(th, px.shape[0]), min(tw, px.shape[1])
        out[r * th:r * th + h, c * tw:c * tw + w] = px[:h, :w]
    return out


def masked_psnr(actual, expected, mask=None):
    """PSNR over the pixels where mask is True (all when None), in row bands to keep the
    memory of full-resolution levels low."""
    total, count = 0.0, 0
    for y in range(0, actual.shape[0], 256):
        diff = actual[y:y + 256].astype(np.float32) - expected[y:y + 256].astype(np.float32)
        if mask is not None:
            diff = diff[mask[y:y + 256]]
        total += float(np.square(diff, dtype=np.float64).sum())
        count += diff.size
    mse = total / count if count else 0.0
    return math.inf if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


_references = {}


def reference_level(slide, level, background):
    """OpenSlide's pixels of the source level of the same size (kept: the mutation
    checks compare the same level again)."""
    index = openslide_level(slide, (level.width, level.height))
    if index is None:
        return None
    key = (id(slide), index, tuple(background))
    if key not in _references:
        _references[key] = wsmcheck.level_reference(slide, index, background)
    return _references[key]


# --------------------------------------------------------------------------
# Checks of one output level
# --------------------------------------------------------------------------

def frames_of(ds):
    n = int(ds.get("NumberOfFrames", 1) or 1)
    return [bytes(f) for f in generate_pixel_data_frame(ds.PixelData, n)]


def check_copied_tiles(name, ds, level, slide, background, fails, replaced_expected):
    """Aperio / generic TIFF JPEG or JPEG 2000 tiles copied into frames."""
    ts = ds.file_meta.TransferSyntaxUID
    pi = ds.PhotometricInterpretation
    frames = frames_of(ds)
    across, down = level.grid()
    if len(frames) != across * down:
        fails.fail(name, "%d frames, the source level has %d tiles" % (len(frames), across * down))
        return
    if (int(ds.Columns), int(ds.Rows)) != level.tile:
        fails.fail(name, "frames %dx%d, the source's tiles are %dx%d"
                   % ((int(ds.Columns), int(ds.Rows)) + level.tile))
        return
    notes = []
    if level.kind == "jpeg":
        rgb = level_is_rgb(level)
        want_ts, want_pi = JPEG_BASELINE, "RGB" if rgb else "YBR_FULL_422"
        method = "ISO_10918_1"
    else:
        rgb = True
        first = next((j2k_header(level.raw(k)) for k in range(len(frames))
                      if j2k_header(level.raw(k))), None)
        want_ts, want_pi = JPEG_2000, j2k_pi(first or {})
        method = "ISO_15444_1"
    if ts != want_ts:
        fails.fail(name, "transfer syntax %s, expected %s for copied %s tiles"
                   % (ts, want_ts, level.kind.upper()))
    if pi != want_pi:
        fails.fail(name, "PI %s, expected %s from the source bitstream" % (pi, want_pi))

    decoded, mismatched, broken, undecodable = [], [], [], []
    pixel_diff_frames, worst_diff = [], 0
    for k, fragment in enumerate(frames):
        tile = expected_tile(level, k, rgb)
        frame = unpad(fragment) if ts == JPEG_BASELINE else fragment
        try:
            # The same bytes read with the same colour path decode to the same pixels:
            # decode again only when the bytes or the PI differ from the expectation.
            same = tile.frame is not None and fragment == padded(tile.frame)
            if same and pi == want_pi:
                px = tile.pixels
            elif same and ts == JPEG_2000:
                # OpenJPEG's output does not depend on the PI; only the conversion after.
                px = tile.pixels if pi in ("RGB", "YBR_ICT", "YBR_RCT") \
                    else wsmcheck.ycbcr_as_rgb(tile.pixels)
            else:
                px = decode_frame(frame, ts, pi)
            if px.shape[:2] != (level.tile[1], level.tile[0]):
                raise ValueError("decoded %dx%d" % (px.shape[1], px.shape[0]))
        except Exception as exc:
            undecodable.append((k, str(exc)))
            px = None
        decoded.append(px)
        if tile.frame is None:
            broken.append((k, tile))
            continue
        if fragment != padded(tile.frame):
            mismatched.append(k)
        if ts == JPEG_2000 and j2k_header(frame) is None:
            fails.fail(name, "frame %d is not a raw J2K codestream (no FF4F FF51)" % (k + 1))
        if px is not None:
            diff = int(np.abs(px.astype(np.int16) - tile.pixels.astype(np.int16)).max())
            if diff:
                pixel_diff_frames.append(k)
                worst_diff = max(worst_diff, diff)
    for k, message in undecodable[:3]:
        fails.fail(name, "frame %d does not decode: %s" % (k + 1, message))
    if mismatched:
        first = mismatched[0]
        fails.fail(name, "%d of %d frames differ from the spliced source tile (first: frame "
                   "%d, %d bytes vs %d expected)"
                   % (len(mismatched), len(frames), first + 1, len(frames[first]),
                      len(padded(expected_tile(level, first, rgb).frame))))
    if pixel_diff_frames:
        fails.fail(name, "%d frames decoded as PI %s differ from the source tile decoded by PIL "
                   "(first frame %d, max abs diff %d)"
                   % (len(pixel_diff_frames), pi, pixel_diff_frames[0] + 1, worst_diff))
    notes.append("%d/%d frames byte-identical to the source" %
                 (len(frames) - len(mismatched) - len(broken), len(frames)))

    # Replaced tiles: background, or what can still be decoded of the tile. Frames a level
    # never stored (a sparse level's tiles, the glass around a Leica region) are background
    # too, but no replacement: the report counts none of them, OpenSlide shows empty glass.
    absent = [k for k, _ in broken if level.absent(k)]
    bg = np.array(background, np.int16)
    for k, tile in broken:
        px = decoded[k]
        if px is None:
            continue
        flat = int(np.abs(px.astype(np.int16) - bg).max())
        near_tile = tile.partial is not None and masked_psnr(px, tile.partial) >= COLOUR_PSNR_MIN
        if flat > BACKGROUND_MAX_DIFF and not near_tile:
            fails.fail(name, "frame %d replaces source tile %d (%s) but is neither the background "
                       "%s (max abs diff %d) nor the decodable part of the tile"
                       % (k + 1, k, tile.why, tuple(background), flat))
    if absent:
        notes.append("%d frames empty by design (never stored) are background" % len(absent))
    broken = [(k, t) for k, t in broken if k not in absent]
    if replaced_expected is not None and replaced_expected != len(broken):
        fails.fail(name, "report says %d replaced tiles, the source has %d that cannot be copied "
                   "(%s)" % (replaced_expected, len(broken),
                             ", ".join("tile %d: %s" % (k, t.why) for k, t in broken) or "none"))
    if broken:
        notes.append("%d replaced (%s)" % (len(broken),
                                           ", ".join("tile %d %s" % (k, t.why) for k, t in broken)))

    # Colours: the level against OpenSlide's decode of the same source level.
    reference = reference_level(slide, level, background)
    if reference is None:
        fails.fail(name, "OpenSlide has no %dx%d level to compare" % (level.width, level.height))
    else:
        tw, th = level.tile
        mosaic = mosaic_of(decoded, across, down, tw, th)[:level.height, :level.width]
        mask = np.ones(mosaic.shape[:2], bool)
        for k, _ in broken + [(k, None) for k, _ in undecodable]:
            r, c = divmod(k, across)
            mask[r * th:(r + 1) * th, c * tw:(c + 1) * tw] = False
        value = masked_psnr(mosaic, reference, mask)
        notes.insert(0, "PSNR %.2f dB vs OpenSlide" % value)
        if value < COLOUR_PSNR_MIN:
            fails.fail(name, "PSNR %.2f dB vs OpenSlide's level %dx%d, below %.0f dB (colour "
                       "coding or tile order wrong)"
                       % (value, level.width, level.height, COLOUR_PSNR_MIN))
    check_lossy_history(name, ds, frames, method, fails)
    return notes


def check_ndpi_level(name, ds, level, slide, background, frame_size, fails, replaced_expected):
    """NDPI: the strip cut into frames at DCT-block level. A frame that differs from
    OpenSlide's decode must be a replacement (all background), and the report must count
    at least those (a replaced frame over empty glass may not differ)."""
    notes = []
    strip = level.raw(0)
    head = jpeg_header(strip)
    if ds.file_meta.TransferSyntaxUID != JPEG_BASELINE:
        fails.fail(name, "transfer syntax %s, expected JPEG baseline for NDPI"
                   % ds.file_meta.TransferSyntaxUID)
        return notes
    if ds.PhotometricInterpretation != "YBR_FULL_422":
        fails.fail(name, "PI %s, expected YBR_FULL_422 (the strip is YCbCr)"
                   % ds.PhotometricInterpretation)
    if (int(ds.Columns), int(ds.Rows)) != (frame_size, frame_size):
        fails.fail(name, "frames %sx%s, expected the frame size %d" % (ds.Columns, ds.Rows,
                                                                        frame_size))
        return notes
    frames = frames_of(ds)
    across, down = math.ceil(level.width / frame_size), math.ceil(level.height / frame_size)
    if len(frames) != across * down:
        fails.fail(name, "%d frames, expected %d" % (len(frames), across * down))
        return notes
    space = wsmcheck.jpeg_space_for_pi(ds.PhotometricInterpretation) or "YCbCr"
    decoded, bad_header = [], []
    for k, fragment in enumerate(frames):
        frame = unpad(fragment)
        fh = jpeg_header(frame)
        if (fh["sof"] != 0xC0 or fh["size"] != (frame_size, frame_size)
                or fh["sampling"] != head["sampling"] or fh["dqt"] != head["dqt"]
                or fh["app14"] == 0):
            bad_header.append(k)
        try:
            decoded.append(wsmcheck.decode_jpeg(frame, space)[0])
        except Exception as exc:
            fails.fail(name, "frame %d does not decode: %s" % (k + 1, exc))
            decoded.append(None)
    # A replacement frame (all background) is made by the encoder, with its own tables.
    bg = np.array(background, np.int16)
    flat = [px is not None and int(np.abs(px.astype(np.int16) - bg).max())
            <= BACKGROUND_MAX_DIFF for px in decoded]
    bad_header = [k for k in bad_header if not flat[k]]
    if bad_header:
        k = bad_header[0]
        fh = jpeg_header(unpad(frames[k]))
        fails.fail(name, "%d frames are not baseline %dx%d JPEGs with the strip's sampling and "
                   "quantisation tables (first frame %d: SOF %s size %s sampling %s, tables %s)"
                   % (len(bad_header), frame_size, frame_size, k + 1,
                      "%02X" % fh["sof"] if fh["sof"] else None, fh["size"], fh["sampling"],
                      "same" if fh["dqt"] == head["dqt"] else "different"))
    mosaic = mosaic_of(decoded, across, down, frame_size, frame_size)
    reference = reference_level(slide, level, background)
    if reference is None:
        fails.fail(name, "OpenSlide has no %dx%d level" % (level.width, level.height))
        return notes
    inside = mosaic[:level.height, :level.width].astype(np.int16)
    diff = np.abs(inside - reference.astype(np.int16)).max(axis=2)
    replaced, background_frames = [], sum(flat)
    for k in range(len(decoded)):
        r, c = divmod(k, across)
        area = (slice(r * frame_size, (r + 1) * frame_size),
                slice(c * frame_size, (c + 1) * frame_size))
        if flat[k] and diff[area].any():
            replaced.append(k)
            diff[area] = 0
    if diff.any():
        ys, xs = np.nonzero(diff)
        first = (ys[0] // frame_size) * across + xs[0] // frame_size + 1
        fails.fail(name, "reassembled level differs from OpenSlide's decode: %d pixels, max abs "
                   "diff %d, first at (x %d, y %d) in frame %d"
                   % (len(ys), int(diff.max()), xs[0], ys[0], first))
    if replaced_expected is not None and not (
            len(replaced) <= replaced_expected <= background_frames):
        fails.fail(name, "report says %d replaced frames; %d frames are background where the "
                   "source is not, %d are background in all" % (replaced_expected, len(replaced),
                                                               background_frames))
    notes.append("inside: max abs diff %d vs OpenSlide (PSNR %.2f dB)%s"
                 % (int(diff.max()), masked_psnr(inside, reference),
                    ", frames %s replaced by background" % [k + 1 for k in replaced]
                    if replaced else ""))
    pad = np.ones(mosaic.shape[:2], bool)
    pad[:level.height, :level.width] = False
    if pad.any():
        worst = int(np.abs(mosaic[pad].astype(np.int16) - np.array(background, np.int16)).max())
        notes.append("padding max abs diff %d vs background %s" % (worst, tuple(background)))
        if worst > NDPI_PADDING_MAX_DIFF:
            fails.fail(name, "padding outside the image is not the background %s: max abs diff "
                       "%d (limit %d)" % (tuple(background), worst, NDPI_PADDING_MAX_DIFF))
    check_lossy_history(name, ds, frames, "ISO_10918_1", fails)
    return notes


def check_lossy_history(name, ds, frames, method, fails):
    """A copied lossy level: Lossy Image Compression 01, the source's method alone, ratio
    = uncompressed frame bytes / written frame bytes."""
    methods = ds.get("LossyImageCompressionMethod")
    methods = [methods] if isinstance(methods, str) else list(methods or [])
    ratios = ds.get("LossyImageCompressionRatio")
    ratios = [float(ratios)] if ratios is not None and not isinstance(
        ratios, pydicom.multival.MultiValue) else [float(r) for r in ratios or []]
    want = len(frames) * int(ds.Rows) * int(ds.Columns) * 3 / sum(len(f) for f in frames)
    if ds.get("LossyImageCompression") != "01" or methods != [method] or len(ratios) != 1 \
            or abs(ratios[0] - want) > 0.01 * want:
        fails.fail(name, "lossy history %s / %s / %s, expected 01 / [%s] / [%.2f] for a copied "
                   "level" % (ds.get("LossyImageCompression"), methods, ratios, method, want))


def check_encoded_level(name, ds, level, quality, fails):
    """A level the report says was encoded does not pass a copy off as its own work: its
    frames are our encoder's JPEG (libjpeg's tables at --quality) and none of them is the
    source tile at its place copied."""
    ts = ds.file_meta.TransferSyntaxUID
    if ts != JPEG_BASELINE:
        fails.fail(name, "encoded level in transfer syntax %s, expected JPEG baseline" % ts)
        return []
    frames = [unpad(f) for f in frames_of(ds)]
    tables = jpeg_header(frames[0])["dqt"]
    if tables != libjpeg_tables(quality):
        fails.fail(name, "mode encode but the frames do not carry libjpeg's quantisation "
                   "tables at quality %d" % quality)
    if level is not None and level.kind in ("jpeg", "j2k") and \
            (int(ds.Columns), int(ds.Rows)) == level.tile:
        rgb = level.kind == "j2k" or level_is_rgb(level)
        copied = [k + 1 for k, frame in enumerate(frames[:level.frames()])
                  if frame == copied_tile(level, k, rgb)]
        if copied:
            fails.fail(name, "mode encode but %d frames are the source tiles copied (first: "
                       "frame %d)" % (len(copied), copied[0]))
    return ["libjpeg q%d tables" % quality]


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------

def check_level(name, ds, entry, level, slide, background, args, fails):
    """All checks of one level file, as the report states it was made: a "copy" must be
    the source level's tiles (or NDPI strip) byte for byte, an "encode" our encoder's
    frames. Returns summary notes."""
    ts, pi = ds.file_meta.TransferSyntaxUID, ds.PhotometricInterpretation
    mode = entry.get("mode") if entry else None
    if entry is None:
        fails.fail(name, "not in the JSON report")
    else:
        for key, value in (("transfer_syntax", ts), ("photometric", pi)):
            if entry.get(key) != value:
                fails.fail(name, "report %s %r, the file has %r" % (key, entry.get(key), value))
        if mode not in ("copy", "encode"):
            fails.fail(name, "report mode %r, expected copy or encode" % mode)
    source = ("source IFD %d (%s, %dx%d%s)" % (level.index, level.kind, level.width, level.height,
                                               ", tiles %dx%d" % level.tile if level.tiled else "")
              if level is not None else "no source level of this size")
    replaced = entry.get("replaced_tiles") if entry else None
    if entry is not None and not isinstance(replaced, int):
        fails.fail(name, "report replaced_tiles %r, expected a number" % replaced)
        replaced = None
    if mode == "copy" and (level is None or level.kind == "other"):
        fails.fail(name, "report mode copy, but there is nothing to copy: %s" % source)
        notes = ["not checked further"]
    elif mode == "copy":
        if level.kind == "ndpi":
            # The strip is cut into frames of the converter's frame size.
            notes = check_ndpi_level(name, ds, level, slide, background,
                                     args.tile_size or DEFAULT_FRAME, fails, replaced)
        else:
            notes = check_copied_tiles(name, ds, level, slide, background, fails, replaced)
    elif mode == "encode":
        notes = check_encoded_level(name, ds, level, args.quality, fails)
        if replaced:
            fails.fail(name, "report says %d replaced tiles for an encoded level" % replaced)
    else:
        notes = ["not checked further"]
    return "%s [%s] %s %s: %s" % (name, mode, source, pi, "; ".join(notes or []))


ASSOCIATED = {"label.dcm": "label", "overview.dcm": "macro", "thumbnail.dcm": "thumbnail"}


def where(image):
    return image.index if isinstance(image, EmbeddedImage) else "IFD %d" % image.index


def check_associated(name, ds, entry, image, slide, background, args, fails):
    """A label, overview or thumbnail, as the report states it was made: a "copy" is
    exactly the source's JPEG strips joined as the contract joins them (with the lossy
    history of a copy); an "encode" is not those strips."""
    ts, pi = ds.file_meta.TransferSyntaxUID, ds.PhotometricInterpretation
    for key, value in (("transfer_syntax", ts), ("photometric", pi)):
        if entry is None or entry.get(key) != value:
            fails.fail(name, "report %s %r, the file has %r" % (key, entry and entry.get(key),
                                                                value))
    mode = entry.get("mode") if entry else None
    frame, why = joined_strips(image) if image is not None else (None, "no source image")
    frames = [unpad(f) for f in frames_of(ds)]
    if mode == "encode":
        if frame is not None and frame in frames:
            fails.fail(name, "report mode encode, but the frame is the joined strips of source "
                       "%s copied" % where(image))
        return "%s [encode]: source %s" % (name, why)
    if mode != "copy":
        fails.fail(name, "report mode %r, expected copy or encode" % mode)
        return "%s [%s]" % (name, mode)
    if frame is None:
        fails.fail(name, "report mode copy, but the source has no strips to copy: %s" % why)
        return "%s [copy]: %s" % (name, why)
    if len(frames) != 1 or frames[0] != frame:
        fails.fail(name, "the frames (%s bytes) differ from the joined strips of source %s "
                   "(%d bytes)" % ([len(f) for f in frames], where(image), len(frame)))
        return "%s [copy]: differs" % name
    rgb = frame.startswith(SOI + ADOBE_RGB)
    if pi != ("RGB" if rgb else "YBR_FULL_422"):
        fails.fail(name, "PI %s for %s strips" % (pi, "RGB" if rgb else "YCbCr"))
    check_lossy_history(name, ds, frames, "ISO_10918_1", fails)
    source = ASSOCIATED[name]
    note = "%s [copy]: %s, %s, %s" % (
        name, where(image), "its JPEG" if isinstance(image, EmbeddedImage)
        else "%d strips joined" % len(image.offsets), pi)
    if source in slide.associated_images:
        psnr = masked_psnr(decode_frame(frame, ts, pi),
                           wsmcheck.associated_reference(slide, source, background))
        if psnr < COLOUR_PSNR_MIN:
            fails.fail(name, "differs from OpenSlide's %s: %.1f dB" % (source, psnr))
        note += ", %.1f dB vs OpenSlide" % psnr
    return note


def load_report(path, fails):
    try:
        report = json.load(open(path))
        return {f["name"]: f for f in report["files"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        fails.fail(Path(path).name, "cannot read the JSON report: %s" % exc)
        return {}


def run(args):
    fails = checks.Checks(show="none")
    levels = source_levels(args.source)
    slide = openslide.OpenSlide(args.reference or args.source)
    background = wsmcheck.background_rgb(slide)
    by_size = {(lv.width, lv.height): lv for lv in reversed(levels)}
    images = source_images(args.source)
    entries = load_report(args.report, fails)
    outdir = Path(args.outdir)
    fails.info("source %s: %s" % (Path(args.source).name, ", ".join(
        "IFD %d %s %dx%d" % (lv.index, lv.kind, lv.width, lv.height) for lv in levels) or
        "not a TIFF"))
    files = sorted(outdir.glob("*.dcm"), key=lambda p: (not LEVEL_FILE.match(p.name), p.name))
    if not any(LEVEL_FILE.match(p.name) for p in files):
        fails.fail(outdir.name, "no level-N.dcm files")
    checked = []
    for path in files:
        ds = pydicom.dcmread(str(path))
        entry = entries.get(path.name)
        if not LEVEL_FILE.match(path.name):
            size = (int(ds.Columns), int(ds.Rows))
            fails.info("  " + check_associated(path.name, ds, entry, images.get(size), slide,
                                               background, args, fails))
            continue
        size = (int(ds.TotalPixelMatrixColumns), int(ds.TotalPixelMatrixRows))
        level = by_size.get(size)
        summary = fails.guard(path.name, "check", check_level, path.name, ds, entry, level,
                              slide, background, args, fails)
        if summary is not None:
            fails.info("  " + summary)
        checked.append((path.name, ds, entry, level))
    if args.copied is not None:
        check_copied_set(entries, args.copied, fails)
    if args.mutations:
        run_mutations(checked, slide, background, args, fails)
    return fails.failures


def check_copied_set(entries, expected, fails):
    """The files the report says were copied are exactly the ones the test states for this
    slide and these options: a conversion that stops copying (or copies what it may not)
    fails here, even though each file it made is true to its own statement."""
    copied = sorted(name for name, entry in entries.items() if entry.get("mode") == "copy")
    expected = sorted(set(expected) - {"none"})
    if copied != expected:
        fails.fail("copied files", "the report copies %s, the test expects %s"
                   % (" ".join(copied) or "none", " ".join(expected) or "none"))
    else:
        fails.info("copied files as expected: %s" % (" ".join(copied) or "none"))


# --------------------------------------------------------------------------
# Proof that the checks can fail
# --------------------------------------------------------------------------

def with_frames(ds, frames):
    mutated = copy.deepcopy(ds)
    mutated.PixelData = encapsulate([padded(f) for f in frames], has_bot=True)
    return mutated


def run_mutations(checked, slide, background, args, fails):
    """Break the first copied level in memory three ways; each must be caught."""
    target = next(((n, ds, e, lv) for n, ds, e, lv in checked
                   if e and e.get("mode") == "copy" and lv is not None), None)
    if target is None:
        fails.fail("mutations", "no copied level to mutate")
        return
    name, ds, entry, level = target
    frames = [unpad(f) for f in frames_of(ds)]
    other_pi = {"RGB": "YBR_FULL_422", "YBR_FULL_422": "RGB", "YBR_ICT": "YBR_FULL_422",
                "YBR_RCT": "YBR_FULL_422"}[ds.PhotometricInterpretation]
    cases = []
    wrong_pi = copy.deepcopy(ds)
    wrong_pi.PhotometricInterpretation = other_pi
    cases.append(("PI %s instead of %s" % (other_pi, ds.PhotometricInterpretation), wrong_pi,
                  dict(entry, photometric=other_pi), ("PSNR", "differs from OpenSlide")))
    # Swap frame 1 (a blank corner, usually) with the frame holding the most detail.
    other = max(range(len(frames)), key=lambda k: len(frames[k]))
    if frames[other] != frames[0]:
        swapped = frames[:]
        swapped[0], swapped[other] = swapped[other], swapped[0]
        cases.append(("frames 1 and %d swapped" % (other + 1), with_frames(ds, swapped), entry,
                      ("differ from the spliced", "differs from OpenSlide", "PSNR",
                       "replaced")))
    if frames[0].startswith(SOI + ADOBE_RGB):
        plain = [SOI + f[2 + len(ADOBE_RGB):] for f in frames]
        cases.append(("Adobe APP14 dropped", with_frames(ds, plain), entry,
                      ("differ from the spliced",)))
    for what, mutated, mutated_entry, expected in cases:
        caught = checks.Checks(show="none")
        check_level(name, mutated, mutated_entry, level, slide, background, args, caught)
        hits = [line for line in caught.failures if any(word in line for word in expected)]
        fails.info("  mutation %s of %s: %s" % (what, name, hits[0] if hits else "NOT CAUGHT"))
        if not hits:
            fails.fail("mutations", "%s of %s was not caught (failures: %s)"
                       % (what, name, caught.failures or "none"))


def self_test(args):
    """From the source alone: the expected frames decode to OpenSlide's pixels (>= 45 dB,
    NDPI exactly), and the wrong colour space falls well below, so the output checks both
    pass on a right conversion and fail on a wrong PI."""
    fails = checks.Checks(show="none")
    slide = openslide.OpenSlide(args.source)
    background = wsmcheck.background_rgb(slide)
    levels = [lv for lv in source_levels(args.source) if lv.kind in ("jpeg", "j2k", "ndpi")]
    if not levels:
        fails.fail(Path(args.source).name, "no copyable level in the source")
    for level in levels:
        name = "IFD %d (%s %dx%d)" % (level.index, level.kind, level.width, level.height)
        reference = reference_level(slide, level, background)
        if reference is None:
            fails.fail(name, "OpenSlide has no level of this size")
            continue
        if level.kind == "ndpi":
            strip = level.raw(0)
            right = wsmcheck.decode_jpeg(strip, "YCbCr")[0]
            wrong = wsmcheck.decode_jpeg(strip, "RGB")[0]
            exact = int(np.abs(right.astype(np.int16) - reference.astype(np.int16)).max())
            if exact:
                fails.fail(name, "PIL's decode of the strip differs from OpenSlide: max %d" % exact)
            right_db = masked_psnr(right, reference)
        else:
            rgb = level_is_rgb(level) if level.kind == "jpeg" else True
            tiles = [ExpectedTile(level, k, rgb) for k in range(level.frames())]
            across, down = level.grid()
            tw, th = level.tile
            right = mosaic_of([t.pixels for t in tiles], across, down, tw, th)
            if level.kind == "jpeg":
                # The same bytes decoded as the other colour space: what a wrong PI gives.
                wrong_tiles = [wsmcheck.decode_jpeg(t.frame, "YCbCr" if rgb else "RGB")[0]
                               if t.frame else None for t in tiles]
            else:
                wrong_tiles = [wsmcheck.ycbcr_as_rgb(t.pixels) if t.frame else None for t in tiles]
            wrong = mosaic_of(wrong_tiles, across, down, tw, th)
            right, wrong = right[:level.height, :level.width], wrong[:level.height, :level.width]
            broken = [k for k, t in enumerate(tiles) if t.frame is None and not level.absent(k)]
            if broken:
                fails.fail(name, "tiles %s cannot be spliced" % broken[:5])
            right_db = masked_psnr(right, reference)
        wrong_db = masked_psnr(wrong, reference)
        fails.info("  %s: expected frames %.2f dB vs OpenSlide, wrong colour space %.2f dB%s"
                   % (name, right_db, wrong_db,
                      "" if level.kind != "jpeg" else " (%s tiles)" % ("RGB" if rgb else "YCbCr")))
        if right_db < COLOUR_PSNR_MIN:
            fails.fail(name, "expected frames only %.2f dB vs OpenSlide" % right_db)
        if wrong_db >= COLOUR_PSNR_MIN - 15:
            fails.fail(name, "the wrong colour space still gives %.2f dB: a wrong PI would pass"
                       % wrong_db)
    return fails.failures


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--source", required=True)
    p.add_argument("--outdir")
    p.add_argument("--report", help="the converter's --json-report file")
    p.add_argument("--reference", help="slide OpenSlide reads for the colour reference "
                   "(default: --source; the pristine slide when --source was damaged on purpose)")
    p.add_argument("--copied", nargs="+", metavar="NAME",
                   help="the files (level-0.dcm ...) this conversion must copy, all others "
                   "encoded; 'none' for none (default: not checked)")
    p.add_argument("--tile-size", type=int, help="the --tile-size the converter was given")
    p.add_argument("--quality", type=int, default=90, help="the --quality it was given")
    p.add_argument("--mutations", action="store_true",
                   help="also prove the checks catch a wrong PI, swapped frames, no APP14")
    p.add_argument("--self-test", action="store_true", help="check the expectations from the "
                   "source alone")
    args = p.parse_args(argv)
    if not args.self_test and not (args.outdir and args.report):
        p.error("--outdir and --report are needed unless --self-test")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if not args.self_test and checks.output_checked_in_release():
        return 0
    warnings.simplefilter("ignore")
    return checks.verdict(self_test(args) if args.self_test else run(args))


if __name__ == "__main__":
    sys.exit(main())
