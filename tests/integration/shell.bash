# shell: `ipfsacc shell-init` evaluated in bash, zsh and fish sends the
# wrapped tools through ipfsacc while their own completion keeps working, and
# `ipfsacc completions` completes ipfsacc's commands and hands `ipfsacc gh …`
# to gh's completion. Each shell's cases are skipped where it is missing.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

BASH_COMPLETION=/usr/share/bash-completion/bash_completion

# The candidates a fake completion of gh offers, to tell it was asked.
GH_CANDIDATES="pr-list-unique pr-view-unique issue-unique"

need() {
  command -v "$1" >/dev/null || skip "$1 is not installed"
}

# init SHELL: ipfsacc shell-init SHELL into $T/init.SHELL (must succeed).
init() {
  capture "init.$1" ipfsacc shell-init "$1"
  if [[ $rc != 0 ]]; then
    _show "$T/init.$1.err" >&2
    fail "ipfsacc shell-init $1 failed ($rc)"
  fi
}

# completions SHELL: ipfsacc completions SHELL into $T/completions.SHELL.
completions() {
  if ! ipfsacc completions "$1" >"$T/completions.$1" 2>"$T/completions.$1.err"; then
    _show "$T/completions.$1.err" >&2
    fail "ipfsacc completions $1 failed"
  fi
}

# ---------------------------------------------------------------------------
# shell-init

test_bash_init_defines_aliases_for_installed_tools() {
  init bash
  local tool
  for tool in claude code gemini gh groq hf huggingface-cli vastai; do
    expect_file_contains "$T/init.bash.out" "alias $tool='$IPFSACC_BIN $tool'"
  done
  # Only what is installed, minus what the config excludes.
  make_tool gh
  make_tool hf
  IPFSACC_PATH=$T/bin IPFSACC_EXCLUDE=hf capture a ipfsacc shell-init bash
  expect_rc 0
  expect_eq "gh" "$(grep '^alias' "$T/a.out" | sed 's/=.*//; s/alias //')" "aliased tools"
  expect_file_contains "$T/a.out" "# not installed: claude code gemini groq vastai"
  expect_file_contains "$T/a.out" "# excluded (config key exclude): hf huggingface-cli"
  mkdir -p "$XDG_CONFIG_HOME/ipfsacc"
  printf 'exclude = gh,code\n' >"$XDG_CONFIG_HOME/ipfsacc/ipfsacc.conf"
  capture b ipfsacc shell-init bash
  expect_not_contains "$(cat "$T/b.out")" "alias gh="
  expect_not_contains "$(cat "$T/b.out")" "alias code="
  expect_file_contains "$T/b.out" "alias claude="
}

test_init_names_ipfsacc_when_path_finds_it() {
  ln -s "$IPFSACC_BIN" "$T/bin/ipfsacc"
  init bash
  expect_file_contains "$T/init.bash.out" "alias gh='ipfsacc gh'"
  init zsh
  expect_file_contains "$T/init.zsh.out" 'function gh { ipfsacc gh "$@"; }'
  init fish
  expect_file_contains "$T/init.fish.out" "    ipfsacc gh \$argv"
}

test_init_usage_errors() {
  capture a ipfsacc shell-init
  expect_rc 2
  capture b ipfsacc shell-init tcsh
  expect_rc 2
  expect_file_contains "$T/b.err" "tcsh"
}

# expect_two_calls_one_run NAME: the captures NAME.out holds two identical
# answers of `gh pr list -R o/r`, and the tool ran once: the second was a hit.
expect_two_calls_one_run() {
  run_direct direct gh pr list -R o/r
  cat "$T/direct.out" "$T/direct.out" >"$T/twice.out"
  expect_same_file "$T/twice.out" "$T/$1.out" "output of two wrapped calls"
  expect_invocations "gh pr list" 1
  expect_stat hits 1
}

