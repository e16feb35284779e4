# manage: the commands that look into and tidy the cache — stats, list,
# show, purge, export, import, config, doctor — every flag, their exit codes,
# and purging while other processes are hitting the cache.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# ---------------------------------------------------------------------------
# Helpers.

# seed: three entries of two tools; gh pr list is hit twice.
seed() {
  ipfsacc gh pr list -R o/r >/dev/null 2>&1
  ipfsacc gh pr list -R o/r >/dev/null 2>&1
  ipfsacc gh pr list -R o/r >/dev/null 2>&1
  ipfsacc gh repo view o/r >/dev/null 2>&1
  ipfsacc hf models info gpt2 >/dev/null 2>&1
}

# key_of NAME [IPFSACC OPTIONS] CMD...: runs the call with -v and sets KEY to
# its key CID.
key_of() {
  local name=$1
  shift
  capture "$name" ipfsacc -v "$@"
  KEY=$(grep -aoE 'bafkrei[a-z2-7]{52}' "$T/$name.err" | head -n 1)
  if [[ -z $KEY ]]; then
    _show "$T/$name.err" >&2
    fail "no key CID in the -v line of $*"
  fi
}

# manage NAME ARGS...: an ipfsacc command, output captured as NAME.
manage() {
  local name=$1
  shift
  capture "$name" ipfsacc "$@"
}

# lines NAME: the number of lines of a capture's stdout.
lines() {
  wc -l <"$T/$1.out" | tr -d ' '
}

# corrupt TEXT: flips one byte of every copy of TEXT in the cache's data
# file (stale page copies included), as a failing disk would.
corrupt() {
  local off n=0
  for off in $(grep -obUa -- "$1" "$IPFSACC_DIR/data.mdb" | cut -d: -f1); do
    printf 'Z' | dd of="$IPFSACC_DIR/data.mdb" bs=1 seek="$off" conv=notrunc status=none
    n=$((n + 1))
  done
  if ((n == 0)); then fail "'$1' is not in the cache's data file"; fi
}

# ---------------------------------------------------------------------------
# stats

test_stats_json_schema() {
  seed
  ipfsacc gh pr create -R o/r --title t >/dev/null 2>&1 # a write: a bypass
  stats_json
  local key v
  for key in entries bytes hits misses hit_rate bypasses errors evictions \
    time_saved_ms tools.gh.entries tools.gh.bytes tools.gh.hits \
    tools.gh.misses tools.gh.hit_rate tools.gh.bypasses tools.gh.errors \
    tools.gh.evictions tools.gh.time_saved_ms \
    tools.gh.operations.pr-list.hits tools.gh.operations.pr-list.misses \
    tools.gh.operations.pr-list.hit_rate tools.hf.misses; do
    v=$(json_get "$T/stats.json" "$key")
    expect_match "$v" '^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$' "stats $key"
  done
  # The write dropped the cached pr list of o/r.
  expect_stat entries 2
  expect_stat invalidated 1
  expect_stat hits 2
  expect_stat misses 3
  expect_stat bypasses 1
  expect_stat tools.gh.hits 2
  expect_stat tools.gh.operations.pr-list.hits 2
  expect_stat tools.hf.hits 0
  # 2 hits of 5 lookups.
  expect_stat hit_rate 0.4
  expect_stat tools.gh.entries 1
  if (($(stat_value bytes) <= 0)); then fail "bytes is not positive"; fi
  expect_contains "$(head -c 1 "$T/stats.json")" "{" "stats json"
}

test_stats_tool() {
  seed
  manage s stats --tool gh --format json
  expect_rc 0
  expect_eq 2 "$(json_get "$T/s.out" hits)" "gh hits"
  expect_eq 2 "$(json_get "$T/s.out" misses)" "gh misses"
  expect_eq 2 "$(json_get "$T/s.out" tools.gh.hits)" "tools.gh.hits"
  expect_eq "" "$(json_get "$T/s.out" tools.hf.misses)" "tools.hf (filtered out)"
  manage t stats --tool gh
  expect_contains "$(cat "$T/t.out")" "pr-list"
  expect_not_contains "$(cat "$T/t.out")" "hf"
}

test_stats_text_and_prometheus() {
  seed
  manage t stats
  expect_rc 0
  local text
  text=$(cat "$T/t.out")
  expect_contains "$text" "all tools"
  expect_contains "$text" "pr-list"
  expect_contains "$text" "Evictions"
  expect_contains "$text" "Errors"
  manage p stats --format prometheus
  expect_rc 0
  text=$(cat "$T/p.out")
  expect_contains "$text" "# TYPE ipfsacc_entries gauge"
  expect_contains "$text" "ipfsacc_entries 3"
  expect_contains "$text" 'ipfsacc_hits_total{tool="gh"} 2'
  expect_contains "$text" "# TYPE ipfsacc_evictions_total counter"
  manage bad stats --format yaml
  expect_rc 2
}

test_stats_zero_keeps_entries() {
  seed
  manage z stats --zero
  expect_rc 0
  expect_stat hits 0
  expect_stat misses 0
  expect_stat tools.gh.hits 0
  expect_stat entries 3
}

# LLM answers carry their token usage (see json_output in fake-cli): each hit
# counts the tokens it did not spend, priced from the config's price table,
# else at the cost the tool reported itself.
test_stats_tokens_and_cost_saved() {
  # groq's CLI here is the fake one (its HTTP path is tested in http.bash).
  export IPFSACC_PREFER=cli
  make_git_repo "$T/repo"
  cd "$T/repo"
  mkdir -p "$XDG_CONFIG_HOME/ipfsacc"
  printf 'price.llama-3.3-70b-versatile = 0.59/0.79\n' >"$XDG_CONFIG_HOME/ipfsacc/ipfsacc.conf"
  local i
  for i in 1 2 3; do
    # claude: no price configured, so its own total_cost_usd (0.0123) counts.
    ipfsacc claude -p hi --output-format json >/dev/null 2>&1
    ipfsacc groq --json --temperature 0 hi >/dev/null 2>&1
    # Text output carries no usage: counted as a hit, no tokens.
    ipfsacc claude -p hi >/dev/null 2>&1
  done
  ipfsacc gemini -p x -o json -m gemini-2.5-flash >/dev/null 2>&1
  ipfsacc gemini -p x -o json -m gemini-2.5-flash >/dev/null 2>&1
  stats_json
  expect_stat hits 7
  # claude: 2 hits x (100 input + 1000 cache read); groq: 2 x 30; gemini 200.
  expect_stat tools.claude.input_tokens_saved 2200
  expect_stat tools.claude.output_tokens_saved 100
  expect_stat tools.claude.cost_saved_micro_usd 24600
  expect_stat tools.claude.operations.print.input_tokens_saved 2200
  expect_stat tools.groq.input_tokens_saved 60
  expect_stat tools.groq.output_tokens_saved 16
  # 2 x (30 x 0.59 + 8 x 0.79) millionths of a dollar.
  expect_stat tools.groq.cost_saved_micro_usd 48
  # gemini: candidates and thoughts are output; no price, no reported cost.
  expect_stat tools.gemini.input_tokens_saved 200
  expect_stat tools.gemini.output_tokens_saved 50
  expect_stat tools.gemini.cost_saved_micro_usd 0
  expect_stat input_tokens_saved 2460
  expect_stat output_tokens_saved 166
  expect_stat cost_saved_micro_usd 24648
  expect_stat cost_saved_usd 0.024648

  # A configured price (a pattern) replaces the reported cost.
  printf 'price.claude-sonnet-4* = 3/15\n' >>"$XDG_CONFIG_HOME/ipfsacc/ipfsacc.conf"
  ipfsacc stats --zero >/dev/null
  ipfsacc claude -p hi --output-format json >/dev/null 2>&1
  ipfsacc claude -p hi --output-format json --model claude-opus-4-1 >/dev/null 2>&1
  ipfsacc claude -p hi --output-format json --model claude-opus-4-1 >/dev/null 2>&1
  stats_json
  # sonnet: 1100 x 3 + 50 x 15; opus has no price: its reported 0.0123.
  expect_stat tools.claude.cost_saved_micro_usd $((4050 + 12300))
  manage t stats
  expect_contains "$(cat "$T/t.out")" "Tokens saved"
  expect_match "$(grep '^  claude .* in, ' "$T/t.out")" '^  claude +2200 in, 100 out, \$0\.016350$' "text row"
  manage p stats --format prometheus
  expect_contains "$(cat "$T/p.out")" 'ipfsacc_input_tokens_saved_total{tool="claude"} 2200'

  # Usage travels with export and import.
  manage x export "$T/all.jsonl"
  ipfsacc purge --all --yes >/dev/null
  manage i import "$T/all.jsonl"
  expect_rc 0
  ipfsacc stats --zero >/dev/null
  ipfsacc groq --json --temperature 0 hi >/dev/null 2>&1
  stats_json
  expect_stat hits 1
  expect_stat tools.groq.input_tokens_saved 30
  expect_stat tools.groq.cost_saved_micro_usd 24

  manage bad config set price.x cheap
  expect_rc 2
  expect_contains "$(cat "$T/bad.err")" "is not a price"
}

