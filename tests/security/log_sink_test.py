#!/usr/bin/env python3
"""No line of the shim's ever goes into a descriptor the program uses for its data.

The shim's lines (SFSHIM_LOG, SFSHIM_STATS=stderr, a complaint about a bad
variable) go to descriptor 2 only while it is the terminal or regular file it
was when the library loaded; into a pipe or a socket (an inetd-style server's
client, a peer that parses what comes) only when the user names descriptor 2
with `fd2`; or into a file by path. Each case runs the probe (log_probe.c)
with the shim, an emulated sendfile, a debug log, stats on stderr and a bad
SFSHIM_TUNE, its descriptor 2 made one kind of file, and reads what arrived.

usage: log_sink_test.py PROBE LIBRARY
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile

probe, lib = sys.argv[1], sys.argv[2]
work = tempfile.mkdtemp(prefix="sfshim-log-")
fails = 0

# What every line kind looks like: the debug log, the stats text, the complaint.
LOG, STATS, COMPLAINT = b"sfshim[", b"sendfile calls", b"SFSHIM_TUNE"


def ok(what):
    print("  ok: " + what)


def bad(what):
    global fails
    fails += 1
    print("FAIL: " + what)


def env(**more):
    e = dict(os.environ)
    e.update(LD_PRELOAD=lib, SFSHIM_MODE="emulate", SFSHIM_LOG="debug", SFSHIM_STATS="stderr",
             SFSHIM_TUNE="no_such_key=1")
    e.update(more)
    return e


def run(stderr, *args, preexec=None, **more):
    """Runs the probe with descriptor 2 = stderr (a descriptor, or None with
    preexec closing it); its stdout, and whether it sent its bytes."""
    p = subprocess.run([probe, *args], stdout=subprocess.PIPE, stderr=stderr, env=env(**more),
                       preexec_fn=preexec, timeout=60)
    sent = p.returncode == 0 and b"sent=4096" in p.stdout
    if not sent:
        bad("%s: the probe failed (exit %d): %r" % (" ".join(args) or "probe", p.returncode, p.stdout))
    return sent


def drain(fd):
    os.set_blocking(fd, False)
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except (BlockingIOError, OSError):  # EAGAIN; EIO on a pty whose other side is gone
            break
        if not chunk:
            break
        out += chunk
    return out


def expect_all(kind, got):
    missing = [name for name, mark in (("log", LOG), ("stats", STATS), ("complaint", COMPLAINT)) if mark not in got]
    if missing:
        bad("%s: missing %s in %r" % (kind, ", ".join(missing), got[:300]))
    else:
        ok("%s gets the log, the stats and the complaint" % kind)


def expect_none(kind, got):
    if got:
        bad("%s received the shim's bytes: %r" % (kind, got[:300]))
    else:
        ok("%s receives nothing" % kind)


# A regular file (2>file): the user's own stderr.
path = os.path.join(work, "stderr.txt")
with open(path, "wb") as f:
    run(f.fileno())
expect_all("a regular file at descriptor 2", open(path, "rb").read())

# A terminal (where one can be made: not counted as passed otherwise).
try:
    master, slave = os.openpty()
except OSError as e:
    print("  not run: a terminal at descriptor 2 (no pseudo-terminal here: %s)" % e)
else:
    run(slave)
    os.close(slave)
    expect_all("a terminal at descriptor 2", drain(master))
    os.close(master)

# A pipe: nothing, unless the user names descriptor 2.
r, w = os.pipe()
run(w)
os.close(w)
expect_none("a pipe at descriptor 2", drain(r))
os.close(r)
r, w = os.pipe()
run(w, SFSHIM_LOG="debug:fd2", SFSHIM_STATS="fd2")
os.close(w)
expect_all("a pipe at descriptor 2 with SFSHIM_LOG=debug:fd2 and SFSHIM_STATS=fd2", drain(r))
os.close(r)

# A socket (an inetd-style server's client): nothing; with fd2, what was asked.
a, b = socket.socketpair()
run(a.fileno())
a.close()
expect_none("a socket at descriptor 2", drain(b.fileno()))
b.close()
a, b = socket.socketpair()
run(a.fileno(), SFSHIM_LOG="debug:fd2", SFSHIM_STATS="fd2")
a.close()
expect_all("a socket at descriptor 2 with fd2", drain(b.fileno()))
b.close()

# /dev/null: nothing to see, and the program runs.
if run(subprocess.DEVNULL):
    ok("/dev/null at descriptor 2: the program runs")

# Closed at load, then the program's own data file opened there.
data = os.path.join(work, "data-open")
run(None, "open", data, preexec=lambda: os.close(2))
got = open(data, "rb").read()
if got == b"DATA\n":
    ok("descriptor 2 closed at load, then the program's data file: only its own bytes")
else:
    bad("the program's data file at descriptor 2 (closed at load) got %r" % got[:300])

# A file at load, then closed by the program and its data file opened there.
path = os.path.join(work, "stderr-then.txt")
data = os.path.join(work, "data-reopen")
with open(path, "wb") as f:
    run(f.fileno(), "reopen", data)
got = open(data, "rb").read()
if got == b"DATA\n":
    ok("descriptor 2 replaced by the program's data file after load: only its own bytes")
else:
    bad("the program's data file put at descriptor 2 after load got %r" % got[:300])

# A file by path, %p expanded: everything there, nothing on the socket.
a, b = socket.socketpair()
pattern = os.path.join(work, "log-%p.txt")
run(a.fileno(), SFSHIM_LOG="debug:" + pattern)
a.close()
expect_none("a socket at descriptor 2 with SFSHIM_LOG=debug:FILE", drain(b.fileno()))
b.close()
logs = [n for n in os.listdir(work) if n.startswith("log-") and n.endswith(".txt")]
text = b"".join(open(os.path.join(work, n), "rb").read() for n in logs)
if len(logs) == 1 and logs[0][4:-4].isdigit() and LOG in text and COMPLAINT in text:
    ok("SFSHIM_LOG=debug:FILE-%p writes the log and the complaint into " + logs[0])
else:
    bad("SFSHIM_LOG=debug:FILE-%%p: files %r, text %r" % (logs, text[:300]))

# A symbolic link at the log path is not followed.
target = os.path.join(work, "precious")
with open(target, "wb") as f:
    f.write(b"precious\n")
os.symlink(target, os.path.join(work, "link.txt"))
with open(os.devnull, "wb") as f:
    run(f.fileno(), SFSHIM_LOG="debug:" + os.path.join(work, "link.txt"))
if open(target, "rb").read() == b"precious\n":
    ok("a symbolic link at the log path is not followed")
else:
    bad("the log went through a symbolic link into its target")

shutil.rmtree(work, ignore_errors=True)
print("%d failure(s)" % fails if fails else "all passed")
sys.exit(1 if fails else 0)
