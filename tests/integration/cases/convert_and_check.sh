#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# convert_and_check.sh SLIDEDCM SLIDE OUTDIR PSNR_MIN generated|source [convert options]
# Converts SLIDE, then checks every output with the real validators and against OpenSlide
# (check_conversion.py), and against the source's own tiles: each file true to the mode
# ("copy" or "encode") its report states (check_passthrough.py). S2D_COPIED in the
# environment names the files this slide with these options must copy ("none": none), the
# test's own data. S2D_MUTATIONS=1 also proves the passthrough checks catch a wrong PI and
# misplaced frames on this output.
set -euo pipefail
bin=$1 slide=$2 out=$3 psnr=$4 levels=$5
shift 5
lib=$(cd "$(dirname "$0")/../lib" && pwd)
rm -rf "$out" "$out.report.json"
mkdir -p "$(dirname "$out")"
"$bin" convert "$slide" -o "$out" --quiet --json-report "$out.report.json" "$@"

check_args=(--source "$slide" --outdir "$out" --psnr-min "$psnr" --levels "$levels"
            --report "$out.report.json")
: "${S2D_COPIED:?names the files this conversion must copy, or none}"
read -r -a copied <<<"$S2D_COPIED"
pass_args=(--source "$slide" --outdir "$out" --report "$out.report.json" --copied "${copied[@]}")
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[$i]}" in
        --mpp | --subsampling) check_args+=("${args[$i]}" "${args[$((i + 1))]}") ;;
        --quality)
            check_args+=("${args[$i]}" "${args[$((i + 1))]}")
            pass_args+=("${args[$i]}" "${args[$((i + 1))]}") ;;
        --tile-size) pass_args+=("${args[$i]}" "${args[$((i + 1))]}") ;;
        --reencode) check_args+=(--reencode) ;;
        --levels) check_args+=(--max-levels "${args[$((i + 1))]}") ;;
        --no-label) check_args+=(--expect-label no) ;;
        --no-overview) check_args+=(--expect-overview no) ;;
        --no-thumbnail) check_args+=(--expect-thumbnail no) ;;
    esac
done
[ "${S2D_MUTATIONS:-0}" = 1 ] && pass_args+=(--mutations)
status=0
/usr/bin/python3 "$lib/check_conversion.py" "${check_args[@]}" || status=1
echo "--- passthrough"
/usr/bin/python3 "$lib/check_passthrough.py" "${pass_args[@]}" || status=1

# The report lists every file written, with the tiles and bytes that are in it.
/usr/bin/python3 - "$out" "$out.report.json" <<'PY' || status=1
import json, os, sys
import pydicom
from pydicom.encaps import generate_pixel_data_frame
out, report = sys.argv[1], json.load(open(sys.argv[2]))
names = sorted(f["name"] for f in report["files"])
on_disk = sorted(f for f in os.listdir(out) if f.endswith(".dcm"))
assert report["ok"] and names == on_disk, (names, on_disk)
for f in report["files"]:
    ds = pydicom.dcmread(os.path.join(out, f["name"]))
    frames = int(ds.NumberOfFrames)
    encoded = sum(len(x) for x in generate_pixel_data_frame(ds.PixelData, frames))
    assert f["tiles"] == frames and f["bytes"] == encoded, (f, frames, encoded)
    assert (f["width"], f["height"]) == (ds.TotalPixelMatrixColumns, ds.TotalPixelMatrixRows), f
print("report: %d files, %d tiles" % (len(names), sum(f["tiles"] for f in report["files"])))
PY
exit $status
