#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpora of the fuzz targets (tests/fuzz/README): small valid inputs of
every parser, made with the tests' own generators where they have one, and the crafted
inputs of issue 20's defects. Reproducers of crashes found by campaigns are not written
here: they are kept as found, under corpus/<target>/crash-*.

usage: /usr/bin/python3 tests/fuzz/make_seeds.py [CORPUS_DIR]   (default: tests/fuzz/corpus)

Seeds are named seed-*; rerunning replaces them and leaves every other file alone."""
import base64
import io
import json
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pydicom
import tifffile
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration" / "lib"))
sys.path.insert(0, str(HERE.parent / "integration" / "cases"))
import icc_profiles  # noqa: E402  (the --deidentify test's ICC profiles)
import micro_fixtures  # noqa: E402  (the tests' OME-XML writer)
import ndpi_hostile  # noqa: E402  (issue 20's crafted NDPI)

INSTANCE_UID = "1.2.826.0.1.3680043.10.1078.1"    # fuzz_stow_response.c's
SOP_CLASS = "1.2.840.10008.5.1.4.1.1.77.1.6"


def gradient(width, height):
    y, x = np.mgrid[0:height, 0:width]
    return np.dstack([(x * 255 // max(width - 1, 1)), (y * 255 // max(height - 1, 1)),
                      ((x + y) * 127 // max(width + height, 1))]).astype(np.uint8)


def jpeg(img, **options):
    out = io.BytesIO()
    Image.fromarray(img).save(out, "JPEG", **options)
    return out.getvalue()


def segments(stream):
    """(marker, bytes of the whole segment) of a JPEG's headers, then ("scan", the rest)."""
    out, i = [], 2
    while i < len(stream):
        marker = stream[i + 1]
        length = struct.unpack(">H", stream[i + 2:i + 4])[0]
        out.append((marker, stream[i:i + 2 + length]))
        i += 2 + length
        if marker == 0xDA:
            out.append(("scan", stream[i:]))
            break
    return out


def abbreviated(stream):
    """A complete JPEG cut as TIFF stores it: (JPEGTables: SOI, DQT, DHT, EOI) and (the
    tile: SOI, the other segments, the scan)."""
    segs = segments(stream)
    tables = b"\xFF\xD8" + b"".join(s for m, s in segs if m in (0xDB, 0xC4)) + b"\xFF\xD9"
    tile = b"\xFF\xD8" + b"".join(s for m, s in segs if m not in (0xDB, 0xC4, 0xE0))
    return tables, tile


def j2k(img, **options):
    out = io.BytesIO()
    Image.fromarray(img).save(out, "JPEG2000", no_jp2=True, **options)
    return out.getvalue()


# ---------------------------------------------------------------- TIFFs written by hand

SHORT, LONG, ASCII, RATIONAL, FLOAT, UNDEFINED = 3, 4, 2, 5, 11, 7


def tiff(ifds):
    """A little-endian classic TIFF. ifds: a list of (entries, chunks) where entries are
    (tag, type, values) and chunks the tile or strip bytes (offsets and counts are added,
    as tiles when tag 322 is among the entries, else as strips)."""
    data = bytearray(b"II*\0\0\0\0\0")

    def put(raw):
        at = len(data)
        data.extend(raw)
        if len(data) % 2:
            data.append(0)
        return at

    def packed(kind, values):
        if kind == ASCII:
            return values.encode() + b"\0"
        if kind == UNDEFINED:
            return bytes(values)
        fmt = {SHORT: "H", LONG: "I", RATIONAL: "II", FLOAT: "f"}[kind]
        return b"".join(struct.pack("<" + fmt, *(v if isinstance(v, tuple) else (v,)))
                        for v in values)

    link_at = 4
    for entries, chunks in ifds:
        offsets = [put(c) for c in chunks]
        tiled = any(tag == 322 for tag, _, _ in entries)
        entries = entries + [(324 if tiled else 273, LONG, offsets),
                             (325 if tiled else 279, LONG, [len(c) for c in chunks])]
        rows = []
        for tag, kind, values in sorted(entries, key=lambda e: e[0]):
            raw = packed(kind, values)
            count = len(raw) if kind in (ASCII, UNDEFINED) else len(values)
            value = raw.ljust(4, b"\0") if len(raw) <= 4 else struct.pack("<I", put(raw))
            rows.append(struct.pack("<HHI", tag, kind, count) + value)
        at = put(struct.pack("<H", len(rows)) + b"".join(rows) + b"\0\0\0\0")
        struct.pack_into("<I", data, link_at, at)
        link_at = at + 2 + 12 * len(rows)
    return bytes(data)


