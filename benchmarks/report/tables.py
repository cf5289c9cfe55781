"""The results as tables, for the terminal and for ``docs/performance.md``.

One function per section turns its results into a table that reads as
Markdown and as plain text. :func:`targets` checks the results against the
goals the suite exists for; :mod:`.page` puts it all on the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..harness.stats import paired_ratio

FINDINGS = Path(__file__).resolve().parents[1] / "findings.md"
COMMAND = "python -m benchmarks.run"
#: Peers mything must beat in-process, on the same run.
HEAVIER_PEERS = ("apiflask", "smorest", "restx")
#: In process, the most mything's ``/add`` may cost: a multiple of bare
#: Flask + voluptuous's, and of the same contract written by hand in Flask's.
ADD_GOAL = 1.10
ADD_CONTRACT_GOAL = 0.5
#: The notes section's goals in process: the most mything's CPU time per
#: request may be, as a multiple of the hand-written Flask + SQLAlchemy's.
NOTES_GOALS = (
    ("GET /orgs/<slug>/notes?limit=20", "page", 0.8),
    ("GET /orgs/<slug>/notes/<id>", "GET one note", 0.8),
    ("POST /orgs/<slug>/notes", "POST a note with 3 webhooks", 1.0),
    ("POST /orgs/<quiet>/notes", "POST a note with its event, no webhook", 1.0),
)
NOTES_GOAL_DATABASES = (("sqlite", "SQLite"), ("postgresql", "PostgreSQL"))
#: Over HTTP, the least mything's page throughput may be, as a multiple.
NOTES_HTTP_GOAL = 1.2
#: Cold start to the first page: the most time and peak memory may be.
NOTES_STARTUP_GOAL = 1.3
#: The most a ``mything.Client`` call may cost, as a multiple of bare httpx's.
CLIENT_GOAL = 1.1


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Return a Markdown table, padded so that it also reads as plain text."""
    widths = [
        max(len(str(cell)) for cell in column)
        for column in zip(headers, *rows, strict=True)
    ]

    def line(cells: Sequence[str]) -> str:
        padded = (
            str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True)
        )
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def _ratio(ratio: dict[str, Any] | None) -> str:
    if ratio is None:
        return "–"
    return f"{ratio['median']:.2f} ({ratio['low']:.2f}–{ratio['high']:.2f})"


def inprocess_table(section: dict[str, Any]) -> str:
    """Per-request time of every case, and its ratio to bare Flask."""
    rows = [
        [
            case["workload"],
            case["label"],
            f"{case['median_us']:.1f}",
            _ratio(case["ratio"]),
            _ratio(case.get("contract_ratio")),
            f"{case['wall_median_us']:.1f}",
            str(case["batch"]),
        ]
        for case in section["cases"]
    ]
    headers = ["request", "app", "CPU µs", "× Flask (range)", "× contract (range)"]
    headers += ["wall µs", "batch"]
    return table(headers, rows)


def http_table(section: dict[str, Any], *, versus: str = "× Flask (range)") -> str:
    """Throughput and latency of every app under gunicorn."""
    rows = [
        [
            case["workload"],
            case["label"],
            f"{case['requests_per_second']:.0f}",
            _ratio(case["ratio"]),
            f"{case['p50_ms']:.2f}",
            f"{case['p99_ms']:.2f}",
            str(case["errors"]),
        ]
        for case in section["cases"]
    ]
    headers = [
        "request",
        "app",
        "req/s",
        versus,
        "p50 ms",
        "p99 ms",
        "errors",
    ]
    return table(headers, rows)


def depth_table(section: dict[str, Any]) -> str:
    """Time of a page at each depth, per database."""
    rows = []
    for backend in section["backends"]:
        if "skipped" in backend:
            rows.append([backend["name"], "–", "skipped: " + backend["skipped"], "–"])
            continue
        for page in backend["pages"]:
            rows.append(
                [
                    backend["version"],
                    f"{page['depth']:,}",
                    f"{page['median_ms']:.2f}",
                    _ratio(page["ratio"]),
                ]
            )
    return table(["database", "depth", "ms/page", "× first page (range)"], rows)


