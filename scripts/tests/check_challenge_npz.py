#!/usr/bin/env python3
"""`medsam batch` on MedSAM challenge .npz cases against the PyTorch reimplementation of the
challenge's LiteMedSAM inference (scripts/reference/challenge_npz.py; fixtures in
Tests/SegmentationTests/Fixtures/challenge): Dice >= 0.99 per case and label, `segs` uint8 of
the input's spatial shape, and each slice encoded at most once per case (the reference encodes
a slice once per box that crosses it).

Usage: python3 scripts/tests/check_challenge_npz.py [--medsam PATH] [--backend cpu]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "Tests/SegmentationTests/Fixtures/challenge"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--medsam", default=None)
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--batch", default="4")
    args = ap.parse_args()
    medsam = args.medsam or os.environ.get("MEDSAM") or next(
        (str(p) for p in [ROOT / ".build/release/medsam", ROOT / ".build/debug/medsam"] if p.exists()), None)
    if medsam is None:
        sys.exit("error: no medsam binary (swift build --product medsam, or --medsam PATH)")
    failures = []
    with tempfile.TemporaryDirectory() as out:
        run = subprocess.run([medsam, "batch", "--input", str(FIX / "imgs"), "--output-dir", out, "--backend", args.backend,
                              "--batch", args.batch, "--progress", "none", "--json"], capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"error: medsam batch failed ({run.returncode}): {run.stderr.strip()}")
        summary = json.loads(run.stdout)
        journal = {}
        for line in open(summary["journal"]):
            e = json.loads(line)
            if e["kind"] == "case":
                journal[Path(e["input"]).name] = e
        meta = json.loads((FIX / "meta.json").read_text())
        for name in sorted(meta["cases"]):
            imgs = np.load(FIX / "imgs" / f"{name}.npz")["imgs"]
            ref = np.load(FIX / "segs" / f"{name}.npz")["segs"]
            got_npz = np.load(Path(out) / f"{name}.npz")
            got = got_npz["segs"]
            spatial = imgs.shape[:2] if imgs.ndim == 3 and imgs.shape[2] == 3 else imgs.shape
            if list(got_npz.keys()) != ["segs"] or got.dtype != np.uint8 or got.shape != spatial:
                failures.append(f"{name}: keys {list(got_npz.keys())}, segs {got.dtype} {got.shape}, expected uint8 {spatial}")
                continue
            labels = range(1, len(meta["cases"][name]["boxes"]) + 1)
            dice = {}
            for k in labels:
                a, b = ref == k, got == k
                denom = a.sum() + b.sum()
                dice[k] = 1.0 if denom == 0 else 2.0 * (a & b).sum() / denom
                if dice[k] < 0.99:
                    failures.append(f"{name} label {k}: Dice {dice[k]:.4f} < 0.99")
            encodes = journal[f"{name}.npz"]["images"]
            depth = imgs.shape[0] if imgs.ndim == 3 and imgs.shape[2] != 3 else 1
            if encodes > depth:
                failures.append(f"{name}: {encodes} slices encoded, more than the {depth} the case has")
            print(f"{name}: Dice " + ", ".join(f"label {k} {d:.4f}" for k, d in dice.items())
                  + f"; identical voxels {(ref == got).mean():.5f}; encodes {encodes} (reference {meta['cases'][name]['reference_encodes']})")
    if failures:
        print("FAIL:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("check_challenge_npz: all passed")


if __name__ == "__main__":
    main()
