#!/usr/bin/env python3
"""`medsam everything` with LiteMedSAM's real weights against segment-anything's
SamAutomaticMaskGenerator run in PyTorch with the same model
(Tests/SegmentationTests/Fixtures/everything/records.json, written by
scripts/reference/everything.py), through the release CLI: the Swift test
EverythingTests.testRecordsMatchSegmentAnythingsGenerator makes the same comparison in the
library but is too slow in a debug build.

Per case: the same number of masks; each reference mask matched by one engine mask with
IoU >= 0.99, predicted_iou and stability_score within 1e-3, the same bbox, point_coords and
crop_box; the engine's COCO strings decode (with pycocotools when installed, else this script's
decoder) to the masks its uncompressed RLE describes.

Usage: check_everything.py MEDSAM_BINARY [--backend cpu] [--cases base,crops,...] [--rle both|coco]

--rle coco runs the generator once per case instead of twice (the masks compared are then the
COCO strings' decodings, and the COCO-vs-uncompressed check is skipped): for slow backends
such as Vulkan on lavapipe, where each run costs an image-encoder run per crop.

The cases grid4 and grid4_small_regions (a 4 x 4 grid: one encoder run, one decoder batch of
16 points) are the ones small enough for Vulkan on lavapipe, run by hand (not by default: CI's
cpu run takes the other four):
    nice -n 10 python3 scripts/tests/check_everything.py .build/release/medsam --backend vulkan \
        --cases grid4,grid4_small_regions --rle coco
On the shared 2-core machine each grid4 case took 215-226 CPU-s on lavapipe (the encoder and one
decoder batch): 7 minutes at load ~5.5, 20-23 minutes at load ~10; both together took 4
minutes on PoCL (75 CPU-s) at load ~10.
Exit status 0 when every comparison holds, 1 otherwise.
"""
import argparse, json, os, subprocess, sys, tempfile
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FIXTURES = os.path.join(ROOT, "Tests", "SegmentationTests", "Fixtures", "everything")
FLAGS = {"points_per_side": "--points-per-side", "pred_iou_thresh": "--pred-iou-thresh",
         "stability_score_thresh": "--stability-score-thresh", "stability_score_offset": "--stability-score-offset",
         "crop_n_layers": "--crop-n-layers", "crop_n_points_downscale_factor": "--crop-n-points-downscale-factor",
         "min_mask_region_area": "--min-mask-region-area", "points_per_batch": "--points-per-batch"}


BY_HAND = {"grid4", "grid4_small_regions"}


def coco_counts(s):
    """COCO's compressed RLE string -> run lengths (pycocotools' rleFrString)."""
    counts, i = [], 0
    while i < len(s):
        x, k, more = 0, 0, True
        while more:
            c = ord(s[i]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            i += 1; k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def decode(counts, h, w):
    flat = np.zeros(h * w, bool)
    idx, val = 0, False
    for c in counts:
        flat[idx:idx + c] = val
        idx += c; val = not val
    return flat.reshape(w, h).T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("medsam")
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--cases", "--case", default=None, help="comma-separated cases (default: all)")
    ap.add_argument("--rle", choices=("both", "coco"), default="both",
                    help="RLE forms to generate per case (coco: one generator run per case)")
    args = ap.parse_args()
    cases = json.load(open(os.path.join(FIXTURES, "records.json")))["cases"]
    # The grid4 cases repeat base's checks on a smaller grid for slow backends: by hand only, so
    # CI's cpu run (all the other cases) does not pay for two more generator runs each.
    names = args.cases.split(",") if args.cases else sorted(n for n in cases if n not in BY_HAND)
    unknown = [n for n in names if n not in cases]
    if unknown:
        print(f"error: --cases {','.join(unknown)}: expected some of {', '.join(sorted(cases))}", file=sys.stderr)
        return 2
    try:
        from pycocotools import mask as mask_utils
    except ImportError:
        mask_utils = None
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            case = cases[name]
            cmd = [args.medsam, "everything", "--input", os.path.join(FIXTURES, "ct.png"), "--backend", args.backend,
                   "--force", "--json"]
            for k, v in case["parameters"].items():
                if k == "multimask_output":
                    if not v:
                        cmd.append("--single-mask")
                else:
                    cmd += [FLAGS[k], str(v)]
            runs = {}
            for kind in (("coco", "uncompressed") if args.rle == "both" else ("coco",)):
                out = os.path.join(tmp, f"{name}.{kind}.json")
                subprocess.run(cmd + ["--output-json", out, "--rle", kind], check=True, capture_output=True, text=True)
                runs[kind] = json.load(open(out))
            problems = []

            def decode_coco(c):
                h, w = c["segmentation"]["size"]
                return mask_utils.decode(dict(size=[h, w], counts=c["segmentation"]["counts"].encode())).astype(bool) \
                    if mask_utils else decode(coco_counts(c["segmentation"]["counts"]), h, w)

            if "uncompressed" in runs:
                engine = runs["uncompressed"]
                masks = [decode(r["segmentation"]["counts"], *r["segmentation"]["size"]) for r in engine]
                if len(runs["coco"]) != len(engine):
                    problems.append(f"{len(runs['coco'])} masks with COCO strings, {len(engine)} uncompressed")
                for c, m in zip(runs["coco"], masks):
                    if not np.array_equal(decode_coco(c), m):
                        problems.append("a COCO string does not decode to its uncompressed RLE's mask")
            else:
                engine = runs["coco"]
                masks = [decode_coco(c) for c in engine]
            if len(engine) != len(case["records"]):
                problems.append(f"{len(engine)} masks, reference {len(case['records'])}")
            used = set()
            for i, ref in enumerate(case["records"]):
                rm = decode(coco_counts(ref["counts"]), *ref["size"])
                best, best_iou = None, -1.0
                for j, m in enumerate(masks):
                    if j in used:
                        continue
                    union = np.logical_or(rm, m).sum()
                    iou = np.logical_and(rm, m).sum() / union if union else 1.0
                    if iou > best_iou:
                        best, best_iou = j, iou
                if best is None or best_iou < 0.99:
                    problems.append(f"reference mask {i}: best IoU {best_iou:.4f}")
                    continue
                used.add(best)
                e = engine[best]
                for key, tol in (("predicted_iou", 1e-3), ("stability_score", 1e-3)):
                    if abs(e[key] - ref[key]) > tol:
                        problems.append(f"reference mask {i}: {key} {e[key]} vs {ref[key]}")
                for key in ("bbox", "crop_box"):
                    if e[key] != ref[key]:
                        problems.append(f"reference mask {i}: {key} {e[key]} vs {ref[key]}")
                if not np.allclose(e["point_coords"], ref["point_coords"], atol=1e-9):
                    problems.append(f"reference mask {i}: point_coords {e['point_coords']} vs {ref['point_coords']}")
            status = "ok" if not problems else "FAIL"
            print(f"{name}: {len(engine)} masks (reference {len(case['records'])}) {status}")
            for p in problems[:10]:
                print("   ", p)
            failures += bool(problems)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
