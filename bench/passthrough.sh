#!/usr/bin/env bash
# bench/passthrough.sh [BUILD_DIR]: converts every test slide twice, copying source tiles
# (the default) and with --reencode, and prints a Markdown table: slide, mode (how many
# levels were copied / encoded), wall seconds, output size. Slides from ../shared/testdata
# plus the synthetic fixtures made by tools/make_svs.c.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
data=$root/../shared/testdata
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bash "$root/tests/integration/make_fixtures.sh" "$build/s2d-make-svs" "$work/fixtures" >/dev/null

slides=(
  "$data/aperio/CMU-1-Small-Region.svs"
  "$data/aperio/small.svs"
  "$data/aperio/tcga-cr-7395-01a-01-ts1.svs"
  "$data/hamamatsu-ndpi/test3-DAPI 2 (387) .ndpi"
  "$data/hamamatsu-ndpi/test3-TRITC 2 (560).ndpi"
  "$data/synthetic-openslide/boxes.tiff"
  "$work/fixtures/synthetic.svs"
  "$work/fixtures/synthetic-ycbcr.svs"
)
echo "| slide | mode | levels copied / encoded | seconds | output MB |"
echo "|---|---|---|---|---|"
for slide in "${slides[@]}"; do
  for mode in copy reencode; do
    extra=(--mpp 0.5)   # only used where the slide has no pixel size (TCGA, boxes)
    [ "$mode" = reencode ] && extra+=(--reencode)
    out=$work/out
    rm -rf "$out"
    "$build/slide2dcm" convert "$slide" -o "$out" -q --json-report "$work/r.json" "${extra[@]}" \
        2>/dev/null
    /usr/bin/python3 - "$work/r.json" "$(basename "$slide")" "$mode" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
levels = [f for f in r["files"] if f["flavor"] == "VOLUME"]
copied = sum(f["mode"] == "copy" for f in levels)
size = sum(f["bytes"] for f in r["files"]) / 1e6
print("| %s | %s | %d / %d | %.2f | %.2f |" % (sys.argv[2], sys.argv[3], copied,
                                               len(levels) - copied, r["seconds"], size))
PY
  done
done
