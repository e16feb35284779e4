# remote_redis_cluster: a Redis Cluster as the shared tier. Three real
# redis-server nodes on loopback in cluster mode, joined with
# `redis-cli --cluster create`; the remote URL names one node. Keys go to
# the node of their slot, a reshard while calls run costs redirections, and
# a node that dies costs misses, never a failed call.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib_redis.bash"

# cluster_ready: every node says the cluster is ok and knows its three
# masters.
cluster_ready() {
  local port
  for port in "${PORTS[@]}"; do
    rcli "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
    [[ $(rcli "$port" cluster nodes 2>/dev/null | grep -c master) == 3 ]] || return 1
  done
}

# start_cluster: three nodes, every slot assigned; PORTS holds their ports.
start_cluster() {
  local port i nodes=()
  PORTS=()
  for i in 1 2 3; do
    # A master that gives all its slots away stays a master.
    start_redis port 127.0.0.1 '' --cluster-enabled yes \
      --cluster-config-file nodes.conf --cluster-node-timeout 2000 \
      --cluster-allow-replica-migration no
    PORTS+=("$port")
    nodes+=("127.0.0.1:$port")
  done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes \
    >"$T/create.log" 2>&1 || fail "redis-cli --cluster create: $(cat "$T/create.log")"
  wait_until cluster_ready "the cluster to be ready"
}

# node_id PORT: the cluster's id of the node on PORT.
node_id() {
  rcli "$1" cluster myid
}

# keys_on PORT: how many of ipfsacc's keys the node holds.
keys_on() {
  rcli "$1" --scan --pattern 'ipfsacc:*' | wc -l
}

# moved_errors: how many MOVED replies the nodes gave, all told.
moved_errors() {
  local port n total=0
  for port in "${PORTS[@]}"; do
    n=$(rcli "$port" info errorstats | tr -d '\r' |
      sed -n 's/^errorstat_MOVED:count=\([0-9]*\)$/\1/p')
    total=$((total + ${n:-0}))
  done
  echo "$total"
}

# slot_maps_asked: how many CLUSTER SLOTS the nodes answered, all told.
slot_maps_asked() {
  local port n total=0
  for port in "${PORTS[@]}"; do
    n=$(rcli "$port" info commandstats | tr -d '\r' |
      sed -n 's/^cmdstat_cluster|slots:calls=\([0-9]*\),.*/\1/p')
    total=$((total + ${n:-0}))
  done
  echo "$total"
}

# slot_map_file: the file in which the current machine's cache keeps the
# cluster's slot map ("" when there is none).
slot_map_file() {
  compgen -G "$IPFSACC_DIR/remotes/redis-slots-*" || true
}

# A call per repository: their keys spread over the slots.
REPOS=(o/r01 o/r02 o/r03 o/r04 o/r05 o/r06 o/r07 o/r08 o/r09 o/r10 o/r11 o/r12)

# each_call LABEL: every call of REPOS through ipfsacc, each answering as the
# tool does, with no warning.
each_call() {
  local repo n=0
  for repo in "${REPOS[@]}"; do
    n=$((n + 1))
    run_direct "direct.$n" gh pr list -R "$repo"
    run_wrapped "$1.$n" gh pr list -R "$repo"
    expect_same_file "$T/direct.$n.out" "$T/$1.$n.out" "stdout of $1.$n"
    expect_eq 0 "$(cat "$T/$1.$n.rc")" "exit status of $1.$n"
    expect_not_contains "$(cat "$T/$1.$n.err")" "warning" "stderr of $1.$n"
  done
}

# expect_each_ran N: every call of REPOS ran its tool N times.
expect_each_ran() {
  local repo
  for repo in "${REPOS[@]}"; do
    expect_invocations "gh pr list -R $repo" "$1"
  done
}

test_two_machines_share_answers_through_a_cluster() {
  start_cluster
  local label=redis://127.0.0.1:${PORTS[0]} port
  on a
  export IPFSACC_REMOTE=$label$PATIENT
  each_call first
  expect_each_ran 1
  # Each node holds some of them: the keys went to their slots' nodes.
  for port in "${PORTS[@]}"; do
    (($(keys_on "$port") > 0)) || fail "node $port holds none of the keys"
  done
  expect_eq 0 "$(remote_stat "$label" errors)" "remote errors on a"
  # Another machine, through another node, gets every answer from the
  # cluster.
  on b
  label=redis://127.0.0.1:${PORTS[1]}
  export IPFSACC_REMOTE=$label$PATIENT
  each_call second
  expect_each_ran 1
  expect_eq "${#REPOS[@]}" "$(remote_stat "$label" hits)" "remote hits on b"
  expect_eq 0 "$(remote_stat "$label" errors)" "remote errors on b"
}

# A call learns the slot map from its first MOVED (the exchange that met it
# held two commands at most) and then sends each key straight to its node:
# a slot computed otherwise than Redis does would be answered MOVED again
# at the next command.
test_keys_go_straight_to_their_node_once_the_map_is_known() {
  start_cluster
  export IPFSACC_REMOTE=redis://127.0.0.1:${PORTS[0]}$PATIENT
  on a
  local repo before after n=0
  for repo in "${REPOS[@]}"; do
    n=$((n + 1))
    before=$(moved_errors)
    run_wrapped "miss.$n" gh pr list -R "$repo"
    after=$(moved_errors)
    expect_not_contains "$(cat "$T/miss.$n.err")" "warning" "stderr of miss.$n"
    # A miss reads the entry, then writes a blob and the entry.
    (((after - before) <= 2)) ||
      fail "miss.$n was answered MOVED $((after - before)) times"
  done
  expect_each_ran 1
}

