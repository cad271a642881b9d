#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole test suite from a fresh Debian 12 machine: installs what is needed, builds with
# warnings as errors, runs every test, then again under ASan+UBSan, then the threaded
# pipeline under TSan. Exit status 0 only if everything passed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh build tests

jobs=$(nproc)
build() {   # build DIR CMAKE_ARGS...
    local dir=$1
    shift
    cmake -S . -B "$dir" -DS2D_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j"$jobs" >/dev/null
}

echo "== release build, all tests"
build build/release -DCMAKE_BUILD_TYPE=Release
ctest --test-dir build/release --output-on-failure -j"$jobs"

echo "== ASan + UBSan build, all tests but the checker, memory, viewer and crash labels"
build build/asan -DCMAKE_BUILD_TYPE=Debug -DS2D_SANITIZE=address,undefined
# The "checker" tests prove the Python checkers on the source files alone: no C runs there.
# "memory" measures the release build's peak RSS; ASan's shadow memory is not slide2dcm's.
# "viewer" spends its time in a browser, on conversions other tests run under ASan; "crash"
# kills slide2dcm at file-system calls, which is about the folder left, not memory.
# Together they were 4 of ASan's 16 minutes of test time.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build/asan --output-on-failure -j"$jobs" -LE "checker|memory|golden|viewer|crash"

echo "== TSan build, the threaded pipeline"
build build/tsan -DCMAKE_BUILD_TYPE=Debug -DS2D_SANITIZE=thread
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp" \
    ctest --test-dir build/tsan -L tsan --output-on-failure -j"$jobs"

echo "== all tests passed"
