# The oldest glibc sfshim's binaries run on, and how they are held to it.
#
# The number lives in shim/src/glibc_floor.h (SFSHIM_GLIBC_FLOOR), with the
# bindings that keep the library's imports at or below it; this module reads
# it from there, so that it is written once. tests/abi fails when any binary
# needs a GLIBC_ version above it (or GLIBCXX_/CXXABI_ above what GCC 4.8, the
# compiler of that glibc's manylinux2014 policy, shipped).
#
#   sfshim_glibc_floor_library(TARGET)  the library's objects: glibc_floor.h
#                                       is included first in every source
#   sfshim_glibc_floor_command(TARGET)  a command: linked statically (no
#                                       symbol versions at all; it runs in any
#                                       Linux userland, old or new)
include_guard(GLOBAL)
include(CheckCSourceCompiles)

set(SFSHIM_GLIBC_FLOOR_HEADER ${CMAKE_CURRENT_LIST_DIR}/../../shim/src/glibc_floor.h)
get_filename_component(SFSHIM_GLIBC_FLOOR_HEADER ${SFSHIM_GLIBC_FLOOR_HEADER} ABSOLUTE)
file(STRINGS ${SFSHIM_GLIBC_FLOOR_HEADER} _floor REGEX "^#define SFSHIM_GLIBC_FLOOR ")
string(REGEX REPLACE "^#define SFSHIM_GLIBC_FLOOR +\"?([0-9]+\\.[0-9]+)\"?.*$" "\\1" SFSHIM_GLIBC_FLOOR "${_floor}")
if(NOT SFSHIM_GLIBC_FLOOR MATCHES "^[0-9]+\\.[0-9]+$")
  message(FATAL_ERROR "sfshim: no SFSHIM_GLIBC_FLOOR in ${SFSHIM_GLIBC_FLOOR_HEADER}")
endif()
# What GCC 4.8 (glibc 2.17's compiler in manylinux2014, PEP 599) shipped.
set(SFSHIM_GLIBCXX_FLOOR 3.4.19)
set(SFSHIM_CXXABI_FLOOR 1.3.7)

# Is the C library glibc? (musl and the BSDs have no symbol versions to hold.)
check_c_source_compiles("#include <stdio.h>
#ifndef __GLIBC__
#error not glibc
#endif
int main(void) { return 0; }" SFSHIM_LIBC_IS_GLIBC)

option(SFSHIM_STATIC_COMMANDS "Link sfshim-doctor and sfshim-nosendfile statically" ON)
if(SFSHIM_STATIC_COMMANDS AND CMAKE_TRY_COMPILE_TARGET_TYPE STREQUAL "STATIC_LIBRARY")
  # A toolchain whose checks do not link (musl-linux.cmake): trusted.
  set(SFSHIM_CAN_LINK_STATIC ON)
elseif(SFSHIM_STATIC_COMMANDS AND NOT DEFINED SFSHIM_CAN_LINK_STATIC)
  set(CMAKE_REQUIRED_LINK_OPTIONS -static)
  check_c_source_compiles("#include <stdio.h>
int main(void) { puts(\"\"); return 0; }" SFSHIM_CAN_LINK_STATIC)
  unset(CMAKE_REQUIRED_LINK_OPTIONS)
  if(NOT SFSHIM_CAN_LINK_STATIC)
    message(FATAL_ERROR "sfshim: cannot link a static program (Debian: libc6-dev; i386: libc6-dev-i386). "
      "-DSFSHIM_STATIC_COMMANDS=OFF links the commands dynamically, above the glibc floor.")
  endif()
endif()

function(sfshim_glibc_floor_library target)
  if(SFSHIM_LIBC_IS_GLIBC)
    target_compile_options(${target} PRIVATE -include ${SFSHIM_GLIBC_FLOOR_HEADER})
    set_property(TARGET ${target} APPEND PROPERTY OBJECT_DEPENDS ${SFSHIM_GLIBC_FLOOR_HEADER})
  endif()
endfunction()

function(sfshim_glibc_floor_command target)
  if(SFSHIM_STATIC_COMMANDS)
    target_link_options(${target} PRIVATE -static)
    set_property(TARGET ${target} PROPERTY SFSHIM_STATIC ON)
  endif()
endfunction()
