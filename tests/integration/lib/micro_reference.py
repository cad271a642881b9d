# SPDX-License-Identifier: Apache-2.0
"""The output docs/microscopy.md asks for, written here with pydicom: the faithful conversion that
check_micro.py must pass and whose broken copies it must fail (micro.checker), so the
checker is proven before and apart from the converter.

write_reference(source, template, outdir, ...) writes, from check_micro's reading of a
source, one VL WSM instance per (t, channel, level) as docs/microscopy.md names them, starting from a
WSM file written by another tool (the template: its patient, study, specimen and container
modules; highdicom's in ../shared/testdata/dicom-reference, clean under dciodvfy), frames
native, JPEG 2000 (Pillow) or JPEG-LS (dcmtk's dcmcjpls)."""
import io
import subprocess
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

import check_micro as cm

SYNTAX = {"native": "1.2.840.10008.1.2.1", "j2k": "1.2.840.10008.1.2.4.90",
          "jpeg-ls": "1.2.840.10008.1.2.4.80"}


def code(value, scheme, meaning):
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def stored_level0(source, mapping, plane):
    if mapping.exact:
        return mapping.stored(plane)
    real = plane.astype(np.float64)
    finite = np.isfinite(real)
    values = np.where(finite, np.rint((np.where(finite, real, 0) - mapping.intercept)
                                      / mapping.slope), 0)
    return np.clip(values, 0, 65535).astype(np.uint16)


