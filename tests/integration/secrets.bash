# secrets: the encrypted store, `ipfsacc secrets`, and the injection of
# stored secrets into wrapped tools. No secret value may reach argv, the
# cache, statistics, --explain output or an export in the clear.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# The store's directory (the config directory: XDG_CONFIG_HOME/ipfsacc).
store_dir() { printf '%s' "$XDG_CONFIG_HOME/ipfsacc"; }

# set_secret NAME VALUE: the value piped in, as a script would.
set_secret() {
  printf '%s\n' "$2" | ipfsacc secrets set "$1" >"$T/set.out" 2>"$T/set.err" ||
    { _show "$T/set.err" >&2; fail "secrets set $1 failed"; }
}

expect_get() { # NAME VALUE
  capture get ipfsacc secrets get "$1"
  expect_rc 0
  expect_eq "$2" "$(cat "$T/get.out")" "secrets get $1"
}

# expect_auth_failure NAME: the capture NAME failed with the store's clear
# message, and no crash.
expect_auth_failure() {
  expect_eq 1 "$(cat "$T/$1.rc")" "exit status of $1"
  expect_file_contains "$T/$1.err" \
    "secrets file failed authentication: wrong key or modified"
}

# expect_no_value VALUE FILE...: none of the files contains VALUE.
expect_no_value() {
  local value=$1 f
  shift
  for f in "$@"; do
    if grep -qaF -- "$value" "$f"; then
      fail "$f contains the secret value"
    fi
  done
}

test_round_trip() {
  set_secret github_token ghp_round_trip_1
  expect_file_contains "$T/set.err" "stored github_token"
  expect_get github_token ghp_round_trip_1
  # Replacing keeps one entry; other names are independent.
  set_secret github_token ghp_round_trip_2
  set_secret my_service_key 'with spaces and $ymbols'
  expect_get github_token ghp_round_trip_2
  expect_get my_service_key 'with spaces and $ymbols'
  # --from-env copies a variable; google_api_key names gemini_api_key.
  MY_KEY=from-the-env ipfsacc secrets set google_api_key --from-env MY_KEY 2>/dev/null ||
    fail "--from-env failed"
  expect_get gemini_api_key from-the-env
  expect_get google_api_key from-the-env
  # list: names, source and time, never values.
  capture list ipfsacc secrets list
  expect_rc 0
  expect_file_contains "$T/list.out" "github_token"
  expect_file_contains "$T/list.out" "gemini_api_key"
  expect_file_contains "$T/list.out" "store"
  expect_no_value ghp_round_trip "$T/list.out" "$T/list.err"
  expect_no_value from-the-env "$T/list.out"
  GH_TOKEN=users-own capture list_env ipfsacc secrets list
  expect_match "$(grep github_token "$T/list_env.out")" "environment \(GH_TOKEN\), store"
  expect_no_value users-own "$T/list_env.out"
  GITHUB_TOKEN=users-other capture list_other ipfsacc secrets list
  expect_match "$(grep github_token "$T/list_other.out")" "environment \(GITHUB_TOKEN\), store"
  # rm, then get: exit 1 with a message.
  capture rm ipfsacc secrets rm github_token
  expect_rc 0
  capture missing ipfsacc secrets get github_token
  expect_rc 1
  expect_file_contains "$T/missing.err" "no secret named github_token"
  expect_empty "$T/missing.out"
  capture rm_again ipfsacc secrets rm github_token
  expect_rc 1
  capture path ipfsacc secrets path
  expect_eq "$(store_dir)/secrets.enc" "$(cat "$T/path.out")" "secrets path"
}

test_get_without_a_store_is_a_clear_error() {
  capture get ipfsacc secrets get github_token
  expect_rc 1
  expect_file_contains "$T/get.err" "no secret named github_token"
  [[ ! -e $(store_dir)/secrets.enc ]] || fail "get created a store"
}

test_usage_errors_exit_2() {
  capture none ipfsacc secrets
  expect_rc 2
  capture noname ipfsacc secrets set
  expect_rc 2
  capture unknown ipfsacc secrets frobnicate
  expect_rc 2
  capture help ipfsacc secrets --help
  expect_rc 0
  expect_file_contains "$T/help.out" "rotate-key"
}

test_bad_names_are_refused() {
  capture upper ipfsacc secrets set GitHub_Token </dev/null
  expect_rc 2
  expect_file_contains "$T/upper.err" "a-z, 0-9 and _"
}

