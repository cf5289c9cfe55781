"""What ``mything.Client`` adds to a call: the same request made with bare httpx.

One gunicorn serves mything on loopback (SQLite, rate limits off), with
``gthread`` workers of two threads, which keep a connection alive as a
client in production finds it behind a proxy. Round after round,
interleaved, ``Client.me()`` and ``httpx.Client.get("/me")`` with the same
token, each followed by decoding the JSON, make ``client_calls`` requests
over one kept-alive connection each; each round gives the wall time per
call of both (most of a call is the server's, in other processes, which
CPU time would miss), and the paired ratio of the two is what the client
costs. The aim is a ratio of 1.1 or less: checking ids, choosing whether
to retry and mapping errors must be small next to a request.

The client needs httpx (``pip install -e '.[client]'``); without it the
section is skipped, with the reason printed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..harness.servers import Target, server_env, serving
from ..harness.settings import Settings
from ..harness.stats import median, paired_ratio
from ..harness.tenant import make_tenant

#: The caller every ratio of this section is relative to.
BASELINE = "httpx"
#: mything, served so that connections stay alive between calls.
TARGET = Target(
    "mything",
    "mything",
    "mything:MyThing()",
    ready_path="/healthz",
    worker_class="gthread",
    threads=2,
)


@dataclass
class Caller:
    """One way of asking for ``GET /me``, and its seconds per call, per round."""

    key: str
    label: str
    call: Callable[[], object]
    samples: list[float] = field(default_factory=list)


def time_calls(call: Callable[[], object], calls: int) -> float:
    """Return the wall seconds per call of ``calls`` calls."""
    started = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - started) / calls


@contextlib.contextmanager
def callers(url: str, token: str) -> Iterator[list[Caller]]:
    """Yield bare httpx and ``mything.Client``, each with its own connection."""
    # Imported here: the rest of the suite runs without httpx.
    import httpx

    from mything import Client

    headers = {"Authorization": f"Bearer {token}"}
    with (
        httpx.Client(base_url=url, headers=headers) as bare,
        Client(url, token) as client,
    ):
        yield [
            Caller(BASELINE, "bare httpx", lambda: bare.get("/me").json()),
            Caller("mything", "mything.Client", client.me),
        ]


def check_answers(found: list[Caller]) -> None:
    """Refuse to time callers that do not get the same answer."""
    answers = {caller.key: caller.call() for caller in found}
    if len({repr(answer) for answer in answers.values()}) != 1:
        raise RuntimeError(f"GET /me answers differ: {answers!r}")


def measure(
    url: str, token: str, settings: Settings, log: Callable[[str], None]
) -> list[Caller]:
    """Time every caller in interleaved rounds against the server at ``url``."""
    with callers(url, token) as found:
        check_answers(found)
        for number in range(settings.client_rounds):
            log(f"client: round {number + 1}/{settings.client_rounds}")
            for caller in found:
                caller.samples.append(time_calls(caller.call, settings.client_calls))
    return found


def summarize(found: list[Caller]) -> list[dict[str, Any]]:
    """Return medians in microseconds per call and paired ratios to bare httpx."""
    base = next(caller for caller in found if caller.key == BASELINE).samples
    return [
        {
            "contender": caller.key,
            "label": caller.label,
            "median_us": median(caller.samples) * 1e6,
            "samples_us": [sample * 1e6 for sample in caller.samples],
            "ratio": paired_ratio(caller.samples, base).to_dict(),
        }
        for caller in found
    ]


def run(settings: Settings, log: Callable[[str], None]) -> dict[str, Any]:
    """Serve mything and time ``GET /me`` through the client and bare httpx."""
    if importlib.util.find_spec("httpx") is None:
        reason = "httpx is not installed (pip install -e '.[client]')"
        log(f"skipping client: {reason}")
        return {"skipped": reason}
    with tempfile.TemporaryDirectory(prefix="mything-bench-") as scratch:
        env = server_env(Path(scratch))
        env.update(MYTHING_RATELIMIT_ENABLED="off")
        tenant = make_tenant(env["MYTHING_DATABASE_URI"])
        tenant.close()
        with serving([TARGET], env, logs=Path(scratch), log=log) as servers:
            found = measure(servers[0].url, tenant.token, settings, log)
            pids = [server.pid for server in servers]
    return {
        "baseline": "bare httpx",
        "calls": settings.client_calls,
        "cases": summarize(found),
        "server_pids": pids,
    }
