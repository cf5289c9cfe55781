"""Time per request through each app's WSGI callable, with no server around it.

Every contender answers ``GET /add?a=1&b=2`` and ``POST /add``; mything also
answers its own endpoints: ``/healthz``, a page of 20 notes and a new note,
both authenticated. Each (app, request) pair is a *case*. A case first gets
a warm-up batch that sizes its batches to about ``batch_seconds``; then the
rounds run every case once, in the same order, and each batch gives one
sample, the mean time per request of that batch.

The main number is the CPU time of this process per request (every thread,
no other process), which a busy machine disturbs far less than the clock;
the wall time is kept beside it. Ratios are of CPU times, each to two
references measured in the same rounds: bare Flask + voluptuous, and
mything's ``/add`` contract written by hand in Flask
(:mod:`benchmarks.peers.flask_contract`).
"""

from __future__ import annotations

import gc
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..harness.contenders import BASELINE, CONTRACT, Contender
from ..harness.settings import Settings
from ..harness.stats import median, paired_ratio
from ..harness.tenant import SLUG, Tenant, make_tenant
from ..harness.wsgi import Request, Timing, WSGIApp, call, time_requests

ADD_QUERY = Request("GET", "/add", "a=1&b=2")
ADD_BODY = Request("POST", "/add", body=b'{"a": 1, "b": 2}')
ADD_WORKLOADS = {"GET /add": ADD_QUERY, "POST /add": ADD_BODY}

#: Notes in the organization whose first page the list workload reads.
LISTED_NOTES = 40
NEW_NOTE = json.dumps(
    {"title": "A new note", "body": "Written by the benchmark.", "tags": ["a", "b"]}
).encode()


@dataclass
class Case:
    """One app answering one request, and its samples (per request)."""

    contender: Contender
    workload: str
    app: WSGIApp
    request: Request
    batch: int = 0
    samples: list[Timing] = field(default_factory=list)


def mything_workloads(tenant: Tenant) -> dict[str, Request]:
    """Return mything's own workloads, authenticated as the benchmark user."""
    return {
        "GET /healthz": Request("GET", "/healthz"),
        "GET /orgs/<slug>/notes?limit=20": Request(
            "GET", f"/orgs/{SLUG}/notes", "limit=20", headers=tenant.headers
        ),
        "POST /orgs/<slug>/notes": Request(
            "POST",
            f"/orgs/{SLUG}/notes",
            body=NEW_NOTE,
            headers=tenant.headers,
            expect="201",
        ),
    }


def build_cases(contenders: list[Contender], tenant: Tenant) -> list[Case]:
    """Return every case: /add for every contender, then mything's own."""
    cases = []
    for workload, request in ADD_WORKLOADS.items():
        for contender in contenders:
            app = contender.load(lambda: tenant.thing)
            cases.append(Case(contender, workload, app, request))
    mything = next(c for c in contenders if c.key == "mything")
    for workload, request in mything_workloads(tenant).items():
        cases.append(Case(mything, workload, tenant.thing, request))
    return cases


def check_answers(cases: list[Case]) -> None:
    """Make sure every app answers /add with the right sum before timing it."""
    for case in cases:
        status, body = call(case.app, case.request)
        if not status.startswith(case.request.expect):
            raise RuntimeError(f"{case.contender.label} {case.workload}: {status}")
        if case.workload in ADD_WORKLOADS and json.loads(body) != {"sum": 3}:
            raise RuntimeError(f"{case.contender.label} {case.workload}: {body!r}")


def calibrate(case: Case, settings: Settings) -> None:
    """Warm the case up, then time a few requests to choose its batch size."""
    case.batch = batch_size(case.app, case.request, settings)


def batch_size(app: WSGIApp, request: Request, settings: Settings) -> int:
    """Warm ``app`` up, then return the requests that take ``batch_seconds``."""
    time_requests(app, request, settings.min_batch)
    estimate = time_requests(app, request, settings.min_batch)
    wanted = round(settings.batch_seconds / estimate.wall)
    return max(settings.min_batch, min(settings.max_batch, wanted))


def run(
    contenders: list[Contender], settings: Settings, log: Callable[[str], None]
) -> dict[str, Any]:
    """Measure every case in interleaved rounds and return the summary."""
    with tempfile.TemporaryDirectory(prefix="mything-bench-") as scratch:
        uri = f"sqlite:///{Path(scratch) / 'inprocess.db'}"
        tenant = make_tenant(uri, notes_count=LISTED_NOTES)
        try:
            cases = build_cases(contenders, tenant)
            check_answers(cases)
            for case in cases:
                calibrate(case, settings)
            for number in range(settings.rounds):
                log(f"in-process round {number + 1}/{settings.rounds}")
                for case in cases:
                    gc.collect()
                    sample = time_requests(case.app, case.request, case.batch)
                    case.samples.append(sample)
        finally:
            tenant.close()
    return summarize(cases)


def timings(batch: int, cpu: list[float], wall: list[float]) -> dict[str, Any]:
    """Return the batch size and the samples of one case, in microseconds."""
    return {
        "batch": batch,
        "median_us": median(cpu) * 1e6,
        "wall_median_us": median(wall) * 1e6,
        "samples_us": [seconds * 1e6 for seconds in cpu],
        "wall_samples_us": [seconds * 1e6 for seconds in wall],
    }


def cpu_samples(cases: list[Case], key: str) -> dict[str, list[float]]:
    """Return the CPU samples of contender ``key``, by workload."""
    return {
        case.workload: [sample.cpu for sample in case.samples]
        for case in cases
        if case.contender.key == key
    }


def summarize(cases: list[Case]) -> dict[str, Any]:
    """Return medians in microseconds and CPU-time ratios to both references."""
    baselines = cpu_samples(cases, BASELINE)
    contracts = cpu_samples(cases, CONTRACT)
    rows = []
    for case in cases:
        cpu = [sample.cpu for sample in case.samples]
        wall = [sample.wall for sample in case.samples]
        row: dict[str, Any] = {
            "contender": case.contender.key,
            "label": case.contender.label,
            "workload": case.workload,
            **timings(case.batch, cpu, wall),
            "ratio": None,
            "contract_ratio": None,
        }
        if case.workload in baselines:
            row["ratio"] = paired_ratio(cpu, baselines[case.workload]).to_dict()
        if case.workload in contracts:
            contract = paired_ratio(cpu, contracts[case.workload])
            row["contract_ratio"] = contract.to_dict()
        rows.append(row)
    return {"cases": rows}
