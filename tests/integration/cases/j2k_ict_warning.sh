#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# j2k_ict_warning.sh SLIDE2DCM TCGA_SLIDE WORKDIR
# Copying JPEG 2000 tiles with the irreversible colour transform (YBR_ICT, right by the
# standard) warns once that OpenSlide 4.0.0 and Orthanc WSI show them in wrong colours and
# names --reencode (docs/viewers.md); --reencode (JPEG) does not warn.
set -uo pipefail
bin=$1 slide=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
. "$(dirname "$0")/../lib/checks.sh"

"$bin" convert "$slide" -o "$work/copied" --mpp 0.25 --json-report "$work/copied.json" \
    2>"$work/copied.err"
rc=$?
n=$(grep -c "warning: .*YBR_ICT.*OpenSlide 4\.0\.0.*Orthanc WSI.*--reencode" "$work/copied.err")
if [ "$rc" -eq 0 ] && [ "$n" -eq 1 ] &&
    /usr/bin/python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))
assert r["warnings"] >= 1
assert any(f["photometric"] == "YBR_ICT" and f["mode"] == "copy" for f in r["files"])' \
        "$work/copied.json"; then
    ok "copied YBR_ICT tiles: one warning naming the readers and --reencode"
else
    fail "copied YBR_ICT tiles: exit $rc, $n warnings: $(cat "$work/copied.err")"
fi
"$bin" convert "$slide" -o "$work/reencoded" --mpp 0.25 --reencode --levels 1 \
    2>"$work/reencoded.err"
rc=$?
if [ "$rc" -eq 0 ] && ! grep -q "YBR_ICT" "$work/reencoded.err"; then
    ok "--reencode: no YBR_ICT warning"
else
    fail "--reencode: exit $rc: $(cat "$work/reencoded.err")"
fi
result
