#!/usr/bin/env bash
# The main job, end to end: install, build, then show a wrapped call missing
# and then hitting the cache, and the statistics after. The `gh` used here is
# the test suite's stand-in (tests/fakes), which answers like gh without the
# network; with the real gh installed and logged in, drop the PATH line.
set -euo pipefail
cd "$(dirname "$0")/.."

packaging/install-deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DIPFSACC_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" --target ipfsacc

export IPFSACC_DIR=${IPFSACC_DIR:-$(mktemp -d)/cache}
export PATH="$PWD/tests/fakes:$PATH"
export FAKE_SLEEP=${FAKE_SLEEP:-1} # the network round trip the cache saves

echo "\$ ipfsacc -v gh api repos/cli/cli    # first call: runs gh"
time build/ipfsacc -v gh api repos/cli/cli
echo
echo "\$ ipfsacc -v gh api repos/cli/cli    # second call: from the cache"
time build/ipfsacc -v gh api repos/cli/cli
echo
echo "\$ ipfsacc stats"
build/ipfsacc stats