def rgb_entries(width, height, compression, photometric=6):
    return [(256, LONG, [width]), (257, LONG, [height]), (258, SHORT, [8, 8, 8]),
            (259, SHORT, [compression]), (262, SHORT, [photometric]), (277, SHORT, [3]),
            (284, SHORT, [1])]


def tiled_level(img, tile, extra=(), tables=False, codec="jpeg"):
    """One tiled RGB IFD of img in tile x tile tiles: JPEG (complete, or abbreviated with
    JPEGTables), or JPEG 2000 codestreams (Aperio's 33005)."""
    height, width = img.shape[:2]
    chunks, table_bytes = [], None
    for r in range(0, height, tile):
        for c in range(0, width, tile):
            block = np.full((tile, tile, 3), 255, np.uint8)
            part = img[r:r + tile, c:c + tile]
            block[:part.shape[0], :part.shape[1]] = part
            if codec == "j2k":
                chunks.append(j2k(block))
            else:
                stream = jpeg(block, quality=80)
                if tables:
                    table_bytes, stream = abbreviated(stream)
                chunks.append(stream)
    entries = rgb_entries(width, height, 33005 if codec == "j2k" else 7,
                          2 if codec == "j2k" else 6)
    entries += [(322, LONG, [tile]), (323, LONG, [tile])] + list(extra)
    if table_bytes:
        entries.append((347, UNDEFINED, table_bytes))
    return entries, chunks


def stripped_jpeg(img, extra=(), rows=None):
    """One RGB IFD of JPEG strips of `rows` rows (all of them by default)."""
    height, width = img.shape[:2]
    rows = rows or height
    chunks = [jpeg(np.ascontiguousarray(img[r:r + rows]), quality=80)
              for r in range(0, height, rows)]
    return rgb_entries(width, height, 7) + [(278, LONG, [rows])] + list(extra), chunks


APERIO = ("Aperio Image Library v10.0.51\r\n%dx%d [0,0 %dx%d] (%dx%d) JPEG/RGB Q=80"
          "|AppMag = 20|StripeWidth = 2040|ScanScope ID = SS1|Filename = fuzz|Date = 12/29/09"
          "|Time = 09:59:15|Time Zone = GMT-05:00|MPP = 0.4990|Left = 25.7|Top = 23.4")


def aperio(codec="jpeg", tables=False):
    img = gradient(96, 64)
    level0 = tiled_level(img, 32, [(270, ASCII, APERIO % (96, 64, 96, 64, 32, 32))],
                         tables=tables, codec=codec)
    level1 = tiled_level(img[::2, ::2], 32, [(270, ASCII, "Aperio Image Library v10.0.51\r\n"
                                                         "48x32 -> 24x16 - |AppMag = 20")],
                         codec=codec)
    thumb = stripped_jpeg(img[::4, ::4], [(270, ASCII, "Aperio thumbnail 24x16")])
    label = stripped_jpeg(gradient(32, 16), [(254, LONG, [1]),
                                             (270, ASCII, "Aperio Image Library\r\nlabel 32x16")])
    macro = stripped_jpeg(gradient(48, 16), [(254, LONG, [9]),
                                             (270, ASCII, "Aperio Image Library\r\nmacro 48x16")],
                          rows=8)
    return tiff([level0, level1, thumb, label, macro])


def philips_attribute(name, value):
    return '<Attribute Name="%s" PMSVR="IString">%s</Attribute>' % (name, value)


