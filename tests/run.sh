#!/usr/bin/env bash
# The test command (README, CI): installs what is needed on Debian 12, builds
# with warnings as errors, runs the unit and integration tests, then builds
# and runs them again under AddressSanitizer and UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

packaging/install-deps.sh test

# js-ipfs for the IPFS suite (about 290 MB from npm): installed while the
# code builds. Without it that suite is skipped, not failed.
npm_log=$(mktemp)
npm_pid=
if [ ! -x tests/ipfs/node_modules/.bin/jsipfs ] && command -v npm >/dev/null; then
  (cd tests/ipfs && npm install --no-audit --no-fund) >"$npm_log" 2>&1 &
  npm_pid=$!
fi
wait_for_npm() {
  if [ -n "$npm_pid" ]; then
    if ! wait "$npm_pid"; then
      echo "== npm install in tests/ipfs failed:"
      cat "$npm_log"
    fi
    npm_pid=
  fi
}

jobs=$(nproc 2>/dev/null || echo 2)
run_suite() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -DIPFSACC_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  wait_for_npm
  ctest --test-dir "$dir" --output-on-failure -j"$jobs"
}

echo "== release build (-Wall -Wextra -Werror)"
run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo

if [ "${NO_SANITIZERS:-}" != 1 ]; then
  echo "== ASan + UBSan build"
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DIPFSACC_SANITIZE=ON
fi
