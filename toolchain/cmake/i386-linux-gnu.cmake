# 32-bit x86 Linux (i386, glibc) on an x86_64 Debian host, with the multilib
# compilers:
#
#   toolchain/setup.sh i386       # g++-multilib, libseccomp-dev:i386
#   cmake -S . -B build-i386 -DCMAKE_TOOLCHAIN_FILE=toolchain/cmake/i386-linux-gnu.cmake
#   cmake --build build-i386 -j
#
# toolchain/i386.sh does this and runs the unit, differential and interpose
# suites. The x86_64 kernel runs the result through its i386 syscall ABI
# (sendfile is syscall 187 there with a 32-bit offset, sendfile64 239).
# Works with gcc (the default) and with clang (CC=clang CXX=clang++).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR i686)
set(CMAKE_LIBRARY_ARCHITECTURE i386-linux-gnu)

# Debian's i386 baseline, named so that no compiler's own -m32 default
# decides: i686 has cmpxchg8b, which the lock-free 64-bit counters need (the
# build refuses a CPU without it, shim/src/stats.cpp).
set(CMAKE_C_FLAGS_INIT "-m32 -march=i686 -mtune=generic")
set(CMAKE_CXX_FLAGS_INIT "-m32 -march=i686 -mtune=generic")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-m32")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-m32")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "-m32")

# Libraries from /usr/lib/i386-linux-gnu, never the host's x86_64 ones.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_SYSTEM_IGNORE_PATH /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu)
set(FIND_LIBRARY_USE_LIB32_PATHS ON)

# pkg-config answers for i386 (libseccomp's .pc lives under the i386 triplet).
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/i386-linux-gnu/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
