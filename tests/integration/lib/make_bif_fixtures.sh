#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Makes the synthetic Ventana BIF slides the BIF tests convert, with the project's generator.
set -euo pipefail
make_bif=$1 out=$2
mkdir -p "$out"
# Tiles that do not overlap (copied): 6 x 4 tiles of 256, 3 levels at 2x steps.
"$make_bif" "$out/synthetic.bif"
# Level-0 tiles sharing 8 pixels with each neighbour, as scanners write them (left to
# OpenSlide, which stitches them); another size, scanner and barcode.
"$make_bif" "$out/overlap.bif" --cols 5 --rows 3 --overlap 8 --mpp 0.465 --mag 20 \
    --levels 2 --barcode "H&E <7>" --unit BI10N0294 --model "VENTANA iScan HT" \
    --build 3.3.1.1 --scan-date "2025-11-02T17:05:09"
# Attribute values that hold attribute-like text (decoys in single quotes, which make_bif
# leaves as they are): a reader that searches the packet's text instead of parsing its XML
# takes ScanRes, Magnification and Barcode from them.
"$make_bif" "$out/decoy.bif" --build "4.0 ScanRes='0.9' Magnification='99'" \
    --model "iScan Coreo Barcode='DECOY'" --barcode "B-17"
