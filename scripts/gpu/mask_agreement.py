#!/usr/bin/env python3
"""Accuracy of the fast GPU paths on real data: LiteMedSAM masks per prompt, each path against fp32.

For each real CT/MR slice committed under Tests/SAMModelsTests/Fixtures/litemedsam (with its boxes
in meta.json), runs `medsam segment` once per path (all boxes in one call, masks as .npy P x H x W)
and reports each path's mask IoU per box against the first path (fp32) and against PyTorch's mask
in the fixture (made with the float32 weights; the weights carried to the GPU are rounded to
float16, so that column measures the rounding too). Prints one JSON object.

usage: python3 scripts/gpu/mask_agreement.py MEDSAM WEIGHTS OUTDIR PATH [PATH...]
       PATH as in run.sh: vulkan-fp32, vulkan-fp16, opencl-fp32, opencl-fp16, cpu-fp32
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

FIXTURES = Path(__file__).resolve().parents[2] / "Tests/SAMModelsTests/Fixtures/litemedsam"


def iou(a, b):
    a, b = a > 0, b > 0
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def main():
    medsam, weights, outdir, paths = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4:]
    outdir.mkdir(parents=True, exist_ok=True)
    meta = json.loads((FIXTURES / "meta.json").read_text())["images"]
    report = {"paths": paths, "images": {}}
    worst = {p: 1.0 for p in paths}
    for name, info in meta.items():
        boxes = [b["box"] for b in info["boxes"]]
        masks = {}
        for p in paths:
            backend, precision = p.split("-")
            target = outdir / f"{name}_{p}.npy"
            cmd = [medsam, "segment", "--input", str(FIXTURES / name / "image.npy"), "--checkpoint", weights,
                   "--backend", backend, "--output", str(target), "--force"]
            cmd += ["--fp16"] if precision == "fp16" else []
            for b in boxes:
                cmd += ["--box", ",".join(str(v) for v in b)]
            run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
            if run.returncode != 0:
                report["images"].setdefault(name, {})[p] = {"error": run.stderr.strip()[-400:]}
                worst[p] = 0.0
                continue
            masks[p] = np.load(target)
        entry = report["images"].setdefault(name, {})
        base = masks.get(paths[0])
        for p, m in masks.items():
            torch_ious = [iou(m[i], np.load(FIXTURES / name / f"box{i}.mask.npy").reshape(m[i].shape)) for i in range(len(boxes))]
            vs_first = [iou(m[i], base[i]) for i in range(len(boxes))] if base is not None else None
            entry[p] = {"iou_vs_" + paths[0]: vs_first, "iou_vs_pytorch_fp32_weights": torch_ious}
            if vs_first:
                worst[p] = min(worst[p], min(vs_first))
    report["worst_iou_vs_" + paths[0]] = worst
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
