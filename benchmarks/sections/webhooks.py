"""mything's webhook delivery: ``mything deliver`` workers and a receiver on loopback.

Everything here is what a deployment runs. The events are notes written
through mything's Python API, each note's event and delivery recorded in
its transaction; one webhook of the benchmark organization subscribes to
``note.*``. The deliveries are sent by ``mything deliver`` processes
(:mod:`benchmarks.harness.workers`), configured by ``MYTHING_*`` variables
alone, to a receiver in a process of its own that answers 204 at once
(:mod:`benchmarks.harness.receiver`). Two measurements:

* **Throughput**, in rounds. With no worker running, ``webhook_deliveries``
  notes are written, so that as many deliveries are owed; then one worker
  is started, and the clock runs until every delivery in the table has
  succeeded (the table is polled every 50 ms); then the same with four
  workers. Deliveries per second are counted from the workers' start,
  which includes starting an interpreter and importing mything, and also
  from the first attempt (the earliest ``last_attempt_at``), once the
  workers are delivering. Ratios are of four workers to one, round by
  round.
* **A burst**. With four workers running and idle, ``webhook_burst`` notes
  are written one after the other, as fast as the Python API goes. Reported:
  how long writing took, the time from the last write until the last
  delivery had succeeded (the drain), and the median and 99th percentile of
  each delivery's lag, from its ``created_at`` to its ``last_attempt_at``.
  An idle worker looks for work once a second, which the first lags show.

The database is PostgreSQL, in a scratch database made from the
``--postgresql`` URI and dropped after the run, where it can be reached,
and SQLite otherwise; the results name it. The workers and the receiver
are stopped by process group on the way out, whatever happens.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import Engine, func, select

from mything.tables import webhook_deliveries

from ..harness.databases import (
    scratch_database,
    server_version,
    skip_reason,
    sqlite_database,
)
from ..harness.receiver import Receiver, receiving
from ..harness.settings import Settings
from ..harness.stats import median, paired_ratio, percentile
from ..harness.tenant import (
    NOTE_BODY,
    SLUG,
    USER,
    WEBHOOKS_ON_LOOPBACK,
    Tenant,
    make_tenant,
)
from ..harness.workers import DeliveryWorker, delivering, worker_env

#: The workers of the throughput rounds; ratios are to the first.
FLEETS = (1, 4)
#: The workers that take the burst.
BURST_WORKERS = 4
#: Seconds between two looks at the deliveries table.
POLL_SECONDS = 0.05
#: Seconds the burst's workers get, once one has delivered, to be all idle:
#: more than the second an idle worker waits between looks for work.
SETTLE_SECONDS = 2.0
#: The longest a wait for deliveries may take: this, plus a second for
#: every :data:`SLOWEST_RATE` deliveries owed.
WAIT_SECONDS = 60.0
SLOWEST_RATE = 20.0

DELIVERIES = webhook_deliveries
UNFINISHED = DELIVERIES.c.status != "succeeded"


@dataclass(frozen=True)
class Pass:
    """Workers delivering what was owed, from their start until all succeeded."""

    deliveries: int
    #: From starting the workers until every delivery had succeeded.
    seconds: float
    #: From starting the workers to the first attempt.
    startup: float

    @property
    def per_second(self) -> float:
        """Deliveries per second, counted from the workers' start."""
        return self.deliveries / self.seconds

    @property
    def delivering_per_second(self) -> float:
        """Deliveries per second, counted from the first attempt."""
        return self.deliveries / (self.seconds - self.startup)


@dataclass
class Fleet:
    """A number of workers, and how they delivered, one pass per round."""

    workers: int
    passes: list[Pass] = field(default_factory=list)


def owe(tenant: Tenant, count: int) -> None:
    """Write ``count`` notes through the Python API: a delivery owed for each."""
    user = tenant.thing.as_user(USER)
    for number in range(count):
        user.create_note(SLUG, title=f"Note {number}", body=NOTE_BODY)


def last_id(engine: Engine) -> int:
    """Return the id of the newest delivery, or 0 if there is none."""
    with engine.connect() as connection:
        return connection.execute(select(func.max(DELIVERIES.c.id))).scalar() or 0


