#include "via.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <sfshim/sfshim.h>

#include "kernel_profile.h"
#include "platform/platform.h" // forget_learned_state
#include "policy.h"            // sfshim::dispatch_off32: the 32-bit call behind i386 `sendfile`

namespace sftest {

const char *name(Via v)
{
    switch (v) {
    case Via::Kernel: return "kernel sendfile";
    case Via::Emulate: return "shim EMULATE";
    case Via::Mmap: return "shim MMAP";
    case Via::Rw: return "shim RW";
    case Via::Auto: return "shim AUTO (kernel sendfile works)";
    case Via::AutoEnosys: return "shim AUTO (kernel sendfile gives ENOSYS)";
    case Via::AutoEperm: return "shim AUTO (kernel sendfile gives EPERM)";
    case Via::AutoFreebsd: return "shim AUTO (kernel sendfile gives EINVAL for count 0)";
    case Via::AutoCompat: return "shim AUTO (NetBSD compat_linux profile, no /proc)";
    case Via::AutoLinuxulator: return "shim AUTO (FreeBSD linuxulator profile)";
    case Via::AutoIllumosLx: return "shim AUTO (illumos LX profile)";
    }
    return "?";
}

const LayerProfile *layer_of(Via v)
{
    switch (v) {
    case Via::AutoCompat: return &profile(Layer::NetbsdCompat);
    case Via::AutoLinuxulator: return &profile(Layer::FreebsdLinuxulator);
    case Via::AutoIllumosLx: return &profile(Layer::IllumosLx);
    default: return nullptr;
    }
}

const char *unavailable(Via v)
{
    const LayerProfile *layer = layer_of(v);
    return layer ? layer_unavailable(layer->layer) : nullptr;
}

std::vector<Via> runnable(std::vector<Via> vias)
{
    std::vector<Via> out;
    for (Via v : vias) {
        if (const char *why = unavailable(v))
            note_left_out(name(v), why);
        else
            out.push_back(v);
    }
    return out;
}

const std::vector<Via> &shim_vias()
{
    static const std::vector<Via> v =
        runnable({Via::Emulate, Via::Mmap, Via::Rw, Via::Auto, Via::AutoEnosys, Via::AutoEperm, Via::AutoFreebsd,
                  Via::AutoCompat, Via::AutoLinuxulator, Via::AutoIllumosLx});
    return v;
}

const std::vector<Via> &engine_vias()
{
    static const std::vector<Via> v = {Via::Mmap, Via::Rw, Via::AutoEnosys};
    return v;
}

static sfshim_mode mode_of(Via v)
{
    switch (v) {
    case Via::Emulate: return SFSHIM_MODE_EMULATE;
    case Via::Mmap: return SFSHIM_MODE_MMAP;
    case Via::Rw: return SFSHIM_MODE_RW;
    default: return SFSHIM_MODE_AUTO;
    }
}

// On 32-bit ABIs SYS_sendfile takes a 32-bit offset; the 64-bit one is
// SYS_sendfile64.
ssize_t send_via(Via v, int out_fd, int in_fd, int64_t *offset, size_t count)
{
    if (v == Via::Kernel) {
#ifdef SYS_sendfile64
        return syscall(SYS_sendfile64, out_fd, in_fd, offset, count);
#else
        return syscall(SYS_sendfile, out_fd, in_fd, offset, count);
#endif
    }
    return sfshim_sendfile_mode(mode_of(v), out_fd, in_fd, offset, count);
}

ssize_t send_via32(Via v, int out_fd, int in_fd, int32_t *offset, size_t count)
{
#if INTPTR_MAX == INT32_MAX
    if (v == Via::Kernel)
        return syscall(SYS_sendfile, out_fd, in_fd, offset, count);
    return sfshim::dispatch_off32(mode_of(v), out_fd, in_fd, offset, count);
#else
    (void)v, (void)out_fd, (void)in_fd, (void)offset, (void)count;
    errno = ENOSYS;
    return -1;
#endif
}

bool install_filter(Via v, std::string *err)
{
    std::string why;
    if (const LayerProfile *layer = layer_of(v)) {
        if (enter_layer(layer->layer, why))
            return true;
        if (err)
            *err = why;
        return false;
    }
    sfk_rules rules{};
    switch (v) {
    case Via::AutoEnosys: rules.sendfile_errno = ENOSYS; break;
    case Via::AutoEperm: rules.sendfile_errno = EPERM; break;
    case Via::AutoFreebsd:
        rules.sendfile_errno = EINVAL;
        rules.sendfile_count_zero = 1;
        break;
    default: return true;
    }
    if (int rc = sfk_install(&rules)) {
        if (err)
            *err = std::string("seccomp: ") + std::strerror(-rc);
        return false;
    }
    sfshim::platform::forget_learned_state();
    return true;
}

} // namespace sftest
