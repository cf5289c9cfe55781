"""``/add`` in plain WSGI: the floor, with no framework at all."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

Headers = list[tuple[str, str]]


def _respond(
    start_response: Callable[[str, Headers], Any], status: str, value: object
) -> Iterable[bytes]:
    body = json.dumps(value).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    start_response(status, headers)
    return [body]


def _operands(environ: dict[str, Any]) -> dict[str, Any]:
    if environ["REQUEST_METHOD"] == "GET":
        query = parse_qs(environ.get("QUERY_STRING", ""))
        return {key: values[0] for key, values in query.items()}
    length = int(environ.get("CONTENT_LENGTH") or 0)
    data = json.loads(environ["wsgi.input"].read(length))
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


def _integer(value: Any, *, from_query: bool) -> int:
    if from_query and isinstance(value, str):
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("expected an integer")
    return value


def app(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
    """Answer ``/add`` and nothing else."""
    method = environ["REQUEST_METHOD"]
    if environ.get("PATH_INFO") != "/add":
        return _respond(start_response, "404 Not Found", {"message": "not found"})
    if method not in ("GET", "POST"):
        return _respond(start_response, "405 Method Not Allowed", {"message": method})
    try:
        operands = _operands(environ)
        from_query = method == "GET"
        a = _integer(operands["a"], from_query=from_query)
        b = _integer(operands["b"], from_query=from_query)
    except (KeyError, ValueError) as exc:
        return _respond(start_response, "400 Bad Request", {"message": str(exc)})
    return _respond(start_response, "200 OK", {"sum": a + b})
