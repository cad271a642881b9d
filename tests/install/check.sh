#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# check.sh SOURCE_DIR BUILD_DIR SLIDE WORKDIR
# The installed library as a user meets it: `cmake --install` into a fresh prefix, then a C
# program built with pkg-config and a C++ program built with CMake's find_package, each
# run against the installed libslide2dcm.so.0 (not the build tree's); the library exports
# the public API and nothing else.
set -uo pipefail
src=$1 build=$2 slide=$3 work=$4
rm -rf "$work"
mkdir -p "$work"
. "$src/tests/integration/lib/checks.sh"
prefix="$work/prefix"

if ! cmake --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1; then
    fail "cmake --install: $(tail -c 300 "$work/install.log")"
    result
    exit
fi
lib=$(find "$prefix" -name 'libslide2dcm.so.0' | head -n 1)
pcdir=$(dirname "$(find "$prefix" -name slide2dcm.pc | head -n 1)")
libdir=$(dirname "$lib")
if [ -n "$lib" ] && [ -L "$libdir/libslide2dcm.so" ] &&
    readelf -d "$lib" | grep 'SONAME.*\[libslide2dcm\.so\.0\]' >/dev/null &&
    [ -s "$prefix/include/slide2dcm/slide2dcm.h" ] && [ -s "$prefix/include/slide2dcm/api.h" ]; then
    ok "installed: $(basename "$(readlink -f "$lib")") (soname libslide2dcm.so.0), headers"
else
    fail "installed tree lacks the library, its soname link or the headers"
fi

# Exports: exactly the functions the public headers mark S2D_API.
exported=$(nm -D --defined-only "$lib" | awk '$2 == "T" {print $3}' | sort)
declared=$(grep -ho '^S2D_API [^(]*(' "$src"/include/slide2dcm/*.h |
           sed -E 's/.*[ *]([a-z_0-9]+)\($/\1/' | sort)
if [ -n "$exported" ] && [ "$exported" = "$declared" ]; then
    ok "exports exactly the $(echo "$exported" | wc -l) S2D_API functions"
else
    fail "exports differ from the S2D_API declarations: $(diff <(echo "$exported") <(echo "$declared") | head -c 400)"
fi

# C, through pkg-config.
export PKG_CONFIG_PATH="$pcdir"
if cc -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags slide2dcm) \
        "$src/tests/install/convert_c.c" -o "$work/convert_c" $(pkg-config --libs slide2dcm) \
        2>"$work/cc.err"; then
    ok "C program built with pkg-config (cflags $(pkg-config --cflags slide2dcm))"
else
    fail "cc with pkg-config: $(head -c 400 "$work/cc.err")"
fi
if LD_LIBRARY_PATH="$libdir" ldd "$work/convert_c" | grep "libslide2dcm.so.0 => $libdir/" >/dev/null; then
    ok "the C program loads the installed libslide2dcm.so.0"
else
    fail "the C program does not load the installed library: $(ldd "$work/convert_c" | grep slide2dcm)"
fi
if LD_LIBRARY_PATH="$libdir" "$work/convert_c" "$slide" "$work/out-c" >"$work/c.out" 2>&1 &&
    [ -s "$work/out-c/level-0.dcm" ] &&
    [ "$(dciodvfy "$work/out-c/level-0.dcm" 2>&1 | grep -c "^Error")" -eq 0 ]; then
    ok "C program: $(tr '\n' ' ' <"$work/c.out")"
else
    fail "C program: $(head -c 400 "$work/c.out")"
fi

# C++, through find_package.
if cmake -S "$src/tests/install" -B "$work/cpp" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_CXX_FLAGS="-Wall -Wextra -Werror" >"$work/cpp.log" 2>&1 &&
    cmake --build "$work/cpp" >>"$work/cpp.log" 2>&1; then
    ok "C++ program built with find_package(slide2dcm)"
else
    fail "C++ with find_package: $(tail -c 400 "$work/cpp.log")"
fi
if LD_LIBRARY_PATH="$libdir" "$work/cpp/version_cpp" "$work/out-c" >"$work/cpp.out" 2>&1; then
    ok "C++ program: $(cat "$work/cpp.out")"
else
    fail "C++ program: $(head -c 400 "$work/cpp.out")"
fi
result
