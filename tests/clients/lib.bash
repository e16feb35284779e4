# tests/clients/lib.bash: what a suite that drives the clients of
# tests/clients needs, sourced after tests/integration/lib.bash (clients.bash
# runs them against the fake APIs; a proxy's suite puts the proxy between).
# Exits 125 (the suite is skipped) when tests/clients/node_modules is not
# installed. Sets CLIENTS, this directory.

CLIENTS=$IPFSACC_SOURCE_DIR/tests/clients
if [[ ! -d $CLIENTS/node_modules ]]; then
  echo "$SUITE: tests/clients/node_modules is missing (cd tests/clients && npm install)" >&2
  exit 125
fi
if ! command -v node >/dev/null 2>&1; then
  echo "$SUITE: node is not installed, but tests/clients/node_modules is" >&2
  exit 1
fi

# start_fake DIR API: the fake server of API (server.mjs) logging to DIR;
# prints nothing, sets FAKE_URL. Stopped when the case ends.
FAKE_PIDS=()
start_fake() {
  local dir=$1
  mkdir -p "$dir"
  node "$FAKES/http/server.mjs" "$2" "$dir" 2>"$dir/server.err" &
  FAKE_PIDS+=($!)
  trap 'kill "${FAKE_PIDS[@]}" 2>/dev/null' EXIT
  wait_until "[[ -s $dir/port ]]" "the fake $2 API to start"
  FAKE_URL=http://127.0.0.1:$(cat "$dir/port")
  : >"$dir/requests.log"
}

# start_api NAME: the fake API NAME in $T/api-NAME; sets API_URL and API_DIR.
start_api() {
  API_DIR=$T/api-$1
  start_fake "$API_DIR" "$1"
  API_URL=$FAKE_URL
}

# A trap for everything else: every client's HTTP(S) proxy is a fake server
# that logs each CONNECT (or absolute URL) it is asked for and refuses it;
# only loopback bypasses it. A case ends with no_escape: the trap saw
# nothing, so no request left 127.0.0.1 (the clients honour HTTPS_PROXY:
# test_claude_trap_sees_what_the_opt_outs_stop shows it).
start_trap() {
  start_fake "$T/trap" anthropic
  local v
  for v in HTTPS_PROXY https_proxy HTTP_PROXY http_proxy ALL_PROXY all_proxy; do
    export "$v=$FAKE_URL"
  done
  export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
}

no_escape() {
  if [[ -s $T/trap/requests.log ]]; then
    _show "$T/trap/requests.log" >&2
    fail "a client tried to reach a host other than the fake API"
  fi
}

# client NAME SCRIPT ARGS...: capture NAME of `node tests/clients/SCRIPT ARGS`.
client() {
  local name=$1 script=$2
  shift 2
  capture "$name" "$BOUNDED" node "$CLIENTS/$script" "$@"
}

# expect_client_ok NAME: the client capture NAME exited 0 with nothing on
# stderr.
expect_client_ok() {
  if [[ $(cat "$T/$1.rc") != 0 || -s $T/$1.err ]]; then
    _show "$T/$1.err" >&2
    fail "$1 exited $(cat "$T/$1.rc")"
  fi
}

# line_of NAME LABEL: the JSON value of the transcript line "LABEL VALUE".
line_of() {
  sed -n "s/^$2 //p" "$T/$1.out"
}

# labels NAME: the labels of the transcript's lines (what comes before the
# JSON value), in order, one per line, repeated labels counted
# ("event content_block_delta x7").
labels() {
  sed -E -e '/ [[{"]/{s/ [[{"].*$//;b' -e '}' -e 's/ [^ ]+$//' "$T/$1.out" | uniq -c |
    awk '{ n = $1; $1 = ""; sub(/^ /, ""); print $0 (n > 1 ? " x" n : "") }'
}

# logq LOG JS: the value of the JavaScript expression JS over the requests
# of LOG (a requests.log of server.mjs): r is their list ({method, path, headers, body}),
# b the list of their bodies parsed as JSON (null when not JSON). A string
# is printed as is, anything else as JSON.
logq() {
  node -e '
    const fs = require("fs");
    const r = fs.readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
    const b = r.map((x) => { try { return JSON.parse(x.body); } catch { return null; } });
    const v = eval(process.argv[2]);
    console.log(typeof v === "string" ? v : JSON.stringify(v));
  ' "$1" "$2"
}

# expect_log LOG JS EXPECTED: logq LOG JS prints EXPECTED.
expect_log() {
  expect_eq "$3" "$(logq "$1" "$2")" "$2 in $1"
}

