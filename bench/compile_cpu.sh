#!/usr/bin/env bash
# compile_cpu.sh: the CPU seconds the test command's builds cost, per target,
# into their section of bench/RESULTS.md. Compiling is about half of what
# tests/run.sh costs on a fresh machine, and CPU time (not wall time) is what
# a shared machine's load leaves steady.
#
#   BASE=REV bench/compile_cpu.sh     # REV: a revision to compare with
#
# Each configuration of tests/run.sh is built from scratch, no ccache, with
# a compiler launcher that records every compile's user + system time
# (/usr/bin/time). With BASE, the same configurations of that revision are
# built in the same run (a git worktree) as the baseline.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. bench/lib.sh
need_packages time ninja-build

work=$(mktemp -d)
cleanup() {
  if [ -d "$work/base" ]; then git worktree remove --force "$work/base" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/launcher" <<'SH'
#!/bin/sh
# Runs a compile, and appends "USER SYS OBJECT" to $COMPILE_CPU_LOG.
out=
prev=
for a in "$@"; do
  [ "$prev" = -o ] && out=$a
  prev=$a
done
exec /usr/bin/time -f "%U %S $out" -a -o "$COMPILE_CPU_LOG" "$@"
SH
chmod +x "$work/launcher"

common=(-G Ninja -DIPFSACC_TESTS=ON -DIPFSACC_WERROR=ON -DCMAKE_UNITY_BUILD=ON
  -DCMAKE_CXX_COMPILER_LAUNCHER="$work/launcher")
asan=(-DIPFSACC_SANITIZE=ON -DIPFSACC_UBSAN_TRAP=ON -DCMAKE_BUILD_TYPE=Debug
  "-DCMAKE_CXX_FLAGS_DEBUG=-O0 -g1")
release=(-DIPFSACC_SANITIZE=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG")

# measure SOURCE NAME CONFIG...: builds SOURCE's tree in $work/NAME with
# CONFIG and prints "TARGET SECONDS" per target, then "total SECONDS".
measure() {
  local source=$1 name=$2
  shift 2
  local log=$work/$name.log
  : >"$log"
  cmake -S "$source" -B "$work/$name" "${common[@]}" "$@" >/dev/null
  COMPILE_CPU_LOG=$log cmake --build "$work/$name" -j"$(nproc)" >/dev/null
  awk '{ n = split($3, p, "/"); t = "other";
         for (i = 1; i <= n; i++) if (p[i] ~ /\.dir$/) { t = p[i]; sub(/\.dir$/, "", t) }
         s[t] += $1 + $2; all += $1 + $2 }
       END { for (k in s) printf "%s %.1f\n", k, s[k]; printf "total %.1f\n", all }' "$log"
}

# cell TABLE TARGET: TARGET's seconds in a measure output.
cell() { awk -v t="$2" '$1 == t { print $2 }' <<<"$1"; }

declare -A results
configs=(asan release)
trees=(new)
if [ -n "${BASE:-}" ]; then
  git worktree add --detach "$work/base" "$BASE" >/dev/null 2>&1
  trees=(base new)
fi
for tree in "${trees[@]}"; do
  source=$root
  [ "$tree" = base ] && source=$work/base
  for config in "${configs[@]}"; do
    echo "== $tree, $config"
    declare -n args=$config
    results[$tree.$config]=$(measure "$source" "$tree-$config" "${args[@]}")
    unset -n args
  done
done

targets=(libipfsacc ipfsacc ipfsacc_base rulegen ipfsacc_unit fuzz_replay
  ipfsacc_bench_populate total)
table() { # CONFIG
  local header="| target |" rule="| --- |" tree target
  for tree in "${trees[@]}"; do
    header+=" $tree |"
    rule+=" ---: |"
  done
  echo "$header"
  echo "$rule"
  for target in "${targets[@]}"; do
    local row="| \`$target\` |"
    for tree in "${trees[@]}"; do
      row+=" $(cell "${results[$tree.$1]}" "$target") |"
    done
    echo "$row"
  done
}

revision=$(git rev-parse --short HEAD)
base_note="No baseline (\`BASE=REV\` builds one)."
[ -n "${BASE:-}" ] && base_note="Baseline: \`$BASE\` ($(git rev-parse --short "$BASE")), built in the same run."
section=$(
  cat <<MD
<!-- compile_cpu.sh: begin -->
## Compile CPU time of the test command's builds (\`bench/compile_cpu.sh\`, $(date -u +%Y-%m-%d), git ${revision})

CPU seconds (user + system) of every compile, per target, from scratch and
without ccache, in the configurations of \`tests/run.sh\` (all targets;
the test command's release build compiles \`ipfsacc\` and what it links
only). Load average at the start: $(cut -d' ' -f1 /proc/loadavg);
one object varies by about a tenth from run to run on a loaded machine.
${base_note}

ASan + UBSan, \`-O0 -g1\`:

$(table asan)

Release, \`-O2 -g1\`:

$(table release)
<!-- compile_cpu.sh: end -->
MD
)
python3 bench/write_section.py compile_cpu.sh "$section"
echo "$section"
