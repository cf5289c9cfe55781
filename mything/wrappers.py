"""mything's request and response classes: Flask's, with what an API answer needs.

:class:`~mything.app.ApiFlask` names them as its ``request_class`` and
``response_class``, the places Flask documents for this.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from flask import Request, Response
from werkzeug.datastructures import ImmutableMultiDict

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from .errors import Unauthorized
    from .operations.users import User


class ApiRequest(Request):
    """Flask's request, carrying what mything learns about it while answering.

    The edge (:mod:`mything.edge`) finds out who is calling and charges the
    call to the rate limit; both are kept here, on the one object that
    lives exactly as long as the request, so that the view, the response
    and the access record read them without another lookup. This is the
    one home of what mything knows about a request.

    It also reads any query string without failing. Werkzeug keeps
    percent-escapes that are not UTF-8 (``%ff``) as they are, but cannot
    decode raw bytes that are not UTF-8, which servers other than gunicorn
    pass on; those stay percent-encoded here too, and validation then
    refuses them like any other wrong value.
    """

    #: Who is calling, once the edge has asked (``None``: nobody known).
    caller: User | None = None
    #: The 401 that failing credentials earned, refused by the edge.
    credential_error: Unauthorized | None = None
    #: The rate limit headers of the answer, once the request is counted.
    rate_limit_headers: Sequence[tuple[str, str]] = ()

    @cached_property
    def args(self) -> ImmutableMultiDict[str, str]:
        query = self.query_string.decode("utf-8", "werkzeug.url_quote")
        pairs = parse_qsl(query, keep_blank_values=True, errors="werkzeug.url_quote")
        return ImmutableMultiDict(pairs)


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

    # PERF: the header list is handed over uncopied
    # (benchmarks/findings.md#uncopied-headers).

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
