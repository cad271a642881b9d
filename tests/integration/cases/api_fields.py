#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""api_fields.py SOURCE_DIR

The JSON entry points (s2d_convert_json, s2d_send_json: what the Python package calls) take
every option of the C structs: each field of s2d_convert_options, s2d_common_attrs and
s2d_send_options is in the field table of src/convert/json_api.c or src/send/send_json.c,
or in the short list below of fields that are JSON parameters of their own. A field added
to a struct and forgotten in its table fails here, naming it."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import Checks  # noqa: E402

checks = Checks()
SRC = sys.argv[1]

# Fields the JSON object does not carry under their own name, and why.
NOT_KEYS = {
    "s2d_convert_options": {
        "attrs": "its fields are keys of their own (s2d_common_attrs)",
        "windows": "the key windows, a list of [center, width]",
        "nwindows": "the length of windows",
        "pixel_spacing": "the key pixel_spacing, a [row, column] pair",
        "eot_threshold": "a test hook of the command line (hidden --eot-threshold)",
        "interrupt": "a parameter of s2d_convert_json",
        "progress": "a parameter of s2d_convert_json",
        "warn": "a parameter of s2d_convert_json",
        "callback_ctx": "a parameter of s2d_convert_json",
    },
    "s2d_common_attrs": {},
    "s2d_send_options": {
        "protocol": "the key stow or cstore says it",
        "stow_url": "the key stow",
        "host": "the key cstore, HOST:PORT",
        "port": "the key cstore, HOST:PORT",
        "interrupt": "a parameter of s2d_send_json",
        "on_outcome": "the outcomes come back as JSON",
        "on_bytes": "a parameter of s2d_send_json",
        "callback_ctx": "a parameter of s2d_send_json",
    },
}


def read(path):
    with open(os.path.join(SRC, path)) as f:
        return f.read()


def struct_fields(header, name):
    """The field names of `typedef struct name {...} name;` in header."""
    text = re.sub(r"/\*.*?\*/|//[^\n]*", "", read(header), flags=re.S)
    body = re.search(r"typedef struct %s \{(.*?)\} %s;" % (name, name), text, re.S)
    if not body:
        checks.fail(header, "no struct %s" % name)
        return []
    fields = []
    for decl in body.group(1).split(";"):
        decl = " ".join(decl.split())
        if not decl:
            continue
        pointer = re.search(r"\(\s*\*\s*(\w+)\s*\)\s*\(", decl)
        if pointer:
            fields.append(pointer.group(1))
            continue
        # "const char *a", "bool no_label, no_overview", "double windows[8][2]"
        head, _, rest = decl.partition(",")
        names = [re.sub(r"\[.*", "", head).split()[-1].lstrip("*")]
        names += [re.sub(r"\[.*", "", n).strip().lstrip("*") for n in rest.split(",") if rest]
        fields += names
    return fields


def table_keys(source):
    """The keys a JSON entry point reads: FIELD(name, ...), ATTR(name) rows and the names it
    compares by hand."""
    text = read(source)
    return set(re.findall(r"\b(?:FIELD|ATTR)\((\w+)", text)) | \
        set(re.findall(r'strcmp\(name, "(\w+)"\)', text))


def main():
    convert_keys = table_keys("src/convert/json_api.c")
    send_keys = table_keys("src/send/send_json.c")
    for struct, header, keys in (
            ("s2d_convert_options", "include/slide2dcm/slide2dcm.h", convert_keys),
            ("s2d_common_attrs", "include/slide2dcm/slide2dcm.h", convert_keys),
            ("s2d_send_options", "include/slide2dcm/send.h", send_keys)):
        fields = struct_fields(header, struct)
        checks.expect(len(fields) >= 8, struct, "%d fields read from %s" % (len(fields), header))
        missing = [f for f in fields if f not in keys and f not in NOT_KEYS[struct]]
        checks.expect(not missing, struct, "every field is a JSON key or listed here; missing: %s"
                      % missing)
        stale = [f for f in NOT_KEYS[struct] if f not in fields]
        checks.expect(not stale, struct, "the exceptions name fields that exist; stale: %s" % stale)
    return checks.result()


if __name__ == "__main__":
    sys.exit(main())
