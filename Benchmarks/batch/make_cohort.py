#!/usr/bin/env python3
"""A cohort of real 2-D slices with box prompts for the batch benchmark.

Slices: nibabel's anatomical.nii (brain MR 33x41x25: 25 axial, 41 coronal, 33 sagittal) and
example4d.nii.gz (EPI 128x96x24x2: 48 axial, 96 coronal of the first volume), MR-normalised
as MedSAM does (0.5/99.5 percentiles of non-zero voxels), written as 8-bit PNG. Each slice gets
one box: the tight box of the largest bright component (values above the slice's 60th
percentile of non-zero pixels). Slices without one are skipped. Writes DIR/slices/*.png and
DIR/cases.csv (input, box), the first N slices.

Usage: python3 make_cohort.py DIR [--count 200] [--repeat 1]
  --repeat K lists every slice K times (outputs distinct) for the memory-flatness run.
"""
import argparse
import os
import struct
import zlib
from pathlib import Path

import nibabel
import numpy as np
from scipy import ndimage


def png(path, g):
    raw = b"".join(b"\0" + row.tobytes() for row in g)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", g.shape[1], g.shape[0], 8, 0, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def mr8(v):
    nz = v[v > 0]
    lo, hi = np.percentile(nz, 0.5), np.percentile(nz, 99.5)
    out = (np.clip(v, lo, hi) - lo) / max(hi - lo, 1e-8) * 255.0
    out[v == 0] = 0
    return np.uint8(out)


def slices():
    data = Path(nibabel.__file__).parent / "tests" / "data"
    anat = mr8(np.asarray(nibabel.load(str(data / "anatomical.nii")).dataobj).astype(np.float64))
    for k in range(anat.shape[2]):
        yield f"anat_ax{k:02d}", anat[:, :, k].T
    for j in range(anat.shape[1]):
        yield f"anat_co{j:02d}", anat[:, j, :].T
    for i in range(anat.shape[0]):
        yield f"anat_sa{i:02d}", anat[i, :, :].T
    epi = np.asarray(nibabel.load(str(data / "example4d.nii.gz")).dataobj).astype(np.float64)
    for t in range(epi.shape[3]):
        v = mr8(epi[..., t])
        for k in range(v.shape[2]):
            yield f"epi{t}_ax{k:02d}", v[:, :, k].T
    v = mr8(epi[..., 0])
    for j in range(v.shape[1]):
        yield f"epi0_co{j:02d}", v[:, j, :].T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    out = Path(a.dir)
    (out / "slices").mkdir(parents=True, exist_ok=True)
    rows = []
    for name, g in slices():
        g = np.ascontiguousarray(g)
        nz = g[g > 0]
        if nz.size < 20:
            continue
        lab, n = ndimage.label(g > np.percentile(nz, 60))
        if n == 0:
            continue
        big = lab == 1 + int(np.argmax(ndimage.sum(np.ones_like(g), lab, range(1, n + 1))))
        ys, xs = np.where(big)
        if xs.max() - xs.min() < 2 or ys.max() - ys.min() < 2:
            continue
        png(out / "slices" / f"{name}.png", g)
        rows.append((name, [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())]))
        if len(rows) == a.count:
            break
    with open(out / "cases.csv", "w") as f:
        f.write("input,box,output\n")
        for r in range(a.repeat):
            for name, b in rows:
                f.write(f"slices/{name}.png,\"{','.join(map(str, b))}\",masks/{name}_{r}.png\n")
    (out / "masks").mkdir(exist_ok=True)
    print(f"{len(rows)} slices x {a.repeat} -> {out / 'cases.csv'}")


if __name__ == "__main__":
    main()
