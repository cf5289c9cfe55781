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

# Listen on loopback, behind a reverse proxy or load balancer on the same
# host. In a container, listen on every interface instead: "0.0.0.0:8000".
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

# Log each request to standard output, for the platform's log collector.
# The X-Request-ID response header is the id mything chose for the request
# (the client's own when it sent a sane one); it is in the error bodies and
# mything's log lines too, so one id finds a request everywhere.
accesslog = "-"
access_log_format = (
    '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s "%(a)s"'
)

# gunicorn itself refuses request lines longer than this (default 4094) with
# a small HTML 414, before mything sees the request. Its maximum leaves room
# for long query strings such as a tag filter and a cursor.
limit_request_line = 8190
