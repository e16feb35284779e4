# remote_redis: the shared Redis tier, against real redis-server processes
# on loopback. Two cache directories stand for two machines sharing one
# Redis; the fake tools' log shows which calls really ran a tool.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib_redis.bash"

test_two_machines_share_one_redis() {
  local port label
  start_redis port
  label=redis://127.0.0.1:$port
  export IPFSACC_REMOTE=$label$PATIENT
  direct_answer
  on a
  run_wrapped first "${CALL[@]}"
  expect_answer first
  expect_invocations "gh pr list" 1
  expect_eq 1 "$(rcli "$port" --scan --pattern 'ipfsacc:entry:*' | wc -l)" "entries in Redis"
  [[ $(remote_stat "$label" bytes_sent) -gt 0 ]] || fail "machine a sent nothing"
  expect_eq 1 "$(remote_stat "$label" misses)" "misses of a"

  on b
  run_wrapped second --explain "${CALL[@]}"
  expect_invocations "gh pr list" 1 # the second machine ran no tool
  expect_same_file "$T/direct.out" "$T/second.out" "stdout of b"
  expect_file_contains "$T/second.err" "HIT "
  expect_file_contains "$T/second.err" "from=$label"
  expect_eq 1 "$(remote_stat "$label" hits)" "remote hits of b"
  expect_eq 1 "$(stat_value hits)" "hits of b"
  [[ $(remote_stat "$label" bytes_received) -gt 0 ]] || fail "b received nothing"

  # Copied into b's own cache: the next call does not ask Redis.
  run_wrapped third --explain "${CALL[@]}"
  expect_answer third
  expect_not_contains "$(cat "$T/third.err")" "from="
  expect_eq 1 "$(remote_stat "$label" hits)" "remote hits of b after a local hit"
  expect_invocations "gh pr list" 1
}

# An entry expires in Redis with the entry: the key's TTL is the entry's.
# Redis counts down by the real clock from the case's start (where the
# cache's clock stands): a 1 h TTL leaves minutes of margin for a slow run.
test_redis_keys_expire_with_the_entry() {
  local port key ttl
  start_redis port
  export IPFSACC_REMOTE=redis://127.0.0.1:$port
  on a
  run_wrapped first --ttl 1h "${CALL[@]}"
  key=$(rcli "$port" --scan --pattern 'ipfsacc:entry:*')
  ttl=$(rcli "$port" pttl "$key")
  [[ $ttl -gt 3000000 && $ttl -le 3600000 ]] || fail "entry key expires in $ttl ms, not about 1 h"
  for key in $(rcli "$port" --scan --pattern 'ipfsacc:blob:*'); do
    ttl=$(rcli "$port" pttl "$key")
    [[ $ttl -gt 3000000 && $ttl -le 3600000 ]] || fail "blob key expires in $ttl ms"
  done
}

