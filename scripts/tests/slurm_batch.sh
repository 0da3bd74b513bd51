#!/usr/bin/env bash
# A real Slurm job array over `medsam batch`: installs Slurm and munge (Debian) if missing, starts a
# one-node cluster on this machine (munged, slurmctld, slurmd with a generated slurm.conf),
# submits a 4-task array over a small real cohort (8 cases: slices of the repository's fixtures
# anatomical.nii, CT_small.dcm and MR_small.dcm, from nibabel and pydicom), kills one running
# task with SIGKILL after its first case (of 2) and requeues it with scontrol, then checks
# that Slurm ran every task to completion (the killed one restarted once), that `medsam batch
# merge` of the 4 journals covers every case exactly once and that the outputs are byte-identical
# to a single-process run.
# Needs root (installs packages, runs the daemons as root); runs in a container without systemd
# or cgroups: every daemon state/log file lives in a temporary folder, removed at exit.
# Usage: scripts/tests/slurm_batch.sh   (MEDSAM=path/to/medsam to pick a binary; KEEP=1 keeps the
# work folder and its daemon logs)
#        scripts/tests/slurm_batch.sh --install   (only installs Slurm and munge when missing: what
# scripts/test.sh starts in the background during its build, so that this step does not wait on dpkg)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
[[ "$(id -u)" == 0 ]] || { echo "error: slurm_batch.sh needs root (it installs packages and runs slurmctld and slurmd as root)"; exit 1; }

# The daemons and clients only (slurm-wlm adds a dozen plugin packages this test does not use).
# The package lists scripts/setup.sh has just updated are used as they are; a machine without lists
# (or with stale ones, whose package versions are gone) gets an apt-get update first. $1: the log.
install_slurm() {
  command -v slurmctld > /dev/null && command -v munged > /dev/null && return 0
  local install=(apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge)
  if ! DEBIAN_FRONTEND=noninteractive "${install[@]}" > "$1" 2>&1; then
    apt-get update -q > /dev/null
    DEBIAN_FRONTEND=noninteractive "${install[@]}" > "$1" 2>&1 || { tail -20 "$1"; echo "error: apt-get install of Slurm and munge failed"; return 1; }
  fi
  echo "installed slurmctld, slurmd, slurm-client and munge ($(slurmctld -V))"
}
if [[ "${1:-}" == "--install" ]]; then
  log="$(mktemp)"
  if install_slurm "$log"; then rc=0; else rc=1; fi
  rm -f "$log"
  exit "$rc"
fi

M="${MEDSAM:-}"
if [[ -z "$M" ]]; then
  for b in "$ROOT/.build/release/medsam" "$ROOT/.build/debug/medsam"; do [[ -x "$b" ]] && M="$b" && break; done
