#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# scripts/setup.sh [GROUP...]: installs the Debian 12 packages of the groups named (default
# "build"): build, what building and running slide2dcm need; example, what
# scripts/example.sh adds (the validator it runs); tests, the test suite's tools
# (validators, decoders, Orthanc, Chromium, Node, snakemake); fuzz, clang and libFuzzer for
# fuzz campaigns; bench, the benchmark's peer.
# Idempotent: packages already present are left alone and apt is not touched.
set -euo pipefail

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(build)
packages=()
for group in "${groups[@]}"; do
  case $group in
  build)
    packages+=(
      build-essential cmake pkg-config
      # libraries the program links, and those it loads when needed (OpenSlide, libcurl)
      libopenslide-dev libtiff-dev libturbojpeg0-dev libjpeg62-turbo-dev libopenjp2-7-dev
      libjansson-dev liblcms2-dev libcurl4-openssl-dev zlib1g-dev libcharls-dev
      libxxhash-dev
    ) ;;
  example)
    # the validator the example runs, and what ../shared/tools/verify-wsm-frames reads with
    packages+=(dicom3tools python3-pydicom python3-pil) ;;
  tests)
    packages+=(
      # validators, decoders and independent readers
      dicom3tools dcmtk libgdcm-tools libjpeg-turbo-progs
      python3-pydicom python3-pil python3-numpy python3-openslide python3-tifffile
      # the man page's check (groff renders it, with warnings as failures)
      groff-base
      # the Debian packages' test (debian/): building them, and lintian
      debhelper dh-python lintian
      # the Python package's test: a virtual environment with pip
      python3-venv python3-pip python3-setuptools
      # the Encapsulated PDF's checks: qpdf validates the PDF, poppler's pdftoppm renders it
      qpdf poppler-utils
      # the multi-machine workflow (workflow/Snakefile) and its test
      snakemake
      # real archives for the sending tests (dcmtk above brings storescp), and Orthanc's
      # WSI plugin, whose pyramid listing the associated-images test reads
      orthanc orthanc-dicomweb orthanc-wsi time
      # kills at chosen system calls (convert.crash_commit: strace's fault injection)
      strace
      # the browser viewer test: Debian's Chromium, driven from Node (npm installs the
      # page's pinned packages)
      chromium
    )
    # Node and npm from Debian unless a Node with npm is already there (a NodeSource
    # nodejs bundles npm and conflicts with Debian's npm package).
    command -v npm >/dev/null || packages+=(nodejs npm) ;;
  fuzz)
    # fuzz campaigns (tests/fuzz/README): clang with libFuzzer; the replays need neither
    packages+=(clang libclang-rt-14-dev) ;;
  bench)
    # the benchmark's reference peer (bench/run.sh): Orthanc's WSI dicomizer
    packages+=(orthanc-wsi) ;;
  *)
    echo "setup: unknown group $group (build, example, tests, fuzz, bench)" >&2
    exit 2 ;;
  esac
done

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
