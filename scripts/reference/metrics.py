#!/usr/bin/env python3
"""Reference values for the 2-D and 3-D segmentation metrics (Segmentation/Evaluation), computed with
DeepMind's `surface-distance` package (PyPI `surface-distance`, the implementation MedSAM's
evaluation vendors as SurfaceDice.py) on real masks.

Masks come from real images: nibabel's anatomical.nii (a 2 mm brain MR; intensity thresholds on
its slices) and nilearn's MNI152 2009a grey-matter map (thresholded at 0.5 and 0.3, so the pair
differs as two raters would), in pixel and anisotropic spacings, plus the edge cases an
evaluation meets: an empty prediction, two empty masks, a one-pixel object.

3-D: crops of the MNI152 grey- and white-matter maps (thresholds as two raters; one shifted by
two voxels; an empty prediction) at anisotropic spacings ((1, 1, 2.5) and (0.8, 1.2, 2.5) mm);
metrics3d.json holds them (with "depth" and three spacings, axes in the array's order) and the
package's surface area of each of the 256 2x2x2 neighbourhood codes at three spacings, which
the Swift marching-cubes areas are checked against.

Writes Tests/SegmentationTests/Fixtures/metrics/metrics2d.json:
  [{"name", "height", "width", "spacing": [row, col], "gt": hex bitmask, "pred": hex bitmask,
    "dice", "iou", "nsd": {tolerance: value}, "hd95", "hd100", "asd_gt_to_pred", "asd_pred_to_gt"}]
(null for an undefined value, "inf" for an infinite one). Run by hand:
  pip install surface-distance nibabel nilearn   # nilearn only for its data file
  python3 scripts/reference/metrics.py
"""
import glob
import json
import os
import zipfile

import nibabel as nib
import numpy as np

# surface-distance 0.1 still spells np.Inf, which NumPy 2 removed; give it back the alias.
if not hasattr(np, "Inf"):
    np.Inf = np.inf
import surface_distance as sd  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests/SegmentationTests/Fixtures/metrics/metrics2d.json")


def mni_gm():
    import nilearn
    path = os.path.join(os.path.dirname(nilearn.__file__), "datasets/data/mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz")
    return np.asarray(nib.load(path).dataobj).astype(np.float64) / 255


def pack(m):
    return np.packbits(m.astype(np.uint8).ravel()).tobytes().hex()


def number(x):
    x = float(x)
    return "inf" if np.isinf(x) else (None if np.isnan(x) else x)


def case(name, gt, pred, spacing):
    gt, pred = gt.astype(bool), pred.astype(bool)
    d = sd.compute_surface_distances(gt, pred, spacing)
    total = gt.sum() + pred.sum()
    union = (gt | pred).sum()
    both_empty_contours = len(d["distances_gt_to_pred"]) == 0 and len(d["distances_pred_to_gt"]) == 0
    shape = dict(height=int(gt.shape[-2]), width=int(gt.shape[-1]))
    if gt.ndim == 3:
        shape = dict(depth=int(gt.shape[0]), **shape)
    out = dict(name=name, **shape, spacing=list(spacing),
               gt=pack(gt), pred=pack(pred),
               dice=None if total == 0 else float(2 * (gt & pred).sum() / total),
               iou=None if union == 0 else float((gt & pred).sum() / union))
    if both_empty_contours:
        out.update(nsd=None, hd95=None, hd100=None, asd_gt_to_pred=None, asd_pred_to_gt=None)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            out["nsd"] = {str(t): number(sd.compute_surface_dice_at_tolerance(d, t)) for t in (1.0, 2.0, 5.0)}
            out["hd95"] = number(sd.compute_robust_hausdorff(d, 95))
            out["hd100"] = number(sd.compute_robust_hausdorff(d, 100))
            a, b = sd.compute_average_surface_distance(d)
            out["asd_gt_to_pred"], out["asd_pred_to_gt"] = number(a), number(b)
    return out


def main():
    mr = np.asarray(nib.load(os.path.join(ROOT, "Tests/MedicalImagingTests/Fixtures/nifti/anatomical.nii")).dataobj)
    gm = mni_gm()
    cases = []
    s = mr[:, :, 12].T.astype(np.float64)                       # 25 x 33 would be [k]; rows = j
    cases.append(case("mr_slice12_threshold_pair", s > 9000, s > 10000, (1.0, 1.0)))
    cases.append(case("mr_slice12_threshold_pair_2mm", s > 9000, s > 10000, (2.0, 2.0)))
    g = gm[40:120, 60:160, 80].T                                # 100 x 80 crop of an axial slice
    cases.append(case("mni_gm_05_vs_03", g > 0.5, g > 0.3, (1.0, 1.0)))
    cases.append(case("mni_gm_05_vs_03_anisotropic", g > 0.5, g > 0.3, (0.7, 1.3)))
    shifted = np.roll(g > 0.5, 3, axis=1)
    cases.append(case("mni_gm_shifted_3px", g > 0.5, shifted, (1.0, 1.0)))
    empty = np.zeros_like(g, bool)
    cases.append(case("empty_prediction", g > 0.5, empty, (1.0, 1.0)))
    cases.append(case("both_empty", empty, empty, (1.0, 1.0)))
    dot = empty.copy(); dot[10, 20] = True
    dot2 = empty.copy(); dot2[12, 23] = True
    cases.append(case("one_pixel_objects", dot, dot2, (1.0, 1.0)))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(cases, f, indent=0)
    for c in cases:
        print(c["name"], c["dice"], c.get("nsd"), c.get("hd95"))
    main3d(gm)


def mni_wm():
    import nilearn
    path = os.path.join(os.path.dirname(nilearn.__file__), "datasets/data/mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz")
    return np.asarray(nib.load(path).dataobj).astype(np.float64) / 255


def main3d(gm):
    wm = mni_wm()
    # A 40 x 48 x 24 (i, j, k) block through the left hemisphere's cortex and white matter, as
    # (depth, row, column) = (k, j, i) arrays: the array order the Swift side reads.
    def crop(m):
        return np.ascontiguousarray(m[50:90, 100:148, 60:84].transpose(2, 1, 0))
    g, w = crop(gm), crop(wm)
    cases = [
        case("mni_gm_05_vs_03_1x1x2.5", g > 0.5, g > 0.3, (2.5, 1.0, 1.0)),
        case("mni_gm_05_vs_03_0.8x1.2x2.5", g > 0.5, g > 0.3, (2.5, 1.2, 0.8)),
        case("mni_wm_05_vs_04_anisotropic", w > 0.5, w > 0.4, (2.5, 1.2, 0.8)),
        case("mni_wm_shifted_2_voxels", w > 0.5, np.roll(w > 0.5, 2, axis=1), (2.5, 1.0, 1.0)),
        case("mni_gm_vs_wm", g > 0.5, w > 0.5, (1.0, 1.0, 2.5)),
        case("empty_prediction_3d", g > 0.5, np.zeros_like(g, bool), (2.5, 1.0, 1.0)),
    ]
    spacings = [(1.0, 1.0, 1.0), (2.5, 1.0, 1.0), (0.8, 1.2, 2.5)]
    from surface_distance import lookup_tables
    areas = [dict(spacing=list(s), areas=lookup_tables.create_table_neighbour_code_to_surface_area(s).tolist()) for s in spacings]
    out = os.path.join(os.path.dirname(OUT), "metrics3d.json")
    with open(out, "w") as f:
        json.dump(dict(cases=cases, surface_areas=areas), f, indent=0)
    for c in cases:
        print(c["name"], c["dice"], c.get("nsd"), c.get("hd95"))


if __name__ == "__main__":
    main()
