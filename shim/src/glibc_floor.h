// The oldest glibc the library runs on: its floor, and the bindings that hold
// it there whatever glibc builds it.
//
// Included first in every source of the library on glibc (the build does it:
// toolchain/cmake/GlibcFloor.cmake, which also reads the number from here).
// A program loads the library only if its glibc has every symbol version
// the library asks for. glibc keeps each function's old versions, so an
// import is bound here to the oldest one when the build machine's headers
// would pick a newer default. tests/abi fails the build's tests when any
// import is above the floor: a new import that needs a binding shows there.
//
// The floor is that of Python's manylinux2014 (PEP 599) and of CentOS 7, the
// oldest userland of the BSDs' Linux layers (FreeBSD's linux_base-c7).
// SPDX-License-Identifier: BSD-2-Clause
#pragma once

#define SFSHIM_GLIBC_FLOOR "2.17"

#include <features.h>

#if defined(__GLIBC__) && !defined(SFSHIM_NO_GLIBC_FLOOR)

// Kept out of the library on purpose, because an old glibc has them in
// another library or not at all (see where each is replaced):
//   dlsym             libdl.so.2 before 2.34: the kernel's sendfile is the
//                     system call (platform/linux.cpp)
//   pthread_once,     libpthread.so.0 before 2.34: atomics (once.h, buffer.cpp)
//   pthread_key_*
//   __cxa_thread_atexit_impl  2.18: no thread_local with a destructor

#if defined(__x86_64__)
#define SFSHIM_GLIBC_STAT_VER 1  // _STAT_VER_LINUX there
#elif defined(__i386__)
#define SFSHIM_GLIBC_STAT_VER 3  // _STAT_VER_LINUX there
#endif

#if defined(__x86_64__) || defined(__i386__)

// fcntl64@GLIBC_2.28 (what fcntl is with 64-bit offsets since 2.28): the
// library asks only F_GETFL and F_GETPIPE_SZ, the same in the old fcntl.
#if defined(__x86_64__)
__asm__(".symver fcntl64,fcntl@GLIBC_2.2.5");
#else
__asm__(".symver fcntl64,fcntl@GLIBC_2.0");
#endif

// fstat@GLIBC_2.33 / fstat64@GLIBC_2.33: before 2.33 fstat was an inline
// wrapper in <sys/stat.h> around __fxstat64, which glibc still exports.
#if __GLIBC_PREREQ(2, 33)
#include <sys/stat.h>
#if defined(__x86_64__) || (defined(_FILE_OFFSET_BITS) && _FILE_OFFSET_BITS == 64)
#ifdef __cplusplus
extern "C" int __fxstat64(int ver, int fd, struct stat* buf);
#ifdef __USE_LARGEFILE64
static_assert(sizeof(struct stat) == sizeof(struct stat64), "struct stat is not stat64's layout");
#endif
#else
extern int __fxstat64(int ver, int fd, struct stat* buf);
#endif
#if defined(__x86_64__)
__asm__(".symver __fxstat64,__fxstat64@GLIBC_2.2.5");
#else
__asm__(".symver __fxstat64,__fxstat64@GLIBC_2.2");
#endif
static inline int sfshim_floor_fstat(int fd, struct stat* buf) {
    return __fxstat64(SFSHIM_GLIBC_STAT_VER, fd, buf);
}
#define fstat(fd, buf) sfshim_floor_fstat(fd, buf)
#endif
#endif  // 2.33

#endif  // x86_64, i386
#endif  // glibc
