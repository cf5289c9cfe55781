"""The validators the schemas are made of, each able to describe itself.

A :class:`Validator` is what voluptuous calls a validator (a callable that
returns the clean value or raises :class:`voluptuous.Invalid`), plus the JSON
Schema of what it accepts, for the OpenAPI document::

    TITLE = text(min_length=1, max_length=200)
    TITLE("Hello")          # "Hello"
    TITLE.json_schema()     # {"type": "string", "minLength": 1, ...}

Some limits are the app's settings (``MAX_PAGE_SIZE``, ``TOKEN_MAX_DAYS``);
their validators read them from the app's settings when they run, and describe
them when the document is built.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from voluptuous import Invalid, MultipleInvalid

from .config import settings

#: The largest integer every JSON parser reads exactly (JavaScript's
#: ``Number.MAX_SAFE_INTEGER``); larger operands are refused, not rounded.
MAX_SAFE_INTEGER = 2**53 - 1

_DECIMAL = re.compile(r"-?[0-9]{1,16}\Z")

JSONSchema = dict[str, Any]


class Validator:
    """A voluptuous validator that also says, as JSON Schema, what it accepts.

    ``describe`` is the schema itself, or a function that returns it when
    the schema depends on the app's settings.
    """

    def __init__(
        self,
        check: Callable[[Any], Any],
        describe: JSONSchema | Callable[[], JSONSchema],
        *,
        items: Validator | None = None,
    ) -> None:
        self.check = check
        self.describe = describe
        #: The validator of each item, for a list.
        self.items = items

    def __call__(self, value: Any) -> Any:
        return self.check(value)

    def __repr__(self) -> str:
        return f"<Validator {self.check.__name__}>"

    def json_schema(self) -> JSONSchema:
        """Return the JSON Schema of the values this validator accepts."""
        schema = dict(self.describe() if callable(self.describe) else self.describe)
        if self.items is not None:
            schema["items"] = self.items.json_schema()
        return schema


def _integer(value: object) -> int:
    # As in JSON Schema, a number with a zero fraction (3.0) is an integer.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid("expected an integer")
    return _within_safe_range(value)


def _within_safe_range(number: int) -> int:
    if not -MAX_SAFE_INTEGER <= number <= MAX_SAFE_INTEGER:
        raise Invalid(f"must be between -{MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER}")
    return number


_INTEGER_SCHEMA: JSONSchema = {
    "type": "integer",
    "minimum": -MAX_SAFE_INTEGER,
    "maximum": MAX_SAFE_INTEGER,
}

#: A JSON integer that every client can represent (not a bool).
integer = Validator(_integer, _INTEGER_SCHEMA)


def _query_integer(value: object) -> int:
    if not isinstance(value, str):
        return _integer(value)
    if not _DECIMAL.match(value):
        raise Invalid("expected an integer")
    return _within_safe_range(int(value))


#: An integer written in decimal, as query arguments carry it.
query_integer = Validator(_query_integer, _INTEGER_SCHEMA)


def _identifier(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Invalid("expected an id: an integer of 1 or more")
    return value


#: The id of a stored object, as a URL spells it: an integer of 1 or more.
#: (Larger than any id, it is simply not found.)
identifier = Validator(_identifier, {"type": "integer", "minimum": 1})


def text(*, min_length: int = 0, max_length: int) -> Validator:
    """Return a validator for a string of ``min_length``..``max_length`` characters.

    NUL characters are refused: PostgreSQL cannot store them in text.
    """

    def check(value: object) -> str:
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

    return Validator(
        check,
        {
            "type": "string",
            "minLength": min_length,
            "maxLength": max_length,
            "pattern": "^[^\\u0000]*$",
        },
    )


def matching(
    pattern: str, *, description: str, max_length: int | None = None
) -> Validator:
    """Return a validator for strings that fully match ``pattern``.

    ``max_length`` only states, for the OpenAPI document, the length that
    ``pattern`` already limits.
    """
    compiled = re.compile(pattern)

    def check(value: object) -> str:
        if not isinstance(value, str) or not compiled.fullmatch(value):
            raise Invalid(f"must be {description}")
        return value

    schema: JSONSchema = {"type": "string", "pattern": f"^(?:{pattern})$"}
    if max_length is not None:
        schema["maxLength"] = max_length
    return Validator(check, schema)


def unique_list(item: Validator, *, max_items: int) -> Validator:
    """Return a validator for a list of at most ``max_items`` distinct items.

    Repeated items are dropped, keeping the first, so ``["a", "a"]`` is
    ``["a"]``. Every item failure is reported with its index.
    """

    def check(value: object) -> list[Any]:
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

    return Validator(check, {"type": "array", "maxItems": max_items}, items=item)


def distinct_list(item: Validator, *, min_items: int, max_items: int) -> Validator:
    """Return a validator for a list of ``min_items``..``max_items`` distinct items.

    Unlike :func:`unique_list`, a repeated item is refused, with its index:
    for a list whose every entry means something to its sender.
    """

    def check(value: object) -> list[Any]:
        if not isinstance(value, list):
            raise Invalid("expected a list")
        if not min_items <= len(value) <= max_items:
            raise Invalid(f"must have {min_items} to {max_items} items")
        errors = []
        seen: set[Any] = set()
        for index, element in enumerate(value):
            try:
                clean = item(element)
            except Invalid as exc:
                errors.append(Invalid(exc.msg, path=[index, *exc.path]))
                continue
            if clean in seen:
                errors.append(Invalid("is listed twice", path=[index]))
            seen.add(clean)
        if errors:
            raise MultipleInvalid(errors)
        return list(value)

    schema = {
        "type": "array",
        "minItems": min_items,
        "maxItems": max_items,
        "uniqueItems": True,
    }
    return Validator(check, schema, items=item)


def one_of(values: tuple[str, ...], *, message: str) -> Validator:
    """Return a validator for one of the strings ``values``; else ``message``."""
    allowed = frozenset(values)

    def check(value: object) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise Invalid(message)
        return value

    return Validator(check, {"type": "string", "enum": list(values)})


def _boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise Invalid("expected true or false")
    return value


#: ``true`` or ``false``, and nothing that merely looks like one (``1``, ``"no"``).
boolean = Validator(_boolean, {"type": "boolean"})


def _moment(value: object) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise Invalid(
                "expected an ISO 8601 moment, like 2026-01-02T03:04:05Z"
            ) from None
    if not isinstance(value, datetime):
        raise Invalid("expected an ISO 8601 moment, like 2026-01-02T03:04:05Z")
    if value.tzinfo is None:
        # A moment without its offset means another one in every time zone.
        raise Invalid("must give its offset from UTC, like Z or +02:00")
    return value.astimezone(UTC)


#: A moment in time: an ISO 8601 string with its UTC offset (or, from Python,
#: an aware ``datetime``), returned as a ``datetime`` in UTC.
moment = Validator(_moment, {"type": "string", "format": "date-time"})


def up_to_setting(validator: Validator, setting: str) -> Validator:
    """Return ``validator`` limited to 1..the app's ``setting``, read when used."""

    def check(value: object) -> int:
        number: int = validator(value)
        maximum: int = getattr(settings(), setting.lower())
        if not 1 <= number <= maximum:
            raise Invalid(f"must be between 1 and {maximum}")
        return number

    def describe() -> JSONSchema:
        maximum = getattr(settings(), setting.lower())
        return {"type": "integer", "minimum": 1, "maximum": maximum}

    return Validator(check, describe)


#: A page size between 1 and the app's ``MAX_PAGE_SIZE``.
page_limit = up_to_setting(query_integer, "MAX_PAGE_SIZE")

#: A token lifetime in days, between 1 and the app's ``TOKEN_MAX_DAYS``.
token_lifetime = up_to_setting(integer, "TOKEN_MAX_DAYS")


def is_valid(validator: Callable[[Any], Any], value: Any) -> bool:
    """Return whether ``validator`` accepts ``value``."""
    try:
        validator(value)
    except Invalid:
        return False
    return True
