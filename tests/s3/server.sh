#!/usr/bin/env bash
# Starts or stops an s3rver (an S3 API on the file system) whose data is in
# DIR, on a free loopback port, with one bucket named BUCKET. Requests are
# checked against their SigV4 signatures (keys S3RVER / S3RVER: see
# s3rver-sigv4.js); unsigned ones are served as anonymous, as s3rver does.
#   server.sh start DIR BUCKET   print the port
#   server.sh stop DIR           stop it and wait for it to exit
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
s3rver=$here/node_modules/.bin/s3rver
action=${1:?usage: server.sh start DIR BUCKET | stop DIR}
dir=${2:?usage: server.sh start DIR BUCKET | stop DIR}

case $action in
  start)
    bucket=${3:?usage: server.sh start DIR BUCKET}
    [[ -x $s3rver ]] || { echo "server.sh: s3rver is not installed (npm install in $here)" >&2; exit 1; }
    mkdir -p "$dir/data"
    (cd "$here" && exec setsid node --openssl-legacy-provider s3rver-sigv4.js "$dir/data" "$bucket") >"$dir/server.log" 2>&1 &
    echo $! >"$dir/pid"
    for _ in $(seq 1 240); do
      port=$(sed -nE 's/^S3rver listening on [0-9.]+:([0-9]+)$/\1/p' "$dir/server.log")
      if [[ -n $port ]]; then
        echo "$port"
        exit 0
      fi
      if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then break; fi
      sleep 0.1
    done
    echo "server.sh: s3rver did not start:" >&2
    cat "$dir/server.log" >&2
    exit 1
    ;;
  stop)
    [[ -s $dir/pid ]] || exit 0
    pid=$(cat "$dir/pid")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do
      kill -0 "$pid" 2>/dev/null || exit 0
      sleep 0.25
    done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    ;;
  *) echo "usage: server.sh start DIR BUCKET | stop DIR" >&2; exit 2 ;;
esac