def philips():
    """A Philips TIFF: the XML DataObject, two levels (the second stored padded to whole
    tiles, one of them never stored), the label a base64 JPEG in the XML, the macro a
    directory described "Macro"."""
    img = gradient(96, 64)
    spacing = "&quot;%g&quot; &quot;%g&quot;"
    reps = "".join('<DataObject ObjectType="PixelDataRepresentation">%s</DataObject>'
                   % philips_attribute("DICOM_PIXEL_SPACING", spacing % (mm, mm))
                   for mm in (0.0005, 0.001))
    label = base64.b64encode(jpeg(gradient(32, 16), quality=80)).decode()
    xml = ('<?xml version="1.0" encoding="UTF-8" ?>\n<DataObject ObjectType="DPUfsImport">'
           + philips_attribute("DICOM_ACQUISITION_DATETIME", "20091229095915.000000")
           + philips_attribute("DICOM_MANUFACTURER", "PHILIPS")
           + philips_attribute("PIM_DP_UFS_BARCODE", base64.b64encode(b"FUZZ-1").decode())
           + '<Attribute Name="PIM_DP_SCANNED_IMAGES"><Array>'
           + '<DataObject ObjectType="DPScannedImage">'
           + philips_attribute("PIM_DP_IMAGE_TYPE", "WSI")
           + philips_attribute("DICOM_PIXEL_SPACING", spacing % (0.0005, 0.0005))
           + philips_attribute("DICOM_DERIVATION_DESCRIPTION", "tiff-levels=20-q80")
           + '<Attribute Name="PIIM_PIXEL_DATA_REPRESENTATION_SEQUENCE"><Array>' + reps
           + '</Array></Attribute></DataObject><DataObject ObjectType="DPScannedImage">'
           + philips_attribute("PIM_DP_IMAGE_TYPE", "LABELIMAGE")
           + philips_attribute("PIM_DP_IMAGE_DATA", label)
           + '</DataObject></Array></Attribute></DataObject>')
    level0 = tiled_level(img, 32, [(270, ASCII, xml), (305, ASCII, "Philips DP v1.0")],
                         tables=True)
    half = np.full((32, 64, 3), 255, np.uint8)
    half[:, :48] = img[::2, ::2]
    entries, chunks = tiled_level(half, 32, [(254, LONG, [1])], tables=True)
    chunks[1] = b""                         # never scanned: sparse
    macro = stripped_jpeg(gradient(48, 16), [(270, ASCII, "Macro")])
    return tiff([level0, (entries, chunks), macro])


def leica_scn():
    """A Leica SCN (as a classic TIFF: the reader does not care): a tiled macro of the
    whole glass in IFD 0 with the XML, and a region of two levels placed a tile (of each
    level) from the glass's corner."""
    ns = "http://www.leica-microsystems.com/scn/2010/10/01"
    source = ("<scanSettings><objectiveSettings><objective>20</objective></objectiveSettings>"
              "<illuminationSettings><illuminationSource>brightfield</illuminationSource>"
              "</illuminationSettings></scanSettings>")
    xml = ('<?xml version="1.0" encoding="utf-8"?>\n<scn xmlns="%s">'
           '<collection sizeX="64000" sizeY="48000"><barcode>%s</barcode>'
           '<image><pixels sizeX="32" sizeY="24"><dimension sizeX="32" sizeY="24" ifd="0"/>'
           '</pixels><view sizeX="64000" sizeY="48000" offsetX="0" offsetY="0"/>%s</image>'
           '<image><creationDate>2010-10-14T10:20:07.12Z</creationDate>'
           '<device model="Leica SCN400" version="1.4.0"/><pixels sizeX="64" sizeY="32">'
           '<dimension sizeX="64" sizeY="32" ifd="1"/><dimension sizeX="32" sizeY="16" ifd="2"/>'
           '</pixels><view sizeX="32000" sizeY="16000" offsetX="16000" offsetY="16000"/>%s'
           '</image></collection></scn>'
           % (ns, base64.b64encode(b"FUZZ-2").decode(), source, source))
    macro = tiled_level(gradient(32, 24), 16, [(270, ASCII, xml)], tables=True)
    img = gradient(64, 32)
    level0 = tiled_level(img, 16, [(282, RATIONAL, [(20000, 1)]), (283, RATIONAL, [(20000, 1)]),
                                   (296, SHORT, [3])], tables=True)
    level1 = tiled_level(img[::2, ::2], 16, [(254, LONG, [1])], tables=True)
    return tiff([macro, level0, level1])


def generic_tiled(tables):
    img = gradient(80, 48)
    return tiff([tiled_level(img, 16, [(282, RATIONAL, [(40000, 1)]),
                                       (283, RATIONAL, [(40000, 1)]), (296, SHORT, [3])],
                             tables=tables),
                 tiled_level(img[::2, ::2], 16, [(254, LONG, [1])], tables=tables)])


