"""Prometheus metrics: the rate, errors and duration of every route, per app.

Turned on by ``METRICS_ENABLED`` (off by default), with the optional extra
``pip install 'mything[metrics]'``, which brings prometheus_client. The
metrics are served at ``GET /metrics`` (:mod:`mything.blueprints.metrics`)
in the Prometheus text format:

========================================================================  ==========
``mything_http_requests_total{method,route,status,mything_instance}``     counter
``mything_http_request_duration_seconds{method,route,mything_instance}``  histogram
``mything_http_requests_in_progress{method}``                             gauge
``mything_rate_limited_total``                                            counter
``mything_database_unavailable_total``                                    counter
``mything_webhook_deliveries_total{outcome}``                             counter
``mything_webhook_oldest_due_seconds``                                    gauge
========================================================================  ==========

The histogram's buckets run from 5 ms to 10 s; the two counters after it
count 429s and 503s. ``outcome`` is ``succeeded``, ``retrying``, ``failed``
or ``blocked``: each webhook delivery attempt counts once, in the process
that made it (a ``mything deliver`` worker counts its own: give it the same
``PROMETHEUS_MULTIPROC_DIR`` as the web workers to see them in one scrape).
``mything_webhook_oldest_due_seconds`` is read from the database at each
scrape: how long the oldest delivery that is due has waited (0 when none
is), which grows when the workers fall behind or stop.

``route`` is the URL rule (``/orgs/<slug>/notes/<id:note_id>``) or
``<unmatched>``, and ``method`` one of the standard methods or ``_OTHER``,
as in the access records, so a thousand note ids make one series, and
neither invented paths nor invented methods make new ones: the number of
series is bounded by the app's routes, not by what clients send. Requests
to ``/metrics`` itself are not counted. ``mything_instance`` is the
access records' ``instance`` (``INSTANCE_NAME``, or the mount prefix), so
two mythings scraped into one Prometheus stay apart; Prometheus keeps the
name ``instance`` for the scraped target. The names follow
OpenTelemetry's HTTP server conventions (``http.server.request.duration``,
labelled by ``http.route``) in Prometheus's spelling.

**Nothing global.** Each app registers its metrics in a
:class:`~prometheus_client.CollectorRegistry` of its own, never in
prometheus_client's default ``REGISTRY``: two :class:`~mything.MyThing`
instances in one process each count their own requests, and a host's own
metrics stay the host's. prometheus_client is imported only when metrics
are on.

**Under gunicorn**, each worker counts its own requests, so a scrape that
reaches one worker would see a fraction of them. With the environment
variable ``PROMETHEUS_MULTIPROC_DIR`` naming an empty, writable directory,
prometheus_client keeps every worker's values in files there, and a scrape
adds them up, those of workers that have since died included (their
in-progress gauges are dropped by the ``child_exit`` hook of
``examples/gunicorn.conf.py``). The directory is shared by everything in the
process tree that uses prometheus_client, so there, one mything per server.
"""

from __future__ import annotations

import os
import struct
import tempfile
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from .config import settings_of
from .errors import ConfigError

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment
    from flask import Flask
    from prometheus_client.metrics_core import Metric
    from prometheus_client.registry import Collector

    from .access import AccessLog, Exchange

#: How many times a scrape reads the workers' files before it gives up.
READ_ATTEMPTS = 5

#: Where the metrics are served, relative to wherever mything is mounted.
PATH = "/metrics"

#: Histogram buckets in seconds, from 5 ms to 10 s: OpenTelemetry's advice
#: for ``http.server.request.duration``.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)

#: The samples a scrape shows. prometheus_client also adds a ``_created``
#: sample to each counter and histogram (switched off only process-wide);
#: a scrape leaves those out.
#: The outcomes of a webhook delivery attempt, as ``outcome`` labels them.
DELIVERY_OUTCOMES = ("succeeded", "retrying", "failed", "blocked")

SAMPLE_NAMES = frozenset(
    {
        "mything_http_requests_total",
        "mything_http_request_duration_seconds_bucket",
        "mything_http_request_duration_seconds_count",
        "mything_http_request_duration_seconds_sum",
        "mything_http_requests_in_progress",
        "mything_rate_limited_total",
        "mything_database_unavailable_total",
        "mything_webhook_deliveries_total",
        "mything_webhook_oldest_due_seconds",
    }
)