# ttl-refresh: a hit keeps the remote copy one full lifetime from now, so an
# answer in use outlives its freshness there for --offline readers; it is
# never served as fresh once expired, and purge --remote --expired removes
# it.
test_ttl_refresh_keeps_an_answer_in_use() {
  local port label key ttl
  start_redis port
  label=redis://127.0.0.1:$port
  export IPFSACC_REMOTE="$label$PATIENT|ttl-refresh"
  direct_answer
  on a
  run_wrapped first --ttl 1h "${CALL[@]}"
  key=$(rcli "$port" --scan --pattern 'ipfsacc:entry:*')
  # 50 minutes later another machine is answered from Redis.
  clock_advance 3000
  on b
  run_wrapped second "${CALL[@]}"
  expect_answer second
  expect_eq 1 "$(remote_stat "$label" hits)" "remote hits of b"
  # Kept until 1 h 50 min after the first call (Redis counts from the real
  # start of the case); without ttl-refresh it would go at 1 h.
  ttl=$(rcli "$port" pttl "$key")
  [[ $ttl -gt 6000000 && $ttl -le 6600000 ]] || fail "entry key kept $ttl ms after a hit, not about 110 min"
  for key in $(rcli "$port" --scan --pattern 'ipfsacc:blob:*'); do
    ttl=$(rcli "$port" pttl "$key")
    [[ $ttl -gt 6000000 && $ttl -le 6600000 ]] || fail "blob key kept $ttl ms after a hit"
  done
  # 80 minutes after the first call: expired, still on the remote.
  # --offline on a third machine takes it.
  clock_advance 1800
  on c
  run_wrapped third --offline --explain "${CALL[@]}"
  expect_answer third
  expect_file_contains "$T/third.err" "from=$label"
  expect_file_contains "$T/third.err" "expired="
  expect_invocations "gh pr list" 1
  # A plain call does not take an expired answer: the tool runs.
  on d
  capture plain_dry ipfsacc purge --remote --expired --dry-run
  expect_file_contains "$T/plain_dry.out" "Would remove the expired entries from remote $label"
  capture purged ipfsacc purge --remote --expired
  expect_rc 0
  expect_file_contains "$T/purged.out" "Removed 1 expired entry and 0 unused outputs from remote $label"
  expect_eq 0 "$(rcli "$port" --scan --pattern 'ipfsacc:entry:*' | wc -l)" "entries left in Redis"
  run_wrapped fourth --offline "${CALL[@]}"
  expect_eq 75 "$(cat "$T/fourth.rc")" "--offline after the purge"
  run_wrapped fifth "${CALL[@]}"
  expect_answer fifth
  expect_invocations "gh pr list" 2
}

test_a_blob_already_there_is_not_sent_again() {
  local port label
  start_redis port
  label=redis://127.0.0.1:$port
  # Outputs sent as printed: the bytes sent tell the output from the entry.
  export IPFSACC_REMOTE=$label$PATIENT FAKE_SIZE=20000 IPFSACC_COMPRESSION=off
  on a
  run_wrapped first "${CALL[@]}"
  [[ $(remote_stat "$label" bytes_sent) -gt 20000 ]] || fail "a did not send the output"
  on b
  # --refresh runs the tool again: the same output, so only the entry goes.
  run_wrapped second --refresh "${CALL[@]}"
  expect_invocations "gh pr list" 2
  local sent
  sent=$(remote_stat "$label" bytes_sent)
  [[ $sent -gt 0 && $sent -lt 20000 ]] || fail "b sent $sent bytes for a blob Redis had"
}

test_read_only_remote_is_never_written() {
  local port label
  start_redis port
  label=redis://127.0.0.1:$port
  direct_answer
  on a
  IPFSACC_REMOTE="$label$PATIENT|read-only" run_wrapped first "${CALL[@]}"
  expect_answer first
  expect_eq 0 "$(rcli "$port" dbsize)" "keys in Redis after a read-only miss"
  # It is read: what a writer stored reaches the read-only machine.
  on b
  IPFSACC_REMOTE=$label$PATIENT run_wrapped second --ttl 1h gh pr list -R o/other
  on c
  IPFSACC_REMOTE="$label$PATIENT|read-only" run_wrapped third --explain --ttl 1h gh pr list -R o/other
  expect_file_contains "$T/third.err" "from=$label"
  expect_invocations "gh pr list -R o/other" 1
  expect_eq 2 "$(rcli "$port" dbsize)" "keys in Redis (one entry, one blob)"
}

test_redis_killed_mid_run() {
  local port label
  start_redis port
  label=redis://127.0.0.1:$port
  export IPFSACC_REMOTE=$label$PATIENT
  direct_answer
  on a
  run_wrapped first "${CALL[@]}"
  stop_redis "127.0.0.1:$port"
  on b
  run_wrapped second "${CALL[@]}"
  expect_answer second
  expect_invocations "gh pr list" 2
  expect_eq 1 "$(grep -c 'ipfsacc: warning: remote' "$T/second.err")" "warning lines"
  expect_file_contains "$T/second.err" "carrying on without it"
  # Nothing but that warning on stderr.
  expect_eq 1 "$(wc -l <"$T/second.err")" "stderr lines"
  expect_eq 1 "$(remote_stat "$label" down)" "down-markings"
  [[ $(($(remote_stat "$label" errors) + $(remote_stat "$label" timeouts))) -ge 1 ]] ||
    fail "the failure was not counted"
  # The answer was stored locally all the same.
  run_wrapped third "${CALL[@]}"
  expect_answer third
  expect_invocations "gh pr list" 2
}

