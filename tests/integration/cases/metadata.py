#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""metadata.py SLIDE2DCM CMU1_SVS WORKDIR

Metadata by value: what the source says (pixel spacing, objective, scan date, ICC), what a
DICOM JSON file sets (sequences included), what the flags set (they win over the file),
the lossy compression history, and the refusals (bad JSON, attributes slide2dcm owns)."""
import json
import os
import shutil
import struct
import subprocess
import sys

import openslide
import pydicom

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tiffdirs  # noqa: E402
from checks import Checks  # noqa: E402
from dicom_json import preparation_naming  # noqa: E402

checks = Checks()


def source_history(path):
    """{(width, height): (method or None, ratio)} of every image in a TIFF slide."""
    out = {}
    for tags in tiffdirs.directories(open(path, "rb").read()):
        w, h = tiffdirs.numbers(tags[256])[0], tiffdirs.numbers(tags[257])[0]
        compression = tiffdirs.numbers(tags[259])[0]
        method = {7: "ISO_10918_1", 33003: "ISO_15444_1", 33005: "ISO_15444_1"}.get(compression)
        counts = tags.get(325) or tags.get(279)
        spp = tiffdirs.numbers(tags[277])[0] if 277 in tags else 1
        out.setdefault((w, h), (method, w * h * spp / sum(tiffdirs.numbers(counts))))
    return out


def raw_text_value(path, header):
    """Bytes of a short-VR element's value, found by its tag and VR in the file."""
    data = open(path, "rb").read()
    at = data.index(header)
    length = struct.unpack("<H", data[at + 6:at + 8])[0]
    return data[at + 8:at + 8 + length]


def first_ifd_tag(path, wanted):
    return next(tiffdirs.directories(open(path, "rb").read())).get(wanted, (None, None, None))[2]


def convert(bin_, slide, out, *args):
    shutil.rmtree(out, ignore_errors=True)
    return subprocess.run([bin_, "convert", slide, "-o", out, "--quiet", *args],
                          capture_output=True, text=True)


# What --metadata gives the CMU-1 conversion: a DICOM JSON file with text in UTF-8 and a
# sequence replacing an empty default.
META = {
    "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Müller^Anna"}]},
    "00100020": {"vr": "LO", "Value": ["FROM-JSON"]},
    "00080050": {"vr": "SH", "Value": ["ACC-JSON"]},
    "00400512": {"vr": "LO", "Value": ["SLIDE-42"]},
    "00080080": {"vr": "LO", "Value": ["Hôpital Test"]},
    # A sequence replacing the empty default: staining in Specimen Preparation.
    "00400560": {"vr": "SQ", "Value": [{
        "00400551": {"vr": "LO", "Value": ["SLIDE-42"]},
        "00400554": {"vr": "UI", "Value": ["2.25.1234567890"]},
        "00400562": {"vr": "SQ", "Value": []},
        "00400610": preparation_naming("SLIDE-42")}]},
    "00181000": {"vr": "LO", "Value": ["SCANNER-7"]},
}


def check_json_and_flags(bin_, cmu, work):
    """CMU-1 converted with --metadata and flags: every file carries what the JSON file and
    the flags set (the flags win), what the source says, and its compression history."""
    meta_path = os.path.join(work, "meta.json")
    with open(meta_path, "w", encoding="utf-8") as f:
        json.dump(META, f, ensure_ascii=False)
    out = os.path.join(work, "cmu1")
    report_path = os.path.join(work, "cmu1.json")
    r = convert(bin_, cmu, out, "--json-report", report_path, "--metadata", meta_path,
                "--patient-id", "FROM-FLAG",
                "--patient-sex", "F", "--study-date", "20240131", "--series-description",
                "HE ßlide")
    checks.expect(r.returncode == 0, "conversion with --metadata and flags: %s" % r.stderr.strip())
    if r.returncode != 0:
        return
    files = sorted(os.listdir(out))
    modes = {f["name"]: f["mode"] for f in json.load(open(report_path))["files"]}
    history = source_history(cmu)
    src = openslide.OpenSlide(cmu)
    level0_dims = src.dimensions
    label_dims = src.associated_images["label"].size
    macro_dims = src.associated_images["macro"].size
    thumb_dims = src.associated_images["thumbnail"].size
    checks.expect(history[label_dims][0] is None and history[macro_dims][0] == "ISO_10918_1",
                  "CMU-1 as expected: LZW label, JPEG macro %s" % history)
    for name in files:
        ds = pydicom.dcmread(os.path.join(out, name))
        tag = name + ": "
        check_attributes(ds, tag)
        # Which source image the pixels came from, and how that image was stored.
        source_dims = {"label.dcm": label_dims, "overview.dcm": macro_dims,
                       "thumbnail.dcm": thumb_dims}.get(name, level0_dims)
        check_history(ds, name, os.path.join(out, name), modes[name],
                      history.get(source_dims, (None, 0)))


