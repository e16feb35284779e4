# What the benchmark scripts share; sourced from the project's root.

# need_packages PACKAGE...: installs the Debian packages not installed yet.
need_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null
  done
}

# bench_binary: sets bin to $BIN, or to a Release build of ipfsacc made in
# build-bench.
bench_binary() {
  bin=${BIN:-}
  if [ -z "$bin" ]; then
    cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build build-bench -j"$(nproc)" --target ipfsacc >/dev/null
    bin=$PWD/build-bench/ipfsacc
  fi
}