# A host name is resolved (within connect-timeout) and each of its
# addresses tried; a name that does not resolve is one warning.
test_host_names_resolve() {
  local port
  start_redis port
  direct_answer
  on a
  IPFSACC_REMOTE=redis://localhost:$port$PATIENT run_wrapped first "${CALL[@]}"
  expect_answer first
  expect_eq 1 "$(rcli "$port" --scan --pattern 'ipfsacc:entry:*' | wc -l)" "entries in Redis"
  on b
  IPFSACC_REMOTE=redis://localhost:$port$PATIENT run_wrapped second --explain "${CALL[@]}"
  expect_file_contains "$T/second.err" "from=redis://localhost:$port"
  expect_invocations "gh pr list" 1
  on c
  IPFSACC_REMOTE=redis://cache.invalid:6379 run_wrapped third "${CALL[@]}"
  expect_answer third
  expect_eq 1 "$(grep -c 'ipfsacc: warning: remote redis://cache.invalid:6379: .*resolv' "$T/third.err")" "warning lines"
  expect_invocations "gh pr list" 2
}

# A server that accepts connections and never answers: the call goes on
# after the timeout, as a timeout.
test_a_silent_remote_times_out() {
  command -v node >/dev/null || skip "node is needed for the silent server"
  local port
  node -e '
    const net = require("net");
    const s = net.createServer(() => {}).listen(0, "127.0.0.1", () => {
      require("fs").writeFileSync(process.argv[1], String(s.address().port));
    });
    setTimeout(() => process.exit(0), 300000);' "$T/silent.port" &
  local server=$!
  wait_until '[[ -s $T/silent.port ]]' "the silent server to listen"
  port=$(cat "$T/silent.port")
  export IPFSACC_REMOTE="redis://127.0.0.1:$port|timeout=200ms"
  direct_answer
  on a
  run_wrapped first "${CALL[@]}"
  kill "$server" 2>/dev/null
  expect_answer first
  expect_file_contains "$T/first.err" "timed out"
  expect_eq 1 "$(remote_stat "redis://127.0.0.1:$port" timeouts)" "timeouts"
  expect_eq 1 "$(remote_stat "redis://127.0.0.1:$port" down)" "down-markings"
}

test_unreachable_remote_still_answers() {
  local port
  # A port nothing listens on: take one and give it back.
  start_redis port
  stop_redis "127.0.0.1:$port"
  export IPFSACC_REMOTE="redis://127.0.0.1:$port"
  direct_answer
  run_wrapped first "${CALL[@]}"
  expect_answer first
  expect_file_contains "$T/first.err" "remote redis://127.0.0.1:$port: connect"
  run_wrapped second "${CALL[@]}"
  expect_answer second
  expect_invocations "gh pr list" 1
}

test_tampered_remote_blob_is_rejected() {
  local port label key
  start_redis port
  label=redis://127.0.0.1:$port
  export IPFSACC_REMOTE=$label$PATIENT
  direct_answer
  on a
  run_wrapped first "${CALL[@]}"
  key=$(rcli "$port" --scan --pattern 'ipfsacc:blob:*' | head -n 1)
  [[ -n $key ]] || fail "no blob in Redis"
  rcli "$port" set "$key" "forged answer" keepttl >/dev/null
  on b
  run_wrapped second "${CALL[@]}"
  expect_answer second
  expect_not_contains "$(cat "$T/second.out")" "forged answer"
  expect_invocations "gh pr list" 2
  expect_file_contains "$T/second.err" "does not match its CID; rejected"
  expect_eq 1 "$(remote_stat "$label" errors)" "errors"
  expect_eq 0 "$(remote_stat "$label" hits)" "hits"
}