def check_attributes(ds, tag):
    """What the JSON file, the flags and the CMU-1 source set in one file."""
    checks.expect(ds.SpecificCharacterSet == "ISO_IR 192", tag + "ISO_IR 192")
    checks.expect(str(ds.PatientName) == "Müller^Anna", tag + "UTF-8 patient name from JSON")
    checks.expect(ds.PatientID == "FROM-FLAG", tag + "flag wins over the JSON file")
    checks.expect(ds.PatientSex == "F" and ds.StudyDate == "20240131" and ds.StudyTime == "",
                  tag + "sex and study date; no scan time with a user's study date")
    checks.expect(ds.AccessionNumber == "ACC-JSON", tag + "accession number from JSON")
    checks.expect(ds.InstitutionName == "Hôpital Test", tag + "institution from JSON")
    checks.expect(ds.SeriesDescription == "HE ßlide", tag + "series description flag")
    checks.expect(ds.ContainerIdentifier == "SLIDE-42", tag + "container identifier from JSON")
    checks.expect(ds.DeviceSerialNumber == "SCANNER-7", tag + "equipment from JSON")
    spec = ds.SpecimenDescriptionSequence[0]
    checks.expect(spec.SpecimenPreparationSequence[0].SpecimenPreparationStepContentItemSequence[0]
                  .TextValue == "SLIDE-42", tag + "nested sequences from JSON")
    # From the source: Aperio says 12/29/09 09:59:15, AppMag 20, MPP 0.499.
    checks.expect(ds.AcquisitionDateTime.startswith("20091229095915"), tag + "scan date/time")
    path = ds.OpticalPathSequence[0]
    checks.expect(float(path.ObjectiveLensPower) == 20, tag + "objective lens power")
    checks.expect(len(path.ICCProfile) > 0 and path.get("ColorSpace") == "SRGB",
                  tag + "sRGB ICC profile (the source has none)")


