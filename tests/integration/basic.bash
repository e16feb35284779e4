# basic: a repeated read is answered from the cache, and the answer is the
# tool's own, byte for byte; the options and variables that steer that.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# miss_then_hit TOOL ARGS...: the first call runs the tool, the second does
# not; both are identical to running the tool directly.
miss_then_hit() {
  transparent first "$@"
  expect_invocations "$*" 1
  transparent second "$@"
  expect_invocations "$*" 1
  transparent third "$@"
  expect_invocations "$*" 1
  # The cache answered: the second and third calls are hits.
  expect_stat misses 1
  expect_stat hits 2
  expect_stat entries 1
}

# One read operation per wrapped tool (a rule of each wrappers/*.json).
test_miss_then_hit_gh() { miss_then_hit gh pr list -R o/r; }
test_miss_then_hit_code() { miss_then_hit code --list-extensions; }
test_miss_then_hit_hf() { miss_then_hit hf models info gpt2; }
test_miss_then_hit_huggingface_cli() { miss_then_hit huggingface-cli models info gpt2; }
test_miss_then_hit_vastai() { miss_then_hit vastai show instances; }
# Agents read the working directory: cached inside a git repository, whose
# state is part of the key.
test_miss_then_hit_claude() {
  make_git_repo "$W"
  miss_then_hit claude -p "Say hello"
}
test_miss_then_hit_gemini() {
  make_git_repo "$W"
  miss_then_hit gemini -p "Say hello"
}
# Outside a repository there is no cheap way to see the files change, so
# the agent runs every time (and still answers the same).
test_agents_outside_a_repository_pass_through() {
  transparent a claude -p "Say hello"
  transparent b claude -p "Say hello"
  expect_invocations "claude -p" 2
  transparent c gemini -p "Say hello"
  transparent d gemini -p "Say hello"
  expect_invocations "gemini -p" 2
}
# Settings files named by the rule (key_files) are part of the key.
test_agent_settings_are_in_the_key() {
  make_git_repo "$W"
  transparent a claude -p "Say hello"
  mkdir -p "$HOME/.claude"
  echo '{"model": "opus"}' >"$HOME/.claude/settings.json"
  transparent b claude -p "Say hello"
  transparent c claude -p "Say hello"
  expect_invocations "claude -p" 2
}
# A changed file in the repository changes the key.
test_agent_key_follows_the_working_tree() {
  make_git_repo "$W"
  echo one >"$W/notes.txt"
  transparent a claude -p "Summarize notes.txt"
  transparent b claude -p "Summarize notes.txt"
  expect_invocations "claude -p" 1
  echo two >"$W/notes.txt"
  transparent c claude -p "Summarize notes.txt"
  expect_invocations "claude -p" 2
}
# groq goes over HTTP first (it has no official CLI): the fake groq CLI is
# asked for with IPFSACC_PREFER=cli (the HTTP path has its own suite).
test_miss_then_hit_groq() { IPFSACC_PREFER=cli miss_then_hit groq --temperature 0 "Say hello"; }

test_different_args_different_entries() {
  transparent a gh pr list -R o/r
  transparent b gh pr list -R o/r --state closed
  transparent c gh pr list -R o/other
  transparent d gh pr list -R o/r
  expect_invocations "gh pr list" 3
  expect_stat entries 3
}

test_stats_per_tool() {
  transparent a gh pr list -R o/r
  transparent b gh pr list -R o/r
  transparent c vastai show instances
  stats_json
  expect_stat tools.gh.hits 1
  expect_stat tools.gh.misses 1
  expect_stat tools.vastai.misses 1
  expect_stat tools.vastai.hits 0
  local v
  for v in entries bytes hits misses hit_rate bypasses errors evictions time_saved_ms; do
    if [[ -z $(json_get "$T/stats.json" "$v") ]]; then
      _show "$T/stats.json" >&2
      fail "no top-level number '$v' in stats --format json"
    fi
  done
  v=$(json_get "$T/stats.json" bytes)
  expect_match "$v" '^[1-9][0-9]*$' "stats bytes"
  # The readable form works too and names the tools.
  capture text ipfsacc stats
  expect_rc 0
  expect_file_contains "$T/text.out" gh
  expect_file_contains "$T/text.out" vastai
}

