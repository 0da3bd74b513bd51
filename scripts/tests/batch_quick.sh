#!/usr/bin/env bash
# The cheap part of scripts/tests/batch_cli.sh, for CI (about half a minute with the release
# binary on the cpu backend: 7 encoder runs and 6 model loads). On the repository's own fixtures,
# with the real LiteMedSAM weights:
#   1. kill -9 after the first of three cases (--batch 1), then rerun (--batch 3): every case done
#      exactly once in the journal, the killed run's outputs complete, no temporary file left, and
#      every output (png, npy, nii.gz) byte-identical to per-case `medsam segment`; the embeddings
#      --save-embeddings wrote listed in the journal, the CT's (encoded alone, --batch 1)
#      byte-identical to `medsam embed`'s, the volume slice's (encoded with the MR in one --batch 3
#      call) within NMSE 1e-9 of it: a batched encoder call on the cpu backend rounds differently
#      (NMSE ~5e-12 measured), though every mask here is still identical
#      (scripts/tests/check_litemedsam_backends.py uses the batch's embeddings on OpenCL and Vulkan);
#   2. 1, 2 and 7 shards of a 12-case manifest list the same cases, each once; Slurm array
#      variables pick the same shard as --num-shards/--shard-id;
#   3. a truncated DICOM among good cases: recorded as failed with its error, the good case done,
#      exit status 1;
#   4. a bad box, a manifest without the input column, an empty folder, --save-embeddings on a
#      file, with --everything, or with two outputs of one name: one `error:` line naming the row
#      and field (or the option);
#   5. --everything (a 2 x 2 point grid, so seconds): each case's records .json and label map
#      (png, nii.gz of a volume slice) byte-identical to per-case `medsam everything`; a rerun
#      skips both cases.
# batch_cli.sh (by hand, ~7 min) adds more inputs and prompt kinds, a sharded run merged, the
# jsonl manifest; slurm_batch.sh runs the shards as a real Slurm job array.
# Usage: scripts/tests/batch_quick.sh [MEDSAM]   (default: $MEDSAM, then .build/release/medsam)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
M="${1:-${MEDSAM:-}}"
if [[ -z "$M" ]]; then
  for b in "$ROOT/.build/release/medsam" "$ROOT/.build/debug/medsam"; do [[ -x "$b" ]] && M="$b" && break; done
fi
[[ -x "$M" ]] || { echo "error: no medsam binary (swift build --product medsam, or MEDSAM=...)"; exit 1; }
F="$ROOT/Tests/MedicalImagingTests/Fixtures"
W="$(mktemp -d)"
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "ok: $*"; }
count_cases() { grep -c '"kind":"case"' "$1" 2> /dev/null || true; }

# Three real cases: a CT slice with two boxes (png), an MR slice (npy), a NIfTI slice (nii.gz).
cat > "$W/cases.csv" <<CSV
input,slice,box,output
$F/dicom/CT_small.dcm,,"42,4,80,40;72,0,110,28",$W/out/ct.png
$F/dicom/MR_small.dcm,,"10,12,50,55",$W/out/mr.npy
$F/nifti/anatomical.nii,10,"5,8,28,34",$W/out/anat10.nii.gz
CSV
mkdir -p "$W/ref"
segment() { "$M" segment --backend cpu --force "$@" > /dev/null; }
segment --input "$F/dicom/CT_small.dcm" --box 42,4,80,40 --box 72,0,110,28 --output "$W/ref/ct.png"
segment --input "$F/dicom/MR_small.dcm" --box 10,12,50,55 --output "$W/ref/mr.npy"
segment --input "$F/nifti/anatomical.nii" --slice 10 --box 5,8,28,34 --output "$W/ref/anat10.nii.gz"

# 1. kill -9 mid-run, rerun. --batch 1 writes a journal line per encoder call, so the kill lands
# between cases; the rerun's --batch 3 puts the remaining cases through one batched encoder call.
"$M" batch --manifest "$W/cases.csv" --output-dir "$W/out" --backend cpu --batch 1 --readers 1 --progress none \
  --save-embeddings "$W/emb" > /dev/null 2>&1 &
PID=$!
for _ in $(seq 1 1200); do
  [[ "$(count_cases "$W/out/medsam-batch.jsonl")" -ge 1 ]] && break
  kill -0 "$PID" 2> /dev/null || break
  sleep 0.05
