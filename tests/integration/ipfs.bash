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

# --- The IPFS remote tier ----------------------------------------------------
LABEL=ipfs://127.0.0.1:$IPFS_PORT
# The node is js-ipfs on a shared machine: an operation gets a minute, not
# the default half second, so that a slow moment is not a remote failure.
PATIENT='|timeout=60s|connect-timeout=10s'

# on MACHINE: use the cache directory of one "machine" from now on.
on() { export IPFSACC_DIR=$T/machine-$1; }

remote_stat() { # LABEL NAME: a per-remote counter of the current machine
  stat_value "remotes.$1.$2"
}

# node_has PATH: whether the node's MFS holds PATH (no case failure).
node_has() {
  curl -sS -f --max-time 30 -X POST "$API/files/stat?arg=$1" >/dev/null 2>&1
}

# key_of: the request CID of the current machine's only entry for ARGS.
first_key() {
  ipfsacc list --json | grep -oE 'bafkrei[a-z2-7]{52}' | head -n 1
}

test_two_machines_share_the_node() {
  export IPFSACC_REMOTE=$LABEL$PATIENT
  local call=(gh pr list -R o/ipfs-share) key
  run_direct direct "${call[@]}"
  on a
  run_wrapped first "${call[@]}"
  expect_same_file "$T/direct.out" "$T/first.out" "stdout of a"
  expect_invocations "gh pr list -R o/ipfs-share" 1
  expect_eq 1 "$(remote_stat "$LABEL" misses)" "misses of a"
  [[ $(remote_stat "$LABEL" bytes_sent) -gt 0 ]] || fail "a sent nothing"
  key=$(first_key)
  node_has "/ipfsacc/entries/$key" || fail "no entry /ipfsacc/entries/$key in the node"
  # The entry in MFS is the encoded entry ipfsacc stores.
  rpc entry "files/read?arg=/ipfsacc/entries/$key"
  [[ -s $T/entry.out ]] || fail "empty entry in MFS"

  on b
  run_wrapped second --explain "${call[@]}"
  expect_invocations "gh pr list -R o/ipfs-share" 1 # b ran no tool
  expect_same_file "$T/direct.out" "$T/second.out" "stdout of b"
  expect_file_contains "$T/second.err" "from=$LABEL"
  expect_eq 1 "$(remote_stat "$LABEL" hits)" "remote hits of b"
  expect_eq 0 "$(remote_stat "$LABEL" errors)" "errors of b"
}

test_a_blob_put_comes_back_with_our_cid() {
  export IPFSACC_REMOTE="http://127.0.0.1:$IPFS_PORT/api/v0|type=kubo$PATIENT"
  local label=http://127.0.0.1:$IPFS_PORT/api/v0 key cid
  on a
  FAKE_SIZE=50000 capture out ipfsacc run -- fake-cli blob-cid
  expect_eq 0 "$(remote_stat "$label" errors)" "errors"
  key=$(first_key)
  cid=$(cid_of "$key" stdout)
  [[ -n $cid ]] || fail "no stdout CID"
  rpc block "block/get?arg=$cid&timeout=5s"
  expect_same_file "$T/out.out" "$T/block.out" "the block under our blob CID"
  # Pinned, and its MFS pointer names the block itself.
  rpc pin "pin/ls?arg=$cid&type=recursive"
  rpc root "files/read?arg=/ipfsacc/blobs/$cid"
  expect_eq "$cid" "$(cat "$T/root.out")" "root of a one-block blob"
}

test_an_http_remote_needs_type_kubo() {
  export IPFSACC_REMOTE="http://127.0.0.1:$IPFS_PORT/api/v0"
  run_direct direct gh pr list -R o/ipfs-notype
  run_wrapped first gh pr list -R o/ipfs-notype
  expect_same_file "$T/direct.out" "$T/first.out"
  expect_file_contains "$T/first.err" "needs type=kubo"
  expect_eq 1 "$(grep -c 'warning: remote' "$T/first.err")" "warning lines"
}

