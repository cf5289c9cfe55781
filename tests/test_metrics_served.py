"""Metrics under a real gunicorn with 4 workers, in multiprocess mode.

These tests start server processes, so they are marked ``slow``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from helpers.processes import gunicorn
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.slow

CONFIG_FILE = Path(__file__).parent.parent / "examples" / "gunicorn.conf.py"
WORKERS = 4


@pytest.fixture
def served(tmp_path):
    """Serve mything with examples/gunicorn.conf.py, 4 workers and metrics on."""
    directory = tmp_path / "prometheus"
    directory.mkdir()
    output = tmp_path / "output.log"
    env = {
        "MYTHING_DATABASE_URI": f"sqlite:///{tmp_path / 'served.db'}",
        "MYTHING_METRICS_ENABLED": "on",
        "MYTHING_RATELIMIT_ENABLED": "off",
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
    }
    args = ("-c", str(CONFIG_FILE))
    with gunicorn(
        "mything:MyThing()",
        env=env,
        args=args,
        workers=WORKERS,
        cwd=tmp_path,
        output=output,
    ) as url:
        yield url, output


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    """One scrape: every sample's value, by name and labels."""
    response = requests.get(url + "/metrics", timeout=10)
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def total(samples: dict, name: str = "mything_http_requests_total") -> float:
    """The sum of the samples ``name`` about /add (the start-up probes are not)."""
    return sum(
        value
        for (sample, labels), value in samples.items()
        if sample == name and ("route", "/healthz") not in labels
    )


def send(url: str, count: int) -> None:
    """Send ``count`` requests from 8 threads, each on a connection of its own."""

    def one(_: int) -> int:
        # No session: a new connection per request, so that every worker
        # gets some.
        return requests.get(url + "/add?a=1&b=2", timeout=30).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(one, range(count))) == {200}


def log_lines(output: Path) -> list[dict]:
    return [json.loads(line) for line in output.read_text().splitlines()]


def booted_workers(output: Path) -> list[int]:
    """The pids of the workers gunicorn has booted, from its JSON error log."""
    booted = []
    for line in log_lines(output):
        found = re.fullmatch(r"Booting worker with pid: (\d+)", line["message"])
        if found:
            booted.append(int(found[1]))
    return booted


def test_requests_over_4_workers_add_up_even_when_a_worker_dies(served):
    url, output = served
    send(url, 200)
    served_by = {
        line["process"]
        for line in log_lines(output)
        if line["logger"] == "mything.access" and line["route"] == "/add"
    }
    assert len(served_by) > 1, "all requests went to one worker"
    # However many scrapes, and whichever worker answers them.
    for _ in range(8):
        assert total(scrape(url)) == 200

    victim = sorted(served_by)[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while len(booted_workers(output)) < WORKERS + 1:
        assert time.monotonic() < deadline, "no worker replaced the killed one"
        time.sleep(0.1)
    for _ in range(8):
        samples = scrape(url)
        assert total(samples) == 200
        assert total(samples, "mything_http_request_duration_seconds_count") == 200
        assert total(samples, "mything_http_requests_in_progress") == 0

    send(url, 50)
    assert total(scrape(url)) == 250


def test_a_scrape_during_a_burst_answers_a_consistent_document(served):
    url, _ = served
    scrapes: list[dict] = []
    burst_over = threading.Event()

    def keep_scraping() -> None:
        while not burst_over.is_set():
            scrapes.append(scrape(url))

    scraper = threading.Thread(target=keep_scraping)
    scraper.start()
    try:
        send(url, 1000)
    finally:
        burst_over.set()
        scraper.join()
    scrapes.append(scrape(url))
    assert len(scrapes) > 2
    previous = 0.0
    for samples in scrapes:
        count = total(samples)
        assert previous <= count <= 1000
        previous = count
        buckets = sorted(
            (float(dict(labels)["le"]), value)
            for (name, labels), value in samples.items()
            if name == "mything_http_request_duration_seconds_bucket"
            and ("route", "/add") in labels
        )
        values = [value for _, value in buckets]
        assert values == sorted(values), "buckets are cumulative"
        if buckets:
            count_name = "mything_http_request_duration_seconds_count"
            assert buckets[-1] == (float("inf"), total(samples, count_name))
    assert total(scrapes[-1]) == 1000
