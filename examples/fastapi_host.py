"""A FastAPI application with mything mounted under ``/api``, served by uvicorn.

FastAPI (and Starlette under it) speaks ASGI; mything is a WSGI app.
``MyThing.asgi()`` returns it wrapped in a2wsgi's adapter, which runs it in a
pool of threads, and tells it that the ASGI server ends every request body,
so that a chunked upload arrives whole and ``MAX_CONTENT_LENGTH`` refuses an
oversized one early (see ``mything/asgi.py``)::

    GET /                   the host's own page
    GET /docs               FastAPI's own documentation
    GET /api/add?a=1&b=2    mything: {"sum": 3}
    GET /api/docs           mything's documentation
    GET /api/nope           mything's JSON 404

Starlette's mount sets the ASGI ``root_path`` to ``/api``, which a2wsgi passes
on as ``SCRIPT_NAME``: mything's URLs (``Location``, ``Link``, the OpenAPI
servers URL) carry the prefix without being told.

Run it with uvicorn (``pip install 'mything[asgi]' fastapi uvicorn``)::

    uvicorn --app-dir examples fastapi_host:app     # http://127.0.0.1:8000/

Building ``MyThing`` here, at import, opens no database and creates no file;
the first request does. mything reads its configuration from ``MYTHING_*``
environment variables, the ``MYTHING_CONFIG`` file, or a dict.
"""

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from mything import MyThing

HOME = "<h1>The host</h1><p>Its API answers under <a href='/api/docs'>/api</a>."

api = MyThing()
app = FastAPI()


@app.get("/", response_class=HTMLResponse)
def index() -> str:
    return HOME


# Each request to /api runs in one of api.asgi()'s threads (10 by default:
# MyThing.asgi(workers=...)); see "ASGI hosts" in docs/hosts.md.
app.mount("/api", api.asgi())
