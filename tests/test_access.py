"""Access records, the request id on mything's log records, and JSON logs."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap

import pytest
from flask import Blueprint
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client

from mything import create_app
from mything.db import get_database
from mything.logs import JSONFormatter

ACCESS_FIELDS = (
    "method",
    "route",
    "status",
    "duration_ms",
    "request_id",
    "user",
    "response_bytes",
    "instance",
)


@pytest.fixture
def access_records(caplog):
    """The records logged on ``mything.access``, captured from INFO up."""
    caplog.set_level(logging.INFO, logger="mything.access")
    return lambda: [r for r in caplog.records if r.name == "mything.access"]


@pytest.fixture
def failing_app(tmp_path):
    """An app with one extra route that raises an unexpected exception."""
    app = create_app({"DATABASE_URI": f"sqlite:///{tmp_path / 'app.db'}"})
    blueprint = Blueprint("failing", __name__)

    @blueprint.get("/boom")
    def boom():
        raise RuntimeError("boom")

    app.register_blueprint(blueprint)
    yield app
    get_database(app).dispose()


@pytest.mark.parametrize(
    ("method", "path", "status", "route"),
    [
        ("GET", "/add?a=1&b=2", 200, "/add"),
        ("GET", "/add?a=x", 400, "/add"),
        ("GET", "/me", 401, "/me"),
        ("GET", "/orgs/acme/notes/123", 401, "/orgs/<slug>/notes/<id:note_id>"),
        ("GET", "/no/such/path", 404, "<unmatched>"),
        ("DELETE", "/add", 405, "<unmatched>"),
        ("HEAD", "/healthz", 200, "/healthz"),
    ],
)
def test_every_request_leaves_one_access_record(
    client, access_records, method, path, status, route
):
    response = client.open(path, method=method)
    assert response.status_code == status
    (record,) = access_records()
    assert record.levelno == logging.INFO
    assert (record.method, record.route, record.status) == (method, route, status)
    assert record.request_id == response.headers["X-Request-ID"]
    assert record.user is None
    assert record.response_bytes == int(response.headers["Content-Length"])
    assert record.duration_ms >= 0
    assert record.getMessage().startswith(f"{method} {route} {status} ")


def test_a_429_is_recorded(make_thing, access_records):
    client = make_thing(RATELIMIT="1/minute").flask_app.test_client()
    statuses = [client.get("/add?a=1&b=2").status_code for _ in range(2)]
    assert statuses == [200, 429]
    assert [record.status for record in access_records()] == [200, 429]


def test_a_304_is_recorded_with_no_body(client, access_records):
    asset = "/docs/assets/swagger-ui/swagger-ui.css"
    with client.get(asset) as first:
        etag = first.headers["ETag"]
    with client.get(asset, headers={"If-None-Match": etag}) as again:
        pass
    assert again.status_code == 304
    records = access_records()
    assert [record.status for record in records] == [200, 304]
    assert records[1].response_bytes == 0
    assert records[1].route == "/docs/assets/<path:filename>"


def test_an_unhandled_exception_is_recorded_as_its_500(failing_app, access_records):
    response = failing_app.test_client().get("/boom")
    assert response.status_code == 500
    (record,) = access_records()
    assert (record.route, record.status) == ("/boom", 500)
    assert record.request_id == response.json["request_id"]


def test_the_record_names_the_caller_and_nothing_they_sent(
    client, alice, access_records, caplog
):
    secret = "body-secret-1234"
    client.get("/me", headers=alice.headers)
    client.post("/add", json={"a": 1, "b": 2, "note": secret}, headers=alice.headers)
    records = access_records()
    assert [record.user for record in records] == ["alice", "alice"]
    formatted = "\n".join(JSONFormatter().format(record) for record in records)
    for sent in (alice.token, "Authorization", "Bearer", secret):
        assert sent not in formatted
        assert sent not in caplog.text


def test_building_the_record_never_queries_the_database(client, alice, caplog):
    # The caller is known once the rate limiter or the view has asked; the
    # access record reads it from the request, and the engine logs any SQL.
    client.get("/me", headers=alice.headers)
    caplog.set_level(logging.INFO, logger="mything.access")
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    response = client.get("/healthz", headers=alice.headers)
    assert response.status_code == 200
    assert [r.name for r in caplog.records] == ["mything.access"]


def test_records_logged_during_a_request_carry_its_request_id(tmp_path, caplog):
    app = create_app({"DATABASE_URI": f"sqlite:///{tmp_path / 'missing' / 'x.db'}"})
    caplog.clear()  # What building the app logged is not about a request.
    try:
        response = app.test_client().get("/readyz")
    finally:
        get_database(app).dispose()
    assert response.status_code == 503
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.name == "mything"
    assert warning.request_id == response.headers["X-Request-ID"]


def test_records_logged_outside_a_request_have_no_request_id(caplog):
    create_app()  # prepares mything's loggers
    logging.getLogger("mything").warning("not about a request")
    (record,) = caplog.records
    assert record.request_id is None


def test_other_loggers_records_get_no_request_id(client, caplog):
    @client.application.before_request
    def log_as_a_host_would():
        logging.getLogger("host.views").warning("the host's own record")

    client.get("/healthz")
    (record,) = [r for r in caplog.records if r.name == "host.views"]
    assert not hasattr(record, "request_id")


@pytest.mark.parametrize(
    "sent",
    ["abc\ndef", 'abc"def', "x" * 500, "abc\r\nX-Forged: 1"],
    ids=["newline", "quote", "500 chars", "header injection"],
)
def test_a_hostile_request_id_is_replaced_and_never_logged(
    client, access_records, caplog, sent
):
    # Werkzeug's test client refuses such header values; a server may not.
    response = client.get("/healthz", environ_overrides={"HTTP_X_REQUEST_ID": sent})
    (record,) = access_records()
    assert record.request_id == response.headers["X-Request-ID"] != sent
    assert sent not in caplog.text
    assert sent not in JSONFormatter().format(record)


def test_a_method_that_is_not_a_token_is_logged_as_other(client, access_records):
    client.get("/healthz", environ_overrides={"REQUEST_METHOD": 'GE"T\n'})
    (record,) = access_records()
    assert record.method == "_OTHER"


@pytest.mark.parametrize("method", ["PROPFIND", "BREW", "GETX", "get"])
def test_a_method_outside_the_standard_set_is_logged_as_other(
    client, access_records, method
):
    client.open("/healthz", method=method)
    (record,) = access_records()
    assert record.method == "_OTHER"


def test_the_json_formatter_writes_one_escaped_object_per_line(client, access_records):
    client.get('/orgs/"quoted"\nslug/notes', headers={"X-Request-ID": "abc-123"})
    (record,) = access_records()
    record.hostile = 'a "quoted"\nline\u2028 and </script>'
    line = JSONFormatter().format(record)
    assert "\n" not in line
    fields = json.loads(line)
    assert {key: fields[key] for key in ACCESS_FIELDS} == {
        key: getattr(record, key) for key in ACCESS_FIELDS
    }
    assert fields["request_id"] == "abc-123"
    assert fields["hostile"] == record.hostile
    assert (fields["logger"], fields["level"]) == ("mything.access", "INFO")
    assert fields["message"] == record.getMessage()


def test_the_json_formatter_keeps_a_traceback_on_the_line():
    try:
        raise ValueError('bad "value"\nsecond line')
    except ValueError:
        record = logging.getLogger("mything").makeRecord(
            "mything", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    line = JSONFormatter().format(record)
    assert "\n" not in line
    assert 'ValueError: bad "value"\nsecond line' in json.loads(line)["exc_info"]


LOGGING_STATE = """
import logging

