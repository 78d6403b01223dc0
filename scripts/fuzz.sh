#!/usr/bin/env bash
# Bounded fuzzing, run by scripts/test.sh after the tests: builds the libFuzzer
# targets with clang (ASan + UBSan) in their own build directory, only those
# targets, and runs each for a fixed time from its seed corpus:
#   fuzz_decode  Debezium decoder     tests/data/debezium
#   fuzz_config  configuration parser tests/fuzz/config
#   fuzz_rule    validator rules      tests/fuzz/rule
# A crash, sanitizer report, leak, timeout or out-of-memory fails the script;
# the input that caused it is kept in $SLUICE_FUZZ_BUILD_DIR/artifacts/<target>.
# Environment: SLUICE_FUZZ_BUILD_DIR (default build/fuzz), SLUICE_FUZZ_SECONDS
# (the decoder's time, default 60; the two parsers get half each).
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_DIR="${SLUICE_FUZZ_BUILD_DIR:-build/fuzz}"
DECODE_SECONDS="${SLUICE_FUZZ_SECONDS:-60}"
PARSER_SECONDS=$(((DECODE_SECONDS + 1) / 2))

cmake -S . -B "$FUZZ_DIR" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSLUICE_FUZZ=ON -DSLUICE_BUILD_BENCH=OFF >/dev/null
cmake --build "$FUZZ_DIR" --target fuzz_decode fuzz_config fuzz_rule

# run TARGET SECONDS SEED_DIR [libFuzzer flags]: new inputs go to a corpus kept in
# the build directory, so later runs start from what earlier ones found.
run() {
  local target=$1 seconds=$2 seeds=$3
  shift 3
  local corpus="$FUZZ_DIR/corpus/$target" artifacts="$FUZZ_DIR/artifacts/$target" log="$FUZZ_DIR/$target.log"
  mkdir -p "$corpus" "$artifacts"
  echo "fuzz: $target for ${seconds} s" >&2
  if "$FUZZ_DIR/tests/$target" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="$artifacts/" "$@" "$corpus" "$seeds" >"$log" 2>&1; then
    grep -E "^Done [0-9]+ runs" "$log" >&2 || true
    return 0
  fi
  tail -n 60 "$log" >&2
  echo "fuzz: $target FAILED; the input is in $artifacts/, the full log in $log" >&2
  return 1
}

failed=0
run fuzz_decode "$DECODE_SECONDS" tests/data/debezium -max_len=65536 || failed=1
run fuzz_config "$PARSER_SECONDS" tests/fuzz/config || failed=1
run fuzz_rule "$PARSER_SECONDS" tests/fuzz/rule || failed=1
exit "$failed"