# An entry is bound to the request it answers: copied under another
# request's key, it is refused, and that request runs its own tool.
test_an_entry_copied_under_another_key_is_refused() {
  local port label aaa bbb
  start_redis port
  label=redis://127.0.0.1:$port
  export IPFSACC_REMOTE=$label$PATIENT
  on a
  run_wrapped first run -- echo AAA
  aaa=$(ipfsacc list --json | grep -oE 'bafkrei[a-z2-7]{52}' | head -n 1)
  on a2
  run_wrapped other run -- echo BBB
  bbb=$(ipfsacc list --json | grep -oE 'bafkrei[a-z2-7]{52}' | head -n 1)
  [[ -n $aaa && -n $bbb && $aaa != "$bbb" ]] || fail "no two keys ($aaa, $bbb)"
  rcli "$port" copy "ipfsacc:entry:$aaa" "ipfsacc:entry:$bbb" replace >/dev/null
  on b
  run_wrapped second --explain run -- echo BBB
  expect_eq BBB "$(cat "$T/second.out")" "stdout of b"
  expect_file_contains "$T/second.err" "is the entry of another request ($aaa)"
  expect_eq 1 "$(remote_stat "$label" errors)" "errors of b"
  expect_eq 0 "$(remote_stat "$label" hits)" "hits of b"
  # Nothing of it reached b's cache: the next call hits b's own answer.
  run_wrapped third --explain run -- echo BBB
  expect_eq BBB "$(cat "$T/third.out")" "stdout of b, again"
  expect_file_contains "$T/third.err" "HIT "
}

# With remote_trusted_keys, only entries signed by one of those keys are
# served: an unsigned one (a writer without the key) and a signed one whose
# bytes changed are refused, and a machine that cannot sign sends nothing.
test_signed_entries_when_keys_are_trusted() {
  local port label pub key
  start_redis port
  label=redis://127.0.0.1:$port
  export IPFSACC_REMOTE=$label$PATIENT
  # The team's writer makes its key; readers trust its public key.
  on a
  export IPFSACC_SECRETS_DIR=$T/secrets-a
  capture keygen ipfsacc secrets signing-key
  expect_rc 0
  pub=$(cat "$T/keygen.out")
  expect_match "$pub" '^[0-9a-f]{64}$' "the public key"
  capture again ipfsacc secrets signing-key
  expect_eq "$pub" "$(cat "$T/again.out")" "the same key the second time"
  export IPFSACC_REMOTE_TRUSTED_KEYS=$pub
  run_wrapped signed gh pr list -R o/signed
  # A machine without the key (and trusting none) still writes, unsigned.
  on u
  export IPFSACC_SECRETS_DIR=$T/secrets-u
  IPFSACC_REMOTE_TRUSTED_KEYS='' run_wrapped unsigned gh pr list -R o/unsigned
  expect_invocations "gh pr list -R o/unsigned" 1

  on b
  run_wrapped hit --explain gh pr list -R o/signed
  expect_invocations "gh pr list -R o/signed" 1
  expect_file_contains "$T/hit.err" "from=$label"
  run_wrapped refused gh pr list -R o/unsigned
  expect_invocations "gh pr list -R o/unsigned" 2
  expect_file_contains "$T/refused.err" "is not signed, and remote_trusted_keys asks for a signature"
  expect_eq 1 "$(remote_stat "$label" errors)" "errors of b"
  expect_eq 0 "$(remote_stat "$label" bytes_sent)" "bytes sent by b, which cannot sign"

  # A byte of the signed entry changed in Redis: the signature fails.
  key=$(on a; ipfsacc list --json | grep -oE 'bafkrei[a-z2-7]{52}' | head -n 1)
  rcli "$port" setrange "ipfsacc:entry:$key" 200 X >/dev/null
  on c
  run_wrapped changed gh pr list -R o/signed
  expect_invocations "gh pr list -R o/signed" 2
  expect_file_contains "$T/changed.err" "has a signature that does not verify"
  # And a key nobody trusts is refused by name.
  on a
  IPFSACC_SECRETS_DIR=$T/secrets-a IPFSACC_REMOTE_TRUSTED_KEYS=$pub \
    run_wrapped other gh pr list -R o/other-signed
  on d
  IPFSACC_REMOTE_TRUSTED_KEYS=$(printf '%064d' 0) run_wrapped stranger gh pr list -R o/other-signed
  expect_file_contains "$T/stranger.err" "is signed by $pub, which is not in remote_trusted_keys"
}

