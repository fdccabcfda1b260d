// SPDX-License-Identifier: BSD-2-Clause
//
// The illumos-lx kernel profile (toolchain/kernel_profile.c) against the
// text of illumos's LX brand: usr/src/lib/brand/lx/lx_brand/common/
// sendfile.c (lx_sendfile64, 2015), usr/src/uts/common/syscall/sendfile.c
// (sendfilev, sendvec64, sendvec_chunk64), usr/src/uts/common/fs/sockfs/
// socksyscalls.c (sosendfile64), sys/sendfile.h (ksendfilevec64),
// sys/lx_brand.h (LX_UNAME_VERSION). Each case runs in a forked child that
// installs the profile and calls the raw sendfile syscall, or the shim's
// entry point where it says so.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <string>

#include "kernel_profile.h"
#include "profile_harness.h"

using namespace sfprofile;

namespace {

sfk_rules lx_rules()
{
    sfk_rules rules{};
    rules.illumos = 1;
    return rules;
}

Report in_lx(const std::function<void(Report &, int proc_dir)> &body, Options opt = Options())
{
    return in_profile(lx_rules(), body, opt);
}

Report in_lx(const sfk_rules &rules, const std::function<void(Report &, int proc_dir)> &body)
{
    return in_profile(rules, body);
}

// The bytes of a file from 0 to its end.
std::string contents(int fd)
{
    std::string out;
    char buf[1 << 16];
    for (off_t at = 0;;) {
        ssize_t n = pread(fd, buf, sizeof buf, at);
        if (n <= 0)
            return out;
        out.append(buf, static_cast<size_t>(n));
        at += n;
    }
}

} // namespace

// lx_sendfile64: "if (sz > 0 && uucopy(offp, &off, sizeof (off)) != 0)":
// the offset is not read for a count of 0; sendfilev still looks at the
// descriptors (out first: getf, FWRITE, its type; then the input),
// sosendfile64 "if (sfv_len == 0) goto out;".
TEST_CASE("count 0 gives 0 without reading the offset, the descriptors are still checked", "[args]")
{
    Report r = in_lx([](Report &rep, int) {
        int fd = make_file(1000);
        int sv[2], pp[2];
        unix_pair(SOCK_STREAM, sv);
        pipe2(pp, O_CLOEXEC);
        long off = 0;
        rep["count0"] = sf(sv[0], fd, &off, 0);
        rep["count0_unmapped_offset"] = sf(sv[0], fd, reinterpret_cast<void *>(8), 0);
        rep["count0_null_offset"] = sf(sv[0], fd, nullptr, 0);
        rep["count0_pipe_out"] = sf(pp[1], fd, &off, 0);
        rep["count0_bad_out"] = sf(999, fd, &off, 0);
        rep["count0_bad_in"] = sf(sv[0], 999, &off, 0);
        rep["count0_pipe_in_null"] = sf(sv[0], pp[0], nullptr, 0); // lseek first: ESPIPE
        rep["nothing_sent"] = drain_now(sv[1]).size();
    });
    CHECK(r["count0"] == 0);
    CHECK(r["count0_unmapped_offset"] == 0);
    CHECK(r["count0_null_offset"] == 0);
    CHECK(r["count0_pipe_out"] == -EINVAL);
    CHECK(r["count0_bad_out"] == -EBADF);
    CHECK(r["count0_bad_in"] == -EBADF);
    CHECK(r["count0_pipe_in_null"] == -ESPIPE);
    CHECK(r["nothing_sent"] == 0);
}

TEST_CASE("a negative offset gives EINVAL, an unreadable one EFAULT, before any descriptor is looked at", "[args]")
{
    Report r = in_lx([](Report &rep, int) {
        int fd = make_file(1000);
        int sv[2];
        unix_pair(SOCK_STREAM, sv);
        long off = -1;
        rep["minus1"] = sf(sv[0], fd, &off, 10);
        off = LONG_MIN;
        rep["min"] = sf(sv[0], fd, &off, 10);
        rep["unmapped_bad_fds"] = sf(999, 998, reinterpret_cast<void *>(8), 10);
    });
    CHECK(r["minus1"] == -EINVAL);
    CHECK(r["min"] == -EINVAL);
    CHECK(r["unmapped_bad_fds"] == -EFAULT);
}

