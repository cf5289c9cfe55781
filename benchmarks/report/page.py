"""``docs/performance.md``: one run's results, with what they mean and how to redo them.

The page is generated whole from the results of a run; edit this module or
``benchmarks/findings.md``, never the page.
"""

from __future__ import annotations

from typing import Any

from ..harness.contenders import BENCH_RATELIMIT
from .tables import COMMAND, FINDINGS, SECTIONS, section_text, table, targets_table

INTRO = f"""\
This page is written by the benchmark suite in `benchmarks/`. To measure
again, from the top of the checkout:

```sh
python3 -m venv .venv && .venv/bin/pip install -e '.[bench]'
apt-get install wrk       # the HTTP load generator (Debian's package)
.venv/bin/{COMMAND}          # full run, about 25 minutes
.venv/bin/{COMMAND} --quick  # shorter rounds, same sections
```

It rewrites this page and `docs/performance.png`. `--only inprocess http`
runs some sections, `--output-dir DIR` writes elsewhere, `--json FILE`
keeps every sample and `--render FILE` writes the page again from it
(after editing `benchmarks/findings.md`, say); `--help` lists the rest.

The suite is laid out by role. `benchmarks/run.py` is the command above,
`benchmarks/profile.py` shows where a request's time goes and
`benchmarks/client.py` runs the client section alone;
`benchmarks/sections/` holds one module per section of this page;
`benchmarks/harness/` runs and times the apps (settings, WSGI calls,
gunicorn and wrk, webhook workers and their receiver, fresh interpreters,
scratch databases, statistics, the machine's description, and the data,
made through mything's Python API);
`benchmarks/report/` writes the tables, this page and the chart;
`benchmarks/peers/` holds the apps mything is compared with, each on its
own. `benchmarks/findings.md` records what each measured speed trick
saves, one anchor per trick, for the `# PERF:` comments in the code. The
soak test, `python -m benchmarks.soak`, lives apart in `benchmarks/soak/`
and is not part of a run.
"""

METHOD = """\
Every section measures its contenders **interleaved**: round after round,
each contender once, in the same order (A B C … A B C …), so a burst of
load from elsewhere on the machine falls on all of them alike. A number in
a table is the **median** over the rounds. A ratio (`× Flask`) is a
**paired ratio**: each round's value divided by the same round's value of
bare Flask + voluptuous; the table shows the median of those ratios and, in
brackets, their lowest and highest. On a shared machine the absolute
numbers move from run to run; the paired ratios move much less.
"""

GOALS_NOTE = """\
Each ratio is the median of per-round paired ratios (see *How the numbers
are made*). For "faster than", it is mything's time divided by the peer's:
below 1 is faster.
"""

NOTES = {
    "inprocess": f"""\
Each request is a WSGI environ handed to the app's callable, with the whole
body read and `close()` called, as a server would; there is no network. All
contenders answer `GET /add?a=1&b=2` and `POST /add` with `{{"a": 1, "b":
2}}` the way their own documentation teaches (`benchmarks/peers/`). mything
runs as configured by default except for the limit: rate limiting is **on**,
with `memory://` storage and `RATELIMIT={BENCH_RATELIMIT}` so that no
request is refused; its database is SQLite. The list and create-note
requests are authenticated with a bearer token; the list has 40 notes with
two tags each. A batch is sized to take about the same time for every app;
`batch` is its number of requests.

`CPU µs` is the CPU time of the benchmark process per request, counting all
its threads (a rate limiter's too) and no other process, so it stays
steady while other work shares the machine; `wall µs` is the clock. The
ratios are of CPU times. `× Flask` is to bare Flask + voluptuous;
`× contract` is to the same `/add` contract written by hand in Flask
(`benchmarks/peers/flask_contract.py`): Flask + voluptuous with
Flask-Limiter as its documentation sets it up (memory storage, moving
window, its headers on), a request-id hook and `nosniff`. Both are
measured in the same rounds as mything.
""",
    "http": """\
Each app runs under its own gunicorn (2 sync workers, bound to 127.0.0.1);
all are started first and stopped by process group at the end, even when
the run is interrupted. wrk (1 thread, keep-alive refused by the sync
workers, so a new connection per request) loads one app at a time for a
fixed duration; `errors` counts non-2xx answers and socket errors. The
client shares the machine's cores with the servers, as it does on any
single-host load test.
""",
    "depth": """\
One organization holds the notes (one made through the Python API, then
copied in bulk by SQL, each copy with one tag, followed by `ANALYZE`); the
pages are `GET /orgs/<slug>/notes?limit=20`
through the WSGI callable, authenticated, at the start of the list and
with the cursors found by following `next_cursor` from the start. Keyset
pagination should make the deepest page cost no more than 1.5× the first.
PostgreSQL runs in a schema made for the run and dropped after it.
""",
    "startup": """\
A fresh `python -c` imports the framework and builds the app
(`import mything; mything.MyThing()` for mything, importing the peer's
module for the others), in an empty directory and without `MYTHING_*`
variables; wall time from spawn to exit and the child's peak resident
memory (its own `VmHWM`). `python -c pass` is the floor. Bytecode caches
are warm.
""",
    "notes": """\
The other sections compare frameworks on `/add`, which touches no
database; this one compares mything's own database endpoints with the same
endpoints written by hand on mything's tables and data
(`benchmarks/peers/`): **Flask + SQLAlchemy** Core the way their
documentation teaches for production (an application factory, one engine,
a connection per request and a transaction for the write, `text()` with
bound parameters, `jsonify`), which every ratio here is relative to, and a
**raw** WSGI function on the driver (`sqlite3`, psycopg or PyMySQL, one
connection per thread, `json.dumps`) as the floor. Each answers a page of
20 notes (with tags and author, from 40 notes), one note, and a new note
in each of two organizations; each request is authenticated by a bearer
token looked up by its SHA-256, and membership of the organization is
checked by a query. Each new note through mything records its event in
the audit log, as every write does, in the note's transaction. The first
organization has three webhooks subscribed to every event (to
`http://127.0.0.1:9/hook1` to `hook3`; no worker runs, so nothing is
delivered), so there the new note also queues three webhook deliveries in
that transaction; the second (`<quiet>`) has none, so there the new note
costs its event alone. The hand-written endpoints insert the note and its
tags alone. Before timing,
mything's JSON for the page and the note must equal both baselines' (the
cursor aside: the hand-written ones give the last id).

In process, every case is timed as in the in-process section, on each
database, in a scratch database made for the run and dropped after it.
On PostgreSQL and MySQL the database server works in a process of its own,
which `CPU µs` does not count: there it is the Python side alone, and the
wall time includes the round trips. Over HTTP, both apps run under
gunicorn on PostgreSQL and wrk asks for the page with the tokens in turn,
so that no single token's lookup stays warm. The cold start is a fresh
interpreter that builds the app on a prepared SQLite file and answers its
first authenticated page through the WSGI callable.
""",
    "webhooks": """\
The deliveries are made as a deployment makes them: by `mything deliver`
worker processes (`--concurrency 1` each, configured by `MYTHING_*`
variables alone, webhook timeout 5 s), sending to a receiver on 127.0.0.1,
a threading HTTP server in a process of its own that answers `204` at
once. One webhook of the organization subscribes to `note.*`, and every
event is a note created through mything's Python API, which records the
event and its delivery in the note's transaction.

For throughput, the notes are written first, with no worker running; then
the workers are started and the clock runs until every delivery in the
table has succeeded (it is polled every 50 ms). `s` and `deliveries/s`
count from the workers' start, which includes starting an interpreter and
importing mything (`start-up s`, up to the first attempt, on a machine
whose cores the workers share); `deliveries/s delivering` counts from the
first attempt. One worker and four are measured in alternate rounds, and
the ratios are four to one, round by round. For the burst, four workers
are running and idle (an idle worker looks for work once a second) when
the notes are written one after the other as fast as the Python API
goes: `write s` is how long writing took, `drain s` the time from the last
write until the last delivery had succeeded, and the lags are each
delivery's, from its `created_at` to its attempt (`last_attempt_at`). The
database is PostgreSQL, in a database made for the run and dropped after
it, where it can be reached, and SQLite otherwise.
""",
    "client": """\
`mything.Client` is the Python API over HTTP (`docs/client.md`). One
gunicorn (2 `gthread` workers of 2 threads, so that connections stay
alive) serves mything on SQLite with rate limits off; `Client.me()` and
`httpx.Client.get("/me")` followed by `.json()`, with the same token, each
over its own kept-alive connection, take turns round by round. The times
are wall-clock, since most of a call is the server's; the ratio is to bare
httpx, and what it measures is the client's own work: checking ids,
choosing whether to retry, mapping errors and decoding with orjson.
""",
}


