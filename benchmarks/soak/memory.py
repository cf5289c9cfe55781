"""The workers' resident memory, sampled while the soak runs."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from .load import Tally
from .server import Server


def rss_kib(pid: int) -> int | None:
    """Return the resident set size of ``pid`` in KiB, or ``None`` if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


@dataclass
class Sample:
    seconds: float
    served: int
    rss: dict[int, int | None]


def sample(server: Server, tally: Tally, started: float) -> Sample:
    rss = {pid: rss_kib(pid) for pid in server.worker_pids()}
    return Sample(time.monotonic() - started, tally.served, rss)
