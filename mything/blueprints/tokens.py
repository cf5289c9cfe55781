"""``/me/tokens``: the caller's own tokens, listed, issued and revoked."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, url_for

from ..auth import authenticated
from ..endpoints import returns
from ..idempotency import idempotent
from ..operations import tokens
from ..operations.users import User
from ..results import ApiResult
from ..schemas import ISSUED_TOKEN, NEW_TOKEN, PAGE_QUERY, TOKEN, page_of
from ..validation import argsschema, dataschema

blueprint = Blueprint("tokens", __name__)


@blueprint.get("/me/tokens")
@authenticated
@argsschema(PAGE_QUERY)
@returns(page_of(TOKEN))
def list_tokens(caller: User, **page: Any) -> ApiResult:
    """List the caller's tokens, newest first (never their secrets)."""
    result = tokens.list_tokens(caller, **page)
    return ApiResult(result, next_page=result["next_cursor"])


@blueprint.post("/me/tokens")
@authenticated
@idempotent(never_stored=("token",))
@dataschema(NEW_TOKEN)
@returns(ISSUED_TOKEN, 201)
def create_token(caller: User, **fields: Any) -> ApiResult:
    """Issue a token for the caller; its secret, `token`, is shown only this once.

    `expires_in_days` defaults to the server's `TOKEN_DEFAULT_DAYS` (90).
    A replay of this request with the same `Idempotency-Key` answers
    without `token`: the secret is never stored.
    """
    issued = tokens.issue_token(caller, **fields)
    location = url_for(".get_token", token_id=issued["id"], _external=True)
    return ApiResult(issued, 201, headers={"Location": location})


@blueprint.get("/me/tokens/current")
@authenticated
@returns(TOKEN)
def get_current_token(caller: User) -> ApiResult:
    """Show the token this request is made with."""
    token_id = tokens.current_token_id(caller)
    return ApiResult(tokens.get_token(caller, token_id))


@blueprint.delete("/me/tokens/current")
@authenticated
@returns(None, 204)
def revoke_current_token(caller: User) -> ApiResult:
    """Revoke the token this request is made with."""
    tokens.revoke_token(caller, tokens.current_token_id(caller))
    return ApiResult(None, 204)


@blueprint.get("/me/tokens/<id:token_id>")
@authenticated
@returns(TOKEN)
def get_token(caller: User, token_id: int) -> ApiResult:
    """Show one of the caller's tokens."""
    return ApiResult(tokens.get_token(caller, token_id))


@blueprint.delete("/me/tokens/<id:token_id>")
@authenticated
@returns(None, 204)
def revoke_token(caller: User, token_id: int) -> ApiResult:
    """Revoke one of the caller's tokens; it is refused from the next request on."""
    tokens.revoke_token(caller, token_id)
    return ApiResult(None, 204)
