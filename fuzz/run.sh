#!/usr/bin/env bash
# Fuzzes every target of fuzz/ with libFuzzer (ASan + UBSan) for SECONDS
# each (600 by default), nproc targets at a time:
#
#   fuzz/run.sh [SECONDS] [TARGET...]
#
# Installs what it needs (packaging/install-deps.sh fuzz), builds the
# targets in build-fuzz/ with clang, and starts each from its seeds in
# fuzz/corpus/TARGET/. What a run adds to the corpus goes to a scratch
# directory, never to the repository: build-fuzz/work/ (FUZZ_WORK sets
# another), with corpus/TARGET/, findings/TARGET/ (the input of a crash,
# timeout, leak or out-of-memory) and TARGET.log. Prints per target the
# seconds it ran, its executions, its corpus size and its findings, as a
# Markdown table; exits 1 when any target found something. FUZZ_JOBS sets
# how many targets run at a time.
#
# A finding becomes a regression input: fix the code, then copy the input
# to fuzz/corpus/TARGET/ (the fuzz_corpus test replays it in every build).
set -euo pipefail

cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
build=build-fuzz
work=${FUZZ_WORK:-$build/work}
jobs=${FUZZ_JOBS:-$(nproc)}

targets=("$@")
if ((${#targets[@]} == 0)); then
  for source in fuzz/*.cpp; do
    name=$(basename "$source" .cpp)
    [ "$name" = replay ] || targets+=("$name")
  done
fi

packaging/install-deps.sh fuzz
# Debian 12's clang 16: libstdc++ 12's std::expected needs what clang 14
# lacks (see IPFSACC_FUZZ in CMakeLists.txt).
gen=()
[ -f "$build/build.ninja" ] || [ -f "$build/Makefile" ] || gen=(-G Ninja)
cmake -S . -B "$build" "${gen[@]}" -DCMAKE_CXX_COMPILER=clang++-16 \
  -DIPFSACC_FUZZ=ON -DIPFSACC_TESTS=OFF -DIPFSACC_SANITIZE=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" \
  >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]/#/fuzz_}"

# Runs one target for the time given; its findings are the files libFuzzer
# wrote to findings/TARGET/.
fuzz_one() {
  local name=$1
  mkdir -p "$work/corpus/$name" "$work/findings/$name"
  local start=$SECONDS
  # -timeout: an input that takes 10 s is a finding (a hang); leaks are
  # findings too (ASan's leak check at the end of each input that leaked).
  "$build/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/findings/$name/" \
    "$work/corpus/$name" "fuzz/corpus/$name" >"$work/$name.log" 2>&1 || true
  echo $((SECONDS - start)) >"$work/$name.seconds"
}

mkdir -p "$work"
echo "fuzzing ${#targets[@]} target(s) for ${seconds} s each, $jobs at a time"
running=0
for name in "${targets[@]}"; do
  if ((running >= jobs)); then
    wait -n
    running=$((running - 1))
  fi
  fuzz_one "$name" &
  running=$((running + 1))
done
wait

status=0
echo "| target | seconds | executions | corpus | findings |"
echo "| --- | ---: | ---: | ---: | ---: |"
for name in "${targets[@]}"; do
  log=$work/$name.log
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  corpus=$(grep -o 'corp: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  findings=$(find "$work/findings/$name" -type f | wc -l)
  echo "| $name | $(cat "$work/$name.seconds") | ${execs:-?} | ${corpus:-?} | $findings |"
  if ((findings > 0)) || [ -z "$execs" ]; then
    status=1
  fi
done
if ((status)); then
  echo "findings (or a target that did not run): see $work/findings/ and" \
    "$work/TARGET.log" >&2
fi
exit $status
