# SPDX-License-Identifier: Apache-2.0
"""ICC profiles with text in every kind of tag that can hold it: LittleCMS's sRGB profile
(through PIL) with marker texts added, for the --deidentify test (cases/deidentify.py)
and the ICC fuzz target's seeds (tests/fuzz/make_seeds.py)."""
import struct

from PIL import ImageCms


def icc_desc(text):
    """textDescriptionType: the text in ASCII, Unicode and ScriptCode."""
    ascii, uni = text.encode() + b"\0", text.encode("utf-16-be")
    return (b"desc\0\0\0\0" + struct.pack(">I", len(ascii)) + ascii +
            struct.pack(">II", 0, len(uni) // 2) + uni +
            struct.pack(">HB", 0, len(text) + 1) + text.encode().ljust(67, b"\0"))


def icc_mluc(text):
    uni = text.encode("utf-16-be")
    return b"mluc\0\0\0\0" + struct.pack(">II2s2sII", 1, 12, b"en", b"US", len(uni), 28) + uni


def icc_dict(key, value, shown):
    """dictType: one record of 32 bytes, its name, value and display value (an mluc)."""
    k, v, d = key.encode("utf-16-be"), value.encode("utf-16-be"), icc_mluc(shown)
    return (b"dict\0\0\0\0" + struct.pack(">II", 1, 32) +
            struct.pack(">8I", 48, len(k), 48 + len(k), len(v), 0, 0, 48 + len(k) + len(v),
                        len(d)) + k + v + d)


def icc_tags(profile):
    count = struct.unpack(">I", profile[128:132])[0]
    entries = [struct.unpack(">4sII", profile[132 + 12 * i:144 + 12 * i]) for i in range(count)]
    return {sig: profile[at:at + size] for sig, at, size in entries}


def icc_pseq(maker, model):
    """profileSequenceDescType: one profile, its maker (desc) and model (mluc) described."""
    return (b"pseq\0\0\0\0" + struct.pack(">I", 1) + b"MAKRMODL" + b"\0" * 12 +
            icc_desc(maker) + icc_mluc(model))


def icc_with(extra):
    """LittleCMS's sRGB profile, version 4, with the tags of extra ({signature: data})
    added or put in place of its own."""
    base = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    tags = icc_tags(base)
    tags.update(extra)
    at, table, data, placed = 132 + 12 * len(tags), b"", b"", {}
    for sig, value in tags.items():
        if value not in placed:   # shared data (rTRC, gTRC, bTRC) stays shared
            placed[value] = at + len(data)
            data += value + b"\0" * (-len(value) % 4)
        table += struct.pack(">4sII", sig, placed[value], len(value))
    profile = bytearray(base[:128] + struct.pack(">I", len(tags)) + table + data)
    struct.pack_into(">I", profile, 0, len(profile))
    # A scanner's creation date (LittleCMS stamps the present one): the same bytes each run.
    struct.pack_into(">6H", profile, 24, 2019, 7, 13, 13, 57, 42)
    return bytes(profile)


def planted_icc():
    """The sRGB profile with marker texts (the MKICC... markers of deidentify.py) in every
    kind of text tag, and a calibration date added."""
    return icc_with({b"desc": icc_desc("Scanner MKICCDESCQ10 calibration"),
                     b"dmnd": icc_mluc("MKICCMAKERQ11 Imaging"),
                     b"dmdd": icc_desc("MKICCMODELQ12"),
                     b"cprt": b"text\0\0\0\0(c) MKICCCPRTQ13\0",
                     b"meta": icc_dict("MKICCKEYQ14", "MKICCSERIALQ15", "MKICCDISPQ16"),
                     b"pseq": icc_pseq("MKICCSEQMAKERQ17", "MKICCSEQMODELQ18"),
                     b"calt": b"dtim\0\0\0\0" + struct.pack(">6H", 2019, 7, 13, 13, 57, 42)})
