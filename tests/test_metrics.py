"""Prometheus metrics at /metrics: names, labels, token, and one registry per app."""

from __future__ import annotations

import os
import random
import string
import subprocess
import sys

import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mything import ConfigError, MyThing
from mything.metrics import BUCKETS, SAMPLE_NAMES

LABELS = {
    "mything_http_requests_total": {"method", "route", "status", "mything_instance"},
    "mything_http_request_duration_seconds_bucket": {
        "method",
        "route",
        "le",
        "mything_instance",
    },
    "mything_http_request_duration_seconds_count": {
        "method",
        "route",
        "mything_instance",
    },
    "mything_http_request_duration_seconds_sum": {
        "method",
        "route",
        "mything_instance",
    },
    "mything_http_requests_in_progress": {"method"},
    "mything_rate_limited_total": set(),
    "mything_database_unavailable_total": set(),
    "mything_webhook_deliveries_total": {"outcome"},
    "mything_webhook_oldest_due_seconds": set(),
}
TOKEN = "scraper-token-0123456789"


def scrape(client, **headers) -> list:
    """Every sample of one scrape of ``client``'s /metrics."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.data
    assert response.mimetype == "text/plain"
    return [
        sample
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    ]


def value(samples, name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` that have ``labels``."""
    return sum(
        sample.value
        for sample in samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


@pytest.fixture
def metered(make_thing):
    """A thing with metrics on, and a test client of it."""
    return make_thing(METRICS_ENABLED=True).flask_app.test_client()


def test_metrics_are_off_by_default(client):
    response = client.get("/metrics")
    assert response.status_code == 404
    assert response.json["code"] == "not_found"


def test_a_scrape_has_exactly_the_documented_names_and_labels(metered):
    metered.get("/add?a=1&b=2")
    metered.get("/nope")
    samples = scrape(metered)
    assert {sample.name for sample in samples} == set(LABELS) == SAMPLE_NAMES
    for sample in samples:
        assert set(sample.labels) == LABELS[sample.name], sample
    assert value(samples, "mything_http_requests_total", route="/add") == 1
    assert value(samples, "mything_http_requests_total", status="404") == 1
    buckets = [
        float(sample.labels["le"])
        for sample in samples
        if sample.name == "mything_http_request_duration_seconds_bucket"
        and sample.labels["route"] == "/add"
    ]
    assert (min(buckets), max(buckets[:-1]), buckets[-1]) == (0.005, 10, float("inf"))


def test_routes_are_labelled_by_template(make_thing):
    client = make_thing(METRICS_ENABLED=True, RATELIMIT_ENABLED=False).flask_app
    client = client.test_client()
    for note_id in range(1, 1001):
        assert client.get(f"/orgs/acme/notes/{note_id}").status_code == 401
    samples = scrape(client)
    totals = [s for s in samples if s.name == "mything_http_requests_total"]
    assert [(s.labels["route"], s.value) for s in totals] == [
        ("/orgs/<slug>/notes/<id:note_id>", 1000)
    ]


def test_invented_methods_and_paths_add_a_bounded_number_of_series(make_thing):
    client = make_thing(METRICS_ENABLED=True, RATELIMIT="20/minute").flask_app
    client = client.test_client()
    client.get("/add?a=1&b=2")
    before = len(scrape(client))
    rng = random.Random(22)
    for _ in range(5000):
        method = "".join(rng.choices(string.ascii_uppercase, k=rng.randint(3, 20)))
        path = "/" + "".join(rng.choices(string.ascii_lowercase + "/", k=12))
        client.open(path, method=method)
    samples = scrape(client)
    # _OTHER and <unmatched>, with the statuses 404 and 429: a few series
    # per status, whatever was sent.
    assert len(samples) - before <= 2 * (len(BUCKETS) + 4)
    methods = {sample.labels.get("method") for sample in samples} - {None}
    assert methods == {"GET", "_OTHER"}
    assert value(samples, "mything_http_requests_total", method="_OTHER") == 5000


def test_the_scrape_itself_is_neither_counted_nor_limited(make_thing):
    client = make_thing(METRICS_ENABLED=True, RATELIMIT="2/minute").flask_app
    client = client.test_client()
    for _ in range(5):
        response = client.get("/metrics")
        assert response.status_code == 200
        assert "X-RateLimit-Limit" not in response.headers
    samples = scrape(client)
    assert value(samples, "mything_http_requests_total") == 0
    # The scrape being answered is not in progress either.
    assert value(samples, "mything_http_requests_in_progress") == 0


def test_429s_and_database_outages_are_counted(make_thing, tmp_path):
    limited = make_thing(METRICS_ENABLED=True, RATELIMIT="1/minute")
    client = limited.flask_app.test_client()
    assert [client.get("/add?a=1&b=2").status_code for _ in range(3)] == [200, 429, 429]
    assert value(scrape(client), "mything_rate_limited_total") == 2

    broken = make_thing(
        METRICS_ENABLED=True, DATABASE_URI=f"sqlite:///{tmp_path / 'no' / 'x.db'}"
    )
    client = broken.flask_app.test_client()
    assert client.get("/readyz").status_code == 503
    samples = scrape(client)
    assert value(samples, "mything_database_unavailable_total") == 1
    assert value(samples, "mything_http_requests_total", status="503") == 1


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong-token-0123456789"}, 401),
        ({"Authorization": f"Basic {TOKEN}"}, 401),
        ({"Authorization": f"Bearer {TOKEN}"}, 200),
    ],
    ids=["no token", "wrong token", "wrong scheme", "the token"],
)
def test_a_metrics_token_is_required_when_set(make_thing, headers, status):
    client = make_thing(METRICS_ENABLED=True, METRICS_TOKEN=TOKEN).flask_app
    response = client.test_client().get("/metrics", headers=headers)
    assert response.status_code == status
    if status == 401:
        assert response.json["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="mything"'


def test_a_user_token_is_not_a_metrics_token(make_thing):
    thing = make_thing(METRICS_ENABLED=True, METRICS_TOKEN=TOKEN)
    thing.create_user("alice")
    headers = {"Authorization": f"Bearer {thing.create_token('alice')}"}
    response = thing.flask_app.test_client().get("/metrics", headers=headers)
    assert response.status_code == 401


def test_two_things_in_one_process_each_count_their_own(make_thing):
    first = make_thing(METRICS_ENABLED=True).flask_app.test_client()
    second = make_thing(METRICS_ENABLED=True).flask_app.test_client()
    for _ in range(3):
        first.get("/add?a=1&b=2")
    second.get("/healthz")
    assert value(scrape(first), "mything_http_requests_total") == 3
    assert value(scrape(second), "mything_http_requests_total") == 1


def test_the_default_registry_stays_the_hosts(make_thing):
    host_counter = prometheus_client.Counter("host_orders", "The host's own metric.")
    try:
        client = make_thing(METRICS_ENABLED=True).flask_app.test_client()
        client.get("/add?a=1&b=2")
        host_samples = {
            sample.name
            for family in prometheus_client.REGISTRY.collect()
            for sample in family.samples
        }
        assert "host_orders_total" in host_samples
        assert not any(name.startswith("mything_") for name in host_samples)
        assert "host_orders_total" not in {s.name for s in scrape(client)}
    finally:
        prometheus_client.REGISTRY.unregister(host_counter)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"MYTHING_METRICS_ENABLED": "maybe"}, "METRICS_ENABLED"),
        ({"MYTHING_METRICS_TOKEN": "short-token"}, "METRICS_TOKEN"),
    ],
)
def test_a_bad_metrics_setting_in_the_environment_stops_the_app(
    monkeypatch, tmp_path, env, named
):
    for key, raw in env.items():
        monkeypatch.setenv(key, raw)
    with pytest.raises(ConfigError) as info:
        MyThing({"DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})
    message = str(info.value)
    assert "\n" not in message
    assert named in message
    assert "short-token" not in message


@pytest.mark.parametrize(
    "config",
    [
        {"METRICS_ENABLED": "maybe"},
        {"METRICS_ENABLED": True, "METRICS_TOKEN": "x" * 15},
    ],
)
def test_a_bad_metrics_setting_in_the_config_stops_the_app(make_thing, config):
    with pytest.raises(ConfigError, match=f"value for {list(config)[-1]}"):
        make_thing(config)


def test_a_token_of_16_characters_is_enough(make_thing):
    make_thing(METRICS_ENABLED=True, METRICS_TOKEN="x" * 16)


@pytest.mark.parametrize(
    "directory", ["missing", "a-file", "/sys"], ids=["missing", "a file", "read-only"]
)
def test_an_unusable_multiprocess_directory_stops_the_app(
    make_thing, monkeypatch, tmp_path, directory
):
    (tmp_path / "a-file").write_text("")
    # sysfs refuses new files even to root, whom file modes do not stop.
    path = directory if directory.startswith("/") else str(tmp_path / directory)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", path)
    with pytest.raises(ConfigError, match="PROMETHEUS_MULTIPROC_DIR") as info:
        make_thing(METRICS_ENABLED=True)
    assert path in str(info.value)
    assert "\n" not in str(info.value)


def test_the_multiprocess_directory_is_not_checked_with_metrics_off(
    make_thing, monkeypatch, tmp_path
):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "missing"))
    make_thing()


