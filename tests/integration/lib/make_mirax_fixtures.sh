#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Makes the synthetic 3DHistech MIRAX slide the MIRAX tests convert, with the project's
# generator: synthetic.mrxs and its folder synthetic/ (Slidedat.ini, Index.dat, two data
# files); 8 x 6 JPEG images of 256 (camera photos of 2 x 2), 4 zoom levels, macro, label
# and preview.
set -euo pipefail
make_mirax=$1 out=$2
rm -rf "$out"
mkdir -p "$out"
"$make_mirax" "$out/synthetic.mrxs" --cols 8 --rows 6 --tile 256 --levels 4 --mpp 0.25 \
    --mag 20 --serial SN-0042-P250 --software 2.0.0.27
