#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# interrupt.sh SLIDE2DCM MAKE_SVS WORKDIR
# SIGINT or SIGTERM in the middle of a conversion: exit 130 (the shell's code for an
# interrupt), no file under a final name, no temporary file, the created directory gone;
# an existing directory keeps exactly what it had.
set -uo pipefail
bin=$1 make_svs=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
. "$(dirname "$0")/../lib/checks.sh"
# Large enough, with 16-pixel tiles, that a conversion takes many seconds.
slide="$work/slow.svs"
"$make_svs" "$slide" --width 8000 --height 6000 --levels 1 --no-macro --no-label

for sig in INT TERM; do
    out="$work/new-$sig"
    "$bin" convert "$slide" -o "$out" --tile-size 16 --threads 1 --quiet 2>"$work/$sig.err" &
    pid=$!
    sleep 1.5
    kill -"$sig" "$pid"
    wait "$pid"
    rc=$?
    if [ "$rc" -ne 130 ] || ! grep -q "interrupted" "$work/$sig.err" || [ -e "$out" ]; then
        fail "SIG$sig: exit $rc, $(cat "$work/$sig.err"), left: $(ls -A "$out" 2>/dev/null)"
    else
        ok "SIG$sig: exit 130, $(cat "$work/$sig.err"), nothing left"
    fi
done

# With a size cap: the parts already written out (temporary files) go too, and so does
# the spool of the part being gathered.
out="$work/new-capped"
"$bin" convert "$slide" -o "$out" --tile-size 16 --threads 1 --quiet --max-instance-size 1M \
    2>"$work/capped.err" &
pid=$!
sleep 1.5
kill -INT "$pid"
wait "$pid"
rc=$?
if [ "$rc" -ne 130 ] || ! grep -q "interrupted" "$work/capped.err" || [ -e "$out" ]; then
    fail "capped: exit $rc, $(cat "$work/capped.err"), left: $(ls -A "$out" 2>/dev/null)"
else
    ok "SIGINT with --max-instance-size: exit 130, nothing left"
fi

# Into a directory that already holds a conversion, with --overwrite: it must survive.
out="$work/existing"
"$bin" convert "$slide" -o "$out" --quiet || fail "existing output: the first conversion failed"
before=$(cd "$out" && sha256sum -- * | sort)
"$bin" convert "$slide" -o "$out" --overwrite --tile-size 16 --threads 1 --quiet 2>/dev/null &
pid=$!
sleep 1.5
kill -INT "$pid"
wait "$pid"
rc=$?
after=$(cd "$out" && sha256sum -- * | sort)
hidden=$(cd "$out" && ls -A | grep '^\.' || true)
if [ "$rc" -ne 130 ] || [ "$before" != "$after" ] || [ -n "$hidden" ]; then
    fail "existing output: exit $rc, changed: $([ "$before" != "$after" ] && echo yes), hidden: $hidden"
else
    ok "existing output untouched by an interrupted --overwrite"
fi
result