test_stderr_is_replayed() {
  export FAKE_STDERR="warning: rate limit is near"
  transparent first gh pr list -R o/r
  transparent second gh pr list -R o/r
  expect_invocations "gh pr list" 1
  expect_file_contains "$T/second.wrapped.err" "rate limit"
}

test_binary_output() {
  export FAKE_BINARY=1
  transparent first gh api repos/o/r/tarball
  transparent second gh api repos/o/r/tarball
  expect_invocations "gh api" 1
  # The 256 bytes really are in the replay (not mangled by a text layer).
  local n
  n=$(tail -c 256 "$T/second.wrapped.out" | od -An -tx1 | tr -d ' \n')
  expect_eq "$(printf '%02x' $(seq 0 255))" "$n" "the last 256 bytes of the replay"
}

test_large_output() {
  export FAKE_SIZE=3000000
  transparent first gh api repos/o/r/contents/big
  transparent second gh api repos/o/r/contents/big
  expect_invocations "gh api" 1
  expect_eq "$(wc -c <"$T/second.direct.out")" "$(wc -c <"$T/second.wrapped.out")" "size of the replay"
}

# A hit on a 100 MB output (kept as a file beside the data file) is
# verified before a byte is written, yet not by holding it: the hit stays
# near the ~10 MB of a small one, far from the output's 100 MB.
test_a_100_mb_hit_stays_bounded_in_memory() {
  head -c 100000000 /dev/zero >"$T/big"
  measured first run --no-stdin --ttl 1h -- cat "$T/big"
  expect_rc 0
  measured second run --no-stdin --ttl 1h -- cat "$T/big"
  expect_rc 0
  expect_stat hits 1
  expect_same_file "$T/big" "$T/second.out" "the hit"
  expect_rss_below second 64
}

# A JSON answer is kept as a zstd frame several times smaller than the
# answer, and a hit replays the answer byte for byte.
test_a_json_answer_is_stored_compressed_and_replayed_byte_exact() {
  seq -f '{"number":%g,"title":"Fix the parser","state":"open","user":{"login":"octocat"}},' \
    1 400 >"$T/answer.json"
  capture first ipfsacc run --no-stdin -- cat "$T/answer.json"
  expect_rc 0
  capture second ipfsacc -v run --no-stdin -- cat "$T/answer.json"
  expect_rc 0
  expect_explain second HIT
  expect_same_file "$T/answer.json" "$T/second.out" "the hit"
  local stored packed
  stored=$(stat_value stored_bytes)
  packed=$(stat_value packed_bytes)
  [[ $packed -gt 0 && $stored -gt 0 ]] || fail "stats has no stored sizes: '$packed', '$stored'"
  ((packed * 3 < stored)) || fail "stored as $packed bytes of $stored: not compressed"
  expect_eq "$(wc -c <"$T/answer.json")" "$(stat_value logical_bytes)" "the output's own size"
}

# compression = off keeps outputs as printed; entries stored either way are
# read with either setting.
test_entries_stored_with_compression_off_or_on_are_read_with_either() {
  seq -f 'line %g of an answer that compresses well' 1 1000 >"$T/a.txt"
  seq -f 'line %g of another answer, stored compressed' 1 1000 >"$T/b.txt"
  IPFSACC_COMPRESSION=off capture a1 ipfsacc run --no-stdin -- cat "$T/a.txt"
  expect_eq "$(stat_value stored_bytes)" "$(stat_value packed_bytes)" "stored as printed"
  capture b1 ipfsacc run --no-stdin -- cat "$T/b.txt"
  local name setting
  for setting in zstd off; do
    for name in a b; do
      IPFSACC_COMPRESSION=$setting capture "$name.$setting" ipfsacc -v run --no-stdin -- cat "$T/$name.txt"
      expect_rc 0
      expect_explain "$name.$setting" HIT
      expect_same_file "$T/$name.txt" "$T/$name.$setting.out" "$name read with compression $setting"
    done
  done
}

