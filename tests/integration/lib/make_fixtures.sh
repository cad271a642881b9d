#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Makes the synthetic Aperio-like slides the tests convert, with the project's generator.
set -euo pipefail
make_svs=$1 out=$2
mkdir -p "$out"
# RGB JPEG tiles like real Aperio files, 3 levels at 4x steps, label, macro, thumbnail.
"$make_svs" "$out/synthetic.svs" --width 3000 --height 2000 --tile 240 --mpp 0.25 --levels 3
# YCbCr 4:2:0 JPEG tiles, a size that is not a multiple of the tile size.
"$make_svs" "$out/synthetic-ycbcr.svs" --width 2501 --height 1703 --tile 256 --mpp 0.5 \
    --levels 2 --colour ycbcr --seed 7
# Philips TIFF: XML DataObject description, levels halving and stored padded to whole tiles,
# tiles of bare glass never stored (sparse), the label a base64 JPEG in the XML, the macro
# a directory described "Macro".
"$make_svs" "$out/synthetic-philips.tiff" --format philips --width 3000 --height 2000 \
    --tile 512 --mpp 0.25 --levels 4 --colour ycbcr --seed 3
# Leica SCN: a BigTIFF whose XML places the scanned region (the picture, 3 levels halving)
# on the glass at an offset of whole tiles, beside a tiled macro of the whole glass.
"$make_svs" "$out/synthetic-leica.scn" --format scn --width 3072 --height 2048 \
    --tile 256 --mpp 0.5 --levels 3 --colour ycbcr --seed 5
# 3DHistech TIFF: levels only, each description Aperio's bar layout without a vendor's
# name, the pixel size as MPP and 3dh_PixelSizeX/Y; OpenSlide reads it as a generic TIFF.
"$make_svs" "$out/synthetic-3dhistech.tiff" --format 3dhistech --width 3000 --height 2000 \
    --tile 256 --mpp 0.2425 --levels 4 --colour ycbcr --seed 9
