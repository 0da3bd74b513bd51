#!/usr/bin/env bash
# The test command (README): sets up a fresh machine, then runs every check CI runs.
#   1. generated kernel sources are up to date with Kernels/ (OpenCL embed, Vulkan SPIR-V)
#   2. unit and integration tests (swift test)
#   3. op parity of every backend with a device (PoCL and lavapipe here) and of the
#      reference backend against PyTorch fixtures, on the release binary
#   4. cross-checks of our outputs with pydicom and nibabel
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

step() { printf '\n=== %s ===\n' "$*"; }
jobs=$(nproc)

step "generated kernels are up to date"
python3 scripts/kernels/embed-opencl.py --check
bash scripts/kernels/build-spirv.sh --check

step "build (release)"
swift build -c release -j "$jobs" --product medsam
medsam=$(swift build -c release --show-bin-path)/medsam

step "unit and integration tests"
swift test -j "$jobs" 2>&1 | tee .test-output.log
grep -Eq "Executed [0-9]+ tests?, with 0 failures" .test-output.log

step "op parity: every backend, quick suite"
"$medsam" parity --backend all

step "cross-checks with pydicom and nibabel"
for script in scripts/tests/*.py; do
  [ -e "$script" ] || continue
  echo "--- $script"
  python3 "$script" --medsam "$medsam"
done
echo
echo "all checks passed"
