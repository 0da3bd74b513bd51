#!/usr/bin/env bash
# The cpu backend's threading under ThreadSanitizer: builds the tests that drive WorkerPool and
# the cpu backend from several threads (Tests/CPUBackendTests/{WorkerPoolTests,CPUThreadingTests},
# linked into the small package scripts/tests/tsan so that only TensorRuntime and the cpu backend
# are compiled with the sanitizer: about 40 s from scratch instead of 6.5 minutes for every
# target) with --sanitize=thread in its own scratch folder, .build-tsan, and runs them. Any data
# race TSan reports fails the run (halt_on_error), as does any test failure.
#   bash scripts/tests/tsan.sh            # build + run
set -euo pipefail
cd "$(dirname "$0")/../.."
jobs=$(nproc)
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
package=(--package-path scripts/tests/tsan --scratch-path .build-tsan)
swift build --build-tests --sanitize=thread "${package[@]}" -j "$jobs"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
swift test --skip-build --sanitize=thread "${package[@]}" 2>&1 | tee "$log"
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
  echo "tsan: expected at least 6 threading tests to run, ran ${executed:-0} (scripts/tests/tsan/Tests)"
  exit 1
fi
echo "tsan: $executed threading tests ran under ThreadSanitizer with no race reported"