def state():
    loggers = {"": logging.getLogger()}
    loggers.update(
        (name, logger)
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger) and name.split(".")[0] != "mything"
    )
    return {
        name: (logger.level, list(logger.handlers), list(logger.filters),
               logger.propagate, logger.disabled)
        for name, logger in loggers.items()
    }
"""


def test_logging_stays_the_hosts(tmp_path):
    script = LOGGING_STATE + textwrap.dedent(
        f"""
        import json
        from flask import Blueprint
        from mything import MyThing
        before = state()
        thing = MyThing({{"DATABASE_URI": "sqlite:///{tmp_path / "missing" / "x.db"}",
                          "RATELIMIT": "2/minute"}})
        blueprint = Blueprint("failing", __name__)
        blueprint.get("/boom")(lambda: 1 / 0)
        thing.flask_app.register_blueprint(blueprint)
        client = thing.flask_app.test_client()
        statuses = [client.get(path).status_code
                    for path in ("/boom", "/readyz", "/nope", "/nope")]
        after = {{name: value for name, value in state().items() if name in before}}
        mything_logger = logging.getLogger("mything")
        print(json.dumps({{
            "statuses": statuses,
            "unchanged": before == after,
            "handlers": [type(h).__name__ for h in mything_logger.handlers],
            "level": mything_logger.level,
        }}))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    # An unhandled error, a database warning, a 404 and a 429 were logged...
    assert outcome["statuses"] == [500, 503, 404, 429]
    # ...and nothing but mything's NullHandler was added to any logger.
    assert outcome["unchanged"] is True
    assert outcome["handlers"] == ["NullHandler"]
    assert outcome["level"] == logging.NOTSET
    # With no handler configured anywhere, Python's last resort stays quiet.
    assert result.stderr == ""


def test_records_name_the_instance_by_its_mount_prefix(make_thing, access_records):
    api, admin = make_thing(), make_thing()
    host = DispatcherMiddleware(
        lambda environ, start_response: [], {"/api": api, "/admin/api": admin}
    )
    Client(host).get("/api/add?a=1&b=2")
    Client(host).get("/admin/api/add?a=1&b=2")
    Client(api).get("/add?a=1&b=2")

    records = access_records()
    assert [record.instance for record in records] == ["/api", "/admin/api", "/"]
    assert " instance=/admin/api " in records[1].getMessage()


def test_instance_name_names_the_instance_wherever_it_is_mounted(
    make_thing, access_records
):
    thing = make_thing(INSTANCE_NAME="billing")
    Client(DispatcherMiddleware(thing, {"/api": thing})).get("/api/add?a=1&b=2")

    (record,) = access_records()
    assert record.instance == "billing"
