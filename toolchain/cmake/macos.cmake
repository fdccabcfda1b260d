# Cross build for macOS with clang, against a sysroot you supply (this machine
# has no macOS headers or libraries; nothing here was built with this file).
#
#   cmake -S . -B build-macos -DCMAKE_TOOLCHAIN_FILE=toolchain/cmake/macos.cmake \
#         -DSFSHIM_SYSROOT=/path/to/macOS-sysroot -DSFSHIM_BUILD_TESTS=OFF
#   cmake --build build-macos -j
#
# The sysroot needs usr/include and usr/lib (libc, libdl where separate) of a macOS SDK (MacOSX.sdk from Xcode); linking needs Apple's ld64 or ld64.lld (lld's MachO port) on PATH, set with -DCMAKE_SHARED_LINKER_FLAGS=-fuse-ld=ld64.lld; arm64: -DSFSHIM_TARGET=arm64-apple-macos11.
# Tests need the target system to run: copy the build there, or build natively.
# Triple: x86_64-apple-macos11 (override with -DSFSHIM_TARGET=...).
set(CMAKE_SYSTEM_NAME Darwin)
set(CMAKE_SYSTEM_PROCESSOR x86_64)  # or arm64 with the matching SFSHIM_TARGET
set(SFSHIM_TARGET "x86_64-apple-macos11" CACHE STRING "clang target triple")
include(${CMAKE_CURRENT_LIST_DIR}/cross-clang.cmake)
