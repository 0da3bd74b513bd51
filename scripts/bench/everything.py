#!/usr/bin/env python3
"""Times SAM's automatic mask generator ("Everything" mode) on a 1024 x 1024 image: `medsam
everything` on the cpu backend against segment-anything's SamAutomaticMaskGenerator in PyTorch
with the same model (LiteMedSAM, real weights) and the same number of threads, in one run.
Prints one JSON object (Benchmarks/everything/README.md records the numbers).

The image: pydicom's CT_small.dcm (128 x 128, window 40,400) upscaled to 1024 x 1024 with
cv2 INTER_CUBIC, written as an 8-bit PNG that both sides read.

Configurations (--config):
  defaults  every reference default (points_per_side 32, multimask, pred_iou_thresh 0.88,
            stability_score_thresh 0.95, ...). LiteMedSAM's multimask outputs are near zero, so
            no candidate passes the IoU filter: this times encoder + decoder batches + filter.
  lite      points_per_side 32, single-mask output, pred_iou_thresh 0.5, stability_score_thresh 0.5,
            stability_score_offset 0.5 (scripts/reference/everything.py's LiteMedSAM settings):
            masks survive, so the backend's mask measures, filtering, mask downloads,
            RLE and NMS are timed too.

PyTorch's breakdown: encoder = set_image (resize, normalise, encoder), decoder = predict_torch
(prompt encoder, mask decoder, crop and bilinear upsampling of every candidate to 1024 x 1024),
rest = total - encoder - decoder (IoU and stability filtering, thresholding, boxes, RLE, NMS).

The engine's breakdown is `medsam everything --json`'s timings_ms (docs/cli.md), with
downloaded_bytes (what crossed from the backend to the host). The machine's load average is
recorded before and after each side (the benchmark machine may be shared).

usage: python3 scripts/bench/everything.py [--threads 2] [--config defaults|lite]
                                           [--medsam .build/release/medsam] [--runs 1] [--backend cpu]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "reference"))
import everything as reference  # noqa: E402  (torchvision workaround, NMS, LiteMedSAM predictor)

CONFIGS = {
    "defaults": (True, dict()),
    "lite": (False, dict(pred_iou_thresh=0.5, stability_score_thresh=0.5, stability_score_offset=0.5)),
}
FLAGS = {"pred_iou_thresh": "--pred-iou-thresh", "stability_score_thresh": "--stability-score-thresh",
         "stability_score_offset": "--stability-score-offset"}


def image_1024(folder):
    import cv2
    from PIL import Image
    big = cv2.resize(reference.ct_image(), (1024, 1024), interpolation=cv2.INTER_CUBIC)
    path = Path(folder) / "ct1024.png"
    Image.fromarray(big, mode="L").save(path)
    return big, path


def run_pytorch(image8, multimask, kwargs):
    model = reference.lite_medsam()
    rgb = np.repeat(image8[:, :, None], 3, axis=2)
    from segment_anything.automatic_mask_generator import SamAutomaticMaskGenerator
    g = SamAutomaticMaskGenerator(model, output_mode="uncompressed_rle", **kwargs)
    g.predictor = reference.LiteMedSAMPredictor(model, multimask)
    start = time.perf_counter()
    try:
        anns = g.generate(rgb)
    except IndexError:
        # segment-anything 1.0 fails on crop NMS when no mask survives; with one crop it returns [].
        anns = []
    total = time.perf_counter() - start
    p = g.predictor
    return dict(masks=len(anns), total_ms=total * 1e3, encoder_ms=p.encoder_seconds * 1e3,
                decoder_ms=p.decoder_seconds * 1e3,
                rest_ms=(total - p.encoder_seconds - p.decoder_seconds) * 1e3)


def run_engine(medsam, png, threads, multimask, kwargs, folder, backend):
    out = Path(folder) / "engine.json"
    cmd = [medsam, "everything", "--input", str(png), "--backend", backend, "--threads", str(threads),
           "--output-json", str(out), "--force", "--json"]
    if not multimask:
        cmd.append("--single-mask")
    for k, v in kwargs.items():
        cmd += [FLAGS[k], str(v)]
    result = subprocess.run(cmd, capture_output=True, text=True, check=True)
    summary = json.loads(result.stdout)
    return dict(masks=summary["masks"], candidates=summary["candidates"], passed_iou=summary["passed_iou"],
                downloaded_bytes=summary["downloaded_bytes"], backend=summary["backend"], device=summary["device"],
                timings_ms=summary["timings_ms"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--config", choices=sorted(CONFIGS), default="defaults")
    ap.add_argument("--medsam", default=str(ROOT / ".build" / "release" / "medsam"))
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--backend", default="cpu", help="the engine's backend (PyTorch runs on the CPU)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    multimask, kwargs = CONFIGS[args.config]
    results = dict(config=args.config, threads=args.threads, image=[1024, 1024], model="litemedsam",
                   parameters=dict(kwargs, multimask_output=multimask, points_per_side=32, points_per_batch=64),
                   runs=[])
    with tempfile.TemporaryDirectory() as folder:
        image8, png = image_1024(folder)
        for _ in range(args.runs):
            load = [os.getloadavg()]
            engine = run_engine(args.medsam, png, args.threads, multimask, kwargs, folder, args.backend)
            load.append(os.getloadavg())
            pytorch = run_pytorch(image8, multimask, kwargs)
            load.append(os.getloadavg())
            ratio = engine["timings_ms"]["generate"] / pytorch["total_ms"]
            results["runs"].append(dict(engine=engine, pytorch=pytorch, ratio_engine_over_pytorch=ratio,
                                        load_average_1_5_15_before_engine_after_engine_after_pytorch=load))
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
