"""``/add`` in flask-smorest: a ``MethodView`` with marshmallow arguments."""

from __future__ import annotations

import marshmallow as ma
from flask import Flask
from flask.views import MethodView
from flask_smorest import Api, Blueprint

app = Flask(__name__)
app.config.update(API_TITLE="add", API_VERSION="1", OPENAPI_VERSION="3.0.3")
api = Api(app)
blueprint = Blueprint("add", __name__)


class Operands(ma.Schema):
    a = ma.fields.Integer(required=True)
    b = ma.fields.Integer(required=True)


class Sum(ma.Schema):
    sum = ma.fields.Integer()


@blueprint.route("/add")
class Add(MethodView):
    @blueprint.arguments(Operands, location="query")
    @blueprint.response(200, Sum)
    def get(self, operands: dict[str, int]) -> dict[str, int]:
        return {"sum": operands["a"] + operands["b"]}

    @blueprint.arguments(Operands)
    @blueprint.response(200, Sum)
    def post(self, operands: dict[str, int]) -> dict[str, int]:
        return {"sum": operands["a"] + operands["b"]}


api.register_blueprint(blueprint)
