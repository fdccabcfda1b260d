#include "run_spec.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <thread>

#include "child.h"
#include "drain.h"
#include "files.h"

namespace sfdiff {

using sftest::Via;

const char *cannot_run(const Spec &spec, Via via)
{
    const sftest::LayerProfile *layer = sftest::layer_of(via);
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

// The kernel a via plays (kernel_profile.h). A layer's child builds its
// fixture first (the descriptors a program has), so that the harness may use
// /proc and F_GETPIPE_SZ for it, then enters the layer (layers.h): /proc
// covered in a mount namespace of its own where the layer has none, the
// harness keeping the real one for its observations, and the filter last.
// Any other filter comes before the fixture.
Observation observe_in_this_process(const Spec &spec, Via via)
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

    bool layer = sftest::layer_of(via) != nullptr;
    if (!layer && !sftest::install_filter(via, &o.harness_error))
        return o;
    Built b;
    build(spec, b);
    if (!b.error.empty()) {
        o.harness_error = "fixture: " + b.error;
        return o;
    }
    if (layer && !sftest::install_filter(via, &o.harness_error))
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
            while (!call_done.load() && !sftest::thread_waits(caller_tid))
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
            ssize_t r = spec.call32 ? sftest::send_via32(via, b.out_fd, b.in_fd, b.offset32, left)
                                    : sftest::send_via(via, b.out_fd, b.in_fd, b.offset, left);
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
        ssize_t r = spec.call32 ? sftest::send_via32(via, b.out_fd, b.in_fd, b.offset32, count)
                                : sftest::send_via(via, b.out_fd, b.in_fd, b.offset, count);
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
        o.bytes = sftest::file_contents(b.out_fd, &o.harness_error);
    return o;
}


} // namespace

Observation run_in_child(const Spec &spec, Via via, int timeout_ms)
{
    sftest::ChildResult cr =
        sftest::run_child([&] { return observe_in_this_process(spec, via).serialize(); }, timeout_ms);
    Observation o;
    bool whole = Observation::deserialize(cr.report, o);
    if (!whole)
        o = Observation();
    // A child that crashed, hung or exited non-zero after its report (a
    // checker's exit code, valgrind's --error-exitcode) broke the run,
    // whatever it reported.
    if (!cr.error.empty())
        o.harness_error = cr.error + (o.harness_error.empty() ? "" : "; " + o.harness_error);
    else if (!whole)
        o.harness_error = "unreadable report";
    return o;
}

} // namespace sfdiff
