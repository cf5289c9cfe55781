"""mything's notes endpoints next to the same endpoints written by hand.

The other sections compare frameworks on ``/add``, which touches no
database. This one asks what mything's database endpoints cost against what
a team would write itself, on the same tables and the same data: a page of
20 notes, one note, and a new note, all authenticated with a bearer token.
A new note through mything records its event, in the transaction that
inserts the note; it is measured twice. In the organization that the page
and the note are read from, three webhooks are subscribed to every event
(:data:`HOOK_URLS`, which nothing delivers to: no worker runs), made before
any timing, so the note's event is also owed to them: three deliveries in
the same transaction. A second organization (:data:`QUIET_SLUG`) has no
webhook: there the new note costs its event alone. The hand-written
versions are in :mod:`benchmarks.peers`, and insert the note and its tags
alone:

``notes_flask_sqlalchemy``  Flask and SQLAlchemy Core as their documentation
                            teaches: the **baseline** every ratio is relative to;
``notes_raw``               a bare WSGI function on the DB-API driver: the floor.

Three measurements, each interleaved round by round:

* **In process**, on SQLite, PostgreSQL and MySQL (MariaDB): every app's
  WSGI callable answers every workload, exactly as in :mod:`.inprocess`:
  CPU time of this process per request, paired ratios to the baseline. The
  database server's own work is in another process on PostgreSQL and MySQL,
  so there the CPU time is the Python side alone; the wall time is kept
  beside it. Before any timing, every app must answer, and mything's JSON
  for the page and the note must equal each baseline's (the cursors aside:
  each app has its own).
* **Over HTTP**: gunicorn (2 sync workers) on PostgreSQL, wrk on loopback,
  the page of 20 notes, mything against the baseline.
* **Cold start**: a fresh interpreter builds the app on a prepared SQLite
  file and answers its first authenticated page.

PostgreSQL and MySQL each get a scratch database, created for the run from
the ``--postgresql`` and ``--mysql`` URIs and dropped after it; a server
that cannot be reached is skipped with the reason printed.
"""

from __future__ import annotations

import contextlib
import gc
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..harness.databases import (
    scratch_database,
    server_version,
    skip_reason,
    sqlite_database,
)
from ..harness.interpreters import Subject, first_request_code, measure
from ..harness.interpreters import summarize as summarize_starts
from ..harness.servers import Target, load_in_rounds, server_env, serving, wrk_version
from ..harness.servers import summarize as summarize_loads
from ..harness.settings import Settings
from ..harness.stats import paired_ratio
from ..harness.tenant import (
    SLUG,
    USER,
    WEBHOOKS_ON_LOOPBACK,
    Tenant,
    bench_config,
    make_tenant,
)
from ..harness.wsgi import Request, Timing, WSGIApp, call, time_requests
from ..peers import notes_flask_sqlalchemy, notes_raw
from .inprocess import LISTED_NOTES, NEW_NOTE, batch_size, timings

PAGE = "GET /orgs/<slug>/notes?limit=20"
ONE = "GET /orgs/<slug>/notes/<id>"
CREATE = "POST /orgs/<slug>/notes"
QUIET_CREATE = "POST /orgs/<quiet>/notes"
#: The benchmark user's organization without webhooks.
QUIET_SLUG = "quiet"
PAGE_PATH = f"/orgs/{SLUG}/notes?limit=20"
#: What a new note's answer must repeat of the request.
NEW_NOTE_FIELDS = json.loads(NEW_NOTE)
#: The organization's webhooks, subscribed to every event; port 9 (discard)
#: on loopback, but no worker runs, so nothing is ever sent.
HOOK_URLS = tuple(f"http://127.0.0.1:9/hook{number}" for number in (1, 2, 3))

