#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bad_input.sh SLIDE2DCM TESTDATA WORKDIR
# Bad input, usage errors and I/O failures: a one-line error naming the file and the
# reason, the documented exit code, and nothing left in the output directory.
set -uo pipefail
bin=$1 data=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
. "$(dirname "$0")/../lib/checks.sh"

# expect_error NAME EXPECTED_EXIT MESSAGE_REGEX -- ARGS...: runs slide2dcm ARGS and checks
# exit code, a single stderr line matching the regex, and an absent or empty output dir.
expect_error() {
    local name=$1 want=$2 regex=$3
    shift 4
    local out="$work/$name"
    rm -rf "$out"
    # A hang fails the check as timeout's exit 124 or 137 (SIGKILL when SIGTERM is ignored).
    timeout -k 5 "${expect_seconds:-300}" "$bin" "$@" 2>"$work/$name.err" >/dev/null
    local rc=$?
    local lines
    # Warnings may come first (a corrupt thumbnail, say); the error itself is one line.
    lines=$(grep -v "^slide2dcm: warning: " "$work/$name.err" | grep -c .)
    if [ "$rc" -ne "$want" ]; then
        fail "$name: exit $rc, want $want ($(head -c 300 "$work/$name.err"))"
    elif [ "$lines" -ne 1 ] && [ "$want" -ne 2 ]; then
        fail "$name: $lines lines on stderr, want 1: $(cat "$work/$name.err")"
    elif ! grep -Eq -- "$regex" "$work/$name.err"; then
        fail "$name: message does not match /$regex/: $(cat "$work/$name.err")"
    elif [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
        fail "$name: left files behind: $(ls -A "$out")"
    else
        ok "$name: exit $rc: $(head -n 1 "$work/$name.err")"
    fi
}

convert_error() {   # convert_error NAME EXIT REGEX SLIDE [options]
    local name=$1 want=$2 regex=$3 slide=$4
    shift 4
    expect_error "$name" "$want" "$regex" -- convert "$slide" -o "$work/$name" "$@"
}

# Unopenable files: the message names the file.
n=0
while IFS= read -r -d '' f; do
    n=$((n + 1))
    convert_error "negative-$n" 1 "$(basename "$f" | sed 's/[][().^$*+?{}|\\]/\\&/g')" "$f"
done < <(find "$data/negative" "$data/stubs-metadata-only" "$data/hamamatsu-ndpi" \
              \( -name '*.svs' -o -name '*.tif' -o -name '*.tiff' -o -name '*.mrxs' \
                 -o -name '*.vms' -o -name '*.ndpis' \) \
              ! -name histolab_kidney-48-5.tif -print0 | sort -z)
[ "$n" -ge 6 ] || fail "found only $n bad input files"

# (histolab_kidney-48-5.tif, a plain stripped RGB TIFF, converts since plain TIFFs do:
# tests/integration/cases/plain_convert.py.)
convert_error missing-file 1 "does-not-exist.svs: No such file or directory" "$data/does-not-exist.svs"
convert_error directory 1 "aperio: is a directory, not a slide file" "$data/aperio"
# What is not a regular file is refused before it is opened: opening a named pipe blocks
# until a writer comes, forever, and SIGTERM cannot end it (it only sets a flag).
mkfifo "$work/pipe.svs"
expect_seconds=15 convert_error named-pipe 1 "pipe\.svs: a named pipe, not a regular file" \
    "$work/pipe.svs"
convert_error char-device 1 "/dev/null: a character device, not a regular file" /dev/null
# send reads what it is given the same way: a pipe among the files is refused, not waited on
# (nothing listens on port 9; the refusal comes before any connection is tried).
timeout -k 5 15 "$bin" send "$work/pipe.svs" --stow http://127.0.0.1:9/dicom-web/studies \
    --retries 0 2>"$work/send-pipe.err" >/dev/null
rc=$?
if [ "$rc" -ne 4 ] || ! grep -q "pipe\.svs: not stored: a named pipe, not a regular file" \
        "$work/send-pipe.err"; then
    fail "send-named-pipe: exit $rc: $(head -c 300 "$work/send-pipe.err")"
else
    ok "send-named-pipe: exit 4: $(head -n 1 "$work/send-pipe.err")"
fi
convert_error tcga-without-mpp 1 "tcga-cr-7395-01a-01-ts1.svs: .*pass --mpp" \
    "$data/aperio/tcga-cr-7395-01a-01-ts1.svs"

cmu="$data/aperio/CMU-1-Small-Region.svs"
expect_error usage-no-args 2 "usage" --
expect_error usage-no-output 2 "needs -o OUTDIR" -- convert "$cmu"
convert_error usage-quality 2 "--quality 0" "$cmu" --quality 0
convert_error usage-tile 2 "--tile-size 100" "$cmu" --tile-size 100
convert_error usage-sex 2 "--patient-sex" "$cmu" --patient-sex X
convert_error usage-bad-date 2 "--study-date" "$cmu" --study-date 2024-01-01
convert_error usage-backslash 2 "--patient-id: a backslash" "$cmu" --patient-id 'A\B'
convert_error usage-missing-value 2 "--quality needs a value" "$cmu" --quality
# A manifest with no header line (empty, or only a byte order mark): a usage error naming
# the file, not an empty message with exit 0.
: >"$work/empty.csv"
printf '\357\273\277' >"$work/bom-only.csv"
expect_error manifest-empty 2 "^slide2dcm: .*empty\.csv: empty" -- batch "$work/empty.csv" -o "$work/manifest-empty"
expect_error manifest-bom-only 2 "^slide2dcm: .*bom-only\.csv: empty" -- \
    batch "$work/bom-only.csv" -o "$work/manifest-bom-only"
# Pixel sizes outside 0.001 to 1000 um (1 nm to 1 mm): from --mpp a usage error naming
# the option, from the slide an input error naming its pixel size (and --mpp, which
# replaces it).
convert_error usage-mpp-tiny 2 "--mpp 1e-320: .*0\.001 to 1000" "$cmu" --mpp 1e-320
convert_error usage-mpp-huge 2 "--mpp 5000: .*0\.001 to 1000" "$cmu" --mpp 5000
for case in huge:1e+308 tiny:1e-320; do
    /usr/bin/python3 - "$cmu" "$work/mpp-${case%%:*}.svs" "${case#*:}" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
old = b"MPP = 0.4990"
new = b"MPP = " + sys.argv[3].encode()
assert old in data and len(old) == len(new)
open(sys.argv[2], "wb").write(data.replace(old, new))
PY
    convert_error "source-mpp-${case%%:*}" 1 \
        "mpp-${case%%:*}\.svs: the slide's pixel size \(MPP\) .* um is outside 0\.001 to 1000 um.*--mpp" \
        "$work/mpp-${case%%:*}.svs"
done
"$bin" convert "$work/mpp-huge.svs" -o "$work/source-mpp-replaced" --mpp 0.499 --levels 1 \
    2>"$work/source-mpp-replaced.err"
rc=$?
if [ "$rc" -ne 0 ] || ! grep -q -- "--mpp 0.499 replaces" "$work/source-mpp-replaced.err"; then
    fail "source-mpp-replaced: exit $rc: $(cat "$work/source-mpp-replaced.err")"
else
    ok "source-mpp-replaced: --mpp replaces an absurd pixel size: $(head -n 1 "$work/source-mpp-replaced.err")"
fi
# Tiles too large to decode (issue 20, defect 15): a 1024 x 1024 deflate TIFF in one
# 65536 x 65536 tile reaches OpenSlide, which would ask for 16 GiB of ARGB and abort the
# process half way through the output. Our directory listing sees the size first: refused
# in one line, nothing written, under a 2 GiB address-space limit like a busy node's.
/usr/bin/python3 - "$work/huge-tiles.tif" <<'PY'
import struct, sys, zlib
WIDTH = HEIGHT = 1024
TILE = 65536
data = zlib.compress(bytes(3 * WIDTH * 64))   # the tile's first rows; its size is the tag's
head = bytearray(b"II*\0\0\0\0\0")
bits_at = len(head); head += struct.pack("<3H", 8, 8, 8)
data_at = len(head); head += data + b"\0" * (len(data) % 2)
tags = [(256, 4, WIDTH), (257, 4, HEIGHT), (258, 3, bits_at), (259, 3, 8), (262, 3, 2),
        (277, 3, 3), (284, 3, 1), (322, 4, TILE), (323, 4, TILE), (324, 4, data_at),
        (325, 4, len(data))]
ifd_at = len(head)
head += struct.pack("<H", len(tags))
for tag, kind, value in tags:
    count = 3 if tag == 258 else 1
    head += struct.pack("<HHI", tag, kind, count)
    head += struct.pack("<HH", value, 0) if kind == 3 and count == 1 else struct.pack("<I", value)
head += b"\0\0\0\0"
head[4:8] = struct.pack("<I", ifd_at)
open(sys.argv[1], "wb").write(head)
PY
# (A subshell holds the limit: its failure count comes back as its status. A sanitizer
# build reserves terabytes of address space for its shadow memory and cannot start under
# the limit: there the message alone, which only the size check writes, is checked.)
limit=2097152
( ulimit -v $limit; "$bin" --version ) >/dev/null 2>&1 || limit=unlimited
( before=$failures
  ulimit -v $limit
  expect_seconds=60 convert_error huge-tiles 1 \
      "huge-tiles\.tif: image 0 has tiles of 65536 x 65536 pixels .*more than the 256 MiB" \
      "$work/huge-tiles.tif" --mpp 0.5
  [ "$failures" -eq "$before" ] ) || failures=$((failures + 1))
convert_error unwritable-outdir 3 "CMU-1-Small-Region.svs: cannot create /proc/" "$cmu" -o /proc/nope/out

# A full disk, simulated by a file size limit (slide2dcm turns SIGXFSZ into EFBIG).
( ulimit -f 300; "$bin" convert "$cmu" -o "$work/full-disk" --quiet 2>"$work/full-disk.err" )
rc=$?
if [ "$rc" -ne 3 ] || ! grep -q "CMU-1-Small-Region.svs: cannot write .*File too large" "$work/full-disk.err" \
   || [ "$(grep -c . "$work/full-disk.err")" -ne 1 ] || [ -e "$work/full-disk" ]; then
    fail "full-disk: exit $rc, $(cat "$work/full-disk.err"), left: $(ls -A "$work/full-disk" 2>/dev/null)"
else
    ok "full-disk: exit 3: $(cat "$work/full-disk.err")"
fi

# An earlier conversion is not mixed with a new one unless --overwrite is given; then
# files of the earlier conversion that the new one does not write are removed.
"$bin" convert "$cmu" -o "$work/again" --quiet || fail "first conversion failed"
touch "$work/again/level-9.dcm"
convert_error_keep() {
    "$bin" convert "$cmu" -o "$work/again" --quiet 2>"$work/again.err"
    echo $?
}
rc=$(convert_error_keep)
[ "$rc" -eq 2 ] && grep -q -- "--overwrite" "$work/again.err" || fail "existing output: exit $rc"
"$bin" convert "$cmu" -o "$work/again" --quiet --overwrite || fail "--overwrite failed"
[ ! -e "$work/again/level-9.dcm" ] || fail "--overwrite left a stale level-9.dcm"
[ -e "$work/again/level-4.dcm" ] || fail "--overwrite lost level-4.dcm"
ok "existing output needs --overwrite; stale files removed"

# --overwrite that fails (a full disk part way): the earlier conversion stays as it was,
# since the new one is written beside it and replaces it only once complete; nothing of
# the failed run is left, in the folder or beside it.
before=$(cd "$work/again" && sha256sum -- *.dcm | sort)
( ulimit -f 300; "$bin" convert "$cmu" -o "$work/again" --quiet --overwrite 2>"$work/again.err" )
rc=$?
after=$(cd "$work/again" && sha256sum -- *.dcm | sort)
leftovers=$( (ls -A "$work/again"; ls -A "$work") | grep '^\.' || true)
if [ "$rc" -ne 3 ] || ! grep -q "cannot write .*File too large" "$work/again.err" ||
   [ "$before" != "$after" ] || [ -n "$leftovers" ]; then
    fail "failed --overwrite: exit $rc, $(cat "$work/again.err"), kept: $([ "$before" = "$after" ] && echo yes || echo no), leftovers: $leftovers"
else
    ok "a failed --overwrite leaves the earlier conversion as it was: $(cat "$work/again.err")"
fi
# A folder holding other files is not replaced, even with --overwrite: that would delete them.
touch "$work/again/notes.txt"
"$bin" convert "$cmu" -o "$work/again" --quiet --overwrite 2>"$work/again.err"
rc=$?
if [ "$rc" -ne 2 ] || ! grep -q "holds files that are not a conversion's (notes.txt)" "$work/again.err" ||
   [ ! -e "$work/again/notes.txt" ]; then
    fail "foreign file: exit $rc, $(cat "$work/again.err")"
else
    ok "a folder with other files is refused: $(cat "$work/again.err")"
fi
rm "$work/again/notes.txt"

# A corrupt thumbnail (derived from a pristine slide here) is a warning: the slide still
# converts, with a thumbnail made from the pyramid.
/usr/bin/python3 - "$cmu" "$work/corrupt-thumbnail.svs" "$(dirname "$0")/../lib" <<'PY'
import sys
sys.path.insert(0, sys.argv[3])
import tiffdirs
data = bytearray(open(sys.argv[1], "rb").read())
thumb = list(tiffdirs.directories(bytes(data)))[1]   # Aperio: the second IFD is the thumbnail
assert 322 not in thumb, "IFD 1 is tiled, not the thumbnail"
first = tiffdirs.numbers(thumb[273])[0]               # StripOffsets
data[first:first + 4] = b"\0\0\0\0"                # no SOI: libjpeg refuses the strip
open(sys.argv[2], "wb").write(data)
PY
"$bin" convert "$work/corrupt-thumbnail.svs" -o "$work/corrupt-thumbnail" \
    --json-report "$work/corrupt-thumbnail.json" 2>"$work/corrupt-thumbnail.err"
rc=$?
if [ "$rc" -ne 0 ] || ! grep -q "warning: .*thumbnail.*making the thumbnail from the pyramid" \
        "$work/corrupt-thumbnail.err" || [ ! -e "$work/corrupt-thumbnail/thumbnail.dcm" ]; then
    fail "corrupt-thumbnail: exit $rc: $(cat "$work/corrupt-thumbnail.err")"
else
    ok "corrupt-thumbnail: converted with a warning, thumbnail from the pyramid"
    /usr/bin/python3 "$(dirname "$0")/../lib/check_conversion.py" --source "$work/corrupt-thumbnail.svs" \
        --outdir "$work/corrupt-thumbnail" --psnr-min 32 --levels generated \
        --report "$work/corrupt-thumbnail.json" \
        || fail "corrupt-thumbnail: output does not pass the checks"
fi

# Truncated and corrupted copies of real slides (derived here, never committed): a clean
# error or a valid conversion, never a crash, never a half-written file.
for src in "$cmu" "$data/hamamatsu-ndpi/test3-TRITC 2 (560).ndpi"; do
    size=$(stat -c %s "$src")
    for cut in 1 5 30 60 90 99; do
        bad="$work/truncated-$cut.${src##*.}"
        head -c $((size * cut / 100)) "$src" >"$bad"
        out="$work/truncated-$cut-out"
        rm -rf "$out"
        "$bin" convert "$bad" -o "$out" --quiet --json-report "$out.json" 2>"$work/truncated.err"
        rc=$?
        lines=$(grep -v "^slide2dcm: warning: " "$work/truncated.err" | grep -c .)
        if [ "$rc" -eq 0 ]; then
            /usr/bin/python3 "$(dirname "$0")/../lib/check_conversion.py" --source "$bad" --outdir "$out" \
                --psnr-min 32 --report "$out.json" >/dev/null || fail "truncated $cut% of $(basename "$src"): converted, but wrong"
        elif [ "$rc" -ge 128 ] || [ "$lines" -ne 1 ] || [ -e "$out" ] ||
             ! grep -Eq "truncated-$cut.*: a (damaged or )?truncated TIFF" "$work/truncated.err"; then
            fail "truncated $cut% of $(basename "$src"): exit $rc: $(cat "$work/truncated.err")"
        fi
    done
done
ok "truncated slides: clean errors or valid output"

# A tile offset table that points past the end of the file: libtiff reads the tables only
# when asked (deferred loading), so the damage must still be found and named.
/usr/bin/python3 - "$cmu" "$work/offsets-past-end.svs" <<'PY'
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
ifd = struct.unpack("<I", data[4:8])[0]
for i in range(struct.unpack("<H", data[ifd:ifd + 2])[0]):
    entry = ifd + 2 + 12 * i
    if struct.unpack("<H", data[entry:entry + 2])[0] == 324:   # TileOffsets
        data[entry + 8:entry + 12] = struct.pack("<I", len(data) + 4096)
open(sys.argv[2], "wb").write(data)
PY
"$bin" convert "$work/offsets-past-end.svs" -o "$work/offsets-past-end" 2>"$work/offsets.err"
rc=$?
if [ "$rc" -eq 0 ] || [ "$rc" -ge 128 ] || [ -e "$work/offsets-past-end" ] ||
   [ "$(grep -c . "$work/offsets.err")" -ne 1 ] ||
   ! grep -q "offsets-past-end.svs: a damaged or truncated TIFF: IFD 0: its tile or strip offsets cannot be read" "$work/offsets.err"; then
    fail "offsets-past-end: exit $rc: $(cat "$work/offsets.err")"
else
    ok "offsets-past-end: $(cat "$work/offsets.err")"
fi

# Bytes overwritten in the middle of the pixel data.
/usr/bin/python3 - "$cmu" "$work/corrupt-tiles.svs" <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
for at in range(len(data) // 4, len(data) // 2, 4099):
    data[at:at + 7] = b"\xff\xd9\x00\xff\x00\x13\x37"
open(sys.argv[2], "wb").write(data)
PY
"$bin" convert "$work/corrupt-tiles.svs" -o "$work/corrupt-tiles" --quiet 2>"$work/corrupt-tiles.err"
rc=$?
if [ "$rc" -ge 128 ] || { [ "$rc" -ne 0 ] && [ -e "$work/corrupt-tiles" ]; }; then
    fail "corrupt tiles: exit $rc: $(cat "$work/corrupt-tiles.err")"
else
    ok "corrupt tiles: exit $rc: $(head -n 1 "$work/corrupt-tiles.err")"
fi

result
