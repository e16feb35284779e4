#!/usr/bin/env bash
# The test command (README, CI): installs what is needed on Debian 12, builds
# with warnings as errors and under AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs every test once (see below which
# build runs which).
set -euo pipefail
cd "$(dirname "$0")/.."

# What each phase took: wall time and the CPU time of the processes it ran
# (the machine may be shared, so wall time alone says little). children_cpu
# sets cpu to the CPU seconds of the shell's finished child processes.
times_file=$(mktemp)
cleanup() {
  rm -f "$times_file" "${asan_log:-}" "${arm64_log:-}" ${npm_logs[@]+"${npm_logs[@]}"}
  local pid
  for pid in "${asan_pid:-}" "${arm64_pid:-}"; do
    if [ -n "$pid" ]; then
      kill "$pid" 2>/dev/null || true
    fi
  done
}
trap cleanup EXIT
children_cpu() {
  times >"$times_file"
  cpu=$(tail -n 1 "$times_file" | tr 'ms' '  ' |
    awk '{ printf "%.0f", $1 * 60 + $2 + $3 * 60 + $4 }')
}
phase_start() {
  phase_wall=$SECONDS
  children_cpu
  phase_cpu=$cpu
}
phase_end() {
  children_cpu
  echo "== $1: $((SECONDS - phase_wall)) s wall, $((cpu - phase_cpu)) s CPU"
}

phase_start
packaging/install-deps.sh test
phase_end "packages"

# The npm packages of the suites that drive real programs from npm: js-ipfs
# for the IPFS suite (about 290 MB), s3rver for the S3 suite (about 15 MB)
# and the API clients (SDKs and the Claude Code and Gemini CLIs, about
# 430 MB) for the clients suite. Each set is
# installed, when missing, while the code builds; without it its suite is
# skipped, not failed.
npm_dirs=()
npm_pids=()
npm_logs=()
start_npm() { # DIR MARKER: install DIR's packages unless MARKER exists
  if [ ! -e "$2" ] && command -v npm >/dev/null; then
    local log
    log=$(mktemp)
    (cd "$1" && npm install --no-audit --no-fund) >"$log" 2>&1 &
    npm_dirs+=("$1")
    npm_pids+=($!)
    npm_logs+=("$log")
  fi
}
start_npm tests/ipfs tests/ipfs/node_modules/.bin/jsipfs
start_npm tests/s3 tests/s3/node_modules/.bin/s3rver
start_npm tests/clients tests/clients/node_modules/.package-lock.json
wait_for_npm() {
  if [ "${#npm_pids[@]}" -gt 0 ]; then
    phase_start
    local i
    for i in "${!npm_pids[@]}"; do
      if ! wait "${npm_pids[i]}"; then
        echo "== npm install in ${npm_dirs[i]} failed:"
        cat "${npm_logs[i]}"
      fi
      rm -f "${npm_logs[i]}"
    done
    npm_pids=()
    phase_end "npm install (the rest after the build)"
  fi
}

jobs=$(nproc 2>/dev/null || echo 2)
# Ninja keeps both cores busy across targets (make finishes a library before
# starting on what links it). A build directory keeps the generator it has.
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi

# configure DIR CMAKE_ARGS...: every setting the phase depends on is passed,
# so a directory configured some other way before (by hand, without tests)
# is set right again. CI compiles every file once: unity batches generate
# the header-only libraries' code (fmt, nlohmann/json, CLI11, doctest) once
# per batch instead of once per file, and line tables (-g1) are all the
# debug information a backtrace or a sanitizer report needs.
configure() {
  local dir=$1
  shift
  local gen=("${generator[@]}")
  [ -f "$dir/CMakeCache.txt" ] && gen=()
  cmake -S . -B "$dir" "${gen[@]}" -DIPFSACC_TESTS=ON -DIPFSACC_WERROR=ON \
    -DCMAKE_UNITY_BUILD=ON "$@" >/dev/null
}

