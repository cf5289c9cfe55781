"""Rate limits per caller, counted with the ``limits`` library.

Each request is charged to its caller: the authenticated user, or the client
address for anonymous requests (the peer address, or the one a trusted proxy
reports when ``TRUSTED_PROXIES`` is set). The limit is ``RATELIMIT``
(``600/minute``), counted in a moving window, so no burst at a window edge
lets more than the limit through. Counts live in ``RATELIMIT_STORAGE_URI``:
``memory://`` counts per process, ``redis://`` shares one count between all
workers and hosts.

Every limited response carries the limit in two conventions::

    X-RateLimit-Limit: 600          X-RateLimit-Remaining: 599
    X-RateLimit-Reset: 1767225600   (epoch seconds)
    RateLimit-Policy: "default";q=600;w=60
    RateLimit: "default";r=599;t=60

and a caller over the limit gets a 429 with ``Retry-After``. Probes and
documentation (views marked :func:`unlimited`) are never limited.

If the storage fails while running (Redis restarts), mything fails *open*:
requests are served without a limit and without limit headers, and a
warning is logged, because an API that stops serving whenever its counter
store blinks hurts every user to slow down a few. An unreachable storage at
start is a configuration error instead.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from flask import current_app, g, request
from limits import RateLimitItem, parse_many
from limits.errors import ConfigurationError, StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from .auth import current_user
from .errors import ApiException, ConfigError

if TYPE_CHECKING:
    from flask import Flask, Response

F = TypeVar("F", bound=Callable[..., Any])

# How long a request may wait for Redis before the limit is skipped.
STORAGE_TIMEOUT = 0.5
# Log a failing storage at most this often, not on every request.
WARNING_INTERVAL = 30.0


class RateLimited(ApiException):
    """The caller made too many requests; ``Retry-After`` says when to retry."""

    status = 429
    message = "Too many requests; retry later."


@dataclass(frozen=True)
class Usage:
    """Where a caller stands against the limit after this request."""

    limit: int
    remaining: int
    reset: float
    window: int

    def headers(self) -> dict[str, str]:
        """Return the rate limit headers for this usage."""
        seconds_left = max(0, math.ceil(self.reset - time.time()))
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset)),
            "RateLimit-Policy": f'"default";q={self.limit};w={self.window}',
            "RateLimit": f'"default";r={self.remaining};t={seconds_left}',
        }


class RateLimiter:
    """The limit of one app and the storage that counts it."""

    def __init__(self, limit: str, storage_uri: str, *, key_prefix: str) -> None:
        try:
            items = parse_many(limit)
        except ValueError:
            items = []
        if len(items) != 1 or items[0].amount < 1:
            raise ConfigError(
                f"invalid configuration value for RATELIMIT: cannot use {limit!r} "
                "as a rate limit (write one positive limit, like '600/minute' or "
                "'10 per second')"
            )
        self.item: RateLimitItem = items[0]
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
        if not storage.check():
            raise ConfigError(
                "invalid configuration value for RATELIMIT_STORAGE_URI: "
                f"cannot reach {storage_uri}"
            )
        self.strategy = MovingWindowRateLimiter(storage)
        self._last_warning = 0.0

    def hit(self, key: str) -> Usage | None:
        """Charge one request to ``key``; ``None`` if the storage failed."""
        try:
            allowed = self.strategy.hit(self.item, key)
            reset, remaining = self.strategy.get_window_stats(self.item, key)
        except StorageError as exc:
            self._warn(exc)
            return None
        usage = Usage(
            limit=self.item.amount,
            remaining=max(0, remaining),
            reset=reset,
            window=self.item.get_expiry(),
        )
        if not allowed:
            retry_after = max(1, math.ceil(reset - time.time()))
            headers = {**usage.headers(), "Retry-After": str(retry_after)}
            raise RateLimited(headers=headers)
        return usage

    def _warn(self, error: Exception) -> None:
        now = time.monotonic()
        if now - self._last_warning >= WARNING_INTERVAL:
            self._last_warning = now
            current_app.logger.warning(
                "rate limit storage failed, serving without limits: %s", error
            )


def unlimited(view: F) -> F:
    """Mark ``view`` as never rate limited (health probes, documentation)."""
    view.rate_limited = False  # type: ignore[attr-defined]
    return view


def caller_key() -> str:
    """Return what the current request is counted against."""
    user = current_user()
    if user is not None:
        return f"user:{user.id}"
    return f"addr:{request.remote_addr or 'unknown'}"


def check_rate_limit() -> None:
    """Charge the current request to its caller; raise a 429 past the limit."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and not getattr(view, "rate_limited", True):
        return
    limiter: RateLimiter = current_app.extensions["mything.ratelimit"]
    g.mything_usage = limiter.hit(caller_key())


def add_rate_limit_headers(response: Response) -> None:
    """Add the usage of the current request, if it was limited, to ``response``."""
    usage: Usage | None = g.get("mything_usage")
    if usage is not None:
        response.headers.update(usage.headers())


def init_app(app: Flask) -> None:
    """Give ``app`` its rate limiter, if rate limiting is enabled."""
    if not app.config["RATELIMIT_ENABLED"]:
        return
    app.extensions["mything.ratelimit"] = RateLimiter(
        app.config["RATELIMIT"],
        app.config["RATELIMIT_STORAGE_URI"],
        key_prefix=app.config["RATELIMIT_KEY_PREFIX"],
    )
    app.before_request(check_rate_limit)
