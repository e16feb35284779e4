#!/usr/bin/env bash
# What the progress line of export, import and purge costs. Each command on
# 100,000 entries of 1 KB (100 MB of payload), the variants taking turns:
#   - as a pipe or a CI log runs it (stderr not a terminal: no line drawn),
#     the baseline;
#   - with --progress and IPFSACC_PROGRESS_DELAY=0: the line drawn from the
#     first entry on, ten times a second (into /dev/null), the most it costs;
#   - with BASE=path/to/ipfsacc, also the binary before the change.
# Writes its section of bench/RESULTS.md (between the "progress.sh" markers;
# bench/run.sh keeps it).
#
#   bench/progress.sh            # builds build-bench (Release) if needed
#   BIN=build/ipfsacc POPULATE=build/bench/ipfsacc_bench_populate \
#     BASE=path/to/old/ipfsacc bench/progress.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

packaging/install-deps.sh bench
for p in python3 time; do
  command -v "$p" >/dev/null || apt-get install -y -qq "$p" >/dev/null
done
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null

bin=${BIN:-}
populate=${POPULATE:-}
if [ -z "$bin" ] || [ -z "$populate" ]; then
  cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build-bench -j"$(nproc)" --target ipfsacc ipfsacc_bench_populate >/dev/null
  bin=$root/build-bench/ipfsacc
  populate=$root/build-bench/bench/ipfsacc_bench_populate
fi
bin=$(realpath "$bin")
populate=$(realpath "$populate")
base=${BASE:+$(realpath "$BASE")}
runs=${RUNS:-5}
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$(dirname "$bin")/CMakeCache.txt" 2>/dev/null || true)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unset $(env | grep -o '^IPFSACC_[A-Z_]*' || true)
export HOME=$work/home XDG_CACHE_HOME=$work/home/.cache XDG_CONFIG_HOME=$work/home/.config
mkdir -p "$HOME"

# The commands of a variant are run in rounds (plain, drawn, base, plain,
# ...), so that a change of the machine's load meanwhile falls on all of
# them alike; each run's wall and CPU time (user + system, all threads)
# comes from GNU time.
# variants NAME PREPARE ARGS...: `ipfsacc ARGS` as the baseline, with
# --progress drawn from the start, and with the BASE binary; prints one
# line per variant in that order: median wall ms, median CPU ms.
variants() {
  local name=$1 prepare=$2
  shift 2
  local -a names=(plain drawn)
  [ -n "$base" ] && names+=(base)
  local round v
  for round in $(seq "$runs"); do
    for v in "${names[@]}"; do
      sh -c "$prepare"
      case $v in
      plain) /usr/bin/time -a -o "$work/$name.$v" -f '%e %U %S' "$bin" "$@" >/dev/null 2>&1 ;;
      drawn) IPFSACC_PROGRESS_DELAY=0 /usr/bin/time -a -o "$work/$name.$v" -f '%e %U %S' \
        "$bin" "$@" --progress >/dev/null 2>&1 ;;
      base) /usr/bin/time -a -o "$work/$name.$v" -f '%e %U %S' "$base" "$@" >/dev/null 2>&1 ;;
      esac
    done
  done
  for v in "${names[@]}"; do
    python3 -c '
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
wall = statistics.median(float(r[0]) for r in rows)
cpu = statistics.median(float(r[1]) + float(r[2]) for r in rows)
print("%.0f %.0f" % (wall * 1000, cpu * 1000))' "$work/$name.$v"
  done
}
ratio() { python3 -c "print('%.3f' % ($1 / $2))"; }
mbps() { python3 -c "print('%.0f' % ($1 / 1e6 / ($2 / 1000)))"; }

echo "== export, import, purge --expired of 100,000 entries, with and without progress"
"$populate" "$work/cache" 100000 1024
mkdir -p "$work/exp"
export IPFSACC_DIR=$work/cache
"$bin" export "$work/exp/1k.jsonl" 2>/dev/null
mapfile -t exp < <(variants export "sync" export "$work/exp/out.jsonl")
export IPFSACC_DIR=$work/imported
mapfile -t imp < <(variants import "rm -rf $work/imported && sync" \
  import "$work/exp/1k.jsonl")
export IPFSACC_DIR=$work/expired
mapfile -t pur < <(variants purge \
  "rm -rf $work/expired && $populate $work/expired 100000 1024 expired && sync" \
  purge --expired)

