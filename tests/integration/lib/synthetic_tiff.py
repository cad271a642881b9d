# SPDX-License-Identifier: Apache-2.0
"""Tiled JPEG TIFFs written byte by byte, for cases that need tiles libtiff will not write
(sizes not a multiple of 16) or a layout chosen tile by tile (large tiles, chosen padding)."""
import io
import struct

import numpy as np
from PIL import Image


def tiled_tiff(path, tile, img, quality=90, subsampling=2, pad=(255, 255, 255), text=None,
               comment=None, icc=None):
    """Writes `img` (rows x columns x RGB, uint8) to `path` as a little-endian tiled TIFF:
    YCbCr JPEG tiles, each a complete JPEG stream (Pillow's subsampling: 0 is 4:4:4, 2 is
    4:2:0), edge tiles filled past the image with `pad`; `text` adds ASCII tags,
    {tag: str} (Make 271, Model 272, Software 305...); `comment` (bytes) goes in a COM
    segment of every tile; `icc` (bytes) is the ICC profile (tag 34675). Returns the tiles'
    sizes in bytes."""
    height, width = img.shape[:2]
    tiles = []
    for r in range(0, height, tile):
        for c in range(0, width, tile):
            block = np.empty((tile, tile, 3), np.uint8)
            block[:] = pad
            part = img[r:r + tile, c:c + tile]
            block[:part.shape[0], :part.shape[1]] = part
            out = io.BytesIO()
            Image.fromarray(block).save(out, "JPEG", quality=quality, subsampling=subsampling,
                                        **({"comment": comment} if comment else {}))
            tiles.append(out.getvalue())
    data = bytearray(b"II*\0\0\0\0\0")

    def put(raw):
        at = len(data)
        data.extend(raw)
        if len(data) % 2:
            data.append(0)
        return at

    offsets = [put(t) for t in tiles]
    bits = put(struct.pack("<3H", 8, 8, 8))
    offs = put(struct.pack("<%dI" % len(tiles), *offsets))
    counts = put(struct.pack("<%dI" % len(tiles), *[len(t) for t in tiles]))
    ASCII, SHORT, LONG = 2, 3, 4
    strings = {tag: value.encode() + b"\0" for tag, value in (text or {}).items()}
    # Four bytes or fewer would sit in the entry itself: not written so here.
    assert all(len(raw) > 4 for raw in strings.values()), "text tags of 4+ characters"
    entries = [(tag, ASCII, len(raw), put(raw)) for tag, raw in strings.items()] + [(256, LONG, 1, width), (257, LONG, 1, height), (258, SHORT, 3, bits),
               (259, SHORT, 1, 7), (262, SHORT, 1, 6), (277, SHORT, 1, 3), (284, SHORT, 1, 1),
               (322, LONG, 1, tile), (323, LONG, 1, tile), (324, LONG, len(tiles), offs),
               (325, LONG, len(tiles), counts)]
    if icc:
        entries.append((34675, 7, len(icc), put(icc)))   # UNDEFINED
    entries.sort()
    ifd = len(data)
    data.extend(struct.pack("<H", len(entries)))
    for tag, kind, count, value in entries:
        if kind == SHORT and count == 1:
            data.extend(struct.pack("<HHIHH", tag, kind, count, value, 0))
        else:
            data.extend(struct.pack("<HHII", tag, kind, count, value))
    data.extend(struct.pack("<I", 0))
    struct.pack_into("<I", data, 4, ifd)
    path.write_bytes(bytes(data))
    return [len(t) for t in tiles]
