# SPDX-License-Identifier: Apache-2.0
"""Pixel-level helpers for check_conversion.py.

Everything here works on numpy arrays of shape (rows, cols, 3), uint8 RGB,
so the checks can compare a decoded DICOM level with what OpenSlide returns.
"""
import io
import re
import math

import numpy as np
from PIL import Image
from pydicom.encaps import generate_pixel_data_frame

WHITE = (255, 255, 255)

# Size of the largest JPEG MCU (4:2:0 subsampling).  Padding pixels in an MCU
# that also holds image pixels can legitimately pick up ringing/chroma bleed.
MCU = 16


# --------------------------------------------------------------------------
# Reference images from OpenSlide
# --------------------------------------------------------------------------

def excitation_wavelength(slide):
    """Excitation wavelength in nm of a fluorescence scan (Hamamatsu writes
    "...;ExcitationWaveLength=387;..." in a property), 0 for brightfield."""
    for key, value in slide.properties.items():
        for text in (key, value):
            m = re.search(r"ExcitationWaveLength=([0-9.]+)", text)
            if m:
                return float(m.group(1))
    return 0


def background_rgb(slide):
    """Background colour the converter must use: openslide.background-color
    (hex RRGGBB); when the property is absent, white for brightfield and black
    for fluorescence (empty glass is dark there)."""
    value = slide.properties.get("openslide.background-color")
    if not value:
        return (0, 0, 0) if excitation_wavelength(slide) else WHITE
    value = value.lstrip("#")
    return tuple(int(value[i:i + 2], 16) for i in (0, 2, 4))


def flatten_rgba(image, background):
    """RGBA image from openslide-python (already un-premultiplied) -> RGB
    array.  Only fully transparent pixels become background: this mirrors the
    converter's rule (premultiplied ARGB un-premultiplied, alpha 0 ->
    background) rather than a usual alpha blend."""
    rgba = np.asarray(image.convert("RGBA"))
    rgb = rgba[..., :3].copy()
    rgb[rgba[..., 3] == 0] = background
    return rgb


def level_reference(slide, level, background):
    """The whole of one OpenSlide level, prepared like the converter does."""
    size = slide.level_dimensions[level]
    return flatten_rgba(slide.read_region((0, 0), level, size), background)


def associated_reference(slide, name, background):
    return flatten_rgba(slide.associated_images[name], background)


def thumbnail_reference(slide, cols, rows):
    """OpenSlide's own thumbnail stretched to exactly cols x rows, for a loose
    layout/colour comparison (get_thumbnail keeps the aspect ratio, so its
    size may differ from the converter's by a pixel)."""
    thumb = slide.get_thumbnail((cols, rows)).convert("RGB")
    if thumb.size != (cols, rows):
        thumb = thumb.resize((cols, rows), Image.BILINEAR)
    return np.asarray(thumb)


# --------------------------------------------------------------------------
# JPEG frames
# --------------------------------------------------------------------------

def pil_colour_guess(image):
    """Colour space libjpeg (hence PIL) assumes for a 3-component JPEG when
    nobody tells it: JFIF wins, then Adobe APP14 transform, then the
    component ids ('R','G','B' -> RGB, anything else -> YCbCr).  Uses PIL's
    own parse of the markers so the answer is what PIL will really do."""
    info = image.info
    if "jfif" in info:
        return "YCbCr"
    if "adobe" in info:
        return "RGB" if info.get("adobe_transform") == 0 else "YCbCr"
    ids = tuple(layer[0] for layer in getattr(image, "layer", []))
    return "RGB" if ids == (ord("R"), ord("G"), ord("B")) else "YCbCr"


JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
JPEG_2000 = "1.2.840.10008.1.2.4.91"
# The (transfer syntax, PI) pairs a WSM level may have: JPEG in RGB or YCbCr; JPEG 2000
# raw codestreams with the PI their MCT and wavelet imply (or RGB without MCT).
ALLOWED_TS_PI = {
    JPEG_BASELINE: ("RGB", "YBR_FULL_422"),
    JPEG_2000: ("RGB", "YBR_ICT", "YBR_RCT"),
}


def jpeg_space_for_pi(photometric):
    """The JPEG colour space a DICOM decoder must assume for a given PI."""
    if photometric == "RGB":
        return "RGB"
    if photometric.startswith("YBR"):
        return "YCbCr"
    return None


