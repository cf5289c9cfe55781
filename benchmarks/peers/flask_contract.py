"""``/add`` with mything's contract, written by hand in Flask: the fair comparison.

Bare Flask + voluptuous (:mod:`.flask_voluptuous`) answers ``/add`` and
nothing more. mything's ``/add`` also counts every caller against a rate
limit and says so in headers, gives each request an id, and sends
``X-Content-Type-Options: nosniff``. This is that same contract as a Flask
developer would write it for production, with the libraries one would pick:

* Flask-Limiter, set up as its quickstart shows (``Limiter`` with the
  client's address as the key, a default limit, ``memory://`` storage) with
  its rate-limit headers on, and the moving window, which is the window
  mything counts; a refused request gets a JSON 429 from an error handler,
  as its documentation suggests;
* a ``before_request`` hook that keeps the client's ``X-Request-ID`` or
  makes one, and an ``after_request`` hook that sends it back with
  ``nosniff``;
* voluptuous for the query and the body, with the bare baseline's views,
  repeated here on purpose: each peer reads alone, as its own app.

The limit is the suite's (``1000000/minute``): high enough that no request
of a run is refused, so every request pays for the counting.
"""

from __future__ import annotations

import uuid

from flask import Flask, Response, g, jsonify, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from voluptuous import REMOVE_EXTRA, Coerce, MultipleInvalid, Required, Schema

app = Flask(__name__)
limiter = Limiter(
    get_remote_address,
    app=app,
    default_limits=["1000000/minute"],
    storage_uri="memory://",
    strategy="moving-window",
    headers_enabled=True,
)

QUERY = Schema(
    {Required("a"): Coerce(int), Required("b"): Coerce(int)}, extra=REMOVE_EXTRA
)
BODY = Schema({Required("a"): int, Required("b"): int}, extra=REMOVE_EXTRA)


@app.before_request
def assign_request_id() -> None:
    g.request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex


@app.after_request
def add_common_headers(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.request_id
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@app.errorhandler(429)
def rate_limit_exceeded(exc: RateLimitExceeded) -> tuple[Response, int]:
    return jsonify(message=f"Rate limit exceeded: {exc.description}"), 429


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