#: Gives every request its own token of ``tokens``, in turn. Sync workers
#: refuse keep-alive, so each request is a connection of its own, and a
#: token per request is a token per connection: no token's cache stays warm.
TOKENS_SCRIPT = """\
local tokens = {{{tokens}}}
local requests = {{}}
local sent = 0

function init(args)
  for i, token in ipairs(tokens) do
    requests[i] = wrk.format("GET", nil, {{["Authorization"] = "Bearer " .. token}})
  end
end

function request()
  sent = sent + 1
  return requests[sent % #requests + 1]
end
"""


@dataclass(frozen=True)
class Implementation:
    """One implementation of the notes endpoints: mything's or a peer module's."""

    key: str
    label: str
    #: The module in :mod:`benchmarks.peers` with ``create_app(uri)``.
    module: str | None

    @property
    def wsgi_spec(self) -> str:
        """The app as gunicorn names it, its database in the environment."""
        if self.module is None:
            return "mything:MyThing()"
        return f"benchmarks.peers.{self.module}:create_app()"

    def build_code(self, uri: str) -> str:
        """What a fresh interpreter runs to build the app as ``app``."""
        if self.module is None:
            return f"import mything\napp = mything.MyThing({bench_config(uri)!r})"
        return (
            f"from benchmarks.peers.{self.module} import create_app\n"
            f"app = create_app({uri!r})"
        )


MYTHING = Implementation("mything", "mything", None)
FLASK_SQLALCHEMY = Implementation(
    "flask_sqlalchemy", "Flask + SQLAlchemy", "notes_flask_sqlalchemy"
)
RAW = Implementation("raw", "raw WSGI + driver", "notes_raw")
IMPLEMENTATIONS = (MYTHING, FLASK_SQLALCHEMY, RAW)
#: The implementation every ratio of this section is relative to.
BASELINE = FLASK_SQLALCHEMY.key


@dataclass
class Case:
    """One implementation answering one workload on one database."""

    implementation: Implementation
    workload: str
    app: WSGIApp
    request: Request
    batch: int = 0
    samples: list[Timing] = field(default_factory=list)


@dataclass(frozen=True)
class Backend:
    """A database to measure on, and the scratch database it is in."""

    key: str
    name: str
    scratch: Callable[[], contextlib.AbstractContextManager[str]]


def make_notes_tenant(uri: str) -> Tenant:
    """Return the section's tenant: 40 notes, and webhooks on every event.

    And the organization :data:`QUIET_SLUG`, without webhooks.
    """
    tenant = make_tenant(uri, notes_count=LISTED_NOTES, config=WEBHOOKS_ON_LOOPBACK)
    user = tenant.thing.as_user(USER)
    for url in HOOK_URLS:
        user.create_webhook(SLUG, url=url, events=["*"])
    user.create_organization(QUIET_SLUG, name="No webhooks")
    return tenant


def workloads(tenant: Tenant) -> dict[str, Request]:
    """Return the four workloads, authenticated as the benchmark user."""
    newest = tenant.thing.as_user(USER).notes(SLUG, limit=1)["items"][0]["id"]
    return {
        PAGE: Request("GET", f"/orgs/{SLUG}/notes", "limit=20", headers=tenant.headers),
        ONE: Request("GET", f"/orgs/{SLUG}/notes/{newest}", headers=tenant.headers),
        **{
            workload: Request(
                "POST",
                f"/orgs/{slug}/notes",
                body=NEW_NOTE,
                headers=tenant.headers,
                expect="201",
            )
            for workload, slug in ((CREATE, SLUG), (QUIET_CREATE, QUIET_SLUG))
        },
    }


def open_app(
    implementation: Implementation, tenant: Tenant, uri: str
) -> tuple[WSGIApp, Callable[[], None]]:
    """Return the implementation's app on ``uri`` and what closes its connections."""
    if implementation is FLASK_SQLALCHEMY:
        app = notes_flask_sqlalchemy.create_app(uri)
        return app, notes_flask_sqlalchemy.engine_of(app).dispose
    if implementation is RAW:
        database = notes_raw.Database.from_uri(uri)
        return notes_raw.make_app(database), database.close
    return tenant.thing, lambda: None  # closed with its tenant


