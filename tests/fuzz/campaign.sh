#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One libFuzzer campaign per target named, one after another, on one core (tests/fuzz/README).
# usage: tests/fuzz/campaign.sh BUILD_DIR WORK_DIR RUNS TARGET...
#   BUILD_DIR: a tree configured with CC=clang -DS2D_FUZZ=ON (and ASan+UBSan)
#   WORK_DIR: per target a working corpus (seeded from tests/fuzz/corpus/<target>), the
#             log, and any crash-* / oom-* / timeout-* reproducer
#   RUNS: executions per target (libFuzzer's -runs)
# CPU (default 1) is the core to run on, NICE (default 10) the niceness; MAX_TIME, when
# set, stops each target after that many seconds (for targets too slow to reach RUNS).
# FUZZ_FLAGS, when set, goes to libFuzzer as more flags (README: source_open's
# -malloc_limit_mb=8192).
set -euo pipefail
build=$1 work=$2 runs=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
for target in "$@"; do
    dir=$work/$target
    mkdir -p "$dir/corpus"
    cp -n "$here/corpus/$target"/* "$dir/corpus/"
    echo "== $target: $runs runs${MAX_TIME:+ or $MAX_TIME s}, started $(date -u +%FT%TZ)"
    # Scratch files of the file-reading targets go to memory (fuzz_file.c).
    (cd "$dir" && TMPDIR=/dev/shm ASAN_OPTIONS=detect_leaks=1 \
        taskset -c "${CPU:-1}" nice -n "${NICE:-10}" \
        "$build/tests/fuzz/s2d-fuzz-$target" -runs="$runs" ${MAX_TIME:+-max_total_time=$MAX_TIME} \
        -rss_limit_mb=2048 -timeout=25 \
        -print_final_stats=1 ${FUZZ_FLAGS:-} corpus > log.txt 2>&1) || true
    grep -E '^stat::|Done|ERROR|SUMMARY' "$dir/log.txt" | sed "s/^/$target: /"
done
