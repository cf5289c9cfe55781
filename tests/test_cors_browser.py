"""A browser app on one origin calls mything, served by gunicorn, on another.

The page comes from ``http://127.0.0.1:<port>``, a small server in this
process; mything is a real gunicorn at ``http://localhost:<port>``, which
lists that origin in ``MYTHING_CORS_ORIGINS``. The page's script does what
a single-page app does, with ``fetch`` and a bearer token, in headless
Chromium (conftest's ``browser`` fixture), so the browser itself enforces
CORS: what the script can read is what a real app can read.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from helpers.processes import gunicorn

from mything import MyThing
from mything.db import get_database

pytestmark = pytest.mark.slow

PAGE = b"<!DOCTYPE html><title>A browser app</title><h1>A browser app</h1>"

# The app's script: list notes, create one, then change it twice with the
# ETag it was created with; the second change is based on a stale version.
APP_SCRIPT = """
async ({api, token}) => {
  const auth = {"Authorization": `Bearer ${token}`};
  const json = {...auth, "Content-Type": "application/json"};
  const listed = await fetch(`${api}/orgs/acme/notes?limit=1`, {headers: auth});
  const created = await fetch(`${api}/orgs/acme/notes`, {
    method: "POST", headers: json, body: JSON.stringify({title: "From a browser"}),
  });
  const location = created.headers.get("Location");
  const etag = created.headers.get("ETag");
  const change = (title) => fetch(location, {
    method: "PATCH", headers: {...json, "If-Match": etag},
    body: JSON.stringify({title}),
  });
  const first = await change("Changed once");
  const stale = await change("Changed twice");
  return {
    listed: listed.status,
    link: listed.headers.get("Link"),
    requestId: listed.headers.get("X-Request-ID"),
    rateLimit: listed.headers.get("RateLimit"),
    created: created.status,
    location, etag,
    first: first.status,
    firstEtag: first.headers.get("ETag"),
    stale: stale.status,
    staleCode: (await stale.json()).code,
  };
}
"""

# The same kind of call from an origin that is not allowed.
FOREIGN_SCRIPT = """
async ({api, token}) => {
  try {
    await fetch(`${api}/me`, {headers: {"Authorization": `Bearer ${token}`}});
    return "answered";
  } catch (error) {
    return `failed: ${error.name}`;
  }
}
"""


@contextlib.contextmanager
def page_server() -> Iterator[int]:
    """Serve PAGE at every path on a free port of 127.0.0.1; yield the port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, *args: object) -> None:
            pass  # Keep the test output quiet.

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def api_of(tmp_path):
    """Start mything for pages of ``origin``; yield (its URL, alice's token)."""
    database = f"sqlite:///{tmp_path / 'browser.db'}"
    thing = MyThing({"DATABASE_URI": database})
    thing.create_user("alice")
    token = thing.create_token("alice")
    api = thing.as_user("alice")
    api.create_organization("acme", name="Acme")
    for title in ("one", "two"):
        api.create_note("acme", title=title)
    get_database(thing.flask_app).dispose()

    @contextlib.contextmanager
    def serve(origin: str) -> Iterator[tuple[str, str]]:
        env = {"MYTHING_DATABASE_URI": database, "MYTHING_CORS_ORIGINS": origin}
        with gunicorn("mything:MyThing()", env=env, cwd=tmp_path) as url:
            # Another origin than the page's: another host name, another port.
            yield url.replace("127.0.0.1", "localhost"), token

    return serve


def test_a_browser_app_on_another_origin_reads_what_it_needs(browser, api_of):
    with page_server() as app_port, page_server() as foreign_port:
        app_origin = f"http://127.0.0.1:{app_port}"
        with api_of(app_origin) as (api, token):
            page = browser.new_page()
            page.goto(app_origin + "/")
            seen = page.evaluate(APP_SCRIPT, {"api": api, "token": token})
            foreign = browser.new_page()
            foreign.goto(f"http://127.0.0.1:{foreign_port}/")
            refused = foreign.evaluate(FOREIGN_SCRIPT, {"api": api, "token": token})

    assert seen["listed"] == 200
    assert seen["link"].startswith(f"<{api}/orgs/acme/notes?")
    assert seen["link"].endswith('rel="next"')
    assert seen["requestId"]
    assert seen["rateLimit"].startswith('"default";r=')
    assert seen["created"] == 201
    assert seen["location"].startswith(f"{api}/orgs/acme/notes/")
    assert seen["etag"].endswith('-1"')
    assert (seen["first"], seen["firstEtag"][-3:]) == (200, '-2"')
    assert (seen["stale"], seen["staleCode"]) == (412, "precondition_failed")
    assert refused == "failed: TypeError"