def comparable(workload: str, answer: Any) -> Any:
    """Return the part of an answer that must be the same for every app."""
    if workload == PAGE:
        return {**answer, "next_cursor": answer.get("next_cursor") is not None}
    if workload in (CREATE, QUIET_CREATE):
        return {key: answer.get(key) for key in (*NEW_NOTE_FIELDS, "author")}
    return answer


def check_answers(apps: dict[str, WSGIApp], requests: dict[str, Request]) -> None:
    """Refuse to time apps that fail a workload or read otherwise than mything."""
    for workload, request in requests.items():
        answers = {}
        for key, app in apps.items():
            status, body = call(app, request)
            if not status.startswith(request.expect):
                raise RuntimeError(f"{key} {workload}: {status}: {body[:300]!r}")
            answers[key] = comparable(workload, json.loads(body))
        for key, answer in answers.items():
            if answer != answers[MYTHING.key]:
                raise RuntimeError(
                    f"{key} answers {workload} otherwise than mything:\n"
                    f"{answer!r}\nmything: {answers[MYTHING.key]!r}"
                )
        if workload in (CREATE, QUIET_CREATE) and answers[MYTHING.key] != {
            **NEW_NOTE_FIELDS,
            "author": USER,
        }:
            raise RuntimeError(f"a new note reads {answers[MYTHING.key]!r}")


def measure_database(
    name: str, uri: str, settings: Settings, log: Callable[[str], None]
) -> dict[str, Any]:
    """Time every implementation on every workload on one database, in rounds."""
    tenant = make_notes_tenant(uri)
    closers: list[Callable[[], None]] = []
    try:
        apps = {}
        for implementation in IMPLEMENTATIONS:
            app, close = open_app(implementation, tenant, uri)
            apps[implementation.key] = app
            closers.append(close)
        requests = workloads(tenant)
        check_answers(apps, requests)
        cases = [
            Case(implementation, workload, apps[implementation.key], request)
            for workload, request in requests.items()
            for implementation in IMPLEMENTATIONS
        ]
        for case in cases:
            case.batch = batch_size(case.app, case.request, settings)
        for number in range(settings.rounds):
            log(f"notes, {name}: round {number + 1}/{settings.rounds}")
            for case in cases:
                gc.collect()
                sample = time_requests(case.app, case.request, case.batch)
                case.samples.append(sample)
    finally:
        for close in closers:
            close()
        tenant.close()
    return {"name": name, "version": server_version(uri), "cases": summarize(cases)}


def summarize(cases: list[Case]) -> list[dict[str, Any]]:
    """Return medians in microseconds and paired ratios to the baseline."""
    baselines = {
        case.workload: case.samples
        for case in cases
        if case.implementation.key == BASELINE
    }
    rows = []
    for case in cases:
        cpu = [sample.cpu for sample in case.samples]
        wall = [sample.wall for sample in case.samples]
        base = baselines[case.workload]
        rows.append(
            {
                "contender": case.implementation.key,
                "label": case.implementation.label,
                "workload": case.workload,
                **timings(case.batch, cpu, wall),
                "ratio": paired_ratio(cpu, [s.cpu for s in base]).to_dict(),
                "wall_ratio": paired_ratio(wall, [s.wall for s in base]).to_dict(),
            }
        )
    return rows