test_compression_settings_are_checked_and_stats_shows_both_sizes() {
  manage bad config set compression gzip
  expect_rc 2
  expect_contains "$(cat "$T/bad.err")" "is not zstd or off"
  manage level config set compression_level 20
  expect_rc 2
  expect_contains "$(cat "$T/level.err")" "is not a level from 1 to 19"
  manage good config set compression_level 9
  expect_rc 0
  manage keys config list
  expect_file_contains "$T/keys.out" "compression_level"
  FAKE_SIZE=20000 ipfsacc gh repo view o/r >/dev/null 2>&1
  manage text stats
  expect_rc 0
  expect_file_contains "$T/text.out" "as stored (zstd)"
  local ratio
  ratio=$(stat_value compression_ratio)
  awk -v r="$ratio" 'BEGIN { exit !(r > 3) }' || fail "compression ratio $ratio"
}

test_stats_counts_errors_per_tool() {
  # An output kept as a file of its own (over 8 MiB) that no longer matches
  # its CID: that entry's error. (Damage inside the LMDB file sets the whole
  # cache aside instead: see corrupt_cache.bash.)
  export FAKE_SIZE=9000000
  ipfsacc gh repo view o/r >/dev/null 2>&1
  local file
  file=$(find "$IPFSACC_DIR/blobs" -type f | head -n 1)
  [[ -n $file ]] || fail "no blob file under $IPFSACC_DIR/blobs"
  printf 'Z' | dd of="$file" bs=1 seek=1000 conv=notrunc status=none
  run_wrapped again -v gh repo view o/r
  expect_explain again MISS gh/repo-view corrupt
  expect_stat errors 1
  expect_stat tools.gh.errors 1
  expect_stat tools.gh.operations.repo-view.errors 1
}

test_stats_counts_evictions_per_tool() {
  # A cache too small for two entries evicts the older one.
  export IPFSACC_MAX_SIZE=3000
  FAKE_SIZE=1500 ipfsacc hf models info a >/dev/null 2>&1
  FAKE_SIZE=1500 ipfsacc hf models info b >/dev/null 2>&1
  expect_stat entries 1
  expect_stat evictions 1
  expect_stat tools.hf.evictions 1
  expect_stat tools.hf.operations.models-info.evictions 1
}

# ---------------------------------------------------------------------------
# list

test_list_columns() {
  seed
  key_of k gh pr list -R o/r
  manage l list
  expect_rc 0
  expect_eq 4 "$(lines l)" "header and three entries"
  local header row
  header=$(head -n 1 "$T/l.out")
  expect_match "$header" '^KEY +TOOL +AGE +TTL +SIZE +HITS +COMMAND$' "header"
  row=$(grep -- "$KEY" "$T/l.out")
  # key, tool, age, time left, size, hits (3 now), command.
  expect_match "$row" "^$KEY +gh +[0-9.a-z]+ +[0-9a-z]+ +[0-9.]+ k?B +3 +gh pr list -R o/r$" "row"
}

test_list_tool_and_match() {
  seed
  manage a list --tool hf
  expect_eq 2 "$(lines a)" "hf lines"
  expect_file_contains "$T/a.out" "hf models info gpt2"
  manage b list --match 'gh pr *'
  expect_eq 2 "$(lines b)" "'gh pr *' lines"
  expect_file_contains "$T/b.out" "gh pr list -R o/r"
  manage c list --match '*o/r*' --tool gh
  expect_eq 3 "$(lines c)" "'*o/r*' gh lines"
  manage d list --match 'nothing*'
  expect_rc 0
  expect_empty "$T/d.out"
}

test_list_limit_and_sort() {
  FAKE_SIZE=100 ipfsacc hf models info small >/dev/null 2>&1
  clock_advance 1
  FAKE_SIZE=9000 ipfsacc hf models info big >/dev/null 2>&1
  clock_advance 1
  FAKE_SIZE=3000 ipfsacc hf models info mid >/dev/null 2>&1
  clock_advance 1
  ipfsacc hf models info small >/dev/null 2>&1 # a hit: used last
  clock_advance 1
  ipfsacc hf models info small >/dev/null 2>&1
  clock_advance 1
  ipfsacc hf models info mid >/dev/null 2>&1
  first() { sed -n 2p "$T/$1.out" | grep -oE 'hf models info [a-z]+$'; }
  manage used list --limit 1
  expect_eq 2 "$(lines used)" "--limit 1 lines"
  expect_eq "hf models info mid" "$(first used)" "most recently used"
  manage size list --sort size --limit 1
  expect_eq "hf models info big" "$(first size)" "largest"
  manage hits list --sort hits
  expect_eq "hf models info small" "$(first hits)" "most hits"
  expect_eq 4 "$(lines hits)" "all entries"
  manage age list --sort age --limit 2
  expect_eq "hf models info small" "$(first age)" "oldest"
  expect_eq 3 "$(lines age)" "--limit 2 lines"
}

test_list_expired_and_older_than() {
  ipfsacc --ttl 1s gh pr list -R o/r >/dev/null 2>&1
  ipfsacc --ttl 1h gh repo view o/r >/dev/null 2>&1
  clock_advance 4
  ipfsacc --ttl 1h hf models info gpt2 >/dev/null 2>&1
  manage e list --expired
  expect_eq 2 "$(lines e)" "expired lines"
  expect_file_contains "$T/e.out" "gh pr list -R o/r"
  expect_match "$(sed -n 2p "$T/e.out")" ' expired ' "TTL column"
  manage o list --older-than 3s
  expect_eq 3 "$(lines o)" "older than 3s"
  expect_not_contains "$(cat "$T/o.out")" "hf models"
  manage bad list --older-than soon
  expect_rc 2
}