fi
[[ -x "$M" ]] || { echo "error: no medsam binary (swift build --product medsam, or MEDSAM=...)"; exit 1; }
T0=$SECONDS
fail() {
  echo "FAIL: $*"
  for f in "${W:-/nonexistent}"/logs/*.log "${W:-/nonexistent}"/*.log; do [[ -f "$f" ]] && { echo "--- $f"; tail -8 "$f"; }; done
  exit 1
}
ok() { echo "ok [$((SECONDS - T0)) s]: $*"; }

W="$(mktemp -d /tmp/slurm-batch.XXXXXX)"
chmod 755 "$W"
CTLD_PID="" SLURMD_PID="" MUNGE_STARTED="" SINGLE_PID=""
cleanup() {
  local rc=$?
  set +e
  [[ -n "$SINGLE_PID" ]] && { kill "$SINGLE_PID" 2> /dev/null; wait "$SINGLE_PID" 2> /dev/null; }
  # Stop the daemons and wait for them: slurmctld saves its state on SIGTERM, and removing the
  # folder under it fails ("Directory not empty").
  [[ -n "$SLURMD_PID" ]] && { kill "$SLURMD_PID" 2> /dev/null; wait "$SLURMD_PID" 2> /dev/null; }
  [[ -n "$CTLD_PID" ]] && { kill "$CTLD_PID" 2> /dev/null; wait "$CTLD_PID" 2> /dev/null; }
  if [[ -n "$MUNGE_STARTED" ]]; then
    local mp
    mp="$(cat "$W/munged.pid" 2> /dev/null || true)"
    [[ -n "$mp" ]] && kill "$mp" 2> /dev/null
    for _ in $(seq 1 50); do [[ -n "$mp" ]] && kill -0 "$mp" 2> /dev/null || break; sleep 0.1; done
  fi
  if [[ -n "${KEEP:-}" ]]; then echo "kept $W"; else rm -rf "$W"; fi
  exit "$rc"
}
trap cleanup EXIT

# The cohort: 8 cases (6 axial slices of anatomical.nii with a box, the CT slice with two boxes and
# the MR slice), so each of the 4 tasks has 2: enough to kill one between its cases, and as few
# encoder runs as that allows (CI runs this).
F="$ROOT/Tests/MedicalImagingTests/Fixtures"
mkdir -p "$W/in"
cp "$F/dicom/CT_small.dcm" "$W/in/ct.dcm"
cp "$F/dicom/MR_small.dcm" "$W/in/mr.dcm"
cp "$F/nifti/anatomical.nii" "$W/in/anat.nii"
{
  echo "input,slice,box"
  echo "$W/in/ct.dcm,,\"42,4,80,40;72,0,110,28\""
  echo "$W/in/mr.dcm,,\"10,12,50,55\""
  for k in 6 10 14 18 20 22; do echo "$W/in/anat.nii,$k,\"4,6,30,36\""; done
} > "$W/cases.csv"
NCASES=8

# A single-process run: what every sharded output must equal. It runs while Slurm is installed
# and started (mostly waiting on dpkg and the daemons), and is waited for before the array.
"$M" batch --manifest "$W/cases.csv" --output-dir "$W/single" --format png --backend cpu --threads 1 --progress none \
  > "$W/single.log" 2>&1 &
SINGLE_PID=$!

if ! command -v slurmctld > /dev/null || ! command -v munged > /dev/null; then
  installed="$(install_slurm "$W/apt.log")" || { echo "$installed"; fail "apt-get install of Slurm and munge"; }
  ok "$installed"
fi

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
# Two free ports, so that a site's own Slurm (6817/6818) or another run of this test is not in the way.
read -r CTLD_PORT SLURMD_PORT < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')
cat > "$W/slurm.conf" <<CONF
ClusterName=medsamtest
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# cred_expire is also how long a requeued job waits before it may start again (120 s by default);
# the scheduler then looks at pending jobs every sched_interval (60 s) / bf_interval (30 s).
AuthInfo=socket=$W/munge/socket,cred_expire=5
SchedulerParameters=sched_interval=2,bf_interval=2
MailProg=/bin/true
CredType=cred/munge
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
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
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
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
ok "one-node Slurm cluster up ($HOST, $CPUS CPUs; $(sinfo --version))"
wait "$SINGLE_PID" || { SINGLE_PID=""; cat "$W/single.log"; fail "the single-process run failed"; }
SINGLE_PID=""
[[ "$(ls "$W"/single/*.png | wc -l)" == "$NCASES" ]] || fail "the single-process run wrote $(ls "$W"/single/*.png | wc -l) outputs, not $NCASES"
ok "single-process run: $NCASES outputs"

# Task 1's cases, from the same sharding the tasks use.
"$M" batch --manifest "$W/cases.csv" --output-dir "$W/out" --num-shards 4 --shard-id 1 --list | cut -f2 > "$W/shard1.ids"
[[ "$(wc -l < "$W/shard1.ids")" == 2 ]] || fail "shard 1 of 4 has $(wc -l < "$W/shard1.ids") cases, not 2"

cat > "$W/task.sh" <<TASK
#!/bin/bash
echo \$\$ > "$W/pid-\$SLURM_ARRAY_TASK_ID"
echo "task \$SLURM_ARRAY_TASK_ID of job \$SLURM_ARRAY_JOB_ID on \$SLURMD_NODENAME, restart \${SLURM_RESTART_COUNT:-0}"
# --batch 1: one image per encoder call, so the journal gains a line per case (~1.5 s apart) and the
# kill below lands between cases rather than after a batch holding all of them.
exec "$M" batch --manifest "$W/cases.csv" --output-dir "$W/out" --format png --backend cpu --threads 1 --batch 1 --readers 1 --progress lines
TASK
chmod +x "$W/task.sh"
JOB=$(sbatch --parsable --array=0-3 --requeue --cpus-per-task=1 --open-mode=append --output="$W/logs/task-%a.log" "$W/task.sh")
ok "submitted job array $JOB (4 tasks): $(squeue -h -j "$JOB" -r -o '%i:%T' | tr '\n' ' ')"

# Kill task 1 once its journal records its first case (it has 2), then requeue it.
J1="$W/out/medsam-batch.shard-1-of-4.jsonl"
state1() { scontrol show job "${JOB}_1" 2> /dev/null | grep -o 'JobState=[A-Z_]*' | head -1 | cut -d= -f2; }
caught=""
for _ in $(seq 1 12000); do
  if [[ -f "$J1" && -f "$W/pid-1" ]] && [[ "$(grep -c '"kind":"case"' "$J1" || true)" -ge 1 ]]; then
    [[ "$(state1)" == RUNNING ]] || fail "task 1 wrote its journal but Slurm says it is $(state1)"
    kill -9 "$(cat "$W/pid-1")" 2> /dev/null && caught=1
    break
  fi
  sleep 0.05
done
[[ -n "$caught" ]] || fail "task 1 was not caught running after its first case (journal: $(grep -c '"kind":"case"' "$J1" 2> /dev/null || echo none) case lines; $(squeue -h -j "$JOB" | wc -l) tasks queued)"
st=""
for _ in $(seq 1 120); do
  st="$(state1)"
  [[ "$st" == FAILED || "$st" == CANCELLED || "$st" == COMPLETED ]] && break
  sleep 0.5
done
[[ "$st" == FAILED ]] || fail "after kill -9 Slurm says task 1 is '$st', not FAILED"
before=$(grep -c '"kind":"case"' "$J1")
[[ "$before" -lt 2 ]] || fail "task 1 had finished both its cases before the kill"
ok "killed task 1 (kill -9) after $before of its 2 cases; Slurm: $st"
scontrol requeue "${JOB}_1" || fail "scontrol requeue ${JOB}_1"
ok "requeued ${JOB}_1: $(scontrol show job "${JOB}_1" | grep -o 'JobState=[A-Z_]* Reason=[^ ]*' | head -1)"
for _ in $(seq 1 2400); do
  [[ -z "$(squeue -h -j "$JOB" 2> /dev/null)" ]] && break
  sleep 0.5
done
[[ -z "$(squeue -h -j "$JOB")" ]] || fail "the array did not finish: $(squeue -h -j "$JOB" -r -o '%i:%T:%r')"
# What Slurm recorded: every task completed, task 1 after one restart.
for k in 0 1 2 3; do
  info="$(scontrol show job "${JOB}_$k")"
  grep -q 'JobState=COMPLETED' <<< "$info" || fail "task $k: $(grep -o 'JobState=[A-Z_]*' <<< "$info")"
  want=0; [[ $k == 1 ]] && want=1
  grep -q "Restarts=$want " <<< "$info" || fail "task $k: $(grep -o 'Restarts=[0-9]*' <<< "$info"), not $want"
  grep -q "^task $k of job $JOB on .*, restart $want\$" "$W/logs/task-$k.log" || fail "task $k's log: $(head -3 "$W/logs/task-$k.log")"
done
ok "the array finished: tasks 0-3 COMPLETED, task 1 with Restarts=1; its log's last line: $(tail -1 "$W/logs/task-1.log")"

"$M" batch merge "$W"/out/medsam-batch.shard-*-of-4.jsonl --json > "$W/merged.json" || fail "merge: $(cat "$W/merged.json")"
python3 - "$W/merged.json" "$W/out" "$NCASES" <<'PY'
import collections, glob, json, sys
m = json.load(open(sys.argv[1]))
n = int(sys.argv[3])
assert (m["total"], m["cases"], m["done"], m["failed"], m["shards"]) == (n, n, n, 0, 4), m
done = collections.Counter()
for path in glob.glob(sys.argv[2] + "/medsam-batch.shard-*-of-4.jsonl"):
    for line in open(path):
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e["kind"] == "case" and e["status"] == "done":
            done[e["id"]] += 1
assert len(done) == n and set(done.values()) == {1}, done
runs = sum(1 for l in open(sys.argv[2] + "/medsam-batch.shard-1-of-4.jsonl") if '"kind":"run"' in l)
assert runs == 2, f"task 1 ran {runs} times"
PY
[[ "$(ls "$W"/out/*.png | wc -l)" == "$NCASES" ]] || fail "$(ls "$W"/out/*.png | wc -l) outputs, not $NCASES"
for f in "$W"/single/*.png; do cmp -s "$f" "$W/out/$(basename "$f")" || fail "$(basename "$f") differs from the single-process run"; done
ls -a "$W/out" | grep -q '\.tmp-' && fail "temporary files left"
ok "merged 4 journals: $NCASES cases, each done exactly once (task 1 resumed after kill -9 and requeue); outputs identical to one process"
echo "slurm_batch: all passed in $((SECONDS - T0)) s"