def _settings_line(settings: dict[str, Any]) -> str:
    parts = [
        "`{name}` run: {rounds} in-process rounds of ~{batch_seconds} s per app",
        "{http_rounds} HTTP rounds of {http_seconds} s with {http_connections} "
        "connections",
        "{notes:,} notes, {depth_rounds} rounds of {depth_batch} pages",
        "{startup_rounds} start-up rounds; {http_tokens} tokens for the notes "
        "page over HTTP",
    ]
    if "webhook_rounds" in settings:  # not in the results of older runs
        parts += [
            "{webhook_rounds} webhook rounds of {webhook_deliveries:,} deliveries "
            "and a burst of {webhook_burst:,} events",
            "{client_rounds} client rounds of {client_calls} calls",
        ]
    return "; ".join(parts).format(**settings) + "."


def environment_text(results: dict[str, Any]) -> str:
    """The machine, its load and the versions, as two tables."""
    machine = results["machine"]
    rows = [
        ["CPU", f"{machine['cpu']}, {machine['cores']} cores"],
        ["memory", f"{machine['memory_gib']} GiB"],
        ["system", machine["platform"]],
        ["load average at start", " ".join(map(str, machine["load_at_start"]))],
        ["load average at end", " ".join(map(str, machine.get("load_at_end", [])))],
    ]
    if results.get("wrk"):
        rows.append(["load generator", results["wrk"]])
    for backend in results.get("depth", {}).get("backends", []):
        if "version" in backend:
            rows.append(["database server", backend["version"]])
    versions = [[name, version] for name, version in results["versions"].items()]
    return "\n\n".join([table(["", ""], rows), table(["package", "version"], versions)])


def render_markdown(results: dict[str, Any], *, chart: str | None) -> str:
    """Return the whole ``docs/performance.md`` for one run's results."""
    parts = [
        "# Performance",
        f"Measured on {results['date']}. {_settings_line(results['settings'])}",
        INTRO,
        "## Goals",
        targets_table(results),
        GOALS_NOTE,
    ]
    if chart:
        parts.append(
            "![Benchmark results: in-process, HTTP, depth, start-up, notes, "
            f"webhooks, client]({chart})"
        )
    for key, title in SECTIONS:
        parts += [f"## {title}", NOTES[key], section_text(key, results.get(key))]
    if results.get("skipped"):
        parts += [
            "Left out of this run:",
            "\n".join(f"- {s}" for s in results["skipped"]),
        ]
    if FINDINGS.exists():
        parts += [FINDINGS.read_text().strip()]
    parts += ["## How the numbers are made", METHOD]
    parts += ["## Machine and versions", environment_text(results)]
    return "\n\n".join(part.strip("\n") for part in parts) + "\n"