// sendfilev: "switch (vp->v_type) { case VSOCK: ... case VREG: break;
// default: error = EINVAL;", FWRITE else EBADF; sendvec64/sendvec_chunk64
// on the input: getf (EBADF), FREAD (EBADF), "if (readvp->v_type != VREG)
// ... return (EINVAL);", and the same file: "if (vn_compare(vp, readvp))
// ... return (EINVAL);".
TEST_CASE("out: a socket or a regular file (EINVAL for pipes and devices), in: a regular file", "[args]")
{
    Report r = in_lx([](Report &rep, int) {
        int fd = make_file(1000);
        long off = 0;
        int pp[2], sv[2], other[2];
        pipe2(pp, O_CLOEXEC);
        unix_pair(SOCK_STREAM, sv);
        unix_pair(SOCK_STREAM, other);
        rep["pipe_out"] = sf(pp[1], fd, &off, 10);
        int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        rep["dev_null_out"] = sf(null_fd, fd, &off, 10);
        std::string ro_path = std::string(SFSHIM_COMPAT_SCRATCH_DIR) + "/illumos-profile-rdonly";
        int rdonly = open(ro_path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
        unlink(ro_path.c_str());
        rep["read_only_out"] = sf(rdonly, fd, &off, 10);
        rep["no_out"] = sf(999, fd, &off, 10);
        rep["pipe_in_offset"] = sf(sv[0], pp[0], &off, 10);
        rep["socket_in_offset"] = sf(sv[0], other[0], &off, 10);
        int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        rep["directory_in"] = sf(sv[0], dir, &off, 10);
        int zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
        rep["dev_zero_in"] = sf(sv[0], zero, &off, 10);
        std::string path = std::string(SFSHIM_COMPAT_SCRATCH_DIR) + "/illumos-profile-wronly";
        int wronly = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        sftest::write_all(wronly, "0123456789");
        unlink(path.c_str());
        rep["write_only_in"] = sf(sv[0], wronly, &off, 10);
        rep["no_in"] = sf(sv[0], 999, &off, 10);
        int same = make_file(1000);
        rep["same_file"] = sf(same, same, &off, 10);
        rep["pipe_in_into_file"] = sf(make_file(0), pp[0], &off, 10);
        rep["nothing_sent"] = drain_now(sv[1]).size();
    });
    CHECK(r["pipe_out"] == -EINVAL);
    CHECK(r["dev_null_out"] == -EINVAL);
    CHECK(r["read_only_out"] == -EBADF);
    CHECK(r["no_out"] == -EBADF);
    CHECK(r["pipe_in_offset"] == -EINVAL);
    CHECK(r["socket_in_offset"] == -EINVAL);
    CHECK(r["directory_in"] == -EINVAL);
    CHECK(r["dev_zero_in"] == -EINVAL);
    CHECK(r["write_only_in"] == -EBADF);
    CHECK(r["no_in"] == -EBADF);
    CHECK(r["same_file"] == -EINVAL);
    CHECK(r["pipe_in_into_file"] == -EINVAL);
    CHECK(r["nothing_sent"] == 0);
}

TEST_CASE("into a socket the bytes arrive, the count is returned and *offset advances, NULL: the position", "[data]")
{
    Report r = in_lx([](Report &rep, int) { send_to_unix_socket(rep); });
    check_sent_to_unix_socket(r);
    Report t = in_lx([](Report &rep, int) {
        const size_t size = 3 << 20;
        int fd = make_file(size);
        int sv[2];
        rep["tcp"] = tcp_pair(sv);
        lseek(fd, 5000, SEEK_SET);
        send_and_read(rep, sv[0], sv[1], fd, nullptr, size, 5000);
    });
    REQUIRE(t["tcp"] == 1);
    CHECK(t["r"] == (3 << 20) - 5000);
    CHECK(t["position"] == 3 << 20);
    CHECK(t["received"] == (3 << 20) - 5000);
    CHECK(t["bytes_match"] == 1);
}

// sosendfile64: "if (va_size == 0 || sfv_off >= va_size)" nothing, and the
// length clipped to the file's end ("Read as much as possible").
TEST_CASE("into a socket the input's end gives a short count, and 0 at or past it", "[data]")
{
    Report r = in_lx([](Report &rep, int) {
        int fd = make_file(1000);
        int sv[2];
        unix_pair(SOCK_STREAM, sv);
        long off = 900;
        rep["short"] = sf(sv[0], fd, &off, 500);
        rep["short_offset"] = off;
        rep["at_end"] = sf(sv[0], fd, &off, 500);
        off = 5000;
        rep["past_end"] = sf(sv[0], fd, &off, 500);
        rep["past_end_offset"] = off;
        std::string got = drain_now(sv[1]);
        rep["received"] = got.size();
        rep["bytes_match"] = is_pattern(got, 0, 100, 900);
    });
    CHECK(r["short"] == 100);
    CHECK(r["short_offset"] == 1000);
    CHECK(r["at_end"] == 0);
    CHECK(r["past_end"] == 0);
    CHECK(r["past_end_offset"] == 5000);
    CHECK(r["received"] == 100);
    CHECK(r["bytes_match"] == 1);
}

// ksendfilevec64 (sys/sendfile.h) has a size32_t sfv_len, packed at the
// place of the low half of the library's size_t; "sfv_len =
// (ssize32_t)sfv->sfv_len; ... if (sfv_len < 0) { error = EINVAL;".
TEST_CASE("the count is taken modulo 2^32, and one whose low 32 bits are 2^31 or more gives EINVAL", "[args]")
{
    if (sizeof(size_t) < 8) {
        WARN("a 32-bit size_t: not tested");
        return;
    }
    Report r = in_lx([](Report &rep, int) {
        int fd = make_file(100000);
        int sv[2];
        unix_pair(SOCK_STREAM, sv);
        long off = 0;
        rep["two_32_plus_100"] = sf(sv[0], fd, &off, (size_t{1} << 32) + 100);
        rep["offset"] = off;
        rep["two_32"] = sf(sv[0], fd, &off, size_t{1} << 32);
        rep["two_31"] = sf(sv[0], fd, &off, size_t{1} << 31);
        rep["size_max"] = sf(sv[0], fd, &off, SIZE_MAX);
        rep["received"] = drain_now(sv[1]).size();
    });
    CHECK(r["two_32_plus_100"] == 100);
    CHECK(r["offset"] == 100);
    CHECK(r["two_32"] == 0);
    CHECK(r["two_31"] == -EINVAL);
    CHECK(r["size_max"] == -EINVAL);
    CHECK(r["received"] == 100);
}

// sendvec_chunk64 into a regular file: block by block at the output's
// f_offset ("auio.uio_loffset = *fileoff;"), "if (cnt == 0) { ... return
// (EINVAL);" at the input's end, and sendvec64's "if (vp->v_type == VREG)
// fp->f_offset += count;" whatever the error; the library then drops the
// count and leaves *offp alone.
TEST_CASE("into a regular file: written at its position, the input's end gives EINVAL after the bytes, the "
          "output's position advanced",
          "[file]")
{
    auto body = [](Report &rep, int) {
        int in = make_file(10000);
        int out = make_file(0);
        lseek(out, 50, SEEK_SET);
        long off = 1000;
        rep["within"] = sf(out, in, &off, 3000);
        rep["within_offset"] = off;
        rep["within_out_position"] = lseek(out, 0, SEEK_CUR);
        off = 9000;
        rep["past_end"] = sf(out, in, &off, 3000);
        rep["past_end_offset"] = off;
        rep["past_end_out_position"] = lseek(out, 0, SEEK_CUR);
        off = 10000;
        rep["at_end"] = sf(out, in, &off, 10);
        rep["at_end_out_position"] = lseek(out, 0, SEEK_CUR);
        std::string got = contents(out);
        rep["out_size"] = got.size();
        rep["hole_then_first"] = got.compare(0, 50, std::string(50, '\0')) == 0 && is_pattern(got, 50, 3000, 1000);
        rep["then_tail"] = is_pattern(got, 3050, 1000, 9000);
        // A NULL offset: the input's position stays where it was on error.
        lseek(in, 9500, SEEK_SET);
        rep["null_past_end"] = sf(out, in, nullptr, 1000);
        rep["null_in_position"] = lseek(in, 0, SEEK_CUR);
    };
    Report r = in_lx(body);
    CHECK(r["within"] == 3000);
    CHECK(r["within_offset"] == 4000);
    CHECK(r["within_out_position"] == 3050);
    CHECK(r["past_end"] == -EINVAL);
    CHECK(r["past_end_offset"] == 9000);
    CHECK(r["past_end_out_position"] == 4050);
    CHECK(r["at_end"] == -EINVAL);
    CHECK(r["at_end_out_position"] == 4050);
    CHECK(r["out_size"] == 4050);
    CHECK(r["hole_then_first"] == 1);
    CHECK(r["then_tail"] == 1);
    CHECK(r["null_past_end"] == -EINVAL);
    CHECK(r["null_in_position"] == 9500);

    // The 2020 fix (illumos-joyent #326): the bytes written, 0 at the end.
    sfk_rules fixed = lx_rules();
    fixed.illumos_eof_zero = 1;
    Report f = in_lx(fixed, body);
    CHECK(f["within"] == 3000);
    CHECK(f["past_end"] == 1000);
    CHECK(f["past_end_offset"] == 10000);
    CHECK(f["past_end_out_position"] == 4050);
    CHECK(f["at_end"] == 0);
    CHECK(f["null_past_end"] == 500);
    CHECK(f["null_in_position"] == 10000);
}

// lx_sendfile64: "off += xferred; error = uucopy(&off, offp, sizeof
// (off));" then "return (error ? -error : ...)": uucopy's -1 makes the
// call return 1, the bytes sent.
TEST_CASE("a read-only offset pointer after the bytes went out makes the call return 1", "[args]")
{
    Report r = in_lx([](Report &rep, int) {
        int fd = make_file(1000);
        int sv[2];
        unix_pair(SOCK_STREAM, sv);
        void *page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        long *off = static_cast<long *>(page);
        *off = 100;
        mprotect(page, 4096, PROT_READ);
        rep["r"] = sf(sv[0], fd, off, 10);
        rep["offset"] = *off;
        rep["received"] = drain_now(sv[1]).size();
    });
    CHECK(r["r"] == 1);
    CHECK(r["offset"] == 100);
    CHECK(r["received"] == 10);
}

// so_sendmblk: "if (so->so_state & SS_CANTSENDMORE) { error = EPIPE;" and
// nothing posted: no SIGPIPE.
TEST_CASE("a closed peer gives EPIPE, and no SIGPIPE", "[peers]")
{
    Report r = in_lx([](Report &rep, int) {
        handle(SIGPIPE, 0);
        int fd = make_file(100000);
        int sv[2];
        unix_pair(SOCK_STREAM, sv);
        close(sv[1]);
        long off = 0;
        rep["closed"] = sf(sv[0], fd, &off, 1000);
        rep["offset"] = off;
        rep["sigpipes"] = g_signals.load();
    });
    CHECK(r["closed"] == -EPIPE);
    CHECK(r["offset"] == 0);
    CHECK(r["sigpipes"] == 0);
}

// The library's "if (error == 0 && xferred > 0)": a send that stops with
// EAGAIN after N bytes (sosendfile64 wrote N to *count32, sendvec64 copied
// it out) returns -1 EAGAIN, the offset unmoved.
TEST_CASE("a non-blocking socket that fills after N bytes gives -1 EAGAIN with the N bytes sent and the offset "
          "unmoved",
          "[eagain]")
{
    Report r = in_lx([](Report &rep, int) {
        const size_t size = 1 << 20;
        int fd = make_file(size);
        int sv[2];
        small_buffer_pair(sv, true);
        long off = 0;
        send_into_full(rep, "", sv, fd, &off, size);
        rep["offset"] = off;
    });
    check_eagain_with_bytes_sent(r);
}

TEST_CASE("negative control: an nginx-style retry after that EAGAIN sends the moved bytes twice", "[eagain]")
{
    Report r = in_lx([](Report &rep, int) { nginx_retry(rep, sf); });
    check_retry_sent_twice(r);
}

// The shim learns the layer from uname's "BrandZ" (platform/linux.cpp,
// native_sendfile_keeps_counts) and emulates every call.
TEST_CASE("through the shim in auto the same nginx-style retry sends every byte once", "[eagain][shim]")
{
    Report r = in_lx([](Report &rep, int) {
        nginx_retry_through_shim(rep);
        sfshim::platform::forget_learned_state();
        const char *layer = sfshim::platform::kernel_layer_name();
        rep["shim_names_lx"] = layer && std::strcmp(layer, "illumos LX") == 0;
    });
    CHECK(r["shim_names_lx"] == 1);
    check_retry_first_partial(r);
    check_retry_sent_once(r);
}

// The limit of the shim's probe: LX answers count 0 with 0 as Linux does,
// so where uname says nothing (real_uname) the shim cannot tell the layer
// and passes its calls to it; the retry then sends bytes twice. This case
// documents that hole (docs/platforms.md, "Detecting the layer").
TEST_CASE("with a silent uname the shim cannot tell LX (count 0 gives 0): its calls reach the layer", "[shim]")
{
    sfk_rules silent = lx_rules();
    silent.real_uname = 1;
    Report r = in_lx(silent, [](Report &rep, int) { nginx_retry_through_shim(rep); });
    CHECK(r["native_calls"] > 0);
    CHECK(r["first"] == -EAGAIN);
    CHECK(r["duplicated"] > 0);
}

// A signal while socket_sendmblk waits for room ends the wait with EINTR;
// the kernel keeps the count, the library drops it.
TEST_CASE("a signal while a blocking call waits for room gives -1 EINTR with the bytes sent", "[signals]")
{
    Report r = in_lx([](Report &rep, int proc_dir) { signal_while_waiting(rep, proc_dir, 0); });
    check_eintr_with_bytes_sent(r);
}

// os/lx_syscall.c: NOSYS_NULL for process_vm_readv/writev (ENOTSUP, Linux's
// ENOSYS through lx_errno.c); signal.c:lx_sigprocmask_common translates
// how first ("default: return (-EINVAL)"); syscall/lx_fcntl.c:
// lx_fcntl_pipesz answers the pipe sizes on FIFOs (EBADF for others), the
// 2015 library's fcntl refused them (ENOSYS).
TEST_CASE("the calls LX lacks fail as there: process_vm_* ENOSYS, rt_sigprocmask's bad how EINVAL, pipe sizes",
          "[refusals]")
{
    auto body = [](Report &rep, int) {
        auto res = [](long v) { return v < 0 ? -static_cast<long long>(errno) : v; };
        char a[8] = {0}, b[8] = {0};
        iovec local{a, sizeof a}, remote{b, sizeof b};
        rep["process_vm_readv"] = res(syscall(SYS_process_vm_readv, getpid(), &local, 1, &remote, 1, 0));
        rep["process_vm_writev"] = res(syscall(SYS_process_vm_writev, getpid(), &local, 1, &remote, 1, 0));
        rep["sigprocmask_bad_how"] = res(syscall(SYS_rt_sigprocmask, 0x7fff, reinterpret_cast<void *>(8), nullptr, 8));
        int p[2];
        pipe2(p, O_CLOEXEC);
        rep["getpipe_sz"] = res(fcntl(p[1], F_GETPIPE_SZ));
        rep["getpipe_sz_file"] = res(fcntl(make_file(10), F_GETPIPE_SZ));
        rep["copy_file_range"] = res(syscall(SYS_copy_file_range, make_file(100), nullptr, make_file(0), nullptr, 10, 0));
    };
    Report r = in_lx(body);
    CHECK(r["process_vm_readv"] == -ENOSYS);
    CHECK(r["process_vm_writev"] == -ENOSYS);
    CHECK(r["sigprocmask_bad_how"] == -EINVAL);
    CHECK(r["getpipe_sz"] > 0);
    CHECK(r["getpipe_sz_file"] == -EBADF);
    sfk_rules old = lx_rules();
    old.illumos_2015 = 1;
    Report o = in_lx(old, body);
    CHECK(o["getpipe_sz"] == -ENOSYS);
    // Linux: EFAULT for the unreadable set.
    Report k = in_profile(linux_itself(), body);
    CHECK(k["sigprocmask_bad_how"] == -EFAULT);
    CHECK(k["process_vm_readv"] == 8);
}

// sys/lx_brand.h: LX_UNAME_VERSION "BrandZ virtual linux"; lx_uname keeps
// sysname "Linux".
TEST_CASE("uname's version is \"BrandZ virtual linux\", and Linux's with real_uname", "[uname]")
{
    struct utsname here = host_uname();
    auto body = [](Report &rep, int) {
        struct utsname u;
        report_uname(rep, &u, "linux");
        rep["brandz"] = std::strcmp(u.version, "BrandZ virtual linux") == 0;
    };
    Report r = in_lx(body);
    check_uname_linux(r, "linux", here);
    CHECK(r["brandz"] == 1);
    sfk_rules real = lx_rules();
    real.real_uname = 1;
    Report q = in_lx(real, body);
    CHECK(q["brandz"] == 0);
}

TEST_CASE("the profile refuses to be mixed with another's rules", "[args]")
{
    Options opt;
    opt.install = false;
    Report r = in_lx(
        [](Report &rep, int) {
            sfk_rules rules{};
            rules.illumos = 1;
            rules.freebsd = 1;
            rep["with_freebsd"] = sfk_install(&rules);
            rules.freebsd = 0;
            rules.compat = 1;
            rep["with_compat"] = sfk_install(&rules);
        },
        opt);
    CHECK(r["with_freebsd"] == -EINVAL);
    CHECK(r["with_compat"] == -EINVAL);
}

TEST_CASE("the supervisor is no child of the program, keeps none of its descriptors and leaves when it is gone",
          "[supervisor]")
{
    check_supervisor_leaves(lx_rules());
}

#if defined(__x86_64__)
// An i386 program: sendfile64 (239) is the 32-bit library's lx_sendfile64,
// sendfile (187) its lx_sendfile, the same steps with a 32-bit off_t.
TEST_CASE("an i386 program: sendfile64's 64-bit offset and sendfile's 32-bit one", "[i386]")
{
    if (!i386_abi_runs()) {
        WARN("this kernel runs no i386 programs: not tested");
        return;
    }
    Report r = in_lx([](Report &rep, int) {
        char *low = static_cast<char *>(
            mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0));
        int32_t *off32 = reinterpret_cast<int32_t *>(low);
        int64_t *off64 = reinterpret_cast<int64_t *>(low + 8);
        int sv[2];
        unix_pair(SOCK_STREAM, sv);
        Drain drain(sv[1]);
        int fd = make_file(10000);
        *off32 = 100;
        rep["sendfile32"] = int80(187, sv[0], fd, reinterpret_cast<long>(off32), 1000);
        rep["sendfile32_offset"] = *off32;
        *off64 = 2000;
        rep["sendfile64"] = int80(239, sv[0], fd, reinterpret_cast<long>(off64), 500);
        rep["sendfile64_offset"] = *off64;
        rep["count0_unmapped"] = int80(239, sv[0], fd, 8, 0);
        shutdown(sv[0], SHUT_WR);
        const std::string &got = drain.finish();
        rep["received"] = got.size();
        rep["bytes_match"] = is_pattern(got, 0, 1000, 100) && is_pattern(got, 1000, 500, 2000);
    });
    CHECK(r["sendfile32"] == 1000);
    CHECK(r["sendfile32_offset"] == 1100);
    CHECK(r["sendfile64"] == 500);
    CHECK(r["sendfile64_offset"] == 2500);
    CHECK(r["count0_unmapped"] == 0);
    CHECK(r["received"] == 1500);
    CHECK(r["bytes_match"] == 1);
}
#endif
