# The library for x86_64 Linux with musl instead of glibc, on a Debian host:
#
#   toolchain/setup.sh musl       # musl-tools, musl-dev
#   cmake -S . -B build-musl -DCMAKE_TOOLCHAIN_FILE=toolchain/cmake/musl-linux.cmake \
#         -DSFSHIM_BUILD_TESTS=OFF
#   cmake --build build-musl --target sfshim sfshim_posix_check
#
# Only the library (and the POSIX check of its core) builds here: the test
# suites need Catch2 and sfshim-nosendfile libseccomp, neither built for
# musl on Debian, and sfshim-doctor calls glibc's strerrorname_np.
# toolchain/musl.sh builds the library and runs tests/interpose/musl_test.sh
# with the tools of a host build.
#
# C goes through musl-gcc. C++ is g++ against musl's headers, with
# libstdc++'s headers for the header-only parts the library uses (<atomic>);
# the library links as C, so a call into libstdc++ would be a link error.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(SFSHIM_MUSL_TRIPLE x86_64-linux-musl)
set(CMAKE_C_COMPILER musl-gcc)
set(CMAKE_CXX_COMPILER g++)

# No C++ program is linked: compiler checks build a static library.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

# Linux's own headers (<linux/magic.h>) are not part of musl: take the
# kernel's from linux-libc-dev, and nothing else of /usr/include.
set(sfshim_kernel_headers ${CMAKE_BINARY_DIR}/musl-kernel-headers)
file(MAKE_DIRECTORY ${sfshim_kernel_headers})
foreach(dir linux asm-generic x86_64-linux-gnu/asm)
  get_filename_component(name ${dir} NAME)
  if(NOT EXISTS ${sfshim_kernel_headers}/${name})
    file(CREATE_LINK /usr/include/${dir} ${sfshim_kernel_headers}/${name} SYMBOLIC)
  endif()
endforeach()

execute_process(COMMAND g++ -dumpversion OUTPUT_VARIABLE sfshim_gxx_version
  OUTPUT_STRIP_TRAILING_WHITESPACE)
execute_process(COMMAND g++ -print-file-name=include OUTPUT_VARIABLE sfshim_gcc_include
  OUTPUT_STRIP_TRAILING_WHITESPACE)
string(REGEX MATCH "^[0-9]+" sfshim_gxx_major "${sfshim_gxx_version}")
set(CMAKE_CXX_FLAGS_INIT "-nostdinc \
-isystem /usr/include/c++/${sfshim_gxx_major} \
-isystem /usr/include/x86_64-linux-gnu/c++/${sfshim_gxx_major} \
-isystem /usr/include/${SFSHIM_MUSL_TRIPLE} \
-isystem ${sfshim_gcc_include} \
-idirafter ${sfshim_kernel_headers} \
-include ${CMAKE_CURRENT_LIST_DIR}/musl-compat.h")
set(CMAKE_C_FLAGS_INIT "-idirafter ${sfshim_kernel_headers}")

# glibc's libraries are never found for this build.
set(CMAKE_SYSTEM_IGNORE_PATH /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu)