ISCAN = ('<?xml version="1.0" encoding="utf-8"?><iScan Magnification="20" ScanRes="0.5" '
         'UnitNumber="BI-FUZZ" ScannerModel="VENTANA DP 200" BuildVersion="1.1" '
         'Barcode="B&amp;7" ScanDate="2026-03-14T09:26:53"/>')


def encode_info(cols, rows, tile, overlap):
    """Level 0's EncodeInfo (fmt_ventana.c): one area, its joints right and up."""
    number = [[(rows - 1 - r) * cols + (c if (rows - 1 - r) % 2 == 0 else cols - 1 - c) + 1
               for c in range(cols)] for r in range(rows)]
    joints = "".join(
        '<TileJointInfo Direction="RIGHT" Tile1="%d" Tile2="%d" OverlapX="%d" OverlapY="0" '
        'Confidence="90"/>' % (number[r][c], number[r][c + 1], overlap)
        for r in range(rows) for c in range(cols - 1))
    joints += "".join(
        '<TileJointInfo Direction="UP" Tile1="%d" Tile2="%d" OverlapX="0" OverlapY="%d" '
        'Confidence="90"/>' % (number[r][c], number[r - 1][c], overlap)
        for r in range(1, rows) for c in range(cols))
    return ('<?xml version="1.0"?><EncodeInfo><SlideStitchInfo><ImageInfo AOIScanned="1" '
            'Width="%d" Height="%d" NumRows="%d" NumCols="%d" Pos-X="0" Pos-Y="0">%s'
            '</ImageInfo></SlideStitchInfo><AoiOrigin><AOI0 OriginX="0" OriginY="0"/>'
            '</AoiOrigin></EncodeInfo>' % (tile, tile, rows, cols, joints))


def ventana(overlap):
    """A Ventana BIF: the label with the iScan XMP, the thumbnail, two levels; tiles that
    overlap or not."""
    img = gradient(64, 32)
    label = stripped_jpeg(gradient(32, 16), [(270, ASCII, "Label Image"),
                                             (700, UNDEFINED, ISCAN.encode())])
    thumb = stripped_jpeg(img[::4, ::4], [(270, ASCII, "Thumbnail")])
    level0 = tiled_level(img, 16, [(270, ASCII, "level=0 mag=20 quality=80"),
                                   (700, UNDEFINED, encode_info(4, 2, 16, overlap).encode())])
    level1 = tiled_level(img[::2, ::2], 16, [(270, ASCII, "level=1 mag=10 quality=80")])
    return tiff([label, thumb, level0, level1])


def ome_rgb():
    img = gradient(64, 32)
    xml = micro_fixtures.ome_xml(64, 32, 3, 1, 1, "uint8", [{"name": "RGB"}], "XYCZT",
                                 mpp=0.5).replace('SizeC="3"', 'SizeC="3"')
    xml = xml.replace('SamplesPerPixel="1"', 'SamplesPerPixel="3"')
    return tiff([tiled_level(img, 16, [(270, ASCII, xml)])])


def ndpi_seed(work, hostile):
    """issue 20's crafted NDPI (hostile: the restart offsets lie), or the same file with
    honest offsets: ndpi_hostile.py's writer."""
    stream = ndpi_hostile.jpeg_with_stray_sof(work)
    starts = ndpi_hostile.restart_starts(stream)
    if hostile:
        starts[0] = ndpi_hostile.HEADERS_END
    path = work / "slide.ndpi"
    ndpi_hostile.ndpi(stream, starts, path)
    return path.read_bytes()


