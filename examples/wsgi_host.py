"""A plain WSGI application, without Flask, with mything mounted under ``/api``.

mything is a WSGI application like any other, so the host does not have to be
a Flask app: any WSGI callable works. Here it is a single function with a
home page and an HTML 404 page, and Werkzeug's ``DispatcherMiddleware`` gives
mything every path that starts with ``/api``::

    GET /                   the host's home page
    GET /nope               the host's 404 page
    GET /api/add?a=1&b=2    mything: {"sum": 3}

The same one line mounts mything in a Django, Pyramid or Bottle project: wrap
the project's WSGI application, as ``host`` is wrapped below.

Run it with the standard library's server, or with gunicorn::

    python examples/wsgi_host.py                   # http://127.0.0.1:8000/
    gunicorn --chdir examples wsgi_host:application

mything reads its configuration from ``MYTHING_*`` environment variables or
the ``MYTHING_CONFIG`` file, or from a dict given to ``MyThing``.
"""

from wsgiref.simple_server import make_server

from werkzeug.middleware.dispatcher import DispatcherMiddleware

from mything import MyThing

HOME = b"<h1>The host</h1><p>Its API answers under <a href='/api/healthz'>/api</a>."
NOT_FOUND = b"<h1>Not found</h1><p>The host has no such page.</p>"


def host(environ, start_response):
    """Serve the host's own pages: the home page, and a 404 for any other path."""
    if environ.get("PATH_INFO", "/") == "/":
        status, body = "200 OK", HOME
    else:
        status, body = "404 Not Found", NOT_FOUND
    headers = [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Length", str(len(body))),
    ]
    start_response(status, headers)
    return [body]


api = MyThing()
application = DispatcherMiddleware(host, {"/api": api})

if __name__ == "__main__":
    with make_server("127.0.0.1", 8000, application) as server:
        print("Serving on http://127.0.0.1:8000/")
        server.serve_forever()
