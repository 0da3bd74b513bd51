#!/usr/bin/env bash
# A real Slurm job array over `medsam batch`: installs slurm-wlm and munge (Debian), starts a
# one-node cluster on this machine (munged, slurmctld, slurmd with a generated slurm.conf),
# submits a 4-task array over a small real cohort (slices of nibabel's anatomical.nii and
# pydicom's CT/MR), kills one task with SIGKILL after its first case and requeues it, then
# checks that `medsam batch merge` of the 4 journals covers every case exactly once and that the
# outputs are byte-identical to a single-process run. Needs root (installs packages, runs daemons).
# Usage: scripts/tests/slurm_batch.sh   (MEDSAM=path/to/medsam to pick a binary)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
M="${MEDSAM:-}"
if [[ -z "$M" ]]; then
  for b in "$ROOT/.build/release/medsam" "$ROOT/.build/debug/medsam"; do [[ -x "$b" ]] && M="$b" && break; done
fi
[[ -x "$M" ]] || { echo "error: no medsam binary (swift build --product medsam, or MEDSAM=...)"; exit 1; }
fail() {
  echo "FAIL: $*"
  for f in "${W:-/nonexistent}"/logs/*.log; do [[ -f "$f" ]] && { echo "--- $f"; tail -5 "$f"; }; done
  exit 1
}

if ! command -v slurmctld > /dev/null || ! command -v munged > /dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge > /dev/null
fi
W="$(mktemp -d /tmp/slurm-batch.XXXXXX)"
chmod 755 "$W"
CTLD_PID="" SLURMD_PID="" MUNGE_STARTED=""
cleanup() {
  [[ -n "$SLURMD_PID" ]] && kill "$SLURMD_PID" 2> /dev/null || true
  [[ -n "$CTLD_PID" ]] && kill "$CTLD_PID" 2> /dev/null || true
  [[ -n "$MUNGE_STARTED" ]] && kill "$(cat "$W/munged.pid" 2> /dev/null)" 2> /dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

# munge: a key of our own, a socket in the work folder.
mkdir -p "$W/munge"
chmod 700 "$W/munge"
dd if=/dev/urandom of="$W/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$W/munge/munge.key"
munged --force --key-file="$W/munge/munge.key" --socket="$W/munge/socket" --pid-file="$W/munged.pid" \
  --log-file="$W/munged.log" --seed-file="$W/munge/seed"
MUNGE_STARTED=1

HOST="$(hostname -s)"
CPUS="$(nproc)"
MEM_MB=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))
mkdir -p "$W/state" "$W/spool" "$W/logs"
cat > "$W/slurm.conf" <<CONF
ClusterName=medsamtest
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$W/munge/socket
CredType=cred/munge
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation=$W/state
SlurmdSpoolDir=$W/spool
SlurmctldPidFile=$W/slurmctld.pid
SlurmdPidFile=$W/slurmd.pid
SlurmctldLogFile=$W/slurmctld.log
SlurmdLogFile=$W/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
JobRequeue=1
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=test Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
export SLURM_CONF="$W/slurm.conf"
slurmctld -D -f "$SLURM_CONF" > "$W/slurmctld.out" 2>&1 &
CTLD_PID=$!
slurmd -D -f "$SLURM_CONF" > "$W/slurmd.out" 2>&1 &
SLURMD_PID=$!
for _ in $(seq 1 60); do
  sinfo -h -o '%t' 2> /dev/null | grep -qE '^(idle|mix|alloc)' && break
  sleep 1
done
sinfo -h -o '%t' | grep -qE '^(idle|mix|alloc)' || { tail -5 "$W/slurmctld.log" "$W/slurmd.log"; fail "the one-node cluster did not come up"; }
echo "ok: one-node Slurm cluster up ($HOST, $CPUS CPUs; $(sinfo --version))"

# The cohort: 8 cases (slices of anatomical.nii with boxes, CT and MR slices).
PYDICOM_DATA="$(python3 -c 'import pydicom, os; print(os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files"))')"
NIBABEL_DATA="$(python3 -c 'import nibabel, os; print(os.path.join(os.path.dirname(nibabel.__file__), "tests", "data"))')"
mkdir -p "$W/in"
cp "$PYDICOM_DATA/CT_small.dcm" "$W/in/ct.dcm"
cp "$PYDICOM_DATA/MR_small.dcm" "$W/in/mr.dcm"
cp "$NIBABEL_DATA/anatomical.nii" "$W/in/anat.nii"
{
  echo "input,slice,box"
  echo "$W/in/ct.dcm,,\"42,4,80,40;72,0,110,28\""
  echo "$W/in/mr.dcm,,\"10,12,50,55\""
  for k in 6 8 10 12 14 16; do echo "$W/in/anat.nii,$k,\"4,6,30,36\""; done
} > "$W/cases.csv"

# A single-process run: what every sharded output must equal.
"$M" batch --manifest "$W/cases.csv" --output-dir "$W/single" --format png --backend cpu --threads 1 --progress none > /dev/null

cat > "$W/task.sh" <<TASK
#!/bin/bash
echo \$\$ > "$W/pid-\$SLURM_ARRAY_TASK_ID"
exec "$M" batch --manifest "$W/cases.csv" --output-dir "$W/out" --format png --backend cpu --threads 1 --progress lines
TASK
chmod +x "$W/task.sh"
JOB=$(sbatch --parsable --array=0-3 --requeue --cpus-per-task=1 --output="$W/logs/task-%a.log" "$W/task.sh")
echo "ok: submitted job array $JOB (4 tasks)"

# Kill task 1 once its journal records its first case (it has 2), then requeue it.
J1="$W/out/medsam-batch.shard-1-of-4.jsonl"
caught=""
for _ in $(seq 1 7200); do
  if [[ -f "$J1" && -f "$W/pid-1" ]] && [[ "$(grep -c '"kind":"case"' "$J1" || true)" -ge 1 ]]; then
    kill -9 "$(cat "$W/pid-1")" 2> /dev/null && caught=1
    break
  fi
  sleep 0.1
done
[[ -n "$caught" ]] || fail "task 1 was not caught between its first and last case (journal: $(grep -c '"kind":"case"' "$J1" 2> /dev/null || echo none) case lines; $(squeue -h -j "$JOB" | wc -l) tasks queued)"
echo "ok: killed task 1 after $(grep -c '"kind":"case"' "$J1") of its 2 cases"
for _ in $(seq 1 120); do
  state=$(sacct -n -X -j "${JOB}_1" -o State 2> /dev/null | head -1 || true)
  st=$(scontrol show job "${JOB}_1" 2> /dev/null | grep -o 'JobState=[A-Z_]*' | head -1 || true)
  [[ "$st" == "JobState=FAILED" || "$st" == "JobState=CANCELLED" || "$st" == "JobState=COMPLETED" ]] && break
  sleep 0.5
done
scontrol requeue "${JOB}_1"
echo "ok: requeued ${JOB}_1 (was $st)"
for _ in $(seq 1 2400); do
  [[ -z "$(squeue -h -j "$JOB" 2> /dev/null)" ]] && break
  sleep 0.5
done
[[ -z "$(squeue -h -j "$JOB")" ]] || fail "the array did not finish"

"$M" batch merge "$W"/out/medsam-batch.shard-*-of-4.jsonl --json > "$W/merged.json" || fail "merge: $(cat "$W/merged.json")"
python3 - "$W/merged.json" "$W/out" <<'PY'
import collections, glob, json, sys
m = json.load(open(sys.argv[1]))
assert (m["total"], m["cases"], m["done"], m["failed"], m["shards"]) == (8, 8, 8, 0, 4), m
done = collections.Counter()
for path in glob.glob(sys.argv[2] + "/medsam-batch.shard-*-of-4.jsonl"):
    for line in open(path):
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e["kind"] == "case" and e["status"] == "done":
            done[e["id"]] += 1
assert len(done) == 8 and set(done.values()) == {1}, done
runs = sum(1 for l in open(sys.argv[2] + "/medsam-batch.shard-1-of-4.jsonl") if '"kind":"run"' in l)
assert runs == 2, f"task 1 ran {runs} times"
PY
for f in "$W"/single/*.png; do cmp -s "$f" "$W/out/$(basename "$f")" || fail "$(basename "$f") differs from the single-process run"; done
ls -a "$W/out" | grep -q '\.tmp-' && fail "temporary files left"
echo "ok: merged 4 journals: 8 cases, each done exactly once (task 1 resumed after kill -9 and requeue); outputs identical to one process"
echo "slurm_batch: all passed"
