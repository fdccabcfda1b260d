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
set(SFSHIM_SYSROOT "" CACHE PATH "sysroot of the target system")
if(NOT SFSHIM_SYSROOT)
  message(FATAL_ERROR "set -DSFSHIM_SYSROOT=/path/to/a/macOS/sysroot")
endif()
# try_compile projects see the same settings.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES SFSHIM_TARGET SFSHIM_SYSROOT)

set(CMAKE_C_COMPILER clang)
set(CMAKE_CXX_COMPILER clang++)
set(CMAKE_C_COMPILER_TARGET ${SFSHIM_TARGET})
set(CMAKE_CXX_COMPILER_TARGET ${SFSHIM_TARGET})
set(CMAKE_SYSROOT ${SFSHIM_SYSROOT})
set(CMAKE_OSX_SYSROOT ${SFSHIM_SYSROOT})
set(CMAKE_FIND_ROOT_PATH ${SFSHIM_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${SFSHIM_SYSROOT}")
set(ENV{PKG_CONFIG_LIBDIR} "${SFSHIM_SYSROOT}/usr/lib/pkgconfig:${SFSHIM_SYSROOT}/usr/libdata/pkgconfig:${SFSHIM_SYSROOT}/usr/local/libdata/pkgconfig")
