"""``/add`` in APIFlask: marshmallow schemas declared with ``@app.input``."""

from __future__ import annotations

from apiflask import APIFlask, Schema
from apiflask.fields import Integer

app = APIFlask(__name__)


class Operands(Schema):
    a = Integer(required=True)
    b = Integer(required=True)


class Sum(Schema):
    sum = Integer()


@app.get("/add")
@app.input(Operands, location="query")
@app.output(Sum)
def add_from_query(query_data: dict[str, int]) -> dict[str, int]:
    return {"sum": query_data["a"] + query_data["b"]}


@app.post("/add")
@app.input(Operands)
@app.output(Sum)
def add_from_body(json_data: dict[str, int]) -> dict[str, int]:
    return {"sum": json_data["a"] + json_data["b"]}
