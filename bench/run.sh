#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/run.sh [--memory] [--smoke] [--repeat N] [--threads 1,2] [--no-orthanc]
#              [--build-dir DIR] [--work DIR] [--json FILE]
# bench/run.sh --plain [--rounds N] [--build-dir DIR] [--work DIR] [--json FILE] ...
# bench/run.sh --micro [--rounds N] [--size N] [--codecs j2k,jpeg-ls,native] [--build-dir DIR]
#              [--work DIR] [--json FILE] ...
# The benchmark of issue 5 in one command: installs what it needs (Orthanc's WSI dicomizer
# among them), builds the release binaries, makes its synthetic slides (cached under
# build/bench), measures slide2dcm and the references and prints the tables; the figures go
# to bench/results/bench.json. --memory adds bench/memory.sh's peak-RSS runs (a 100,000 x
# 80,000 slide: about 4 more minutes). --build-dir uses binaries already built (the smoke
# test does); --smoke is the test's tiny run. --plain runs the plain-TIFF benchmark of
# issue 16 instead (bench/plain.py: its inputs, gigabytes, go to a scratch directory outside
# the repository; figures to bench/results/plain.json). --micro runs the microscopy benchmark
# of issue 17 (bench/micro.py: the lossless codecs' limit loops on 16- and 8-bit grey tiles
# against our conversion, and peak RSS against image size; inputs to a scratch directory,
# figures to bench/results/micro.json). See docs/benchmarks.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

args=() build="" memory=0 plain=0 micro=0
while [ $# -gt 0 ]; do
    case $1 in
        --memory) memory=1 ;;
        --plain) plain=1 ;;
        --micro) micro=1 ;;
        --build-dir) build=$2; shift ;;
        *) args+=("$1") ;;
    esac
    shift
done

if [ -z "$build" ]; then
    bash scripts/setup.sh build tests bench
    build=build/release
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build" -j2 --target slide2dcm s2d-make-svs s2d-jpeg-limit \
        s2d-make-plain-bench s2d-plain-decode s2d-codec-limit s2d-make-micro-bench \
        s2d-micro-limit >/dev/null
fi

if [ "$plain" = 1 ]; then
    exec /usr/bin/python3 bench/plain.py --build-dir "$build" "${args[@]}"
fi

if [ "$micro" = 1 ]; then
    exec /usr/bin/python3 bench/micro.py --build-dir "$build" "${args[@]}"
fi

if [ "$memory" = 1 ]; then
    bash bench/memory.sh >&2
    args+=(--memory-json bench/results/memory.json)
fi
exec /usr/bin/python3 bench/bench.py --build-dir "$build" "${args[@]}"
