#!/usr/bin/env bash
# Installs what ipfsacc needs to build and test on Debian 12. Idempotent: a
# package already installed is not fetched again, and apt's lists are only
# refreshed when something is missing.
set -euo pipefail

# lld links the static front with its hit path's functions together
# (packaging/hot-functions.txt); without it the front links unordered.
build_packages=(
  build-essential cmake ninja-build pkg-config lld
  libcli11-dev libfmt-dev nlohmann-json3-dev liblmdb-dev libsodium-dev
  libpcre2-dev doctest-dev libhiredis-dev libzstd-dev
  libcurl4-openssl-dev libmicrohttpd-dev
)
# zsh, fish, bash-completion: the shell integration suite runs each shell;
# dpkg-dev (dpkg-shlibdeps), man-db and groff-base: the .deb and man page
# suites; redis-server and redis-tools: the Redis tier's suite runs real
# servers on loopback. libcurl4 is what the HTTP path loads at run time (the
# -dev package above has only its headers' use at build time), and
# libmicrohttpd12 what serve loads. gh: the real
# gh, compared byte for byte with the HTTP path (gh_http). time (GNU time):
# the hostile_answers and ipfs suites measure a call's largest resident size.
# prometheus: its promtool checks what serve's /metrics exposes (serve_ops).
# awscli: the S3 suite lists what the S3 tier stored with `aws s3 ls`;
# zstd (the command): it decompresses an output the S3 tier stored as a
# frame, and bench/compress.sh compares with it.
test_packages=(
  git bsdutils util-linux procps lmdb-utils curl
  zsh fish bash-completion dpkg-dev man-db groff-base
  redis-server redis-tools libcurl4 libmicrohttpd12 gh time prometheus awscli
  zstd
)
# The fake API servers of the HTTP suite are Node scripts (built-in modules
# only): Debian's nodejs when no node is installed.
command -v node >/dev/null 2>&1 || test_packages+=(nodejs)
# npm installs js-ipfs for the IPFS suite (tests/ipfs), s3rver for the S3
# suite (tests/s3) and the API clients for the clients suite
# (tests/clients).
command -v npm >/dev/null 2>&1 || test_packages+=(npm)
bench_packages=(hyperfine valgrind)
# fuzz/run.sh: clang 16 and its libFuzzer and sanitizer runtimes.
fuzz_packages=(clang-16 libclang-rt-16-dev)
# packaging/release.sh: Debian's cross compiler for arm64 and the arm64
# builds (multiarch) of the libraries linked statically, plus libcurl's and
# libmicrohttpd's arm64 headers (curl's live under the architecture's
# include directory); qemu-user-static runs the build-time rule compiler of
# the arm64 build and the arm64 suite (tests/integration/arm64.bash);
# dpkg-dev's dpkg-shlibdeps gives each .deb its Depends.
cross_packages=(
  g++-aarch64-linux-gnu qemu-user-static dpkg-dev
  liblmdb-dev:arm64 libsodium-dev:arm64 libpcre2-dev:arm64
  libhiredis-dev:arm64 libcurl4-openssl-dev:arm64 libmicrohttpd-dev:arm64
  libzstd-dev:arm64
)

want=("${build_packages[@]}")
case "${1:-build}" in
  build) ;;
  # tests/run.sh cross-compiles the arm64 binary and runs its suite.
  test) want+=("${test_packages[@]}" "${cross_packages[@]}") ;;
  bench) want+=("${test_packages[@]}" "${bench_packages[@]}") ;;
  fuzz) want+=("${fuzz_packages[@]}") ;;
  release) want+=("${cross_packages[@]}") ;;
  *) echo "usage: $0 [build|test|bench|fuzz|release]" >&2; exit 2 ;;
esac

sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
# The :arm64 packages need arm64 among dpkg's architectures (multiarch).
for p in "${want[@]}"; do
  case $p in
    *:arm64)
      if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        $sudo dpkg --add-architecture arm64
      fi
      break ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
    missing+=("$p")
done
if ((${#missing[@]})); then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
