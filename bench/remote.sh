#!/usr/bin/env bash
# Benchmarks of the shared remote tiers on loopback: Redis (one server and a
# three-node Redis Cluster), an IPFS node (js-ipfs from tests/ipfs) and an
# S3 bucket (s3rver from tests/s3, SigV4 signatures checked), the npm ones
# installed when missing and skipped when they cannot be. Writes its section of bench/RESULTS.md (between the
# "remote.sh" markers; bench/run.sh keeps it).
#
#   bench/remote.sh            # builds build-bench (Release) if needed
#   BIN=path/to/ipfsacc bench/remote.sh
#   NO_IPFS=1 bench/remote.sh  # leaves the IPFS row out (js-ipfs is large)
#
# 1. A remote hit (local miss, answer from Redis) of a 10 KB output, against
#    a local hit and a local hit with no remote configured, in one run.
#    The same remote hit from a Redis Cluster (the URL names one node; the
#    keys live on all three), from an IPFS node and from an S3 bucket; for
#    S3, what s3rver itself takes to answer the hit's two GETs (curl's
#    timings, one process, one connection).
# 2. 16 processes at once, each with its own empty local cache, asking one
#    Redis (then the cluster, then S3) for the same 64 entries: every call
#    must be a verified remote hit, with no error.
# Talks only to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

packaging/install-deps.sh bench
. bench/lib.sh
need_packages redis-server redis-tools python3

bench_binary

