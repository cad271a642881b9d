#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""slide2dcm convert --as pdf: documents as one Encapsulated PDF (issue 16).

usage: plain_pdf.py SLIDE2DCM FIXTURES TESTDATA WORKDIR

FIXTURES is what make_plain_tiff wrote (fixture.plain), TESTDATA ../shared/testdata; two
more G4 files are made here with
PIL (min-is-black, and one page in many strips). For every case:
1. exit 0 and OUTDIR holds document.dcm alone;
2. dciodvfy 0 errors; SOP class Encapsulated PDF, Modality DOC, Conversion Type SD, Burned In
   Annotation YES, MIME Type application/pdf, Document Title (the one given, else empty)
   and Series Description (the title, else none), Concept Name Code Sequence present;
3. the PDF (pydicom's Encapsulated Document, its pad byte removed) passes `qpdf --check`, and
   qpdf counts the TIFF's pages;
4. each page's image, as qpdf parses it (--json, streams undecoded): a one-strip G4 page is
   /CCITTFaxDecode with K -1, its columns and rows, /BlackIs1 exactly for min-is-black, and
   its stream byte for byte the strip tifffile reads (bits reversed for FillOrder 2); a JPEG
   page /DCTDecode, byte for byte the stream plain_oracle splices from a one-strip page, or
   the frame slide2dcm copies into DICOM for a page of many strips; other pages
   /FlateDecode; the MediaBox is the page in points, pixels / dpi x 72 (72 dpi without a
   resolution), upright;
5. pdftocairo (poppler) renders every page, at the TIFF's resolution, to exactly the pixels
   PIL decodes from the TIFF (EXIF orientation applied); JPEG pages within 40 dB (two
   decoders: the joined stream whole against libtiff's strip by strip);
and: a file taken for radiology is refused with exit 1 and one line naming --kind, a 16-bit
page forced into a document and a slide too; none leaves OUTDIR behind. Exit 0 when all hold."""
import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import tifffile
from PIL import Image, ImageOps, ImageSequence, TiffImagePlugin

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
import check_plain  # noqa: E402
import plain_oracle as po  # noqa: E402
from checks import Checks  # noqa: E402

PDF_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.104.1"
TITLE = "Referral letter"
JPEG_PSNR_MIN = 40.0


def run(command):
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True)
    return done.returncode, done.stdout, done.stderr


def make_g4(path, min_is_black, strip_rows=None):
    """Two 1-bit pages of text-like blocks at 200 dpi, G4 (PIL writes min-is-black for
    mode "1"; min-is-white is asked for through the tag)."""
    rng = np.random.default_rng(7)
    pages = []
    for seed in range(2):
        page = np.ones((120, 200), dtype=bool)
        for _ in range(40):
            y, x = rng.integers(0, 110), rng.integers(0, 180)
            page[y:y + rng.integers(2, 10), x:x + rng.integers(3, 20)] = False
        page[seed * 10:seed * 10 + 3, :] = False
        pages.append(Image.fromarray(page).convert("1"))
    info = {} if min_is_black else {262: 0}
    saved = TiffImagePlugin.STRIP_SIZE
    if strip_rows:
        TiffImagePlugin.STRIP_SIZE = strip_rows * ((200 + 7) // 8)
    try:
        pages[0].save(path, compression="group4", dpi=(200, 200), save_all=True,
                      append_images=pages[1:], tiffinfo=info)
    finally:
        TiffImagePlugin.STRIP_SIZE = saved


def tiff_pages(path):
    """[(tifffile page, raw strips)] of the main chain."""
    out = []
    with tifffile.TiffFile(str(path)) as tif:
        for _, page in po.main_chain(tif):
            strips = []
            for offset, count in zip(page.dataoffsets, page.databytecounts):
                tif.filehandle.seek(offset)
                strips.append(tif.filehandle.read(count))
            out.append((page, strips))
    return out


def reverse_bits(data):
    table = bytes(int("{:08b}".format(b)[::-1], 2) for b in range(256))
    return data.translate(table)


def pil_pages(path):
    """PIL's decode of every page, upright, as (array, mode, dpi or None)."""
    pages = []
    with Image.open(path) as im:
        for frame in ImageSequence.Iterator(im):
            dpi = frame.info.get("dpi")
            page = ImageOps.exif_transpose(frame.copy())
            mode = "L" if page.mode in ("1", "L", "I;16", "I") else "RGB"
            pages.append((np.asarray(page.convert(mode)), mode,
                          dpi if dpi and dpi[0] > 1 else None))
    return pages


def qpdf_json(pdf):
    rc, out, err = run(["qpdf", "--json=2", "--json-key=pages", "--json-key=qpdf",
                        "--json-stream-data=inline", "--decode-level=none", pdf])
    if rc not in (0, 3):
        raise RuntimeError("qpdf --json exits %d: %s" % (rc, err.strip()))
    data = json.loads(out)
    return data["pages"], data["qpdf"][1]


def page_image(objects, page):
    """(dict, raw bytes, MediaBox) of a page's one image XObject."""
    page_obj = objects["obj:" + page["object"]]["value"]
    image = objects["obj:" + page["images"][0]["object"]]["stream"]
    return image["dict"], base64.b64decode(image.get("data", "")), page_obj["/MediaBox"]


def copied_frames(slide2dcm, tif, workdir):
    """The JPEG frames slide2dcm copies into DICOM by default (the joined JPEG of a page of
    many strips), page by page."""
    out = workdir / "default"
    shutil.rmtree(out, ignore_errors=True)
    rc, _, err = run([slide2dcm, "convert", tif, "-o", out, "-q"])
    if rc != 0:
        raise RuntimeError("default conversion exits %d: %s" % (rc, err.strip()))
    frames = []
    for dcm in sorted(out.glob("image-*.dcm")):
        ds = pydicom.dcmread(dcm)
        count = int(getattr(ds, "NumberOfFrames", 1) or 1)
        for frame in pydicom.encaps.generate_pixel_data_frame(ds.PixelData, count):
            frames.append(frame)
    return frames


def same_jpeg(stream, frame):
    return stream == frame or (len(frame) == len(stream) + 1 and frame[:-1] == stream and
                               frame.endswith(b"\0"))


def check_streams(name, tif, pdf, case, slide2dcm, workdir, checks):
    pages, objects = qpdf_json(pdf)
    stored = tiff_pages(tif)
    upright = pil_pages(tif)
    jpeg_oracle = po.jpeg_page_streams(tif)
    joined = None
    for number, ((page, strips), pdf_page, (array, _, dpi)) in enumerate(
            zip(stored, pages, upright), 1):
        where = "%s page %d" % (name, number)
        d, data, box = page_image(objects, pdf_page)
        compression, photometric = int(page.compression), int(page.photometric)
        fill_order = int(po.tag(page, "FillOrder", 1))
        if compression == 4 and len(strips) == 1:
            parms = d.get("/DecodeParms", {})
            checks.expect(d.get("/Filter") == "/CCITTFaxDecode", where,
                          "one G4 strip as /CCITTFaxDecode (%s)" % d.get("/Filter"))
            checks.expect(parms.get("/K") == -1 and parms.get("/Columns") == page.imagewidth
                          and parms.get("/Rows") == page.imagelength, where,
                          "K -1, columns and rows of the page (%s)" % parms)
            checks.expect(bool(parms.get("/BlackIs1", False)) == (photometric == 1), where,
                          "/BlackIs1 %s for photometric %d" % (parms.get("/BlackIs1"),
                                                                photometric))
            strip = reverse_bits(strips[0]) if fill_order == 2 else strips[0]
            checks.expect(data == strip, where, "the CCITT stream is the strip byte for byte "
                          "(%d bytes, strip %d)" % (len(data), len(strip)))
        elif case.get("dct"):
            checks.expect(d.get("/Filter") == "/DCTDecode", where,
                          "JPEG as /DCTDecode (%s)" % d.get("/Filter"))
            if number in jpeg_oracle:
                checks.expect(data == jpeg_oracle[number], where,
                              "the DCT stream is the spliced strip byte for byte")
            else:
                joined = joined if joined is not None else copied_frames(slide2dcm, tif,
                                                                         workdir)
                checks.expect(number <= len(joined) and same_jpeg(data, joined[number - 1]),
                              where, "the DCT stream is the joined JPEG slide2dcm copies "
                              "into DICOM, byte for byte")
        else:
            checks.expect(d.get("/Filter") == "/FlateDecode", where,
                          "decoded pixels as /FlateDecode (%s)" % d.get("/Filter"))
        height, width = array.shape[:2]
        scale = 72.0 / dpi[0] if dpi else 1.0, 72.0 / dpi[1] if dpi else 1.0
        want = [0, 0, width * scale[0], height * scale[1]]
        checks.expect(all(abs(float(a) - b) < 0.01 for a, b in zip(box, want)), where,
                      "MediaBox %s, expected %s" % (box, ["%.4f" % v for v in want]))
    return len(pages)


def check_render(name, tif, pdf, workdir, checks, lossy=False):
    """Exactly the PIL decode, or for JPEG pages (decoded by two libraries, poppler's whole
    joined stream against libtiff's strip by strip) within JPEG_PSNR_MIN."""
    for number, (array, mode, dpi) in enumerate(pil_pages(tif), 1):
        where = "%s page %d rendered" % (name, number)
        prefix = workdir / ("render-%d" % number)
        command = ["pdftocairo", "-png", "-singlefile", "-r", str(dpi[0] if dpi else 72),
                   "-f", str(number), "-l", str(number)] + (["-gray"] if mode == "L" else [])
        rc, _, err = run(command + [pdf, prefix])
        if not checks.expect(rc == 0, where, "pdftocairo exits %d %s" % (rc, err.strip())):
            continue
        got = np.asarray(Image.open(str(prefix) + ".png").convert(mode))
        if not checks.expect(got.shape == array.shape, where,
                             "size %s, TIFF page %s" % (got.shape, array.shape)):
            continue
        if lossy:
            quality = po.psnr(got.astype(float), array.astype(float))
            checks.expect(quality >= JPEG_PSNR_MIN, where, "%.1f dB from the PIL decode of "
                          "the TIFF" % quality)
            continue
        differing = int((got != array).any(axis=-1).sum() if mode == "RGB"
                        else (got != array).sum())
        checks.expect(differing == 0, where, "the PIL decode of the TIFF exactly (%d pixels "
                      "differ)" % differing)


def check_case(slide2dcm, tif, case, workdir, checks):
    name = case.get("name", tif.name)
    out = workdir / name
    shutil.rmtree(out, ignore_errors=True)
    options = case.get("options", [])
    rc, _, err = run([slide2dcm, "convert", tif, "-o", out, "--as", "pdf", "-q"] + options)
    if not checks.expect(rc == 0, name, "convert --as pdf exits %d %s" % (rc, err.strip())):
        return
    files = sorted(p.name for p in out.iterdir())
    checks.expect(files == ["document.dcm"], name, "OUTDIR holds %s" % files)
    dcm = out / "document.dcm"
    errors, _ = check_plain.dciodvfy(dcm)
    checks.expect(not errors, name, "dciodvfy: %d errors %s" % (len(errors), errors[:3]))
    ds = pydicom.dcmread(dcm)
    title = case.get("title", "")
    for keyword, want in (("SOPClassUID", PDF_SOP_CLASS), ("Modality", "DOC"),
                          ("ConversionType", "SD"), ("BurnedInAnnotation", "YES"),
                          ("MIMETypeOfEncapsulatedDocument", "application/pdf"),
                          ("DocumentTitle", title)):
        checks.expect(keyword in ds and str(ds.get(keyword)) == want, name,
                      "%s %r (expected %r)" % (keyword, ds.get(keyword), want))
    checks.expect(str(ds.get("SeriesDescription", "")) == title, name,
                  "Series Description %r, the title %r" % (ds.get("SeriesDescription"), title))
    checks.expect("ConceptNameCodeSequence" in ds, name, "Concept Name Code Sequence present")
    document = bytes(ds.EncapsulatedDocument)
    # An odd PDF gets one pad byte: the Encapsulated Document Length is the PDF's own,
    # which ends with %%EOF and a line feed.
    size = int(ds.get("EncapsulatedDocumentLength", -1))
    checks.expect(size in (len(document), len(document) - 1) and
                  document[:size].endswith(b"%%EOF\n"), name,
                  "Encapsulated Document Length %d: the PDF without its pad (value %d bytes)"
                  % (size, len(document)))
    pdf = workdir / (name + ".pdf")
    pdf.write_bytes(document[:size] if size >= 0 else document)
    rc, out_text, err = run(["qpdf", "--check", pdf])
    checks.expect(rc == 0, name, "qpdf --check exits %d: %s" % (rc, (out_text + err)
                                                                .strip().splitlines()[-1:]))
    rc, npages, _ = run(["qpdf", "--show-npages", pdf])
    count = len(tiff_pages(tif))
    checks.expect(rc == 0 and npages.strip() == str(count), name,
                  "qpdf counts %s pages, the TIFF has %d" % (npages.strip(), count))
    checks.guard(name, "the streams", check_streams, name, tif, pdf, case, slide2dcm,
                 workdir, checks)
    checks.guard(name, "the rendering", check_render, name, tif, pdf, workdir, checks,
                 case.get("dct", False))


def check_refused(slide2dcm, tif, options, words, workdir, checks, want_rc=1):
    name = "refused %s %s" % (tif.name, " ".join(options))
    out = workdir / "refused"
    shutil.rmtree(out, ignore_errors=True)
    rc, _, err = run([slide2dcm, "convert", tif, "-o", out, "--as", "pdf"] + options)
    lines = err.strip().splitlines()
    checks.expect(rc == want_rc, name, "exit %d (expected %d)" % (rc, want_rc))
    checks.expect(len(lines) == 1 and all(w in err for w in words), name,
                  "one line naming %s: %s" % (words, lines))
    checks.expect(not out.exists(), name, "no OUTDIR left behind")


def main():
    slide2dcm, fixtures, testdata, workdir = (Path(a) for a in sys.argv[1:5])
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    checks = Checks()
    (workdir / "made").mkdir()
    made_black = workdir / "made" / "g4_min_is_black.tif"
    made_strips = workdir / "made" / "g4_strips.tif"
    make_g4(made_black, min_is_black=True)
    make_g4(made_strips, min_is_black=False, strip_rows=16)
    with tifffile.TiffFile(str(made_black)) as tif:
        checks.expect(int(tif.pages[0].photometric) == 1, "made g4_min_is_black.tif",
                      "photometric min-is-black")
    with tifffile.TiffFile(str(made_strips)) as tif:
        checks.expect(len(tif.pages[0].dataoffsets) > 1, "made g4_strips.tif",
                      "several strips a page")
    cases = [
        (fixtures / "g4_a4_300dpi.tif", {"options": ["--document-title", TITLE],
                                          "title": TITLE}),
        (fixtures / "g4_small.tif", {}),
        (fixtures / "g4_fillorder2.tif", {}),
        (made_black, {}),
        (made_strips, {}),
        (fixtures / "bits_13x7_miniswhite_fill2.tif", {}),
        (fixtures / "a4_gray8_300dpi.tif", {}),
        (fixtures / "ycbcr_jpeg_1strip.tif", {"options": ["--kind", "document"], "dct": True}),
        (fixtures / "ycbcr_jpeg_strips.tif", {"options": ["--kind", "document"], "dct": True}),
        (fixtures / "orient6.tif", {"options": ["--kind", "document"]}),
        (fixtures / "orient5.tif", {"options": ["--kind", "document"]}),
        (fixtures / "palette8.tif", {"options": ["--kind", "document"]}),
    ]
    for tif, case in cases:
        checks.guard(tif.name, "the case", check_case, slide2dcm, tif, case, workdir, checks)
    check_refused(slide2dcm, fixtures / "ct_stack.tif", [], ["--kind", "radiology"], workdir,
                  checks)
    check_refused(slide2dcm, fixtures / "u12in16.tif", ["--kind", "document"], ["16-bit"],
                  workdir, checks)
    check_refused(slide2dcm, testdata / "aperio" / "CMU-1-Small-Region.svs", [], ["slide"],
                  workdir, checks)
    # A PDF is one value, never split: a cap it passes is the option's error (exit 2).
    check_refused(slide2dcm, fixtures / "g4_a4_300dpi.tif", ["--max-instance-size", "80K"],
                  ["--max-instance-size", "not split"], workdir, checks, want_rc=2)
    return checks.result()


if __name__ == "__main__":
    sys.exit(main())
