"""A host's hooks and signals on ``thing.flask_app`` work as in plain Flask.

A host that embeds mything may register its own ``before_request``,
``after_request`` and ``teardown_request`` functions on ``thing.flask_app``
(``async def`` ones too, with Flask's ``async`` extra), call
``after_this_request``, and connect to Flask's request signals. Each of them
must run when and how Flask documents, and whatever they do, mything's
answers stay JSON: a hook that fails gets the same 500 as a failing view.

The basic cases (a sync hook of each kind on a successful request, the
signals of a successful request) are in ``test_app.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from flask import after_this_request, request
from flask.signals import got_request_exception, request_finished, request_started

#: Each hook and receiver is tried as a plain function and as a coroutine
#: function, which Flask runs through its ``async`` extra (asgiref).
STYLES = pytest.mark.parametrize("style", ["def", "async def"])

#: Requests that mything answers along different paths: a view, a probe that
#: never looks at credentials, a routing 404, a validation 400 and a 401.
ANSWERS = [
    pytest.param({"path": "/add", "query_string": "a=1&b=2"}, 200, None, id="200"),
    pytest.param({"path": "/healthz"}, 200, None, id="probe"),
    pytest.param({"path": "/no/such/page"}, 404, "not_found", id="404"),
    pytest.param(
        {"path": "/add", "method": "POST", "json": {"a": "one", "b": 2}},
        400,
        "validation_error",
        id="400",
    ),
    pytest.param({"path": "/me"}, 401, "unauthorized", id="401"),
]


def written_as(style: str, hook: Callable[..., Any]) -> Callable[..., Any]:
    """Return ``hook`` itself (``"def"``), or an ``async def`` that calls it."""
    if style == "def":
        return hook

    async def coroutine_hook(*args: Any, **kwargs: Any) -> Any:
        # Hand control to the event loop once, as real async code would.
        await asyncio.sleep(0)
        return hook(*args, **kwargs)

    return coroutine_hook


def assert_common_headers(response) -> None:
    """Check the headers that every mything answer carries."""
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Request-ID"]


def assert_internal_error(response) -> None:
    """Check that ``response`` is mything's bare JSON 500, not an HTML page."""
    assert response.status_code == 500
    assert response.mimetype == "application/json"
    assert response.json == {
        "message": "Internal Server Error",
        "status": 500,
        "code": "internal_error",
        "request_id": response.headers["X-Request-ID"],
    }
    assert_common_headers(response)


@STYLES
def test_a_before_request_hook_runs_before_every_request(thing, client, style):
    paths = []

    def record_path():
        paths.append(request.path)

    thing.flask_app.before_request(written_as(style, record_path))
    for answer in ANSWERS:
        sent, status, _ = answer.values
        assert client.open(**sent).status_code == status
    assert paths == ["/add", "/healthz", "/no/such/page", "/add", "/me"]


#: What a before_request hook answers with, in the body.
HOOK_ANSWER = {"answer": "<from the hook>"}


@STYLES
@pytest.mark.parametrize(
    "returned, status, host_header",
    [
        (HOOK_ANSWER, 200, None),
        ((HOOK_ANSWER, 202, {"X-Host": "yes"}), 202, "yes"),
    ],
    ids=["dict", "tuple"],
)
def test_a_before_request_hook_that_returns_a_value_answers_instead_of_the_view(
    thing, client, style, returned, status, host_header
):
    thing.flask_app.before_request(written_as(style, lambda: returned))
    response = client.get("/add?a=1&b=2")
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert response.json == HOOK_ANSWER
    # Made by mything's JSON provider, which escapes markup.
    assert b"\\u003cfrom the hook\\u003e" in response.data
    assert response.headers.get("X-Host") == host_header
    assert "X-RateLimit-Remaining" in response.headers
    assert_common_headers(response)


@STYLES
@pytest.mark.parametrize("sent, status, code", ANSWERS)
def test_an_after_request_hook_sees_and_changes_every_answer(
    thing, client, style, sent, status, code
):
    seen = []

    def mark(response):
        seen.append((response.status_code, response.mimetype, response.json))
        response.headers["X-Host"] = "seen"
        return response

    thing.flask_app.after_request(written_as(style, mark))
    response = client.open(**sent)
    assert seen == [(status, "application/json", response.json)]
    assert response.status_code == status
    assert response.headers["X-Host"] == "seen"
    assert response.mimetype == "application/json"
    if code is not None:
        assert response.json["code"] == code
        assert response.json["request_id"] == response.headers["X-Request-ID"]
    assert_common_headers(response)


def test_an_after_request_hook_sees_the_headers_every_answer_carries(thing, client):
    # A host may read mything's headers (to log the request id, say) and
    # replace them; what it sets is what is sent, once.
    seen = {}

    @thing.flask_app.after_request
    def take_over_the_request_id(response):
        seen.update(response.headers)
        response.headers["X-Request-ID"] = "from-the-host"
        return response

    response = client.get("/add?a=1&b=2", headers={"X-Request-ID": "from-the-client"})
    assert seen["X-Request-ID"] == "from-the-client"
    assert seen["X-Content-Type-Options"] == "nosniff"
    assert response.headers.getlist("X-Request-ID") == ["from-the-host"]