test_a_large_output_round_trips_in_chunks() {
  export IPFSACC_REMOTE=$LABEL$PATIENT FAKE_SIZE=3000000
  local key cid root
  on a
  capture first ipfsacc run -- fake-cli chunky
  [[ $(wc -c <"$T/first.out") -gt 3000000 ]] || fail "the output is not over 3 MB"
  expect_eq 0 "$(remote_stat "$LABEL" errors)" "errors of a"
  expect_eq 0 "$(remote_stat "$LABEL" timeouts)" "timeouts of a"
  [[ $(remote_stat "$LABEL" bytes_sent) -ge 3000000 ]] || fail "a did not send the output"
  key=$(first_key)
  cid=$(cid_of "$key" stdout)
  rpc root "files/read?arg=/ipfsacc/blobs/$cid"
  root=$(cat "$T/root.out")
  expect_match "$root" '^bafyrei[a-z2-7]{52}$' "the manifest's CID"
  # The manifest is pinned, small, and links its chunks of 1,000,000 bytes,
  # which are pinned too.
  rpc pin "pin/ls?arg=$root&type=recursive"
  rpc manifest "block/get?arg=$root&timeout=5s"
  [[ $(wc -c <"$T/manifest.out") -lt 300 ]] || fail "the manifest is not small"
  rpc refs "refs?arg=$root&timeout=5s"
  local size chunks
  size=$(wc -c <"$T/first.out")
  chunks=$(((size + 999999) / 1000000))
  expect_eq "$chunks" "$(grep -c bafkrei "$T/refs.out")" "chunks linked by the manifest"
  local chunk
  for chunk in $(grep -oE 'bafkrei[a-z2-7]{52}' "$T/refs.out"); do
    rpc pin "pin/ls?arg=$chunk&type=recursive"
  done

  on b
  capture second ipfsacc --explain run -- fake-cli chunky
  expect_invocations "fake-cli chunky" 1
  expect_same_file "$T/first.out" "$T/second.out" "the output from the chunks"
  expect_eq 1 "$(remote_stat "$LABEL" hits)" "remote hits of b"
}

test_read_only_remote_is_never_written() {
  local key
  on a
  IPFSACC_REMOTE="$LABEL$PATIENT|read-only" run_wrapped first gh pr list -R o/ipfs-ro
  key=$(first_key)
  [[ -n $key ]] || fail "no local entry"
  if node_has "/ipfsacc/entries/$key"; then
    fail "a read-only remote was written"
  fi
  expect_eq 0 "$(remote_stat "$LABEL" bytes_sent)" "bytes sent"
  # It is read all the same.
  on b
  IPFSACC_REMOTE=$LABEL$PATIENT run_wrapped second gh pr list -R o/ipfs-ro-shared
  on c
  IPFSACC_REMOTE="$LABEL$PATIENT|read-only" run_wrapped third gh pr list -R o/ipfs-ro-shared
  expect_invocations "gh pr list -R o/ipfs-ro-shared" 1
}

# A forged mapping: the MFS pointer of one output names the blocks of
# another. Whatever the node serves is checked against the blob CID.
test_a_tampered_blob_is_rejected_and_counted() {
  export IPFSACC_REMOTE=$LABEL$PATIENT
  local cid_x cid_y
  on a
  FAKE_SIZE=1500000 capture x ipfsacc run -- fake-cli tamper-x
  cid_x=$(cid_of "$(first_key)" stdout)
  on y
  FAKE_SIZE=1600000 capture y ipfsacc run -- fake-cli tamper-y
  cid_y=$(cid_of "$(first_key)" stdout)
  [[ -n $cid_x && -n $cid_y && $cid_x != "$cid_y" ]] || fail "no two outputs"
  rpc rooty "files/read?arg=/ipfsacc/blobs/$cid_y"
  rpc forge "files/write?arg=/ipfsacc/blobs/$cid_x&create=true&truncate=true" \
    -F "file=@$T/rooty.out"

  on b
  FAKE_SIZE=1500000 capture second ipfsacc run -- fake-cli tamper-x
  expect_same_file "$T/x.out" "$T/second.out" "the answer of b"
  expect_invocations "fake-cli tamper-x" 2 # rejected: the tool ran
  expect_file_contains "$T/second.err" "does not match its CID; rejected"
  expect_eq 1 "$(grep -c 'warning: remote' "$T/second.err")" "warning lines"
  expect_eq 1 "$(remote_stat "$LABEL" errors)" "errors of b"
  expect_eq 0 "$(remote_stat "$LABEL" hits)" "hits of b"
}