test_bash_eval_sends_calls_through_ipfsacc() {
  init bash
  cat >"$T/script.bash" <<EOF
shopt -s expand_aliases
eval "\$('$IPFSACC_BIN' shell-init bash)"
type -t gh >&2
gh pr list -R o/r
gh pr list -R o/r
EOF
  capture a bash --norc --noprofile "$T/script.bash"
  expect_rc 0
  expect_eq "alias" "$(cat "$T/a.err")" "type of gh"
  expect_two_calls_one_run a
}

test_zsh_eval_sends_calls_through_ipfsacc() {
  need zsh
  capture a zsh -f -c "eval \"\$('$IPFSACC_BIN' shell-init zsh)\"
whence -w gh >&2
gh pr list -R o/r
gh pr list -R o/r"
  expect_rc 0
  expect_eq "gh: function" "$(cat "$T/a.err")" "type of gh"
  expect_two_calls_one_run a
}

test_fish_eval_sends_calls_through_ipfsacc() {
  need fish
  capture a fish --no-config -c "'$IPFSACC_BIN' shell-init fish | source
type -t gh >&2
gh pr list -R o/r
gh pr list -R o/r"
  expect_rc 0
  expect_eq "function" "$(cat "$T/a.err")" "type of gh"
  expect_two_calls_one_run a
}

test_init_quotes_an_odd_path() {
  # A copy of ipfsacc in a directory whose name needs quoting in every shell.
  local dir="$T/it's a \"dir\" \\ with \$HOME"
  mkdir -p "$dir"
  cp "$IPFSACC_BIN" "$dir/ipfsacc"
  local odd="$dir/ipfsacc"
  "$odd" shell-init bash >"$T/odd.bash" || fail "shell-init bash from $odd"
  capture a bash --norc --noprofile -c "shopt -s expand_aliases
eval \"\$(cat '$T/odd.bash')\"
gh repo view o/r"
  expect_rc 0
  expect_invocations "gh repo view o/r" 1
  if command -v zsh >/dev/null; then
    "$odd" shell-init zsh >"$T/odd.zsh" || fail "shell-init zsh from $odd"
    capture b zsh -f -c "eval \"\$(cat '$T/odd.zsh')\"; gh repo view o/r"
    expect_rc 0
    expect_same a b
  fi
  if command -v fish >/dev/null; then
    "$odd" shell-init fish >"$T/odd.fish" || fail "shell-init fish from $odd"
    capture c fish --no-config -c "source '$T/odd.fish'; gh repo view o/r"
    expect_rc 0
    expect_same a c
  fi
  # Answered from the cache the second and third time.
  expect_invocations "gh repo view o/r" 1
}

# ---------------------------------------------------------------------------
# Completion scripts

test_completions_match_completions_dir() {
  local shell file
  for shell in bash zsh fish; do
    case $shell in
      bash) file=ipfsacc.bash ;;
      zsh) file=_ipfsacc ;;
      fish) file=ipfsacc.fish ;;
    esac
    completions "$shell"
    if ! cmp -s "$T/completions.$shell" "$IPFSACC_SOURCE_DIR/completions/$file"; then
      diff -u "$IPFSACC_SOURCE_DIR/completions/$file" "$T/completions.$shell" | head -n 20 >&2
      fail "completions/$file is out of date: cmake --build build --target update-completions"
    fi
  done
  capture bad ipfsacc completions tcsh
  expect_rc 2
}

