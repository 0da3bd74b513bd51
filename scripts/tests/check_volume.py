#!/usr/bin/env python3
"""`medsam volume` against a PyTorch reimplementation of its propagation, slice by slice.

For each case of scripts/tests/fixtures/volume/reference.json (written by
scripts/reference/volume_propagation.py: LiteMedSAM's real weights in PyTorch on nibabel's
anatomical.nii, a 2 mm brain MR), runs `medsam volume` with the default model as a user would
(a box on a key slice with the stop rule; --box3d on coronal slices) and checks:

  - the walk: the same slices kept, and each walk stopped at the same slice for the same reason
    (`stops` of --json, the stop rule);
  - per kept slice: the same box prompt (float32, exact), the same area, the predicted IoU within
    1e-4 (float32 rounding of the decoder; measured difference ~1e-6);
  - the NIfTI written, read by nibabel: the input's shape and affine (1e-4 mm), non-negative
    integer labels 0/1, and on every slice the voxels PyTorch set: mask IoU 1.0, where a pixel
    may differ only if PyTorch's probability there lies within 1e-4 of 0.5 (rounding can flip
    those; the fixture lists them), and no voxel outside the kept slices.

Usage: check_volume.py MEDSAM [--backend cpu] [--fixture FILE]
Exit status 0 when every comparison holds, 1 otherwise (each mismatch printed).
"""
import argparse
import base64
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "scripts/tests/fixtures/volume/reference.json"
IOU_TOLERANCE = 1e-4


def slice_of(data, axis, index):
    """A slice of the NIfTI's voxel array as `medsam` lays it out (rows, columns)."""
    if axis == "axial":
        return data[:, :, index].T
    if axis == "coronal":
        return data[:, index, :].T
    return data[index, :, :].T


def unpack(text, shape):
    bits = np.unpackbits(np.frombuffer(base64.b64decode(text), np.uint8))[: shape[0] * shape[1]]
    return bits.reshape(shape).astype(bool)


def check_case(medsam, backend, name, case, ref, out_dir):
    """Runs one case; returns the list of mismatches."""
    problems = []
    out = Path(out_dir) / f"{name}.nii.gz"
    cmd = [medsam, "volume", "--input", str(ROOT / ref["input"]), "--orientation", ref["orientation"],
           *case["args"], "--backend", backend, "--output", str(out), "--json"]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        return [f"`{' '.join(cmd)}` exited {run.returncode}: {run.stderr.strip()}"]
    summary = json.loads(run.stdout)

    expected = {r["slice"]: r for r in case["per_slice"]}
    got = {r["slice"]: r for r in summary["per_slice"]}
    if sorted(got) != sorted(expected) or summary["slices"] != sorted(expected):
        problems.append(f"slices kept {sorted(got)} (summary {summary['slices']}), reference {sorted(expected)}")
    if summary["stops"] != case["stops"]:
        problems.append(f"walks stopped {summary['stops']}, reference {case['stops']}")

    # The NIfTI on the input's grid.
    mask_img, input_img = nib.load(str(out)), nib.load(str(ROOT / ref["input"]))
    data = np.asarray(mask_img.dataobj)
    if mask_img.shape != input_img.shape[:3]:
        return problems + [f"NIfTI shape {mask_img.shape} != input {input_img.shape[:3]}"]
    if not np.allclose(mask_img.affine, input_img.affine, atol=1e-4):
        problems.append(f"NIfTI affine\n{mask_img.affine}\n!= input affine\n{input_img.affine}")
    if data.dtype.kind not in "iu" or not set(np.unique(data).tolist()) <= {0, 1}:
        problems.append(f"NIfTI labels must be integers 0/1, got dtype {data.dtype}, values {np.unique(data)[:10]}")

    shape = tuple(case["slice_shape"])
    ious, iou_diffs = {}, []
    for z in range(case["slice_count"]):
        voxels = slice_of(data, case["axis"], z) > 0
        if voxels.shape != shape:
            return problems + [f"{case['axis']} slice {z} of the NIfTI is {voxels.shape}, reference {shape}"]
        if z not in expected:
            if voxels.any():
                problems.append(f"slice {z}: {int(voxels.sum())} voxels set on a slice the reference does not keep")
            continue
        e = expected[z]
        want = unpack(e["mask"], shape)
        union = (want | voxels).sum()
        ious[z] = float((want & voxels).sum() / union) if union else 1.0
        differ = set(np.flatnonzero((want != voxels).ravel()).tolist())
        if differ - set(e["near_threshold"]):
            problems.append(f"slice {z}: mask IoU {ious[z]:.4f}, {len(differ - set(e['near_threshold']))} pixels differ "
                            f"that PyTorch decides by more than {ref['near_threshold']} in probability")
        r = got.get(z)
        if r is None:
            continue
        if r["area"] != e["area"] and not e["near_threshold"]:
            problems.append(f"slice {z}: area {r['area']}, reference {e['area']}")
        if r["area"] != int(voxels.sum()):
            problems.append(f"slice {z}: --json area {r['area']} but {int(voxels.sum())} voxels in the NIfTI")
        if [np.float32(v) for v in r["box"]] != [np.float32(v) for v in e["box"]]:
            problems.append(f"slice {z}: box prompt {r['box']}, reference {e['box']}")
        iou_diffs.append(abs(r["predictedIoU"] - e["predicted_iou"]))
        if iou_diffs[-1] > IOU_TOLERANCE:
            problems.append(f"slice {z}: predicted IoU {r['predictedIoU']:.6f}, reference {e['predicted_iou']:.6f}")
    worst = min(ious.values()) if ious else float("nan")
    print(f"{'ok  ' if not problems else 'FAIL'} {name}: {case['axis']} slices {sorted(got)} "
          f"(reference {sorted(expected)}), stops {summary['stops']}, mask IoU min {worst:.4f} over {len(ious)} slices, "
          f"predicted IoU within {max(iou_diffs, default=0):.1e}, {summary['total_ms'] / 1000:.1f} s")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("medsam")
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--fixture", default=str(FIXTURE), help="reference JSON (default: the committed one)")
    args = ap.parse_args()
    ref = json.loads(Path(args.fixture).read_text())
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, case in ref["cases"].items():
            failures += [f"{name}: {p}" for p in check_case(args.medsam, args.backend, name, case, ref, tmp)]
    if failures:
        print("FAIL:\n  " + "\n  ".join(failures))
        return 1
    print("check_volume: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
