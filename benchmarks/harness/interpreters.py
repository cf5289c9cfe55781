"""Fresh interpreters that build an app and exit: their time and peak memory.

A :class:`Subject` is the code one ``python -c`` runs; :func:`measure` runs
every subject in interleaved rounds, timing each from spawn to exit and
reading its peak resident memory. A subject may go one step further than
building its app: answer its first request through the WSGI callable in the
same interpreter (:func:`first_request_code`), which is what a worker that
has just started does before it can serve anyone.

The peak memory is the child's own ``VmHWM`` from ``/proc/self/status``,
printed as its last act. ``ru_maxrss`` will not do: Linux carries the
parent's resident size, at the moment of the fork, into the child's.

The interpreters run in an empty scratch directory with ``MYTHING_*``
variables removed, so mything starts with its defaults, and bytecode
caches are warmed by one untimed run of each, as they would be after an
installation.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .contenders import BASELINE
from .stats import median, paired_ratio
from .wsgi import Request

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60.0

#: Appended to every subject's code: report the peak resident memory.
REPORT_PEAK = (
    "\nimport re as _re, sys as _sys\n"
    "_status = open('/proc/self/status').read()\n"
    "_sys.stdout.write(_re.search(r'VmHWM:.*', _status).group())\n"
)


@dataclass
class Subject:
    """What one fresh interpreter runs, and what each run measured."""

    key: str
    label: str
    code: str
    seconds: list[float] = field(default_factory=list)
    peak_kib: list[int] = field(default_factory=list)


#: Appended to a subject's code that builds ``app``: answer one request with it.
ANSWER_REQUEST = """
import io as _io, sys as _sys
_environ = {environ!r}
_environ.update({{"wsgi.input": _io.BytesIO({body!r}), "wsgi.errors": _sys.stderr}})
_statuses = []
_answer = app(_environ, lambda status, headers, exc_info=None: _statuses.append(status))
_body = b"".join(_answer)
getattr(_answer, "close", lambda: None)()
if not _statuses[0].startswith({expect!r}):
    raise SystemExit(f"first request answered {{_statuses[0]}}: {{_body[:300]!r}}")
"""


def first_request_code(build: str, request: Request) -> str:
    """Return code that runs ``build``, which sets ``app``, then sends ``request``."""
    environ = request.environ()
    del environ["wsgi.errors"]
    answer = ANSWER_REQUEST.format(
        environ=environ, body=request.body, expect=request.expect
    )
    return build + "\n" + answer


def clean_env() -> dict[str, str]:
    """Return this environment without mything's settings, with the suite importable.

    Bytecode caches are written, as after an installation.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYTHING_")}
    # The warm-up run writes the bytecode caches that an installation would
    # have: without them, whatever is imported from a source tree (mything,
    # here) would be compiled again on every start.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), env.get("PYTHONPATH")])
    )
    return env


def spawn(code: str, *, cwd: str, env: dict[str, str]) -> tuple[float, int]:
    """Run ``python -c code``; return its wall seconds and peak RSS in KiB."""
    started = time.perf_counter()
    finished = subprocess.run(
        [sys.executable, "-c", code + REPORT_PEAK],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    seconds = time.perf_counter() - started
    if finished.returncode != 0:
        raise RuntimeError(f"python -c {code!r} failed:\n{finished.stderr}")
    peak = re.search(r"VmHWM:\s+(\d+) kB", finished.stdout)
    if peak is None:
        raise RuntimeError(f"python -c {code!r} did not report its memory")
    return seconds, int(peak.group(1))


def measure(
    subjects: list[Subject],
    rounds: int,
    log: Callable[[str], None],
    *,
    cwd: str,
    name: str = "start-up",
) -> None:
    """Warm every subject up once, then run each ``rounds`` times, interleaved."""
    env = clean_env()
    for subject in subjects:
        spawn(subject.code, cwd=cwd, env=env)
    for number in range(rounds):
        log(f"{name} round {number + 1}/{rounds}")
        for subject in subjects:
            seconds, peak = spawn(subject.code, cwd=cwd, env=env)
            subject.seconds.append(seconds)
            subject.peak_kib.append(peak)


def summarize(subjects: list[Subject], *, baseline: str = BASELINE) -> dict[str, Any]:
    """Return each subject's median time and peak memory, and paired ratios of both."""
    base = next((s for s in subjects if s.key == baseline), None)
    rows = []
    for subject in subjects:
        ratio = paired_ratio(subject.seconds, base.seconds) if base else None
        peak_ratio = paired_ratio(subject.peak_kib, base.peak_kib) if base else None
        rows.append(
            {
                "contender": subject.key,
                "label": subject.label,
                "code": subject.code,
                "median_ms": median(subject.seconds) * 1e3,
                "samples_ms": [seconds * 1e3 for seconds in subject.seconds],
                "peak_rss_mib": median(subject.peak_kib) / 1024,
                "ratio": ratio.to_dict() if ratio else None,
                "peak_ratio": peak_ratio.to_dict() if peak_ratio else None,
            }
        )
    return {"subjects": rows}
