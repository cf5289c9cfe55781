"""Sending a webhook: to checked addresses only, never past a deadline.

:func:`post` makes one ``POST`` to a URL an owner chose, and guards it:

- the host is resolved at every attempt, and every address it resolves to
  must pass :func:`~mything.addresses.is_public` (unless
  ``WEBHOOK_ALLOW_PRIVATE``); the connection goes to an address that was
  checked, not to the name, so a name that resolved to a public address
  when the webhook was saved and to ``127.0.0.1`` now (DNS rebinding) is
  refused now;
- no redirect is followed (a ``301`` to the metadata address is only a
  ``301``), no proxy from the environment is used, and the answer is read
  no further than its first :data:`MAX_BODY` bytes, raw: an endless body is
  cut there, and a compressed one is never inflated;
- the whole attempt, resolving included, ends at one deadline
  (``WEBHOOK_TIMEOUT``), however slowly the receiver drips its answer.

**How.** It uses httpcore, the HTTP layer under httpx, through its public
seam for this: a network backend, whose ``connect_tcp`` is handed the host
name and returns a connected stream. :class:`GuardedBackend` resolves the
name itself, checks every address, connects to a checked one, and wraps the
stream so that no read or write outlasts the deadline. TLS still verifies
the certificate against the host *name*. httpx's client on top adds nothing
a webhook needs, and some things it must not have (redirects, proxies and
certificates from the environment), so it is not used here.

It is imported only by the delivery worker: serving requests never needs
httpcore.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from typing import Any

import httpcore

from .addresses import is_public, resolve

#: How much of an answer's body is read, and kept in the delivery log.
MAX_BODY = 1024

#: What each request says it is.
USER_AGENT = "mything-webhooks"


class Blocked(Exception):
    """The URL's host resolved to an address that may not be reached."""


class DeadlineStream(httpcore.NetworkStream):
    """A network stream whose reads and writes all end by one deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self.stream = stream
        self.deadline = deadline

    def _remaining(self, timeout: float | None, error: type[Exception]) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise error("the attempt's time is up")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.stream.read(
            max_bytes, self._remaining(timeout, httpcore.ReadTimeout)
        )

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.stream.write(buffer, self._remaining(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self.stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        secured = self.stream.start_tls(
            ssl_context,
            server_hostname,
            self._remaining(timeout, httpcore.ConnectTimeout),
        )
        return DeadlineStream(secured, self.deadline)

    def get_extra_info(self, info: str) -> Any:
        return self.stream.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """Connects only to checked addresses, and only until ``deadline``."""

    def __init__(self, *, deadline: float, allow_private: bool) -> None:
        self.deadline = deadline
        self.allow_private = allow_private
        self.backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = resolve(host, port, deadline=self.deadline)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} took too long") from None
        except OSError as error:
            raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from None
        refused = [a for a in addresses if not (self.allow_private or is_public(a))]
        if refused:
            raise Blocked(f"{host} resolves to {refused[0]}, which is not public")
        last: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise httpcore.ConnectTimeout("the attempt's time is up")
            try:
                # The address checked above, not the name: resolving it again
                # here could give another answer.
                stream = self.backend.connect_tcp(
                    str(address),
                    port,
                    timeout=left,
                    local_address=local_address,
                    socket_options=socket_options or [],
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last = error
                continue
            return DeadlineStream(stream, self.deadline)
        raise last


@dataclass(frozen=True)
class Answer:
    """What one request got: a status and the start of the body, or an error.

    ``error`` is ``None`` for a 2xx, else ``"status"`` (another status),
    ``"redirect"`` (a 3xx, not followed), ``"timeout"``, ``"connection"``
    or ``"blocked"`` (a refused address).
    """

    status: int | None
    body: bytes
    error: str | None
    duration_ms: int
    #: For people: what went wrong, when something did.
    detail: str | None = None


def post(
    url: str,
    body: bytes,
    *,
    headers: dict[str, str],
    timeout: float,
    allow_private: bool,
    ssl_context: ssl.SSLContext | None = None,
) -> Answer:
    """``POST`` ``body`` to ``url``, guarded as this module says; never raises."""
    started = time.monotonic()
    deadline = started + timeout
    backend = GuardedBackend(deadline=deadline, allow_private=allow_private)

    def answer(
        status: int | None, data: bytes, error: str | None, detail: str | None = None
    ) -> Answer:
        elapsed = round((time.monotonic() - started) * 1000)
        return Answer(status, data, error, elapsed, detail)

    sent = [
        ("User-Agent", USER_AGENT),
        ("Content-Type", "application/json"),
        # The body is read raw and cut short: it is never decompressed.
        ("Accept-Encoding", "identity"),
        *headers.items(),
    ]
    limits = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
    try:
        with (
            httpcore.ConnectionPool(
                ssl_context=ssl_context or httpcore.default_ssl_context(),
                network_backend=backend,
                max_connections=1,
                max_keepalive_connections=0,
            ) as pool,
            pool.stream(
                "POST",
                url,
                headers=sent,
                content=body,
                extensions={"timeout": limits},
            ) as response,
        ):
            data = _first_bytes(response)
            status = response.status
    except Blocked as error:
        return answer(None, b"", "blocked", str(error))
    except httpcore.TimeoutException as error:
        return answer(None, b"", "timeout", str(error) or type(error).__name__)
    except (httpcore.NetworkError, httpcore.ProtocolError, OSError) as error:
        return answer(None, b"", "connection", str(error) or type(error).__name__)
    except httpcore.UnsupportedProtocol as error:
        return answer(None, b"", "connection", str(error))
    if 200 <= status < 300:
        return answer(status, data, None)
    return answer(status, data, "redirect" if 300 <= status < 400 else "status")


def _first_bytes(response: httpcore.Response) -> bytes:
    """Read the body up to :data:`MAX_BODY` bytes; an endless one is cut there."""
    data = b""
    for chunk in response.iter_stream():
        data += chunk
        if len(data) >= MAX_BODY:
            break
    return data[:MAX_BODY]
