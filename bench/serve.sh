#!/usr/bin/env bash
# Benchmarks of `ipfsacc serve` on loopback, against nginx serving the same
# bytes as a static file, in one run. Writes its section of bench/RESULTS.md
# (between the "serve.sh" markers; bench/run.sh keeps it).
#
#   bench/serve.sh            # builds build-bench (Release) if needed
#   BIN=path/to/ipfsacc bench/serve.sh
#   DURATION=10 CONNECTIONS=16 bench/serve.sh
#
# 1. Throughput and latency of a hit (a 10 KB Hugging Face answer, GET
#    /hf/…) with wrk, against nginx serving that answer's bytes from a file:
#    requests/s and p50/p99. Also the same request with caching turned off
#    (`x-ipfsacc-cache: off`: proxied to nginx every time).
# 2. The proxy's peak memory (VmHWM) while a 1 GiB download passes through
#    it on a cached route, and whether the client got every byte.
# Talks only to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

. bench/lib.sh
need_packages wrk nginx-light python3 curl

bench_binary
duration=${DURATION:-10}
connections=${CONNECTIONS:-16}

work=$(mktemp -d)
serve_pid=
nginx_pid=
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
unset $(env | grep -o '^IPFSACC_[A-Z_]*' || true)
export HOME=$work/home XDG_CACHE_HOME=$work/home/.cache XDG_CONFIG_HOME=$work/home/.config
mkdir -p "$HOME"
chmod 755 "$work"

# wait_for FILE: until FILE is not empty (a server wrote its port).
wait_for() {
  for _ in $(seq 600); do
    [ -s "$1" ] && return 0
    sleep 0.05
  done
  echo "bench/serve.sh: $1 never appeared" >&2
  exit 1
}

# nginx: one worker (the proxy's hits run on both cores too, so this is its
# best single-process configuration on a small machine: sendfile, no log).
mkdir -p "$work/www/api/models/bench" "$work/nginx"
python3 - "$work/www/api/models/bench/info" <<'PY'
import json, sys
siblings = [{"rfilename": f"shard-{i:05d}.safetensors"} for i in range(160)]
doc = {"id": "bench/model", "sha": "0" * 40, "siblings": siblings}
open(sys.argv[1], "w").write(json.dumps(doc)[:10240].ljust(10240))
PY
truncate -s 1G "$work/www/big.bin"
nginx_port=
for _ in $(seq 20); do
  nginx_port=$((20000 + RANDOM % 30000))
  cat >"$work/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  default_type application/json;
  client_body_temp_path $work/nginx;
  proxy_temp_path $work/nginx;
  fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx;
  scgi_temp_path $work/nginx;
  server {
    listen 127.0.0.1:$nginx_port;
    root $work/www;
  }
}
CONF
  nginx -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" &
  nginx_pid=$!
  ok=
  for _ in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$nginx_port/api/models/bench/info" && { ok=1; break; }
    kill -0 "$nginx_pid" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$ok" ] && break
  kill "$nginx_pid" 2>/dev/null || true
  wait "$nginx_pid" 2>/dev/null || true
  nginx_pid=
done
[ -n "$nginx_pid" ] || { echo "bench/serve.sh: nginx did not start" >&2; exit 1; }
nginx_url=http://127.0.0.1:$nginx_port

"$bin" serve --listen 127.0.0.1:0 --port-file "$work/serve.port" \
  --upstream "hf=$nginx_url" 2>"$work/serve.err" &
serve_pid=$!
wait_for "$work/serve.port"
serve_url=http://127.0.0.1:$(cat "$work/serve.port")/hf

path=/api/models/bench/info
# The entry, then a check that a hit gives nginx's bytes.
curl -sf -o /dev/null "$serve_url$path"
curl -sf -D "$work/hit.head" -o "$work/hit.body" "$serve_url$path"
grep -qi '^x-ipfsacc-cache: HIT' "$work/hit.head" || { echo "bench/serve.sh: no hit" >&2; exit 1; }
cmp -s "$work/hit.body" "$work/www$path" || { echo "bench/serve.sh: a hit differs from the file" >&2; exit 1; }
bytes=$(stat -c %s "$work/www$path")

