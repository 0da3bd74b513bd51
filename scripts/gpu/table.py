#!/usr/bin/env python3
"""Summarises a scripts/gpu/run.sh output folder as one Markdown table (medsam vs PyTorch).

usage: python3 scripts/gpu/table.py OUTDIR
"""
import json
import sys
from pathlib import Path


def load(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def main():
    out = Path(sys.argv[1])
    torch = load(out / "torch.json") or {}
    lines = []
    if torch:
        lines.append(f"PyTorch {torch.get('torch')} (CUDA {torch.get('cuda')}) on {torch.get('device')}")
    # medsam rows: one per bench file.
    rows = []
    for f in sorted(out.glob("bench_*.json")):
        r = load(f)
        if not r:
            rows.append((f.stem, "failed", "", "", ""))
            continue
        path = f.stem.split("_")[1]
        if r["workload"] == "decoder":
            rows.append((f"{r['model']} decoder {r['batch']} boxes", path,
                         f"{r['median_ms'] / r['batch']:.3f} ms/box", f"{r['median_ms']:.2f} ms", ""))
        else:
            rows.append((f"{r['model']} encoder b{r['batch']}", path, f"{r['median_ms'] / r['batch']:.2f} ms/image",
                         f"{r['images_per_s']:.1f} img/s", f"{r['gflops'] / 1e3:.1f} TFLOP/s"))
    lines.append("")
    lines.append("| workload | medsam path | latency | throughput | rate |")
    lines.append("|---|---|---:|---:|---:|")
    for row in rows:
        lines.append("| " + " | ".join(row) + " |")

    def torch_row(key, label):
        for mode, r in (torch.get(key) or {}).items():
            if "error" in r:
                lines.append(f"| {label} {mode} | PyTorch | {r['error']} | | |")
            else:
                lines.append(f"| {label} {mode} | PyTorch | {r['ms_per_image']:.2f} ms/image | {r['images_per_s']:.1f} img/s | |")
    lines.append("")
    lines.append("| workload | peer | latency | throughput | |")
    lines.append("|---|---|---:|---:|---|")
    torch_row("vit_b_encoder", "sam-vit-b encoder")
    torch_row("vit_h_encoder", "sam-vit-h encoder")
    torch_row("litemedsam_encoder", "litemedsam encoder")
    d = torch.get("litemedsam_decode_64")
    if d:
        lines.append(f"| litemedsam decoder 64 boxes | PyTorch fp32 | {d['ms_per_box']:.3f} ms/box | | |")
    for name, g in (torch.get("gemm_bf16") or {}).items():
        lines.append(f"| GEMM bf16 {name} | PyTorch | {g['median_ms']:.3f} ms | | {g['tflops']:.0f} TFLOP/s |")

    # Ratios: medsam's best path per encoder workload against PyTorch bf16 + SDPA (ViT) / bf16 (Lite).
    best = {}
    for f in out.glob("bench_*.json"):
        r = load(f)
        if r and r["workload"] == "encoder":
            key = (r["model"], r["batch"])
            if key not in best or r["images_per_s"] > best[key][0]:
                best[key] = (r["images_per_s"], f.stem.split("_")[1])
    peers = {"sam-vit-b": ("vit_b_encoder", "bf16-sdpa"), "sam-vit-h": ("vit_h_encoder", "bf16-sdpa"),
             "litemedsam": ("litemedsam_encoder", "bf16")}
    lines.append("")
    lines.append("| encoder | batch | medsam best (path) img/s | PyTorch bf16 img/s | ratio |")
    lines.append("|---|---:|---:|---:|---:|")
    for (model, batch), (ips, path) in sorted(best.items()):
        key, mode = peers.get(model, (None, None))
        peer = (torch.get(key) or {}).get(f"{mode}/b{batch}", {}) if key else {}
        pips = peer.get("images_per_s")
        ratio = f"{ips / pips:.2f}" if pips else "-"
        lines.append(f"| {model} | {batch} | {ips:.1f} ({path}) | {pips:.1f} | {ratio} |" if pips else
                     f"| {model} | {batch} | {ips:.1f} ({path}) | - | - |")
    # Parity summary.
    for f in sorted(out.glob("parity_*.json")):
        r = load(f)
        if isinstance(r, list):
            passed = sum(1 for c in r if c.get("pass"))
            lines.append(f"parity {f.stem[7:]}: {passed}/{len(r)} pass")
        else:
            lines.append(f"parity {f.stem[7:]}: no result")
    masks = load(out / "masks.json")
    if masks:
        for k, v in masks.items():
            if k.startswith("worst_iou"):
                lines.append(f"{k}: " + ", ".join(f"{p} {x:.4f}" for p, x in v.items()))
    for f in sorted(out.glob("profile_*.txt")):
        lines.append("")
        lines.append(f"{f.stem}:")
        lines.append(f.read_text().rstrip())
    print("\n".join(lines))


if __name__ == "__main__":
    main()
