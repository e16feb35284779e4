#!/usr/bin/env bash
# release_sizes.sh: the sizes of the release artefacts in dist/ (made by
# packaging/release.sh, run first) into their section of bench/RESULTS.md:
# each file, and for a package the size of the binary it installs. The amd64
# artefacts are the baseline of the arm64 ones (same tree, same run).
set -euo pipefail
cd "$(dirname "$0")/.."

[[ -f dist/SHA256SUMS ]] || {
  echo "release_sizes.sh: no dist/SHA256SUMS: run packaging/release.sh first" >&2
  exit 1
}
(cd dist && sha256sum --quiet -c SHA256SUMS) || {
  echo "release_sizes.sh: dist/ does not match its SHA256SUMS" >&2
  exit 1
}

# row FILE: a table row with the file's size and, for a package, the size
# of the binary in it.
row() {
  local file=$1 size inner="" tmp
  size=$(stat -c %s "dist/$file")
  if [[ $file == *.deb ]]; then
    tmp=$(mktemp -d)
    dpkg-deb -x "dist/$file" "$tmp"
    inner="$(stat -c %s "$tmp/usr/bin/ipfsacc") bytes"
    rm -rf "$tmp"
  fi
  printf '| `%s` | %s bytes | %s |\n' "$file" "$size" "${inner:-—}"
}

rows=""
for file in $(cd dist && ls ipfsacc* | sort); do
  rows+=$(row "$file")$'\n'
done
# What the artefacts were built from: the amd64 static binary says.
revision=$(dist/ipfsacc-*-linux-x86_64 --version | sed -nE '1s/.*\(git ([^)]*)\).*/\1/p')
section=$(
  cat <<MD
<!-- release.sh: begin -->
## Release artefacts (\`packaging/release.sh\`, $(date -u +%Y-%m-%d), git ${revision})

Release build, stripped. The packages are linked as a plain build is; the
\`linux-*\` files are fully static (\`-DIPFSACC_STATIC=ON\`). arm64 is
cross-compiled with Debian's g++-aarch64-linux-gnu 12.

| artefact | file size | \`/usr/bin/ipfsacc\` in the package |
| --- | --- | --- |
${rows%$'\n'}
<!-- release.sh: end -->
MD
)
python3 bench/write_section.py release.sh "$section"
printf '%s\n' "$section"
