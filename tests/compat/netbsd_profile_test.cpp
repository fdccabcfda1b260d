// SPDX-License-Identifier: BSD-2-Clause
//
// The netbsd (compat) kernel profile's rules (toolchain/kernel_profile.c)
// against NetBSD's compat_linux (sys/compat/linux/common/linux_signal.c).
// Each case runs in a forked child that installs the profile; the shim is
// not involved.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "kernel_profile.h"
#include "profile_harness.h"

using namespace sfprofile;

namespace {

sfk_rules netbsd_rules()
{
    sfk_rules rules{};
    rules.sendfile_errno = ENOSYS;
    rules.compat = 1;
    return rules;
}

} // namespace

// linux_sys_rt_sigprocmask: "if (SCARG(uap, sigsetsize) != sizeof(linux_sigset_t))
// return EINVAL;" then "switch (how) { ... default: return EINVAL; }" before
// its copyin of the set. Linux copies the set in first (kernel/signal.c).
TEST_CASE("rt_sigprocmask with an invalid how gives EINVAL without reading the set (Linux: EFAULT)", "[signals]")
{
    auto body = [](Report &rep, int) {
        const void *unmapped = reinterpret_cast<const void *>(8);
        sigset_t set;
        sigemptyset(&set);
        rep["bad_how_unmapped"] = raw_sigprocmask(0x7fff, unmapped, nullptr);
        rep["bad_how_readable"] = raw_sigprocmask(0x7fff, &set, nullptr);
        rep["negative_how"] = raw_sigprocmask(-1, unmapped, nullptr);
        rep["block_unmapped"] = raw_sigprocmask(SIG_BLOCK, unmapped, nullptr);
        rep["block_readable"] = raw_sigprocmask(SIG_BLOCK, &set, nullptr);
        sigset_t old;
        rep["query"] = raw_sigprocmask(SIG_SETMASK, nullptr, &old);
    };
    Report r = in_profile(netbsd_rules(), body);
    CHECK(r["bad_how_unmapped"] == -EINVAL);
    CHECK(r["bad_how_readable"] == -EINVAL);
    CHECK(r["negative_how"] == -EINVAL);
    CHECK(r["block_unmapped"] == -EFAULT); // a valid how: the copyin's EFAULT
    CHECK(r["block_readable"] == 0);
    CHECK(r["query"] == 0);

    // The bare kernel (no rules but a sendfile errno): Linux's EFAULT.
    Report k = in_profile(linux_itself(), body);
    CHECK(k["bad_how_unmapped"] == -EFAULT);
    CHECK(k["bad_how_readable"] == -EINVAL);
    CHECK(k["block_unmapped"] == -EFAULT);
}

// linux_sysctl.c: linux_release "3.11.6", linux_version "#1 SMP PREEMPT Thu
// Oct 24 16:23:02 UTC 2013"; linux_misc.c:linux_sys_uname copies them with
// linux_sysname "Linux" and the host name. Played with compat_uname only;
// nothing in it names NetBSD (the shim tells this layer by sendfile's
// ENOSYS).
TEST_CASE("with compat_uname uname says NetBSD's default release and version", "[uname]")
{
    struct utsname here = host_uname();
    auto body = [](Report &rep, int) {
        struct utsname u;
        report_uname(rep, &u, "sysname");
        rep["release"] = std::strcmp(u.release, "3.11.6") == 0;
        rep["version"] = std::strcmp(u.version, "#1 SMP PREEMPT Thu Oct 24 16:23:02 UTC 2013") == 0;
        errno = 0;
        rep["sendfile"] = syscall(SYS_sendfile, -1, -1, nullptr, 1) < 0 ? -errno : 0;
        sfshim::platform::forget_learned_state();
        rep["layer_named"] = sfshim::platform::kernel_layer_name() != nullptr;
    };
    sfk_rules rules = netbsd_rules();
    rules.compat_uname = 1;
    Report r = in_profile(rules, body);
    check_uname_linux(r, "sysname", here);
    CHECK(r["release"] == 1);
    CHECK(r["version"] == 1);
    CHECK(r["sendfile"] == -ENOSYS);
    CHECK(r["layer_named"] == 0);
    // Without it: Linux's own.
    Report k = in_profile(netbsd_rules(), body);
    CHECK(k["version"] == 0);
    CHECK(k["release"] == (std::strcmp(here.release, "3.11.6") == 0));
}

TEST_CASE("compat_uname without compat is refused", "[args]")
{
    Options opt;
    opt.install = false;
    Report r = in_profile(netbsd_rules(), [](Report &rep, int) {
        sfk_rules rules{};
        rules.compat_uname = 1;
        rep["alone"] = sfk_install(&rules);
    }, opt);
    CHECK(r["alone"] == -EINVAL);
}

TEST_CASE("with compat_uname the supervisor is no child of the program and leaves when it is gone", "[supervisor]")
{
    sfk_rules rules = netbsd_rules();
    rules.compat_uname = 1;
    check_supervisor_leaves(rules);
}