def plain_pages(work):
    """Plain TIFFs of pages as Pillow and tifffile write them: every compression they know."""
    out = {}
    rgb = Image.fromarray(gradient(40, 24))
    for compression in ("raw", "tiff_lzw", "tiff_adobe_deflate", "packbits", "jpeg"):
        buf = io.BytesIO()
        rgb.save(buf, "TIFF", compression=compression)
        out["plain-rgb-" + compression] = buf.getvalue()
    grey = rgb.convert("L")
    bilevel = grey.point(lambda v: 255 if v > 100 else 0).convert("1")
    for name, image, compression in (("grey", grey, "tiff_lzw"), ("g4", bilevel, "group4"),
                                     ("g3", bilevel, "group3"),
                                     ("palette", rgb.convert("P"), "packbits"),
                                     ("cmyk", rgb.convert("CMYK"), "raw")):
        buf = io.BytesIO()
        image.save(buf, "TIFF", compression=compression, dpi=(300, 300))
        out["plain-" + name] = buf.getvalue()
    buf = io.BytesIO()
    rgb.save(buf, "TIFF", save_all=True, append_images=[grey.convert("RGB")])
    out["plain-two-pages"] = buf.getvalue()
    stack = (np.arange(3 * 2 * 16 * 24, dtype=np.uint16) * 37).reshape(3, 2, 16, 24)
    path = work / "imagej.tif"
    tifffile.imwrite(path, stack, imagej=True, metadata={"axes": "ZCYX", "spacing": 0.5,
                                                         "unit": "micron"},
                     resolution=(2.0, 2.0))
    out["imagej-hyperstack"] = path.read_bytes()
    path = work / "ome-grey.ome.tif"
    planes = {(c, 0, t): (np.arange(20 * 12, dtype=np.uint16).reshape(12, 20) * (c + 1) + t)
              for c in range(2) for t in range(2)}
    micro_fixtures.write_ome(path, planes, 2, 1, 2, "uint16",
                             [{"name": "DAPI", "colour": (0, 0, 255), "excitation": 358,
                               "emission": 461}, {"name": "FITC"}], order="XYCTZ")
    out["ome-grey"] = path.read_bytes()
    path = work / "qptiff.tif"
    with tifffile.TiffWriter(path) as tif:
        for name, colour in (("DAPI", "0,0,255"), ("CD8", "255,0,0")):
            desc = ("<?xml version=\"1.0\" encoding=\"utf-16\"?><PerkinElmer-QPI-ImageDescription>"
                    "<DescriptionVersion>2</DescriptionVersion><ImageType>FullResolution"
                    "</ImageType><Name>%s</Name><Color>%s</Color><Objective>20x</Objective>"
                    "<ScanProfile><PixelSizeMicrons>0.5</PixelSizeMicrons></ScanProfile>"
                    "</PerkinElmer-QPI-ImageDescription>" % (name, colour))
            tif.write(np.full((16, 16), 7, np.uint8), description=desc, metadata=None)
    out["qptiff"] = path.read_bytes()
    return out


# ---------------------------------------------------------------- the other parsers

def manifests():
    return {
        "basic": b"path,PatientID,PatientName,StudyDescription\r\n"
                 b"a.svs,P1,Doe^Jane,\"Biopsy, left\"\r\nb.ndpi,P2,\"O\"\"Brien^Pat\",\r\n",
        "options": "\ufeffpath,Modality,DocumentTitle,kind,AccessionNumber\n"
                   "scan.tif,OT,\"Lab report\",document,A1\nphoto.tif,XC,,photo,\n"
                   "m.ome.tif,,,microscopy,\n".encode(),
        "unknown-column": b"path,NoSuchKeyword\nx.svs,1\n",
        "bad-kind": b"path,kind\nx.tif,painting\n",
        "unterminated-quote": b"path,PatientID\n\"x.svs,P1\n",
        "empty": b"",                       # issue 20, defect 11
        "bom-only": b"\xef\xbb\xbf",        # issue 20, defect 11
        "header-only": b"path\n",
        "not-utf8": b"path,PatientName\nx.svs,\xff\xfe\n",
        "semicolons": b" Path ;patientid;StudyDate;SeriesInstanceUID\r\na.svs;P1;20260101;1.2.3\r\n"
                      b";;;\r\nb.svs;\"P;2\";2026-01-01;\r\n",
        "tabs": b"path\tPatientName\tUnknownColumn\nx.tif\tDoe^J\tz\n",
    }


