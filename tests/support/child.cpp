#include "child.h"
#include "io.h"

#include <atomic>
#include <cerrno>
#include <thread>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sfshim/sfshim.h>

#include "kernel_profile.h"
#include "platform/platform.h" // forget_learned_state
#include "policy.h"            // sfshim::dispatch_off32: the 32-bit call behind i386 `sendfile`

#include "drain.h"

namespace sfdiff {

const char *name(Caller c)
{
    switch (c) {
    case Caller::Kernel: return "kernel sendfile";
    case Caller::Emulate: return "shim EMULATE";
    case Caller::Mmap: return "shim MMAP";
    case Caller::Rw: return "shim RW";
    case Caller::Auto: return "shim AUTO (kernel sendfile works)";
    case Caller::AutoEnosys: return "shim AUTO (kernel sendfile gives ENOSYS)";
    case Caller::AutoEperm: return "shim AUTO (kernel sendfile gives EPERM)";
    case Caller::AutoFreebsd: return "shim AUTO (kernel sendfile gives EINVAL for count 0)";
    case Caller::AutoCompat: return "shim AUTO (NetBSD compat_linux profile, no /proc)";
    case Caller::AutoLinuxulator: return "shim AUTO (FreeBSD linuxulator profile)";
    case Caller::AutoIllumosLx: return "shim AUTO (illumos LX profile)";
    }
    return "?";
}

const sftest::LayerProfile *layer_of(Caller c)
{
    switch (c) {
    case Caller::AutoCompat: return &sftest::profile(sftest::Layer::NetbsdCompat);
    case Caller::AutoLinuxulator: return &sftest::profile(sftest::Layer::FreebsdLinuxulator);
    case Caller::AutoIllumosLx: return &sftest::profile(sftest::Layer::IllumosLx);
    default: return nullptr;
    }
}

const char *cannot_run(const Spec &spec, Caller c)
{
    const sftest::LayerProfile *layer = layer_of(c);
    if (!layer)
        return nullptr;
    if (layer->hide_proc && spec.in == In::Path && spec.in_path.compare(0, 6, "/proc/") == 0)
        return "no /proc under this layer's profile";
    if (layer->pipe_sizes_refused && spec.pipe_size != 0)
        return "F_SETPIPE_SZ is refused under this layer's profile: no pipe of another size";
    if (layer->pipe_queue_blind && spec.out == Out::Pipe)
        return "FIONREAD cannot see a pipe's queue under this layer: fills may end up to a page short of "
               "Linux's (docs/differences.md, D9; their shape is checked by the fault suite's layer cases)";
    return nullptr;
}

namespace {

// The kernel a caller plays (kernel_profile.h). A layer's child builds its
// fixture first (the descriptors a program has), so that the harness may use
// /proc and F_GETPIPE_SZ for it, then enters the layer (layers.h): /proc
// covered in a mount namespace of its own where the layer has none, the
// harness keeping the real one for its observations, and the filter last.
// The shim forgets what the parent process taught it: this child starts in
// another kernel.
bool enter_kernel(Caller c, std::string &err)
{
    if (const sftest::LayerProfile *layer = layer_of(c))
        return sftest::enter_layer(layer->layer, err);
    sfk_rules rules{};
    switch (c) {
    case Caller::AutoEnosys: rules.sendfile_errno = ENOSYS; break;
    case Caller::AutoEperm: rules.sendfile_errno = EPERM; break;
    case Caller::AutoFreebsd:
        rules.sendfile_errno = EINVAL;
        rules.sendfile_count_zero = 1;
        break;
    default: return true;
    }
    if (int rc = sfk_install(&rules)) {
        err = std::string("seccomp: ") + std::strerror(-rc);
        return false;
    }
    sfshim::platform::forget_learned_state();
    return true;
}

#if INTPTR_MAX == INT32_MAX
sfshim_mode mode_of(Caller c)
{
    switch (c) {
    case Caller::Emulate: return SFSHIM_MODE_EMULATE;
    case Caller::Mmap: return SFSHIM_MODE_MMAP;
    case Caller::Rw: return SFSHIM_MODE_RW;
    default: return SFSHIM_MODE_AUTO;
    }
}

#endif

// Linux's 32-bit sendfile: the kernel's syscall (i386's 187, compat_off_t
// offset) or the shim's dispatch_off32, which interpose.cpp puts behind
// `sendfile` where off_t has 32 bits. Not in 64-bit processes.
ssize_t invoke32(Caller c, int out_fd, int in_fd, int32_t *offset, size_t count)
{
#if INTPTR_MAX == INT32_MAX
    if (c == Caller::Kernel)
        return syscall(SYS_sendfile, out_fd, in_fd, offset, count);
    return sfshim::dispatch_off32(mode_of(c), out_fd, in_fd, offset, count);
#else
    (void)c, (void)out_fd, (void)in_fd, (void)offset, (void)count;
    errno = ENOSYS;
    return -1;
#endif
}

// sendfile64: on 32-bit ABIs SYS_sendfile takes a 32-bit offset, and the
// 64-bit one is SYS_sendfile64.
ssize_t invoke(Caller c, int out_fd, int in_fd, int64_t *offset, size_t count)
{
    switch (c) {
    case Caller::Kernel:
#ifdef SYS_sendfile64
        return syscall(SYS_sendfile64, out_fd, in_fd, offset, count);
#else
        return syscall(SYS_sendfile, out_fd, in_fd, offset, count);
#endif
    case Caller::Emulate:
        return sfshim_sendfile_mode(SFSHIM_MODE_EMULATE, out_fd, in_fd, offset, count);
    case Caller::Mmap:
        return sfshim_sendfile_mode(SFSHIM_MODE_MMAP, out_fd, in_fd, offset, count);
    case Caller::Rw:
        return sfshim_sendfile_mode(SFSHIM_MODE_RW, out_fd, in_fd, offset, count);
    case Caller::Auto:
    case Caller::AutoEnosys:
    case Caller::AutoEperm:
    case Caller::AutoFreebsd:
    case Caller::AutoCompat:
    case Caller::AutoLinuxulator:
    case Caller::AutoIllumosLx:
        return sfshim_sendfile_mode(SFSHIM_MODE_AUTO, out_fd, in_fd, offset, count);
    }
    return -1;
}

// The output file's contents. A huge sparse file (positions near the file
// system's limit) is summarised as its size plus its last MiB.
std::string read_whole_file(int fd, std::string &err)
{
    int r = sftest::proc_open("self/fd/" + std::to_string(fd), O_RDONLY);
    struct stat st;
    if (r < 0 || fstat(r, &st) != 0) {
        err = "reopen output file: " + std::string(std::strerror(errno));
        if (r >= 0)
            close(r);
        return {};
    }
    std::string s;
    off_t from = 0;
    if (st.st_size > (off_t{256} << 20)) {
        from = st.st_size - (1 << 20);
        s = "[sparse file of " + std::to_string(st.st_size) + " bytes; its last MiB follows]";
    }
    std::string buf(1 << 20, '\0');
    for (;;) {
        ssize_t n = pread(r, &buf[0], buf.size(), from);
        if (n <= 0)
            break;
        s.append(buf.data(), static_cast<size_t>(n));
        from += n;
    }
    close(r);
    return s;
}

Observation observe_in_this_process(const Spec &spec, Caller caller)
{
    Observation o;
    if (spec.call32 && !kHaveSendfile32) {
        o.harness_error = "the 32-bit sendfile exists only in 32-bit processes";
        return o;
    }
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigaddset(&pipe_set, SIGXFSZ); // writes past the file-size limit raise it
    sigprocmask(SIG_BLOCK, &pipe_set, nullptr);

    bool layer = layer_of(caller) != nullptr;
    if (!layer && !enter_kernel(caller, o.harness_error))
        return o;
    Built b;
    build(spec, b);
    if (!b.error.empty()) {
        o.harness_error = "fixture: " + b.error;
        return o;
    }
    if (layer && !enter_kernel(caller, o.harness_error))
        return o;

    bool concurrent = false;
    DrainUntil until = DrainUntil::Empty;
    if (b.reader_is_stream_socket) {
        until = DrainUntil::Eof;
        concurrent = !spec.out_nonblock;
    } else if (b.reader_is_datagram) {
        concurrent = !spec.out_nonblock;
    }
    // A deadline only against a hang, inside the child's own (a clear
    // "reader timed out" in the observation, not a short count).
    Drainer drainer(b.reader_fd, b.reader_is_datagram, until, 100000);
    if (concurrent)
        drainer.start();

    // A reader that turns up late and empties the pipe in one read: tells
    // whether the call waited for room, and lets a waiting call finish. It
    // comes once the call waits (its thread sleeps in it) or has returned:
    // after a fixed pause, a call still running on a loaded machine would
    // count as waiting and the early read would change what it returns.
    std::atomic<bool> call_done{false};
    bool waited = false;
    std::string early;
    std::thread late;
    const long caller_tid = syscall(SYS_gettid);
    if (spec.late_reader && b.reader_fd >= 0 && !b.reader_is_stream_socket)
        late = std::thread([&] {
            while (!call_done.load() && !thread_waits(caller_tid))
                usleep(1000);
            waited = !call_done.load();
            std::string buf(1 << 20, '\0');
            ssize_t n = read(b.reader_fd, &buf[0], buf.size());
            if (n > 0)
                early.assign(buf.data(), static_cast<size_t>(n));
        });

    if (spec.partial_counts()) {
        uint64_t total = 0;
        for (int i = 0; i < 64; ++i) {
            errno = kErrnoSentinel;
            size_t left = static_cast<size_t>(spec.count - total);
            ssize_t r = spec.call32 ? invoke32(caller, b.out_fd, b.in_fd, b.offset32, left)
                                    : invoke(caller, b.out_fd, b.in_fd, b.offset, left);
            o.calls.push_back({r, errno});
            if (r <= 0)
                break;
            total += static_cast<uint64_t>(r);
            if (total >= spec.count)
                break;
        }
    } else {
        errno = kErrnoSentinel;
        size_t count = static_cast<size_t>(spec.count); // 32 bits on i386: the caller's own truncation
        ssize_t r = spec.call32 ? invoke32(caller, b.out_fd, b.in_fd, b.offset32, count)
                                : invoke(caller, b.out_fd, b.in_fd, b.offset, count);
        o.calls.push_back({r, errno});
    }

    call_done = true;
    if (late.joinable())
        late.join();
    o.waited_for_reader = waited;

    if (spec.offset_ptr == OffsetPtr::Given || spec.offset_ptr == OffsetPtr::ReadOnly) {
        o.offset_readable = true;
        o.offset_after = spec.call32 ? *b.offset32 : *b.offset;
        if (spec.call32)
            o.offset_guard = *b.offset_guard;
    }
    errno = 0;
    o.in_pos = lseek(b.in_fd, 0, SEEK_CUR);
    o.in_pos_err = o.in_pos < 0 ? errno : 0;
    errno = 0;
    o.out_pos = lseek(b.out_fd, 0, SEEK_CUR);
    o.out_pos_err = o.out_pos < 0 ? errno : 0;

    sigset_t pending;
    sigpending(&pending);
    o.sigpipe_pending = sigismember(&pending, SIGPIPE) == 1;
    o.sigxfsz_pending = sigismember(&pending, SIGXFSZ) == 1;

    if (b.reader_is_stream_socket)
        shutdown(b.out_fd, SHUT_WR);
    Drained d = drainer.finish();
    o.bytes = early + d.bytes;
    o.dgrams = std::move(d.dgrams);
    o.drain_timed_out = d.timed_out;
    if (spec.out == Out::File && b.out_fd >= 0)
        o.bytes = read_whole_file(b.out_fd, o.harness_error);
    return o;
}


} // namespace

Observation run_in_child(const Spec &spec, Caller caller, int timeout_ms)
{
    Observation o;
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        o.harness_error = "pipe2 for the report failed";
        return o;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        o.harness_error = "fork failed";
        return o;
    }
    if (pid == 0) {
        close(p[0]);
        Observation mine = observe_in_this_process(spec, caller);
        _exit(sftest::write_all(p[1], mine.serialize()) ? 0 : 3);
    }
    close(p[1]);

    std::string report;
    sftest::ChildEnd end = sftest::collect_child(pid, p[0], timeout_ms, &report);
    int status = end.status;
    if (end.timed_out) {
        o.harness_error = "timed out after " + std::to_string(timeout_ms) + " ms (the call hung?)";
        return o;
    }
    if (WIFSIGNALED(status)) {
        o.harness_error = std::string("the run crashed with signal ") + strsignal(WTERMSIG(status));
        return o;
    }
    if (!Observation::deserialize(report, o)) {
        Observation broken;
        broken.harness_error = "unreadable report (exit status " + std::to_string(WEXITSTATUS(status)) + ")";
        return broken;
    }
    if (WEXITSTATUS(status) != 0 && o.harness_error.empty()) // after a whole report: a checker's exit code (valgrind's --error-exitcode)
        o.harness_error = "exit status " + std::to_string(WEXITSTATUS(status)) + " after the report";
    return o;
}

} // namespace sfdiff
