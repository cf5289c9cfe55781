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

and a caller over the limit gets a 429 with ``Retry-After``.

**Limits first, queries after.** The edge (:mod:`mything.edge`) charges a
request *before* anyone looks its credentials up, to what it presents: a
hash of its bearer token, the name a host vouches for, or else its
address. A caller over the limit is then refused without a query. Once a
token is found, the request is charged to its user as well, so that a user
holding many tokens still has one limit. Credentials that fail (unknown,
revoked, expired or malformed tokens) are counted per address, and an
address that failed ``RATELIMIT`` times in the window has its next bearer
requests refused before the lookup too: a flood of invented tokens costs
no query. (So do clients behind one shared address: the price of refusing
before knowing who is asking.) Wrong ``METRICS_TOKEN`` guesses are limited
per address to :data:`METRICS_FAILURES` (a scraper with the right token is
never refused).

Public views (probes and documentation) are never limited, nor are the
CORS preflights that mything answers: the browser sends one before the
request it asks about, which is counted itself. With CORS off, an
``OPTIONS`` shaped like a preflight is an ordinary request, counted like
any other before any lookup, and its credentials are never looked up.

If the storage fails while running (Redis restarts), mything fails *open*:
requests are served without a limit and without limit headers, and a
warning is logged, because an API that stops serving whenever its counter
store blinks hurts every user to slow down a few. An unreachable storage at
start is a configuration error instead.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from flask import current_app
from limits import RateLimitItem, parse_many
from limits.errors import ConfigurationError, StorageError
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from .config import settings, settings_of
from .db import get_database
from .errors import ConfigError, RateLimited
from .operations.tokens import TokenUser

if TYPE_CHECKING:
    from flask import Flask, Request

    from .wrappers import ApiRequest

# How long a request may wait for Redis before the limit is skipped.
STORAGE_TIMEOUT = 0.5
# Log a failing storage at most this often, not on every request.
WARNING_INTERVAL = 30.0

#: How many wrong ``METRICS_TOKEN`` guesses one address may make.
METRICS_FAILURES = "10/minute"


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

    def peek(self, key: str) -> tuple[bool, float]:
        """Return whether a hit for ``key`` would be allowed, and when it would be."""
        now = time.time()
        with self._lock:
            hits = [hit for hit in self._hits.get(key, ()) if hit > now - self.seconds]
        if len(hits) < self.amount:
            return True, now
        return False, hits[-self.amount] + self.seconds

    def sibling(self, item: RateLimitItem) -> LocalWindow:
        """Return a window of another limit, counted in this process too."""
        return LocalWindow(item.amount, item.get_expiry())

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

    def peek(self, key: str) -> tuple[bool, float]:
        """Return whether a hit for ``key`` would be allowed, and when it would be."""
        reset, remaining = self.strategy.get_window_stats(self.item, key)
        return remaining > 0, reset

    def sibling(self, item: RateLimitItem) -> SharedWindow:
        """Return a window of another limit, in the same storage."""
        return SharedWindow(item, self.strategy.storage)


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
        #: Wrong METRICS_TOKEN guesses, per address.
        self.metrics_failures = self.window.sibling(_parse_limit(METRICS_FAILURES))
        # The parts of the headers that are the same for every request.
        self._limit = str(item.amount)
        self._policy = f'"default";q={item.amount};w={seconds}'
        self._last_warning = 0.0

    def charge(self, req: ApiRequest) -> None:
        """Charge the request ``req`` to its caller; raise a 429 past the limit.

        Called by the edge before anyone looks the credentials up, when the
        request is charged to what it presents, and again for a token's user
        (:meth:`charge_caller`). The request keeps its rate limit headers,
        for its response.
        """
        req.rate_limit_headers = self.hit(self._stored(caller_key(req))) or ()

    def charge_caller(self, req: ApiRequest) -> None:
        """Charge the request to the user its token belongs to, or count its failure.

        Called by the edge once the credentials were looked up, after
        :meth:`charge` charged what they were before anyone knew.
        """
        if isinstance(req.caller, TokenUser):
            self.charge(req)
        elif req.credential_error is not None:
            self._quietly(self.window.hit, self._stored(failure_key(req)))

    def refuse_failing_address(self, req: ApiRequest) -> None:
        """Refuse (429) bearer credentials from an address that failed too often.

        Called by the edge before any lookup. An address is failing once its
        credentials failed ``RATELIMIT`` times in the window.
        """
        if "HTTP_AUTHORIZATION" not in req.environ:
            return
        seen = self._quietly(self.window.peek, self._stored(failure_key(req)))
        if seen is not None and not seen[0]:
            raise _refusal(seen[1])

    def count_failed_scrape(self, req: Request) -> None:
        """Count a wrong ``METRICS_TOKEN``; past :data:`METRICS_FAILURES`, a 429."""
        counted = self._quietly(
            self.metrics_failures.hit, self._stored(f"metrics:{address_key(req)}")
        )
        if counted is not None and not counted[0]:
            raise _refusal(counted[2])

    def _stored(self, key: str) -> str:
        if self.namespace is None:
            self.namespace = get_database().instance_id() + ":"
        return self.namespace + key

    def _quietly(self, count: Any, key: str) -> Any:
        # A storage that fails counts nothing, as for the limit itself.
        try:
            return count(key)
        except StorageError as exc:
            self._warn(exc)
            return None

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


def _refusal(reset: float) -> RateLimited:
    seconds_left = max(1, math.ceil(reset - time.time()))
    return RateLimited(headers={"Retry-After": str(seconds_left)})


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


def caller_key(req: ApiRequest) -> str:
    """Return what the request ``req`` is counted against."""
    caller = req.caller
    if caller is not None:
        return f"user:{caller.id}"
    return credential_key(req)


def credential_key(req: ApiRequest) -> str:
    """Return the key of the credentials a request presents, before any lookup.

    A hash of its bearer token, the user name a trusted host sets in
    ``REMOTE_USER`` (hashed too: it may be long), or else its address.
    Neither is trusted yet: a made-up token only gets a count of its own.
    """
    environ = req.environ
    name = environ.get("REMOTE_USER")
    if name and settings().trust_remote_user:
        return "remote:" + _digest(name)
    scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        return "token:" + _digest(token)
    return address_key(req)


def address_key(req: Request) -> str:
    """Return the key of the client address of ``req``."""
    return f"addr:{req.remote_addr or 'unknown'}"


def failure_key(req: Request) -> str:
    """Return the key that counts the failed credentials of the address of ``req``."""
    return f"failed:{address_key(req)}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:32]


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