def json_metas():
    person = {"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Doe^Jane"}]},
              "00100020": {"vr": "LO", "Value": ["P1"]},
              "00100030": {"vr": "DA", "Value": ["19700101"]},
              "00101010": {"vr": "AS", "Value": ["054Y"]},
              "00101020": {"vr": "DS", "Value": [1.75]},
              "00200013": {"vr": "IS", "Value": [3]},
              "00400512": {"vr": "LO", "Value": ["C1"]},
              "00400560": {"vr": "SQ", "Value": [{
                  "00400551": {"vr": "LO", "Value": ["S1"]},
                  "00400610": {"vr": "SQ", "Value": [{
                      "0040050A": {"vr": "LO", "Value": ["stained"]}}]}}]},
              "00081032": {"vr": "SQ", "Value": [{"00080100": {"vr": "SH", "Value": ["X1"]},
                                                  "00080102": {"vr": "SH", "Value": ["99"]}}]},
              "00091010": {"vr": "OB", "InlineBinary": "AAEC"},
              "00280030": {"vr": "DS", "Value": [0.5, 0.5]}}
    return {
        "attributes": json.dumps(person).encode(),
        "keyword-form": b'{"PatientID": {"vr": "LO", "Value": ["x"]}}',
        "owned": b'{"00080018": {"vr": "UI", "Value": ["1.2.3"]}}',
        "pixel-data": b'{"7FE00010": {"vr": "OB", "InlineBinary": "AA=="}}',
        "bad-vr": b'{"00100010": {"vr": "XX", "Value": ["a"]}}',
        "numbers": b'{"00181050": {"vr": "FD", "Value": [1e308, -0.0]},'
                   b'"00280010": {"vr": "US", "Value": [65535]}}',
        "truncated": b'{"00100010": {"vr": "PN", "Value": [{"Alpha',
        "empty-object": b"{}",
    }


def journals():
    done = {"name": "slide", "status": "done", "source": "a.svs", "files": 9}
    sent = {"name": "slide", "status": "sent", "instances": 9}
    return {
        "records": (json.dumps(done) + "\n" + json.dumps(sent) + "\n").encode(),
        "torn-last-line": (json.dumps(done) + "\n" + '{"name": "slide", "sta').encode(),
        "blank-and-junk": b"\n\n[1,2]\n{\"name\": 3}\nnot json\n",
    }


def stow_responses():
    def http(code, body):
        return struct.pack(">H", code - 100) + body

    def seq(tag, items):
        return {tag: {"vr": "SQ", "Value": items}}

    item = {"00081150": {"vr": "UI", "Value": [SOP_CLASS]},
            "00081155": {"vr": "UI", "Value": [INSTANCE_UID]},
            "00081190": {"vr": "UR", "Value": ["http://pacs/studies/1"]}}
    warned = dict(item, **{"00081196": {"vr": "US", "Value": [45056]}})
    failed = dict(item, **{"00081197": {"vr": "US", "Value": [49152]}})
    padded = dict(item, **{"00081155": {"vr": "UI", "Value": [INSTANCE_UID + "\0"]}})
    return {
        "stored": http(200, json.dumps(seq("00081199", [item])).encode()),
        "warning": http(202, json.dumps(seq("00081199", [warned])).encode()),
        "failed": http(409, json.dumps(seq("00081198", [failed])).encode()),
        "padded-uid": http(200, json.dumps(seq("00081199", [padded])).encode()),
        "empty-sequences": http(200, b'{"00081199": {"vr": "SQ"}, "00081198": {"vr": "SQ"}}'),
        "html-200": http(200, b"<html><body>OK</body></html>"),      # issue 20, defect 4
        "empty-200": http(200, b""),                                    # issue 20, defect 4
        "unauthorized": http(401, b"Unauthorized"),
        "server-error": http(503, b"busy\r\n"),
    }


