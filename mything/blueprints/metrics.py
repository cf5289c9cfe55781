"""``/metrics``: the Prometheus metrics of this app (see :mod:`mything.metrics`).

Registered only when ``METRICS_ENABLED`` is on. The endpoint is never rate
limited (a scraper must not be refused) and never counted in the metrics it
serves. With ``METRICS_TOKEN`` set, a scrape must send
``Authorization: Bearer <METRICS_TOKEN>``, or it gets a 401; the token is
the scraper's own, not a user's. Wrong tokens are limited per address (10
a minute, then 429s); a scrape with the right token is never refused.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from ..config import settings
from ..endpoints import public, undocumented
from ..errors import Unauthorized
from ..operations import deliveries

blueprint = Blueprint("metrics", __name__)

#: The setting that decides whether an app registers this blueprint.
ENABLED_BY = "METRICS_ENABLED"


@blueprint.get("/metrics")
@public
@undocumented
def scrape() -> Response:
    """The metrics in the Prometheus text format (or OpenMetrics, if asked)."""
    token = settings().metrics_token
    if token and not _sends_token(token):
        limiter = current_app.extensions.get("mything.ratelimit")
        if limiter is not None:
            # Guesses are limited per address; the right token never is.
            limiter.count_failed_scrape(request)
        raise Unauthorized("A valid metrics token is required.")
    metrics = current_app.extensions["mything.metrics"]
    try:
        metrics.webhook_queue_read(deliveries.oldest_due_seconds())
    except (DBAPIError, PoolTimeoutError):
        # A scrape must answer during an outage, when it matters most: the
        # gauge keeps its last value, and the 503s are counted meanwhile.
        pass
    body, content_type = metrics.exposition(request.headers.get("Accept"))
    return current_app.response_class(body, content_type=content_type)


def _sends_token(token: str) -> bool:
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    # Compared in constant time, like user tokens.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        sent.encode(), token.encode()
    )
