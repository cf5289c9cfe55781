"""Serving apps under gunicorn and loading them with wrk, on loopback only.

Every target is served by its own gunicorn (two workers, sync unless the
target asks for another class, bound to 127.0.0.1 on a free port), in a
process group of its own. :func:`serving` stops every group when it exits,
whether the section finishes, fails or is interrupted: SIGTERM first,
SIGKILL for any that have not exited after ten seconds (:func:`stop_group`,
which stops the run's other processes too). :func:`load_in_rounds` loads
each server in turn, round after round, and :func:`summarize` gives medians
and paired ratios.

wrk is Debian's package (``apt-get install wrk``): a load generator written
in C does not compete for the interpreter lock it measures, and reports
latency percentiles from every request.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .contenders import BASELINE, BENCH_RATELIMIT, Contender
from .settings import Settings
from .stats import median, paired_ratio

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}
#: How often a wait for wrk looks at :data:`INTERRUPTED`, in seconds.
INTERRUPT_CHECK = 0.5

#: Set when the run is interrupted (SIGINT or SIGTERM), besides the
#: ``KeyboardInterrupt`` that unwinds it. Python drops an exception raised
#: where it can only print it (a ``__del__``, a weakref callback), so the
#: long waits look here too: a run stops within a moment of its signal,
#: not after the wrk round it arrived in.
INTERRUPTED = threading.Event()


class WrkMissing(RuntimeError):
    """wrk is not installed."""


@dataclass(frozen=True)
class Target:
    """An app for gunicorn to serve, and the request that says it is up."""

    key: str
    label: str
    #: The app as gunicorn names it (``module:app`` or ``module:create_app()``).
    wsgi_spec: str
    #: A request that answers 200 once the server is ready.
    ready_path: str = "/add?a=1&b=2"
    ready_headers: Mapping[str, str] = field(default_factory=dict)
    #: gunicorn's worker class, and threads per worker (``gthread`` keeps
    #: connections alive; ``sync`` closes each after its request).
    worker_class: str = "sync"
    threads: int = 1

    @classmethod
    def of(cls, contender: Contender) -> Target:
        """Return the target that serves ``contender``'s ``/add``."""
        return cls(contender.key, contender.label, contender.wsgi_spec)


@dataclass
class Server:
    """A gunicorn serving one target on 127.0.0.1."""

    target: Target
    process: subprocess.Popen
    url: str
    log_file: Path

    @property
    def pid(self) -> int:
        """The master's pid, which is also its process group id."""
        return self.process.pid


@dataclass
class Load:
    """The results of one wrk run."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int = 0


@dataclass
class Series:
    """All wrk runs of one app and one workload."""

    key: str
    label: str
    workload: str
    loads: list[Load] = field(default_factory=list)


def wrk_version() -> str | None:
    """Return wrk's version line, or ``None`` if wrk is not installed."""
    if shutil.which("wrk") is None:
        return None
    output = subprocess.run(
        ["wrk", "--version"], capture_output=True, text=True, timeout=10
    )
    first_line = (output.stdout + output.stderr).splitlines()[0]
    return first_line.split(" Copyright")[0].strip()


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(scratch: Path) -> dict[str, str]:
    """Return the environment of the servers: mything's settings, no others."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYTHING_")}
    env.update(
        MYTHING_DATABASE_URI=f"sqlite:///{scratch / 'serving.db'}",
        MYTHING_RATELIMIT=BENCH_RATELIMIT,
        MYTHING_RATELIMIT_STORAGE_URI="memory://",
        MYTHING_RATELIMIT_ENABLED="on",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    return env


def start_server(target: Target, env: dict[str, str], logs: Path) -> Server:
    """Start gunicorn for ``target`` in a new process group, logging to ``logs``."""
    port = free_port()
    log_file = logs / f"{target.key}.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(WORKERS),
        "--worker-class",
        target.worker_class,
        "--threads",
        str(target.threads),
        "--log-level",
        "warning",
        target.wsgi_spec,
    ]
    process = start_in_group(command, env, log_file)
    return Server(target, process, f"http://127.0.0.1:{port}", log_file)


def start_in_group(
    command: Sequence[str], env: dict[str, str], log_file: Path
) -> subprocess.Popen:
    """Start ``command`` from the project's root in a new process group.

    Its output and errors go to ``log_file``; :func:`stop_group` stops it.
    """
    with log_file.open("wb") as output:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_until_serving(server: Server) -> None:
    """Wait until the server answers its ready request, or raise with its log."""
    deadline = time.monotonic() + START_TIMEOUT
    target = server.target
    ready = urllib.request.Request(
        server.url + target.ready_path, headers=dict(target.ready_headers)
    )
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            log = server.log_file.read_text(errors="replace")
            raise RuntimeError(f"gunicorn for {target.label} exited:\n{log}")
        try:
            with urllib.request.urlopen(ready, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError(f"{target.label} did not answer within {START_TIMEOUT} s")


def stop_server(server: Server) -> None:
    """Stop a server's whole process group: SIGTERM, then SIGKILL if needed."""
    stop_group(server.process)


