#!/usr/bin/env bash
# Writes packaging/hot-functions.txt: the functions a cache hit runs, which
# the static programs are linked with first (lld's --symbol-ordering-file,
# CMakeLists.txt's ipfsacc_order_functions), so that a hit reads its code
# from a few neighbouring pages instead of from most of the binary.
#
#   packaging/hot-functions.sh [IPFSACC...]
#
# Each IPFSACC is a static front or static build with its symbols (default:
# build/ipfsacc). Their hits are run under callgrind, which names every
# function they execute. The optimiser names its copies of a function by
# what it did (.constprop.0, .part.0, .isra.0), which differs between -O2
# and -O3 and between unity and separate compilation: give one binary of
# each way the programs are built (the tests' RelWithDebInfo unity build, a
# plain Release build, packaging/release.sh's Release unity build), and the
# list holds the names of each. Run it again after a change to the hit path, and
# compare a hit's page faults before and after (`perf stat -e page-faults`)
# or its time (bench/run.sh). A stale list only costs speed: names it lacks
# are linked where they would be anyway, and names no longer in the binary
# are ignored.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/packaging/hot-functions.txt
command -v valgrind >/dev/null || { echo "hot-functions: valgrind is needed" >&2; exit 1; }
(($#)) || set -- "$root/build/ipfsacc"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/fakes"
export FAKE_LOG=$work/fake.log
head -c 10000 "$root/README.md" >"$work/10k.txt"
head -c 7500 /dev/urandom | base64 -w 76 >"$work/random.txt" # stored raw
head -c 200 "$root/README.md" >"$work/small.txt"
# The tests' fake gh stands for a wrapped tool.
ln -s "$root/tests/fakes/gh" "$work/fakes/gh"

n=0
: >"$work/variants"
: >"$work/native"
for arg in "$@"; do
  bin=$(realpath "$arg")
  [[ -x $bin ]] || { echo "hot-functions: no $bin" >&2; exit 1; }
  rm -rf "$work/home" "$work/cache"
  mkdir -p "$work/home"
  export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config
  export XDG_CACHE_HOME=$work/home/.cache IPFSACC_DIR=$work/cache

  # hit ARGS...: a miss to store the answer, then the hit under callgrind.
  hit() {
    "$bin" "$@" >/dev/null 2>&1 </dev/null || true
    n=$((n + 1))
    valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/cg.$n" \
      "$bin" "$@" >/dev/null 2>&1 </dev/null
  }
  hit run --ttl 1h -- cat "$work/10k.txt"
  hit run -- cat "$work/random.txt"
  hit run --ttl 1h -- cat "$work/small.txt"
  PATH=$work/fakes:$PATH hit gh pr list -R o/r
  # Piped stdin is part of the key.
  "$bin" run -- sort <"$work/small.txt" >/dev/null
  n=$((n + 1))
  valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/cg.$n" \
    "$bin" run -- sort <"$work/small.txt" >/dev/null 2>&1

  # Every function named in the profiles, in the order first named.
  grep -hoE '^c?fn=\([0-9]+\) .+' "$work"/cg.* |
    sed -E "s/^c?fn=\([0-9]+\) //; s/'[0-9]+\$//" |
    grep -vE '^(0x|\(below main\))' | awk '!seen[$0]++' >"$work/names"

  # What a hit runs natively that it does not under valgrind, which emulates
  # a CPU of its own and runs with descriptors of its own:
  # - the variants of the string functions glibc picks for this CPU (IFUNC):
  #   those of every family the profiles name, for AVX2 and AVX-512 machines;
  # - SHA-256 on the SHA extensions (util/sha256_hw), and zstd's Huffman
  #   decoder in assembly (BMI2);
  # - what marks the cache's descriptors close-on-exec by their real path
  #   (util::close_on_exec_since).
  nm "$bin" | awk '{ print $NF }' | sort -u >"$work/symbols"
  sed -nE 's/^(__[a-z]+)_(avx|evex|sse|erms).*/\1_/p' "$work/names" | sort -u |
    while read -r family; do
      grep -E "^${family}(avx2|avx512|evex)" "$work/symbols" || true
    done >>"$work/variants"
  grep -E 'sha256_hw|^_HUF_.*_asm_loop$|^_ZNSt10filesystem(9canonical|8absolute)|^(__)?(realpath|readlink)$' \
    "$work/symbols" >>"$work/native" || true
done

cat "$work/names" "$work/variants" "$work/native" | awk '!seen[$0]++' >"$out"
echo "hot-functions: $(wc -l <"$out") functions from $n hits of $# binaries -> $out"
