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


def isoformat(moment: datetime) -> str:
    """Format a moment as ISO 8601 UTC, to the microsecond (``...12:00:00.000000Z``)."""
    # isoformat() ends a UTC moment in "+00:00"; it is faster than strftime.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def loads(data: bytes | str) -> Any:
    """Parse JSON text; raise :data:`JSONDecodeError` if it is not JSON."""
    return orjson.loads(data)


class SafeJSONProvider(JSONProvider):
    """Flask's JSON provider for mything: the same encoder as every API response.

    ``flask.json.dumps`` and ``jsonify`` inside mything then escape the same
    characters as :class:`~mything.results.ApiResult` does.
    """

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return dumps(obj).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s)
