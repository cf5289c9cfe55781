"""What a result depends on: the date, the machine, and the versions used."""

from __future__ import annotations

import os
import platform
import sqlite3
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

DISTRIBUTIONS = (
    "mything",
    "flask",
    "werkzeug",
    "voluptuous",
    "orjson",
    "limits",
    "sqlalchemy",
    "psycopg",
    "gunicorn",
    "apiflask",
    "flask-smorest",
    "marshmallow",
    "flask-restx",
    "falcon",
    "flask-limiter",
)


def versions() -> dict[str, str]:
    """Return the installed version of every distribution the suite compares."""
    found = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for name in DISTRIBUTIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def machine() -> dict[str, Any]:
    """Return the CPU, core count, memory and load of this machine."""
    return {
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(_memory_kib() / 1024**2, 1),
        "load_at_start": [round(value, 2) for value in os.getloadavg()],
        "python": sys.version.split()[0],
    }


def now() -> str:
    """Return the current UTC time, to the minute."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_kib() -> int:
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    return 0
