# SPDX-License-Identifier: Apache-2.0
"""What slide2dcm must write for a plain TIFF (issue 16), computed without our C code.

The pages are decoded by readers other than ours, then PLAIN.md's mapping table (docs/
plain-tiff.md) is applied here in numpy; the results are the stored DICOM values per
instance, which check_plain.py compares with what dcmtk, GDCM and pydicom decode from the
output. Run it with /usr/bin/python3 (Debian's tifffile, PIL, numpy).

Decoders, by what the page holds:
- tifffile (pure Python here: Debian has no imagecodecs) for uncompressed, Deflate and
  PackBits pages of 1, 8, 16, 32 and 64 bits, either byte order, BigTIFF, planar or not;
- numpy, unpacking tifffile's raw strip bytes, for uncompressed 2- and 4-bit pages (which
  tifffile cannot unpack without imagecodecs);
- PIL's JPEG decoder (libjpeg-turbo) for JPEG (compression 7) pages, strip by strip with the
  JPEGTables spliced in, so that orientation is applied here and not half by libtiff's RGBA
  reader (which for Orientation 5..8 only flips);
- PIL's TIFF reader for LZW, CCITT G3/G4 and old JPEG. It wraps the system libtiff, the
  library our reader uses too, so these decodes share libtiff's codecs but none of our code;
  PIL's inversion of min-is-white 1- and 8-bit pages is undone here to get the stored
  values. Old JPEG goes through libtiff's RGBA reader there, as PLAIN.md says ours does.

    pages = decode_pages(path)                   # stored samples, as in the file
    instances = expected_instances(path, kind)   # what each output instance must hold
    expected_window(frames, slope, intercept, bits_stored)
    jpeg_page_streams(path)                      # the bitstreams a JPEG copy must hold

Where docs/plain-tiff.md leaves a detail open, the choice made here is stated at the
function (alpha rounding) and the comparison carries a tolerance. Where this file and
docs/plain-tiff.md disagree, the docs win."""
import io
import json
import math
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

SOP_SC = "1.2.840.10008.5.1.4.1.1.7"
SOP_BIT = "1.2.840.10008.5.1.4.1.1.7.1"
SOP_BYTE = "1.2.840.10008.5.1.4.1.1.7.2"
SOP_WORD = "1.2.840.10008.5.1.4.1.1.7.3"
SOP_COLOUR = "1.2.840.10008.5.1.4.1.1.7.4"
SOP_PHOTO = "1.2.840.10008.5.1.4.1.1.77.1.4"
SOP_ENDOSCOPIC = "1.2.840.10008.5.1.4.1.1.77.1.1"

# The real TIFFs of ../shared/testdata the plain tests convert, by path under it: (kind,
# [(SOP class, pages)]) per docs/plain-tiff.md, or the words of the refusal.
REAL_FILES = {
    "negative/histolab_kidney-48-5.tif": ("photo", [(SOP_PHOTO, [1])]),
    "libtiff/32bpp-None-jpeg.tiff": ("photo", [(SOP_PHOTO, [1])]),
    "libtiff/32bpp-None.tiff": ("photo", [(SOP_PHOTO, [1])]),
    "libtiff/custom_dir_EXIF_GPS.tiff": ("photo", [(SOP_PHOTO, [1])]),
    "libtiff/deflate-last-strip-extra-data.tiff": ("radiology", [(SOP_BYTE, [1])]),
    "libtiff/lzw-single-strip.tiff": ("document", [(SOP_BIT, [1])]),
    "libtiff/minisblack-1c-16b.tiff": ("radiology", [(SOP_WORD, [1])]),
    "libtiff/minisblack-1c-8b.tiff": ("radiology", [(SOP_BYTE, [1])]),
    "libtiff/minisblack-2c-8b-alpha.tiff": ("radiology", [(SOP_BYTE, [1])]),
    "libtiff/miniswhite-1c-1b.tiff": ("document", [(SOP_BIT, [1])]),
    "libtiff/ojpeg_chewey_subsamp21_multi_strip.tiff": ("photo", [(SOP_PHOTO, [1])]),
    "libtiff/ojpeg_zackthecat_subsamp22_single_strip.tiff": ("photo", [(SOP_PHOTO, [1])]),
    "libtiff/palette-1c-1b.tiff": ("document", [(SOP_COLOUR, [1])]),
    "libtiff/palette-1c-4b.tiff": ("photo", [(SOP_PHOTO, [1])]),
    "libtiff/palette-1c-8b.tiff": ("photo", [(SOP_PHOTO, [1])]),
    "libtiff/quad-lzw-compat.tiff": ("photo", [(SOP_PHOTO, [1])]),
    "libtiff/rgb-3c-8b.tiff": ("photo", [(SOP_PHOTO, [1])]),
    "libtiff/rgb-3c-16b.tiff": "16-bit RGB",
    "libtiff/testfax4.tiff": ("document", [(SOP_BIT, [1])]),
}
# Not plain: tiff_with_subifd_chain.tif and quad-tile.jpg.tiff are tiled 8-bit TIFFs that
# OpenSlide reads, so they stay slides (PLAIN.md, "Which TIFFs are plain").