def startup_table(section: dict[str, Any]) -> str:
    """Cold start time and peak memory of every app."""
    rows = [
        [
            subject["label"],
            f"{subject['median_ms']:.0f}",
            _ratio(subject["ratio"]),
            f"{subject['peak_rss_mib']:.1f}",
        ]
        for subject in section["subjects"]
    ]
    return table(["interpreter", "ms", "× Flask (range)", "peak RSS MiB"], rows)


def notes_table(section: dict[str, Any]) -> str:
    """The notes endpoints against the same written by hand: in process, HTTP, start."""
    versus = f"× {section['baseline']} (range)"
    rows = []
    for database in section["databases"]:
        if "skipped" in database:
            rows.append([database["name"], "–", "skipped: " + database["skipped"]])
            rows[-1] += ["–"] * 5
            continue
        for case in database["cases"]:
            rows.append(
                [
                    database["version"],
                    case["workload"],
                    case["label"],
                    f"{case['median_us']:.1f}",
                    _ratio(case["ratio"]),
                    f"{case['wall_median_us']:.1f}",
                    _ratio(case["wall_ratio"]),
                    str(case["batch"]),
                ]
            )
    headers = ["database", "request", "app", "CPU µs", versus, "wall µs"]
    parts = [table([*headers, "× (wall)", "batch"], rows)]
    http = section["http"]
    if "skipped" in http:
        parts.append(f"Over HTTP: skipped: {http['skipped']}.")
    else:
        parts.append(
            f"Over HTTP ({http['database']}, gunicorn, {http['workers']} sync "
            f"workers, wrk, {http['connections']} connections, {http['tokens']} "
            "tokens in turn):"
        )
        parts.append(http_table(http, versus=versus))
    parts.append("Cold start to the first authenticated page (SQLite):")
    rows = [
        [
            subject["label"],
            f"{subject['median_ms']:.0f}",
            _ratio(subject["ratio"]),
            f"{subject['peak_rss_mib']:.1f}",
            _ratio(subject["peak_ratio"]),
        ]
        for subject in section["startup"]["subjects"]
    ]
    headers = ["interpreter", "ms", versus, "peak RSS MiB", "× (peak RSS)"]
    parts.append(table(headers, rows))
    return "\n\n".join(parts)


def webhooks_table(section: dict[str, Any]) -> str:
    """Deliveries per second with 1 and 4 workers, and how a burst is delivered."""
    database = section["database"]
    if section.get("postgresql_skipped"):
        database += f"; PostgreSQL {section['postgresql_skipped']}"
    rows = [
        [
            str(fleet["workers"]),
            f"{fleet['seconds']:.2f}",
            f"{fleet['per_second']:.0f}",
            _ratio(fleet["ratio"]),
            f"{fleet['startup_seconds']:.2f}",
            f"{fleet['delivering_per_second']:.0f}",
            _ratio(fleet["delivering_ratio"]),
        ]
        for fleet in section["throughput"]
    ]
    headers = ["workers", "s", "deliveries/s", "× 1 worker (range)", "start-up s"]
    headers += ["deliveries/s delivering", "× 1 worker (delivering)"]
    burst = section["burst"]
    burst_row = [
        f"{burst['events']:,}",
        f"{burst['write_seconds']:.2f}",
        f"{burst['writes_per_second']:.0f}",
        f"{burst['drain_seconds']:.2f}",
        f"{burst['lag_p50_ms']:.0f}",
        f"{burst['lag_p99_ms']:.0f}",
        f"{burst['lag_max_ms']:.0f}",
    ]
    burst_headers = ["events", "write s", "events/s", "drain s", "lag p50 ms"]
    burst_headers += ["lag p99 ms", "lag max ms"]
    return "\n\n".join(
        [
            f"{section['deliveries']:,} deliveries owed, then delivered ({database}):",
            table(headers, rows),
            f"A burst, {burst['workers']} idle workers waiting ({database}):",
            table(burst_headers, [burst_row]),
        ]
    )


