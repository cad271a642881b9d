#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# check.sh SOURCE_DIR MAKE_SVS WORKDIR
# The Debian packages as a hospital's administrator gets them: dpkg-buildpackage builds
# slide2dcm, libslide2dcm0, libslide2dcm-dev and python3-slide2dcm from a copy of the
# tree; lintian finds no error; the packages name OpenSlide and libcurl (loaded with
# dlopen, invisible to dpkg-shlibdeps) as dependencies; unpacked into an empty folder, the
# installed program converts the example slide (dciodvfy 0 errors), a C program builds
# against the -dev package through pkg-config, and the Python module converts too.
set -uo pipefail
src=$1 make_svs=$2 work=$3
rm -rf "$work"
mkdir -p "$work/src" "$work/root"
. "$src/tests/integration/lib/checks.sh"

# A copy without build trees (dpkg-buildpackage writes the packages beside the tree).
tar -C "$src" --exclude=./build --exclude='./build-*' --exclude=./.git \
    --exclude=./python/build -cf - . | tar -C "$work/src" -xf -
if (cd "$work/src" && DEB_BUILD_OPTIONS="noddebs nocheck" dpkg-buildpackage -us -uc -b -j2) \
        >"$work/build.log" 2>&1; then
    ok "dpkg-buildpackage -us -uc -b: $(cd "$work" && ls -- *.deb | tr '\n' ' ')"
else
    fail "dpkg-buildpackage: $(tail -c 1500 "$work/build.log")"
    result
    exit
fi
changes=$(ls "$work"/*.changes)
lintian --tag-display-limit 0 "$changes" >"$work/lintian.log" 2>&1
if grep -q "^E: " "$work/lintian.log"; then
    fail "lintian errors: $(grep "^E: " "$work/lintian.log" | head -n 10)"
else
    ok "lintian: no errors ($(grep -c "^W: " "$work/lintian.log") warnings)"
fi
for package in slide2dcm libslide2dcm0; do
    depends=$(dpkg-deb -f "$work"/${package}_*.deb Depends)
    if [[ $depends == *libopenslide0* && $depends == *libcurl4* && $depends == *libtiff6* ]]; then
        ok "$package depends on OpenSlide, libcurl and the linked libraries: $depends"
    else
        fail "$package: Depends lacks libopenslide0, libcurl4 or libtiff6: $depends"
    fi
done
for deb in "$work"/*.deb; do
    dpkg-deb -x "$deb" "$work/root"
done
root=$work/root
libdir=$(dirname "$(find "$root" -name libslide2dcm.so.0 | head -n 1)")

# The installed program converts the example slide.
"$make_svs" "$work/example.svs" --width 3000 --height 2000 --tile 240 --mpp 0.25 --levels 2 \
    >/dev/null
if "$root/usr/bin/slide2dcm" convert "$work/example.svs" -o "$work/dicom" -q \
        --metadata "$src/testdata/example-metadata.json" 2>"$work/convert.err"; then
    errors=0
    for f in "$work"/dicom/*.dcm; do
        errors=$((errors + $(dciodvfy "$f" 2>&1 | grep -c "^Error")))
    done
    if [ "$errors" -eq 0 ]; then
        ok "the packaged slide2dcm converted the example: $(ls "$work/dicom" | wc -l) files, dciodvfy 0 errors"
    else
        fail "the packaged slide2dcm's output: $errors dciodvfy errors"
    fi
else
    fail "the packaged slide2dcm: $(cat "$work/convert.err")"
fi
if [ -s "$root/usr/share/man/man1/slide2dcm.1.gz" ] || [ -s "$root/usr/share/man/man1/slide2dcm.1" ]; then
    ok "the man page is in the package"
else
    fail "no man page in the package"
fi

# The -dev package: a C program through pkg-config, run against the packaged library.
export PKG_CONFIG_PATH="$libdir/pkgconfig"
if cc -std=c11 -Wall -Werror $(pkg-config --cflags slide2dcm) "$src/tests/install/convert_c.c" \
        -o "$work/convert_c" $(pkg-config --libs slide2dcm) 2>"$work/cc.err" &&
    LD_LIBRARY_PATH="$libdir" "$work/convert_c" "$work/example.svs" "$work/from-c" >"$work/c.out" 2>&1; then
    ok "libslide2dcm-dev: $(head -n 1 "$work/c.out")"
else
    fail "libslide2dcm-dev: $(head -c 400 "$work/cc.err" "$work/c.out")"
fi

# python3-slide2dcm with the packaged library.
if PYTHONPATH="$root/usr/lib/python3/dist-packages" SLIDE2DCM_LIBRARY="$libdir/libslide2dcm.so.0" \
    /usr/bin/python3 -c 'import sys, slide2dcm
r = slide2dcm.convert(sys.argv[1], sys.argv[2])
assert slide2dcm.__file__.startswith(sys.argv[3]), slide2dcm.__file__
print(len(r["files"]), "files")' "$work/example.svs" "$work/from-python" "$root" >"$work/py.out" 2>&1; then
    ok "python3-slide2dcm: $(cat "$work/py.out")"
else
    fail "python3-slide2dcm: $(tail -c 400 "$work/py.out")"
fi
result