test_list_json() {
  seed
  key_of k hf models info gpt2
  manage j list --json --tool hf
  expect_rc 0
  expect_eq "$KEY" "$(json_get "$T/j.out" 0.key)" "key"
  expect_eq hf "$(json_get "$T/j.out" 0.tool)" "tool"
  expect_eq "hf models info gpt2" "$(json_get "$T/j.out" 0.command)" "command"
  expect_eq 1 "$(json_get "$T/j.out" 0.hits)" "hits"
  expect_eq false "$(json_get "$T/j.out" 0.expired)" "expired"
  expect_match "$(json_get "$T/j.out" 0.size)" '^[1-9][0-9]*$' "size"
  expect_match "$(json_get "$T/j.out" 0.ttl_left_ms)" '^[1-9][0-9]*$' "ttl_left_ms"
  expect_match "$(json_get "$T/j.out" 0.stdout.cid)" '^bafkrei' "stdout cid"
  manage none list --json --tool nothing
  expect_eq "[ ]" "$(tr '\n' ' ' <"$T/none.out" | sed 's/  */ /g; s/ $//')" "empty list"
}

test_list_show_export_redact_secrets() {
  make_tool mytool
  ipfsacc run -- mytool --token s3cr3tvalue -H 'Authorization: Bearer abc123xyz' \
    https://me:pa55word@example.com/ >/dev/null 2>&1
  manage l list
  expect_file_contains "$T/l.out" "--token '***'"
  expect_file_contains "$T/l.out" "Authorization: ***"
  expect_file_contains "$T/l.out" "https://me:***@example.com/"
  manage j list --json
  manage e export
  local key
  key=$(grep -oE 'bafkrei[a-z2-7]{52}' "$T/l.out" | head -n 1)
  manage s show "$key"
  local f
  for f in l j e s; do
    expect_not_contains "$(cat "$T/$f.out")" "s3cr3tvalue" "$f output"
    expect_not_contains "$(cat "$T/$f.out")" "abc123xyz" "$f output"
    expect_not_contains "$(cat "$T/$f.out")" "pa55word" "$f output"
  done
}

test_list_without_a_cache() {
  manage l list
  expect_rc 0
  expect_empty "$T/l.out"
  if [[ -e $IPFSACC_DIR ]]; then fail "list created the cache directory"; fi
}

test_list_bad_options() {
  manage a list --sort color
  expect_rc 2
  manage b list --limit many
  expect_rc 2
  manage c list --bogus
  expect_rc 2
  manage d list extra-argument
  expect_rc 2
}

# ---------------------------------------------------------------------------
# show

test_show_metadata() {
  seed
  key_of k gh pr list -R o/r
  manage s show "$KEY"
  expect_rc 0
  local text
  text=$(cat "$T/s.out")
  expect_contains "$text" "key        $KEY"
  expect_contains "$text" "command    gh pr list -R o/r"
  expect_contains "$text" "tool       gh (rule pr-list)"
  expect_contains "$text" "hits       3"
  expect_contains "$text" "(verified)"
  expect_contains "$text" "tags       gh:pr:o/r"
}

test_show_prefix() {
  seed
  key_of k hf models info gpt2
  manage a show "${KEY:0:16}"
  expect_rc 0
  expect_file_contains "$T/a.out" "$KEY"
  # Every key starts with bafkrei: three entries match.
  manage b show bafkrei
  expect_rc 1
  expect_file_contains "$T/b.err" "ambiguous"
  expect_file_contains "$T/b.err" "$KEY"
  expect_eq 3 "$(grep -c '^  bafkrei' "$T/b.err")" "candidates listed"
  manage c show bafkreiaaaaaaaaaaaaaaaaaaaaa
  expect_rc 1
  expect_file_contains "$T/c.err" "no entry"
  manage d show not-a-cid
  expect_rc 1
  manage e show
  expect_rc 2
}

test_show_outputs() {
  export FAKE_INTERLEAVE=1 FAKE_INTERLEAVE_DELAY=0.02
  run_direct direct gh pr list -R o/r
  capture_combined direct_all gh pr list -R o/r
  key_of k gh pr list -R o/r
  manage o show --stdout "$KEY"
  expect_rc 0
  expect_same_file "$T/direct.out" "$T/o.out" "show --stdout"
  expect_empty "$T/o.err"
  manage e show --stderr "$KEY"
  expect_empty "$T/e.out"
  expect_same_file "$T/direct.err" "$T/e.err" "show --stderr"
  # Both: replayed as recorded, interleaving included.
  capture_combined both ipfsacc show --stdout --stderr "$KEY"
  expect_same_file "$T/direct_all.all" "$T/both.all" "show --stdout --stderr"
}

test_show_binary_output() {
  export FAKE_BINARY=1
  run_direct direct hf models info gpt2
  key_of k hf models info gpt2
  manage o show --stdout "${KEY:0:20}"
  expect_same_file "$T/direct.out" "$T/o.out" "binary stdout"
}

test_show_json() {
  seed
  key_of k gh pr list -R o/r
  manage j show --json "$KEY"
  expect_rc 0
  expect_eq "$KEY" "$(json_get "$T/j.out" key)" "key"
  expect_eq true "$(json_get "$T/j.out" stdout.verified)" "verified"
  expect_eq 3 "$(json_get "$T/j.out" hits)" "hits"
  expect_eq out "$(json_get "$T/j.out" segments.0.0)" "first segment"
  expect_eq gh:pr:o/r "$(json_get "$T/j.out" tags.0)" "tag"
  manage x show --json --stdout "$KEY"
  expect_rc 2
}

test_show_refuses_corrupt_output() {
  export IPFSACC_COMPRESSION=off # outputs found by their bytes (corrupt)
  FAKE_MARK=zzcorruptzz ipfsacc gh repo view o/r >/dev/null 2>&1
  key_of k gh repo view o/r
  corrupt zzcorruptzz
  manage o show --stdout "$KEY"
  expect_rc 1
  expect_empty "$T/o.out"
  expect_file_contains "$T/o.err" "does not match its CID"
  manage m show "$KEY"
  expect_file_contains "$T/m.out" "CORRUPT"
}

# ---------------------------------------------------------------------------
# purge

test_purge_needs_a_condition() {
  seed
  manage p purge
  expect_rc 2
  expect_file_contains "$T/p.err" "--all"
  manage q purge --dry-run
  expect_rc 2
  expect_stat entries 3
}

test_purge_all_yes() {
  seed
  manage p purge --all --yes
  expect_rc 0
  expect_file_contains "$T/p.out" "Removed 3 entries"
  expect_stat entries 0
  # Counters stay; the stored bytes are back to nothing.
  expect_stat hits 2
  ipfsacc gh pr list -R o/r >/dev/null 2>&1
  expect_invocations "gh pr list" 2
}

test_purge_all_asks_when_not_a_terminal() {
  seed
  manage p purge --all
  expect_rc 2
  expect_file_contains "$T/p.err" "--yes"
  expect_stat entries 3
}

test_purge_all_confirmation_on_a_terminal() {
  command -v script >/dev/null || skip "no script(1) to make a terminal"
  seed
  # No: nothing removed, exit status 1.
  echo n | script -qec "$BOUNDED $IPFSACC_BIN purge --all" /dev/null >"$T/n.out" 2>&1
  expect_eq 1 "$?" "exit status after 'n'"
  expect_file_contains "$T/n.out" "Remove all 3 entries"
  expect_file_contains "$T/n.out" "nothing removed"
  expect_stat entries 3
  echo y | script -qec "$BOUNDED $IPFSACC_BIN purge --all" /dev/null >"$T/y.out" 2>&1
  expect_eq 0 "$?" "exit status after 'y'"
  expect_file_contains "$T/y.out" "Removed 3 entries"
  expect_stat entries 0
}

test_purge_dry_run() {
  seed
  manage d purge --all --dry-run
  expect_rc 0
  expect_file_contains "$T/d.out" "Would remove 3 entries"
  manage e purge --tool gh -n
  expect_file_contains "$T/e.out" "Would remove 2 entries"
  expect_stat entries 3
  ipfsacc gh pr list -R o/r >/dev/null 2>&1
  expect_invocations "gh pr list" 1
}