work=$(mktemp -d)
# Other work on the machine stretches every figure: the section says how
# busy it was when the run started.
load=$(cut -d' ' -f1-3 /proc/loadavg)
ipfs_dir=
s3_dir=
servers=() # "port:dir" of each redis-server started
cleanup() {
  [ -n "$ipfs_dir" ] && tests/ipfs/node.sh stop "$ipfs_dir" >/dev/null 2>&1 || true
  [ -n "$s3_dir" ] && tests/s3/server.sh stop "$s3_dir" >/dev/null 2>&1 || true
  local s
  for s in "${servers[@]}"; do
    redis-cli -p "${s%%:*}" shutdown nosave >/dev/null 2>&1 || true
    for _ in $(seq 100); do kill -0 "$(cat "${s#*:}/redis.pid" 2>/dev/null)" 2>/dev/null || break; sleep 0.05; done
  done
  rm -rf "$work"
}
trap cleanup EXIT
unset $(env | grep -o '^IPFSACC_[A-Z_]*' || true)
unset $(env | grep -o '^AWS_[A-Z_0-9]*' || true)
# The keys the S3 server (s3rver) knows; the other remotes ignore them.
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
export HOME=$work/home XDG_CACHE_HOME=$work/home/.cache XDG_CONFIG_HOME=$work/home/.config
mkdir -p "$HOME"

# start_redis [ARGS…]: a redis-server on a free port of 127.0.0.1; prints
# the port.
start_redis() {
  local port dir
  for _ in $(seq 20); do
    port=$((20000 + RANDOM % 30000))
    dir=$work/redis-$port
    mkdir -p "$dir"
    if redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
      --daemonize yes --pidfile "$dir/redis.pid" --dir "$dir" \
      --logfile "$dir/redis.log" "$@" >/dev/null 2>&1; then
      for _ in $(seq 100); do
        if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then
          echo "$port"
          return 0
        fi
        sleep 0.05
      done
    fi
  done
  echo "could not start redis-server" >&2
  return 1
}
port=$(start_redis)
servers+=("$port:$work/redis-$port")
remote=redis://127.0.0.1:$port

# Three nodes in cluster mode, every slot assigned.
cluster_nodes=()
for _ in 1 2 3; do
  p=$(start_redis --cluster-enabled yes --cluster-config-file nodes.conf)
  servers+=("$p:$work/redis-$p")
  cluster_nodes+=("127.0.0.1:$p")
done
redis-cli --cluster create "${cluster_nodes[@]}" --cluster-replicas 0 \
  --cluster-yes >"$work/cluster.log" 2>&1 || { cat "$work/cluster.log" >&2; exit 1; }
for node in "${cluster_nodes[@]}"; do
  until redis-cli -p "${node#*:}" cluster info | grep -q '^cluster_state:ok'; do
    sleep 0.05
  done
done
cluster=redis://${cluster_nodes[0]}

medians() {
  python3 -c '
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print("%.3f" % (r["median"] * 1000))' "$1"
}

head -c 7500 /dev/urandom | base64 -w 76 >"$work/10k.txt" # 10 KB of text
# The writer puts the entry in Redis; "local" keeps a local copy.
IPFSACC_DIR=$work/writer IPFSACC_REMOTE=$remote "$bin" --ttl 1h run -- cat "$work/10k.txt" >/dev/null </dev/null
IPFSACC_DIR=$work/local IPFSACC_REMOTE=$remote "$bin" --ttl 1h run -- cat "$work/10k.txt" >/dev/null </dev/null
IPFSACC_DIR=$work/plain "$bin" --ttl 1h run -- cat "$work/10k.txt" >/dev/null </dev/null
# The remote hit's cache exists (LMDB created) but lacks the entry: each
# run is prepared by purging it locally.
IPFSACC_DIR=$work/reader "$bin" run -- true </dev/null

echo "== remote hit vs local hit, 10 KB"
hyperfine -N --warmup 20 --runs "${RUNS:-300}" --export-json "$work/remote.json" \
  -n plain "env IPFSACC_DIR=$work/plain $bin --ttl 1h run -- cat $work/10k.txt" \
  -n local "env IPFSACC_DIR=$work/local IPFSACC_REMOTE=$remote $bin --ttl 1h run -- cat $work/10k.txt" \
  --prepare "env IPFSACC_DIR=$work/reader $bin purge --all --yes" \
  -n remote "env IPFSACC_DIR=$work/reader IPFSACC_REMOTE=$remote $bin --ttl 1h run -- cat $work/10k.txt" \
  >/dev/null 2>&1 || { echo "hyperfine failed" >&2; exit 1; }
mapfile -t hit < <(medians "$work/remote.json")
# hyperfine's --prepare applies to every command; the purge of "reader"
# does not touch the other two caches.
remote_hits=$(IPFSACC_DIR=$work/reader "$bin" stats --format json |
  python3 -c 'import json,sys; r=json.load(sys.stdin)["remotes"]; print(sum(v["hits"] for v in r.values()))')

echo "== remote hit from a Redis Cluster, 10 KB"
IPFSACC_DIR=$work/cluster-writer IPFSACC_REMOTE=$cluster "$bin" --ttl 1h run -- cat "$work/10k.txt" >/dev/null </dev/null
IPFSACC_DIR=$work/cluster-reader "$bin" run -- true </dev/null
hyperfine -N --warmup 20 --runs "${RUNS:-300}" --export-json "$work/cluster.json" \
  --prepare "env IPFSACC_DIR=$work/cluster-reader $bin purge --all --yes" \
  -n cluster "env IPFSACC_DIR=$work/cluster-reader IPFSACC_REMOTE=$cluster $bin --ttl 1h run -- cat $work/10k.txt" \
  >/dev/null 2>&1 || { echo "hyperfine failed" >&2; exit 1; }
cluster_hit=$(medians "$work/cluster.json")

echo "== remote hit from an IPFS node, 10 KB"
ipfs_hit=
if [ -z "${NO_IPFS:-}" ] && [ ! -x tests/ipfs/node_modules/.bin/jsipfs ] && command -v npm >/dev/null; then
  (cd tests/ipfs && npm install --no-audit --no-fund >/dev/null 2>&1) || true
fi
if [ -z "${NO_IPFS:-}" ] && [ -x tests/ipfs/node_modules/.bin/jsipfs ] &&
  ipfs_port=$(tests/ipfs/node.sh start "$work/ipfs"); then
  ipfs_dir=$work/ipfs
  ipfs_remote=ipfs://127.0.0.1:$ipfs_port
  IPFSACC_DIR=$work/ipfs-writer IPFSACC_REMOTE=$ipfs_remote "$bin" --ttl 1h run -- cat "$work/10k.txt" >/dev/null </dev/null
  IPFSACC_DIR=$work/ipfs-reader "$bin" run -- true </dev/null
  hyperfine -N --warmup 5 --runs "${IPFS_RUNS:-60}" --export-json "$work/ipfs.json" \
    --prepare "env IPFSACC_DIR=$work/ipfs-reader $bin purge --all --yes" \
    -n ipfs "env IPFSACC_DIR=$work/ipfs-reader IPFSACC_REMOTE=$ipfs_remote $bin --ttl 1h run -- cat $work/10k.txt" \
    >/dev/null 2>&1 && ipfs_hit=$(medians "$work/ipfs.json")
  ipfs_hits=$(IPFSACC_DIR=$work/ipfs-reader "$bin" stats --format json |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["remotes"]; print(sum(v["hits"] for v in r.values()))')
fi
if [ -n "$ipfs_hit" ]; then
  ipfs_row="| remote hit: local miss, entry and block from an IPFS node (js-ipfs $(sed -n 's/^  "version": "\(.*\)",$/\1/p' tests/ipfs/node_modules/ipfs/package.json), RPC API over HTTP), verified, copied, replayed | ${ipfs_hit} ms |"
  ipfs_note="IPFS remote hits counted by its reader: ${ipfs_hits}. Three RPC calls per hit (files/read of the entry and of the blob's root, block/get) on one connection to a Node.js server: the node's answer time, not ipfsacc's, is most of it."
elif [ -n "${NO_IPFS:-}" ]; then
  ipfs_row="| remote hit from an IPFS node | not measured (NO_IPFS set) |"
  ipfs_note=
else
  ipfs_row="| remote hit from an IPFS node | not measured (js-ipfs could not be installed or started) |"
  ipfs_note=
fi

echo "== remote hit from an S3 bucket, 10 KB"
s3_hit=
s3_remote=
if [ ! -x tests/s3/node_modules/.bin/s3rver ] && command -v npm >/dev/null; then
  (cd tests/s3 && npm install --no-audit --no-fund >/dev/null 2>&1) || true
fi
if [ -x tests/s3/node_modules/.bin/s3rver ] &&
  s3_port=$(tests/s3/server.sh start "$work/s3" bench); then
  s3_dir=$work/s3
  # s3rver is one Node.js process: under 16 clients at once an answer may
  # take longer than the default half second.
  s3_remote="s3://bench/ci|endpoint=http://127.0.0.1:$s3_port|timeout=10s|connect-timeout=5s"
  IPFSACC_DIR=$work/s3-writer IPFSACC_REMOTE=$s3_remote "$bin" --ttl 1h run -- cat "$work/10k.txt" >/dev/null </dev/null
  IPFSACC_DIR=$work/s3-reader "$bin" run -- true </dev/null
  hyperfine -N --warmup 10 --runs "${S3_RUNS:-100}" --export-json "$work/s3.json" \
    --prepare "env IPFSACC_DIR=$work/s3-reader $bin purge --all --yes" \
    -n s3 "env IPFSACC_DIR=$work/s3-reader IPFSACC_REMOTE=$s3_remote $bin --ttl 1h run -- cat $work/10k.txt" \
    >/dev/null 2>&1 && s3_hit=$(medians "$work/s3.json")
  s3_hits=$(IPFSACC_DIR=$work/s3-reader "$bin" stats --format json |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["remotes"]; print(sum(v["hits"] for v in r.values()))')
  # The same two GETs (the entry, then the blob) with curl, in one process
  # on one connection: the process (curl and libcurl loaded) and, from
  # curl's own timings, s3rver's answer time alone.
  entry=$(cd "$work/s3/data/bench/ci/entries" && ls | sed -n 's/\._S3rver_object$//p' | head -n 1)
  blob=$(cd "$work/s3/data/bench/ci/blobs" && ls | sed -n 's/\._S3rver_object$//p' | head -n 1)
  s3_url=http://127.0.0.1:$s3_port/bench/ci
  curl_gets=(curl -sS -o /dev/null -o /dev/null --aws-sigv4 aws:amz:us-east-1:s3
    --user S3RVER:S3RVER -H "x-amz-content-sha256: $(printf '' | sha256sum | cut -d' ' -f1)"
    -w '%{http_code} %{num_connects} %{time_total}\n' "$s3_url/entries/$entry" "$s3_url/blobs/$blob")
  for _ in $(seq "${S3_RUNS:-100}"); do "${curl_gets[@]}"; done >"$work/s3-curl.txt"
  s3_server=$(python3 -c '
import statistics, sys
lines = [l.split() for l in open(sys.argv[1])]
assert all(l[0] == "200" for l in lines), "curl: not every GET answered 200"
pairs = [float(a[2]) + float(b[2]) for a, b in zip(lines[::2], lines[1::2])]
assert all(b[1] == "0" for b in lines[1::2]), "curl: the second GET connected again"
print("%.3f" % (statistics.median(pairs) * 1000))' "$work/s3-curl.txt")
  hyperfine -N --warmup 10 --runs "${S3_RUNS:-100}" --export-json "$work/s3-curl.json" \
    -n curl "$(printf '%q ' "${curl_gets[@]}")" >/dev/null 2>&1 &&
    s3_curl=$(medians "$work/s3-curl.json")
  # What loading libcurl costs a process (ipfsacc opens it at its first
  # request): curl --version loads it and sets it up, true loads nothing.
  hyperfine -N --warmup 10 --runs "${S3_RUNS:-100}" --export-json "$work/curl-load.json" \
    -n true true -n curl-version "curl --version" >/dev/null 2>&1 &&
    mapfile -t curl_load < <(medians "$work/curl-load.json")
  libcurl_libs=$(ldd "$(ldconfig -p | sed -n 's/^\tlibcurl\.so\.4 (libc6,x86-64) => //p' | head -n 1)" | grep -c '=>' || true)
fi
if [ -n "$s3_hit" ]; then
  s3_row="| remote hit: local miss, entry and blob from an S3 bucket (s3rver $(sed -n 's/^  "version": "\(.*\)",$/\1/p' tests/s3/node_modules/s3rver/package.json), requests signed with SigV4), verified, copied, replayed | ${s3_hit} ms |"
  s3_row+="
| curl asking s3rver for the same two objects (SigV4), one process, one connection | ${s3_curl:-?} ms |
| of which s3rver's answers (curl's time_total of the two GETs; the baseline no client can beat) | ${s3_server} ms |
| a process that only loads libcurl (\`curl --version\`: libcurl, the ${libcurl_libs:-?} libraries it links, OpenSSL's setup) | ${curl_load[1]:-?} ms |
| a process that loads nothing (\`true\`) | ${curl_load[0]:-?} ms |"
  s3_note="S3 remote hits counted by its reader: ${s3_hits}. Two signed GETs per hit (the entry, then the blob) on one connection to a Node.js server."
else
  s3_row="| remote hit from an S3 bucket | not measured (s3rver could not be installed or started) |"
  s3_note=
fi

for i in $(seq 64); do
  head -c 7500 /dev/urandom | base64 -w 76 >"$work/f$i.txt"
done
# parallel REMOTE NAME: 16 processes at once, each with an empty cache of its
# own, each asking REMOTE for the 64 entries one writer stored there. Prints
# the table row of the outcome.
parallel() {
  local remote=$1 name=$2 i n
  for i in $(seq 64); do
    IPFSACC_DIR=$work/$name-writer IPFSACC_REMOTE=$remote "$bin" --ttl 1h run -- cat "$work/f$i.txt" >/dev/null </dev/null
  done
  worker() {
    local n=$1 i
    for i in $(seq 64); do
      IPFSACC_DIR=$work/$name-p$n IPFSACC_REMOTE=$remote "$bin" --ttl 1h run -- cat "$work/f$i.txt" </dev/null >"$work/$name-p$n.out.$i" 2>>"$work/$name-p$n.err"
      cmp -s "$work/f$i.txt" "$work/$name-p$n.out.$i" || echo "p$n f$i differs" >>"$work/$name-wrong"
    done
  }
  local start elapsed
  start=$(date +%s.%N)
  for n in $(seq 16); do worker "$n" & done
  wait
  elapsed=$(python3 -c "import sys; print('%.2f' % ($(date +%s.%N) - $start))")
  local hits misses errors timeouts down local_misses wrong=0 stderr_lines
  read -r hits misses errors timeouts down local_misses < <(
    for n in $(seq 16); do IPFSACC_DIR=$work/$name-p$n "$bin" stats --format json; done |
      python3 -c '
import json, sys
dec = json.JSONDecoder(); text = sys.stdin.read(); i = 0; t = [0] * 6
while i < len(text):
    while i < len(text) and text[i].isspace(): i += 1
    if i >= len(text): break
    d, i = dec.raw_decode(text, i)
    for r in d["remotes"].values():
        for k, name in enumerate(["hits", "misses", "errors", "timeouts", "down"]):
            t[k] += r[name]
    t[5] += d["misses"]
print(*t)')
  [ -f "$work/$name-wrong" ] && wrong=$(wc -l <"$work/$name-wrong")
  stderr_lines=$(cat "$work/$name"-p*.err 2>/dev/null | wc -l || true)
  echo "| $name | $elapsed s | $hits | $misses | $errors | $timeouts | $down | $local_misses | $wrong | $stderr_lines |"
}
echo "== 16 processes, one Redis, 64 entries each"
redis_row=$(parallel "$remote" redis)
echo "== 16 processes, a Redis Cluster, 64 entries each"
cluster_row=$(parallel "$cluster" cluster)
s3_parallel_row=
if [ -n "$s3_remote" ]; then
  echo "== 16 processes, an S3 bucket, 64 entries each"
  s3_parallel_row=$(parallel "$s3_remote" s3)
fi
cluster_keys=
for node in "${cluster_nodes[@]}"; do
  cluster_keys+="${cluster_keys:+, }$(redis-cli -p "${node#*:}" dbsize)"
done

section=$(cat <<MD
<!-- remote.sh: begin -->
## Remote tiers: Redis, Redis Cluster, IPFS and S3 on loopback (\`bench/remote.sh\`)

Written by \`bench/remote.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores, load average $load when it started.${BENCH_NOTE:+ ${BENCH_NOTE}} Redis $(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p'), 10 KB output, medians of hyperfine runs (\`-N\`; ${RUNS:-300} runs, ${IPFS_RUNS:-60} for IPFS, ${S3_RUNS:-100} for S3).

| command | median |
| --- | --- |
| local hit, no remote configured | ${hit[0]} ms |
| local hit, a remote configured (the same path: the setting is parsed, nothing connects) | ${hit[1]} ms |
| remote hit: local miss, entry and blob from Redis, verified, copied into the local cache, replayed | ${hit[2]} ms |
| the same from a Redis Cluster of three nodes (the URL names one; the slot map kept in the cache directory by an earlier process: each key straight to its node) | ${cluster_hit} ms |
${ipfs_row}
${s3_row}

Remote hit / local hit: $(python3 -c "print('%.2f' % (${hit[2]} / ${hit[0]}))") (target: remote hit under 5 ms).
Remote hits counted by the reader: ${remote_hits}. ${ipfs_note} ${s3_note}

16 processes at once, each with an empty cache of its own, each asking for
the same 64 entries (1024 calls):

| remote | time | remote hits | remote misses | errors | timeouts | down | tool runs | wrong outputs | stderr lines |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${redis_row}
${cluster_row}
${s3_parallel_row}

Expected: 1024 remote hits (hit rate 100%), everything else 0. Keys on the
cluster's three nodes: ${cluster_keys}.
<!-- remote.sh: end -->
MD
)
python3 bench/write_section.py remote.sh "$section"
printf '%s\n' "$section"
