#!/usr/bin/env bash
# Coverage-guided fuzzing of every file reader (docs/fuzzing.md): builds Fuzz/ReaderFuzz with
# libFuzzer and AddressSanitizer in its own scratch folder (.build-fuzz; only the reader modules
# and their dependencies are compiled, no server or backends), then runs libFuzzer on each reader
# for a bounded time. Any crash, trap, sanitizer report, leak, input slower than 10 s, or input
# needing more than 2 GB fails the run; libFuzzer writes the input under .build-fuzz/artifacts/.
#   bash scripts/tests/fuzz.sh                 # every reader, 8 s each (CI)
#   bash scripts/tests/fuzz.sh 300 dicom nrrd  # 5 minutes each for two readers (by hand)
# The corpus each run grows is kept in .build-fuzz/corpus/<reader>, so runs by hand build on
# each other. Reproduce a finding without the fuzzer with the normal build's replay mode:
#   swift build --product ReaderFuzz && .build/debug/ReaderFuzz <reader> <artifact>
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-8}
shift || true
readers=("$@")
[ ${#readers[@]} -gt 0 ] || readers=(nifti dicom nrrd metaimage png jpeg npy npz pth safetensors jpegls)
scratch=.build-fuzz

# Release: Swift keeps its bounds and overflow checks at -O, and the readers run 10 to 60 times
# faster than in a debug build (DICOM: about 430 inputs/s against 7). --sanitize=fuzzer makes
# SwiftPM link libFuzzer's main; -Xswiftc -sanitize=fuzzer puts the coverage counters into every
# Swift module, not only the executable's; -DFUZZING selects the libFuzzer entry point.
swift build --product ReaderFuzz --scratch-path "$scratch" -c release -j "$(nproc)" \
  --sanitize=address --sanitize=fuzzer -Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING
bin=$scratch/release/ReaderFuzz

# Seeds of each reader: the test fixtures with its extensions, plus Fuzz/corpus/<reader>.
patterns() {
  case $1 in
    nifti) echo "*.nii *.nii.gz" ;;
    dicom) echo "*.dcm" ;;
    nrrd) echo "*.nrrd *.nhdr" ;;
    metaimage) echo "*.mha *.mhd" ;;
    png) echo "*.png" ;;
    jpeg) echo "*.jpg *.jpeg" ;;
    # The MedicalImaging fixtures only: the model fixtures hold hundreds of large tensors.
    npy) echo "*.npy" ;;
    npz) echo "*.npz" ;;
    pth) echo "*.pth" ;;
    safetensors) echo "*.safetensors" ;;
    jpegls) echo "*.jls" ;;
  esac
}
seed() {
  local reader=$1 corpus=$2 roots=(Tests/*/Fixtures)
  [ "$reader" = npy ] && roots=(Tests/MedicalImagingTests/Fixtures)
  mkdir -p "$corpus"
  for p in $(patterns "$reader"); do
    find "${roots[@]}" -type f -name "$p" -size -200k -exec cp -n {} "$corpus/" \;
  done
  if [ -d "Fuzz/corpus/$reader" ]; then
    find "Fuzz/corpus/$reader" -type f ! -name README.md -exec cp -n {} "$corpus/" \;
  fi
}

mkdir -p "$scratch/artifacts" "$scratch/logs"
# libFuzzer reports a trap (a Swift runtime failure) through its own signal handler; Swift's
# backtracer would run first and, under AddressSanitizer, reports itself.
export SWIFT_BACKTRACE=enable=no
failed=()
for reader in "${readers[@]}"; do
  corpus=$scratch/corpus/$reader
  seed "$reader" "$corpus"
  log=$scratch/logs/$reader.log
  set +e
  MEDSAM_FUZZ_READER=$reader "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$scratch/artifacts/$reader-" "$corpus" >"$log" 2>&1
  status=$?
  set -e
  runs=$(grep -Eo "stat::number_of_executed_units: *[0-9]+" "$log" | grep -Eo "[0-9]+$" || true)
  speed=$(grep -Eo "stat::average_exec_per_sec: *[0-9]+" "$log" | grep -Eo "[0-9]+$" || true)
  cov=$(grep -Eo "cov: [0-9]+ ft: [0-9]+" "$log" | tail -1 || true)
  if [ "$status" -ne 0 ]; then
    echo "fuzz: $reader FAILED (exit $status) after ${runs:-?} inputs; log $log:"
    grep -E "ERROR|SUMMARY|Fatal error|Test unit written|==[0-9]+==" "$log" | head -20 || tail -30 "$log"
    failed+=("$reader")
  else
    echo "fuzz: $reader: ${runs:-?} inputs in ${seconds} s (${speed:-?}/s), $cov, corpus $(ls "$corpus" | wc -l) files"
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in ${failed[*]} (inputs under $scratch/artifacts/)"
  exit 1
fi
echo "fuzz: ${#readers[@]} readers fuzzed with no crash, hang, leak or sanitizer report"