@STYLES
@pytest.mark.parametrize("sent, status, code", ANSWERS)
def test_after_this_request_in_a_before_request_hook_runs(
    thing, client, style, sent, status, code
):
    def register():
        @after_this_request
        def once(response):
            response.headers["X-Once"] = request.path
            return response

    thing.flask_app.before_request(written_as(style, register))
    response = client.open(**sent)
    assert response.status_code == status
    assert response.headers["X-Once"] == sent["path"]
    assert response.mimetype == "application/json"


@STYLES
def test_teardown_request_runs_also_when_the_view_raised(thing, client, style):
    app, torn_down = thing.flask_app, []

    def record_path(exc):
        torn_down.append(request.path)

    app.teardown_request(written_as(style, record_path))

    @app.get("/host-fails")
    def host_fails():
        raise RuntimeError("the host's view failed")

    assert client.get("/add?a=1&b=2").status_code == 200
    assert_internal_error(client.get("/host-fails"))
    assert torn_down == ["/add", "/host-fails"]


@STYLES
def test_request_signals_are_sent_for_every_answer(thing, client, style):
    app, sent = thing.flask_app, []

    def started(sender, **extra):
        sent.append(("started", sender, request.path))

    def finished(sender, response, **extra):
        # The response as it leaves, after the after_request hooks.
        sent.append(
            ("finished", sender, response.status_code, response.headers["X-Host"])
        )

    @app.after_request
    def mark(response):
        response.headers["X-Host"] = "seen"
        return response

    with (
        request_started.connected_to(written_as(style, started), sender=app),
        request_finished.connected_to(written_as(style, finished), sender=app),
    ):
        client.get("/add?a=1&b=2")
        client.get("/no/such/page")
    assert sent == [
        ("started", app, "/add"),
        ("finished", app, 200, "seen"),
        ("started", app, "/no/such/page"),
        ("finished", app, 404, "seen"),
    ]


def test_got_request_exception_is_sent_for_an_error_no_handler_answered(thing, client):
    # mything's handlers answer every error of a view or a before_request
    # hook, so Flask counts those as handled; an after_request hook runs
    # after them, and what it raises reaches Flask's last resort.
    app, failure = thing.flask_app, RuntimeError("the host's after_request failed")
    received, torn_down = [], []

    @app.after_request
    def fail(response):
        raise failure

    @app.teardown_request
    def record(exc):
        torn_down.append(exc)

    def receiver(sender, exception, **extra):
        received.append((sender, exception))

    with got_request_exception.connected_to(receiver, sender=app):
        response = client.get("/add?a=1&b=2")
    assert received == [(app, failure)]
    # Flask passes teardown functions the exceptions no handler answered.
    assert torn_down == [failure]
    assert_internal_error(response)


@pytest.mark.parametrize(
    "hook, style",
    [
        ("before_request", "def"),
        ("before_request", "async def"),
        ("after_request", "def"),
        ("after_request", "async def"),
    ],
)
def test_a_hook_that_raises_gets_the_json_500(thing, client, hook, style):
    ran = []

    def fail(*args):
        ran.append(hook)
        raise RuntimeError(f"the host's {hook} failed")

    getattr(thing.flask_app, hook)(written_as(style, fail))
    response = client.get("/add?a=1&b=2")
    assert ran
    assert_internal_error(response)


def test_a_page_size_changed_after_creation_is_used_by_the_next_request(
    thing, client, alice
):
    # PAGE_SIZE is read from the app's config on every request, so a host
    # that changes it later changes the next page, without restarting.
    for slug in ("acme", "globex", "initech"):
        thing.as_user("alice").create_organization(slug, name=slug)
    assert len(client.get("/orgs", headers=alice.headers).json["items"]) == 3

    thing.flask_app.config["PAGE_SIZE"] = 2
    response = client.get("/orgs", headers=alice.headers)
    assert response.status_code == 200
    assert len(response.json["items"]) == 2
    assert response.json["next_cursor"]
    assert 'rel="next"' in response.headers["Link"]


@STYLES
@pytest.mark.parametrize("failing", ["view", "after_request"])
def test_a_got_request_exception_receiver_that_raises_gets_the_json_500(
    thing, client, style, failing, caplog
):
    # A failing receiver of the signal that tells error trackers about a
    # failure must not turn mything's JSON 500 into a server's traceback,
    # whether mything's handler sent the signal or Flask's own did.
    app = thing.flask_app
    register = app.before_request if failing == "view" else app.after_request

    @register
    def fail(*args):
        raise RuntimeError(f"the host's {failing} failed")

    def receiver(sender, **extra):
        raise RuntimeError("the error tracker failed too")

    with got_request_exception.connected_to(written_as(style, receiver), sender=app):
        response = client.get("/add?a=1&b=2")
    assert_internal_error(response)
    logged = [record for record in caplog.records if record.exc_info]
    assert logged
    assert response.headers["X-Request-ID"] in logged[-1].getMessage()


@STYLES
def test_a_request_started_receiver_that_raises_gets_the_json_500(thing, client, style):
    def receiver(sender, **extra):
        raise RuntimeError("the host's receiver failed")

    app = thing.flask_app
    with request_started.connected_to(written_as(style, receiver), sender=app):
        response = client.get("/add?a=1&b=2")
    assert_internal_error(response)
