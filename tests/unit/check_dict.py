#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Checks slide2dcm's dictionary (src/dicom/dict.h, as test_dict --dump prints it) against
pydicom's, an independent transcription of PS3.6: every row's tag must be known there under
the same keyword, and its VR must be one PS3.6 allows for the tag. Attributes newer than the
installed pydicom (2.3 lacks AcquisitionUID, PyramidUID, PyramidLabel) are checked against
dcmtk's data dictionary instead; a row neither knows fails."""
import glob
import subprocess
import sys

from pydicom.datadict import dictionary_VR, keyword_for_tag


def dcmtk_dictionary():
    """{tag: (keyword, [VR])} from dcmtk's dicom.dic: "(gggg,eeee) VR Keyword VM Version"."""
    entries = {}
    for path in glob.glob("/usr/share/libdcmtk*/dicom.dic"):
        with open(path, encoding="latin-1") as f:
            for line in f:
                fields = line.split()
                tag = fields[0] if fields and not line.startswith("#") else ""
                if len(fields) >= 3 and len(tag) == 11 and all(c in "0123456789ABCDEF"
                                                               for c in tag[1:5] + tag[6:10]):
                    entries[int(tag[1:5] + tag[6:10], 16)] = (fields[2], [fields[1]])
    return entries


def main(test_dict):
    dump = subprocess.run([test_dict, "--dump"], check=True, capture_output=True, text=True)
    rows = [line.split() for line in dump.stdout.splitlines()]
    dcmtk = None
    failures = []
    for keyword, tag_hex, vr in rows:
        tag = int(tag_hex, 16)
        source, theirs = "pydicom", keyword_for_tag(tag)
        allowed = dictionary_VR(tag).split(" or ") if theirs else []
        if not theirs:
            dcmtk = dcmtk if dcmtk is not None else dcmtk_dictionary()
            source, (theirs, allowed) = "dcmtk", dcmtk.get(tag, ("", []))
        if theirs != keyword:
            failures.append(f"({tag_hex[:4]},{tag_hex[4:]}) is {theirs or 'unknown'} in "
                            f"{source}, {keyword} here")
        elif vr not in allowed:
            failures.append(f"{keyword} has VR {' or '.join(allowed)} in {source}, {vr} here")
    for f in failures:
        print(f"FAIL {f}")
    print(f"{len(rows)} rows, {len(failures)} wrong")
    return 1 if failures or not rows else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
