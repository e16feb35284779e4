#!/usr/bin/env bash
# The hit path before and after the HTTP path (issue 5), in one hyperfine run:
#   bench/http_ab.sh BASE_BINARY NEW_BINARY   (Release builds of both)
set -euo pipefail
base=$1 new=$2
work=$(mktemp -d)
unset $(env | grep -o '^IPFSACC_[A-Z_]*' || true)
export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config
mkdir -p $HOME $work/repo
export PATH=$(cd "$(dirname "$0")/.." && pwd)/tests/fakes:$PATH
head -c 7500 /dev/urandom | base64 -w 76 >"$work/10k.txt"
cd $work/repo && git init -q && git -c user.name=b -c user.email=b@b commit -q --allow-empty -m i
for b in base new; do
  bin=${!b}
  export IPFSACC_DIR=$work/cache-$b
  $bin run -- cat $work/10k.txt >/dev/null </dev/null
  $bin gh api repos/cli/cli >/dev/null </dev/null
  $bin claude -p hi >/dev/null </dev/null
done
hyperfine -N --warmup 30 --runs ${RUNS:-300} --export-json $work/ab.json \
  -n "base run" "env IPFSACC_DIR=$work/cache-base $base run -- cat $work/10k.txt" \
  -n "new run" "env IPFSACC_DIR=$work/cache-new $new run -- cat $work/10k.txt" \
  -n "base gh" "env IPFSACC_DIR=$work/cache-base $base gh api repos/cli/cli" \
  -n "new gh" "env IPFSACC_DIR=$work/cache-new $new gh api repos/cli/cli" \
  -n "base claude" "env IPFSACC_DIR=$work/cache-base $base claude -p hi" \
  -n "new claude" "env IPFSACC_DIR=$work/cache-new $new claude -p hi" >/dev/null 2>&1
node -e 'for (const r of require(process.argv[1]).results) console.log(r.command.padEnd(12), (r.median*1000).toFixed(3), "ms median,", (r.mean*1000).toFixed(3), "mean")' $work/ab.json
# libcurl is not mapped on a hit.
IPFSACC_DIR=$work/cache-new LD_DEBUG=libs $new gh api repos/cli/cli 2>&1 >/dev/null | grep -c curl || true
rm -rf $work
