#!/usr/bin/env bash
# Benchmarks of ipfsacc, each against a baseline measured in the same run.
# Writes bench/RESULTS.md. Takes a few minutes.
#
#   bench/run.sh
#
# Talks only to 127.0.0.1 (a local stand-in for the GitHub API).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

packaging/install-deps.sh bench
for p in python3 time; do
  command -v "$p" >/dev/null || { apt-get install -y -qq "$p" >/dev/null; }
done
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null

jobs=$(nproc)
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j"$jobs" --target ipfsacc ipfsacc_bench_populate >/dev/null
cmake -S . -B build-bench-static -DCMAKE_BUILD_TYPE=Release -DIPFSACC_STATIC=ON \
  -DIPFSACC_TESTS=OFF >/dev/null
cmake --build build-bench-static -j"$jobs" --target ipfsacc >/dev/null
# The default build: the static front (what the package installs as
# ipfsacc) and its dynamic twin; and the one fully static binary.
bin=$root/build-bench/ipfsacc
twin=$root/build-bench/ipfsacc-dynamic
static=$root/build-bench-static/ipfsacc
populate=$root/build-bench/bench/ipfsacc_bench_populate

work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
unset $(env | grep -o '^IPFSACC_[A-Z_]*' || true)
export IPFSACC_DIR=$work/cache HOME=$work/home XDG_CACHE_HOME=$work/home/.cache \
  XDG_CONFIG_HOME=$work/home/.config
mkdir -p "$HOME"

# hyperfine's median of each command, in milliseconds, from its JSON export.
medians() {
  python3 -c '
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print("%.3f" % (r["median"] * 1000))' "$1"
}
bench() { # name, then commands
  local name=$1
  shift
  hyperfine -N --warmup 30 --runs "${RUNS:-400}" --export-json "$work/$name.json" \
    "$@" >/dev/null 2>&1
  medians "$work/$name.json"
}

head -c 7500 /dev/urandom | base64 -w 76 >"$work/10k.txt" # 10 KB of text
"$bin" run -- cat "$work/10k.txt" >/dev/null </dev/null
"$static" run -- cat "$work/10k.txt" >/dev/null </dev/null

echo "== hit path, 10 KB"
mapfile -t hit < <(bench hit "cat $work/10k.txt" "$bin run -- cat $work/10k.txt" \
  "$static run -- cat $work/10k.txt" "$twin run -- cat $work/10k.txt")

echo "== hit path vs gh api --cache (real gh, local fake API)"
python3 bench/fake_github.py "$work/port" >/dev/null &
server_pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
export GH_HOST=github.localhost HTTP_PROXY=http://127.0.0.1:$(cat "$work/port") \
  GH_TOKEN=bench GH_ENTERPRISE_TOKEN=bench GH_NO_UPDATE_NOTIFIER=1
gh api --cache 1h repos/cli/cli >/dev/null
"$bin" gh api repos/cli/cli >/dev/null </dev/null
"$static" gh api repos/cli/cli >/dev/null </dev/null
mapfile -t gh < <(RUNS=100 bench gh "gh api --cache 1h repos/cli/cli" \
  "$bin gh api repos/cli/cli" "$static gh api repos/cli/cli" \
  "$twin gh api repos/cli/cli")
gh_bytes=$(gh api --cache 1h repos/cli/cli | wc -c)

echo "== miss overhead, 10 KB"
mapfile -t miss < <(bench miss "cat $work/10k.txt" \
  "$bin --refresh run -- cat $work/10k.txt")

echo "== hit latency with 100 and 100,000 entries"
IPFSACC_DIR=$work/small "$populate" "$work/small" 100
IPFSACC_DIR=$work/large "$populate" "$work/large" 100000
IPFSACC_DIR=$work/small "$bin" run -- cat "$work/10k.txt" >/dev/null </dev/null
IPFSACC_DIR=$work/large "$bin" run -- cat "$work/10k.txt" >/dev/null </dev/null
hyperfine -N --warmup 30 --runs 400 --export-json "$work/scale.json" \
  -n small "env IPFSACC_DIR=$work/small $bin run -- cat $work/10k.txt" \
  -n large "env IPFSACC_DIR=$work/large $bin run -- cat $work/10k.txt" >/dev/null 2>&1
mapfile -t scale < <(medians "$work/scale.json")