test_purge_expired() {
  ipfsacc --ttl 1s gh pr list -R o/r >/dev/null 2>&1
  ipfsacc --ttl 1s hf models info gpt2 >/dev/null 2>&1
  ipfsacc --ttl 1h gh repo view o/r >/dev/null 2>&1
  clock_advance 2
  manage p purge --expired
  expect_rc 0
  expect_file_contains "$T/p.out" "Removed 2 entries"
  manage l list
  expect_eq 2 "$(lines l)" "left"
  expect_file_contains "$T/l.out" "gh repo view o/r"
}

test_purge_tool_match_key() {
  seed
  manage a purge --tool hf
  expect_file_contains "$T/a.out" "Removed 1 entry"
  manage b purge --match 'gh pr *'
  expect_file_contains "$T/b.out" "Removed 1 entry"
  manage l list
  expect_eq 2 "$(lines l)" "left"
  expect_file_contains "$T/l.out" "gh repo view o/r"
  key_of k gh repo view o/r
  manage c purge --key "${KEY:0:20}"
  expect_rc 0
  expect_file_contains "$T/c.out" "Removed 1 entry"
  expect_stat entries 0
  manage d purge --key "$KEY"
  expect_rc 1
  manage e purge --key bafkrei
  expect_rc 1
  expect_file_contains "$T/e.err" "no entry's key starts with bafkrei"
}

test_purge_conditions_combine() {
  ipfsacc --ttl 1s gh pr list -R o/r >/dev/null 2>&1
  ipfsacc --ttl 1s hf models info gpt2 >/dev/null 2>&1
  ipfsacc --ttl 1h gh repo view o/r >/dev/null 2>&1
  clock_advance 4
  ipfsacc --ttl 5s gh pr list -R o/other >/dev/null 2>&1
  # Expired gh entries: not the fresh gh one, not the expired hf one.
  manage a purge --tool gh --expired
  expect_file_contains "$T/a.out" "Removed 1 entry"
  manage l list
  expect_not_contains "$(cat "$T/l.out")" "gh pr list -R o/r$"
  # Older than 3s and matching: only gh repo view.
  manage b purge --older-than 3s --match 'gh *'
  expect_file_contains "$T/b.out" "Removed 1 entry"
  manage m list
  expect_eq 3 "$(lines m)" "left"
  expect_file_contains "$T/m.out" "hf models info gpt2"
  expect_file_contains "$T/m.out" "gh pr list -R o/other"
  # --all with a condition is that condition.
  manage c purge --all --yes --tool hf
  expect_file_contains "$T/c.out" "Removed 1 entry"
  expect_stat entries 1
}

test_purge_max_size_evicts_least_recently_used() {
  local k
  for k in a b c d; do
    FAKE_SIZE=5000 ipfsacc hf models info "$k" >/dev/null 2>&1
    clock_advance 1
  done
  ipfsacc hf models info a >/dev/null 2>&1 # used last now
  manage p purge --max-size 12k
  expect_rc 0
  expect_file_contains "$T/p.out" "Removed 2 entries"
  manage l list
  expect_file_contains "$T/l.out" "hf models info a"
  expect_file_contains "$T/l.out" "hf models info d"
  expect_stat evictions 2
  expect_stat tools.hf.evictions 2
  manage q purge --max-size 12k
  expect_file_contains "$T/q.out" "Removed 0 entries"
  manage bad purge --max-size lots
  expect_rc 2
  manage bad2 purge --older-than soon
  expect_rc 2
}

test_purge_frees_blobs_no_longer_used() {
  make_tool mytool
  # Two keys (X is in the key), one output: one blob, two references.
  X=1 ipfsacc run --key-env X -- mytool same >/dev/null 2>&1
  X=2 ipfsacc run --key-env X -- mytool same >/dev/null 2>&1
  key_of k run --key-env X -- mytool same
  manage m list --json
  local out_cid
  out_cid=$(json_get "$T/m.out" 0.stdout.cid)
  expect_eq "$out_cid" "$(json_get "$T/m.out" 1.stdout.cid)" "shared output"
  X=1 manage a purge --key "$(json_get "$T/m.out" 0.key)"
  manage d doctor --deep
  expect_rc 0
  expect_file_contains "$T/d.out" "OK    blobs: 1 outputs, all verify"
  manage b purge --all --yes
  manage e doctor --deep
  expect_rc 0
  expect_file_contains "$T/e.out" "OK    blobs: 0 outputs"
  expect_not_contains "$(cat "$T/e.out")" "belong to no entry"
  expect_stat entries 0
}

test_purge_during_parallel_hits() {
  # 8 entries that must stay, hit by 32 processes while other processes
  # purge and re-create entries of another tool. No hit may lose its entry
  # (the tool would run again) or return a partial answer.
  export FAKE_SIZE=200000
  local k i r
  for k in $(seq 0 7); do
    run_direct "exp$k" gh repo view "o/keep$k"
    ipfsacc gh repo view "o/keep$k" >/dev/null 2>&1
  done
  for k in $(seq 0 19); do
    ipfsacc hf models info "doomed$k" >/dev/null 2>&1
  done
  local pids=()
  for i in $(seq 1 32); do
    (
      for r in 1 2 3 4 5 6; do
        k=$(((i + r) % 8))
        "$IPFSACC_BIN" gh repo view "o/keep$k" >"$T/h.$i.$r.out" 2>"$T/h.$i.$r.err"
        echo "$? $k" >"$T/h.$i.$r.rc"
      done
    ) &
    pids+=($!)
  done
  (
    for r in 1 2 3 4 5; do
      "$IPFSACC_BIN" purge --tool hf >/dev/null
      "$IPFSACC_BIN" hf models info "doomed$r" >/dev/null 2>&1
      "$IPFSACC_BIN" purge --match 'hf models info doomed*' --max-size 1 >/dev/null
      "$IPFSACC_BIN" purge --expired >/dev/null
    done
  ) &
  pids+=($!)
  for i in "${pids[@]}"; do wait "$i"; done
  for i in $(seq 1 32); do
    for r in 1 2 3 4 5 6; do
      read -r rc k <"$T/h.$i.$r.rc"
      expect_eq 0 "$rc" "exit status of hit $i.$r"
      expect_same_file "$T/exp$k.out" "$T/h.$i.$r.out" "answer of hit $i.$r"
    done
  done
  expect_invocations "gh repo view" 8
  manage l list --tool gh
  expect_eq 9 "$(lines l)" "gh entries left"
  manage d doctor
  expect_rc 0
}

# ---------------------------------------------------------------------------
# export and import

# seed_outputs: three entries whose outputs are hard to get right: stdout
# and stderr interleaved, binary bytes, a cached failure.
seed_outputs() {
  FAKE_INTERLEAVE=1 FAKE_INTERLEAVE_DELAY=0.02 ipfsacc gh pr list -R o/r >/dev/null 2>&1
  FAKE_BINARY=1 ipfsacc hf models info gpt2 >/dev/null 2>&1
  FAKE_EXIT=3 ipfsacc --cache-failures claude -p hello >/dev/null 2>&1
}

# expect_seeded_hits: the calls of seed_outputs are hits that replay what
# the tools print, and each tool ran once (for seed_outputs).
expect_seeded_hits() {
  export FAKE_INTERLEAVE=1 FAKE_INTERLEAVE_DELAY=0.02
  run_direct d1 gh pr list -R o/r
  run_wrapped w1 -v gh pr list -R o/r
  expect_explain w1 HIT
  strip_explain "$T/w1.err" "$T/w1.tool.err"
  expect_same_file "$T/d1.out" "$T/w1.out"
  expect_same_file "$T/d1.err" "$T/w1.tool.err"
  unset FAKE_INTERLEAVE FAKE_INTERLEAVE_DELAY
  export FAKE_BINARY=1
  run_direct d2 hf models info gpt2
  run_wrapped w2 hf models info gpt2
  expect_same d2 w2
  unset FAKE_BINARY
  export FAKE_EXIT=3
  run_direct d3 claude -p hello
  run_wrapped w3 --cache-failures claude -p hello
  expect_same d3 w3
  unset FAKE_EXIT
  expect_invocations "gh pr list" 1
  expect_invocations "hf models info" 1
  expect_invocations "claude -p" 1
}