def decode_jpeg(buf, jpeg_space):
    """Decode one JPEG frame the way a conforming DICOM decoder would: the
    colour transform is dictated by the Photometric Interpretation
    (jpeg_space), not guessed from markers.  So a wrong PI yields wrong
    colours here and shows up as a large PSNR error.
    Returns (rgb array, what PIL would have guessed on its own)."""
    image = Image.open(io.BytesIO(buf))
    guess = pil_colour_guess(image)
    if image.mode != "RGB" or len(image.tile) != 1:
        raise ValueError("not a 3-component baseline JPEG (PIL mode %s)" % image.mode)
    codec, extent, offset, (rawmode, _jpegmode) = image.tile[0]
    # The second decoder argument overrides libjpeg's jpeg_color_space.
    image.tile = [(codec, extent, offset, (rawmode, jpeg_space))]
    image.load()
    return np.asarray(image), guess


def ycbcr_as_rgb(pixels):
    """Pixels read as YCbCr and converted to RGB: what a YBR PI does to the output of a
    decoder that made no colour conversion itself."""
    return np.asarray(Image.frombytes("YCbCr", (pixels.shape[1], pixels.shape[0]),
                                      pixels.tobytes()).convert("RGB"))


def decode_j2k(buf, photometric):
    """RGB pixels of a raw J2K codestream as a DICOM reader makes them: OpenJPEG applies
    the codestream's own MCT (PI RGB / YBR_ICT / YBR_RCT); any other PI asks for a YCbCr
    to RGB conversion afterwards, so a wrong PI yields wrong colours here too."""
    if buf[:4] != b"\xff\x4f\xff\x51":
        raise ValueError("not a raw J2K codestream (no SOC SIZ)")
    pixels = np.asarray(Image.open(io.BytesIO(buf)).convert("RGB"))
    return pixels if photometric in ("RGB", "YBR_ICT", "YBR_RCT") else ycbcr_as_rgb(pixels)


class DecodedImage:
    """All frames of one instance laid out as TILED_FULL (row by row)."""

    def __init__(self, mosaic, tiles_across, tiles_down, tile_cols, tile_rows):
        self.mosaic = mosaic
        self.tiles_across = tiles_across
        self.tiles_down = tiles_down
        self.tile_cols = tile_cols
        self.tile_rows = tile_rows
        self.decode_errors = []      # (frame number, message)
        self.guess_mismatches = 0    # frames PIL alone would decode differently
        self.frames = 0

    def cropped(self, cols, rows):
        return self.mosaic[:rows, :cols]


def decode_tiled(ds):
    """Decode every frame of ds as its transfer syntax and Photometric Interpretation say
    (JPEG: the PI's colour space; JPEG 2000: OpenJPEG) and assemble the full tile mosaic,
    including the padding beyond the Total Pixel Matrix."""
    tile_rows, tile_cols = int(ds.Rows), int(ds.Columns)
    n_frames = int(ds.get("NumberOfFrames", 1) or 1)
    tpm_cols = int(ds.get("TotalPixelMatrixColumns", tile_cols))
    tpm_rows = int(ds.get("TotalPixelMatrixRows", tile_rows))
    photometric = ds.get("PhotometricInterpretation", "")
    j2k = ds.file_meta.get("TransferSyntaxUID") == JPEG_2000
    jpeg_space = jpeg_space_for_pi(photometric)
    across = max(1, math.ceil(tpm_cols / tile_cols))
    down = max(1, math.ceil(tpm_rows / tile_rows))
    # Lay out at least as many tiles as there are frames so that a wrong
    # frame count still decodes (the count itself is checked elsewhere).
    down = max(down, math.ceil(n_frames / across))
    # Mid grey for frames that fail to decode: guaranteed to fail PSNR.
    mosaic = np.full((down * tile_rows, across * tile_cols, 3), 128, np.uint8)
    result = DecodedImage(mosaic, across, down, tile_cols, tile_rows)
    for index, frame in enumerate(generate_pixel_data_frame(ds.PixelData, n_frames)):
        result.frames += 1
        try:
            if j2k:
                pixels, guess = decode_j2k(frame, photometric), jpeg_space
            else:
                pixels, guess = decode_jpeg(frame, jpeg_space)
        except Exception as exc:  # any decoder failure is a finding
            result.decode_errors.append((index + 1, str(exc)))
            continue
        if guess != jpeg_space:
            result.guess_mismatches += 1
        if pixels.shape[:2] != (tile_rows, tile_cols):
            result.decode_errors.append(
                (index + 1, "decoded %dx%d, expected Columns x Rows %dx%d"
                 % (pixels.shape[1], pixels.shape[0], tile_cols, tile_rows)))
            continue
        row, col = divmod(index, across)
        y, x = row * tile_rows, col * tile_cols
        mosaic[y:y + tile_rows, x:x + tile_cols] = pixels
    return result


