#!/usr/bin/env python3
"""LiteMedSAM with its real weights, end to end through the `medsam` CLI, on every backend with a
device, against the outputs PyTorch recorded (Tests/SAMModelsTests/Fixtures/litemedsam, written
by scripts/reference/models.py from real CT and MR slices).

For each image and box and each backend: the image embedding (`medsam embed`) and the low-res
logits (`medsam segment --low-res-logits`) must match PyTorch with NMSE <= 1e-6, the mask at the
image's size must agree with PyTorch's at IoU >= 0.999, and the predicted IoU within 1e-3
(the fixtures store embeddings and logits as float16, which bounds what can be compared).

Usage: check_litemedsam_backends.py MEDSAM_BINARY [--backends cpu,opencl,vulkan] [--images ct,mr]
Exit status 0 when every comparison holds, 1 otherwise.
"""
import argparse, json, os, subprocess, sys, tempfile
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FIXTURES = os.path.join(ROOT, "Tests", "SAMModelsTests", "Fixtures", "litemedsam")


def nmse(a, b):
    # Same shape first: equal element counts in another layout are a failure, not a comparison.
    if a.shape != b.shape:
        raise ValueError(f"shape {a.shape} compared with expected shape {b.shape}")
    a = a.astype(np.float64).ravel(); b = b.astype(np.float64).ravel()
    return float(((a - b) ** 2).sum() / max((b ** 2).sum(), 1e-30))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("medsam")
    ap.add_argument("--backends", default="cpu,opencl,vulkan")
    ap.add_argument("--images", default=None, help="fixture images to use (default: all, ct and mr)")
    ap.add_argument("--reuse-embedding", action="store_true",
                    help="segment from the embedding `medsam embed` wrote (--embedding): one encoder run per "
                         "image instead of two, for backends where the encoder is slow (lavapipe)")
    args = ap.parse_args()
    meta = json.load(open(os.path.join(FIXTURES, "meta.json")))["images"]
    if args.images:
        unknown = set(args.images.split(",")) - set(meta)
        if unknown:
            print(f"unknown fixture images {sorted(unknown)}; have {sorted(meta)}")
            return 2
        meta = {k: v for k, v in meta.items() if k in args.images.split(",")}
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            for name, info in sorted(meta.items()):
                image = os.path.join(FIXTURES, name, "image.npy")
                emb_path = os.path.join(tmp, f"{backend}_{name}_emb.npy")
                r = subprocess.run([args.medsam, "embed", "--input", image, "--backend", backend,
                                    "--output", emb_path, "--force"], capture_output=True, text=True)
                if r.returncode != 0:
                    print(f"FAIL {backend} {name}: embed exited {r.returncode}: {r.stderr.strip()}"); failures += 1; continue
                e = nmse(np.load(emb_path), np.load(os.path.join(FIXTURES, name, "embedding.npy")))
                ok = e <= 1e-6
                failures += not ok
                print(f"{'ok  ' if ok else 'FAIL'} {backend:7s} {name} embedding NMSE {e:.2e}")
                # All boxes in one call: one encoder run, one batched decoder call.
                boxes = [",".join(str(v) for v in b["box"]) for b in info["boxes"]]
                low = os.path.join(tmp, f"{backend}_{name}_low.npy")
                mask = os.path.join(tmp, f"{backend}_{name}_mask.npy")
                cmd = [args.medsam, "segment", "--input", image, "--backend", backend, "--output", mask,
                       "--low-res-logits", low, "--force", "--json"]
                if args.reuse_embedding:
                    # The embedding was just checked against PyTorch; the decoder then runs on this
                    # backend from it, uploaded once (the encoder's own run is what costs here).
                    cmd += ["--embedding", emb_path]
                for box in boxes:
                    cmd += ["--box", box]
                r = subprocess.run(cmd, capture_output=True, text=True)
                if r.returncode != 0:
                    print(f"FAIL {backend} {name}: segment exited {r.returncode}: {r.stderr.strip()}"); failures += 1; continue
                summary = json.loads(r.stdout)
                got_low, got_masks = np.load(low), np.load(mask)
                for i, box in enumerate(boxes):
                    want_logits = np.load(os.path.join(FIXTURES, name, f"box{i}.logits.npy"))
                    l = nmse(got_low[i], want_logits[0])
                    got_mask = got_masks[i] > 0
                    want_mask = np.load(os.path.join(FIXTURES, name, f"box{i}.mask.npy")) > 0
                    union = np.logical_or(got_mask, want_mask).sum()
                    iou = 1.0 if union == 0 else np.logical_and(got_mask, want_mask).sum() / union
                    want_iou = float(np.load(os.path.join(FIXTURES, name, f"box{i}.iou.npy")).ravel()[0])
                    d_iou = abs(summary["masks"][i]["iou"] - want_iou)
                    ok = l <= 1e-6 and iou >= 0.999 and d_iou <= 1e-3
                    failures += not ok
                    print(f"{'ok  ' if ok else 'FAIL'} {backend:7s} {name} box {box:>14s}: logits NMSE {l:.2e}, "
                          f"mask IoU {iou:.5f}, IoU prediction off by {d_iou:.1e}")
    print("LiteMedSAM across backends:", "all comparisons hold" if failures == 0 else f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
