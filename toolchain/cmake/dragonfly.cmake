# Cross build for DragonFly with clang, against a sysroot you supply (this machine
# has no DragonFly headers or libraries; nothing here was built with this file).
#
#   cmake -S . -B build-dragonfly -DCMAKE_TOOLCHAIN_FILE=toolchain/cmake/dragonfly.cmake \
#         -DSFSHIM_SYSROOT=/path/to/DragonFly-sysroot -DSFSHIM_BUILD_TESTS=OFF
#   cmake --build build-dragonfly -j
#
# The sysroot needs usr/include and usr/lib (libc, libdl where separate), e.g. a DragonFly 6 world unpacked; linked with lld (Debian: apt-get install lld).
# Tests need the target system to run: copy the build there, or build natively.
# Triple: x86_64-unknown-dragonfly (override with -DSFSHIM_TARGET=...).
set(CMAKE_SYSTEM_NAME DragonFly)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(SFSHIM_TARGET "x86_64-unknown-dragonfly" CACHE STRING "clang target triple")
include(${CMAKE_CURRENT_LIST_DIR}/cross-clang.cmake)