test_a_value_given_as_an_argument_is_refused() {
  capture arg ipfsacc secrets set github_token ghp_on_the_command_line
  expect_rc 2
  expect_file_contains "$T/arg.err" "ps"
  expect_file_contains "$T/arg.err" "history"
  expect_no_value ghp_on_the_command_line "$T/arg.err" "$T/arg.out"
  capture eq ipfsacc secrets set github_token=ghp_on_the_command_line
  expect_rc 2
  expect_no_value ghp_on_the_command_line "$T/eq.err" "$T/eq.out"
  capture opt ipfsacc secrets set github_token --value=ghp_on_the_command_line
  expect_rc 2
  expect_no_value ghp_on_the_command_line "$T/opt.err" "$T/opt.out"
  [[ ! -e $(store_dir)/secrets.enc ]] || fail "a refused set created a store"
}

test_the_file_holds_no_plaintext() {
  set_secret github_token ghp_PLAINTEXT_MARKER_1234567890
  set_secret hf_token hf_PLAINTEXT_MARKER_abcdef
  if grep -raF -e PLAINTEXT_MARKER -e github_token -e hf_token "$(store_dir)"; then
    fail "the store's files hold a value or a name in the clear"
  fi
}

test_permissions() {
  set_secret github_token ghp_permissions
  expect_eq 700 "$(stat -c %a "$(store_dir)")" "mode of the directory"
  expect_eq 600 "$(stat -c %a "$(store_dir)/secrets.enc")" "mode of secrets.enc"
  expect_eq 600 "$(stat -c %a "$(store_dir)/secrets.key")" "mode of secrets.key"
  # Still so after a rewrite under a permissive umask.
  (umask 000 && set_secret other ghp_other)
  expect_eq 600 "$(stat -c %a "$(store_dir)/secrets.enc")" "mode after a rewrite"
}

test_wrong_key_is_a_clear_error_and_touches_nothing() {
  set_secret github_token ghp_wrong_key
  cp "$(store_dir)/secrets.enc" "$T/before"
  head -c 32 /dev/urandom >"$(store_dir)/secrets.key"
  capture get ipfsacc secrets get github_token
  expect_auth_failure get
  expect_no_value ghp_wrong_key "$T/get.out"
  # A write re-reads first: it fails the same way and writes nothing.
  printf 'x\n' | capture set ipfsacc secrets set another
  expect_auth_failure set
  capture list ipfsacc secrets list
  expect_auth_failure list
  expect_same_file "$T/before" "$(store_dir)/secrets.enc" "secrets.enc"
}

test_truncated_file_is_a_clear_error_and_touches_nothing() {
  set_secret github_token ghp_truncated
  local size
  size=$(stat -c %s "$(store_dir)/secrets.enc")
  for keep in 0 10 40 $((size - 1)); do
    cp "$(store_dir)/secrets.enc" "$T/full"
    head -c "$keep" "$T/full" >"$(store_dir)/secrets.enc"
    cp "$(store_dir)/secrets.enc" "$T/before"
    capture get ipfsacc secrets get github_token
    expect_auth_failure get
    printf 'x\n' | capture set ipfsacc secrets set another
    expect_auth_failure set
    expect_same_file "$T/before" "$(store_dir)/secrets.enc" "truncated to $keep"
    cp "$T/full" "$(store_dir)/secrets.enc"
  done
  expect_get github_token ghp_truncated
}

