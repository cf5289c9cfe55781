"""The cost of a page of notes at the start of a long list, and deep inside it.

One organization gets ``notes`` notes (200 000 in a full run) on SQLite and
on PostgreSQL. The cursors of the pages at depth ``notes / 20`` (10 000) and
``notes - notes / 20`` (190 000) are found by following ``next_cursor``
through the Python API, as a client following ``Link`` headers would. Then
rounds of authenticated ``GET /orgs/<slug>/notes?limit=20&cursor=...``
through the WSGI callable time the first page and both deep ones.

Keyset pagination should make every page cost the same; the report checks
that the deepest page costs at most 1.5 times the first.

PostgreSQL is used at ``--postgresql`` (default: ``TEST_MYTHING_POSTGRESQL_URI``
or ``postgresql+psycopg://postgres@127.0.0.1:5432/test``), inside a schema
made for the run and dropped after it, even when the run fails.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from ..harness.databases import (
    postgresql_schema,
    server_version,
    shown,
    sqlite_database,
    unreachable,
)
from ..harness.settings import Settings
from ..harness.stats import median, paired_ratio
from ..harness.tenant import SLUG, USER, Tenant, bulk_insert_notes, make_tenant
from ..harness.wsgi import Request, call, time_requests

PAGE = 20
#: The page size used to walk to the deep cursors (mything's maximum).
WALK_PAGE = 100
#: The deepest page may cost at most this many times the first.
MAX_DEPTH_RATIO = 1.5


def depths_for(notes: int) -> tuple[int, int, int]:
    """Return the depths measured in a list of ``notes`` notes."""
    return (0, notes // 20, notes - notes // 20)


def find_cursors(tenant: Tenant, depths: tuple[int, ...]) -> dict[int, str | None]:
    """Follow ``next_cursor`` from the start and keep the cursor at each depth."""
    user = tenant.thing.as_user(USER)
    cursors: dict[int, str | None] = {0: None}
    position, cursor = 0, None
    while position < max(depths):
        page = user.notes(SLUG, limit=WALK_PAGE, cursor=cursor)
        position += len(page["items"])
        cursor = page["next_cursor"]
        if position in depths:
            cursors[position] = cursor
    missing = set(depths) - set(cursors)
    if missing:
        raise ValueError(f"depths {sorted(missing)} are not multiples of {WALK_PAGE}")
    return cursors


def page_request(tenant: Tenant, cursor: str | None) -> Request:
    """Return the request of the page of ``PAGE`` notes that starts at ``cursor``."""
    args = {"limit": PAGE} if cursor is None else {"limit": PAGE, "cursor": cursor}
    return Request(
        "GET", f"/orgs/{SLUG}/notes", urlencode(args), headers=tenant.headers
    )


def measure(
    name: str, uri: str, settings: Settings, log: Callable[[str], None]
) -> dict[str, Any]:
    """Fill one database, then time the pages at each depth in rounds."""
    tenant = make_tenant(uri)
    try:
        started = time.perf_counter()
        bulk_insert_notes(tenant, settings.notes)
        log(f"{name}: {settings.notes} notes in {time.perf_counter() - started:.1f} s")
        depths = depths_for(settings.notes)
        cursors = find_cursors(tenant, depths)
        requests = {depth: page_request(tenant, cursors[depth]) for depth in depths}
        for request in requests.values():
            status, _ = call(tenant.thing, request)
            if not status.startswith("200"):
                raise RuntimeError(f"{name}: a page answered {status}")
            time_requests(tenant.thing, request, settings.depth_batch)
        # The clock, not this process's CPU: the database's work counts too.
        samples: dict[int, list[float]] = {depth: [] for depth in depths}
        for _ in range(settings.depth_rounds):
            for depth, request in requests.items():
                timing = time_requests(tenant.thing, request, settings.depth_batch)
                samples[depth].append(timing.wall)
        return summarize(name, server_version(uri), samples)
    finally:
        tenant.close()


def summarize(
    name: str, version: str, samples: dict[int, list[float]]
) -> dict[str, Any]:
    """Return the median milliseconds per depth and the paired ratios to depth 0."""
    first = samples[0]
    rows = [
        {
            "depth": depth,
            "median_ms": median(values) * 1e3,
            "samples_ms": [value * 1e3 for value in values],
            "ratio": paired_ratio(values, first).to_dict(),
        }
        for depth, values in samples.items()
    ]
    deepest = rows[-1]["ratio"]["median"]
    return {
        "name": name,
        "version": version,
        "pages": rows,
        "deepest_ratio": deepest,
        "within_limit": deepest <= MAX_DEPTH_RATIO,
    }


def run(
    settings: Settings, log: Callable[[str], None], *, postgresql: str | None
) -> dict[str, Any]:
    """Measure SQLite, and PostgreSQL at ``postgresql`` if it is reachable."""
    backends = []
    with sqlite_database("depth.db") as uri:
        backends.append(measure("SQLite", uri, settings, log))
    if postgresql:
        reason = unreachable(postgresql)
        if reason is None:
            with postgresql_schema(postgresql) as uri:
                backends.append(measure("PostgreSQL", uri, settings, log))
        else:
            where = shown(postgresql)
            log(f"skipping PostgreSQL: cannot reach {where}: {reason}")
            backends.append({"name": "PostgreSQL", "skipped": f"cannot reach {where}"})
    return {"notes": settings.notes, "page": PAGE, "backends": backends}