# A changed block: js-ipfs stores a CAR block under the CID it names without
# checking it, and keeps it when the right bytes are put later.
test_a_changed_block_in_the_node_is_rejected() {
  local call=(gh pr list -R o/ipfs-car-tamper) cid
  run_direct direct "${call[@]}"
  on t
  run_wrapped plain "${call[@]}"
  capture car ipfsacc export --format car "$T/t.car"
  node -e '
    const fs = require("fs");
    const car = fs.readFileSync(process.argv[1]), out = fs.readFileSync(process.argv[2]);
    const at = car.indexOf(out);
    if (at < 0) process.exit(3);
    car[at] ^= 0x20;
    fs.writeFileSync(process.argv[3], car);' "$T/t.car" "$T/direct.out" "$T/changed.car" ||
    fail "the output is not in the CAR"
  rpc import "dag/import" -F "file=@$T/changed.car"
  cid=$(cid_of "$(first_key)" stdout)
  rpc changed "block/get?arg=$cid&timeout=5s"
  if cmp -s "$T/direct.out" "$T/changed.out"; then
    fail "the node serves the right bytes: nothing was changed"
  fi

  export IPFSACC_REMOTE=$LABEL$PATIENT
  on a
  run_wrapped first "${call[@]}"
  on b
  run_wrapped second "${call[@]}"
  expect_same_file "$T/direct.out" "$T/second.out" "stdout of b"
  expect_invocations "gh pr list -R o/ipfs-car-tamper" 3
  expect_file_contains "$T/second.err" "does not match its CID; rejected"
  expect_eq 1 "$(grep -c 'warning: remote' "$T/second.err")" "warning lines"
  expect_eq 1 "$(remote_stat "$LABEL" errors)" "errors of b"
  expect_eq 0 "$(remote_stat "$LABEL" hits)" "hits of b"
}

test_a_stopped_node_still_answers() {
  local node2=$T/node2 port2 label2
  port2=$("$NODE_SH" start "$node2") || fail "the second node did not start"
  label2=ipfs://127.0.0.1:$port2
  export IPFSACC_REMOTE=$label2$PATIENT
  run_direct direct gh pr list -R o/ipfs-stopped
  on a
  run_wrapped first gh pr list -R o/ipfs-stopped
  "$NODE_SH" stop "$node2"
  on b
  run_wrapped second gh pr list -R o/ipfs-stopped
  expect_same_file "$T/direct.out" "$T/second.out" "stdout of b"
  expect_eq 0 "$(cat "$T/second.rc")" "exit status of b"
  expect_invocations "gh pr list -R o/ipfs-stopped" 2
  expect_eq 1 "$(grep -c 'ipfsacc: warning: remote' "$T/second.err")" "warning lines"
  expect_eq 1 "$(wc -l <"$T/second.err")" "stderr lines"
  expect_eq 1 "$(remote_stat "$label2" down)" "down-markings"
}

# purge --remote --all unpins what ipfsacc pinned and removes /ipfsacc.
# The node expires nothing: an expired entry stays there, --offline takes
# it, and purge --remote --expired removes it and unpins the output no entry
# left uses, keeping the fresh ones.
test_purge_expired_cleans_the_node() {
  export IPFSACC_REMOTE=$LABEL$PATIENT
  local short long short_blob long_blob
  on a
  FAKE_SIZE=3000 capture s ipfsacc --ttl 2s run -- fake-cli short-lived
  short=$(first_key)
  short_blob=$(cid_of "$short" stdout)
  # A second later: the list shows it first.
  clock_advance 1
  FAKE_SIZE=4000 capture l ipfsacc --ttl 1h run -- fake-cli long-lived
  long=$(ipfsacc list --json | grep -oE 'bafkrei[a-z2-7]{52}' | grep -v "$short" | head -n 1)
  long_blob=$(cid_of "$long" stdout)
  [[ -n $short_blob && -n $long_blob ]] || fail "no blob CIDs"
  clock_advance 3
  on b
  FAKE_SIZE=3000 capture offline ipfsacc --offline --explain run -- fake-cli short-lived
  expect_rc 0
  expect_file_contains "$T/offline.err" "from=$LABEL"
  expect_file_contains "$T/offline.err" "expired="
  capture purge ipfsacc purge --remote --expired
  expect_rc 0
  grep -qE "Removed [1-9][0-9]* expired entr(y|ies) and [1-9][0-9]* unused outputs? from remote $LABEL" "$T/purge.out" ||
    fail "purge said: $(cat "$T/purge.out")"
  if node_has "/ipfsacc/entries/$short"; then fail "the expired entry is still there"; fi
  if node_has "/ipfsacc/blobs/$short_blob"; then fail "its output is still listed"; fi
  if curl -sS -f --max-time 30 -X POST "$API/pin/ls?arg=$short_blob" >/dev/null 2>&1; then
    fail "its output is still pinned"
  fi
  node_has "/ipfsacc/entries/$long" || fail "the fresh entry went too"
  node_has "/ipfsacc/blobs/$long_blob" || fail "the fresh entry's output went"
  rpc pinned "pin/ls?arg=$long_blob"
}