def run_inprocess(
    settings: Settings,
    log: Callable[[str], None],
    *,
    postgresql: str | None,
    mysql: str | None,
) -> list[dict[str, Any]]:
    """Measure on SQLite, and on PostgreSQL and MySQL where they can be reached."""
    backends = [Backend("sqlite", "SQLite", lambda: sqlite_database("notes.db"))]
    skipped = []
    for key, name, uri in (
        ("postgresql", "PostgreSQL", postgresql),
        ("mysql", "MySQL", mysql),
    ):
        reason = skip_reason(uri)
        if reason is None:
            backends.append(Backend(key, name, lambda uri=uri: scratch_database(uri)))
        else:
            log(f"skipping notes on {name}: {reason}")
            skipped.append({"key": key, "name": name, "skipped": reason})
    results = []
    for backend in backends:
        with backend.scratch() as uri:
            measured = measure_database(backend.name, uri, settings, log)
        results.append({"key": backend.key, **measured})
    return results + skipped


def tokens_script(tokens: list[str]) -> str:
    """Return the wrk script that sends each of ``tokens`` in turn."""
    return TOKENS_SCRIPT.format(tokens=", ".join(json.dumps(t) for t in tokens))


def run_http(
    settings: Settings, log: Callable[[str], None], *, postgresql: str | None
) -> dict[str, Any]:
    """Serve mything and the baseline on PostgreSQL and load their first page."""
    if wrk_version() is None:
        return {"skipped": "wrk is not installed (apt-get install wrk)"}
    reason = skip_reason(postgresql)
    if postgresql is None or reason is not None:
        log(f"skipping notes over HTTP: PostgreSQL {reason}")
        return {"skipped": f"PostgreSQL {reason}"}
    with (
        scratch_database(postgresql) as uri,
        tempfile.TemporaryDirectory(prefix="mything-bench-") as scratch,
    ):
        tenant = make_notes_tenant(uri)
        try:
            extra = [
                tenant.thing.create_token(USER) for _ in range(settings.http_tokens - 1)
            ]
            script = Path(scratch) / "page.lua"
            script.write_text(tokens_script([tenant.token, *extra]))
            env = server_env(Path(scratch))
            env.update(MYTHING_DATABASE_URI=uri)
            env[notes_flask_sqlalchemy.URI_VARIABLE] = uri
            targets = [
                Target(
                    implementation.key,
                    implementation.label,
                    implementation.wsgi_spec,
                    ready_path=PAGE_PATH,
                    ready_headers=tenant.headers,
                )
                for implementation in (MYTHING, FLASK_SQLALCHEMY)
            ]
            with serving(targets, env, logs=Path(scratch), log=log) as servers:
                series = load_in_rounds(
                    servers,
                    {PAGE: (PAGE_PATH, script)},
                    settings,
                    log,
                    name="notes HTTP",
                )
                pids = [server.pid for server in servers]
            version = server_version(uri)
        finally:
            tenant.close()
    summary = summarize_loads(series, pids=pids, settings=settings, baseline=BASELINE)
    return {**summary, "database": version, "tokens": settings.http_tokens}


def run_startup(settings: Settings, log: Callable[[str], None]) -> dict[str, Any]:
    """Start each implementation on a prepared SQLite file and answer one page."""
    with tempfile.TemporaryDirectory(prefix="mything-bench-") as scratch:
        uri = f"sqlite:///{Path(scratch) / 'startup.db'}"
        tenant = make_notes_tenant(uri)
        request = workloads(tenant)[PAGE]
        tenant.close()
        subjects = [
            Subject(
                implementation.key,
                implementation.label,
                first_request_code(implementation.build_code(uri), request),
            )
            for implementation in IMPLEMENTATIONS
        ]
        measure(
            subjects, settings.startup_rounds, log, cwd=scratch, name="notes cold start"
        )
    return summarize_starts(subjects, baseline=BASELINE)


def run(
    settings: Settings,
    log: Callable[[str], None],
    *,
    postgresql: str | None,
    mysql: str | None,
) -> dict[str, Any]:
    """Run the three measurements of the notes section."""
    return {
        "baseline": FLASK_SQLALCHEMY.label,
        "databases": run_inprocess(settings, log, postgresql=postgresql, mysql=mysql),
        "http": run_http(settings, log, postgresql=postgresql),
        "startup": run_startup(settings, log),
    }
