"""gunicorn settings for serving mything on its own.

::

    MYTHING_DATABASE_URI=postgresql+psycopg://db.internal/mything \\
        gunicorn -c examples/gunicorn.conf.py

gunicorn runs this file as Python and reads its module-level names as
settings. Command-line options win over it, so ``--bind`` or ``--workers``
still work for a one-off change. mything itself is configured separately, by
the ``MYTHING_*`` variables or the ``MYTHING_CONFIG`` file, which every worker
reads when it starts.
"""

import os

# What to serve, so that the command line needs no app argument.
wsgi_app = "mything:MyThing()"

# Listen on loopback, behind a buffering reverse proxy on the same host
# (examples/nginx.conf): a sync worker serves one request at a time, so a
# few clients sending slowly would hold every worker if they reached it
# directly. In a container, listen on every interface instead
# ("0.0.0.0:8000"), with the proxy in front of the container.
bind = "127.0.0.1:8000"

# A sync worker serves one request at a time, and a mything request spends
# most of its time waiting for the database, so start with gunicorn's rule of
# two workers per core plus one. WEB_CONCURRENCY overrides it, as platforms
# that set it expect. Nothing is shared between workers except PostgreSQL
# and Redis, so more throughput is more workers, then more hosts.
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1))

# Build MyThing once, in the master, before forking the workers. Its
# configuration is then checked once, at start: a bad setting (or a Redis that
# does not answer) stops gunicorn with one line naming the key. A worker that
# replaces a dead one later is forked from that app, so a Redis outage then
# does not stop it from booting: it serves, without limits, until Redis is
# back. No database connection is shared: mything connects on first use,
# inside each worker.
preload_app = True

# A worker that has not answered for this long is stuck (a lost lock, a
# runaway query): gunicorn kills it and starts a fresh one.
timeout = 30
# On a restart or a deploy, requests in flight get this long to finish.
graceful_timeout = 30

# Logs: one JSON object per line on standard output, for the platform's log
# collector. mything's access records (logger "mything.access": method,
# route, status, duration_ms, request_id, user, response_bytes) replace
# gunicorn's own access log, which would repeat each request with less in it;
# gunicorn's error log (workers booting, exiting, timing out) and any warning
# from elsewhere come out as JSON too. The request_id is the X-Request-ID
# response header and is in every error body, so one id finds a request
# everywhere. This is the application's logging configuration: mything itself
# only logs to its loggers and never configures any.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "mything.logs.JSONFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stdout",
        },
        "none": {"class": "logging.NullHandler"},
    },
    "root": {"level": "WARNING", "handlers": ["stdout"]},
    "loggers": {
        "mything": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
        "gunicorn.error": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
        "gunicorn.access": {"handlers": ["none"], "propagate": False},
    },
}


# Prometheus metrics (MYTHING_METRICS_ENABLED=on, with mything[metrics]):
# every worker counts its own requests, so that a scrape, which reaches one
# worker, adds up all of them, point PROMETHEUS_MULTIPROC_DIR at an empty
# directory that only this server uses (emptied before each start). The
# values of a worker that dies stay in its files and are still counted; this
# hook tells prometheus_client that the worker's requests are no longer in
# progress.
def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


# gunicorn itself refuses request lines longer than this (default 4094) with
# a small HTML 414, before mything sees the request. Its maximum leaves room
# for long query strings such as a tag filter and a cursor.
limit_request_line = 8190
