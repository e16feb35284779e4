# ipfs: what ipfsacc hands to an IPFS node is usable there, checked against a
# real node (js-ipfs, installed under tests/ipfs by the test command): a CAR
# export loads with `dag/import`, its roots are pinned, and every output
# comes back from the node byte for byte under exactly our blob CID.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

NODE_SH=$IPFSACC_SOURCE_DIR/tests/ipfs/node.sh
if [[ ! -x $IPFSACC_SOURCE_DIR/tests/ipfs/node_modules/.bin/jsipfs ]]; then
  echo "$SUITE: js-ipfs is not installed (npm install in tests/ipfs); skipped" >&2
  exit 125
fi
if ! command -v curl >/dev/null; then
  echo "$SUITE: curl is missing; skipped" >&2
  exit 125
fi

# One node for the whole suite: it takes seconds to start.
NODE_DIR=$SUITE_TMP/node
if ! IPFS_PORT=$("$NODE_SH" start "$NODE_DIR"); then
  echo "$SUITE: the IPFS node did not start" >&2
  exit 1
fi
trap '"$NODE_SH" stop "$NODE_DIR"; _cleanup' EXIT
API=http://127.0.0.1:$IPFS_PORT/api/v0

# rpc NAME PATH [CURL ARGS...]: POST to the node's RPC API, output in
# $T/NAME.out; fails the case on an HTTP error.
rpc() {
  local name=$1 path=$2
  shift 2
  if ! curl -sS -f --max-time 30 -X POST "$@" -o "$T/$name.out" "$API/$path" 2>"$T/$name.err"; then
    _show "$T/$name.err" >&2
    fail "the node refused $path"
  fi
}

# cid_of KEY STREAM: the CID of an entry's stdout or stderr, from the JSON
# Lines export (which names them as text).
cid_of() {
  ipfsacc export 2>/dev/null | grep -F "\"key\":\"$1\"" |
    grep -oE "\"$2\":\\{\"cid\":\"b[a-z2-7]+\"" | grep -oE 'b[a-z2-7]{58}'
}

test_car_export_loads_into_the_node() {
  make_git_repo "$W"
  FAKE_SIZE=300000 ipfsacc run -- fake-cli big >/dev/null 2>&1
  FAKE_BINARY=1 FAKE_STDERR=warned ipfsacc hf models info gpt2 >/dev/null 2>&1
  ipfsacc gh pr list -R o/r >/dev/null 2>&1
  manage_export() { capture x ipfsacc export --format car "$T/all.car"; }
  manage_export
  expect_rc 0
  rpc import "dag/import?pin-roots=true" -F "file=@$T/all.car"
  local roots
  roots=$(grep -c '"PinErrorMsg":""' "$T/import.out")
  expect_eq 3 "$roots" "roots imported and pinned"
  local root
  for root in $(grep -oE 'bafyrei[a-z2-7]+' "$T/import.out"); do
    # Asked by CID: an error when the root is not pinned.
    rpc pin "pin/ls?arg=$root&type=recursive"
  done

  # Every output is a block under its blob CID, holding exactly its bytes.
  local key n=0 stream cid
  for key in $(ipfsacc list --json | grep -oE 'bafkrei[a-z2-7]{52}' | sort -u); do
    for stream in stdout stderr; do
      cid=$(cid_of "$key" "$stream") || continue
      [[ -n $cid ]] || continue
      # show replays a recorded stream on the same stream.
      capture shown ipfsacc show --$stream "$key"
      rpc block "block/get?arg=$cid&timeout=5s"
      local shown=$T/shown.out
      [[ $stream == stderr ]] && shown=$T/shown.err
      expect_same_file "$shown" "$T/block.out" "$stream of $key from the node"
      n=$((n + 1))
    done
  done
  if ((n < 4)); then fail "only $n outputs were compared"; fi
}

run_tests
