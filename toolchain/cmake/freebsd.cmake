# Cross build for FreeBSD with clang, against a sysroot you supply (this machine
# has no FreeBSD headers or libraries; nothing here was built with this file).
#
#   cmake -S . -B build-freebsd -DCMAKE_TOOLCHAIN_FILE=toolchain/cmake/freebsd.cmake \
#         -DSFSHIM_SYSROOT=/path/to/FreeBSD-sysroot -DSFSHIM_BUILD_TESTS=OFF
#   cmake --build build-freebsd -j
#
# The sysroot needs usr/include and usr/lib (libc, libdl where separate), e.g. base.txz of a FreeBSD 14 release unpacked; linked with lld (Debian: apt-get install lld).
# Tests need the target system to run: copy the build there, or build natively.
# Triple: x86_64-unknown-freebsd14 (override with -DSFSHIM_TARGET=...).
set(CMAKE_SYSTEM_NAME FreeBSD)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(SFSHIM_TARGET "x86_64-unknown-freebsd14" CACHE STRING "clang target triple")
include(${CMAKE_CURRENT_LIST_DIR}/cross-clang.cmake)
