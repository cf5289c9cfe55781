"""``/me``: who the caller is, and which organizations it belongs to."""

from __future__ import annotations

from flask import Blueprint

from ..auth import authenticated
from ..endpoints import returns
from ..operations import users
from ..operations.users import User
from ..results import ApiResult
from ..schemas import ME

blueprint = Blueprint("me", __name__)


@blueprint.get("/me")
@authenticated
@returns(ME)
def me(caller: User) -> ApiResult:
    """Describe the authenticated user."""
    return ApiResult(users.describe_user(caller))
