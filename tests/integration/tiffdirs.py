"""Reads TIFF directories without libtiff, so tests check slide2dcm against the file's own
bytes rather than against the library it uses. Little-endian classic TIFF only (every
SVS and NDPI in ../shared/testdata)."""
import struct

TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 7: 1, 16: 8}


def directories(data):
    """Every IFD of the TIFF bytes `data` as {tag: (type, count, value bytes, value offset)}."""
    assert data[:4] == b"II*\0", "not a little-endian classic TIFF"
    off = struct.unpack("<I", data[4:8])[0]
    while off:
        n = struct.unpack("<H", data[off:off + 2])[0]
        tags = {}
        for i in range(n):
            e = off + 2 + 12 * i
            tag, typ, count = struct.unpack("<HHI", data[e:e + 8])
            size = TYPE_SIZES.get(typ, 1) * count
            at = e + 8 if size <= 4 else struct.unpack("<I", data[e + 8:e + 12])[0]
            tags[tag] = (typ, count, data[at:at + size], at)
        yield tags
        off = struct.unpack("<I", data[off + 2 + 12 * n:off + 6 + 12 * n])[0]


def numbers(entry):
    """The integer values of a SHORT, LONG or LONG8 entry."""
    typ, count, raw = entry[:3]
    return struct.unpack("<%d%s" % (count, {3: "H", 4: "I", 16: "Q"}[typ]), raw)