test_empty_output() {
  # A call that prints nothing at all replays as nothing at all.
  cat >"$T/bin/quiet" <<'EOF'
#!/bin/sh
[ -n "$FAKE_LOG" ] && echo "quiet $*" >>"$FAKE_LOG"
exit 0
EOF
  chmod +x "$T/bin/quiet"
  transparent first run -- quiet
  transparent second run -- quiet
  expect_invocations quiet 1
  expect_empty "$T/second.wrapped.out"
  expect_empty "$T/second.wrapped.err"
}

# FAKE_INTERLEAVE_SYNC: the tool writes its next line only once the last one
# has reached the capture, so the order ipfsacc sees is the tool's, however
# busy the machine.
test_interleaving_replayed() {
  export FAKE_INTERLEAVE=1
  # Separate streams.
  run_direct first.direct vastai show instances
  FAKE_INTERLEAVE_SYNC="$T/first.wrapped.out $T/first.wrapped.err" \
    run_wrapped first.wrapped vastai show instances
  expect_same first.direct first.wrapped
  transparent second vastai show instances
  expect_invocations "vastai show instances" 1
  # One stream (2>&1) is another answer, whose order is the one the tool
  # wrote: one more run, then hits in that order.
  FAKE_INTERLEAVE_SYNC=$T/direct.all FAKE_LOG='' capture_combined direct vastai show instances
  FAKE_INTERLEAVE_SYNC=$T/miss.all capture_combined miss ipfsacc vastai show instances
  capture_combined hit ipfsacc vastai show instances
  expect_same_file "$T/direct.all" "$T/hit.all" "combined stdout+stderr (hit)"
  expect_invocations "vastai show instances" 2
  expect_match "$(tr '\n' ' ' <"$T/hit.all")" "out1 vastai err1 vastai out2 vastai err2 vastai out3" "order"
}

test_interleaving_on_miss() {
  export FAKE_INTERLEAVE=1
  FAKE_INTERLEAVE_SYNC=$T/direct.all FAKE_LOG='' capture_combined direct vastai show instances
  FAKE_INTERLEAVE_SYNC=$T/miss.all capture_combined miss ipfsacc vastai show instances
  expect_same_file "$T/direct.all" "$T/miss.all" "combined stdout+stderr (miss)"
  capture_combined hit ipfsacc vastai show instances
  expect_same_file "$T/direct.all" "$T/hit.all" "combined stdout+stderr (hit)"
  expect_invocations "vastai show instances" 1
}

