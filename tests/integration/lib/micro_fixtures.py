#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The microscopy fixtures of issue 17, written with Debian's tifffile and numpy.

usage: micro_fixtures.py DIR            the small fixtures and DIR/manifest.json
       micro_fixtures.py --large FILE   the 40,000 x 15,000 16-bit strip image (memory test)

Every plane holds a gradient, noise and a pattern of its own (channel, z and t shift it), so
that a swapped channel or plane, a misplaced tile or an off-by-one shows in an exact
comparison. Sizes are not multiples of the 256 tile (700 x 500, 333 x 257 ...). The OME-XML
is written here, not by tifffile, so that the bad fixtures can contradict their file.

manifest.json: {"fixtures": [{"file", "good", "origin", "dtype", "nc", "nz", "nt", "width",
"height", "channels": [{"name", "colour", "excitation", "emission"}], "mpp", "z_spacing",
"significant_bits", "warning" (text the conversion must warn with, or null), "error" (for a
bad file: the words its one-line error must hold)}]}: what the generator meant to write, for
the checker's own reading of each file (check_micro.py) to be compared with."""
import json
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import tifffile

OME_NS = "http://www.openmicroscopy.org/Schemas/OME/2016-06"
# OME Color is a signed 32-bit RGBA integer.
RED, GREEN, BLUE, MAGENTA = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 0, 255)

LARGE_WIDTH, LARGE_HEIGHT, LARGE_ROWS_PER_STRIP = 40000, 15000, 16


def ome_colour(rgb):
    value = (rgb[0] << 24) | (rgb[1] << 16) | (rgb[2] << 8) | 0xFF
    return value - (1 << 32) if value >= 1 << 31 else value


