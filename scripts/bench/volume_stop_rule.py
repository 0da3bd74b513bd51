#!/usr/bin/env python3
"""`medsam volume`'s stop rule measured on real structures (docs/volume-propagation.md).

Structures come from nilearn's wheel (PyPI): the MNI152 2009a 1 mm T1 with its grey- and
white-matter probability maps. The brain (GM + WM > 0.5, closed and filled), the two lateral
ventricles together, two CSF components (brain minus tissue) and two deep grey-matter components
(GM > 0.5 deeper than 20 mm). For each: the key slice is its largest axial cross-section, the box
the tight box there (x = i, y = j, as `medsam` reads axial slices). Two runs per structure:
`medsam volume` with the default stop rule, and with the structure's exact z-range (`--zrange`);
Dice of each against the structure, slices, wall time. `--simulate` replays other stop rules on
the exact-range runs' per-slice areas (optimistic: a walk past the range cannot be scored).

Usage: volume_stop_rule.py MEDSAM [--workdir DIR] [--modes default,exact] [--simulate]
"""
import argparse
import glob
import itertools
import json
import os
import subprocess
import time
import zipfile

import nibabel as nib
import numpy as np
from scipy import ndimage as ndi

T1 = "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"


def extract():
    if os.path.exists(T1):
        return
    subprocess.run(["pip", "download", "--no-deps", "nilearn", "-d", "wheel", "-q"], check=True)
    z = zipfile.ZipFile(glob.glob("wheel/nilearn-*.whl")[0])
    for n in z.namelist():
        if "mni_icbm152" in n:
            open(os.path.basename(n), "wb").write(z.read(n))


def structures():
    if os.path.exists("structures.json"):
        return json.load(open("structures.json"))
    t1 = nib.load(T1)
    gm = nib.load(T1.replace("_t1_", "_gm_")).get_fdata() / 255
    wm = nib.load(T1.replace("_t1_", "_wm_")).get_fdata() / 255
    brain = ndi.binary_fill_holes(ndi.binary_closing(gm + wm > 0.5, iterations=3))
    out = []

    def add(name, comp):
        areas = comp.sum(axis=(0, 1))
        k = int(np.argmax(areas))
        zs = np.nonzero(areas)[0]
        ii, jj = np.nonzero(comp[:, :, k])
        f = f"gt_{name}.nii.gz"
        nib.save(nib.Nifti1Image(comp.astype(np.uint8), t1.affine), f)
        out.append(dict(name=name, voxels=int(comp.sum()), key=k, gt=f, zmin=int(zs.min()), zmax=int(zs.max()),
                        box=[int(ii.min()), int(jj.min()), int(ii.max()) + 1, int(jj.max()) + 1]))

    def components(mask, n):
        lab, count = ndi.label(mask)
        sizes = ndi.sum(mask, lab, range(1, count + 1))
        return [lab == o + 1 for o in np.argsort(-sizes)[:n]]

    csf = components(brain & (gm + wm < 0.3), 5)   # [0] surrounds the brainstem; [1], [2] ventricles
    add("brain", brain)
    add("lateral_ventricles", csf[1] | csf[2])
    add("csf_midline", csf[3])
    add("csf_temporal", csf[4])
    deep = components((gm > 0.5) & (ndi.distance_transform_edt(brain) > 20), 3)  # [0] joins many
    add("deep_gm_a", deep[1])
    add("deep_gm_b", deep[2])
    json.dump(out, open("structures.json", "w"), indent=1)
    return out


def measure(medsam, modes):
    res = json.load(open("results.json")) if os.path.exists("results.json") else {}
    for s in structures():
        gt = np.asarray(nib.load(s["gt"]).dataobj) > 0
        for mode in modes:
            key = f"{s['name']}/{mode}"
            if key in res:
                continue
            out = f"out_{s['name']}_{mode}.nii.gz"
            cmd = [medsam, "volume", "--input", T1, "--slice", str(s["key"]), "--box", ",".join(map(str, s["box"])),
                   "--orientation", "array", "--backend", "cpu", "--output", out, "--force", "--json"]
            if mode == "exact":
                cmd += ["--zrange", f"{s['zmin']},{s['zmax']}"]
            t = time.time()
            r = subprocess.run(cmd, capture_output=True, text=True)
            dt = time.time() - t
            if r.returncode != 0:
                print(key, "FAILED", r.stderr[-300:])
                continue
            j = json.loads(r.stdout)
            pred = np.asarray(nib.load(out).dataobj) > 0
            res[key] = dict(dice=float(2 * (pred & gt).sum() / max(pred.sum() + gt.sum(), 1)), seconds=dt,
                            slices=j["slices"], stops=j["stops"], per_slice=j["per_slice"])
            print(f"{key:28s} Dice {res[key]['dice']:.3f}  {len(j['slices'])} slices  {dt:.1f} s  {j['stops']}", flush=True)
            json.dump(res, open("results.json", "w"))
    print("\n| structure | voxels | GT slices | default rule: Dice, slices, s | exact range: Dice, slices, s | difference |")
    print("|---|---|---|---|---|---|")
    for s in structures():
        d, e = res.get(f"{s['name']}/default"), res.get(f"{s['name']}/exact")
        if d and e:
            print(f"| {s['name']} | {s['voxels']} | {s['zmin']}-{s['zmax']} | {d['dice']:.3f}, {len(d['slices'])}, {d['seconds']:.0f} "
                  f"| {e['dice']:.3f}, {len(e['slices'])}, {e['seconds']:.0f} | {d['dice'] - e['dice']:+.3f} |")
    return res


def simulate(res):
    """Replays stop rules on the exact-range walks (identical to an open walk until a mask is empty)."""
    runs = {}
    for s in structures():
        e = res.get(f"{s['name']}/exact")
        if not e:
            continue
        areas = {p["slice"]: p["area"] for p in e["per_slice"]}
        pred = np.asarray(nib.load(f"out_{s['name']}_exact.nii.gz").dataobj) > 0
        runs[s["name"]] = (areas, pred, np.asarray(nib.load(s["gt"]).dataobj) > 0, s["key"], e["dice"])
    for growth, ratio, minimum, slack in itertools.product([1.2, 1.3, 1.5, 2.0], [1.15, 1.5, 2.0, 3.0], [1, 4, 8], [0, 16, 32]):
        row = []
        for name, (areas, pred, gt, key, exact) in runs.items():
            kept = [key]
            for d in (1, -1):
                prev, z = areas[key], key + d
                while z in areas:
                    a = areas[z]
                    if a < minimum or (a > growth * max(prev, 1) and a - prev > slack) or a > ratio * max(areas[key], 1):
                        break
                    kept.append(z)
                    prev, z = a, z + d
            m = np.zeros_like(pred)
            m[:, :, kept] = pred[:, :, kept]
            row.append(2 * (m & gt).sum() / (m.sum() + gt.sum()) - exact)
        print(f"growth {growth} ratio {ratio} min {minimum} slack {slack}: worst {min(row):+.3f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("medsam")
    ap.add_argument("--workdir", default="/tmp/volume_stop_rule")
    ap.add_argument("--modes", default="default,exact")
    ap.add_argument("--simulate", action="store_true")
    a = ap.parse_args()
    medsam = os.path.abspath(a.medsam)
    os.makedirs(a.workdir, exist_ok=True)
    os.chdir(a.workdir)
    extract()
    res = measure(medsam, a.modes.split(","))
    if a.simulate:
        simulate(res)


if __name__ == "__main__":
    main()
