#!/usr/bin/env python3
"""Checks NRRD and MetaImage reading and writing through `medsam convert` against SimpleITK and
pynrrd (both from PyPI).

Reading: SimpleITK and pynrrd write small oblique volumes (rotated directions, odd spacing, an
origin) in every form: .nrrd raw and gzip, detached .nhdr, big-endian, ascii, RAS and LAS spaces,
a 4-D .seg.nrrd-like file with a list axis; .mha raw and zlib-compressed, .mhd with a .raw file.
`medsam convert --input F --output X.npy --json` must give SimpleITK's (or pynrrd's) voxels and the
LPS affine origin + direction x spacing.
Writing: `medsam convert` turns each into .nrrd, .mha and .mhd; SimpleITK (and pynrrd for NRRD)
must read back the same voxels, origin, spacing and direction.

Usage: check_nrrd_metaimage.py MEDSAM_BINARY     exit status 0 when everything matches, 1 otherwise
"""
import json, os, subprocess, sys, tempfile

import nrrd
import numpy as np
import SimpleITK as sitk


def rotation(a, b):
    ca, sa, cb, sb = np.cos(a), np.sin(a), np.cos(b), np.sin(b)
    rz = np.array([[ca, -sa, 0], [sa, ca, 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, cb, -sb], [0, sb, cb]])
    return rz @ rx


def sitk_volume(array_kji, spacing, origin, direction):
    im = sitk.GetImageFromArray(array_kji)
    im.SetSpacing(spacing)
    im.SetOrigin(origin)
    im.SetDirection(direction.flatten().tolist())
    return im


def lps_affine(spacing, origin, direction):
    a = np.eye(4)
    a[:3, :3] = np.asarray(direction).reshape(3, 3) * np.asarray(spacing)[None, :]
    a[:3, 3] = origin
    return a


def main():
    medsam = sys.argv[1]
    rng = np.random.default_rng(7)
    failures, cases = [], []
    tmp = tempfile.mkdtemp(prefix="nrrd-mha-")
    shape = (5, 6, 7)  # k, j, i
    direction = rotation(0.3, -0.2)
    spacing, origin = (0.7, 1.3, 2.5), (-12.5, 30.25, 7.0)
    want = lps_affine(spacing, origin, direction)
    arrays = {"int16": rng.integers(-1000, 3000, size=shape).astype(np.int16),
              "float32": rng.normal(size=shape).astype(np.float32),
              "uint8": rng.integers(0, 5, size=shape).astype(np.uint8)}
    for dtype, arr in arrays.items():
        im = sitk_volume(arr, spacing, origin, direction)
        for name, compress in [(f"sitk_{dtype}.nrrd", False), (f"sitk_{dtype}_gz.nrrd", True), (f"sitk_{dtype}.nhdr", True),
                               (f"sitk_{dtype}.mha", False), (f"sitk_{dtype}_z.mha", True), (f"sitk_{dtype}.mhd", False)]:
            sitk.WriteImage(im, os.path.join(tmp, name), useCompression=compress)
            cases.append((name, arr, want))
    # pynrrd: RAS and LAS spaces, big-endian raw, ascii, and a list axis first (.seg.nrrd layers).
    arr = arrays["int16"]
    data_ijk = np.ascontiguousarray(arr.transpose(2, 1, 0))
    cols = direction * np.asarray(spacing)[None, :]
    flip_ras, flip_las = np.diag([-1, -1, 1]), np.diag([1, -1, 1])
    for name, space, flip, opts in [("ras_gzip.nrrd", "right-anterior-superior", flip_ras, {"encoding": "gzip"}),
                                    ("las_raw_big.nrrd", "left-anterior-superior", flip_las, {"encoding": "raw", "endian": "big"}),
                                    ("lps_ascii.nrrd", "left-posterior-superior", np.eye(3), {"encoding": "ascii"})]:
        header = {"space": space, "space directions": (flip @ cols).T, "space origin": flip @ np.asarray(origin),
                  "kinds": ["domain"] * 3, **opts}
        nrrd.write(os.path.join(tmp, name), data_ijk, header)
        cases.append((name, arr, want))
    layers = np.stack([data_ijk, data_ijk[::-1]], axis=0)
    header = {"space": "left-posterior-superior", "space directions": np.vstack([np.full(3, np.nan), cols.T]),
              "space origin": np.asarray(origin), "kinds": ["list", "domain", "domain", "domain"], "encoding": "gzip"}
    nrrd.write(os.path.join(tmp, "layers.seg.nrrd"), layers, header)
    cases.append(("layers.seg.nrrd --volume-index 1", np.ascontiguousarray(data_ijk[::-1].transpose(2, 1, 0)), want))

    for name, arr, affine in cases:
        path = os.path.join(tmp, name.split(" ")[0])
        extra = name.split(" ")[1:]
        out = os.path.join(tmp, "out.npy")
        run = subprocess.run([medsam, "convert", "--input", path, "--output", out, "--force", "--json", *extra],
                             capture_output=True, text=True)
        if run.returncode != 0:
            failures.append(f"read {name}: exit {run.returncode}: {run.stderr.strip()}")
            continue
        got, info = np.load(out), json.loads(run.stdout)
        if got.shape != arr.shape or not np.allclose(got, arr, rtol=1e-6, atol=1e-6):
            failures.append(f"read {name}: voxels differ (shape {got.shape} vs {arr.shape})")
        if info.get("frame") != "LPS" or not np.allclose(np.array(info["affine"]), affine, atol=1e-5):
            # The reader may keep a RAS frame; compare in LPS.
            a = np.array(info["affine"])
            if info.get("frame") == "RAS":
                a = np.diag([-1, -1, 1, 1]) @ a
            if not np.allclose(a, affine, atol=1e-5):
                failures.append(f"read {name}: affine {a.tolist()} != {affine.tolist()}")
        # Write it back in every format; SimpleITK (and pynrrd) must read the same image.
        for ext in (".nrrd", ".mha", ".mhd"):
            target = os.path.join(tmp, "back" + ext)
            run = subprocess.run([medsam, "convert", "--input", path, "--output", target, "--force", "--dtype", "source", *extra],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                failures.append(f"write {name} as {ext}: exit {run.returncode}: {run.stderr.strip()}")
                continue
            im = sitk.ReadImage(target)
            back = sitk.GetArrayFromImage(im)
            a = lps_affine(im.GetSpacing(), im.GetOrigin(), im.GetDirection())
            if back.dtype != arr.dtype or not np.array_equal(back, arr):
                failures.append(f"write {name} as {ext}: SimpleITK reads {back.dtype} voxels that differ from {arr.dtype}")
            if not np.allclose(a, affine, atol=1e-5):
                failures.append(f"write {name} as {ext}: SimpleITK geometry {a.tolist()} != {affine.tolist()}")
            if ext == ".nrrd":
                d, h = nrrd.read(target)
                if not np.array_equal(d.transpose(2, 1, 0), arr) or h.get("space") != "left-posterior-superior":
                    failures.append(f"write {name} as .nrrd: pynrrd reads different voxels or space {h.get('space')}")
    print(f"{len(cases)} NRRD/MetaImage files read and each written back as .nrrd, .mha and .mhd")
    for f in failures:
        print("MISMATCH", f)
    print("OK" if not failures else f"{len(failures)} mismatches")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
