# remote_s3: the S3 tier against a real S3 API on loopback: s3rver (from npm,
# installed under tests/s3 by the test command) with SigV4 signatures
# checked, started and stopped by each case. Two cache directories stand for
# two machines sharing one bucket; the fake tools' log shows which calls
# really ran a tool. What lands in the bucket is cross-checked with awscli.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

S3_SH=$IPFSACC_SOURCE_DIR/tests/s3/server.sh
if [[ ! -x $IPFSACC_SOURCE_DIR/tests/s3/node_modules/.bin/s3rver ]]; then
  echo "$SUITE: s3rver is not installed (npm install in tests/s3); skipped" >&2
  exit 125
fi
# Nothing of the machine's own AWS setup reaches a case.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE \
  AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 \
  AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE

BUCKET=cache
# The case's server: its port, and the label its remote has.
S3_PORT=
LABEL=s3://$BUCKET/ci
# Operations get a minute, not the default half second, where a case does
# not test timeouts: a busy machine's slow moment is not a remote failure.
PATIENT='|timeout=60s|connect-timeout=10s'

# start_s3: starts the case's s3rver (stopped when the case ends) and sets
# S3_PORT and REMOTE (the bucket's prefix ci/ on it).
start_s3() {
  S3_PORT=$("$S3_SH" start "$T/s3" "$BUCKET") || fail "s3rver did not start"
  REMOTE="$LABEL|endpoint=http://127.0.0.1:$S3_PORT$PATIENT"
}
eval "$(declare -f setup_case | sed '1s/^setup_case/_lib_setup_case/')"
setup_case() {
  _lib_setup_case "$@"
  trap '"$S3_SH" stop "$T/s3"; true' EXIT
}

# The keys s3rver knows.
keys() {
  export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
}

# objects: the names under the prefix, sorted, as s3rver's files hold them.
objects() {
  [[ -d $T/s3/data/$BUCKET ]] || return 0
  (cd "$T/s3/data/$BUCKET" && find . -name '*._S3rver_object' |
    sed -e 's#^\./##' -e 's#\._S3rver_object$##' | sort)
}

# object_file NAME: s3rver's file of an object's bytes.
object_file() { printf '%s' "$T/s3/data/$BUCKET/$1._S3rver_object"; }

# expect_aws_listing: awscli lists what s3rver's files hold (no case
# failure when awscli is missing: that check alone is skipped, said so).
expect_aws_listing() {
  if ! command -v aws >/dev/null || ! aws --version >/dev/null 2>&1; then
    echo "  $CASE: awscli is not installed (apt-get install awscli): the listing is not cross-checked" >&2
    return 0
  fi
  AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1 \
    aws --endpoint-url "http://127.0.0.1:$S3_PORT" s3 ls "s3://$BUCKET/ci/" --recursive \
    >"$T/aws.out" 2>"$T/aws.err" || { _show "$T/aws.err" >&2; fail "aws s3 ls failed"; }
  awk '{print $4}' "$T/aws.out" | sort >"$T/aws.names"
  objects >"$T/files.names"
  expect_same_file "$T/files.names" "$T/aws.names" "aws s3 ls against s3rver's files"
}

# on MACHINE: use the cache directory of one "machine" from now on.
on() { export IPFSACC_DIR=$T/machine-$1; }

remote_stat() { # LABEL NAME: a per-remote counter of the current machine
  stat_value "remotes.$1.$2"
}

CALL=(gh pr list -R o/r)
direct_answer() { run_direct direct "${CALL[@]}"; }
expect_answer() { # NAME: capture NAME answered like the tool itself
  expect_same_file "$T/direct.out" "$T/$1.out" "stdout of $1"
  expect_eq 0 "$(cat "$T/$1.rc")" "exit status of $1"
}

first_key() {
  ipfsacc list --json | grep -oE 'bafkrei[a-z2-7]{52}' | head -n 1
}

