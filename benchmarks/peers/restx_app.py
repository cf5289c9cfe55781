"""``/add`` in Flask-RESTX: a ``Resource`` with a request parser and a model."""

from __future__ import annotations

from flask import Flask
from flask_restx import Api, Resource, fields, reqparse

app = Flask(__name__)
api = Api(app)

query = reqparse.RequestParser()
query.add_argument("a", type=int, required=True, location="args")
query.add_argument("b", type=int, required=True, location="args")

operands = api.model(
    "Operands",
    {"a": fields.Integer(required=True), "b": fields.Integer(required=True)},
)
total = api.model("Sum", {"sum": fields.Integer})


@api.route("/add")
class Add(Resource):
    @api.expect(query)
    @api.marshal_with(total)
    def get(self) -> dict[str, int]:
        args = query.parse_args()
        return {"sum": args["a"] + args["b"]}

    @api.expect(operands, validate=True)
    @api.marshal_with(total)
    def post(self) -> dict[str, int]:
        data = api.payload
        return {"sum": data["a"] + data["b"]}