test_purge_unpins_and_removes_the_mfs_tree() {
  export IPFSACC_REMOTE=$LABEL$PATIENT
  local large
  on a
  FAKE_SIZE=2100000 capture big ipfsacc run -- fake-cli purge-me
  large=$(cid_of "$(first_key)" stdout)
  rpc root "files/read?arg=/ipfsacc/blobs/$large"
  local manifest
  manifest=$(cat "$T/root.out")
  rpc pinned "pin/ls?arg=$manifest&type=recursive"
  capture purge ipfsacc purge --remote --all --yes
  expect_rc 0
  expect_file_contains "$T/purge.out" "from remote $LABEL"
  if node_has /ipfsacc; then fail "/ipfsacc is still there"; fi
  if curl -sS -f --max-time 30 -X POST "$API/pin/ls?arg=$manifest&type=recursive" >/dev/null 2>&1; then
    fail "the manifest is still pinned"
  fi
}


# --- A hostile node ----------------------------------------------------------
# What the node serves is read no further than the entry needs: a manifest
# must give the entry's size before any chunk is fetched, and each chunk is
# read only up to the bytes it must hold. Each call's largest resident size
# is measured with GNU time.

# craft_manifest SIZE CHUNK_CID OUT: a chunk manifest block (DAG-CBOR, as
# lib/remote/ipfs.cpp writes it) claiming SIZE bytes in as many chunks as
# that needs, every one of them a link to CHUNK_CID.
craft_manifest() {
  node -e '
    const fs = require("fs");
    const [size, cid, out] = process.argv.slice(1);
    const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
    const raw = [];
    let value = 0, bits = 0;
    for (const c of cid.slice(1)) {
      value = (value << 5) | alphabet.indexOf(c);
      bits += 5;
      if (bits >= 8) {
        raw.push((value >> (bits - 8)) & 0xff);
        bits -= 8;
        value &= (1 << bits) - 1;
      }
    }
    const head = (major, n) => {
      n = BigInt(n);
      if (n < 24n) return Buffer.from([(major << 5) | Number(n)]);
      for (const [info, len] of [[24, 1], [25, 2], [26, 4], [27, 8]]) {
        if (n < 1n << BigInt(8 * len)) {
          const b = Buffer.alloc(1 + len);
          b[0] = (major << 5) | info;
          for (let i = 0; i < len; i++) b[len - i] = Number((n >> BigInt(8 * i)) & 0xffn);
          return b;
        }
      }
    };
    const text = (s) => Buffer.concat([head(3, s.length), Buffer.from(s)]);
    const link = Buffer.concat([head(6, 42), head(2, raw.length + 1), Buffer.from([0, ...raw])]);
    const n = Number((BigInt(size) + 999999n) / 1000000n);
    fs.writeFileSync(out, Buffer.concat([head(5, 3), text("size"), head(0, size),
      text("chunks"), head(4, n), ...Array(n).fill(link),
      text("format"), text("ipfsacc-chunks/1")]));
  ' "$@"
}