echo "== management commands with 100,000 entries"
# stats and list read a populated cache; purge --expired gets a fresh cache
# of expired entries before each run; every run of these starts after a
# sync, so that the writeback of what the steps before wrote (hundreds of
# MB) does not land in its time; export and import move 100 MB of
# payload as 100,000 outputs of 1 KB and as 10,000 of 10 KB.
mgmt=$work/large
mkdir -p "$work/exp"
hyperfine -N --warmup 5 --runs 50 --export-json "$work/mgmt.json" \
  -n stats "env IPFSACC_DIR=$mgmt $bin stats" \
  -n list "env IPFSACC_DIR=$mgmt $bin list --limit 20" \
  -n sorted "env IPFSACC_DIR=$mgmt $bin list --limit 20 --sort size" >/dev/null 2>&1
mapfile -t mgmt_ms < <(medians "$work/mgmt.json")
hyperfine -N --runs 5 --export-json "$work/purge.json" \
  --prepare "sh -c 'rm -rf $work/expired && $populate $work/expired 100000 1024 expired && sync'" \
  "env IPFSACC_DIR=$work/expired $bin purge --expired" >/dev/null 2>&1
mapfile -t purge_ms < <(medians "$work/purge.json")
"$populate" "$work/k10" 10000 10000
hyperfine -N --runs 5 --export-json "$work/export.json" --prepare sync \
  "env IPFSACC_DIR=$mgmt $bin export $work/exp/1k.jsonl" \
  "env IPFSACC_DIR=$work/k10 $bin export $work/exp/10k.jsonl" >/dev/null 2>&1
mapfile -t export_ms < <(medians "$work/export.json")
hyperfine -N --runs 5 --export-json "$work/import.json" \
  --prepare "sh -c 'rm -rf $work/imported && sync'" \
  "env IPFSACC_DIR=$work/imported $bin import $work/exp/1k.jsonl" \
  "env IPFSACC_DIR=$work/imported $bin import $work/exp/10k.jsonl" >/dev/null 2>&1
mapfile -t import_ms < <(medians "$work/import.json")
mbps() { python3 -c "print('%.0f' % ($1 / 1e6 / ($2 / 1000)))"; }

echo "== 100 MB through a miss and a hit"
big="head -c 100000000 /dev/zero"
measure() { # prints "seconds max_rss_kb"
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null </dev/null
  cat "$work/time"
}
read -r big_direct_s big_direct_kb < <(measure $big)
read -r big_miss_s big_miss_kb < <(measure "$bin" run -- $big)
read -r big_hit_s big_hit_kb < <(measure "$bin" run -- $big)

ratio() { python3 -c "print('%.2f' % ($1 / $2))"; }
sub() { python3 -c "print('%.3f' % ($1 - $2))"; }
static_size=$(stat -c %s "$static")
default_size=$(stat -c %s "$bin")
twin_size=$(stat -c %s "$twin")

# bench/remote.sh, bench/serve.sh, bench/compress.sh, bench/progress.sh,
# bench/release_sizes.sh and bench/compile_cpu.sh write their own sections
# (they need Redis, nginx and wrk, a corpus, a release, or take long); keep
# them.
remote_section=$(sed -n '/<!-- remote.sh: begin -->/,/<!-- remote.sh: end -->/p' bench/RESULTS.md 2>/dev/null || true)
serve_section=$(sed -n '/<!-- serve.sh: begin -->/,/<!-- serve.sh: end -->/p' bench/RESULTS.md 2>/dev/null || true)
compress_section=$(sed -n '/<!-- compress.sh: begin -->/,/<!-- compress.sh: end -->/p' bench/RESULTS.md 2>/dev/null || true)
progress_section=$(sed -n '/<!-- progress.sh: begin -->/,/<!-- progress.sh: end -->/p' bench/RESULTS.md 2>/dev/null || true)
release_section=$(sed -n '/<!-- release.sh: begin -->/,/<!-- release.sh: end -->/p' bench/RESULTS.md 2>/dev/null || true)
compile_section=$(sed -n '/<!-- compile_cpu.sh: begin -->/,/<!-- compile_cpu.sh: end -->/p' bench/RESULTS.md 2>/dev/null || true)
cat >bench/RESULTS.md <<MD
# Benchmark results