test_export_purge_import_gives_back_the_same_hits() {
  make_git_repo "$W"
  seed_outputs
  manage x export "$T/all.jsonl"
  expect_rc 0
  expect_file_contains "$T/x.err" "Exported 3 entries"
  expect_eq 3 "$(wc -l <"$T/all.jsonl" | tr -d ' ')" "export lines"
  manage p purge --all --yes
  manage i import "$T/all.jsonl"
  expect_rc 0
  expect_file_contains "$T/i.out" "Imported 3 entries"
  expect_seeded_hits
}

test_export_to_stdout_with_filters() {
  seed
  manage a export
  expect_rc 0
  expect_eq 3 "$(lines a)" "all entries"
  manage b export - --tool gh
  expect_eq 2 "$(lines b)" "gh entries"
  manage c export --match 'hf *'
  expect_eq 1 "$(lines c)" "hf entries"
  local line
  line=$(head -n 1 "$T/c.out")
  expect_contains "$line" '"format":"ipfsacc-export/1"'
  expect_contains "$line" '"command":"hf models info gpt2"'
  expect_match "$line" '"stdout":\{"cid":"bafkrei[a-z2-7]{52}","size":[0-9]+,"base64":"' "stdout"
  expect_match "$line" '"key":"bafkrei[a-z2-7]{52}"' "key"
  # The base64 is the output, byte for byte.
  run_direct d hf models info gpt2
  sed -E 's/.*"stdout":\{[^}]*"base64":"([^"]*)".*/\1/' "$T/c.out" | base64 -d >"$T/decoded"
  expect_same_file "$T/d.out" "$T/decoded" "decoded stdout"
  manage bad export "$T/no/such/dir/x.jsonl"
  expect_rc 1
}

test_export_car_purge_import_gives_back_the_same_hits() {
  make_git_repo "$W"
  seed_outputs
  # Two entries with the same output: one block in the archive.
  FAKE_MARK=same ipfsacc run -- fake-cli same >/dev/null 2>&1
  FAKE_MARK=same ipfsacc run --key-env FAKE_MARK -- fake-cli same >/dev/null 2>&1
  manage x export --format car "$T/all.car"
  expect_rc 0
  expect_file_contains "$T/x.err" "Exported 5 entries"
  # CARv1: a varint header length, then a DAG-CBOR map.
  expect_contains "$(head -c 12 "$T/all.car" | od -An -tx1 | tr -d ' \n')" a265726f6f7473 "CAR header"
  manage p purge --all --yes
  manage i import "$T/all.car"
  expect_rc 0
  expect_file_contains "$T/i.out" "Imported 5 entries"
  expect_seeded_hits
  # Through a pipe, and a second import finds everything present.
  ipfsacc export --format car --tool gh 2>/dev/null >"$T/gh.car"
  capture again ipfsacc import <"$T/gh.car"
  expect_rc 0
  expect_file_contains "$T/again.out" "Imported 0 entries; skipped 1 already present"
}

# Progress on long work: on a terminal, export, import and purge draw one
# line on stderr, redrawn in place and erased before the summary. Drawn
# after a second of work; IPFSACC_PROGRESS_DELAY=0 draws it from the first
# entry on, which is what a long run shows without making one.
test_export_import_purge_show_progress_on_a_terminal() {
  command -v script >/dev/null || skip "no script(1) to make a terminal"
  seed
  export IPFSACC_PROGRESS_DELAY=0
  local cmd="$BOUNDED $IPFSACC_BIN"
  on_terminal x "$cmd export $T/all.jsonl"
  expect_eq 0 "$rc" "export's exit status"
  expect_file_contains "$T/x.tty" $'\rExporting: '
  expect_file_contains "$T/x.tty" "/3 entries ("
  expect_screen x "Exported 3 entries ("
  on_terminal p "$cmd purge --all --yes"
  expect_eq 0 "$rc" "purge's exit status"
  expect_file_contains "$T/p.tty" $'\rRemoving: '
  expect_screen p "Removed 3 entries, freed"
  # A rejected line is written above the line, which goes on.
  sed -i -E '2s/"base64":"(.)(.)/"base64":"\2\1/' "$T/all.jsonl"
  on_terminal i "$cmd import $T/all.jsonl"
  expect_eq 1 "$rc" "import's exit status"
  expect_file_contains "$T/i.tty" $'\rImporting: '
  expect_screen i "ipfsacc: import: $T/all.jsonl:2: rejected: stdout" "Imported 2 entries"
  expect_stat entries 2
  # A CAR archive: read, then written.
  on_terminal c "$cmd export --format car $T/all.car"
  expect_file_contains "$T/c.tty" $'\rReading: '
  expect_screen c "Exported 2 entries ("
  on_terminal d "$cmd purge --all --yes --dry-run"
  expect_file_contains "$T/d.tty" $'\rChecking: '
  expect_screen d "Would remove 2 entries"
}

# No progress where nobody watches it: stderr redirected or piped (CI
# logs), the export itself going to the terminal, --no-progress, and work
# quicker than the delay. --progress draws it into a file all the same.
test_progress_only_on_a_terminal_or_when_asked() {
  command -v script >/dev/null || skip "no script(1) to make a terminal"
  seed
  export IPFSACC_PROGRESS_DELAY=0
  local cmd="$BOUNDED $IPFSACC_BIN"
  manage x export "$T/all.jsonl"
  manage p purge --tool hf
  manage i import "$T/all.jsonl"
  ipfsacc import "$T/all.jsonl" 2>&1 | cat >"$T/piped.all"
  for f in x.err p.err i.err piped.all; do
    expect_not_contains "$(tr '\r' '#' <"$T/$f")" "#" "$f"
  done
  # On a terminal, with stderr alone redirected.
  on_terminal r "$cmd export $T/r.jsonl 2>$T/r.err"
  expect_eq 0 "$rc" "exit status"
  expect_not_contains "$(tr '\r' '#' <"$T/r.err")" "#" "r.err"
  expect_file_contains "$T/r.err" "Exported 3 entries"
  # The export written to the terminal: no line drawn over it.
  on_terminal s "$cmd export --tool hf"
  expect_not_contains "$(cat "$T/s.tty")" "Exporting"
  on_terminal n "$cmd export --no-progress $T/n.jsonl"
  expect_not_contains "$(cat "$T/n.tty")" "Exporting"
  on_terminal q "IPFSACC_PROGRESS_DELAY=1h $cmd export $T/q.jsonl"
  expect_not_contains "$(cat "$T/q.tty")" "Exporting"
  expect_screen q "Exported 3 entries ("
  # --progress: drawn and erased whatever stderr is.
  manage f export --progress "$T/f.jsonl"
  expect_rc 0
  expect_file_contains "$T/f.err" $'\rExporting: '
  manage both export --progress --no-progress "$T/f.jsonl"
  expect_rc 2
}