def cstore_peers():
    """What a peer sends: A-ASSOCIATE-AC (context 1 accepted, Maximum Length 16384), then
    P-DATA-TF with a C-STORE-RSP for message 1, then A-RELEASE-RP; and issue 20's crafted
    answers."""
    def pdu(kind, body):
        return struct.pack(">BBI", kind, 0, len(body)) + body

    def item(kind, body):
        return struct.pack(">BBH", kind, 0, len(body)) + body

    def element(elem, value):
        return struct.pack("<HHI", 0, elem, len(value)) + value

    def rsp(elements):
        command = b"".join(element(e, v) for e, v in elements)
        command = element(0x0000, struct.pack("<I", len(command))) + command
        return pdu(0x04, struct.pack(">I", 2 + len(command)) + b"\x01\x03" + command)

    fixed = struct.pack(">HH", 1, 0) + b"SLIDE2DCM".ljust(16) + b"FUZZ".ljust(16) + bytes(32)
    context = item(0x21, b"\x01\0\0\0" + item(0x40, b"1.2.840.10008.1.2.1"))
    user = item(0x50, item(0x51, struct.pack(">I", 16384)) + item(0x52, b"1.2.3.4"))
    ac = pdu(0x02, fixed + item(0x10, b"1.2.840.10008.3.1.1.1") + context + user)
    uid = SOP_CLASS.encode() + b"\0"
    good = [(0x0002, uid), (0x0100, b"\x01\x80"), (0x0120, b"\x01\0"), (0x0800, b"\x01\x01"),
            (0x0900, b"\0\0")]
    release = pdu(0x06, bytes(4))
    return {
        "stored": ac + rsp(good) + release,
        "warning": ac + rsp(good[:-1] + [(0x0900, b"\x07\xb0"), (0x0902, b"coerced ")]) + release,
        "refused": ac + rsp(good[:-1] + [(0x0900, b"\x00\xa7")]) + release,
        # issue 20, defect 2: a Maximum Length sub-item header without its value bytes
        "truncated-max-length": pdu(0x02, fixed + context + item(0x50, b"\x51\0\0\x04")),
        # issue 20, defect 3: a C-STORE-RSP without Status
        "no-status": ac + rsp(good[:-1]) + release,
        # issue 20, defect 17: a command PDV of no bytes
        "empty-command": ac + pdu(0x04, struct.pack(">I", 2) + b"\x01\x03") + release,
        "rejected": pdu(0x03, b"\0\x01\x01\x07"),
        "aborted": pdu(0x07, b"\0\0\x02\x01"),
        "two-pdvs": ac + rsp(good)[:20] + release,
        "huge-pdu": b"\x02\0\xff\xff\xff\xff",
    }


def dicomfiles(work):
    ds = Dataset()
    ds.SOPClassUID = SOP_CLASS
    ds.SOPInstanceUID = INSTANCE_UID
    ds.PatientID = "P1"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = SOP_CLASS
    ds.file_meta.MediaStorageSOPInstanceUID = INSTANCE_UID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    path = work / "instance.dcm"
    ds.save_as(path, write_like_original=False)
    whole = path.read_bytes()
    return {"instance": whole, "meta-only": whole[:whole.index(b"\x08\0\x16\0")],
            "no-preamble": whole[128:], "truncated-meta": whole[:150]}


def micro_texts():
    xml = micro_fixtures.ome_xml(64, 32, 2, 3, 2, "uint16",
                                 [{"name": "DAPI", "colour": (0, 0, 255), "excitation": 358},
                                  {"name": "FITC"}], "XYZCT", mpp=0.325, z_spacing=1.5,
                                 significant_bits=12,
                                 tiffdata=[(c, z, t, (t * 2 + c) * 3 + z) for t in range(2)
                                           for c in range(2) for z in range(3)])
    return {
        "ome": b"\0" + xml.encode(),
        "ome-entities": b"\0" + micro_fixtures.ome_xml(
            8, 8, 1, 1, 1, "uint8", [{"name": "a &amp; b &lt;&gt;&quot;&apos;"}], "XYCZT").encode(),
        "imagej": b"\x01ImageJ=1.53t\nimages=6\nchannels=2\nslices=3\nhyperstack=true\n"
                  b"unit=micron\nspacing=0.5\nmin=0\nmax=4095\n",
        "qptiff": b"\x02<?xml version=\"1.0\" encoding=\"utf-16\"?><PerkinElmer-QPI-ImageDescription>"
                  b"<ImageType>FullResolution</ImageType><Name>DAPI</Name><Color>0,0,255</Color>"
                  b"<Objective>20x</Objective><ScanProfile><PixelSizeMicrons>0.4977"
                  b"</PixelSizeMicrons></ScanProfile></PerkinElmer-QPI-ImageDescription>",
    }


def bitstreams():
    img = gradient(48, 32)
    return {
        "jpeg-420": jpeg(img, quality=80),
        "jpeg-444": jpeg(img, quality=80, subsampling=0),
        "jpeg-grey": jpeg(img[:, :, 0]),
        "jpeg-progressive": jpeg(img, progressive=True),
        "jpeg-abbreviated-tile": abbreviated(jpeg(img))[1],
        "jpeg-tables": abbreviated(jpeg(img))[0],
        "j2k-lossy": j2k(img, quality_mode="rates", quality_layers=[20]),
        "j2k-lossless": j2k(img, irreversible=False),
    }


