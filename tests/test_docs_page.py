"""The ``/docs`` page: its vendored assets, its URLs under a prefix, a browser.

The browser test runs the page in a real headless Chromium (conftest's
``browser`` fixture) against mything mounted under ``/api`` in a host served
by gunicorn, and tries an operation the way a reader of the docs would.
``TEST_MYTHING_SCREENSHOT=docs/docs-page.png`` also saves its screenshot
there, to update the one in the documentation.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from helpers.processes import gunicorn
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client

from mything import MyThing
from mything.db import get_database

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage, Locator, Page

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
# With X-Content-Type-Options: nosniff, browsers run a script only when it is
# served with a JavaScript type; both of these are.
JAVASCRIPT = {"text/javascript", "application/javascript"}


class PageLinks(HTMLParser):
    """Collect the URLs an HTML page loads, and the OpenAPI URL it names."""

    def __init__(self) -> None:
        super().__init__()
        self.assets: list[str] = []
        self.openapi_url: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name in ("src", "href"):
            if attributes.get(name):
                self.assets.append(attributes[name])
        if "data-openapi-url" in attributes:
            self.openapi_url = attributes["data-openapi-url"]


def page_links(html: str) -> PageLinks:
    parser = PageLinks()
    parser.feed(html)
    return parser


@pytest.fixture
def mounted(thing: MyThing) -> Client:
    """A client of a host application with ``thing`` mounted under ``/api``."""
    return Client(DispatcherMiddleware(Flask("host"), {"/api": thing}))


def test_vendored_assets_match_manifest():
    path = ROOT / "scripts" / "fetch_swagger_ui.py"
    spec = importlib.util.spec_from_file_location("fetch_swagger_ui", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.check() == []
    assert script.read_manifest()["version"].startswith("5.")


def test_docs_page_under_a_prefix_loads_everything_from_below_it(mounted):
    response = mounted.get("/api/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    links = page_links(response.text)
    assert links.openapi_url == "/api/openapi.json"
    assert len(links.assets) == 4
    assert all(url.startswith("/api/docs/assets/") for url in links.assets)


def test_docs_assets_are_served_with_their_content_types(mounted):
    links = page_links(mounted.get("/api/docs").text)
    types = {}
    for url in links.assets:
        # A file is sent as a stream, which the response closes.
        with mounted.get(url) as response:
            assert response.status_code == 200, url
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            types[url.rsplit(".", 1)[-1]] = response.mimetype
    assert types["css"] == "text/css"
    assert types["js"] in JAVASCRIPT
    assert types["png"] == "image/png"


def test_docs_page_names_the_openapi_document(mounted):
    links = page_links(mounted.get("/api/docs").text)
    response = mounted.get(links.openapi_url)
    assert response.status_code == 200
    assert response.json["openapi"].startswith("3.1")


def test_docs_page_allows_scripts_from_its_own_origin_only(client):
    policy = client.get("/docs").headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "unsafe" not in policy


def test_docs_are_never_rate_limited_nor_in_the_openapi_document(database_uri):
    thing = MyThing({"DATABASE_URI": database_uri, "RATELIMIT": "2/minute"})
    client = thing.flask_app.test_client()
    statuses = []
    for _ in range(5):
        with client.get("/docs/assets/docs.js") as response:
            statuses.append(response.status_code)
    statuses.append(client.get("/docs").status_code)
    paths = client.get("/openapi.json").json["paths"]
    get_database(thing.flask_app).dispose()
    assert statuses == [200] * 6
    assert not [path for path in paths if path.startswith("/docs")]


def test_docs_page_works_standalone(client):
    links = page_links(client.get("/docs").text)
    assert links.openapi_url == "/openapi.json"
    assert all(url.startswith("/docs/assets/") for url in links.assets)
    for url in links.assets:
        with client.get(url) as response:
            assert response.status_code == 200, url


@pytest.mark.parametrize(
    "path",
    [
        "/docs/assets/../blueprints/docs.py",
        "/docs/assets/%2E%2E/blueprints/docs.py",
        "/docs/assets/..%2Fapp.py",
        "/docs/assets/no-such-file.js",
    ],
)
def test_docs_assets_outside_the_static_folder_are_not_found(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.json["code"] == "not_found"


@pytest.fixture
def thing_without_docs(database_uri: str) -> Iterator[MyThing]:
    thing = MyThing({"DATABASE_URI": database_uri, "DOCS_ENABLED": False})
    yield thing
    get_database(thing.flask_app).dispose()


@pytest.mark.parametrize(
    "path", ["/docs", "/docs/assets/docs.js", "/docs/assets/swagger-ui/LICENSE"]
)
def test_docs_can_be_turned_off(thing_without_docs, path):
    response = thing_without_docs.flask_app.test_client().get(path)
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    assert response.json["code"] == "not_found"


@pytest.mark.slow
def test_docs_page_runs_an_operation_in_a_browser(browser, tmp_path):
    from playwright.sync_api import expect

    env = {"MYTHING_DATABASE_URI": f"sqlite:///{tmp_path / 'docs.db'}"}
    with gunicorn(
        "helpers.docs_host:app", env=env, cwd=TESTS, ready_path="/api/healthz"
    ) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        requested: list[str] = []
        errors: list[str] = []

        def record_console_error(message: ConsoleMessage) -> None:
            # Content-Security-Policy violations are reported here too.
            if message.type == "error":
                errors.append(message.text)

        page.on("request", lambda request: requested.append(request.url))
        page.on("console", record_console_error)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url + "/api/docs")

        operation = page.locator(".opblock-get", has_text="/add")
        expect(operation).to_be_visible()
        operation.locator(".opblock-summary").click()
        operation.get_by_role("button", name="Try it out").click()
        operation.locator("tr[data-param-name='a'] input").fill("2")
        operation.locator("tr[data-param-name='b'] input").fill("3")
        operation.get_by_role("button", name="Execute").click()
        body = operation.locator(".live-responses-table .response-col_description pre")
        expect(body.first).to_contain_text('"sum": 5')
        save_screenshot(page, tmp_path / "docs-page.png", down_to=body.first)

    elsewhere = [u for u in requested if not u.startswith(url + "/")]
    assert elsewhere == []
    assert url + "/api/add?a=2&b=3" in requested
    assert errors == []


def save_screenshot(page: Page, path: Path, *, down_to: Locator) -> None:
    """Save the page from its top down to an element, for people to look at.

    ``TEST_MYTHING_SCREENSHOT`` names a second place to save it, such as the
    screenshot in ``docs/``.
    """
    bottom = down_to.evaluate("e => e.getBoundingClientRect().bottom + scrollY")
    width = page.viewport_size["width"]
    clip = {"x": 0, "y": 0, "width": width, "height": bottom + 16}
    page.screenshot(path=path, full_page=True, clip=clip)
    if copy := os.environ.get("TEST_MYTHING_SCREENSHOT"):
        Path(copy).write_bytes(path.read_bytes())
