"""The benchmark suite still runs: ``python -m benchmarks.run --smoke``.

A smoke run sends a few requests of every kind, so that the suite cannot rot
between the runs that produce ``docs/performance.md``. Its numbers are not
checked: timings depend on the machine, and belong in that page, not in
assertions. The suite leaves out, with the reason printed, every peer
framework that is not installed (the ``bench`` extra), so these tests run
with only mything's own dependencies too. The HTTP tests need wrk.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FINDINGS = ROOT / "benchmarks" / "findings.md"
REQUIRE_SERVICES = os.environ.get("TEST_MYTHING_REQUIRE_SERVICES") == "1"
needs_wrk = pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)"
)


def smoke_command(output: Path, *args: str) -> list[str]:
    """Return the command of a smoke run writing into ``output``."""
    return [
        *(sys.executable, "-m", "benchmarks.run", "--smoke"),
        *("--output-dir", str(output), "--json", str(output / "results.json")),
        *args,
    ]


def run_smoke(output: Path, *args: str) -> dict:
    """Run the suite with tiny counts and return its results."""
    finished = subprocess.run(
        smoke_command(output, *args),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert finished.returncode == 0, finished.stderr
    assert "== Goals" in finished.stdout
    return json.loads((output / "results.json").read_text())


def heading_anchor(heading: str) -> str:
    """Return the link anchor Markdown gives a heading (GitHub's rule)."""
    kept = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return kept.replace(" ", "-")


def test_every_perf_comment_points_at_a_finding() -> None:
    headings = re.findall(r"^#+ (.+)$", FINDINGS.read_text(), re.MULTILINE)
    anchors = {heading_anchor(heading) for heading in headings}
    for path in sorted((ROOT / "mything").rglob("*.py")):
        for anchor in re.findall(r"findings\.md#([\w-]+)", path.read_text()):
            assert anchor in anchors, f"{path.name}: no finding #{anchor}"


def process_group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_in_process_depth_and_startup_sections(tmp_path: Path) -> None:
    results = run_smoke(tmp_path, "--only", "inprocess", "depth", "startup")

    measured = {(c["contender"], c["workload"]) for c in results["inprocess"]["cases"]}
    for contender in ("mything", "raw", "flask"):
        assert (contender, "GET /add") in measured
        assert (contender, "POST /add") in measured
    if importlib.util.find_spec("flask_limiter") is not None:
        # The contract by hand is a second reference, measured in the same run.
        ours = [c for c in results["inprocess"]["cases"] if c["contender"] == "mything"]
        assert ("contract", "GET /add") in measured
        assert all(c["contract_ratio"] for c in ours if c["workload"].endswith("/add"))
    assert ("mything", "POST /orgs/<slug>/notes") in measured
    backends = {b["name"]: b for b in results["depth"]["backends"]}
    assert [page["depth"] for page in backends["SQLite"]["pages"]] == [0, 100, 1900]
    if REQUIRE_SERVICES:
        assert "pages" in backends["PostgreSQL"], backends["PostgreSQL"]
    started = {s["contender"] for s in results["startup"]["subjects"]}
    assert {"python", "mything", "flask"} <= started

    page = (tmp_path / "performance.md").read_text()
    assert page.startswith("# Performance")
    assert "## Goals" in page
    assert "Not run" in page  # the HTTP section, which this run left out


@pytest.mark.slow
@needs_wrk
def test_http_section_stops_its_servers(tmp_path: Path) -> None:
    results = run_smoke(tmp_path, "--only", "http")

    loads = results["http"]["cases"]
    assert {case["workload"] for case in loads} == {"GET /add", "POST /add"}
    assert all(case["requests_per_second"] > 0 for case in loads)
    for pgid in results["http"]["server_pids"]:
        assert not process_group_exists(pgid)


NOTES_WORKLOADS = {
    "GET /orgs/<slug>/notes?limit=20",
    "GET /orgs/<slug>/notes/<id>",
    "POST /orgs/<slug>/notes",
    "POST /orgs/<quiet>/notes",
}
NOTES_APPS = {"mything", "flask_sqlalchemy", "raw"}


def measured_notes(database: dict) -> set[tuple[str, str]]:
    return {(case["contender"], case["workload"]) for case in database["cases"]}


def test_notes_section_on_sqlite(tmp_path: Path) -> None:
    # No server of any kind: SQLite in process and the cold start only.
    results = run_smoke(
        tmp_path, "--only", "notes", "--postgresql", "none", "--mysql", "none"
    )

    databases = {d["key"]: d for d in results["notes"]["databases"]}
    expected = {(app, work) for app in NOTES_APPS for work in NOTES_WORKLOADS}
    assert measured_notes(databases["sqlite"]) == expected
    assert "skipped" in databases["postgresql"]
    assert "skipped" in databases["mysql"]
    assert "skipped" in results["notes"]["http"]
    started = {s["contender"] for s in results["notes"]["startup"]["subjects"]}
    assert started == NOTES_APPS
    page = (tmp_path / "performance.md").read_text()
    assert "notes page ≤ 0.8× Flask + SQLAlchemy, SQLite" in page


@pytest.mark.slow
@needs_wrk
def test_notes_section_with_servers(tmp_path: Path) -> None:
    results = run_smoke(tmp_path, "--only", "notes")

    section = results["notes"]
    databases = {d["key"]: d for d in section["databases"]}
    if REQUIRE_SERVICES:
        for key in ("postgresql", "mysql"):
            assert "cases" in databases[key], databases[key]
        assert "cases" in section["http"], section["http"]
    if "cases" in section["http"]:
        assert {case["contender"] for case in section["http"]["cases"]} == {
            "mything",
            "flask_sqlalchemy",
        }
        assert all(case["errors"] == 0 for case in section["http"]["cases"])
        for pgid in section["http"]["server_pids"]:
            assert not process_group_exists(pgid)


@pytest.mark.slow
def test_webhooks_and_client_sections_stop_their_processes(tmp_path: Path) -> None:
    # On SQLite: the workers, the receiver and gunicorn are the only servers.
    results = run_smoke(
        tmp_path, "--only", "webhooks", "client", "--postgresql", "none"
    )

    webhooks = results["webhooks"]
    assert webhooks["database"].startswith("SQLite")
    assert [fleet["workers"] for fleet in webhooks["throughput"]] == [1, 4]
    assert all(fleet["per_second"] > 0 for fleet in webhooks["throughput"])
    burst = webhooks["burst"]
    assert 0 <= burst["lag_p50_ms"] <= burst["lag_p99_ms"] <= burst["lag_max_ms"]
    # The receiver; 1 worker, then 4; 4 for the burst.
    assert len(webhooks["process_groups"]) == 1 + 1 + 4 + 4
    client = results["client"]
    if importlib.util.find_spec("httpx") is not None:
        assert {case["contender"] for case in client["cases"]} == {"httpx", "mything"}
    pgids = webhooks["process_groups"] + client.get("server_pids", [])
    assert not any(process_group_exists(pgid) for pgid in pgids)
    page = (tmp_path / "performance.md").read_text()
    assert "## Webhook delivery" in page
    assert "mything.Client GET /me ≤ 1.1× bare httpx" in page


def read_until(stream: object, pattern: str, timeout: float) -> list[str]:
    """Read lines of ``stream`` (unbuffered) until one matches ``pattern``."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], deadline - time.monotonic())
        if not ready:
            break
        line = stream.readline().decode()  # type: ignore[attr-defined]
        if not line:
            break
        lines.append(line)
        if re.search(pattern, line):
            return lines
    raise AssertionError(f"no line matched {pattern!r}:\n{''.join(lines)}")


@pytest.mark.slow
@needs_wrk
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_stops_its_servers(tmp_path: Path, signum: int) -> None:
    command = smoke_command(tmp_path, "--only", "http", "--http-seconds", "60")
    run = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, bufsize=0)
    try:
        lines = read_until(run.stderr, r"HTTP round 1/", timeout=120)
        pgids = [int(m) for m in re.findall(r"\(pgid (\d+)\)", "".join(lines))]
        assert pgids and all(process_group_exists(pgid) for pgid in pgids)

        run.send_signal(signum)
        assert run.wait(timeout=60) == 130
    finally:
        run.kill()
        run.wait()
        if run.stderr:
            run.stderr.close()

    assert not any(process_group_exists(pgid) for pgid in pgids)
    assert not (tmp_path / "performance.md").exists()


def test_a_wait_for_a_load_stops_once_the_run_is_interrupted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Python drops a KeyboardInterrupt raised inside a __del__ or a weakref
    # callback; the run's flag still stops a wrk round at once, not after it.
    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks.harness.servers import INTERRUPTED, _output_of

    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    process = subprocess.Popen(sleeper, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        INTERRUPTED.set()
        with pytest.raises(KeyboardInterrupt):
            _output_of(process, timeout=120)
        assert process.poll() is None  # stopped waiting; the load still ran
    finally:
        INTERRUPTED.clear()
        process.kill()
        process.communicate()
