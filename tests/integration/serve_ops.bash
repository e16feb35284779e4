# serve_ops: what operators see of the proxy: /metrics (Prometheus text
# format), the Grafana dashboard over it, the statistics per route, and
# `show` of a proxied entry's canonical request.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib_serve.bash"

# metrics NAME [CURL ARGS...]: GET /metrics into $T/NAME.txt, the status to
# $T/NAME.status.
metrics() {
  local name=$1
  shift
  "$BOUNDED" curl -sS -o "$T/$name.txt" -D "$T/$name.head" -w '%{http_code}' \
    "$@" "$PROXY/metrics" >"$T/$name.status" || fail "curl /metrics failed"
}

# sample FILE SERIES: the value of one series (name and labels as exposed).
sample() {
  awk -v s="$2" '$1 == s { print $2; found = 1 } END { exit !found }' "$1" ||
    fail "no sample $2 in $1"
}

expect_sample() { # FILE SERIES VALUE
  expect_eq "$3" "$(sample "$1" "$2")" "$2"
}

# check_exposition FILE: FILE parses as the text format, version 0.0.4:
# every line a HELP, a TYPE or a sample of a family typed before it, label
# values quoted and escaped, values numbers; a histogram's buckets
# cumulative, ending with +Inf equal to its _count. promtool checks it too
# when it is installed (Debian's prometheus package).
check_exposition() {
  local file=$1
  awk '
    function fail(why) { printf "line %d: %s: %s\n", NR, why, $0; bad = 1; exit 1 }
    /^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* / { next }
    /^# TYPE / {
      if (NF != 4 || $4 !~ /^(counter|gauge|histogram|summary|untyped)$/) fail("bad TYPE")
      if ($3 in type) fail("family typed twice")
      type[$3] = $4; next
    }
    /^#/ { fail("unknown comment") }
    {
      if ($0 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*\})? (-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|NaN|[+-]Inf)$/)
        fail("not a sample")
      name = $1; sub(/\{.*/, "", name)
      family = name
      if (!(family in type)) { family = name; sub(/_(bucket|sum|count)$/, "", family) }
      if (!(family in type)) fail("sample of an untyped family")
      if (type[family] == "counter" && $2 < 0) fail("negative counter")
      if (name ~ /_bucket$/ && type[family] == "histogram") {
        series = $1; sub(/,?le="[^"]*"/, "", series)
        if (series in last && $2 < last[series]) fail("buckets not cumulative")
        last[series] = $2
        if ($1 ~ /le="\+Inf"/) inf[series] = $2
      }
      samples++
    }
    END { if (!bad && samples == 0) { print "no samples"; exit 1 } }
  ' "$file" || fail "$file is not the Prometheus text format"
  if command -v promtool >/dev/null 2>&1; then
    promtool check metrics <"$file" >"$T/promtool.out" 2>&1 || {
      _show "$T/promtool.out" >&2
      fail "promtool check metrics refused $file"
    }
  fi
}

