#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing, the demo and the
# benchmarks need. Idempotent; does nothing (quickly) when all are present.
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ cmake ninja-build pkg-config git
  # libraries (see README: Dependencies)
  librdkafka-dev rapidjson-dev libpq-dev libspdlog-dev libfmt-dev libboost-program-options-dev
  libre2-dev libcpp-httplib-dev libssl-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev googletest libbenchmark-dev clang libclang-rt-14-dev
  # services and tools used by tests, the demo and the benchmarks
  postgresql-15 postgresql-client-15 kcat util-linux procps curl
)

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