class Metrics:
    """The metrics of one app, in a registry of their own.

    It is a listener of :class:`mything.access.AccessLog`, which tells it
    about every request.
    """

    def __init__(self, *, multiprocess_dir: str | None = None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        #: Where workers keep their values in multiprocess mode, or ``None``.
        self.multiprocess_dir = multiprocess_dir
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "mything_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status", "mything_instance"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "mything_http_request_duration_seconds",
            "Time from a request's arrival until its response was ready.",
            ["method", "route", "mything_instance"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.in_progress = Gauge(
            "mything_http_requests_in_progress",
            "HTTP requests being answered.",
            ["method"],
            # Summed over live workers only: a dead worker's requests are
            # no longer in progress.
            multiprocess_mode="livesum",
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "mything_rate_limited",
            "Requests refused with 429 because the caller was over its limit.",
            registry=self.registry,
        )
        self.database_unavailable = Counter(
            "mything_database_unavailable",
            "Requests answered 503 because the database did not answer.",
            registry=self.registry,
        )
        self.webhook_deliveries = Counter(
            "mything_webhook_deliveries",
            "Webhook delivery attempts made by this process, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        # Every outcome is a series from the start, at 0, so that a rate over
        # it is defined before the first failure.
        for outcome in DELIVERY_OUTCOMES:
            self.webhook_deliveries.labels(outcome)
        self.webhook_oldest_due = Gauge(
            "mything_webhook_oldest_due_seconds",
            "Seconds the oldest due webhook delivery has waited, at the last scrape.",
            # The value of the scrape that set it last, whichever worker served it.
            multiprocess_mode="mostrecent",
            registry=self.registry,
        )

    def request_started(self, environ: WSGIEnvironment, method: str) -> None:
        """Count ``environ``'s request as in progress."""
        if environ.get("PATH_INFO") != PATH:
            self.in_progress.labels(method).inc()

    def request_finished(self, environ: WSGIEnvironment, exchange: Exchange) -> None:
        """Count the answered request, its duration, and what it says about health."""
        if environ.get("PATH_INFO") == PATH:
            return
        self.in_progress.labels(exchange.method).dec()
        method, route, instance = exchange.method, exchange.route, exchange.instance
        self.requests.labels(method, route, exchange.status, instance).inc()
        self.duration.labels(method, route, instance).observe(exchange.duration)
        # In mything, 429 comes only from the rate limit, and 503 only from
        # a database that does not answer (mything.errors.Unavailable).
        if exchange.status == 429:
            self.rate_limited.inc()
        elif exchange.status == 503:
            self.database_unavailable.inc()

    def delivery_attempted(self, outcome: str) -> None:
        """Count one webhook delivery attempt with its ``outcome``."""
        self.webhook_deliveries.labels(outcome).inc()

    def webhook_queue_read(self, oldest_due_seconds: float) -> None:
        """Keep the age of the oldest due delivery, read for a scrape."""
        self.webhook_oldest_due.set(oldest_due_seconds)

    def exposition(self, accept: str | None = None) -> tuple[bytes, str]:
        """Return the scrape document and its content type, for ``Accept``."""
        from prometheus_client import CollectorRegistry
        from prometheus_client.exposition import choose_encoder
        from prometheus_client.multiprocess import MultiProcessCollector

        source: Collector = self.registry
        if self.multiprocess_dir is not None:
            # Every worker's values, read from their files for this scrape.
            source = CollectorRegistry()
            MultiProcessCollector(source, path=self.multiprocess_dir)
        encode, content_type = choose_encoder(accept or "")
        for attempt in range(READ_ATTEMPTS):
            try:
                return encode(OnlySamples(source, SAMPLE_NAMES)), content_type
            except (RuntimeError, ValueError, struct.error):
                # In multiprocess mode a worker may be creating its file, or
                # adding a series to it, while this scrape reads it; the
                # reader then meets a half-written entry (prometheus_client
                # reads without a lock). That lasts microseconds: read again.
                if self.multiprocess_dir is None or attempt == READ_ATTEMPTS - 1:
                    raise
                time.sleep(0.01)
        raise AssertionError("unreachable")


class OnlySamples:
    """A collector of the samples of ``source`` named in ``names``.

    In multiprocess mode it also leaves out whatever else the host's own
    metrics keep in the same directory.
    """

    def __init__(self, source: Collector, names: frozenset[str]) -> None:
        self.source = source
        self.names = names

    def collect(self) -> Iterator[Metric]:
        for family in self.source.collect():
            samples = [sample for sample in family.samples if sample.name in self.names]
            if samples or family.name.startswith("mything_"):
                family.samples = samples
                yield family


def multiprocess_directory(environ: Mapping[str, str]) -> str | None:
    """Return ``PROMETHEUS_MULTIPROC_DIR`` after checking that it can be used.

    A directory that is missing or not writable stops the app at start, not
    at the first request that would write a value there.
    """
    directory = environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory is None:
        return None
    if not os.path.isdir(directory):
        raise ConfigError(
            f"invalid PROMETHEUS_MULTIPROC_DIR: {directory!r} is not a directory "
            "(create it, empty, before starting)"
        )
    try:
        # Only writing proves it: access() says yes to root even on a
        # directory no one may create files in.
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise ConfigError(
            f"invalid PROMETHEUS_MULTIPROC_DIR: cannot write in {directory!r} "
            f"({exc.strerror})"
        ) from None
    return directory


def init_app(app: Flask) -> Metrics | None:
    """Count every request of ``app``, if ``METRICS_ENABLED`` is on.

    Call it after :func:`mything.access.init_app`, whose measurement it
    uses. The metrics are kept as ``app.extensions["mything.metrics"]``.
    """
    if not settings_of(app).metrics_enabled:
        return None
    # Checked before prometheus_client is imported: it reads the variable
    # once, at import, to choose how values are kept.
    directory = multiprocess_directory(os.environ)
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        raise ConfigError(
            "METRICS_ENABLED is on but prometheus_client is not installed: "
            "install mything[metrics]"
        ) from None
    metrics = Metrics(multiprocess_dir=directory)
    app.extensions["mything.metrics"] = metrics
    access_log: AccessLog = app.extensions["mything.access"]
    access_log.listeners.append(metrics)
    return metrics
