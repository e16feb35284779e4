# deb: the Debian package that `cpack -G DEB` builds installs a working
# ipfsacc with its man page and completions, and `dpkg -r` removes it all
# while leaving the users' caches alone. Needs root and dpkg; skipped
# otherwise, and when an ipfsacc is already installed (it is not ours to
# replace).
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

BUILD_DIR=$(dirname "$IPFSACC_BIN")
BASH_COMPLETION=/usr/share/bash-completion/bash_completion

check_prerequisites() {
  [[ $(id -u) == 0 ]] || skip "not root: dpkg -i needs it"
  command -v dpkg >/dev/null || skip "dpkg is not installed"
  command -v cpack >/dev/null || skip "cpack is not installed"
  [[ -f $BUILD_DIR/CPackConfig.cmake ]] || skip "no CPackConfig.cmake in $BUILD_DIR"
  if dpkg-query -W -f='${Status}' ipfsacc 2>/dev/null | grep -q 'ok installed'; then
    skip "an ipfsacc package is already installed"
  fi
  [[ ! -e /usr/bin/ipfsacc ]] || skip "/usr/bin/ipfsacc exists"
}

test_install_use_and_remove() {
  check_prerequisites

  # Build the package into a directory of our own.
  capture cpack bash -c "cd '$BUILD_DIR' && cpack -G DEB -B '$T/pkg'"
  if [[ $rc != 0 ]]; then
    _show "$T/cpack.out" >&2
    _show "$T/cpack.err" >&2
    fail "cpack failed"
  fi
  local version deb
  version=$("$IPFSACC_BIN" --version | head -n 1 | cut -d' ' -f2)
  deb=$T/pkg/ipfsacc_${version}_$(dpkg --print-architecture).deb
  [[ -f $deb ]] || fail "no $deb ($(ls "$T/pkg"))"

  # Installed from here on: whatever happens, it goes again.
  trap 'dpkg -r ipfsacc >/dev/null 2>&1' EXIT
  capture install dpkg -i "$deb"
  if [[ $rc != 0 ]]; then
    _show "$T/install.err" >&2
    fail "dpkg -i failed"
  fi
  dpkg -L ipfsacc >"$T/files"

  # The installed binary runs and says what it is (the built one's twin
  # names the built front; the installed twin, the installed one).
  capture version /usr/bin/ipfsacc --version
  expect_rc 0
  expect_eq "$("$IPFSACC_BIN" --version | grep -v '^front: ')" \
    "$(grep -v '^front: ' "$T/version.out")" "--version of the installed binary"
  if [[ -x $BUILD_DIR/ipfsacc-dynamic ]]; then
    # The static front in /usr/bin, its twin where the front looks for it.
    expect_file_contains "$T/files" /usr/libexec/ipfsacc/ipfsacc-dynamic
    expect_file_contains "$T/version.out" "front: /usr/bin/ipfsacc (fully static"
    if readelf -lW /usr/bin/ipfsacc | grep -q INTERP; then
      fail "the installed front has a program interpreter"
    fi
  fi
  # And caches, in the user's cache directory.
  capture a /usr/bin/ipfsacc gh pr list -R o/r
  expect_rc 0
  capture b /usr/bin/ipfsacc gh pr list -R o/r
  expect_same a b
  expect_invocations "gh pr list" 1
  [[ -f $IPFSACC_DIR/data.mdb ]] || fail "no cache in $IPFSACC_DIR"

  # The man page, where man finds it (unless this system's dpkg is told not
  # to install man pages, as minimal container images are).
  if grep -qs '^path-exclude=/usr/share/man' /etc/dpkg/dpkg.cfg.d/*; then
    printf '  (dpkg excludes /usr/share/man here: man page not checked)\n' >&2
  elif command -v man >/dev/null; then
    expect_eq "/usr/share/man/man1/ipfsacc.1.gz" "$(man -w ipfsacc 2>&1)" "man -w ipfsacc"
    MANWIDTH=80 capture man man ipfsacc
    expect_rc 0
    expect_file_contains "$T/man.out" "shell-init"
  else
    expect_file_contains "$T/files" /usr/share/man/man1/ipfsacc.1.gz
  fi
  expect_file_contains "$T/files" /usr/share/doc/ipfsacc/README.md

  # Completions in Debian's places, found by each shell by itself.
  [[ -f /usr/share/bash-completion/completions/ipfsacc ]] || fail "no bash completion"
  [[ -f /usr/share/zsh/vendor-completions/_ipfsacc ]] || fail "no zsh completion"
  [[ -f /usr/share/fish/vendor_completions.d/ipfsacc.fish ]] || fail "no fish completion"
  if [[ -f $BASH_COMPLETION ]]; then
    # bash-completion loads ipfsacc's on first use, like an interactive shell.
    capture bash bash --norc --noprofile -c "source $BASH_COMPLETION
_completion_loader ipfsacc
COMP_WORDS=(ipfsacc shell-i) COMP_CWORD=1 COMP_LINE='ipfsacc shell-i' COMP_POINT=15
_ipfsacc ipfsacc shell-i ipfsacc
printf '%s\n' \"\${COMPREPLY[@]}\""
    expect_eq "shell-init" "$(cat "$T/bash.out")" "bash completion of the installed package"
  fi
  if command -v zsh >/dev/null; then
    capture zsh zsh -f -c 'autoload -Uz compinit && compinit -u -D; print -r -- $_comps[ipfsacc]'
    expect_eq "_ipfsacc" "$(cat "$T/zsh.out")" "zsh completion of the installed package"
  fi
  if command -v fish >/dev/null; then
    # Not --no-config: that leaves out the vendor completion directories.
    capture fish fish -c 'complete -C "ipfsacc shell-i"'
    expect_match "$(cat "$T/fish.out")" "^shell-init" "fish completion of the installed package"
  fi

  # Removed: every file of the package goes, the user's cache stays.
  capture remove dpkg -r ipfsacc
  expect_rc 0
  trap - EXIT
  [[ ! -e /usr/bin/ipfsacc ]] || fail "/usr/bin/ipfsacc is still there"
  if dpkg-query -W -f='${Status}' ipfsacc 2>/dev/null | grep -q 'ok installed'; then
    fail "the package is still installed"
  fi
  local file
  while read -r file; do
    if [[ -f $file || -L $file ]]; then
      fail "$file is left after dpkg -r"
    fi
  done <"$T/files"
  [[ -f $IPFSACC_DIR/data.mdb ]] || fail "dpkg -r removed the user's cache"
}

run_tests
