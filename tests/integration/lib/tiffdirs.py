# SPDX-License-Identifier: Apache-2.0
"""Reads TIFF directories without libtiff, so tests check slide2dcm against the file's own
bytes rather than against the library it uses. Little-endian only: classic TIFF (every
SVS and NDPI in ../shared/testdata) and BigTIFF (Leica SCN)."""
import struct

# TIFF 6 field types (+ BigTIFF's LONG8) -> (bytes per value, struct code).
# 5/10 (S)RATIONAL are two 32-bit integers each: numbers() returns them as fractions.
TYPES = {1: (1, "B"), 2: (1, "s"), 3: (2, "H"), 4: (4, "I"), 5: (8, "II"), 6: (1, "b"),
         7: (1, "B"), 8: (2, "h"), 9: (4, "i"), 10: (8, "ii"), 11: (4, "f"), 12: (8, "d"),
         13: (4, "I"), 16: (8, "Q")}

# Tags the tests look at.
NEW_SUBFILE_TYPE, WIDTH, LENGTH, BITS, COMPRESSION, PHOTOMETRIC = 254, 256, 257, 258, 259, 262
DESCRIPTION, STRIP_OFFSETS, SAMPLES, ROWS_PER_STRIP, STRIP_COUNTS = 270, 273, 277, 278, 279
TILE_WIDTH, TILE_LENGTH, TILE_OFFSETS, TILE_COUNTS = 322, 323, 324, 325
JPEG_TABLES, SUBSAMPLING = 347, 530
NDPI_MCU_STARTS = 65426   # byte offset of each restart interval of the level's JPEG strip


def is_tiff(data):
    """Little-endian classic TIFF or BigTIFF."""
    return data[:4] in (b"II*\0", b"II+\0")


def directories(data):
    """Every IFD of the TIFF bytes `data` as {tag: (type, count, value bytes, value offset)}."""
    assert is_tiff(data), "not a little-endian TIFF"
    big = data[:4] == b"II+\0"
    # Classic: 2-byte entry count, 12-byte entries, 4-byte offsets; BigTIFF: 8, 20, 8.
    n_fmt, entry, off_fmt, word = ("<Q", 20, "<Q", 8) if big else ("<H", 12, "<I", 4)
    off = struct.unpack(off_fmt, data[8:16] if big else data[4:8])[0]
    seen = set()
    while off and off not in seen:
        seen.add(off)
        head = 8 if big else 2
        n = struct.unpack(n_fmt, data[off:off + head])[0]
        tags = {}
        for i in range(n):
            e = off + head + entry * i
            tag, typ = struct.unpack("<HH", data[e:e + 4])
            count = struct.unpack(off_fmt, data[e + 4:e + 4 + word])[0]
            size = TYPES.get(typ, (1, "B"))[0] * count
            value = e + 4 + word
            at = value if size <= word else struct.unpack(off_fmt, data[value:value + word])[0]
            tags[tag] = (typ, count, data[at:at + size], at)
        yield tags
        end = off + head + entry * n
        off = struct.unpack(off_fmt, data[end:end + word])[0]


def numbers(entry):
    """The values of a numeric entry (integers; floats for FLOAT/DOUBLE; numerator /
    denominator as a float for RATIONAL/SRATIONAL)."""
    typ, count, raw = entry[:3]
    size, code = TYPES[typ]
    if code == "s":
        raise ValueError("ASCII entry has no numbers")
    # A rational is two integers: count * len(code) of them.
    values = struct.unpack("<%d%s" % (count * len(code), code[0]), raw[:size * count])
    if len(code) == 2:    # rationals: pairs
        return tuple(values[2 * i] / values[2 * i + 1] if values[2 * i + 1] else float("nan")
                     for i in range(count))
    return values


def number(ifd, tag, default=None):
    """The first value of `tag` in an IFD, or default when absent."""
    return numbers(ifd[tag])[0] if tag in ifd else default


def text(ifd, tag):
    """An ASCII entry without its trailing NULs ('' when absent)."""
    return ifd[tag][2].rstrip(b"\0").decode("latin-1") if tag in ifd else ""


def write_with_text(data, ifd, tag, new_text, path):
    """Writes the TIFF `data` to path with the ASCII entry `tag` of ifd (one of
    directories(data)) replaced in place by new_text, padded with spaces to the old text's
    length, which it must not pass: no offset in the file moves."""
    at, size = ifd[tag][3], len(text(ifd, tag).encode("latin-1"))
    new = new_text.encode("latin-1")
    assert len(new) <= size, "the new text is longer than the old"
    with open(path, "wb") as f:
        f.write(data[:at] + new.ljust(size) + data[at + size:])


def pieces(ifd):
    """(offsets, byte counts) of the IFD's tiles, or of its strips when it is not tiled."""
    if TILE_OFFSETS in ifd:
        return numbers(ifd[TILE_OFFSETS]), numbers(ifd[TILE_COUNTS])
    return numbers(ifd[STRIP_OFFSETS]), numbers(ifd[STRIP_COUNTS])
