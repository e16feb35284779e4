# What the Redis suites share: real redis-server processes on loopback,
# started and stopped by each case, and two cache directories standing for
# two machines. Sourced after lib.bash.

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  echo "$SUITE: redis-server and redis-cli are needed (apt-get install redis-server redis-tools)" >&2
  exit 125
fi

# The servers a case started: "host:port" each, stopped when the case ends.
REDIS_STARTED=()

# start_redis VAR [HOST] [PORT] [ARGS…]: starts redis-server on a free
# port of HOST (127.0.0.1), or on PORT, and sets VAR to the port.
start_redis() {
  local var=$1 host=${2:-127.0.0.1} want=${3:-} _p try dir
  shift $(($# < 3 ? $# : 3))
  for try in 1 2 3 4 5 6 7 8 9 10; do
    _p=${want:-$((20000 + RANDOM % 30000))}
    dir=$T/redis-$host-$_p
    mkdir -p "$dir"
    if redis-server --port "$_p" --bind "$host" --save '' --appendonly no \
      --daemonize yes --pidfile "$dir/pid" --dir "$dir" \
      --logfile "$dir/log" "$@" >/dev/null 2>&1; then
      local deadline=$((SECONDS + 60))
      while ((SECONDS < deadline)); do
        if [[ -s $dir/pid ]] &&
          redis-cli -h "$host" -p "$_p" ${REDIS_AUTH:+-a "$REDIS_AUTH" --no-auth-warning} ping 2>/dev/null | grep -q PONG; then
          REDIS_STARTED+=("$host:$_p")
          printf -v "$var" '%s' "$_p"
          return 0
        fi
        if [[ -s $dir/log ]] && grep -q "Address already in use" "$dir/log"; then
          break
        fi
        sleep 0.05
      done
    fi
    [[ -n $want ]] && break
  done
  fail "could not start redis-server on $host"
}

# stop_redis HOST:PORT...: stops the servers and waits for them to exit.
# SIGTERM shuts a server down as SHUTDOWN NOSAVE does (nothing is saved), also
# when it wants a password; all are stopped at once, as each takes a second.
stop_redis() {
  local s pid pids=() i alive
  for s in "$@"; do
    pid=$(cat "$T/redis-${s%:*}-${s#*:}/pid" 2>/dev/null) || continue
    kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
  done
  for i in $(seq 200); do
    alive=()
    for pid in "${pids[@]}"; do
      kill -0 "$pid" 2>/dev/null && alive+=("$pid")
    done
    ((${#alive[@]})) || return 0
    sleep 0.05
  done
  kill -KILL "${alive[@]}" 2>/dev/null
}

stop_all_redis() {
  stop_redis "${REDIS_STARTED[@]}"
  REDIS_STARTED=()
}
# Each case runs in a subshell: the servers it started stop when it exits,
# however it ends.
eval "$(declare -f setup_case | sed '1s/^setup_case/_lib_setup_case/')"
setup_case() {
  _lib_setup_case "$@"
  REDIS_STARTED=()
  trap stop_all_redis EXIT
}

rcli() { # PORT ARGS…: redis-cli on 127.0.0.1
  local port=$1
  shift
  redis-cli -h 127.0.0.1 -p "$port" ${REDIS_AUTH:+-a "$REDIS_AUTH" --no-auth-warning} "$@"
}

# on MACHINE: use the cache directory of one "machine" from now on.
on() { export IPFSACC_DIR=$T/machine-$1; }

# Operations get a minute, not the default half second, where a case does
# not test timeouts: a busy machine's slow moment is not a remote failure.
PATIENT='|timeout=60s|connect-timeout=10s'

# The call the machines share, and how it looks run directly.
CALL=(gh pr list -R o/r)
direct_answer() { run_direct direct "${CALL[@]}"; }

expect_answer() { # NAME: capture NAME answered like the tool itself
  expect_same_file "$T/direct.out" "$T/$1.out" "stdout of $1"
  expect_eq 0 "$(cat "$T/$1.rc")" "exit status of $1"
}

remote_stat() { # LABEL NAME: a per-remote counter of the current machine
  stat_value "remotes.$1.$2"
}
