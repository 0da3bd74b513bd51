#!/usr/bin/env bash
# The batch benchmark: the same cohort of real slices with boxes through `medsam batch` and
# through a PyTorch loop doing the official LiteMedSAM inference (pytorch_loop.py), same thread
# count, model loaded once in each, run one after the other in this run; then peak RSS of a
# 200-case and a 2,000-case cohort (the 200 slices listed 10 times) through `medsam batch`.
# Timings here are benchmarks, never pass/fail tests.
# Usage: [FULL=1] Benchmarks/batch/run.sh [THREADS] [BATCH]   (MEDSAM=... to pick a binary; release build advised)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
T="${1:-$(nproc)}"
B="${2:-4}"
M="${MEDSAM:-$ROOT/.build/release/medsam}"
[[ -x "$M" ]] || { echo "error: $M missing (swift build -c release --product medsam)"; exit 1; }
W="$(mktemp -d)"
trap 'rm -rf "$W"' EXIT
python3 "$ROOT/Benchmarks/batch/make_cohort.py" "$W/c200" --count 200
python3 "$ROOT/Benchmarks/batch/make_cohort.py" "$W/c2000" --count 200 --repeat 10 > /dev/null
"$M" fetch > /dev/null
echo "== medsam batch (cpu, $T threads, batch $B), 200 slices"
"$M" batch --manifest "$W/c200/cases.csv" --output-dir "$W/out-medsam" --backend cpu --threads "$T" --batch "$B" \
  --progress none --json | python3 -c "import json,sys; s=json.load(sys.stdin); print(json.dumps({k: s[k] for k in ['images','prompts','wall_s','images_per_s','peak_rss_mb','failed']}))"
echo "== PyTorch loop ($T threads), 200 slices"
python3 "$ROOT/Benchmarks/batch/pytorch_loop.py" "$W/c200" "$W/out-torch" --threads "$T" 2> /dev/null
[[ "${FULL:-0}" == 1 ]] || { echo "(FULL=1 adds the 2,000-case peak-RSS run)"; exit 0; }
echo "== medsam batch, 2000 cases (peak RSS vs 200)"
"$M" batch --manifest "$W/c2000/cases.csv" --output-dir "$W/out-2000" --backend cpu --threads "$T" --batch "$B" \
  --progress none --json | python3 -c "import json,sys; s=json.load(sys.stdin); print(json.dumps({k: s[k] for k in ['images','wall_s','images_per_s','peak_rss_mb','failed']}))"