test_a_bad_trusted_key_is_a_clear_error() {
  capture set ipfsacc config set remote_trusted_keys not-a-key
  [[ $(cat "$T/set.rc") -ne 0 ]] || fail "config set took a bad key"
  expect_file_contains "$T/set.err" "'not-a-key' is not a public key"
}

test_sharded_remote() {
  local port a b c
  # One port on three loopback addresses: 127.0.0.* with shards=1,2,3.
  start_redis port 127.0.0.1
  start_redis b 127.0.0.2 "$port"
  start_redis c 127.0.0.3 "$port"
  local label="redis://127.0.0.*:$port"
  export IPFSACC_REMOTE="$label$PATIENT|shards=1,2,3"
  on a
  local repo
  for repo in r1 r2 r3 r4 r5 r6 r7 r8 r9 r10 r11 r12; do
    run_wrapped "a-$repo" gh pr list -R "o/$repo"
  done
  expect_invocations "gh pr list" 12
  local total=0 used=0 n host
  for host in 127.0.0.1 127.0.0.2 127.0.0.3; do
    n=$(redis-cli -h "$host" -p "$port" --scan --pattern 'ipfsacc:entry:*' | wc -l)
    total=$((total + n))
    ((n > 0)) && used=$((used + 1))
  done
  expect_eq 12 "$total" "entries over the shards (each on exactly one)"
  ((used >= 2)) || fail "12 entries all went to one shard"
  on b
  for repo in r1 r2 r3 r4 r5 r6 r7 r8 r9 r10 r11 r12; do
    run_wrapped "b-$repo" gh pr list -R "o/$repo"
    expect_same_file "$T/a-$repo.out" "$T/b-$repo.out" "stdout of o/$repo"
  done
  expect_invocations "gh pr list" 12
  expect_eq 12 "$(remote_stat "$label" hits)" "hits through the shards"
}

test_credentials_are_redacted() {
  local port label secret=s3cret-Passw0rd
  REDIS_AUTH=$secret start_redis port 127.0.0.1 "" --requirepass "$secret"
  label=redis://127.0.0.1:$port
  export IPFSACC_REMOTE="redis://:$secret@127.0.0.1:$port"
  direct_answer
  on a
  run_wrapped first "${CALL[@]}"
  expect_answer first
  expect_empty "$T/first.err"
  on b
  run_wrapped second --explain "${CALL[@]}"
  expect_invocations "gh pr list" 1
  expect_file_contains "$T/second.err" "from=$label"
  capture list ipfsacc config list
  expect_file_contains "$T/list.out" "redis://:***@127.0.0.1:$port"
  capture get ipfsacc config get remote
  capture doctor ipfsacc doctor
  capture stats ipfsacc stats
  capture json ipfsacc stats --format json
  capture prom ipfsacc stats --format prometheus
  # A wrong password: the warning names the remote, not the password.
  IPFSACC_REMOTE="redis://:wrong-$secret@127.0.0.1:$port" capture wrong ipfsacc gh pr list -R o/another
  expect_file_contains "$T/wrong.err" "remote $label"
  local f
  for f in second.err list.out get.out doctor.out doctor.err stats.out json.out prom.out wrong.err; do
    expect_not_contains "$(cat "$T/$f")" "$secret" "$f"
  done
  if grep -rqa "$secret" "$T/machine-a" "$T/machine-b"; then
    fail "the password reached a cache directory"
  fi
}

test_password_from_the_secrets_store() {
  local port label secret=st0red-Passw0rd
  REDIS_AUTH=$secret start_redis port 127.0.0.1 "" --requirepass "$secret"
  label=redis://127.0.0.1:$port
  printf '%s\n' "$secret" | ipfsacc secrets set redis_password >"$T/set.out" 2>"$T/set.err" ||
    { _show "$T/set.err" >&2; fail "secrets set redis_password failed"; }
  export IPFSACC_REMOTE=$label$PATIENT
  on a
  run_wrapped first "${CALL[@]}"
  expect_empty "$T/first.err"
  expect_eq 2 "$(REDIS_AUTH=$secret rcli "$port" dbsize)" "keys stored with the stored password"
  capture doctor ipfsacc doctor
  expect_file_contains "$T/doctor.out" "remote $label: reachable"
  expect_not_contains "$(cat "$T/doctor.out")" "$secret"
}

