#!/usr/bin/env bash
# The test command: installs dependencies, builds with AddressSanitizer and
# UndefinedBehaviorSanitizer, runs every test (unit, integration, robustness),
# then fuzzes the decoder and the parsers for a bounded time (scripts/fuzz.sh).
# Integration tests start their own PostgreSQL and dev broker.
#   scripts/test.sh [ctest arguments, e.g. -L unit]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh

BUILD_DIR="${SLUICE_TEST_BUILD_DIR:-build/test}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_SANITIZE=ON >/dev/null
cmake --build "$BUILD_DIR"

# The test PostgreSQL servers of this run live under a directory of its own
# (tests/support/test_services.cc reads SLUICE_TEST_RUN_DIR). A test that
# crashes leaves its server running; on exit this run stops exactly the servers
# under its directory, never those of other runs or of benchmarks.
PG_CTL=/usr/lib/postgresql/15/bin/pg_ctl
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
stop_test_servers() {
  local run_dir=$1 data_dir
  for data_dir in "$run_dir"/sluice-test-pg-*/data; do
    [ -f "$data_dir/postmaster.pid" ] || continue
    as_postgres "$PG_CTL" stop -m immediate -D "$data_dir" >/dev/null 2>&1 || true
  done
  rm -rf "$run_dir"
}
# Runs killed before their exit trap (SIGKILL) are cleaned up by the next one:
# a run directory whose test.sh is gone. One without owner.pid yet is being
# created by a run that is starting.
for stale in "${TMPDIR:-/tmp}"/sluice-test-run.*; do
  [ -d "$stale" ] || continue
  owner=$(cat "$stale/owner.pid" 2>/dev/null || true)
  if [ -z "$owner" ] || [ -d "/proc/$owner" ]; then continue; fi
  stop_test_servers "$stale"
done
SLUICE_TEST_RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sluice-test-run.XXXXXX")
export SLUICE_TEST_RUN_DIR
chmod 0755 "$SLUICE_TEST_RUN_DIR"  # the servers run as the postgres user
echo $$ >"$SLUICE_TEST_RUN_DIR/owner.pid"
trap 'stop_test_servers "$SLUICE_TEST_RUN_DIR"' EXIT

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp}"
(cd "$BUILD_DIR" && ctest --output-on-failure --parallel 2 "$@")

# Bounded fuzzing of the decoder and the configuration and rule parsers (clang,
# its own build directory); a crash fails the run.
scripts/fuzz.sh
