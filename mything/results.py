"""What views return: a value, a status and headers, not yet a response.

Views return :class:`ApiResult` objects, which test easily (``result.value``)
and leave every detail of the HTTP response to one place,
:meth:`ApiResult.to_response`, which :class:`~mything.app.ApiFlask` calls::

    @blueprint.get("/healthz")
    def healthz():
        return ApiResult({"status": "ok"})

A list endpoint passes the cursor of the next page, and the response gains an
RFC 8288 ``Link: <...>; rel="next"`` header that keeps the other query args
and the prefix mything is mounted under.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import Response, request

from .encoding import dumps

R = TypeVar("R", bound=Response)


class ApiResult:
    """A view's answer: a JSON-ready ``value``, a ``status`` and extra ``headers``.

    ``next_page`` is the cursor of the following page of a list, if any.
    A ``value`` of ``None`` gives an empty body (for 204 No Content).
    """

    def __init__(
        self,
        value: Any,
        status: int = 200,
        *,
        headers: Mapping[str, str] | None = None,
        next_page: str | None = None,
    ) -> None:
        self.value = value
        self.status = status
        self.headers = dict(headers or {})
        self.next_page = next_page

    def __repr__(self) -> str:
        return f"<ApiResult {self.status} {self.value!r}>"

    def to_response(self, response_class: type[R] = Response) -> R:  # type: ignore[assignment]
        """Build the JSON response for this result in the current request."""
        if self.value is None:
            # No body, so no Content-Type (the response class may have a default).
            response = response_class(status=self.status, headers=self.headers or None)
            del response.headers["Content-Type"]
        else:
            response = response_class(
                dumps(self.value),
                self.status,
                headers=self.headers or None,
                content_type="application/json",
            )
        if self.next_page is not None:
            response.headers["Link"] = f'<{next_page_url(self.next_page)}>; rel="next"'
        return response


def next_page_url(cursor: str) -> str:
    """Return the absolute URL of this request with its ``cursor`` replaced."""
    args = [
        (key, value) for key, value in request.args.items(multi=True) if key != "cursor"
    ]
    args.append(("cursor", cursor))
    return f"{request.base_url}?{urlencode(args)}"