def client_table(section: dict[str, Any]) -> str:
    """Time per ``GET /me`` through ``mything.Client`` and through bare httpx."""
    rows = [
        [case["label"], f"{case['median_us']:.1f}", _ratio(case["ratio"])]
        for case in section["cases"]
    ]
    headers = ["caller", "µs per call", f"× {section['baseline']} (range)"]
    return (
        f"`GET /me`, {section['calls']} calls a round over one kept-alive "
        "connection to gunicorn (SQLite):\n\n" + table(headers, rows)
    )


def _case(section: dict[str, Any], key: str, workload: str) -> dict[str, Any] | None:
    for case in section["cases"]:
        if case["contender"] == key and case["workload"] == workload:
            return case
    return None


def targets(results: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """Check the goals: (goal, measured, met); ``None`` when not measured."""
    checks: list[tuple[str, str, bool | None]] = []
    inprocess = results.get("inprocess", {})
    for workload in ("GET /add", "POST /add"):
        if "cases" not in inprocess:
            break
        ours = _case(inprocess, "mything", workload)
        if ours is None or ours["ratio"] is None:
            continue
        ratio = ours["ratio"]["median"]
        checks.append(
            (
                f"in-process {workload} ≤ {ADD_GOAL:.2f}× Flask",
                f"{ratio:.2f}×",
                ratio <= ADD_GOAL,
            )
        )
        if ours.get("contract_ratio") is not None:
            ratio = ours["contract_ratio"]["median"]
            checks.append(
                (
                    f"in-process {workload} ≤ {ADD_CONTRACT_GOAL}× the contract "
                    "by hand (Flask + voluptuous + Flask-Limiter)",
                    f"{ratio:.2f}×",
                    ratio <= ADD_CONTRACT_GOAL,
                )
            )
        for key in HEAVIER_PEERS:
            peer = _case(inprocess, key, workload)
            if peer is None:
                continue
            versus = paired_ratio(ours["samples_us"], peer["samples_us"]).median
            checks.append(
                (
                    f"in-process {workload} faster than {peer['label']}",
                    f"{versus:.2f}×",
                    versus < 1.0,
                )
            )
    http = results.get("http", {})
    for workload in ("GET /add", "POST /add"):
        if "cases" not in http:
            break
        ours = _case(http, "mything", workload)
        if ours is None or ours["ratio"] is None:
            continue
        ratio = ours["ratio"]["median"]
        checks.append(
            (
                f"gunicorn {workload} throughput ≥ 0.95× Flask",
                f"{ratio:.2f}×",
                ratio >= 0.95,
            )
        )
    for backend in results.get("depth", {}).get("backends", []):
        if "skipped" in backend:
            checks.append(
                (f"deep page ≤ 1.5× first, {backend['name']}", "skipped", None)
            )
            continue
        ratio = backend["deepest_ratio"]
        checks.append(
            (
                f"deep page ≤ 1.5× first, {backend['name']}",
                f"{ratio:.2f}×",
                backend["within_limit"],
            )
        )
    checks += notes_targets(results.get("notes"))
    checks += client_targets(results.get("client"))
    return checks


def notes_targets(section: dict[str, Any] | None) -> list[tuple[str, str, bool | None]]:
    """Check the notes section's goals, against its hand-written baseline."""
    if section is None:
        return []
    checks: list[tuple[str, str, bool | None]] = []
    baseline = section["baseline"]
    databases = {database["key"]: database for database in section["databases"]}
    for key, name in NOTES_GOAL_DATABASES:
        database = databases.get(key, {"skipped": "not run"})
        for workload, short, limit in NOTES_GOALS:
            goal = f"notes {short} ≤ {limit}× {baseline}, {name}"
            ours = (
                None if "skipped" in database else _case(database, "mything", workload)
            )
            if ours is None:
                checks.append((goal, "skipped", None))
                continue
            ratio = ours["ratio"]["median"]
            checks.append((goal, f"{ratio:.2f}×", ratio <= limit))
    goal = f"gunicorn notes page throughput ≥ {NOTES_HTTP_GOAL}× {baseline}, PostgreSQL"
    ours = (
        None
        if "skipped" in section["http"]
        else _case(section["http"], "mything", NOTES_GOALS[0][0])
    )
    if ours is None or ours["ratio"] is None:
        checks.append((goal, "skipped", None))
    else:
        ratio = ours["ratio"]["median"]
        checks.append((goal, f"{ratio:.2f}×", ratio >= NOTES_HTTP_GOAL))
    started = {s["contender"]: s for s in section["startup"]["subjects"]}
    ours = started.get("mything")
    for what, field in (("time", "ratio"), ("peak RSS", "peak_ratio")):
        goal = f"cold start to first page, {what} ≤ {NOTES_STARTUP_GOAL}× {baseline}"
        if ours is None or ours[field] is None:
            checks.append((goal, "not measured", None))
            continue
        ratio = ours[field]["median"]
        checks.append((goal, f"{ratio:.2f}×", ratio <= NOTES_STARTUP_GOAL))
    return checks


def client_targets(
    section: dict[str, Any] | None,
) -> list[tuple[str, str, bool | None]]:
    """Check what ``mything.Client`` costs against bare httpx."""
    if section is None:
        return []
    goal = f"mything.Client GET /me ≤ {CLIENT_GOAL}× bare httpx"
    ours = None if "skipped" in section else _case_of(section, "mything")
    if ours is None:
        return [(goal, "skipped", None)]
    ratio = ours["ratio"]["median"]
    return [(goal, f"{ratio:.2f}×", ratio <= CLIENT_GOAL)]


def _case_of(section: dict[str, Any], key: str) -> dict[str, Any] | None:
    return next((c for c in section["cases"] if c["contender"] == key), None)


def targets_table(results: dict[str, Any]) -> str:
    """The goals, what was measured and whether each is met."""
    verdict = {True: "yes", False: "**no**", None: "not measured"}
    rows = [[goal, got, verdict[met]] for goal, got, met in targets(results)]
    return table(["goal", "measured", "met"], rows)


SECTIONS = (
    ("inprocess", "In-process: time per request through the WSGI callable"),
    ("http", "Over HTTP: gunicorn, 2 sync workers, wrk on loopback"),
    ("depth", "Page cost at depth"),
    ("startup", "Cold start and footprint"),
    ("notes", "Notes endpoints: mything against the same written by hand"),
    ("webhooks", "Webhook delivery: mything deliver workers, a receiver on loopback"),
    ("client", "mything.Client: a call against the same with bare httpx"),
)
TABLES = {
    "inprocess": inprocess_table,
    "http": http_table,
    "depth": depth_table,
    "startup": startup_table,
    "notes": notes_table,
    "webhooks": webhooks_table,
    "client": client_table,
}


def section_text(key: str, section: dict[str, Any] | None) -> str:
    """Return the table of one section, or why it did not run."""
    if section is None:
        return f"Not run (this run chose other sections; `{COMMAND}` runs all)."
    if "skipped" in section:
        return f"Skipped: {section['skipped']}."
    return TABLES[key](section)


def render_text(results: dict[str, Any]) -> str:
    """Return every table, for the terminal."""
    parts = []
    for key, title in SECTIONS:
        parts += [f"== {title}", section_text(key, results.get(key)), ""]
    parts += ["== Goals", targets_table(results)]
    return "\n".join(parts)