# bash_complete WORDS...: in a non-interactive bash that sourced the bash
# script (and more, from $T/bash.pre), complete the last word; prints the
# candidates, one per line, sorted.
bash_complete() {
  local words="" w
  for w in "$@"; do
    words+=" $(printf '%q' "$w")"
  done
  {
    cat "$T/bash.pre" 2>/dev/null
    cat <<EOF
source '$T/completions.bash'
_fake_gh() {
  printf '%s\n' "fake_gh words=\${COMP_WORDS[*]} cword=\$COMP_CWORD" >>'$T/fake_gh.log'
  COMPREPLY=(\$(compgen -W '$GH_CANDIDATES' -- "\${COMP_WORDS[COMP_CWORD]}"))
}
complete -F _fake_gh gh
COMP_WORDS=($words)
COMP_CWORD=\$((\${#COMP_WORDS[@]} - 1))
COMP_LINE="\${COMP_WORDS[*]}"
COMP_POINT=\${#COMP_LINE}
_ipfsacc ipfsacc "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "\${COMPREPLY[@]}" | sort
EOF
  } >"$T/complete.bash"
  bash --norc --noprofile "$T/complete.bash" 2>"$T/complete.err"
}

# expect_candidates EXPECTED WORDS...: the candidates (space-separated,
# sorted) for WORDS.
expect_candidates() {
  local expected=$1
  shift
  local got
  got=$(bash_complete "$@" | tr '\n' ' ' | sed 's/ $//')
  expect_eq "$expected" "$got" "candidates for '$*'"
}

bash_completion_cases() {
  completions bash
  expect_candidates "stats" ipfsacc st
  expect_candidates "--explain" ipfsacc --exp
  expect_candidates "claude code completions config doctor export gemini gh groq hf huggingface-cli import list purge run secrets serve shell-init shims show stats vastai" ipfsacc ""
  expect_candidates "json prometheus text" ipfsacc stats --format ""
  expect_candidates "json" ipfsacc stats --format = j
  expect_candidates "bash fish zsh" ipfsacc shell-init ""
  expect_candidates "bash fish zsh" ipfsacc completions ""
  expect_candidates "install list remove" ipfsacc shims ""
  expect_candidates "--all --help" ipfsacc shims install --
  expect_candidates "--cache-failures --help --key-cwd --key-env --no-stdin --ttl" ipfsacc run --
  # Handed over to gh's own completion, with the words from gh on.
  : >"$T/fake_gh.log"
  expect_candidates "pr-list-unique pr-view-unique" ipfsacc gh pr
  expect_eq "fake_gh words=gh pr cword=1" "$(cat "$T/fake_gh.log")" "what gh's completion saw"
  expect_candidates "pr-list-unique pr-view-unique" ipfsacc -v --ttl 5m gh pr
  expect_candidates "pr-list-unique pr-view-unique" ipfsacc --ttl=5m --refresh gh pr
  expect_candidates "issue-unique" ipfsacc gh pr-list-unique i
  expect_candidates "pr-list-unique pr-view-unique" ipfsacc run -- gh pr
  expect_candidates "pr-list-unique pr-view-unique" ipfsacc run --ttl 1m --key-env X gh pr
  # The command of `run` is a command name.
  expect_candidates "ipfsacc-test-cmd" ipfsacc run -- ipfsacc-test-c
}

test_bash_completion_candidates() {
  make_tool ipfsacc-test-cmd
  : >"$T/bash.pre"
  bash_completion_cases
}

test_bash_completion_candidates_with_bash_completion() {
  [[ -f $BASH_COMPLETION ]] || skip "bash-completion is not installed"
  make_tool ipfsacc-test-cmd
  printf 'source %s\n' "$BASH_COMPLETION" >"$T/bash.pre"
  bash_completion_cases
  # gh's completion loaded on demand by bash-completion, from the user's
  # completion directory, as the real gh's would be from the system's.
  mkdir -p "$T/bcu/completions"
  cat >"$T/bcu/completions/vastai" <<'EOF'
_fake_vastai() { COMPREPLY=($(compgen -W 'show-unique search-unique' -- "$2")); }
complete -F _fake_vastai vastai
EOF
  printf 'export BASH_COMPLETION_USER_DIR=%s\nsource %s\n' "$T/bcu" "$BASH_COMPLETION" >"$T/bash.pre"
  expect_candidates "show-unique" ipfsacc vastai sh
}

test_zsh_completion_loads() {
  need zsh
  completions zsh
  # Sourced after compinit, and autoloaded from fpath.
  capture a zsh -f -c "autoload -Uz compinit && compinit -u -D
source '$T/completions.zsh'
print -r -- \$_comps[ipfsacc]"
  expect_rc 0
  expect_eq "_ipfsacc" "$(cat "$T/a.out")" "zsh completion function of ipfsacc"
  expect_empty "$T/a.err"
  mkdir -p "$T/fpath"
  cp "$T/completions.zsh" "$T/fpath/_ipfsacc"
  capture b zsh -f -c "fpath=('$T/fpath' \$fpath)
autoload -Uz compinit && compinit -u -D
print -r -- \$_comps[ipfsacc]"
  expect_rc 0
  expect_eq "_ipfsacc" "$(cat "$T/b.out")" "zsh completion of ipfsacc from fpath"
  capture c zsh -n "$T/completions.zsh"
  expect_rc 0
}

# fish_complete LINE: the candidates fish offers for LINE (names only).
fish_complete() {
  fish --no-config -c "source '$T/completions.fish'
complete -c gh -f -a '$GH_CANDIDATES'
complete -C '$1'" 2>"$T/fish.err" | cut -f1 | sort | tr '\n' ' ' | sed 's/ $//'
}

test_fish_completion_candidates() {
  need fish
  completions fish
  capture load fish --no-config -c "source '$T/completions.fish'"
  expect_rc 0
  expect_empty "$T/load.err"
  expect_eq "stats" "$(fish_complete 'ipfsacc st')"
  expect_eq "claude code completions config doctor export gemini gh groq hf huggingface-cli import list purge run secrets serve shell-init shims show stats vastai" "$(fish_complete 'ipfsacc ')"
  expect_eq "json prometheus text" "$(fish_complete 'ipfsacc stats --format ')"
  expect_eq "bash fish zsh" "$(fish_complete 'ipfsacc shell-init ')"
  expect_eq "install list remove" "$(fish_complete 'ipfsacc shims ')"
  expect_eq "--explain" "$(fish_complete 'ipfsacc --expl')"
  expect_eq "pr-list-unique pr-view-unique" "$(fish_complete 'ipfsacc gh pr')"
  expect_eq "pr-list-unique pr-view-unique" "$(fish_complete 'ipfsacc -v --ttl 5m gh pr')"
  expect_eq "pr-list-unique pr-view-unique" "$(fish_complete 'ipfsacc run -- gh pr')"
  expect_eq "pr-list-unique pr-view-unique" "$(fish_complete 'ipfsacc run --ttl 1m gh pr')"
  # After the tool, its options are the tool's, not ipfsacc's.
  expect_eq "" "$(fish_complete 'ipfsacc gh --expl')"
}

# ---------------------------------------------------------------------------
# Interactive shells on a pseudo-terminal: a TAB completes through the alias
# or function that shell-init defined, and Enter runs the completed command
# through ipfsacc (the fake tool logs what it received).

# interactive NAME KEYS COMMAND...: run COMMAND (a shell whose prompt is
# '$ ') on a pseudo-terminal and type into it, as a person would: each line
# of KEYS (printf escapes, a TAB to complete) once the shell shows its next
# prompt, then `exit`. Keys typed before the line editor is ready may be
# discarded or read by another program; waiting for the prompt makes the
# session the same however slowly the shell starts.
interactive() {
  local name=$1 keys=$2 line typed=0 fifo=$T/$1.keys
  shift 2
  command -v script >/dev/null || skip "script (bsdutils) is not installed"
  mkfifo "$fifo"
  TERM=dumb capture "$name" "$BOUNDED" script -qfec "$(printf '%q ' "$@")" /dev/null <"$fifo" &
  local pid=$!
  exec 3>"$fifo"
  # shellcheck disable=SC2059 # the keys are printf escapes
  while IFS= read -r line; do
    await_prompt "$name" $((typed + 1))
    printf '%s\n' "$line" >&3
    typed=$((typed + 1))
  done < <(printf "$keys")
  await_prompt "$name" $((typed + 1))
  printf 'exit\n' >&3
  exec 3>&-
  wait "$pid"
  rc=$(cat "$T/$name.rc")
}

# await_prompt NAME N: wait until the session NAME has shown N prompts.
await_prompt() {
  local out=$T/$1.out want=$2
  wait_until '(($(grep -ao "\$ " "$out" 2>/dev/null | wc -l) >= want))' \
    "prompt $want of the interactive shell"
}

test_interactive_bash_completes_through_the_alias() {
  ln -s "$IPFSACC_BIN" "$T/bin/ipfsacc"
  completions bash
  cat >"$T/bashrc" <<EOF
PS1='$ '
eval "\$(ipfsacc shell-init bash)"
source '$T/completions.bash'
_fake_gh() { COMPREPLY=(\$(compgen -W '$GH_CANDIDATES' -- "\$2")); }
complete -F _fake_gh gh
EOF
  interactive a 'gh pr-l\t-R o/r\nipfsacc -v gh issue-u\t-R o/r\nipfsacc shims li\t/nonexistent\n' \
    bash --noprofile --rcfile "$T/bashrc" -i
  expect_rc 0
  expect_invocations "gh pr-list-unique -R o/r" 1
  expect_invocations "gh issue-unique -R o/r" 1
  # Both went through ipfsacc (uncacheable calls, counted as bypasses).
  expect_stat tools.gh.bypasses 2
  expect_file_contains "$T/a.out" "No shims in /nonexistent."
}

test_interactive_zsh_completes_through_the_function() {
  need zsh
  ln -s "$IPFSACC_BIN" "$T/bin/ipfsacc"
  completions zsh
  mkdir -p "$T/zdot" "$T/fpath"
  cp "$T/completions.zsh" "$T/fpath/_ipfsacc"
  cat >"$T/zdot/.zshrc" <<EOF
PS1='$ '
fpath=('$T/fpath' \$fpath)
autoload -Uz compinit && compinit -u -d '$T/zcompdump'
_fake_gh() { compadd $GH_CANDIDATES }
compdef _fake_gh gh
eval "\$(ipfsacc shell-init zsh)"
EOF
  ZDOTDIR=$T/zdot interactive a 'gh pr-l\t-R o/r\nipfsacc -v gh issue-u\t-R o/r\nipfsacc shims li\t/nonexistent\n' zsh -i
  expect_rc 0
  expect_invocations "gh pr-list-unique -R o/r" 1
  expect_invocations "gh issue-unique -R o/r" 1
  # Both went through ipfsacc (uncacheable calls, counted as bypasses).
  expect_stat tools.gh.bypasses 2
  expect_file_contains "$T/a.out" "No shims in /nonexistent."
}

test_interactive_fish_completes_through_the_function() {
  need fish
  ln -s "$IPFSACC_BIN" "$T/bin/ipfsacc"
  completions fish
  cat >"$T/init.fish" <<EOF
complete -c gh -f -a '$GH_CANDIDATES'
source '$T/completions.fish'
ipfsacc shell-init fish | source
function fish_prompt; echo -n '\$ '; end
EOF
  interactive a 'gh pr-l\t-R o/r\nipfsacc -v gh issue-u\t-R o/r\nipfsacc shims li\t/nonexistent\n' \
    fish --no-config -i -C "source '$T/init.fish'"
  expect_invocations "gh pr-list-unique -R o/r" 1
  expect_invocations "gh issue-unique -R o/r" 1
  # Both went through ipfsacc (uncacheable calls, counted as bypasses).
  expect_stat tools.gh.bypasses 2
  expect_file_contains "$T/a.out" "No shims in /nonexistent."
}

run_tests
