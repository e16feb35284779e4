#!/usr/bin/env bash
# release.sh: builds the release artefacts of this tree in dist/, on
# Debian 12 (amd64):
#
#   ipfsacc_VERSION_amd64.deb, ipfsacc_VERSION_arm64.deb
#                     the Debian packages (cpack), linked as a plain build is
#   ipfsacc-VERSION-linux-x86_64, ipfsacc-VERSION-linux-aarch64
#                     fully static binaries (IPFSACC_STATIC), stripped
#   SHA256SUMS        their checksums (sha256sum -c SHA256SUMS)
#
# VERSION is the project's (CMakeLists.txt). arm64 is cross-compiled with
# Debian's cross compiler and the arm64 builds of the libraries
# (packaging/cmake/aarch64-linux-gnu.cmake); the packages come from Debian's
# archive only (packaging/install-deps.sh release, run first). Each
# architecture builds in build-release/ARCH once: the static binary, then
# the package (only the linking differs, so the second build relinks). dist/
# is replaced only when every artefact is built, so a failed run leaves the
# last one as it was, and a second run does the same again.
#
# JOBS=N sets the build's parallel jobs (default: the number of cores);
# RELEASE_SKIP_DEPS=1 skips the package installation.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

say() { printf '== %s\n' "$*"; }
die() {
  printf 'release.sh: error: %s\n' "$*" >&2
  exit 1
}
started=$SECONDS
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "JOBS=$jobs is not a number of jobs"

[[ $(dpkg --print-architecture 2>/dev/null) == amd64 ]] ||
  die "this script builds on Debian 12 amd64 (dpkg says: $(dpkg --print-architecture 2>&1))"
if [[ ${RELEASE_SKIP_DEPS:-} != 1 ]]; then
  say "packages: packaging/install-deps.sh release"
  packaging/install-deps.sh release
fi
for tool in cmake ninja cpack sha256sum aarch64-linux-gnu-g++ qemu-aarch64-static; do
  command -v "$tool" >/dev/null ||
    die "$tool is missing: run packaging/install-deps.sh release"
done

staging=$root/build-release/dist
rm -rf "$staging"
mkdir -p "$staging"

# build ARCH: the static binary and the package of one Debian architecture
# into the staging directory.
build() {
  local arch=$1 machine dir
  local args=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DIPFSACC_TESTS=OFF
    -DIPFSACC_WERROR=ON -DCMAKE_UNITY_BUILD=ON)
  case $arch in
    amd64) machine=x86_64 ;;
    arm64)
      machine=aarch64
      args+=("-DCMAKE_TOOLCHAIN_FILE=$root/packaging/cmake/aarch64-linux-gnu.cmake")
      ;;
  esac
  dir=$root/build-release/$arch
  # A directory configured with another compiler cannot be reconfigured:
  # it starts again.
  if [[ -f $dir/CMakeCache.txt ]]; then
    local cached=amd64
    grep -q '^CMAKE_CXX_COMPILER:.*aarch64' "$dir/CMakeCache.txt" && cached=arm64
    [[ $cached == "$arch" ]] || rm -rf "$dir"
  fi

  say "$arch: configure and build the static binary ($dir)"
  cmake -S "$root" -B "$dir" "${args[@]}" -DIPFSACC_STATIC=ON >/dev/null ||
    die "$arch: cmake failed (configure again without >/dev/null to see why)"
  cmake --build "$dir" -j"$jobs" --target ipfsacc || die "$arch: the static build failed"
  local version strip
  version=$(sed -nE 's/^CMAKE_PROJECT_VERSION:STATIC=(.+)$/\1/p' "$dir/CMakeCache.txt")
  strip=$(sed -nE 's/^CMAKE_STRIP:FILEPATH=(.+)$/\1/p' "$dir/CMakeCache.txt")
  [[ -n $version ]] || die "$arch: no project version in $dir/CMakeCache.txt"
  [[ -n ${release_version:-} && $release_version != "$version" ]] &&
    die "$arch: version $version, but $release_version for the other architecture"
  release_version=$version
  local static=$staging/ipfsacc-$version-linux-$machine
  "$strip" -o "$static" "$dir/ipfsacc" || die "$arch: $strip failed"
  say "$arch: $(basename "$static")"

  # The package: the project's default linking (the option unset).
  say "$arch: build and package the .deb"
  cmake -S "$root" -B "$dir" -UIPFSACC_STATIC >/dev/null || die "$arch: cmake failed"
  cmake --build "$dir" -j"$jobs" --target ipfsacc || die "$arch: the build failed"
  rm -rf "$dir/pkg"
  (cd "$dir" && cpack -G DEB -B "$dir/pkg" >/dev/null) || die "$arch: cpack failed"
  local deb=$dir/pkg/ipfsacc_${version}_$arch.deb
  [[ -f $deb ]] || die "$arch: cpack made no $(basename "$deb") ($(ls "$dir/pkg"))"
  local field
  field=$(dpkg-deb -f "$deb" Architecture)
  [[ $field == "$arch" ]] || die "$(basename "$deb") says Architecture: $field"
  cp "$deb" "$staging/"
  say "$arch: $(basename "$deb"), Depends: $(dpkg-deb -f "$deb" Depends)"
}

build amd64
build arm64

(cd "$staging" && sha256sum ipfsacc* >SHA256SUMS)
rm -rf "$root/dist"
mv "$staging" "$root/dist"
say "dist/ (version $release_version, $((SECONDS - started)) s):"
(cd "$root/dist" && ls -l && sha256sum -c --quiet SHA256SUMS)
