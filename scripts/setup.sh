#!/usr/bin/env bash
# Installs what medsam-swift needs on a fresh Debian/Ubuntu machine (idempotent):
# OpenCL and Vulkan loaders and headers, the CPU drivers PoCL and lavapipe (so the GPU
# backends also run without a GPU), OpenBLAS, zlib, libpng, libjpeg, CharLS and OpenJPEG (DICOM
# JPEG-LS and JPEG 2000), dicom3tools (dciodvfy checks the DICOM SEG we write), and the shader tools.
# With --tests (scripts/test.sh) also what only the server checks use: Chromium and its driver
# (the web viewer in a real browser), selenium, and the monailabel client.
set -euo pipefail
for_tests=false
[ "${1:-}" = "--tests" ] && for_tests=true

packages=(
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo
  libvulkan-dev mesa-vulkan-drivers vulkan-tools vulkan-validationlayers glslang-tools spirv-tools
  libopenblas-dev zlib1g-dev libssl-dev libpng-dev libjpeg62-turbo-dev libcharls-dev libopenjp2-7-dev dicom3tools
  python3 python3-pip
)
if $for_tests; then packages+=(chromium chromium-driver); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
  echo "setup: Swift 6 is required (https://www.swift.org/install/linux/); 'swift' is not on PATH" >&2
  exit 1
fi

# Python packages used only by the cross-checking scripts (reading our outputs with the
# libraries users trust). torch is NOT needed here; it is only for scripts/reference/.
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
# pylibjpeg and its plugins let pydicom decode compressed DICOM for check_dicom_*.py; SimpleITK and
# pynrrd read and write the NRRD and MetaImage files check_nrrd_metaimage.py compares; highdicom
# reads the DICOM SEG back in check_dicom_seg.py.
py_packages=(numpy pydicom nibabel pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg pylibjpeg-rle SimpleITK pynrrd highdicom)
python3 -m pip install -q "${py_packages[@]}" \
  || python3 -m pip install -q --break-system-packages "${py_packages[@]}"

if $for_tests; then
  # monailabel without its dependencies: its client needs only requests, and its full dependency
  # set (MONAI, torch pins) would replace the numpy the other checks use.
  python3 -m pip install -q selenium requests \
    || python3 -m pip install -q --break-system-packages selenium requests
  python3 -m pip install -q --no-deps monailabel \
    || python3 -m pip install -q --no-deps --break-system-packages monailabel
fi