# forge_manifest BLOB_CID SIZE: the node's MFS pointer of a chunked blob
# names a manifest crafted by craft_manifest, linking the blob's first chunk.
forge_manifest() {
  local manifest chunk
  rpc root "files/read?arg=/ipfsacc/blobs/$1"
  rpc refs "refs?arg=$(cat "$T/root.out")&timeout=5s"
  chunk=$(grep -oE 'bafkrei[a-z2-7]{52}' "$T/refs.out" | head -n 1)
  [[ -n $chunk ]] || fail "the node lists no chunk of $1"
  craft_manifest "$2" "$chunk" "$T/forged.cbor"
  rpc forged "block/put?cid-codec=dag-cbor&format=dag-cbor&mhtype=sha2-256" \
    -F "file=@$T/forged.cbor"
  manifest=$(grep -oE 'bafyrei[a-z2-7]{52}' "$T/forged.out" | head -n 1)
  [[ -n $manifest ]] || fail "the node named no CID for the forged manifest"
  printf '%s' "$manifest" >"$T/pointer"
  rpc point "files/write?arg=/ipfsacc/blobs/$1&create=true&truncate=true" \
    -F "file=@$T/pointer"
}

# A manifest claiming some 24 GB (24,000 links to one chunk: as many as a
# block of under 1 MiB holds) under an output of 1.5 MB.
test_a_manifest_claiming_a_huge_size_is_refused_before_any_chunk() {
  [[ -x /usr/bin/time ]] || skip "GNU time is not installed"
  export IPFSACC_REMOTE=$LABEL$PATIENT FAKE_SIZE=1500000
  local cid size
  on a
  capture first ipfsacc run -- fake-cli huge-manifest
  size=$(wc -c <"$T/first.out")
  cid=$(cid_of "$(first_key)" stdout)
  forge_manifest "$cid" 24000000000

  on b
  measured second run -- fake-cli huge-manifest
  expect_rc 0
  expect_same_file "$T/first.out" "$T/second.out" "the answer of b"
  expect_invocations "fake-cli huge-manifest" 2 # rejected: the tool ran
  expect_file_contains "$T/second.err" \
    "does not match its CID; rejected (its manifest says 24000000000 bytes, its entry $size)"
  expect_eq 1 "$(grep -c 'warning: remote' "$T/second.err")" "warning lines"
  expect_eq 1 "$(remote_stat "$LABEL" errors)" "errors of b"
  expect_eq 0 "$(remote_stat "$LABEL" hits)" "hits of b"
  expect_eq 0 "$(remote_stat "$LABEL" down)" "b kept the node"
  expect_rss_below second 100
}

# A manifest of the right size whose last link names a whole chunk where
# half of one belongs: that chunk is not read past the half.
test_a_chunk_longer_than_its_place_is_not_read_whole() {
  export IPFSACC_REMOTE=$LABEL$PATIENT FAKE_SIZE=1500000
  local cid size
  on a
  capture first ipfsacc run -- fake-cli long-chunk
  size=$(wc -c <"$T/first.out")
  cid=$(cid_of "$(first_key)" stdout)
  forge_manifest "$cid" "$size"

  on b
  capture second ipfsacc run -- fake-cli long-chunk
  expect_rc 0
  expect_same_file "$T/first.out" "$T/second.out" "the answer of b"
  expect_invocations "fake-cli long-chunk" 2
  expect_file_contains "$T/second.err" "/block/get: the answer is larger than"
  expect_eq 1 "$(grep -c 'warning: remote' "$T/second.err")" "warning lines"
  expect_eq 1 "$(remote_stat "$LABEL" errors)" "errors of b"
}

# An entry whose outputs are over max_answer_size is refused before any of
# them is read, and not sent by a machine with that cap; within the cap of
# another machine it is served.
test_an_entry_over_max_answer_size_is_refused() {
  export IPFSACC_REMOTE=$LABEL$PATIENT FAKE_SIZE=1500000
  on a
  capture first ipfsacc run -- fake-cli over-cap
  on b
  IPFSACC_MAX_ANSWER_SIZE=1M capture second ipfsacc run -- fake-cli over-cap
  expect_rc 0
  expect_same_file "$T/first.out" "$T/second.out" "the answer of b"
  expect_invocations "fake-cli over-cap" 2 # refused: the tool ran
  expect_file_contains "$T/second.err" "more than max_answer_size (1000000); refused"
  expect_eq 1 "$(grep -c 'warning: remote' "$T/second.err")" "warning lines"
  expect_eq 1 "$(remote_stat "$LABEL" errors)" "errors of b"
  on c
  capture third ipfsacc run -- fake-cli over-cap
  expect_same_file "$T/first.out" "$T/third.out" "the answer of c"
  expect_invocations "fake-cli over-cap" 2
  expect_eq 1 "$(remote_stat "$LABEL" hits)" "hits of c"
}

run_tests