# run_wrk NAME URL [wrk ARGS…]: prints "NAME|requests/s|p50 ms|p99 ms|errors".
run_wrk() {
  local name=$1 url=$2
  shift 2
  wrk -t2 -c"$connections" -d"${duration}s" --latency "$@" "$url" >"$work/wrk.out" 2>&1
  python3 - "$name" "$work/wrk.out" <<'PY'
import re, sys
name, text = sys.argv[1], open(sys.argv[2]).read()
def ms(label):
    m = re.search(r"^\s*%s\s+([\d.]+)(us|ms|s)\s*$" % re.escape(label), text, re.M)
    if not m:
        return float("nan")
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
errors = 0
m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
if m:
    errors += sum(int(x) for x in m.groups())
m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if m:
    errors += int(m.group(1))
print("%s|%.0f|%.3f|%.3f|%d" % (name, rps, ms("50%"), ms("99%"), errors))
PY
}

echo "== wrk, ${duration} s, ${connections} connections, 2 threads"
rows=()
rows+=("$(run_wrk "nginx, the same bytes as a static file (baseline)" "$nginx_url$path")")
rows+=("$(run_wrk "\`ipfsacc serve\`, hit" "$serve_url$path")")
rows+=("$(run_wrk "\`ipfsacc serve\`, \`x-ipfsacc-cache: off\` (proxied to nginx each time)" "$serve_url$path" -H 'x-ipfsacc-cache: off')")
printf '%s\n' "${rows[@]}"
nginx_rps=$(cut -d'|' -f2 <<<"${rows[0]}")
hit_rps=$(cut -d'|' -f2 <<<"${rows[1]}")
table=$(printf '%s\n' "${rows[@]}" | awk -F'|' '{ printf "| %s | %s | %s ms | %s ms | %s |\n", $1, $2, $3, $4, $5 }')

echo "== 1 GiB through the proxy"
hwm_before=$(sed -n 's/^VmHWM:\s*//p' /proc/$serve_pid/status)
big_sum=$(curl -sf "$serve_url/big.bin" | sha256sum | cut -d' ' -f1)
want_sum=$(sha256sum <"$work/www/big.bin" | cut -d' ' -f1)
hwm_after=$(sed -n 's/^VmHWM:\s*//p' /proc/$serve_pid/status)
big_ok=no
[ "$big_sum" = "$want_sum" ] && big_ok=yes
echo "peak before ${hwm_before}, after ${hwm_after}, every byte: ${big_ok}"

section=$(cat <<MD
<!-- serve.sh: begin -->
## \`ipfsacc serve\` against nginx on loopback (\`bench/serve.sh\`)

Written by \`bench/serve.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores, $(nginx -v 2>&1 | sed 's/.*\///'), wrk with 2 threads and
${connections} connections for ${duration} s each, one after the other in one
run; wrk, nginx and the proxy share the two cores. The answer is a
${bytes}-byte Hugging Face model-info JSON; the proxy's hit gives nginx's
bytes (checked). The proxy: $("$bin" --version | head -n 1), ${BUILD_TYPE:-a Release build}.

| server | requests/s | p50 | p99 | errors |
| --- | --- | --- | --- | --- |
${table}

Hit / nginx: $(python3 -c "print('%.2f' % (${hit_rps} / ${nginx_rps}))") (target: at least 0.50).

A 1 GiB download passed through the proxy on a cached route (\`/hf\`, too
large to be kept): peak resident memory of the proxy ${hwm_before} before,
${hwm_after} after (target: under 64 MB); the client got every byte: ${big_ok}.
<!-- serve.sh: end -->
MD
)
python3 bench/write_section.py serve.sh "$section"
printf '%s\n' "$section"