# TIFF compression codes tifffile decodes without imagecodecs.
TIFFFILE_CODECS = {1, 8, 32773, 32946}
MINISWHITE, MINISBLACK, RGB, PALETTE, CMYK, YCBCR = 0, 1, 2, 3, 5, 6
COMPRESSION_NAMES = {1: "none", 2: "ccitt_rle", 3: "ccitt_g3", 4: "ccitt_g4", 5: "lzw",
                     6: "old_jpeg", 7: "jpeg", 8: "deflate", 32946: "deflate",
                     32773: "packbits"}
# Paper sizes in mm (portrait), for the document rule.
PAPER_MM = {"A4": (210.0, 297.0), "Letter": (215.9, 279.4), "Legal": (215.9, 355.6)}


class Refused(Exception):
    """The converter must refuse this page; the message says what PLAIN.md says it names."""


# ---------------------------------------------------------------- decoding

def main_chain(tif):
    """The pages of an open TiffFile: its main IFD chain without reduced-resolution
    directories (NewSubfileType bit 0); SubIFDs are not in tifffile's chain."""
    return [(index, page) for index, page in enumerate(tif.pages)
            if not int(page.tags["NewSubfileType"].value if "NewSubfileType" in page.tags
                       else 0) & 1]


def tag(page, name, default=None):
    found = page.tags.get(name)
    return found.value if found is not None else default


def page_facts(page):
    """The TIFF facts of a tifffile page that the mapping depends on."""
    bits = page.bitspersample
    extra = tuple(int(e) for e in page.extrasamples)
    return {
        "width": page.imagewidth, "height": page.imagelength,
        "samples": page.samplesperpixel, "bits": bits,
        "format": {1: "uint", 2: "int", 3: "float"}.get(int(page.sampleformat), "other"),
        "photometric": int(page.photometric), "compression": int(page.compression),
        "planar": int(page.planarconfig) == 2, "orientation": int(tag(page, "Orientation", 1)),
        "alpha": {1: "associated", 2: "unassociated"}.get(extra[-1], "none") if extra
        else "none",
        "colormap": None if page.colormap is None else np.asarray(page.colormap),
        "dpi": resolution_dpi(page), "description": page.description or "",
    }


def resolution_dpi(page):
    """(x, y) dots per inch, or None when the unit is none or the tags are absent."""
    unit = int(tag(page, "ResolutionUnit", 2))
    x, y = tag(page, "XResolution"), tag(page, "YResolution")
    if unit not in (2, 3) or not x or not y:
        return None
    per_inch = 1.0 if unit == 2 else 2.54
    return (x[0] / x[1] * per_inch, y[0] / y[1] * per_inch)