# compile DIR CMAKE_ARGS... [-- BUILD_ARGS...]: configure and build DIR (all
# of it, or the targets BUILD_ARGS name), as one phase.
compile() {
  local dir=$1 args=() build=()
  shift
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    args+=("$1")
    shift
  done
  [ $# -gt 0 ] && shift
  build=("$@")
  phase_start
  configure "$dir" ${args[@]+"${args[@]}"}
  cmake --build "$dir" -j"$jobs" ${build[@]+"${build[@]}"}
  phase_end "compile ($dir)"
}

# run_tests DIR TEST_JOBS [CTEST_ARGS...]: the unit and integration tests
# built in DIR (CTEST_ARGS may select some). A phase that runs no test fails
# (--no-tests=error), and its summary says how many ran.
run_tests() {
  local dir=$1 test_jobs=$2
  shift 2
  phase_start
  local log status=0
  log=$(mktemp)
  ctest --test-dir "$dir" --output-on-failure --no-tests=error \
    -j"$test_jobs" "$@" 2>&1 | tee "$log" || status=$?
  local total skipped
  total=$(sed -nE 's/.* tests? failed out of ([0-9]+)$/\1/p' "$log" | tail -n 1)
  skipped=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*\*\*\*Skipped' "$log" || true)
  rm -f "$log"
  phase_end "tests ($dir): ${total:-0} run, $skipped skipped"
  return "$status"
}

# Every suite runs once: the integration suites, the unit tests and the fuzz
# corpora under ASan + UBSan, which see everything a release run would and
# more; the release build runs what is about that build or spends its time
# in programs from npm rather than in ipfsacc: the Debian package of the
# release binary (deb), the static front and its dynamic twin, which only
# the release build makes (front), the real API clients straight against the
# fake APIs (clients: no ipfsacc at all) and through `serve` (serve_clients). The
# sanitizer build is the longest road (its compile, then its suites), so it
# starts first, and the rest fills the time around it.
release_only='^integration\.(clients|serve_clients|deb|front)(\.[0-9]+)?$'
asan_args=(-DIPFSACC_SANITIZE=ON -DIPFSACC_UBSAN_TRAP=ON
  -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O0 -g1")
asan_log=$(mktemp)
asan_pid=
start_asan_compile() {
  (
    times_file=$(mktemp)
    trap 'rm -f "$times_file"' EXIT
    compile build-asan "${asan_args[@]}"
  ) >"$asan_log" 2>&1 &
  asan_pid=$!
}
wait_for_asan_compile() {
  local status=0 waited=$SECONDS
  wait "$asan_pid" || status=$?
  asan_pid=
  if [ "$status" != 0 ]; then
    cat "$asan_log"
  else
    grep '^== ' "$asan_log"
  fi
  echo "== waited $((SECONDS - waited)) s for it after the release tests"
  return "$status"
}

# The arm64 binary (cross-compiled with Debian's g++-aarch64-linux-gnu,
# packaging/cmake/aarch64-linux-gnu.cmake) compiles at a lower priority,
# in the time the other phases leave; the arm64 suite then runs it under
# qemu-aarch64-static. -O0 without debug information, the cheapest to
# compile (about 150 CPU seconds, and more at -O1): the
# suite checks that the arm64 build works, and the release artefacts are
# optimised by packaging/release.sh. NO_ARM64=1 leaves it out.
arm64_args=(-DCMAKE_TOOLCHAIN_FILE=packaging/cmake/aarch64-linux-gnu.cmake
  -DIPFSACC_TESTS=OFF -DIPFSACC_STATIC=ON -DIPFSACC_WERROR=ON
  -DCMAKE_UNITY_BUILD=ON -DCMAKE_BUILD_TYPE=Release
  "-DCMAKE_CXX_FLAGS_RELEASE=-O0 -g0 -DNDEBUG")
arm64_log=$(mktemp)
arm64_pid=
start_arm64_compile() {
  (
    times_file=$(mktemp)
    trap 'rm -f "$times_file"' EXIT
    phase_start
    local gen=("${generator[@]}")
    [ -f build-arm64/CMakeCache.txt ] && gen=()
    cmake -S . -B build-arm64 "${gen[@]}" "${arm64_args[@]}" >/dev/null
    nice -n 10 cmake --build build-arm64 -j"$jobs" --target ipfsacc
    phase_end "compile (build-arm64, cross)"
  ) >"$arm64_log" 2>&1 &
  arm64_pid=$!
}
# run_arm64_suite: waits for the arm64 build, then runs its suite (ctest
# passes the environment on to it).
run_arm64_suite() {
  local status=0 waited=$SECONDS
  wait "$arm64_pid" || status=$?
  arm64_pid=
  if [ "$status" != 0 ]; then
    cat "$arm64_log"
    return "$status"
  fi
  grep '^== ' "$arm64_log"
  echo "== waited $((SECONDS - waited)) s for it after the other tests"
  IPFSACC_ARM64_BIN=$PWD/build-arm64/ipfsacc \
    run_tests build-test 1 -R '^integration\.arm64$'
}

# Most suites wait on servers, child processes and clocks rather than on the
# CPU: several run per core. Under the sanitizers every ipfsacc call costs
# several times more CPU, so fewer run at once; the slowest suites are split
# into shards (tests/CMakeLists.txt) so that the work still spreads evenly.
sanitizers=1
[ "${NO_SANITIZERS:-}" = 1 ] && sanitizers=
arm64=1
[ "${NO_ARM64:-}" = 1 ] && arm64=
if [ -n "$sanitizers" ]; then
  echo "== ASan + UBSan build (compiles alongside the release build and tests)"
  start_asan_compile
fi
echo "== release build (-Wall -Wextra -Werror)"
release_targets=(--target ipfsacc)
# Without the sanitizer build, the release build runs every suite.
[ -n "$sanitizers" ] || release_targets=()
compile build-test -DIPFSACC_SANITIZE=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" -- "${release_targets[@]}"
wait_for_npm
[ -n "$arm64" ] && start_arm64_compile
status=0
if [ -n "$sanitizers" ]; then
  run_tests build-test $((jobs * 4)) -R "$release_only" || status=$?
  # A failed phase does not stop the next: one run shows every failure.
  echo "== ASan + UBSan build"
  asan_status=0
  wait_for_asan_compile || asan_status=$?
  if [ "$asan_status" != 0 ]; then
    status=$asan_status
  else
    # -O0: the suites' time under the sanitizers goes to starting processes,
    # not to running optimised code, and -O0 compiles in half the time of
    # -O1. UBSan's checks trap (IPFSACC_UBSAN_TRAP): handle_sigill makes ASan
    # report a failed one with its file and line.
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:handle_sigill=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      run_tests build-asan $((jobs * 2)) \
      -E "$release_only|^integration\.arm64\$" || status=$?
  fi
else
  run_tests build-test $((jobs * 4)) -E '^integration\.arm64$' || status=$?
fi
if [ -n "$arm64" ]; then
  echo "== arm64 build (cross-compiled alongside the other phases), under qemu"
  run_arm64_suite || status=$?
fi
exit "$status"
