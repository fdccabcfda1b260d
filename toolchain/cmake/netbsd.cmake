# Cross build for NetBSD with clang, against a sysroot you supply (this machine
# has no NetBSD headers or libraries; nothing here was built with this file).
#
#   cmake -S . -B build-netbsd -DCMAKE_TOOLCHAIN_FILE=toolchain/cmake/netbsd.cmake \
#         -DSFSHIM_SYSROOT=/path/to/NetBSD-sysroot -DSFSHIM_BUILD_TESTS=OFF
#   cmake --build build-netbsd -j
#
# The sysroot needs usr/include and usr/lib (libc, libdl where separate), e.g. base.tar.xz and comp.tar.xz of NetBSD 10 unpacked; linked with lld (Debian: apt-get install lld).
# Tests need the target system to run: copy the build there, or build natively.
# Triple: x86_64-unknown-netbsd10 (override with -DSFSHIM_TARGET=...).
set(CMAKE_SYSTEM_NAME NetBSD)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(SFSHIM_TARGET "x86_64-unknown-netbsd10" CACHE STRING "clang target triple")
include(${CMAKE_CURRENT_LIST_DIR}/cross-clang.cmake)