def check_history(ds, name, path, mode, source_history_entry):
    """The lossy compression history of one file: the source's method and ratio (copied:
    only the source's), then ours, with our ratio that of the frames as written."""
    tag = name + ": "
    checks.expect(ds.LossyImageCompression == "01", tag + "lossy")
    method_elem = ds.LossyImageCompressionMethod
    methods = [method_elem] if isinstance(method_elem, str) else list(method_elem)
    ratio_elem = ds.LossyImageCompressionRatio
    ratios = [float(x) for x in (ratio_elem if isinstance(ratio_elem, pydicom.multival.MultiValue)
                                 else [ratio_elem])]
    raw = raw_text_value(path, b"\x28\x00\x12\x21DS")
    checks.expect(all(len(v) <= 16 for v in raw.split(b"\\")),
                  tag + "ratio values within 16 bytes, pad included: %r" % raw)
    method, src_ratio = source_history_entry
    if mode == "copy":
        # Copied from the source: its compression is the only one, its ratio that of
        # the frames as written.
        checks.expect(methods == [method] and len(ratios) == 1,
                      tag + "history of a copied level: the source's %s only (%s, %s)"
                      % (method, methods, ratios))
    elif method:
        checks.expect(methods == [method, "ISO_10918_1"] and len(ratios) == 2
                      and abs(ratios[0] - src_ratio) < 0.001 * src_ratio,
                      tag + "history: source %s %.3f then ours (%s, %s)"
                      % (method, src_ratio, methods, ratios))
    else:
        checks.expect(methods == ["ISO_10918_1"] and len(ratios) == 1,
                      tag + "history: lossless source, only ours (%s, %s)" % (methods, ratios))
    pixel_bytes = int(ds.NumberOfFrames) * ds.Rows * ds.Columns * 3
    frames = pydicom.encaps.generate_pixel_data_frame(ds.PixelData, int(ds.NumberOfFrames))
    encoded = sum(len(f) for f in frames)
    checks.expect(abs(ratios[-1] - pixel_bytes / encoded) < 0.01 * ratios[-1],
                  tag + "our ratio %.2f matches the frames (%.2f)" % (ratios[-1], pixel_bytes / encoded))
    if name == "level-0.dcm":
        sp = ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing
        checks.expect(abs(float(sp[0]) - 0.000499) < 1e-9 and abs(float(sp[1]) - 0.000499) < 1e-9,
                      tag + "pixel spacing from MPP 0.499")


def check_tcga_icc_and_flags(bin_, cmu, work):
    """The TCGA slide's own ICC profile copied as it is, its JPEG 2000 history, the common
    flags in their attributes, the study dated by the acquisition."""
    tcga = os.path.join(os.path.dirname(cmu), "tcga-cr-7395-01a-01-ts1.svs")
    out2 = os.path.join(work, "tcga")
    r = convert(bin_, tcga, out2, "--mpp", "0.25", "--no-label", "--no-overview",
                "--patient-name", "Flag^Name", "--accession-number", "A-1", "--study-id", "S-1",
                "--institution-name", "Lab", "--referring-physician", "Ref^Doc",
                "--patient-birth-date", "19800102")
    checks.expect(r.returncode == 0, "TCGA conversion with --mpp")
    if r.returncode == 0:
        src_icc = first_ifd_tag(tcga, 34675)
        ds = pydicom.dcmread(os.path.join(out2, "level-0.dcm"))
        path = ds.OpticalPathSequence[0]
        checks.expect(src_icc is not None and bytes(path.ICCProfile) == bytes(src_icc)
                      and "ColorSpace" not in path, "TCGA ICC profile copied byte for byte")
        method = ds.LossyImageCompressionMethod
        checks.expect(ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.91"
                      and method == "ISO_15444_1",
                      "TCGA level 0 copied: JPEG 2000 only (%s)" % method)
        ds1 = pydicom.dcmread(os.path.join(out2, "level-2.dcm"), stop_before_pixels=True)
        checks.expect(list(ds1.LossyImageCompressionMethod) == ["ISO_15444_1", "ISO_10918_1"],
                      "TCGA generated level 2: JPEG 2000 then JPEG (%s)" % ds1.LossyImageCompressionMethod)
        checks.expect((str(ds.PatientName), ds.AccessionNumber, ds.StudyID, ds.InstitutionName,
                       str(ds.ReferringPhysicianName), ds.PatientBirthDate)
                      == ("Flag^Name", "A-1", "S-1", "Lab", "Ref^Doc", "19800102"),
                      "the common flags land in their attributes")
        # Without --study-date, the study is dated by the acquisition.
        checks.expect(ds.StudyDate == ds.AcquisitionDateTime[:8] and
                      ds.StudyTime == ds.AcquisitionDateTime[8:14],
                      "default Study Date/Time = Acquisition DateTime (%s %s, %s)"
                      % (ds.StudyDate, ds.StudyTime, ds.AcquisitionDateTime))
        checks.expect(sorted(os.listdir(out2)) == ["level-%d.dcm" % i for i in range(6)] + ["thumbnail.dcm"],
                      "--no-label/--no-overview honoured: %s" % sorted(os.listdir(out2)))