# --------------------------------------------------------------------------
# Comparisons
# --------------------------------------------------------------------------

def area_average_2x(image):
    """Half-size image by 2x2 area averaging; output size is ceil(n/2).  At
    an odd right/bottom edge the last output column/row averages only the
    source pixels that exist (2 or 1 of them), not padding."""
    rows, cols = image.shape[:2]
    out_rows, out_cols = (rows + 1) // 2, (cols + 1) // 2
    src = image.astype(np.uint16)
    total = np.zeros((out_rows, out_cols, 3), np.uint16)
    count = np.zeros((out_rows, out_cols, 1), np.uint16)
    even_rows, even_cols = rows // 2, cols // 2
    total += src[0::2, 0::2]
    count += 1
    total[:, :even_cols] += src[0::2, 1::2]
    count[:, :even_cols] += 1
    total[:even_rows, :] += src[1::2, 0::2]
    count[:even_rows, :] += 1
    total[:even_rows, :even_cols] += src[1::2, 1::2]
    count[:even_rows, :even_cols] += 1
    return total.astype(np.float32) / count


def psnr(actual, expected, peak=255.0):
    """PSNR over all three channels.  Works in row bands to keep memory low
    on full-resolution levels.  Returns inf for identical images."""
    if actual.shape != expected.shape:
        raise ValueError("shape %s != %s" % (actual.shape, expected.shape))
    squared_sum = 0.0
    band = 256
    for y in range(0, actual.shape[0], band):
        diff = (actual[y:y + band].astype(np.float32)
                - expected[y:y + band].astype(np.float32))
        squared_sum += float(np.square(diff, dtype=np.float64).sum())
    mse = squared_sum / actual.size
    if mse == 0:
        return math.inf
    return 10.0 * math.log10(peak * peak / mse)


def padding_report(decoded, tpm_cols, tpm_rows, background):
    """How far the padding beyond the Total Pixel Matrix is from background.

    Returns (mean abs diff over all padding pixels or None when there is no
    padding, worst (frame number, mean abs diff) over padding that lies in
    MCUs holding no image pixels, or None).  The second figure catches
    garbage confined to a single edge frame, which the overall mean could
    dilute; the first catches anything broad."""
    mosaic = decoded.mosaic
    bg = np.array(background, np.float32)
    pad_mask = np.ones(mosaic.shape[:2], bool)
    pad_mask[:tpm_rows, :tpm_cols] = False
    if not pad_mask.any():
        return None, None
    overall = float(np.abs(mosaic[pad_mask].astype(np.float32) - bg).mean())

    # Pixels in MCUs that hold padding only must decode to (nearly) flat
    # background.  MCUs are aligned to each frame's origin, so an MCU is
    # "padding only" when its first row or column is already outside.
    worst = None
    th, tw = decoded.tile_rows, decoded.tile_cols
    local_y = (np.arange(th) // MCU * MCU)[:, None]
    local_x = (np.arange(tw) // MCU * MCU)[None, :]
    for row in range(decoded.tiles_down):
        for col in range(decoded.tiles_across):
            y0, x0 = row * th, col * tw
            far = (y0 + local_y >= tpm_rows) | (x0 + local_x >= tpm_cols)
            if not far.any():
                continue
            tile = mosaic[y0:y0 + th, x0:x0 + tw]
            value = float(np.abs(tile[far].astype(np.float32) - bg).mean())
            if worst is None or value > worst[1]:
                worst = (row * decoded.tiles_across + col + 1, value)
    return overall, worst
