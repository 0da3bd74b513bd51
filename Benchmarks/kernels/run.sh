#!/usr/bin/env bash
# Kernel micro-benchmarks: every op case of the parity harness (SAM's real layer shapes with
# --suite full), timed on each backend, with GFLOP/s and GB/s. Correctness is checked in the
# same run (the NMSE column), so a fast but wrong kernel cannot hide here.
#   Benchmarks/kernels/run.sh [backend ...]        (default: cpu opencl vulkan)
# Writes Benchmarks/kernels/results/<backend>.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product medsam >/dev/null
medsam=$(swift build -c release --show-bin-path)/medsam
mkdir -p Benchmarks/kernels/results
backends=("$@")
[ ${#backends[@]} -gt 0 ] || backends=(cpu opencl vulkan)
for b in "${backends[@]}"; do
  echo "=== $b"
  "$medsam" parity --backend "$b" --suite full --perf | tee "Benchmarks/kernels/results/$b.txt" || true
done
