#!/usr/bin/env bash
# The test command: installs dependencies, builds with AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs every test (unit, integration,
# robustness). Integration tests start their own PostgreSQL and dev broker.
#   scripts/test.sh [ctest arguments, e.g. -L unit]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh

BUILD_DIR="${SLUICE_TEST_BUILD_DIR:-build/test}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_SANITIZE=ON >/dev/null
cmake --build "$BUILD_DIR"

# Leftover test servers of an interrupted earlier run would only waste memory.
cleanup() { pkill -f "sluice-test-pg-" 2>/dev/null || true; }
trap cleanup EXIT

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp}"
cd "$BUILD_DIR"
ctest --output-on-failure --parallel 2 "$@"
