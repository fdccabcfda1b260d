/* Included first in every C++ file of the musl build (musl-linux.cmake).
 * SPDX-License-Identifier: BSD-2-Clause */
#ifndef SFSHIM_MUSL_COMPAT_H
#define SFSHIM_MUSL_COMPAT_H

/* libstdc++'s configuration headers are glibc's: bits/os_defines.h asks
 * __GLIBC_PREREQ, which musl does not define. No glibc feature applies. */
#ifndef __GLIBC_PREREQ
#define __GLIBC_PREREQ(major, minor) 0
#endif

#endif