test_two_machines_share_one_bucket() {
  local key
  start_s3
  keys
  export IPFSACC_REMOTE=$REMOTE FAKE_SIZE=30000
  direct_answer
  on a
  run_wrapped first "${CALL[@]}"
  expect_answer first
  expect_empty "$T/first.err"
  expect_eq 1 "$(remote_stat "$LABEL" misses)" "misses of a"
  # The output went as its zstd frame, far smaller than its 30,000 bytes.
  local sent
  sent=$(remote_stat "$LABEL" bytes_sent)
  [[ $sent -gt 200 && $sent -lt 10000 ]] || fail "a sent $sent bytes for a 30,000-byte output"
  key=$(first_key)
  # One object per entry, one per output, named by CID.
  objects >"$T/names"
  expect_eq 2 "$(wc -l <"$T/names")" "objects in the bucket"
  expect_file_contains "$T/names" "ci/entries/$key"
  grep -qE '^ci/blobs/bafkrei[a-z2-7]{52}$' "$T/names" || fail "no blob named by its CID"
  # The output's zstd frame (compression), named by the frame's CID.
  zstd -dcq <"$(object_file "$(grep blobs/ "$T/names")")" >"$T/blob.out" ||
    fail "the blob is not a zstd frame"
  expect_same_file "$T/direct.out" "$T/blob.out" "the blob's bytes, decompressed"
  expect_aws_listing

  on b
  run_wrapped second --explain "${CALL[@]}"
  expect_answer second
  expect_invocations "gh pr list" 1 # b ran no tool
  expect_file_contains "$T/second.err" "from=$LABEL"
  expect_eq 1 "$(remote_stat "$LABEL" hits)" "remote hits of b"
  expect_eq 0 "$(remote_stat "$LABEL" errors)" "errors of b"

  # A blob already there is not sent again: --refresh sends the entry only.
  on c
  run_wrapped third --refresh "${CALL[@]}"
  expect_invocations "gh pr list" 2
  local sent
  sent=$(remote_stat "$LABEL" bytes_sent)
  [[ $sent -gt 0 && $sent -lt 30000 ]] || fail "c sent $sent bytes for a blob the bucket had"

  capture doctor ipfsacc doctor
  expect_file_contains "$T/doctor.out" "remote $LABEL: reachable"
  expect_not_contains "$(cat "$T/doctor.out" "$T/doctor.err")" "S3RVER"
  expect_eq 2 "$(objects | wc -l)" "objects after doctor's probe"
}

# The server logs each connection it accepts ("connection from port N")
# and each request ("request METHOD PATH from port N").
s3_log_size() { wc -l <"$T/s3/server.log"; }
# s3_log_since LINES NAME: what the server logged after its first LINES
# lines, into $T/NAME.log.
s3_log_since() { tail -n +$(($1 + 1)) "$T/s3/server.log" >"$T/$2.log"; }

# A process makes all its requests to the store on one connection: a miss
# (the entry asked for, the blob looked for and sent, the entry sent) and a
# hit (the entry, then its output) each connect once, and a hit asks for
# nothing else.
test_one_connection_per_process() {
  start_s3
  keys
  export IPFSACC_REMOTE=$REMOTE
  direct_answer
  on a
  local lines
  lines=$(s3_log_size)
  run_wrapped first "${CALL[@]}"
  expect_answer first
  expect_eq 1 "$(remote_stat "$LABEL" misses)" "misses of a"
  s3_log_since "$lines" miss
  expect_eq 4 "$(grep -c '^request ' "$T/miss.log")" "requests of the miss"
  expect_eq 1 "$(grep -c '^connection from' "$T/miss.log")" "connections of the miss"
  on b
  lines=$(s3_log_size)
  run_wrapped second "${CALL[@]}"
  expect_answer second
  expect_eq 1 "$(remote_stat "$LABEL" hits)" "remote hits of b"
  expect_invocations "gh pr list" 1
  s3_log_since "$lines" hit
  expect_eq 2 "$(grep -c '^request GET ' "$T/hit.log")" "GETs of the hit"
  expect_eq 2 "$(grep -c '^request ' "$T/hit.log")" "requests of the hit"
  expect_eq 1 "$(grep -c '^connection from' "$T/hit.log")" "connections of the hit"
}

