#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# From a fresh Debian 12 machine: installs what is needed, builds slide2dcm, makes the
# bundled synthetic Aperio-like example slide with the project's own generator, converts
# it to DICOM and validates the result.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh build example
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" >/dev/null

example=build/example
rm -rf "$example"
mkdir -p "$example"
build/release/s2d-make-svs "$example/example.svs" --width 6000 --height 4000 --tile 240 \
    --mpp 0.25 --levels 3
build/release/slide2dcm convert "$example/example.svs" -o "$example/dicom" \
    --metadata testdata/example-metadata.json --json-report "$example/report.json"

echo
ls -l "$example/dicom"
status=0
for f in "$example/dicom"/*.dcm; do
    errors=$(dciodvfy "$f" 2>&1 | grep -c '^Error' || true)
    echo "$(basename "$f"): dciodvfy errors: $errors"
    [ "$errors" -eq 0 ] || status=1
done
verify=../shared/tools/verify-wsm-frames
if [ -x "$verify" ]; then
    "$verify" "$example/dicom"/*.dcm || status=1
else
    echo "($verify not found beside the project: frame checks skipped)"
fi
exit "$status"
