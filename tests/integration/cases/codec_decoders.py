#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Our lossless frames read by decoders that are not ours: each frame test_lossless_codecs
wrote (`test_lossless_codecs dump DIR`: frames.tsv, NAME.raw, NAME.enc) goes into a DICOM
file made with pydicom (Secondary Capture, one fragment, the codec's transfer syntax,
photometric and bits), which is decoded by

- RLE Lossless (1.2.840.10008.1.2.5): dcmtk's dcmdrle, GDCM's gdcmconv --raw, and
  pydicom's own RLE handler;
- JPEG-LS Lossless (1.2.840.10008.1.2.4.80): dcmtk's dcmdjpls and gdcmconv --raw;
- JPEG 2000 Lossless (1.2.840.10008.1.2.4.90): Debian's dcmtk has no JPEG 2000, so
  gdcmconv --raw (GDCM's OpenJPEG) and pydicom's Pillow handler (Pillow's OpenJPEG; not
  for 16-bit words of 9 bits stored or fewer, which Pillow 9.4 decodes as 8-bit).

Every decoder must give back the source pixels exactly. The other way round, the same
pixels (unsigned ones, random and smooth patterns) are encoded by other encoders (dcmcrle
and gdcmconv --rle; dcmcjpls and gdcmconv --jpegls; gdcmconv --j2k) from a native file,
and our entries decode their frames (`test_lossless_codecs decode`), exactly. Runs under
/usr/bin/python3 (Debian's pydicom 2.3, numpy, Pillow).

usage: codec_decoders.py DIR TEST_LOSSLESS_CODECS
exit 0 when every decoder gives every frame back"""
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.encaps import generate_pixel_data_frame
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from checks import Checks  # noqa: E402

RLE = "1.2.840.10008.1.2.5"
JPEG_LS = "1.2.840.10008.1.2.4.80"
J2K = "1.2.840.10008.1.2.4.90"
SC_IMAGE = "1.2.840.10008.5.1.4.1.1.7"


def source_pixels(raw, columns, rows, samples, allocated, signed):
    """The dump's pixels (host order: little endian here) as pydicom's pixel_array has them."""
    dtype = np.dtype(("<i" if signed else "<u") + str(allocated // 8))
    shape = (rows, columns, samples) if samples > 1 else (rows, columns)
    return np.frombuffer(raw, dtype=dtype).reshape(shape)


def dicom_file(pixel_data, syntax, columns, rows, samples, allocated, stored, signed, photometric):
    """A Secondary Capture dataset carrying one frame: native, or encapsulated."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SC_IMAGE
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = syntax
    ds = Dataset()
    ds.file_meta = meta
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    ds.SOPClassUID = SC_IMAGE
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "OT"
    ds.ConversionType = "WSD"
    ds.Rows = rows
    ds.Columns = columns
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = photometric
    if samples > 1:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated = allocated
    ds.BitsStored = stored
    ds.HighBit = stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    if syntax == ExplicitVRLittleEndian:
        ds.PixelData = pixel_data
        ds["PixelData"].VR = "OW" if allocated > 8 else "OB"
    else:
        ds.PixelData = encapsulate([pixel_data])
        ds["PixelData"].VR = "OB"
    return ds


def decoded_by_tool(command, path, out):
    """Runs a decompressing tool (input, output) and reads its native output's pixels."""
    run = subprocess.run(command + [str(path), str(out)], capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError("%s exit %d: %s" % (command[0], run.returncode,
                                                (run.stderr or run.stdout).strip()[:300]))
    return pydicom.dcmread(out).pixel_array


def decoded_by_pydicom(path, handler):
    """pydicom's pixel_array through one named handler only."""
    ds = pydicom.dcmread(path)
    pydicom.config.pixel_data_handlers = [handler]
    try:
        return ds.pixel_array
    finally:
        pydicom.config.pixel_data_handlers = list(ALL_HANDLERS)


ALL_HANDLERS = list(pydicom.config.pixel_data_handlers)


def readers(syntax, allocated, stored):
    """(name, function(path, workdir) -> pixels) of the decoders that read this syntax."""
    from pydicom.pixel_data_handlers import pillow_handler, rle_handler
    gdcm = ("gdcmconv --raw", lambda p, w: decoded_by_tool(["gdcmconv", "--raw"], p,
                                                           w / "gdcm.dcm"))
    if syntax == RLE:
        own = [("dcmdrle", lambda p, w: decoded_by_tool(["dcmdrle"], p, w / "dcmtk.dcm")),
               ("pydicom rle_handler", lambda p, w: decoded_by_pydicom(p, rle_handler))]
        # GDCM 3.0.21's RLE reader asserts Bits Allocated == Bits Stored for 8-bit samples
        # (gdcmImageCodec.cxx:699) and aborts on the others.
        return own + ([gdcm] if allocated == 16 or stored == 8 else [])
    if syntax == JPEG_LS:
        return [("dcmdjpls", lambda p, w: decoded_by_tool(["dcmdjpls"], p, w / "dcmtk.dcm")),
                gdcm]
    if syntax == J2K:
        # Pillow 9.4 gives a codestream of precision 9 or less as 8-bit mode L: 9-bit values
        # come out mangled, 8 bits in 16 do not fill pydicom's 16-bit buffer.
        pillow = ("pydicom pillow_handler", lambda p, w: decoded_by_pydicom(p, pillow_handler))
        return [gdcm] + ([pillow] if allocated == 8 or stored > 9 else [])
    raise ValueError("no decoders for %s" % syntax)


def check_frame(checks, folder, work, fields):
    name, syntax = fields[0], fields[1]
    columns, rows, samples, allocated, stored, signed = (int(v) for v in fields[2:8])
    photometric = fields[8]
    expected = source_pixels((folder / (name + ".raw")).read_bytes(), columns, rows, samples,
                             allocated, signed)
    frame = (folder / (name + ".enc")).read_bytes()
    path = work / (name + ".dcm")
    dicom_file(frame, syntax, columns, rows, samples, allocated, stored, signed,
               photometric).save_as(path, write_like_original=False)
    for reader, decode in readers(syntax, allocated, stored):
        got = checks.guard(name, reader, decode, path, work)
        if got is None:
            continue
        same = got.shape == expected.shape and np.array_equal(got.astype(np.int64),
                                                              expected.astype(np.int64))
        if not same:
            where = ("shape %s, expected %s" % (got.shape, expected.shape)
                     if got.shape != expected.shape else
                     "%d samples differ" % int(np.count_nonzero(got != expected)))
            checks.fail(name, "%s %dx%d x%d %d/%d %s" % (reader, columns, rows, samples,
                                                         allocated, stored, photometric), where)
    return len(readers(syntax, allocated, stored))


# Other encoders of each syntax: (name, command before input and output).
ENCODERS = {
    RLE: [("dcmcrle", ["dcmcrle"]), ("gdcmconv --rle", ["gdcmconv", "--rle"])],
    JPEG_LS: [("dcmcjpls", ["dcmcjpls"]), ("gdcmconv --jpegls", ["gdcmconv", "--jpegls"])],
    J2K: [("gdcmconv --j2k", ["gdcmconv", "--j2k"])],
}


def encoded_elsewhere(command, native, out):
    """The one frame of the file a foreign encoder makes from a native file."""
    run = subprocess.run(command + [str(native), str(out)], capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError("exit %d: %s" % (run.returncode,
                                            (run.stderr or run.stdout).strip()[:300]))
    ds = pydicom.dcmread(out)
    return ds.file_meta.TransferSyntaxUID, next(generate_pixel_data_frame(ds.PixelData))


def decoded_by_us(ours, syntax, frame, fields, work):
    """Our entry's decode of another encoder's frame, as tightly packed bytes."""
    (work / "theirs.enc").write_bytes(frame)
    run = subprocess.run([ours, "decode", syntax] + fields[2:7] +
                         [str(work / "theirs.enc"), str(work / "ours.raw")],
                         capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(run.stderr.strip()[:300])
    return (work / "ours.raw").read_bytes()


SKIPPED = []
# Frames other encoders must have made, per syntax, for the check to mean something.
MIN_THEIRS = 10


def check_theirs(checks, folder, work, ours, fields):
    """Encodes the frame's source pixels with the other encoders; our entry decodes each."""
    name, syntax = fields[0], fields[1]
    columns, rows, samples, allocated, stored, signed = (int(v) for v in fields[2:8])
    raw = (folder / (name + ".raw")).read_bytes()
    native = work / (name + "-native.dcm")
    photometric = "RGB" if samples == 3 else "MONOCHROME2"
    dicom_file(raw, ExplicitVRLittleEndian, columns, rows, samples, allocated, stored, signed,
               photometric).save_as(native, write_like_original=False)
    decodes = 0
    for encoder, command in ENCODERS[syntax]:
        try:
            made = encoded_elsewhere(command, native, work / "theirs.dcm")
        except RuntimeError as exc:
            # GDCM 3.0.21's encoders abort on many small or odd frames (asserts in its RLE
            # coder, crashes in its JPEG 2000 path): their failure, counted, not ours.
            SKIPPED.append("%s %s: %s" % (name, encoder, str(exc).splitlines()[0][:100]))
            continue
        if made[0] != syntax:
            checks.fail(name, encoder, "wrote %s, expected %s" % (made[0], syntax))
            continue
        got = checks.guard(name, "our decoder of %s's frame" % encoder, decoded_by_us, ours,
                           syntax, made[1], fields, work)
        if got is not None and got != raw:
            checks.fail(name, "our decoder of %s's frame" % encoder, "pixels differ")
        decodes += 1
    return decodes


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    folder, ours = Path(sys.argv[1]), sys.argv[2]
    checks = Checks(show="failures")
    lines = (folder / "frames.tsv").read_text().splitlines()
    per_syntax, theirs = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for line in lines:
            fields = line.split("\t")
            decoded = check_frame(checks, folder, work, fields)
            per_syntax[fields[1]] = per_syntax.get(fields[1], 0) + decoded
            # Unsigned pixels (our decode mode describes no sign), two patterns of each.
            if fields[7] == "0" and fields[0].endswith(("-random", "-smooth")):
                count = check_theirs(checks, folder, work, ours, fields)
                theirs[fields[1]] = theirs.get(fields[1], 0) + count
    for syntax, count in sorted(per_syntax.items()):
        checks.info("%s: %d decodes of our frames, %d of other encoders' frames by ours"
                    % (syntax, count, theirs.get(syntax, 0)))
    checks.info("%d frames other encoders could not make (left out)" % len(SKIPPED))
    checks.expect(all(per_syntax.get(s) and theirs.get(s, 0) >= MIN_THEIRS
                      for s in (RLE, JPEG_LS, J2K)),
                  "frames of RLE, JPEG-LS and JPEG 2000 were decoded both ways")
    return checks.result()


if __name__ == "__main__":
    sys.exit(main())