# Instructions (valgrind's callgrind), which the machine's load does not
# change, for the same commands on 10,000 entries. Import's vary a little
# from run to run: its transactions end after a second, however far in.
echo "== instructions, 10,000 entries"
ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
  sed -n 's/.*Collected : //p'; }
instructions() { # NAME PREPARE ARGS...: plain, drawn, base
  local prepare=$2 v
  shift 2
  for v in plain drawn base; do
    [ "$v" = base ] && [ -z "$base" ] && continue
    sh -c "$prepare"
    case $v in
    plain) ir "$bin" "$@" ;;
    drawn) IPFSACC_PROGRESS_DELAY=0 ir "$bin" "$@" --progress ;;
    base) ir "$base" "$@" ;;
    esac
  done | tr '\n' ' '
}
ir_rows=
if command -v valgrind >/dev/null; then
  "$populate" "$work/small" 10000 1024
  IPFSACC_DIR=$work/small "$bin" export "$work/exp/small.jsonl" 2>/dev/null
  ir_export=$(IPFSACC_DIR=$work/small instructions export true export "$work/exp/out.jsonl")
  ir_import=$(IPFSACC_DIR=$work/ir_imported instructions import "rm -rf $work/ir_imported" \
    import "$work/exp/small.jsonl")
  ir_purge=$(IPFSACC_DIR=$work/ir_expired instructions purge \
    "rm -rf $work/ir_expired && $populate $work/ir_expired 10000 1024 expired" purge --expired)
  ir_row() { # WHAT PLAIN DRAWN [BASE]
    printf '| %s | %s | %s (%s×) | %s |\n' "$1" "$2" "$3" "$(ratio "$3" "$2")" \
      "$([ -n "${4:-}" ] && echo "$4 (no line: $(ratio "$2" "$4")×)" || echo "not measured")"
  }
  ir_rows=$(
    echo "| instructions, 10,000 entries | no line | line drawn | before |"
    echo "| --- | --- | --- | --- |"
    ir_row "\`export FILE\`" $ir_export
    ir_row "\`import FILE\`" $ir_import
    ir_row "\`purge --expired\`" $ir_purge
  )
fi

row() { # WHAT PLAIN DRAWN [BASE]: "WALL CPU" each; a table row with the
  # ratios to the baseline (for BASE: the baseline's to it)
  local what=$1 plain=($2) drawn=($3) old=(${4:-})
  printf '| %s | %s ms, %s ms CPU | %s ms (%s×), %s ms CPU (%s×) | %s |\n' "$what" \
    "${plain[0]}" "${plain[1]}" \
    "${drawn[0]}" "$(ratio "${drawn[0]}" "${plain[0]}")" \
    "${drawn[1]}" "$(ratio "${drawn[1]}" "${plain[1]}")" \
    "$([ -n "${old[0]:-}" ] && echo "${old[0]} ms, ${old[1]} ms CPU (no line: $(ratio "${plain[0]}" "${old[0]}")×, $(ratio "${plain[1]}" "${old[1]}")× CPU)" || echo "not measured")"
}
section=$(
  cat <<MD
<!-- progress.sh: begin -->
## Progress on long work (\`bench/progress.sh\`)

Written on $(date -u +%Y-%m-%d), $(nproc) cores, ${build_type:-unknown} build. 100,000 entries of 1 KB
(100 MB of payload); medians of ${runs} runs of each, the variants taking
turns, wall time and CPU time (user + system, every thread).
"no line" is how a pipe or a CI log runs the command (stderr not a
terminal: nothing drawn), the baseline; "line drawn" forces the line with
\`--progress\` from the first entry on (\`IPFSACC_PROGRESS_DELAY=0\`), redrawn
ten times a second; "before" is the binary before progress existed, when
given (\`BASE=\`).

| command | no line | line drawn | before |
| --- | --- | --- | --- |
$(row "\`export FILE\`" "${exp[0]}" "${exp[1]}" "${exp[2]:-}")
$(row "\`import FILE\` (into an empty cache)" "${imp[0]}" "${imp[1]}" "${imp[2]:-}")
$(row "\`purge --expired\` (100,000 expired)" "${pur[0]}" "${pur[1]}" "${pur[2]:-}")

${ir_rows}

Payload per second, no line / line drawn: export $(mbps 102400000 "${exp[0]%% *}") /
$(mbps 102400000 "${exp[1]%% *}") MB/s, import $(mbps 102400000 "${imp[0]%% *}") /
$(mbps 102400000 "${imp[1]%% *}") MB/s.
<!-- progress.sh: end -->
MD
)
python3 bench/write_section.py progress.sh "$section"
printf '%s\n' "$section"
