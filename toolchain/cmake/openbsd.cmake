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
set(SFSHIM_SYSROOT "" CACHE PATH "sysroot of the target system")
if(NOT SFSHIM_SYSROOT)
  message(FATAL_ERROR "set -DSFSHIM_SYSROOT=/path/to/a/OpenBSD/sysroot")
endif()
# try_compile projects see the same settings.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES SFSHIM_TARGET SFSHIM_SYSROOT)

set(CMAKE_C_COMPILER clang)
set(CMAKE_CXX_COMPILER clang++)
set(CMAKE_C_COMPILER_TARGET ${SFSHIM_TARGET})
set(CMAKE_CXX_COMPILER_TARGET ${SFSHIM_TARGET})
set(CMAKE_SYSROOT ${SFSHIM_SYSROOT})
set(CMAKE_EXE_LINKER_FLAGS_INIT "-fuse-ld=lld")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-fuse-ld=lld")
set(CMAKE_FIND_ROOT_PATH ${SFSHIM_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${SFSHIM_SYSROOT}")
set(ENV{PKG_CONFIG_LIBDIR} "${SFSHIM_SYSROOT}/usr/lib/pkgconfig:${SFSHIM_SYSROOT}/usr/libdata/pkgconfig:${SFSHIM_SYSROOT}/usr/local/libdata/pkgconfig")
