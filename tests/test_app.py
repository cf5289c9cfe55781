"""The factory, the contained app, and the public namespace of ``mything``."""

from __future__ import annotations

import importlib.metadata
import json
import pkgutil
import subprocess
import sys
import types

import pytest
from flask import Flask, after_this_request, request
from flask.signals import request_finished, request_started, request_tearing_down
from werkzeug.exceptions import HTTPException, SecurityError
from werkzeug.sansio.utils import get_host
from werkzeug.test import Client, EnvironBuilder
from werkzeug.utils import import_string
from werkzeug.wrappers import Request, Response

import mything
import mything.blueprints
from mything import ConfigError, create_app
from mything.app import ApiFlask
from mything.config import settings_of
from mything.db import get_database
from mything.results import ApiResult
from mything.wrappers import ApiResponse


def blueprint_modules() -> list[types.ModuleType]:
    """Every module in the mything/blueprints folder that defines a blueprint."""
    package = mything.blueprints
    modules = [
        import_string(f"{package.__name__}.{info.name}")
        for info in pkgutil.iter_modules(package.__path__)
    ]
    return [module for module in modules if hasattr(module, "blueprint")]


def test_create_app_builds_a_new_api_flask_each_time(tmp_path):
    config = {"DATABASE_URI": f"sqlite:///{tmp_path / 'app.db'}"}
    first, second = create_app(config), create_app(config)
    assert isinstance(first, ApiFlask)
    assert first is not second
    assert first.config is not second.config


def test_the_demo_and_health_blueprints_are_found():
    names = {module.blueprint.name for module in blueprint_modules()}
    assert {"demo", "health"} <= names


def switched_on(app: Flask, module: types.ModuleType) -> bool:
    """Whether ``app``'s configuration turns on the blueprint of ``module``."""
    switch = getattr(module, "ENABLED_BY", None)
    return switch is None or bool(app.config[switch])


def test_every_blueprint_module_is_registered(app):
    for module in blueprint_modules():
        if switched_on(app, module):
            assert app.blueprints[module.blueprint.name] is module.blueprint
        else:
            assert module.blueprint.name not in app.blueprints


def test_every_registered_blueprint_comes_from_the_blueprints_folder(app):
    found = {module.blueprint.name for module in blueprint_modules()}
    assert set(app.blueprints) <= found


def test_a_switched_off_blueprint_is_registered_once_switched_on(make_thing):
    app = make_thing(METRICS_ENABLED=True).flask_app
    assert "metrics" in app.blueprints


def test_my_thing_is_a_wsgi_application(thing):
    response = Client(thing).get("/add?a=1&b=2")
    assert response.status_code == 200
    assert response.json == {"sum": 3}


def test_my_thing_owns_its_flask_app(thing):
    assert isinstance(thing.flask_app, ApiFlask)
    assert thing.flask_app.my_thing is thing


def test_an_app_from_create_app_belongs_to_no_thing(tmp_path):
    app = create_app({"DATABASE_URI": f"sqlite:///{tmp_path / 'app.db'}"})
    assert app.my_thing is None


def test_two_things_in_one_process_share_nothing(tmp_path, make_thing):
    one = make_thing(
        {"DATABASE_URI": f"sqlite:///{tmp_path / 'one.db'}", "PAGE_SIZE": 1}
    )
    two = make_thing({"DATABASE_URI": f"sqlite:///{tmp_path / 'two.db'}"})

    # The same user name is free in each, because each has its own database.
    for thing in (one, two):
        thing.create_user("alice")
        for slug in ("acme", "initech"):
            thing.as_user("alice").create_organization(slug, name=slug)
    one.as_user("alice").create_organization("only-in-one", name="One")

    assert one.flask_app is not two.flask_app
    assert get_database(one.flask_app).engine is not get_database(two.flask_app).engine
    assert one.flask_app.config["PAGE_SIZE"] == 1
    assert two.flask_app.config["PAGE_SIZE"] == 20
    assert len(one.as_user("alice").organizations()["items"]) == 1
    slugs = [org["slug"] for org in two.as_user("alice").organizations()["items"]]
    assert sorted(slugs) == ["acme", "initech"]
    assert (tmp_path / "one.db").exists() and (tmp_path / "two.db").exists()


