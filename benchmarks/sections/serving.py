"""Requests per second under gunicorn, measured with wrk, on loopback only.

Every contender is served by its own gunicorn (see
:mod:`benchmarks.harness.servers`). Then, round after round, wrk loads each
one for a fixed number of seconds, for ``GET /add`` and then ``POST /add``,
and reports requests per second and the 50th and 99th latency percentiles.
This is the report's *HTTP* section (``--only http``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..harness.contenders import Contender
from ..harness.servers import (
    Target,
    WrkMissing,
    load_in_rounds,
    server_env,
    serving,
    summarize,
    wrk_version,
)
from ..harness.settings import Settings

POST_SCRIPT = """\
wrk.method = "POST"
wrk.body = '{"a": 1, "b": 2}'
wrk.headers["Content-Type"] = "application/json"
"""


def run(
    contenders: list[Contender], settings: Settings, log: Callable[[str], None]
) -> dict[str, Any]:
    """Serve every contender and load them in interleaved rounds."""
    if wrk_version() is None:
        raise WrkMissing("wrk is not installed (apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="mything-bench-") as scratch:
        post_script = Path(scratch) / "post.lua"
        post_script.write_text(POST_SCRIPT)
        workloads = {
            "GET /add": ("/add?a=1&b=2", None),
            "POST /add": ("/add", post_script),
        }
        env = server_env(Path(scratch))
        targets = [Target.of(contender) for contender in contenders]
        with serving(targets, env, logs=Path(scratch), log=log) as servers:
            series = load_in_rounds(servers, workloads, settings, log)
            pids = [server.pid for server in servers]
    return summarize(series, pids=pids, settings=settings)
