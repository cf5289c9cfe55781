"""``/openapi.json``: the OpenAPI 3.1 document of this API, as mounted."""

from __future__ import annotations

from flask import Blueprint

from ..endpoints import public
from ..results import ApiResult

blueprint = Blueprint("openapi", __name__)


@blueprint.get("/openapi.json")
@public
def openapi_document() -> ApiResult:
    """The OpenAPI document of every endpoint, generated from its schemas."""
    # Imported on first use: most processes never serve the document, and
    # the generator brings voluptuous-openapi with it.
    from ..openapi import build_document

    return ApiResult(build_document())