def stop_group(process: subprocess.Popen) -> None:
    """Stop the process group that ``process`` leads: SIGTERM, then SIGKILL.

    ``process`` must have been started with ``start_new_session=True``.
    """
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    # Children left behind by a leader that died first are still in the group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def serving(
    targets: list[Target],
    env: dict[str, str],
    *,
    logs: Path,
    log: Callable[[str], None],
) -> Iterator[list[Server]]:
    """Serve every target; stop every server by process group on the way out."""
    servers: list[Server] = []
    try:
        for target in targets:
            server = start_server(target, env, logs)
            servers.append(server)
            log(f"serving {target.label} at {server.url} (pgid {server.pid})")
        for server in servers:
            wait_until_serving(server)
        yield servers
    finally:
        for server in servers:
            stop_server(server)
        log(f"stopped {len(servers)} gunicorn process groups")


def run_wrk(url: str, *, seconds: int, connections: int, script: Path | None) -> Load:
    """Load ``url`` with wrk for ``seconds`` and return what it measured."""
    command = ["wrk", "--threads", "1", "--connections", str(connections)]
    command += ["--duration", f"{seconds}s", "--timeout", "5s", "--latency"]
    if script is not None:
        command += ["--script", str(script)]
    with subprocess.Popen(
        [*command, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as wrk:
        try:
            stdout, stderr = _output_of(wrk, timeout=seconds + 30)
        except BaseException:
            wrk.kill()
            raise
    if wrk.returncode != 0:
        raise RuntimeError(f"wrk failed: {stderr or stdout}")
    return parse_wrk(stdout)


def _output_of(process: subprocess.Popen, *, timeout: float) -> tuple[str, str]:
    """Wait for ``process`` to end; return its output and errors.

    Raises ``KeyboardInterrupt`` as soon as :data:`INTERRUPTED` is set.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            return process.communicate(timeout=INTERRUPT_CHECK)
        except subprocess.TimeoutExpired:
            # Asking again loses none of the output (subprocess's docs).
            if INTERRUPTED.is_set():
                raise KeyboardInterrupt from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"{process.args[0]} ran past {timeout} s") from None


def parse_wrk(output: str) -> Load:
    """Read requests per second, p50, p99 and failed responses from wrk's report."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    if rate is None or p50 is None or p99 is None:
        raise RuntimeError(f"cannot read wrk's report:\n{output}")
    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    sockets = re.search(r"Socket errors:([^\n]*)", output)
    if sockets:
        errors += sum(int(count) for count in re.findall(r"\d+", sockets.group(1)))
    return Load(
        requests_per_second=float(rate.group(1)),
        p50_ms=float(p50.group(1)) * _UNITS[p50.group(2)],
        p99_ms=float(p99.group(1)) * _UNITS[p99.group(2)],
        errors=errors,
    )


def load_in_rounds(
    servers: list[Server],
    workloads: Mapping[str, tuple[str, Path | None]],
    settings: Settings,
    log: Callable[[str], None],
    *,
    name: str = "HTTP",
) -> list[Series]:
    """Load every server with every workload (a path and a wrk script), in rounds."""
    series = [
        Series(server.target.key, server.target.label, workload)
        for workload in workloads
        for server in servers
    ]
    urls = {server.target.key: server.url for server in servers}
    for number in range(settings.http_rounds):
        log(f"{name} round {number + 1}/{settings.http_rounds}")
        for one in series:
            path, script = workloads[one.workload]
            load = run_wrk(
                urls[one.key] + path,
                seconds=settings.http_seconds,
                connections=settings.http_connections,
                script=script,
            )
            one.loads.append(load)
    return series


def summarize(
    series: list[Series],
    *,
    pids: list[int],
    settings: Settings,
    baseline: str = BASELINE,
) -> dict:
    """Return medians of req/s and latencies, and req/s ratios to ``baseline``."""
    baselines = {
        one.workload: [load.requests_per_second for load in one.loads]
        for one in series
        if one.key == baseline
    }
    rows = []
    for one in series:
        rates = [load.requests_per_second for load in one.loads]
        row: dict[str, Any] = {
            "contender": one.key,
            "label": one.label,
            "workload": one.workload,
            "requests_per_second": median(rates),
            "samples": rates,
            "p50_ms": median([load.p50_ms for load in one.loads]),
            "p99_ms": median([load.p99_ms for load in one.loads]),
            "errors": sum(load.errors for load in one.loads),
            "ratio": None,
        }
        if one.workload in baselines:
            row["ratio"] = paired_ratio(rates, baselines[one.workload]).to_dict()
        rows.append(row)
    return {
        "cases": rows,
        "workers": WORKERS,
        "connections": settings.http_connections,
        "seconds": settings.http_seconds,
        "server_pids": pids,
    }