test_metrics_count_a_miss_and_a_hit_per_route() {
  start_api anthropic
  start_serve
  metrics before
  expect_eq 200 "$(cat "$T/before.status")"
  expect_match "$(header before content-type)" '^text/plain;version=0\.0\.4'
  expect_sample "$T/before.txt" 'ipfsacc_serve_requests_total{route="anthropic",result="hit"}' 0
  messages first "$HELLO"
  messages second "$HELLO"
  expect_cache first MISS
  expect_cache second HIT
  metrics after
  check_exposition "$T/after.txt"
  local m=$T/after.txt a='route="anthropic"'
  expect_sample "$m" "ipfsacc_serve_requests_total{$a,result=\"miss\"}" 1
  expect_sample "$m" "ipfsacc_serve_requests_total{$a,result=\"hit\"}" 1
  expect_sample "$m" "ipfsacc_serve_requests_total{$a,result=\"bypass\"}" 0
  expect_sample "$m" 'ipfsacc_serve_requests_total{route="openai",result="hit"}' 0
  expect_sample "$m" "ipfsacc_serve_bytes_total{$a,source=\"cache\"}" "$(wc -c <"$T/second.body")"
  expect_sample "$m" "ipfsacc_serve_bytes_total{$a,source=\"upstream\"}" "$(wc -c <"$T/first.body")"
  expect_sample "$m" "ipfsacc_serve_upstream_seconds_count{$a}" 1
  expect_sample "$m" "ipfsacc_serve_upstream_seconds_bucket{$a,le=\"+Inf\"}" 1
  expect_sample "$m" "ipfsacc_serve_upstream_errors_total{$a}" 0
  # The tokens the hit did not spend: the stored answer's usage.
  local input output
  input=$(grep -oE '"input_tokens": *[0-9]+' "$T/first.body" | grep -oE '[0-9]+$')
  output=$(grep -oE '"output_tokens": *[0-9]+' "$T/first.body" | grep -oE '[0-9]+$')
  [[ -n $input && -n $output ]] || fail "the fake answer has no usage"
  expect_sample "$m" "ipfsacc_serve_tokens_saved_total{$a,kind=\"input\"}" "$input"
  expect_sample "$m" "ipfsacc_serve_tokens_saved_total{$a,kind=\"output\"}" "$output"
  expect_stat tools.serve.input_tokens_saved "$input"

  # A stream's usage comes in its events: message_start's input, the
  # message_delta's output.
  messages s1 "$STREAM"
  messages s2 "$STREAM"
  expect_cache s2 HIT
  metrics streamed
  expect_sample "$T/streamed.txt" "ipfsacc_serve_tokens_saved_total{$a,kind=\"input\"}" $((2 * input))
  expect_sample "$T/streamed.txt" "ipfsacc_serve_tokens_saved_total{$a,kind=\"output\"}" $((2 * output))

  # A request that is not cached, and an upstream that is gone.
  "$BOUNDED" curl -sS -o /dev/null -H "x-api-key: $KEY" "$PROXY/anthropic/v1/models" ||
    fail "curl models failed"
  kill "${PIDS[0]}"
  wait "${PIDS[0]}" 2>/dev/null
  messages gone '{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"gone"}]}'
  expect_eq 502 "$(cat "$T/gone.status")"
  metrics last
  check_exposition "$T/last.txt"
  expect_sample "$T/last.txt" "ipfsacc_serve_requests_total{$a,result=\"bypass\"}" 1
  expect_sample "$T/last.txt" "ipfsacc_serve_requests_total{$a,result=\"miss\"}" 3
  expect_sample "$T/last.txt" "ipfsacc_serve_upstream_errors_total{$a}" 1
}

test_metrics_need_the_token_when_there_is_one() {
  start_api anthropic
  start_serve --token metrics-token-123
  metrics refused
  expect_eq 401 "$(cat "$T/refused.status")"
  metrics allowed -H 'x-ipfsacc-token: metrics-token-123'
  expect_eq 200 "$(cat "$T/allowed.status")"
  check_exposition "$T/allowed.txt"
}

# The dashboard queries nothing /metrics does not expose.
test_the_grafana_dashboard_queries_only_exposed_metrics() {
  local dashboard=$IPFSACC_SOURCE_DIR/packaging/grafana/ipfsacc-serve.json
  [[ -f $dashboard ]] || fail "no $dashboard"
  node -e 'JSON.parse(require("fs").readFileSync(process.argv[1]))' "$dashboard" ||
    fail "the dashboard is not JSON"
  start_api anthropic
  start_serve
  metrics exposed
  local names name n=0
  names=$(grep -oE 'ipfsacc_[a-zA-Z0-9_]+' "$dashboard" | sort -u)
  for name in $names; do
    grep -qE "^$name[{ ]" "$T/exposed.txt" || fail "the dashboard queries $name, which /metrics does not expose"
    n=$((n + 1))
  done
  ((n >= 4)) || fail "the dashboard queries only $n metrics"
}

