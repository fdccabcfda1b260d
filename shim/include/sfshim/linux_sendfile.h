/*
 * sfshim/linux_sendfile.h: Linux's sendfile(2), with its signature and the
 * semantics of <sys/sendfile.h>, for code ported from Linux.
 *
 *   #include <sfshim/linux_sendfile.h>     (instead of <sys/sendfile.h>)
 *   ssize_t n = sendfile(out_fd, in_fd, &offset, count);
 *
 * and link with -lsfshim. Every call goes to sfshim_sendfile: the same
 * return value, errno, *offset and file-position updates as Linux.
 *
 * - Linux: <sys/sendfile.h> itself; nothing is renamed (the library
 *   interposes the real symbols).
 * - NetBSD, OpenBSD: no native sendfile; the library exports `sendfile`
 *   (and `sendfile64`) with Linux's signature, declared here.
 * - FreeBSD, DragonFly, macOS: the system's <sys/socket.h> declares its own
 *   sendfile with another signature. This header makes `sendfile` a macro
 *   for sfshim_linux_sendfile, an inline wrapper. The trade-off: in every
 *   file that includes this header, `sendfile` means Linux's call, so the
 *   native one (and anything spelled `sendfile`, such as a struct member)
 *   cannot be used in that file; include it after the system headers, and
 *   keep code that needs the native call in files that do not include it.
 *   Define SFSHIM_NO_SENDFILE_MACRO to get only sfshim_linux_sendfile.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef SFSHIM_LINUX_SENDFILE_H
#define SFSHIM_LINUX_SENDFILE_H

#include <sys/types.h>

#include "sfshim/sfshim.h"

#if defined(__linux__)

#include <sys/sendfile.h>

#else

#ifdef __cplusplus
extern "C" {
#endif

/* Linux's sendfile over sfshim_sendfile (off_t has 64 bits on these systems). */
static inline ssize_t sfshim_linux_sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
    return sfshim_sendfile(out_fd, in_fd, (int64_t *)offset, count);
}

#if defined(__NetBSD__) || defined(__OpenBSD__)
/* Exported by libsfshim itself: no native symbol to collide with. */
ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count);
#elif !defined(SFSHIM_NO_SENDFILE_MACRO)
/* The native declaration first, so that the macro does not rename it. */
#include <sys/socket.h>
#include <sys/uio.h>
#define sendfile sfshim_linux_sendfile
#endif

#ifdef __cplusplus
}
#endif

#endif /* !__linux__ */

#endif /* SFSHIM_LINUX_SENDFILE_H */