test_import_car_rejects_tampered_blocks() {
  seed
  manage x export --format car "$T/all.car"
  manage p purge --all --yes
  # Change one byte of the hf output (a raw block: the fake's "hf models
  # info gpt2" line): that block and its entry are rejected, the rest come
  # in.
  local off
  off=$(grep -obUa -- 'hf models info gpt2' "$T/all.car" | tail -n 1 | cut -d: -f1)
  if [[ -z $off ]]; then fail "the hf output is not in the archive"; fi
  printf 'H' | dd of="$T/all.car" bs=1 seek="$off" conv=notrunc status=none
  manage i import "$T/all.car"
  expect_rc 1
  expect_file_contains "$T/i.err" "do not hash to its CID"
  expect_file_contains "$T/i.err" "its stdout block is missing or rejected"
  expect_file_contains "$T/i.out" "Imported 2 entries"
  expect_stat entries 2
  # A truncated archive: an error, nothing half-read.
  ipfsacc purge --all --yes >/dev/null
  head -c 100 "$T/all.car" >"$T/short.car"
  manage t import "$T/short.car"
  expect_rc 1
  expect_file_contains "$T/t.err" "truncated"
  head -c -10 "$T/all.car" >"$T/short.car"
  manage t2 import "$T/short.car"
  expect_rc 1
  expect_file_contains "$T/t2.err" "truncated"
  expect_stat entries 0
  manage bad export --format tar "$T/x"
  expect_rc 2
}

test_import_rejects_a_tampered_line() {
  seed
  manage x export "$T/all.jsonl"
  # Swap the first two characters of line 2's stdout: still base64, other
  # bytes.
  sed -i -E '2s/"base64":"(.)(.)/"base64":"\2\1/' "$T/all.jsonl"
  printf 'not json\n' >>"$T/all.jsonl"
  manage p purge --all --yes
  manage i import "$T/all.jsonl"
  expect_rc 1
  expect_file_contains "$T/i.err" "all.jsonl:2: rejected: stdout: the bytes do not match their CID"
  expect_file_contains "$T/i.err" "all.jsonl:4: rejected: not a JSON object"
  expect_file_contains "$T/i.out" "Imported 2 entries"
  expect_file_contains "$T/i.out" "rejected 2 lines"
  expect_stat entries 2
}

test_import_skips_present_and_expired() {
  ipfsacc --ttl 3s gh pr list -R o/r >/dev/null 2>&1
  ipfsacc --ttl 1h gh repo view o/r >/dev/null 2>&1
  manage x export "$T/all.jsonl"
  manage i import "$T/all.jsonl"
  expect_rc 0
  expect_file_contains "$T/i.out" "Imported 0 entries; skipped 2 already present, 0 expired"
  clock_advance 4
  manage p purge --all --yes
  manage j import <"$T/all.jsonl"
  expect_rc 0
  expect_file_contains "$T/j.out" "Imported 1 entry; skipped 0 already present, 1 expired"
  manage p2 purge --all --yes
  manage k import - <"$T/all.jsonl"
  expect_file_contains "$T/k.out" "Imported 1 entry"
  manage bad import "$T/missing.jsonl"
  expect_rc 1
}

# export_line TEXT FILE: the line of export FILE whose command is TEXT.
export_line() {
  grep -F "\"command\":\"$1\"" "$2" || fail "no export line of '$1' in $2"
}

# moved_to KEY: an export line on stdin, moved to the key KEY with its
# expiry set to the last day of the year 9999.
moved_to() {
  sed -E -e "s/\"key\":\"bafkrei[a-z2-7]{52}\"/\"key\":\"$1\"/" \
    -e 's/"expires_ms":[0-9]+/"expires_ms":253402300799000/'
}

# The report: the export line of `run -- echo AAA` moved to the key of
# `run -- echo BBB`, expiring in the year 9999. Without trusted keys nothing
# tells it from a real line, but it is kept no longer than this machine
# would keep BBB's own answer: run's default_ttl (1m); a gh rule's 5m.
test_an_edited_export_line_lives_no_longer_than_its_ttl() {
  key_of b run -- echo BBB
  local key_b=$KEY
  ipfsacc run -- echo AAA >/dev/null 2>&1
  manage x export "$T/all.jsonl"
  export_line "echo AAA" "$T/all.jsonl" | moved_to "$key_b" >"$T/edited.jsonl"
  manage p purge --all --yes
  manage i import "$T/edited.jsonl"
  expect_rc 0
  expect_file_contains "$T/i.out" "Imported 1 entry"
  clock_advance 61
  run_wrapped after -v run -- echo BBB
  expect_explain after MISS
  expect_eq BBB "$(cat "$T/after.out")" "run -- echo BBB a minute later"
  expect_file_contains "$T/i.out" "capped 1 expiry at this machine's TTL"

  # A rule's own TTL: gh pr list keeps its answers 5m.
  ipfsacc gh pr list -R o/r >/dev/null 2>&1
  manage g export "$T/gh.jsonl" --tool gh
  sed -E 's/"expires_ms":[0-9]+/"expires_ms":253402300799000/' "$T/gh.jsonl" >"$T/gh-edited.jsonl"
  manage p2 purge --all --yes
  manage j import "$T/gh-edited.jsonl"
  expect_rc 0
  expect_file_contains "$T/j.out" "Imported 1 entry"
  expect_file_contains "$T/j.out" "capped 1 expiry"
  clock_advance 299
  run_wrapped fresh -v gh pr list -R o/r
  expect_explain fresh HIT
  clock_advance 2
  run_wrapped stale -v gh pr list -R o/r
  expect_explain stale MISS
  expect_invocations "gh pr list" 2
  # A line that expires sooner than the TTL keeps its own expiry.
  manage g2 export "$T/gh2.jsonl" --tool gh
  manage p3 purge --all --yes
  clock_advance 200
  manage k import "$T/gh2.jsonl"
  expect_file_contains "$T/k.out" "Imported 1 entry"
  expect_file_contains "$T/k.out" "capped 0 expiries"
  clock_advance 101
  run_wrapped later -v gh pr list -R o/r
  expect_explain later MISS
}

