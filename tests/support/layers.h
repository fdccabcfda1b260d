// The compat-layer kernels the suites run the shim in, played on Linux by
// toolchain/kernel_profile.h, as one table. A layer is a line of the table
// here and a value of Via (via.h), mapped to its line in one place
// (layer_of).
#pragma once

#include <cerrno>
#include <fcntl.h>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#include "io.h"
#include "kernel_profile.h"
#include "platform/platform.h" // forget_learned_state

namespace sftest {

enum class Layer {
    NetbsdCompat,       // NetBSD's amd64 compat_linux, with no /proc
    FreebsdLinuxulator, // FreeBSD's linuxulator, with its linprocfs
    IllumosLx,          // illumos' LX brand, with its lx_proc
};

struct LayerProfile {
    Layer layer;
    const char *name;        // in reasons: "the compat profile"
    sfk_rules rules;
    // The program sees an empty /proc (a private mount namespace: root
    // needed); the harness keeps the real one (proc_open).
    bool hide_proc;
    // F_GETPIPE_SZ and F_SETPIPE_SZ are refused: a pipe of another size than
    // the default cannot exist there.
    bool pipe_sizes_refused;
    // sendfile is performed by a seccomp user-notification supervisor.
    bool supervised;
    // FIONREAD cannot see a pipe's queue from its write end (FreeBSD's
    // pipe_ioctl answers 0): the shim fills a blocking pipe in 512-byte
    // writes while poll says room, and a fill can end up to a page short of
    // Linux's (docs/differences.md, D9), so counts into pipes are not
    // compared with the kernel's; tests/faults/layers_test.cpp checks their
    // shape instead.
    bool pipe_queue_blind;
};

inline sfk_rules netbsd_rules()
{
    sfk_rules r{};
    r.sendfile_errno = ENOSYS;
    r.compat = 1;
    return r;
}

inline sfk_rules freebsd_rules()
{
    sfk_rules r{};
    r.freebsd = 1;
    return r;
}

inline sfk_rules illumos_rules()
{
    sfk_rules r{};
    r.illumos = 1;
    return r;
}

// NetBSD's runs without /proc (its procfs, mounted with -o linux, is
// optional), FreeBSD's with it: linprocfs is usual there, and the
// supervisor then interrupts a waiting sendfile as FreeBSD does, whatever
// SA_RESTART says. Together they cover both.
inline const LayerProfile &profile(Layer l)
{
    static const LayerProfile table[] = {
        // layer                  name                   rules            no /proc  no pipe sizes  supervised  pipe queue blind
        {Layer::NetbsdCompat,       "the compat profile",  netbsd_rules(),  true,     true,          false,      false},
        {Layer::FreebsdLinuxulator, "the freebsd profile", freebsd_rules(), false,    true,          true,       true},
        {Layer::IllumosLx,          "the illumos-lx profile", illumos_rules(), false, false,       true,       false},
    };
    return table[static_cast<int>(l)];
}

// Why this process cannot enter the layer at all, or nullptr. Memcheck has
// no wrapper for seccomp(2), the only call that loads a filter with a
// listener: the supervised layers cannot run under it.
inline const char *layer_unavailable(Layer l)
{
    if (profile(l).supervised && RUNNING_ON_VALGRIND)
        return "memcheck cannot load a seccomp filter with a listener (no wrapper for seccomp(2)), which the "
               "supervisor needs";
    return nullptr;
}

// Says once per process, on stderr, that a way of calling was left out of
// the runs here and why (the entry still runs every other).
inline void note_left_out(const char *who, const char *why)
{
    static std::set<std::string> said;
    if (said.insert(who).second)
        std::fprintf(stderr, "not run here: %s: %s\n", who, why);
}

// Enters the layer in this process, which must be a forked child (none of
// it can be undone) with no other thread yet (a filter binds the calling
// thread and the threads it starts): /proc covered if the layer has none,
// the filter (and the supervisor, for a supervised layer) loaded, and the
// shim's learned state forgotten, as in a process started there. false,
// with err set, on failure.
inline bool enter_layer(Layer l, std::string &err)
{
    const LayerProfile &p = profile(l);
    if (const char *why = layer_unavailable(l)) {
        err = why;
        return false;
    }
    if (p.hide_proc) {
        int real_proc = -1;
        if (int rc = sfk_hide_proc(&real_proc)) {
            err = std::string("cannot hide /proc (root needed): ") + std::strerror(-rc);
            return false;
        }
        set_real_proc(real_proc);
    } else {
        // The layer may answer the program's opens under /proc itself
        // (FreeBSD's: /proc/self/fd/N duplicates N): the harness observes
        // through a descriptor of the real /proc, by relative paths.
        int real_proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (real_proc < 0) {
            err = std::string("cannot open /proc: ") + std::strerror(errno);
            return false;
        }
        set_real_proc(real_proc);
    }
    if (int rc = sfk_install(&p.rules)) {
        err = std::string("seccomp: ") + std::strerror(-rc);
        return false;
    }
    sfshim::platform::forget_learned_state();
    return true;
}

} // namespace sftest