def unpack_bits(raw, width, height, bits, samples):
    """Samples of an uncompressed page of 1, 2 or 4 bits (MSB first, rows on a byte)."""
    row_bytes = (width * samples * bits + 7) // 8
    rows = np.frombuffer(raw, np.uint8)[:row_bytes * height].reshape(height, row_bytes)
    per_byte = 8 // bits
    shifts = np.arange(per_byte - 1, -1, -1, dtype=np.uint8) * bits
    values = (rows[:, :, None] >> shifts) & ((1 << bits) - 1)
    return values.reshape(height, row_bytes * per_byte)[:, :width * samples]


def decode_with_numpy(tif, page, facts):
    """Uncompressed 2/4-bit pages from tifffile's strip offsets (FillOrder 1, chunky)."""
    if facts["planar"] and facts["samples"] > 1 or int(tag(page, "FillOrder", 1)) != 1:
        raise NotImplementedError("planar or FillOrder 2 pages of 2/4 bits")
    fh = tif.filehandle
    raw = b""
    for offset, count in zip(page.dataoffsets, page.databytecounts):
        fh.seek(offset)
        raw += fh.read(count)
    values = unpack_bits(raw, facts["width"], facts["height"], facts["bits"], facts["samples"])
    return values.reshape(facts["height"], facts["width"], facts["samples"])


def decode_jpeg_strips(tif, page, facts):
    """A JPEG (compression 7) stripped page decoded strip by strip by PIL's JPEG decoder
    (libjpeg-turbo, not libtiff): each strip spliced after the JPEGTables (tables without
    EOI, strip without SOI), as a DICOM copy of the bitstream would be, colour converted by
    libjpeg (YCbCr to RGB for three components), rows past the page's height cut."""
    if page.is_tiled:
        raise NotImplementedError("tiled JPEG pages")
    tables = bytes(tag(page, "JPEGTables", b"") or b"")
    fh = tif.filehandle
    strips = []
    for offset, count in zip(page.dataoffsets, page.databytecounts):
        fh.seek(offset)
        strip = fh.read(count)
        stream = tables[:-2] + strip[2:] if tables else strip
        with Image.open(io.BytesIO(stream)) as image:
            strips.append(np.asarray(image))
    array = np.concatenate(strips, 0)[:facts["height"], :facts["width"]]
    return array if array.ndim == 3 else array[:, :, None]


def decode_with_pil(path, directory, facts):
    """A compressed page through PIL (libtiff's codecs); min-is-white 1- and 8-bit pages
    come back inverted by PIL's raw modes and are turned back into stored values."""
    with Image.open(path) as image:
        image.seek(directory)
        mode = image.mode
        array = np.asarray(image)
    if array.dtype == bool:
        array = array.astype(np.uint8)
    if facts["photometric"] == MINISWHITE and mode in ("1", "L"):
        array = (1 if mode == "1" else 255) - array
    if facts["bits"] not in (1, 8, 16) and facts["compression"] not in (6, 7):
        raise NotImplementedError("PIL scales %d-bit pages" % facts["bits"])
    if array.ndim == 2:
        array = array[:, :, None]
    return array


