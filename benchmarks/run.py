"""The one command that runs the benchmarks and writes ``docs/performance.md``.

::

    python -m benchmarks.run                  # everything, about 25 minutes
    python -m benchmarks.run --quick          # shorter rounds, same sections
    python -m benchmarks.run --smoke --output-dir /tmp/x   # seconds; for tests
    python -m benchmarks.run --only inprocess startup
    python -m benchmarks.run --only notes     # mything's notes against hand-written
    python -m benchmarks.run --only webhooks client
    python -m benchmarks.run --render results.json     # page from a --json file

It prints the tables, then writes ``performance.md`` and ``performance.png``
into ``--output-dir`` (default ``docs/``). Ctrl-C (or SIGTERM) stops the run
cleanly: the gunicorn servers, the webhook workers and their receiver are
stopped by process group on the way out.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .harness import environment
from .harness.contenders import available_contenders
from .harness.databases import DEFAULT_MYSQL, DEFAULT_POSTGRESQL, with_pymysql
from .harness.servers import INTERRUPTED, WrkMissing, wrk_version
from .harness.settings import PRESETS
from .report import chart
from .report.page import render_markdown
from .report.tables import render_text
from .sections import client, depth, inprocess, notes, serving, startup, webhooks

ROOT = Path(__file__).resolve().parent.parent
SECTION_NAMES = ("inprocess", "http", "depth", "startup", "notes", "webhooks", "client")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0]
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    size.add_argument("--smoke", action="store_true", help="a few requests of each")
    parser.add_argument(
        "--only", nargs="+", choices=SECTION_NAMES, help="run only these sections"
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=ROOT / "docs",
        help="where performance.md and performance.png go (default: docs/)",
    )
    parser.add_argument("--json", type=Path, help="also write every sample here")
    parser.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="measure nothing: write the page and chart again from a --json file",
    )
    parser.add_argument(
        "--postgresql",
        default=DEFAULT_POSTGRESQL,
        help="PostgreSQL URI for the depth, notes and webhooks sections; 'none' "
        "to skip it (webhooks then runs on SQLite)",
    )
    parser.add_argument(
        "--mysql",
        default=DEFAULT_MYSQL,
        help="MySQL or MariaDB URI for the notes section; 'none' to skip it",
    )
    parser.add_argument("--rounds", type=int, help="override in-process rounds")
    parser.add_argument("--http-seconds", type=int, help="override seconds per wrk run")
    parser.add_argument("--notes", type=int, help="override notes for depth (×2000)")
    args = parser.parse_args(argv)
    if args.notes is not None and (args.notes <= 0 or args.notes % 2000):
        parser.error("--notes must be a positive multiple of 2000")
    return args


def make_logger() -> Callable[[str], None]:
    """Return a logger that writes progress to stderr with the elapsed time."""
    started = time.monotonic()

    def log(message: str) -> None:
        print(
            f"[{time.monotonic() - started:6.1f}s] {message}",
            file=sys.stderr,
            flush=True,
        )

    return log


def _stop(signum: int, frame: object) -> None:
    # SIGINT and SIGTERM unwind the same way, so every ``finally`` runs and
    # no gunicorn is left behind; INTERRUPTED says so to the long waits, in
    # case Python drops the exception (see its doc).
    INTERRUPTED.set()
    raise KeyboardInterrupt


def run_sections(
    args: argparse.Namespace, log: Callable[[str], None]
) -> dict[str, Any]:
    """Run the chosen sections and return the results of the whole run."""
    preset = "smoke" if args.smoke else "quick" if args.quick else "full"
    settings = PRESETS[preset].with_overrides(
        rounds=args.rounds, http_seconds=args.http_seconds, notes=args.notes
    )
    skipped: list[str] = []

    def note_skipped(message: str) -> None:
        log(message)
        skipped.append(message)

    contenders = available_contenders(note_skipped)
    results: dict[str, Any] = {
        "date": environment.now(),
        "settings": asdict(settings),
        "machine": environment.machine(),
        "versions": environment.versions(),
        "wrk": wrk_version(),
        "skipped": skipped,
    }
    sections = args.only or SECTION_NAMES
    if "inprocess" in sections:
        results["inprocess"] = inprocess.run(contenders, settings, log)
    if "http" in sections:
        try:
            results["http"] = serving.run(contenders, settings, log)
        except WrkMissing as exc:
            log(f"skipping HTTP: {exc}")
            results["http"] = {"skipped": str(exc)}
    postgresql = None if args.postgresql.lower() == "none" else args.postgresql
    if "depth" in sections:
        results["depth"] = depth.run(settings, log, postgresql=postgresql)
    if "startup" in sections:
        results["startup"] = startup.run(contenders, settings.startup_rounds, log)
    if "notes" in sections:
        mysql = None if args.mysql.lower() == "none" else with_pymysql(args.mysql)
        results["notes"] = notes.run(settings, log, postgresql=postgresql, mysql=mysql)
    if "webhooks" in sections:
        results["webhooks"] = webhooks.run(settings, log, postgresql=postgresql)
    if "client" in sections:
        results["client"] = client.run(settings, log)
    results["machine"]["load_at_end"] = [round(v, 2) for v in os.getloadavg()]
    return results


def write_outputs(
    results: dict[str, Any], args: argparse.Namespace, log: Callable[[str], None]
) -> None:
    """Write the page, the chart and, if asked, the raw results."""
    args.output_dir.mkdir(parents=True, exist_ok=True)
    chart_name = None
    if chart.available():
        chart_name = "performance.png"
        chart.draw(results, args.output_dir / chart_name)
    else:
        log("no chart: matplotlib is not installed (pip install -e '.[bench]')")
    page = args.output_dir / "performance.md"
    page.write_text(render_markdown(results, chart=chart_name))
    log(f"wrote {page}")
    if args.json and not args.render:
        args.json.write_text(json.dumps(results, indent=2))
        log(f"wrote {args.json}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks; return the process exit status."""
    args = parse_args(argv)
    log = make_logger()
    if args.render:
        write_outputs(json.loads(args.render.read_text()), args, log)
        return 0
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        results = run_sections(args, log)
    except KeyboardInterrupt:
        log("interrupted; every server was stopped, nothing was written")
        return 130
    print(render_text(results))
    write_outputs(results, args, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
