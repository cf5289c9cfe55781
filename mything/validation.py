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
both ways in accept and refuse exactly the same input.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import current_app, request
from voluptuous import Invalid, MultipleInvalid, Schema

from .encoding import JSONDecodeError, loads
from .errors import ApiException, ValidationError

F = TypeVar("F", bound=Callable[..., Any])

#: The largest integer every JSON parser reads exactly (JavaScript's
#: ``Number.MAX_SAFE_INTEGER``); larger operands are refused, not rounded.
MAX_SAFE_INTEGER = 2**53 - 1

_DECIMAL = re.compile(r"-?[0-9]{1,16}\Z")


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

        wrapper.body_schema = schema  # type: ignore[attr-defined]
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

        wrapper.args_schema = schema  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def load_json_body() -> dict[str, Any]:
    """Return the request body as a JSON object, or raise a 400 saying why not."""
    if not request.is_json:
        raise ApiException(
            "The request body must be JSON, sent with Content-Type: application/json.",
            code="invalid_content_type",
        )
    # Reading the body enforces MAX_CONTENT_LENGTH (413) before parsing.
    body = request.get_data(cache=False)
    # A body without Content-Length (chunked) is cut off at the limit without
    # an error; one more read raises the 413 instead of parsing a cut body.
    request.stream.read(1)
    try:
        data = loads(body)
    except JSONDecodeError as exc:
        raise ApiException(
            f"The request body is not valid JSON: {exc}.", code="invalid_json"
        ) from None
    if not isinstance(data, dict):
        raise ApiException(
            "The request body must be a JSON object.", code="invalid_json"
        )
    return data


# Validators shared by the schemas. Each describes what it accepts as JSON
# Schema in a ``json_schema`` attribute, for the OpenAPI document.


def integer(value: object) -> int:
    """Accept a JSON integer that every client can represent (not a bool).

    As in JSON Schema, a number with a zero fraction (``3.0``) is an integer.
    """
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid("expected an integer")
    return _within_safe_range(value)


def _within_safe_range(number: int) -> int:
    if not -MAX_SAFE_INTEGER <= number <= MAX_SAFE_INTEGER:
        raise Invalid(f"must be between -{MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER}")
    return number


integer.json_schema = {  # type: ignore[attr-defined]
    "type": "integer",
    "minimum": -MAX_SAFE_INTEGER,
    "maximum": MAX_SAFE_INTEGER,
}


def query_integer(value: object) -> int:
    """Accept an integer written in decimal, as query arguments carry it."""
    if not isinstance(value, str):
        return integer(value)
    if not _DECIMAL.match(value):
        raise Invalid("expected an integer")
    return _within_safe_range(int(value))


query_integer.json_schema = integer.json_schema  # type: ignore[attr-defined]


def text(*, min_length: int = 0, max_length: int) -> Callable[[str], str]:
    """Return a validator for a string of ``min_length``..``max_length`` characters.

    NUL characters are refused: PostgreSQL cannot store them in text.
    """

    def validator(value: str) -> str:
        if not isinstance(value, str):
            raise Invalid("expected a string")
        if not min_length <= len(value) <= max_length:
            if min_length == max_length == 0:
                raise Invalid("must be empty")
            raise Invalid(f"must be {min_length} to {max_length} characters long")
        if "\x00" in value:
            raise Invalid("must not contain NUL characters")
        try:
            value.encode()
        except UnicodeEncodeError:
            # Only Python callers can send these: JSON parsing refuses them.
            raise Invalid("must not contain lone surrogates") from None
        return value

    validator.json_schema = {  # type: ignore[attr-defined]
        "type": "string",
        "minLength": min_length,
        "maxLength": max_length,
        "pattern": "^[^\\u0000]*$",
    }
    return validator


def matching(
    pattern: str, *, description: str, max_length: int | None = None
) -> Callable[[str], str]:
    """Return a validator for strings that fully match ``pattern``.

    ``max_length`` only states, for the OpenAPI document, the length that
    ``pattern`` already limits.
    """
    compiled = re.compile(pattern)

    def validator(value: str) -> str:
        if not isinstance(value, str) or not compiled.fullmatch(value):
            raise Invalid(f"must be {description}")
        return value

    validator.json_schema = {  # type: ignore[attr-defined]
        "type": "string",
        "pattern": f"^(?:{pattern})$",
    }
    if max_length is not None:
        validator.json_schema["maxLength"] = max_length  # type: ignore[attr-defined]
    return validator


def unique_list(item: Callable[[Any], Any], *, max_items: int) -> Callable:
    """Return a validator for a list of at most ``max_items`` distinct items.

    Repeated items are dropped, keeping the first, so ``["a", "a"]`` is
    ``["a"]``. Every item failure is reported with its index.
    """

    def validator(value: list) -> list:
        if not isinstance(value, list):
            raise Invalid("expected a list")
        if len(value) > max_items:
            raise Invalid(f"must have at most {max_items} items")
        errors = []
        cleaned: dict[Any, None] = {}
        for index, element in enumerate(value):
            try:
                cleaned[item(element)] = None
            except Invalid as exc:
                errors.append(Invalid(exc.msg, path=[index, *exc.path]))
        if errors:
            raise MultipleInvalid(errors)
        return list(cleaned)

    validator.json_schema = {  # type: ignore[attr-defined]
        "type": "array",
        "items": item,
        "maxItems": max_items,
    }
    return validator


def page_limit(value: int | str) -> int:
    """Accept a page size between 1 and the app's ``MAX_PAGE_SIZE``."""
    limit = query_integer(value)
    maximum = current_app.config["MAX_PAGE_SIZE"]
    if not 1 <= limit <= maximum:
        raise Invalid(f"must be between 1 and {maximum}")
    return limit


# The maximum is the app's, so it is read when the document is built.
page_limit.json_schema = lambda: {  # type: ignore[attr-defined]
    "type": "integer",
    "minimum": 1,
    "maximum": current_app.config["MAX_PAGE_SIZE"],
}


def token_lifetime(value: int) -> int:
    """Accept a token lifetime in days, between 1 and the app's ``TOKEN_MAX_DAYS``."""
    days = integer(value)
    maximum = current_app.config["TOKEN_MAX_DAYS"]
    if not 1 <= days <= maximum:
        raise Invalid(f"must be between 1 and {maximum}")
    return days


token_lifetime.json_schema = lambda: {  # type: ignore[attr-defined]
    "type": "integer",
    "minimum": 1,
    "maximum": current_app.config["TOKEN_MAX_DAYS"],
}


def is_valid(validator: Callable[[Any], Any], value: Any) -> bool:
    """Return whether ``validator`` accepts ``value``."""
    try:
        validator(value)
    except Invalid:
        return False
    return True


def without_none(values: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Return the pairs whose value is not ``None``, as a dict for :func:`validate`."""
    return {key: value for key, value in values if value is not None}
