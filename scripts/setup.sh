#!/usr/bin/env bash
# Installs every Debian 12 package slide2dcm needs to build and to run its tests.
# Idempotent: packages already present are left alone and apt is not touched.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config
  # libraries the program links
  libopenslide-dev libtiff-dev libturbojpeg0-dev libjpeg62-turbo-dev libopenjp2-7-dev
  libjansson-dev liblcms2-dev libcurl4-openssl-dev zlib1g-dev libcharls-dev
  # test tools: validators, decoders and independent readers
  dicom3tools dcmtk libgdcm-tools libjpeg-turbo-progs
  python3-pydicom python3-pil python3-numpy python3-openslide python3-tifffile
  # the man page's check (groff renders it, with warnings as failures)
  groff-base
  # the Encapsulated PDF's checks: qpdf validates the PDF, poppler's pdftoppm renders it
  qpdf poppler-utils
  # the multi-machine workflow (workflow/Snakefile) and its test
  snakemake
  # real archives for the sending tests (dcmtk above brings storescp)
  orthanc orthanc-dicomweb time
  # the benchmark's reference peer (bench/run.sh): Orthanc's WSI dicomizer
  orthanc-wsi
  # the browser viewer test: Debian's Chromium, driven from Node (npm installs the page's
  # pinned packages)
  chromium
)
# Node and npm from Debian unless a Node with npm is already there (a NodeSource nodejs
# bundles npm and conflicts with Debian's npm package).
command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

# As root (CI, containers) apt-get runs directly; otherwise through sudo, which must then
# be installed and keep DEBIAN_FRONTEND (passed as an argument to env, which sudo runs).
run=(env DEBIAN_FRONTEND=noninteractive)
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: run as root or install sudo" >&2; exit 1; }
    run=(sudo env DEBIAN_FRONTEND=noninteractive)
fi
echo "setup: installing ${missing[*]}" >&2
"${run[@]}" apt-get update -qq
"${run[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
