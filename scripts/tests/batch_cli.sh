#!/usr/bin/env bash
# `medsam batch` end to end with the real LiteMedSAM weights on a small real cohort (pydicom's
# CT_small/MR_small, nibabel's anatomical.nii slices, a PNG):
#   1. batch outputs are byte-identical to per-case `medsam segment` outputs (png, npy, nii.gz);
#   2. kill -9 in the middle of a run, then rerun: every case done exactly once in the journal,
#      no partial or temporary file, outputs identical;
#   3. 1, 2 and 7 shards list the same cases; 2 shards run and merged cover every case once,
#      outputs identical;
#   4. a corrupt case among good ones is recorded as failed, the rest succeed, exit status 1;
#   5. an empty folder, a manifest without the input column, a bad box: one `error:` line naming
#      the row and field.
# Usage: scripts/tests/batch_cli.sh [--backend NAME]   (MEDSAM=path/to/medsam to pick a binary)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BACKEND=cpu
[[ "${1:-}" == "--backend" ]] && BACKEND="$2"
M="${MEDSAM:-}"
if [[ -z "$M" ]]; then
  for b in "$ROOT/.build/release/medsam" "$ROOT/.build/debug/medsam"; do [[ -x "$b" ]] && M="$b" && break; done
fi
[[ -x "$M" ]] || { echo "error: no medsam binary (swift build --product medsam, or MEDSAM=...)"; exit 1; }
PYDICOM_DATA="$(python3 -c 'import pydicom, os; print(os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files"))')"
NIBABEL_DATA="$(python3 -c 'import nibabel, os; print(os.path.join(os.path.dirname(nibabel.__file__), "tests", "data"))')"
W="$(mktemp -d)"
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "ok: $*"; }