def decode_pages(path):
    """Every page of the TIFF (main chain, reduced-resolution directories skipped) as a list
    of dicts: `facts` (page_facts), `stored` (rows x columns x samples, the samples as in the
    file: min-is-white not inverted, palette indices, planar interleaved; JPEG and old JPEG
    decoded to RGB or grey), `decoder` ("tifffile", "numpy", "PIL JPEG" or "PIL"), `lossy`,
    `directory` (index in the chain, as PIL counts too) and `page` (1-based)."""
    pages = []
    with tifffile.TiffFile(str(path)) as tif:
        for number, (directory, page) in enumerate(main_chain(tif), 1):
            facts = page_facts(page)
            lossy = facts["compression"] in (6, 7)
            if facts["compression"] in TIFFFILE_CODECS and facts["bits"] in (1, 8, 16, 32, 64):
                decoder = "tifffile"
                array = np.asarray(page.asarray())
                if array.dtype == bool:
                    array = array.astype(np.uint8)
                if facts["planar"] and facts["samples"] > 1:
                    array = np.moveaxis(array, 0, -1)
                array = array.reshape(facts["height"], facts["width"], facts["samples"])
            elif facts["compression"] == 7:
                decoder = "PIL JPEG"
                array = decode_jpeg_strips(tif, page, facts)
            elif facts["compression"] == 1 and facts["bits"] in (2, 4):
                decoder = "numpy"
                array = decode_with_numpy(tif, page, facts)
            else:
                decoder = "PIL"
                array = decode_with_pil(path, directory, facts)
            pages.append({"page": number, "directory": directory, "facts": facts,
                          "stored": array, "decoder": decoder, "lossy": lossy})
    return pages


def jpeg_page_streams(path):
    """{page number: the JPEG stream a copy must hold} for the pages stored as baseline
    JPEG (compression 7) in one strip, upright and not RGB-photometric: SOI, the
    JPEGTables' segments, then the strip after its SOI (the splice of check_passthrough's
    spliced_tile; RGB-photometric streams also get its Adobe marker and are left to it).
    Multi-strip pages are joined by our own s2d_jpeg_join_strips, which has no
    independent twin here: they are checked through their decoded pixels."""
    streams = {}
    with tifffile.TiffFile(str(path)) as tif:
        for number, (_, page) in enumerate(main_chain(tif), 1):
            if int(page.compression) != 7 or page.is_tiled or len(page.dataoffsets) != 1 or \
                    int(tag(page, "Orientation", 1)) != 1 or int(page.photometric) == RGB:
                continue
            tables = bytes(tag(page, "JPEGTables", b"") or b"")
            tif.filehandle.seek(page.dataoffsets[0])
            strip = tif.filehandle.read(page.databytecounts[0])
            streams[number] = strip[:2] + (tables[2:-2] if tables else b"") + strip[2:]
    return streams


# ---------------------------------------------------------------- kind and mapping

def detect_kind(pages):
    """PLAIN.md's kind rules on decoded pages (no microscopy marks are looked for): the
    first that matches wins."""
    facts = [p["facts"] for p in pages]
    for f in facts:
        if f["bits"] == 1 or f["compression"] in (2, 3, 4):
            return "document"
    for f in facts:
        if f["bits"] == 8 and f["photometric"] in (MINISBLACK, MINISWHITE, RGB) and \
                is_paper_page(f):
            return "document"
    f = facts[0]
    grey = f["photometric"] in (MINISBLACK, MINISWHITE)
    if f["format"] == "float" or grey:
        return "radiology"
    return "photo"


def is_paper_page(f):
    """8-bit page at 150..600 dpi whose size is A4, Letter or Legal within 10 %."""
    dpi = f["dpi"]
    if not dpi or not all(150 <= d <= 600 for d in dpi):
        return False
    w_mm, h_mm = f["width"] / dpi[0] * 25.4, f["height"] / dpi[1] * 25.4
    for pw, ph in PAPER_MM.values():
        for a, b in ((pw, ph), (ph, pw)):
            if abs(w_mm - a) <= 0.1 * a and abs(h_mm - b) <= 0.1 * b:
                return True
    return False


def upright_dpi(facts):
    """(x, y) dots per inch of the page turned upright (Orientation 5..8 swap them), or
    None when the file records no resolution."""
    dpi = facts["dpi"]
    return None if dpi is None else (dpi[::-1] if facts["orientation"] >= 5 else dpi)


