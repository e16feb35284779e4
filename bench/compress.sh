#!/usr/bin/env bash
# The compact store: what zstd saves on a corpus of realistic JSON outputs,
# and what it costs a hit. Writes its section of bench/RESULTS.md (between
# the "compress.sh" markers; bench/run.sh keeps it).
#
#   bench/compress.sh            # builds build-bench (Release) if needed
#   BIN=path/to/ipfsacc COUNT=100 RUNS=300 bench/compress.sh
#
# 1. Stored bytes: COUNT outputs of each kind of bench/json_corpus.py (gh api
#    issue lists, Hub model info, LLM chat completions) stored by
#    `ipfsacc run -- cat FILE` into a cache with compression = zstd (level 3,
#    the default) and one with compression = off: the data file and blob
#    files on disk (du), and the outputs as `stats --format json` counts
#    them.
# 2. Hit time of a 10 KB JSON output, compressed against kept whole, with
#    `cat` of the same bytes as the baseline, in one hyperfine run (-N,
#    medians), and the instructions of each hit (valgrind's callgrind).
# Talks to nothing: everything is local files.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

packaging/install-deps.sh bench
. bench/lib.sh
need_packages python3 zstd

bench_binary
count=${COUNT:-100}
runs=${RUNS:-300}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unset $(env | grep -o '^IPFSACC_[A-Z_]*' || true)
export HOME=$work/home XDG_CACHE_HOME=$work/home/.cache XDG_CONFIG_HOME=$work/home/.config
mkdir -p "$HOME"

