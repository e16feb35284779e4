# arm64: the arm64 release binary works: run under Debian's user-mode
# emulator (qemu-aarch64-static), a call misses and runs the tool, the same
# call hits and answers the same bytes without running it, and `stats` says
# so. The binary is IPFSACC_ARM64_BIN (packaging/release.sh's
# ipfsacc-VERSION-linux-aarch64, or a build with
# packaging/cmake/aarch64-linux-gnu.cmake; CMake passes it on when the cache
# variable of that name is set). Skipped when it is not set or the emulator
# is not installed (packaging/install-deps.sh release). The tools it runs
# (the fakes) are the machine's own programs: the emulator hands execve to
# the kernel.

# Read before lib.bash clears the IPFSACC_* variables.
ARM64_BIN=${IPFSACC_ARM64_BIN:-}
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# use_arm64_binary: every ipfsacc call of the case (the lib.bash helpers)
# runs the arm64 binary under the emulator, or the case is skipped.
use_arm64_binary() {
  [[ -n $ARM64_BIN ]] || skip "IPFSACC_ARM64_BIN is not set"
  [[ -f $ARM64_BIN ]] || fail "IPFSACC_ARM64_BIN=$ARM64_BIN is not a file"
  local qemu
  qemu=$(command -v qemu-aarch64-static) || skip "qemu-aarch64-static is not installed"
  # An ELF file for the Arm 64-bit architecture: e_machine (bytes 18-19,
  # little-endian) is 183 (EM_AARCH64), so no amd64 binary passes for it.
  local machine
  machine=$(od -An -t u2 -j 18 -N 2 "$ARM64_BIN" | tr -d ' ')
  expect_eq 183 "$machine" "ELF machine of $ARM64_BIN (183 is aarch64)"
  # A dynamically linked build finds its loader and libraries where the
  # cross toolchain keeps them; a static one needs none.
  cat >"$T/bin/ipfsacc-arm64" <<EOF
#!/bin/sh
exec $qemu -L /usr/aarch64-linux-gnu "$ARM64_BIN" "\$@"
EOF
  chmod 755 "$T/bin/ipfsacc-arm64"
  IPFSACC_BIN=$T/bin/ipfsacc-arm64
}

test_miss_hit_and_stats() {
  use_arm64_binary
  capture version ipfsacc --version
  expect_rc 0
  expect_match "$(head -n 1 "$T/version.out")" "^ipfsacc [0-9]+\.[0-9]+\.[0-9]+" "--version"

  # A miss runs the tool; the answer is the tool's own.
  transparent miss gh pr list -R o/r
  expect_invocations "gh pr list" 1
  # A hit answers the same bytes and exit status without running it.
  transparent hit gh pr list -R o/r
  expect_invocations "gh pr list" 1
  expect_same miss.wrapped hit.wrapped
  expect_stat misses 1
  expect_stat hits 1
  expect_stat entries 1
  expect_stat tools.gh.hits 1

  capture stats ipfsacc stats
  expect_rc 0
  expect_file_contains "$T/stats.out" "gh"
}

# An output too large to keep in memory on a hit (over 4 MiB) is copied
# out of its blob file and verified against its CID before it is written.
test_large_output_hit() {
  use_arm64_binary
  FAKE_SIZE=5000000 transparent miss gh api /repos/o/r/tarball
  FAKE_SIZE=5000000 transparent hit gh api /repos/o/r/tarball
  expect_invocations "gh api" 1
  local size
  size=$(wc -c <"$T/hit.wrapped.out")
  ((size > 4 * 1024 * 1024)) || fail "the hit answered $size bytes, not over 4 MiB"
  expect_stat hits 1
}

# A static build does not load libcurl or libmicrohttpd: glibc runs a
# library a static program loads against a second libc whose threads cannot
# start, so libcurl resolving a host name and libmicrohttpd serving crashed
# it. The HTTP path and serve end with a clear error instead.
test_static_build_refuses_http_and_serve_cleanly() {
  use_arm64_binary
  capture version ipfsacc --version
  grep -q '^linking: fully static' "$T/version.out" ||
    skip "$ARM64_BIN is not linked statically"

  IPFSACC_PREFER=sdk GROQ_BASE_URL=http://127.0.0.1:9 GROQ_API_KEY=gsk_test_key \
    capture http ipfsacc groq "Say hello"
  expect_ne 0 "$rc" "exit status of the HTTP path"
  ((rc < 128)) || fail "the HTTP path died of signal $((rc - 128))"
  expect_file_contains "$T/http.err" "is linked statically"

  capture serve ipfsacc serve --listen 127.0.0.1:0
  expect_rc 1
  expect_file_contains "$T/serve.err" "is linked statically"
}

run_tests
