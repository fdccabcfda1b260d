# The body of the clang cross toolchain files (freebsd, netbsd, openbsd,
# dragonfly, macos.cmake): each sets CMAKE_SYSTEM_NAME, CMAKE_SYSTEM_PROCESSOR
# and a default SFSHIM_TARGET triple, then includes this file.
set(SFSHIM_SYSROOT "" CACHE PATH "sysroot of the target system")
if(NOT SFSHIM_SYSROOT)
  message(FATAL_ERROR "set -DSFSHIM_SYSROOT=/path/to/a/${CMAKE_SYSTEM_NAME}/sysroot")
endif()
# try_compile projects see the same settings.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES SFSHIM_TARGET SFSHIM_SYSROOT)

set(CMAKE_C_COMPILER clang)
set(CMAKE_CXX_COMPILER clang++)
set(CMAKE_C_COMPILER_TARGET ${SFSHIM_TARGET})
set(CMAKE_CXX_COMPILER_TARGET ${SFSHIM_TARGET})
set(CMAKE_SYSROOT ${SFSHIM_SYSROOT})
if(CMAKE_SYSTEM_NAME STREQUAL "Darwin")
  set(CMAKE_OSX_SYSROOT ${SFSHIM_SYSROOT})
else()
  set(CMAKE_EXE_LINKER_FLAGS_INIT "-fuse-ld=lld")
  set(CMAKE_SHARED_LINKER_FLAGS_INIT "-fuse-ld=lld")
endif()
set(CMAKE_FIND_ROOT_PATH ${SFSHIM_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${SFSHIM_SYSROOT}")
set(ENV{PKG_CONFIG_LIBDIR} "${SFSHIM_SYSROOT}/usr/lib/pkgconfig:${SFSHIM_SYSROOT}/usr/libdata/pkgconfig:${SFSHIM_SYSROOT}/usr/local/libdata/pkgconfig")
