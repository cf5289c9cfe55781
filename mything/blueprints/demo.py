"""``/add``: the demo endpoint of the talk, with GET and POST."""

from __future__ import annotations

from flask import Blueprint

from ..endpoints import returns
from ..operations import demo
from ..results import ApiResult
from ..schemas import ADD_BODY, ADD_QUERY, SUM
from ..validation import argsschema, dataschema

blueprint = Blueprint("demo", __name__)


@blueprint.get("/add")
@argsschema(ADD_QUERY)
@returns(SUM)
def add_numbers_from_query(a: int, b: int) -> ApiResult:
    """Add two integers given as query arguments."""
    return ApiResult(demo.add_numbers(a, b))


@blueprint.post("/add")
@dataschema(ADD_BODY)
@returns(SUM)
def add_numbers(a: int, b: int) -> ApiResult:
    """Add two integers given in a JSON object."""
    return ApiResult(demo.add_numbers(a, b))
