#!/usr/bin/env bash
# End-to-end benchmark in one command: builds the Release tree (build/rel) when
# needed and runs bench_e2e, which starts its own PostgreSQL and dev broker.
#   bench/run_e2e.sh [--events N] [--schemaless] [--latency RATE SECONDS] [bench_e2e options]
# See bench/RESULTS.md for what it prints and the figures recorded so far.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${SLUICE_BENCH_BUILD:-build/rel}
if [ ! -x "$BUILD_DIR/bench/bench_e2e" ] || [ -n "${SLUICE_BENCH_REBUILD:-}" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSLUICE_BUILD_TESTS=ON >/dev/null
  cmake --build "$BUILD_DIR" -j "$(nproc)" --target bench_e2e sluice sluice-dev-broker
fi
echo "# $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
exec "$BUILD_DIR/bench/bench_e2e" "$@"