# twice NAME SCRIPT ARGS...: the client run twice (NAME.1, NAME.2) against
# the fake API of the case ($API_DIR), both fine and printing the same
# bytes, and sending the same requests: no field of theirs changes from one
# run to the next (request_diff.mjs). Each run's requests are kept as
# $T/NAME.K.requests.
twice() {
  local name=$1 k before
  shift
  for k in 1 2; do
    before=$(wc -l <"$API_DIR/requests.log")
    client "$name.$k" "$@"
    expect_client_ok "$name.$k"
    tail -n +$((before + 1)) "$API_DIR/requests.log" >"$T/$name.$k.requests"
  done
  expect_same_file "$T/$name.1.out" "$T/$name.2.out" "transcript of the second run"
  expect_eq "" "$(node "$CLIENTS/request_diff.mjs" "$T/$name.1.requests" "$T/$name.2.requests")" \
    "fields of $name's requests that changed in the second run"
}

# expect_stream_transcript NAME LABEL: the streamed answer the client run
# NAME.1 was given is what its transcript shows. Its first request is sent
# again to the fake with curl (the answer depends on the request alone),
# and the JSON of each `data:` event of the raw answer (but [DONE] and
# Anthropic's pings, which the SDKs do not yield) must equal, in order and
# with keys sorted, the JSON of each transcript line starting with LABEL
# (stream_check.mjs).
expect_stream_transcript() {
  local name=$1 label=$2 path auth h
  path=$(logq "$T/$name.1.requests" 'r[0].path')
  auth=$(logq "$T/$name.1.requests" 'Object.entries(r[0].headers).filter(([k]) => /^(authorization|x-api-key|x-goog-api-key|anthropic-version)$/.test(k)).map(([k, v]) => k + ": " + v).join("\n")')
  local headers=()
  while IFS= read -r h; do headers+=(-H "$h"); done <<<"$auth"
  logq "$T/$name.1.requests" 'r[0].body' >"$T/$name.raw-request"
  curl -sS --noproxy '*' -N "$API_URL$path" "${headers[@]}" -H 'content-type: application/json' \
    --data-binary @"$T/$name.raw-request" -o "$T/$name.raw" || fail "curl failed"
  if ! node "$CLIENTS/stream_check.mjs" "$T/$name.raw" "$T/$name.1.out" "$label" >"$T/$name.stream-diff"; then
    cat "$T/$name.stream-diff" >&2
    fail "the events $name was given differ from what the fake sent"
  fi
}

# expect_answer NAME ERE: the stdout of capture NAME matches ERE. A CLI
# that answered some other part of its request (its system prompt, a
# reminder) prints pages: only their start is shown.
expect_answer() {
  if [[ ! $(cat "$T/$1.out") =~ $2 ]]; then
    fail "$1's answer does not match /$2/; it begins: $(head -c 300 "$T/$1.out")"
  fi
}

# claude_opt_outs: what keeps Claude Code to the API it is pointed at: no
# telemetry, error reports, auto-update or other "nonessential" traffic
# (README.md). Its temporary files go to the case's directory.
claude_opt_outs() {
  export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_TELEMETRY=1 \
    DISABLE_ERROR_REPORTING=1 DISABLE_AUTOUPDATER=1 TMPDIR=$T/tmp
  mkdir -p "$TMPDIR"
}

# gemini_opt_outs: the settings that keep the Gemini CLI to the API it is
# pointed at (no usage statistics, no update checks) and pick the API key
# as its authentication, as `gemini` itself would store them in $HOME; the
# workspace is trusted for the run. Its error reports go to the case's
# directory.
gemini_opt_outs() {
  export TMPDIR=$T/tmp GEMINI_CLI_TRUST_WORKSPACE=true
  mkdir -p "$TMPDIR" "$HOME/.gemini"
  cat >"$HOME/.gemini/settings.json" <<'EOF'
{
  "security": { "auth": { "selectedType": "gemini-api-key" } },
  "general": { "enableAutoUpdate": false, "enableAutoUpdateNotification": false },
  "privacy": { "usageStatisticsEnabled": false },
  "telemetry": { "enabled": false }
}
EOF
}

# claude_p NAME / gemini_p NAME: `claude -p "say hi"` (`gemini -p "say
# hi"`) in the current directory, captured as NAME; the requests the fake
# API of the case ($API_DIR) received meanwhile are kept as $T/NAME.requests.
claude_p() {
  : >"$API_DIR/requests.log"
  capture "$1" "$BOUNDED" "$CLIENTS/node_modules/.bin/claude" -p "say hi"
  cp "$API_DIR/requests.log" "$T/$1.requests"
}

gemini_p() {
  : >"$API_DIR/requests.log"
  capture "$1" "$BOUNDED" "$CLIENTS/node_modules/.bin/gemini" -p "say hi"
  cp "$API_DIR/requests.log" "$T/$1.requests"
}