def orient(array, orientation):
    """The pixels turned upright for TIFF Orientation 1..8 (rows x columns [x samples]):
    2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise, 7 transverse,
    8 rotate 90 anticlockwise."""
    swap = lambda a: np.swapaxes(a, 0, 1)  # noqa: E731
    return {1: lambda a: a, 2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1],
            4: lambda a: a[::-1, :], 5: swap, 6: lambda a: np.rot90(a, -1),
            7: lambda a: swap(a[::-1, ::-1]), 8: lambda a: np.rot90(a, 1)}[orientation](array)


def composite_on_white(colour, alpha, associated):
    """Colour samples over white. PLAIN.md does not fix the rounding; chosen here:
    unassociated (c*a + 255*(255-a) + 127) // 255, associated c + 255 - a (clipped), so a
    comparison allows 1 of difference (the expected page's `tolerance`)."""
    c = colour.astype(np.int32)
    a = alpha.astype(np.int32)[..., None]
    if associated:
        out = c + 255 - a
    else:
        out = (c * a + 255 * (255 - a) + 127) // 255
    return np.clip(out, 0, 255).astype(np.uint8)


def written_page(decoded, kind):
    """One page after the mapping table, before the instance-wide steps (float scaling and
    Bits Stored): a dict with `pixels` (rows x columns, or x 3 for colour), `photometric`,
    `sop_class`, `bits_allocated`, `intercept`, `float` (source values, for the float
    scaling), `lossy`, `tolerance`, `inverted`. Raises Refused for what must be refused."""
    f, s = decoded["facts"], decoded["stored"]
    bits, photometric, samples = f["bits"], f["photometric"], f["samples"]
    out = {"page": decoded["page"], "lossy": decoded["lossy"], "tolerance": 0,
           "intercept": 0, "float": None, "integer_source": f["format"] != "float",
           "inverted": False}
    colour_samples = 3 if photometric in (RGB, YCBCR) else 1
    if photometric == CMYK:
        raise Refused("CMYK TIFFs are not supported")
    if f["compression"] in (6, 7):  # decoded JPEG: RGB or grey as the decoder gives it
        pixels = s if s.shape[2] == 3 else s[:, :, 0]
        colour_samples = s.shape[2]
    elif samples > colour_samples and f["alpha"] != "none":
        colour, alpha = s[:, :, :colour_samples], s[:, :, colour_samples]
        if (alpha == (1 << bits) - 1).all():
            pixels = colour
        else:
            pixels = composite_on_white(colour, alpha, f["alpha"] == "associated")
            out["tolerance"] = 1
        pixels = pixels if colour_samples == 3 else pixels[:, :, 0]
    elif photometric == PALETTE:
        cmap = f["colormap"]
        pixels = np.stack([cmap[ch][s[:, :, 0]] >> 8 for ch in range(3)], -1).astype(np.uint8)
        colour_samples = 3
    else:
        pixels = s if colour_samples == 3 else s[:, :, 0]
    if colour_samples == 3 and bits > 8:
        raise Refused("16-bit RGB is refused")
    grey = pixels.ndim == 2
    if not grey:
        out.update(photometric="RGB", bits_allocated=8)
        out["sop_class"] = SOP_PHOTO if kind == "photo" else SOP_COLOUR
    elif bits == 1 and kind == "document":
        out.update(photometric="MONOCHROME2", bits_allocated=1, sop_class=SOP_BIT)
        if photometric == MINISWHITE:
            pixels, out["inverted"] = 1 - pixels, True
    elif f["format"] == "float" or (bits == 32 and f["compression"] not in (6, 7)):
        out.update(photometric="MONOCHROME2", bits_allocated=16, sop_class=SOP_WORD)
        out["float"] = pixels.astype(np.float64)
    elif f["format"] == "int":
        pixels = (pixels.astype(np.int32) + 32768).astype(np.uint16)
        out.update(photometric="MONOCHROME2", bits_allocated=16, sop_class=SOP_WORD,
                   intercept=-32768)
    else:
        if bits in (1, 2, 4):  # 1-bit outside documents too: x255
            pixels = (pixels.astype(np.uint16) * (255 // ((1 << bits) - 1))).astype(np.uint8)
            bits = 8
        wide = bits > 8
        out["bits_allocated"] = 16 if wide else 8
        out["sop_class"] = SOP_WORD if wide else SOP_BYTE
        out["photometric"] = "MONOCHROME2"
        if kind == "photo":
            out["sop_class"] = SOP_PHOTO
        if photometric == MINISWHITE:
            if kind == "radiology":
                out.update(photometric="MONOCHROME1", sop_class=SOP_SC)
            else:
                pixels = ((1 << bits) - 1 - pixels.astype(np.uint32)).astype(pixels.dtype)
                out["inverted"] = True
        pixels = pixels.astype(np.uint16 if wide else np.uint8)
    if kind == "photo" and out["bits_allocated"] > 8:
        raise Refused("photos take 8-bit pages only")
    out["pixels"] = orient(pixels, f["orientation"])
    if out["float"] is not None:
        out["float"] = orient(out["float"], f["orientation"])
    return out


def same_description(a, b):
    """Consecutive pages make one instance when their written pixels and class agree
    (single-frame classes aside)."""
    return (a["sop_class"] == b["sop_class"] and a["sop_class"] not in
            (SOP_SC, SOP_PHOTO, SOP_ENDOSCOPIC) and a["pixels"].shape == b["pixels"].shape and
            a["photometric"] == b["photometric"] and a["bits_allocated"] == b["bits_allocated"]
            and a["intercept"] == b["intercept"] and (a["float"] is None) == (b["float"] is None))


def scale_floats(values, integer_source):
    """PLAIN.md's float/32-bit mapping over one instance: stored = round((v - min) / slope)
    with slope = (max - min) / 65535 for floats (1 when max == min), max(range / 65535, 1)
    for integers, intercept = min; NaN and infinities -> 0 (and counted). Rounding half up
    like C's round() on these non-negative quotients; computed in double."""
    stacked = np.concatenate([v.ravel() for v in values])
    finite = np.isfinite(stacked)
    bad = int((~finite).sum())
    lo = float(stacked[finite].min()) if finite.any() else 0.0
    hi = float(stacked[finite].max()) if finite.any() else 0.0
    slope = (hi - lo) / 65535.0
    if integer_source:
        slope = max(slope, 1.0)
    elif slope == 0:
        slope = 1.0
    frames = []
    for v in values:
        with np.errstate(invalid="ignore"):
            s = np.floor((v - lo) / slope + 0.5)
        s[~np.isfinite(v)] = 0
        frames.append(np.clip(s, 0, 65535).astype(np.uint16))
    return frames, slope, lo, bad


def bits_stored(frames, bits_allocated):
    """Bits Stored of a Word instance: max(9, bits of its largest stored value)."""
    if bits_allocated != 16:
        return bits_allocated
    top = max(int(f.max()) for f in frames)
    return max(9, top.bit_length())


def imagej_display_range(description):
    """(min, max) from an ImageJ description, or None."""
    if not description.startswith("ImageJ="):
        return None
    found = {}
    for line in description.splitlines():
        key, _, value = line.partition("=")
        if key in ("min", "max"):
            found[key] = float(value)
    return (found["min"], found["max"]) if len(found) == 2 else None


# The kind a --modality implies when --kind is absent (docs/plain-tiff.md).
RADIOLOGY_MODALITIES = "CR DX CT MR US XA MG OT NM PT RF IO PX RG".split()
MODALITY_KIND = dict([(m, "radiology") for m in RADIOLOGY_MODALITIES]
                     + [("DOC", "document"), ("XC", "photo"), ("ES", "photo"),
                        ("DMS", "photo"), ("GM", "microscopy"), ("SM", "microscopy")])
DEFAULT_MODALITY = {"radiology": "OT", "document": "DOC", "photo": "XC"}


def expected_instances(path, kind=None, pages=None, modality=None, pages_as_instances=False,
                       windows=None, codec=None):
    """The instances a conversion of `path` must write, in order: a list of dicts with
    `sop_class`, `pages` (1-based TIFF page numbers), `frames` (one array of stored values
    per page), `photometric`, `bits_allocated`, `bits_stored`, `slope`, `intercept`,
    `lossy`, `tolerance` (0: exact; 1 where PLAIN.md leaves the rounding open), `inverted`,
    `nan_count`, `float` (the source values of float pages, else None), `windows`
    (expected_window's list; [] where no window is written), `kind`, `modality` and `dpi`
    (upright_dpi of the first page).
    The options of slide2dcm convert: kind (--kind: "radiology", "document" or "photo";
    when None, the one `modality` implies, else detect_kind's), modality (--modality; ES
    makes photos VL Endoscopic), pages_as_instances (--pages instances), windows (--window:
    None for the automatic ones, [] for none, else [(centre, width), ...]), codec (--codec:
    with rle, jpeg-ls or j2k, Word instances have Bits Stored 16, the precision the
    codestreams state; deflate keeps native frames). A page that must be refused raises
    Refused."""
    decoded = pages if pages is not None else decode_pages(path)
    if not decoded:
        raise Refused("no pages")
    kind = kind or MODALITY_KIND.get(modality) or detect_kind(decoded)
    modality = modality or DEFAULT_MODALITY.get(kind)
    written = [written_page(d, kind) for d in decoded]
    if modality == "ES":
        for w in written:
            w["sop_class"] = SOP_ENDOSCOPIC if w["sop_class"] == SOP_PHOTO else w["sop_class"]
    runs = []
    for w in written:
        if runs and not pages_as_instances and same_description(runs[-1][-1], w):
            runs[-1].append(w)
        else:
            runs.append([w])
    description = decoded[0]["facts"]["description"]
    instances = []
    for run in runs:
        first = run[0]
        facts = decoded[first["page"] - 1]["facts"]
        frames = [w["pixels"] for w in run]
        slope, intercept, nan_count, real = 1.0, float(first["intercept"]), 0, None
        tolerance = max(w["tolerance"] for w in run)
        if first["float"] is not None:
            real = [w["float"] for w in run]
            frames, slope, intercept, nan_count = scale_floats(real, first["integer_source"])
            tolerance = max(tolerance, 1)  # a quotient on a .5 boundary may round either way
        stored_bits = bits_stored(frames, first["bits_allocated"])
        if codec in ("rle", "jpeg-ls", "j2k"):
            stored_bits = first["bits_allocated"]
        grey_wide = first["photometric"].startswith("MONOCHROME") and \
            first["bits_allocated"] > 8
        if not grey_wide:
            instance_windows = []
        elif windows is not None:
            instance_windows = [(float(c), float(w), None) for c, w in windows]
        else:
            instance_windows = expected_window(frames, slope, intercept, stored_bits,
                                               imagej_display_range(description))
        instances.append({
            "sop_class": first["sop_class"], "pages": [w["page"] for w in run],
            "frames": frames, "photometric": first["photometric"],
            "bits_allocated": first["bits_allocated"], "bits_stored": stored_bits,
            "slope": slope, "intercept": intercept, "lossy": any(w["lossy"] for w in run),
            "tolerance": tolerance, "inverted": first["inverted"], "nan_count": nan_count,
            "float": real, "windows": instance_windows, "kind": kind,
            "modality": modality, "dpi": upright_dpi(facts)})
    return instances


def instance_of_pages(instance, pages):
    """The part of an expected instance that holds only `pages` (a run split into several
    instances by --max-instance-size): its frames, Bits Stored and automatic windows
    computed over those frames alone (an instance's histogram is its own)."""
    index = [instance["pages"].index(page) for page in pages]
    frames = [instance["frames"][i] for i in index]
    part = dict(instance, pages=list(pages), frames=frames,
                bits_stored=bits_stored(frames, instance["bits_allocated"]))
    if instance["float"] is not None:
        part["float"] = [instance["float"][i] for i in index]
    if instance["windows"]:
        part["windows"] = expected_window(frames, instance["slope"], instance["intercept"],
                                          part["bits_stored"])
    return part


# ---------------------------------------------------------------- window

def step_window(x1, x2, step=1.0):
    """docs/plain-tiff.md's LINEAR window covering x1..x2 in rescaled units: PS3.3
    C.11.2.1.2 note 4's centre (x1 + x2 + 1) / 2 and width x2 - x1 + 1, whose LINEAR edges
    are x1 and x2 for any step (Rescale Slope) between the values; `step` is unused."""
    del step
    return (x1 + x2 + 1) / 2.0, x2 - x1 + 1.0


def expected_window(stored, slope=1.0, intercept=0.0, bits_stored=None, display_range=None):
    """docs/plain-tiff.md's windows of an instance, computed from its stored values (an
    array or a list of frames): [(center, width, explanation), ...] in rescaled units.

    lo/hi: the smallest stored v with count(<= v) >= ceil(0.005 N) / ceil(0.995 N), i.e. the
    sorted values at those ranks; window 1 (lo, hi) "AUTO 0.5-99.5%", window 2 (min, max)
    "FULL RANGE", each by step_window on x = v * slope + intercept with the slope as step.
    An ImageJ display range replaces window 1 ("IMAGEJ DISPLAY RANGE", its min and max taken
    as x1 and x2). When min == max, window 1 is over the whole stored range 0 .. 2^BS - 1
    by the same formula, "IDENTITY", and window 2 the full range as always."""
    if isinstance(stored, (list, tuple)):
        values = np.concatenate([np.asarray(f).ravel() for f in stored])
    else:
        values = np.asarray(stored).ravel()
    values = np.sort(values.astype(np.int64))
    n = values.size
    rescale = lambda v: float(v) * slope + intercept  # noqa: E731
    window = lambda v1, v2: step_window(rescale(v1), rescale(v2), slope)  # noqa: E731
    vmin, vmax = int(values[0]), int(values[-1])
    if vmin == vmax:
        if bits_stored is None:
            raise ValueError("the identity window needs Bits Stored")
        return [window(0, (1 << bits_stored) - 1) + ("IDENTITY",),
                window(vmin, vmax) + ("FULL RANGE",)]
    low_rank, high_rank = (n + 199) // 200, (199 * n + 199) // 200  # ceil(.005 N), ceil(.995 N)
    lo, hi = int(values[low_rank - 1]), int(values[high_rank - 1])
    if display_range is not None:
        first = step_window(float(display_range[0]), float(display_range[1]), slope) + \
            ("IMAGEJ DISPLAY RANGE",)
    else:
        first = window(lo, hi) + ("AUTO 0.5-99.5%",)
    return [first, window(vmin, vmax) + ("FULL RANGE",)]


# ---------------------------------------------------------------- the generator's manifest

def load_manifest(directory):
    """The manifest make_plain_tiff wrote into `directory` (a dict)."""
    return json.loads((Path(directory) / "manifest.json").read_text())


def generator_values(directory, fixture, page):
    """The samples make_plain_tiff handed to libtiff for one page of a manifest entry
    (rows x columns x samples, in the file's orientation and photometric)."""
    raw = (Path(directory) / fixture["values"]).read_bytes()
    count = page["width"] * page["height"] * page["samples"]
    values = np.frombuffer(raw, "<" + page["dtype"], count, page["values_offset"])
    return values.reshape(page["height"], page["width"], page["samples"])


def psnr(actual, expected, peak=255.0):
    """PSNR in dB of two arrays of the same shape (inf when equal)."""
    diff = actual.astype(np.float64) - expected.astype(np.float64)
    mse = float(np.mean(diff * diff))
    return math.inf if mse == 0 else 10 * math.log10(peak * peak / mse)