# Wrong keys are refused by the store (SignatureDoesNotMatch, or
# InvalidAccessKeyId): a warning and a miss, the tool's own answer, and
# nothing written.
test_wrong_keys_are_a_warning_and_a_miss() {
  local what
  start_s3
  keys
  export IPFSACC_REMOTE=$REMOTE
  direct_answer
  on a
  run_wrapped first "${CALL[@]}"
  objects >"$T/before"
  expect_eq 2 "$(wc -l <"$T/before")" "objects stored by a"
  for what in SignatureDoesNotMatch InvalidAccessKeyId; do
    on "b-$what"
    if [[ $what == SignatureDoesNotMatch ]]; then
      AWS_SECRET_ACCESS_KEY=wrong-secret run_wrapped "$what" "${CALL[@]}"
    else
      AWS_ACCESS_KEY_ID=NOBODY run_wrapped "$what" "${CALL[@]}"
    fi
    expect_answer "$what"
    expect_eq 1 "$(grep -c 'ipfsacc: warning: remote' "$T/$what.err")" "warning lines ($what)"
    expect_file_contains "$T/$what.err" "HTTP 403 $what"
    expect_not_contains "$(cat "$T/$what.err")" "wrong-secret"
    expect_eq 1 "$(remote_stat "$LABEL" down)" "down-markings ($what)"
  done
  expect_invocations "gh pr list" 3
  objects >"$T/after"
  expect_same_file "$T/before" "$T/after" "the bucket after wrong keys"
}

# read-only, and no credentials at all (unsigned requests), read and never
# write.
test_read_only_and_anonymous_never_write() {
  start_s3
  direct_answer
  on a
  keys
  IPFSACC_REMOTE="$REMOTE|read-only" run_wrapped first "${CALL[@]}"
  expect_answer first
  expect_empty "$T/first.err"
  expect_eq 0 "$(objects | wc -l)" "objects after a read-only miss"
  on b
  (
    unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
    IPFSACC_REMOTE=$REMOTE run_wrapped second "${CALL[@]}"
  )
  expect_answer second
  expect_empty "$T/second.err"
  expect_eq 0 "$(objects | wc -l)" "objects after an anonymous miss"
  expect_eq 0 "$(remote_stat "$LABEL" bytes_sent)" "bytes sent anonymously"

  # Both read what a writer stored.
  on c
  IPFSACC_REMOTE=$REMOTE run_wrapped third --ttl 1h gh pr list -R o/other
  objects >"$T/before"
  on d
  IPFSACC_REMOTE="$REMOTE|read-only" run_wrapped fourth --explain --ttl 1h gh pr list -R o/other
  expect_file_contains "$T/fourth.err" "from=$LABEL"
  on e
  (
    unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
    IPFSACC_REMOTE=$REMOTE run_wrapped fifth --explain --ttl 1h gh pr list -R o/other
  )
  expect_file_contains "$T/fifth.err" "from=$LABEL"
  expect_invocations "gh pr list -R o/other" 1
  objects >"$T/after"
  expect_same_file "$T/before" "$T/after" "the bucket after read-only and anonymous hits"
}

# Credentials from AWS_PROFILE in the shared credentials file, from the
# secrets store, and temporary ones with their session token.
test_credentials_from_a_profile_and_the_secrets_store() {
  start_s3
  direct_answer
  mkdir -p "$HOME/.aws"
  printf '[default]\naws_access_key_id = NOBODY\naws_secret_access_key = x\n\n[ci]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n' \
    >"$HOME/.aws/credentials"
  on a
  AWS_PROFILE=ci IPFSACC_REMOTE=$REMOTE run_wrapped first "${CALL[@]}"
  expect_answer first
  expect_empty "$T/first.err"
  expect_eq 2 "$(objects | wc -l)" "objects stored with the profile's keys"
  rm "$HOME/.aws/credentials"
  printf 'S3RVER:S3RVER\n' | ipfsacc secrets set s3_credentials >"$T/set.out" 2>"$T/set.err" ||
    { _show "$T/set.err" >&2; fail "secrets set s3_credentials failed"; }
  on b
  IPFSACC_REMOTE=$REMOTE run_wrapped second gh pr list -R o/stored
  expect_empty "$T/second.err"
  expect_eq 4 "$(objects | wc -l)" "objects stored with the secrets store's keys"
  # Temporary credentials: the session token goes along, signed.
  on c
  AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_SESSION_TOKEN=session-token-1 \
    IPFSACC_REMOTE=$REMOTE run_wrapped third gh pr list -R o/session
  expect_empty "$T/third.err"
  expect_eq 6 "$(objects | wc -l)" "objects stored with a session token"
}

