#!/usr/bin/env python3
"""A small HTTP/1.1 file server that sends bodies with os.sendfile in a loop.

Like many Python servers, it trusts os.sendfile: on a kernel that refuses the
call, every body fails.  Under sfshim the same code works unchanged.

  server.py [--bind ADDR] [--port N] [--pidfile FILE] [--user NAME] DOCROOT

GET and HEAD, "Range: bytes=a-b" (also "a-" and "-n"; one range), one
request per connection (Connection: close), a thread per connection.
--port 0 (the default) takes a free port from the system and prints it.
SIGTERM or SIGINT stop it: it finishes, and returns from main (so that
anything preloaded sees a normal exit).
"""

import argparse
import email.utils
import http.server
import mimetypes
import os
import posixpath
import re
import signal
import socketserver
import sys
import threading
import urllib.parse

RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sfshim-example/1"

    def log_message(self, format, *args):
        if self.server.quiet:
            return
        super().log_message(format, *args)

    def do_GET(self):
        self.serve(body=True)

    def do_HEAD(self):
        self.serve(body=False)

    def path_on_disk(self):
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        parts = [p for p in posixpath.normpath(path).split("/") if p not in ("", ".", "..")]
        return os.path.join(self.server.docroot, *parts)

    def fail(self, code, extra=()):
        self.send_response(code)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()

    def serve(self, body):
        self.close_connection = True
        path = self.path_on_disk()
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return self.fail(404)
        try:
            st = os.fstat(fd)
            if not os.path.stat.S_ISREG(st.st_mode):
                return self.fail(404)
            size = st.st_size
            start, end, code = 0, size - 1, 200
            want = self.headers.get("Range")
            if want:
                m = RANGE.match(want.strip())
                if not m or (m.group(1) == "" and m.group(2) == ""):
                    return self.fail(416, [("Content-Range", "bytes */%d" % size)])
                if m.group(1) == "":  # the last n bytes
                    n = int(m.group(2))
                    start, end = max(0, size - n), size - 1
                else:
                    start = int(m.group(1))
                    end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
                if start >= size or end < start:
                    return self.fail(416, [("Content-Range", "bytes */%d" % size)])
                code = 206
            length = end - start + 1 if size else 0
            self.send_response(code)
            ctype = mimetypes.guess_type(path)[0] or "application/octet-stream"
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(length))
            self.send_header("Last-Modified", email.utils.formatdate(st.st_mtime, usegmt=True))
            self.send_header("Accept-Ranges", "bytes")
            if code == 206:
                self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.flush()
            if body:
                self.send_body(fd, start, length)
        finally:
            os.close(fd)

    def send_body(self, fd, offset, count):
        # The usual loop: os.sendfile until the count is sent.  An error
        # (ENOSYS on a kernel without sendfile) ends the response early.
        out = self.connection.fileno()
        while count > 0:
            sent = os.sendfile(out, fd, offset, count)
            if sent == 0:  # the file shrank
                break
            offset += sent
            count -= sent


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def drop_privileges(name):
    import pwd

    pw = pwd.getpwnam(name)
    os.setgroups([])
    os.setgid(pw.pw_gid)
    os.setuid(pw.pw_uid)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("docroot")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--pidfile")
    ap.add_argument("--user", help="drop to this user after binding (when root)")
    ap.add_argument("--quiet", action="store_true", help="no access log")
    ap.add_argument("--errorlog", help="append stderr (access log, tracebacks) to this file")
    args = ap.parse_args()

    if args.errorlog:
        log = os.open(args.errorlog, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 2)
        os.close(log)
    server = Server((args.bind, args.port), Handler)
    server.docroot = os.path.abspath(args.docroot)
    server.quiet = args.quiet
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    if args.user and os.geteuid() == 0:
        drop_privileges(args.user)

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    thread = threading.Thread(target=server.serve_forever, name="serve")
    thread.start()
    host, port = server.server_address[:2]
    print("serving %s at http://%s:%d/" % (server.docroot, host, port), flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
        if args.pidfile:
            try:
                os.unlink(args.pidfile)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