Written by \`bench/run.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //').
Medians of hyperfine runs (\`-N\`, no shell), each table measured in one run
against its baseline. Release build: "default" is what a plain build makes
and the package installs, the static front \`ipfsacc\` (its hit path's
functions placed together, packaging/hot-functions.txt); "static" is
\`-DIPFSACC_STATIC=ON\`; "dynamic" is the front's twin \`ipfsacc-dynamic\`
run directly (glibc shared, the rest static: the default before the front).

## Hit path, 10 KB output

| command | median |
| --- | --- |
| \`cat\` of the same bytes from a file (baseline) | ${hit[0]} ms |
| \`ipfsacc run -- cat FILE\`, hit (default: the static front) | ${hit[1]} ms |
| same, static binary | ${hit[2]} ms |
| same, the dynamic twin | ${hit[3]} ms |

Hit / cat: $(ratio "${hit[1]}" "${hit[0]}") (default build), $(ratio "${hit[2]}" "${hit[0]}") (static), $(ratio "${hit[3]}" "${hit[0]}") (dynamic).

## Against \`gh api --cache\` (real gh ($(gh --version | head -1 | cut -d' ' -f3)), local fake API, ${gh_bytes} bytes)

| command | median |
| --- | --- |
| \`gh api --cache 1h repos/cli/cli\`, cached in gh | ${gh[0]} ms |
| \`ipfsacc gh api repos/cli/cli\`, hit | ${gh[1]} ms |
| same, static binary | ${gh[2]} ms |
| same, the dynamic twin | ${gh[3]} ms |

ipfsacc is $(ratio "${gh[0]}" "${gh[1]}")× faster ($(ratio "${gh[0]}" "${gh[2]}")× static, $(ratio "${gh[0]}" "${gh[3]}")× dynamic).

## Miss overhead, 10 KB output

| command | median |
| --- | --- |
| \`cat FILE\` run directly | ${miss[0]} ms |
| \`ipfsacc --refresh run -- cat FILE\` (runs it, stores the entry) | ${miss[1]} ms |

Overhead of a miss: $(sub "${miss[1]}" "${miss[0]}") ms.

## Hit latency and cache size

| entries in the cache | median hit |
| --- | --- |
| 100 | ${scale[0]} ms |
| 100,000 | ${scale[1]} ms |

Ratio: $(ratio "${scale[1]}" "${scale[0]}").

## Management commands, 100,000 entries

| command | median | target |
| --- | --- | --- |
| \`ipfsacc stats\` | ${mgmt_ms[0]} ms | under 100 ms |
| \`ipfsacc list --limit 20\` | ${mgmt_ms[1]} ms | under 100 ms |
| \`ipfsacc list --limit 20 --sort size\` (reads every entry) | ${mgmt_ms[2]} ms | |
| \`ipfsacc purge --expired\`, 100,000 expired entries | ${purge_ms[0]} ms | under 2 s |

| export / import of 100 MB of payload | median | throughput |
| --- | --- | --- |
| export, 100,000 outputs of 1 KB | ${export_ms[0]} ms | $(mbps 102400000 "${export_ms[0]}") MB/s |
| export, 10,000 outputs of 10 KB | ${export_ms[1]} ms | $(mbps 100000000 "${export_ms[1]}") MB/s |
| import, 100,000 outputs of 1 KB (into an empty cache) | ${import_ms[0]} ms | $(mbps 102400000 "${import_ms[0]}") MB/s |
| import, 10,000 outputs of 10 KB (into an empty cache) | ${import_ms[1]} ms | $(mbps 100000000 "${import_ms[1]}") MB/s |

Target: export and import at 100 MB/s or more.

## 100 MB output

| | time | max RSS |
| --- | --- | --- |
| \`head -c 100000000 /dev/zero\` directly | ${big_direct_s} s | ${big_direct_kb} KB |
| through ipfsacc, miss (streamed and stored) | ${big_miss_s} s | ${big_miss_kb} KB |
| through ipfsacc, hit | ${big_hit_s} s | ${big_hit_kb} KB |

## Binary size

| build | size |
| --- | --- |
| default: the static front | ${default_size} bytes |
| default: its dynamic twin (libstdc++, LMDB, libsodium static; glibc shared) | ${twin_size} bytes |
| static (\`-DIPFSACC_STATIC=ON\`) | ${static_size} bytes |
MD
if [ -n "$serve_section" ]; then
  printf '\n%s\n' "$serve_section" >>bench/RESULTS.md
fi
if [ -n "$compress_section" ]; then
  printf '\n%s\n' "$compress_section" >>bench/RESULTS.md
fi
if [ -n "$remote_section" ]; then
  printf '\n%s\n' "$remote_section" >>bench/RESULTS.md
fi
if [ -n "$progress_section" ]; then
  printf '\n%s\n' "$progress_section" >>bench/RESULTS.md
fi
if [ -n "$release_section" ]; then
  printf '\n%s\n' "$release_section" >>bench/RESULTS.md
fi
if [ -n "$compile_section" ]; then
  printf '\n%s\n' "$compile_section" >>bench/RESULTS.md
fi
cat bench/RESULTS.md
