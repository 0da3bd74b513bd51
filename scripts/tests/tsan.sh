#!/usr/bin/env bash
# The cpu backend's threading under ThreadSanitizer: builds the tests with --sanitize=thread
# (in its own scratch folder, .build-tsan, so the normal build is untouched) and runs the tests
# that drive WorkerPool and the cpu backend from several threads. Any data race TSan reports
# fails the run (halt_on_error), as does any test failure.
#   bash scripts/tests/tsan.sh            # build + run
# The first build takes about as long as a debug build of the whole package.
set -euo pipefail
cd "$(dirname "$0")/../.."
jobs=$(nproc)
filter='CPUBackendTests\.(WorkerPoolTests|CPUThreadingTests)'
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
swift build --build-tests --sanitize=thread --scratch-path .build-tsan -j "$jobs"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
swift test --skip-build --sanitize=thread --scratch-path .build-tsan --filter "$filter" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
if grep -q "WARNING: ThreadSanitizer" "$log"; then
  echo "tsan: ThreadSanitizer reported a data race (above)"
  exit 1
fi
if [ "$status" -ne 0 ]; then
  echo "tsan: the threading tests failed under ThreadSanitizer (exit $status)"
  exit 1
fi
executed=$(grep -Eo "Executed [0-9]+ tests?" "$log" | tail -1 | grep -Eo "[0-9]+")
if [ "${executed:-0}" -lt 6 ]; then
  echo "tsan: expected at least 6 threading tests to run, ran ${executed:-0} (filter '$filter')"
  exit 1
fi
echo "tsan: $executed threading tests ran under ThreadSanitizer with no race reported"