def frames_of(image, tile, bits):
    """Tiles of one plane, row-major, padded with 0."""
    h, w = image.shape
    across, down = -(-w // tile), -(-h // tile)
    padded = np.zeros((down * tile, across * tile), np.uint8 if bits == 8 else np.uint16)
    padded[:h, :w] = image
    return [padded[r * tile:(r + 1) * tile, c * tile:(c + 1) * tile]
            for r in range(down) for c in range(across)]


def optical_path(source, c, icc):
    info = source.channels[c]
    path = Dataset()
    path.ICCProfile = icc          # dciodvfy requires it beside a palette
    path.IlluminationTypeCodeSequence = Sequence([code("111743", "DCM",
                                                       "Epifluorescence illumination")])
    path.OpticalPathIdentifier = str(c + 1)
    path.OpticalPathDescription = info["name"] or "Channel %d" % (c + 1)
    if info["excitation"]:
        path.IlluminationWaveLength = info["excitation"]
    else:
        path.IlluminationColorCodeSequence = Sequence([code("414298005", "SCT",
                                                            "Full Spectrum")])
    if info["emission"]:
        path.ImagePathFilterPassThroughWavelength = int(round(info["emission"]))
    if source.objective:
        path.ObjectiveLensPower = "%g" % source.objective
    lut = Dataset()
    ramp = np.arange(256, dtype=np.int64)
    for name, value in zip(("Red", "Green", "Blue"), source.colour(c)):
        setattr(lut, "%sPaletteColorLookupTableDescriptor" % name, [256, 0, 16])
        data = (ramp * value // 255 * 257).astype("<u2").tobytes()
        setattr(lut, "%sPaletteColorLookupTableData" % name, data)
    path.PaletteColorLookupTableSequence = Sequence([lut])
    return path


def rwvm(mapping, bits):
    item = Dataset()
    item.RealWorldValueFirstValueMapped = 0
    item.RealWorldValueLastValueMapped = (1 << bits) - 1
    item.RealWorldValueIntercept = float(mapping.intercept)
    item.RealWorldValueSlope = float(mapping.slope)
    item.LUTExplanation = "source values"
    item.LUTLabel = "SOURCE"
    item.MeasurementUnitsCodeSequence = Sequence([code("1", "UCUM", "no units")])
    return item


def write_instance(template, path, source, c, level, mapping, planes, tile, sizes, series,
                   syntax):
    ds = pydicom.dcmread(str(template))
    bits = mapping.bits
    width, height = sizes[level]
    frames = [f for image in planes for f in frames_of(image, tile, bits)]
    uid = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = uid
    ds.SeriesInstanceUID = series
    for keyword in ("PlanarConfiguration", "LossyImageCompressionRatio",
                    "LossyImageCompressionMethod", "RecommendedAbsentPixelCIELabValue",
                    "PixelPaddingValue"):
        if keyword in ds:
            delattr(ds, keyword)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"] if level == 0 else \
        ["DERIVED", "PRIMARY", "VOLUME", "RESAMPLED"]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
    ds.PresentationLUTShape = "IDENTITY"
    ds.LossyImageCompression = "00"
    ds.Rows = ds.Columns = tile
    ds.NumberOfFrames = len(frames)
    ds.TotalPixelMatrixColumns, ds.TotalPixelMatrixRows = width, height
    ds.TotalPixelMatrixFocalPlanes = len(planes)
    ds.NumberOfOpticalPaths = 1
    ds.InstanceNumber = level + 1
    mpp = source.mpp or (1.0, 1.0)
    scale = sizes[0][0] / width
    spacing = (mpp[1] / 1000 * scale, mpp[0] / 1000 * scale)
    ds.ImagedVolumeWidth, ds.ImagedVolumeHeight = width * spacing[1], height * spacing[0]
    icc = ds.OpticalPathSequence[0].ICCProfile
    ds.OpticalPathSequence = Sequence([optical_path(source, c, icc)])
    ds.RescaleSlope, ds.RescaleIntercept = 1, 0
    shared = ds.SharedFunctionalGroupsSequence[0]
    shared.WholeSlideMicroscopyImageFrameTypeSequence[0].FrameType = ds.ImageType
    shared.PixelMeasuresSequence[0].PixelSpacing = ["%.10g" % spacing[0], "%.10g" % spacing[1]]
    if len(planes) > 1 and source.z_spacing:
        shared.PixelMeasuresSequence[0].SpacingBetweenSlices = "%.10g" % (source.z_spacing /
                                                                         1000)
    identification = Dataset()
    identification.OpticalPathIdentifier = str(c + 1)
    shared.OpticalPathIdentificationSequence = Sequence([identification])
    if not mapping.identity:
        shared.RealWorldValueMappingSequence = Sequence([rwvm(mapping, bits)])
    if syntax == "j2k":
        encoded = []
        for frame in frames:
            buffer = io.BytesIO()
            Image.fromarray(frame, "L" if bits == 8 else "I;16").save(
                buffer, "JPEG2000", no_jp2=True, irreversible=False)
            encoded.append(buffer.getvalue())
        ds.PixelData = encapsulate(encoded, has_bot=True)
        ds["PixelData"].VR = "OB"
        ds.file_meta.TransferSyntaxUID = SYNTAX["j2k"]
    else:
        ds.PixelData = np.stack(frames).astype("<u2" if bits == 16 else np.uint8).tobytes()
        ds["PixelData"].VR = "OW" if bits == 16 else "OB"
        ds.file_meta.TransferSyntaxUID = SYNTAX["native"]
    ds.is_implicit_VR, ds.is_little_endian = False, True
    ds.save_as(str(path), write_like_original=False)
    if syntax == "jpeg-ls":
        native = path.with_suffix(".native")
        path.rename(native)
        subprocess.run(["dcmcjpls", "--encode-lossless", str(native), str(path)], check=True,
                       capture_output=True)
        native.unlink()


def write_reference(source, template, outdir, tile=256, syntax="native", z_series=False,
                    t_choice=None):
    """The instances of docs/microscopy.md for `source` (a check_micro.Source) in outdir."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    sizes = cm.level_sizes(source.width, source.height, tile)
    mappings = [cm.Mapping(source.dtype, source.planes[:, c]) for c in range(source.nc)]
    series = {}
    for t, z, c in cm.expected_instances(source, z_series, t_choice):
        zs = [z] if z_series else range(source.nz)
        planes = [stored_level0(source, mappings[c], source.planes[t, c, zz]) for zz in zs]
        uid = series.setdefault((t, z), generate_uid())
        for level in range(len(sizes)):
            if level:
                planes = [cm.halve(p) for p in planes]
            name = "c%d-level-%d.dcm" % (c + 1, level)
            if z_series:
                name = "z%d-" % (z + 1) + name
            if source.nt > 1 and not t_choice:
                name = "t%d-" % (t + 1) + name
            write_instance(template, outdir / name, source, c, level, mappings[c], planes,
                           tile, sizes, uid, syntax)
    return sizes
