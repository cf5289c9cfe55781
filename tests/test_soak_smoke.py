"""``python -m benchmarks.soak`` still runs: a few seconds of it, without an error.

The soak test itself runs for minutes and is not part of the suite; this
keeps the script from rotting. It starts gunicorn, so it is marked ``slow``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from helpers.databases import postgresql_schema
from helpers.services import unavailable

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
REDIS = "redis://127.0.0.1:6379"


@pytest.fixture
def redis_uri() -> str:
    client = redis.Redis.from_url(REDIS, socket_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        unavailable(f"Redis is not reachable at {REDIS}: {exc}")
    finally:
        client.close()
    return REDIS


def test_a_short_soak_serves_every_request(tmp_path, redis_uri):
    report = tmp_path / "soak.md"
    with postgresql_schema() as database_uri:
        finished = subprocess.run(
            [
                *(sys.executable, "-m", "benchmarks.soak"),
                *("--seconds", "5", "--threads", "2", "--users", "2"),
                *("--workers", "2", "--sample-every", "2"),
                *("--database-uri", database_uri, "--redis", redis_uri),
                *("--report", str(report)),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=180,
        )

    assert finished.returncode == 0, finished.stdout + finished.stderr
    text = report.read_text()
    assert "- Errors: 0\n" in text
    served = re.search(r"^- Requests served: (\d+)", text, re.MULTILINE)
    assert served and int(served.group(1)) > 0
    # A row of worker memory at the start and one at the end, at least.
    assert len(re.findall(r"^\| \d+ \| \d+ \| [\d.]+ \| [\d.]+ \|$", text, re.M)) >= 2
