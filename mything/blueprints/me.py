"""``/me``: who the caller is, and which organizations it belongs to."""

from __future__ import annotations

from flask import Blueprint

from .. import services
from ..auth import authenticated
from ..results import ApiResult

blueprint = Blueprint("me", __name__)


@blueprint.get("/me")
@authenticated
def me(caller: services.User) -> ApiResult:
    """Describe the authenticated user."""
    return ApiResult(services.describe_user(caller))