test_purge_remote() {
  local port ro label
  start_redis port
  start_redis ro
  label=redis://127.0.0.1:$port
  on a
  export IPFSACC_REMOTE=$label$PATIENT
  run_wrapped first gh pr list -R o/one
  run_wrapped second gh pr list -R o/two
  on c
  IPFSACC_REMOTE=redis://127.0.0.1:$ro run_wrapped third gh pr list -R o/one
  expect_eq 2 "$(rcli "$ro" dbsize)" "keys of the other remote"
  on a
  expect_eq 4 "$(rcli "$port" dbsize)" "keys before"
  # The entries selected here go from the remote too.
  capture one ipfsacc purge --remote --match 'gh pr list -R o/one'
  expect_rc 0
  expect_file_contains "$T/one.out" "Removed 1 entry from remote $label"
  expect_eq 3 "$(rcli "$port" dbsize)" "keys after purging one entry"
  # --all empties the writable remotes and leaves read-only ones alone.
  export IPFSACC_REMOTE="$label$PATIENT redis://127.0.0.1:$ro|read-only"
  capture dry ipfsacc purge --remote --all --yes --dry-run
  expect_eq 3 "$(rcli "$port" dbsize)" "keys after a dry run"
  capture all ipfsacc purge --remote --all --yes
  expect_rc 0
  expect_file_contains "$T/all.out" "from remote $label"
  expect_file_contains "$T/all.out" "Remote redis://127.0.0.1:$ro: read-only, left alone."
  expect_eq 0 "$(rcli "$port" dbsize)" "keys after purge --remote --all"
  expect_eq 2 "$(rcli "$ro" dbsize)" "keys of the read-only remote"
}

# purge --remote on a terminal: the entries removed out of those selected,
# or, for --all (one request that reports nothing on the way), how long it
# has taken; each line erased before its remote's summary.
test_purge_remote_shows_progress_on_a_terminal() {
  command -v script >/dev/null || skip "no script(1) to make a terminal"
  local port label
  start_redis port
  label=redis://127.0.0.1:$port
  on a
  export IPFSACC_REMOTE=$label$PATIENT
  run_wrapped first gh pr list -R o/one
  run_wrapped second gh pr list -R o/two
  export IPFSACC_PROGRESS_DELAY=0
  on_terminal one "$BOUNDED $IPFSACC_BIN purge --remote --match 'gh pr list -R o/one'"
  expect_eq 0 "$rc" "exit status"
  expect_file_contains "$T/one.tty" $'\rPurging remote '"$label: 1/1 entries (100%)"
  expect_screen one "Removed 1 entry, freed" "Removed 1 entry from remote $label"
  on_terminal all "$BOUNDED $IPFSACC_BIN purge --remote --all --yes"
  expect_eq 0 "$rc" "exit status"
  expect_file_contains "$T/all.tty" $'\rPurging remote '"$label of every ipfsacc key: "
  expect_screen all "Removed 1 entry, freed" "Removed 3 keys from remote $label"
  expect_eq 0 "$(rcli "$port" dbsize)" "keys after purge --remote --all"
}

test_stats_per_remote() {
  local port label
  start_redis port
  label=redis://127.0.0.1:$port
  export IPFSACC_REMOTE=$label$PATIENT
  on a
  run_wrapped first "${CALL[@]}"
  on b
  run_wrapped second "${CALL[@]}"
  capture text ipfsacc stats
  expect_file_contains "$T/text.out" "$label"
  capture prom ipfsacc stats --format prometheus
  expect_file_contains "$T/prom.out" "ipfsacc_remote_hits_total{remote=\"$label\"} 1"
  expect_file_contains "$T/prom.out" "ipfsacc_remote_down_total{remote=\"$label\"} 0"
  capture zero ipfsacc stats --zero
  expect_eq 0 "$(remote_stat "$label" hits)" "hits after --zero"
}

