"""The contenders: mything and the peers it is compared with.

Each :class:`Contender` knows how to load its WSGI app in this process, how
gunicorn names it, and what a fresh interpreter runs to build it. Peers
whose framework is not installed are left out of a run, with the reason
printed, so the suite also runs where only mything's own dependencies are.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: The contender every ratio is relative to: bare Flask with voluptuous.
BASELINE = "flask"
#: The second reference of ``/add``: mything's contract written by hand in
#: Flask (rate limits and their headers, request ids, ``nosniff``).
CONTRACT = "contract"

#: The rate limit mything runs with in the benchmarks: on, counted in memory,
#: and high enough that no benchmark request is ever refused.
BENCH_RATELIMIT = "1000000/minute"


@dataclass(frozen=True)
class Contender:
    """An app that serves ``/add``: mything itself or a peer module."""

    key: str
    label: str
    #: The module (in :mod:`benchmarks.peers`) whose ``app`` serves ``/add``.
    module: str | None
    #: Top-level packages that must be importable, with the distribution.
    requires: tuple[tuple[str, str], ...] = ()

    @property
    def wsgi_spec(self) -> str:
        """The app as gunicorn names it."""
        if self.module is None:
            return "mything:MyThing()"
        return f"benchmarks.peers.{self.module}:app"

    @property
    def startup_code(self) -> str:
        """What ``python -c`` runs to import the framework and build the app."""
        if self.module is None:
            return "import mything; mything.MyThing()"
        return f"import benchmarks.peers.{self.module}"

    def missing(self) -> str | None:
        """Say which distribution is missing, or ``None`` if all are installed."""
        for package, distribution in self.requires:
            if importlib.util.find_spec(package) is None:
                return f"{distribution} is not installed (pip install -e '.[bench]')"
        return None

    def load(self, make_mything: Callable[[], Any]) -> Any:
        """Return the WSGI app; ``make_mything`` builds mything's."""
        if self.module is None:
            return make_mything()
        module = importlib.import_module(f"benchmarks.peers.{self.module}")
        return module.app


CONTENDERS = (
    Contender("mything", "mything", None),
    Contender("raw", "raw WSGI", "raw_wsgi"),
    Contender("flask", "Flask + voluptuous", "flask_voluptuous"),
    Contender(
        CONTRACT,
        "Flask, contract by hand",
        "flask_contract",
        (("flask_limiter", "flask-limiter"),),
    ),
    Contender("apiflask", "APIFlask", "apiflask_app", (("apiflask", "apiflask"),)),
    Contender(
        "smorest", "flask-smorest", "smorest_app", (("flask_smorest", "flask-smorest"),)
    ),
    Contender("restx", "Flask-RESTX", "restx_app", (("flask_restx", "flask-restx"),)),
    Contender("falcon", "Falcon", "falcon_app", (("falcon", "falcon"),)),
)


def available_contenders(log: Callable[[str], None] = print) -> list[Contender]:
    """Return the contenders that can run here, logging why others cannot."""
    found = []
    for contender in CONTENDERS:
        reason = contender.missing()
        if reason is None:
            found.append(contender)
        else:
            log(f"skipping {contender.label}: {reason}")
    return found