python3 bench/json_corpus.py "$work/corpus" "$count"
files=("$work/corpus"/*.json)
corpus_bytes=$(cat "${files[@]}" | wc -c)

# fill DIR COMPRESSION: every corpus file stored once.
fill() {
  local f
  for f in "${files[@]}"; do
    IPFSACC_DIR=$1 IPFSACC_COMPRESSION=$2 "$bin" --ttl 1d run -- cat "$f" >/dev/null </dev/null
  done
}
# on_disk DIR: the data file and blob files, in bytes.
on_disk() {
  { du -sb --apparent-size "$1/data.mdb" "$1/blobs" 2>/dev/null || true; } |
    awk '{s += $1} END {print s}'
}
# stat DIR FIELD: a number of `stats --format json`.
stat() {
  IPFSACC_DIR=$1 "$bin" stats --format json |
    python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}

echo "== stored bytes: $((${#files[@]})) outputs, $corpus_bytes bytes"
fill "$work/zstd" zstd
fill "$work/off" off
zstd_disk=$(on_disk "$work/zstd")
off_disk=$(on_disk "$work/off")
zstd_packed=$(stat "$work/zstd" packed_bytes)
off_packed=$(stat "$work/off" packed_bytes)
# Each kind alone, as `zstd -3` would store each file (the library's own
# ratio, for comparison).
kinds=""
for kind in gh hf llm; do
  raw=$(cat "$work/corpus/$kind"-*.json | wc -c)
  packed=0
  for f in "$work/corpus/$kind"-*.json; do
    packed=$((packed + $(zstd -3 -q -c "$f" | wc -c)))
  done
  kinds+="$kind $raw $packed"$'\n'
done
echo "on disk: zstd $zstd_disk, off $off_disk; outputs as stored: zstd $zstd_packed, off $off_packed"

# Every output is served back as it was printed.
for f in "${files[@]}"; do
  IPFSACC_DIR=$work/zstd "$bin" --ttl 1d run -- cat "$f" | cmp -s - "$f" ||
    { echo "compress.sh: a hit of $f differs from the output" >&2; exit 1; }
done

echo "== hit time, 10 KB JSON: compressed vs kept whole vs cat"
python3 - "$work/10k.json" <<'EOF'
import json, random, sys
rng = random.Random(3)
items = []
while len(json.dumps(items)) < 10_000:
    n = rng.randint(1, 99999)
    items.append({"number": n, "title": "Fix the cache for case %d" % n,
                  "state": rng.choice(["open", "closed"]),
                  "url": "https://api.github.com/repos/octo/cat/issues/%d" % n,
                  "user": {"login": rng.choice(["octocat", "hubot", "monalisa"])},
                  "labels": [{"name": rng.choice(["bug", "docs", "perf"])}]})
text = json.dumps(items, separators=(",", ":"))[:10_000]
open(sys.argv[1], "w").write(text)
EOF
ten=$work/10k.json
IPFSACC_DIR=$work/hit-zstd IPFSACC_COMPRESSION=zstd "$bin" --ttl 1d run -- cat "$ten" >/dev/null </dev/null
IPFSACC_DIR=$work/hit-off IPFSACC_COMPRESSION=off "$bin" --ttl 1d run -- cat "$ten" >/dev/null </dev/null
load=$(cut -d' ' -f1 /proc/loadavg) # how busy the machine was (1-min average)
hit_zstd_packed=$(stat "$work/hit-zstd" packed_bytes)
hit_off_packed=$(stat "$work/hit-off" packed_bytes)
hyperfine -N --warmup 30 --runs "$runs" --export-json "$work/hit.json" \
  -n cat "cat $ten" \
  -n off "env IPFSACC_DIR=$work/hit-off $bin --ttl 1d run -- cat $ten" \
  -n zstd "env IPFSACC_DIR=$work/hit-zstd $bin --ttl 1d run -- cat $ten" \
  >"$work/hyperfine.txt"
cat "$work/hyperfine.txt"
# Instructions of one hit each (callgrind): steady where times are not on a
# busy machine. (valgrind hides the SHA extensions: both use the portable
# SHA-256.)
instructions() {
  env IPFSACC_DIR=$1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    "$bin" --ttl 1d run -- cat "$ten" 2>&1 >/dev/null |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
ins_off=$(instructions "$work/hit-off")
ins_zstd=$(instructions "$work/hit-zstd")
echo "instructions of a hit: off $ins_off, zstd $ins_zstd"

section=$(python3 - "$work/hit.json" "$corpus_bytes" "${#files[@]}" \
  "$zstd_disk" "$off_disk" "$zstd_packed" "$off_packed" \
  "$hit_zstd_packed" "$hit_off_packed" "$runs" "$kinds" "$ins_off" "$ins_zstd" "$load" "$(nproc)" <<'EOF'
import json, sys
(hit, corpus, n, zstd_disk, off_disk, zstd_packed, off_packed,
 hit_zstd, hit_off, runs, kinds, ins_off, ins_zstd, load, cores) = sys.argv[1:]
corpus, n = int(corpus), int(n)
zstd_disk, off_disk = int(zstd_disk), int(off_disk)
zstd_packed, off_packed = int(zstd_packed), int(off_packed)
results = json.load(open(hit))["results"]
med = {r["command"]: r["median"] * 1000 for r in results}
sd = {r["command"]: r["stddev"] * 1000 for r in results}
lines = [
    "<!-- compress.sh: begin -->",
    "## Compact store: zstd (`bench/compress.sh`)",
    "",
    "%d realistic JSON outputs (`bench/json_corpus.py`: gh api issue lists, Hub model "
    "info, LLM chat completions), %s bytes, each stored by `ipfsacc run -- cat FILE` "
    "into a cache with `compression = zstd` (level 3, the default) and one with "
    "`compression = off`, same run:" % (n, format(corpus, ",")),
    "",
    "| | compression = off | compression = zstd | smaller by |",
    "| --- | ---: | ---: | ---: |",
    "| outputs as stored (`stats`: packed_bytes) | %s | %s | %.2f× |"
    % (format(off_packed, ","), format(zstd_packed, ","), off_packed / zstd_packed),
    "| on disk (du of data.mdb and blobs/) | %s | %s | %.2f× |"
    % (format(off_disk, ","), format(zstd_disk, ","), off_disk / zstd_disk),
    "",
    "By kind, each file alone through `zstd -3` (what the store can reach):",
    "",
    "| kind | bytes | zstd -3, per file | ratio |",
    "| --- | ---: | ---: | ---: |",
]
for row in kinds.strip().splitlines():
    kind, raw, packed = row.split()
    lines.append("| %s | %s | %s | %.2f× |" % (kind, format(int(raw), ","),
                                               format(int(packed), ","), int(raw) / int(packed)))
lines += [
    "",
    "Hit of a 10 KB JSON output (`stats` packed_bytes, its record included: %s "
    "compressed, %s kept whole), hyperfine -N, %s runs, medians:"
    % (format(int(hit_zstd), ","), format(int(hit_off), ","), runs),
    "",
    "| | median ms | σ ms | vs whole |",
    "| --- | ---: | ---: | ---: |",
    "| `cat` of the same bytes | %.3f | %.1f | |" % (med["cat"], sd["cat"]),
    "| hit, kept whole (`compression = off`) | %.3f | %.1f | 1.00 |" % (med["off"], sd["off"]),
    "| hit, compressed | %.3f | %.1f | %.3f |" % (med["zstd"], sd["zstd"], med["zstd"] / med["off"]),
    "",
    "Load average %s on %s cores when the hits were timed: where σ is large the "
    "times say little, and the instruction counts below are the steadier figure."
    % (load, cores),
    "",
    "Instructions of one hit (callgrind, steadier than times on a busy machine): "
    "%s kept whole, %s compressed (%.3f×)."
    % (format(int(ins_off), ","), format(int(ins_zstd), ","), int(ins_zstd) / int(ins_off)),
    "",
    "Targets: stored bytes at least 3× smaller; a compressed hit within 5% of one "
    "kept whole.",
    "<!-- compress.sh: end -->",
]
print("\n".join(lines))
EOF
)
echo "$section"
python3 bench/write_section.py compress.sh "$section"
