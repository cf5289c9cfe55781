"""Input validation with voluptuous, at the edge of every view.

A view declares the shape of its input and receives clean keyword arguments::

    @blueprint.post("/add")
    @dataschema(Schema({Required("a"): integer, Required("b"): integer},
                       extra=REMOVE_EXTRA))
    def add_numbers(a, b):
        return ApiResult(services.add_numbers(a, b))

:func:`dataschema` reads a JSON object from the body, :func:`argsschema` the
query string. Both report *every* failure with its dotted path in one
:class:`~mything.errors.ValidationError`; keys the schema removes never reach
the view. The Python API calls :func:`validate` with the same schemas, so
both ways in accept and refuse exactly the same input. The validators the
schemas are made of are in :mod:`mything.validators`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import request
from voluptuous import Invalid, MultipleInvalid, Schema

from .encoding import JSONDecodeError, loads, numbers_out_of_range
from .endpoints import endpoint_of
from .errors import InvalidContentType, InvalidJSON, ValidationError

F = TypeVar("F", bound=Callable[..., Any])

#: The message for a JSON number too large for a 64-bit float (``1e400``).
OUT_OF_RANGE = "is a number too large to read"


def validate(schema: Schema, data: Any) -> Any:
    """Return ``data`` cleaned by ``schema``, or raise a :class:`ValidationError`."""
    try:
        return schema(data)
    except MultipleInvalid as exc:
        errors = [_describe(error) for error in exc.errors]
        raise ValidationError(errors=errors) from None


def _describe(error: Invalid) -> dict[str, str]:
    return {"path": ".".join(str(part) for part in error.path), "message": error.msg}


def dataschema(schema: Schema) -> Callable[[F], F]:
    """Validate the JSON object in the request body and pass its keys as arguments."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            data = validate(schema, load_json_body())
            return view(*args, **kwargs, **data)

        endpoint_of(wrapper).body_schema = schema
        return wrapper  # type: ignore[return-value]

    return decorator


def argsschema(schema: Schema) -> Callable[[F], F]:
    """Validate the query string and pass its arguments as keyword arguments.

    A repeated query argument counts once, with its first value.
    """

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            data = validate(schema, request.args.to_dict())
            return view(*args, **kwargs, **data)

        endpoint_of(wrapper).query_schema = schema
        return wrapper  # type: ignore[return-value]

    return decorator


def load_json_body() -> dict[str, Any]:
    """Return the request body as a JSON object, or raise a 400 saying why not."""
    if not request.is_json:
        raise InvalidContentType()
    # Reading the body enforces MAX_CONTENT_LENGTH (413) and its framing
    # (malformed_body) before parsing: see mything.wrappers.RequestBody.
    body = request.get_data(cache=False)
    try:
        data = loads(body)
    except JSONDecodeError as exc:
        unreadable = numbers_out_of_range(body)
        if unreadable:
            # Valid JSON, with a number no float holds: the value is wrong,
            # not the syntax, so it is reported like any value out of range.
            raise ValidationError(
                errors=[{"path": path, "message": OUT_OF_RANGE} for path in unreadable]
            ) from None
        raise InvalidJSON(f"The request body is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise InvalidJSON()
    return data


def validate_arguments(schema: Schema, /, **arguments: Any) -> Any:
    """Validate Python keyword arguments the way the same request body would be.

    An argument of ``None`` is left out, so that the schema's default applies,
    as when a client leaves the field out.
    """
    return validate(schema, without_none(arguments.items()))


def without_none(values: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Return the pairs whose value is not ``None``, as a dict for :func:`validate`."""
    return {key: value for key, value in values if value is not None}