# flip FILE OFFSET: inverts one byte of FILE in place.
flip() {
  local byte
  byte=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "$(printf '\\%03o' $((byte ^ 0xff)))" |
    dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

test_a_flipped_byte_is_a_clear_error_and_touches_nothing() {
  set_secret github_token ghp_flipped
  local size
  size=$(stat -c %s "$(store_dir)/secrets.enc")
  cp "$(store_dir)/secrets.enc" "$T/good"
  # The magic, the version, the header's nonce, the ciphertext, the tag.
  for offset in 0 8 20 40 $((size - 1)); do
    cp "$T/good" "$(store_dir)/secrets.enc"
    flip "$(store_dir)/secrets.enc" "$offset"
    cp "$(store_dir)/secrets.enc" "$T/before"
    capture get ipfsacc secrets get github_token
    expect_auth_failure get
    printf 'x\n' | capture set ipfsacc secrets set another
    expect_auth_failure set
    expect_same_file "$T/before" "$(store_dir)/secrets.enc" "flipped at $offset"
  done
  cp "$T/good" "$(store_dir)/secrets.enc"
  expect_get github_token ghp_flipped
}

test_concurrent_writers_lose_nothing() {
  local i pids=()
  for i in $(seq 1 16); do
    (printf 'value-%s\n' "$i" | ipfsacc secrets set "name_$i" 2>"$T/set$i.err") &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    wait "${pids[i]}" || { _show "$T/set$((i + 1)).err" >&2; fail "set $((i + 1)) failed"; }
  done
  capture list ipfsacc secrets list
  for i in $(seq 1 16); do
    grep -q "^name_$i " "$T/list.out" || { _show "$T/list.out" >&2; fail "name_$i was lost"; }
    expect_get "name_$i" "value-$i"
  done
}

test_a_wrapped_tool_gets_the_stored_secret() {
  transparent before gh pr list -R o/r
  expect_file_contains "$T/before.wrapped.out" "token: none"
  set_secret github_token ghp_injected_value
  run_wrapped after gh pr list -R o/r
  expect_rc 0
  expect_file_contains "$T/after.out" "token: token-set"
  # Only in the child's environment: never in its argv.
  expect_no_value ghp_injected_value "$FAKE_LOG"
  # Passed-through calls (a write) get it too.
  run_wrapped write gh pr create -R o/r --title t --body b
  expect_file_contains "$T/write.out" "token: token-set"
  # So does `ipfsacc --no-cache`.
  run_wrapped nocache --no-cache gh pr list -R o/r
  expect_file_contains "$T/nocache.out" "token: token-set"
}

test_the_users_own_variable_wins() {
  set_secret github_token ghp_from_the_store
  FAKE_ECHO_ENV=GH_TOKEN run_wrapped stored gh pr list -R o/r
  expect_file_contains "$T/stored.out" "env GH_TOKEN=ghp_from_the_store"
  GH_TOKEN=ghp_users_own FAKE_ECHO_ENV=GH_TOKEN run_wrapped own gh pr list -R o/r
  expect_file_contains "$T/own.out" "env GH_TOKEN=ghp_users_own"
  # Any credential variable of the tool's: the stored one would override it.
  GITHUB_TOKEN=ghp_users_other FAKE_ECHO_ENV=GH_TOKEN run_wrapped other gh pr list -R o/r
  expect_file_contains "$T/other.out" "env GH_TOKEN unset"
  expect_invocations "gh pr list" 3
  make_git_repo "$W"
  set_secret anthropic_api_key sk-ant-stored
  CLAUDE_CODE_OAUTH_TOKEN=oauth FAKE_ECHO_ENV=ANTHROPIC_API_KEY \
    run_wrapped oauth claude -p hello
  expect_file_contains "$T/oauth.out" "env ANTHROPIC_API_KEY unset"
  FAKE_ECHO_ENV=ANTHROPIC_API_KEY run_wrapped key claude -p hello
  expect_file_contains "$T/key.out" "env ANTHROPIC_API_KEY=sk-ant-stored"
}

test_two_tokens_make_two_entries() {
  set_secret github_token ghp_account_one
  run_wrapped a1 -v gh pr list -R o/r
  expect_explain a1 MISS
  local one=$CID
  set_secret github_token ghp_account_two
  run_wrapped b1 -v gh pr list -R o/r
  expect_explain b1 MISS
  expect_ne "$one" "$CID" "key of the second account"
  run_wrapped b2 -v gh pr list -R o/r
  expect_explain b2 HIT
  set_secret github_token ghp_account_one
  run_wrapped a2 -v gh pr list -R o/r
  expect_explain a2 HIT
  expect_eq "$one" "$CID" "key of the first account again"
  expect_stat entries 2
  expect_invocations "gh pr list" 2
  # The same token from the environment is the same account.
  GH_TOKEN=ghp_account_one run_wrapped env1 -v gh pr list -R o/r
  expect_explain env1 HIT
  expect_eq "$one" "$CID" "key with the token in the environment"
}

test_no_secret_in_the_cache_stats_or_explain_output() {
  # Outputs kept as printed, so that grep would find a secret in them.
  export IPFSACC_COMPRESSION=off
  local value=ghp_NEVER_ANYWHERE_7f3a9
  set_secret github_token "$value"
  set_secret hf_token "hf_$value"
  run_wrapped miss -v gh pr list -R o/r
  run_wrapped hit -v gh pr list -R o/r
  run_wrapped hf -v hf models info gpt2
  run_wrapped write -v gh pr create -R o/r --title t --body b
  expect_file_contains "$T/hit.out" "token: token-set"
  capture stats ipfsacc stats
  capture stats_json ipfsacc stats --format json
  capture stats_prom ipfsacc stats --format prometheus
  capture list ipfsacc secrets list
  expect_no_value "$value" "$T"/*.out "$T"/*.err "$FAKE_LOG"
  if grep -raF -- "$value" "$IPFSACC_DIR" "$(store_dir)"; then
    fail "the cache or the store holds the secret in the clear"
  fi
}

test_a_hit_with_the_variable_set_does_not_open_the_store() {
  set_secret github_token ghp_lazy
  GH_TOKEN=ghp_users run_wrapped miss gh pr list -R o/r
  # A store that cannot be opened would warn if it were read.
  head -c 32 /dev/urandom >"$(store_dir)/secrets.key"
  GH_TOKEN=ghp_users run_wrapped hit -v gh pr list -R o/r
  expect_explain hit HIT
  # Tools without mappings never look either.
  transparent code code --list-extensions
  # With the variable unset it is read: one warning, and the tool still runs.
  run_wrapped unset gh pr list -R o/r
  expect_rc 0
  expect_file_contains "$T/unset.err" "secrets file failed authentication"
  expect_file_contains "$T/unset.out" "token: none"
}

test_no_store_means_no_files_and_no_warning() {
  transparent a gh pr list -R o/r
  transparent b gh pr list -R o/r
  expect_invocations "gh pr list" 1
  [[ ! -e $(store_dir)/secrets.enc && ! -e $(store_dir)/secrets.key ]] ||
    fail "a wrapped call created secrets files"
}

test_passphrase_mode() {
  export IPFSACC_PASSPHRASE='correct horse'
  capture init ipfsacc secrets init --passphrase
  expect_rc 0
  [[ ! -e $(store_dir)/secrets.key ]] || fail "passphrase mode wrote a key file"
  set_secret github_token ghp_passphrase_mode
  expect_get github_token ghp_passphrase_mode
  if grep -raF -e ghp_passphrase_mode -e 'correct horse' "$(store_dir)"; then
    fail "the store holds the value or the passphrase in the clear"
  fi
  run_wrapped wrapped gh pr list -R o/r
  expect_file_contains "$T/wrapped.out" "token: token-set"
  cp "$(store_dir)/secrets.enc" "$T/before"
  IPFSACC_PASSPHRASE='wrong horse' capture wrong ipfsacc secrets get github_token
  expect_auth_failure wrong
  unset IPFSACC_PASSPHRASE
  # No terminal and no variable: a clear error naming the variable.
  capture none ipfsacc secrets get github_token
  expect_rc 1
  expect_file_contains "$T/none.err" "IPFSACC_PASSPHRASE"
  # A wrapped tool still runs, without the secret, with one warning.
  run_wrapped nopass --no-cache gh pr list -R o/r
  expect_rc 0
  expect_file_contains "$T/nopass.out" "token: none"
  expect_file_contains "$T/nopass.err" "IPFSACC_PASSPHRASE"
  expect_same_file "$T/before" "$(store_dir)/secrets.enc" "secrets.enc"
  # A second init is refused.
  IPFSACC_PASSPHRASE=x capture again ipfsacc secrets init
  expect_rc 1
  expect_file_contains "$T/again.err" "exists already"
}

test_export_and_import() {
  set_secret github_token ghp_exported_value
  set_secret groq_api_key gsk_exported_value
  IPFSACC_PASSPHRASE='moving day' capture export ipfsacc secrets export --to "$T/moved.enc"
  expect_rc 0
  expect_eq 600 "$(stat -c %a "$T/moved.enc")" "mode of the export"
  expect_no_value exported_value "$T/moved.enc" "$T/export.err" "$T/export.out"
  IPFSACC_PASSPHRASE=x capture clobber ipfsacc secrets export --to "$T/moved.enc"
  expect_rc 1
  # Another machine: another store, in another directory, with a key file
  # (created while IPFSACC_PASSPHRASE is set, it would use the passphrase).
  export IPFSACC_SECRETS_DIR=$T/elsewhere
  capture init ipfsacc secrets init
  expect_rc 0
  expect_file_contains "$T/init.err" "secrets.key"
  cp "$T/elsewhere/secrets.enc" "$T/before"
  IPFSACC_PASSPHRASE='wrong day' capture wrong ipfsacc secrets import "$T/moved.enc"
  expect_rc 1
  expect_file_contains "$T/wrong.err" "failed authentication"
  expect_same_file "$T/before" "$T/elsewhere/secrets.enc" "store after a failed import"
  IPFSACC_PASSPHRASE='moving day' capture import ipfsacc secrets import "$T/moved.enc"
  expect_rc 0
  expect_file_contains "$T/import.err" "imported 2 secrets"
  cmp -s "$T/before" "$T/elsewhere/secrets.enc" && fail "the import wrote nothing"
  expect_get github_token ghp_exported_value
  expect_get groq_api_key gsk_exported_value
  capture path ipfsacc secrets path
  expect_eq "$T/elsewhere/secrets.enc" "$(cat "$T/path.out")" "path with IPFSACC_SECRETS_DIR"
  expect_eq 700 "$(stat -c %a "$T/elsewhere")" "mode of IPFSACC_SECRETS_DIR"
}

test_rotate_key() {
  set_secret github_token ghp_rotated
  cp "$(store_dir)/secrets.key" "$T/old.key"
  cp "$(store_dir)/secrets.enc" "$T/old.enc"
  capture rotate ipfsacc secrets rotate-key
  expect_rc 0
  cmp -s "$T/old.key" "$(store_dir)/secrets.key" && fail "the key did not change"
  expect_get github_token ghp_rotated
  # The old key no longer opens the new file.
  cp "$T/old.key" "$(store_dir)/secrets.key"
  capture old ipfsacc secrets get github_token
  expect_auth_failure old
}

test_encrypted_cache() {
  # Outputs kept as printed, so that grep would find a secret in them.
  export IPFSACC_COMPRESSION=off
  mkdir -p "$(store_dir)"
  echo "encrypt_cache = true" >"$(store_dir)/ipfsacc.conf"
  transparent miss gh pr list -R o/r
  transparent hit gh pr list -R o/r
  expect_invocations "gh pr list" 1
  expect_stat hits 1
  if grep -raF "Add feature" "$IPFSACC_DIR"; then
    fail "an output is stored in the clear"
  fi
  # A large output, kept as a file beside LMDB: encrypted too.
  FAKE_SIZE=9000000 transparent big_miss gh api /big
  FAKE_SIZE=9000000 transparent big_hit gh api /big
  expect_invocations "gh api /big" 1
  if grep -rlaF "deterministic fake output" "$IPFSACC_DIR"; then
    fail "a large output is stored in the clear"
  fi
  # Without the key, nothing is served: a miss, never garbage.
  rm -f "$(store_dir)/secrets.key" "$(store_dir)/secrets.enc"
  transparent again gh pr list -R o/r
  expect_invocations "gh pr list" 2
}

test_unencrypted_cache_holds_outputs_in_the_clear() {
  # The control for test_encrypted_cache: the grep would find them.
  transparent miss gh pr list -R o/r
  grep -qraF "Add feature" "$IPFSACC_DIR" || fail "control: output not found in the cache"
}

test_the_prompt_does_not_echo() {
  command -v script >/dev/null || skip "script (bsdutils) is not installed"
  mkfifo "$T/in"
  SHELL=/bin/bash timeout -k 5 "$TEST_CALL_TIMEOUT" \
    script -qec "$(printf '%q ' "$IPFSACC_BIN" secrets set github_token)" /dev/null \
    <"$T/in" >"$T/tty.out" 2>&1 &
  local pid=$!
  exec 3>"$T/in"
  local deadline=$((SECONDS + 60))
  until grep -q "Value of github_token" "$T/tty.out"; do
    ((SECONDS < deadline)) || { _show "$T/tty.out" >&2; fail "no prompt"; }
    sleep 0.05
  done
  printf 'ghp_typed_at_the_prompt\r' >&3
  exec 3>&-
  wait "$pid" || { _show "$T/tty.out" >&2; fail "secrets set on a terminal failed"; }
  expect_no_value ghp_typed_at_the_prompt "$T/tty.out"
  expect_get github_token ghp_typed_at_the_prompt
}

run_tests
