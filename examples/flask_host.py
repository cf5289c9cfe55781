"""A Flask application with mything mounted under ``/api``.

The host is an ordinary Flask app, with pages and an HTML error page of its
own. Werkzeug's ``DispatcherMiddleware`` sends every request whose path
starts with ``/api`` to mything, and every other request to the host::

    GET /                   the host's home page
    GET /nope               the host's HTML 404 page
    GET /api/add?a=1&b=2    mything: {"sum": 3}
    GET /api/nope           mything's JSON 404

mything sees ``/api`` as its ``SCRIPT_NAME``, so the URLs it builds (the
``Location`` of a new resource, the ``Link`` to the next page) carry the
prefix without being told about it.

The middleware replaces ``app.wsgi_app`` rather than ``app``, as Flask's
documentation on application dispatching does: ``app`` stays a Flask object,
so ``flask --app flask_host run`` and the host's own test client keep working
and reach mything too.

Run it with Werkzeug's development server, or with gunicorn::

    python examples/flask_host.py                  # http://127.0.0.1:5000/
    gunicorn --chdir examples flask_host:app

mything is configured as when it runs alone, by ``MYTHING_*`` environment
variables or the ``MYTHING_CONFIG`` file. A host that keeps the settings in
its own configuration passes them as a dict instead, which wins over both:
``MyThing({"DATABASE_URI": app.config["API_DATABASE_URI"]})``.
"""

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import run_simple

from mything import MyThing

app = Flask(__name__)


@app.get("/")
def index() -> str:
    return "<h1>The host</h1><p>Its API answers under <a href='/api/healthz'>/api</a>."


@app.errorhandler(404)
def page_not_found(error: Exception) -> tuple[str, int]:
    # Only the host's own 404s come here: a 404 under /api is mything's, in JSON.
    return "<h1>Not found</h1><p>The host has no such page.</p>", 404


api = MyThing()
app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/api": api})  # type: ignore[method-assign]

if __name__ == "__main__":
    run_simple("127.0.0.1", 5000, app, use_reloader=True)