# An object changed in the bucket is never served: an output that does not
# hash to its CID, or an entry that is not bound to its key.
test_a_tampered_object_is_rejected() {
  local blob key other
  start_s3
  keys
  export IPFSACC_REMOTE=$REMOTE
  direct_answer
  on a
  run_wrapped first "${CALL[@]}"
  key=$(first_key)
  blob=$(objects | grep /blobs/)
  # The same size, other bytes.
  tr 'a-z' 'b-za' <"$T/direct.out" >"$(object_file "$blob")"
  on b
  run_wrapped second "${CALL[@]}"
  expect_answer second
  expect_invocations "gh pr list -R o/r" 2
  [[ $(remote_stat "$LABEL" errors) -ge 1 ]] || fail "the tampered blob was not counted"
  # b put the right bytes back.
  expect_same_file "$T/direct.out" "$(object_file "$blob")" "the blob after b stored it again"

  # The entry of another request put under this key.
  on c
  run_wrapped third gh pr list -R o/other
  other=$(objects | grep /entries/ | grep -v "$key")
  cp "$(object_file "$other")" "$(object_file "ci/entries/$key")"
  on d
  run_wrapped fourth "${CALL[@]}"
  expect_answer fourth
  expect_invocations "gh pr list -R o/r" 3
}

# Expiry travels in the entry: purge --remote --expired walks the bucket and
# removes the expired entries and the outputs no live entry uses.
test_purge_remote_expired_walks_the_bucket() {
  start_s3
  keys
  export IPFSACC_REMOTE=$REMOTE
  clock_start
  on a
  FAKE_SIZE=20000 run_wrapped first --ttl 1h gh pr list -R o/short
  FAKE_SIZE=30000 run_wrapped second --ttl 1d gh pr list -R o/long
  expect_eq 4 "$(objects | wc -l)" "objects before"
  clock_advance 7200
  on b
  capture purged ipfsacc purge --remote --expired
  expect_rc 0
  expect_file_contains "$T/purged.out" "Removed 1 expired entry and 1 unused output from remote $LABEL"
  expect_eq 2 "$(objects | wc -l)" "objects after"
  expect_aws_listing
  # The live one is still served.
  run_wrapped third --explain --ttl 1d gh pr list -R o/long
  expect_file_contains "$T/third.err" "from=$LABEL"
  expect_invocations "gh pr list -R o/long" 1
}

# A store that is down, slow or missing costs a miss and one warning, never
# the command.
test_a_down_store_costs_a_miss_and_one_warning() {
  local port what
  start_s3
  keys
  port=$S3_PORT
  "$S3_SH" stop "$T/s3"
  direct_answer
  for what in down nobucket; do
    on "$what"
    if [[ $what == down ]]; then
      IPFSACC_REMOTE="$LABEL|endpoint=http://127.0.0.1:$port" run_wrapped "$what" "${CALL[@]}"
    else
      start_s3
      IPFSACC_REMOTE="s3://no-such-bucket|endpoint=http://127.0.0.1:$S3_PORT$PATIENT" \
        run_wrapped "$what" "${CALL[@]}"
      expect_file_contains "$T/$what.err" "NoSuchBucket"
    fi
    expect_answer "$what"
    expect_eq 1 "$(grep -c 'ipfsacc: warning: remote' "$T/$what.err")" "warning lines ($what)"
    expect_eq 1 "$(wc -l <"$T/$what.err")" "stderr lines ($what)"
    expect_file_contains "$T/$what.err" "carrying on without it"
  done
  expect_invocations "gh pr list" 2
}

# A store that accepts connections and never answers: the call goes on after
# the timeout.
test_a_silent_store_times_out() {
  local port
  node -e '
    const net = require("net");
    const s = net.createServer(() => {}).listen(0, "127.0.0.1", () => {
      require("fs").writeFileSync(process.argv[1], String(s.address().port));
    });
    setTimeout(() => process.exit(0), 60000);' "$T/silent.port" &
  local pid=$!
  for _ in $(seq 100); do [[ -s $T/silent.port ]] && break; sleep 0.1; done
  port=$(cat "$T/silent.port")
  keys
  direct_answer
  on a
  local start=$SECONDS
  IPFSACC_REMOTE="$LABEL|endpoint=http://127.0.0.1:$port|timeout=300ms" run_wrapped first "${CALL[@]}"
  kill "$pid" 2>/dev/null
  expect_answer first
  expect_eq 1 "$(grep -c 'ipfsacc: warning: remote' "$T/first.err")" "warning lines"
  expect_eq 1 "$(remote_stat "$LABEL" timeouts)" "timeouts"
  ((SECONDS - start < 20)) || fail "the call took $((SECONDS - start)) s"
}

run_tests
