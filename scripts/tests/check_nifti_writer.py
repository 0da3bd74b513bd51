#!/usr/bin/env python3
"""NIfTI files written by medsam-swift's NIfTIWriter, read with nibabel.

The Swift test NIfTIExportTests writes the files and a manifest.json (what each file must hold)
into the folder named by MEDSAM_NIFTI_EXPORT_DIR. For every file this checks, with nibabel:
the NIfTI version (Nifti1Image or Nifti2Image), the datatype code, the shape, the voxel sizes
(zooms), qform_code and sform_code, the affine nibabel derives (sform, else qform; 1e-4 mm),
that the sform and (unless the affine is sheared) the qform each give that affine, scl_slope/scl_inter (none or 1/0), and every voxel
value (exactly, in the file's own dtype).

Usage: check_nifti_writer.py EXPORT_DIR
Exit status 0 when every file holds, 1 otherwise (and when the manifest is missing or empty).
"""
import json, os, sys

import nibabel as nib
import numpy as np

DTYPES = {2: np.uint8, 4: np.int16, 8: np.int32, 16: np.float32, 64: np.float64,
          256: np.int8, 512: np.uint16, 768: np.uint32, 1024: np.int64, 1280: np.uint64}


def check(folder, entry):
    path = os.path.join(folder, entry["file"])
    img = nib.load(path)
    problems = []
    want_class = nib.Nifti1Image if entry["version"] == 1 else nib.Nifti2Image
    if type(img) is not want_class:
        problems.append(f"loaded as {type(img).__name__}, expected {want_class.__name__}")
    h = img.header
    if int(h["datatype"]) != entry["datatype"]:
        problems.append(f"datatype {int(h['datatype'])}, expected {entry['datatype']} ({entry['dtype']})")
    if img.get_data_dtype() != np.dtype(DTYPES[entry["datatype"]]):
        problems.append(f"data dtype {img.get_data_dtype()}, expected {np.dtype(DTYPES[entry['datatype']])}")
    if tuple(img.shape) != tuple(entry["shape"]):
        problems.append(f"shape {img.shape}, expected {tuple(entry['shape'])}")
    if not np.allclose(h.get_zooms()[:3], entry["zooms"], rtol=1e-5, atol=1e-6):
        problems.append(f"zooms {h.get_zooms()[:3]}, expected {entry['zooms']}")
    qcode, scode = int(h["qform_code"]), int(h["sform_code"])
    if (qcode, scode) != (entry["qform_code"], entry["sform_code"]):
        problems.append(f"qform/sform codes {(qcode, scode)}, expected {(entry['qform_code'], entry['sform_code'])}")
    want_affine = np.array(entry["affine"])
    if not np.allclose(img.affine, want_affine, atol=1e-4):
        problems.append(f"affine\n{img.affine}\nexpected\n{want_affine}")
    # A sheared affine cannot be a qform (rotation and scales only): only the sform holds it.
    if qcode > 0 and entry.get("qform_exact", True) and not np.allclose(h.get_qform(), want_affine, atol=1e-4):
        problems.append(f"qform\n{h.get_qform()}\nexpected\n{want_affine}")
    if scode > 0 and not np.allclose(h.get_sform(), want_affine, atol=1e-4):
        problems.append(f"sform\n{h.get_sform()}\nexpected\n{want_affine}")
    slope, inter = h.get_slope_inter()
    if not ((slope is None and inter is None) or (slope == 1 and inter == 0)):
        problems.append(f"scl_slope/scl_inter {slope}/{inter}, expected none or 1/0")
    data = np.asarray(img.dataobj)
    want = np.array(entry["voxels_fortran_order"]).reshape(entry["shape"], order="F")
    if data.shape != want.shape:
        problems.append(f"voxel array {data.shape}, expected {want.shape}")
    elif not np.array_equal(data.astype(np.float64), want):
        bad = np.argwhere(data.astype(np.float64) != want)
        problems.append(f"{len(bad)} voxels differ, first at {tuple(bad[0])}: {data[tuple(bad[0])]} vs {want[tuple(bad[0])]}")
    return problems


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    folder = argv[1]
    manifest_path = os.path.join(folder, "manifest.json")
    if not os.path.exists(manifest_path):
        print(f"FAIL: {manifest_path} is missing (did NIfTIExportTests run with MEDSAM_NIFTI_EXPORT_DIR set?)")
        return 1
    entries = json.load(open(manifest_path))["files"]
    if not entries:
        print("FAIL: the manifest lists no files")
        return 1
    failures = 0
    for entry in entries:
        problems = check(folder, entry)
        failures += bool(problems)
        print(f"{'ok  ' if not problems else 'FAIL'} {entry['file']}" + "".join(f"\n      {p}" for p in problems))
    print(f"NIfTI writer vs nibabel: {len(entries) - failures}/{len(entries)} files hold")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
