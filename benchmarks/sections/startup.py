"""Cold start and footprint: a fresh interpreter that builds one app and exits.

For each contender, ``python -c`` imports it and builds its app (for
mything, ``import mything; mything.MyThing()``), then exits. The wall time
from spawning the interpreter to its exit, and its peak resident memory,
are measured in interleaved rounds by :mod:`benchmarks.harness.interpreters`.
``python -c pass`` is measured alongside as the floor.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import Any

from ..harness.contenders import Contender
from ..harness.interpreters import Subject, measure, summarize


def run(
    contenders: list[Contender], rounds: int, log: Callable[[str], None]
) -> dict[str, Any]:
    """Start every contender ``rounds`` times, interleaved, and summarize."""
    subjects = [Subject("python", "python -c pass", "pass")]
    subjects += [Subject(c.key, c.label, c.startup_code) for c in contenders]
    with tempfile.TemporaryDirectory(prefix="mything-bench-") as scratch:
        measure(subjects, rounds, log, cwd=scratch)
    return summarize(subjects)
