"""A WSGI app for examples/uwsgi/serve.sh: GET /app/NAME returns the file
DOCROOT/NAME through wsgi.file_wrapper, which uWSGI sends with sendfile.
(The other paths are uWSGI's own static files, --static-map.)"""
import os

DOCROOT = os.environ["SX_DOCROOT"]


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    name = path[len("/app/"):] if path.startswith("/app/") else ""
    full = os.path.join(DOCROOT, name)
    if not name or "/" in name or name.startswith(".") or not os.path.isfile(full):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]
    if environ["REQUEST_METHOD"] not in ("GET", "HEAD"):
        start_response("405 Method Not Allowed", [("Allow", "GET, HEAD")])
        return [b""]
    f = open(full, "rb")
    size = os.fstat(f.fileno()).st_size
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(size))])
    if environ["REQUEST_METHOD"] == "HEAD":
        f.close()
        return [b""]
    return environ["wsgi.file_wrapper"](f)