def unfinished(engine: Engine) -> dict[str, int]:
    """Return how many deliveries have not succeeded, by status."""
    query = (
        select(DELIVERIES.c.status, func.count())
        .where(UNFINISHED)
        .group_by(DELIVERIES.c.status)
    )
    with engine.connect() as connection:
        return {status: count for status, count in connection.execute(query)}


def why_unfinished(engine: Engine) -> str:
    """Describe the oldest delivery that has not succeeded, and its last error."""
    columns = ("id", "status", "attempts", "error", "response_status")
    query = (
        select(*(DELIVERIES.c[name] for name in columns))
        .where(UNFINISHED)
        .order_by(DELIVERIES.c.id)
        .limit(1)
    )
    with engine.connect() as connection:
        row = connection.execute(query).first()
    if row is None:
        return "every delivery has succeeded since"
    described = zip(columns, row, strict=True)
    return ", ".join(f"{name} {value}" for name, value in described)


def wait_until_delivered(
    engine: Engine, workers: list[DeliveryWorker], count: int
) -> float:
    """Poll until every delivery has succeeded; return when, by ``perf_counter``.

    Raises if a worker exits, or if the ``count`` deliveries owed take longer
    than :data:`WAIT_SECONDS` and a second per :data:`SLOWEST_RATE` of them.
    """
    timeout = WAIT_SECONDS + count / SLOWEST_RATE
    deadline = time.perf_counter() + timeout
    while True:
        left = unfinished(engine)
        now = time.perf_counter()
        if not left:
            return now
        for worker in workers:
            worker.check_running()
        if now > deadline:
            raise RuntimeError(
                f"webhook deliveries not all succeeded after {timeout:.0f} s: "
                f"{left} left; the oldest: {why_unfinished(engine)}"
            )
        time.sleep(POLL_SECONDS)