# With remote_trusted_keys, an export comes in only signed by one of those
# keys, and as it was signed: the line of the report, one unsigned, one
# signed by another machine's key and one with a changed field are
# rejected, counted by reason, and nothing of them is stored.
test_with_trusted_keys_only_signed_unchanged_exports_come_in() {
  local pub key_b
  capture keygen ipfsacc secrets signing-key
  expect_rc 0
  pub=$(cat "$T/keygen.out")
  key_of b run -- echo BBB
  key_b=$KEY
  ipfsacc run -- echo AAA >/dev/null 2>&1
  # Arguments that are not UTF-8 are shown as U+FFFD in the line; its
  # signature covers what the line says.
  ipfsacc run -- echo $'caf\xe9 \xff' >/dev/null 2>&1
  manage x export "$T/signed.jsonl"
  expect_rc 0
  expect_file_contains "$T/x.err" "Exported 3 entries"
  manage car export --format car "$T/signed.car"
  # Unsigned (no signing key) and signed by a stranger.
  IPFSACC_SECRETS_DIR=$T/none manage u export "$T/unsigned.jsonl"
  expect_not_contains "$(cat "$T/u.err")" "signed by"
  IPFSACC_SECRETS_DIR=$T/none manage ucar export --format car "$T/unsigned.car"
  IPFSACC_SECRETS_DIR=$T/stranger ipfsacc secrets signing-key >/dev/null 2>&1
  IPFSACC_SECRETS_DIR=$T/stranger manage s export "$T/stranger.jsonl"
  export_line "echo AAA" "$T/signed.jsonl" | moved_to "$key_b" >"$T/bad.jsonl"
  export_line "echo AAA" "$T/signed.jsonl" |
    sed -e 's/"command":"echo AAA"/"command":"echo AAB"/' >>"$T/bad.jsonl"
  export_line "echo AAA" "$T/unsigned.jsonl" >>"$T/bad.jsonl"
  export_line "echo AAA" "$T/stranger.jsonl" >>"$T/bad.jsonl"
  manage p purge --all --yes

  export IPFSACC_REMOTE_TRUSTED_KEYS=$pub
  manage i import "$T/bad.jsonl"
  expect_rc 1
  expect_file_contains "$T/i.err" "bad.jsonl:1: rejected: the entry has a signature that does not verify"
  expect_file_contains "$T/i.err" "bad.jsonl:2: rejected: the entry has a signature that does not verify"
  expect_file_contains "$T/i.err" "bad.jsonl:3: rejected: the entry is not signed, and remote_trusted_keys asks for a signature"
  expect_file_contains "$T/i.err" "bad.jsonl:4: rejected: the entry is signed by "
  expect_file_contains "$T/i.out" "Imported 0 entries"
  expect_file_contains "$T/i.out" "rejected 4 lines (1 unsigned, 1 signed by a key not trusted, 2 changed since signed)"
  expect_stat entries 0
  run_wrapped bbb run -- echo BBB
  expect_eq BBB "$(cat "$T/bbb.out")" "run -- echo BBB"
  expect_file_contains "$T/x.err" "signed by $pub"
  expect_eq 3 "$(grep -c "\"signer\":\"$pub\"" "$T/signed.jsonl")" "signed lines"
  manage p2 purge --all --yes
  for file in unsigned.jsonl unsigned.car; do
    manage un import "$T/$file"
    expect_rc 1
    expect_file_contains "$T/un.out" "Imported 0 entries"
    expect_stat entries 0
  done
  expect_file_contains "$T/un.err" "rejected: entry bafkrei"
  expect_file_contains "$T/un.err" "the entry is not signed"

  # What the trusted key signed comes in, and answers.
  for file in signed.jsonl signed.car; do
    ipfsacc purge --all --yes >/dev/null 2>&1
    manage ok import "$T/$file"
    expect_rc 0
    expect_file_contains "$T/ok.out" "Imported 3 entries"
    run_wrapped aaa -v run -- echo AAA
    expect_explain aaa HIT
    run_wrapped cafe -v run -- echo $'caf\xe9 \xff'
    expect_explain cafe HIT
  done

  # A trusted-keys setting that does not parse: an error before anything
  # is read.
  ipfsacc purge --all --yes >/dev/null 2>&1
  IPFSACC_REMOTE_TRUSTED_KEYS=not-a-key manage nk import "$T/signed.jsonl"
  expect_rc 2
  expect_file_contains "$T/nk.err" "'not-a-key' is not a public key"
  expect_stat entries 0
}

# ---------------------------------------------------------------------------
# config

conf() { echo "$XDG_CONFIG_HOME/ipfsacc/ipfsacc.conf"; }

test_config_list_shows_origins() {
  mkdir -p "$(dirname "$(conf)")"
  printf 'ttl.gh = 10m\ndefault_ttl = 2m\n' >"$(conf)"
  export IPFSACC_MAX_SIZE=2G
  manage l config list
  expect_rc 0
  expect_match "$(grep '^max_size ' "$T/l.out")" '^max_size +2G +environment \(IPFSACC_MAX_SIZE\)$' "max_size"
  expect_match "$(grep '^ttl.gh ' "$T/l.out")" '^ttl.gh +10m +config file$' "ttl.gh"
  expect_match "$(grep '^default_ttl ' "$T/l.out")" '^default_ttl +2m +config file$' "default_ttl"
  expect_match "$(grep '^stats ' "$T/l.out")" '^stats +true +default$' "stats"
  expect_match "$(grep '^cache_dir ' "$T/l.out")" "^cache_dir +$IPFSACC_DIR +environment" "cache_dir"
  manage g config get max_size
  expect_eq 2G "$(cat "$T/g.out")" "config get max_size"
}

test_config_set_get_unset_keep_comments() {
  mkdir -p "$(dirname "$(conf)")"
  printf '# my settings\nstats = false\n\n# per tool\nttl.gh = 5m\n' >"$(conf)"
  manage s config set max_size 500M
  expect_rc 0
  manage s2 config set ttl.gh 10m
  expect_rc 0
  expect_eq "$(printf '# my settings\nstats = false\n\n# per tool\nttl.gh = 10m\nmax_size = 500M')" \
    "$(cat "$(conf)")" "config file"
  manage g config get max_size
  expect_eq 500M "$(cat "$T/g.out")" "get"
  manage g2 config get ttl.gh
  expect_eq 10m "$(cat "$T/g2.out")" "get ttl.gh"
  manage u config unset stats
  expect_rc 0
  expect_eq "$(printf '# my settings\n\n# per tool\nttl.gh = 10m\nmax_size = 500M')" \
    "$(cat "$(conf)")" "after unset"
  manage g3 config get stats
  expect_eq true "$(cat "$T/g3.out")" "stats back to its default"
  manage u2 config unset stats
  expect_rc 0
  expect_file_contains "$T/u2.err" "not set"
  manage g4 config get ttl.hf
  expect_rc 1
  # The value is used: a per-tool TTL from the file.
  run_wrapped w -v gh pr list -R o/r
  expect_file_contains "$T/w.err" "MISS"
  run_wrapped w2 -v gh pr list -R o/r
  expect_match "$(cat "$T/w2.err")" "expires_in=(9m|10m)" "TTL from the config file"
}

test_config_creates_the_file() {
  manage s config set max_size 2G
  expect_rc 0
  expect_eq "max_size = 2G" "$(cat "$(conf)")" "new config file"
  expect_eq 600 "$(stat -c %a "$(conf)")" "mode"
}

test_config_unknown_keys_and_bad_values() {
  manage a config set max_sise 1G
  expect_rc 2
  expect_file_contains "$T/a.err" "did you mean 'max_size'"
  manage b config get cahce_dir
  expect_rc 2
  expect_file_contains "$T/b.err" "did you mean 'cache_dir'"
  manage c config set max_size lots
  expect_rc 2
  manage d config set stats maybe
  expect_rc 2
  manage e config set ttl.gh soon
  expect_rc 2
  manage f config
  expect_rc 2
  manage g config frobnicate
  expect_rc 2
  if [[ -e $(conf) ]]; then fail "a rejected set wrote the config file"; fi
}

test_config_fixes_a_broken_file() {
  mkdir -p "$(dirname "$(conf)")"
  printf 'max_sise = 1G\nstats = true\n' >"$(conf)"
  # Other commands refuse to run on a broken config; config itself works.
  manage l list
  expect_rc 2
  expect_file_contains "$T/l.err" "did you mean 'max_size'"
  manage c config list
  expect_rc 0
  expect_file_contains "$T/c.err" "max_sise"
  manage u config unset max_sise
  expect_rc 0
  manage l2 list
  expect_rc 0
}

# ---------------------------------------------------------------------------
# doctor

# expect_doctor_format NAME: every line of the capture is a check line.
expect_doctor_format() {
  local bad
  bad=$(grep -vE '^(OK  |WARN|FAIL)  [^:]+: .+' "$T/$1.out" || true)
  if [[ -n $bad ]]; then fail "doctor lines not in the format: $bad"; fi
}

test_doctor_healthy() {
  seed
  manage d doctor
  expect_rc 0
  expect_doctor_format d
  expect_not_contains "$(cat "$T/d.out")" "FAIL"
  expect_file_contains "$T/d.out" "OK    cache dir: $IPFSACC_DIR (mode 0700)"
  expect_file_contains "$T/d.out" "OK    lmdb: opens"
  expect_file_contains "$T/d.out" "OK    entries: 3 entries, indexes consistent"
  expect_file_contains "$T/d.out" "OK    blobs: 3 outputs present and counted"
  expect_file_contains "$T/d.out" "OK    disk space:"
  expect_file_contains "$T/d.out" "OK    tool gh: $FAKES/gh (gh version 2.23.0 (2023-01-01))"
  expect_file_contains "$T/d.out" "OK    rules: 7 built-in rule files"
  expect_file_contains "$T/d.out" "OK    config: no "
  manage deep doctor --deep
  expect_rc 0
  expect_file_contains "$T/deep.out" "OK    blobs: 3 outputs, all verify against their CIDs"
}

