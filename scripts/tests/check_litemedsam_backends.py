#!/usr/bin/env python3
"""LiteMedSAM with its real weights, end to end through the `medsam` CLI, on every backend with a
device, against the outputs PyTorch recorded (Tests/SAMModelsTests/Fixtures/litemedsam, written
by scripts/reference/models.py from real CT and MR slices).

For each image and box and each backend: the image embedding and the low-res logits
(`medsam segment --low-res-logits`) must match PyTorch with NMSE <= 1e-6, the mask at the
image's size must agree with PyTorch's at IoU >= 0.999, and the predicted IoU within 1e-3
(the fixtures store embeddings and logits as float16, which bounds what can be compared).

On each backend the images first go through one `medsam batch` run (all images in one batched
encoder call, `--batch 4`, all boxes of an image in one decoder call), which writes each image's
masks (.npy, P x H x W uint8) and, with `--save-embeddings`, its embedding: the embedding
compared with PyTorch is the batch's (the file `medsam embed` writes; scripts/tests/batch_quick.sh
checks on the cpu backend that it is embed's byte for byte for an image encoded alone, and within
float rounding, NMSE ~5e-12, for one that shared a batched encoder call). Then `medsam segment`
runs per image, and its mask file must equal the batch's byte for byte:
- without --reuse-embedding, segment runs its own encoder on the image alone: the whole path
  (encoder batched with the other image vs alone, decoder, post-processing, writer) is compared;
- with --reuse-embedding (for backends whose encoder is slow: lavapipe), segment decodes from the
  embedding file the batch wrote (`--embedding`), so the encoder runs once per image, in the batch.
  Then the batch's decoder, post-processing and mask writer are compared with segment's from the
  same embedding (and the embedding's round trip through the file), and the encoder's output with
  PyTorch's; what is not compared is a segment encoder run on that backend against the batch's.

Usage: check_litemedsam_backends.py MEDSAM_BINARY [--backends cpu,opencl,vulkan] [--images ct,mr]
       [--reuse-embedding]
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
                    help="segment from the embedding `medsam batch --save-embeddings` wrote (--embedding): one "
                         "encoder run per image instead of two, for backends where the encoder is slow (lavapipe)")
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
            # Every image through one batch: masks in out/, embeddings in emb/.
            out, emb_dir = os.path.join(tmp, backend, "out"), os.path.join(tmp, backend, "emb")
            manifest = os.path.join(tmp, f"{backend}_cases.csv")
            with open(manifest, "w") as f:
                f.write("input,box,output\n")
                for name, info in sorted(meta.items()):
                    boxes = ";".join(",".join(str(v) for v in b["box"]) for b in info["boxes"])
                    f.write(f'{os.path.join(FIXTURES, name, "image.npy")},"{boxes}",{os.path.join(out, name + ".npy")}\n')
            r = subprocess.run([args.medsam, "batch", "--manifest", manifest, "--output-dir", out, "--backend", backend,
                                "--save-embeddings", emb_dir, "--batch", "4", "--progress", "none", "--json"],
                               capture_output=True, text=True)
            if r.returncode != 0:
                print(f"FAIL {backend}: batch exited {r.returncode}: {r.stderr.strip()}"); failures += 1; continue
            s = json.loads(r.stdout)
            if (s["done"], s["images"]) != (len(meta), len(meta)):
                print(f"FAIL {backend}: batch summary {s}"); failures += 1; continue
            for name, info in sorted(meta.items()):
                image = os.path.join(FIXTURES, name, "image.npy")
                emb_path = os.path.join(emb_dir, name + ".embedding.npy")
                e = nmse(np.load(emb_path), np.load(os.path.join(FIXTURES, name, "embedding.npy")))
                ok = e <= 1e-6
                failures += not ok
                print(f"{'ok  ' if ok else 'FAIL'} {backend:7s} {name} embedding (medsam batch) NMSE {e:.2e}")
                # All boxes in one call: one encoder run (none with --embedding), one batched decoder call.
                boxes = [",".join(str(v) for v in b["box"]) for b in info["boxes"]]
                low = os.path.join(tmp, f"{backend}_{name}_low.npy")
                mask = os.path.join(tmp, f"{backend}_{name}_mask.npy")
                cmd = [args.medsam, "segment", "--input", image, "--backend", backend, "--output", mask,
                       "--low-res-logits", low, "--force", "--json"]
                if args.reuse_embedding:
                    # The batch's embedding, just checked against PyTorch; the decoder then runs on
                    # this backend from it, uploaded once (the encoder's own run is what costs here).
                    cmd += ["--embedding", emb_path]
                for box in boxes:
                    cmd += ["--box", box]
                r = subprocess.run(cmd, capture_output=True, text=True)
                if r.returncode != 0:
                    print(f"FAIL {backend} {name}: segment exited {r.returncode}: {r.stderr.strip()}"); failures += 1; continue
                summary = json.loads(r.stdout)
                # The batch's mask file against segment's, byte for byte (not only by IoU: a pixel
                # off or a changed header fails here).
                with open(mask, "rb") as a, open(os.path.join(out, name + ".npy"), "rb") as b:
                    same = a.read() == b.read()
                failures += not same
                how = "from the batch's embedding" if args.reuse_embedding else "with its own encoder run"
                print(f"{'ok  ' if same else 'FAIL'} {backend:7s} {name} medsam batch's masks "
                      f"{'==' if same else '!='} medsam segment's ({how}), byte for byte")
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