test_a_reshard_while_calls_run_costs_only_redirections() {
  start_cluster
  export IPFSACC_REMOTE=redis://127.0.0.1:${PORTS[0]}$PATIENT
  on a
  each_call first
  local from to moved_keys
  from=$(node_id "${PORTS[0]}")
  to=$(node_id "${PORTS[1]}")
  # Slots move one key at a time while the other machines read them.
  redis-cli --cluster reshard "127.0.0.1:${PORTS[0]}" --cluster-from "$from" \
    --cluster-to "$to" --cluster-slots 5461 --cluster-yes \
    --cluster-pipeline 1 >"$T/reshard.log" 2>&1 &
  local reshard=$! round=0
  while kill -0 "$reshard" 2>/dev/null || ((round == 0)); do
    round=$((round + 1))
    on "during.$round"
    each_call "during.$round"
  done
  wait "$reshard" || fail "redis-cli --cluster reshard: $(tail -n 5 "$T/reshard.log")"
  wait_until cluster_ready "the cluster to settle"
  expect_eq 0 "$(keys_on "${PORTS[0]}")" "keys left on the node that gave its slots away"
  on after
  each_call after
  # Every machine got every answer from the cluster: only a ran the tool.
  expect_each_ran 1
}

test_a_dead_node_costs_misses_not_failures() {
  start_cluster
  export IPFSACC_REMOTE=redis://127.0.0.1:${PORTS[0]}$PATIENT
  on a
  each_call first
  stop_redis "127.0.0.1:${PORTS[2]}"
  on b
  local repo n=0 warned=0
  for repo in "${REPOS[@]}"; do
    n=$((n + 1))
    run_wrapped "second.$n" gh pr list -R "$repo"
    expect_same_file "$T/direct.$n.out" "$T/second.$n.out" "stdout of second.$n"
    expect_eq 0 "$(cat "$T/second.$n.rc")" "exit status of second.$n"
    # One warning at most: the remote is then left alone for the call.
    local lines
    lines=$(grep -c '^ipfsacc: warning: remote' "$T/second.$n.err" || true)
    ((lines <= 1)) || fail "second.$n warned $lines times"
    ((warned += lines))
  done
  ((warned > 0)) || fail "no call noticed the dead node"
}

# The slot map one process learned is kept in the cache directory: the next
# processes send each key straight to its node, with no MOVED and no
# CLUSTER SLOTS of their own.
test_the_slot_map_is_kept_for_the_next_process() {
  local REPOS=("${REPOS[@]:0:6}")
  start_cluster
  export IPFSACC_REMOTE=redis://127.0.0.1:${PORTS[0]}$PATIENT
  on a
  each_call first
  on b
  local asked moved
  asked=$(slot_maps_asked)
  moved=$(moved_errors)
  each_call second
  expect_each_ran 1
  expect_eq "${#REPOS[@]}" "$(remote_stat "redis://127.0.0.1:${PORTS[0]}" hits)" "remote hits on b"
  # The first of b's calls to meet a MOVED learned the map; the others
  # read it.
  expect_eq 1 "$(($(slot_maps_asked) - asked))" "CLUSTER SLOTS asked by b's calls"
  expect_eq 1 "$(($(moved_errors) - moved))" "MOVED answered to b's calls"
  local file
  file=$(slot_map_file)
  [[ -n $file ]] || fail "no slot map file in b's cache"
  expect_eq 600 "$(stat -c %a "$file")" "mode of the slot map file"
  expect_file_contains "$file" "redis://127.0.0.1:${PORTS[0]}"
}

# The file is a hint: a corrupt one is ignored, a stale one costs a MOVED
# and is learned again, one naming a node that is gone is dropped for the
# URL's node. Every answer stays right, with no warning.
test_a_corrupt_or_stale_slot_map_file_costs_only_redirections() {
  local REPOS=("${REPOS[@]:0:4}")
  start_cluster
  local url=redis://127.0.0.1:${PORTS[0]}
  export IPFSACC_REMOTE=$url$PATIENT
  on a
  each_call first
  on b
  each_call learn
  local file asked header
  file=$(slot_map_file)
  [[ -n $file ]] || fail "no slot map file in b's cache"
  header=$(head -n 1 "$file")
  # Every call of each round is a remote hit again.
  round() {
    ipfsacc purge --all --yes >/dev/null || fail "purge"
    each_call "$1"
    expect_each_ran 1
  }
  printf 'not a slot map\n' >"$file"
  round corrupt
  expect_eq "$header" "$(head -n 1 "$file")" "the map learned again"
  # Every slot on the URL's node: the keys of the others meet a MOVED, and
  # the first call to meet one learns the map again.
  printf '%s\n0 16383 %s 127.0.0.1\n' "$header" "${PORTS[0]}" >"$file"
  asked=$(slot_maps_asked)
  round stale
  expect_eq 1 "$(($(slot_maps_asked) - asked))" "CLUSTER SLOTS after a stale map"
  # Every slot on a port nothing listens on.
  printf '%s\n0 16383 1 127.0.0.1\n' "$header" >"$file"
  round gone
  grep -q '^0 16383 1 ' "$file" && fail "the map naming a dead node was kept"
  true
}

run_tests