# Writes that alternate between stdout and stderr, both one file (2>&1): on
# a miss and on a hit the file is byte for byte what the tool alone writes,
# in the same order. Under ipfsacc the script stops ipfsacc while it writes
# (as a busy machine may; 50 KB, which one pipe holds): with a pipe for
# each stream, ipfsacc would then find data in both and could not tell
# their order. The same call with
# separate files is another answer (two files have no one order).
test_interleaved_writes_to_one_file_keep_their_order() {
  cat >"$T/w.sh" <<'SH'
echo ran >>"${0%/*}/runs"
parent=$(cat "/proc/$PPID/comm" 2>/dev/null)
[ "$parent" = ipfsacc ] && kill -STOP "$PPID"
for c in a b c; do
  printf '%10000s' '' | tr ' ' "$c"
  [ "$c" = c ] || printf '%10000s' '' | tr ' ' "${c^^}" >&2
done
[ "$parent" = ipfsacc ] && kill -CONT "$PPID"
exit 0
SH
  bash "$T/w.sh" >"$T/direct.all" 2>&1
  capture_combined miss ipfsacc run -- bash "$T/w.sh"
  expect_same_file "$T/direct.all" "$T/miss.all" "stdout+stderr in one file (miss)"
  capture_combined hit ipfsacc run -- bash "$T/w.sh"
  expect_same_file "$T/direct.all" "$T/hit.all" "stdout+stderr in one file (hit)"
  expect_eq 2 "$(wc -l <"$T/runs")" "runs of the script (the direct one and the miss)"
  # Separate files: each gets its own bytes.
  bash "$T/w.sh" >"$T/direct.out" 2>"$T/direct.err"
  capture apart ipfsacc run -- bash "$T/w.sh"
  expect_same_file "$T/direct.out" "$T/apart.out" "stdout alone"
  expect_same_file "$T/direct.err" "$T/apart.err" "stderr alone"
  capture again ipfsacc run -- bash "$T/w.sh"
  expect_same_file "$T/direct.out" "$T/again.out" "stdout alone (hit)"
  expect_same_file "$T/direct.err" "$T/again.err" "stderr alone (hit)"
  expect_eq 4 "$(wc -l <"$T/runs")" "runs of the script"
}

test_miss_streams_live() {
  # On a miss the output reaches the user while the tool is still running:
  # the tool does not exit until the test has seen its output.
  export FAKE_WAIT_FOR=$T/go
  ipfsacc gh pr list -R o/r >"$T/live.out" 2>"$T/live.err" &
  local pid=$!
  local deadline=$((SECONDS + 60))
  until grep -q "gh pr list" "$T/live.out" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      touch "$T/go"
      wait "$pid"
      fail "no output while the tool was still running"
    fi
    sleep 0.05
  done
  touch "$T/go"
  wait "$pid"
  expect_eq 0 $? "exit status"
}

test_no_cache() {
  transparent a --no-cache gh pr list -R o/r
  transparent b --no-cache gh pr list -R o/r
  expect_invocations "gh pr list" 2
  # Nothing was stored: the next normal call is a miss, the one after a hit.
  transparent c gh pr list -R o/r
  expect_invocations "gh pr list" 3
  transparent d --no-cache gh pr list -R o/r
  expect_invocations "gh pr list" 4
  transparent e gh pr list -R o/r
  expect_invocations "gh pr list" 4
}

test_refresh() {
  FAKE_MARK=one transparent a gh pr list -R o/r
  FAKE_MARK=two transparent b --refresh gh pr list -R o/r
  expect_invocations "gh pr list" 2
  expect_file_contains "$T/b.wrapped.out" "mark: two"
  # The refreshed answer replaced the old one.
  FAKE_MARK=three run_wrapped c gh pr list -R o/r
  expect_invocations "gh pr list" 2
  expect_file_contains "$T/c.out" "mark: two"
  FAKE_MARK=four run_wrapped d -v --refresh gh pr list -R o/r
  expect_explain d MISS gh/pr-list refresh
}

test_disable() {
  export IPFSACC_DISABLE=1
  transparent a gh pr list -R o/r
  transparent b gh pr list -R o/r
  expect_invocations "gh pr list" 2
  unset IPFSACC_DISABLE
  # Nothing was stored while disabled.
  transparent c gh pr list -R o/r
  expect_invocations "gh pr list" 3
  transparent d gh pr list -R o/r
  expect_invocations "gh pr list" 3
}

test_offline() {
  # Nothing cached: exit 75 and a message; the tool does not run.
  run_wrapped none --offline gh pr list -R o/r
  expect_rc 75
  expect_empty "$T/none.out"
  if [[ ! -s $T/none.err ]]; then
    fail "--offline without an entry printed no message on stderr"
  fi
  expect_invocations "gh pr list" 0
  # Cached: answered without running the tool.
  transparent a gh pr list -R o/r
  transparent b --offline gh pr list -R o/r
  expect_invocations "gh pr list" 1
}

