# Cross build for OpenBSD with clang, against a sysroot you supply (this machine
# has no OpenBSD headers or libraries; nothing here was built with this file).
#
#   cmake -S . -B build-openbsd -DCMAKE_TOOLCHAIN_FILE=toolchain/cmake/openbsd.cmake \
#         -DSFSHIM_SYSROOT=/path/to/OpenBSD-sysroot -DSFSHIM_BUILD_TESTS=OFF
#   cmake --build build-openbsd -j
#
# The sysroot needs usr/include and usr/lib (libc, libdl where separate), e.g. base75.tgz and comp75.tgz of OpenBSD 7.5 unpacked; linked with lld (Debian: apt-get install lld).
# Tests need the target system to run: copy the build there, or build natively.
# Triple: x86_64-unknown-openbsd7.5 (override with -DSFSHIM_TARGET=...).
set(CMAKE_SYSTEM_NAME OpenBSD)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(SFSHIM_TARGET "x86_64-unknown-openbsd7.5" CACHE STRING "clang target triple")
include(${CMAKE_CURRENT_LIST_DIR}/cross-clang.cmake)