test_doctor_checks_each_remote() {
  local port ro gone
  start_redis port
  start_redis ro
  start_redis gone
  stop_redis "127.0.0.1:$gone"
  export IPFSACC_REMOTE="redis://127.0.0.1:$port$PATIENT redis://127.0.0.1:$ro$PATIENT|read-only redis://127.0.0.1:$gone"
  capture doctor ipfsacc doctor
  expect_rc 1
  expect_match "$(cat "$T/doctor.out")" "OK +remote redis://127.0.0.1:$port: reachable, [0-9.]+ ms [^,]*, writable"
  expect_file_contains "$T/doctor.out" "remote redis://127.0.0.1:$ro: reachable"
  expect_file_contains "$T/doctor.out" "read-only"
  expect_match "$(cat "$T/doctor.out")" "FAIL +remote redis://127.0.0.1:$gone: "
  expect_eq 0 "$(rcli "$port" dbsize)" "probe keys left behind"
}

test_bad_remote_setting_warns_and_runs() {
  direct_answer
  export IPFSACC_REMOTE="redis://127.0.0.1:6379|bogus"
  run_wrapped first "${CALL[@]}"
  expect_answer first
  expect_file_contains "$T/first.err" "unknown attribute 'bogus'"
  export IPFSACC_REMOTE="ftp://user:pw0rd@host"
  on b
  run_wrapped second "${CALL[@]}"
  expect_answer second
  expect_file_contains "$T/second.err" "no remote storage for ftp://"
  expect_not_contains "$(cat "$T/second.err")" "pw0rd"
  capture set ipfsacc config set remote "redis://h:1|timeout=soon"
  expect_rc 2
  expect_file_contains "$T/set.err" "timeout='soon' is not a duration"
}

test_rediss_says_tls_is_missing() {
  direct_answer
  export IPFSACC_REMOTE="rediss://127.0.0.1:6380"
  run_wrapped first "${CALL[@]}"
  expect_answer first
  expect_file_contains "$T/first.err" "rediss:// needs hiredis with TLS support"
}

# A server that answers a bulk reply one byte at a time: every read gets a
# byte within the timeout, but the operation must end at it. The call goes on
# as a timeout, and the connection is closed then, not when the process ends:
# the tool itself waits until the server saw it closed (FAKE_WAIT_FOR).
test_a_dripping_remote_ends_at_its_timeout() {
  command -v node >/dev/null || skip "node is needed for the dripping server"
  local port label
  node -e '
    const net = require("net");
    const fs = require("fs");
    const [portFile, closedFile] = process.argv.slice(1);
    const s = net.createServer((c) => {
      let sent = 0;
      let timer = null;
      c.on("error", () => {});
      c.once("data", () => {
        c.write("$1000\r\n");
        timer = setInterval(() => {
          if (sent < 1000) {
            c.write("x");
            sent++;
          }
        }, 300);
      });
      c.on("close", () => {
        clearInterval(timer);
        fs.writeFileSync(closedFile + ".tmp", `closed after ${sent} of 1000 bytes\n`);
        fs.renameSync(closedFile + ".tmp", closedFile);
      });
    }).listen(0, "127.0.0.1", () => {
      fs.writeFileSync(portFile, String(s.address().port));
    });
    setTimeout(() => process.exit(0), 600000);' "$T/drip.port" "$T/drip.closed" &
  local server=$!
  wait_until '[[ -s $T/drip.port ]]' "the dripping server to listen"
  port=$(cat "$T/drip.port")
  label=redis://127.0.0.1:$port
  export IPFSACC_REMOTE="$label|timeout=500ms|connect-timeout=10s"
  direct_answer
  on a
  FAKE_WAIT_FOR=$T/drip.closed run_wrapped first "${CALL[@]}"
  kill "$server" 2>/dev/null
  expect_answer first
  expect_invocations "gh pr list" 1
  expect_file_contains "$T/drip.closed" "closed after"
  expect_match "$(cat "$T/drip.closed")" "^closed after ([0-9]|[1-9][0-9]|[1-9][0-9][0-9]) of 1000 bytes$" \
    "what the server sent before the connection closed"
  expect_eq 1 "$(grep -c "^ipfsacc: warning: remote $label: .*timed out" "$T/first.err")" "timeout warnings"
  expect_eq 1 "$(grep -c '^ipfsacc: ' "$T/first.err")" "lines of ipfsacc"
  expect_eq 1 "$(remote_stat "$label" timeouts)" "timeouts"
  expect_eq 1 "$(remote_stat "$label" down)" "down-markings"
}