test_offline_does_not_run_a_write() {
  # --offline answers only from the cache: a call that is never cached has
  # no answer there, so it gets 75 too instead of reaching the network.
  run_wrapped write --offline gh pr create --title t --body b -R o/r
  expect_rc 75
  expect_invocations "gh pr create" 0
  run_wrapped pass --offline gh browse -R o/r
  expect_rc 75
  expect_invocations "gh browse" 0
}

test_explain() {
  run_direct direct gh pr list -R o/r
  run_wrapped miss -v gh pr list -R o/r
  expect_explain miss MISS gh/pr-list new
  local miss_cid=$CID
  run_wrapped hit --explain gh pr list -R o/r
  expect_explain hit HIT gh/pr-list
  expect_eq "$miss_cid" "$CID" "key CID of the hit (vs the miss)"
  # Apart from that line, everything is the tool's.
  strip_explain "$T/miss.err" "$T/miss.stripped.err"
  strip_explain "$T/hit.err" "$T/hit.stripped.err"
  expect_same_file "$T/direct.err" "$T/miss.stripped.err" "stderr of the miss without the explain line"
  expect_same_file "$T/direct.err" "$T/hit.stripped.err" "stderr of the hit without the explain line"
  expect_same_file "$T/direct.out" "$T/miss.out" "stdout of the miss"
  expect_same_file "$T/direct.out" "$T/hit.out" "stdout of the hit"
  # A call no rule matches is a bypass.
  run_wrapped bypass -v gh pr create --title t --body b -R o/r
  expect_explain bypass BYPASS
  # Another call, another key.
  run_wrapped other -v gh pr list -R o/other
  expect_explain other MISS gh/pr-list new
  expect_ne "$miss_cid" "$CID" "key CID of a call with other arguments"
}

test_run_subcommand() {
  make_tool mytool
  transparent a run -- mytool list --all
  transparent b run -- mytool list --all
  expect_invocations "mytool list --all" 1
  transparent c run -- mytool list
  expect_invocations "mytool list" 2
  run_wrapped d -v run -- mytool list --all
  expect_explain d HIT
}

test_run_key_env() {
  make_tool mytool
  export FAKE_ECHO_ENV=FOO
  FOO=1 transparent a run --key-env FOO -- mytool show
  FOO=1 transparent b run --key-env FOO -- mytool show
  expect_invocations "mytool show" 1
  FOO=2 transparent c run --key-env FOO -- mytool show
  expect_invocations "mytool show" 2
  # Unset is a value of its own.
  transparent d run --key-env FOO -- mytool show
  expect_invocations "mytool show" 3
  FOO=1 transparent e run --key-env FOO -- mytool show
  expect_invocations "mytool show" 3
  # Without --key-env the variable is not part of the key (as in bkt): the
  # call with FOO=2 is answered with the FOO=1 run's output.
  FOO=1 run_wrapped f run -- mytool other
  FOO=2 run_wrapped g run -- mytool other
  expect_invocations "mytool other" 1
  expect_file_contains "$T/g.out" "env FOO=1"
}

test_run_key_cwd() {
  make_tool mytool
  export FAKE_SHOW_CWD=1
  mkdir -p "$W/a" "$W/b"
  (cd "$W/a" && transparent a1 run --key-cwd -- mytool here)
  (cd "$W/b" && transparent b1 run --key-cwd -- mytool here)
  expect_invocations "mytool here" 2
  (cd "$W/a" && transparent a2 run --key-cwd -- mytool here)
  (cd "$W/b" && transparent b2 run --key-cwd -- mytool here)
  expect_invocations "mytool here" 2
  # Without --key-cwd the directory is not part of the key.
  (cd "$W/a" && run_wrapped a3 run -- mytool there)
  (cd "$W/b" && run_wrapped b3 run -- mytool there)
  expect_invocations "mytool there" 1
}

