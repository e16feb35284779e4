#!/usr/bin/env bash
# Starts or stops an offline js-ipfs node whose repository is DIR.
#   node.sh start DIR   init DIR, start the daemon, print its API port
#   node.sh stop DIR    stop the daemon and wait for it to exit
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
jsipfs=$here/node_modules/.bin/jsipfs
action=${1:?usage: node.sh start|stop DIR}
dir=${2:?usage: node.sh start|stop DIR}
export IPFS_PATH=$dir/repo

case $action in
  start)
    [[ -x $jsipfs ]] || { echo "node.sh: js-ipfs is not installed (npm install in $here)" >&2; exit 1; }
    mkdir -p "$dir"
    # Loopback only, port chosen by the system; no gateway, swarm, bootstrap
    # or discovery: the node never talks to anyone but us.
    cat >"$dir/init.json" <<'JSON'
{"Addresses": {"API": "/ip4/127.0.0.1/tcp/0", "Gateway": "", "RPC": "",
               "Swarm": [], "Announce": [], "NoAnnounce": [], "Delegates": []},
 "Bootstrap": [],
 "Discovery": {"MDNS": {"Enabled": false}, "webRTCStar": {"Enabled": false}}}
JSON
    "$jsipfs" init "$dir/init.json" >"$dir/init.log" 2>&1
    setsid "$jsipfs" daemon --offline --enable-preload=false >"$dir/daemon.log" 2>&1 &
    echo $! >"$dir/pid"
    for _ in $(seq 1 240); do
      if [[ -s $IPFS_PATH/api ]]; then
        port=$(sed -E 's#.*/tcp/([0-9]+).*#\1#' "$IPFS_PATH/api")
        # The API file appears before the server answers.
        if curl -sf -X POST "http://127.0.0.1:$port/api/v0/id" >/dev/null 2>&1; then
          echo "$port"
          exit 0
        fi
      fi
      if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then break; fi
      sleep 0.25
    done
    echo "node.sh: the node did not start:" >&2
    cat "$dir/daemon.log" >&2
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
  *) echo "usage: node.sh start|stop DIR" >&2; exit 2 ;;
esac