test_doctor_without_a_cache() {
  manage d doctor
  expect_rc 0
  expect_doctor_format d
  expect_file_contains "$T/d.out" "does not exist yet"
}

test_doctor_deep_finds_corrupt_outputs() {
  export IPFSACC_COMPRESSION=off # outputs found by their bytes (corrupt)
  FAKE_MARK=zzcorruptzz ipfsacc gh repo view o/r >/dev/null 2>&1
  key_of k gh repo view o/r
  corrupt zzcorruptzz
  manage d doctor
  expect_rc 0
  manage deep doctor --deep
  expect_rc 1
  expect_doctor_format deep
  expect_file_contains "$T/deep.out" "FAIL  blobs: 1 outputs do not match their CID"
  expect_file_contains "$T/deep.out" "(fix: ipfsacc purge --key $KEY)"
  manage p purge --key "$KEY"
  manage again doctor --deep
  expect_rc 0
}

test_doctor_corrupt_lmdb() {
  seed
  head -c 100000 /dev/urandom >"$IPFSACC_DIR/data.mdb"
  manage d doctor
  expect_rc 1
  expect_doctor_format d
  expect_match "$(cat "$T/d.out")" 'FAIL  lmdb: .* is corrupt \(.*\); set aside as .*/data\.mdb\.corrupt-.*\(fix: none needed' "lmdb line"
}

test_doctor_permissions() {
  seed
  chmod 755 "$IPFSACC_DIR"
  manage d doctor
  expect_rc 0
  expect_file_contains "$T/d.out" "WARN  cache dir: $IPFSACC_DIR has mode 0755: others can read cached outputs (fix: chmod 700 $IPFSACC_DIR)"
  mkdir -p "$XDG_CONFIG_HOME/ipfsacc"
  echo secret >"$XDG_CONFIG_HOME/ipfsacc/secrets.enc"
  chmod 644 "$XDG_CONFIG_HOME/ipfsacc/secrets.enc"
  manage s doctor
  expect_rc 1
  expect_file_contains "$T/s.out" "FAIL  secrets: $XDG_CONFIG_HOME/ipfsacc/secrets.enc has mode 0644"
  expect_file_contains "$T/s.out" "(fix: chmod 600 $XDG_CONFIG_HOME/ipfsacc/secrets.enc)"
  chmod 600 "$XDG_CONFIG_HOME/ipfsacc/secrets.enc"
  manage s2 doctor
  expect_rc 0
  expect_file_contains "$T/s2.out" "OK    secrets:"
  # The key file too, where IPFSACC_SECRETS_DIR says the store is.
  mkdir -p "$T/vault"
  echo key >"$T/vault/secrets.key"
  chmod 640 "$T/vault/secrets.key"
  IPFSACC_SECRETS_DIR=$T/vault manage s3 doctor
  expect_rc 1
  expect_file_contains "$T/s3.out" "FAIL  secrets: $T/vault/secrets.key has mode 0640: others can read it (fix: chmod 600 $T/vault/secrets.key)"
}

test_doctor_config_and_environment() {
  mkdir -p "$(dirname "$(conf)")"
  printf 'max_sise = 1G\n' >"$(conf)"
  manage d doctor
  expect_rc 1
  expect_doctor_format d
  expect_file_contains "$T/d.out" "FAIL  config: $(conf):1: unknown config key 'max_sise' (did you mean 'max_size'?) (fix: ipfsacc config unset max_sise)"
  rm "$(conf)"
  IPFSACC_MAX_SIZE=huge manage e doctor
  expect_rc 1
  expect_file_contains "$T/e.out" "FAIL  environment: IPFSACC_MAX_SIZE"
  IPFSACC_TLL=5m manage f doctor
  expect_rc 0
  expect_file_contains "$T/f.out" "WARN  environment: unknown environment variable IPFSACC_TLL (did you mean IPFSACC_TTL?)"
}

test_doctor_rule_files() {
  mkdir -p "$XDG_CONFIG_HOME/ipfsacc/wrappers"
  cp "$IPFSACC_SOURCE_DIR/wrappers/vastai.json" "$XDG_CONFIG_HOME/ipfsacc/wrappers/vastai.json"
  manage a doctor
  expect_rc 0
  expect_file_contains "$T/a.out" "OK    rules: $XDG_CONFIG_HOME/ipfsacc/wrappers/vastai.json: vastai with"
  printf '{"tool": "broken", "binaries": ["broken"], "rules": [\n' \
    >"$XDG_CONFIG_HOME/ipfsacc/wrappers/broken.json"
  manage b doctor
  expect_rc 1
  expect_file_contains "$T/b.out" "FAIL  rules: $XDG_CONFIG_HOME/ipfsacc/wrappers/broken.json"
}

test_doctor_tools_on_path() {
  # Only gh and a tool whose --version fails are on PATH.
  local bin=$T/onlybin
  mkdir -p "$bin"
  ln -s "$FAKES/fake-cli" "$bin/gh"
  printf '#!/bin/sh\nexit 3\n' >"$bin/vastai"
  chmod +x "$bin/vastai"
  PATH=$bin:/usr/bin:/bin manage d doctor
  expect_doctor_format d
  expect_file_contains "$T/d.out" "OK    tool gh: $bin/gh (gh version 2.23.0"
  expect_file_contains "$T/d.out" "WARN  tool vastai: $bin/vastai: \`vastai --version\` failed"
  if ! command -v groq >/dev/null 2>&1; then
    expect_match "$(grep 'not on PATH' "$T/d.out")" 'groq' "tools not on PATH"
  fi
}

# ---------------------------------------------------------------------------
# Help, suggestions and exit codes.

test_help_for_every_command() {
  local cmd
  capture h ipfsacc --help
  expect_rc 0
  for cmd in stats list show purge export import config doctor; do
    expect_match "$(cat "$T/h.out")" "
  $cmd +[a-z]" "ipfsacc --help lists $cmd"
    capture "h_$cmd" ipfsacc "$cmd" --help
    expect_rc 0
    expect_file_contains "$T/h_$cmd.out" "Usage: ipfsacc $cmd"
    expect_empty "$T/h_$cmd.err"
  done
  capture h_cfg ipfsacc config set --help
  expect_rc 0
  expect_file_contains "$T/h_cfg.out" "KEY"
}

test_mistyped_commands_get_a_suggestion() {
  local typo want
  for typo in lsit:list purg:purge shwo:show exprot:export imoprt:import \
    confg:config docter:doctor stast:stats; do
    want=${typo#*:}
    capture t ipfsacc "${typo%%:*}"
    expect_rc 2
    expect_file_contains "$T/t.err" "did you mean '$want'?"
  done
}

test_exit_codes() {
  seed
  manage ok list
  expect_rc 0
  manage usage purge --frobnicate
  expect_rc 2
  manage usage2 stats --bogus
  expect_rc 2
  manage error show bafkreiaaaaaaaaaaaaaaaaaaa
  expect_rc 1
  # An unknown option of `run` is a usage error, not a command to look for.
  manage run_usage run --bogus -- fake-cli x
  expect_rc 2
  expect_file_contains "$T/run_usage.err" "unknown option '--bogus'"
  expect_invocations "fake-cli x" 0
  manage run_dashes run -- fake-cli x
  expect_rc 0
  expect_invocations "fake-cli x" 1
}

run_tests
