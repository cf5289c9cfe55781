"""mything's request and response classes: Flask's, with what an API answer needs.

:class:`~mything.app.ApiFlask` names them as its ``request_class`` and
``response_class``, the places Flask documents for this.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import IO, TYPE_CHECKING
from urllib.parse import parse_qsl

from flask import Request, Response
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream, get_input_stream

from .errors import ApiException, MalformedBody, PayloadTooLarge

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from .errors import Unauthorized
    from .operations.users import User


class RequestBody(LimitedStream):
    """A request body, read to its ``Content-Length`` or to ``MAX_CONTENT_LENGTH``.

    With a ``Content-Length`` (``length``), exactly that many bytes are
    read, and a body that ends sooner (the client closed its side early) is
    a :class:`~mything.errors.MalformedBody`. Without one (chunked), the
    server ends the body, and one byte past ``maximum`` is a 413: a body of
    exactly ``maximum`` bytes is accepted however it was sent. A read that
    fails in the server (a chunked encoding it cannot parse) is a
    :class:`~mything.errors.MalformedBody` too, never a 500.
    """

    def __init__(self, stream: IO[bytes], *, length: int | None, maximum: int) -> None:
        # Chunked: one byte more than allowed is read, to tell a body of
        # exactly the maximum from a longer one without reading past it.
        super().__init__(
            stream, maximum + 1 if length is None else length, is_max=length is None
        )
        self.maximum = maximum
        self.chunked = length is None

    def readinto(self, buffer: bytearray) -> int | None:  # type: ignore[override]
        try:
            size = super().readinto(buffer)
        except (HTTPException, ApiException):
            raise
        except Exception as error:
            # A server reports a body it cannot parse with exceptions of its
            # own (gunicorn's InvalidChunkSize is no OSError, which is all
            # Werkzeug expects): each is this body's framing, not a bug.
            raise MalformedBody() from error
        if self.tell() > self.maximum:
            raise PayloadTooLarge()
        return size

    def on_disconnect(self, error: Exception | None = None) -> None:
        # Reading nothing more ends a chunked body; it cuts one with a length.
        if error is not None or not self.chunked:
            raise MalformedBody() from error


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
    def stream(self) -> IO[bytes]:
        """The body as a :class:`RequestBody`, which reads it to its exact end.

        Werkzeug's own stream, under a server that ends bodies itself
        (gunicorn), allows ``MAX_CONTENT_LENGTH`` bytes and refuses the read
        that would find the end of a body of exactly that size; and a body
        cut short or badly chunked raises errors that are not in mything's
        shape. This one answers each as documented.
        """
        environ = self.environ
        length = self.content_length
        maximum = self.max_content_length
        if maximum is None or (
            length is None and "wsgi.input_terminated" not in environ
        ):
            # Nothing to bound, or no body a server has ended: Werkzeug's rules.
            return get_input_stream(environ, max_content_length=maximum)
        if length is not None and length > maximum:
            raise PayloadTooLarge()
        stream = RequestBody(environ["wsgi.input"], length=length, maximum=maximum)
        return stream  # type: ignore[return-value]

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
