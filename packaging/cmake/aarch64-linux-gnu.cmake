# Cross-compiling ipfsacc for arm64 on Debian 12 (amd64), with Debian's
# cross compiler (g++-aarch64-linux-gnu) and the arm64 builds of the
# libraries installed side by side with the machine's own (multiarch:
# `dpkg --add-architecture arm64`, then liblmdb-dev:arm64 and the others;
# `packaging/install-deps.sh release` does both). No sysroot: Debian's
# cross compiler already searches /usr/include/aarch64-linux-gnu and
# /usr/lib/aarch64-linux-gnu, and CMake finds the libraries there from the
# compiler's library architecture.
#
#   cmake -S . -B build-arm64 \
#     -DCMAKE_TOOLCHAIN_FILE=packaging/cmake/aarch64-linux-gnu.cmake \
#     -DIPFSACC_TESTS=OFF -DIPFSACC_STATIC=ON
#
# packaging/release.sh builds the release artefacts this way.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# Programs (gzip, git, dpkg-shlibdeps) are the build machine's; libraries
# and headers are the arm64 ones, never the machine's own amd64 archives.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_IGNORE_PATH /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu)

# The build runs one program it builds: rulegen, which compiles wrappers/
# into C++. It is an arm64 program, so it runs under Debian's user-mode
# emulator (qemu-user-static), with the cross toolchain's arm64 C and C++
# runtime libraries as its root for shared libraries.
find_program(IPFSACC_QEMU_AARCH64 qemu-aarch64-static REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR ${IPFSACC_QEMU_AARCH64} -L /usr/aarch64-linux-gnu)
