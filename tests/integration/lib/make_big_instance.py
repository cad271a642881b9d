# SPDX-License-Identifier: Apache-2.0
"""Writes a large but valid VL WSM instance for the memory tests: the attributes and frames
of a converted level, its frames repeated until the pixel data reaches the asked size, a new
SOP Instance UID, and a taller Total Pixel Matrix to match. Streams: never holds more than
one source level in memory.

usage: make_big_instance.py LEVEL.dcm OUT.dcm MEGABYTES"""
import sys

import pydicom
from pydicom.encaps import generate_pixel_data_frame
from pydicom.filebase import DicomBytesIO
from pydicom.uid import generate_uid


def main(src, out, megabytes):
    ds = pydicom.dcmread(src)
    frames = list(generate_pixel_data_frame(ds.PixelData, int(ds.NumberOfFrames)))
    frames = [f + b"\0" if len(f) % 2 else f for f in frames]
    per_row = -(-int(ds.TotalPixelMatrixColumns) // int(ds.Columns))
    source_rows = len(frames) // per_row
    frames = frames[: source_rows * per_row]   # whole tile rows, so TILED_FULL stays true
    row_bytes = sum(len(f) + 8 for f in frames) // source_rows   # frames cycle: the mean
    rows = max(source_rows, megabytes * 1000 * 1000 // row_bytes)
    nframes = rows * per_row
    ds.NumberOfFrames = nframes
    ds.TotalPixelMatrixRows = rows * int(ds.Rows)
    ds.TotalPixelMatrixColumns = min(int(ds.TotalPixelMatrixColumns), per_row * int(ds.Columns))
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    for tag in (0x7FE00001, 0x7FE00002):   # no offset tables: an empty BOT is valid
        if tag in ds:
            del ds[tag]
    del ds.PixelData
    head = DicomBytesIO()
    head.is_little_endian, head.is_implicit_VR = True, False
    pydicom.dcmwrite(head, ds, write_like_original=False)
    with open(out, "wb") as f:
        f.write(head.getvalue())
        # Pixel Data (7FE0,0010) OB, undefined length, an empty Basic Offset Table item.
        f.write(b"\xe0\x7f\x10\x00OB\x00\x00\xff\xff\xff\xff")
        f.write(b"\xfe\xff\x00\xe0\x00\x00\x00\x00")
        for i in range(nframes):
            frame = frames[i % len(frames)]
            f.write(b"\xfe\xff\x00\xe0" + len(frame).to_bytes(4, "little"))
            f.write(frame)
        f.write(b"\xfe\xff\xdd\xe0\x00\x00\x00\x00")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
