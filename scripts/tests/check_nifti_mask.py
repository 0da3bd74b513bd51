#!/usr/bin/env python3
"""Checks that a NIfTI mask written by `medsam volume` lies on its input's grid.

Usage: check_nifti_mask.py MASK INPUT
Loads both with nibabel and asserts: the mask's shape equals the input's first three dimensions,
the affines agree (1e-4 mm), the mask holds integer labels >= 0. Exit 0 when it holds, 1 otherwise.
"""
import sys

import nibabel as nib
import numpy as np


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    mask_path, input_path = argv[1], argv[2]
    mask, ref = nib.load(mask_path), nib.load(input_path)
    problems = []
    if mask.shape != ref.shape[:3]:
        problems.append(f"shape {mask.shape} != input {ref.shape[:3]}")
    if not np.allclose(mask.affine, ref.affine, atol=1e-4):
        problems.append(f"affine\n{mask.affine}\n!= input affine\n{ref.affine}")
    data = np.asarray(mask.dataobj)
    if data.dtype.kind not in "iu" or (data.size and data.min() < 0):
        problems.append(f"labels must be non-negative integers, got dtype {data.dtype}, min {data.min()}")
    for p in problems:
        print(f"MISMATCH {mask_path}: {p}")
    if not problems:
        labels = np.unique(data)
        print(f"OK {mask_path}: shape {mask.shape}, affine matches {input_path}, labels {labels.tolist()[:10]}")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
