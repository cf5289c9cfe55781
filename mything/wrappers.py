"""mything's request and response classes: Flask's, with what an API answer needs.

:class:`~mything.app.ApiFlask` names them as its ``request_class`` and
``response_class``, the places Flask documents for this.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from flask import Request, Response
from werkzeug.datastructures import ImmutableMultiDict

if TYPE_CHECKING:
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


class ApiResponse(Response):
    """Flask's response, with a body nobody labelled labelled as nothing.

    Flask's default is ``text/html``; mything never answers HTML by
    accident (an empty ``OPTIONS`` answer, say). The docs page says what it
    is.
    """

    default_mimetype = None
