"""``/add`` in bare Flask with voluptuous: the baseline mything is measured against.

This is what a Flask developer writes without a component: a view per
method, a voluptuous schema, and Flask's own JSON.
"""

from __future__ import annotations

from flask import Flask, request
from voluptuous import REMOVE_EXTRA, Coerce, MultipleInvalid, Required, Schema

app = Flask(__name__)

QUERY = Schema(
    {Required("a"): Coerce(int), Required("b"): Coerce(int)}, extra=REMOVE_EXTRA
)
BODY = Schema({Required("a"): int, Required("b"): int}, extra=REMOVE_EXTRA)


def _invalid(exc: MultipleInvalid) -> tuple[dict[str, str], int]:
    return {"message": str(exc)}, 400


@app.get("/add")
def add_from_query() -> object:
    try:
        data = QUERY(request.args.to_dict())
    except MultipleInvalid as exc:
        return _invalid(exc)
    return {"sum": data["a"] + data["b"]}


@app.post("/add")
def add_from_body() -> object:
    try:
        data = BODY(request.get_json())
    except MultipleInvalid as exc:
        return _invalid(exc)
    return {"sum": data["a"] + data["b"]}