def test_a_thing_and_its_requests_see_the_same_data(thing, client):
    thing.create_user("alice")
    token = thing.create_token("alice")
    response = client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert response.json["name"] == "alice"


def test_all_is_sorted():
    assert mything.__all__ == sorted(mything.__all__)


def test_all_lists_exactly_the_public_names():
    # dir(), not vars(): Client is imported when first asked for.
    public = {
        name
        for name in dir(mything)
        if not name.startswith("_")
        and not isinstance(getattr(mything, name), types.ModuleType)
    }
    assert set(mything.__all__) == public | {"__version__"}


def test_star_import_gives_the_public_names():
    namespace: dict = {}
    exec("from mything import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(mything.__all__)


def test_no_flask_or_werkzeug_name_leaks_into_the_namespace():
    # The signals are blinker's own objects, made by mything.signals.
    signals = {"event_committed", "event_recorded"}
    for name in set(mything.__all__) - {"__version__"} - signals:
        defined_in = getattr(mything, name).__module__
        assert defined_in.partition(".")[0] == "mything", name
    for name in signals:
        assert getattr(mything, name) is getattr(mything.signals, name)
    assert not {"Flask", "request", "current_app", "g"} & set(vars(mything))


def test_version_matches_the_installed_metadata():
    assert mything.__version__ == importlib.metadata.version("mything")


def test_hooks_a_host_registers_on_the_app_still_run(thing):
    # ApiFlask skips Flask's search for request hooks only while there are
    # none; a host that adds its own gets Flask's behaviour.
    app, seen = thing.flask_app, []

    @app.before_request
    def before():
        seen.append("before")

    @app.after_request
    def after(response):
        seen.append("after")
        response.headers["X-Host"] = "yes"
        return response

    @app.teardown_request
    def teardown(exc):
        seen.append("teardown")

    @app.get("/host-only")
    def host_only():
        @after_this_request
        def once(response):
            seen.append("after this request")
            return response

        return ApiResult({"ok": True})

    response = Client(thing).get("/add?a=1&b=2")
    assert response.json == {"sum": 3}
    assert response.headers["X-Host"] == "yes"
    assert seen == ["before", "after", "teardown"]

    seen.clear()
    assert Client(thing).get("/host-only").json == {"ok": True}
    assert seen == ["before", "after this request", "after", "teardown"]


def test_flask_signals_about_requests_are_sent(thing):
    received = []

    def receiver(sender, **extra):
        received.append(sender)

    for signal in (request_started, request_finished, request_tearing_down):
        signal.connect(receiver, thing.flask_app)
    try:
        assert Client(thing).get("/add?a=1&b=2").status_code == 200
    finally:
        for signal in (request_started, request_finished, request_tearing_down):
            signal.disconnect(receiver, thing.flask_app)
    assert received == [thing.flask_app] * 3


def test_the_headers_of_every_answer_are_sent_once(thing):
    response = Client(thing).get("/add?a=1&b=2")
    names = [name.lower() for name, _ in response.headers]
    assert len(names) == len(set(names))
    for name in ("X-Content-Type-Options", "X-Request-ID", "X-RateLimit-Remaining"):
        assert name.lower() in names


def json_answer(**headers):
    return ApiResponse(b'{"ok":true}', 200, headers, content_type="application/json")


def streamed_answer():
    return ApiResponse(iter([b"{", b"}"]), 200, content_type="application/json")


#: Answers that mything's headers-as-they-are path may send, and answers for
#: which Werkzeug must still rewrite something.
ANSWERS_TO_SEND = {
    "JSON": lambda: json_answer(**{"X-Request-ID": "abc", "ETag": '"1-1"'}),
    "JSON to HEAD": lambda: json_answer(),
    "relative Location": lambda: json_answer(Location="/api/orgs/acme"),
    "IRI Location": lambda: json_answer(Location="/orgs/café"),
    "IRI Content-Location": lambda: json_answer(**{"Content-Location": "/é"}),
    "204 with a length": lambda: ApiResponse(b"", 204),
    "304 with entity headers": lambda: ApiResponse(
        b"", 304, {"ETag": '"1-1"', "Content-Type": "application/json"}
    ),
    "no length": lambda: ApiResponse([b"{}"], 200, content_type="application/json"),
    "streamed": streamed_answer,
}


@pytest.mark.parametrize("build", ANSWERS_TO_SEND.values(), ids=ANSWERS_TO_SEND)
def test_answers_reach_the_server_as_werkzeug_sends_them(build):
    method = "HEAD" if build is ANSWERS_TO_SEND["JSON to HEAD"] else "GET"
    environ = EnvironBuilder("/api/x", method=method).get_environ()
    ours, werkzeugs = build(), build()
    ours_iter, ours_status, ours_headers = ours.get_wsgi_response(environ)
    iterable, status, headers = Response.get_wsgi_response(werkzeugs, environ)
    assert (ours_status, ours_headers) == (status, headers)
    assert b"".join(ours_iter) == b"".join(iterable)


def test_a_location_a_host_adds_is_sent_as_werkzeug_sends_it(thing):
    @thing.flask_app.after_request
    def redirect_elsewhere(response):
        response.headers["Location"] = "/orgs/café"
        return response

    response = Client(thing).get("/add?a=1&b=2")
    assert response.headers["Location"] == "/orgs/caf%C3%A9"


def test_requests_are_answered_when_the_environ_holds_another_request(thing):
    # mything finds the request object through environ["werkzeug.request"];
    # a host hook that builds a Request of its own from the environ replaces
    # it there, and mything must still answer from the right request.
    @thing.flask_app.before_request
    def inspect_the_request_as_werkzeug():
        Request(request.environ)

    response = Client(thing).get("/add?a=1&b=2")
    assert response.json == {"sum": 3}
    assert response.headers["X-RateLimit-Remaining"]
    assert response.headers["X-Request-ID"]


BINDINGS = [
    {"path": "/add", "query_string": "a=1&b=2"},
    {"path": "/orgs/acme/notes/12", "base_url": "http://Example.COM:8080/api/"},
    {"path": "/orgs/ac%C3%A9me/notes", "base_url": "https://bücher.example/api"},
    {"path": "/orgs/caf%E9", "base_url": "http://example.com:80/"},
    {"path": "/docs", "method": "OPTIONS", "base_url": "https://x:443/site/api"},
    {"path": "/add", "query_string": "q=%ff&r=é", "method": "POST"},
    {"path": "/no/such/page", "base_url": "http://[::1]:8000/"},
    {"path": "", "base_url": "http://example.com/api"},
]


@pytest.mark.parametrize("request_args", BINDINGS)
def test_urls_bind_as_flask_binds_them(app, request_args):
    # ApiFlask binds the URL map from what the request has already read;
    # it must match and build exactly what Flask's own binding does.
    environ = EnvironBuilder(**request_args).get_environ()
    ours = app.create_url_adapter(app.request_class(environ))
    flasks = Flask.create_url_adapter(app, app.request_class(environ))

    def matched(adapter):
        try:
            rule, arguments = adapter.match(return_rule=True)
        except HTTPException as exc:
            return exc.code
        return rule.rule, arguments

    def built(adapter):
        values = {"slug": "é", "x": "1"}
        return adapter.build("notes.list_notes", values, force_external=True)

    assert matched(ours) == matched(flasks)
    assert built(ours) == built(flasks)


def test_with_a_server_name_urls_are_built_for_it_as_flask_does(make_thing):
    app = make_thing(SERVER_NAME="api.example.com").flask_app
    environ = EnvironBuilder(
        "/add", base_url="http://other.example:8000/"
    ).get_environ()
    adapter = app.create_url_adapter(app.request_class(environ))
    built = adapter.build("demo.add_numbers_from_query", force_external=True)
    assert built == "http://api.example.com/add"


def test_with_trusted_hosts_another_host_is_a_json_400(make_thing):
    thing = make_thing(TRUSTED_HOSTS=["api.example.com"])
    trusted = Client(thing).get("/add?a=1&b=2", base_url="http://api.example.com/")
    assert trusted.json == {"sum": 3}
    other = Client(thing).get("/add?a=1&b=2", base_url="http://evil.example/")
    assert other.status_code == 400
    assert other.json["status"] == 400


TRUSTED = ["api.example.com", ".example.org", "127.0.0.1", "[::1]"]


@pytest.mark.parametrize(
    "host",
    [
        "api.example.com",
        "api.example.com:8443",
        "api.example.com:80",
        "API.EXAMPLE.COM",
        "Api.Example.Com:8443",
        "api.example.com.",
        "evil.example",
        "api.example.com.evil.example",
        "example.org",
        "docs.example.org:8000",
        "127.0.0.1:5000",
        "[::1]",
        "[::1]:8080",
        "[::2]",
        "[::1",
        "api.example.com:0",
        "api.example.com:99999",
        "api.example.com@evil.example",
    ],
)
def test_trusted_hosts_decide_as_werkzeug_s_host_check_does(make_thing, host):
    thing = make_thing(TRUSTED_HOSTS=TRUSTED)
    try:
        get_host("http", host, None, TRUSTED)
        trusted = True
    except SecurityError:
        trusted = False

    response = Client(thing).get("/add?a=1&b=2", headers={"Host": host})

    if trusted:
        assert response.json == {"sum": 3}
    else:
        assert response.status_code == 400
        assert response.json["code"] == "bad_request"
        assert response.json["request_id"] == response.headers["X-Request-ID"]


def test_an_untrusted_host_is_refused_before_credentials_or_limits(make_thing):
    thing = make_thing(TRUSTED_HOSTS=["api.example.com"], RATELIMIT="1/minute")
    client = Client(thing)
    for _ in range(3):
        response = client.post(
            "/orgs",
            json={"slug": "acme", "name": "Acme"},
            headers={"Host": "evil.example", "Authorization": "Bearer mt_garbage"},
        )
        assert response.status_code == 400
        assert response.json["code"] == "bad_request"
        assert "evil.example" not in response.headers.get("Location", "")
    # Nothing was charged: the trusted host still has its one request.
    trusted = client.get("/add?a=1&b=2", headers={"Host": "api.example.com"})
    assert trusted.status_code == 200


def test_trusted_hosts_come_comma_separated_from_the_environment(
    make_thing, monkeypatch
):
    monkeypatch.setenv("MYTHING_TRUSTED_HOSTS", " api.example.com, .example.org ,")
    thing = make_thing()
    assert settings_of(thing.flask_app).trusted_hosts == [
        "api.example.com",
        ".example.org",
    ]
    monkeypatch.setenv("MYTHING_TRUSTED_HOSTS", "")
    assert settings_of(make_thing().flask_app).trusted_hosts is None


@pytest.mark.parametrize(
    "entry", ["https://api.example.com", "api.example.com/api", "api example"]
)
def test_a_trusted_host_that_is_no_host_name_stops_the_app(make_thing, entry):
    with pytest.raises(ConfigError, match="TRUSTED_HOSTS"):
        make_thing(TRUSTED_HOSTS=[entry])


#: What a process serving requests never needs, and so never imports.
LAZY = ("alembic", "mako", "sqlalchemy.dialects.mysql", "voluptuous_openapi")

SERVE_THEN_DOCUMENT = """
import json, sys
import mything
thing = mything.MyThing({"DATABASE_URI": sys.argv[1]})
client = thing.flask_app.test_client()
assert client.post("/orgs", json={"slug": "a", "name": "A"}).status_code == 401
assert client.get("/add?a=1&b=2").get_json() == {"sum": 3}
serving = sorted(name for name in sys.modules if name.startswith(%(lazy)r))
assert client.get("/openapi.json").status_code == 200
documenting = sorted(name for name in sys.modules if name.startswith(%(lazy)r))
print(json.dumps([serving, documenting]))
"""


def test_serving_imports_neither_alembic_nor_mysql_nor_the_openapi_generator(
    tmp_path,
):
    # A fresh interpreter: this one has imported everything already.
    database = tmp_path / "ready.db"
    ready = mything.MyThing({"DATABASE_URI": f"sqlite:///{database}"})
    ready.init_db()
    get_database(ready.flask_app).dispose()
    code = SERVE_THEN_DOCUMENT % {"lazy": LAZY}
    finished = subprocess.run(
        [sys.executable, "-c", code, f"sqlite:///{database}"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert finished.returncode == 0, finished.stderr
    serving, documenting = json.loads(finished.stdout)
    assert serving == []
    assert "voluptuous_openapi" in documenting
