"""The delivery worker: sends what the webhooks are owed, from any host.

Run as many as you like, anywhere that reaches the database::

    mything deliver                    # until stopped (SIGTERM, SIGINT)
    mything deliver --concurrency 8    # eight attempts at a time
    mything deliver --once             # one pass over what is due, then exit

or drive it from the host's own scheduler (cron, Celery beat, RQ)::

    thing.deliver_due()                # one pass; returns the attempts made

Each attempt is three steps, and only the first and last touch the
database, each in a short transaction of its own: claim a due delivery
(:func:`~mything.operations.deliveries.claim`, which leases it), send it
(:func:`~mything.outbound.post`, with no transaction open, so a slow
receiver holds no lock and no connection), and record what happened
(:func:`~mything.operations.deliveries.finish`). Workers share nothing but
the database, so a worker that dies mid-attempt costs only its lease: the
delivery is due again when the lease ends, and another worker sends it.
Deliveries are therefore made *at least once*; a receiver deduplicates
by ``webhook-id``.

A pass takes only what was due when it began, so a pass ends even while
new events keep coming; :meth:`Worker.run_forever` makes pass after pass,
waiting a little whenever one finds nothing.
"""

from __future__ import annotations

import functools
import logging
import math
import ssl
import threading
from datetime import timedelta
from typing import TYPE_CHECKING

import httpcore

from .config import settings_of
from .db import transaction
from .operations import deliveries, webhooks
from .outbound import Answer, post
from .signatures import signature_headers
from .tables import utcnow

if TYPE_CHECKING:
    from datetime import datetime

    from flask import Flask

    from .operations.deliveries import Claimed

logger = logging.getLogger("mything.webhooks")

#: The longest a worker waits between passes that found nothing to do.
IDLE_WAIT = 1.0


class Worker:
    """Attempts due deliveries for the app ``app``; one per thread at a time."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        #: Set to stop: attempts under way finish, no new one starts.
        self.stopping = threading.Event()

    @functools.cached_property
    def ssl_context(self) -> ssl.SSLContext:
        """The TLS settings of every attempt: made once, since that takes 50 ms."""
        return httpcore.default_ssl_context()

    def attempt_one(self, *, due: datetime | None = None) -> bool:
        """Claim one delivery due by ``due``, send it, record it; False if none."""
        checked = settings_of(self.app)
        with self.app.app_context(), transaction():
            claimed = deliveries.claim(
                lease_seconds=checked.webhook_lease_seconds, due=due
            )
        if claimed is None:
            return False
        attempted_at = utcnow()
        headers = signature_headers(
            claimed.secrets,
            claimed.event_id,
            claimed.body,
            timestamp=math.floor(attempted_at.timestamp()),
        )
        answer = post(
            claimed.url,
            claimed.body,
            headers=headers,
            timeout=checked.webhook_timeout,
            allow_private=checked.webhook_allow_private,
            ssl_context=self.ssl_context,
        )
        self._record(claimed, answer, attempted_at)
        return True

    def _record(self, claimed: Claimed, answer: Answer, attempted_at: datetime) -> None:
        checked = settings_of(self.app)
        with self.app.app_context(), transaction():
            finished = deliveries.finish(
                claimed,
                answer,
                attempted_at=attempted_at,
                schedule=checked.webhook_retry_schedule,
                disable_after=timedelta(days=checked.webhook_disable_after_days),
            )
            if finished is not None and finished.disable:
                webhooks.disable_failing(claimed.webhook_id)
        if finished is None:
            # The lease ran out before the attempt ended (a worker paused
            # longer than WEBHOOK_LEASE_SECONDS): another worker owns it now.
            logger.warning(
                "delivery %s: the lease ran out before the attempt was recorded",
                claimed.id,
            )
            return
        metrics = self.app.extensions.get("mything.metrics")
        if metrics is not None:
            metrics.delivery_attempted(finished.outcome)

    def run_pass(self, limit: int | None = None) -> int:
        """Attempt what is due now, up to ``limit`` attempts; return how many."""
        started = utcnow()
        made = 0
        while limit is None or made < limit:
            if self.stopping.is_set() or not self.attempt_one(due=started):
                break
            made += 1
        return made

    def run_forever(self) -> None:
        """Make pass after pass until :attr:`stopping` is set."""
        while not self.stopping.is_set():
            try:
                made = self.run_pass()
            except Exception:
                # A database that does not answer, say: log it, wait, go on.
                logger.exception("a delivery pass failed; trying again shortly")
                made = 0
            if made == 0:
                self.stopping.wait(IDLE_WAIT)


def run_workers(worker: Worker, *, concurrency: int, once: bool) -> int:
    """Run ``worker`` in ``concurrency`` threads; return the attempts made.

    With ``once``, each thread makes one pass, and this returns when all are
    done; otherwise it returns once :attr:`Worker.stopping` is set (by the
    command's signal handlers) and the attempts under way have ended.
    """
    made: list[int] = []

    def loop() -> None:
        if once:
            made.append(worker.run_pass())
        else:
            worker.run_forever()

    threads = [
        threading.Thread(target=loop, name=f"mything-deliver-{number}", daemon=True)
        for number in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        # Joined with a timeout, so that the main thread still gets signals.
        for thread in threads:
            thread.join(timeout=0.2)
    return sum(made)
