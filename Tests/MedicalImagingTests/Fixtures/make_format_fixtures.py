"""Regenerates the NRRD and MetaImage fixtures in `formats/` and `formats.json`.

Run from this folder: `python3 make_format_fixtures.py` (needs numpy, SimpleITK and pynrrd from
PyPI). SimpleITK and pynrrd write small oblique volumes; `formats.json` holds, per file, the
voxels in (k, j, i) order flattened (i fastest) and the LPS affine (direction x spacing, origin)
those libraries report. Never values from the Swift code under test.
"""
import json, os

import nrrd
import numpy as np
import SimpleITK as sitk

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "formats")
os.makedirs(OUT, exist_ok=True)
for f in os.listdir(OUT):
    os.remove(os.path.join(OUT, f))

a, b = 0.4, 0.25
rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
direction = rz @ rx
spacing, origin = (0.5, 0.75, 2.0), (10.5, -20.25, 3.0)
affine = np.eye(4)
affine[:3, :3] = direction * np.asarray(spacing)[None, :]
affine[:3, 3] = origin
arr = (np.arange(2 * 3 * 4).reshape(2, 3, 4) * 37 - 300).astype(np.int16)  # k, j, i
table = {}


def record(name, values):
    table[name] = {"shape_ijk": [4, 3, 2], "voxels": [float(v) for v in np.asarray(values).reshape(-1)],
                   "affine": affine.tolist()}


im = sitk.GetImageFromArray(arr)
im.SetSpacing(spacing)
im.SetOrigin(origin)
im.SetDirection(direction.flatten().tolist())
for name, compress in [("sitk_raw.nrrd", False), ("sitk_gzip.nrrd", True), ("sitk_detached.nhdr", True),
                       ("sitk_raw.mha", False), ("sitk_zlib.mha", True), ("sitk_detached.mhd", False)]:
    sitk.WriteImage(im, os.path.join(OUT, name), useCompression=compress)
    record(name, arr)
fim = sitk.Cast(im, sitk.sitkFloat64)
sitk.WriteImage(fim, os.path.join(OUT, "sitk_float64.mha"))
record("sitk_float64.mha", arr)

data_ijk = np.ascontiguousarray(arr.transpose(2, 1, 0))
cols = direction * np.asarray(spacing)[None, :]
ras = np.diag([-1, -1, 1])
nrrd.write(os.path.join(OUT, "pynrrd_ras_big.nrrd"), data_ijk,
           {"space": "right-anterior-superior", "space directions": (ras @ cols).T, "space origin": ras @ np.asarray(origin),
            "kinds": ["domain"] * 3, "encoding": "raw", "endian": "big"})
record("pynrrd_ras_big.nrrd", arr)
nrrd.write(os.path.join(OUT, "pynrrd_ascii.nrrd"), data_ijk,
           {"space": "left-posterior-superior", "space directions": cols.T, "space origin": np.asarray(origin),
            "kinds": ["domain"] * 3, "encoding": "ascii"})
record("pynrrd_ascii.nrrd", arr)
layers = np.stack([data_ijk, 2 * data_ijk], axis=0)
nrrd.write(os.path.join(OUT, "pynrrd_layers.seg.nrrd"), layers,
           {"space": "left-posterior-superior", "space directions": np.vstack([np.full(3, np.nan), cols.T]),
            "space origin": np.asarray(origin), "kinds": ["list", "domain", "domain", "domain"], "encoding": "gzip"})
record("pynrrd_layers.seg.nrrd", 2 * arr)  # volume index 1
with open(os.path.join(HERE, "formats.json"), "w") as f:
    json.dump(table, f, indent=1, sort_keys=True)
print(f"wrote {len(table)} files to formats/ and formats.json")