def check_refusals(bin_, cmu, work):
    """Malformed JSON names the place; attributes slide2dcm owns, and values that would make
    a wrong or corrupt file, are refused by name, leaving no output."""
    bad = os.path.join(work, "bad.json")
    with open(bad, "w") as f:
        f.write('{"00100010": {"vr": "PN", "Value": [}\n')
    r = convert(bin_, cmu, os.path.join(work, "bad"), "--metadata", bad)
    checks.expect(r.returncode == 1 and "bad.json: line 1 column" in r.stderr
                  and not os.path.exists(os.path.join(work, "bad")), "malformed JSON: %s" % r.stderr.strip())
    owned = os.path.join(work, "owned.json")
    with open(owned, "w") as f:
        json.dump({"00280010": {"vr": "US", "Value": [512]}}, f)
    r = convert(bin_, cmu, os.path.join(work, "owned"), "--metadata", owned)
    checks.expect(r.returncode == 1 and "(0028,0010)" in r.stderr, "Rows refused: %s" % r.stderr.strip())
    wrong = os.path.join(work, "wrong.json")
    with open(wrong, "w") as f:
        json.dump({"00100030": {"vr": "DA", "Value": ["31.01.1970"]}}, f)
    r = convert(bin_, cmu, os.path.join(work, "wrong"), "--metadata", wrong)
    checks.expect(r.returncode == 1 and "wrong.json" in r.stderr and "(0010,0030)" in r.stderr,
                  "invalid DA refused: %s" % r.stderr.strip())
    r = convert(bin_, cmu, os.path.join(work, "flag-date"), "--patient-birth-date", "19991399")
    checks.expect(r.returncode == 2 and "--patient-birth-date" in r.stderr and "19991399" not in r.stderr,
                  "a flag's impossible date refused, naming the flag, not the value: %s" % r.stderr.strip())
    fine = os.path.join(work, "fine.json")
    with open(fine, "w") as f:
        json.dump({"00080030": {"vr": "TM", "Value": ["101500.123"]},
                   "0008002A": {"vr": "DT", "Value": ["20240229101500.5+0100"]},
                   "00101010": {"vr": "AS", "Value": ["045Y"]},
                   "00090010": {"vr": "LO", "Value": ["ACME 1.0"]},
                   "00091010": {"vr": "LO", "Value": ["x"]}}, f)
    r = convert(bin_, cmu, os.path.join(work, "fine"), "--metadata", fine)
    checks.expect(r.returncode == 0, "well-formed TM, DT, AS and a private tag with its creator: %s"
                  % r.stderr.strip())

    # Each of these would write a wrong or corrupt file if accepted.
    refusals = [
        ("duplicate-case", '{"0040a730": {"vr": "SQ", "Value": []}, '
                           '"0040A730": {"vr": "LO", "Value": ["x"]}}', "given twice"),
        ("after-pixel-data", '{"7FE10010": {"vr": "LO", "Value": ["x"]}}', "cannot be in a dataset"),
        ("item-tag", '{"FFFEE000": {"vr": "LO", "Value": ["x"]}}', "cannot be in a dataset"),
        ("bad-vr", '{"00100010": {"vr": "B ", "Value": ["x"]}}', "valid \"vr\""),
        ("us-range", '{"00181310": {"vr": "US", "Value": [70000]}}', "value 1 is out of range for US"),
        ("is-fraction", '{"00200011": {"vr": "IS", "Value": [3.6]}}', "not an IS integer"),
        ("backslash", '{"00100020": {"vr": "LO", "Value": ["A\\\\B"]}}', "backslash"),
        ("charset", '{"00080005": {"vr": "CS", "Value": ["ISO_IR 100"]}}', "(0008,0005)"),
        ("bulk", '{"00282000": {"vr": "OB", "BulkDataURI": "http://x"}}', "BulkDataURI"),
        ("bad-uid", '{"0020000D": {"vr": "UI", "Value": ["1.02.3"]}}', "not a valid UID"),
        ("two-lt", '{"00204000": {"vr": "LT", "Value": ["a", "b"]}}', "takes one value"),
        # Issue 18 finding 4: values checked by their VR's form, not only their length.
        ("bad-day", '{"00100030": {"vr": "DA", "Value": ["19991399"]}}', "is not a date YYYYMMDD"),
        ("no-leap", '{"00100030": {"vr": "DA", "Value": ["19000229"]}}', "is not a date YYYYMMDD"),
        ("bad-time", '{"00080030": {"vr": "TM", "Value": ["256000"]}}', "is not a time"),
        ("bad-datetime", '{"0008002A": {"vr": "DT", "Value": ["20241301"]}}', "is not a date-time"),
        ("bad-age", '{"00101010": {"vr": "AS", "Value": ["45Y"]}}', "is not an age"),
        ("no-creator", '{"00091010": {"vr": "LO", "Value": ["x"]}}', "needs its Private Creator (0009,0010)"),
    ]
    for name, text, message in refusals:
        path = os.path.join(work, name + ".json")
        with open(path, "w") as f:
            f.write(text)
        out_dir = os.path.join(work, name)
        r = convert(bin_, cmu, out_dir, "--metadata", path)
        checks.expect(r.returncode == 1 and message in r.stderr and name + ".json" in r.stderr
                      and not os.path.exists(out_dir), "refused %s: %s" % (name, r.stderr.strip()))


