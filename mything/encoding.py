"""JSON in and out, escaped so that a body is safe wherever it ends up.

A JSON body can be pasted into an HTML page or sniffed by an old browser, so
mything escapes the characters that matter there (``<``, ``>``, ``&`` and
``'``) as ``\\u003c``, ``\\u003e``, ``\\u0026`` and ``\\u0027``. Outside strings
these characters cannot occur in JSON, so replacing the raw bytes is exact:
every JSON parser reads the escaped body back to the same value.

`orjson <https://github.com/ijl/orjson>`_ does the encoding: it is several
times faster than the standard library, and it refuses lone surrogates in
both directions, so no string that PostgreSQL or UTF-8 cannot hold gets in.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
from flask.json.provider import JSONProvider

_UNSAFE = (
    (b"<", b"\\u003c"),
    (b">", b"\\u003e"),
    (b"&", b"\\u0026"),
    (b"'", b"\\u0027"),
)

#: Raised by :func:`loads` for input that is not JSON (a ``ValueError``).
JSONDecodeError = orjson.JSONDecodeError


def dumps(value: Any) -> bytes:
    """Serialize ``value`` to UTF-8 JSON bytes with ``<>&'`` escaped."""
    data = orjson.dumps(value)
    for raw, escaped in _UNSAFE:
        # Most bodies contain none of these; the check skips a copy.
        if raw in data:
            data = data.replace(raw, escaped)
    return data


def dumps_plain(value: Any) -> bytes:
    """Serialize ``value`` to UTF-8 JSON bytes without escaping ``<>&'``.

    For JSON that is stored, never sent: :func:`loads` reads it back the same.
    """
    return orjson.dumps(value)


def isoformat(moment: datetime) -> str:
    """Format a moment as ISO 8601 UTC, to the microsecond (``...12:00:00.000000Z``)."""
    # isoformat() ends a UTC moment in "+00:00"; it is faster than strftime.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def loads(data: bytes | str) -> Any:
    """Parse JSON text; raise :data:`JSONDecodeError` if it is not JSON."""
    return orjson.loads(data)


class _OutOfRange:
    """Stands for a number that no 64-bit float holds, while looking for them."""


def _number(text: str) -> Any:
    # float() reads any length of digits; int() refuses over 4,300 of them.
    value = float(text)
    if math.isinf(value):
        return _OutOfRange()
    return value if any(mark in text for mark in ".eE") else int(text)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def numbers_out_of_range(data: bytes) -> list[str]:
    """Return the paths of the numbers in ``data`` that :func:`loads` cannot hold.

    :func:`loads` refuses ``1e400`` or an integer of 400 digits, which are
    valid JSON (RFC 8259 sets no limit) but beyond a 64-bit float. Called
    once :func:`loads` has refused ``data``, this tells such a document from
    one that is not JSON at all: it returns the dotted paths of its numbers
    out of range (``["a", "items.2"]``), or ``[]`` when ``data`` is not JSON
    for another reason.
    """
    try:
        parsed = json.loads(
            data.decode("utf-8"),
            parse_float=_number,
            parse_int=_number,
            parse_constant=_refuse_constant,
        )
        return [".".join(path) for path in _paths_out_of_range(parsed, ())]
    except (ValueError, RecursionError):
        return []


def _paths_out_of_range(value: Any, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    if isinstance(value, _OutOfRange):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _paths_out_of_range(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths_out_of_range(item, (*path, str(index)))


class SafeJSONProvider(JSONProvider):
    """Flask's JSON provider for mything: the same encoder as every API response.

    ``flask.json.dumps`` and ``jsonify`` inside mything then escape the same
    characters as :class:`~mything.results.ApiResult` does.
    """

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return dumps(obj).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s)