# A blob found not matching its CID is sent again by the store that follows
# (instead of "already there" lengthening the forged bytes' life): the next
# machine gets the answer from Redis.
test_a_rejected_remote_blob_is_overwritten_by_the_next_store() {
  local port label key
  start_redis port
  label=redis://127.0.0.1:$port
  export IPFSACC_REMOTE=$label$PATIENT
  direct_answer
  on a
  run_wrapped first "${CALL[@]}"
  key=$(rcli "$port" --scan --pattern 'ipfsacc:blob:*' | head -n 1)
  [[ -n $key ]] || fail "no blob in Redis"
  local length
  length=$(rcli "$port" strlen "$key") # the output, or its frame
  rcli "$port" set "$key" "forged answer" keepttl >/dev/null
  on b
  run_wrapped second "${CALL[@]}"
  expect_answer second
  expect_file_contains "$T/second.err" "does not match its CID; rejected"
  expect_invocations "gh pr list" 2
  expect_eq "$length" "$(rcli "$port" strlen "$key")" "length of the blob in Redis after b stored"
  on c
  run_wrapped third --explain "${CALL[@]}"
  expect_answer third
  expect_file_contains "$T/third.err" "from=$label"
  expect_not_contains "$(cat "$T/third.err")" "rejected"
  expect_invocations "gh pr list" 2
  expect_eq 1 "$(remote_stat "$label" hits)" "remote hits of c"
}

# An output that compresses goes to Redis as its zstd frame, under the
# frame's own CID (nothing under the output's: an ipfsacc from before
# compression finds no blob of its own there to reject and send again), and
# comes back verified to machines with compression on or off; a machine
# with it off sends outputs as printed, which the others read as well.
test_outputs_go_to_redis_compressed_and_every_setting_reads_them() {
  local port label key setting
  start_redis port
  label=redis://127.0.0.1:$port
  export IPFSACC_REMOTE=$label$PATIENT FAKE_SIZE=20000
  direct_answer
  on a
  run_wrapped first "${CALL[@]}"
  expect_answer first
  key=$(rcli "$port" --scan --pattern 'ipfsacc:blob:*')
  expect_eq 1 "$(printf '%s\n' "$key" | grep -c .)" "blobs in Redis"
  (($(rcli "$port" strlen "$key") * 3 < 20000)) || fail "the blob in Redis is not compressed"
  for setting in off zstd; do
    on "b-$setting"
    IPFSACC_COMPRESSION=$setting run_wrapped "second-$setting" --explain "${CALL[@]}"
    expect_answer "second-$setting"
    expect_file_contains "$T/second-$setting.err" "from=$label"
  done
  expect_invocations "gh pr list" 1
  # Kept as printed by a machine with compression off, read by the others.
  rcli "$port" flushall >/dev/null
  on c
  IPFSACC_COMPRESSION=off run_wrapped third "${CALL[@]}"
  expect_eq 1 "$(rcli "$port" --scan --pattern 'ipfsacc:blob:*' | wc -l)" "blobs in Redis"
  expect_eq "$(wc -c <"$T/direct.out")" "$(rcli "$port" strlen "$(rcli "$port" --scan --pattern 'ipfsacc:blob:*')")" "the output as printed"
  on d
  run_wrapped fourth --explain "${CALL[@]}"
  expect_answer fourth
  expect_file_contains "$T/fourth.err" "from=$label"
  expect_invocations "gh pr list" 2
}

run_tests
