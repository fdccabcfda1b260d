// Runs one case in a forked child, optionally inside a seccomp filter that
// takes the kernel's sendfile away, and brings the observation back.
#pragma once

#include "fixture.h"
#include "layers.h"
#include "observation.h"

namespace sfdiff {

enum class Caller {
    Kernel,      // syscall(SYS_sendfile, ...): the oracle
    Emulate,     // sfshim_sendfile_mode(SFSHIM_MODE_EMULATE, ...)
    Mmap,        // SFSHIM_MODE_MMAP
    Rw,          // SFSHIM_MODE_RW
    Auto,        // SFSHIM_MODE_AUTO with the kernel's sendfile working
    AutoEnosys,  // SFSHIM_MODE_AUTO where sendfile gives ENOSYS (NetBSD compat_linux, seccomp)
    AutoEperm,   // SFSHIM_MODE_AUTO where sendfile gives EPERM (sandbox profiles)
    AutoFreebsd, // SFSHIM_MODE_AUTO where count == 0 gives EINVAL (FreeBSD linuxulator)
    AutoCompat,  // SFSHIM_MODE_AUTO in NetBSD compat_linux's profile with no /proc
                 // (kernel_profile.h), in a private mount namespace of the child
    AutoLinuxulator, // SFSHIM_MODE_AUTO in FreeBSD's linuxulator profile, its sendfile
                     // performed by a supervisor (kernel_profile.h), with /proc
    AutoIllumosLx,   // SFSHIM_MODE_AUTO in illumos LX's profile, its sendfile performed
                     // by a supervisor (kernel_profile.h), with /proc
};

const char *name(Caller c);

// The compat layer a caller runs in (layers.h), or nullptr.
const sftest::LayerProfile *layer_of(Caller c);

// Why a case cannot be made under the caller's kernel, or nullptr. Under a
// layer without /proc: an input under /proc; under one that refuses
// F_SETPIPE_SZ: a pipe of another size than the default.
const char *cannot_run(const Spec &spec, Caller c);

// Fork, build the fixture fresh, make the call(s), observe, report over a
// pipe. A crash, a hang (timeout_ms) or a broken report becomes
// Observation::harness_error instead of taking the test binary down.
// The deadline only catches a hung call (then a harness error says so): far
// beyond the slowest case (2 GiB through the kernel) on a loaded machine.
Observation run_in_child(const Spec &spec, Caller caller, int timeout_ms = 120000);

} // namespace sfdiff
