#include "child.h"

#include <atomic>
#include <cerrno>
#include <thread>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <seccomp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sfshim/sfshim.h>

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
    }
    return "?";
}

namespace {

// Installs the filter that plays a kernel without (a working) sendfile.
bool take_sendfile_away(Caller c, std::string &err)
{
    if (c != Caller::AutoEnosys && c != Caller::AutoEperm && c != Caller::AutoFreebsd)
        return true;
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx) {
        err = "seccomp_init failed";
        return false;
    }
    int rc;
    if (c == Caller::AutoEnosys)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(sendfile), 0);
    else if (c == Caller::AutoEperm)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(sendfile), 0);
    else
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EINVAL), SCMP_SYS(sendfile), 1,
                              SCMP_A3(SCMP_CMP_EQ, 0));
    if (rc == 0)
        rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc != 0) {
        err = std::string("seccomp: ") + std::strerror(-rc);
        return false;
    }
    return true;
}

ssize_t invoke(Caller c, int out_fd, int in_fd, int64_t *offset, size_t count)
{
    switch (c) {
    case Caller::Kernel:
        return syscall(SYS_sendfile, out_fd, in_fd, offset, count);
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
        return sfshim_sendfile_mode(SFSHIM_MODE_AUTO, out_fd, in_fd, offset, count);
    }
    return -1;
}

// The output file's contents. A huge sparse file (positions near the file
// system's limit) is summarised as its size plus its last MiB.
std::string read_whole_file(int fd, std::string &err)
{
    std::string path = "/proc/self/fd/" + std::to_string(fd);
    int r = open(path.c_str(), O_RDONLY | O_CLOEXEC);
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
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigaddset(&pipe_set, SIGXFSZ); // writes past the file-size limit raise it
    sigprocmask(SIG_BLOCK, &pipe_set, nullptr);

    if (!take_sendfile_away(caller, o.harness_error))
        return o;
    Built b;
    build(spec, b);
    if (!b.error.empty()) {
        o.harness_error = "fixture: " + b.error;
        return o;
    }

    bool concurrent = false;
    DrainUntil until = DrainUntil::Empty;
    if (b.reader_is_stream_socket) {
        until = DrainUntil::Eof;
        concurrent = !spec.out_nonblock;
    } else if (b.reader_is_datagram) {
        concurrent = !spec.out_nonblock;
    }
    Drainer drainer(b.reader_fd, b.reader_is_datagram, until, 15000);
    if (concurrent)
        drainer.start();

    // A reader that turns up late and empties the pipe in one read: tells
    // whether the call waited for room, and lets a waiting call finish.
    std::atomic<bool> call_done{false};
    bool waited = false;
    std::string early;
    std::thread late;
    if (spec.late_reader && b.reader_fd >= 0 && !b.reader_is_stream_socket)
        late = std::thread([&] {
            usleep(300000);
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
            ssize_t r = invoke(caller, b.out_fd, b.in_fd, b.offset, spec.count - total);
            o.calls.push_back({r, errno});
            if (r <= 0)
                break;
            total += static_cast<uint64_t>(r);
            if (total >= spec.count)
                break;
        }
    } else {
        errno = kErrnoSentinel;
        ssize_t r = invoke(caller, b.out_fd, b.in_fd, b.offset, spec.count);
        o.calls.push_back({r, errno});
    }

    call_done = true;
    if (late.joinable())
        late.join();
    o.waited_for_reader = waited;

    if (spec.offset_ptr == OffsetPtr::Given || spec.offset_ptr == OffsetPtr::ReadOnly) {
        o.offset_readable = true;
        o.offset_after = *b.offset;
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

bool write_all(int fd, const std::string &s)
{
    size_t done = 0;
    while (done < s.size()) {
        ssize_t n = write(fd, s.data() + done, s.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        done += static_cast<size_t>(n);
    }
    return true;
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
        _exit(write_all(p[1], mine.serialize()) ? 0 : 3);
    }
    close(p[1]);

    std::string report, buf(1 << 20, '\0');
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    bool timed_out = false;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now())
                        .count();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        pollfd pf{p[0], POLLIN, 0};
        int pr = poll(&pf, 1, static_cast<int>(left));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0) {
            timed_out = pr == 0;
            break;
        }
        ssize_t n = read(p[0], &buf[0], buf.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        report.append(buf.data(), static_cast<size_t>(n));
    }
    close(p[0]);
    if (timed_out)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out) {
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
    return o;
}

} // namespace sfdiff