def splices():
    """fuzz_splice.c's input: flags, width, rows per strip, the tables, the strips."""
    def compose(flags, width, rows, tables, strips):
        out = struct.pack(">BHH", flags, width, rows) + struct.pack(">H", len(tables)) + tables
        for s in strips[:-1]:
            out += struct.pack(">H", len(s)) + s
        return out + strips[-1]

    img = gradient(32, 48)
    strips = [abbreviated(jpeg(np.ascontiguousarray(img[r:r + 16]), quality=80))
              for r in range(0, 48, 16)]
    tables = strips[0][0]
    whole = [jpeg(np.ascontiguousarray(img[r:r + 16]), quality=80) for r in range(0, 48, 16)]
    return {
        "abbreviated-strips": compose(0x01 | 0x40, 32, 16, tables, [s[1] for s in strips]),
        "complete-strips": compose(0x40, 32, 16, b"", whole),
        "rgb-strips": compose(0x07 | 0x40, 32, 16, tables, [s[1] for s in strips]),
        "one-tile": compose(0x01, 32, 48, tables, [strips[0][1]]),
    }


def jpeg_cuts(work):
    img = gradient(64, 48)
    return {"420": jpeg(img, quality=85), "444": jpeg(img, quality=85, subsampling=0),
            "restarts": subprocess.run(
                ["cjpeg", "-quality", "85", "-restart", "1"], input=ppm(img),
                capture_output=True, check=True).stdout,
            "progressive": jpeg(img, progressive=True),
            "grey": jpeg(img[:, :, 1])}


def ppm(img):
    return b"P6\n%d %d\n255\n" % (img.shape[1], img.shape[0]) + img.tobytes()


def iccs():
    """The sRGB profile; it with every kind of text tag (the --deidentify test's); with a
    profile sequence only; and one whose text tags' counts run past their data."""
    planted = icc_profiles.planted_icc()
    broken = bytearray(planted)
    count = struct.unpack(">I", planted[128:132])[0]
    for i in range(count):
        sig, at, size = struct.unpack(">4sII", planted[132 + 12 * i:144 + 12 * i])
        if planted[at:at + 4] in (b"desc", b"mluc", b"dict", b"pseq"):
            struct.pack_into(">I", broken, at + 8, 0x7FFFFFFF)
    return {"srgb": icc_profiles.icc_with({}), "texts": planted,
            "sequence": icc_profiles.icc_with(
                {b"pseq": icc_profiles.icc_pseq("Maker", "Model")}),
            "counts-past-data": bytes(broken)}


def write(corpus, target, seeds):
    folder = corpus / target
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("seed-*"):
        old.unlink()
    for name, data in seeds.items():
        (folder / ("seed-" + name)).write_bytes(data)


def main():
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "corpus"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        slides = {"aperio-jpeg": aperio(), "aperio-tables": aperio(tables=True),
                  "aperio-j2k": aperio(codec="j2k"), "tiled": generic_tiled(False),
                  "tiled-tables": generic_tiled(True), "ome-rgb": ome_rgb(),
                  "philips": philips(), "leica-scn": leica_scn(),
                  "ventana": ventana(0), "ventana-overlap": ventana(2),
                  "ndpi": ndpi_seed(work, False),
                  "ndpi-stray-sof": ndpi_seed(work, True)}   # issue 20, defect 1
        slides.update(plain_pages(work))
        write(corpus, "tiffdir", slides)
        write(corpus, "source_open", slides)
        write(corpus, "manifest", manifests())
        write(corpus, "json_meta", json_metas())
        write(corpus, "icc", iccs())
        write(corpus, "journal", journals())
        write(corpus, "stow_response", stow_responses())
        write(corpus, "cstore", cstore_peers())
        write(corpus, "dicomfile", dicomfiles(work))
        write(corpus, "micro_text", micro_texts())
        write(corpus, "bitstream", bitstreams())
        write(corpus, "splice", splices())
        write(corpus, "jpeg_cut", jpeg_cuts(work))


if __name__ == "__main__":
    main()
