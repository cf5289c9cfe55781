"""mything's request and response classes: Flask's, with what an API answer needs.

:class:`~mything.app.ApiFlask` names them as its ``request_class`` and
``response_class``, the places Flask documents for this.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl

from flask import Request, Response, request
from werkzeug.datastructures import ImmutableMultiDict

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from .credentials import User
    from .errors import Unauthorized

#: What :attr:`ApiRequest.authentication` holds until the request's
#: credentials have been checked.
NOT_CHECKED: Any = object()


class ApiRequest(Request):
    """Flask's request, carrying what mything learns about it while answering.

    The rate limiter and the views find out who is calling, and the limiter
    counts the call; both are kept here, on the one object that lives
    exactly as long as the request, so that building the response reads
    them without another lookup.

    It also reads any query string without failing. Werkzeug keeps
    percent-escapes that are not UTF-8 (``%ff``) as they are, but cannot
    decode raw bytes that are not UTF-8, which servers other than gunicorn
    pass on; those stay percent-encoded here too, and validation then
    refuses them like any other wrong value.
    """

    #: Who is calling, once :mod:`mything.auth` has checked: the user, the
    #: 401 that the credentials earned, or ``None`` without credentials.
    authentication: User | Unauthorized | None = NOT_CHECKED
    #: The rate limit headers of the answer, once the request is counted.
    rate_limit_headers: Sequence[tuple[str, str]] = ()

    @cached_property
    def args(self) -> ImmutableMultiDict[str, str]:
        query = self.query_string.decode("utf-8", "werkzeug.url_quote")
        pairs = parse_qsl(query, keep_blank_values=True, errors="werkzeug.url_quote")
        return ImmutableMultiDict(pairs)


def current_request() -> ApiRequest:
    """Return the request being answered: the object itself, not Flask's proxy.

    Each attribute read through ``flask.request`` looks the request up in
    the context again (about half a microsecond). Werkzeug keeps every
    request in its environ as ``werkzeug.request`` (its ``populate_request``
    option, on by default), so one lookup finds the object itself, and what
    is read from it afterwards costs nothing more. (Should anything put
    another object there, the proxy is returned, which reads the same.)
    """
    found = request.environ.get("werkzeug.request")
    if isinstance(found, ApiRequest):
        return found
    return cast(ApiRequest, request)


#: The headers that Werkzeug rewrites on their way out (lowercase).
_REWRITTEN_HEADERS = frozenset({"location", "content-location"})


class ApiResponse(Response):
    """Flask's response, with a body nobody labelled labelled as nothing.

    Flask's default is ``text/html``; mything never answers HTML by
    accident (an empty ``OPTIONS`` answer, say). The docs page says what it
    is.

    It also hands its headers to the server without copying them when
    Werkzeug would not change them: see :meth:`get_wsgi_response`.
    """

    default_mimetype = None

    def get_wsgi_response(
        self, environ: WSGIEnvironment
    ) -> tuple[Iterable[bytes], str, list[tuple[str, str]]]:
        """Return the app iterator, status line and header list for ``environ``.

        Werkzeug's own version first copies the headers into a new
        ``Headers`` object, which checks every value again, then rewrites a
        few of them: ``Location`` and ``Content-Location`` as URIs, the
        entity headers of a 304 and the ``Content-Length`` of a 1xx, a 204
        or a body it can measure. A mything answer of JSON has none of
        those to rewrite and knows its length, so its header list is sent
        as it is; any other answer goes through Werkzeug's version.
        """
        headers = self.headers.to_wsgi_list()
        status = self.status_code
        if status >= 200 and status not in (204, 304):
            names = {name.lower() for name, _ in headers}
            if "content-length" in names and names.isdisjoint(_REWRITTEN_HEADERS):
                return self.get_app_iter(environ), self.status, headers
        return super().get_wsgi_response(environ)