test_unknown_env_var_warns() {
  run_direct direct gh pr list -R o/r
  IPFSACC_TTLL=5m run_wrapped warned gh pr list -R o/r
  expect_same_file "$T/direct.out" "$T/warned.out" "stdout"
  expect_rc 0
  # stderr is the tool's plus one warning line naming the closest variable.
  expect_eq $(($(wc -l <"$T/direct.err") + 1)) "$(wc -l <"$T/warned.err")" "stderr lines"
  expect_file_contains "$T/warned.err" "IPFSACC_TTLL"
  expect_file_contains "$T/warned.err" "did you mean IPFSACC_TTL?"
  # On a hit too: the tool's answer is unchanged.
  IPFSACC_DISABEL=1 run_wrapped warned2 gh pr list -R o/r
  expect_same_file "$T/direct.out" "$T/warned2.out" "stdout"
  expect_file_contains "$T/warned2.err" "did you mean IPFSACC_DISABLE?"
  # For ipfsacc's own commands it is an error.
  IPFSACC_TTLL=5m capture stats ipfsacc stats
  expect_rc 2
  expect_file_contains "$T/stats.err" "IPFSACC_TTLL"
}

test_account_in_key() {
  # Outputs kept as printed, so that grep would find a secret in them.
  export IPFSACC_COMPRESSION=off
  local token=ghp_SECRETtokenVALUE0123456789abcdef
  GH_TOKEN=$token transparent a gh pr list -R o/r
  GH_TOKEN=$token transparent b gh pr list -R o/r
  expect_invocations "gh pr list" 1
  # Another token is another account: its own entry.
  GH_TOKEN=${token}X transparent c gh pr list -R o/r
  expect_invocations "gh pr list" 2
  # No token at all is an account of its own too.
  transparent d gh pr list -R o/r
  expect_invocations "gh pr list" 3
  # IPFSACC_ACCOUNT replaces the token (CI tokens change every job).
  IPFSACC_ACCOUNT=ci GH_TOKEN=job1 transparent e gh pr list -R o/r
  IPFSACC_ACCOUNT=ci GH_TOKEN=job2 transparent f gh pr list -R o/r
  expect_invocations "gh pr list" 4
  # The token is nowhere in the cache.
  if grep -rqa -e "$token" -e job1 -e job2 "$IPFSACC_DIR"; then
    fail "a token was found in the cache directory $(grep -rla -e "$token" -e job1 -e job2 "$IPFSACC_DIR")"
  fi
  # Nor in stats.
  stats_json
  if grep -qa -e "$token" "$T/stats.json"; then fail "the token is in stats"; fi
}

test_cache_dir_created_private() {
  export IPFSACC_DIR=$T/deep/er/cache
  transparent a gh pr list -R o/r
  transparent b gh pr list -R o/r
  expect_invocations "gh pr list" 1
  expect_eq 700 "$(stat -c %a "$IPFSACC_DIR")" "mode of the new cache directory"
}

test_default_cache_dir() {
  # Without IPFSACC_DIR the cache is under $XDG_CACHE_HOME/ipfsacc.
  unset IPFSACC_DIR
  transparent a gh pr list -R o/r
  transparent b gh pr list -R o/r
  expect_invocations "gh pr list" 1
  if [[ ! -d $XDG_CACHE_HOME/ipfsacc ]]; then
    fail "no cache in \$XDG_CACHE_HOME/ipfsacc"
  fi
}

test_tool_exit_codes_on_passthrough() {
  # Calls that are never cached still give the tool's output and exit code.
  FAKE_EXIT=4 FAKE_STDERR="pull request create failed" transparent a gh pr create --title t --body b -R o/r
  expect_rc 4
  transparent b gh pr create --title t --body b -R o/r
  expect_rc 0
  expect_invocations "gh pr create" 2
}

run_tests