# Statistics per route: stats --format json and the table.
test_stats_show_proxied_entries_per_route() {
  start_api groq
  local groq_url=$API_URL
  start_api anthropic
  start_serve --upstream "groq=$groq_url"
  messages first "$HELLO"
  messages second "$HELLO"
  local i
  for i in 1 2 3; do
    "$BOUNDED" curl -sS -o /dev/null \
      -H 'authorization: Bearer gsk_test_key_123' -H 'content-type: application/json' \
      --data-binary '{"model":"llama-3.3-70b-versatile","temperature":0,"messages":[{"role":"user","content":"hi"}]}' \
      "$PROXY/groq/openai/v1/chat/completions" || fail "curl groq failed"
  done
  stats_json
  expect_stat tools.serve.operations.anthropic.hits 1
  expect_stat tools.serve.operations.anthropic.misses 1
  expect_stat tools.serve.operations.groq.hits 2
  expect_stat tools.serve.operations.groq.misses 1
  expect_stat tools.serve.operations.groq.input_tokens_saved 36
  expect_stat tools.serve.entries 2
  # The table: a row per route under the tool's.
  capture table ipfsacc stats
  grep -A2 '^  serve ' "$T/table.out" >"$T/serve.rows" || fail "no serve row in stats"
  expect_match "$(sed -n 2p "$T/serve.rows")" '^    anthropic +[0-9-]+ +1 +1 '
  expect_match "$(sed -n 3p "$T/serve.rows")" '^    groq +[0-9-]+ +2 +1 '
}

# decoded FILE: the strings of a JSON Lines file, base64 ones decoded too,
# one a line (an exported output is base64).
decoded() {
  node -e '
    const walk = (v) => {
      if (typeof v === "string") {
        console.log(v);
        console.log(Buffer.from(v, "base64").toString("latin1"));
      } else if (v && typeof v === "object") Object.values(v).forEach(walk);
    };
    for (const line of require("fs").readFileSync(process.argv[1], "utf8").split("\n"))
      if (line.trim()) walk(JSON.parse(line));
  ' "$1"
}

# show prints the canonical request a key was made of: two requests that
# differ in one body member differ there and nowhere else in it, and no
# credential is anywhere in show, list or export.
test_show_prints_the_canonical_request_of_a_proxied_entry() {
  start_api anthropic
  start_serve
  messages one "$HELLO"
  messages two "${HELLO/\"max_tokens\":64/\"max_tokens\":128}"
  local k1 k2
  k1=$(header one x-ipfsacc-key)
  k2=$(header two x-ipfsacc-key)
  expect_ne "$k1" "$k2" "the keys"
  capture show1 ipfsacc show "$k1"
  capture show2 ipfsacc show "$k2"
  expect_eq 0 "$rc" "show's status"
  expect_file_contains "$T/show1.out" "request    the canonical request (its CID is the key)"
  sed -n '/^request /,$p' "$T/show1.out" >"$T/request1"
  sed -n '/^request /,$p' "$T/show2.out" >"$T/request2"
  diff "$T/request1" "$T/request2" | grep '^[<>]' >"$T/request.diff"
  printf '%s\n' '<     "max_tokens": 64,' '>     "max_tokens": 128,' >"$T/request.expected"
  expect_same_file "$T/request.expected" "$T/request.diff" "the requests' difference"
  for field in '"method": "POST"' '"route": "anthropic"' '"path": "/v1/messages"' \
    '"anthropic-version": "2023-06-01"' '"scrub": ' '"account": "h:'; do
    expect_file_contains "$T/request1" "$field"
  done
  capture json1 ipfsacc show --json "$k1"
  expect_eq 64 "$(json_get "$T/json1.out" request.body.max_tokens)" "show --json's request"
  expect_eq true "$(json_get "$T/json1.out" request_matches_key)" "show --json's check"
  capture list ipfsacc list
  capture listjson ipfsacc list --json
  capture export ipfsacc export
  capture stderr1 ipfsacc show --stderr "$k1"
  decoded "$T/export.out" >"$T/export.decoded" || fail "the export does not parse"
  # The request travels with the entry, in its head (a JSON string there).
  expect_file_contains "$T/export.decoded" '\"max_tokens\":128'
  for f in show1.out show2.out json1.out list.out listjson.out export.out export.decoded stderr1.err; do
    expect_not_contains "$(cat "$T/$f")" "$KEY" "$f"
    expect_not_contains "$(cat "$T/$f")" "first-secret" "$f"
  done
}

run_tests