def plane(rng, height, width, dtype, c, z, t, low, high):
    """One plane: a diagonal gradient whose direction depends on the channel, a ring that
    moves with z and t, and noise; scaled into [low, high] of dtype."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    angle = 0.7 * c + 0.3
    ramp = (np.cos(angle) * x / width + np.sin(angle) * y / height) / 2 + 0.25
    cy, cx = height * (0.3 + 0.1 * z), width * (0.4 + 0.15 * t + 0.05 * c)
    ring = np.exp(-((np.hypot(y - cy, x - cx) - height / 5) ** 2) / (2 * (height / 30) ** 2))
    value = 0.6 * ramp + 0.3 * ring + 0.1 * rng.random((height, width))
    value = low + np.clip(value, 0, 1) * (high - low)
    if np.dtype(dtype).kind == "f":
        return value.astype(dtype)
    return np.rint(value).astype(dtype)


def planes(seed, shape_czt, height, width, dtype, low, high):
    """{(c, z, t): plane} for every plane of nc x nz x nt."""
    rng = np.random.default_rng(seed)
    nc, nz, nt = shape_czt
    return {(c, z, t): plane(rng, height, width, dtype, c, z, t, low, high)
            for t in range(nt) for c in range(nc) for z in range(nz)}


OME_TYPES = {"uint8": "uint8", "uint16": "uint16", "int16": "int16", "int8": "int8",
             "float32": "float", "uint32": "uint32"}


def ome_xml(width, height, nc, nz, nt, dtype, channels, order, mpp=None, z_spacing=None,
            significant_bits=None, tiffdata=None):
    """An OME-XML of one Image. order: DimensionOrder; tiffdata: [(c, z, t, ifd)] written one
    TiffData each, else one TiffData of every plane from IFD 0."""
    attrs = ['DimensionOrder="%s"' % order, 'ID="Pixels:0"', 'SizeC="%d"' % nc,
             'SizeT="%d"' % nt, 'SizeX="%d"' % width, 'SizeY="%d"' % height,
             'SizeZ="%d"' % nz, 'Type="%s"' % OME_TYPES[dtype], 'BigEndian="false"']
    if mpp:
        attrs += ['PhysicalSizeX="%g"' % mpp, 'PhysicalSizeXUnit="µm"',
                  'PhysicalSizeY="%g"' % mpp, 'PhysicalSizeYUnit="µm"']
    if z_spacing:
        attrs += ['PhysicalSizeZ="%g"' % z_spacing, 'PhysicalSizeZUnit="µm"']
    if significant_bits:
        attrs.append('SignificantBits="%d"' % significant_bits)
    body = []
    for c, channel in enumerate(channels):
        a = ['ID="Channel:0:%d"' % c, 'SamplesPerPixel="1"']
        if channel.get("name"):
            a.append('Name="%s"' % channel["name"])
        if channel.get("colour"):
            a.append('Color="%d"' % ome_colour(channel["colour"]))
        if channel.get("excitation"):
            a += ['ExcitationWavelength="%g"' % channel["excitation"],
                  'ExcitationWavelengthUnit="nm"']
        if channel.get("emission"):
            a += ['EmissionWavelength="%g"' % channel["emission"],
                  'EmissionWavelengthUnit="nm"']
        body.append("<Channel %s><LightPath/></Channel>" % " ".join(a))
    if tiffdata:
        body += ['<TiffData FirstC="%d" FirstZ="%d" FirstT="%d" IFD="%d" PlaneCount="1"/>'
                 % entry for entry in tiffdata]
    else:
        body.append('<TiffData IFD="0" PlaneCount="%d"/>' % (nc * nz * nt))
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<OME xmlns="%s" Creator="slide2dcm tests micro_fixtures.py">'
            '<Instrument ID="Instrument:0"><Objective ID="Objective:0" '
            'NominalMagnification="20"/></Instrument>'
            '<Image ID="Image:0" Name="fixture"><Pixels %s>%s</Pixels></Image></OME>'
            % (OME_NS, " ".join(attrs), "".join(body)))


def page_order(nc, nz, nt, order):
    """(c, z, t) of each IFD for a DimensionOrder (XY then fastest first)."""
    sizes = {"C": nc, "Z": nz, "T": nt}
    axes = order[2:]
    out = []
    for k in range(nc * nz * nt):
        index, rest = {}, k
        for axis in axes:
            index[axis] = rest % sizes[axis]
            rest //= sizes[axis]
        out.append((index["C"], index["Z"], index["T"]))
    return out


def write_ome(path, data, nc, nz, nt, dtype, channels, order="XYCZT", mpp=0.325,
              z_spacing=None, significant_bits=None, explicit_tiffdata=False, tile=None,
              compression=None, xml_overrides=None, subifd_levels=0, sizes=None):
    """The planes in DimensionOrder order, one IFD each, the OME-XML in IFD 0.
    xml_overrides: {attribute: value} replaced in the XML (the bad fixtures);
    subifd_levels: reduced levels (the 2x2 rule of docs/microscopy.md) in SubIFDs of each plane;
    sizes: {(c, z, t): (h, w)} planes already of another size (bad fixtures)."""
    order_list = page_order(nc, nz, nt, order)
    height, width = data[(0, 0, 0)].shape
    tiffdata = [(c, z, t, k) for k, (c, z, t) in enumerate(order_list)] \
        if explicit_tiffdata else None
    xml = ome_xml(width, height, nc, nz, nt, dtype, channels, order, mpp, z_spacing,
                  significant_bits, tiffdata)
    for key, value in (xml_overrides or {}).items():
        old = '%s="' % key
        start = xml.index(old) + len(old)
        xml = xml[:start] + str(value) + xml[xml.index('"', start):]
    resolution = (1e4 / mpp, 1e4 / mpp) if mpp else None
    with tifffile.TiffWriter(path) as tif:
        for k, key in enumerate(order_list):
            options = dict(photometric="minisblack", metadata=None, tile=tile,
                           compression=compression,
                           resolution=resolution, resolutionunit="CENTIMETER" if mpp else None)
            if tile is None:
                options["rowsperstrip"] = 37
            level = data[key]
            if subifd_levels:
                options["subifds"] = subifd_levels
            tif.write(level, description=xml.encode() if k == 0 else None, **options)
            for _ in range(subifd_levels):
                level = halve(level)
                tif.write(level, subfiletype=1, **{o: v for o, v in options.items()
                                                   if o not in ("subifds",)})


def halve(image):
    """docs/microscopy.md's 2x2 rule: ceil(w/2) x ceil(h/2), each pixel (sum + n/2) // n over the
    pixels of its block that exist."""
    h, w = image.shape
    src = image.astype(np.int64)
    total = np.zeros(((h + 1) // 2, (w + 1) // 2), np.int64)
    count = np.zeros_like(total)
    for dy in (0, 1):
        for dx in (0, 1):
            part = src[dy::2, dx::2]
            total[:part.shape[0], :part.shape[1]] += part
            count[:part.shape[0], :part.shape[1]] += 1
    return ((total + count // 2) // count).astype(image.dtype)


def entry(file, origin, dtype, shape_czt, width, height, channels, mpp, z_spacing=None,
          significant_bits=None, warning=None):
    nc, nz, nt = shape_czt
    return {"file": file, "good": True, "origin": origin, "dtype": dtype, "nc": nc, "nz": nz,
            "nt": nt, "width": width, "height": height, "channels": channels, "mpp": mpp,
            "z_spacing": z_spacing, "significant_bits": significant_bits,
            "warning": warning, "error": None}


def bad(file, origin, error):
    return {"file": file, "good": False, "origin": origin, "error": error}


def channel(name, colour=None, excitation=None, emission=None):
    return {"name": name, "colour": list(colour) if colour else None,
            "excitation": excitation, "emission": emission}


def make_all(out):
    out.mkdir(parents=True, exist_ok=True)
    manifest = []

    # (a) uint8, 2 channels x 3 z, strips, names, colours, wavelengths, 0.325 / 1.5 um.
    chans = [channel("DAPI", BLUE, 358, 461), channel("FITC", GREEN, 495, 519)]
    data = planes(1, (2, 3, 1), 500, 700, "uint8", 3, 250)
    write_ome(out / "u8_2c3z.ome.tif", data, 2, 3, 1, "uint8", chans, order="XYZCT",
              z_spacing=1.5)
    manifest.append(entry("u8_2c3z.ome.tif", "OME-XML", "uint8", (2, 3, 1), 700, 500, chans,
                          0.325, 1.5))

    # (b) uint16 holding 12-bit data, 3 channels x 2 z, 256 tiles, deflate, TiffData per
    # plane in an order of their own (XYCZT).
    chans = [channel("Hoechst", BLUE, 350, 461), channel("Alexa 488", GREEN, 490, 525),
             channel("Alexa 647", MAGENTA, 650, 665)]
    data = planes(2, (3, 2, 1), 257, 333, "uint16", 17, 4095)
    write_ome(out / "u12_3c2z.ome.tif", data, 3, 2, 1, "uint16", chans, order="XYCZT",
              z_spacing=2.0, significant_bits=12, explicit_tiffdata=True, tile=(256, 256),
              compression="zlib")
    manifest.append(entry("u12_3c2z.ome.tif", "OME-XML", "uint16", (3, 2, 1), 333, 257, chans,
                          0.325, 2.0, significant_bits=12))

    # (c) int16 with negative values, 2 ch x 2 z, no colours (the default ones apply).
    chans = [channel("phase"), channel("depth")]
    data = planes(3, (2, 2, 1), 300, 411, "int16", -3000, 2500)
    write_ome(out / "i16_2c2z.ome.tif", data, 2, 2, 1, "int16", chans, order="XYZCT",
              z_spacing=0.5)
    manifest.append(entry("i16_2c2z.ome.tif", "OME-XML", "int16", (2, 2, 1), 411, 300, chans,
                          0.325, 0.5))

    # (d) float32 2 ch x 1 z with a real range, and its twin with one NaN.
    chans = [channel("ratio", RED, 561, 600), channel("lifetime", GREEN)]
    data = planes(4, (2, 1, 1), 280, 390, "float32", -1.25, 3.75)
    data[(1, 0, 0)] = (data[(1, 0, 0)] * 1000.0).astype(np.float32)   # channels' own ranges
    write_ome(out / "f32_2c.ome.tif", data, 2, 1, 1, "float32", chans, tile=(128, 128))
    manifest.append(entry("f32_2c.ome.tif", "OME-XML", "float32", (2, 1, 1), 390, 280, chans,
                          0.325))
    data[(0, 0, 0)][17, 23] = np.nan
    write_ome(out / "f32_nan.ome.tif", data, 2, 1, 1, "float32", chans, tile=(128, 128))
    manifest.append(entry("f32_nan.ome.tif", "OME-XML", "float32", (2, 1, 1), 390, 280, chans,
                          0.325, warning="NaN"))

    # (e) ImageJ hyperstack uint16, channels=3 slices=2 frames=2, red/green/blue LUTs,
    # unit micron, 0.5 um pixels, spacing 2.5.
    data = planes(5, (3, 2, 2), 263, 301, "uint16", 100, 60000)
    stack = np.stack([np.stack([np.stack([data[(c, z, t)] for c in range(3)])
                                for z in range(2)]) for t in range(2)])     # TZCYX
    ramp = np.arange(256, dtype=np.int64)
    luts = []
    for colour in (RED, GREEN, BLUE):
        lut = np.zeros((3, 256), np.uint8)
        for i in range(3):
            lut[i] = ramp * colour[i] // 255
        luts.append(lut)
    tifffile.imwrite(out / "ij_3c2z2t.tif", stack, imagej=True, resolution=(2.0, 2.0),
                     metadata={"axes": "TZCYX", "unit": "micron", "spacing": 2.5,
                               "mode": "composite", "LUTs": luts})
    chans = [channel(None, RED), channel(None, GREEN), channel(None, BLUE)]
    manifest.append(entry("ij_3c2z2t.tif", "ImageJ hyperstack", "uint16", (3, 2, 2), 301, 263,
                          chans, 0.5, 2.5))

    # (f) pyramidal OME-TIFF: uint16, 2 channels, 256 tiles, 2 reduced levels in SubIFDs
    # (written with the 2x2 rule, so copying or recomputing them gives the same levels).
    chans = [channel("CD3", RED, 488, 520), channel("CD8", GREEN, 561, 610)]
    data = planes(6, (2, 1, 1), 900, 1100, "uint16", 0, 65535)
    write_ome(out / "pyramid_2c.ome.tif", data, 2, 1, 1, "uint16", chans, tile=(256, 256),
              compression="zlib", subifd_levels=2, mpp=0.25)
    manifest.append(entry("pyramid_2c.ome.tif", "OME-XML", "uint16", (2, 1, 1), 1100, 900,
                          chans, 0.25))

    # (g) plain grey 16-bit TIFF, 20000 px/cm (0.5 um): its 2 pages are 2 channels.
    data = planes(7, (2, 1, 1), 311, 517, "uint16", 0, 40000)
    with tifffile.TiffWriter(out / "grey16.tif") as tif:
        for c in range(2):
            tif.write(data[(c, 0, 0)], photometric="minisblack", metadata=None,
                      resolution=(20000, 20000), resolutionunit="CENTIMETER", rowsperstrip=64)
    manifest.append(entry("grey16.tif", "grey TIFF", "uint16", (2, 1, 1), 517, 311,
                          [channel(None), channel(None)], 0.5))

    # (h) bad inputs: each contradicts its file in one way.
    chans = [channel("a", RED), channel("b", GREEN)]
    data = planes(8, (2, 2, 1), 120, 150, "uint16", 0, 5000)
    write_ome(out / "bad_sizez.ome.tif", data, 2, 2, 1, "uint16", chans,
              xml_overrides={"SizeZ": 5})
    manifest.append(bad("bad_sizez.ome.tif", "OME-XML", ["bad_sizez.ome.tif"]))
    write_ome(out / "bad_sizex.ome.tif", data, 2, 2, 1, "uint16", chans,
              xml_overrides={"SizeX": 151})
    manifest.append(bad("bad_sizex.ome.tif", "OME-XML", ["bad_sizex.ome.tif"]))
    write_ome(out / "bad_type.ome.tif", data, 2, 2, 1, "uint16", chans,
              xml_overrides={"Type": "uint8"})
    manifest.append(bad("bad_type.ome.tif", "OME-XML", ["bad_type.ome.tif"]))
    write_ome(out / "bad_tiffdata.ome.tif", data, 2, 2, 1, "uint16", chans,
              explicit_tiffdata=True, xml_overrides={"IFD": 9})
    manifest.append(bad("bad_tiffdata.ome.tif", "OME-XML", ["bad_tiffdata.ome.tif"]))
    uneven = dict(data)
    uneven[(1, 0, 0)] = data[(1, 0, 0)][:100, :140]
    uneven[(1, 1, 0)] = data[(1, 1, 0)][:100, :140]
    write_ome(out / "bad_sizes.ome.tif", uneven, 2, 2, 1, "uint16", chans)
    manifest.append(bad("bad_sizes.ome.tif", "OME-XML", ["bad_sizes.ome.tif"]))

    (out / "manifest.json").write_text(json.dumps({"fixtures": manifest}, indent=1) + "\n")
    return manifest


def large_values(y, x):
    """The large image's pixels at rows y (a column of int64) and columns x (a row): a
    gradient with a pattern that compresses well (the test measures the converter, not
    deflate), different in every 64-pixel block."""
    return ((((x >> 6) * 37 + (y >> 6) * 101) & 0xFFF) * 16 + (x & 7) + (y & 1) * 8) \
        .astype(np.uint16)


def large_strips(width, height, rows):
    """The strips of the large image, made one at a time."""
    x = np.arange(width, dtype=np.int64)
    for top in range(0, height, rows):
        yield large_values(np.arange(top, min(top + rows, height), dtype=np.int64)[:, None], x)


def make_large(path, width=LARGE_WIDTH, height=LARGE_HEIGHT):
    """A 16-bit grey strip TIFF (deflate, pixels 0.5 um), written here strip by strip
    (tifffile streams tiles, not compressed strips): the strips first, then the one IFD, so
    the generator never holds more than one strip. large_strips gives the same pixels."""
    offsets, counts = [], []
    with open(path, "wb") as f:
        f.write(b"II*\0\0\0\0\0")
        x, packed, key = np.arange(width, dtype=np.int64), None, None
        for top in range(0, height, LARGE_ROWS_PER_STRIP):
            rows = min(LARGE_ROWS_PER_STRIP, height - top)
            # The pixels depend on y only through y >> 6 and y & 1: the strips of one
            # 64-row band are equal, compressed once.
            if (top >> 6, rows) != key:
                y = np.arange(top, top + rows, dtype=np.int64)[:, None]
                packed = zlib.compress(large_values(y, x).astype("<u2").tobytes(), 1)
                key = (top >> 6, rows)
            offsets.append(f.tell())
            counts.append(len(packed))
            f.write(packed)
            if f.tell() % 2:
                f.write(b"\0")
        arrays = {}
        for name, values in (("offsets", offsets), ("counts", counts)):
            arrays[name] = f.tell()
            f.write(struct.pack("<%dI" % len(values), *values))
        resolution = f.tell()
        f.write(struct.pack("<II", 20000, 1))
        ifd = f.tell()
        if ifd >= 1 << 32:
            raise ValueError("the large image needs BigTIFF")
        entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 16),
                   (259, 3, 1, 8), (262, 3, 1, 1), (273, 4, len(offsets), arrays["offsets"]),
                   (277, 3, 1, 1), (278, 4, 1, LARGE_ROWS_PER_STRIP),
                   (279, 4, len(counts), arrays["counts"]), (282, 5, 1, resolution),
                   (283, 5, 1, resolution), (284, 3, 1, 1), (296, 3, 1, 3)]
        f.write(struct.pack("<H", len(entries)))
        for tag, kind, count, value in entries:
            packed = struct.pack("<H", value) + b"\0\0" if kind == 3 else \
                struct.pack("<I", value)
            f.write(struct.pack("<HHI", tag, kind, count) + packed)
        f.write(struct.pack("<I", 0))
        f.seek(4)
        f.write(struct.pack("<I", ifd))


def main(argv):
    if len(argv) == 3 and argv[1] == "--large":
        make_large(Path(argv[2]))
        return 0
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    make_all(Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
