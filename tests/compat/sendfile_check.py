# os.sendfile as an unmodified program of an older userland uses it: run by
# the root's own Python (bullseye: 3.9, python3-minimal only, so nothing
# beyond its standard modules), in a directory DIR it may write in.
#
#   python3 sendfile_check.py DIR
#
# file -> Unix stream socket and file -> regular file, with an offset (the
# file position must not move) and without one (it must advance by the
# count), at sizes from 0 B to a few MiB: across the page size and the
# shim's mmap cut-overs (1 MiB into files, 4 MiB into Unix sockets). Every
# received byte is compared with the source. One line per case; exit status
# 0 when all agree, 1 otherwise. An OSError from os.sendfile (what a kernel
# without sendfile gives with no shim) is reported and ends the run with
# status 3; a run still going after DEADLINE seconds ends with status 4.
import errno
import os
import signal
import socket
import sys
import threading

DEADLINE = 90

MiB = 1 << 20
SIZES = [0, 1, 4095, 4096, 65537, MiB - 1, MiB, MiB + 1, 3 * MiB + 5, 4 * MiB, 5 * MiB + 3]
OFFSETS = [0, 1, 4096, 12345]

work = sys.argv[1]
fails = 0
sent_calls = 0


def pattern(n):
    # Distinct bytes at every offset (not a period of the page size).
    block = bytes((i * 7 + i // 251) & 0xFF for i in range(65521))
    reps = n // len(block) + 1
    return (block * reps)[:n]


def report(ok, what):
    global fails
    print("  %-62s %s" % (what, "ok" if ok else "BAD"))
    if not ok:
        fails += 1


def send_all(out_fd, in_fd, offset, count):
    """Calls os.sendfile until count bytes went or the input ended; returns
    the number sent. offset None: from the file position."""
    global sent_calls
    total = 0
    while total < count:
        off = None if offset is None else offset + total
        n = os.sendfile(out_fd, in_fd, off, count - total)
        sent_calls += 1
        if n == 0:
            break
        total += n
    if count == 0:
        # The kernel's answer to a zero count is 0, whatever the output.
        n = os.sendfile(out_fd, in_fd, offset, 0)
        sent_calls += 1
        if n != 0:
            raise AssertionError("sendfile with count 0 returned %d" % n)
    return total


def describe(kind, size, offset, pos):
    how = "no offset, from position %d" % pos if offset is None else "offset %d" % offset
    return "%s %9d B, %s" % (kind, size, how)


def case_socket(src, data, size, offset, pos):
    """file -> Unix stream socket: from offset, or (offset None) from the
    file position pos, which must then advance by the count."""
    start = pos if offset is None else offset
    want = data[start:size]
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    got = []

    def reader():
        while True:
            chunk = b.recv(1 << 17)
            if not chunk:
                break
            got.append(chunk)

    t = threading.Thread(target=reader)
    t.start()
    fd = os.open(src, os.O_RDONLY)
    try:
        os.lseek(fd, pos, os.SEEK_SET)
        n = send_all(a.fileno(), fd, offset, len(want))
        at = os.lseek(fd, 0, os.SEEK_CUR)
    finally:
        os.close(fd)
        a.shutdown(socket.SHUT_WR)
        t.join()
        a.close()
        b.close()
    body = b"".join(got)
    want_at = pos + n if offset is None else pos
    report(n == len(want) and body == want and at == want_at,
           describe("file -> unix socket", size, offset, pos))
    if body != want:
        print("    received %d bytes, want %d%s" % (len(body), len(want),
              " (bytes differ)" if len(body) == len(want) else ""))
    if at != want_at:
        print("    file position %d, want %d" % (at, want_at))


def case_file(src, data, size, offset, pos):
    """file -> regular file, which is written at its own position (past 0
    here), and that position advances by the count."""
    start = pos if offset is None else offset
    want = b"head" + data[start:size]
    dst = os.path.join(work, "out.bin")
    fd = os.open(src, os.O_RDONLY)
    out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(out, b"head")
        os.lseek(fd, pos, os.SEEK_SET)
        n = send_all(out, fd, offset, size - start)
        at = os.lseek(fd, 0, os.SEEK_CUR)
        out_at = os.lseek(out, 0, os.SEEK_CUR)
    finally:
        os.close(fd)
        os.close(out)
    with open(dst, "rb") as f:
        body = f.read()
    os.unlink(dst)
    want_at = pos + n if offset is None else pos
    report(n == size - start and body == want and at == want_at and out_at == 4 + n,
           describe("file -> file       ", size, offset, pos))
    if body != want:
        print("    the file holds %d bytes, want %d%s" % (len(body), len(want),
              " (bytes differ)" if len(body) == len(want) else ""))
    if at != want_at or out_at != 4 + n:
        print("    positions: input %d (want %d), output %d (want %d)" % (at, want_at, out_at, 4 + n))


def timed_out(signum, frame):
    print("  timed out: the run is still going after %d s" % DEADLINE, flush=True)
    os._exit(4)


def main():
    signal.signal(signal.SIGALRM, timed_out)
    signal.alarm(DEADLINE)
    print("Python %s, %s" % (sys.version.split()[0], os.confstr("CS_GNU_LIBC_VERSION")))
    print("  /proc is %s" % ("mounted" if os.path.exists("/proc/self") else "not mounted"))
    big = pattern(max(SIZES))
    try:
        for size in SIZES:
            src = os.path.join(work, "src-%d.bin" % size)
            data = big[:size]
            with open(src, "wb") as f:
                f.write(data)
            cases = [(None, 0), (None, size // 3)] + [(o, size // 2) for o in OFFSETS if o <= size]
            for offset, pos in sorted(set(cases), key=str):
                case_socket(src, data, size, offset, pos)
                case_file(src, data, size, offset, pos)
            os.unlink(src)
    except OSError as e:
        print("  os.sendfile raised OSError: [Errno %d] %s (%s)" % (
            e.errno, e.strerror, errno.errorcode.get(e.errno, "?")))
        sys.exit(3)
    print("  %d sendfile calls, %d of the cases bad" % (sent_calls, fails))
    sys.exit(1 if fails else 0)


main()