done
kill -9 "$PID" 2> /dev/null || fail "the batch finished (or died) before it could be killed"
wait "$PID" 2> /dev/null || true
before=$(count_cases "$W/out/medsam-batch.jsonl")
[[ "$before" -ge 1 && "$before" -lt 3 ]] || fail "$before of 3 cases in the journal at the kill"
for f in "$W"/out/*.png "$W"/out/*.npy "$W"/out/*.nii.gz; do
  [[ -e "$f" ]] || continue
  cmp -s "$f" "$W/ref/$(basename "$f")" || fail "$(basename "$f") after kill -9 is not the complete output"
done
"$M" batch --manifest "$W/cases.csv" --output-dir "$W/out" --backend cpu --batch 3 --progress none --json \
  --save-embeddings "$W/emb" > "$W/s1.json"
python3 - "$W/out/medsam-batch.jsonl" "$W/s1.json" "$before" "$W/emb" <<'PY'
import collections, json, os, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{") and l.strip().endswith("}")]
done = collections.Counter(e["id"] for e in lines if e["kind"] == "case" and e["status"] == "done")
assert len(done) == 3 and set(done.values()) == {1}, done
s = json.load(open(sys.argv[2]))
assert (s["skipped"], s["done"], s["failed"]) == (int(sys.argv[3]), 3 - int(sys.argv[3]), 0), s
listed = sorted(p for e in lines if e["kind"] == "case" for p in e.get("embeddings", []))
want = sorted(os.path.join(sys.argv[4], n + ".embedding.npy") for n in ("ct", "mr", "anat10"))
assert listed == want, (listed, want)
PY
ls -a "$W/out" "$W/emb" | grep -q '\.tmp-' && fail "temporary files left after the rerun"
for f in ct.png mr.npy anat10.nii.gz; do
  cmp -s "$W/ref/$f" "$W/out/$f" || fail "$f differs from medsam segment's output"
done
# The killed run (--batch 1) always finished the CT, the first case; the rerun (--batch 3) encoded
# anatomical.nii's slice 10 with the MR unless the kill came after two cases.
"$M" embed --backend cpu --input "$F/dicom/CT_small.dcm" --output "$W/ref/ct.embedding.npy" > /dev/null
cmp -s "$W/ref/ct.embedding.npy" "$W/emb/ct.embedding.npy" || fail "the batch's embedding of CT_small.dcm (encoded alone) differs from medsam embed's"
"$M" embed --backend cpu --input "$F/nifti/anatomical.nii" --slice 10 --output "$W/ref/anat10.embedding.npy" > /dev/null
anat_nmse=$(python3 -c "
import numpy as np, sys
a, b = (np.load(p).astype(np.float64) for p in sys.argv[1:])
assert a.shape == b.shape == (1, 256, 64, 64), (a.shape, b.shape)
print(f'{((a - b) ** 2).sum() / (b ** 2).sum():.1e}')" "$W/emb/anat10.embedding.npy" "$W/ref/anat10.embedding.npy")
python3 -c "import sys; sys.exit(float(sys.argv[1]) > 1e-9)" "$anat_nmse" || fail "the batch's embedding of anatomical.nii slice 10 is off medsam embed's by NMSE $anat_nmse"
pass "kill -9 after $before of 3 cases, rerun: every case done once, no partial file; png, npy, nii.gz byte-identical to medsam segment; embeddings written and listed, the CT's byte-identical to medsam embed's, slice 10's within NMSE $anat_nmse"

# 2. shards (--list loads no model).
{
  echo "input,slice,box"
  echo "$F/dicom/CT_small.dcm,,\"42,4,80,40\""
  echo "$F/dicom/MR_small.dcm,,\"10,12,50,55\""
  for k in 4 6 8 10 12 14 16 18 20 22; do echo "$F/nifti/anatomical.nii,$k,\"4,6,30,36\""; done
} > "$W/twelve.csv"
for n in 1 2 7; do
  : > "$W/list$n"
  for ((k = 0; k < n; k++)); do
    "$M" batch --manifest "$W/twelve.csv" --output-dir "$W/sh" --num-shards $n --shard-id $k --list | cut -f2 >> "$W/list$n"
  done
  sort "$W/list$n" > "$W/list$n.sorted"
  [[ "$(sort -u "$W/list$n" | wc -l)" == "$(wc -l < "$W/list$n")" ]] || fail "$n shards list a case twice"
done
[[ "$(wc -l < "$W/list1.sorted")" == 12 ]] || fail "one shard lists $(wc -l < "$W/list1.sorted") cases, not 12"
cmp -s "$W/list1.sorted" "$W/list2.sorted" && cmp -s "$W/list1.sorted" "$W/list7.sorted" || fail "1, 2 and 7 shards list different cases"
SLURM_ARRAY_TASK_ID=12 SLURM_ARRAY_TASK_MIN=10 SLURM_ARRAY_TASK_MAX=16 SLURM_ARRAY_TASK_COUNT=7 \
  "$M" batch --manifest "$W/twelve.csv" --output-dir "$W/sh" --list | cut -f2 > "$W/slurm"
"$M" batch --manifest "$W/twelve.csv" --output-dir "$W/sh" --num-shards 7 --shard-id 2 --list | cut -f2 > "$W/opt"
[[ -s "$W/opt" ]] && cmp -s "$W/slurm" "$W/opt" || fail "Slurm array task 12 of 10-16 is not shard 2 of 7"
pass "1, 2, 7 shards cover the same 12 cases once each; Slurm array task 12 of 10-16 is shard 2 of 7"

# 3. a truncated DICOM among good cases.
printf 'input,box\n%s,"42,4,80,40"\n%s,"10,12,50,55"\n' "$F/dicom/CT_small.dcm" "$F/dicom/MR_truncated.dcm" > "$W/mixed.csv"
set +e
"$M" batch --manifest "$W/mixed.csv" --output-dir "$W/mixed" --format png --backend cpu --progress none --json > "$W/s3.json" 2> "$W/s3.err"
rc=$?
set -e
[[ $rc -eq 1 ]] || fail "exit status $rc with a failed case, not 1"
python3 -c "import json,sys; s=json.load(open(sys.argv[1])); assert (s['done'], s['failed']) == (1, 1) and 'MR_truncated.dcm' in s['failures'][0]['error'] and 'PixelData' in s['failures'][0]['error'], s" "$W/s3.json"
grep -q "^error: 1 of 2 cases failed .*MR_truncated.dcm.*journal" "$W/s3.err" || fail "summary error line: $(cat "$W/s3.err")"
[[ -f "$W/mixed/CT_small.png" && ! -e "$W/mixed/MR_truncated.png" ]] || fail "outputs of the mixed batch: $(ls "$W/mixed")"
pass "a truncated DICOM among good cases: recorded with its error, the other done, exit status 1"

# 4. errors naming row and field.
expect_error() {   # $1: what the error must contain; the rest: arguments
  local want="$1"; shift
  if "$M" batch "$@" --output-dir "$W/err" > /dev/null 2> "$W/err.txt"; then fail "batch $* succeeded"; fi
  [[ "$(wc -l < "$W/err.txt")" == 1 ]] && grep -q "^error: .*$want" "$W/err.txt" || fail "expected one 'error: ...$want' line, got: $(cat "$W/err.txt")"
}
printf 'input,box\n%s,"1,2,3,4"\n%s,"1,2,3"\n' "$F/dicom/CT_small.dcm" "$F/dicom/MR_small.dcm" > "$W/badbox.csv"
expect_error "row 2 (line 3), field 'box': '1,2,3' is not a box" --manifest "$W/badbox.csv"
printf 'box\n"1,2,3,4"\n' > "$W/noinput.csv"
expect_error "no 'input' column" --manifest "$W/noinput.csv"
mkdir -p "$W/empty"
expect_error "--input $W/empty: no images found" --input "$W/empty" --box 1,2,3,4
expect_error "--save-embeddings $W/cases.csv: is a file, expected a folder" --manifest "$W/cases.csv" --save-embeddings "$W/cases.csv"
expect_error "--save-embeddings is not for --everything" --everything --input "$F/dicom/CT_small.dcm" --save-embeddings "$W/emb2"
printf 'input,box,output\n%s,"1,2,3,4",%s\n%s,"1,2,3,4",%s\n' "$F/dicom/CT_small.dcm" "$W/a/x.png" "$F/dicom/MR_small.dcm" "$W/b/x.npy" > "$W/clash.csv"
expect_error "row 2 (line 3), field 'output': with --save-embeddings, $W/b/x.npy and $W/a/x.png (manifest $W/clash.csv row 1 (line 2)) would both write x.embedding.npy" \
  --manifest "$W/clash.csv" --save-embeddings "$W/emb2"
pass "a bad box, a missing input column, an empty folder, --save-embeddings on a file, with --everything, with clashing names: one error line naming row and field"

# 5. Everything mode per case. Thresholds 0 and one mask per point keep some masks with LiteMedSAM.
E=(--points-per-side 2 --single-mask --pred-iou-thresh 0 --stability-score-thresh 0 --backend cpu)
mkdir -p "$W/eref"
"$M" everything "${E[@]}" --input "$F/dicom/CT_small.dcm" --output-json "$W/eref/CT_small.json" \
  --label-map "$W/eref/CT_small.png" > /dev/null 2>&1
"$M" everything "${E[@]}" --input "$F/nifti/anatomical.nii" --slice 10 --output-json "$W/eref/anat10.json" \
  --label-map "$W/eref/anat10.nii.gz" > /dev/null 2>&1
printf 'input,slice,output\n%s,,%s\n%s,10,%s\n' "$F/dicom/CT_small.dcm" "$W/eout/CT_small.png" \
  "$F/nifti/anatomical.nii" "$W/eout/anat10.nii.gz" > "$W/every.csv"
"$M" batch --everything "${E[@]}" --manifest "$W/every.csv" --output-dir "$W/eout" --progress none --json > "$W/s5.json" 2> /dev/null
for f in CT_small.json CT_small.png anat10.json anat10.nii.gz; do
  cmp -s "$W/eref/$f" "$W/eout/$f" || fail "batch --everything: $f differs from medsam everything's"
done
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert len(r) > 0, 'no masks: the comparison proves little'" "$W/eref/CT_small.json"
"$M" batch --everything "${E[@]}" --manifest "$W/every.csv" --output-dir "$W/eout" --progress none --json > "$W/s6.json" 2> /dev/null
python3 -c "import json,sys; s=json.load(open(sys.argv[1])); assert (s['skipped'], s['done']) == (2, 0), s" "$W/s6.json"
pass "batch --everything: records and label maps (png, nii.gz) byte-identical to medsam everything; a rerun skips both cases"
echo "batch_quick: all passed ($M)"
