"""Rate limits: the headers, the 429, who is counted, and where counts live.

Most tests use a thing that lets each caller make three requests a minute:
the ``mything_config`` fixture below adds that limit to the configuration of
``conftest.py``'s ``thing``, so the ``client``, ``alice`` and ``bob`` fixtures
use it too.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
import uuid

import pytest
import redis
import requests
from helpers.callers import make_caller
from helpers.databases import recorded_statements
from helpers.processes import free_port, gunicorn
from helpers.redis_server import redis_server, redis_server_available
from helpers.services import unavailable

from mything import ConfigError, MyThing, token_format
from mything.config import settings_of
from mything.db import get_database
from mything.ratelimit import LocalWindow

ADD = "/add?a=1&b=2"
APP = "mything:MyThing()"
SHARED_REDIS = "redis://127.0.0.1:6379"
LIMIT_HEADERS = (
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "RateLimit-Policy",
    "RateLimit",
)


@pytest.fixture
def mything_config(mything_config):
    """Let each caller make three requests a minute."""
    return {**mything_config, "RATELIMIT": "3/minute"}


def check_limit_headers(response, *, limit, remaining, window=60):
    """Assert that ``response`` reports ``remaining`` of ``limit`` per ``window``."""
    headers = response.headers
    assert headers["X-RateLimit-Limit"] == str(limit)
    assert headers["X-RateLimit-Remaining"] == str(remaining)
    reset = int(headers["X-RateLimit-Reset"])
    assert time.time() < reset <= time.time() + window + 1
    assert headers["RateLimit-Policy"] == f'"default";q={limit};w={window}'
    match = re.fullmatch(rf'"default";r={remaining};t=(\d+)', headers["RateLimit"])
    assert match is not None, headers["RateLimit"]
    assert 0 < int(match[1]) <= window


def check_no_limit_headers(response):
    for name in (*LIMIT_HEADERS, "Retry-After"):
        assert name not in response.headers


def check_rate_limited(response, *, limit):
    assert response.status_code == 429
    body = response.get_json()
    assert body["status"] == 429
    assert body["code"] == "rate_limited"
    assert body["message"]
    assert body["request_id"] == response.headers["X-Request-ID"]
    retry_after = response.headers["Retry-After"]
    assert retry_after.isdigit()
    assert 1 <= int(retry_after) <= 60
    check_limit_headers(response, limit=limit, remaining=0)


# Headers and the 429


def test_every_limited_response_says_how_many_requests_remain(client):
    for remaining in (2, 1, 0):
        response = client.get(ADD)
        assert response.status_code == 200
        check_limit_headers(response, limit=3, remaining=remaining)


@pytest.mark.parametrize(
    ("config", "limit", "window"),
    [
        ({}, 600, 60),
        ({"RATELIMIT": "10/hour"}, 10, 3600),
        ({"RATELIMIT": "5 per day"}, 5, 86400),
    ],
)
def test_the_policy_header_states_the_configured_limit(
    make_thing, config, limit, window
):
    response = make_thing(**config).flask_app.test_client().get(ADD)
    assert response.status_code == 200
    check_limit_headers(response, limit=limit, remaining=limit - 1, window=window)


def test_past_the_limit_a_429_in_the_error_shape_says_when_to_retry(client):
    for _ in range(3):
        assert client.get(ADD).status_code == 200
    check_rate_limited(client.get(ADD), limit=3)
    # Every kind of request counts against the same budget.
    check_rate_limited(client.post("/add", json={"a": 1, "b": 2}), limit=3)
    check_rate_limited(client.get("/no-such-page"), limit=3)


@pytest.mark.parametrize(
    "path",
    [
        "/healthz",
        "/readyz",
        "/openapi.json",
        "/docs",
    ],
)
def test_probes_and_docs_are_never_limited(app, client, path):
    if path not in {rule.rule for rule in app.url_map.iter_rules()}:
        pytest.skip(f"{path} is not served by this app")
    for _ in range(5):
        response = client.get(path)
        assert response.status_code == 200
        check_no_limit_headers(response)
    # They did not use the caller's budget either.
    for remaining in (2, 1, 0):
        check_limit_headers(client.get(ADD), limit=3, remaining=remaining)
    assert client.get(ADD).status_code == 429
    response = client.get(path)
    assert response.status_code == 200
    check_no_limit_headers(response)


# Who is counted


def test_each_user_has_a_budget_of_their_own(client, alice, bob):
    for remaining in (2, 1, 0):
        response = client.get("/me", headers=alice.headers)
        assert response.status_code == 200
        check_limit_headers(response, limit=3, remaining=remaining)
    check_rate_limited(client.get("/me", headers=alice.headers), limit=3)
    # Alice's budget follows her to another address ...
    elsewhere = {"REMOTE_ADDR": "192.0.2.99"}
    response = client.get("/me", headers=alice.headers, environ_base=elsewhere)
    check_rate_limited(response, limit=3)
    # ... and is neither Bob's nor that of her address.
    response = client.get("/me", headers=bob.headers)
    assert response.status_code == 200
    check_limit_headers(response, limit=3, remaining=2)
    check_limit_headers(client.get(ADD), limit=3, remaining=2)


def test_anonymous_callers_are_counted_per_address(client):
    first = {"REMOTE_ADDR": "192.0.2.1"}
    second = {"REMOTE_ADDR": "192.0.2.2"}
    for _ in range(3):
        assert client.get(ADD, environ_base=first).status_code == 200
    check_rate_limited(client.get(ADD, environ_base=first), limit=3)
    response = client.get(ADD, environ_base=second)
    assert response.status_code == 200
    check_limit_headers(response, limit=3, remaining=2)


def test_a_forged_forwarded_address_is_ignored_without_trusted_proxies(client):
    peer = {"REMOTE_ADDR": "192.0.2.1"}
    for n in range(3):
        forged = {"X-Forwarded-For": f"198.51.100.{n}"}
        response = client.get(ADD, headers=forged, environ_base=peer)
        check_limit_headers(response, limit=3, remaining=2 - n)
    forged = {"X-Forwarded-For": "198.51.100.200"}
    check_rate_limited(client.get(ADD, headers=forged, environ_base=peer), limit=3)


def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(make_thing):
    client = make_thing(RATELIMIT="3/minute", TRUSTED_PROXIES=1).flask_app.test_client()
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    first = {"X-Forwarded-For": "198.51.100.1"}
    second = {"X-Forwarded-For": "198.51.100.2"}
    for _ in range(3):
        assert client.get(ADD, headers=first, environ_base=proxy).status_code == 200
    check_rate_limited(client.get(ADD, headers=first, environ_base=proxy), limit=3)
    response = client.get(ADD, headers=second, environ_base=proxy)
    assert response.status_code == 200
    check_limit_headers(response, limit=3, remaining=2)


def test_a_burst_from_one_address_admits_exactly_the_limit(make_thing):
    client = make_thing(RATELIMIT="100/minute").flask_app.test_client()
    statuses = []
    for _ in range(10_000):
        response = client.get(ADD)
        assert response.get_json() is not None
        statuses.append(response.status_code)
    assert statuses == [200] * 100 + [429] * 9_900


# Configuration


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("RATELIMIT", "banana"),
        ("RATELIMIT", "10/fortnight"),
        ("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:1"),
        ("RATELIMIT_STORAGE_URI", "bogus://x"),
        ("RATELIMIT_STORAGE_URI", "async+memory://"),
        ("RATELIMIT", "0/minute"),
        ("RATELIMIT", "10/second;600/minute"),
    ],
)
def test_a_bad_limit_or_storage_stops_the_app_at_start(tmp_path, key, value):
    config = {"DATABASE_URI": f"sqlite:///{tmp_path / 'mything.db'}", key: value}
    with pytest.raises(ConfigError, match=rf"\b{key}\b"):
        MyThing(config)


def test_disabled_rate_limits_add_no_headers_and_never_answer_429(make_thing):
    thing = make_thing(RATELIMIT="1/minute", RATELIMIT_ENABLED=False)
    client = thing.flask_app.test_client()
    for _ in range(5):
        response = client.get(ADD)
        assert response.status_code == 200
        check_no_limit_headers(response)


@pytest.mark.slow
def test_gunicorn_will_not_start_with_an_unparseable_limit(tmp_path):
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{free_port()}",
        APP,
    ]
    env = {
        **os.environ,
        "MYTHING_DATABASE_URI": f"sqlite:///{tmp_path / 'mything.db'}",
        "MYTHING_RATELIMIT": "banana",
    }
    result = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert re.search(r"ConfigError: .*\bRATELIMIT\b.*'banana'", output), output


# Where counts live


def test_two_things_in_one_process_do_not_share_counts(make_thing):
    first = make_thing(RATELIMIT="3/minute").flask_app.test_client()
    second = make_thing(RATELIMIT="3/minute").flask_app.test_client()
    for _ in range(3):
        assert first.get(ADD).status_code == 200
    check_rate_limited(first.get(ADD), limit=3)
    response = second.get(ADD)
    assert response.status_code == 200
    check_limit_headers(response, limit=3, remaining=2)


@pytest.fixture
def shared_redis():
    """A client of the Redis server the tests share."""
    client = redis.Redis.from_url(SHARED_REDIS, socket_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        client.close()
        unavailable(f"Redis is not reachable at {SHARED_REDIS}: {exc}")
    yield client
    client.close()


@pytest.fixture
def key_prefix(shared_redis):
    """A Redis key prefix of this test alone; its keys are deleted afterwards."""
    prefix = f"mything-test-{uuid.uuid4().hex}"
    yield prefix
    for key in shared_redis.scan_iter(match=prefix + "*"):
        shared_redis.delete(key)


@pytest.fixture
def on_shared_redis(make_thing, shared_redis):
    """Build things that count in the shared Redis, three requests a minute.

    Their keys are deleted afterwards.
    """
    built = []

    def make(config: dict | None = None, /, **settings: object) -> MyThing:
        limits = {"RATELIMIT": "3/minute", "RATELIMIT_STORAGE_URI": SHARED_REDIS}
        built.append(make_thing({**limits, **(config or {})}, **settings))
        return built[-1]

    yield make
    for thing in built:
        prefix = settings_of(thing.flask_app).ratelimit_key_prefix
        if prefix is None:
            prefix = f"mything:LIMITER/{get_database(thing.flask_app).instance_id()}"
        for key in shared_redis.scan_iter(match=prefix + "*"):
            shared_redis.delete(key)


def use_up(client, **headers) -> None:
    """Make the three requests a minute that ``on_shared_redis`` allows."""
    for _ in range(3):
        assert client.get(ADD, **headers).status_code == 200
    check_rate_limited(client.get(ADD, **headers), limit=3)


def test_two_instances_on_one_redis_keep_their_own_counts(on_shared_redis):
    first, second = on_shared_redis(), on_shared_redis()
    # User ids are per database: alice on one and bob on the other are both 1.
    alice, bob = make_caller(first, "alice"), make_caller(second, "bob")
    first_client = first.flask_app.test_client()
    second_client = second.flask_app.test_client()

    use_up(first_client, headers=alice.headers)
    use_up(first_client)

    for headers in (bob.headers, {}):
        response = second_client.get(ADD, headers=headers)
        assert response.status_code == 200
        check_limit_headers(response, limit=3, remaining=2)


def test_instances_on_one_database_share_their_counts(on_shared_redis, tmp_path):
    database = {"DATABASE_URI": f"sqlite:///{tmp_path / 'shared.db'}"}
    first, second = on_shared_redis(database), on_shared_redis(database)
    alice = make_caller(first, "alice")

    use_up(first.flask_app.test_client(), headers=alice.headers)
    use_up(first.flask_app.test_client())

    second_client = second.flask_app.test_client()
    check_rate_limited(second_client.get(ADD, headers=alice.headers), limit=3)
    check_rate_limited(second_client.get(ADD), limit=3)


def test_instances_given_one_key_prefix_share_counts_as_documented(
    on_shared_redis, key_prefix
):
    first = on_shared_redis(RATELIMIT_KEY_PREFIX=key_prefix)
    second = on_shared_redis(RATELIMIT_KEY_PREFIX=key_prefix)
    # Two users of two databases, with the same id: one count.
    alice, bob = make_caller(first, "alice"), make_caller(second, "bob")

    use_up(first.flask_app.test_client(), headers=alice.headers)

    response = second.flask_app.test_client().get(ADD, headers=bob.headers)
    check_rate_limited(response, limit=3)


@pytest.mark.slow
def test_workers_on_two_hosts_share_one_count_in_redis(
    tmp_path, shared_redis, key_prefix
):
    limit = 20
    env = {
        "MYTHING_DATABASE_URI": f"sqlite:///{tmp_path / 'shared.db'}",
        "MYTHING_RATELIMIT": f"{limit}/minute",
        "MYTHING_RATELIMIT_STORAGE_URI": SHARED_REDIS,
        "MYTHING_RATELIMIT_KEY_PREFIX": key_prefix,
    }
    seen = []
    with (
        gunicorn(APP, env=env, workers=2, cwd=tmp_path) as first,
        gunicorn(APP, env=env, workers=2, cwd=tmp_path) as second,
    ):
        for n in range(2 * limit):
            host = (first, second)[n % 2]
            # A new connection each time, so that every worker gets requests.
            with requests.get(
                host + ADD, headers={"Connection": "close"}, timeout=10
            ) as response:
                assert response.json()
                seen.append(
                    (
                        response.status_code,
                        response.headers["X-RateLimit-Remaining"],
                    )
                )
    admitted = [(200, str(limit - 1 - n)) for n in range(limit)]
    refused = [(429, "0")] * limit
    assert seen == admitted + refused
    assert list(shared_redis.scan_iter(match=key_prefix + "*"))


def test_when_redis_goes_away_requests_are_served_without_a_limit(make_thing, caplog):
    if not redis_server_available():
        unavailable("redis-server is not on the PATH")
    port = free_port()
    with redis_server(port) as uri:
        thing = make_thing(RATELIMIT="2/minute", RATELIMIT_STORAGE_URI=uri)
        client = thing.flask_app.test_client()
        for remaining in (1, 0):
            check_limit_headers(client.get(ADD), limit=2, remaining=remaining)
        check_rate_limited(client.get(ADD), limit=2)

    # Redis is stopped: mything fails open, and says so in its log.
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            response = client.get(ADD)
            assert response.status_code == 200
            check_no_limit_headers(response)
    warnings = [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.WARNING
    ]
    assert any("rate limit storage" in message for message in warnings), warnings

    # Redis is back, empty: counting starts again.
    with redis_server(port):
        for remaining in (1, 0):
            check_limit_headers(client.get(ADD), limit=2, remaining=remaining)
        check_rate_limited(client.get(ADD), limit=2)


def test_callers_quiet_for_a_whole_window_are_forgotten():
    window = LocalWindow(amount=2, seconds=1)
    window.hit("addr:1")
    window.hit("addr:2")
    time.sleep(1.1)
    allowed, remaining, _ = window.hit("addr:3")
    assert (allowed, remaining) == (True, 1)
    # The table of callers holds only the one seen within the window.
    assert list(window._hits) == ["addr:3"]


# Limits first, queries after ------------------------------------------------


def test_a_caller_over_its_limit_is_refused_without_a_query(make_thing):
    thing = make_thing(RATELIMIT="3/minute")
    thing.create_user("alice")
    headers = {"Authorization": f"Bearer {thing.create_token('alice')}"}
    client = thing.flask_app.test_client()
    for _ in range(3):
        assert client.get("/me", headers=headers).status_code == 200

    with recorded_statements(thing.flask_app) as statements:
        refused = [client.get("/me", headers=headers) for _ in range(5)]

    assert {response.status_code for response in refused} == {429}
    assert statements == []


def test_a_user_with_several_tokens_still_has_one_limit(make_thing):
    thing = make_thing(RATELIMIT="4/minute")
    thing.create_user("alice")
    first, second = (
        {"Authorization": f"Bearer {thing.create_token('alice')}"} for _ in range(2)
    )
    client = thing.flask_app.test_client()
    statuses = [client.get("/me", headers=h).status_code for h in [first, second] * 3]
    assert statuses == [200, 200, 200, 200, 429, 429]


def test_a_flood_of_made_up_tokens_is_refused_before_any_lookup(make_thing):
    thing = make_thing(RATELIMIT="5/minute")
    thing.create_user("alice")
    real = {"Authorization": f"Bearer {thing.create_token('alice')}"}
    client = thing.flask_app.test_client()

    def made_up():
        return {"Authorization": f"Bearer {token_format.new_token()}"}

    failed = [client.get("/add?a=1&b=1", headers=made_up()) for _ in range(5)]
    assert {response.status_code for response in failed} == {401}
    with recorded_statements(thing.flask_app) as statements:
        refused = [client.get("/add?a=1&b=1", headers=made_up()) for _ in range(20)]
        # From that address, until the window moves on, bearer requests are
        # refused before anyone could tell a real token from a made-up one.
        refused.append(client.get("/me", headers=real))
    assert {response.status_code for response in refused} == {429}
    assert all("Retry-After" in response.headers for response in refused)
    assert statements == []
    # Other addresses, and requests without credentials, go on.
    other = {"REMOTE_ADDR": "192.0.2.7"}
    assert client.get("/me", headers=real, environ_base=other).status_code == 200
    assert client.get("/add?a=1&b=1").status_code == 200


def test_without_cors_a_preflight_is_counted_and_its_token_never_looked_up(
    make_thing,
):
    thing = make_thing(RATELIMIT="2/minute")
    thing.create_user("alice")
    headers = {
        "Origin": "https://app.example",
        "Access-Control-Request-Method": "POST",
        "Authorization": f"Bearer {thing.create_token('alice')}",
    }
    client = thing.flask_app.test_client()
    with recorded_statements(thing.flask_app) as statements:
        answers = [client.options("/orgs", headers=headers) for _ in range(3)]
    assert [response.status_code for response in answers][2] == 429
    assert "X-RateLimit-Limit" in answers[0].headers
    assert statements == []


def test_wrong_metrics_tokens_are_limited_per_address_and_the_right_one_never(
    make_thing,
):
    token = "scraper-token-0123456789"
    thing = make_thing(METRICS_ENABLED=True, METRICS_TOKEN=token)
    client = thing.flask_app.test_client()
    wrong = {"Authorization": "Bearer guess-0123456789abcdef"}
    statuses = [client.get("/metrics", headers=wrong).status_code for _ in range(12)]
    assert statuses == [401] * 10 + [429] * 2
    right = {"Authorization": f"Bearer {token}"}
    assert client.get("/metrics", headers=right).status_code == 200
