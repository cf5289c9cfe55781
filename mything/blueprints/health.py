"""``/healthz`` and ``/readyz``: probes for load balancers and orchestrators.

``/healthz`` says the process answers; ``/readyz`` also asks the database,
so a balancer stops sending traffic to an instance whose database is gone.
"""

from __future__ import annotations

from flask import Blueprint, current_app
from sqlalchemy import text

from ..db import get_db
from ..endpoints import public, returns
from ..errors import Unavailable
from ..results import ApiResult
from ..schemas import STATUS

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
@public
@returns(STATUS)
def healthz() -> ApiResult:
    """Answer as long as the process can serve requests."""
    return ApiResult({"status": "ok"})


@blueprint.get("/readyz")
@public
@returns(STATUS)
def readyz() -> ApiResult:
    """Answer 200 when the database answers, 503 when it does not."""
    try:
        get_db().execute(text("SELECT 1"))
    except Exception as exc:
        current_app.logger.warning("readiness check failed: %s", exc)
        raise Unavailable("The database is not available.") from None
    return ApiResult({"status": "ok"})