mkdir -p "$W/in" "$W/ref"
cp "$PYDICOM_DATA/CT_small.dcm" "$W/in/ct.dcm"
cp "$PYDICOM_DATA/MR_small.dcm" "$W/in/mr.dcm"
cp "$NIBABEL_DATA/anatomical.nii" "$W/in/anat.nii"
python3 - "$PYDICOM_DATA/CT_small.dcm" "$W/in/ct.png" <<'PY'
import sys, numpy as np, pydicom, zlib, struct
ds = pydicom.dcmread(sys.argv[1]); hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
g = np.uint8(np.clip((hu - (40 - 200)) / 400 * 255, 0, 255))[:, 10:118]   # 128 x 108, non-square
raw = b"".join(b"\0" + row.tobytes() for row in g)
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
open(sys.argv[2], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", g.shape[1], g.shape[0], 8, 0, 0, 0, 0))
                              + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PY
# The cohort: id | segment arguments | manifest row.
cat > "$W/cases.csv" <<CSV
input,slice,box,point,output
$W/in/ct.dcm,,"42,4,80,40;72,0,110,28",,$W/out/ct.png
$W/in/mr.dcm,,"10,12,50,55",,$W/out/mr.npy
$W/in/anat.nii,10,"5,8,28,34",,$W/out/anat10.nii.gz
$W/in/anat.nii,14,"4,6,30,36","16,20,1",$W/out/anat14.png
$W/in/ct.png,,"30,40,90,100;5,5,50,50",,$W/out/ctpng.png
CSV
segment() { "$M" segment --backend "$BACKEND" --force "$@" > /dev/null; }
segment --input "$W/in/ct.dcm" --box 42,4,80,40 --box 72,0,110,28 --output "$W/ref/ct.png"
segment --input "$W/in/mr.dcm" --box 10,12,50,55 --output "$W/ref/mr.npy"
segment --input "$W/in/anat.nii" --slice 10 --box 5,8,28,34 --output "$W/ref/anat10.nii.gz"
segment --input "$W/in/anat.nii" --slice 14 --box 4,6,30,36 --point 16,20,1 --output "$W/ref/anat14.png"
segment --input "$W/in/ct.png" --box 30,40,90,100 --box 5,5,50,50 --output "$W/ref/ctpng.png"
same_outputs() {   # $1: output folder
  for f in ct.png mr.npy anat10.nii.gz anat14.png ctpng.png; do
    cmp -s "$W/ref/$f" "$1/$f" || fail "$1/$f differs from medsam segment's output"
  done
}

# 1. identical to per-case segment.
"$M" batch --manifest "$W/cases.csv" --output-dir "$W/out" --backend "$BACKEND" --batch 3 --progress lines --json > "$W/s1.json"
same_outputs "$W/out"
python3 -c "import json,sys; s=json.load(open(sys.argv[1])); assert (s['done'], s['failed'], s['images'], s['prompts']) == (5, 0, 5, 7), s" "$W/s1.json"
pass "batch outputs are byte-identical to medsam segment (png, npy, nii.gz; 5 cases, batch 3)"

# 2. kill -9 mid-run, rerun.
rm -rf "$W/out"
"$M" batch --manifest "$W/cases.csv" --output-dir "$W/out" --backend "$BACKEND" --batch 1 --readers 1 --progress none > /dev/null 2>&1 &
PID=$!
for _ in $(seq 1 600); do
  [[ -f "$W/out/medsam-batch.jsonl" ]] && [[ "$(grep -c '"kind":"case"' "$W/out/medsam-batch.jsonl" || true)" -ge 2 ]] && break
  sleep 0.1
done
kill -9 "$PID" 2>/dev/null || fail "the batch finished before it could be killed"
wait "$PID" 2>/dev/null || true
before=$(grep -c '"kind":"case"' "$W/out/medsam-batch.jsonl" || true)
[[ "$before" -lt 5 ]] || fail "all cases done before the kill"
for f in "$W"/out/*.png "$W"/out/*.npy "$W"/out/*.nii.gz; do
  [[ -e "$f" ]] || continue
  cmp -s "$f" "$W/ref/$(basename "$f")" || fail "$f after kill -9 is not the complete output"
done
"$M" batch --manifest "$W/cases.csv" --output-dir "$W/out" --backend "$BACKEND" --batch 1 --progress none --json > "$W/s2.json"
python3 - "$W/out/medsam-batch.jsonl" "$W/s2.json" "$before" <<'PY'
import collections, json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{") and l.strip().endswith("}")]
done = collections.Counter(e["id"] for e in lines if e["kind"] == "case" and e["status"] == "done")
assert len(done) == 5 and set(done.values()) == {1}, done
s = json.load(open(sys.argv[2]))
assert s["skipped"] == int(sys.argv[3]) and s["done"] == 5 - int(sys.argv[3]) and s["failed"] == 0, s
PY
ls -a "$W/out" | grep -q '\.tmp-' && fail "temporary files left after the rerun"
same_outputs "$W/out"
pass "kill -9 after $before of 5 cases, rerun: every case done once, no partial file, outputs identical"

# 3. shards.
for n in 1 2 7; do
  : > "$W/list$n"
  for ((k = 0; k < n; k++)); do
    "$M" batch --manifest "$W/cases.csv" --output-dir "$W/sh$n" --num-shards $n --shard-id $k --list | cut -f2 >> "$W/list$n"
  done
  sort "$W/list$n" > "$W/list$n.sorted"
done
[[ "$(wc -l < "$W/list1.sorted")" == 5 ]] || fail "one shard lists $(wc -l < "$W/list1.sorted") cases"
cmp -s "$W/list1.sorted" "$W/list2.sorted" && cmp -s "$W/list1.sorted" "$W/list7.sorted" || fail "1, 2 and 7 shards list different cases"
[[ "$(sort -u "$W/list7" | wc -l)" == 5 ]] || fail "7 shards list a case twice"
SLURM_ARRAY_TASK_ID=11 SLURM_ARRAY_TASK_MIN=10 SLURM_ARRAY_TASK_MAX=11 SLURM_ARRAY_TASK_COUNT=2 \
  "$M" batch --manifest "$W/cases.csv" --output-dir "$W/sh" --list | cut -f2 > "$W/slurm1"
"$M" batch --manifest "$W/cases.csv" --output-dir "$W/sh" --num-shards 2 --shard-id 1 --list | cut -f2 > "$W/opt1"
cmp -s "$W/slurm1" "$W/opt1" || fail "Slurm array task 11 of 10-11 is not shard 1 of 2"
sed "s#$W/out/#$W/sharded/#" "$W/cases.csv" > "$W/cases_sharded.csv"
for k in 0 1; do
  "$M" batch --manifest "$W/cases_sharded.csv" --output-dir "$W/sharded" --num-shards 2 --shard-id $k --backend "$BACKEND" --progress none > /dev/null
done
"$M" batch merge "$W"/sharded/medsam-batch.shard-*-of-2.jsonl --json > "$W/merged.json"
python3 -c "import json,sys; m=json.load(open(sys.argv[1])); assert (m['total'], m['done'], m['failed'], m['shards']) == (5, 5, 0, 2), m" "$W/merged.json"
same_outputs "$W/sharded"
if "$M" batch merge "$W/sharded/medsam-batch.shard-0-of-2.jsonl" > /dev/null 2> "$W/merge.err"; then fail "merge of one of two shards succeeded"; fi
grep -q "^error: .*shards 1 (of 2) are missing" "$W/merge.err" || fail "merge error: $(cat "$W/merge.err")"
pass "1, 2, 7 shards cover the same 5 cases; Slurm array variables pick the shard; 2 shards merged: every case once, outputs identical"

# 4. a corrupt case among good ones.
head -c 3000 "$W/in/anat.nii" > "$W/in/broken.nii"
printf 'input,slice,box\n%s,,"42,4,80,40"\n%s,3,"5,5,20,20"\n%s,,"10,12,50,55"\n' "$W/in/ct.dcm" "$W/in/broken.nii" "$W/in/mr.dcm" > "$W/mixed.csv"
set +e
"$M" batch --manifest "$W/mixed.csv" --output-dir "$W/mixed" --format png --backend "$BACKEND" --progress none --json > "$W/s4.json" 2> "$W/s4.err"
rc=$?
set -e
[[ $rc -ne 0 ]] || fail "exit status 0 with a failed case"
python3 -c "import json,sys; s=json.load(open(sys.argv[1])); assert (s['done'], s['failed']) == (2, 1) and 'broken.nii' in s['failures'][0]['error'], s" "$W/s4.json"
grep -q "^error: 1 of 3 cases failed .*broken.nii.*journal" "$W/s4.err" || fail "summary error line: $(cat "$W/s4.err")"
[[ -f "$W/mixed/ct.png" && -f "$W/mixed/mr.png" && ! -e "$W/mixed/broken_axial3.png" ]] || fail "outputs of the mixed batch"
pass "a truncated NIfTI among good cases: recorded with its error, the others done, exit status $rc"

# 5. errors naming row and field.
expect_error() {   # $1: what the error must contain; the rest: arguments
  local want="$1"; shift
  if "$M" batch "$@" --output-dir "$W/err" > /dev/null 2> "$W/err.txt"; then fail "batch $* succeeded"; fi
  [[ "$(wc -l < "$W/err.txt")" == 1 ]] && grep -q "^error: .*$want" "$W/err.txt" || fail "expected one 'error: ...$want' line, got: $(cat "$W/err.txt")"
}
mkdir -p "$W/empty"
expect_error "--input $W/empty: no images found" --input "$W/empty" --box 1,2,3,4
printf 'path,box\n%s,"1,2,3,4"\n' "$W/in/ct.dcm" > "$W/nocol.csv"
expect_error "unknown column 'path'" --manifest "$W/nocol.csv"
printf 'box\n"1,2,3,4"\n' > "$W/noinput.csv"
expect_error "no 'input' column" --manifest "$W/noinput.csv"
printf 'input,box\n%s,"1,2,3,4"\n%s,"1,2,3"\n' "$W/in/ct.dcm" "$W/in/mr.dcm" > "$W/badbox.csv"
expect_error "row 2 (line 3), field 'box': '1,2,3' is not a box" --manifest "$W/badbox.csv"
printf '{"input": "%s", "boxes": [[50, 2, 3, 40]]}\n' "$W/in/ct.dcm" > "$W/badbox.jsonl"
expect_error "row 1 (line 1), field 'boxes\[0\]'.*X1 < X0" --manifest "$W/badbox.jsonl"
pass "empty folder, unknown/missing column, bad box: one error line naming row and field"
echo "batch_cli: all passed ($M, backend $BACKEND)"