def check_specimen_follows_container(bin_, cmu, work):
    """Issue 18 finding 2: a Container Identifier the user gives names the specimen too,
    unless the user names the specimen; the file's stem is then in neither."""
    for name, meta, specimen in [
            ("container-only", {"00400512": {"vr": "LO", "Value": ["BARCODE-7"]}}, "BARCODE-7"),
            ("both", {"00400512": {"vr": "LO", "Value": ["BARCODE-7"]},
                      "00400560": {"vr": "SQ", "Value": [{"00400551": {"vr": "LO", "Value": ["SPEC-9"]}}]}},
             "SPEC-9")]:
        path = os.path.join(work, name + ".json")
        with open(path, "w") as f:
            json.dump(meta, f)
        out = os.path.join(work, name)
        r = convert(bin_, cmu, out, "--metadata", path)
        ds = pydicom.dcmread(os.path.join(out, "level-0.dcm"), stop_before_pixels=True) if r.returncode == 0 else None
        item = ds.SpecimenDescriptionSequence[0] if ds else None
        checks.expect(ds is not None and ds.ContainerIdentifier == "BARCODE-7" and
                      item.SpecimenIdentifier == specimen and item.get("SpecimenUID"),
                      "%s: container BARCODE-7, specimen %s, a SpecimenUID (%s)" %
                      (name, specimen, item.SpecimenIdentifier if item else r.stderr.strip()))


def check_example_specimen_uid(bin_, cmu, work):
    """Two slides converted with the README's example metadata are two specimens: it gives
    no SpecimenUID, so each conversion makes its own (issue 18 finding 2)."""
    example = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                           "testdata", "example-metadata.json")
    uids = []
    for name in ("example-1", "example-2"):
        out = os.path.join(work, name)
        r = convert(bin_, cmu, out, "--metadata", example)
        if r.returncode == 0:
            ds = pydicom.dcmread(os.path.join(out, "level-0.dcm"), stop_before_pixels=True)
            uids.append(ds.SpecimenDescriptionSequence[0].get("SpecimenUID"))
    checks.expect(len(uids) == 2 and all(uids) and uids[0] != uids[1],
                  "the example metadata: a SpecimenUID per conversion %s" % uids)


def main(bin_, cmu, work):
    os.makedirs(work, exist_ok=True)
    check_specimen_follows_container(bin_, cmu, work)
    check_example_specimen_uid(bin_, cmu, work)
    check_json_and_flags(bin_, cmu, work)
    check_tcga_icc_and_flags(bin_, cmu, work)
    check_refusals(bin_, cmu, work)
    return checks.result()


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
