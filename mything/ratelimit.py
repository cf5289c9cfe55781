"""Rate limits per caller, in a moving window.

Each request is charged to its caller: the authenticated user, or the client
address for anonymous requests (the peer address, or the one a trusted proxy
reports when ``TRUSTED_PROXIES`` is set). The limit is ``RATELIMIT``
(``600/minute``, parsed by the ``limits`` library), counted in a moving
window, so no burst at a window edge lets more than the limit through.
Counts live in ``RATELIMIT_STORAGE_URI``: ``memory://`` counts per process
(:class:`LocalWindow`), ``redis://`` shares one count between all workers
and hosts (:class:`SharedWindow`, through ``limits``).

In Redis, each key names the database too (``mything:LIMITER/<database
id>:user:42/...``, see :meth:`~mything.db.Database.instance_id`), because
user ids are per database: two instances on one Redis keep separate counts,
and every instance, worker and host on one database shares them. A
``RATELIMIT_KEY_PREFIX`` that is set replaces that: instances given the
same prefix share counts, whatever their databases.

Every limited response carries the limit in two conventions::

    X-RateLimit-Limit: 600          X-RateLimit-Remaining: 599
    X-RateLimit-Reset: 1767225600   (epoch seconds)
    RateLimit-Policy: "default";q=600;w=60
    RateLimit: "default";r=599;t=60

and a caller over the limit gets a 429 with ``Retry-After``. The edge
(:mod:`mything.edge`) charges each request once it knows the caller. Public
views (probes and documentation) are never limited, nor are the CORS
preflights that mything answers: the browser sends one before the request it
asks about, which is counted itself.

If the storage fails while running (Redis restarts), mything fails *open*:
requests are served without a limit and without limit headers, and a
warning is logged, because an API that stops serving whenever its counter
store blinks hurts every user to slow down a few. An unreachable storage at
start is a configuration error instead.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from typing import TYPE_CHECKING

from flask import current_app, request
from limits import RateLimitItem, parse_many
from limits.errors import ConfigurationError, StorageError
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from .config import settings_of
from .db import get_database
from .errors import ConfigError, RateLimited

if TYPE_CHECKING:
    from flask import Flask

# How long a request may wait for Redis before the limit is skipped.
STORAGE_TIMEOUT = 0.5
# Log a failing storage at most this often, not on every request.
WARNING_INTERVAL = 30.0


# PERF: a deque per caller instead of limits' memory storage
# (benchmarks/findings.md#localwindow).
class LocalWindow:
    """A moving window counted in this process, for ``memory://``.

    Each caller's recent hits are kept in a deque, oldest first, at most
    ``amount`` of them: a hit costs a few appends and pops, whatever the
    limit. (limits' own memory storage moves its whole list on every hit and
    starts a timer thread to expire it, which costs more than the rest of a
    request.) Callers quiet for a whole window are dropped once per window,
    so the table does not grow with every address ever seen.
    """

    def __init__(self, amount: int, seconds: int) -> None:
        self.amount = amount
        self.seconds = seconds
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    def hit(self, key: str) -> tuple[bool, int, float]:
        """Count a hit for ``key``; return (allowed, remaining, reset time)."""
        now = time.time()
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            hits = self._hits.get(key)
            if hits is None:
                hits = self._hits[key] = deque()
            while hits and hits[0] <= now - self.seconds:
                hits.popleft()
            allowed = len(hits) < self.amount
            if allowed:
                hits.append(now)
            return allowed, self.amount - len(hits), hits[0] + self.seconds

    def _sweep(self, now: float) -> None:
        idle = [
            key for key, hits in self._hits.items() if hits[-1] <= now - self.seconds
        ]
        for key in idle:
            del self._hits[key]
        self._next_sweep = now + self.seconds


class SharedWindow:
    """A moving window counted by the limits library in shared storage (Redis)."""

    def __init__(self, item: RateLimitItem, storage: Storage) -> None:
        self.item = item
        self.strategy = MovingWindowRateLimiter(storage)

    def hit(self, key: str) -> tuple[bool, int, float]:
        """Count a hit for ``key``; return (allowed, remaining, reset time)."""
        allowed = self.strategy.hit(self.item, key)
        reset, remaining = self.strategy.get_window_stats(self.item, key)
        return allowed, max(0, remaining), reset


class RateLimiter:
    """The limit of one app and the window that counts it."""

    def __init__(self, limit: str, storage_uri: str, *, key_prefix: str | None) -> None:
        item = _parse_limit(limit)
        seconds = item.get_expiry()
        self.window: LocalWindow | SharedWindow
        #: What starts each key after the storage's prefix: the database's
        #: id, read on first use, when the counts are shared and no prefix
        #: was set; else nothing.
        self.namespace: str | None = ""
        if storage_uri == "memory://":
            self.window = LocalWindow(item.amount, seconds)
        else:
            storage = _connect(storage_uri, key_prefix or "mything")
            self.window = SharedWindow(item, storage)
            if key_prefix is None:
                self.namespace = None
        # The parts of the headers that are the same for every request.
        self._limit = str(item.amount)
        self._policy = f'"default";q={item.amount};w={seconds}'
        self._last_warning = 0.0

    def charge(self) -> None:
        """Charge the current request to its caller; raise a 429 past the limit.

        Called by the edge once the caller is known. The request keeps its
        rate limit headers, for its response.
        """
        if self.namespace is None:
            self.namespace = get_database().instance_id() + ":"
        request.rate_limit_headers = self.hit(self.namespace + caller_key()) or ()

    def hit(self, key: str) -> list[tuple[str, str]] | None:
        """Charge one request to ``key`` and return its rate limit headers.

        Past the limit, raise :class:`RateLimited`. If the storage fails,
        return ``None``: the request is served without a limit.
        """
        try:
            allowed, remaining, reset = self.window.hit(key)
        except StorageError as exc:
            self._warn(exc)
            return None
        seconds_left = max(0, math.ceil(reset - time.time()))
        headers = [
            ("X-RateLimit-Limit", self._limit),
            ("X-RateLimit-Remaining", str(remaining)),
            ("X-RateLimit-Reset", str(math.ceil(reset))),
            ("RateLimit-Policy", self._policy),
            ("RateLimit", f'"default";r={remaining};t={seconds_left}'),
        ]
        if not allowed:
            retry_after = str(max(1, seconds_left))
            raise RateLimited(headers={**dict(headers), "Retry-After": retry_after})
        return headers

    def _warn(self, error: Exception) -> None:
        now = time.monotonic()
        if now - self._last_warning >= WARNING_INTERVAL:
            self._last_warning = now
            current_app.logger.warning(
                "rate limit storage failed, serving without limits: %s", error
            )


def _parse_limit(limit: str) -> RateLimitItem:
    # The setting was checked (mything.config.rate_limit): one positive limit.
    [item] = parse_many(limit)
    return item


def _connect(storage_uri: str, key_prefix: str) -> Storage:
    try:
        storage = storage_from_string(
            storage_uri,
            key_prefix=key_prefix,
            wrap_exceptions=True,
            socket_timeout=STORAGE_TIMEOUT,
            socket_connect_timeout=STORAGE_TIMEOUT,
        )
    except ConfigurationError as exc:
        raise ConfigError(
            f"invalid configuration value for RATELIMIT_STORAGE_URI: {exc}"
        ) from None
    if not isinstance(storage, Storage):
        raise ConfigError(
            "invalid configuration value for RATELIMIT_STORAGE_URI: "
            f"{storage_uri} is an asynchronous storage; mything needs a blocking one"
        )
    if not storage.check():
        raise ConfigError(
            "invalid configuration value for RATELIMIT_STORAGE_URI: "
            f"cannot reach {storage_uri}"
        )
    return storage


def caller_key() -> str:
    """Return what the current request is counted against."""
    caller = request.caller
    if caller is not None:
        return f"user:{caller.id}"
    return f"addr:{request.remote_addr or 'unknown'}"


def init_app(app: Flask) -> None:
    """Give ``app`` its rate limiter, if rate limiting is enabled.

    The limiter is kept as ``app.extensions["mything.ratelimit"]``, where
    the edge finds it.
    """
    checked = settings_of(app)
    if not checked.ratelimit_enabled:
        return
    app.extensions["mything.ratelimit"] = RateLimiter(
        checked.ratelimit,
        checked.ratelimit_storage_uri,
        key_prefix=checked.ratelimit_key_prefix,
    )