def attempts_after(engine: Engine, after: int) -> list[tuple[datetime, datetime]]:
    """Return ``(created_at, last_attempt_at)`` of the deliveries after id ``after``."""
    query = select(DELIVERIES.c.created_at, DELIVERIES.c.last_attempt_at).where(
        DELIVERIES.c.id > after
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [(row.created_at, row.last_attempt_at) for row in rows]


@dataclass
class Rig:
    """What the measurements share: the tenant, its database, the workers' setup."""

    tenant: Tenant
    engine: Engine
    env: dict[str, str]
    logs: Path
    log: Callable[[str], None]
    #: Every process group started: the receiver's, then each worker's.
    pgids: list[int] = field(default_factory=list)

    @contextlib.contextmanager
    def workers(self, count: int) -> Iterator[list[DeliveryWorker]]:
        """Run ``count`` workers; stop them on the way out."""
        with delivering(count, self.env, logs=self.logs, log=self.log) as running:
            self.pgids += [worker.pid for worker in running]
            yield running


def measure_pass(rig: Rig, workers: int, count: int) -> Pass:
    """Owe ``count`` deliveries, then start ``workers`` workers and time them."""
    after = last_id(rig.engine)
    owe(rig.tenant, count)
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    with rig.workers(workers) as running:
        done = wait_until_delivered(rig.engine, running, count)
    first = min(attempted for _, attempted in attempts_after(rig.engine, after))
    return Pass(count, done - started, (first - started_at).total_seconds())


def measure_burst(rig: Rig, count: int) -> dict[str, Any]:
    """Write ``count`` notes while idle workers wait; time writing and delivering."""
    with rig.workers(BURST_WORKERS) as running:
        # Up and idle: one of them has delivered, and all had the time to.
        owe(rig.tenant, 1)
        wait_until_delivered(rig.engine, running, 1)
        time.sleep(SETTLE_SECONDS)
        after = last_id(rig.engine)
        started = time.perf_counter()
        owe(rig.tenant, count)
        written = time.perf_counter()
        done = wait_until_delivered(rig.engine, running, count)
    lags = [
        (attempted - created).total_seconds() * 1000
        for created, attempted in attempts_after(rig.engine, after)
    ]
    if len(lags) != count:
        raise RuntimeError(f"a burst of {count} events owed {len(lags)} deliveries")
    return {
        "events": count,
        "workers": BURST_WORKERS,
        "write_seconds": written - started,
        "writes_per_second": count / (written - started),
        "drain_seconds": done - written,
        "lag_p50_ms": percentile(lags, 50),
        "lag_p99_ms": percentile(lags, 99),
        "lag_max_ms": max(lags),
    }


def check_received(engine: Engine, receiver: Receiver) -> int:
    """Return the receiver's count, refusing one below the deliveries made."""
    received = receiver.received()
    with engine.connect() as connection:
        made = connection.execute(select(func.count()).select_from(DELIVERIES)).scalar()
    if received < made:
        raise RuntimeError(f"{made} deliveries succeeded, the receiver got {received}")
    return received


def summarize(fleets: list[Fleet]) -> list[dict[str, Any]]:
    """Return each fleet's medians, and paired ratios of its rates to the first's."""
    base = fleets[0].passes
    base_rates = [one.per_second for one in base]
    base_delivering = [one.delivering_per_second for one in base]
    rows = []
    for fleet in fleets:
        rates = [one.per_second for one in fleet.passes]
        delivering = [one.delivering_per_second for one in fleet.passes]
        rows.append(
            {
                "workers": fleet.workers,
                "seconds": median([one.seconds for one in fleet.passes]),
                "startup_seconds": median([one.startup for one in fleet.passes]),
                "per_second": median(rates),
                "samples": rates,
                "ratio": paired_ratio(rates, base_rates).to_dict(),
                "delivering_per_second": median(delivering),
                "delivering_ratio": paired_ratio(delivering, base_delivering).to_dict(),
            }
        )
    return rows


def measure_database(
    uri: str,
    receiver: Receiver,
    settings: Settings,
    log: Callable[[str], None],
    *,
    logs: Path,
) -> dict[str, Any]:
    """Run the throughput rounds and the burst on the database at ``uri``."""
    tenant = make_tenant(uri, config=WEBHOOKS_ON_LOOPBACK)
    engine = sqlalchemy.create_engine(uri)
    rig = Rig(tenant, engine, worker_env(logs, uri), logs, log, [receiver.pid])
    try:
        tenant.thing.as_user(USER).create_webhook(
            SLUG, url=f"{receiver.url}/hook", events=["note.*"]
        )
        fleets = [Fleet(workers) for workers in FLEETS]
        for number in range(settings.webhook_rounds):
            for fleet in fleets:
                log(
                    f"webhooks: round {number + 1}/{settings.webhook_rounds}, "
                    f"{fleet.workers} worker(s)"
                )
                one = measure_pass(rig, fleet.workers, settings.webhook_deliveries)
                fleet.passes.append(one)
        log(f"webhooks: a burst of {settings.webhook_burst:,} events")
        burst = measure_burst(rig, settings.webhook_burst)
        received = check_received(engine, receiver)
    finally:
        engine.dispose()
        tenant.close()
    return {
        "deliveries": settings.webhook_deliveries,
        "throughput": summarize(fleets),
        "burst": burst,
        "received": received,
        "process_groups": rig.pgids,
    }


def run(
    settings: Settings, log: Callable[[str], None], *, postgresql: str | None
) -> dict[str, Any]:
    """Measure delivery on PostgreSQL where it can be reached, else on SQLite."""
    reason = skip_reason(postgresql)
    scratch: contextlib.AbstractContextManager[str]
    if reason is None and postgresql is not None:
        scratch = scratch_database(postgresql)
    else:
        log(f"webhooks on SQLite: PostgreSQL {reason}")
        scratch = sqlite_database("webhooks.db")
    with (
        scratch as uri,
        tempfile.TemporaryDirectory(prefix="mything-bench-") as logs,
        receiving() as receiver,
    ):
        measured = measure_database(uri, receiver, settings, log, logs=Path(logs))
        version = server_version(uri)
    return {"database": version, "postgresql_skipped": reason, **measured}
