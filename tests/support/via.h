// How a test makes its sendfile call: through the kernel's own sendfile (the
// oracle) or through the shim in one mode, possibly inside a kernel that
// refuses sendfile or inside a compat layer's profile (layers.h). Both the
// differential and the fault suites call through a Via.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "layers.h"

namespace sftest {

enum class Via {
    Kernel,      // the kernel's sendfile64 (sendfile on 64-bit ABIs): the oracle
    Emulate,     // sfshim_sendfile_mode(SFSHIM_MODE_EMULATE, ...)
    Mmap,        // SFSHIM_MODE_MMAP
    Rw,          // SFSHIM_MODE_RW
    Auto,        // SFSHIM_MODE_AUTO with the kernel's sendfile working
    AutoEnosys,  // SFSHIM_MODE_AUTO where sendfile gives ENOSYS (seccomp)
    AutoEperm,   // SFSHIM_MODE_AUTO where sendfile gives EPERM (sandbox profiles; seccomp)
    AutoFreebsd, // SFSHIM_MODE_AUTO where count == 0 gives EINVAL (FreeBSD's layer; seccomp)
    AutoCompat,  // SFSHIM_MODE_AUTO in NetBSD compat_linux's profile with no /proc
                 // (kernel_profile.h), in a private mount namespace of the child
    AutoLinuxulator, // SFSHIM_MODE_AUTO in FreeBSD's linuxulator profile, its sendfile
                     // performed by a supervisor (kernel_profile.h), with /proc
    AutoIllumosLx,   // SFSHIM_MODE_AUTO in illumos LX's profile, its sendfile performed
                     // by a supervisor (kernel_profile.h), with /proc
};

const char *name(Via v);

// The compat layer a via runs in (layers.h), or nullptr.
const LayerProfile *layer_of(Via v);
// Why this process cannot run the via at all (a layer it cannot enter:
// layer_unavailable), or nullptr.
const char *unavailable(Via v);
// The vias of `vias` this process can run. One it cannot (a supervised
// layer under memcheck) is left out and said once on stderr.
std::vector<Via> runnable(std::vector<Via> vias);
// Every shim way of calling (all but the kernel) that this process can run.
const std::vector<Via> &shim_vias();
// The two engines, and AUTO in a kernel without sendfile.
const std::vector<Via> &engine_vias();

// One sendfile call with a 64-bit offset, made the via's way.
ssize_t send_via(Via v, int out_fd, int in_fd, int64_t *offset, size_t count);
// Linux's 32-bit sendfile (32-bit offset): the kernel's syscall, or the
// shim's dispatch_off32, which is what `sendfile` is where off_t has 32
// bits. Only 32-bit processes have it; elsewhere ENOSYS.
ssize_t send_via32(Via v, int out_fd, int in_fd, int32_t *offset, size_t count);

// Puts this process in the kernel the via plays: the seccomp filter that
// takes sendfile away, or the layer, entered as enter_layer says. Nothing
// for the others. The shim then forgets what it learned in the parent. Call
// it in a forked child before it starts a thread: it cannot be undone.
// false, with *err set when given, on failure.
bool install_filter(Via v, std::string *err = nullptr);

} // namespace sftest