def run_cli(*args: str, block_prometheus: bool, env: dict[str, str]):
    """Run ``mything ARGS`` in a fresh interpreter, with prometheus_client or not."""
    blocker = "sys.modules['prometheus_client'] = None; " if block_prometheus else ""
    code = f"import sys; {blocker}from mything.__main__ import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_metrics_without_prometheus_client_stop_the_app_naming_the_extra(tmp_path):
    env = {
        "MYTHING_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}",
        "MYTHING_METRICS_ENABLED": "on",
    }
    result = run_cli("routes", block_prometheus=True, env=env)
    assert result.returncode != 0
    (line,) = result.stderr.splitlines()
    assert "mything[metrics]" in line
    assert "Traceback" not in result.stdout + result.stderr


def test_prometheus_client_is_not_imported_with_metrics_off(tmp_path):
    code = (
        "import sys; from mything import MyThing; "
        f"thing = MyThing({{'DATABASE_URI': 'sqlite:///{tmp_path / 'x.db'}'}}); "
        "thing.flask_app.test_client().get('/add?a=1&b=2'); "
        "print('prometheus_client' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "False", result.stderr


def test_series_carry_the_instance_name(make_thing):
    thing = make_thing(METRICS_ENABLED=True, INSTANCE_NAME="billing")
    client = thing.flask_app.test_client()
    client.get("/add?a=1&b=2")
    samples = scrape(client)
    assert value(samples, "mything_http_requests_total", mything_instance="billing")
